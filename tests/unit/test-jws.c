/* SPDX-License-Identifier: MIT */
/*
 * Tests of jws.c. The RFC 7515 appendix A.2 RS256 example is the outside
 * vector. Generated keys give sign/verify round trips, one forged or
 * broken twin per reason code, and the exact time boundaries. When
 * KR_FIXTURES points at the interop set, every token made by the peers
 * (PyJWT, jose, node, openssl) is checked against its manifest verdict.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "jwk.h"
#include "jws.h"
#include "rsakey.h"
#include "tap.h"

/* The fixed clock of these tests and of the interop fixtures. */
#define NOW          INT64_C(1767229260)
#define LEEWAY       60
#define MAX_LIFETIME 3600
#define AUD          "https://api.interop.keyrot.test"

/* One key of the test resolver, with the refusal it returns in place of
 * the key when the key is retired or revoked. */
typedef struct test_key {
    const char *kid;
    const kr_rsakey *key;
    kr_reason refusal; /* KR_REASON_NONE: hand out the key */
} test_key;

typedef struct test_keyring {
    const test_key *keys;
    size_t n_keys;
    bool fail; /* simulate a store error */
} test_keyring;

static kr_code
keyring_resolve(void *ctx, const char *kid, const kr_rsakey **key,
                kr_reason *refusal, kr_error *err)
{
    const test_keyring *ring = ctx;
    size_t i;

    *key = NULL;
    *refusal = KR_REASON_KID_UNKNOWN;
    if (ring->fail)
        return kr_error_set(err, KR_E_SYSTEM, "store is unavailable");

    for (i = 0; i < ring->n_keys; i++) {
        if (strcmp(ring->keys[i].kid, kid) != 0)
            continue;
        if (ring->keys[i].refusal != KR_REASON_NONE)
            *refusal = ring->keys[i].refusal;
        else
            *key = ring->keys[i].key;
        return KR_OK;
    }
    return KR_OK;
}

static kr_verify_params
params_default(void)
{
    kr_verify_params p = {NOW, LEEWAY, MAX_LIFETIME, AUD};

    return p;
}

/* Builds b64(header).b64(claims).b64(RS256 signature) from raw JSON text,
 * so a test can sign any header, broken or not, with a real key. Returns
 * a malloc'd token or NULL. */
static char *
token_make(const kr_rsakey *key, const char *header, const char *claims)
{
    char *h = kr_b64url_encode((const uint8_t *)header, strlen(header));
    char *c = kr_b64url_encode((const uint8_t *)claims, strlen(claims));
    char *input = NULL;
    char *sig_text = NULL;
    char *token = NULL;
    uint8_t sig[KR_RSA_MAX_SIG_SIZE];
    size_t sig_len = 0;
    size_t input_len;
    kr_error err = {KR_OK, ""};

    if (h == NULL || c == NULL)
        goto out;

    input_len = strlen(h) + 1 + strlen(c);
    input = malloc(input_len + 1);
    if (input == NULL)
        goto out;
    snprintf(input, input_len + 1, "%s.%s", h, c);

    if (kr_rsakey_sign_rs256(key, (const uint8_t *)input, input_len, sig,
                             &sig_len, &err)
        != KR_OK) {
        tap_diag("signing failed: %s", err.msg);
        goto out;
    }
    sig_text = kr_b64url_encode(sig, sig_len);
    if (sig_text == NULL)
        goto out;

    token = malloc(input_len + 1 + strlen(sig_text) + 1);
    if (token != NULL)
        snprintf(token, input_len + 1 + strlen(sig_text) + 1, "%s.%s", input,
                 sig_text);

out:
    free(h);
    free(c);
    free(input);
    free(sig_text);
    return token;
}

/* Claims valid at NOW for AUD, with extra JSON members appended. */
static void
claims_text(char *out, size_t size, const char *extra)
{
    snprintf(out, size, "{\"aud\":\"" AUD "\",\"iat\":%lld,\"exp\":%lld%s%s}",
             (long long)NOW, (long long)(NOW + 300),
             extra[0] != '\0' ? "," : "", extra);
}

static const test_keyring *the_ring;

/* Verifies token and checks that the verdict is want, that a rejection
 * carries a detail, and that claims are absent until the signature
 * holds. */
static void
check_token(const char *name, const char *token,
            const kr_verify_params *params, kr_reason want)
{
    kr_verdict v;
    kr_error err = {KR_OK, ""};
    kr_code rc;

    if (token == NULL) {
        tap_ok(0, "%s: token built", name);
        return;
    }

    rc = kr_jws_verify(token, strlen(token), params, keyring_resolve,
                       (void *)the_ring, &v, &err);
    if (!tap_ok(rc == KR_OK && v.reason == want, "%s: %s", name,
                kr_reason_name(want)))
        tap_diag("rc %d (%s), got %s: %s", rc, err.msg,
                 kr_reason_name(v.reason), v.detail);

    if (want != KR_REASON_NONE)
        tap_ok(v.detail[0] != '\0', "%s: detail says why", name);
    if (want != KR_REASON_NONE && want <= KR_REASON_BAD_SIGNATURE)
        tap_ok(v.claims == NULL, "%s: no claims before the signature holds",
               name);
    kr_verdict_clear(&v);
}

/* Signs claims (JSON text) under the standard header and checks. */
static void
check_claims(const char *name, const kr_rsakey *key, const char *claims,
             const kr_verify_params *params, kr_reason want)
{
    char *token = token_make(
        key, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\"}",
        claims);

    check_token(name, token, params, want);
    free(token);
}

/* Signs the given header over valid claims and checks. */
static void
check_header(const char *name, const kr_rsakey *key, const char *header,
             kr_reason want)
{
    kr_verify_params params = params_default();
    char claims[512];
    char *token;

    claims_text(claims, sizeof(claims), "");
    token = token_make(key, header, claims);
    check_token(name, token, &params, want);
    free(token);
}

/* RFC 7515 appendix A.2: the RSA key as a JWK, the signing input and the
 * signature, copied from the RFC text. */
