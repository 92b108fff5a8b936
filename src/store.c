/* SPDX-License-Identifier: MIT */
/*
 * The keystore on SQLite: opening and creating the file, transactions,
 * key rows and policy. The audit chain is in store-audit.c and the usage
 * counters in store-usage.c. Every value goes through sqlite3_bind_*, and
 * SQL text sits next to its one user. Lifecycle decisions are made in
 * lifecycle.c, so this file only reads and writes.
 */
#include "config.h"

#include "store-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "duration.h"

static const char *const state_names[] = {
    [KR_STATE_PENDING] = "pending",   [KR_STATE_ACTIVE] = "active",
    [KR_STATE_RETIRING] = "retiring", [KR_STATE_RETIRED] = "retired",
    [KR_STATE_REVOKED] = "revoked",
};

#define N_STATES (sizeof(state_names) / sizeof(state_names[0]))

const char *
kr_state_name(kr_state state)
{
    if ((size_t)state >= N_STATES)
        return "unknown";
    return state_names[state];
}

static bool
state_parse(const char *name, kr_state *state)
{
    for (size_t i = 0; i < N_STATES; i++) {
        if (name != NULL && strcmp(name, state_names[i]) == 0) {
            *state = (kr_state)i;
            return true;
        }
    }
    return false;
}

kr_code
kr_store_sql_error(kr_store *store, const char *what, kr_error *err)
{
    int ext = sqlite3_extended_errcode(store->db);

    if (ext == SQLITE_CONSTRAINT_TRIGGER || ext == SQLITE_CONSTRAINT_UNIQUE
        || ext == SQLITE_CONSTRAINT_CHECK)
        return kr_error_set(err, KR_E_REFUSED, "%s: the store refused it: %s",
                            what, sqlite3_errmsg(store->db));
    return kr_error_set(err, KR_E_SYSTEM, "%s failed: %s", what,
                        sqlite3_errmsg(store->db));
}

/* --- opening and transactions ----------------------------------------- */

/* Runs one SQL statement without parameters (a PRAGMA or a transaction
 * command) as a prepared statement. Returns SQLITE_OK when it completed,
 * else SQLite's error code, with sqlite3_errmsg(db) set. */
static int
sql_run(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static kr_code
db_configure(sqlite3 *db, kr_error *err)
{
    /* secure_delete overwrites freed pages, so that a purged private key
     * leaves no copy in the file; synchronous=NORMAL is crash-safe in WAL
     * mode for a killed process (a power loss may lose the last commits
     * but never corrupts the file). */
    static const char *const pragmas[] = {
        "PRAGMA secure_delete = ON",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
    };

    sqlite3_busy_timeout(db, KR_STORE_BUSY_TIMEOUT_MS);
    for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
        if (sql_run(db, pragmas[i]) != SQLITE_OK)
            return kr_error_set(err, KR_E_SYSTEM,
                                "cannot configure the store: %s",
                                sqlite3_errmsg(db));
    }
    return KR_OK;
}

static kr_code
db_open(const char *path, int flags, sqlite3 **out, kr_error *err)
{
    sqlite3 *db = NULL;
    kr_code rc = KR_OK;

    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOFOLLOW, NULL)
        != SQLITE_OK) {
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot open the store: %s",
                          db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(db, 1);

    rc = db_configure(db, err);
    if (rc != KR_OK)
        goto out;

    *out = db;
    db = NULL;

out:
    sqlite3_close(db);
    return rc;
}

kr_code
kr_store_create(const char *path, const kr_context *ctx, kr_error *err)
{
    kr_store store = {0};
    int fd;
    bool created = false;
    kr_code rc = KR_OK;

    /* O_EXCL refuses an existing file and O_NOFOLLOW a symlink planted at
     * the path; the mode is fixed here, before any key can be written. */
    fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        struct stat st;

        if (errno == EEXIST && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
            return kr_error_set(err, KR_E_REFUSED,
                                "%s is a symbolic link; keyrot never "
                                "creates a store through a link",
                                path);
        if (errno == EEXIST || errno == ELOOP)
            return kr_error_set(err, KR_E_REFUSED,
                                "%s already exists; keyrot init never "
                                "overwrites a store",
                                path);
        if (errno == ENOENT)
            return kr_error_set(err, KR_E_NOTFOUND,
                                "cannot create %s: the directory does not "
                                "exist",
                                path);
        return kr_error_set(err, KR_E_SYSTEM, "cannot create %s: %s", path,
                            strerror(errno));
    }
    created = true;
    if (fchmod(fd, 0600) != 0 || close(fd) != 0) {
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot create %s: %s", path,
                          strerror(errno));
        goto out;
    }

    store.ctx = ctx;
    rc = db_open(path, SQLITE_OPEN_READWRITE, &store.db, err);
    if (rc != KR_OK)
        goto out;

    if (sql_run(store.db, "PRAGMA journal_mode = WAL") != SQLITE_OK
        || sql_run(store.db,
                   "PRAGMA application_id = " KR_STORE_APPLICATION_ID_TEXT)
               != SQLITE_OK) {
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot set up the store: %s",
                          sqlite3_errmsg(store.db));
        goto out;
    }

    rc = kr_schema_migrate(store.db, err);
    if (rc != KR_OK)
        goto out;

    rc = kr_store_begin(&store, err);
    if (rc != KR_OK)
        goto out;
    rc = kr_schema_policy_defaults(store.db, err);
    if (rc == KR_OK)
        rc = kr_store_audit_append(&store, "init", NULL, NULL, err);
    if (rc == KR_OK)
        rc = kr_store_commit(&store, err);
    if (rc != KR_OK)
        kr_store_rollback(&store);

out:
    sqlite3_close(store.db);
    if (rc != KR_OK && created) {
        /* A half-made store is worse than none: remove it and its log. */
        char side[4096];

        unlink(path);
        snprintf(side, sizeof(side), "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof(side), "%s-shm", path);
        unlink(side);
    }
    return rc;
}

/* Returns the integer result of a one-row query, or -1 on error. */
static int64_t
query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int64_t value = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK
        && sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

