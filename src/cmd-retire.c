/* SPDX-License-Identifier: MIT */
/* keyrot retire: move a retiring key to retired, guarded. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "lifecycle.h"

static const char usage[] =
    "Usage: keyrot retire KID [--force] [--dry-run]\n"
    "\n"
    "Moves a retiring key to retired now: it stops verifying and leaves the\n"
    "JWKS. Refused (exit 4) while a token the key signed may still be\n"
    "valid: until max_token_ttl + leeway has passed since it stopped being\n"
    "active. The message names that evidence. Retiring a retired key\n"
    "changes nothing and succeeds. A retiring key also becomes retired by\n"
    "itself at its deadline (see 'keyrot tick').\n"
    "\n"
    "  --force     retire despite the evidence; the audit record keeps what\n"
    "              was overridden\n"
    "  --dry-run   print the plan (state change, JWKS kids before and\n"
    "              after) and change nothing\n";

int
cmd_retire(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"force", no_argument, NULL, 'f'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool force = false, dry_run = false;
    kr_store *store = NULL;
    kr_error err = {0};
    kr_plan plan;
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'f':
            force = true;
            break;
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
    if (argc - optind != 1)
        return cli_fail(cli, KR_E_USAGE,
                        "expected one KID; see 'keyrot retire --help'");

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    if (kr_lifecycle_retire(store, argv[optind], force, dry_run, &plan, &err)
        != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    cmd_plan_print(cli, &plan, dry_run);

out:
    kr_store_close(store);
    return status;
}
