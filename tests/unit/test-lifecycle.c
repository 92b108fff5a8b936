/* SPDX-License-Identifier: MIT */
/*
 * Lifecycle functions on a real SQLite store, for the cases that the CLI
 * tests reach only slowly or not at all. They cover a plan with more
 * changes than it lists, rotate without a key, purge of a verify-only key,
 * the retire guard's boundary, and the store check on the result.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifecycle.h"
#include "rsakey.h"
#include "store-check.h"
#include "store.h"
#include "tap.h"

#define T0 1767229260

static kr_context ctx = {
    .now = T0,
    .real_now = T0,
    .actor = "test@localhost",
};

static kr_state
state_of(kr_store *store, const char *kid)
{
    kr_key_info info;
    kr_error err = {0};

    if (kr_store_key_get(store, kid, &info, &err) != KR_OK)
        return (kr_state)-1;
    return info.state;
}

/* Generates and activates n keys one second apart, so that n - 1 end up
 * retiring with deadlines one second apart. */
static int
keys_rotate(kr_store *store, int n)
{
    const kr_rotate_options opts = {.overlap = -1, .if_older_than = -1};
    kr_error err = {0};
    kr_plan plan;
    char kid[32];

    for (int i = 0; i < n; i++) {
        kr_rsakey *key = NULL;
        kr_code rc;

        ctx.now = T0 + i;
        snprintf(kid, sizeof(kid), "bulk-%02d", i);
        if (kr_rsakey_generate(2048, &key, &err) != KR_OK)
            return 0;
        rc = kr_lifecycle_rotate(store, key, kid, &opts, &plan, &err);
        kr_rsakey_free(key);
        if (rc != KR_OK) {
            tap_diag("rotate %s: %s", kid, err.msg);
            return 0;
        }
    }
    return 1;
}

static void
test_plan_overflow(kr_store *store)
{
    kr_error err = {0};
    kr_plan plan;

    tap_ok(keys_rotate(store, 19), "rotate through 19 keys");

    /* Right after the last switch all 19 keys verify. */
    tap_ok(kr_lifecycle_tick(store, true, &plan, &err) == KR_OK
               && !plan.changed,
           "tick --dry-run with nothing due");
    tap_ok(plan.n_jwks_before == KR_PLAN_JWKS_MAX
               && plan.n_jwks_before_total == 19,
           "the JWKS before lists %d kids and counts 19", KR_PLAN_JWKS_MAX);

    /* Every retiring key is past its deadline 2h after the last switch. */
    ctx.now = T0 + 18 + 7200;
    tap_ok(kr_lifecycle_tick(store, true, &plan, &err) == KR_OK,
           "tick --dry-run with 18 keys due");
    tap_ok(plan.n_transitions == KR_PLAN_MAX, "the plan lists %d changes",
           KR_PLAN_MAX);
    tap_ok(plan.n_transitions_total == 18, "the plan counts all 18");
    tap_ok(plan.n_jwks_after == 1 && plan.n_jwks_after_total == 1
               && strcmp(plan.jwks_after[0], "bulk-18") == 0,
           "the JWKS after holds only the active key");
    tap_ok(state_of(store, "bulk-00") == KR_STATE_RETIRING,
           "the dry run changed nothing");

    tap_ok(kr_lifecycle_tick(store, false, &plan, &err) == KR_OK
               && plan.n_transitions_total == 18,
           "tick retires all 18");
    tap_ok(state_of(store, "bulk-17") == KR_STATE_RETIRED,
           "the last due key is retired too");
}

static void
test_rotate_without_key(kr_store *store)
{
    kr_rotate_options opts = {.overlap = -1, .if_older_than = 86400};
    kr_error err = {0};
    kr_plan plan;

    ctx.now = T0 + 18 + 7200 + 10;
    tap_ok(kr_lifecycle_rotate(store, NULL, NULL, &opts, &plan, &err) == KR_OK
               && !plan.changed && strstr(plan.note, "bulk-18") != NULL,
           "rotate without a key on a young key notes why nothing changed");

    opts.if_older_than = 60;
    kr_error_clear(&err);
    tap_ok(kr_lifecycle_rotate(store, NULL, NULL, &opts, &plan, &err)
               == KR_E_REFUSED,
           "rotate without a key when a rotation is due is refused");
    tap_ok(strstr(err.msg, "run rotate again") != NULL,
           "the refusal says to run rotate again");

    opts.dry_run = true;
    kr_error_clear(&err);
    tap_ok(kr_lifecycle_rotate(store, NULL, NULL, &opts, &plan, &err) == KR_OK
               && plan.n_transitions == 2 && plan.transitions[1].created
               && plan.transitions[1].kid[0] == '\0',
           "a dry rotate without a key lists a new key without a kid");
    tap_ok(state_of(store, "bulk-18") == KR_STATE_ACTIVE,
           "the dry rotate changed nothing");
}

