/* SPDX-License-Identifier: MIT */
/*
 * bench-store: builds the large store of the benchmark through the
 * library's own store and lifecycle functions, so that every row, trigger
 * and audit hash is what keyrot itself would write.
 *
 *   bench-store PATH N_KEYS N_AUDIT KEY.pem KID
 *
 * The history is simulated with one rotation an hour, ending a minute ago.
 * N_KEYS - 1 generated keys each enter through kr_lifecycle_rotate, which
 * adds and activates a key in one transaction as `keyrot rotate` does and
 * also retires the keys whose overlap has ended. Then KEY.pem is imported
 * as KID and activated (kr_store_key_add, kr_lifecycle_activate). The
 * store ends with one active key, the keys of the last hours retiring and
 * the rest retired.
 *
 * Audit records are then appended in one transaction until the log
 * contains N_AUDIT. kr_store_audit_append chains each of them exactly as
 * it chains the lifecycle's records, so the whole chain is valid (`keyrot
 * audit verify` passes). The filler records are "policy_set" events that
 * restate the default leeway.
 *
 * Keys: GnuTLS takes about 0.1 s per 2048-bit key (certtool, measured on
 * the 2-core benchmark machine), so 10,000 would take about a quarter of
 * an hour. Instead the generated keys are built from a pool of 1024-bit
 * primes drawn from a fixed GMP seed: key i uses the i-th pair (p, q) of
 * distinct pool primes, n = p * q, e = 65537. Each is a real RSA key that
 * kr_rsakey_from_params and GnuTLS accept, with its own modulus and
 * thumbprint, but keys share primes, so they are weak by construction:
 * benchmark data only. The fixed seed gives the same key material on
 * every build.
 */
#include "config.h"

#include <gmp.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <nettle/bignum.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyparse.h"
#include "lifecycle.h"
#include "store-internal.h"

/* bench/run.py names its cached store after this number: change it
 * whenever a change here changes the store that is built. */
#define BENCH_STORE_RECIPE 1

#define PRIME_BITS      1024
#define PUBLIC_EXPONENT 65537
#define PRIME_SEED      20261204UL
/* Seconds between simulated rotations. */
#define ROTATION_STEP 3600
#define KEY_FILE_MAX  (64 * 1024)

/* Draws n primes of exactly PRIME_BITS bits with p - 1 prime to e. */
static mpz_t *
prime_pool_make(size_t n)
{
    gmp_randstate_t rand;
    mpz_t *pool = calloc(n, sizeof(*pool));
    mpz_t x;

    if (pool == NULL)
        return NULL;
    gmp_randinit_default(rand);
    gmp_randseed_ui(rand, PRIME_SEED);
    mpz_init(x);

    for (size_t i = 0; i < n; i++) {
        mpz_init(pool[i]);
        do {
            /* The two top bits make p * q a full 2 * PRIME_BITS bits. */
            mpz_urandomb(x, rand, PRIME_BITS);
            mpz_setbit(x, PRIME_BITS - 1);
            mpz_setbit(x, PRIME_BITS - 2);
            mpz_nextprime(pool[i], x);
        } while (mpz_sizeinbase(pool[i], 2) != PRIME_BITS
                 || mpz_fdiv_ui(pool[i], PUBLIC_EXPONENT) == 1);
    }

    mpz_clear(x);
    gmp_randclear(rand);
    return pool;
}

static void
prime_pool_free(mpz_t *pool, size_t n)
{
    for (size_t i = 0; pool != NULL && i < n; i++)
        mpz_clear(pool[i]);
    free(pool);
}

/* The smallest pool whose distinct pairs give n_keys moduli. */
static size_t
prime_pool_size(size_t n_keys)
{
    size_t k = 2;

    while (k * (k - 1) / 2 < n_keys)
        k++;
    return k;
}

/* Writes x into buf at *pos as big-endian bytes and points *b at them. */
static void
bytes_put(uint8_t *buf, size_t *pos, const mpz_t x, kr_bytes *b)
{
    size_t len = nettle_mpz_sizeinbase_256_u(x);

    nettle_mpz_get_str_256(len, buf + *pos, x);
    b->data = buf + *pos;
    b->len = len;
    *pos += len;
}

/* Builds the RSA key of primes p and q with e = PUBLIC_EXPONENT. */
static kr_code
key_from_primes(const mpz_t p, const mpz_t q, kr_rsakey **out, kr_error *err)
{
    /* n, e, d, p, q, dp, dq, qi of a 2048-bit key fit in 8 * 256 bytes. */
    uint8_t buf[8 * (2 * PRIME_BITS / 8)];
    kr_rsa_params params;
    mpz_t n, e, d, p1, q1, lambda, dp, dq, qi;
    size_t pos = 0;
    kr_code rc;

    mpz_inits(n, e, d, p1, q1, lambda, dp, dq, qi, NULL);
    mpz_mul(n, p, q);
    mpz_set_ui(e, PUBLIC_EXPONENT);
    mpz_sub_ui(p1, p, 1);
    mpz_sub_ui(q1, q, 1);
    mpz_lcm(lambda, p1, q1);
    mpz_invert(d, e, lambda);
    mpz_mod(dp, d, p1);
    mpz_mod(dq, d, q1);
    mpz_invert(qi, q, p);

    memset(&params, 0, sizeof(params));
    bytes_put(buf, &pos, n, &params.n);
    bytes_put(buf, &pos, e, &params.e);
    bytes_put(buf, &pos, d, &params.d);
    bytes_put(buf, &pos, p, &params.p);
    bytes_put(buf, &pos, q, &params.q);
    bytes_put(buf, &pos, dp, &params.dp);
    bytes_put(buf, &pos, dq, &params.dq);
    bytes_put(buf, &pos, qi, &params.qi);
    rc = kr_rsakey_from_params(&params, out, err);

    gnutls_memset(buf, 0, sizeof(buf));
    mpz_clears(n, e, d, p1, q1, lambda, dp, dq, qi, NULL);
    return rc;
}