static const char rfc7515_a2_jwk[] =
    "{\"kty\":\"RSA\","
    "\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
    "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
    "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\","
    "\"e\":\"AQAB\","
    "\"d\":\"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97I"
    "jlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0"
    "BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn"
    "439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYT"
    "CBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLh"
    "BOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ\","
    "\"p\":\"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdi"
    "YrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPG"
    "BY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc\","
    "\"q\":\"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxa"
    "ewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA"
    "-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc\","
    "\"dp\":\"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3Q"
    "CLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb"
    "34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0\","
    "\"dq\":\"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa"
    "7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-ky"
    "NlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU\","
    "\"qi\":\"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2o"
    "y26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLU"
    "W0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U\"}";

static const char rfc7515_a2_input[] =
    "eyJhbGciOiJSUzI1NiJ9"
    "."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

static const uint8_t rfc7515_a2_signature[256] = {
    112, 46,  33,  137, 67,  232, 143, 209, 30,  181, 216, 45,  191, 120, 69,
    243, 65,  6,   174, 27,  129, 255, 247, 115, 17,  22,  173, 209, 113, 125,
    131, 101, 109, 66,  10,  253, 60,  150, 238, 221, 115, 162, 102, 62,  81,
    102, 104, 123, 0,   11,  135, 34,  110, 1,   135, 237, 16,  115, 249, 69,
    229, 130, 173, 252, 239, 22,  216, 90,  121, 142, 232, 198, 109, 219, 61,
    184, 151, 91,  23,  208, 148, 2,   190, 237, 213, 217, 217, 112, 7,   16,
    141, 178, 129, 96,  213, 248, 4,   12,  167, 68,  87,  98,  184, 31,  190,
    127, 249, 217, 46,  10,  231, 111, 36,  242, 91,  51,  187, 230, 244, 74,
    230, 30,  177, 4,   10,  203, 32,  4,   77,  62,  249, 18,  142, 212, 1,
    48,  121, 91,  212, 189, 59,  65,  238, 202, 208, 102, 171, 101, 25,  129,
    253, 228, 141, 247, 127, 55,  45,  195, 139, 159, 175, 221, 59,  239, 177,
    139, 93,  163, 204, 60,  46,  176, 47,  158, 58,  65,  214, 18,  202, 173,
    21,  145, 18,  115, 160, 95,  35,  185, 232, 56,  250, 175, 132, 157, 105,
    132, 41,  239, 90,  30,  136, 121, 130, 54,  195, 212, 14,  96,  69,  34,
    165, 68,  200, 242, 122, 122, 45,  184, 6,   99,  209, 108, 247, 202, 234,
    86,  222, 64,  92,  178, 33,  90,  69,  178, 194, 85,  102, 181, 90,  193,
    167, 72,  160, 112, 223, 200, 163, 42,  70,  149, 67,  208, 25,  238, 251,
    71,
};

static const char rfc7515_a2_signature_b64[] =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
    "p0igcN_IoypGlUPQGe77Rw";

static void
test_rfc7515_a2(void)
{
    json_t *jwk = NULL;
    kr_rsakey *key = NULL;
    kr_rsakey *pub = NULL;
    char kid[KR_KID_SIZE];
    uint8_t *decoded = NULL;
    size_t decoded_len = 0;
    uint8_t sig[KR_RSA_MAX_SIG_SIZE];
    uint8_t flipped[sizeof(rfc7515_a2_signature)];
    size_t sig_len = 0;
    const uint8_t *input = (const uint8_t *)rfc7515_a2_input;
    size_t input_len = strlen(rfc7515_a2_input);
    kr_error err = {KR_OK, ""};
    kr_bytes n, e;

    jwk = json_loads(rfc7515_a2_jwk, 0, NULL);
    tap_ok(jwk != NULL, "rfc7515 a2: JWK text parses");
    if (!tap_ok(kr_jwk_parse(jwk, 2048, &key, kid, NULL, &err) == KR_OK,
                "rfc7515 a2: private JWK loads")) {
        tap_diag("%s", err.msg);
        goto out;
    }
    tap_ok(kr_rsakey_has_private(key), "rfc7515 a2: key has d, p, q");
    tap_ok(kr_rsakey_bits(key) == 2048, "rfc7515 a2: key is 2048 bits");

    tap_ok(kr_b64url_decode(rfc7515_a2_signature_b64,
                            strlen(rfc7515_a2_signature_b64), &decoded,
                            &decoded_len, &err)
                   == KR_OK
               && decoded_len == sizeof(rfc7515_a2_signature)
               && memcmp(decoded, rfc7515_a2_signature, decoded_len) == 0,
           "rfc7515 a2: signature octets equal its base64url form");

    tap_ok(kr_rsakey_verify_rs256(key, input, input_len, rfc7515_a2_signature,
                                  sizeof(rfc7515_a2_signature)),
           "rfc7515 a2: RFC signature verifies");

    n = kr_rsakey_n(key);
    e = kr_rsakey_e(key);
    tap_ok(kr_rsakey_from_public(n.data, n.len, e.data, e.len, &pub, &err)
                   == KR_OK
               && kr_rsakey_verify_rs256(pub, input, input_len,
                                         rfc7515_a2_signature,
                                         sizeof(rfc7515_a2_signature)),
           "rfc7515 a2: RFC signature verifies with the public key alone");

    tap_ok(kr_rsakey_sign_rs256(key, input, input_len, sig, &sig_len, &err)
               == KR_OK,
           "rfc7515 a2: signing the RFC input succeeds");
    tap_ok(sig_len == sizeof(rfc7515_a2_signature)
               && memcmp(sig, rfc7515_a2_signature, sig_len) == 0,
           "rfc7515 a2: our signature equals the RFC's byte for byte");

    memcpy(flipped, rfc7515_a2_signature, sizeof(flipped));
    flipped[sizeof(flipped) - 1] ^= 0x01;
    tap_ok(!kr_rsakey_verify_rs256(key, input, input_len, flipped,
                                   sizeof(flipped)),
           "rfc7515 a2: one flipped bit fails");
    tap_ok(!kr_rsakey_verify_rs256(key, input, input_len - 1,
                                   rfc7515_a2_signature,
                                   sizeof(rfc7515_a2_signature)),
           "rfc7515 a2: a shortened input fails");

out:
    free(decoded);
    kr_rsakey_free(pub);
    kr_rsakey_free(key);
    json_decref(jwk);
}

