/* SPDX-License-Identifier: MIT */
/*
 * Turns the bytes of a key file into a kr_rsakey. The work happens in
 * three stages:
 *
 *   1. Encoding: refuse empty input, UTF-16 and oversized input; drop a
 *      UTF-8 byte-order mark.
 *   2. Form: a "-----BEGIN " anywhere means PEM, else a '{' starts a JWK
 *      (handed to jwk.c), else a leading 0x30 starts DER. Anything else
 *      is not a key.
 *   3. Decoding: GnuTLS reads the PKCS#1, PKCS#8, SubjectPublicKeyInfo and
 *      certificate structures. rsakey.c then checks the numbers, and this
 *      file applies the size and exponent policy.
 *
 * PEM is never handed to GnuTLS as the operator wrote it. This file finds
 * each BEGIN/END block, collects the header lines and the base64 text, and
 * writes one canonical block (LF line ends, 64 columns, final newline).
 * That rebuild repairs lost line breaks and drops text around the block.
 * Escaped line breaks and CR line ends are fixed before it, on a private
 * copy. Each repair is reported as a warning.
 *
 * Every copy of the input may hold private key bytes, so each is wiped
 * with gnutls_memset before it is freed. This file does not store keys or
 * choose kids.
 */
#include "config.h"

#include "keyparse.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwk.h"

/* Largest input accepted, which bounds the memory a hostile file can
 * take. Real key files are a few KiB: the 3072-bit fixture with certtool's
 * text dump before the PEM is 8 KiB. */
#define KEYPARSE_MAX_INPUT (1024 * 1024)

/* PEM blocks looked at in one input, and the longest label. */
#define PEM_MAX_BLOCKS 16
#define PEM_LABEL_SIZE 64

/* Column at which rebuilt PEM wraps its base64 text (RFC 7468 section 2). */
#define PEM_LINE_WIDTH 64

/* Header lines ("Proc-Type:", "DEK-Info:") kept from one block. */
#define PEM_MAX_HEADERS 4

static const char pem_begin[] = "-----BEGIN ";
static const char pem_end[] = "-----END ";
static const char pem_dashes[] = "-----";

/* A working copy of the input. Always wiped before it is freed. */
typedef struct text_buf {
    char *data;
    size_t len;
} text_buf;

/* One BEGIN/END block found in the text; pointers into a text_buf. */
typedef struct pem_block {
    char label[PEM_LABEL_SIZE];
    const char *body; /* between the BEGIN line's dashes and "-----END " */
    size_t body_len;
} pem_block;

/* Kinds of PEM block, by label. */
typedef enum pem_kind {
    PEM_KIND_OTHER,
    PEM_KIND_PRIVATE,
    PEM_KIND_PUBLIC,
} pem_kind;

static void
wipe_free(void *p, size_t len)
{
    if (p != NULL)
        gnutls_memset(p, 0, len);
    free(p);
}

static void
datum_wipe_free(gnutls_datum_t *d)
{
    if (d->data != NULL)
        gnutls_memset(d->data, 0, d->size);
    gnutls_free(d->data);
    d->data = NULL;
    d->size = 0;
}

static const char *
mem_find(const char *hay, size_t hay_len, const char *needle)
{
    size_t n = strlen(needle);
    size_t i;

    if (n > hay_len)
        return NULL;

    for (i = 0; i + n <= hay_len; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
            return hay + i;
    }
    return NULL;
}

static bool
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
           || c == '\v';
}

static bool
is_base64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* ---- stage 1: encoding ------------------------------------------------ */

/* Recognises UTF-16 by its byte-order mark, or by ASCII text with a NUL
 * beside every character (how "-----BEGIN" looks in UTF-16 without a
 * mark). A DER key does not match, because its length bytes are not 0. */
static bool
input_is_utf16(const uint8_t *data, size_t len)
{
    size_t n = len < 32 ? len : 32;
    size_t i;
    bool le = true;
    bool be = true;

    if (len >= 2
        && ((data[0] == 0xff && data[1] == 0xfe)
            || (data[0] == 0xfe && data[1] == 0xff)))
        return true;

    if (n < 4)
        return false;

    n -= n % 2;
    for (i = 0; i < n; i += 2) {
        if (!(data[i] >= 0x09 && data[i] < 0x7f) || data[i + 1] != 0)
            le = false;
        if (data[i] != 0 || !(data[i + 1] >= 0x09 && data[i + 1] < 0x7f))
            be = false;
    }
    return le || be;
}

static kr_code
input_check(const uint8_t *data, size_t data_len, kr_error *err)
{
    size_t i;

    for (i = 0; i < data_len && is_space(data[i]); i++)
        ;
    if (i == data_len)
        return kr_error_set(err, KR_E_INPUT,
                            "the input is empty; no key "
                            "found");

    if (data_len > KEYPARSE_MAX_INPUT)
        return kr_error_set(err, KR_E_INPUT,
                            "the input is %zu bytes, too "
                            "large for a key file (at most %d)",
                            data_len, KEYPARSE_MAX_INPUT);

    if (input_is_utf16(data, data_len))
        return kr_error_set(err, KR_E_INPUT,
                            "the input is UTF-16 text; "
                            "convert it to UTF-8 (for example with iconv -f "
                            "UTF-16 -t UTF-8) and import it again");

    return KR_OK;
}

