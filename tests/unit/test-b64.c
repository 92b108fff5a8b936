/* SPDX-License-Identifier: MIT */
/*
 * Tests of the two small text modules: base64url and SHA-256 (b64.c),
 * and key ID checking and escaping (kid.c). Vectors come from RFC 4648
 * section 10 and FIPS 180-2 appendix B.1.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "kid.h"
#include "tap.h"

static void
test_encode_rfc4648(void)
{
    static const struct {
        const char *in;
        const char *out;
    } vectors[] = {
        {"", ""},
        {"f", "Zg"},
        {"fo", "Zm8"},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg"},
        {"fooba", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy"},
    };
    size_t i;
    char *got;

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        got = kr_b64url_encode((const uint8_t *)vectors[i].in,
                               strlen(vectors[i].in));
        tap_str_eq(got, vectors[i].out, vectors[i].in);
        tap_ok(kr_b64url_encoded_len(strlen(vectors[i].in))
                   == strlen(vectors[i].out),
               "encoded length of \"%s\"", vectors[i].in);
        free(got);
    }
}

static void
test_encode_url_alphabet(void)
{
    static const uint8_t data[] = {0xfb, 0xef, 0xff, 0x3e};
    char out[16];
    size_t len;

    /* Standard base64 would give "++//Pg==". */
    len = kr_b64url_encode_to(data, sizeof(data), out);
    tap_str_eq(out, "--__Pg", "url alphabet, no padding");
    tap_ok(len == 6, "encode_to returns the text length");
}

static void
test_decode_roundtrip(void)
{
    uint8_t data[256];
    uint8_t *back = NULL;
    size_t back_len = 0;
    char *text;
    size_t len;
    int all_ok = 1;
    kr_error err;

    for (len = 0; len < sizeof(data); len++)
        data[len] = (uint8_t)(len * 7 + 3);

    /* Every length hits every tail shape (0, 1 or 2 bytes left over). */
    for (len = 0; len <= sizeof(data); len++) {
        kr_error_clear(&err);
        text = kr_b64url_encode(data, len);
        if (kr_b64url_decode(text, strlen(text), &back, &back_len, &err)
                != KR_OK
            || back_len != len || memcmp(back, data, len) != 0)
            all_ok = 0;
        free(text);
        free(back);
        back = NULL;
    }
    tap_ok(all_ok, "decode(encode(x)) == x for lengths 0..256");
}

static void
test_decode_rejects(void)
{
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        {"Zg==", "padding"},
        {"Zm9v=", "padding after a whole group"},
        {"Zm 9v", "space"},
        {"Zm9v\n", "newline"},
        {"Zm9v\r\n", "CRLF"},
        {"Zm\t9v", "tab"},
        {"+/8A", "standard alphabet"},
        {"Zm9v!", "other punctuation"},
        {"Z", "length 1 mod 4"},
        {"Zm9vY", "length 5"},
        {"Zh", "non-zero trailing bits (2 chars)"},
        {"Zm9", "non-zero trailing bits (3 chars)"},
        {"Zm\xc3\xa9", "non-ASCII byte"},
    };
    uint8_t *out;
    size_t out_len;
    size_t i;
    kr_error err;
    kr_code rc;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kr_error_clear(&err);
        out = (uint8_t *)"sentinel";
        rc = kr_b64url_decode(bad[i].text, strlen(bad[i].text), &out, &out_len,
                              &err);
        tap_ok(rc == KR_E_INPUT && err.code == KR_E_INPUT && out == NULL,
               "decode rejects %s", bad[i].why);
        if (rc != KR_E_INPUT)
            free(out);
    }

    /* An embedded NUL counts as a character, not as the end. */
    kr_error_clear(&err);
    rc = kr_b64url_decode("Zg\0A", 4, &out, &out_len, &err);
    tap_ok(rc == KR_E_INPUT, "decode rejects an embedded NUL");
    if (rc == KR_OK)
        free(out);
}

