/* SPDX-License-Identifier: MIT */
/*
 * The store's integrity check: runs read-only queries on one snapshot and
 * compares what it finds with the rules that the lifecycle keeps (see the
 * design note in lifecycle.c). Key material is parsed again from the
 * stored bytes, so a row edited behind keyrot's back shows up here.
 */
#include "config.h"

#include "store-check.h"

#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsakey.h"
#include "store-history.h"
#include "store-internal.h"

/* The lifecycle timestamps of a key row, in the order of the query. */
enum {
    COL_ACTIVATED,
    COL_DEACTIVATED,
    COL_RETIRE_AFTER,
    COL_RETIRED,
    COL_REVOKED,
    COL_REASON,
    N_TIME_COLS
};

static const char *const time_col_names[N_TIME_COLS] = {
    "activated_at", "deactivated_at", "retire_after",
    "retired_at",   "revoked_at",     "revoke_reason",
};

#define BIT(col) (1u << (col))

/* Which of those columns each state requires to be set, and which it
 * forbids. A key that is active again after a rollback keeps its
 * deactivated_at, and a revoked key keeps whatever it had before. */
static const struct {
    unsigned required;
    unsigned forbidden;
} state_rules[] = {
    [KR_STATE_PENDING] = {0, BIT(COL_ACTIVATED) | BIT(COL_DEACTIVATED)
                                 | BIT(COL_RETIRE_AFTER) | BIT(COL_RETIRED)
                                 | BIT(COL_REVOKED) | BIT(COL_REASON)},
    [KR_STATE_ACTIVE] = {BIT(COL_ACTIVATED),
                         BIT(COL_RETIRE_AFTER) | BIT(COL_RETIRED)
                             | BIT(COL_REVOKED) | BIT(COL_REASON)},
    [KR_STATE_RETIRING] = {BIT(COL_ACTIVATED) | BIT(COL_DEACTIVATED)
                               | BIT(COL_RETIRE_AFTER),
                           BIT(COL_RETIRED) | BIT(COL_REVOKED)
                               | BIT(COL_REASON)},
    [KR_STATE_RETIRED] = {BIT(COL_ACTIVATED) | BIT(COL_DEACTIVATED)
                              | BIT(COL_RETIRED),
                          BIT(COL_REVOKED) | BIT(COL_REASON)},
    [KR_STATE_REVOKED] = {BIT(COL_REVOKED) | BIT(COL_REASON), 0},
};

#define N_STATES ((size_t)KR_STATE_REVOKED + 1)

