/* SPDX-License-Identifier: MIT */
/*
 * Key lifecycle: the rules for moving a key between states.
 *
 * Design note
 * ===========
 *
 * States and what a key in each may do:
 *
 *   state     signs  verifies              in JWKS
 *   pending   no     yes                   yes
 *   active    yes    yes                   yes
 *   retiring  no     until retire_after    yes
 *   retired   no     no                    no
 *   revoked   no     no                    no
 *
 * Transitions and the function that performs each:
 *
 *   pending  -> active    kr_lifecycle_activate
 *   active   -> retiring  kr_lifecycle_activate (of another key)
 *   retiring -> active    kr_lifecycle_activate (rollback, before deadline)
 *   retiring -> retired   kr_lifecycle_tick (deadline passed)
 *   any      -> revoked   (revoke)
 *
 * Invariants, and where each is enforced:
 *
 *   1. At most one key is active: the partial unique index keys_one_active
 *      in the schema; activate demotes the old key before promoting the
 *      new one inside one transaction.
 *   2. Only the transitions above happen: trigger keys_state_transition.
 *   3. Every transition writes its audit record in the same transaction
 *      (kr_store_begin ... kr_store_audit_append ... kr_store_commit).
 *   4. A retiring key stops verifying at retire_after even before tick
 *      runs: kr_lifecycle_verifies compares against the clock.
 *   5. The overlap covers max_token_ttl + leeway, so every token signed by
 *      the old key expires before the old key stops verifying: checked by
 *      overlap_check here and by the policy check in the store.
 *   6. Repeating a command that already took effect changes nothing and
 *      succeeds (plan->changed is false).
 */
#include "config.h"

#include "lifecycle.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "store-internal.h"

bool
kr_lifecycle_verifies(const kr_key_info *info, int64_t now)
{
    switch (info->state) {
    case KR_STATE_PENDING:
    case KR_STATE_ACTIVE:
        return true;
    case KR_STATE_RETIRING:
        return now < info->retire_after;
    case KR_STATE_RETIRED:
    case KR_STATE_REVOKED:
        return false;
    }
    return false;
}

static void
plan_add(kr_plan *plan, const char *kid, kr_state from, kr_state to,
         int64_t retire_after)
{
    kr_transition *t;

    if (plan->n_transitions >= KR_PLAN_MAX)
        return;
    t = &plan->transitions[plan->n_transitions++];
    snprintf(t->kid, sizeof(t->kid), "%s", kid);
    t->from = from;
    t->to = to;
    t->retire_after = retire_after;
    plan->changed = true;
}

static kr_code
overlap_check(const kr_policy *policy, int64_t overlap, kr_error *err)
{
    char given[32], need[32];

    if (overlap >= policy->max_token_ttl + policy->leeway)
        return KR_OK;

    kr_duration_format(overlap, given, sizeof(given));
    kr_duration_format(policy->max_token_ttl + policy->leeway, need,
                       sizeof(need));
    return kr_error_set(err, KR_E_REFUSED,
                        "overlap %s is shorter than max_token_ttl + leeway "
                        "(%s): a token signed just before the switch could "
                        "be rejected before it expires",
                        given, need);
}