/* ---- PEM text repairs ------------------------------------------------- */

/* Replaces the escapes that JSON and shell quoting leave in PEM text: "\n",
 * "\r\n" and "\r" become a line break, "\/" becomes "/". A backslash never
 * occurs in PEM, so the replacement cannot change a valid file. */
static void
text_unescape(text_buf *t, kr_warnings *warnings)
{
    size_t in = 0;
    size_t out = 0;
    size_t n_escapes = 0;
    char next;

    while (in < t->len) {
        next = in + 1 < t->len ? t->data[in + 1] : '\0';
        if (t->data[in] == '\\' && (next == 'n' || next == 'r')) {
            if (next == 'r' && in + 3 < t->len && t->data[in + 2] == '\\'
                && t->data[in + 3] == 'n')
                in += 2;
            t->data[out++] = '\n';
            in += 2;
            n_escapes++;
        } else if (t->data[in] == '\\' && next == '/') {
            t->data[out++] = '/';
            in += 2;
            n_escapes++;
        } else {
            t->data[out++] = t->data[in++];
        }
    }

    if (n_escapes > 0)
        kr_warnings_add(warnings,
                        "replaced %zu escaped line breaks or "
                        "slashes (\\n, \\/) with the characters they stand "
                        "for",
                        n_escapes);
    t->len = out;
}

/* Turns CR LF and lone CR line ends into LF. */
static void
text_fix_line_ends(text_buf *t, kr_warnings *warnings)
{
    size_t in = 0;
    size_t out = 0;
    size_t n_crlf = 0;
    size_t n_cr = 0;

    while (in < t->len) {
        if (t->data[in] != '\r') {
            t->data[out++] = t->data[in++];
            continue;
        }
        if (in + 1 < t->len && t->data[in + 1] == '\n') {
            n_crlf++;
            in++;
        } else {
            n_cr++;
        }
        t->data[out++] = '\n';
        in++;
    }

    if (n_crlf > 0)
        kr_warnings_add(warnings, "converted CR LF line ends to LF");
    if (n_cr > 0)
        kr_warnings_add(warnings, "converted CR line ends (classic Mac "
                                  "style) to LF");
    t->len = out;
}

/* ---- PEM blocks ------------------------------------------------------- */

static pem_kind
pem_label_kind(const char *label)
{
    size_t len = strlen(label);
    static const char private_suffix[] = "PRIVATE KEY";

    if (len >= sizeof(private_suffix) - 1
        && strcmp(label + len - (sizeof(private_suffix) - 1), private_suffix)
               == 0)
        return PEM_KIND_PRIVATE;

    if (strcmp(label, "PUBLIC KEY") == 0
        || strcmp(label, "RSA PUBLIC KEY") == 0
        || strcmp(label, "CERTIFICATE") == 0
        || strcmp(label, "X509 CERTIFICATE") == 0)
        return PEM_KIND_PUBLIC;

    return PEM_KIND_OTHER;
}

/* Reads the label that follows a "-----BEGIN " or "-----END " at p, up to
 * the closing dashes on the same line. Returns the position after the
 * dashes, or NULL when the line is not a well-formed marker. */
static const char *
pem_label_read(const char *p, const char *end, char label[PEM_LABEL_SIZE])
{
    size_t len = 0;

    while (p < end && *p != '-' && *p != '\n') {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
              || *p == ' ')
            || len + 1 >= PEM_LABEL_SIZE)
            return NULL;
        label[len++] = *p++;
    }
    label[len] = '\0';

    if (len == 0 || (size_t)(end - p) < sizeof(pem_dashes) - 1
        || memcmp(p, pem_dashes, sizeof(pem_dashes) - 1) != 0)
        return NULL;
    return p + sizeof(pem_dashes) - 1;
}

/* Finds every BEGIN/END block of t. Refuses a block without its END line
 * (a truncated file), mismatched labels and broken marker lines. *after is
 * the offset just past the last END marker. */
static kr_code
pem_blocks_find(const text_buf *t, pem_block *blocks, size_t *n_blocks,
                size_t *after, kr_error *err)
{
    const char *end = t->data + t->len;
    const char *p = t->data;
    const char *begin;
    const char *stop;
    const char *next_begin;
    const char *body;
    char end_label[PEM_LABEL_SIZE];
    pem_block *b;

    *n_blocks = 0;
    *after = 0;

    while ((begin = mem_find(p, (size_t)(end - p), pem_begin)) != NULL) {
        if (*n_blocks == PEM_MAX_BLOCKS)
            return kr_error_set(err, KR_E_INPUT,
                                "the input has more than "
                                "%d PEM blocks",
                                PEM_MAX_BLOCKS);
        b = &blocks[*n_blocks];

        body = pem_label_read(begin + sizeof(pem_begin) - 1, end, b->label);
        if (body == NULL)
            return kr_error_set(err, KR_E_INPUT,
                                "malformed PEM: a BEGIN "
                                "line is not of the form -----BEGIN "
                                "LABEL-----");

        stop = mem_find(body, (size_t)(end - body), pem_end);
        next_begin = mem_find(body, (size_t)(end - body), pem_begin);
        if (stop == NULL || (next_begin != NULL && next_begin < stop))
            return kr_error_set(err, KR_E_INPUT,
                                "truncated PEM: the \"%s\" "
                                "block has no END line",
                                b->label);

        p = pem_label_read(stop + sizeof(pem_end) - 1, end, end_label);
        if (p == NULL)
            return kr_error_set(err, KR_E_INPUT,
                                "malformed PEM: the END "
                                "line of the \"%s\" block is broken",
                                b->label);
        if (strcmp(end_label, b->label) != 0)
            return kr_error_set(err, KR_E_INPUT,
                                "malformed PEM: BEGIN %s "
                                "is closed by END %s",
                                b->label, end_label);

        b->body = body;
        b->body_len = (size_t)(stop - body);
        (*n_blocks)++;
        *after = (size_t)(p - t->data);
    }

    return KR_OK;
}

