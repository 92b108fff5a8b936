/* SPDX-License-Identifier: MIT */
/*
 * The store's schema and its migrations. The schema version is SQLite's
 * user_version; migration N takes a store from version N-1 to N. This is
 * the only file that runs SQL text with sqlite3_exec, because DDL takes no
 * parameters.
 *
 * The database enforces the lifecycle invariants itself, so that a bug in
 * the C code or a hand-edited row cannot break them:
 *   - states are one of five (CHECK);
 *   - at most one key is active (partial unique index keys_one_active);
 *   - only the allowed transitions happen (trigger keys_state_transition);
 *   - a private part is destroyed only in retired or revoked state
 *     (trigger keys_private_purge);
 *   - key material, kid and thumbprint never change, keys are never
 *     deleted, and audit records are never updated (triggers);
 *   - audit records are deleted only up to the archived prefix recorded in
 *     audit_anchor (trigger audit_archive_only).
 */
#include "config.h"

#include "store-internal.h"

#include <stdio.h>

static const char schema_v1[] =
    "CREATE TABLE policy ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL"
    ") WITHOUT ROWID;"

    "CREATE TABLE keys ("
    "  kid TEXT PRIMARY KEY"
    "    CHECK (length(kid) BETWEEN 1 AND 128"
    "           AND kid NOT GLOB '*[^A-Za-z0-9._-]*'),"
    "  state TEXT NOT NULL"
    "    CHECK (state IN ('pending','active','retiring','retired','revoked')),"
    "  bits INTEGER NOT NULL CHECK (bits >= 2048),"
    "  thumbprint TEXT NOT NULL UNIQUE CHECK (length(thumbprint) = 43),"
    "  n BLOB NOT NULL,"
    "  e BLOB NOT NULL,"
    "  private_der BLOB,"
    "  origin TEXT NOT NULL CHECK (origin IN ('generated','imported','jwks')),"
    "  created_at INTEGER NOT NULL,"
    "  activated_at INTEGER,"
    "  deactivated_at INTEGER,"
    "  retire_after INTEGER,"
    "  retired_at INTEGER,"
    "  revoked_at INTEGER,"
    "  revoke_reason TEXT,"
    "  purged_at INTEGER,"
    "  CHECK (state <> 'active' OR activated_at IS NOT NULL),"
    "  CHECK (state <> 'retiring'"
    "         OR (deactivated_at IS NOT NULL AND retire_after IS NOT NULL)),"
    "  CHECK (state <> 'revoked' OR revoked_at IS NOT NULL)"
    ");"

    "CREATE UNIQUE INDEX keys_one_active ON keys (state)"
    "  WHERE state = 'active';"

    "CREATE TRIGGER keys_state_transition BEFORE UPDATE OF state ON keys"
    "  WHEN NEW.state <> OLD.state AND NOT ("
    "    (OLD.state = 'pending' AND NEW.state IN ('active','revoked'))"
    "    OR (OLD.state = 'active' AND NEW.state IN ('retiring','revoked'))"
    "    OR (OLD.state = 'retiring'"
    "        AND NEW.state IN ('active','retired','revoked'))"
    "    OR (OLD.state = 'retired' AND NEW.state = 'revoked'))"
    "  BEGIN SELECT RAISE(ABORT, 'illegal key state transition'); END;"

    "CREATE TRIGGER keys_private_purge BEFORE UPDATE OF private_der ON keys"
    "  WHEN NEW.private_der IS NULL AND OLD.private_der IS NOT NULL"
    "   AND OLD.state NOT IN ('retired','revoked')"
    "  BEGIN SELECT RAISE(ABORT,"
    "    'private key can only be purged from a retired or revoked key');"
    "  END;"

    "CREATE TRIGGER keys_material_fixed"
    "  BEFORE UPDATE OF kid, n, e, thumbprint, bits ON keys"
    "  WHEN NEW.kid IS NOT OLD.kid OR NEW.n IS NOT OLD.n"
    "    OR NEW.e IS NOT OLD.e OR NEW.thumbprint IS NOT OLD.thumbprint"
    "    OR NEW.bits IS NOT OLD.bits"
    "  BEGIN SELECT RAISE(ABORT, 'key material never changes'); END;"

    "CREATE TRIGGER keys_never_deleted BEFORE DELETE ON keys"
    "  BEGIN SELECT RAISE(ABORT, 'keys are never deleted'); END;"

    "CREATE TABLE audit ("
    "  seq INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  clock INTEGER,"
    "  actor TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  kid TEXT,"
    "  details TEXT NOT NULL,"
    "  hash TEXT NOT NULL"
    ");"

    "CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"

    "CREATE TABLE usage ("
    "  kid TEXT NOT NULL,"
    "  aud TEXT NOT NULL,"
    "  n_signed INTEGER NOT NULL DEFAULT 0,"
    "  last_exp INTEGER,"
    "  PRIMARY KEY (kid, aud)"
    ") WITHOUT ROWID;";