/* Adds key under kid at the context's time and makes it the active key, as
 * `keyrot rotate` does: the previous active key starts retiring, and keys
 * whose overlap has ended retire. */
static kr_code
key_rotate_in(kr_store *store, const kr_rsakey *key, const char *kid,
              kr_error *err)
{
    kr_rotate_options opts = {.overlap = -1, .if_older_than = -1};
    kr_plan plan;

    return kr_lifecycle_rotate(store, key, kid, &opts, &plan, err);
}

static kr_code
generated_keys_add(kr_store *store, kr_context *ctx, size_t n_keys,
                   kr_error *err)
{
    size_t n_primes = prime_pool_size(n_keys);
    mpz_t *pool = prime_pool_make(n_primes);
    size_t i = 0;
    kr_code rc = KR_OK;

    if (pool == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");

    for (size_t a = 1; a < n_primes && i < n_keys && rc == KR_OK; a++) {
        for (size_t b = 0; b < a && i < n_keys && rc == KR_OK; b++, i++) {
            kr_rsakey *key = NULL;
            char kid[KR_KID_SIZE];

            snprintf(kid, sizeof(kid), "bench-%06zu", i);
            rc = key_from_primes(pool[a], pool[b], &key, err);
            if (rc == KR_OK)
                rc = key_rotate_in(store, key, kid, err);
            kr_rsakey_free(key);
            ctx->now += ROTATION_STEP;
        }
    }

    prime_pool_free(pool, n_primes);
    return rc;
}

static kr_code
imported_key_add(kr_store *store, const char *path, const char *kid,
                 kr_error *err)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = malloc(KEY_FILE_MAX);
    size_t len = 0;
    kr_rsakey *key = NULL;
    char own_kid[KR_KID_SIZE];
    kr_warnings warnings = {0};
    kr_add_outcome outcome;
    kr_plan plan;
    kr_code rc;

    if (f == NULL || data == NULL) {
        rc = kr_error_set(err, KR_E_NOTFOUND, "cannot read %s", path);
        goto out;
    }
    len = fread(data, 1, KEY_FILE_MAX, f);
    rc = kr_key_parse(data, len, NULL, 2048, &key, own_kid, &warnings, err);
    if (rc == KR_OK)
        rc = kr_store_key_add(store, key, kid, "imported", &outcome, err);
    if (rc == KR_OK)
        rc = kr_lifecycle_activate(store, kid, -1, false, &plan, err);

out:
    if (f != NULL)
        fclose(f);
    if (data != NULL)
        gnutls_memset(data, 0, KEY_FILE_MAX);
    free(data);
    kr_rsakey_free(key);
    return rc;
}

static kr_code
audit_count(kr_store *store, int64_t *count, kr_error *err)
{
    static const char sql[] = "SELECT count(*) FROM audit";
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK
        || sqlite3_step(stmt) != SQLITE_ROW)
        rc = kr_store_sql_error(store, "counting audit records", err);
    else
        *count = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return rc;
}

/* Appends filler records until the audit log contains n_audit. */
static kr_code
audit_fill(kr_store *store, int64_t n_audit, kr_error *err)
{
    json_t *details =
        json_pack("{s:s, s:I}", "name", "leeway", "value", (json_int_t)60);
    int64_t count = 0;
    kr_code rc;

    if (details == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    rc = audit_count(store, &count, err);
    if (rc == KR_OK)
        rc = kr_store_begin(store, err);
    for (; rc == KR_OK && count < n_audit; count++)
        rc = kr_store_audit_append(store, "policy_set", NULL, details, err);
    if (rc == KR_OK)
        rc = kr_store_commit(store, err);
    kr_store_rollback(store);
    json_decref(details);
    return rc;
}

static double
seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec)
           + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int
main(int argc, char **argv)
{
    kr_context ctx = {0};
    kr_store *store = NULL;
    kr_error err = {0};
    struct timespec start;
    long long n_keys, n_audit;
    kr_code rc;

    if (argc != 6 || (n_keys = strtoll(argv[2], NULL, 10)) < 1
        || (n_audit = strtoll(argv[3], NULL, 10)) < 0) {
        fprintf(stderr,
                "usage: bench-store PATH N_KEYS N_AUDIT KEY.pem KID\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    ctx.real_now = (int64_t)time(NULL);
    ctx.now_overridden = true;
    ctx.now = ctx.real_now - 60 - (int64_t)(n_keys - 1) * ROTATION_STEP;
    snprintf(ctx.actor, sizeof(ctx.actor), "bench-store@localhost");

    rc = kr_store_create(argv[1], &ctx, &err);
    if (rc == KR_OK)
        rc = kr_store_open(argv[1], &ctx, &store, &err);
    if (rc == KR_OK)
        rc = generated_keys_add(store, &ctx, (size_t)n_keys - 1, &err);
    if (rc == KR_OK)
        rc = imported_key_add(store, argv[4], argv[5], &err);
    if (rc == KR_OK)
        fprintf(stderr, "bench-store: %lld keys in %.1f s\n", n_keys,
                seconds_since(&start));
    if (rc == KR_OK)
        rc = audit_fill(store, n_audit, &err);
    kr_store_close(store);

    if (rc != KR_OK) {
        fprintf(stderr, "bench-store: %s: %s\n", argv[1], err.msg);
        return 1;
    }
    fprintf(stderr, "bench-store: %lld keys, %lld audit records in %.1f s\n",
            n_keys, n_audit, seconds_since(&start));
    return 0;
}
