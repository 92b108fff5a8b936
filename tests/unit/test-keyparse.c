/* SPDX-License-Identifier: MIT */
/*
 * Tests of key import parsing, driven by real files. Every key of the
 * interop fixture set ($KR_FIXTURES/keys, written by OpenSSL, certtool,
 * PyJWT, jose and node) must load with the bits and RFC 7638 thumbprint
 * that manifest.tsv records, or be refused as the manifest records. The
 * repair cases (CR line ends, BOM, lost or escaped line breaks, UTF-16)
 * are made here from the fixture bytes. The openssl command, when it is
 * installed, makes further forms: legacy encrypted PKCS#1, RSA PUBLIC
 * KEY, certificates and DER.
 */
#include "config.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyparse.h"
#include "tap.h"

#define MIN_BITS 2048

/* A growable byte buffer for building test inputs. */
typedef struct bytes_buf {
    uint8_t *data;
    size_t len;
} bytes_buf;

/* The outcome of one kr_key_parse call. */
typedef struct parse_result {
    kr_code rc;
    kr_rsakey *key;
    char kid[KR_KID_SIZE];
    char thumbprint[KR_THUMBPRINT_SIZE];
    kr_warnings warnings;
    kr_error err;
} parse_result;

static const char *fixtures;
static char tmp_dir[] = "/tmp/kr-keyparse-XXXXXX";
static int have_tmp_dir;

static bytes_buf
file_read(const char *path)
{
    bytes_buf b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    long size;

    if (f == NULL)
        return b;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0) {
        b.data = malloc((size_t)size + 1);
        if (b.data != NULL
            && fread(b.data, 1, (size_t)size, f) == (size_t)size) {
            b.len = (size_t)size;
            b.data[b.len] = '\0';
        } else {
            free(b.data);
            b.data = NULL;
        }
    }
    fclose(f);
    return b;
}

static bytes_buf
fixture_read(const char *rel)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s", fixtures, rel);
    return file_read(path);
}

