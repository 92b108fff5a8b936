/* SPDX-License-Identifier: MIT */
/*
 * The keystore: one SQLite file that contains keys, their lifecycle state,
 * the policy, usage counters and the hash-chained audit log. The store
 * module (store*.c) owns every SQL statement and the schema. The rules for
 * which transition is allowed are in lifecycle.c, which calls the
 * primitives declared in store-internal.h.
 *
 * Thread safety: one kr_store per thread. Several processes may share one
 * file: writes take the lock with BEGIN IMMEDIATE and wait on a busy
 * timeout, so concurrent commands queue instead of failing.
 */
#ifndef KEYROT_STORE_H
#define KEYROT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "kid.h"
#include "rsakey.h"

typedef enum kr_state {
    KR_STATE_PENDING,
    KR_STATE_ACTIVE,
    KR_STATE_RETIRING,
    KR_STATE_RETIRED,
    KR_STATE_REVOKED,
} kr_state;

/* Returns "pending", "active", ... */
const char *kr_state_name(kr_state state);

/* Who acts and when; the CLI fills this in from the environment and the
 * global --now option. Every audit record carries it. */
typedef struct kr_context {
    int64_t now;         /* the clock used for checks and deadlines */
    int64_t real_now;    /* the wall clock, always recorded */
    bool now_overridden; /* whether now came from --now */
    char actor[160];     /* "user@host" */
    /* Passphrase protecting private keys at rest, or NULL. Keys stored
     * while it is set are encrypted; encrypted keys need it to load. The
     * caller owns and wipes it. */
    const char *store_passphrase;
} kr_context;

/* The store's policy; all durations in seconds. */
typedef struct kr_policy {
    int64_t token_ttl;
    int64_t max_token_ttl;
    int64_t leeway;
    int64_t overlap;
    int64_t rotate_every;
    int64_t min_bits;
    int64_t default_bits;
    int64_t usage_counters; /* 1: count usage (store-audit.h); 0: do not */
    int64_t usage_records;  /* 1: also an audit record per token */
} kr_policy;

/* The defaults a new store starts with. */
#define KR_POLICY_DEFAULTS                                                    \
    {                                                                         \
        .token_ttl = 300, .max_token_ttl = 3600, .leeway = 60,                \
        .overlap = 7200, .rotate_every = 90 * 86400, .min_bits = 2048,        \
        .default_bits = 2048, .usage_counters = 1, .usage_records = 0         \
    }

/* Describes one policy setting, for listing and formatting. */
typedef struct kr_policy_field_info {
    const char *name;
    size_t offset;    /* of its int64_t within kr_policy */
    bool is_duration; /* seconds, shown as "5m"; else a plain number */
} kr_policy_field_info;

/* Returns the table of policy settings (static storage). */
const kr_policy_field_info *kr_policy_fields(size_t *n_fields);

/* Returns whether bits is an RSA key size that generate and rotate
 * create: 2048, 3072 or 4096. default_bits must be one of them. */
bool kr_policy_bits_generated(int64_t bits);

/* Checks every policy value against its range and the rules that tie the
 * values together (as policy set does). Returns KR_E_REFUSED naming the
 * first broken rule, for stores that an older keyrot or a hand edit left
 * inconsistent. */
kr_code kr_policy_validate(const kr_policy *policy, kr_error *err);

/* What the store records of one key; times are Unix seconds, 0 = never. */
typedef struct kr_key_info {
    char kid[KR_KID_SIZE];
    kr_state state;
    unsigned bits;
    char thumbprint[KR_THUMBPRINT_SIZE];
    bool has_private;
    bool private_encrypted; /* stored under the store passphrase */
    char origin[16];        /* "generated", "imported" or "jwks" */
    int64_t created_at;
    int64_t activated_at;   /* most recent activation */
    int64_t deactivated_at; /* when it last stopped being active */
    int64_t retire_after;   /* retiring keys: end of the overlap */
    int64_t retired_at;
    int64_t revoked_at;
    int64_t purged_at;
    char revoke_reason[256];
} kr_key_info;

typedef struct kr_store kr_store;

/* Creates a new store file at path with mode 0600 and the default policy.
 * Refuses with KR_E_REFUSED if the path exists (never overwrites, never
 * follows a symlink). Records an "init" audit event. */
kr_code kr_store_create(const char *path, const kr_context *ctx,
                        kr_error *err);

/* Opens an existing store, migrating its schema when it is older. ctx is
 * borrowed and must outlive the store. Returns KR_E_NOTFOUND when the file
 * does not exist, KR_E_SYSTEM when it is not a keyrot store. */
kr_code kr_store_open(const char *path, const kr_context *ctx, kr_store **out,
                      kr_error *err);

