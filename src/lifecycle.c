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
 *   (none)   -> pending   kr_store_key_add (generate, import), or
 *                         kr_store_key_add_locked (import-jwks)
 *   (none)   -> active    kr_lifecycle_rotate (rotate, generate --activate),
 *                         kr_lifecycle_add_activate (import --activate)
 *   pending  -> active    kr_lifecycle_activate, kr_lifecycle_add_activate
 *   active   -> retiring  active_demote, called by kr_lifecycle_activate
 *                         and kr_lifecycle_rotate for the previous key
 *   retiring -> active    kr_lifecycle_activate (rollback, before the
 *                         deadline)
 *   retiring -> retired   kr_lifecycle_retire (guarded by retire_guard),
 *                         or due_apply once retire_after has passed
 *   any      -> revoked   kr_lifecycle_revoke
 *
 * kr_lifecycle_purge destroys the private part of a retired or revoked key
 * without changing its state. due_apply runs inside every change above
 * and in kr_lifecycle_tick.
 *
 * Every change runs the same frame: change_begin takes the write lock
 * (BEGIN IMMEDIATE) and records the JWKS kids, the function checks its
 * rules and calls transition_apply for each state change, and
 * change_finish records the JWKS kids again and commits. A dry run or a
 * change that found nothing to do rolls back instead.
 *
 * Invariants, and where each is enforced:
 *
 *   1. At most one key is active: the partial unique index keys_one_active
 *      in the schema; active_demote runs before the new key is promoted,
 *      inside one transaction.
 *   2. Only the transitions above happen: trigger keys_state_transition.
 *      The checks here (activate_check, transition_refuse) only word the
 *      refusal in the user's terms.
 *   3. Every transition commits together with its audit record:
 *      transition_apply writes both inside the transaction that
 *      change_begin opened.
 *   4. A retiring key stops verifying at retire_after even before anything
 *      retires it: kr_lifecycle_verifies compares it with the clock, and
 *      verify and jwks decide with it.
 *   5. The overlap covers max_token_ttl + leeway, so every token signed by
 *      the old key expires before the old key stops verifying:
 *      overlap_resolve here, and policy_check in store.c for the policy.
 *   6. retire without --force waits until max_token_ttl + leeway has
 *      passed since the key stopped being active, and until no token that
 *      the key issued after that was accepted within the last
 *      max_token_ttl + leeway: retire_guard.
 *   7. A command that has already taken effect succeeds and changes
 *      nothing: each function then only sets plan->note, change_finish
 *      skips the commit because plan->changed is false, and the function's
 *      exit label rolls back.
 *   8. A private part is destroyed only in retired or revoked state:
 *      trigger keys_private_purge. After a purge the write-ahead log is
 *      truncated, so the old pages leave the -wal file too:
 *      kr_lifecycle_purge.
 *   9. The timestamps match the state: activated_at for active,
 *      deactivated_at and retire_after for retiring, retired_at for
 *      retired, revoked_at and a reason for revoked. The functions here
 *      set them before each transition, CHECK constraints in the schema
 *      enforce part of the rule, and kr_store_check verifies all of it.
 *  10. A dry run changes nothing: it runs the same transaction, then
 *      change_finish skips the commit and the exit label rolls back.
 *  11. A key's history never runs backwards: no change to a key is dated
 *      (--now, or the clock) before the latest event recorded for it.
 *      time_order_check, called by transition_apply, purge_apply and,
 *      for a rotation that is not due, rotation_skip_note.
 */
#include "config.h"

#include "lifecycle.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "store-internal.h"

/* Maximum length of a revoke reason, in bytes: kr_key_info keeps 255 and
 * the NUL. */
#define REASON_MAX (sizeof(((kr_key_info *)0)->revoke_reason) - 1)

/* What a key in each state may still do, for refusal messages. */
static const char *const allowed_from[] = {
    [KR_STATE_PENDING] = "a pending key can be activated or revoked",
    [KR_STATE_ACTIVE] = "an active key becomes retiring when another key "
                        "is activated, or can be revoked",
    [KR_STATE_RETIRING] = "a retiring key can be activated again before "
                          "its deadline, retired or revoked",
    [KR_STATE_RETIRED] = "a retired key can only be revoked or purged",
    [KR_STATE_REVOKED] = "a revoked key can only be purged",
};

