/* SPDX-License-Identifier: MIT */
/* keyrot revoke: stop a key from verifying at once, from any state. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "lifecycle.h"

static const char usage[] =
    "Usage: keyrot revoke KID --reason TEXT [--dry-run]\n"
    "\n"
    "Revokes a key in any state at once, for a compromised key: tokens it\n"
    "signed are refused from now on (key_revoked) and it leaves the JWKS.\n"
    "Revoking the active key leaves no active key, so signing fails until\n"
    "another key is activated. Revoking a revoked key changes nothing and\n"
    "succeeds.\n"
    "\n"
    "  --reason TEXT   why, recorded with the key and in the audit log; one\n"
    "                  line, at most 255 bytes; required\n"
    "  --dry-run       print the plan (state change, JWKS kids before and\n"
    "                  after) and change nothing\n";

/* Returns whether the plan revokes the active key. */
static bool
plan_revokes_active(const kr_plan *plan)
{
    for (size_t i = 0; i < plan->n_transitions; i++) {
        if (plan->transitions[i].from == KR_STATE_ACTIVE
            && plan->transitions[i].to == KR_STATE_REVOKED)
            return true;
    }
    return false;
}

int
cmd_revoke(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"reason", required_argument, NULL, 'r'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *reason = NULL;
    bool dry_run = false;
    kr_store *store = NULL;
    kr_error err = {0};
    kr_plan plan;
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'r':
            reason = optarg;
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
                        "expected one KID; see 'keyrot revoke --help'");
    if (reason == NULL)
        return cli_fail(cli, KR_E_USAGE,
                        "--reason is required: say why the key is revoked");

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    if (kr_lifecycle_revoke(store, argv[optind], reason, dry_run, &plan, &err)
        != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    cmd_plan_print(cli, &plan, dry_run);
    if (plan_revokes_active(&plan))
        cli_warn(cli,
                 "%s no key active: sign fails until another key is "
                 "activated ('keyrot activate KID' or 'keyrot rotate')",
                 dry_run ? "this would leave" : "there is now");

out:
    kr_store_close(store);
    return status;
}
