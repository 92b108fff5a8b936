/* SPDX-License-Identifier: MIT */
/* keyrot tick: apply the transitions that are due. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "lifecycle.h"

static const char usage[] =
    "Usage: keyrot tick [--dry-run]\n"
    "\n"
    "Moves every retiring key whose deadline (retire_after) has passed to\n"
    "retired, each with its audit record. Every command that changes key\n"
    "states does this first, and verify refuses such keys even before, so\n"
    "tick only brings the recorded states up to date; run it from cron to\n"
    "keep 'keyrot list' and the audit log current.\n"
    "\n"
    "  --dry-run   print what is due and change nothing\n";

int
cmd_tick(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool dry_run = false;
    kr_store *store = NULL;
    kr_error err = {0};
    kr_plan plan;
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'n':
            dry_run = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return cli_option_error(cli, argv);
        }
    }
    if (optind != argc)
        return cli_fail(cli, KR_E_USAGE, "unexpected argument '%s'",
                        argv[optind]);

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    if (kr_lifecycle_tick(store, dry_run, &plan, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    cmd_plan_print(cli, &plan, dry_run);

out:
    kr_store_close(store);
    return status;
}
