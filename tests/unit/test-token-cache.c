/* SPDX-License-Identifier: MIT */
/*
 * The token cache module with a counting mint function. A token is reused
 * while the request, the active kid and enough lifetime match, and renewed
 * otherwise. The file gets mode 0600, and files that other users could
 * touch are refused.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "token-cache.h"

#define T0  1767229260
#define TTL 300

/* A mint function that counts its calls and makes tokens "tok-N". */
typedef struct minter {
    int n_calls;
    int64_t now;
    const char *kid;
} minter;

static kr_code
mint(void *ctx, kr_cached_token *fresh, kr_error *err)
{
    minter *m = ctx;
    char text[32];

    m->n_calls++;
    snprintf(text, sizeof(text), "tok-%d", m->n_calls);
    fresh->token = strdup(text);
    if (fresh->token == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    snprintf(fresh->kid, sizeof(fresh->kid), "%s", m->kid);
    fresh->iat = m->now;
    fresh->exp = m->now + TTL;
    return KR_OK;
}

/* Asks the cache at path for a token; returns its text (static buffer). */
static const char *
get(const char *path, minter *m, const char *request, kr_code *rc,
    bool *reused)
{
    static char text[64];
    kr_token_cache_query q = {request, m->kid, m->now,
                              KR_TOKEN_CACHE_MIN_REMAINING_PCT};
    kr_cached_token t = {0};
    kr_warnings warnings = {0};
    kr_error err = {0};

    *rc = kr_token_cache_get(path, &q, mint, m, &t, reused, &warnings, &err);
    snprintf(text, sizeof(text), "%s", t.token ? t.token : "(none)");
    kr_cached_token_clear(&t);
    return text;
}

static void
request_ids(char a[KR_TOKEN_REQUEST_SIZE], char b[KR_TOKEN_REQUEST_SIZE])
{
    json_t *ra = json_pack("{s:s, s:i}", "aud", "one", "ttl", TTL);
    json_t *rb = json_pack("{s:i, s:s}", "ttl", TTL, "aud", "two");
    json_t *ra2 = json_pack("{s:i, s:s}", "ttl", TTL, "aud", "one");
    char again[KR_TOKEN_REQUEST_SIZE];
    kr_error err = {0};

    kr_token_cache_request_id(ra, a, &err);
    kr_token_cache_request_id(rb, b, &err);
    kr_token_cache_request_id(ra2, again, &err);
    tap_ok(strlen(a) == 64 && strcmp(a, b) != 0,
           "different requests get different ids");
    tap_ok(strcmp(a, again) == 0, "the id ignores the order of members");
    json_decref(ra);
    json_decref(rb);
    json_decref(ra2);
}

int
main(void)
{
    char dir[] = "/tmp/keyrot-test-token-cache.XXXXXX";
    char path[256], lock[300], link_path[300];
    char req_a[KR_TOKEN_REQUEST_SIZE], req_b[KR_TOKEN_REQUEST_SIZE];
    minter m = {0, T0, "k1"};
    bool reused = false;
    struct stat st;
    kr_code rc;
    int fd;

    if (mkdtemp(dir) == NULL)
        return 99;
    snprintf(path, sizeof(path), "%s/cache", dir);
    snprintf(lock, sizeof(lock), "%s.lock", path);
    snprintf(link_path, sizeof(link_path), "%s/link", dir);
    request_ids(req_a, req_b);

    tap_str_eq(get(path, &m, req_a, &rc, &reused), "tok-1",
               "an empty cache mints");
    tap_ok(rc == KR_OK && !reused, "and says it did not reuse");
    tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
           "the cache file has mode 0600");

    m.now = T0 + TTL / 2;
    tap_str_eq(get(path, &m, req_a, &rc, &reused), "tok-1",
               "half of the lifetime left: reused");
    tap_ok(reused && m.n_calls == 1, "reuse mints nothing");

    m.now = T0 + TTL / 2 + 1;
    tap_str_eq(get(path, &m, req_a, &rc, &reused), "tok-2",
               "less than half left: renewed");

    tap_str_eq(get(path, &m, req_b, &rc, &reused), "tok-3",
               "another request: renewed");
    tap_str_eq(get(path, &m, req_b, &rc, &reused), "tok-3",
               "the same request again: reused");

    m.kid = "k2";
    tap_str_eq(get(path, &m, req_b, &rc, &reused), "tok-4",
               "another active kid: renewed");

    m.now = T0;
    tap_str_eq(get(path, &m, req_b, &rc, &reused), "tok-5",
               "a token issued after now: renewed");

    chmod(path, 0640);
    get(path, &m, req_b, &rc, &reused);
    tap_ok(rc == KR_E_REFUSED, "a cache readable by the group is refused");
    chmod(path, 0600);

    tap_ok(symlink(path, link_path) == 0, "make a symbolic link");
    get(link_path, &m, req_b, &rc, &reused);
    tap_ok(rc == KR_E_REFUSED, "a cache that is a symbolic link is refused");

    fd = open(path, O_WRONLY | O_TRUNC);
    tap_ok(fd >= 0 && write(fd, "{\"kid\":", 7) == 7, "truncate the cache");
    if (fd >= 0)
        close(fd);
    tap_str_eq(get(path, &m, req_b, &rc, &reused), "tok-6",
               "a torn cache file is replaced");
    tap_ok(rc == KR_OK, "without an error");

    unlink(link_path);
    unlink(lock);
    unlink(path);
    rmdir(dir);
    return tap_done();
}