/* Warns about text that the rebuild drops: lines before the first BEGIN
 * (certtool and openssl pkcs12 write a text dump there), text after the
 * last END, and a missing final newline. */
static void
pem_text_report(const text_buf *t, const pem_block *first, size_t after,
                bool one_line, kr_warnings *warnings)
{
    size_t lead = (size_t)(first->body - t->data);
    size_t n_lines = 0;
    bool has_text = false;
    size_t i;

    /* Step back over "-----BEGIN LABEL-----" to the start of the marker. */
    lead -=
        sizeof(pem_begin) - 1 + strlen(first->label) + sizeof(pem_dashes) - 1;
    for (i = 0; i < lead; i++) {
        if (!is_space((unsigned char)t->data[i]))
            has_text = true;
        if (t->data[i] == '\n')
            n_lines++;
    }

    /* Text on the BEGIN line itself counts as one more line. */
    if (has_text && t->data[lead - 1] != '\n')
        n_lines++;
    if (has_text)
        kr_warnings_add(warnings,
                        "ignored %zu line%s of text before the "
                        "BEGIN line",
                        n_lines, n_lines == 1 ? "" : "s");

    has_text = false;
    for (i = after; i < t->len; i++) {
        if (!is_space((unsigned char)t->data[i]))
            has_text = true;
    }
    if (has_text)
        kr_warnings_add(warnings, "ignored text after the END line");
    else if (after == t->len && !one_line)
        kr_warnings_add(warnings, "the PEM text has no final newline");
}

/* Output of pem_block_rebuild while it is being written. */
typedef struct pem_writer {
    char *buf;
    size_t size;
    size_t pos;
    size_t column; /* base64 characters on the current line */
} pem_writer;

/* Returns the next white-space separated token of [*p, end), or NULL. */
static const char *
token_next(const char **p, const char *end, size_t *len)
{
    const char *tok;

    while (*p < end && is_space((unsigned char)**p))
        (*p)++;
    if (*p == end)
        return NULL;

    tok = *p;
    while (*p < end && !is_space((unsigned char)**p))
        (*p)++;
    *len = (size_t)(*p - tok);
    return tok;
}

/* Writes the header lines ("Name: value") and the blank line after them.
 * tokens alternate name and value. Returns whether they mark an encrypted
 * key (RFC 1421 section 4.6.1.1: Proc-Type 4,ENCRYPTED). */
static bool
pem_headers_write(pem_writer *w, const char *const *tokens, const size_t *lens,
                  size_t n_tokens)
{
    bool encrypted = false;
    size_t i;

    for (i = 0; i + 1 < n_tokens; i += 2) {
        memcpy(w->buf + w->pos, tokens[i], lens[i]);
        w->pos += lens[i];
        w->buf[w->pos++] = ' ';
        memcpy(w->buf + w->pos, tokens[i + 1], lens[i + 1]);
        w->pos += lens[i + 1];
        w->buf[w->pos++] = '\n';
        if (lens[i] == 10 && memcmp(tokens[i], "Proc-Type:", 10) == 0
            && mem_find(tokens[i + 1], lens[i + 1], "ENCRYPTED") != NULL)
            encrypted = true;
    }
    if (n_tokens > 0)
        w->buf[w->pos++] = '\n';
    return encrypted;
}

/* Appends base64 characters, breaking lines at PEM_LINE_WIDTH. Returns
 * false on a character outside the base64 alphabet. */
static bool
pem_base64_write(pem_writer *w, const char *tok, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (!is_base64_char((unsigned char)tok[i]))
            return false;
        w->buf[w->pos++] = tok[i];
        if (++w->column == PEM_LINE_WIDTH) {
            w->buf[w->pos++] = '\n';
            w->column = 0;
        }
    }
    return true;
}

/* Rebuilds one block as canonical PEM into *out (NUL-terminated, for
 * wipe_free). Header lines such as "Proc-Type: 4,ENCRYPTED" are kept in
 * order. *encrypted is set when they mark an encrypted key, and *one_line
 * when the block had no line break at all. */