/* The RFC's compact token verifies cryptographically but carries neither
 * typ nor kid; keyrot needs a kid to pick a key. */
static void
test_rfc7515_a2_token(const kr_rsakey *rfc_key)
{
    kr_verify_params params = params_default();
    test_key keys[] = {{"rfc", rfc_key, KR_REASON_NONE}};
    test_keyring ring = {keys, 1, false};
    const test_keyring *saved = the_ring;
    char token[1024];

    snprintf(token, sizeof(token), "%s.%s", rfc7515_a2_input,
             rfc7515_a2_signature_b64);
    the_ring = &ring;
    check_token("rfc7515 a2 token", token, &params, KR_REASON_KID_MISSING);
    the_ring = saved;
}

static void
test_roundtrip(const kr_rsakey *key)
{
    static const char want_header[] =
        "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\"}";
    kr_verify_params params = params_default();
    json_t *claims = NULL;
    char *token = NULL;
    char *again = NULL;
    uint8_t *header = NULL;
    size_t header_len = 0;
    kr_verdict v;
    kr_error err = {KR_OK, ""};
    const char *dot;

    claims =
        json_pack("{s:s, s:I, s:I, s:s}", "aud", AUD, "iat", (json_int_t)NOW,
                  "exp", (json_int_t)(NOW + 300), "sub", "svc-a");
    if (!tap_ok(kr_jws_sign(key, "test-k1", claims, &token, &err) == KR_OK,
                "roundtrip: sign succeeds")) {
        tap_diag("%s", err.msg);
        goto out;
    }

    dot = strchr(token, '.');
    kr_b64url_decode(token, (size_t)(dot - token), &header, &header_len, &err);
    tap_ok(header != NULL && header_len == strlen(want_header)
               && memcmp(header, want_header, header_len) == 0,
           "roundtrip: header bytes are exactly alg, typ, kid");

    kr_jws_sign(key, "test-k1", claims, &again, &err);
    tap_ok(again != NULL && strcmp(token, again) == 0,
           "roundtrip: signing twice gives the same token");

    kr_jws_verify(token, strlen(token), &params, keyring_resolve,
                  (void *)the_ring, &v, &err);
    tap_ok(v.reason == KR_REASON_NONE, "roundtrip: token verifies");
    tap_str_eq(v.kid, "test-k1", "roundtrip: verdict names the kid");
    tap_ok(v.claims != NULL && json_equal(v.claims, claims),
           "roundtrip: verdict carries the signed claims");
    tap_ok(v.exp == NOW + 300 && v.has_iat && v.iat == NOW,
           "roundtrip: verdict carries iat and exp");
    kr_verdict_clear(&v);

out:
    free(header);
    free(again);
    free(token);
    json_decref(claims);
}

static void
test_sign_refusals(const kr_rsakey *key, const kr_rsakey *public_only)
{
    json_t *claims = json_pack("{s:I}", "exp", (json_int_t)(NOW + 300));
    json_t *array = json_array();
    json_t *big = json_object();
    char *token = NULL;
    char *pad = NULL;
    kr_error err = {KR_OK, ""};

    tap_ok(kr_jws_sign(key, "bad kid", claims, &token, &err) == KR_E_INPUT
               && token == NULL,
           "sign: kid with a space is refused");
    kr_error_clear(&err);
    tap_ok(kr_jws_sign(key, "", claims, &token, &err) == KR_E_INPUT,
           "sign: empty kid is refused");
    kr_error_clear(&err);
    tap_ok(kr_jws_sign(key, "test-k1", array, &token, &err) == KR_E_INPUT,
           "sign: claims that are not an object are refused");
    kr_error_clear(&err);
    tap_ok(kr_jws_sign(public_only, "test-k1", claims, &token, &err)
               == KR_E_REFUSED,
           "sign: a key without private part is refused");
    kr_error_clear(&err);

    pad = malloc(KR_JWS_CLAIMS_MAX + 1);
    memset(pad, 'x', KR_JWS_CLAIMS_MAX);
    pad[KR_JWS_CLAIMS_MAX] = '\0';
    json_object_set_new(big, "pad", json_string(pad));
    tap_ok(kr_jws_sign(key, "test-k1", big, &token, &err) == KR_E_INPUT,
           "sign: claims over the size limit are refused");
    tap_diag("%s", err.msg);

    free(pad);
    free(token);
    json_decref(big);
    json_decref(array);
    json_decref(claims);
}