static void
test_decode_canonical_tail(void)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    kr_error err;

    kr_error_clear(&err);
    tap_ok(kr_b64url_decode("Zm8", 3, &out, &out_len, &err) == KR_OK
               && out_len == 2 && memcmp(out, "fo", 2) == 0,
           "decode Zm8 gives \"fo\"");
    free(out);

    kr_error_clear(&err);
    out = NULL;
    tap_ok(kr_b64url_decode("", 0, &out, &out_len, &err) == KR_OK
               && out != NULL && out_len == 0,
           "decode of empty text gives an empty buffer");
    free(out);
}

static void
hex(const uint8_t *d, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

static void
test_sha256(void)
{
    uint8_t digest[KR_SHA256_SIZE];
    char text[2 * KR_SHA256_SIZE + 1];

    kr_sha256("abc", 3, digest);
    hex(digest, sizeof(digest), text);
    tap_str_eq(text,
               "ba7816bf8f01cfea414140de5dae2223"
               "b00361a396177a9cb410ff61f20015ad",
               "sha256(\"abc\")");

    kr_sha256("", 0, digest);
    hex(digest, sizeof(digest), text);
    tap_str_eq(text,
               "e3b0c44298fc1c149afbf4c8996fb924"
               "27ae41e4649b934ca495991b7852b855",
               "sha256(\"\")");
}

static void
test_kid_valid(void)
{
    char longest[KR_KID_MAX + 2];

    memset(longest, 'a', sizeof(longest));
    tap_ok(kr_kid_valid("interop-k1", 10), "kid with a hyphen is valid");
    tap_ok(kr_kid_valid("A.b_9-Z", 7), "kid with all allowed classes");
    tap_ok(kr_kid_valid(longest, KR_KID_MAX), "kid of 128 characters");
    tap_ok(!kr_kid_valid(longest, KR_KID_MAX + 1), "kid of 129 rejected");
    tap_ok(!kr_kid_valid("", 0), "empty kid rejected");
    tap_ok(!kr_kid_valid("a b", 3), "kid with a space rejected");
    tap_ok(!kr_kid_valid("a/b", 3), "kid with a slash rejected");
    tap_ok(!kr_kid_valid("ab\0c", 4), "kid with a NUL rejected");
    tap_ok(!kr_kid_valid("k\xc3\xa9", 3), "kid with non-ASCII rejected");
}

static void
test_kid_escape(void)
{
    char out[64];
    char tiny[8];
    char longest[200];

    kr_kid_escape("k1", 2, out, sizeof(out));
    tap_str_eq(out, "\"k1\"", "escape plain kid");

    kr_kid_escape("a\"b\\c\n\x01\xff", 8, out, sizeof(out));
    tap_str_eq(out, "\"a\\x22b\\x5cc\\x0a\\x01\\xff\"",
               "escape quote, backslash, control and non-ASCII");

    kr_kid_escape("ab\0cd", 5, out, sizeof(out));
    tap_str_eq(out, "\"ab\\x00cd\"", "escape embedded NUL");

    memset(longest, 'x', sizeof(longest));
    kr_kid_escape(longest, sizeof(longest), out, sizeof(out));
    tap_diag("200-byte kid escaped as %s", out);
    tap_ok(strlen(out) == sizeof(out) - 1 || strlen(out) == sizeof(out) - 2,
           "long kid fills the buffer");
    tap_ok(strcmp(out + strlen(out) - 4, "\"...") == 0,
           "long kid ends with a quote and ...");

    kr_kid_escape("abcdefgh", 8, tiny, sizeof(tiny));
    tap_str_eq(tiny, "\"ab\"...", "tiny buffer keeps the markers");

    kr_kid_escape("\x01\x02\x03", 3, tiny, sizeof(tiny));
    tap_str_eq(tiny, "\"\"...", "escape that does not fit is cut");
}

int
main(void)
{
    test_encode_rfc4648();
    test_encode_url_alphabet();
    test_decode_roundtrip();
    test_decode_rejects();
    test_decode_canonical_tail();
    test_sha256();
    test_kid_valid();
    test_kid_escape();
    return tap_done();
}