/* Checks the file's application_id, which kr_store_create sets, so that
 * keyrot never writes its tables into another program's database or an
 * empty file. Stores made before the id existed (schema version 1 or
 * later with id 0 and a keys table) are still accepted. */
static kr_code
owner_check(sqlite3 *db, const char *path, kr_error *err)
{
    int64_t id = query_int(db, "PRAGMA application_id");

    if (id == KR_STORE_APPLICATION_ID)
        return KR_OK;
    if (id == 0 && query_int(db, "PRAGMA user_version") >= 1
        && query_int(db, "SELECT count(*) FROM sqlite_master"
                         " WHERE type = 'table' AND name = 'keys'")
               == 1)
        return KR_OK;
    if (id < 0)
        return kr_error_set(err, KR_E_SYSTEM, "%s is not a keyrot store: %s",
                            path, sqlite3_errmsg(db));
    return kr_error_set(err, KR_E_SYSTEM,
                        "%s is not a keyrot store (it was not created by "
                        "'keyrot init'); it was left untouched",
                        path);
}

kr_code
kr_store_open(const char *path, const kr_context *ctx, kr_store **out,
              kr_error *err)
{
    kr_store *store = NULL;
    struct stat st;
    kr_code rc = KR_OK;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return kr_error_set(err, KR_E_NOTFOUND,
                                "store %s not found; create it with "
                                "'keyrot init' or choose one with --store",
                                path);
        return kr_error_set(err, KR_E_SYSTEM, "cannot open store %s: %s", path,
                            strerror(errno));
    }
    if (S_ISLNK(st.st_mode))
        return kr_error_set(err, KR_E_SYSTEM,
                            "store %s is a symbolic link; keyrot does not "
                            "follow links to its store, so give the real "
                            "path",
                            path);
    if (!S_ISREG(st.st_mode))
        return kr_error_set(err, KR_E_SYSTEM, "store %s is not a regular file",
                            path);

    store = calloc(1, sizeof(*store));
    if (store == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    store->ctx = ctx;

    rc = db_open(path, SQLITE_OPEN_READWRITE, &store->db, err);
    if (rc != KR_OK)
        goto out;

    rc = owner_check(store->db, path, err);
    if (rc != KR_OK)
        goto out;

    rc = kr_schema_migrate(store->db, err);
    if (rc != KR_OK)
        goto out;

    *out = store;
    store = NULL;

out:
    kr_store_close(store);
    return rc;
}

void
kr_store_close(kr_store *store)
{
    if (store == NULL)
        return;
    sqlite3_close(store->db);
    free(store);
}

kr_code
kr_store_begin(kr_store *store, kr_error *err)
{
    /* IMMEDIATE takes the write lock up front: a deferred transaction that
     * reads and then writes can fail with SQLITE_BUSY at once in WAL mode
     * instead of waiting on the busy timeout. */
    if (sql_run(store->db, "BEGIN IMMEDIATE") != SQLITE_OK)
        return kr_store_sql_error(store, "locking the store", err);
    return KR_OK;
}

kr_code
kr_store_read_begin(kr_store *store, kr_error *err)
{
    if (sql_run(store->db, "BEGIN DEFERRED") != SQLITE_OK)
        return kr_store_sql_error(store, "reading the store", err);
    return KR_OK;
}

void
kr_store_read_end(kr_store *store)
{
    kr_store_rollback(store);
}

kr_code
kr_store_commit(kr_store *store, kr_error *err)
{
    if (sql_run(store->db, "COMMIT") != SQLITE_OK)
        return kr_store_sql_error(store, "committing", err);
    return KR_OK;
}

void
kr_store_rollback(kr_store *store)
{
    if (!sqlite3_get_autocommit(store->db))
        sql_run(store->db, "ROLLBACK");
}

kr_code
kr_store_checkpoint(kr_store *store, kr_error *err)
{
    int rc = sqlite3_wal_checkpoint_v2(store->db, NULL,
                                       SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);

    if (rc != SQLITE_OK)
        return kr_store_sql_error(store, "checkpointing the store", err);
    return KR_OK;
}

/* --- binding helpers --------------------------------------------------- */

static int
bind_text_or_null(sqlite3_stmt *stmt, int index, const char *text)
{
    if (text == NULL)
        return sqlite3_bind_null(stmt, index);
    return sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
}

static int
bind_time_or_null(sqlite3_stmt *stmt, int index, int64_t t)
{
    if (t == 0)
        return sqlite3_bind_null(stmt, index);
    return sqlite3_bind_int64(stmt, index, t);
}

