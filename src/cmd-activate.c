/* SPDX-License-Identifier: MIT */
/* keyrot activate: switch the active key. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "duration.h"
#include "lifecycle.h"

static const char usage[] =
    "Usage: keyrot activate KID [--overlap D] [--dry-run]\n"
    "\n"
    "Makes KID the key that signs. The previously active key becomes\n"
    "retiring: it still verifies until the end of the overlap. KID may be\n"
    "pending, or retiring before its deadline (a rollback). Activating the\n"
    "active key changes nothing and succeeds.\n"
    "\n"
    "  --overlap D   how long the previous key keeps verifying (default: the\n"
    "                policy's overlap); at least max_token_ttl + leeway\n"
    "  --dry-run     print the plan and change nothing\n";

/* Prints what a plan did or would do. */
void
cmd_plan_print(const kr_cli *cli, const kr_plan *plan, bool dry_run)
{
    json_t *obj, *changes;

    if (cli->json) {
        changes = json_array();
        for (size_t i = 0; i < plan->n_transitions; i++) {
            const kr_transition *t = &plan->transitions[i];
            json_t *change = json_pack("{s:s, s:s, s:s}", "kid", t->kid,
                                       "from", kr_state_name(t->from), "to",
                                       kr_state_name(t->to));

            if (t->to == KR_STATE_RETIRING)
                json_object_set_new(change, "retire_after",
                                    json_integer(t->retire_after));
            json_array_append_new(changes, change);
        }
        obj = json_pack("{s:b, s:b, s:o}", "dry_run", dry_run, "changed",
                        plan->changed, "transitions", changes);
        cli_json_print(obj, false);
        return;
    }

    if (!plan->changed) {
        printf("nothing to do: already in effect\n");
        return;
    }
    for (size_t i = 0; i < plan->n_transitions; i++) {
        const kr_transition *t = &plan->transitions[i];
        char deadline[32];

        printf("%s%s: %s -> %s", dry_run ? "would change " : "", t->kid,
               kr_state_name(t->from), kr_state_name(t->to));
        if (t->to == KR_STATE_RETIRING) {
            kr_time_format(t->retire_after, deadline, sizeof(deadline));
            printf(" (verifies until %s)", deadline);
        }
        printf("\n");
    }
}

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

    if (!dry_run && kr_lifecycle_tick(store, NULL, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
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