/* Records one transition's audit event with its deadlines. */
static kr_code
audit_transition(kr_store *store, const char *event, const kr_key_info *key,
                 kr_state from, kr_error *err)
{
    json_t *details;
    kr_code rc;

    details = json_pack("{s:s, s:s}", "from", kr_state_name(from), "to",
                        kr_state_name(key->state));
    if (details == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    if (key->state == KR_STATE_RETIRING)
        json_object_set_new(details, "retire_after",
                            json_integer(key->retire_after));

    rc = kr_store_audit_append(store, event, key->kid, details, err);
    json_decref(details);
    return rc;
}

/* Refuses to activate a key that may not sign again. */
static kr_code
activate_check(const kr_key_info *target, int64_t now, kr_error *err)
{
    char deadline[32];

    switch (target->state) {
    case KR_STATE_PENDING:
    case KR_STATE_ACTIVE:
        return KR_OK;
    case KR_STATE_RETIRING:
        if (kr_lifecycle_verifies(target, now))
            return KR_OK;
        kr_time_format(target->retire_after, deadline, sizeof(deadline));
        return kr_error_set(err, KR_E_REFUSED,
                            "key %s is retiring and its deadline %s has "
                            "passed; it can no longer be activated",
                            target->kid, deadline);
    case KR_STATE_RETIRED:
    case KR_STATE_REVOKED:
        break;
    }
    return kr_error_set(err, KR_E_REFUSED,
                        "key %s is %s; only a pending key, or a retiring key "
                        "before its deadline, can be activated",
                        target->kid, kr_state_name(target->state));
}

kr_code
kr_lifecycle_activate(kr_store *store, const char *kid, int64_t overlap,
                      bool dry_run, kr_plan *plan, kr_error *err)
{
    const int64_t now = store->ctx->now;
    kr_key_info target, previous;
    bool has_previous = false;
    kr_state from;
    kr_policy policy;
    kr_code rc;

    memset(plan, 0, sizeof(*plan));

    rc = kr_store_begin(store, err);
    if (rc != KR_OK)
        return rc;

    rc = kr_store_policy_get(store, &policy, err);
    if (rc != KR_OK)
        goto out;
    if (overlap < 0)
        overlap = policy.overlap;
    rc = overlap_check(&policy, overlap, err);
    if (rc != KR_OK)
        goto out;

    rc = kr_store_key_get(store, kid, &target, err);
    if (rc != KR_OK)
        goto out;
    rc = activate_check(&target, now, err);
    if (rc != KR_OK || target.state == KR_STATE_ACTIVE)
        goto out;

    rc = kr_store_active_get(store, &previous, NULL);
    if (rc == KR_OK)
        has_previous = true;
    else if (rc != KR_E_NOTFOUND)
        goto out;
    rc = KR_OK;

    /* Demote first: the unique index allows only one active row. */
    if (has_previous) {
        previous.state = KR_STATE_RETIRING;
        previous.deactivated_at = now;
        previous.retire_after = now + overlap;
        plan_add(plan, previous.kid, KR_STATE_ACTIVE, KR_STATE_RETIRING,
                 previous.retire_after);
        if (!dry_run) {
            rc = kr_store_key_update(store, &previous, err);
            if (rc == KR_OK)
                rc = audit_transition(store, "deactivate", &previous,
                                      KR_STATE_ACTIVE, err);
            if (rc != KR_OK)
                goto out;
        }
    }

    from = target.state;
    target.state = KR_STATE_ACTIVE;
    target.activated_at = now;
    target.retire_after = 0;
    plan_add(plan, target.kid, from, KR_STATE_ACTIVE, 0);
    if (dry_run)
        goto out;

    rc = kr_store_key_update(store, &target, err);
    if (rc == KR_OK)
        rc = audit_transition(store, "activate", &target, from, err);
    if (rc == KR_OK)
        rc = kr_store_commit(store, err);

out:
    kr_store_rollback(store);
    return rc;
}

kr_code
kr_lifecycle_tick(kr_store *store, size_t *n_retired, kr_error *err)
{
    const int64_t now = store->ctx->now;
    char(*due)[KR_KID_SIZE] = NULL;
    size_t n_due = 0;
    kr_code rc;

    rc = kr_store_begin(store, err);
    if (rc != KR_OK)
        return rc;

    rc = kr_store_due_list(store, now, &due, &n_due, err);
    if (rc != KR_OK)
        goto out;

    for (size_t i = 0; i < n_due; i++) {
        kr_key_info info;

        rc = kr_store_key_get(store, due[i], &info, err);
        if (rc != KR_OK)
            goto out;
        info.state = KR_STATE_RETIRED;
        info.retired_at = now;
        rc = kr_store_key_update(store, &info, err);
        if (rc == KR_OK)
            rc = audit_transition(store, "retire", &info, KR_STATE_RETIRING,
                                  err);
        if (rc != KR_OK)
            goto out;
    }

    if (n_due > 0)
        rc = kr_store_commit(store, err);
    if (rc == KR_OK && n_retired != NULL)
        *n_retired = n_due;

out:
    kr_store_rollback(store);
    free(due);
    return rc;
}