static void
bytes_free(bytes_buf *b)
{
    if (b->data != NULL)
        gnutls_memset(b->data, 0, b->len);
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* Returns a copy of src with every occurrence of from replaced by to. */
static bytes_buf
bytes_replace(bytes_buf src, const char *from, const char *to)
{
    size_t from_len = strlen(from);
    size_t to_len = strlen(to);
    bytes_buf b;
    size_t i = 0;

    b.data = malloc(src.len * (to_len > from_len ? to_len : 1) + 8);
    b.len = 0;
    while (i < src.len) {
        if (i + from_len <= src.len
            && memcmp(src.data + i, from, from_len) == 0) {
            memcpy(b.data + b.len, to, to_len);
            b.len += to_len;
            i += from_len;
        } else {
            b.data[b.len++] = src.data[i++];
        }
    }
    return b;
}

static bytes_buf
bytes_concat(const void *a, size_t a_len, const void *b, size_t b_len)
{
    bytes_buf out;

    out.data = malloc(a_len + b_len + 1);
    memcpy(out.data, a, a_len);
    memcpy(out.data + a_len, b, b_len);
    out.len = a_len + b_len;
    return out;
}

/* Encodes ASCII text as UTF-16, little- or big-endian, optionally with a
 * byte-order mark. */
static bytes_buf
bytes_utf16(bytes_buf src, int big_endian, int bom)
{
    bytes_buf b;
    size_t i;

    b.data = malloc(2 * src.len + 2);
    b.len = 0;
    if (bom) {
        b.data[b.len++] = big_endian ? 0xfe : 0xff;
        b.data[b.len++] = big_endian ? 0xff : 0xfe;
    }
    for (i = 0; i < src.len; i++) {
        b.data[b.len++] = big_endian ? 0 : src.data[i];
        b.data[b.len++] = big_endian ? src.data[i] : 0;
    }
    return b;
}

static parse_result
parse(const void *data, size_t len, const char *passphrase, unsigned min_bits)
{
    parse_result r;

    memset(&r, 0, sizeof(r));
    r.rc = kr_key_parse(data, len, passphrase, min_bits, &r.key, r.kid,
                        &r.warnings, &r.err);
    if (r.key != NULL)
        kr_rsakey_thumbprint(r.key, r.thumbprint);
    return r;
}

static void
result_free(parse_result *r)
{
    kr_rsakey_free(r->key);
    r->key = NULL;
}

static int
warnings_have(const parse_result *r, const char *word)
{
    size_t i;

    for (i = 0; i < r->warnings.n_warnings; i++) {
        if (strstr(r->warnings.msg[i], word) != NULL)
            return 1;
    }
    return 0;
}

static void
warnings_show(const parse_result *r)
{
    size_t i;

    for (i = 0; i < r->warnings.n_warnings; i++)
        tap_diag("warning: %s", r->warnings.msg[i]);
}

/* Checks that data loads as the key with thumbprint want_tp, and that a
 * warning containing want_warning (when not NULL) was given. */
static void
expect_ok(const char *name, const void *data, size_t len,
          const char *passphrase, const char *want_tp,
          const char *want_warning)
{
    parse_result r = parse(data, len, passphrase, MIN_BITS);

    if (!tap_ok(r.rc == KR_OK && r.key != NULL, "%s: loads", name))
        tap_diag("error: %s", r.err.msg);
    if (r.key != NULL && want_tp != NULL)
        tap_ok(strcmp(r.thumbprint, want_tp) == 0, "%s: thumbprint", name);
    if (want_warning != NULL) {
        if (!tap_ok(warnings_have(&r, want_warning), "%s: warns \"%s\"", name,
                    want_warning))
            warnings_show(&r);
    }
    result_free(&r);
}

/* Checks that data is refused with KR_E_INPUT and a message containing
 * want_msg. */
static void
expect_refused(const char *name, const void *data, size_t len,
               const char *passphrase, const char *want_msg)
{
    parse_result r = parse(data, len, passphrase, MIN_BITS);

    tap_ok(r.rc == KR_E_INPUT && r.key == NULL, "%s: refused", name);
    if (!tap_ok(strstr(r.err.msg, want_msg) != NULL, "%s: says \"%s\"", name,
                want_msg))
        tap_diag("got: %s", r.err.msg);
    result_free(&r);
}

/* ---- the fixture set ---------------------------------------------------- */

/* Splits a tab-separated line in place into at most n_max fields. */
static size_t
tsv_split(char *line, char **fields, size_t n_max)
{
    size_t n = 0;
    char *p = line;

    while (n < n_max) {
        fields[n++] = p;
        p = strchr(p, '\t');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
    return n;
}

/* Reads a passphrase file, dropping one final LF (openssl -passin file:
 * semantics, as the fixture README states). */
static char *
passphrase_read(const char *rel)
{
    bytes_buf b = fixture_read(rel);

    if (b.data == NULL)
        return NULL;
    if (b.len > 0 && b.data[b.len - 1] == '\n')
        b.data[--b.len] = '\0';
    return (char *)b.data;
}

static void
fixture_import_ok(char **f, const char *expected)
{
    const char *path = f[0];
    unsigned bits = (unsigned)strtoul(f[5], NULL, 10);
    const char *tp = f[6];
    const char *passfile = strstr(expected, "passfile=");
    int verify_only = strstr(expected, "verify-only") != NULL;
    char *passphrase = NULL;
    bytes_buf b = fixture_read(path);
    parse_result r;
    char name[256];

    if (passfile != NULL) {
        passphrase = passphrase_read(f[9]);
        r = parse(b.data, b.len, NULL, MIN_BITS);
        tap_ok(r.rc == KR_E_INPUT
                   && strstr(r.err.msg, "passphrase required") != NULL,
               "%s: without passphrase: passphrase required", path);
        result_free(&r);
        r = parse(b.data, b.len, "not the passphrase", MIN_BITS);
        tap_ok(r.rc == KR_E_INPUT
                   && strstr(r.err.msg, "wrong passphrase") != NULL,
               "%s: wrong passphrase is reported as such", path);
        result_free(&r);
    }

    r = parse(b.data, b.len, passphrase, MIN_BITS);
    if (!tap_ok(r.rc == KR_OK && r.key != NULL, "%s: imports", path)) {
        tap_diag("error: %s", r.err.msg);
        goto out;
    }
    tap_ok(kr_rsakey_bits(r.key) == bits, "%s: %u bits", path, bits);
    snprintf(name, sizeof(name), "%s: thumbprint as in the manifest", path);
    tap_str_eq(r.thumbprint, tp, name);
    tap_ok(kr_rsakey_has_private(r.key) == !verify_only, "%s: %s", path,
           verify_only ? "public only" : "has the private part");
    snprintf(name, sizeof(name), "%s: kid %s", path,
             strstr(path, ".jwk") != NULL ? "from the JWK" : "empty");
    tap_str_eq(r.kid, strstr(path, ".jwk") != NULL ? f[4] : "", name);
    warnings_show(&r);

out:
    result_free(&r);
    if (passphrase != NULL)
        gnutls_memset(passphrase, 0, strlen(passphrase));
    free(passphrase);
    bytes_free(&b);
}

static void
fixture_import_refused(char **f, const char *expected)
{
    static const struct {
        const char *verdict;
        const char *message;
    } reasons[] = {
        {"key too small", "RSA key is 1024 bits; at least 2048 are "
                          "required"},
        {"unsupported key type (EC)", "unsupported key type EC; keyrot signs "
                                      "RS256 and needs an RSA key"},
        {"unsupported key type (Ed25519)",
         "unsupported key type Ed25519; keyrot signs RS256 and needs an RSA "
         "key"},
        {"empty", "empty"},
        {"malformed", ""},
    };
    const char *path = f[0];
    bytes_buf b = fixture_read(path);
    parse_result r = parse(b.data, b.len, NULL, MIN_BITS);
    size_t i;

    tap_ok(r.rc == KR_E_INPUT && r.key == NULL, "%s: refused", path);
    tap_ok(r.err.msg[0] != '\0' && strchr(r.err.msg, '\n') == NULL,
           "%s: one-line message", path);
    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (strstr(expected, reasons[i].verdict) != NULL) {
            if (!tap_ok(strstr(r.err.msg, reasons[i].message) != NULL,
                        "%s: message for %s", path, reasons[i].verdict))
                tap_diag("got: %s", r.err.msg);
            break;
        }
    }
    if (strstr(path, "truncated") != NULL)
        tap_ok(strstr(r.err.msg, "truncated") != NULL, "%s: says truncated",
               path);
    tap_diag("%s: %s", path, r.err.msg);
    result_free(&r);
    bytes_free(&b);
}

static void
test_fixture_set(void)
{
    bytes_buf manifest = fixture_read("manifest.tsv");
    char *line;
    char *next;
    char *f[12];
    size_t n_keys = 0;

    if (!tap_ok(manifest.data != NULL, "manifest.tsv is readable"))
        return;

    for (line = (char *)manifest.data; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (strncmp(line, "keys/", 5) != 0 || tsv_split(line, f, 12) < 10)
            continue;

        if (strncmp(f[3], "import ok", 9) == 0) {
            fixture_import_ok(f, f[3]);
            n_keys++;
        } else if (strncmp(f[3], "import refused", 14) == 0) {
            fixture_import_refused(f, f[3]);
            n_keys++;
        }
    }
    tap_ok(n_keys == 16, "manifest lists 16 key files (saw %zu)", n_keys);
    bytes_free(&manifest);
}

/* ---- repairs made from fixture bytes ----------------------------------- */

static const char k1_tp[] = "KZqLkxfbrEwLukOu16qeIAVTwlV73EwAC5nM7o8ag7o";

static void
test_repairs(void)
{
    bytes_buf k1 = fixture_read("keys/k1-rsa2048-pkcs1.pem");
    bytes_buf k8 = fixture_read("keys/k8-rsa3072-leading-text.pem");
    bytes_buf v;
    bytes_buf w;
    static const uint8_t bom[] = {0xef, 0xbb, 0xbf};
    static const char json_head[] =
        "{\"type\": \"service_account\", \"private_key\": \"";
    static const char json_tail[] = "\", \"client_id\": \"1\"}\n";
    parse_result r;

    if (!tap_ok(k1.data != NULL && k8.data != NULL, "k1 and k8 readable"))
        goto out;

    r = parse(k1.data, k1.len, NULL, MIN_BITS);
    tap_ok(r.rc == KR_OK && r.warnings.n_warnings == 0,
           "k1 as is: loads without warnings");
    result_free(&r);

    v = bytes_replace(k1, "\n", "\r");
    expect_ok("CR line ends", v.data, v.len, NULL, k1_tp, "CR line ends");
    bytes_free(&v);

    v = bytes_concat(bom, sizeof(bom), k1.data, k1.len);
    expect_ok("UTF-8 BOM", v.data, v.len, NULL, k1_tp, "byte-order mark");
    bytes_free(&v);

    v = bytes_replace(k1, "\n", " ");
    expect_ok("one line, spaces", v.data, v.len, NULL, k1_tp, "one line");
    bytes_free(&v);

    v = bytes_replace(k1, "\n", "");
    expect_ok("one line, no separators", v.data, v.len, NULL, k1_tp,
              "one line");
    bytes_free(&v);

    v = bytes_replace(k1, "\n", "\\n");
    expect_ok("escaped \\n", v.data, v.len, NULL, k1_tp, "escaped");
    bytes_free(&v);

    v = bytes_replace(k1, "\n", "\\r\\n");
    expect_ok("escaped \\r\\n", v.data, v.len, NULL, k1_tp, "escaped");
    bytes_free(&v);

    /* The PEM as a JSON string value: quotes around it, "\n" and "\/". */
    w = bytes_replace(k1, "\n", "\\n");
    v = bytes_replace(w, "/", "\\/");
    bytes_free(&w);
    w = bytes_concat("\"", 1, v.data, v.len);
    bytes_free(&v);
    v = bytes_concat(w.data, w.len, "\"\n", 2);
    expect_ok("JSON string with \\/", v.data, v.len, NULL, k1_tp,
              "before the BEGIN line");
    bytes_free(&w);
    bytes_free(&v);

    /* A cloud service-account file: the PEM is a JSON string member. */
    w = bytes_replace(k1, "\n", "\\n");
    v = bytes_concat(json_head, strlen(json_head), w.data, w.len);
    bytes_free(&w);
    w = bytes_concat(v.data, v.len, json_tail, strlen(json_tail));
    expect_ok("PEM inside a JSON document", w.data, w.len, NULL, k1_tp,
              "after the END line");
    bytes_free(&w);
    bytes_free(&v);

    v = bytes_concat(k1.data, k1.len - 1, "", 0);
    expect_ok("no final newline", v.data, v.len, NULL, k1_tp,
              "no final newline");
    bytes_free(&v);

    v = bytes_concat("Bag Attributes\n    friendlyName: test\n", 37, k1.data,
                     k1.len);
    expect_ok("pkcs12-style text before", v.data, v.len, NULL, k1_tp,
              "2 lines of text before");
    bytes_free(&v);

    expect_ok("certtool text dump before", k8.data, k8.len, NULL,
              "xCf-5v5CX5VQ2X9FGsxdmKGKXIv-jby62BkAczMAR0E",
              "before the "
              "BEGIN line");

    v = bytes_concat(k1.data, k1.len, "trailing words\n", 15);
    expect_ok("text after END", v.data, v.len, NULL, k1_tp, "after the END");
    bytes_free(&v);

    /* Lines wrapped at 76 columns instead of 64 are not a repair. */
    w = bytes_replace(k1, "\n", "");
    v = bytes_replace(w, "-----MII", "-----\nMII");
    bytes_free(&w);
    expect_ok("unwrapped body on its own line", v.data, v.len, NULL, k1_tp,
              NULL);
    bytes_free(&v);

out:
    bytes_free(&k1);
    bytes_free(&k8);
}

static void
test_refusals(void)
{
    bytes_buf k1 = fixture_read("keys/k1-rsa2048-pkcs1.pem");
    bytes_buf k2 = fixture_read("keys/k2-rsa3072-pkcs8.pem");
    bytes_buf pub = fixture_read("keys/k1-rsa2048-public.pem");
    bytes_buf k3 = fixture_read("keys/k3-rsa4096-pkcs8.pem");
    bytes_buf v;
    bytes_buf w;
    static const uint8_t bom[] = {0xef, 0xbb, 0xbf};
    parse_result r;

    if (!tap_ok(k1.data && k2.data && pub.data && k3.data,
                "fixture keys readable"))
        goto out;

    v = bytes_utf16(k1, 0, 1);
    expect_refused("UTF-16LE with BOM", v.data, v.len, NULL, "UTF-16");
    bytes_free(&v);
    v = bytes_utf16(k1, 1, 1);
    expect_refused("UTF-16BE with BOM", v.data, v.len, NULL, "UTF-16");
    bytes_free(&v);
    v = bytes_utf16(k1, 0, 0);
    expect_refused("UTF-16LE without BOM", v.data, v.len, NULL, "UTF-16");
    bytes_free(&v);
    v = bytes_utf16(k1, 1, 0);
    expect_refused("UTF-16BE without BOM", v.data, v.len, NULL, "UTF-16");
    bytes_free(&v);

    v = bytes_concat(k1.data, k1.len, k2.data, k2.len);
    expect_refused("two private keys", v.data, v.len, NULL, "2 private keys");
    bytes_free(&v);

    v = bytes_concat(pub.data, pub.len, pub.data, pub.len);
    expect_refused("two public keys", v.data, v.len, NULL, "2 public keys");
    bytes_free(&v);

    v = bytes_concat(k1.data, k1.len, pub.data, pub.len);
    expect_ok("private key then its public key", v.data, v.len, NULL, k1_tp,
              "ignored the \"PUBLIC KEY\" PEM block");
    bytes_free(&v);

    expect_refused("first half of a PEM", k1.data, k1.len / 2, NULL,
                   "truncated");

    w = bytes_concat(k1.data, k1.len / 2, "\n", 1);
    v = bytes_concat(w.data, w.len, k2.data, k2.len);
    expect_refused("truncated block before a whole one", v.data, v.len, NULL,
                   "truncated");
    bytes_free(&w);
    bytes_free(&v);

    v = bytes_replace(k1, "END RSA PRIVATE", "END EC PRIVATE");
    expect_refused("mismatched END label", v.data, v.len, NULL,
                   "closed by END EC PRIVATE KEY");
    bytes_free(&v);

    v = bytes_replace(k1, "-----BEGIN RSA PRIVATE KEY-----", "");
    expect_refused("END without BEGIN", v.data, v.len, NULL,
                   "without its "
                   "BEGIN");
    bytes_free(&v);

    v = bytes_replace(k1, "MII", "M*I");
    expect_refused("non-base64 character", v.data, v.len, NULL, "not base64");
    bytes_free(&v);

    v = bytes_replace(k1, "MII", "MIJ");
    expect_refused("damaged DER inside PEM", v.data, v.len, NULL, "malformed");
    bytes_free(&v);

    expect_refused("empty", "", 0, NULL, "empty");
    expect_refused("white space only", " \n\t\r\n", 5, NULL, "empty");
    expect_refused("BOM only", bom, sizeof(bom), NULL, "empty");
    expect_refused("plain text", "hello, world\n", 13, NULL, "not a key");
    expect_refused("only a parameters block",
                   "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
                   "-----END EC PARAMETERS-----\n",
                   75, NULL, "no key found");
    expect_refused("empty PEM block",
                   "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
                   54, NULL, "empty");
    expect_refused("OpenSSH private key",
                   "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n"
                   "-----END OPENSSH PRIVATE KEY-----\n",
                   87, NULL, "OpenSSH");
    expect_refused("DER-looking garbage", "0\x82\x01\x00garbage", 11, NULL,
                   "malformed");
    expect_refused("JWK Set", "{\"keys\":[]}", 11, NULL, "JWK Set");
    expect_refused("EC JWK", "{\"kty\":\"EC\",\"crv\":\"P-256\"}", 26, NULL,
                   "unsupported key type EC");
    expect_refused("Ed25519 JWK", "{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}", 29,
                   NULL, "unsupported key type Ed25519");
    expect_refused("broken JSON", "{\"kty\":\"RSA\",\"d\":\"c2VjcmV0", 26,
                   NULL, "invalid JSON");

    /* jansson names the token near a syntax error; it may be a secret. */
    r = parse("{\"kty\":\"RSA\",\"d\":\"c2VjcmV0\" x}", 30, NULL, MIN_BITS);
    tap_ok(r.rc == KR_E_INPUT && strstr(r.err.msg, "c2VjcmV0") == NULL,
           "JSON error does not quote the input");
    tap_diag("%s", r.err.msg);
    result_free(&r);

    r = parse(k1.data, k1.len, NULL, 3072);
    tap_ok(r.rc == KR_E_INPUT
               && strcmp(r.err.msg, "RSA key is 2048 bits; at least 3072 are "
                                    "required")
                      == 0,
           "min_bits 3072 refuses a 2048-bit key");
    result_free(&r);
    r = parse(k3.data, k3.len, NULL, 4096);
    tap_ok(r.rc == KR_OK, "min_bits 4096 accepts a 4096-bit key");
    result_free(&r);

    r = parse(k1.data, k1.len, "unused", MIN_BITS);
    tap_ok(r.rc == KR_OK && warnings_have(&r, "not encrypted"),
           "passphrase for a plain key: warning");
    result_free(&r);

out:
    bytes_free(&k1);
    bytes_free(&k2);
    bytes_free(&pub);
    bytes_free(&k3);
}

/* Builds SubjectPublicKeyInfo PEM for k1's modulus with exponent e. */
static bytes_buf
spki_with_exponent(const kr_rsakey *key, const uint8_t *e, size_t e_len)
{
    bytes_buf b = {NULL, 0};
    kr_bytes n = kr_rsakey_n(key);
    gnutls_datum_t m = {(unsigned char *)n.data, (unsigned)n.len};
    gnutls_datum_t ed = {(unsigned char *)e, (unsigned)e_len};
    gnutls_datum_t out = {NULL, 0};
    gnutls_pubkey_t pub = NULL;

    if (gnutls_pubkey_init(&pub) >= 0
        && gnutls_pubkey_import_rsa_raw(pub, &m, &ed) >= 0
        && gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &out) >= 0) {
        b.data = malloc(out.size);
        memcpy(b.data, out.data, out.size);
        b.len = out.size;
    }
    gnutls_free(out.data);
    if (pub != NULL)
        gnutls_pubkey_deinit(pub);
    return b;
}