static kr_code
prepare(kr_store *store, const char *sql, sqlite3_stmt **stmt, kr_error *err)
{
    if (sqlite3_prepare_v2(store->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return kr_store_sql_error(store, "preparing a query", err);
    return KR_OK;
}

/* Steps a statement that must finish without rows. */
static kr_code
step_done(kr_store *store, sqlite3_stmt *stmt, const char *what, kr_error *err)
{
    if (sqlite3_step(stmt) != SQLITE_DONE)
        return kr_store_sql_error(store, what, err);
    return KR_OK;
}

/* --- policy ------------------------------------------------------------ */

/* The RSA key sizes that generate and rotate create. */
static const int64_t generated_bits[] = {2048, 3072, 4096};

#define N_GENERATED_BITS (sizeof(generated_bits) / sizeof(generated_bits[0]))

typedef struct policy_field {
    const char *name;
    size_t offset;
    bool is_duration;
    int64_t min;
    int64_t max;
    bool generated_size; /* the value must also be in generated_bits */
} policy_field;

/* min_bits stops at the largest generated size, because default_bits may
 * not be below it: a higher floor would leave no size to generate. */
static const policy_field policy_fields[] = {
    {"token_ttl", offsetof(kr_policy, token_ttl), true, 1, 86400, false},
    {"max_token_ttl", offsetof(kr_policy, max_token_ttl), true, 1, 86400,
     false},
    {"leeway", offsetof(kr_policy, leeway), true, 0, 3600, false},
    {"overlap", offsetof(kr_policy, overlap), true, 1, KR_DURATION_MAX, false},
    {"rotate_every", offsetof(kr_policy, rotate_every), true, 3600,
     KR_DURATION_MAX, false},
    {"min_bits", offsetof(kr_policy, min_bits), false, 2048, 4096, false},
    {"default_bits", offsetof(kr_policy, default_bits), false, 2048, 4096,
     true},
    {"usage_counters", offsetof(kr_policy, usage_counters), false, 0, 1,
     false},
    {"usage_records", offsetof(kr_policy, usage_records), false, 0, 1, false},
};

#define N_POLICY_FIELDS (sizeof(policy_fields) / sizeof(policy_fields[0]))

const kr_policy_field_info *
kr_policy_fields(size_t *n_fields)
{
    static kr_policy_field_info infos[N_POLICY_FIELDS];

    for (size_t i = 0; i < N_POLICY_FIELDS; i++) {
        infos[i].name = policy_fields[i].name;
        infos[i].offset = policy_fields[i].offset;
        infos[i].is_duration = policy_fields[i].is_duration;
    }
    *n_fields = N_POLICY_FIELDS;
    return infos;
}

bool
kr_policy_bits_generated(int64_t bits)
{
    for (size_t i = 0; i < N_GENERATED_BITS; i++) {
        if (bits == generated_bits[i])
            return true;
    }
    return false;
}

static int64_t *
policy_slot(kr_policy *policy, const policy_field *field)
{
    return (int64_t *)((char *)policy + field->offset);
}

kr_code
kr_store_policy_get(kr_store *store, kr_policy *policy, kr_error *err)
{
    static const char sql[] = "SELECT name, value FROM policy";
    sqlite3_stmt *stmt = NULL;
    kr_policy p = KR_POLICY_DEFAULTS;
    int step;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;

    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(stmt, 0);

        for (size_t i = 0; i < N_POLICY_FIELDS; i++) {
            if (name != NULL && strcmp(name, policy_fields[i].name) == 0)
                *policy_slot(&p, &policy_fields[i]) =
                    sqlite3_column_int64(stmt, 1);
        }
    }
    if (step != SQLITE_DONE)
        rc = kr_store_sql_error(store, "reading the policy", err);
    else
        *policy = p;

    sqlite3_finalize(stmt);
    return rc;
}

/* Checks the rules that tie policy values together. */
static kr_code
policy_check(const kr_policy *p, kr_error *err)
{
    char overlap[32], need[32];

    if (p->token_ttl > p->max_token_ttl)
        return kr_error_set(err, KR_E_REFUSED,
                            "token_ttl (%" PRId64 "s) may not exceed "
                            "max_token_ttl (%" PRId64 "s)",
                            p->token_ttl, p->max_token_ttl);
    if (p->overlap < p->max_token_ttl + p->leeway) {
        kr_duration_format(p->overlap, overlap, sizeof(overlap));
        kr_duration_format(p->max_token_ttl + p->leeway, need, sizeof(need));
        return kr_error_set(err, KR_E_REFUSED,
                            "overlap %s is shorter than max_token_ttl + "
                            "leeway (%s): tokens signed just before a switch "
                            "could be rejected",
                            overlap, need);
    }
    if (p->default_bits < p->min_bits)
        return kr_error_set(err, KR_E_REFUSED,
                            "default_bits (%" PRId64 ") may not be below "
                            "min_bits (%" PRId64 ")",
                            p->default_bits, p->min_bits);
    return KR_OK;
}

kr_code
kr_policy_validate(const kr_policy *policy, kr_error *err)
{
    kr_policy copy = *policy;

    for (size_t i = 0; i < N_POLICY_FIELDS; i++) {
        const policy_field *f = &policy_fields[i];
        int64_t value = *policy_slot(&copy, f);

        if (value < f->min || value > f->max)
            return kr_error_set(err, KR_E_REFUSED,
                                "%s is %" PRId64
                                "; it must be between %" PRId64
                                " and %" PRId64,
                                f->name, value, f->min, f->max);
        if (f->generated_size && !kr_policy_bits_generated(value))
            return kr_error_set(err, KR_E_REFUSED,
                                "%s is %" PRId64 "; keyrot generates only "
                                "2048, 3072 or 4096-bit keys",
                                f->name, value);
    }
    return policy_check(policy, err);
}

static kr_code
policy_value_parse(const policy_field *field, const char *text, int64_t *value,
                   kr_error *err)
{
    char *end = NULL;
    long long number;

    if (field->is_duration)
        return kr_duration_parse(text, value, err);

    errno = 0;
    number = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        return kr_error_set(err, KR_E_USAGE,
                            "invalid value '%s' for %s: expected a number",
                            text, field->name);
    *value = number;
    return KR_OK;
}

/* Finds the field a setting names and parses its value, checking the
 * field's range. */
static kr_code
policy_setting_parse(const kr_policy_setting *setting,
                     const policy_field **field_out, int64_t *number,
                     kr_error *err)
{
    const policy_field *field = NULL;
    kr_code rc;

    for (size_t i = 0; i < N_POLICY_FIELDS; i++) {
        if (strcmp(setting->name, policy_fields[i].name) == 0)
            field = &policy_fields[i];
    }
    if (field == NULL)
        return kr_error_set(err, KR_E_USAGE,
                            "unknown policy setting '%s'; run 'keyrot policy' "
                            "to list them",
                            setting->name);

    rc = policy_value_parse(field, setting->value, number, err);
    if (rc != KR_OK)
        return rc;
    if (field->generated_size && !kr_policy_bits_generated(*number))
        return kr_error_set(err, KR_E_REFUSED,
                            "%s must be 2048, 3072 or 4096, a size that "
                            "generate and rotate create",
                            field->name);
    if (*number < field->min || *number > field->max)
        return kr_error_set(err, KR_E_REFUSED,
                            "%s must be between %" PRId64 " and %" PRId64 "%s",
                            field->name, field->min, field->max,
                            field->is_duration ? " seconds" : "");

    *field_out = field;
    return KR_OK;
}

/* Writes one policy row and its audit record, which keeps the value it
 * replaced so that the log alone shows what each change undid. */
static kr_code
policy_row_write(kr_store *store, const char *name, int64_t old_value,
                 int64_t value, kr_error *err)
{
    static const char sql[] =
        "INSERT INTO policy (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value";
    sqlite3_stmt *stmt = NULL;
    json_t *details = NULL;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;
    if (sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC) != SQLITE_OK
        || sqlite3_bind_int64(stmt, 2, value) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "writing the policy", err);
        goto out;
    }
    rc = step_done(store, stmt, "writing the policy", err);
    if (rc != KR_OK)
        goto out;

    details = json_pack("{s:s, s:I, s:I}", "name", name, "old_value",
                        (json_int_t)old_value, "value", (json_int_t)value);
    rc = kr_store_audit_append(store, "policy_set", NULL, details, err);

