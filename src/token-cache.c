/* SPDX-License-Identifier: MIT */
/*
 * The token cache file: reading it safely, judging whether its token is
 * still usable, and replacing it atomically under a lock. The file contains
 * one JSON object: {"kid","iat","exp","request","token"}.
 */
#include "config.h"

#include "token-cache.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "jws.h"

/* Largest cache file read: a token of KR_JWS_TOKEN_MAX bytes and the few
 * fields around it. A larger file is not a cache keyrot wrote. */
#define CACHE_FILE_MAX (KR_JWS_TOKEN_MAX + 1024)

void
kr_cached_token_clear(kr_cached_token *t)
{
    if (t->token != NULL) {
        gnutls_memset(t->token, 0, strlen(t->token));
        free(t->token);
    }
    memset(t, 0, sizeof(*t));
}

kr_code
kr_token_cache_request_id(const json_t *request,
                          char out[KR_TOKEN_REQUEST_SIZE], kr_error *err)
{
    uint8_t digest[KR_SHA256_SIZE];
    char *text;

    text = json_dumps(request, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    kr_sha256(text, strlen(text), digest);
    free(text);

    for (size_t i = 0; i < KR_SHA256_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return KR_OK;
}

/* Returns path with suffix appended, for free(), or NULL. */
static char *
path_with(const char *path, const char *suffix)
{
    size_t size = strlen(path) + strlen(suffix) + 1;
    char *out = malloc(size);

    if (out != NULL)
        snprintf(out, size, "%s%s", path, suffix);
    return out;
}

/* Refuses a cache file that another user could have written or read. */
static kr_code
file_safety_check(int fd, const char *path, kr_error *err)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return kr_error_set(err, KR_E_SYSTEM, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return kr_error_set(err, KR_E_REFUSED,
                            "%s: the token cache is not a regular file", path);
    if (st.st_uid != geteuid())
        return kr_error_set(err, KR_E_REFUSED,
                            "%s: the token cache belongs to another user; "
                            "remove it or choose another file",
                            path);
    if ((st.st_mode & 077) != 0)
        return kr_error_set(err, KR_E_REFUSED,
                            "%s: the token cache is open to other users "
                            "(mode %03o); remove it or chmod 600 it",
                            path, (unsigned)(st.st_mode & 0777));
    return KR_OK;
}

/* Parses the cache file's text into *t. Returns KR_E_NOTFOUND for text
 * that is not a cache entry (it is then replaced). */
static kr_code
entry_parse(const char *text, size_t len, kr_cached_token *t, kr_error *err)
{
    const char *kid = NULL, *request = NULL, *token = NULL;
    json_int_t iat = 0, exp = 0;
    json_t *obj = NULL;
    kr_code rc = KR_OK;

    obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (obj == NULL
        || json_unpack(obj, "{s:s, s:I, s:I, s:s, s:s}", "kid", &kid, "iat",
                       &iat, "exp", &exp, "request", &request, "token", &token)
               != 0
        || strlen(kid) >= sizeof(t->kid)
        || strlen(request) != KR_TOKEN_REQUEST_SIZE - 1) {
        rc = kr_error_set(err, KR_E_NOTFOUND, "not a token cache");
        goto out;
    }

    t->token = strdup(token);
    if (t->token == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }
    snprintf(t->kid, sizeof(t->kid), "%s", kid);
    snprintf(t->request, sizeof(t->request), "%s", request);
    t->iat = (int64_t)iat;
    t->exp = (int64_t)exp;

out:
    /* NOTE: jansson's copy of the token is freed without a wipe; jansson
     * offers no hook to clear a string before it frees it. */
    json_decref(obj);
    return rc;
}

/* Reads the cache at path into *t. Returns KR_E_NOTFOUND when there is
 * no usable entry, KR_E_REFUSED for an unsafe file. */
static kr_code
entry_read(const char *path, kr_cached_token *t, kr_error *err)
{
    char *buf = NULL;
    ssize_t got = 0;
    size_t len = 0;
    int fd;
    kr_code rc;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return kr_error_set(err, KR_E_NOTFOUND, "no token cache yet");
    if (fd < 0 && errno == ELOOP)
        return kr_error_set(err, KR_E_REFUSED,
                            "%s: the token cache is a symbolic link; "
                            "refusing to follow it",
                            path);
    if (fd < 0)
        return kr_error_set(err, KR_E_SYSTEM, "%s: %s", path, strerror(errno));

    rc = file_safety_check(fd, path, err);
    if (rc != KR_OK)
        goto out;

    buf = malloc(CACHE_FILE_MAX + 1);
    if (buf == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }
    while (len < CACHE_FILE_MAX
           && (got = read(fd, buf + len, CACHE_FILE_MAX - len)) > 0)
        len += (size_t)got;
    if (got < 0)
        rc = kr_error_set(err, KR_E_SYSTEM, "%s: %s", path, strerror(errno));
    else if (len == CACHE_FILE_MAX)
        rc = kr_error_set(err, KR_E_NOTFOUND, "not a token cache");
    else
        rc = entry_parse(buf, len, t, err);

out:
    if (buf != NULL) {
        gnutls_memset(buf, 0, CACHE_FILE_MAX + 1);
        free(buf);
    }
    close(fd);
    return rc;
}

static bool
entry_usable(const kr_cached_token *t, const kr_token_cache_query *q)
{
    int64_t lifetime = t->exp - t->iat;
    int64_t remaining = t->exp - q->now;

    if (t->token == NULL || strcmp(t->request, q->request) != 0
        || strcmp(t->kid, q->active_kid) != 0)
        return false;
    if (t->iat > q->now || remaining <= 0 || lifetime <= 0)
        return false;
    return remaining * 100 >= lifetime * (int64_t)q->min_remaining_pct;
}

/* Writes t to a new file beside path and renames it over path, so that
 * readers see the old entry or the new one, never a part. */
static kr_code
entry_write(const char *path, const kr_cached_token *t, kr_error *err)
{
    char *tmp = NULL, *text = NULL;
    json_t *obj = NULL;
    size_t len = 0, done = 0;
    int fd = -1;
    kr_code rc = KR_OK;

    obj = json_pack("{s:s, s:I, s:I, s:s, s:s}", "kid", t->kid, "iat",
                    (json_int_t)t->iat, "exp", (json_int_t)t->exp, "request",
                    t->request, "token", t->token);
    text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
    tmp = path_with(path, ".XXXXXX");
    if (text == NULL || tmp == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }
    len = strlen(text);

    /* mkstemp creates the file with O_EXCL and mode 0600, so it cannot be
     * a planted link and is never readable by others. */
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot create %s: %s", tmp,
                          strerror(errno));
        goto out;
    }
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);

        if (n < 0) {
            rc = kr_error_set(err, KR_E_SYSTEM, "cannot write %s: %s", tmp,
                              strerror(errno));
            goto out;
        }
        done += (size_t)n;
    }
    if (fchmod(fd, 0600) != 0 || close(fd) != 0) {
        fd = -1;
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot write %s: %s", tmp,
                          strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot replace %s: %s", path,
                          strerror(errno));