/* Version 2: usage counted per key, audience and UTC day, with accepted
 * verifications, refusals by reason and the evidence the retirement guard
 * reads; and the audit anchor, which records the chain's head and the
 * archived prefix so that removing the newest records, or records beyond an
 * archive, is detected. Version 1 kept no dates in usage: each of its rows
 * moves to the day of its latest exp. */
static const char schema_v2[] =
    "CREATE TABLE usage_v2 ("
    "  kid TEXT NOT NULL,"
    "  aud TEXT NOT NULL,"
    "  day INTEGER NOT NULL,"
    "  n_signed INTEGER NOT NULL DEFAULT 0,"
    "  last_exp INTEGER,"
    "  first_signed_at INTEGER,"
    "  last_signed_at INTEGER,"
    "  n_accepted INTEGER NOT NULL DEFAULT 0,"
    "  first_accepted_at INTEGER,"
    "  last_accepted_at INTEGER,"
    "  late_iat INTEGER,"
    "  late_accepted_at INTEGER,"
    "  PRIMARY KEY (kid, aud, day)"
    ") WITHOUT ROWID;"

    "INSERT INTO usage_v2 (kid, aud, day, n_signed, last_exp)"
    "  SELECT kid, aud, coalesce(last_exp, 0) / 86400, n_signed, last_exp"
    "  FROM usage;"

    "DROP TABLE usage;"

    "ALTER TABLE usage_v2 RENAME TO usage;"

    "CREATE TABLE usage_refused ("
    "  kid TEXT NOT NULL,"
    "  aud TEXT NOT NULL,"
    "  day INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  first_at INTEGER NOT NULL,"
    "  last_at INTEGER NOT NULL,"
    "  PRIMARY KEY (kid, aud, day, reason)"
    ") WITHOUT ROWID;"

    "CREATE INDEX audit_kid ON audit (kid, seq);"

    "CREATE TABLE audit_anchor ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  head_seq INTEGER NOT NULL,"
    "  head_hash TEXT NOT NULL,"
    "  pruned_seq INTEGER NOT NULL,"
    "  pruned_hash TEXT NOT NULL"
    ");"

    "INSERT INTO audit_anchor (id, head_seq, head_hash, pruned_seq,"
    "  pruned_hash)"
    "  SELECT 1, coalesce(max(seq), 0),"
    "    coalesce((SELECT hash FROM audit ORDER BY seq DESC LIMIT 1),"
    "             lower(hex(zeroblob(32)))),"
    "    0, lower(hex(zeroblob(32)))"
    "  FROM audit;"

    "CREATE TRIGGER audit_archive_only BEFORE DELETE ON audit"
    "  WHEN OLD.seq > coalesce("
    "    (SELECT pruned_seq FROM audit_anchor WHERE id = 1), 0)"
    "  BEGIN SELECT RAISE(ABORT,"
    "    'audit records are removed only by keyrot audit archive');"
    "  END;";