out:
    json_decref(details);
    sqlite3_finalize(stmt);
    return rc;
}

kr_code
kr_store_policy_update(kr_store *store, const kr_policy_setting *settings,
                       size_t n_settings, size_t *n_changed, kr_error *err)
{
    const policy_field *field = NULL;
    kr_policy old_policy, new_policy;
    int64_t number = 0;
    size_t changed = 0;
    kr_code rc;

    /* Check every setting before taking the lock, so that a typo in the
     * last one does not wait for other writers. */
    for (size_t i = 0; i < n_settings; i++) {
        rc = policy_setting_parse(&settings[i], &field, &number, err);
        if (rc != KR_OK)
            return rc;
    }

    rc = kr_store_begin(store, err);
    if (rc != KR_OK)
        return rc;

    rc = kr_store_policy_get(store, &old_policy, err);
    if (rc != KR_OK)
        goto out;
    new_policy = old_policy;
    for (size_t i = 0; i < n_settings; i++) {
        rc = policy_setting_parse(&settings[i], &field, &number, err);
        if (rc != KR_OK)
            goto out;
        *policy_slot(&new_policy, field) = number;
    }

    /* The rules tie values together, so they apply to the result of all
     * settings at once: raising max_token_ttl and overlap together works
     * in one command, in either order. */
    rc = policy_check(&new_policy, err);
    if (rc != KR_OK)
        goto out;

    for (size_t i = 0; i < N_POLICY_FIELDS; i++) {
        int64_t value = *policy_slot(&new_policy, &policy_fields[i]);
        int64_t old_value = *policy_slot(&old_policy, &policy_fields[i]);

        if (value == old_value)
            continue;
        rc = policy_row_write(store, policy_fields[i].name, old_value, value,
                              err);
        if (rc != KR_OK)
            goto out;
        changed++;
    }

    if (changed > 0)
        rc = kr_store_commit(store, err);
    if (rc == KR_OK && n_changed != NULL)
        *n_changed = changed;

out:
    kr_store_rollback(store);
    return rc;
}

kr_code
kr_store_policy_set(kr_store *store, const char *name, const char *value,
                    kr_error *err)
{
    const kr_policy_setting setting = {name, value};

    return kr_store_policy_update(store, &setting, 1, NULL, err);
}

/* --- keys -------------------------------------------------------------- */

#define KEY_COLUMNS                                                           \
    "kid, state, bits, thumbprint, private_der IS NOT NULL, origin,"          \
    " created_at, activated_at, deactivated_at, retire_after, retired_at,"    \
    " revoked_at, purged_at, revoke_reason,"                                  \
    " private_der IS NOT NULL AND private_encrypted = 1"

static void
copy_text(char *out, size_t out_size, const unsigned char *text)
{
    snprintf(out, out_size, "%s", text ? (const char *)text : "");
}

static kr_code
key_row_read(kr_store *store, sqlite3_stmt *stmt, kr_key_info *info,
             kr_error *err)
{
    memset(info, 0, sizeof(*info));
    copy_text(info->kid, sizeof(info->kid), sqlite3_column_text(stmt, 0));
    if (!state_parse((const char *)sqlite3_column_text(stmt, 1), &info->state))
        return kr_error_set(err, KR_E_SYSTEM,
                            "key %s has an unknown state in the store",
                            info->kid);
    info->bits = (unsigned)sqlite3_column_int(stmt, 2);
    copy_text(info->thumbprint, sizeof(info->thumbprint),
              sqlite3_column_text(stmt, 3));
    info->has_private = sqlite3_column_int(stmt, 4) != 0;
    copy_text(info->origin, sizeof(info->origin),
              sqlite3_column_text(stmt, 5));
    info->created_at = sqlite3_column_int64(stmt, 6);
    info->activated_at = sqlite3_column_int64(stmt, 7);
    info->deactivated_at = sqlite3_column_int64(stmt, 8);
    info->retire_after = sqlite3_column_int64(stmt, 9);
    info->retired_at = sqlite3_column_int64(stmt, 10);
    info->revoked_at = sqlite3_column_int64(stmt, 11);
    info->purged_at = sqlite3_column_int64(stmt, 12);
    copy_text(info->revoke_reason, sizeof(info->revoke_reason),
              sqlite3_column_text(stmt, 13));
    info->private_encrypted = sqlite3_column_int(stmt, 14) != 0;
    (void)store;
    return KR_OK;
}

/* Runs a query bound to one optional text parameter that returns at most
 * one key row. Returns KR_E_NOTFOUND when it returns none. */
static kr_code
key_query_one(kr_store *store, const char *sql, const char *param,
              kr_key_info *info, kr_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int step;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;

    if (param != NULL
        && sqlite3_bind_text(stmt, 1, param, -1, SQLITE_STATIC) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "reading a key", err);
        goto out;
    }

    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        rc = key_row_read(store, stmt, info, err);
    else if (step == SQLITE_DONE)
        rc = KR_E_NOTFOUND;
    else
        rc = kr_store_sql_error(store, "reading a key", err);

out:
    sqlite3_finalize(stmt);
    return rc;
}

kr_code
kr_store_key_get(kr_store *store, const char *kid, kr_key_info *info,
                 kr_error *err)
{
    static const char sql[] = "SELECT " KEY_COLUMNS " FROM keys WHERE kid = ?";
    kr_code rc = key_query_one(store, sql, kid, info, err);

    if (rc == KR_E_NOTFOUND) {
        char shown[2 * KR_KID_SIZE];

        kr_kid_escape(kid, strlen(kid), shown, sizeof(shown));
        return kr_error_set(err, KR_E_NOTFOUND, "no key with kid %s", shown);
    }
    return rc;
}