/* Appends one entry to a list of problems or skipped checks. */
static kr_code
entry_add(kr_check_problem **list, size_t *n, const char *check,
          const char *kid, kr_error *err, const char *fmt, va_list ap)
{
    kr_check_problem *grown, *p;

    grown = realloc(*list, (*n + 1) * sizeof(*grown));
    if (grown == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    *list = grown;
    p = &grown[(*n)++];

    snprintf(p->check, sizeof(p->check), "%s", check);
    snprintf(p->kid, sizeof(p->kid), "%s", kid != NULL ? kid : "");
    vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
    return KR_OK;
}

__attribute__((format(printf, 5, 6))) static kr_code
problem_add(kr_check_report *report, const char *check, const char *kid,
            kr_error *err, const char *fmt, ...)
{
    va_list ap;
    kr_code rc;

    va_start(ap, fmt);
    rc = entry_add(&report->problems, &report->n_problems, check, kid, err,
                   fmt, ap);
    va_end(ap);
    return rc;
}

/* Records a check that could not run; it is no failure. */
__attribute__((format(printf, 5, 6))) static kr_code
skipped_add(kr_check_report *report, const char *check, const char *kid,
            kr_error *err, const char *fmt, ...)
{
    va_list ap;
    kr_code rc;

    va_start(ap, fmt);
    rc = entry_add(&report->skipped, &report->n_skipped, check, kid, err, fmt,
                   ap);
    va_end(ap);
    return rc;
}

/* Whether an SQLite result code means a damaged file: corrupt pages, or
 * no database at all (a destroyed header). */
static bool
code_is_damage(int code)
{
    return (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB;
}

/* Records that SQLite could not read the store, as a problem. */
static kr_code
damage_add(kr_check_report *report, const char *sqlite_msg, kr_error *err)
{
    report->damaged = true;
    return problem_add(report, "integrity", NULL, err,
                       "SQLite cannot read the store file: %s", sqlite_msg);
}

/* Runs a statement that returns no rows (BEGIN, COMMIT). */
static kr_code
statement_run(kr_store *store, const char *sql, kr_error *err)
{
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK
        || sqlite3_step(stmt) != SQLITE_DONE)
        rc = kr_store_sql_error(store, "checking the store", err);
    sqlite3_finalize(stmt);
    return rc;
}

/* Adds the findings of one row of SQLite's integrity check. A row may
 * carry several findings, one per line, under a "*** in database main ***"
 * heading. Each becomes a problem of its own, so every problem is one
 * line. */
static kr_code
integrity_row_add(kr_check_report *report, const char *row, kr_error *err)
{
    static const char heading[] = "*** in database ";
    kr_code rc = KR_OK;

    while (rc == KR_OK && *row != '\0') {
        int len = (int)strcspn(row, "\n");

        if (len > 0 && strncmp(row, heading, sizeof(heading) - 1) != 0)
            rc = problem_add(report, "integrity", NULL, err,
                             "SQLite integrity check: %.*s", len, row);
        row += len;
        if (*row == '\n')
            row++;
    }
    return rc;
}

static kr_code
integrity_check(kr_store *store, kr_check_report *report, kr_error *err)
{
    /* SQLite stops after ten errors, enough to show that a file is
     * damaged without flooding the report. */
    static const char sql[] = "PRAGMA integrity_check(10)";
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;
    int step;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return kr_store_sql_error(store, "checking the store", err);

    while ((step = sqlite3_step(stmt)) == SQLITE_ROW && rc == KR_OK) {
        const char *row = (const char *)sqlite3_column_text(stmt, 0);

        if (row != NULL && strcmp(row, "ok") != 0)
            rc = integrity_row_add(report, row, err);
    }
    if (rc == KR_OK && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = kr_store_sql_error(store, "checking the store", err);

    sqlite3_finalize(stmt);
    return rc;
}

static kr_code
active_count_check(kr_store *store, kr_check_report *report, kr_error *err)
{
    static const char sql[] =
        "SELECT count(*) FROM keys WHERE state = 'active'";
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK
        || sqlite3_step(stmt) != SQLITE_ROW) {
        rc = kr_store_sql_error(store, "checking the store", err);
        goto out;
    }
    if (sqlite3_column_int64(stmt, 0) > 1)
        rc = problem_add(report, "active", NULL, err,
                         "%lld keys are active; at most one may be",
                         (long long)sqlite3_column_int64(stmt, 0));

out:
    sqlite3_finalize(stmt);
    return rc;
}

/* Checks that the timestamps of a key row match its state. Column i of
 * the time columns is at stmt column first_col + i. */
static kr_code
state_check(sqlite3_stmt *stmt, int first_col, const char *kid,
            const char *state_text, kr_check_report *report, kr_error *err)
{
    size_t state = N_STATES;
    kr_code rc = KR_OK;

    for (size_t i = 0; i < N_STATES; i++) {
        if (state_text != NULL
            && strcmp(state_text, kr_state_name((kr_state)i)) == 0)
            state = i;
    }
    if (state == N_STATES)
        return problem_add(report, "state", kid, err, "unknown state '%s'",
                           state_text != NULL ? state_text : "");

    for (int col = 0; col < N_TIME_COLS && rc == KR_OK; col++) {
        bool set = sqlite3_column_type(stmt, first_col + col) != SQLITE_NULL;

        if (!set && (state_rules[state].required & BIT(col)))
            rc = problem_add(report, "state", kid, err, "%s key has no %s",
                             kr_state_name((kr_state)state),
                             time_col_names[col]);
        else if (set && (state_rules[state].forbidden & BIT(col)))
            rc = problem_add(report, "state", kid, err, "%s key has %s set",
                             kr_state_name((kr_state)state),
                             time_col_names[col]);
    }
    if (rc == KR_OK && state == KR_STATE_RETIRING
        && sqlite3_column_int64(stmt, first_col + COL_RETIRE_AFTER)
               < sqlite3_column_int64(stmt, first_col + COL_DEACTIVATED))
        rc = problem_add(report, "state", kid, err,
                         "retire_after is before deactivated_at");
    return rc;
}

/* Checks that the stored n and e form a key with the stored thumbprint
 * and size. On success *public is the key, for the caller to free. */
static kr_code
public_check(sqlite3_stmt *stmt, const char *kid, kr_rsakey **public,
             kr_check_report *report, kr_error *err)
{
    const char *thumbprint = (const char *)sqlite3_column_text(stmt, 3);
    char computed[KR_THUMBPRINT_SIZE];
    kr_error parse_err = {0};
    kr_rsakey *key = NULL;

    if (kr_rsakey_from_public(sqlite3_column_blob(stmt, 4),
                              (size_t)sqlite3_column_bytes(stmt, 4),
                              sqlite3_column_blob(stmt, 5),
                              (size_t)sqlite3_column_bytes(stmt, 5), &key,
                              &parse_err)
        != KR_OK)
        return problem_add(report, "thumbprint", kid, err,
                           "the stored n and e are not a usable RSA public "
                           "key: %s",
                           parse_err.msg);

    kr_rsakey_thumbprint(key, computed);
    if (thumbprint == NULL || strcmp(computed, thumbprint) != 0) {
        kr_rsakey_free(key);
        return problem_add(report, "thumbprint", kid, err,
                           "the stored thumbprint %s does not match n and e "
                           "(%s)",
                           thumbprint != NULL ? thumbprint : "(none)",
                           computed);
    }
    if (kr_rsakey_bits(key) != (unsigned)sqlite3_column_int(stmt, 2)) {
        kr_rsakey_free(key);
        return problem_add(report, "thumbprint", kid, err,
                           "the stored size %d bits does not match n (%u "
                           "bits)",
                           sqlite3_column_int(stmt, 2), kr_rsakey_bits(key));
    }

    *public = key;
    return KR_OK;
}

/* Checks that the stored private part parses and belongs to public. */
static kr_code
private_check(sqlite3_stmt *stmt, const char *kid, const kr_rsakey *public,
              const char *passphrase, kr_check_report *report, kr_error *err)
{
    kr_error parse_err = {0};
    kr_code parse_rc;
    kr_rsakey *key = NULL;
    uint8_t *der = NULL;
    size_t der_len;
    bool encrypted = sqlite3_column_int(stmt, 14) != 0;
    kr_code rc = KR_OK;

    der_len = (size_t)sqlite3_column_bytes(stmt, 6);
    der = malloc(der_len > 0 ? der_len : 1);
    if (der == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    if (der_len > 0)
        memcpy(der, sqlite3_column_blob(stmt, 6), der_len);

    if (!encrypted) {
        parse_rc = kr_rsakey_from_pkcs8_der(der, der_len, &key, &parse_err);
    } else if (passphrase != NULL) {
        parse_rc = kr_rsakey_from_pkcs8_der_encrypted(der, der_len, passphrase,
                                                      &key, &parse_err);
    } else {
        rc = skipped_add(report, "private", kid, err,
                         "the private part is encrypted at rest and no "
                         "store passphrase was given, so it was not "
                         "checked");
        goto out;
    }

    /* GnuTLS cannot tell a wrong passphrase from damaged ciphertext, and
     * the first is far more likely. */
    if (parse_rc == KR_E_REFUSED && encrypted)
        rc = problem_add(report, "private", kid, err,
                         "the store passphrase does not open the private "
                         "part: a wrong passphrase, or a damaged part");
    else if (parse_rc != KR_OK)
        rc = problem_add(report, "private", kid, err,
                         "the private part does not parse: %s", parse_err.msg);
    else if (public != NULL && !kr_rsakey_same_public(key, public))
        rc = problem_add(report, "private", kid, err,
                         "the private part belongs to another public key");

out:
    kr_rsakey_free(key);
    gnutls_memset(der, 0, der_len);
    free(der);
    return rc;
}

/* Checks one row of the keys query. */
static kr_code
key_check(sqlite3_stmt *stmt, const char *passphrase, kr_check_report *report,
          kr_error *err)
{
    char kid[KR_KID_SIZE];
    kr_rsakey *public = NULL;
    bool has_private = sqlite3_column_type(stmt, 6) != SQLITE_NULL;
    bool purged = sqlite3_column_type(stmt, 13) != SQLITE_NULL;
    const char *state = (const char *)sqlite3_column_text(stmt, 1);
    kr_code rc;

    snprintf(kid, sizeof(kid), "%s",
             sqlite3_column_text(stmt, 0)
                 ? (const char *)sqlite3_column_text(stmt, 0)
                 : "");

    rc = state_check(stmt, 7, kid, state, report, err);
    if (rc == KR_OK && purged && has_private)
        rc = problem_add(report, "private", kid, err,
                         "the key is marked purged but still has a private "
                         "part");
    if (rc == KR_OK && purged && state != NULL && strcmp(state, "retired") != 0
        && strcmp(state, "revoked") != 0)
        rc = problem_add(report, "state", kid, err,
                         "%s key is marked purged; only retired and revoked "
                         "keys can be",
                         state);
    if (rc == KR_OK)
        rc = public_check(stmt, kid, &public, report, err);
    if (rc == KR_OK && has_private)
        rc = private_check(stmt, kid, public, passphrase, report, err);

    kr_rsakey_free(public);
    return rc;
}

static kr_code
keys_check(kr_store *store, kr_check_report *report, kr_error *err)
{
    static const char sql[] =
        "SELECT kid, state, bits, thumbprint, n, e, private_der,"
        " activated_at, deactivated_at, retire_after, retired_at,"
        " revoked_at, revoke_reason, purged_at, private_encrypted"
        " FROM keys ORDER BY rowid";
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;
    int step = SQLITE_DONE;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return kr_store_sql_error(store, "checking the store", err);

    while (rc == KR_OK && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        report->n_keys++;
        rc = key_check(stmt, store->ctx->store_passphrase, report, err);
    }
    if (rc == KR_OK && step != SQLITE_DONE)
        rc = kr_store_sql_error(store, "checking the store", err);

    sqlite3_finalize(stmt);
    return rc;
}

/* Compares one key's stored state with the newest state its audit
 * records name. */
static kr_code
key_history_check(const char *kid, const char *state,
                  const kr_history_state *recorded, bool archived,
                  kr_check_report *report, kr_error *err)
{
    /* NOTE: a key whose every record was archived before checkpoints
     * carried key states cannot be compared; it passes unchecked. */
    if (recorded == NULL && archived)
        return KR_OK;
    if (recorded == NULL)
        return problem_add(report, "history", kid, err,
                           "the key is %s in the store, but the audit log "
                           "has no record of it",
                           state);
    if (strcmp(state, kr_state_name(recorded->state)) != 0)
        return problem_add(report, "history", kid, err,
                           "the key is %s in the store, but %s in the audit "
                           "log (record %lld, %s)",
                           state, kr_state_name(recorded->state),
                           (long long)recorded->seq, recorded->event);
    return KR_OK;
}

/* Compares every key's state with its audit history. A key row edited
 * behind keyrot's back, such as a revoked key set back to active after
 * dropping the trigger that forbids it, leaves the audit chain intact, so
 * only this comparison shows it. */
static kr_code
history_check(kr_store *store, kr_check_report *report, kr_error *err)
{
    static const char sql[] = "SELECT kid, state FROM keys ORDER BY rowid";
    kr_history_state *states = NULL;
    size_t n_states = 0;
    bool archived = false;
    sqlite3_stmt *stmt = NULL;
    kr_code rc;
    int step = SQLITE_DONE;

    rc = kr_store_history_list(store, &states, &n_states, &archived, err);
    if (rc != KR_OK)
        return rc;
    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "checking the store", err);
        goto out;
    }

    while (rc == KR_OK && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *kid = (const char *)sqlite3_column_text(stmt, 0);
        const char *state = (const char *)sqlite3_column_text(stmt, 1);

        if (kid == NULL || state == NULL)
            continue;
        rc = key_history_check(kid, state,
                               kr_history_find(states, n_states, kid),
                               archived, report, err);
    }
    if (rc == KR_OK && step != SQLITE_DONE)
        rc = kr_store_sql_error(store, "checking the store", err);

out:
    sqlite3_finalize(stmt);
    free(states);
    return rc;
}