static void
test_shape(const kr_rsakey *key)
{
    kr_verify_params params = params_default();
    char claims[512];
    char *good;
    char *bad;
    char *big;
    size_t len, sig_at;

    claims_text(claims, sizeof(claims), "");
    good = token_make(
        key, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\"}",
        claims);
    if (good == NULL) {
        tap_ok(0, "shape: token built");
        return;
    }
    len = strlen(good);
    sig_at = (size_t)(strrchr(good, '.') - good) + 1;
    bad = malloc(len + 3 + KR_JWS_TOKEN_MAX);

    check_token("shape: untouched token", good, &params, KR_REASON_NONE);

    snprintf(bad, len + 3, "%s==", good);
    check_token("shape: padding on the signature", bad, &params,
                KR_REASON_MALFORMED);

    memcpy(bad, good, sig_at + 10);
    bad[sig_at + 10] = '\n';
    memcpy(bad + sig_at + 11, good + sig_at + 10, len - sig_at - 10 + 1);
    check_token("shape: line break inside the signature", bad, &params,
                KR_REASON_MALFORMED);

    memcpy(bad, good, len + 1);
    bad[sig_at + 5] = '+';
    bad[sig_at + 6] = '/';
    check_token("shape: standard base64 alphabet", bad, &params,
                KR_REASON_MALFORMED);

    memcpy(bad, good, len + 1);
    bad[3] = '\0';
    check_token("shape: one segment", bad, &params, KR_REASON_MALFORMED);

    memcpy(bad, good, sig_at - 1);
    bad[sig_at - 1] = '\0';
    check_token("shape: two segments", bad, &params, KR_REASON_MALFORMED);

    snprintf(bad, len + 3, "%s.", good);
    check_token("shape: four segments", bad, &params, KR_REASON_MALFORMED);

    check_token("shape: five segments (JWE)",
                "eyJhbGciOiJSU0ExXzUiLCJlbmMiOiJBMjU2R0NNIn0.QR1Owv2u.AxY8DCtD"
                ".MKOle7UQ.fiK51VwhsxJ",
                &params, KR_REASON_MALFORMED);
    check_token("shape: empty token", "", &params, KR_REASON_MALFORMED);
    check_token("shape: dots only", "..", &params, KR_REASON_BAD_HEADER);

    /* A NUL inside the token is a byte outside the alphabet, not an end. */
    {
        kr_verdict v;
        kr_error err = {KR_OK, ""};

        memcpy(bad, good, len + 1);
        bad[sig_at + 3] = '\0';
        kr_jws_verify(bad, len, &params, keyring_resolve, (void *)the_ring, &v,
                      &err);
        tap_ok(v.reason == KR_REASON_MALFORMED,
               "shape: embedded NUL byte is malformed");
        kr_verdict_clear(&v);
    }

    big = malloc(KR_JWS_TOKEN_MAX + 2);
    memset(big, 'A', KR_JWS_TOKEN_MAX + 1);
    big[10] = '.';
    big[20] = '.';
    big[KR_JWS_TOKEN_MAX + 1] = '\0';
    check_token("shape: token over 16 KiB", big, &params, KR_REASON_TOO_LARGE);
    free(big);

    free(bad);
    free(good);
}

static void
test_sizes(const kr_rsakey *key)
{
    kr_verify_params params = params_default();
    char header[KR_JWS_HEADER_MAX + 128];
    char pad[KR_JWS_HEADER_MAX + 1];
    char *claims = malloc(KR_JWS_CLAIMS_MAX + 256);
    char *claims_pad = malloc(KR_JWS_CLAIMS_MAX + 1);

    memset(pad, 'x', KR_JWS_HEADER_MAX - 60);
    pad[KR_JWS_HEADER_MAX - 60] = '\0';
    snprintf(header, sizeof(header),
             "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\","
             "\"x-pad\":\"%s\"}",
             pad);
    check_header("size: header just under the limit", key, header,
                 KR_REASON_NONE);

    memset(pad, 'x', KR_JWS_HEADER_MAX);
    pad[KR_JWS_HEADER_MAX] = '\0';
    snprintf(header, sizeof(header),
             "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\","
             "\"x-pad\":\"%s\"}",
             pad);
    check_header("size: header over 1 KiB", key, header, KR_REASON_TOO_LARGE);

    memset(claims_pad, 'y', KR_JWS_CLAIMS_MAX);
    claims_pad[KR_JWS_CLAIMS_MAX] = '\0';
    snprintf(claims, KR_JWS_CLAIMS_MAX + 256,
             "{\"aud\":\"" AUD "\",\"exp\":%lld,\"pad\":\"%s\"}",
             (long long)(NOW + 300), claims_pad);
    check_claims("size: claims over 8 KiB", key, claims, &params,
                 KR_REASON_TOO_LARGE);

    free(claims_pad);
    free(claims);
}

static void
test_header(const kr_rsakey *key)
{
    char long_kid[KR_KID_MAX + 64];
    char header[KR_KID_MAX + 256];

    check_header("header: typ absent is fine", key,
                 "{\"alg\":\"RS256\",\"kid\":\"test-k1\"}", KR_REASON_NONE);
    check_header("header: alg none", key,
                 "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"test-k1\"}",
                 KR_REASON_ALG_NOT_ALLOWED);
    check_header("header: alg HS256", key,
                 "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\"}",
                 KR_REASON_ALG_NOT_ALLOWED);
    check_header("header: alg rs256 lower case", key,
                 "{\"alg\":\"rs256\",\"typ\":\"JWT\",\"kid\":\"test-k1\"}",
                 KR_REASON_ALG_NOT_ALLOWED);
    check_header("header: alg RS512", key,
                 "{\"alg\":\"RS512\",\"typ\":\"JWT\",\"kid\":\"test-k1\"}",
                 KR_REASON_ALG_NOT_ALLOWED);
    check_header("header: alg PS256", key,
                 "{\"alg\":\"PS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\"}",
                 KR_REASON_ALG_NOT_ALLOWED);
    check_header("header: alg with trailing NUL", key,
                 "{\"alg\":\"RS256\\u0000\",\"kid\":\"test-k1\"}",
                 KR_REASON_ALG_NOT_ALLOWED);
    check_header("header: alg missing", key,
                 "{\"typ\":\"JWT\",\"kid\":\"test-k1\"}",
                 KR_REASON_ALG_NOT_ALLOWED);
    check_header("header: alg a number", key,
                 "{\"alg\":256,\"typ\":\"JWT\",\"kid\":\"test-k1\"}",
                 KR_REASON_ALG_NOT_ALLOWED);
    check_header("header: typ JWS", key,
                 "{\"alg\":\"RS256\",\"typ\":\"JWS\",\"kid\":\"test-k1\"}",
                 KR_REASON_BAD_HEADER);
    check_header("header: typ a number", key,
                 "{\"alg\":\"RS256\",\"typ\":1,\"kid\":\"test-k1\"}",
                 KR_REASON_BAD_HEADER);
    check_header("header: crit", key,
                 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\","
                 "\"crit\":[\"exp\"],\"exp\":1}",
                 KR_REASON_CRIT_UNSUPPORTED);
    check_header("header: empty crit", key,
                 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\","
                 "\"crit\":[]}",
                 KR_REASON_CRIT_UNSUPPORTED);
    check_header("header: no kid", key, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
                 KR_REASON_KID_MISSING);
    check_header("header: unknown kid", key,
                 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-k9\"}",
                 KR_REASON_KID_UNKNOWN);
    check_header("header: retired key", key,
                 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-old\"}",
                 KR_REASON_KEY_RETIRED);
    check_header("header: revoked key", key,
                 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-bad\"}",
                 KR_REASON_KEY_REVOKED);
    check_header("header: kid with NUL", key,
                 "{\"alg\":\"RS256\",\"kid\":\"test-k1\\u0000x\"}",
                 KR_REASON_KID_UNKNOWN);
    check_header("header: kid with quote", key,
                 "{\"alg\":\"RS256\",\"kid\":\"test\\\"k1\"}",
                 KR_REASON_KID_UNKNOWN);
    check_header("header: kid with path", key,
                 "{\"alg\":\"RS256\",\"kid\":\"../test-k1\"}",
                 KR_REASON_KID_UNKNOWN);
    check_header("header: empty kid", key, "{\"alg\":\"RS256\",\"kid\":\"\"}",
                 KR_REASON_KID_UNKNOWN);
    check_header("header: kid a number", key, "{\"alg\":\"RS256\",\"kid\":7}",
                 KR_REASON_KID_UNKNOWN);
    memset(long_kid, 'k', KR_KID_MAX + 1);
    long_kid[KR_KID_MAX + 1] = '\0';
    snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":\"%s\"}",
             long_kid);
    check_header("header: kid of 129 characters", key, header,
                 KR_REASON_KID_UNKNOWN);
    check_header("header: duplicate kid", key,
                 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\","
                 "\"kid\":\"test-k9\"}",
                 KR_REASON_BAD_HEADER);
    check_header("header: duplicate alg", key,
                 "{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"test-k1\"}",
                 KR_REASON_BAD_HEADER);
    check_header("header: not JSON", key, "{\"alg\":\"RS256\",",
                 KR_REASON_BAD_HEADER);
    check_header("header: an array", key, "[\"RS256\"]", KR_REASON_BAD_HEADER);
}