kr_code
kr_store_active_get(kr_store *store, kr_key_info *info, kr_error *err)
{
    static const char sql[] =
        "SELECT " KEY_COLUMNS " FROM keys WHERE state = 'active'";
    kr_code rc = key_query_one(store, sql, NULL, info, err);

    if (rc == KR_E_NOTFOUND)
        return kr_error_set(err, KR_E_NOTFOUND,
                            "no active key; activate one with 'keyrot "
                            "activate KID' or 'keyrot rotate'");
    return rc;
}

static kr_code
key_list(kr_store *store, const char *sql, kr_key_info **keys, size_t *n_keys,
         kr_error *err)
{
    sqlite3_stmt *stmt = NULL;
    kr_key_info *list = NULL;
    size_t n = 0, cap = 0;
    int step;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;

    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            size_t grown_cap = cap ? cap * 2 : 16;
            kr_key_info *grown = realloc(list, grown_cap * sizeof(*list));

            if (grown == NULL) {
                rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
                goto out;
            }
            list = grown;
            cap = grown_cap;
        }
        rc = key_row_read(store, stmt, &list[n], err);
        if (rc != KR_OK)
            goto out;
        n++;
    }
    if (step != SQLITE_DONE) {
        rc = kr_store_sql_error(store, "listing keys", err);
        goto out;
    }

    *keys = list;
    *n_keys = n;
    list = NULL;

out:
    free(list);
    sqlite3_finalize(stmt);
    return rc;
}

kr_code
kr_store_key_list(kr_store *store, kr_key_info **keys, size_t *n_keys,
                  kr_error *err)
{
    return key_list(
        store, "SELECT " KEY_COLUMNS " FROM keys ORDER BY created_at, rowid",
        keys, n_keys, err);
}

kr_code
kr_store_key_list_published(kr_store *store, kr_key_info **keys,
                            size_t *n_keys, kr_error *err)
{
    /* The keys_by_state index keeps this independent of how many retired
     * and revoked keys the store has accumulated. */
    return key_list(store,
                    "SELECT " KEY_COLUMNS " FROM keys"
                    " WHERE state IN ('pending', 'active', 'retiring')"
                    " ORDER BY created_at, rowid",
                    keys, n_keys, err);
}

static kr_code
key_load(kr_store *store, const char *kid, bool want_private, kr_rsakey **key,
         kr_error *err)
{
    static const char sql[] =
        "SELECT n, e, private_der, private_encrypted FROM keys WHERE kid = ?";
    sqlite3_stmt *stmt = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    int step;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;
    if (sqlite3_bind_text(stmt, 1, kid, -1, SQLITE_STATIC) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "reading a key", err);
        goto out;
    }

    step = sqlite3_step(stmt);
    if (step == SQLITE_DONE) {
        rc = kr_error_set(err, KR_E_NOTFOUND, "no key with kid %s", kid);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = kr_store_sql_error(store, "reading a key", err);
        goto out;
    }

    if (want_private && sqlite3_column_type(stmt, 2) == SQLITE_BLOB) {
        /* Copy at once: the column pointer dies at the next step. */
        der_len = (size_t)sqlite3_column_bytes(stmt, 2);
        der = malloc(der_len ? der_len : 1);
        if (der == NULL) {
            rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
            goto out;
        }
        memcpy(der, sqlite3_column_blob(stmt, 2), der_len);
        if (sqlite3_column_int(stmt, 3) == 0)
            rc = kr_rsakey_from_pkcs8_der(der, der_len, key, err);
        else if (store->ctx->store_passphrase == NULL)
            rc = kr_error_set(err, KR_E_REFUSED,
                              "the private key of %s is encrypted at rest "
                              "and no store passphrase was given",
                              kid);
        else
            rc = kr_rsakey_from_pkcs8_der_encrypted(
                der, der_len, store->ctx->store_passphrase, key, err);
    } else {
        rc = kr_rsakey_from_public(sqlite3_column_blob(stmt, 0),
                                   (size_t)sqlite3_column_bytes(stmt, 0),
                                   sqlite3_column_blob(stmt, 1),
                                   (size_t)sqlite3_column_bytes(stmt, 1), key,
                                   err);
    }

out:
    if (der != NULL) {
        gnutls_memset(der, 0, der_len);
        free(der);
    }
    sqlite3_finalize(stmt);
    return rc;
}

kr_code
kr_store_key_load(kr_store *store, const char *kid, kr_rsakey **key,
                  kr_error *err)
{
    return key_load(store, kid, true, key, err);
}

kr_code
kr_store_key_load_public(kr_store *store, const char *kid, kr_rsakey **key,
                         kr_error *err)
{
    return key_load(store, kid, false, key, err);
}

/* Finds which kid, if any, holds the key with this thumbprint. */
static kr_code
kid_by_thumbprint(kr_store *store, const char *thumbprint,
                  char kid[KR_KID_SIZE], kr_error *err)
{
    static const char sql[] = "SELECT kid FROM keys WHERE thumbprint = ?";
    sqlite3_stmt *stmt = NULL;
    int step;
    kr_code rc;

    kid[0] = '\0';
    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;
    if (sqlite3_bind_text(stmt, 1, thumbprint, -1, SQLITE_STATIC)
        != SQLITE_OK) {
        rc = kr_store_sql_error(store, "reading a key", err);
        goto out;
    }
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        copy_text(kid, KR_KID_SIZE, sqlite3_column_text(stmt, 0));
    else if (step != SQLITE_DONE)
        rc = kr_store_sql_error(store, "reading a key", err);

out:
    sqlite3_finalize(stmt);
    return rc;
}

/* Keeps one store passphrase per store: once a private key is encrypted at
 * rest, a new private part is stored only under a passphrase that opens
 * that key. Without this, a cron job run without the passphrase would add
 * a plaintext signing key, or a typo would split the store between two
 * passphrases. */
