/* SPDX-License-Identifier: MIT */
/*
 * Key lifecycle transitions (pending, active, retiring, retired, revoked).
 * Each function takes the store's write lock, first applies the due
 * transitions (retiring keys past their deadline become retired), then
 * checks its rules and applies its change with the audit records, all in
 * one transaction. With dry_run it does the same work and rolls it back,
 * so the plan it fills is what the real run would do. Each refuses
 * (KR_E_REFUSED) a change dated before the latest event recorded for a
 * key it changes.
 *
 * The design note at the top of lifecycle.c lists the transitions and the
 * invariants.
 */
#ifndef KEYROT_LIFECYCLE_H
#define KEYROT_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "rsakey.h"
#include "store.h"

/* One state change of a plan. */
typedef struct kr_transition {
    char kid[KR_KID_SIZE]; /* empty for a key that a dry run would create */
    bool created;          /* the key is new: it did not exist before */
    kr_state from;         /* meaningless when created */
    kr_state to;
    int64_t retire_after;      /* to == retiring: when it stops verifying */
    int64_t retire_allowed_at; /* to == retiring: when retire needs no
                                  --force (deactivation + max_token_ttl +
                                  leeway) */
    const char *cause; /* static text such as "deadline passed", or NULL */
} kr_transition;

/* Most transitions and JWKS kids a plan lists; beyond these, a plan only
 * counts them (n_*_total), so a store with many keys cannot overflow it. */
#define KR_PLAN_MAX      16
#define KR_PLAN_JWKS_MAX 16

/* The state changes a command made, or would make under --dry-run, and
 * the kids of the public JWKS before and after them. */
typedef struct kr_plan {
    bool changed;         /* false when the command had already taken effect */
    char note[256];       /* why nothing changed, or "" */
    size_t n_transitions; /* listed in transitions[] */
    size_t n_transitions_total; /* including those not listed */
    kr_transition transitions[KR_PLAN_MAX];
    size_t n_jwks_before, n_jwks_before_total;
    char jwks_before[KR_PLAN_JWKS_MAX][KR_KID_SIZE];
    size_t n_jwks_after, n_jwks_after_total;
    char jwks_after[KR_PLAN_JWKS_MAX][KR_KID_SIZE];
} kr_plan;

/* Makes kid the active key. The previously active key becomes retiring
 * with retire_after = now + overlap; overlap < 0 means the policy's. A
 * retiring kid may be activated again (rollback) until its deadline.
 * Refuses (KR_E_REFUSED) retired and revoked keys, a retiring key past its
 * deadline, and an overlap shorter than max_token_ttl + leeway. Activating
 * the active key changes nothing (plan->changed false). Returns
 * KR_E_NOTFOUND for an unknown kid. */
kr_code kr_lifecycle_activate(kr_store *store, const char *kid,
                              int64_t overlap, bool dry_run, kr_plan *plan,
                              kr_error *err);

/* Registers key (borrowed) under kid with origin, as kr_store_key_add
 * does and storing its *outcome, and activates it as kr_lifecycle_activate
 * does with the policy's overlap, in one transaction: a refused
 * activation leaves no new key behind. Returns the codes of both. */
kr_code kr_lifecycle_add_activate(kr_store *store, const kr_rsakey *key,
                                  const char *kid, const char *origin,
                                  kr_add_outcome *outcome, kr_plan *plan,
                                  kr_error *err);

/* Options of kr_lifecycle_rotate. */
typedef struct kr_rotate_options {
    int64_t overlap;       /* < 0: the policy's */
    int64_t if_older_than; /* >= 0: do nothing while the active key was
                              activated less than this many seconds ago */
    bool dry_run;
} kr_rotate_options;

/* Returns in *due whether a rotation with if_older_than (< 0: always) is
 * due now: there is no active key, or it was activated at least
 * if_older_than seconds ago. Reads without locking, so that a cron job can
 * skip generating a key; kr_lifecycle_rotate checks again under the lock. */
kr_code kr_lifecycle_rotation_due(kr_store *store, int64_t if_older_than,
                                  bool *due, kr_error *err);

/* Registers key (borrowed) under kid as a new key and activates it, in one
 * transaction, so that no other process finds the new key pending and a
 * killed rotation leaves no trace. The previous active key becomes
 * retiring as with kr_lifecycle_activate. With opts->if_older_than and a
 * younger active key it changes nothing. key may be NULL in a dry run
 * (the plan then lists the new key, without a kid when kid is NULL too),
 * or when kr_lifecycle_rotation_due found no rotation due; should one be
 * due under the lock after all, this returns KR_E_REFUSED asking to run
 * again. Returns KR_E_REFUSED when kid already exists or the overlap is
 * too short. */
kr_code kr_lifecycle_rotate(kr_store *store, const kr_rsakey *key,
                            const char *kid, const kr_rotate_options *opts,
                            kr_plan *plan, kr_error *err);

/* Moves kid from retiring to retired now. The guard refuses this
 * (KR_E_REFUSED, naming the evidence) while a token signed by the key may
 * still be in use, unless force is set. A forced retirement records the
 * overridden evidence in its audit record. Retiring a retired key changes
 * nothing. Keys in other states are refused with what they allow. */
kr_code kr_lifecycle_retire(kr_store *store, const char *kid, bool force,
                            bool dry_run, kr_plan *plan, kr_error *err);

/* Moves kid from any state to revoked at once, recording reason (one line
 * of printable text, at most 255 bytes; KR_E_USAGE otherwise). Revoking
 * the active key leaves no active key. Revoking a revoked key changes
 * nothing. */
kr_code kr_lifecycle_revoke(kr_store *store, const char *kid,
                            const char *reason, bool dry_run, kr_plan *plan,
                            kr_error *err);

/* Destroys the private part of a retired or revoked key, keeping its
 * public key and history, then truncates the write-ahead log so that no
 * copy of the private key bytes stays in the store's files. Purging a key
 * without a private part changes nothing but still truncates the log, so
 * that running purge again completes an interrupted one. Returns
 * KR_E_REFUSED for a key in another state. */
kr_code kr_lifecycle_purge(kr_store *store, const char *kid, kr_plan *plan,
                           kr_error *err);

/* Moves every retiring key whose deadline has passed to retired. */
kr_code kr_lifecycle_tick(kr_store *store, bool dry_run, kr_plan *plan,
                          kr_error *err);

/* Returns whether a key in this state, as of now, still verifies tokens
 * (pending, active, and retiring before its deadline). */
bool kr_lifecycle_verifies(const kr_key_info *info, int64_t now);

#endif