/* Version 3 marks private parts encrypted under the store passphrase
 * (PBES2 PKCS#8 DER), so that loading asks for the passphrase. */
static const char schema_v3[] =
    "ALTER TABLE keys ADD COLUMN private_encrypted INTEGER NOT NULL"
    "  DEFAULT 0 CHECK (private_encrypted IN (0, 1));";

/* Lookups by state (the JWKS, due retirements) stay cheap in a store that
 * has accumulated thousands of retired keys. */
static const char schema_v4[] =
    "CREATE INDEX keys_by_state ON keys (state, retire_after);";

/* Finding the newest audit record that names a key's state (sign does it
 * for every token, see store-history.c) stays one short index walk even
 * when per-token records (policy usage_records) put thousands of records
 * under the active key's kid. SQLite uses a partial index only for a query
 * that repeats its WHERE term, so store-history.c carries the same term. */
static const char schema_v5[] =
    "CREATE INDEX audit_kid_state ON audit (kid, seq)"
    "  WHERE event NOT IN ('token_signed', 'token_accepted', "
    "'token_refused');";

/* Migrations in order; entry i takes the schema from version i to i+1. */
static const char *const migrations[] = {
    schema_v1, schema_v2, schema_v3, schema_v4, schema_v5,
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static kr_code
exec_sql(sqlite3 *db, const char *sql, const char *what, kr_error *err)
{
    char *msg = NULL;
    kr_code rc = KR_OK;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        rc = kr_error_set(err, KR_E_SYSTEM, "%s failed: %s", what,
                          msg ? msg : sqlite3_errmsg(db));
    }
    sqlite3_free(msg);
    return rc;
}

static kr_code
schema_version_get(sqlite3 *db, int *version, kr_error *err)
{
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL)
            != SQLITE_OK
        || sqlite3_step(stmt) != SQLITE_ROW) {
        rc = kr_error_set(err, KR_E_SYSTEM,
                          "cannot read the schema version: %s",
                          sqlite3_errmsg(db));
        goto out;
    }
    *version = sqlite3_column_int(stmt, 0);

out:
    sqlite3_finalize(stmt);
    return rc;
}

kr_code
kr_schema_migrate(sqlite3 *db, kr_error *err)
{
    int version = 0;
    char pragma[64];
    kr_code rc;

    /* The common case, an up-to-date store, takes no write lock. */
    rc = schema_version_get(db, &version, err);
    if (rc != KR_OK || version == SCHEMA_VERSION)
        return rc;

    rc = exec_sql(db, "BEGIN IMMEDIATE", "locking the store", err);
    if (rc != KR_OK)
        return rc;

    /* Another process may have migrated while this one waited. */
    rc = schema_version_get(db, &version, err);
    if (rc != KR_OK)
        goto out;

    if (version > SCHEMA_VERSION) {
        rc = kr_error_set(err, KR_E_SYSTEM,
                          "store schema version %d is newer than this "
                          "keyrot supports (%d); upgrade keyrot",
                          version, SCHEMA_VERSION);
        goto out;
    }

    for (; version < SCHEMA_VERSION; version++) {
        rc = exec_sql(db, migrations[version], "schema migration", err);
        if (rc != KR_OK)
            goto out;
    }

    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version);
    rc = exec_sql(db, pragma, "setting the schema version", err);
    if (rc != KR_OK)
        goto out;

    rc = exec_sql(db, "COMMIT", "committing the schema", err);

out:
    if (rc != KR_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

kr_code
kr_schema_policy_defaults(sqlite3 *db, kr_error *err)
{
    static const char defaults[] =
        "INSERT OR IGNORE INTO policy (name, value) VALUES"
        " ('token_ttl', 300),"
        " ('max_token_ttl', 3600),"
        " ('leeway', 60),"
        " ('overlap', 7200),"
        " ('min_bits', 2048),"
        " ('default_bits', 2048),"
        " ('rotate_every', 7776000);";

    return exec_sql(db, defaults, "writing the default policy", err);
}
