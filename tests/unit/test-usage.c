/* SPDX-License-Identifier: MIT */
/*
 * The audit chain hash against vectors computed by an independent
 * implementation, and the usage batch on a real store file: counting per
 * key, audience and day, the late-token evidence the retirement guard
 * reads, the audience limits, and the usage_counters switch.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifecycle.h"
#include "rsakey.h"
#include "store-internal.h"
#include "tap.h"

#define T0 1767229260

static kr_context ctx = {
    .now = T0,
    .real_now = T0,
    .actor = "test@localhost",
};

/* The two vectors come from a Python implementation of the documented
 * rule: SHA-256 over "LENGTH:BYTES;" of each field and the previous hash. */
static void
test_hash_vectors(void)
{
    kr_audit_fields first = {1,      T0,   false, 0, "test@localhost",
                             "init", NULL, "{}"};
    kr_audit_fields second = {
        2,       T0 + 1,           true, T0, "t\xc3\xa9st@host", "import",
        "key-1", "{\"bits\":2048}"};
    char zeros[KR_AUDIT_HASH_SIZE];
    char hash[KR_AUDIT_HASH_SIZE];
    char next[KR_AUDIT_HASH_SIZE];
    kr_error err = {0};

    memset(zeros, '0', KR_AUDIT_HASH_SIZE - 1);
    zeros[KR_AUDIT_HASH_SIZE - 1] = '\0';
    tap_ok(kr_audit_hash(&first, zeros, hash, &err) == KR_OK,
           "hash the first record");
    tap_str_eq(
        hash,
        "78ebc7bbccb6f8eefe26ad93daa7edf45875de2d4075393bb140b7515afba44a",
        "first record hash");
    tap_ok(kr_audit_hash(&second, hash, next, &err) == KR_OK,
           "hash the second record");
    tap_str_eq(
        next,
        "218435b8eed3d3c1a0dc74247db8ea76fc4a853aca1d8c88591561a3680bec46",
        "second record hash, with clock, kid and UTF-8");
}

static kr_usage_row *
row_find(kr_usage_row *rows, size_t n_rows, const char *kid, const char *aud)
{
    for (size_t i = 0; i < n_rows; i++) {
        if (strcmp(rows[i].kid, kid) == 0 && strcmp(rows[i].aud, aud) == 0)
            return &rows[i];
    }
    return NULL;
}

static int64_t
refused_count(const kr_usage_row *row, const char *reason)
{
    for (size_t i = 0; row != NULL && i < row->n_reasons; i++) {
        if (strcmp(row->refused[i].reason, reason) == 0)
            return row->refused[i].n;
    }
    return 0;
}

/* Adds one event with claims parsed from JSON text (or none). */
static kr_code
event_add(kr_usage_batch *batch, kr_usage_kind kind, const char *kid,
          const char *reason, const char *claims_text)
{
    json_t *claims = claims_text ? json_loads(claims_text, 0, NULL) : NULL;
    kr_usage_event ev = {kind, kid, reason, claims, "a.b.c", 5};
    kr_error err = {0};
    kr_code rc = kr_usage_batch_add(batch, &ev, &err);

    json_decref(claims);
    return rc;
}

/* A store with key-old (retiring since T0 + 60) and key-new (active). */
static kr_store *
store_setup(const char *path)
{
    kr_store *store = NULL;
    kr_rsakey *a = NULL, *b = NULL;
    kr_add_outcome outcome;
    kr_error err = {0};
    kr_plan plan;

    unlink(path);
    if (kr_store_create(path, &ctx, &err) != KR_OK
        || kr_store_open(path, &ctx, &store, &err) != KR_OK
        || kr_rsakey_generate(2048, &a, &err) != KR_OK
        || kr_rsakey_generate(2048, &b, &err) != KR_OK
        || kr_store_key_add(store, a, "key-old", "generated", &outcome, &err)
               != KR_OK
        || kr_store_key_add(store, b, "key-new", "generated", &outcome, &err)
               != KR_OK
        || kr_lifecycle_activate(store, "key-old", -1, false, &plan, &err)
               != KR_OK) {
        printf("Bail out! store setup: %s\n", err.msg);
        exit(99);
    }
    ctx.now = T0 + 60;
    if (kr_lifecycle_activate(store, "key-new", -1, false, &plan, &err)
        != KR_OK) {
        printf("Bail out! activate key-new: %s\n", err.msg);
        exit(99);
    }
    kr_rsakey_free(a);
    kr_rsakey_free(b);
    return store;
}

