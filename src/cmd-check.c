/* SPDX-License-Identifier: MIT */
/* keyrot check: check the store's integrity and invariants. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "store-check.h"

static const char usage[] =
    "Usage: keyrot check\n"
    "\n"
    "Checks the store and exits 0 when every check holds, 1 when any fails:\n"
    "SQLite's integrity check of pages and indexes; at most one active key;\n"
    "timestamps that match each key's state; each key's thumbprint and size\n"
    "against its stored n and e; each private part parses and belongs to\n"
    "its public key. Prints one line per problem, then a summary. Reads\n"
    "only and repairs nothing. The audit chain has its own check, 'keyrot\n"
    "audit verify'.\n"
    "With --json: {\"ok\":...,\"keys\":N,\"problems\":[{\"check\":...,\"kid\":...,\n"
    "\"detail\":...}]}.\n";

static void
report_json_print(const kr_check_report *report)
{
    json_t *problems = json_array();

    for (size_t i = 0; i < report->n_problems; i++) {
        const kr_check_problem *p = &report->problems[i];

        json_array_append_new(
            problems, json_pack("{s:s, s:o, s:s}", "check", p->check, "kid",
                                p->kid[0] ? json_string(p->kid) : json_null(),
                                "detail", p->detail));
    }
    cli_json_print(json_pack("{s:b, s:I, s:o}", "ok", report->n_problems == 0,
                             "keys", (json_int_t)report->n_keys, "problems",
                             problems),
                   false);
}

static void
report_print(const kr_check_report *report)
{
    for (size_t i = 0; i < report->n_problems; i++) {
        const kr_check_problem *p = &report->problems[i];

        printf("problem: %s: %s%s%s\n", p->check, p->kid,
               p->kid[0] ? ": " : "", p->detail);
    }
    if (report->n_problems == 0)
        printf("ok: %zu keys checked; every check holds\n", report->n_keys);
    else
        printf("failed: %zu problems in %zu keys\n", report->n_problems,
               report->n_keys);
}

int
cmd_check(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kr_check_report report = {0};
    kr_store *store = NULL;
    kr_error err = {0};
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
    if (optind != argc)
        return cli_fail(cli, KR_E_USAGE, "unexpected argument '%s'",
                        argv[optind]);

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    if (kr_store_check(store, &report, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    if (cli->json)
        report_json_print(&report);
    else
        report_print(&report);
    if (report.n_problems > 0)
        status = cli_fail(cli, KR_E_INVALID, "the store failed %zu check%s",
                          report.n_problems, report.n_problems == 1 ? "" : "s");

out:
    kr_check_report_clear(&report);
    kr_store_close(store);
    return status;
}
