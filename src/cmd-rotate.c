/* SPDX-License-Identifier: MIT */
/* keyrot rotate: generate a key and make it the active one in one step. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "lifecycle.h"

static const char usage[] =
    "Usage: keyrot rotate [--bits N] [--kid KID] [--overlap D]\n"
    "                     [--if-older-than D] [--dry-run]\n"
    "\n"
    "Generates a new RSA key pair and makes it the active key in one\n"
    "transaction; the previous active key becomes retiring and still\n"
    "verifies until the end of the overlap. Prints the plan: the state\n"
    "changes, their deadlines, and the JWKS kids before and after.\n"
    "Retiring keys past their deadline become retired first.\n"
    "\n"
    "  --bits N            2048, 3072 or 4096 (default: the policy's\n"
    "                      default_bits)\n"
    "  --kid KID           the new key's ID (default: k-YYYYMMDD- and the\n"
    "                      first 8 characters of its RFC 7638 thumbprint)\n"
    "  --overlap D         how long the previous key keeps verifying\n"
    "                      (default: the policy's overlap); at least\n"
    "                      max_token_ttl + leeway\n"
    "  --if-older-than D   do nothing, and exit 0, while the active key was\n"
    "                      activated less than D ago (for cron)\n"
    "  --dry-run           print the plan and change nothing; no key is\n"
    "                      generated, so without --kid the new key is\n"
    "                      shown as \"(new key)\", in --json output too\n";

typedef struct rotate_args {
    const char *kid;
    long bits; /* 0: the policy's */
    kr_rotate_options opts;
} rotate_args;

static int
args_parse(kr_cli *cli, int argc, char **argv, rotate_args *args)
{
    static const struct option options[] = {
        {"bits", required_argument, NULL, 'b'},
        {"kid", required_argument, NULL, 'k'},
        {"overlap", required_argument, NULL, 'o'},
        {"if-older-than", required_argument, NULL, 'i'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end = NULL;
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while (status == 0
           && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'b':
            args->bits = strtol(optarg, &end, 10);
            if (*end != '\0' || !cmd_bits_allowed(args->bits))
                status = cli_fail(cli, KR_E_USAGE,
                                  "--bits: invalid size '%s': use 2048, 3072 "
                                  "or 4096",
                                  optarg);
            break;
        case 'k':
            args->kid = optarg;
            if (!kr_kid_valid(optarg, strlen(optarg)))
                status = cli_fail(cli, KR_E_USAGE,
                                  "--kid: invalid kid; use 1-128 characters "
                                  "of A-Z a-z 0-9 . _ -");
            break;
        case 'o':
            status = cli_duration_arg(cli, "--overlap", optarg,
                                      &args->opts.overlap);
            break;
        case 'i':
            status = cli_duration_arg(cli, "--if-older-than", optarg,
                                      &args->opts.if_older_than);
            break;
        case 'n':
            args->opts.dry_run = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return -1;
        default:
            return cli_option_error(cli, argv);
        }
    }
    if (status == 0 && optind != argc)
        status = cli_fail(cli, KR_E_USAGE, "unexpected argument '%s'",
                          argv[optind]);
    return status;
}

int
cmd_rotate(kr_cli *cli, int argc, char **argv)
{
    rotate_args args = {.opts = {.overlap = -1, .if_older_than = -1}};
    char kid[KR_KID_SIZE] = "";
    kr_store *store = NULL;
    kr_rsakey *key = NULL;
    kr_error err = {0};
    bool due = true;
    kr_plan plan;
    int status;

    status = args_parse(cli, argc, argv, &args);
    if (status != 0)
        return status < 0 ? 0 : status;

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);
    status = cmd_bits_resolve(cli, store, &args.bits);
    if (status != 0)
        goto out;

    /* Generating a key takes long enough to be worth skipping when cron
     * runs rotate on a key that is still young. */
    if (kr_lifecycle_rotation_due(store, args.opts.if_older_than, &due, &err)
        != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    if (due && !args.opts.dry_run) {
        if (kr_rsakey_generate((unsigned)args.bits, &key, &err) != KR_OK) {
            status = cli_report(cli, &err, NULL);
            goto out;
        }
        if (args.kid != NULL)
            snprintf(kid, sizeof(kid), "%s", args.kid);
        else
            cmd_kid_default(cli, key, kid);
    }

    if (kr_lifecycle_rotate(store, key, key != NULL ? kid : args.kid,
                            &args.opts, &plan, &err)
        != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    cmd_plan_print(cli, &plan, args.opts.dry_run);

out:
    kr_rsakey_free(key);
    kr_store_close(store);
    return status;
}