/* One state change for transition_apply. */
typedef struct change {
    const char *event; /* audit event name */
    kr_state to;
    const char *cause; /* static text for the plan and audit, or NULL */
    bool created;      /* the key was added in this transaction */
    json_t *extra;     /* borrowed: more audit details, or NULL */
} change;

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

/* Returns whether key, a retired key, was retired at its deadline (by the
 * due transitions) rather than by retire before it. */
static bool
retired_at_deadline(const kr_key_info *key)
{
    return key->state == KR_STATE_RETIRED && key->retire_after != 0
           && key->retired_at >= key->retire_after;
}

/* Refuses action on key, naming its state and what that state allows. A
 * key retired at its deadline is worded the same whether tick has
 * recorded it or the change's due transitions just did. */
static kr_code
transition_refuse(const char *action, const kr_key_info *key, kr_error *err)
{
    char deadline[32];

    if (retired_at_deadline(key)) {
        kr_time_format(key->retire_after, deadline, sizeof(deadline));
        return kr_error_set(err, KR_E_REFUSED,
                            "cannot %s key %s: it is retired, because its "
                            "deadline %s passed; %s",
                            action, key->kid, deadline,
                            allowed_from[key->state]);
    }
    return kr_error_set(err, KR_E_REFUSED, "cannot %s key %s: it is %s; %s",
                        action, key->kid, kr_state_name(key->state),
                        allowed_from[key->state]);
}

/* One recorded event of a key, for time_order_check. */
typedef struct key_event {
    const char *verb; /* "created", "activated", ... */
    int64_t at;
} key_event;

/*
 * Refuses a change to key dated before the latest event the store records
 * for it, so that a history cannot run backwards: an activation before
 * the key's creation, or a retire_after before the previous key's own
 * activation. The date is the --now of the command, or the clock when it
 * was stepped back. transition_apply calls this after its caller has set
 * the new timestamps to now, so only the earlier records can be later.
 */
static kr_code
time_order_check(const kr_store *store, const kr_key_info *key, kr_error *err)
{
    const key_event events[] = {
        {"created", key->created_at},         {"activated", key->activated_at},
        {"deactivated", key->deactivated_at}, {"retired", key->retired_at},
        {"revoked", key->revoked_at},         {"purged", key->purged_at},
    };
    const key_event *latest = &events[0];
    char now_text[32], latest_text[32];

    /* On a tie the later event names the time: "activated", not
     * "created", for a key generated with --activate. */
    for (size_t i = 1; i < sizeof(events) / sizeof(events[0]); i++) {
        if (events[i].at >= latest->at)
            latest = &events[i];
    }
    if (store->ctx->now >= latest->at)
        return KR_OK;

    kr_time_format(store->ctx->now, now_text, sizeof(now_text));
    kr_time_format(latest->at, latest_text, sizeof(latest_text));
    return kr_error_set(err, KR_E_REFUSED,
                        "%s %s is before key %s was %s at %s; a change to a "
                        "key cannot be dated before its recorded history",
                        store->ctx->now_overridden ? "--now" : "the clock",
                        now_text, key->kid, latest->verb, latest_text);
}

/* --- plans ------------------------------------------------------------- */

static void
plan_add(kr_plan *plan, const kr_transition *t)
{
    plan->changed = true;
    plan->n_transitions_total++;
    if (plan->n_transitions < KR_PLAN_MAX)
        plan->transitions[plan->n_transitions++] = *t;
}

__attribute__((format(printf, 2, 3))) static void
plan_note(kr_plan *plan, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(plan->note, sizeof(plan->note), fmt, ap);
    va_end(ap);
}

static void
kids_add(char (*kids)[KR_KID_SIZE], size_t *n_listed, size_t *n_total,
         const char *kid)
{
    if (*n_listed < KR_PLAN_JWKS_MAX)
        snprintf(kids[(*n_listed)++], KR_KID_SIZE, "%s", kid);
    (*n_total)++;
}

/* Lists the kids in the public JWKS now: the keys that verify. */
static kr_code
jwks_kids(kr_store *store, char (*kids)[KR_KID_SIZE], size_t *n_listed,
          size_t *n_total, kr_error *err)
{
    kr_key_info *keys = NULL;
    size_t n_keys = 0;
    kr_code rc;

    *n_listed = 0;
    *n_total = 0;
    rc = kr_store_key_list_published(store, &keys, &n_keys, err);
    if (rc != KR_OK)
        return rc;

    for (size_t i = 0; i < n_keys; i++) {
        if (kr_lifecycle_verifies(&keys[i], store->ctx->now))
            kids_add(kids, n_listed, n_total, keys[i].kid);
    }
    free(keys);
    return KR_OK;
}