static kr_code
pem_block_rebuild(const pem_block *b, char **out, size_t *out_len,
                  bool *encrypted, bool *one_line, kr_error *err)
{
    const char *p = b->body;
    const char *end = b->body + b->body_len;
    const char *tok;
    size_t tok_len = 0;
    const char *headers[PEM_MAX_HEADERS * 2];
    size_t header_lens[PEM_MAX_HEADERS * 2];
    size_t n_headers = 0;
    bool in_headers = true;
    pem_writer w = {NULL, 0, 0, 0};
    kr_code rc = KR_OK;

    *encrypted = false;
    *one_line = memchr(b->body, '\n', b->body_len) == NULL;

    /* Room for the markers, headers, base64 and one newline per line. */
    w.size = 2 * (strlen(b->label) + 16) + 2 * b->body_len
             + b->body_len / PEM_LINE_WIDTH + 8;
    w.buf = malloc(w.size);
    if (w.buf == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    w.pos = (size_t)snprintf(w.buf, w.size, "-----BEGIN %s-----\n", b->label);

    while ((tok = token_next(&p, end, &tok_len)) != NULL) {
        /* A header name contains ':', which base64 never does, and the
         * token after a name is its value. */
        if (in_headers
            && (n_headers % 2 == 1 || memchr(tok, ':', tok_len) != NULL)) {
            if (n_headers == PEM_MAX_HEADERS * 2) {
                rc = kr_error_set(err, KR_E_INPUT,
                                  "malformed PEM: too many "
                                  "header lines in the \"%s\" block",
                                  b->label);
                goto out;
            }
            headers[n_headers] = tok;
            header_lens[n_headers++] = tok_len;
            continue;
        }

        if (in_headers) {
            *encrypted =
                pem_headers_write(&w, headers, header_lens, n_headers);
            in_headers = false;
        }

        if (!pem_base64_write(&w, tok, tok_len)) {
            rc = kr_error_set(err, KR_E_INPUT,
                              "malformed PEM: the \"%s\" "
                              "block contains a character that is not "
                              "base64",
                              b->label);
            goto out;
        }
    }

    if (in_headers) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "malformed PEM: the \"%s\" "
                          "block is empty",
                          b->label);
        goto out;
    }

    if (w.column != 0)
        w.buf[w.pos++] = '\n';
    w.pos += (size_t)snprintf(w.buf + w.pos, w.size - w.pos,
                              "-----END %s-----\n", b->label);

    *out = w.buf;
    *out_len = w.pos;
    w.buf = NULL;

out:
    wipe_free(w.buf, w.size);
    return rc;
}

/* Picks the block to import: the one private key, else the one public key
 * or certificate. Other blocks (EC PARAMETERS, a certificate beside the
 * private key) are ignored with a warning. */
static kr_code
pem_block_choose(const pem_block *blocks, size_t n_blocks,
                 const pem_block **chosen, kr_warnings *warnings,
                 kr_error *err)
{
    size_t n_private = 0;
    size_t n_public = 0;
    const pem_block *first_private = NULL;
    const pem_block *first_public = NULL;
    size_t i;

    for (i = 0; i < n_blocks; i++) {
        switch (pem_label_kind(blocks[i].label)) {
        case PEM_KIND_PRIVATE:
            if (n_private++ == 0)
                first_private = &blocks[i];
            break;
        case PEM_KIND_PUBLIC:
            if (n_public++ == 0)
                first_public = &blocks[i];
            break;
        case PEM_KIND_OTHER:
            break;
        }
    }

    if (n_private > 1)
        return kr_error_set(err, KR_E_INPUT,
                            "the input holds %zu private "
                            "keys; put each key in its own file",
                            n_private);

    if (n_private == 0 && n_public > 1)
        return kr_error_set(err, KR_E_INPUT,
                            "the input holds %zu public "
                            "keys or certificates; put each in its own file",
                            n_public);

    *chosen = first_private != NULL ? first_private : first_public;
    if (*chosen == NULL)
        return kr_error_set(err, KR_E_INPUT,
                            "no key found: the PEM block "
                            "\"%s\" is not a private key, public key or "
                            "certificate",
                            blocks[0].label);

    for (i = 0; i < n_blocks; i++) {
        if (&blocks[i] != *chosen)
            kr_warnings_add(warnings, "ignored the \"%s\" PEM block",
                            blocks[i].label);
    }
    return KR_OK;
}

/* ---- stage 3: GnuTLS key objects to kr_rsakey ------------------------- */

/* Refuses a key whose algorithm is not plain RSA, naming the type. */
static kr_code
key_type_check(int algorithm, kr_error *err)
{
    const char *name;

    switch (algorithm) {
    case GNUTLS_PK_RSA:
        return KR_OK;
    case GNUTLS_PK_ECDSA:
        name = "EC";
        break;
    case GNUTLS_PK_EDDSA_ED25519:
        name = "Ed25519";
        break;
    case GNUTLS_PK_EDDSA_ED448:
        name = "Ed448";
        break;
    case GNUTLS_PK_DSA:
        name = "DSA";
        break;
    case GNUTLS_PK_RSA_PSS:
        name = "RSA-PSS";
        break;
    default:
        name = algorithm > 0 ? gnutls_pk_get_name(algorithm) : NULL;
        if (name == NULL)
            name = "unknown";
        break;
    }

    return kr_error_set(err, KR_E_INPUT,
                        "unsupported key type %s; keyrot "
                        "signs RS256 and needs an RSA key",
                        name);
}