static kr_code
at_rest_check(kr_store *store, kr_error *err)
{
    static const char sql[] =
        "SELECT kid, private_der FROM keys"
        " WHERE private_encrypted = 1 AND private_der IS NOT NULL LIMIT 1";
    const char *passphrase = store->ctx->store_passphrase;
    sqlite3_stmt *stmt = NULL;
    kr_rsakey *probe = NULL;
    kr_error probe_err = {0};
    char kid[KR_KID_SIZE];
    uint8_t *der = NULL;
    size_t der_len = 0;
    int step;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;
    step = sqlite3_step(stmt);
    if (step == SQLITE_DONE)
        goto out;
    if (step != SQLITE_ROW) {
        rc = kr_store_sql_error(store, "reading a key", err);
        goto out;
    }

    copy_text(kid, sizeof(kid), sqlite3_column_text(stmt, 0));
    if (passphrase == NULL) {
        rc = kr_error_set(err, KR_E_REFUSED,
                          "this store keeps private keys encrypted at rest "
                          "(kid %s is); give the store passphrase so that "
                          "the new private key is encrypted too",
                          kid);
        goto out;
    }

    der_len = (size_t)sqlite3_column_bytes(stmt, 1);
    der = malloc(der_len ? der_len : 1);
    if (der == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }
    memcpy(der, sqlite3_column_blob(stmt, 1), der_len);
    if (kr_rsakey_from_pkcs8_der_encrypted(der, der_len, passphrase, &probe,
                                           &probe_err)
        != KR_OK)
        rc = kr_error_set(err, KR_E_REFUSED,
                          "the store passphrase does not open the private "
                          "key of kid %s; every key of a store is encrypted "
                          "under the same passphrase",
                          kid);

out:
    kr_rsakey_free(probe);
    if (der != NULL) {
        gnutls_memset(der, 0, der_len);
        free(der);
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Encodes key's private part in the store's format: PKCS#8 DER, encrypted
 * under the store passphrase when one is set. *der is for wipe and free(). */
static kr_code
private_encode(kr_store *store, const kr_rsakey *key, uint8_t **der,
               size_t *der_len, kr_error *err)
{
    kr_code rc = at_rest_check(store, err);

    if (rc != KR_OK)
        return rc;
    if (store->ctx->store_passphrase != NULL)
        return kr_rsakey_export_encrypted(key, store->ctx->store_passphrase,
                                          der, der_len, err);
    return kr_rsakey_export(key, KR_FORMAT_DER, true, der, der_len, err);
}

static kr_code
key_insert(kr_store *store, const kr_rsakey *key, const char *kid,
           const char *origin, const char *thumbprint, kr_error *err)
{
    static const char sql[] =
        "INSERT INTO keys (kid, state, bits, thumbprint, n, e, private_der,"
        " origin, created_at, private_encrypted)"
        " VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *stmt = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    kr_bytes n = kr_rsakey_n(key), e = kr_rsakey_e(key);
    kr_code rc;

    if (kr_rsakey_has_private(key)) {
        rc = private_encode(store, key, &der, &der_len, err);
        if (rc != KR_OK)
            return rc;
    }

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        goto out;
    if (sqlite3_bind_text(stmt, 1, kid, -1, SQLITE_STATIC) != SQLITE_OK
        || sqlite3_bind_int(stmt, 2, (int)kr_rsakey_bits(key)) != SQLITE_OK
        || sqlite3_bind_text(stmt, 3, thumbprint, -1, SQLITE_STATIC)
               != SQLITE_OK
        || sqlite3_bind_blob(stmt, 4, n.data, (int)n.len, SQLITE_STATIC)
               != SQLITE_OK
        || sqlite3_bind_blob(stmt, 5, e.data, (int)e.len, SQLITE_STATIC)
               != SQLITE_OK
        || (der ? sqlite3_bind_blob(stmt, 6, der, (int)der_len, SQLITE_STATIC)
                : sqlite3_bind_null(stmt, 6))
               != SQLITE_OK
        || sqlite3_bind_text(stmt, 7, origin, -1, SQLITE_STATIC) != SQLITE_OK
        || sqlite3_bind_int64(stmt, 8, store->ctx->now) != SQLITE_OK
        || sqlite3_bind_int(
               stmt, 9, der != NULL && store->ctx->store_passphrase != NULL)
               != SQLITE_OK) {
        rc = kr_store_sql_error(store, "storing the key", err);
        goto out;
    }
    rc = step_done(store, stmt, "storing the key", err);

out:
    if (stmt != NULL)
        sqlite3_clear_bindings(stmt);
    sqlite3_finalize(stmt);
    if (der != NULL) {
        gnutls_memset(der, 0, der_len);
        free(der);
    }
    return rc;
}

static kr_code
key_private_add(kr_store *store, const kr_rsakey *key, const char *kid,
                kr_error *err)
{
    static const char sql[] =
        "UPDATE keys SET private_der = ?, private_encrypted = ?"
        " WHERE kid = ? AND private_der IS NULL";
    sqlite3_stmt *stmt = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    kr_code rc;

    rc = private_encode(store, key, &der, &der_len, err);
    if (rc != KR_OK)
        return rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        goto out;
    if (sqlite3_bind_blob(stmt, 1, der, (int)der_len, SQLITE_STATIC)
            != SQLITE_OK
        || sqlite3_bind_int(stmt, 2, store->ctx->store_passphrase != NULL)
               != SQLITE_OK
        || sqlite3_bind_text(stmt, 3, kid, -1, SQLITE_STATIC) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "storing the private key", err);
        goto out;
    }
    rc = step_done(store, stmt, "storing the private key", err);

out:
    if (stmt != NULL)
        sqlite3_clear_bindings(stmt);
    sqlite3_finalize(stmt);
    gnutls_memset(der, 0, der_len);
    free(der);
    return rc;
}

/* Decides what adding key under kid means given what the store holds. */
static kr_code
key_add_classify(kr_store *store, const kr_rsakey *key, const char *kid,
                 const char *thumbprint, kr_add_outcome *outcome,
                 kr_error *err)
{
    kr_key_info existing;
    char holder[KR_KID_SIZE];
    kr_code rc;

    rc = kid_by_thumbprint(store, thumbprint, holder, err);
    if (rc != KR_OK)
        return rc;
    if (holder[0] != '\0' && strcmp(holder, kid) != 0)
        return kr_error_set(err, KR_E_REFUSED,
                            "the same key material is already registered as "
                            "kid %s (thumbprint %s)",
                            holder, thumbprint);

    rc = key_query_one(store, "SELECT " KEY_COLUMNS " FROM keys WHERE kid = ?",
                       kid, &existing, err);
    if (rc == KR_E_NOTFOUND) {
        *outcome = KR_ADD_INSERTED;
        return KR_OK;
    }
    if (rc != KR_OK)
        return rc;

    if (strcmp(existing.thumbprint, thumbprint) != 0)
        return kr_error_set(err, KR_E_REFUSED,
                            "kid %s already exists with other key material "
                            "(thumbprint %s); choose another kid",
                            kid, existing.thumbprint);

    if (kr_rsakey_has_private(key) && !existing.has_private
        && existing.purged_at == 0) {
        *outcome = KR_ADD_PRIVATE_ADDED;
        return KR_OK;
    }
    if (kr_rsakey_has_private(key) && existing.purged_at != 0)
        return kr_error_set(err, KR_E_REFUSED,
                            "the private part of kid %s was purged; it "
                            "cannot be imported again",
                            kid);

    *outcome = KR_ADD_UNCHANGED;
    return KR_OK;
}

kr_code
kr_store_key_add_locked(kr_store *store, const kr_rsakey *key, const char *kid,
                        const char *origin, kr_add_outcome *outcome,
                        kr_error *err)
{
    char thumbprint[KR_THUMBPRINT_SIZE];
    json_t *details = NULL;
    kr_policy policy;
    kr_code rc;

    kr_rsakey_thumbprint(key, thumbprint);

    rc = kr_store_policy_get(store, &policy, err);
    if (rc != KR_OK)
        goto out;
    if ((int64_t)kr_rsakey_bits(key) < policy.min_bits) {
        rc = kr_error_set(err, KR_E_REFUSED,
                          "RSA key is %u bits; at least %" PRId64
                          " are required",
                          kr_rsakey_bits(key), policy.min_bits);
        goto out;
    }

    rc = key_add_classify(store, key, kid, thumbprint, outcome, err);
    if (rc != KR_OK || *outcome == KR_ADD_UNCHANGED)
        goto out;

    if (*outcome == KR_ADD_INSERTED)
        rc = key_insert(store, key, kid, origin, thumbprint, err);
    else
        rc = key_private_add(store, key, kid, err);
    if (rc != KR_OK)
        goto out;

    details = json_pack("{s:s, s:i, s:s, s:b}", "thumbprint", thumbprint,
                        "bits", (int)kr_rsakey_bits(key), "origin", origin,
                        "private", kr_rsakey_has_private(key));
    rc = kr_store_audit_append(
        store,
        *outcome == KR_ADD_INSERTED
            ? (strcmp(origin, "generated") == 0 ? "generate" : "import")
            : "import_private",
        kid, details, err);

out:
    json_decref(details);
    return rc;
}

kr_code
kr_store_key_add(kr_store *store, const kr_rsakey *key, const char *kid,
                 const char *origin, kr_add_outcome *outcome, kr_error *err)
{
    kr_code rc;

    rc = kr_store_begin(store, err);
    if (rc != KR_OK)
        return rc;

    rc = kr_store_key_add_locked(store, key, kid, origin, outcome, err);
    if (rc == KR_OK && *outcome != KR_ADD_UNCHANGED)
        rc = kr_store_commit(store, err);

    kr_store_rollback(store);
    return rc;
}

kr_code
kr_store_key_update(kr_store *store, const kr_key_info *info, kr_error *err)
{
    static const char sql[] =
        "UPDATE keys SET state = ?, activated_at = ?, deactivated_at = ?,"
        " retire_after = ?, retired_at = ?, revoked_at = ?,"
        " revoke_reason = ? WHERE kid = ?";
    sqlite3_stmt *stmt = NULL;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;

    if (sqlite3_bind_text(stmt, 1, kr_state_name(info->state), -1,
                          SQLITE_STATIC)
            != SQLITE_OK
        || bind_time_or_null(stmt, 2, info->activated_at) != SQLITE_OK
        || bind_time_or_null(stmt, 3, info->deactivated_at) != SQLITE_OK
        || bind_time_or_null(stmt, 4, info->retire_after) != SQLITE_OK
        || bind_time_or_null(stmt, 5, info->retired_at) != SQLITE_OK
        || bind_time_or_null(stmt, 6, info->revoked_at) != SQLITE_OK
        || bind_text_or_null(
               stmt, 7, info->revoke_reason[0] ? info->revoke_reason : NULL)
               != SQLITE_OK
        || sqlite3_bind_text(stmt, 8, info->kid, -1, SQLITE_STATIC)
               != SQLITE_OK) {
        rc = kr_store_sql_error(store, "updating a key", err);
        goto out;
    }
    rc = step_done(store, stmt, "updating a key", err);
    if (rc == KR_OK && sqlite3_changes(store->db) != 1)
        rc = kr_error_set(err, KR_E_NOTFOUND, "no key with kid %s", info->kid);

out:
    sqlite3_finalize(stmt);
    return rc;
}

kr_code
kr_store_key_purge_private(kr_store *store, const char *kid, kr_error *err)
{
    static const char sql[] =
        "UPDATE keys SET private_der = NULL, purged_at = ? WHERE kid = ?";
    sqlite3_stmt *stmt = NULL;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;
    if (sqlite3_bind_int64(stmt, 1, store->ctx->now) != SQLITE_OK
        || sqlite3_bind_text(stmt, 2, kid, -1, SQLITE_STATIC) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "purging a key", err);
        goto out;
    }
    rc = step_done(store, stmt, "purging a key", err);

out:
    sqlite3_finalize(stmt);
    return rc;
}