/* The verdict of a hostile kid shows it escaped, on one line. */
static void
test_kid_detail(const kr_rsakey *key)
{
    kr_verify_params params = params_default();
    char claims[512];
    char *token;
    kr_verdict v;
    kr_error err = {KR_OK, ""};

    claims_text(claims, sizeof(claims), "");
    token = token_make(key, "{\"alg\":\"RS256\",\"kid\":\"a\\n\\\"b\\u0000\"}",
                       claims);
    kr_jws_verify(token, strlen(token), &params, keyring_resolve,
                  (void *)the_ring, &v, &err);
    tap_ok(v.reason == KR_REASON_KID_UNKNOWN, "kid detail: rejected");
    tap_ok(strchr(v.detail, '\n') == NULL, "kid detail: stays on one line");
    tap_ok(strstr(v.detail, "a\\x0a\\x22b\\x00") != NULL,
           "kid detail: control bytes and quote are escaped");
    tap_diag("detail: %s", v.detail);
    tap_ok(v.kid[0] == '\0', "kid detail: invalid kid not copied");
    kr_verdict_clear(&v);
    free(token);

    /* jansson quotes the bad input in its message; a raw line break and an
     * escape character in the header must not reach the detail. */
    token =
        token_make(key, "{\"alg\":\"RS256\",\"kid\":\"a\x1b[2J\nb\"}", claims);
    kr_jws_verify(token, strlen(token), &params, keyring_resolve,
                  (void *)the_ring, &v, &err);
    tap_ok(v.reason == KR_REASON_BAD_HEADER,
           "raw control bytes in header: bad_header");
    tap_ok(strchr(v.detail, '\n') == NULL && strchr(v.detail, 0x1b) == NULL,
           "raw control bytes in header: none in the detail");
    tap_diag("detail: %s", v.detail);
    kr_verdict_clear(&v);
    free(token);
}

static void
test_signature(const kr_rsakey *key, const kr_rsakey *other)
{
    kr_verify_params params = params_default();
    char claims[512];
    char forged[512];
    char *token;
    char *tampered;
    char *claims_b64;
    const char *first_dot, *last_dot;
    size_t sig_at, tampered_size;
    kr_verdict v;
    kr_error err = {KR_OK, ""};

    claims_text(claims, sizeof(claims), "");
    token = token_make(
        other, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\"}",
        claims);
    check_token("signature: other key, same kid", token, &params,
                KR_REASON_BAD_SIGNATURE);
    free(token);

    token = token_make(
        key, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-k1\"}",
        claims);
    first_dot = strchr(token, '.');
    last_dot = strrchr(token, '.');
    sig_at = (size_t)(last_dot - token) + 1;

    /* Same header and signature, claims rewritten to a new audience. */
    snprintf(forged, sizeof(forged),
             "{\"aud\":\"https://evil.test\",\"iat\":%lld,\"exp\":%lld}",
             (long long)NOW, (long long)(NOW + 300));
    claims_b64 = kr_b64url_encode((const uint8_t *)forged, strlen(forged));
    tampered_size = strlen(token) + strlen(claims_b64) + 4;
    tampered = malloc(tampered_size);
    snprintf(tampered, tampered_size, "%.*s%s%s", (int)(first_dot - token + 1),
             token, claims_b64, last_dot);
    check_token("signature: tampered payload", tampered, &params,
                KR_REASON_BAD_SIGNATURE);

    snprintf(tampered, tampered_size, "%s", token);
    tampered[sig_at + 20] = tampered[sig_at + 20] == 'A' ? 'B' : 'A';
    check_token("signature: tampered signature", tampered, &params,
                KR_REASON_BAD_SIGNATURE);

    snprintf(tampered, tampered_size, "%s", token);
    tampered[sig_at] = '\0';
    check_token("signature: empty signature", tampered, &params,
                KR_REASON_BAD_SIGNATURE);

    /* A valid kid but a failed signature still names the kid. */
    kr_jws_verify(tampered, strlen(tampered), &params, keyring_resolve,
                  (void *)the_ring, &v, &err);
    tap_str_eq(v.kid, "test-k1", "signature: verdict names the kid");
    kr_verdict_clear(&v);

    free(tampered);
    free(claims_b64);
    free(token);
}