static kr_code
key_from_privkey(gnutls_x509_privkey_t gkey, kr_rsakey **out, kr_error *err)
{
    gnutls_datum_t der = {NULL, 0};
    int ret;
    kr_code rc;

    rc = key_type_check(gnutls_x509_privkey_get_pk_algorithm(gkey), err);
    if (rc != KR_OK)
        goto out;

    /* rsakey.c loads keys from PKCS#8 only; re-encoding keeps the number
     * checks in one place. */
    ret = gnutls_x509_privkey_export2_pkcs8(gkey, GNUTLS_X509_FMT_DER, NULL,
                                            GNUTLS_PKCS_PLAIN, &der);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_INPUT, "cannot read the RSA key: %s",
                          gnutls_strerror(ret));
        goto out;
    }

    rc = kr_rsakey_from_pkcs8_der(der.data, der.size, out, err);

out:
    datum_wipe_free(&der);
    return rc;
}

static kr_code
key_from_pubkey(gnutls_pubkey_t pub, kr_rsakey **out, kr_error *err)
{
    gnutls_datum_t m = {NULL, 0};
    gnutls_datum_t e = {NULL, 0};
    int ret;
    kr_code rc;

    rc = key_type_check(gnutls_pubkey_get_pk_algorithm(pub, NULL), err);
    if (rc != KR_OK)
        goto out;

    ret = gnutls_pubkey_export_rsa_raw2(pub, &m, &e, 0);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "cannot read the RSA public key: "
                          "%s",
                          gnutls_strerror(ret));
        goto out;
    }

    rc = kr_rsakey_from_public(m.data, m.size, e.data, e.size, out, err);

out:
    gnutls_free(m.data);
    gnutls_free(e.data);
    return rc;
}

/* Loads a private key in any form GnuTLS reads (PKCS#1, PKCS#8, encrypted
 * PKCS#8, and PKCS#1 with Proc-Type/DEK-Info headers). Returns KR_OK with
 * *out NULL when the data is not a private key at all, so that the caller
 * can try other forms. encrypted is true when the PEM label or headers
 * mark the key as encrypted. For DER it is false, and GnuTLS reports an
 * encrypted key when it fails to decrypt it. */
static kr_code
key_try_private(const gnutls_datum_t *data, gnutls_x509_crt_fmt_t fmt,
                const char *passphrase, bool encrypted, kr_rsakey **out,
                kr_error *err)
{
    gnutls_x509_privkey_t gkey = NULL;
    int ret;
    kr_code rc = KR_OK;

    if (encrypted && passphrase == NULL) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "passphrase required: the private "
                          "key is encrypted");
        goto out;
    }

    ret = gnutls_x509_privkey_init(&gkey);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot create a key object: %s",
                          gnutls_strerror(ret));
        goto out;
    }

    ret = gnutls_x509_privkey_import2(gkey, data, fmt, passphrase, 0);
    if (ret == GNUTLS_E_DECRYPTION_FAILED) {
        /* GnuTLS returns this only for encrypted keys. For DER it is the
         * only sign that the input is an encrypted PKCS#8. */
        if (passphrase == NULL)
            rc = kr_error_set(err, KR_E_INPUT,
                              "passphrase required: the "
                              "private key is encrypted");
        else
            rc = kr_error_set(err, KR_E_INPUT,
                              "wrong passphrase: the "
                              "private key cannot be decrypted with it");
        goto out;
    }
    if (ret < 0) {
        if (encrypted)
            rc = kr_error_set(err, KR_E_INPUT,
                              "cannot decrypt the private "
                              "key: %s",
                              gnutls_strerror(ret));
        else if (fmt == GNUTLS_X509_FMT_PEM)
            rc = kr_error_set(err, KR_E_INPUT, "malformed private key: %s",
                              gnutls_strerror(ret));
        goto out;
    }

    rc = key_from_privkey(gkey, out, err);

out:
    if (gkey != NULL)
        gnutls_x509_privkey_deinit(gkey);
    return rc;
}

/* Loads a SubjectPublicKeyInfo. Returns KR_OK with *out NULL when data is
 * not one and report is false. */
static kr_code
key_try_spki(const gnutls_datum_t *data, gnutls_x509_crt_fmt_t fmt,
             bool report, kr_rsakey **out, kr_error *err)
{
    gnutls_pubkey_t pub = NULL;
    int ret;
    kr_code rc = KR_OK;

    ret = gnutls_pubkey_init(&pub);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot create a key object: %s",
                          gnutls_strerror(ret));
        goto out;
    }

    ret = gnutls_pubkey_import(pub, data, fmt);
    if (ret < 0) {
        if (report)
            rc = kr_error_set(err, KR_E_INPUT, "malformed public key: %s",
                              gnutls_strerror(ret));
        goto out;
    }

    rc = key_from_pubkey(pub, out, err);

out:
    if (pub != NULL)
        gnutls_pubkey_deinit(pub);
    return rc;
}

/* Loads the public key of an X.509 certificate. The certificate's dates,
 * issuer and signature are not checked: only its key is used. */