kr_code
kr_store_due_list(kr_store *store, int64_t now, char (**kids)[KR_KID_SIZE],
                  size_t *n_kids, kr_error *err)
{
    static const char sql[] =
        "SELECT kid FROM keys WHERE state = 'retiring' AND retire_after <= ?"
        " ORDER BY retire_after";
    sqlite3_stmt *stmt = NULL;
    char(*list)[KR_KID_SIZE] = NULL;
    size_t n = 0, cap = 0;
    int step;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;
    if (sqlite3_bind_int64(stmt, 1, now) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "listing due keys", err);
        goto out;
    }

    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            size_t grown_cap = cap ? cap * 2 : 4;
            char(*grown)[KR_KID_SIZE] =
                realloc(list, grown_cap * sizeof(*list));

            if (grown == NULL) {
                rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
                goto out;
            }
            list = grown;
            cap = grown_cap;
        }
        copy_text(list[n], KR_KID_SIZE, sqlite3_column_text(stmt, 0));
        n++;
    }
    if (step != SQLITE_DONE) {
        rc = kr_store_sql_error(store, "listing due keys", err);
        goto out;
    }

    *kids = list;
    *n_kids = n;
    list = NULL;

out:
    free(list);
    sqlite3_finalize(stmt);
    return rc;
}