/* --- the frame of every change ---------------------------------------- */

/* Takes the write lock, reads the policy and records the JWKS before the
 * change. The caller rolls back at its exit label on every path. */
static kr_code
change_begin(kr_store *store, kr_policy *policy, kr_plan *plan, kr_error *err)
{
    kr_code rc;

    rc = kr_store_begin(store, err);
    if (rc != KR_OK)
        return rc;

    rc = kr_store_policy_get(store, policy, err);
    if (rc != KR_OK)
        return rc;

    return jwks_kids(store, plan->jwks_before, &plan->n_jwks_before,
                     &plan->n_jwks_before_total, err);
}

/* Records the JWKS after the change and commits it, unless this is a dry
 * run or nothing changed: then the caller's rollback undoes it. */
static kr_code
change_finish(kr_store *store, bool dry_run, kr_plan *plan, kr_error *err)
{
    kr_code rc;

    rc = jwks_kids(store, plan->jwks_after, &plan->n_jwks_after,
                   &plan->n_jwks_after_total, err);
    if (rc != KR_OK || dry_run || !plan->changed)
        return rc;

    return kr_store_commit(store, err);
}

/* Moves key to c->to. The caller has set the timestamps that go with the
 * new state; this writes the row and its audit record and adds the plan
 * entry. */
