/* SPDX-License-Identifier: MIT */
/* keyrot generate: create a new RSA key pair in the store. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "lifecycle.h"

static const char usage[] =
    "Usage: keyrot generate [--kid KID] [--bits N] [--activate]\n"
    "\n"
    "Generates a new RSA key pair (e = 65537) and registers it as pending,\n"
    "so that verifiers can learn it before it signs. Prints the kid on\n"
    "stdout; with --activate, the state changes go to stderr as notes (or\n"
    "into the --json object as \"transitions\").\n"
    "\n"
    "  --kid KID    key ID, 1-128 characters of A-Z a-z 0-9 . _ -\n"
    "               (default: k-YYYYMMDD- and the first 8 characters of the\n"
    "               key's RFC 7638 thumbprint)\n"
    "  --bits N     2048, 3072 or 4096 (default: the policy's default_bits)\n"
    "  --activate   make it the active key at once; the previous active key\n"
    "               becomes retiring for the policy's overlap\n";

bool
cmd_bits_allowed(long bits)
{
    return kr_policy_bits_generated(bits);
}

int
cmd_bits_resolve(kr_cli *cli, kr_store *store, long *bits)
{
    kr_policy policy;
    kr_error err = {0};

    if (kr_store_policy_get(store, &policy, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    /* Older versions accepted any default_bits from 2048 to 16384. */
    if (*bits == 0 && !cmd_bits_allowed((long)policy.default_bits))
        return cli_fail(cli, KR_E_REFUSED,
                        "the policy's default_bits %" PRId64 " is not a size "
                        "keyrot generates (2048, 3072 or 4096); pass --bits N "
                        "or run 'keyrot policy set default_bits=N'",
                        policy.default_bits);
    if (*bits == 0)
        *bits = (long)policy.default_bits;
    if (*bits < policy.min_bits)
        return cli_fail(cli, KR_E_REFUSED,
                        "--bits %ld is below the policy's min_bits %" PRId64,
                        *bits, policy.min_bits);
    return 0;
}

void
cmd_kid_default(const kr_cli *cli, const kr_rsakey *key, char kid[KR_KID_SIZE])
{
    char thumbprint[KR_THUMBPRINT_SIZE];
    time_t t = (time_t)cli->ctx.now;
    struct tm tm;
    char date[16] = "00000000";

    kr_rsakey_thumbprint(key, thumbprint);
    if (gmtime_r(&t, &tm) != NULL)
        strftime(date, sizeof(date), "%Y%m%d", &tm);
    snprintf(kid, KR_KID_SIZE, "k-%s-%.8s", date, thumbprint);
}

/* Generates, stores and optionally activates a key. */
int
cmd_generate_run(kr_cli *cli, kr_store *store, const char *kid_arg, long bits,
                 bool activate, char kid_out[KR_KID_SIZE], kr_plan *plan)
{
    kr_rsakey *key = NULL;
    kr_error err = {0};
    const kr_rotate_options rotate = {.overlap = -1, .if_older_than = -1};
    kr_add_outcome outcome;
    kr_code rc;
    int status = 0;

    memset(plan, 0, sizeof(*plan));
    if (kr_rsakey_generate((unsigned)bits, &key, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    if (kid_arg != NULL)
        snprintf(kid_out, KR_KID_SIZE, "%s", kid_arg);
    else
        cmd_kid_default(cli, key, kid_out);

    /* With --activate the key is added and activated in one transaction,
     * as rotate does, so no other process sees it pending. */
    if (activate)
        rc = kr_lifecycle_rotate(store, key, kid_out, &rotate, plan, &err);
    else
        rc =
            kr_store_key_add(store, key, kid_out, "generated", &outcome, &err);
    if (rc != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }

out:
    kr_rsakey_free(key);
    return status;
}

int
cmd_generate(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"kid", required_argument, NULL, 'k'},
        {"bits", required_argument, NULL, 'b'},
        {"activate", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *kid_arg = NULL;
    long bits = 0;
    bool activate = false;
    char kid[KR_KID_SIZE];
    kr_store *store = NULL;
    kr_key_info info;
    kr_plan plan;
    kr_error err = {0};
    json_t *obj;
    char *end;
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'k':
            kid_arg = optarg;
            break;
        case 'b':
            bits = strtol(optarg, &end, 10);
            if (*end != '\0' || !cmd_bits_allowed(bits))
                return cli_fail(cli, KR_E_USAGE,
                                "--bits: invalid size '%s': use 2048, 3072 "
                                "or 4096",
                                optarg);
            break;
        case 'a':
            activate = true;
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
    if (kid_arg != NULL && !kr_kid_valid(kid_arg, strlen(kid_arg)))
        return cli_fail(cli, KR_E_USAGE,
                        "--kid: invalid kid; use 1-128 characters of "
                        "A-Z a-z 0-9 . _ -");

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);
    status = cmd_bits_resolve(cli, store, &bits);
    if (status != 0)
        goto out;

    status = cmd_generate_run(cli, store, kid_arg, bits, activate, kid, &plan);
    if (status != 0)
        goto out;

    /* stdout carries only the kid, for scripts; what --activate did to
     * the previously active key goes to stderr. */
    if (cli->json) {
        if (kr_store_key_get(store, kid, &info, &err) != KR_OK) {
            status = cli_report(cli, &err, NULL);
            goto out;
        }
        obj = cli_key_json(&info);
        if (activate)
            json_object_set_new(obj, "transitions",
                                cmd_plan_transitions_json(&plan));
        cli_json_print(obj, false);
    } else {
        printf("%s\n", kid);
        cmd_plan_notes_print(cli, &plan);
    }

out:
    kr_store_close(store);
    return status;
}