/* Re-encodes the plaintext private part of one key, read from stmt's
 * current row (kid, private_der), under the store passphrase. */
static kr_code
private_reencrypt(kr_store *store, sqlite3_stmt *row, sqlite3_stmt *update,
                  kr_error *err)
{
    char kid[KR_KID_SIZE];
    kr_rsakey *key = NULL;
    uint8_t *plain = NULL, *sealed = NULL;
    size_t plain_len, sealed_len = 0;
    kr_code rc;

    copy_text(kid, sizeof(kid), sqlite3_column_text(row, 0));
    plain_len = (size_t)sqlite3_column_bytes(row, 1);
    plain = malloc(plain_len ? plain_len : 1);
    if (plain == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    memcpy(plain, sqlite3_column_blob(row, 1), plain_len);

    rc = kr_rsakey_from_pkcs8_der(plain, plain_len, &key, err);
    if (rc == KR_OK)
        rc = kr_rsakey_export_encrypted(key, store->ctx->store_passphrase,
                                        &sealed, &sealed_len, err);
    if (rc != KR_OK)
        goto out;

    if (sqlite3_reset(update) != SQLITE_OK
        || sqlite3_bind_blob(update, 1, sealed, (int)sealed_len, SQLITE_STATIC)
               != SQLITE_OK
        || sqlite3_bind_text(update, 2, kid, -1, SQLITE_TRANSIENT)
               != SQLITE_OK) {
        rc = kr_store_sql_error(store, "encrypting a key", err);
        goto out;
    }
    rc = step_done(store, update, "encrypting a key", err);
    sqlite3_clear_bindings(update);
    if (rc == KR_OK)
        rc = kr_store_audit_append(store, "encrypt_private", kid, NULL, err);

out:
    kr_rsakey_free(key);
    gnutls_memset(plain, 0, plain_len);
    free(plain);
    if (sealed != NULL) {
        gnutls_memset(sealed, 0, sealed_len);
        free(sealed);
    }
    return rc;
}

kr_code
kr_store_private_encrypt_all(kr_store *store, size_t *n_encrypted,
                             kr_error *err)
{
    static const char select_sql[] =
        "SELECT kid, private_der FROM keys"
        " WHERE private_der IS NOT NULL AND private_encrypted = 0"
        " ORDER BY created_at, rowid";
    static const char update_sql[] =
        "UPDATE keys SET private_der = ?, private_encrypted = 1 WHERE kid = ?";
    sqlite3_stmt *row = NULL, *update = NULL;
    size_t n = 0;
    int step = SQLITE_DONE;
    kr_code rc;

    *n_encrypted = 0;
    if (store->ctx->store_passphrase == NULL)
        return kr_error_set(err, KR_E_USAGE,
                            "no store passphrase was given; set "
                            "--store-passphrase-file or "
                            "KEYROT_STORE_PASSPHRASE_FILE");

    rc = kr_store_begin(store, err);
    if (rc != KR_OK)
        return rc;
    rc = at_rest_check(store, err);
    if (rc == KR_OK)
        rc = prepare(store, select_sql, &row, err);
    if (rc == KR_OK)
        rc = prepare(store, update_sql, &update, err);
    if (rc != KR_OK)
        goto out;

    /* Updating the row just read is safe in SQLite: the SELECT keeps its
     * place, and the updated rows no longer match it. */
    while (rc == KR_OK && (step = sqlite3_step(row)) == SQLITE_ROW) {
        rc = private_reencrypt(store, row, update, err);
        n++;
    }
    if (rc == KR_OK && step != SQLITE_DONE)
        rc = kr_store_sql_error(store, "reading the keys", err);
    if (rc != KR_OK)
        goto out;

    sqlite3_finalize(row);
    row = NULL;
    sqlite3_finalize(update);
    update = NULL;
    if (n > 0)
        rc = kr_store_commit(store, err);
    else
        kr_store_rollback(store);

    /* Also when nothing was left to encrypt: a run whose checkpoint failed
     * (a reader held the log) is completed by running it again. */
    if (rc == KR_OK)
        rc = kr_store_checkpoint(store, err);
    if (rc == KR_OK)
        *n_encrypted = n;

out:
    sqlite3_finalize(row);
    sqlite3_finalize(update);
    kr_store_rollback(store);
    return rc;
}

kr_code
kr_store_export_record(kr_store *store, const char *kid, const char *format,
                       const char *path, kr_error *err)
{
    json_t *details = json_pack("{s:s, s:s}", "format", format, "file", path);
    kr_code rc;

    if (details == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");

    rc = kr_store_begin(store, err);
    if (rc == KR_OK)
        rc = kr_store_audit_append(store, "export_private", kid, details, err);
    if (rc == KR_OK)
        rc = kr_store_commit(store, err);
    if (rc != KR_OK)
        kr_store_rollback(store);
    json_decref(details);
    return rc;
}
