/* SPDX-License-Identifier: MIT */
/*
 * Compact JWS tokens signed with RS256 (RFC 7515, RFC 7519): minting a
 * token, and verifying one in a fixed order that reports the first failed
 * check as a stable reason code. Claims are never trusted before the
 * signature holds. The verifier finds keys through a caller-supplied
 * resolver, so it works the same over a store or a JWKS file.
 */
#ifndef KEYROT_JWS_H
#define KEYROT_JWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "kid.h"
#include "rsakey.h"

/* Size limits checked before any decoding, in bytes. */
#define KR_JWS_TOKEN_MAX  16384 /* whole compact token */
#define KR_JWS_HEADER_MAX 1024  /* decoded protected header */
#define KR_JWS_CLAIMS_MAX 8192  /* decoded claims set */

/* Why a token was refused. The names (kr_reason_name) are printed and
 * documented; keep them stable. */
typedef enum kr_reason {
    KR_REASON_NONE = 0, /* valid */
    KR_REASON_MALFORMED,
    KR_REASON_TOO_LARGE,
    KR_REASON_BAD_HEADER,
    KR_REASON_ALG_NOT_ALLOWED,
    KR_REASON_CRIT_UNSUPPORTED,
    KR_REASON_KID_MISSING,
    KR_REASON_KID_UNKNOWN,
    KR_REASON_KEY_RETIRED,
    KR_REASON_KEY_REVOKED,
    KR_REASON_BAD_SIGNATURE,
    KR_REASON_EXP_MISSING,
    KR_REASON_BAD_CLAIM,
    KR_REASON_EXPIRED,
    KR_REASON_NOT_YET_VALID,
    KR_REASON_IAT_IN_FUTURE,
    KR_REASON_LIFETIME_TOO_LONG,
    KR_REASON_AUD_MISMATCH,
    KR_REASON_COUNT
} kr_reason;

/* Returns the reason's code name, such as "bad_signature". */
const char *kr_reason_name(kr_reason reason);

/* Signs claims (borrowed, a JSON object) with key under kid. On KR_OK
 * *token is a NUL-terminated compact JWS for the caller to free(). */
kr_code kr_jws_sign(const kr_rsakey *key, const char *kid,
                    const json_t *claims, char **token, kr_error *err);

/* Settings for one verification; times are Unix seconds. */
typedef struct kr_verify_params {
    int64_t now;
    int64_t leeway;       /* allowance for clock skew on exp, nbf, iat */
    int64_t max_lifetime; /* longest allowed exp - iat */
    const char *aud;      /* expected audience, or NULL to skip the check */
} kr_verify_params;

/* Finds the key for kid (already checked by kr_kid_valid). Sets *key to a
 * borrowed key that stays valid until the resolver's owner frees it, or
 * sets *key to NULL and *refusal to KR_REASON_KID_UNKNOWN,
 * KR_REASON_KEY_RETIRED or KR_REASON_KEY_REVOKED. Returns KR_OK unless the
 * lookup itself failed (store error), which aborts verification. */
typedef kr_code (*kr_key_resolver)(void *ctx, const char *kid,
                                   const kr_rsakey **key, kr_reason *refusal,
                                   kr_error *err);

/* Outcome of one verification. */
typedef struct kr_verdict {
    kr_reason reason;      /* KR_REASON_NONE when valid */
    char detail[256];      /* for people; never the whole token */
    char kid[KR_KID_SIZE]; /* the header's kid when it was valid */
    json_t *claims;        /* owned; set once the signature held */
    bool has_iat;
    int64_t iat, exp; /* from the claims, when present */
} kr_verdict;

/* Verifies a compact token of token_len bytes. Returns KR_OK when the
 * checks ran to a verdict (valid or not, see v->reason), or an error when
 * they could not run (resolver failure, out of memory). Call
 * kr_verdict_clear() afterwards in both cases. */
kr_code kr_jws_verify(const char *token, size_t token_len,
                      const kr_verify_params *params, kr_key_resolver resolve,
                      void *resolve_ctx, kr_verdict *v, kr_error *err);

void kr_verdict_clear(kr_verdict *v);

/* Returns whether the JSON value aud (string or array of strings) contains
 * expected. */
bool kr_jws_aud_matches(const json_t *aud, const char *expected);

#endif