static kr_code
transition_apply(kr_store *store, const kr_policy *policy, kr_key_info *key,
                 const change *c, kr_plan *plan, kr_error *err)
{
    kr_transition t = {0};
    json_t *details = NULL;
    kr_code rc;

    rc = time_order_check(store, key, err);
    if (rc != KR_OK)
        return rc;

    t.from = key->state;
    t.to = c->to;
    t.created = c->created;
    t.cause = c->cause;
    snprintf(t.kid, sizeof(t.kid), "%s", key->kid);
    if (c->to == KR_STATE_RETIRING) {
        t.retire_after = key->retire_after;
        t.retire_allowed_at =
            key->deactivated_at + policy->max_token_ttl + policy->leeway;
    }

    key->state = c->to;
    rc = kr_store_key_update(store, key, err);
    if (rc != KR_OK)
        return rc;

    details = json_pack("{s:s, s:s}", "from", kr_state_name(t.from), "to",
                        kr_state_name(t.to));
    if (details == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    if (c->to == KR_STATE_RETIRING)
        json_object_set_new(details, "retire_after",
                            json_integer(t.retire_after));
    if (c->cause != NULL)
        json_object_set_new(details, "cause", json_string(c->cause));
    if (c->extra != NULL)
        json_object_update(details, c->extra);

    rc = kr_store_audit_append(store, c->event, key->kid, details, err);
    json_decref(details);
    if (rc != KR_OK)
        return rc;

    plan_add(plan, &t);
    return KR_OK;
}

/* Moves every retiring key whose deadline has passed to retired. */
static kr_code
due_apply(kr_store *store, const kr_policy *policy, kr_plan *plan,
          kr_error *err)
{
    static const change retire = {"retire", KR_STATE_RETIRED,
                                  "deadline passed", false, NULL};
    const int64_t now = store->ctx->now;
    char(*due)[KR_KID_SIZE] = NULL;
    size_t n_due = 0;
    kr_code rc;

    rc = kr_store_due_list(store, now, &due, &n_due, err);
    if (rc != KR_OK)
        return rc;

    for (size_t i = 0; i < n_due && rc == KR_OK; i++) {
        kr_key_info info;

        rc = kr_store_key_get(store, due[i], &info, err);
        if (rc != KR_OK)
            break;
        info.retired_at = now;
        rc = transition_apply(store, policy, &info, &retire, plan, err);
    }

    free(due);
    return rc;
}

/* --- activate and rotate ---------------------------------------------- */

static kr_code
overlap_resolve(const kr_policy *policy, int64_t *overlap, kr_error *err)
{
    char given[32], need[32];

    if (*overlap < 0)
        *overlap = policy->overlap;
    if (*overlap >= policy->max_token_ttl + policy->leeway)
        return KR_OK;

    kr_duration_format(*overlap, given, sizeof(given));
    kr_duration_format(policy->max_token_ttl + policy->leeway, need,
                       sizeof(need));
    return kr_error_set(err, KR_E_REFUSED,
                        "overlap %s is shorter than max_token_ttl + leeway "
                        "(%s): a token signed just before the switch could "
                        "be rejected before it expires",
                        given, need);
}

/* Refuses to activate a key that may not sign again. Runs after the due
 * transitions, so a retiring key past its deadline is already retired. */
static kr_code
activate_check(const kr_key_info *target, kr_error *err)
{
    if (target->state == KR_STATE_PENDING || target->state == KR_STATE_ACTIVE
        || target->state == KR_STATE_RETIRING)
        return KR_OK;
    return transition_refuse("activate", target, err);
}

/* Moves the active key, if there is one, to retiring for overlap
 * seconds. */
static kr_code
active_demote(kr_store *store, const kr_policy *policy, int64_t overlap,
              kr_plan *plan, kr_error *err)
{
    static const change demote = {"deactivate", KR_STATE_RETIRING, NULL, false,
                                  NULL};
    const int64_t now = store->ctx->now;
    kr_error lookup_err = {0};
    kr_key_info previous;
    kr_code rc;

    rc = kr_store_active_get(store, &previous, &lookup_err);
    if (rc == KR_E_NOTFOUND)
        return KR_OK;
    if (rc != KR_OK)
        return kr_error_set(err, rc, "%s", lookup_err.msg);

    previous.deactivated_at = now;
    previous.retire_after = now + overlap;
    return transition_apply(store, policy, &previous, &demote, plan, err);
}

/* Makes target active; the caller has checked that it may be and has
 * demoted the previous active key. */
static kr_code
target_promote(kr_store *store, const kr_policy *policy, kr_key_info *target,
               bool created, kr_plan *plan, kr_error *err)
{
    change promote = {"activate", KR_STATE_ACTIVE, NULL, created, NULL};

    if (target->state == KR_STATE_RETIRING)
        promote.cause = "rollback";
    target->activated_at = store->ctx->now;
    target->retire_after = 0;
    return transition_apply(store, policy, target, &promote, plan, err);
}

/* Activates kid inside the open transaction: the due transitions, the
 * checks, then the previous key's demotion and kid's promotion. */
static kr_code
activate_apply(kr_store *store, const kr_policy *policy, const char *kid,
               int64_t overlap, kr_plan *plan, kr_error *err)
{
    kr_key_info target;
    kr_code rc;

    /* The due transitions come first, as in every change, so a retiring
     * key past its deadline is refused as the retired key it is, in the
     * same words as after tick. */
    rc = due_apply(store, policy, plan, err);
    if (rc == KR_OK)
        rc = kr_store_key_get(store, kid, &target, err);
    if (rc == KR_OK)
        rc = activate_check(&target, err);
    if (rc != KR_OK)
        return rc;

    if (target.state == KR_STATE_ACTIVE) {
        plan_note(plan, "key %s is already active", kid);
        return KR_OK;
    }
    rc = active_demote(store, policy, overlap, plan, err);
    if (rc == KR_OK)
        rc = target_promote(store, policy, &target, false, plan, err);
    return rc;
}

kr_code
kr_lifecycle_activate(kr_store *store, const char *kid, int64_t overlap,
                      bool dry_run, kr_plan *plan, kr_error *err)
{
    kr_policy policy;
    kr_code rc;

    memset(plan, 0, sizeof(*plan));

    rc = change_begin(store, &policy, plan, err);
    if (rc == KR_OK)
        rc = overlap_resolve(&policy, &overlap, err);
    if (rc == KR_OK)
        rc = activate_apply(store, &policy, kid, overlap, plan, err);
    if (rc == KR_OK)
        rc = change_finish(store, dry_run, plan, err);

    kr_store_rollback(store);
    return rc;
}

kr_code
kr_lifecycle_add_activate(kr_store *store, const kr_rsakey *key,
                          const char *kid, const char *origin,
                          kr_add_outcome *outcome, kr_plan *plan,
                          kr_error *err)
{
    int64_t overlap = -1;
    kr_policy policy;
    kr_code rc;

    memset(plan, 0, sizeof(*plan));

    rc = change_begin(store, &policy, plan, err);
    if (rc == KR_OK)
        rc = overlap_resolve(&policy, &overlap, err);
    if (rc == KR_OK)
        rc = kr_store_key_add_locked(store, key, kid, origin, outcome, err);
    if (rc == KR_OK)
        rc = activate_apply(store, &policy, kid, overlap, plan, err);
    if (rc != KR_OK)
        goto out;

    /* A private part added to the active key is a change to commit,
     * though no state changes. */
    if (*outcome != KR_ADD_UNCHANGED)
        plan->changed = true;
    rc = change_finish(store, false, plan, err);

out:
    kr_store_rollback(store);
    return rc;
}

kr_code
kr_lifecycle_rotation_due(kr_store *store, int64_t if_older_than, bool *due,
                          kr_error *err)
{
    kr_error lookup_err = {0};
    kr_key_info active;
    kr_code rc;

    rc = kr_store_active_get(store, &active, &lookup_err);
    if (rc == KR_E_NOTFOUND) {
        *due = true;
        return KR_OK;
    }
    if (rc != KR_OK)
        return kr_error_set(err, rc, "%s", lookup_err.msg);

    *due = if_older_than < 0
           || store->ctx->now - active.activated_at >= if_older_than;
    return KR_OK;
}

/* Explains in the plan why a rotation is not due. */
static kr_code
rotation_skip_note(kr_store *store, int64_t if_older_than, kr_plan *plan,
                   kr_error *err)
{
    char age[32], limit[32];
    kr_key_info active;
    kr_code rc;

    rc = kr_store_active_get(store, &active, err);
    if (rc == KR_OK)
        rc = time_order_check(store, &active, err);
    if (rc != KR_OK)
        return rc;

    kr_duration_format(store->ctx->now - active.activated_at, age,
                       sizeof(age));
    kr_duration_format(if_older_than, limit, sizeof(limit));
    plan_note(plan, "the active key %s was activated %s ago, less than %s",
              active.kid, age, limit);
    return KR_OK;
}

/* Adds key under kid and activates it, inside the open transaction. */
static kr_code
rotate_apply(kr_store *store, const kr_policy *policy, const kr_rsakey *key,
             const char *kid, int64_t overlap, kr_plan *plan, kr_error *err)
{
    kr_add_outcome outcome = KR_ADD_UNCHANGED;
    kr_key_info target;
    kr_code rc;

    rc = kr_store_key_add_locked(store, key, kid, "generated", &outcome, err);
    if (rc != KR_OK)
        return rc;
    if (outcome != KR_ADD_INSERTED)
        return kr_error_set(err, KR_E_REFUSED,
                            "kid %s already exists; choose a new kid", kid);

    rc = kr_store_key_get(store, kid, &target, err);
    if (rc == KR_OK)
        rc = active_demote(store, policy, overlap, plan, err);
    if (rc == KR_OK)
        rc = target_promote(store, policy, &target, true, plan, err);
    return rc;
}

/* Plans a rotation without a key (a dry run that generated none): the
 * previous key is demoted for real, to be rolled back, and the new key is
 * only listed. */
static kr_code
rotate_plan_only(kr_store *store, const kr_policy *policy, const char *kid,
                 int64_t overlap, kr_plan *plan, kr_error *err)
{
    kr_transition t = {0};
    kr_key_info existing;
    kr_code rc;

    if (kid != NULL && kr_store_key_get(store, kid, &existing, NULL) == KR_OK)
        return kr_error_set(err, KR_E_REFUSED,
                            "kid %s already exists; choose a new kid", kid);

    rc = active_demote(store, policy, overlap, plan, err);
    if (rc != KR_OK)
        return rc;

    snprintf(t.kid, sizeof(t.kid), "%s", kid != NULL ? kid : "");
    t.created = true;
    t.from = KR_STATE_PENDING;
    t.to = KR_STATE_ACTIVE;
    plan_add(plan, &t);
    return KR_OK;
}

kr_code
kr_lifecycle_rotate(kr_store *store, const kr_rsakey *key, const char *kid,
                    const kr_rotate_options *opts, kr_plan *plan,
                    kr_error *err)
{
    int64_t overlap = opts->overlap;
    bool due = true;
    kr_policy policy;
    kr_code rc;

    memset(plan, 0, sizeof(*plan));

    rc = change_begin(store, &policy, plan, err);
    if (rc != KR_OK)
        goto out;
    rc = overlap_resolve(&policy, &overlap, err);
    if (rc != KR_OK)
        goto out;
    rc = due_apply(store, &policy, plan, err);
    if (rc != KR_OK)
        goto out;

    /* Checked again under the lock: two cron jobs that both saw an old
     * key rotate once, and the second finds a young key. */
    rc = kr_lifecycle_rotation_due(store, opts->if_older_than, &due, err);
    if (rc == KR_OK && !due)
        rc = rotation_skip_note(store, opts->if_older_than, plan, err);
    else if (rc == KR_OK && key != NULL)
        rc = rotate_apply(store, &policy, key, kid, overlap, plan, err);
    else if (rc == KR_OK && opts->dry_run)
        rc = rotate_plan_only(store, &policy, kid, overlap, plan, err);
    else if (rc == KR_OK)
        rc = kr_error_set(err, KR_E_REFUSED,
                          "the active key changed while rotate was checking "
                          "its age; run rotate again");
    if (rc != KR_OK)
        goto out;

    rc = change_finish(store, opts->dry_run, plan, err);
    if (rc == KR_OK && due && key == NULL)
        kids_add(plan->jwks_after, &plan->n_jwks_after,
                 &plan->n_jwks_after_total, kid != NULL ? kid : "");

out:
    kr_store_rollback(store);
    return rc;
}

/* --- retire, revoke, purge, tick -------------------------------------- */

/*
 * Decides whether key, a retiring key, may be retired now without
 * --force. Returns KR_E_REFUSED with a message that names the evidence
 * while a token signed by the key may still be in use. Runs inside the
 * change's transaction, so every read returns the state being changed. This
 * is the one guard of retire: add further conditions here.
 */
static kr_code
retire_guard(kr_store *store, const kr_key_info *key, const kr_policy *policy,
             kr_error *err)
{
    const int64_t window = policy->max_token_ttl + policy->leeway;
    const int64_t now = store->ctx->now;
    char stopped[32], until[32], ttl[32], leeway[32];
    char issued[32], accepted[32];
    kr_usage_late late;
    kr_code rc;

    /* Condition 1: the key stopped being active less than max_token_ttl +
     * leeway ago, so a token it signed just before may still be valid. */
    if (now - key->deactivated_at < window) {
        kr_time_format(key->deactivated_at, stopped, sizeof(stopped));
        kr_time_format(key->deactivated_at + window, until, sizeof(until));
        kr_duration_format(policy->max_token_ttl, ttl, sizeof(ttl));
        kr_duration_format(policy->leeway, leeway, sizeof(leeway));
        return kr_error_set(err, KR_E_REFUSED,
                            "key %s stopped being active at %s; a token it "
                            "signed may be valid until %s (max_token_ttl %s "
                            "+ leeway %s)",
                            key->kid, stopped, until, ttl, leeway);
    }

    /* Condition 2, usage evidence: refuse while a token signed by this key
     * and issued after deactivated_at was accepted within the last
     * max_token_ttl + leeway, because some system still signs with it.
     * The evidence comes from verify's usage counters (store-usage.c), so
     * it covers only verifications made through this store. */
    rc = kr_store_usage_late_evidence(store, key->kid, key->deactivated_at,
                                      now - window, &late, err);
    if (rc == KR_E_NOTFOUND)
        return KR_OK;
    if (rc != KR_OK)
        return rc;
    kr_time_format(late.iat, issued, sizeof(issued));
    kr_time_format(key->deactivated_at, stopped, sizeof(stopped));
    kr_time_format(late.accepted_at, accepted, sizeof(accepted));
    kr_time_format(late.accepted_at + window, until, sizeof(until));
    return kr_error_set(err, KR_E_REFUSED,
                        "a token signed by key %s and issued at %s, after "
                        "the key stopped being active at %s, was accepted at "
                        "%s for audience %s: some system still signs with "
                        "this key; the evidence ages out at %s",
                        key->kid, issued, stopped, accepted,
                        late.aud[0] != '\0' ? late.aud : "(none)", until);
}

/* Retires a retiring key, applying the guard unless forced. */
static kr_code
retire_apply(kr_store *store, const kr_policy *policy, kr_key_info *key,
             bool force, kr_plan *plan, kr_error *err)
{
    change retire = {"retire", KR_STATE_RETIRED, NULL, false, NULL};
    kr_error evidence = {0};
    json_t *extra = NULL;
    kr_code rc;

    rc = retire_guard(store, key, policy, &evidence);
    if (rc == KR_E_REFUSED && force) {
        /* The audit record keeps what the operator overrode. */
        extra = json_pack("{s:s}", "overridden", evidence.msg);
        if (extra == NULL)
            return kr_error_set(err, KR_E_SYSTEM, "out of memory");
        retire.cause = "forced";
        retire.extra = extra;
    } else if (rc == KR_E_REFUSED) {
        return kr_error_set(err, rc,
                            "%s; retire it after that, or pass "
                            "--force",
                            evidence.msg);
    } else if (rc != KR_OK) {
        return kr_error_set(err, rc, "%s", evidence.msg);
    }

    key->retired_at = store->ctx->now;
    rc = transition_apply(store, policy, key, &retire, plan, err);
    json_decref(extra);
    return rc;
}

kr_code
kr_lifecycle_retire(kr_store *store, const char *kid, bool force, bool dry_run,
                    kr_plan *plan, kr_error *err)
{
    kr_state state_before = KR_STATE_PENDING;
    kr_key_info key;
    kr_policy policy;
    kr_code rc;

    memset(plan, 0, sizeof(*plan));

    rc = change_begin(store, &policy, plan, err);
    if (rc == KR_OK)
        rc = kr_store_key_get(store, kid, &key, err);
    if (rc == KR_OK) {
        state_before = key.state;
        rc = due_apply(store, &policy, plan, err);
    }
    if (rc == KR_OK)
        rc = kr_store_key_get(store, kid, &key, err);
    if (rc != KR_OK)
        goto out;

    if (key.state == KR_STATE_RETIRED) {
        /* A retiring key past its deadline was just retired by the due
         * transitions, which the plan lists: that is this retire's
         * change, not a repeat. */
        if (state_before == KR_STATE_RETIRED)
            plan_note(plan, "key %s is already retired", kid);
    } else if (key.state != KR_STATE_RETIRING) {
        rc = transition_refuse("retire", &key, err);
    } else {
        rc = retire_apply(store, &policy, &key, force, plan, err);
    }
    if (rc != KR_OK)
        goto out;

    rc = change_finish(store, dry_run, plan, err);

out:
    kr_store_rollback(store);
    return rc;
}

/* Accepts one line of printable text of 1..REASON_MAX bytes; UTF-8 bytes
 * above 0x7f pass, control characters do not, so that a reason cannot
 * break the lines of list, show or the audit output. */
static kr_code
reason_check(const char *reason, kr_error *err)
{
    size_t len = reason != NULL ? strlen(reason) : 0;

    if (len == 0)
        return kr_error_set(err, KR_E_USAGE,
                            "a reason is required, such as --reason "
                            "'private key leaked'");
    if (len > REASON_MAX)
        return kr_error_set(err, KR_E_USAGE,
                            "the reason is %zu bytes; at most %zu are "
                            "allowed",
                            len, REASON_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)reason[i];

        if (c < 0x20 || c == 0x7f)
            return kr_error_set(err, KR_E_USAGE,
                                "the reason must be one line of printable "
                                "text");
    }
    return KR_OK;
}