static kr_code
key_try_certificate(const gnutls_datum_t *data, gnutls_x509_crt_fmt_t fmt,
                    bool report, kr_rsakey **out, kr_error *err)
{
    gnutls_x509_crt_t crt = NULL;
    gnutls_pubkey_t pub = NULL;
    int ret;
    kr_code rc = KR_OK;

    ret = gnutls_x509_crt_init(&crt);
    if (ret >= 0)
        ret = gnutls_pubkey_init(&pub);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot create a key object: %s",
                          gnutls_strerror(ret));
        goto out;
    }

    ret = gnutls_x509_crt_import(crt, data, fmt);
    if (ret >= 0)
        ret = gnutls_pubkey_import_x509(pub, crt, 0);
    if (ret < 0) {
        if (report)
            rc = kr_error_set(err, KR_E_INPUT, "malformed certificate: %s",
                              gnutls_strerror(ret));
        goto out;
    }

    rc = key_from_pubkey(pub, out, err);

out:
    if (pub != NULL)
        gnutls_pubkey_deinit(pub);
    if (crt != NULL)
        gnutls_x509_crt_deinit(crt);
    return rc;
}

/* Writes a DER length; returns the number of bytes written (at most 4). */
static size_t
der_length_put(uint8_t *p, size_t len)
{
    if (len < 0x80) {
        p[0] = (uint8_t)len;
        return 1;
    }
    if (len <= 0xff) {
        p[0] = 0x81;
        p[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        p[0] = 0x82;
        p[1] = (uint8_t)(len >> 8);
        p[2] = (uint8_t)len;
        return 3;
    }
    p[0] = 0x83;
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    return 4;
}

/* Loads a PKCS#1 RSAPublicKey (RFC 8017 appendix A.1.1), which GnuTLS
 * reads only inside a SubjectPublicKeyInfo: the DER is wrapped in one,
 * with the rsaEncryption algorithm identifier, and imported as such. */
static kr_code
key_try_rsa_public(const uint8_t *der, size_t der_len, bool report,
                   kr_rsakey **out, kr_error *err)
{
    static const uint8_t algorithm_id[] = {
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
        0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    };
    uint8_t bit_string_len[4];
    size_t n_bit_len = der_length_put(bit_string_len, der_len + 1);
    size_t inner = sizeof(algorithm_id) + 1 + n_bit_len + 1 + der_len;
    uint8_t *spki = malloc(inner + 5);
    size_t pos = 0;
    gnutls_datum_t datum;
    kr_code rc;

    if (spki == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");

    spki[pos++] = 0x30;
    pos += der_length_put(spki + pos, inner);
    memcpy(spki + pos, algorithm_id, sizeof(algorithm_id));
    pos += sizeof(algorithm_id);
    spki[pos++] = 0x03;
    memcpy(spki + pos, bit_string_len, n_bit_len);
    pos += n_bit_len;
    spki[pos++] = 0x00; /* no unused bits */
    memcpy(spki + pos, der, der_len);
    pos += der_len;

    datum.data = spki;
    datum.size = (unsigned)pos;
    rc = key_try_spki(&datum, GNUTLS_X509_FMT_DER, false, out, err);
    if (rc == KR_OK && *out == NULL && report)
        rc = kr_error_set(err, KR_E_INPUT,
                          "malformed PKCS#1 RSA public "
                          "key");
    free(spki);
    return rc;
}

/* ---- stage 2: the three input forms ------------------------------------ */

static kr_code
parse_pem_block(const pem_block *b, const char *passphrase, kr_rsakey **out,
                kr_warnings *warnings, kr_error *err)
{
    char *pem = NULL;
    size_t pem_len = 0;
    bool encrypted = false;
    bool one_line = false;
    gnutls_datum_t datum;
    gnutls_datum_t der = {NULL, 0};
    int ret;
    kr_code rc;

    rc = pem_block_rebuild(b, &pem, &pem_len, &encrypted, &one_line, err);
    if (rc != KR_OK)
        goto out;

    if (one_line)
        kr_warnings_add(warnings, "restored the line breaks of PEM text "
                                  "that was on one line");

    encrypted = encrypted || strcmp(b->label, "ENCRYPTED PRIVATE KEY") == 0;
    if (!encrypted && passphrase != NULL
        && pem_label_kind(b->label) == PEM_KIND_PRIVATE)
        kr_warnings_add(warnings, "the private key is not encrypted; the "
                                  "passphrase was not used");

    datum.data = (unsigned char *)pem;
    datum.size = (unsigned)pem_len;

    if (strcmp(b->label, "OPENSSH PRIVATE KEY") == 0) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "OpenSSH private keys are not "
                          "supported; convert a copy to PEM with ssh-keygen "
                          "-p -m PEM -f COPY");
    } else if (pem_label_kind(b->label) == PEM_KIND_PRIVATE) {
        rc = key_try_private(&datum, GNUTLS_X509_FMT_PEM, passphrase,
                             encrypted, out, err);
    } else if (strcmp(b->label, "PUBLIC KEY") == 0) {
        rc = key_try_spki(&datum, GNUTLS_X509_FMT_PEM, true, out, err);
    } else if (strcmp(b->label, "RSA PUBLIC KEY") == 0) {
        ret = gnutls_pem_base64_decode2(b->label, &datum, &der);
        if (ret < 0)
            rc = kr_error_set(err, KR_E_INPUT, "malformed PEM: %s",
                              gnutls_strerror(ret));
        else
            rc = key_try_rsa_public(der.data, der.size, true, out, err);
    } else {
        rc = key_try_certificate(&datum, GNUTLS_X509_FMT_PEM, true, out, err);
    }

    if (rc == KR_OK && *out == NULL)
        rc = kr_error_set(err, KR_E_INPUT, "malformed \"%s\" PEM block",
                          b->label);

out:
    datum_wipe_free(&der);
    wipe_free(pem, pem_len);
    return rc;
}