static void
test_resolver_failure(const kr_rsakey *key)
{
    kr_verify_params params = params_default();
    test_keyring ring = {NULL, 0, true};
    char claims[512];
    char *token;
    kr_verdict v;
    kr_error err = {KR_OK, ""};
    kr_code rc;

    claims_text(claims, sizeof(claims), "");
    token = token_make(key, "{\"alg\":\"RS256\",\"kid\":\"test-k1\"}", claims);
    rc = kr_jws_verify(token, strlen(token), &params, keyring_resolve, &ring,
                       &v, &err);
    tap_ok(rc == KR_E_SYSTEM, "resolver failure: verify returns the error");
    tap_ok(strstr(err.msg, "store is unavailable") != NULL,
           "resolver failure: the resolver's message is kept");
    tap_ok(v.claims == NULL, "resolver failure: no claims");
    kr_verdict_clear(&v);
    free(token);
}

static void
test_claims(const kr_rsakey *key)
{
    kr_verify_params params = params_default();
    kr_verify_params strict = params_default();
    kr_verify_params no_aud = params_default();
    char c[512];

    strict.leeway = 0;
    no_aud.aud = NULL;

#define CLAIMS(...) (snprintf(c, sizeof(c), __VA_ARGS__), c)
#define T(x)        ((long long)(NOW + (x)))

    check_claims("claims: not JSON", key, "{\"exp\":", &params,
                 KR_REASON_MALFORMED);
    check_claims("claims: an array", key, "[1,2]", &params,
                 KR_REASON_MALFORMED);
    check_claims("claims: duplicate member", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld,\"exp\":%lld}",
                        T(300), T(9000)),
                 &params, KR_REASON_MALFORMED);
    check_claims("claims: exp missing", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"iat\":%lld}", T(0)), &params,
                 KR_REASON_EXP_MISSING);
    check_claims("claims: exp a string", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"exp\":\"%lld\"}", T(300)),
                 &params, KR_REASON_BAD_CLAIM);
    check_claims("claims: exp true", key, "{\"aud\":\"" AUD "\",\"exp\":true}",
                 &params, KR_REASON_BAD_CLAIM);
    check_claims("claims: exp null", key, "{\"aud\":\"" AUD "\",\"exp\":null}",
                 &params, KR_REASON_BAD_CLAIM);
    check_claims("claims: exp an object", key,
                 "{\"aud\":\"" AUD "\",\"exp\":{}}", &params,
                 KR_REASON_BAD_CLAIM);
    check_claims("claims: exp negative", key,
                 "{\"aud\":\"" AUD "\",\"exp\":-1}", &params,
                 KR_REASON_BAD_CLAIM);
    check_claims("claims: exp after year 9999", key,
                 "{\"aud\":\"" AUD "\",\"exp\":253402300800}", &params,
                 KR_REASON_BAD_CLAIM);
    check_claims("claims: exp 1e300", key,
                 "{\"aud\":\"" AUD "\",\"exp\":1e300}", &params,
                 KR_REASON_BAD_CLAIM);
    check_claims("claims: exp beyond double", key,
                 "{\"aud\":\"" AUD "\",\"exp\":1e400}", &params,
                 KR_REASON_BAD_CLAIM);
    check_claims("claims: exp beyond 64 bits", key,
                 "{\"aud\":\"" AUD "\",\"exp\":99999999999999999999}", &params,
                 KR_REASON_BAD_CLAIM);
    check_claims(
        "claims: nbf a string", key,
        CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld,\"nbf\":\"0\"}", T(300)),
        &params, KR_REASON_BAD_CLAIM);
    check_claims(
        "claims: iat null", key,
        CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld,\"iat\":null}", T(300)),
        &params, KR_REASON_BAD_CLAIM);
    check_claims("claims: exp before iat", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"iat\":%lld,\"exp\":%lld}",
                        T(30), T(10)),
                 &params, KR_REASON_BAD_CLAIM);
    check_claims("claims: exp fractional", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"iat\":%lld,\"exp\":%lld.5}",
                        T(0), T(300)),
                 &params, KR_REASON_NONE);
    check_claims("claims: exp as real with .0", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld.0}", T(300)),
                 &params, KR_REASON_NONE);

    /* Expiry: rejected once now >= exp + leeway. */
    check_claims("expiry: exp = now - leeway", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld}", T(-LEEWAY)),
                 &params, KR_REASON_EXPIRED);
    check_claims("expiry: exp = now - leeway + 1", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld}", T(1 - LEEWAY)),
                 &params, KR_REASON_NONE);
    check_claims("expiry: exp = now - leeway + 0.5", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld.5}", T(-LEEWAY)),
                 &params, KR_REASON_NONE);
    check_claims("expiry: exp = now, no leeway", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld}", T(0)), &strict,
                 KR_REASON_EXPIRED);
    check_claims("expiry: exp = now + 1, no leeway", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld}", T(1)), &strict,
                 KR_REASON_NONE);
    check_claims("expiry: long expired", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld}", T(-600)),
                 &params, KR_REASON_EXPIRED);

    /* nbf: accepted while nbf <= now + leeway. */
    check_claims("nbf: now + leeway + 1", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"nbf\":%lld,\"exp\":%lld}",
                        T(LEEWAY + 1), T(300)),
                 &params, KR_REASON_NOT_YET_VALID);
    check_claims("nbf: now + leeway", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"nbf\":%lld,\"exp\":%lld}",
                        T(LEEWAY), T(300)),
                 &params, KR_REASON_NONE);
    check_claims("nbf: now, no leeway", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"nbf\":%lld,\"exp\":%lld}",
                        T(0), T(300)),
                 &strict, KR_REASON_NONE);

    /* iat: accepted while iat <= now + leeway. */
    check_claims("iat: now + leeway + 1", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"iat\":%lld,\"exp\":%lld}",
                        T(LEEWAY + 1), T(LEEWAY + 301)),
                 &params, KR_REASON_IAT_IN_FUTURE);
    check_claims("iat: now + leeway", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"iat\":%lld,\"exp\":%lld}",
                        T(LEEWAY), T(LEEWAY + 300)),
                 &params, KR_REASON_NONE);

    /* Lifetime: exp - iat <= max_lifetime; without iat,
     * exp - now <= max_lifetime + leeway. */
    check_claims("lifetime: exp - iat = max + 1", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"iat\":%lld,\"exp\":%lld}",
                        T(0), T(MAX_LIFETIME + 1)),
                 &params, KR_REASON_LIFETIME_TOO_LONG);
    check_claims("lifetime: exp - iat = max", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"iat\":%lld,\"exp\":%lld}",
                        T(0), T(MAX_LIFETIME)),
                 &params, KR_REASON_NONE);
    check_claims(
        "lifetime: no iat, exp = now + max + leeway", key,
        CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld}", T(MAX_LIFETIME + LEEWAY)),
        &params, KR_REASON_NONE);
    check_claims("lifetime: no iat, exp = now + max + leeway + 1", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld}",
                        T(MAX_LIFETIME + LEEWAY + 1)),
                 &params, KR_REASON_LIFETIME_TOO_LONG);

    /* aud */
    check_claims("aud: string match", key,
                 CLAIMS("{\"aud\":\"" AUD "\",\"exp\":%lld}", T(300)), &params,
                 KR_REASON_NONE);
    check_claims("aud: array match", key,
                 CLAIMS("{\"aud\":[\"https://other.test\",\"" AUD
                        "\"],\"exp\":%lld}",
                        T(300)),
                 &params, KR_REASON_NONE);
    check_claims(
        "aud: string mismatch", key,
        CLAIMS("{\"aud\":\"https://other.test\",\"exp\":%lld}", T(300)),
        &params, KR_REASON_AUD_MISMATCH);
    check_claims("aud: prefix is no match", key,
                 CLAIMS("{\"aud\":\"" AUD "/x\",\"exp\":%lld}", T(300)),
                 &params, KR_REASON_AUD_MISMATCH);
    check_claims("aud: embedded NUL is no match", key,
                 CLAIMS("{\"aud\":\"" AUD "\\u0000x\",\"exp\":%lld}", T(300)),
                 &params, KR_REASON_AUD_MISMATCH);
    check_claims("aud: array mismatch", key,
                 CLAIMS("{\"aud\":[\"a\",\"b\"],\"exp\":%lld}", T(300)),
                 &params, KR_REASON_AUD_MISMATCH);
    check_claims("aud: empty array", key,
                 CLAIMS("{\"aud\":[],\"exp\":%lld}", T(300)), &params,
                 KR_REASON_AUD_MISMATCH);
    check_claims("aud: missing", key, CLAIMS("{\"exp\":%lld}", T(300)),
                 &params, KR_REASON_AUD_MISMATCH);
    check_claims("aud: a number", key,
                 CLAIMS("{\"aud\":42,\"exp\":%lld}", T(300)), &params,
                 KR_REASON_BAD_CLAIM);
    check_claims("aud: array holding a number", key,
                 CLAIMS("{\"aud\":[\"" AUD "\",42],\"exp\":%lld}", T(300)),
                 &params, KR_REASON_BAD_CLAIM);
    check_claims("aud: not asked, missing", key,
                 CLAIMS("{\"exp\":%lld}", T(300)), &no_aud, KR_REASON_NONE);

