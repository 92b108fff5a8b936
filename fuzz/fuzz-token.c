/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for token verification (kr_jws_verify). It takes two
 * kinds of input, distinguished by a NUL byte, which no compact token
 * contains:
 *
 *  - without a NUL, the input is a token and is verified as it is. Random
 *    bytes rarely carry a valid signature, so this reaches the size,
 *    shape, base64url, header and key lookup checks;
 *  - with a NUL, the bytes before it are a protected header and the bytes
 *    after it a claims set. The target encodes both, signs them with the
 *    fixed test key and verifies the result, so that the claim checks
 *    behind the signature (NumericDate, lifetime, aud) see fuzzed JSON.
 *
 * The resolver returns the test key for every valid kid except three
 * that stand for the refusals: "unknown", "retired" and "revoked".
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "testkey.h"
#include "jws.h"
#include "rsakey.h"

/* The fixtures' clock, so that seeds made from them are inside their
 * validity window. */
#define FUZZ_NOW 1767229260

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kr_rsakey *fuzz_key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    kr_error err = {KR_OK, ""};

    (void)argc;
    (void)argv;
    if (kr_rsakey_from_pkcs8_der(fuzz_key_pkcs8_der,
                                 sizeof(fuzz_key_pkcs8_der), &fuzz_key, &err)
        != KR_OK)
        abort();
    return 0;
}

static kr_code
fuzz_resolve(void *ctx, const char *kid, const kr_rsakey **key,
             kr_reason *refusal, kr_error *err)
{
    (void)ctx;
    (void)err;

    *key = NULL;
    if (strcmp(kid, "unknown") == 0)
        *refusal = KR_REASON_KID_UNKNOWN;
    else if (strcmp(kid, "retired") == 0)
        *refusal = KR_REASON_KEY_RETIRED;
    else if (strcmp(kid, "revoked") == 0)
        *refusal = KR_REASON_KEY_REVOKED;
    else
        *key = fuzz_key;
    return KR_OK;
}

static void
token_verify(const char *token, size_t token_len)
{
    kr_verify_params params = {
        .now = FUZZ_NOW,
        .leeway = 60,
        .max_lifetime = 3600,
        .aud = "https://api.interop.keyrot.test",
    };
    kr_verdict verdict;
    kr_error err = {KR_OK, ""};
    kr_code rc;

    rc = kr_jws_verify(token, token_len, &params, fuzz_resolve, NULL, &verdict,
                       &err);

    /* Invariants: a valid verdict names a kid and carries the claims, and
     * every rejection has a reason name. */
    if (rc == KR_OK && verdict.reason == KR_REASON_NONE
        && (verdict.kid[0] == '\0' || verdict.claims == NULL))
        abort();
    if (rc == KR_OK && strcmp(kr_reason_name(verdict.reason), "unknown") == 0)
        abort();
    kr_verdict_clear(&verdict);
}

/* Builds b64url(header) "." b64url(claims) "." b64url(RS256 signature)
 * with the test key and verifies it. */
static void
signed_verify(const uint8_t *header, size_t header_len, const uint8_t *claims,
              size_t claims_len)
{
    uint8_t signature[KR_RSA_MAX_SIG_SIZE];
    size_t signature_len = 0;
    size_t size, pos;
    char *token = NULL;
    kr_error err = {KR_OK, ""};

    size = kr_b64url_encoded_len(header_len) + 1
           + kr_b64url_encoded_len(claims_len) + 1
           + kr_b64url_encoded_len(sizeof(signature)) + 1;
    token = malloc(size);
    if (token == NULL)
        return;

    pos = kr_b64url_encode_to(header, header_len, token);
    token[pos++] = '.';
    pos += kr_b64url_encode_to(claims, claims_len, token + pos);
    if (kr_rsakey_sign_rs256(fuzz_key, (const uint8_t *)token, pos, signature,
                             &signature_len, &err)
        != KR_OK)
        abort();
    token[pos++] = '.';
    pos += kr_b64url_encode_to(signature, signature_len, token + pos);

    token_verify(token, pos);
    free(token);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);

    if (nul == NULL)
        token_verify((const char *)data, size);
    else
        signed_verify(data, (size_t)(nul - data), nul + 1,
                      size - (size_t)(nul - data) - 1);
    return 0;
}
