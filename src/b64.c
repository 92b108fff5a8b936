/* SPDX-License-Identifier: MIT */
/*
 * base64url without padding and SHA-256, on top of Nettle. Nettle's own
 * decoder skips white space and accepts '=' padding, so this file checks
 * the alphabet, the length and the unused trailing bits itself before it
 * lets Nettle convert the characters. It does not know about JWS segments.
 */
#include "config.h"

#include "b64.h"

#include <nettle/base64.h>
#include <nettle/sha2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

size_t
kr_b64url_encoded_len(size_t len)
{
    return len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
}

size_t
kr_b64url_encode_to(const uint8_t *data, size_t len, char *out)
{
    struct base64_encode_ctx ctx;
    size_t whole = len - len % 3;
    size_t pos = 0;
    char tail[BASE64_ENCODE_LENGTH(2) + BASE64_ENCODE_FINAL_LENGTH];
    size_t tail_len = 0;
    size_t i;

    /* Whole 3-byte groups encode to whole 4-character groups, straight
     * into out. The last one or two bytes go through a small buffer because
     * Nettle appends '=' padding that out has no room for. */
    base64url_encode_init(&ctx);
    pos = base64_encode_update(&ctx, out, whole, data);

    if (len > whole) {
        tail_len = base64_encode_update(&ctx, tail, len - whole, data + whole);
        tail_len += base64_encode_final(&ctx, tail + tail_len);
    }

    for (i = 0; i < tail_len && tail[i] != '='; i++)
        out[pos++] = tail[i];

    out[pos] = '\0';
    return pos;
}

char *
kr_b64url_encode(const uint8_t *data, size_t len)
{
    char *out = malloc(kr_b64url_encoded_len(len) + 1);

    if (out == NULL)
        return NULL;

    kr_b64url_encode_to(data, len, out);
    return out;
}

/* Returns the 6-bit value of a base64url character, or -1 for any other
 * byte, including '=', '+', '/' and white space. */
static int
b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Checks that text is canonical unpadded base64url: only alphabet
 * characters, a length that can come from whole bytes, and zero bits in
 * the part of the last character that encodes no data (RFC 4648 section
 * 3.5), so that every byte string has exactly one accepted encoding. */
static kr_code
b64url_check(const char *text, size_t text_len, kr_error *err)
{
    size_t i;
    int last = 0;

    for (i = 0; i < text_len; i++) {
        last = b64url_value((unsigned char)text[i]);
        if (last < 0)
            return kr_error_set(err, KR_E_INPUT,
                                "invalid base64url character at offset %zu",
                                i);
    }

    if (text_len % 4 == 1)
        return kr_error_set(err, KR_E_INPUT, "invalid base64url length %zu",
                            text_len);

    if ((text_len % 4 == 2 && (last & 0x0f) != 0)
        || (text_len % 4 == 3 && (last & 0x03) != 0))
        return kr_error_set(err, KR_E_INPUT,
                            "non-canonical base64url: unused trailing bits "
                            "are not zero");

    return KR_OK;
}

kr_code
kr_b64url_decode(const char *text, size_t text_len, uint8_t **out,
                 size_t *out_len, kr_error *err)
{
    struct base64_decode_ctx ctx;
    uint8_t *buf = NULL;
    size_t buf_len = 0;
    kr_code rc;

    *out = NULL;
    *out_len = 0;

    rc = b64url_check(text, text_len, err);
    if (rc != KR_OK)
        goto out;

    /* One spare byte so that an empty text still gets a non-NULL buffer. */
    buf = malloc(BASE64_DECODE_LENGTH(text_len) + 1);
    if (buf == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }

    /* The leftover bits of a partial last group stay in ctx and are zero
     * (checked above), so base64_decode_final, which wants padding, is not
     * called. */
    base64url_decode_init(&ctx);
    if (base64_decode_update(&ctx, &buf_len, buf, text_len, text) != 1) {
        rc = kr_error_set(err, KR_E_INPUT, "invalid base64url text");
        goto out;
    }

    *out = buf;
    *out_len = buf_len;
    buf = NULL;
    rc = KR_OK;

out:
    free(buf);
    return rc;
}

void
kr_sha256(const void *data, size_t len, uint8_t digest[KR_SHA256_SIZE])
{
    struct sha256_ctx ctx;

    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, KR_SHA256_SIZE, digest);
}