static void
test_revoke_and_purge(kr_store *store)
{
    kr_rsakey *key = NULL;
    kr_error err = {0};
    kr_add_outcome outcome;
    kr_plan plan;

    tap_ok(kr_lifecycle_revoke(store, "bulk-01", "", false, &plan, &err)
               == KR_E_USAGE,
           "revoke with an empty reason is a usage error");
    kr_error_clear(&err);
    tap_ok(kr_lifecycle_revoke(store, "bulk-01", "a\tb", false, &plan, &err)
               == KR_E_USAGE,
           "revoke with a control character is a usage error");
    kr_error_clear(&err);

    /* A verify-only key: registered without its private part. */
    tap_ok(kr_rsakey_generate(2048, &key, &err) == KR_OK, "generate a key");
    kr_rsakey_drop_private(key);
    tap_ok(
        kr_store_key_add(store, key, "public-only", "imported", &outcome, &err)
            == KR_OK,
        "add a verify-only key");
    kr_rsakey_free(key);
    tap_ok(kr_lifecycle_purge(store, "public-only", &plan, &err)
               == KR_E_REFUSED,
           "purge of a pending key is refused");
    kr_error_clear(&err);
    tap_ok(
        kr_lifecycle_revoke(store, "public-only", "test", false, &plan, &err)
            == KR_OK,
        "revoke the verify-only key");
    tap_ok(kr_lifecycle_purge(store, "public-only", &plan, &err) == KR_OK
               && !plan.changed
               && strstr(plan.note, "no private part") != NULL,
           "purge of a verify-only key changes nothing and says why");
    tap_ok(kr_lifecycle_purge(store, "bulk-02", &plan, &err) == KR_OK
               && plan.changed && plan.note[0] == '\0',
           "purge of a retired key");
}

static void
test_retire_guard_boundary(kr_store *store)
{
    const int64_t switched = T0 + 18 + 7200 + 100;
    const kr_rotate_options opts = {.overlap = -1, .if_older_than = -1};
    kr_rsakey *key = NULL;
    kr_error err = {0};
    kr_plan plan;

    ctx.now = switched;
    tap_ok(
        kr_rsakey_generate(2048, &key, &err) == KR_OK
            && kr_lifecycle_rotate(store, key, "guarded", &opts, &plan, &err)
                   == KR_OK,
        "rotate away from bulk-18");
    kr_rsakey_free(key);

    ctx.now = switched + 3600 + 60 - 1;
    tap_ok(kr_lifecycle_retire(store, "bulk-18", false, false, &plan, &err)
               == KR_E_REFUSED,
           "retire one second inside max_token_ttl + leeway is refused");
    kr_error_clear(&err);
    ctx.now = switched + 3600 + 60;
    tap_ok(kr_lifecycle_retire(store, "bulk-18", false, false, &plan, &err)
                   == KR_OK
               && state_of(store, "bulk-18") == KR_STATE_RETIRED,
           "retire at max_token_ttl + leeway succeeds");
}

static void
test_check(kr_store *store)
{
    kr_check_report report;
    kr_error err = {0};

    tap_ok(kr_store_check(store, &report, &err) == KR_OK
               && report.n_problems == 0 && report.n_keys == 21,
           "check finds 21 keys and no problem");
    for (size_t i = 0; i < report.n_problems; i++)
        tap_diag("%s %s: %s", report.problems[i].check, report.problems[i].kid,
                 report.problems[i].detail);
    kr_check_report_clear(&report);
}

int
main(void)
{
    char dir[] = "/tmp/keyrot-test-lifecycle.XXXXXX";
    char path[256], side[300];
    kr_store *store = NULL;
    kr_error err = {0};

    if (mkdtemp(dir) == NULL)
        return 99;
    snprintf(path, sizeof(path), "%s/store.db", dir);
    if (kr_store_create(path, &ctx, &err) != KR_OK
        || kr_store_open(path, &ctx, &store, &err) != KR_OK) {
        printf("Bail out! %s\n", err.msg);
        return 99;
    }

    test_plan_overflow(store);
    test_rotate_without_key(store);
    test_revoke_and_purge(store);
    test_retire_guard_boundary(store);
    test_check(store);

    kr_store_close(store);
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    rmdir(dir);
    return tap_done();
}
