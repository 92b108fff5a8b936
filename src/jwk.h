/* SPDX-License-Identifier: MIT */
/*
 * JSON Web Keys (RFC 7517) for RSA keys (RFC 7518 section 6.3): building
 * the public and private JWK of a key, parsing one JWK, and parsing a JWK
 * Set. Uses jansson and does not depend on the store.
 */
#ifndef KEYROT_JWK_H
#define KEYROT_JWK_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "kid.h"
#include "rsakey.h"

/* Builds {"kty","kid","use":"sig","alg":"RS256","n","e"} for key. Returns a
 * new reference, or NULL when out of memory. */
json_t *kr_jwk_public(const kr_rsakey *key, const char *kid);

/* Builds the private JWK (adds d, p, q, dp, dq, qi). Returns KR_E_REFUSED
 * without a private part. The caller must wipe the JSON text it dumps and
 * call kr_json_wipe on the JWK before json_decref. */
kr_code kr_jwk_private(const kr_rsakey *key, const char *kid, json_t **out,
                       kr_error *err);

/* Overwrites every string value inside json (objects and arrays too) with
 * zero bytes, so that private members do not stay in memory that jansson
 * frees. json is unusable afterwards except for json_decref. NULL is
 * allowed. */
void kr_json_wipe(json_t *json);

/* Parses one RSA JWK object: private when "d" is present, else public.
 * Rejects other "kty" values, a "use" other than "sig", an "alg" other
 * than "RS256", "key_ops" without "sign" or "verify", missing or
 * non-base64url members, n or e with a leading zero octet (RFC 7518
 * section 6.3.1), a private key without all of d, p, q, dp, dq, qi or with
 * "oth", keys under min_bits, and even exponents or 1. kid receives the
 * JWK's "kid" or "" when absent; an invalid kid is an error. */
kr_code kr_jwk_parse(const json_t *jwk, unsigned min_bits, kr_rsakey **out,
                     char kid[KR_KID_SIZE], kr_warnings *warnings,
                     kr_error *err);

/* One RSA key of a JWK Set. */
typedef struct kr_jwks_entry {
    char kid[KR_KID_SIZE];
    kr_rsakey *key; /* owned by the entry; public only */
} kr_jwks_entry;

/* Parses a JWK Set document (text_len bytes). Keys whose "kty" is not RSA,
 * or whose use, alg or key_ops exclude RS256 signatures, are skipped with a
 * warning (RFC 7517 section 5). Rejects the whole set with KR_E_INPUT on
 * invalid JSON, a missing "keys" array, a key without "kty", an RSA key
 * without a kid, a duplicate kid, or an invalid RSA key, naming the index.
 * A private JWK in the set keeps only its public part, with a warning.
 * On KR_OK *entries (length *n_entries) is for kr_jwks_entries_free(). */
kr_code kr_jwks_parse(const char *text, size_t text_len, unsigned min_bits,
                      kr_jwks_entry **entries, size_t *n_entries,
                      kr_warnings *warnings, kr_error *err);

void kr_jwks_entries_free(kr_jwks_entry *entries, size_t n_entries);

#endif