static void
test_batch_counts(kr_store *store)
{
    kr_usage_batch *batch = NULL;
    kr_usage_row *rows = NULL, *row;
    size_t n_rows = 0;
    kr_error err = {0};
    char many[512], long_aud[400];
    size_t used;

    tap_ok(kr_usage_batch_new(store, &batch, &err) == KR_OK, "new batch");
    tap_ok(kr_usage_batch_flush(batch, &err) == KR_OK,
           "flushing an empty batch");

    ctx.now = T0 + 200;
    tap_ok(event_add(batch, KR_USAGE_SIGNED, "key-new", NULL,
                     "{\"aud\":\"a\",\"iat\":1767229460,\"exp\":1767229760}")
               == KR_OK,
           "add a signed token");
    tap_ok(event_add(batch, KR_USAGE_ACCEPTED, "key-new", NULL,
                     "{\"aud\":\"a\",\"iat\":1767229460}")
               == KR_OK,
           "add an accepted token of the active key");
    /* Issued after key-old stopped being active (T0 + 60): evidence. */
    tap_ok(event_add(batch, KR_USAGE_ACCEPTED, "key-old", NULL,
                     "{\"aud\":[\"a\",\"b\"],\"iat\":1767229360}")
               == KR_OK,
           "add a late token of the old key");
    /* Issued before the switch: no evidence. */
    tap_ok(event_add(batch, KR_USAGE_ACCEPTED, "key-old", NULL,
                     "{\"aud\":\"c\",\"iat\":1767229300}")
               == KR_OK,
           "add an early token of the old key");
    tap_ok(event_add(batch, KR_USAGE_REFUSED, "key-old", "expired",
                     "{\"aud\":\"a\",\"iat\":1767229300}")
               == KR_OK,
           "add an expired token");
    tap_ok(event_add(batch, KR_USAGE_REFUSED, NULL, "malformed", NULL)
               == KR_OK,
           "add a malformed token");

    used = (size_t)snprintf(many, sizeof(many), "{\"aud\":[");
    for (int i = 0; i < 20; i++)
        used += (size_t)snprintf(many + used, sizeof(many) - used,
                                 "%s\"m%02d\"", i ? "," : "", i);
    snprintf(many + used, sizeof(many) - used, "]}");
    tap_ok(event_add(batch, KR_USAGE_ACCEPTED, "key-new", NULL, many) == KR_OK,
           "add a token with 20 audiences");

    /* 150 two-byte characters: the cut must not split one. */
    used = (size_t)snprintf(long_aud, sizeof(long_aud), "{\"aud\":\"");
    for (int i = 0; i < 150; i++)
        used += (size_t)snprintf(long_aud + used, sizeof(long_aud) - used,
                                 "\xc3\xa9");
    snprintf(long_aud + used, sizeof(long_aud) - used, "\"}");
    tap_ok(event_add(batch, KR_USAGE_ACCEPTED, "key-new", NULL, long_aud)
               == KR_OK,
           "add a token with a 300-byte audience");

    tap_ok(kr_usage_batch_pending(batch) == 8, "8 events pending");
    tap_ok(kr_usage_batch_flush(batch, &err) == KR_OK, "flush the batch");
    tap_ok(kr_usage_batch_pending(batch) == 0, "the flush empties the batch");

    /* A second day. */
    ctx.now = T0 + 86400;
    tap_ok(event_add(batch, KR_USAGE_ACCEPTED, "key-new", NULL,
                     "{\"aud\":\"a\",\"iat\":1767315600}")
                   == KR_OK
               && kr_usage_batch_flush(batch, &err) == KR_OK,
           "count a token on the next day");
    kr_usage_batch_free(batch);

    tap_ok(kr_store_usage_list(store, NULL, 0, &rows, &n_rows, &err) == KR_OK,
           "list usage");
    row = row_find(rows, n_rows, "key-new", "a");
    tap_ok(row != NULL && row->n_signed == 1 && row->last_exp == T0 + 500,
           "key-new/a: 1 signed, exp");
    tap_ok(row != NULL && row->n_accepted == 2
               && row->first_accepted_at == T0 + 200
               && row->last_accepted_at == T0 + 86400,
           "key-new/a: accepted summed over two days");
    tap_ok(row != NULL && row->late_accepted_at == 0,
           "key-new/a: the active key has no late token");
    row = row_find(rows, n_rows, "key-old", "b");
    tap_ok(row != NULL && row->late_iat == T0 + 100
               && row->late_accepted_at == T0 + 200,
           "key-old/b: the late token and when it was accepted");
    row = row_find(rows, n_rows, "key-old", "c");
    tap_ok(row != NULL && row->n_accepted == 1 && row->late_accepted_at == 0,
           "key-old/c: a token issued before the switch is not late");
    row = row_find(rows, n_rows, "key-old", "a");
    tap_ok(row != NULL && row->n_accepted == 1 && row->n_refused == 1
               && refused_count(row, "expired") == 1,
           "key-old/a: accepted 1, refused 1 expired");
    row = row_find(rows, n_rows, "", "");
    tap_ok(row != NULL && refused_count(row, "malformed") == 1,
           "a token without kid counts under the empty kid");
    tap_ok(row_find(rows, n_rows, "key-new", "m15") != NULL
               && row_find(rows, n_rows, "key-new", "m16") == NULL,
           "at most 16 audiences of a token are counted");
    for (size_t i = 0; i < n_rows; i++) {
        size_t len = strlen(rows[i].aud);

        if (strncmp(rows[i].aud, "\xc3\xa9", 2) == 0)
            tap_ok(len == 254 && len < KR_USAGE_AUD_SIZE,
                   "a long audience is cut at a character boundary (%zu)",
                   len);
    }
    free(rows);

    tap_ok(
        kr_store_usage_list(store, "key-new", T0 + 86400, &rows, &n_rows, &err)
                == KR_OK
            && n_rows == 1 && rows[0].n_accepted == 1,
        "list since the second day");
    free(rows);
}