static kr_code
parse_pem(const text_buf *t, const char *passphrase, kr_rsakey **out,
          kr_warnings *warnings, kr_error *err)
{
    pem_block blocks[PEM_MAX_BLOCKS];
    size_t n_blocks = 0;
    size_t after = 0;
    const pem_block *chosen = NULL;
    kr_code rc;

    rc = pem_blocks_find(t, blocks, &n_blocks, &after, err);
    if (rc != KR_OK)
        return rc;

    if (n_blocks == 0)
        return kr_error_set(err, KR_E_INPUT,
                            "malformed PEM: no complete "
                            "BEGIN line");

    rc = pem_block_choose(blocks, n_blocks, &chosen, warnings, err);
    if (rc != KR_OK)
        return rc;

    pem_text_report(t, &blocks[0], after,
                    memchr(chosen->body, '\n', chosen->body_len) == NULL,
                    warnings);
    return parse_pem_block(chosen, passphrase, out, warnings, err);
}

static kr_code
parse_der(const uint8_t *data, size_t data_len, const char *passphrase,
          kr_rsakey **out, kr_error *err)
{
    gnutls_datum_t datum = {(unsigned char *)data, (unsigned)data_len};
    kr_code rc;

    rc = key_try_private(&datum, GNUTLS_X509_FMT_DER, passphrase, false, out,
                         err);
    if (rc == KR_OK && *out == NULL)
        rc = key_try_spki(&datum, GNUTLS_X509_FMT_DER, false, out, err);
    if (rc == KR_OK && *out == NULL)
        rc = key_try_certificate(&datum, GNUTLS_X509_FMT_DER, false, out, err);
    if (rc == KR_OK && *out == NULL)
        rc = key_try_rsa_public(data, data_len, false, out, err);
    if (rc == KR_OK && *out == NULL)
        rc = kr_error_set(err, KR_E_INPUT,
                          "malformed key: the binary data "
                          "is not a DER private key (PKCS#1 or PKCS#8), "
                          "public key or certificate");
    return rc;
}

/* Gives EC and Ed25519 JWKs the same message as their PEM forms. */
static kr_code
jwk_type_check(const json_t *jwk, kr_error *err)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    char shown[KR_KID_SIZE];

    if (kty == NULL || strcmp(kty, "RSA") == 0)
        return KR_OK;

    if (strcmp(kty, "EC") == 0)
        return key_type_check(GNUTLS_PK_ECDSA, err);

    if (strcmp(kty, "OKP") == 0 && crv != NULL) {
        kr_kid_escape(crv, strlen(crv), shown, sizeof(shown));
        return kr_error_set(err, KR_E_INPUT,
                            "unsupported key type %s; "
                            "keyrot signs RS256 and needs an RSA key",
                            strcmp(crv, "Ed25519") == 0 ? "Ed25519" : shown);
    }

    kr_kid_escape(kty, strlen(kty), shown, sizeof(shown));
    return kr_error_set(err, KR_E_INPUT,
                        "unsupported key type %s; keyrot "
                        "signs RS256 and needs an RSA key",
                        shown);
}

static kr_code
parse_jwk(const text_buf *t, unsigned min_bits, kr_rsakey **out,
          char kid[KR_KID_SIZE], kr_warnings *warnings, kr_error *err)
{
    json_t *jwk = NULL;
    json_error_t jerr;
    char *near;
    kr_code rc;

    jwk = json_loadb(t->data, t->len, JSON_REJECT_DUPLICATES, &jerr);
    if (jwk == NULL) {
        /* jansson quotes the text "near" the error, which may be part of a
         * private member: keep only the reason. */
        near = strstr(jerr.text, " near ");
        if (near != NULL)
            *near = '\0';
        rc = kr_error_set(err, KR_E_INPUT,
                          "invalid JSON key at line %d, "
                          "column %d: %s",
                          jerr.line, jerr.column, jerr.text);
        goto out;
    }

    if (!json_is_object(jwk)) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "invalid JWK: the JSON value is "
                          "not an object");
        goto out;
    }

    if (json_object_get(jwk, "keys") != NULL
        && json_object_get(jwk, "kty") == NULL) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "the input is a JWK Set; import "
                          "takes a single JWK");
        goto out;
    }

    rc = jwk_type_check(jwk, err);
    if (rc != KR_OK)
        goto out;

    rc = kr_jwk_parse(jwk, min_bits, out, kid, warnings, err);

