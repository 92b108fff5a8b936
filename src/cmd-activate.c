/* SPDX-License-Identifier: MIT */
/* keyrot activate: switch the active key. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "lifecycle.h"

static const char usage[] =
    "Usage: keyrot activate KID [--overlap D] [--dry-run]\n"
    "\n"
    "Makes KID the key that signs. The previously active key becomes\n"
    "retiring: it still verifies until the end of the overlap. KID may be\n"
    "pending, or retiring before its deadline (a rollback). Activating the\n"
    "active key changes nothing and succeeds. Retiring keys past their\n"
    "deadline become retired first, as with 'keyrot tick'.\n"
    "\n"
    "  --overlap D   how long the previous key keeps verifying (default: the\n"
    "                policy's overlap); at least max_token_ttl + leeway\n"
    "  --dry-run     print the plan (state changes, deadlines, the JWKS\n"
    "                kids before and after) and change nothing\n";

int
cmd_activate(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"overlap", required_argument, NULL, 'o'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int64_t overlap = -1;
    bool dry_run = false;
    kr_store *store = NULL;
    kr_error err = {0};
    kr_plan plan;
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            status = cli_duration_arg(cli, "--overlap", optarg, &overlap);
            if (status != 0)
                return status;
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
                        "expected one KID; see 'keyrot activate --help'");

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    if (kr_lifecycle_activate(store, argv[optind], overlap, dry_run, &plan,
                              &err)
        != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    cmd_plan_print(cli, &plan, dry_run);

out:
    kr_store_close(store);
    return status;
}