static void
test_exponents(void)
{
    bytes_buf k1 = fixture_read("keys/k1-rsa2048-pkcs1.pem");
    parse_result r = parse(k1.data, k1.len, NULL, MIN_BITS);
    static const uint8_t e_even[] = {0x01, 0x00, 0x00};
    static const uint8_t e_one[] = {0x01};
    static const uint8_t e_three[] = {0x03};
    static const uint8_t e_big[] = {0x01, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x01};
    bytes_buf v;

    if (!tap_ok(r.key != NULL, "k1 loads for the exponent tests"))
        goto out;

    v = spki_with_exponent(r.key, e_even, sizeof(e_even));
    expect_refused("exponent 65536", v.data, v.len, NULL,
                   "RSA public exponent is even");
    bytes_free(&v);

    v = spki_with_exponent(r.key, e_one, sizeof(e_one));
    expect_refused("exponent 1", v.data, v.len, NULL,
                   "RSA public exponent is 1");
    bytes_free(&v);

    v = spki_with_exponent(r.key, e_three, sizeof(e_three));
    expect_ok("exponent 3", v.data, v.len, NULL, NULL,
              "exponent is 3, not 65537");
    bytes_free(&v);

    v = spki_with_exponent(r.key, e_big, sizeof(e_big));
    expect_ok("exponent of 9 bytes", v.data, v.len, NULL, NULL,
              "9-byte number");
    bytes_free(&v);

out:
    result_free(&r);
    bytes_free(&k1);
}

