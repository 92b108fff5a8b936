/* SPDX-License-Identifier: MIT */
/*
 * Primitives of the store shared by store.c, store-schema.c and
 * lifecycle.c. Not part of the public API: callers outside the library use
 * store.h and lifecycle.h.
 */
#ifndef KEYROT_STORE_INTERNAL_H
#define KEYROT_STORE_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>

#include "store-audit.h"
#include "store.h"

/* How long a writer waits for another process's lock before failing. */
#define KR_STORE_BUSY_TIMEOUT_MS 30000

/* PRAGMA application_id of every keyrot store: "krot" in ASCII. */
#define KR_STORE_APPLICATION_ID      0x6b726f74
#define KR_STORE_APPLICATION_ID_TEXT "1802661748"

struct kr_store {
    sqlite3 *db;
    const kr_context *ctx; /* borrowed from the caller */
};

/* Creates or upgrades the schema to the current version. Runs inside its
 * own transaction. */
kr_code kr_schema_migrate(sqlite3 *db, kr_error *err);

/* Fills in the default policy rows (used by kr_store_create). */
kr_code kr_schema_policy_defaults(sqlite3 *db, kr_error *err);

/* Sets err from the connection's last error, prefixed by what failed, and
 * returns KR_E_SYSTEM. */
kr_code kr_store_sql_error(kr_store *store, const char *what, kr_error *err);

/* Starts a write transaction (BEGIN IMMEDIATE), waiting on the busy
 * timeout while another process writes. */
kr_code kr_store_begin(kr_store *store, kr_error *err);

/* Commits the transaction begun by kr_store_begin. */
kr_code kr_store_commit(kr_store *store, kr_error *err);

/* Rolls back the open transaction, if any; safe to call on every path. */
void kr_store_rollback(kr_store *store);

/* The fields of one audit record that its chain hash covers. */
typedef struct kr_audit_fields {
    int64_t seq;
    int64_t at;     /* wall clock */
    bool has_clock; /* whether --now was given */
    int64_t clock;  /* the --now time */
    const char *actor;
    const char *event;
    const char *kid; /* NULL when the event concerns no key */
    const char *details;
} kr_audit_fields;

/* Computes the chain hash of record f following prev_hash (hex; the first
 * record follows 64 zeros) into out, as lowercase hex. */
kr_code kr_audit_hash(const kr_audit_fields *f, const char *prev_hash,
                      char out[KR_AUDIT_HASH_SIZE], kr_error *err);

/* Appends an audit record (event, kid or NULL, details: a JSON object,
 * borrowed, or NULL for {}) chained to the previous record and moves the
 * audit anchor's head to it (src/store-audit.c). Must run inside a
 * transaction so that the record commits with the change it describes.
 * details must hold no secret and no whole token. */
kr_code kr_store_audit_append(kr_store *store, const char *event,
                              const char *kid, const json_t *details,
                              kr_error *err);

/* Does what kr_store_key_add does inside the caller's transaction (begun
 * with kr_store_begin), so that a key can be added and activated in one
 * commit. Writes nothing when *outcome is KR_ADD_UNCHANGED. */
kr_code kr_store_key_add_locked(kr_store *store, const kr_rsakey *key,
                                const char *kid, const char *origin,
                                kr_add_outcome *outcome, kr_error *err);

/* Writes the lifecycle columns of info (state, activated_at,
 * deactivated_at, retire_after, retired_at, revoked_at, revoke_reason) to
 * the row of info->kid. The schema's triggers reject an illegal
 * transition, which surfaces as KR_E_REFUSED. */
kr_code kr_store_key_update(kr_store *store, const kr_key_info *info,
                            kr_error *err);

/* Destroys the stored private part of kid and records purged_at; the
 * caller checkpoints afterwards (kr_store_checkpoint). */
kr_code kr_store_key_purge_private(kr_store *store, const char *kid,
                                   kr_error *err);

/* Lists kids of retiring keys whose retire_after <= now, into *kids (an
 * array of KR_KID_SIZE strings for free()). */
kr_code kr_store_due_list(kr_store *store, int64_t now,
                          char (**kids)[KR_KID_SIZE], size_t *n_kids,
                          kr_error *err);

/* Runs a WAL checkpoint that truncates the log, so that overwritten pages
 * (a purged private key) leave the -wal file. */
kr_code kr_store_checkpoint(kr_store *store, kr_error *err);

#endif