out:
    if (fd >= 0)
        close(fd);
    if (rc != KR_OK && tmp != NULL)
        unlink(tmp);
    if (text != NULL) {
        gnutls_memset(text, 0, len);
        free(text);
    }
    json_decref(obj);
    free(tmp);
    return rc;
}

/* Opens FILE.lock and takes an exclusive lock on it; *fd receives it. The
 * lock file stays: removing it would let two callers lock two files. */
static kr_code
lock_take(const char *path, int *fd, kr_error *err)
{
    char *lock_path = path_with(path, ".lock");
    kr_code rc = KR_OK;

    if (lock_path == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");

    *fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0) {
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot open %s: %s", lock_path,
                          strerror(errno));
    } else if (flock(*fd, LOCK_EX) != 0) {
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot lock %s: %s", lock_path,
                          strerror(errno));
        close(*fd);
        *fd = -1;
    }
    free(lock_path);
    return rc;
}

/* Reads the cache into *out and decides whether it can be reused. Returns
 * KR_OK with *usable false for a missing or foreign-format cache. */
static kr_code
cache_lookup(const char *path, const kr_token_cache_query *query,
             kr_cached_token *out, bool *usable, kr_error *err)
{
    kr_error read_err = {0};
    kr_code rc;

    *usable = false;
    kr_cached_token_clear(out);
    rc = entry_read(path, out, &read_err);
    if (rc == KR_E_NOTFOUND)
        return KR_OK;
    if (rc != KR_OK)
        return kr_error_set(err, rc, "%s", read_err.msg);

    *usable = entry_usable(out, query);
    return KR_OK;
}

kr_code
kr_token_cache_get(const char *path, const kr_token_cache_query *query,
                   kr_token_mint_fn mint, void *mint_ctx, kr_cached_token *out,
                   bool *reused, kr_warnings *warnings, kr_error *err)
{
    kr_error write_err = {0};
    bool usable = false;
    int lock_fd = -1;
    kr_code rc;

    *reused = false;
    memset(out, 0, sizeof(*out));

    /* The common case takes no lock: rename makes every read whole. */
    rc = cache_lookup(path, query, out, &usable, err);
    if (rc != KR_OK || usable)
        goto out;

    /* Renew under the lock, and look again first: another caller may have
     * renewed while this one waited. Without the lock (an unwritable
     * directory) a caller still gets a fresh token. */
    if (lock_take(path, &lock_fd, &write_err) != KR_OK) {
        kr_warnings_add(warnings, "token not cached: %s", write_err.msg);
        kr_error_clear(&write_err);
    }
    rc = cache_lookup(path, query, out, &usable, err);
    if (rc != KR_OK || usable)
        goto out;

    kr_cached_token_clear(out);
    rc = mint(mint_ctx, out, err);
    if (rc != KR_OK)
        goto out;
    snprintf(out->request, sizeof(out->request), "%s", query->request);
    if (lock_fd >= 0 && entry_write(path, out, &write_err) != KR_OK)
        kr_warnings_add(warnings, "token not cached: %s", write_err.msg);

out:
    if (rc == KR_OK)
        *reused = usable;
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}
