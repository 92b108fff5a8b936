/* SPDX-License-Identifier: MIT */
/*
 * bench-lib: in-process figures for `make bench`, linked against
 * libkeyrot.a.
 *
 *   bench-lib sign STORE SCALE
 *     Loads the store's active key and times kr_jws_sign (header and claims
 *     JSON, base64url, SHA-256, RSA) against raw Nettle
 *     rsa_sha256_sign_digest_tr on the same key numbers, first on one
 *     thread, then on two threads at once so that both cores are busy.
 *     Short blocks of the two sides alternate, so that a drift in machine
 *     load hits both sides alike; each figure is the median over rounds.
 *     SCALE multiplies the signatures per round (1 = 100 per thread and
 *     side).
 *
 *   bench-lib tokens STORE N AUD NOW
 *     Prints N distinct tokens signed by the store's active key, with
 *     claims {aud, iat: NOW, exp: NOW + 300, jti}: the input of the batch
 *     verification figure.
 *
 * Output of `sign` is one line per figure, "name key=value ...", for
 * bench/run.py to read. Timing uses CLOCK_MONOTONIC wall time.
 */
#include "config.h"

#include <gmp.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

#include "jws.h"
#include "rsakey.h"
#include "store.h"

/* Each side signs SIGNS_PER_BLOCK times in a block, BLOCKS_PER_ROUND
 * (times SCALE) blocks a round, on every thread. */
#define SIGNS_PER_BLOCK  10
#define BLOCKS_PER_ROUND 10
#define N_ROUNDS         9
#define TOKEN_TTL        300

/* The same key as raw Nettle structures, built from kr_rsakey_params. */
typedef struct raw_key {
    struct rsa_public_key pub;
    struct rsa_private_key priv;
} raw_key;

/* What one signing thread does and how long it took. */
typedef struct worker {
    bool use_keyrot; /* kr_jws_sign, else raw Nettle */
    const kr_rsakey *key;
    const char *kid;
    const raw_key *raw;
    long n_signs;
    bool failed;
} worker;

