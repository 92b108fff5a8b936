/* SPDX-License-Identifier: MIT */
/* keyrot policy: show or change the store's policy. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "duration.h"
#include "lifecycle.h"

/* Maximum number of NAME=VALUE arguments of one 'policy set': more than
 * there are settings, so every setting fits in one command. */
#define SETTINGS_MAX 32

/* The note of a policy set that changed no setting. */
#define NOTHING_CHANGED "every setting is already in effect"

static const char usage[] =
    "Usage: keyrot policy\n"
    "       keyrot policy set NAME=VALUE...\n"
    "\n"
    "Shows the store's policy, or changes it. Durations are seconds or a\n"
    "number with s, m, h or d. The settings and their defaults:\n"
    "\n"
    "  token_ttl      lifetime of the tokens sign mints (5m)\n"
    "  max_token_ttl  longest lifetime sign allows and verify accepts (1h)\n"
    "  leeway         clock skew allowed on exp, nbf and iat (60s)\n"
    "  overlap        how long the previous key keeps verifying after a\n"
    "                 switch; at least max_token_ttl + leeway (2h)\n"
    "  rotate_every   age of the active key after which status asks for a\n"
    "                 rotation (90d)\n"
    "  min_bits       smallest RSA key accepted, 2048 to 4096 (2048)\n"
    "  default_bits   size of generated keys: 2048, 3072 or 4096 (2048)\n"
    "  usage_counters 1 counts tokens signed and verified per key, audience\n"
    "                 and day; 0 stops counting (1)\n"
    "  usage_records  1 also writes one audit record per token (0)\n"
    "\n"
    "All settings of one 'policy set' are checked together and written in\n"
    "one transaction, each change with its audit record; values already in\n"
    "effect change nothing. Retiring keys past their deadline become\n"
    "retired afterwards, as with 'keyrot tick', and are listed. With --json,\n"
    "prints the policy as one object (durations in seconds); after policy\n"
    "set it also has \"changed\", \"note\" (why nothing changed, or null) "
    "and\n"
    "\"transitions\".\n";

static void
value_format(const kr_policy_field_info *field, int64_t value, char *out,
             size_t out_size)
{
    if (field->is_duration)
        kr_duration_format(value, out, out_size);
    else
        snprintf(out, out_size, "%" PRId64, value);
}

static int64_t
value_get(const kr_policy *policy, const kr_policy_field_info *field)
{
    return *(const int64_t *)((const char *)policy + field->offset);
}

/* Returns the policy as a JSON object (a new reference), durations in
 * seconds. */
static json_t *
policy_json(const kr_policy *policy)
{
    size_t n_fields = 0;
    const kr_policy_field_info *fields = kr_policy_fields(&n_fields);
    json_t *obj = json_object();

    for (size_t i = 0; i < n_fields; i++)
        json_object_set_new(obj, fields[i].name,
                            json_integer(value_get(policy, &fields[i])));
    return obj;
}

static void
policy_print(const kr_cli *cli, const kr_policy *policy)
{
    size_t n_fields = 0;
    const kr_policy_field_info *fields = kr_policy_fields(&n_fields);
    char text[32];

    if (cli->json) {
        cli_json_print(policy_json(policy), false);
        return;
    }
    for (size_t i = 0; i < n_fields; i++) {
        value_format(&fields[i], value_get(policy, &fields[i]), text,
                     sizeof(text));
        printf("%-14s %s\n", fields[i].name, text);
    }
}

/* Prints each setting whose value differs between before and after. */
static void
changes_print(const kr_policy *before, const kr_policy *after)
{
    size_t n_fields = 0;
    const kr_policy_field_info *fields = kr_policy_fields(&n_fields);
    char old_text[32], new_text[32];

    for (size_t i = 0; i < n_fields; i++) {
        int64_t old_value = value_get(before, &fields[i]);
        int64_t new_value = value_get(after, &fields[i]);

        if (old_value == new_value)
            continue;
        value_format(&fields[i], old_value, old_text, sizeof(old_text));
        value_format(&fields[i], new_value, new_text, sizeof(new_text));
        printf("%s: %s -> %s\n", fields[i].name, old_text, new_text);
    }
}

/* Splits the NAME=VALUE arguments; the strings stay in argv. */
static int
settings_parse(kr_cli *cli, int argc, char **argv, kr_policy_setting *settings,
               size_t *n_settings)
{
    if (argc == 0)
        return cli_fail(cli, KR_E_USAGE,
                        "policy set needs at least one NAME=VALUE");
    if (argc > SETTINGS_MAX)
        return cli_fail(cli, KR_E_USAGE, "at most %d settings at once",
                        SETTINGS_MAX);

    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');

        if (eq == NULL || eq == argv[i] || eq[1] == '\0')
            return cli_fail(cli, KR_E_USAGE, "expected NAME=VALUE, got '%s'",
                            argv[i]);
        *eq = '\0';
        settings[i].name = argv[i];
        settings[i].value = eq + 1;
    }
    *n_settings = (size_t)argc;
    return 0;
}

static int
policy_set(kr_cli *cli, kr_store *store, int argc, char **argv)
{
    kr_policy_setting settings[SETTINGS_MAX];
    size_t n_settings = 0, n_changed = 0;
    kr_policy before, after;
    kr_error err = {0};
    kr_plan plan;
    json_t *obj;
    bool changed;
    int status;

    status = settings_parse(cli, argc, argv, settings, &n_settings);
    if (status != 0)
        return status;

    if (kr_store_policy_get(store, &before, &err) != KR_OK
        || kr_store_policy_update(store, settings, n_settings, &n_changed,
                                  &err)
               != KR_OK
        || kr_store_policy_get(store, &after, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    /* Due transitions run after the change, so that a refused setting
     * leaves the store exactly as it was. */
    if (kr_lifecycle_tick(store, false, &plan, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    /* As in a lifecycle plan, "changed" covers the due retirements too,
     * and the note explains why the settings did not change. */
    changed = n_changed > 0 || plan.changed;
    if (cli->json) {
        obj = policy_json(&after);
        json_object_set_new(obj, "changed", json_boolean(changed));
        json_object_set_new(obj, "note",
                            n_changed > 0 ? json_null()
                                          : json_string(NOTHING_CHANGED));
        json_object_set_new(obj, "transitions",
                            cmd_plan_transitions_json(&plan));
        cli_json_print(obj, false);
        return 0;
    }
    if (n_changed == 0)
        printf("%s%s\n", changed ? "" : "nothing to do: ", NOTHING_CHANGED);
    else
        changes_print(&before, &after);
    cmd_plan_transitions_print(&plan);
    return 0;
}

int
cmd_policy(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kr_store *store = NULL;
    kr_policy policy;
    kr_error err = {0};
    bool set = false;
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    /* "+" stops at the first argument, so VALUEs are never options. */
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        return cli_option_error(cli, argv);
    }
    if (optind < argc && strcmp(argv[optind], "set") == 0)
        set = true;
    else if (optind < argc)
        return cli_fail(cli, KR_E_USAGE,
                        "unknown argument '%s'; use 'keyrot policy' or "
                        "'keyrot policy set NAME=VALUE...'",
                        argv[optind]);

    /* getopt stopped at "set", so look for a request for help among the
     * settings, before the store is needed. */
    for (int i = optind + 1; set && i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    }

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    if (set) {
        status = policy_set(cli, store, argc - optind - 1, argv + optind + 1);
    } else if (kr_store_policy_get(store, &policy, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
    } else {
        policy_print(cli, &policy);
    }

    kr_store_close(store);
    return status;
}
