/* SPDX-License-Identifier: MIT */
/*
 * A file that caches one signed token, so that a deployment script can
 * call `keyrot sign --cache FILE` per request and re-sign only when the
 * token runs low. The cached token is reused while it was made for the
 * same request (audiences, lifetime, claims, store), its kid is still the
 * active key, and at least a set percentage of its lifetime is left.
 *
 * Concurrent callers are safe. The file is replaced by rename, so a reader
 * gets the old token or the new one, never part of either. Renewal happens
 * under an exclusive flock on FILE.lock, so when the token runs low one
 * caller signs and the others reuse its token. The file and its lock file
 * have mode 0600, and a cache file that is a symbolic link, belongs to
 * another user or is open to other users is refused.
 *
 * This module signs nothing itself: the caller passes a function that
 * mints a token.
 */
#ifndef KEYROT_TOKEN_CACHE_H
#define KEYROT_TOKEN_CACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "kid.h"

/* A request id: hex SHA-256 plus the NUL. */
#define KR_TOKEN_REQUEST_SIZE 65

/* Default of kr_token_cache_query.min_remaining_pct: a token is renewed
 * once less than half of its lifetime is left. */
#define KR_TOKEN_CACHE_MIN_REMAINING_PCT 50

/* One token with what the cache needs to judge it. */
typedef struct kr_cached_token {
    char kid[KR_KID_SIZE];
    int64_t iat;
    int64_t exp;
    char request[KR_TOKEN_REQUEST_SIZE];
    char *token; /* NUL-terminated compact JWS; malloc'd, released (and
                    wiped) by kr_cached_token_clear */
} kr_cached_token;

/* What a cached token must match to be reused. Strings borrowed. */
typedef struct kr_token_cache_query {
    const char *request;    /* from kr_token_cache_request_id */
    const char *active_kid; /* the store's active key now */
    int64_t now;
    unsigned min_remaining_pct; /* 1..100: share of the lifetime left */
} kr_token_cache_query;

/* Mints a fresh token into *fresh: token (malloc'd), kid, iat and exp.
 * Returns KR_OK or the error that stopped it. */
typedef kr_code (*kr_token_mint_fn)(void *ctx, kr_cached_token *fresh,
                                    kr_error *err);

/* Computes the request id of request (a JSON value, borrowed, that
 * describes everything the token depends on): the hex SHA-256 of its
 * compact form with sorted keys. */
kr_code kr_token_cache_request_id(const json_t *request,
                                  char out[KR_TOKEN_REQUEST_SIZE],
                                  kr_error *err);

/* Returns in *out a token for query: the cached one while it is usable,
 * else one from mint, which is then written to the cache at path. *reused
 * tells which. A cache file that is missing or unreadable as a cache is
 * replaced. When the new token cannot be written, it is still returned
 * and warnings says why. Returns KR_E_REFUSED for an unsafe cache file
 * (symbolic link, not a regular file, another owner, group or other
 * access), or the error of mint. Release *out with kr_cached_token_clear
 * on every path. */
kr_code kr_token_cache_get(const char *path, const kr_token_cache_query *query,
                           kr_token_mint_fn mint, void *mint_ctx,
                           kr_cached_token *out, bool *reused,
                           kr_warnings *warnings, kr_error *err);

/* Wipes and frees the token text; the struct may be reused. */
void kr_cached_token_clear(kr_cached_token *t);

#endif
