/* SPDX-License-Identifier: MIT */
/* keyrot purge: destroy the private part of a retired or revoked key. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "lifecycle.h"

static const char usage[] =
    "Usage: keyrot purge KID\n"
    "\n"
    "Destroys the private part of a retired or revoked key. Its public key,\n"
    "state and history stay, so 'list', 'show' and the audit log still\n"
    "describe it. The freed bytes are overwritten and the store's\n"
    "write-ahead log is truncated, so no copy stays in the store's files.\n"
    "Purging a key that has no private part changes nothing and succeeds;\n"
    "it truncates the log again, which completes a purge that was\n"
    "interrupted. Refused (exit 4) for pending, active and retiring keys.\n";

int
cmd_purge(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *kid;
    kr_store *store = NULL;
    kr_error err = {0};
    kr_plan plan;
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
    if (argc - optind != 1)
        return cli_fail(cli, KR_E_USAGE,
                        "expected one KID; see 'keyrot purge --help'");
    kid = argv[optind];

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    if (kr_lifecycle_purge(store, kid, &plan, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }

    /* The plan lists only the due retirements applied first, such as
     * this key's own when it was retiring past its deadline. */
    if (cli->json) {
        cli_json_print(json_pack("{s:s, s:b, s:s?, s:o}", "kid", kid, "purged",
                                 plan.note[0] == '\0', "note",
                                 plan.note[0] != '\0' ? plan.note : NULL,
                                 "transitions",
                                 cmd_plan_transitions_json(&plan)),
                       false);
        goto out;
    }
    cmd_plan_transitions_print(&plan);
    if (plan.note[0] != '\0')
        printf("nothing to do: %s\n", plan.note);
    else
        printf("purged the private part of %s; its public key and history "
               "stay\n",
               kid);

out:
    kr_store_close(store);
    return status;
}