/* ---- forms made by openssl ---------------------------------------------- */

/* Runs an openssl command line with the fixture key k1 as $K and the
 * temporary directory as $D. */
static int
openssl_run(const char *script)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd),
             "K='%s/keys/k1-rsa2048-pkcs1.pem' D='%s'; (%s) >/dev/null 2>&1",
             fixtures, tmp_dir, script);
    return system(cmd) == 0;
}

static bytes_buf
tmp_read(const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    return file_read(path);
}

static void
test_openssl_forms(void)
{
    static const struct {
        const char *name;
        const char *script;
        const char *file;
        const char *passphrase;
        const char *warning;
    } forms[] = {
        {"legacy encrypted PKCS#1",
         "openssl rsa -in $K -aes256 -traditional -passout pass:secret "
         "-out $D/legacy.pem",
         "legacy.pem", "secret", NULL},
        {"RSA PUBLIC KEY PEM",
         "openssl rsa -in $K -RSAPublicKey_out -out $D/rsapub.pem",
         "rsapub.pem", NULL, NULL},
        {"RSA PUBLIC KEY DER",
         "openssl rsa -in $K -RSAPublicKey_out -outform DER "
         "-out $D/rsapub.der",
         "rsapub.der", NULL, NULL},
        {"certificate PEM",
         "openssl req -new -x509 -key $K -subj /CN=keyrot-test -days 1 "
         "-out $D/cert.pem",
         "cert.pem", NULL, NULL},
        {"certificate DER",
         "openssl x509 -in $D/cert.pem -outform DER -out $D/cert.der",
         "cert.der", NULL, NULL},
        {"PKCS#1 DER",
         "openssl rsa -in $K -traditional -outform DER -out $D/pkcs1.der",
         "pkcs1.der", NULL, NULL},
        {"SPKI DER",
         "openssl rsa -in $K -pubout -outform DER -out $D/spki.der",
         "spki.der", NULL, NULL},
        {"encrypted PKCS#8 DER",
         "openssl pkcs8 -topk8 -in $K -passout pass:secret -outform DER "
         "-out $D/enc.der",
         "enc.der", "secret", NULL},
        {"certificate after its key", "cat $K $D/cert.pem > $D/bundle.pem",
         "bundle.pem", NULL, "ignored the \"CERTIFICATE\" PEM block"},
    };
    bytes_buf b;
    parse_result r;
    size_t i;

    if (system("openssl version >/dev/null 2>&1") != 0) {
        tap_ok(1, "# SKIP openssl forms: no openssl command");
        return;
    }

    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        if (!tap_ok(openssl_run(forms[i].script), "openssl makes %s",
                    forms[i].name))
            continue;
        b = tmp_read(forms[i].file);
        expect_ok(forms[i].name, b.data, b.len, forms[i].passphrase, k1_tp,
                  forms[i].warning);
        bytes_free(&b);
    }

    b = tmp_read("legacy.pem");
    expect_refused("legacy encrypted PKCS#1 without passphrase", b.data, b.len,
                   NULL, "passphrase required");
    expect_refused("legacy encrypted PKCS#1, wrong passphrase", b.data, b.len,
                   "wrong", "wrong passphrase");
    r = parse(b.data, b.len, "secret", MIN_BITS);
    tap_ok(r.key != NULL && kr_rsakey_has_private(r.key),
           "legacy encrypted PKCS#1 gives the private key");
    result_free(&r);
    bytes_free(&b);

    b = tmp_read("enc.der");
    expect_refused("encrypted PKCS#8 DER without passphrase", b.data, b.len,
                   NULL, "passphrase required");
    expect_refused("encrypted PKCS#8 DER, wrong passphrase", b.data, b.len,
                   "wrong", "wrong passphrase");
    bytes_free(&b);

    b = tmp_read("cert.pem");
    r = parse(b.data, b.len, NULL, MIN_BITS);
    tap_ok(r.key != NULL && !kr_rsakey_has_private(r.key),
           "certificate gives a public key only");
    result_free(&r);
    bytes_free(&b);

    if (openssl_run("openssl genrsa -3 -out $D/e3.pem 2048")) {
        b = tmp_read("e3.pem");
        expect_ok("private key with exponent 3", b.data, b.len, NULL, NULL,
                  "exponent is 3, not 65537");
        bytes_free(&b);
    }

    if (openssl_run("openssl genpkey -algorithm ED25519 -out $D/ed.pem && "
                    "openssl pkey -in $D/ed.pem -pubout -out $D/ed-pub.pem")) {
        b = tmp_read("ed-pub.pem");
        expect_refused("Ed25519 public key", b.data, b.len, NULL,
                       "unsupported key type Ed25519");
        bytes_free(&b);
    }
}