static int64_t
clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
double_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double
median(double *values, size_t n)
{
    qsort(values, n, sizeof(*values), double_compare);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* Opens the store and loads its active key with the private part. */
static kr_code
active_key_load(const char *path, const kr_context *ctx, kr_rsakey **key,
                char kid[KR_KID_SIZE], kr_error *err)
{
    kr_store *store = NULL;
    kr_key_info info;
    kr_code rc;

    rc = kr_store_open(path, ctx, &store, err);
    if (rc != KR_OK)
        goto out;
    rc = kr_store_active_get(store, &info, err);
    if (rc != KR_OK)
        goto out;
    rc = kr_store_key_load(store, info.kid, key, err);
    if (rc != KR_OK)
        goto out;
    snprintf(kid, KR_KID_SIZE, "%s", info.kid);

out:
    kr_store_close(store);
    return rc;
}

static void
raw_key_init(raw_key *raw)
{
    rsa_public_key_init(&raw->pub);
    rsa_private_key_init(&raw->priv);
}

/* Copies key's numbers into raw, which raw_key_init prepared. */
static kr_code
raw_key_build(const kr_rsakey *key, raw_key *raw, kr_error *err)
{
    kr_rsa_params p;
    uint8_t *storage = NULL;
    size_t storage_len = 0;
    kr_code rc;

    rc = kr_rsakey_params(key, &p, &storage, &storage_len, err);
    if (rc != KR_OK)
        return rc;

    nettle_mpz_set_str_256_u(raw->pub.n, p.n.len, p.n.data);
    nettle_mpz_set_str_256_u(raw->pub.e, p.e.len, p.e.data);
    nettle_mpz_set_str_256_u(raw->priv.d, p.d.len, p.d.data);
    nettle_mpz_set_str_256_u(raw->priv.p, p.p.len, p.p.data);
    nettle_mpz_set_str_256_u(raw->priv.q, p.q.len, p.q.data);
    nettle_mpz_set_str_256_u(raw->priv.a, p.dp.len, p.dp.data);
    nettle_mpz_set_str_256_u(raw->priv.b, p.dq.len, p.dq.data);
    nettle_mpz_set_str_256_u(raw->priv.c, p.qi.len, p.qi.data);
    gnutls_memset(storage, 0, storage_len);
    free(storage);

    if (!rsa_public_key_prepare(&raw->pub)
        || !rsa_private_key_prepare(&raw->priv))
        return kr_error_set(err, KR_E_INPUT, "Nettle rejected the key");
    return KR_OK;
}

static void
raw_key_clear(raw_key *raw)
{
    rsa_public_key_clear(&raw->pub);
    rsa_private_key_clear(&raw->priv);
}

/* The same random source keyrot uses for blinding, so that the reference
 * differs from keyrot only in what keyrot adds around the RSA operation. */
static void
blind_random(void *ctx, size_t len, uint8_t *dst)
{
    bool *failed = ctx;

    if (gnutls_rnd(GNUTLS_RND_NONCE, dst, len) < 0)
        *failed = true;
}

static void
claims_set(json_t *claims, const char *aud, int64_t iat, long jti)
{
    json_object_set_new(claims, "aud", json_string(aud));
    json_object_set_new(claims, "iat", json_integer(iat));
    json_object_set_new(claims, "exp", json_integer(iat + TOKEN_TTL));
    json_object_set_new(claims, "jti", json_integer(jti));
}

static void
keyrot_signs(worker *w)
{
    json_t *claims = json_object();
    kr_error err = {0};

    claims_set(claims, "bench-audience", (int64_t)time(NULL), 0);
    for (long i = 0; i < w->n_signs && !w->failed; i++) {
        char *token = NULL;

        if (kr_jws_sign(w->key, w->kid, claims, &token, &err) != KR_OK)
            w->failed = true;
        free(token);
    }
    json_decref(claims);
}

static void
nettle_signs(worker *w)
{
    /* A fixed digest: the reference is the RSA operation alone. */
    static const uint8_t digest[32] = {1, 2, 3, 4, 5, 6, 7, 8};
    mpz_t s;

    mpz_init(s);
    for (long i = 0; i < w->n_signs && !w->failed; i++) {
        if (!rsa_sha256_sign_digest_tr(&w->raw->pub, &w->raw->priv, &w->failed,
                                       blind_random, digest, s))
            w->failed = true;
    }
    mpz_clear(s);
}

static int
worker_run(void *arg)
{
    worker *w = arg;

    if (w->use_keyrot)
        keyrot_signs(w);
    else
        nettle_signs(w);
    return 0;
}

/* Runs n_threads copies of proto at once; returns wall nanoseconds per
 * signature over all threads, or a negative value on failure. */
static double
signs_time(const worker *proto, int n_threads)
{
    worker workers[2];
    thrd_t threads[2];
    int64_t start, elapsed;
    bool failed = false;

    for (int t = 0; t < n_threads; t++)
        workers[t] = *proto;

    start = clock_ns();
    if (n_threads == 1) {
        worker_run(&workers[0]);
    } else {
        for (int t = 0; t < n_threads; t++) {
            if (thrd_create(&threads[t], worker_run, &workers[t])
                != thrd_success)
                return -1;
        }
        for (int t = 0; t < n_threads; t++)
            thrd_join(threads[t], NULL);
    }
    elapsed = clock_ns() - start;

    for (int t = 0; t < n_threads; t++)
        failed = failed || workers[t].failed;
    if (failed)
        return -1;
    return (double)elapsed / (double)(proto->n_signs * n_threads);
}

/* Prints "lib_sign threads=N keyrot_us=... nettle_us=... ratio=...".
 * Each round alternates short blocks of the two sides, so that a change in
 * machine load within the round falls on both alike. The figures are the
 * medians over rounds of the time per signature and of the ratio. */
static bool
figure_print(const kr_rsakey *key, const char *kid, const raw_key *raw,
             int n_threads, long scale)
{
    worker proto = {.key = key, .kid = kid, .raw = raw, .n_signs = 1};
    double keyrot_ns[N_ROUNDS], nettle_ns[N_ROUNDS], ratio[N_ROUNDS];
    long n_blocks = BLOCKS_PER_ROUND * scale;

    /* One untimed signature of each warms caches and lazy GnuTLS state. */
    proto.use_keyrot = true;
    if (signs_time(&proto, 1) < 0)
        return false;
    proto.use_keyrot = false;
    if (signs_time(&proto, 1) < 0)
        return false;
    proto.n_signs = SIGNS_PER_BLOCK;

    for (int r = 0; r < N_ROUNDS; r++) {
        double sum[2] = {0, 0};

        for (long block = 0; block < 2 * n_blocks; block++) {
            double ns;

            proto.use_keyrot = block % 2 == (block / 2) % 2;
            ns = signs_time(&proto, n_threads);
            if (ns < 0)
                return false;
            sum[proto.use_keyrot] += ns;
        }
        keyrot_ns[r] = sum[1] / (double)n_blocks;
        nettle_ns[r] = sum[0] / (double)n_blocks;
        ratio[r] = sum[1] / sum[0];
    }

    printf("lib_sign threads=%d signs=%ld rounds=%d keyrot_us=%.1f "
           "nettle_us=%.1f ratio=%.3f\n",
           n_threads, n_blocks * SIGNS_PER_BLOCK, N_ROUNDS,
           median(keyrot_ns, N_ROUNDS) / 1000,
           median(nettle_ns, N_ROUNDS) / 1000, median(ratio, N_ROUNDS));
    return true;
}

static int
sign_main(const char *path, const char *scale_text, const kr_context *ctx)
{
    kr_rsakey *key = NULL;
    raw_key raw;
    char kid[KR_KID_SIZE];
    kr_error err = {0};
    long scale = strtol(scale_text, NULL, 10);
    int status = 1;

    if (scale < 1) {
        fprintf(stderr, "bench-lib: SCALE must be a positive integer\n");
        return 2;
    }

    raw_key_init(&raw);
    if (active_key_load(path, ctx, &key, kid, &err) != KR_OK
        || raw_key_build(key, &raw, &err) != KR_OK) {
        fprintf(stderr, "bench-lib: %s: %s\n", path, err.msg);
        goto out;
    }

    if (!figure_print(key, kid, &raw, 1, scale)
        || !figure_print(key, kid, &raw, 2, scale)) {
        fprintf(stderr, "bench-lib: signing failed\n");
        goto out;
    }
    status = 0;

out:
    raw_key_clear(&raw);
    kr_rsakey_free(key);
    return status;
}

static int
tokens_main(const char *path, const char *count_text, const char *aud,
            const char *now_text, const kr_context *ctx)
{
    kr_rsakey *key = NULL;
    json_t *claims = json_object();
    char kid[KR_KID_SIZE];
    kr_error err = {0};
    long count = strtol(count_text, NULL, 10);
    int64_t now = strtoll(now_text, NULL, 10);
    int status = 1;

    if (count < 1 || now <= 0) {
        fprintf(stderr, "bench-lib: N and NOW must be positive integers\n");
        status = 2;
        goto out;
    }
    if (active_key_load(path, ctx, &key, kid, &err) != KR_OK) {
        fprintf(stderr, "bench-lib: %s: %s\n", path, err.msg);
        goto out;
    }

    for (long i = 0; i < count; i++) {
        char *token = NULL;

        claims_set(claims, aud, now, i);
        if (kr_jws_sign(key, kid, claims, &token, &err) != KR_OK) {
            fprintf(stderr, "bench-lib: signing failed: %s\n", err.msg);
            goto out;
        }
        puts(token);
        free(token);
    }
    status = 0;

out:
    json_decref(claims);
    kr_rsakey_free(key);
    return status;
}

int
main(int argc, char **argv)
{
    kr_context ctx = {0};

    ctx.real_now = (int64_t)time(NULL);
    ctx.now = ctx.real_now;
    snprintf(ctx.actor, sizeof(ctx.actor), "bench-lib@localhost");

    if (argc == 4 && strcmp(argv[1], "sign") == 0)
        return sign_main(argv[2], argv[3], &ctx);
    if (argc == 6 && strcmp(argv[1], "tokens") == 0)
        return tokens_main(argv[2], argv[3], argv[4], argv[5], &ctx);

    fprintf(stderr, "usage: bench-lib sign STORE SCALE\n"
                    "       bench-lib tokens STORE N AUD NOW\n");
    return 2;
}