out:
    if (jwk != NULL)
        kr_json_wipe(jwk);
    json_decref(jwk);
    return rc;
}

/* ---- policy ------------------------------------------------------------- */

static bool
warnings_mention(const kr_warnings *warnings, const char *word)
{
    size_t i;

    if (warnings == NULL)
        return false;
    for (i = 0; i < warnings->n_warnings; i++) {
        if (strstr(warnings->msg[i], word) != NULL)
            return true;
    }
    return false;
}

/* Applies the size policy, and warns about a public exponent other than
 * 65537: valid for RS256 (rsakey.c already refused even values and 1), but
 * some verifiers reject it. */
static kr_code
key_policy_check(const kr_rsakey *key, unsigned min_bits,
                 kr_warnings *warnings, kr_error *err)
{
    kr_bytes e = kr_rsakey_e(key);
    unsigned long long value = 0;
    size_t i;

    if (kr_rsakey_bits(key) < min_bits)
        return kr_error_set(err, KR_E_INPUT,
                            "RSA key is %u bits; at least "
                            "%u are required",
                            kr_rsakey_bits(key), min_bits);

    if (e.len == 3 && e.data[0] == 0x01 && e.data[1] == 0x00
        && e.data[2] == 0x01)
        return KR_OK;

    /* Do not repeat a warning that kr_jwk_parse already gave. */
    if (warnings_mention(warnings, "65537"))
        return KR_OK;

    if (e.len <= sizeof(value)) {
        for (i = 0; i < e.len; i++)
            value = value << 8 | e.data[i];
        kr_warnings_add(warnings,
                        "RSA public exponent is %llu, not 65537; "
                        "some verifiers reject such keys",
                        value);
    } else {
        kr_warnings_add(warnings,
                        "RSA public exponent is a %zu-byte number, "
                        "not 65537; some verifiers reject such keys",
                        e.len);
    }
    return KR_OK;
}

/* ---- entry point -------------------------------------------------------- */

static size_t
first_non_space(const char *p, size_t len)
{
    size_t i = 0;

    while (i < len && is_space((unsigned char)p[i]))
        i++;
    return i;
}

/* Chooses the parser by the form of the input: PEM wherever a BEGIN line
 * occurs (also inside a JSON document such as a cloud service-account
 * file, which no JWK contains), else a JSON object as a JWK, else DER. */
static kr_code
parse_form(text_buf *t, const char *passphrase, unsigned min_bits,
           kr_rsakey **key, char kid[KR_KID_SIZE], kr_warnings *warnings,
           kr_error *err)
{
    size_t start = first_non_space(t->data, t->len);

    if (start == t->len)
        return kr_error_set(err, KR_E_INPUT,
                            "the input is empty; no key "
                            "found");

    if (mem_find(t->data, t->len, pem_begin) != NULL) {
        text_unescape(t, warnings);
        text_fix_line_ends(t, warnings);
        return parse_pem(t, passphrase, key, warnings, err);
    }

    if (t->data[start] == '{')
        return parse_jwk(t, min_bits, key, kid, warnings, err);

    if ((uint8_t)t->data[0] == 0x30)
        return parse_der((const uint8_t *)t->data, t->len, passphrase, key,
                         err);

    if (mem_find(t->data, t->len, pem_end) != NULL)
        return kr_error_set(err, KR_E_INPUT,
                            "malformed PEM: an END line "
                            "without its BEGIN line");

    return kr_error_set(err, KR_E_INPUT,
                        "not a key: the input is not PEM, "
                        "DER or a JSON Web Key");
}

kr_code
kr_key_parse(const uint8_t *data, size_t data_len, const char *passphrase,
             unsigned min_bits, kr_rsakey **out, char kid[KR_KID_SIZE],
             kr_warnings *warnings, kr_error *err)
{
    static const uint8_t utf8_bom[] = {0xef, 0xbb, 0xbf};
    text_buf t = {NULL, 0};
    kr_rsakey *key = NULL;
    kr_code rc;

    *out = NULL;
    kid[0] = '\0';

    rc = input_check(data, data_len, err);
    if (rc != KR_OK)
        goto out;

    t.data = malloc(data_len + 1);
    if (t.data == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }
    memcpy(t.data, data, data_len);
    t.data[data_len] = '\0';
    t.len = data_len;

    if (t.len >= sizeof(utf8_bom)
        && memcmp(t.data, utf8_bom, sizeof(utf8_bom)) == 0) {
        memmove(t.data, t.data + sizeof(utf8_bom), t.len - sizeof(utf8_bom));
        t.len -= sizeof(utf8_bom);
        kr_warnings_add(warnings, "removed a UTF-8 byte-order mark");
    }

    rc = parse_form(&t, passphrase, min_bits, &key, kid, warnings, err);
    if (rc != KR_OK)
        goto out;

    rc = key_policy_check(key, min_bits, warnings, err);
    if (rc != KR_OK)
        goto out;

    *out = key;
    key = NULL;

out:
    if (rc != KR_OK)
        kid[0] = '\0';
    kr_rsakey_free(key);
    if (t.data != NULL)
        wipe_free(t.data, data_len + 1);
    return rc;
}