static void
test_data_keys(void)
{
    const char *data_dir = getenv("KR_DATA");
    char path[1024];
    bytes_buf b;

    if (data_dir == NULL) {
        tap_ok(1, "# SKIP data keys: KR_DATA is not set");
        return;
    }

    snprintf(path, sizeof(path), "%s/test-ec.pem", data_dir);
    b = file_read(path);
    expect_refused("data/test-ec.pem (EC PRIVATE KEY)", b.data, b.len, NULL,
                   "unsupported key type EC; keyrot signs RS256 and needs an "
                   "RSA key");
    bytes_free(&b);

    snprintf(path, sizeof(path), "%s/test-rsa2048.pem", data_dir);
    b = file_read(path);
    expect_ok("data/test-rsa2048.pem", b.data, b.len, NULL, NULL, NULL);
    bytes_free(&b);
}

int
main(void)
{
    char cmd[256];

    fixtures = getenv("KR_FIXTURES");
    test_data_keys();
    if (fixtures == NULL || access(fixtures, R_OK) != 0) {
        tap_ok(1, "# SKIP fixture tests: KR_FIXTURES is not set");
        return tap_done();
    }

    have_tmp_dir = mkdtemp(tmp_dir) != NULL;
    test_fixture_set();
    test_repairs();
    test_refusals();
    test_exponents();
    if (have_tmp_dir)
        test_openssl_forms();

    if (have_tmp_dir) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
        if (system(cmd) != 0)
            tap_diag("could not remove %s", tmp_dir);
    }
    return tap_done();
}