/* Closes the store; NULL is allowed. */
void kr_store_close(kr_store *store);

/* Starts a read transaction. Every read until kr_store_read_end reads one
 * snapshot of the store, even while other processes commit changes. Do
 * not write inside it. */
kr_code kr_store_read_begin(kr_store *store, kr_error *err);

/* Ends the read transaction begun by kr_store_read_begin; safe to call on
 * every path. */
void kr_store_read_end(kr_store *store);

/* Reads the policy. */
kr_code kr_store_policy_get(kr_store *store, kr_policy *policy, kr_error *err);

/* Sets one policy value from text ("5m", "2048"), checking its range and
 * the policy's consistency, in one transaction with its audit record.
 * Returns KR_E_USAGE for an unknown name or bad value, KR_E_REFUSED when
 * the value is out of its range (min_bits 2048 to 4096, default_bits 2048,
 * 3072 or 4096) or the result would break a rule (overlap shorter than
 * max_token_ttl + leeway, token_ttl above max_token_ttl, default_bits
 * below min_bits). */
kr_code kr_store_policy_set(kr_store *store, const char *name,
                            const char *value, kr_error *err);

/* One "NAME=VALUE" of a policy change; both strings borrowed. */
typedef struct kr_policy_setting {
    const char *name;
    const char *value;
} kr_policy_setting;

/* Applies several settings in one transaction, checking the consistency
 * rules on the result of all of them, with one audit record per value
 * that changed. A later setting of the same name wins. Stores *n_changed
 * (may be NULL): 0 when every value was already in effect, and then
 * nothing is written. Returns the codes of kr_store_policy_set. */
kr_code kr_store_policy_update(kr_store *store,
                               const kr_policy_setting *settings,
                               size_t n_settings, size_t *n_changed,
                               kr_error *err);

/* Looks a key up by kid. Returns KR_E_NOTFOUND when there is none. */
kr_code kr_store_key_get(kr_store *store, const char *kid, kr_key_info *info,
                         kr_error *err);

/* Looks up the active key. Returns KR_E_NOTFOUND when none is active. */
kr_code kr_store_active_get(kr_store *store, kr_key_info *info, kr_error *err);

/* Lists every key, oldest first. *keys is for free(). */
kr_code kr_store_key_list(kr_store *store, kr_key_info **keys, size_t *n_keys,
                          kr_error *err);

/* Lists the keys in pending, active or retiring state, the candidates for
 * the JWKS, oldest first; the caller still applies retiring deadlines
 * (kr_lifecycle_verifies). *keys is for free(). */
kr_code kr_store_key_list_published(kr_store *store, kr_key_info **keys,
                                    size_t *n_keys, kr_error *err);

/* Loads a key's material: the private part when the store has it, else
 * the public key. *key is for kr_rsakey_free(). */
kr_code kr_store_key_load(kr_store *store, const char *kid, kr_rsakey **key,
                          kr_error *err);

/* Loads only a key's public part, whatever the store holds: cheaper than
 * kr_store_key_load, and enough to verify or publish. */
kr_code kr_store_key_load_public(kr_store *store, const char *kid,
                                 kr_rsakey **key, kr_error *err);

/* What kr_store_key_add did. */
typedef enum kr_add_outcome {
    KR_ADD_INSERTED,      /* a new key */
    KR_ADD_UNCHANGED,     /* the same key under the same kid was present */
    KR_ADD_PRIVATE_ADDED, /* a verify-only key received its private part */
} kr_add_outcome;

/* Registers key under kid as pending, with origin "generated", "imported"
 * or "jwks", and its audit record, in one transaction. Key identity is the
 * RFC 7638 thumbprint. Returns KR_E_REFUSED when kid exists with other key
 * material, or the same material exists under another kid (the message
 * names it), or the key is under the policy's min_bits. */
kr_code kr_store_key_add(kr_store *store, const kr_rsakey *key,
                         const char *kid, const char *origin,
                         kr_add_outcome *outcome, kr_error *err);

/* Encrypts every private part still stored in plaintext under the store
 * passphrase (ctx->store_passphrase), in one transaction with one audit
 * record per key, then truncates the write-ahead log so that no plaintext
 * copy stays in the store's files. *n_encrypted receives the count (0
 * when every private part was already encrypted). Returns KR_E_USAGE
 * without a passphrase, KR_E_REFUSED when it does not open the keys
 * already encrypted. */
kr_code kr_store_private_encrypt_all(kr_store *store, size_t *n_encrypted,
                                     kr_error *err);

/* Records in the audit log that the private part of kid was exported in
 * format to the file at path (the names only, never the key). */
kr_code kr_store_export_record(kr_store *store, const char *kid,
                               const char *format, const char *path,
                               kr_error *err);

#endif