static void
test_late_evidence(kr_store *store)
{
    kr_usage_late late;
    kr_error err = {0};

    tap_ok(kr_store_usage_late_evidence(store, "key-old", T0 + 60, T0, &late,
                                        &err)
                   == KR_OK
               && late.iat == T0 + 100 && late.accepted_at == T0 + 200
               && (strcmp(late.aud, "a") == 0 || strcmp(late.aud, "b") == 0),
           "late evidence found");
    tap_ok(kr_store_usage_late_evidence(store, "key-old", T0 + 60, T0 + 200,
                                        &late, &err)
               == KR_OK,
           "evidence accepted exactly at the window's start counts");
    tap_ok(kr_store_usage_late_evidence(store, "key-old", T0 + 60, T0 + 201,
                                        &late, &err)
               == KR_E_NOTFOUND,
           "evidence older than the window does not count");
    tap_ok(kr_store_usage_late_evidence(store, "key-old", T0 + 100, T0, &late,
                                        &err)
               == KR_E_NOTFOUND,
           "a token issued at deactivation is not late");
    tap_ok(kr_store_usage_late_evidence(store, "key-new", 0, 0, &late, &err)
               == KR_E_NOTFOUND,
           "no evidence for the active key");
}

static void
test_counters_off(kr_store *store)
{
    kr_usage_batch *batch = NULL;
    kr_usage_row *rows = NULL;
    size_t n_rows = 0;
    kr_error err = {0};

    tap_ok(kr_store_policy_set(store, "usage_counters", "0", &err) == KR_OK,
           "turn usage counting off");
    tap_ok(kr_usage_batch_new(store, &batch, &err) == KR_OK
               && event_add(batch, KR_USAGE_SIGNED, "key-new", NULL,
                            "{\"aud\":\"z\",\"exp\":1}")
                      == KR_OK
               && kr_usage_batch_flush(batch, &err) == KR_OK,
           "count with counting off");
    kr_usage_batch_free(batch);
    tap_ok(kr_store_usage_list(store, NULL, 0, &rows, &n_rows, &err) == KR_OK
               && row_find(rows, n_rows, "key-new", "z") == NULL,
           "nothing was counted");
    free(rows);
}

static void
remove_sidecar(const char *path, const char *suffix)
{
    char side[64];

    snprintf(side, sizeof(side), "%s%s", path, suffix);
    unlink(side);
}

int
main(void)
{
    char path[] = "/tmp/keyrot-test-usage.XXXXXX";
    int fd = mkstemp(path);
    kr_store *store;

    if (fd < 0) {
        printf("Bail out! mkstemp\n");
        return 99;
    }
    close(fd);

    test_hash_vectors();
    store = store_setup(path);
    test_batch_counts(store);
    test_late_evidence(store);
    test_counters_off(store);
    kr_store_close(store);

    unlink(path);
    remove_sidecar(path, "-wal");
    remove_sidecar(path, "-shm");
    return tap_done();
}
