/* SPDX-License-Identifier: MIT */
/*
 * Store and lifecycle on a real SQLite file: creation rules, key
 * registration identity rules, activation, and the invariants the schema
 * enforces even against SQL that bypasses the library.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lifecycle.h"
#include "rsakey.h"
#include "store.h"
#include "tap.h"

static kr_context ctx = {
    .now = 1767229260,
    .real_now = 1767229260,
    .actor = "test@localhost",
};

/* Runs SQL on the file behind the library's back; returns SQLite's code. */
static int
raw_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc;

    sqlite3_open(path, &db);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static void
test_create(const char *path)
{
    kr_error err = {0};
    struct stat st;

    tap_ok(kr_store_create(path, &ctx, &err) == KR_OK, "create a store");
    tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
           "store mode is 0600");

    kr_error_clear(&err);
    tap_ok(kr_store_create(path, &ctx, &err) == KR_E_REFUSED,
           "create refuses an existing file");
    tap_ok(strstr(err.msg, "already exists") != NULL,
           "the refusal says the file exists");
}

static void
test_keys(const char *path)
{
    kr_store *store = NULL;
    kr_rsakey *a = NULL, *b = NULL;
    kr_error err = {0};
    kr_add_outcome outcome;
    kr_key_info info;
    kr_plan plan;

    tap_ok(kr_store_open(path, &ctx, &store, &err) == KR_OK, "open");
    tap_ok(kr_rsakey_generate(2048, &a, &err) == KR_OK
               && kr_rsakey_generate(2048, &b, &err) == KR_OK,
           "generate two keys");

    tap_ok(kr_store_key_add(store, a, "key-a", "generated", &outcome, &err)
                   == KR_OK
               && outcome == KR_ADD_INSERTED,
           "add key-a");
    tap_ok(kr_store_key_add(store, a, "key-a", "generated", &outcome, &err)
                   == KR_OK
               && outcome == KR_ADD_UNCHANGED,
           "adding key-a again changes nothing");

    kr_error_clear(&err);
    tap_ok(kr_store_key_add(store, a, "key-a2", "imported", &outcome, &err)
               == KR_E_REFUSED,
           "the same material under a second kid is refused");
    kr_error_clear(&err);
    tap_ok(kr_store_key_add(store, b, "key-a", "imported", &outcome, &err)
               == KR_E_REFUSED,
           "a kid reused for other material is refused");
    kr_error_clear(&err);

    tap_ok(kr_store_key_add(store, b, "key-b", "generated", &outcome, &err)
               == KR_OK,
           "add key-b");
    tap_ok(kr_lifecycle_activate(store, "key-a", -1, false, &plan, &err)
                   == KR_OK
               && plan.changed && plan.n_transitions == 1,
           "activate key-a");
    tap_ok(kr_lifecycle_activate(store, "key-a", -1, false, &plan, &err)
                   == KR_OK
               && !plan.changed,
           "activating the active key again changes nothing");

    tap_ok(kr_lifecycle_activate(store, "key-b", -1, true, &plan, &err)
                   == KR_OK
               && plan.n_transitions == 2,
           "dry run plans two transitions");
    kr_store_key_get(store, "key-b", &info, &err);
    tap_ok(info.state == KR_STATE_PENDING, "dry run changes nothing");

    tap_ok(kr_lifecycle_activate(store, "key-b", 60, false, &plan, &err)
               == KR_E_REFUSED,
           "an overlap shorter than max_token_ttl + leeway is refused");
    kr_error_clear(&err);

    tap_ok(kr_lifecycle_activate(store, "key-b", -1, false, &plan, &err)
               == KR_OK,
           "activate key-b");
    kr_store_key_get(store, "key-a", &info, &err);
    tap_ok(info.state == KR_STATE_RETIRING
               && info.retire_after == ctx.now + 7200,
           "key-a is retiring until now + overlap");
    tap_ok(kr_lifecycle_verifies(&info, ctx.now + 7199)
               && !kr_lifecycle_verifies(&info, ctx.now + 7200),
           "a retiring key stops verifying at its deadline");

    kr_store_close(store);
    kr_rsakey_free(a);
    kr_rsakey_free(b);
}

static void
test_schema_guards(const char *path)
{
    tap_ok(raw_sql(path, "UPDATE keys SET state = 'active'") != SQLITE_OK,
           "the schema refuses two active keys");
    tap_ok(raw_sql(path, "UPDATE keys SET state = 'pending' WHERE kid = "
                         "'key-a'")
               != SQLITE_OK,
           "the schema refuses retiring -> pending");
    tap_ok(raw_sql(path, "UPDATE keys SET state = 'bogus' WHERE kid = "
                         "'key-a'")
               != SQLITE_OK,
           "the schema refuses an unknown state");
    tap_ok(raw_sql(path, "DELETE FROM keys") != SQLITE_OK,
           "the schema refuses deleting keys");
    tap_ok(raw_sql(path, "UPDATE keys SET private_der = NULL WHERE kid = "
                         "'key-b'")
               != SQLITE_OK,
           "the schema refuses purging an active key");
    tap_ok(raw_sql(path, "UPDATE audit SET actor = 'x'") != SQLITE_OK,
           "the schema refuses editing audit records");
}

int
main(void)
{
    char dir[] = "/tmp/keyrot-test-store.XXXXXX";
    char path[256];

    if (mkdtemp(dir) == NULL)
        return 99;
    snprintf(path, sizeof(path), "%s/store.db", dir);

    test_create(path);
    test_keys(path);
    test_schema_guards(path);

    unlink(path);
    snprintf(path, sizeof(path), "%s/store.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/store.db-shm", dir);
    unlink(path);
    rmdir(dir);
    return tap_done();
}
