/* SPDX-License-Identifier: MIT */
/* keyrot list and keyrot show: what the store holds. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "duration.h"
#include "lifecycle.h"

static const char list_usage[] =
    "Usage: keyrot list\n"
    "\n"
    "Lists every key: kid, state, size, whether this store holds its\n"
    "private part (\"encrypted\" when under the store passphrase),\n"
    "creation and activation times, the retiring deadline,\n"
    "and the RFC 7638 thumbprint. Times are UTC. With --json, prints one\n"
    "JSON array of key objects (times as Unix seconds, null when unset).\n";

static const char show_usage[] =
    "Usage: keyrot show KID\n"
    "\n"
    "Shows everything the store records of one key, with its usage per\n"
    "audience (see 'keyrot usage'). With --json, prints one JSON object.\n";

/* Parses a command that takes only --help and n_args positional args. */
static int
args_parse(kr_cli *cli, int argc, char **argv, const char *usage, int n_args)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage, stdout);
            return -1;
        }
        return cli_option_error(cli, argv);
    }
    if (argc - optind != n_args)
        return cli_fail(cli, KR_E_USAGE,
                        "expected %d argument%s; see 'keyrot %s --help'",
                        n_args, n_args == 1 ? "" : "s", cli->command);
    return 0;
}

static void
table_print(const kr_key_info *keys, size_t n_keys)
{
    printf("%-28s %-9s %5s %-9s %-20s %-20s %-20s %s\n", "KID", "STATE",
           "BITS", "PRIVATE", "CREATED", "ACTIVATED", "RETIRE_AFTER",
           "THUMBPRINT");
    for (size_t i = 0; i < n_keys; i++) {
        const kr_key_info *k = &keys[i];
        char created[32], activated[32], deadline[32];

        kr_time_format(k->created_at, created, sizeof(created));
        kr_time_format(k->activated_at, activated, sizeof(activated));
        kr_time_format(k->state == KR_STATE_RETIRING ? k->retire_after : 0,
                       deadline, sizeof(deadline));
        printf("%-28s %-9s %5u %-9s %-20s %-20s %-20s %s\n", k->kid,
               kr_state_name(k->state), k->bits,
               !k->has_private        ? "no"
               : k->private_encrypted ? "encrypted"
                                      : "yes",
               created, activated, deadline, k->thumbprint);
    }
}

int
cmd_list(kr_cli *cli, int argc, char **argv)
{
    kr_store *store = NULL;
    kr_key_info *keys = NULL;
    size_t n_keys = 0;
    kr_error err = {0};
    json_t *array;
    int status;

    status = args_parse(cli, argc, argv, list_usage, 0);
    if (status != 0)
        return status < 0 ? 0 : status;

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);
    if (kr_store_key_list(store, &keys, &n_keys, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }

    if (cli->json) {
        array = json_array();
        for (size_t i = 0; i < n_keys; i++)
            json_array_append_new(array, cli_key_json(&keys[i]));
        cli_json_print(array, false);
    } else if (n_keys == 0) {
        fprintf(stderr, "keyrot: list: the store holds no keys; add one with "
                        "'keyrot generate' or 'keyrot import'\n");
    } else {
        table_print(keys, n_keys);
    }

out:
    free(keys);
    kr_store_close(store);
    return status;
}

static void
show_time(const char *label, int64_t t)
{
    char text[32];

    if (t == 0)
        return;
    kr_time_format(t, text, sizeof(text));
    printf("%-15s %s\n", label, text);
}

int
cmd_show(kr_cli *cli, int argc, char **argv)
{
    kr_store *store = NULL;
    kr_error err = {0};
    kr_key_info info;
    int status;

    status = args_parse(cli, argc, argv, show_usage, 1);
    if (status != 0)
        return status < 0 ? 0 : status;

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);
    if (kr_store_key_get(store, argv[optind], &info, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }

    if (cli->json) {
        json_t *obj = cli_key_json(&info);

        status = cmd_usage_show(cli, store, info.kid, obj);
        if (status == 0)
            cli_json_print(obj, false);
        else
            json_decref(obj);
        goto out;
    }
    printf("%-15s %s\n", "kid:", info.kid);
    printf("%-15s %s%s\n", "state:", kr_state_name(info.state),
           info.state == KR_STATE_RETIRING
                   && !kr_lifecycle_verifies(&info, cli->ctx.now)
               ? " (past its deadline: no longer verifies)"
               : "");
    printf("%-15s RSA %u\n", "key:", info.bits);
    printf("%-15s %s\n", "thumbprint:", info.thumbprint);
    printf("%-15s %s\n", "private part:",
           info.private_encrypted ? "yes, encrypted at rest"
           : info.has_private     ? "yes"
           : info.purged_at       ? "purged"
                                  : "no (verify-only)");
    printf("%-15s %s\n", "origin:", info.origin);
    show_time("created:", info.created_at);
    show_time("activated:", info.activated_at);
    show_time("deactivated:", info.deactivated_at);
    if (info.state == KR_STATE_RETIRING)
        show_time("retire after:", info.retire_after);
    show_time("retired:", info.retired_at);
    show_time("revoked:", info.revoked_at);
    if (info.revoke_reason[0] != '\0')
        printf("%-15s %s\n", "revoke reason:", info.revoke_reason);
    show_time("purged:", info.purged_at);
    status = cmd_usage_show(cli, store, info.kid, NULL);

out:
    kr_store_close(store);
    return status;
}