static kr_code
revoke_apply(kr_store *store, const kr_policy *policy, kr_key_info *key,
             const char *reason, kr_plan *plan, kr_error *err)
{
    change revoke = {"revoke", KR_STATE_REVOKED, NULL, false, NULL};
    const int64_t now = store->ctx->now;
    kr_code rc;

    revoke.extra = json_pack("{s:s}", "reason", reason);
    if (revoke.extra == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");

    if (key->state == KR_STATE_ACTIVE)
        key->deactivated_at = now;
    key->revoked_at = now;
    snprintf(key->revoke_reason, sizeof(key->revoke_reason), "%s", reason);
    rc = transition_apply(store, policy, key, &revoke, plan, err);
    json_decref(revoke.extra);
    return rc;
}

kr_code
kr_lifecycle_revoke(kr_store *store, const char *kid, const char *reason,
                    bool dry_run, kr_plan *plan, kr_error *err)
{
    char revoked_at[32];
    kr_key_info key;
    kr_policy policy;
    kr_code rc;

    memset(plan, 0, sizeof(*plan));
    rc = reason_check(reason, err);
    if (rc != KR_OK)
        return rc;

    rc = change_begin(store, &policy, plan, err);
    if (rc == KR_OK)
        rc = due_apply(store, &policy, plan, err);
    if (rc == KR_OK)
        rc = kr_store_key_get(store, kid, &key, err);
    if (rc != KR_OK)
        goto out;

    if (key.state == KR_STATE_REVOKED) {
        kr_time_format(key.revoked_at, revoked_at, sizeof(revoked_at));
        plan_note(plan, "key %s was already revoked at %s (reason: %s)", kid,
                  revoked_at, key.revoke_reason);
    } else {
        rc = revoke_apply(store, &policy, &key, reason, plan, err);
        if (rc != KR_OK)
            goto out;
    }

    rc = change_finish(store, dry_run, plan, err);

out:
    kr_store_rollback(store);
    return rc;
}

/* Destroys the private part of key, a retired or revoked key, with its
 * audit record; or notes why there is nothing to destroy. */
static kr_code
purge_apply(kr_store *store, const kr_key_info *key, kr_plan *plan,
            kr_error *err)
{
    char purged_at[32];
    json_t *details = NULL;
    kr_code rc;

    if (key->state != KR_STATE_RETIRED && key->state != KR_STATE_REVOKED)
        return transition_refuse("purge", key, err);
    rc = time_order_check(store, key, err);
    if (rc != KR_OK)
        return rc;
    if (!key->has_private && key->purged_at != 0) {
        kr_time_format(key->purged_at, purged_at, sizeof(purged_at));
        plan_note(plan, "the private part of key %s was already purged at %s",
                  key->kid, purged_at);
        return KR_OK;
    }
    if (!key->has_private) {
        plan_note(plan,
                  "key %s has no private part in this store (verify-only); "
                  "nothing to purge",
                  key->kid);
        return KR_OK;
    }

    rc = kr_store_key_purge_private(store, key->kid, err);
    if (rc != KR_OK)
        return rc;
    details = json_pack("{s:s}", "state", kr_state_name(key->state));
    if (details == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    rc = kr_store_audit_append(store, "purge", key->kid, details, err);
    json_decref(details);
    if (rc == KR_OK)
        plan->changed = true;
    return rc;
}

kr_code
kr_lifecycle_purge(kr_store *store, const char *kid, kr_plan *plan,
                   kr_error *err)
{
    kr_error checkpoint_err = {0};
    kr_key_info key;
    kr_policy policy;
    kr_code rc;

    memset(plan, 0, sizeof(*plan));

    rc = change_begin(store, &policy, plan, err);
    if (rc == KR_OK)
        rc = due_apply(store, &policy, plan, err);
    if (rc == KR_OK)
        rc = kr_store_key_get(store, kid, &key, err);
    if (rc == KR_OK)
        rc = purge_apply(store, &key, plan, err);
    if (rc == KR_OK)
        rc = change_finish(store, false, plan, err);
    kr_store_rollback(store);
    if (rc != KR_OK)
        goto out;

    /* secure_delete zeroed the old bytes in the new page images, but the
     * database file and older log frames still hold the previous pages
     * until a checkpoint copies the new ones over them and the log is
     * truncated. A repeated purge runs this again, which finishes a purge
     * that was interrupted before this point. */
    rc = kr_store_checkpoint(store, &checkpoint_err);
    if (rc != KR_OK)
        rc = kr_error_set(err, rc,
                          "the private part of key %s is destroyed, but old "
                          "copies may remain in the store's write-ahead log "
                          "(%s); run purge again when no other keyrot "
                          "process uses the store",
                          kid, checkpoint_err.msg);

out:
    kr_store_rollback(store);
    return rc;
}

kr_code
kr_lifecycle_tick(kr_store *store, bool dry_run, kr_plan *plan, kr_error *err)
{
    kr_policy policy;
    kr_code rc;

    memset(plan, 0, sizeof(*plan));

    rc = change_begin(store, &policy, plan, err);
    if (rc == KR_OK)
        rc = due_apply(store, &policy, plan, err);
    if (rc != KR_OK)
        goto out;
    if (!plan->changed)
        plan_note(plan, "no retiring key is past its deadline");

    rc = change_finish(store, dry_run, plan, err);

out:
    kr_store_rollback(store);
    return rc;
}
