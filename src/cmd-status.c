/* SPDX-License-Identifier: MIT */
/* keyrot status: one line for monitoring. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "duration.h"
#include "lifecycle.h"
#include "store-history.h"

/* Maximum number of problems one status line names. Further ones are
 * dropped from the line, but the exit status still says attention. */
#define PROBLEMS_MAX 8

static const char usage[] =
    "Usage: keyrot status\n"
    "\n"
    "Prints one line for monitoring and exits 0 when the store is healthy,\n"
    "1 when it needs attention: no active key, an active key older than the\n"
    "policy's rotate_every, or a retiring key past its deadline that\n"
    "nothing has moved to retired yet ('keyrot tick' does). Reads only.\n"
    "With --json: {\"healthy\":...,\"active\":KID or null,\"active_age\":\n"
    "seconds,\"rotate_due_at\":time,\"pending\":N,\"retiring\":N,\n"
    "\"problems\":[...]}; active_age is negative when the key was\n"
    "activated after now (an earlier --now).\n";

typedef struct summary {
    const kr_key_info *active; /* borrowed from the key list, or NULL */
    size_t n_pending, n_retiring;
    size_t n_problems;
    char problems[PROBLEMS_MAX][256];
} summary;

__attribute__((format(printf, 2, 3))) static void
problem_add(summary *s, const char *fmt, ...)
{
    va_list ap;

    if (s->n_problems == PROBLEMS_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(s->problems[s->n_problems++], sizeof(s->problems[0]), fmt, ap);
    va_end(ap);
}

/* Formats an age in its largest whole unit: "3d", "5h", "42s". */
static void
age_format(int64_t seconds, char *out, size_t out_size)
{
    if (seconds >= 86400)
        snprintf(out, out_size, "%" PRId64 "d", seconds / 86400);
    else if (seconds >= 3600)
        snprintf(out, out_size, "%" PRId64 "h", seconds / 3600);
    else if (seconds >= 60)
        snprintf(out, out_size, "%" PRId64 "m", seconds / 60);
    else
        snprintf(out, out_size, "%" PRId64 "s", seconds);
}

/* Flags an active key whose state contradicts its audit history (a store
 * edited behind keyrot's back), which sign refuses to use. Returns an exit
 * status when the history cannot be read. */
static int
history_check(const kr_cli *cli, kr_store *store, const kr_key_info *active,
              summary *s)
{
    kr_history_state recorded;
    kr_error err = {0};

    if (kr_store_history_get(store, active->kid, &recorded, &err) != KR_OK)
        return cli_report(cli, &err, NULL);
    if (recorded.found && recorded.state != KR_STATE_ACTIVE)
        problem_add(s,
                    "active key %s is %s in the audit log (record %" PRId64
                    "); the store was edited, so sign refuses it; run "
                    "'keyrot check'",
                    active->kid, kr_state_name(recorded.state), recorded.seq);
    else if (!recorded.found && !recorded.archived)
        problem_add(s,
                    "active key %s has no record in the audit log; the "
                    "store was edited, so sign refuses it; run 'keyrot "
                    "check'",
                    active->kid);
    return 0;
}

static void
summarize(const kr_key_info *keys, size_t n_keys, const kr_policy *policy,
          int64_t now, summary *s)
{
    char text[32], limit[32];

    for (size_t i = 0; i < n_keys; i++) {
        const kr_key_info *k = &keys[i];

        if (k->state == KR_STATE_ACTIVE)
            s->active = k;
        else if (k->state == KR_STATE_PENDING)
            s->n_pending++;
        else if (k->state == KR_STATE_RETIRING)
            s->n_retiring++;
        if (k->state == KR_STATE_RETIRING && !kr_lifecycle_verifies(k, now)) {
            kr_time_format(k->retire_after, text, sizeof(text));
            problem_add(s,
                        "retiring key %s passed its deadline %s; run "
                        "'keyrot tick'",
                        k->kid, text);
        }
    }

    if (s->active == NULL) {
        problem_add(s, "no active key; activate one or run 'keyrot rotate'");
    } else if (now - s->active->activated_at > policy->rotate_every) {
        age_format(now - s->active->activated_at, text, sizeof(text));
        kr_duration_format(policy->rotate_every, limit, sizeof(limit));
        problem_add(s,
                    "active key %s is %s old, older than rotate_every %s; "
                    "run 'keyrot rotate'",
                    s->active->kid, text, limit);
    }
}

static void
summary_json_print(const summary *s, const kr_policy *policy, int64_t now)
{
    json_t *problems = json_array();
    json_t *obj = json_object();

    for (size_t i = 0; i < s->n_problems; i++)
        json_array_append_new(problems, json_string(s->problems[i]));
    json_object_set_new(obj, "healthy", json_boolean(s->n_problems == 0));
    json_object_set_new(obj, "active",
                        s->active ? json_string(s->active->kid) : json_null());
    json_object_set_new(obj, "active_age",
                        s->active ? json_integer(now - s->active->activated_at)
                                  : json_null());
    json_object_set_new(obj, "rotate_due_at",
                        s->active ? json_integer(s->active->activated_at
                                                 + policy->rotate_every)
                                  : json_null());
    json_object_set_new(obj, "pending",
                        json_integer((json_int_t)s->n_pending));
    json_object_set_new(obj, "retiring",
                        json_integer((json_int_t)s->n_retiring));
    json_object_set_new(obj, "problems", problems);
    cli_json_print(obj, false);
}

static void
summary_print(const summary *s, const kr_policy *policy, int64_t now)
{
    char age[32], due[32];

    if (s->n_problems > 0) {
        printf("attention:");
        for (size_t i = 0; i < s->n_problems; i++)
            printf("%s %s", i > 0 ? ";" : "", s->problems[i]);
    } else {
        kr_time_format(s->active->activated_at + policy->rotate_every, due,
                       sizeof(due));
        printf("ok: active key %s, ", s->active->kid);
        /* A key activated at a later --now than this one has no age yet. */
        if (now < s->active->activated_at) {
            kr_time_format(s->active->activated_at, age, sizeof(age));
            printf("activated in the future at %s", age);
        } else {
            age_format(now - s->active->activated_at, age, sizeof(age));
            printf("%s old", age);
        }
        printf(", rotation due %s", due);
    }
    printf("; %zu pending, %zu retiring\n", s->n_pending, s->n_retiring);
}

int
cmd_status(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kr_store *store = NULL;
    kr_key_info *keys = NULL;
    size_t n_keys = 0;
    kr_policy policy;
    kr_error err = {0};
    summary s;
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        return cli_option_error(cli, argv);
    }
    if (optind != argc)
        return cli_fail(cli, KR_E_USAGE, "unexpected argument '%s'",
                        argv[optind]);

    if (cli_store_open(cli, &store, &err) != KR_OK
        || kr_store_policy_get(store, &policy, &err) != KR_OK
        || kr_store_key_list_published(store, &keys, &n_keys, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }

    memset(&s, 0, sizeof(s));
    summarize(keys, n_keys, &policy, cli->ctx.now, &s);
    if (s.active != NULL) {
        status = history_check(cli, store, s.active, &s);
        if (status != 0)
            goto out;
    }
    if (cli->json)
        summary_json_print(&s, &policy, cli->ctx.now);
    else
        summary_print(&s, &policy, cli->ctx.now);
    status = s.n_problems > 0 ? KR_E_INVALID : 0;

out:
    free(keys);
    kr_store_close(store);
    return status;
}