kr_code
kr_store_check_history(kr_store *store, kr_check_report *report, kr_error *err)
{
    kr_code rc;

    memset(report, 0, sizeof(*report));

    rc = statement_run(store, "BEGIN", err);
    if (rc != KR_OK)
        return rc;
    rc = history_check(store, report, err);
    kr_store_rollback(store);
    return rc;
}

/* Checks the stored policy against the rules policy set enforces. */
static kr_code
policy_rules_check(kr_store *store, kr_check_report *report, kr_error *err)
{
    kr_error rule_err = {0};
    kr_policy policy;
    kr_code rc;

    rc = kr_store_policy_get(store, &policy, err);
    if (rc != KR_OK)
        return rc;
    if (kr_policy_validate(&policy, &rule_err) != KR_OK)
        return problem_add(report, "policy", NULL, err, "%s", rule_err.msg);
    return KR_OK;
}

kr_code
kr_store_check(kr_store *store, kr_check_report *report, kr_error *err)
{
    kr_error check_err = {0};
    kr_code rc;

    memset(report, 0, sizeof(*report));

    /* One read transaction, so every check reads the same snapshot while
     * other processes keep writing. */
    rc = statement_run(store, "BEGIN", &check_err);
    if (rc == KR_OK)
        rc = integrity_check(store, report, &check_err);
    if (rc == KR_OK)
        rc = policy_rules_check(store, report, &check_err);
    if (rc == KR_OK)
        rc = active_count_check(store, report, &check_err);
    if (rc == KR_OK)
        rc = keys_check(store, report, &check_err);
    if (rc == KR_OK)
        rc = history_check(store, report, &check_err);

    /* A damaged page stops the check that reads it, and every later one.
     * That is a finding about the store, not a failure to check it. The
     * connection still reports the code of the statement that failed. */
    if (rc == KR_E_SYSTEM
        && code_is_damage(sqlite3_extended_errcode(store->db)))
        rc = damage_add(report, sqlite3_errmsg(store->db), err);
    else if (rc != KR_OK)
        kr_error_set(err, rc, "%s", check_err.msg);

    kr_store_rollback(store);
    return rc;
}

kr_code
kr_store_check_file(const char *path, kr_check_report *report, kr_error *err)
{
    /* A damaged header or schema page fails at the first statement, and
     * any other damage shows in quick_check's rows. */
    static const char sql[] = "PRAGMA quick_check(10)";
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;

    memset(report, 0, sizeof(*report));

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW,
                        NULL)
        != SQLITE_OK)
        goto out;
    sqlite3_extended_result_codes(db, 1);

    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK) {
        while (rc == KR_OK && sqlite3_step(stmt) == SQLITE_ROW) {
            const char *row = (const char *)sqlite3_column_text(stmt, 0);

            if (row != NULL && strcmp(row, "ok") != 0) {
                report->damaged = true;
                rc = integrity_row_add(report, row, err);
            }
        }
    }
    if (rc == KR_OK && code_is_damage(sqlite3_extended_errcode(db)))
        rc = damage_add(report, sqlite3_errmsg(db), err);

out:
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rc;
}

void
kr_check_report_clear(kr_check_report *report)
{
    free(report->problems);
    free(report->skipped);
    memset(report, 0, sizeof(*report));
}