#undef T
#undef CLAIMS
}

static void
test_aud_matches(void)
{
    json_t *s = json_string("a");
    json_t *arr = json_pack("[s, s]", "b", "a");
    json_t *num = json_integer(1);

    tap_ok(kr_jws_aud_matches(s, "a"), "aud_matches: string");
    tap_ok(!kr_jws_aud_matches(s, "A"), "aud_matches: case matters");
    tap_ok(kr_jws_aud_matches(arr, "a"), "aud_matches: array element");
    tap_ok(!kr_jws_aud_matches(arr, "c"), "aud_matches: array without it");
    tap_ok(!kr_jws_aud_matches(num, "1"), "aud_matches: number");
    tap_ok(!kr_jws_aud_matches(NULL, "a"), "aud_matches: absent");
    json_decref(num);
    json_decref(arr);
    json_decref(s);
}

static void
test_reason_names(void)
{
    static const char *const names[KR_REASON_COUNT] = {
        "none",          "malformed",         "too_large",
        "bad_header",    "alg_not_allowed",   "crit_unsupported",
        "kid_missing",   "kid_unknown",       "key_retired",
        "key_revoked",   "bad_signature",     "exp_missing",
        "bad_claim",     "expired",           "not_yet_valid",
        "iat_in_future", "lifetime_too_long", "aud_mismatch",
    };
    int i;
    int same = 1;

    for (i = 0; i < KR_REASON_COUNT; i++) {
        if (strcmp(kr_reason_name((kr_reason)i), names[i]) != 0) {
            tap_diag("reason %d is %s", i, kr_reason_name((kr_reason)i));
            same = 0;
        }
    }
    tap_ok(same, "reason names: the documented codes");
    tap_str_eq(kr_reason_name(KR_REASON_COUNT), "unknown",
               "reason names: out of range");
}

/* ---- interop fixtures ------------------------------------------------ */

static char *
file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size + 1);
        if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        if (buf != NULL) {
            buf[size] = '\0';
            *len = (size_t)size;
        }
    }
    fclose(f);
    return buf;
}

/* Maps the manifest's "verify rejected: ..." wording to a reason. */
static kr_reason
manifest_reason(const char *expected)
{
    static const struct {
        const char *prefix;
        kr_reason reason;
    } map[] = {
        {"verify rejected: alg", KR_REASON_ALG_NOT_ALLOWED},
        {"verify rejected: aud mismatch", KR_REASON_AUD_MISMATCH},
        {"verify rejected: malformed header", KR_REASON_BAD_HEADER},
        {"verify rejected: malformed", KR_REASON_MALFORMED},
        {"verify rejected: unsupported crit", KR_REASON_CRIT_UNSUPPORTED},
        {"verify rejected: exp missing", KR_REASON_EXP_MISSING},
        {"verify rejected: exp not a number", KR_REASON_BAD_CLAIM},
        {"verify rejected: expired", KR_REASON_EXPIRED},
        {"verify rejected: header too large", KR_REASON_TOO_LARGE},
        {"verify rejected: iat in the future", KR_REASON_IAT_IN_FUTURE},
        {"verify rejected: kid missing", KR_REASON_KID_MISSING},
        {"verify rejected: kid unknown", KR_REASON_KID_UNKNOWN},
        {"verify rejected: not yet valid", KR_REASON_NOT_YET_VALID},
        {"verify rejected: bad signature", KR_REASON_BAD_SIGNATURE},
        {"verify ok", KR_REASON_NONE},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strncmp(expected, map[i].prefix, strlen(map[i].prefix)) == 0)
            return map[i].reason;
    }
    return KR_REASON_COUNT;
}

