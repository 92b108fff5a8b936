/* SPDX-License-Identifier: MIT */
/*
 * Key lifecycle transitions (pending, active, retiring, retired, revoked).
 * Each function checks the rules, then applies the change and its audit
 * record in one store transaction; with dry_run it only fills the plan.
 * The design note at the top of lifecycle.c lists the transitions and the
 * invariants.
 */
#ifndef KEYROT_LIFECYCLE_H
#define KEYROT_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* One state change of a plan. */
typedef struct kr_transition {
    char kid[KR_KID_SIZE];
    kr_state from;
    kr_state to;
    int64_t retire_after; /* set when to == KR_STATE_RETIRING */
} kr_transition;

#define KR_PLAN_MAX 4

/* The state changes a command made, or would make under --dry-run. */
typedef struct kr_plan {
    bool changed; /* false when the command had already taken effect */
    size_t n_transitions;
    kr_transition transitions[KR_PLAN_MAX];
} kr_plan;

/* Makes kid the active key. The previously active key becomes retiring
 * with retire_after = now + overlap; overlap < 0 means the policy's. A
 * retiring kid may be activated again (rollback) until its deadline.
 * Refuses (KR_E_REFUSED) retired and revoked keys, a retiring key past its
 * deadline, and an overlap shorter than max_token_ttl + leeway. Activating
 * the active key changes nothing (plan->changed false). */
kr_code kr_lifecycle_activate(kr_store *store, const char *kid,
                              int64_t overlap, bool dry_run, kr_plan *plan,
                              kr_error *err);

/* Moves every retiring key whose deadline has passed to retired; returns
 * the number moved in *n_retired (may be NULL). */
kr_code kr_lifecycle_tick(kr_store *store, size_t *n_retired, kr_error *err);

/* Returns whether a key in this state, as of now, still verifies tokens
 * (pending, active, and retiring before its deadline). */
bool kr_lifecycle_verifies(const kr_key_info *info, int64_t now);

#endif
