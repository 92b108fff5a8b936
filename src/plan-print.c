/* SPDX-License-Identifier: MIT */
/*
 * Printing a lifecycle plan for the commands that change key states
 * (activate, rotate, retire, revoke, tick). People get one line per state
 * change with its deadlines, then the JWKS kids before and after; --json
 * gets one object. Commands whose stdout carries other data (generate and
 * import with --activate) print the state changes as notes on stderr, or
 * add them to their JSON object.
 */
#include "config.h"

#include <stdio.h>

#include "commands.h"
#include "duration.h"

/* Shown, in text and in JSON, for a key that a dry run would create
 * without knowing its kid. It is not a valid kid, so no script can take it
 * for one. */
#define NEW_KEY_LABEL "(new key)"

/* Size of one formatted state change: a kid of up to 128 characters, the
 * states, and the deadlines or the cause. */
#define TRANSITION_LINE_SIZE (KR_KID_SIZE + 256)

static const char *
kid_label(const char *kid)
{
    return kid[0] != '\0' ? kid : NEW_KEY_LABEL;
}

static json_t *
transition_json(const kr_transition *t)
{
    json_t *obj = json_object();

    json_object_set_new(obj, "kid", json_string(kid_label(t->kid)));
    json_object_set_new(obj, "new", json_boolean(t->created));
    json_object_set_new(obj, "from",
                        t->created ? json_null()
                                   : json_string(kr_state_name(t->from)));
    json_object_set_new(obj, "to", json_string(kr_state_name(t->to)));
    if (t->to == KR_STATE_RETIRING) {
        json_object_set_new(obj, "retire_after",
                            json_integer(t->retire_after));
        json_object_set_new(obj, "retire_allowed_at",
                            json_integer(t->retire_allowed_at));
    }
    if (t->cause != NULL)
        json_object_set_new(obj, "cause", json_string(t->cause));
    return obj;
}

static json_t *
kids_json(const char (*kids)[KR_KID_SIZE], size_t n_kids)
{
    json_t *array = json_array();

    for (size_t i = 0; i < n_kids; i++)
        json_array_append_new(array, json_string(kid_label(kids[i])));
    return array;
}

json_t *
cmd_plan_transitions_json(const kr_plan *plan)
{
    json_t *changes = json_array();

    for (size_t i = 0; i < plan->n_transitions; i++)
        json_array_append_new(changes, transition_json(&plan->transitions[i]));
    return changes;
}

static void
plan_json_print(const kr_plan *plan, bool dry_run)
{
    json_t *obj, *changes = cmd_plan_transitions_json(plan);

    obj = json_object();
    json_object_set_new(obj, "dry_run", json_boolean(dry_run));
    json_object_set_new(obj, "changed", json_boolean(plan->changed));
    json_object_set_new(obj, "note",
                        plan->note[0] != '\0' ? json_string(plan->note)
                                              : json_null());
    json_object_set_new(obj, "transitions", changes);
    json_object_set_new(obj, "n_transitions",
                        json_integer((json_int_t)plan->n_transitions_total));
    json_object_set_new(obj, "jwks_before",
                        kids_json(plan->jwks_before, plan->n_jwks_before));
    json_object_set_new(obj, "jwks_after",
                        kids_json(plan->jwks_after, plan->n_jwks_after));
    json_object_set_new(obj, "n_jwks_before",
                        json_integer((json_int_t)plan->n_jwks_before_total));
    json_object_set_new(obj, "n_jwks_after",
                        json_integer((json_int_t)plan->n_jwks_after_total));
    cli_json_print(obj, false);
}

/* Returns the number of state changes the plan counts but does not list. */
static size_t
unlisted(const kr_plan *plan)
{
    return plan->n_transitions_total - plan->n_transitions;
}

/* Formats one state change as "KID: FROM -> TO (details)". */
static void
transition_format(const kr_transition *t, char *out, size_t out_size)
{
    char deadline[32], allowed[32], details[128] = "", cause[48] = "";

    if (t->to == KR_STATE_RETIRING) {
        kr_time_format(t->retire_after, deadline, sizeof(deadline));
        kr_time_format(t->retire_allowed_at, allowed, sizeof(allowed));
        snprintf(details, sizeof(details),
                 " (verifies until %s; retire allowed from %s)", deadline,
                 allowed);
    }
    if (t->cause != NULL)
        snprintf(cause, sizeof(cause), " (%s)", t->cause);
    snprintf(out, out_size, "%s: %s -> %s%s%s", kid_label(t->kid),
             t->created ? "new" : kr_state_name(t->from), kr_state_name(t->to),
             details, cause);
}

static void
kids_print(const char *label, const char (*kids)[KR_KID_SIZE], size_t n_listed,
           size_t n_total)
{
    printf("%s:", label);
    if (n_total == 0)
        printf(" (none)");
    for (size_t i = 0; i < n_listed; i++)
        printf(" %s", kid_label(kids[i]));
    if (n_total > n_listed)
        printf(" and %zu more", n_total - n_listed);
    printf("\n");
}

void
cmd_plan_transitions_print(const kr_plan *plan)
{
    char line[TRANSITION_LINE_SIZE];

    for (size_t i = 0; i < plan->n_transitions; i++) {
        transition_format(&plan->transitions[i], line, sizeof(line));
        printf("%s\n", line);
    }
    if (unlisted(plan) > 0)
        printf("and %zu more state change%s\n", unlisted(plan),
               unlisted(plan) == 1 ? "" : "s");
}

void
cmd_plan_print(const kr_cli *cli, const kr_plan *plan, bool dry_run)
{
    if (cli->json) {
        plan_json_print(plan, dry_run);
        return;
    }

    if (dry_run)
        printf("dry run: nothing was changed; the plan:\n");
    if (plan->note[0] != '\0')
        printf("%s%s\n", plan->changed ? "" : "nothing to do: ", plan->note);
    if (!plan->changed)
        return;

    cmd_plan_transitions_print(plan);
    kids_print("jwks before", plan->jwks_before, plan->n_jwks_before,
               plan->n_jwks_before_total);
    kids_print("jwks after", plan->jwks_after, plan->n_jwks_after,
               plan->n_jwks_after_total);
}

void
cmd_plan_notes_print(const kr_cli *cli, const kr_plan *plan)
{
    char line[TRANSITION_LINE_SIZE];

    if (plan->note[0] != '\0')
        cli_note(cli, "%s", plan->note);
    for (size_t i = 0; i < plan->n_transitions; i++) {
        transition_format(&plan->transitions[i], line, sizeof(line));
        cli_note(cli, "%s", line);
    }
    if (unlisted(plan) > 0)
        cli_note(cli, "and %zu more state change%s", unlisted(plan),
                 unlisted(plan) == 1 ? "" : "s");
}