static void
test_fixtures(void)
{
    const char *dir = getenv("KR_FIXTURES");
    char path[4096];
    char *manifest = NULL;
    char *text = NULL;
    kr_jwks_entry *entries = NULL;
    size_t n_entries = 0;
    test_key keys[16];
    test_keyring ring = {keys, 0, false};
    const test_keyring *saved = the_ring;
    kr_verify_params params = params_default();
    kr_error err = {KR_OK, ""};
    size_t len = 0;
    size_t n_tokens = 0;
    char *line, *next;
    size_t i;

    if (dir == NULL || dir[0] == '\0') {
        tap_ok(1, "interop tokens # SKIP KR_FIXTURES is not set");
        return;
    }

    /* make check always sets KR_FIXTURES, to the folder beside the
     * checkout, which a clone without that folder lacks. */
    snprintf(path, sizeof(path), "%s/manifest.tsv", dir);
    if (access(path, R_OK) != 0) {
        tap_ok(1, "interop tokens # SKIP no manifest.tsv in KR_FIXTURES");
        return;
    }

    snprintf(path, sizeof(path), "%s/jwks/jose.jwks.json", dir);
    text = file_read(path, &len);
    if (!tap_ok(text != NULL
                    && kr_jwks_parse(text, len, 2048, &entries, &n_entries,
                                     NULL, &err)
                           == KR_OK,
                "interop: jose JWKS loads")) {
        tap_diag("%s: %s", path, err.msg);
        goto out;
    }
    for (i = 0; i < n_entries && i < 16; i++) {
        keys[i].kid = entries[i].kid;
        keys[i].key = entries[i].key;
        keys[i].refusal = KR_REASON_NONE;
    }
    ring.n_keys = i;
    the_ring = &ring;

    snprintf(path, sizeof(path), "%s/manifest.tsv", dir);
    manifest = file_read(path, &len);
    if (!tap_ok(manifest != NULL, "interop: manifest is readable"))
        goto out;

    for (line = manifest; line != NULL && *line != '\0'; line = next) {
        char *cols[12];
        char *token;
        size_t n_cols = 0;
        size_t token_len = 0;
        char *p = line;
        kr_reason want;
        kr_verdict v;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        while (n_cols < 12) {
            cols[n_cols++] = p;
            p = strchr(p, '\t');
            if (p == NULL)
                break;
            *p++ = '\0';
        }
        if (n_cols < 4 || strncmp(cols[0], "tokens/", 7) != 0)
            continue;

        want = manifest_reason(cols[3]);
        snprintf(path, sizeof(path), "%s/%s", dir, cols[0]);
        token = file_read(path, &token_len);
        if (!tap_ok(token != NULL && want != KR_REASON_COUNT,
                    "interop %s: readable, verdict known", cols[0]))
            continue;

        kr_jws_verify(token, token_len, &params, keyring_resolve, &ring, &v,
                      &err);
        if (!tap_ok(v.reason == want, "interop %s: %s", cols[0],
                    kr_reason_name(want)))
            tap_diag("got %s: %s", kr_reason_name(v.reason), v.detail);
        if (want == KR_REASON_NONE)
            tap_str_eq(v.kid, cols[4], "interop: verdict names the kid");
        kr_verdict_clear(&v);
        free(token);
        n_tokens++;
    }
    tap_ok(n_tokens >= 30, "interop: all %zu tokens of the manifest ran",
           n_tokens);

out:
    the_ring = saved;
    kr_jwks_entries_free(entries, n_entries);
    free(text);
    free(manifest);
}

int
main(void)
{
    kr_rsakey *key = NULL;
    kr_rsakey *other = NULL;
    kr_rsakey *public_only = NULL;
    kr_rsakey *rfc_key = NULL;
    json_t *rfc_jwk = NULL;
    char kid[KR_KID_SIZE];
    kr_error err = {KR_OK, ""};
    kr_bytes n, e;

    test_rfc7515_a2();
    test_reason_names();
    test_aud_matches();

    if (!tap_ok(kr_rsakey_generate(2048, &key, &err) == KR_OK
                    && kr_rsakey_generate(2048, &other, &err) == KR_OK,
                "setup: two 2048-bit keys generated")) {
        tap_diag("%s", err.msg);
        goto out;
    }
    n = kr_rsakey_n(key);
    e = kr_rsakey_e(key);
    kr_rsakey_from_public(n.data, n.len, e.data, e.len, &public_only, &err);

    {
        test_key keys[] = {
            {"test-k1", key, KR_REASON_NONE},
            {"test-old", key, KR_REASON_KEY_RETIRED},
            {"test-bad", key, KR_REASON_KEY_REVOKED},
        };
        test_keyring ring = {keys, 3, false};

        the_ring = &ring;
        test_roundtrip(key);
        test_sign_refusals(key, public_only);
        test_shape(key);
        test_sizes(key);
        test_header(key);
        test_kid_detail(key);
        test_signature(key, other);
        test_resolver_failure(key);
        test_claims(key);

        rfc_jwk = json_loads(rfc7515_a2_jwk, 0, NULL);
        if (kr_jwk_parse(rfc_jwk, 2048, &rfc_key, kid, NULL, &err) == KR_OK)
            test_rfc7515_a2_token(rfc_key);
        the_ring = NULL;
    }

    test_fixtures();

out:
    json_decref(rfc_jwk);
    kr_rsakey_free(rfc_key);
    kr_rsakey_free(public_only);
    kr_rsakey_free(other);
    kr_rsakey_free(key);
    return tap_done();
}
