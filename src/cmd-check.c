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
    "its public key; each key's state against the newest state its audit\n"
    "records name. A store file that SQLite finds corrupt or not a\n"
    "database fails the check too. Private parts encrypted at rest are\n"
    "checked only with the store passphrase (--store-passphrase-file);\n"
    "without it they are listed as skipped, which is no failure.\n"
    "Prints one 'problem:' or 'skipped:' line each, then a summary. Reads\n"
    "only and repairs nothing. The audit chain has its own check, 'keyrot\n"
    "audit verify'.\n"
    "With --json: "
    "{\"ok\":...,\"keys\":N,\"problems\":[{\"check\":...,\"kid\":...,\n"
    "\"detail\":...}],\"skipped\":[{\"check\":...,\"kid\":...,\"detail\":...}]"
    "}.\n";

/* Returns a list of problems or skipped checks as a JSON array. */
static json_t *
entries_json(const kr_check_problem *entries, size_t n_entries)
{
    json_t *array = json_array();

    for (size_t i = 0; i < n_entries; i++) {
        const kr_check_problem *p = &entries[i];

        json_array_append_new(
            array, json_pack("{s:s, s:o, s:s}", "check", p->check, "kid",
                             p->kid[0] ? json_string(p->kid) : json_null(),
                             "detail", p->detail));
    }
    return array;
}

static void
report_json_print(const kr_check_report *report)
{
    cli_json_print(
        json_pack("{s:b, s:I, s:o, s:o}", "ok", report->n_problems == 0,
                  "keys", (json_int_t)report->n_keys, "problems",
                  entries_json(report->problems, report->n_problems),
                  "skipped", entries_json(report->skipped, report->n_skipped)),
        false);
}

static void
entries_print(const char *label, const kr_check_problem *entries,
              size_t n_entries)
{
    for (size_t i = 0; i < n_entries; i++) {
        const kr_check_problem *p = &entries[i];

        printf("%s: %s: %s%s%s\n", label, p->check, p->kid,
               p->kid[0] ? ": " : "", p->detail);
    }
}

static const char *
plural(size_t n)
{
    return n == 1 ? "" : "s";
}

static void
report_print(const kr_check_report *report)
{
    char skipped[64] = "";

    entries_print("problem", report->problems, report->n_problems);
    entries_print("skipped", report->skipped, report->n_skipped);
    if (report->n_skipped > 0)
        snprintf(skipped, sizeof(skipped), ", %zu check%s skipped",
                 report->n_skipped, plural(report->n_skipped));

    if (report->damaged)
        printf("failed: the store file is damaged, so the checks stopped "
               "there; %zu problem%s found\n",
               report->n_problems, plural(report->n_problems));
    else if (report->n_problems > 0)
        printf("failed: %zu problem%s in %zu key%s%s\n", report->n_problems,
               plural(report->n_problems), report->n_keys,
               plural(report->n_keys), skipped);
    else if (report->n_skipped > 0)
        printf("ok: %zu key%s checked%s; every check that ran holds\n",
               report->n_keys, plural(report->n_keys), skipped);
    else
        printf("ok: %zu keys checked; every check holds\n", report->n_keys);
}

/* Opens the store, or, when SQLite finds the file damaged, fills report
 * with that problem and leaves *store NULL. Returns an exit status. */
static int
store_open_or_damage(kr_cli *cli, kr_store **store, kr_check_report *report)
{
    kr_error err = {0}, probe_err = {0};

    if (cli_store_open(cli, store, &err) == KR_OK)
        return 0;
    if (err.code != KR_E_SYSTEM)
        return cli_report(cli, &err, NULL);
    if (kr_store_check_file(cli->store_path, report, &probe_err) != KR_OK)
        return cli_report(cli, &probe_err, NULL);
    if (!report->damaged)
        return cli_report(cli, &err, NULL);
    return 0;
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

    status = store_open_or_damage(cli, &store, &report);
    if (status != 0)
        goto out;

    if (store != NULL && kr_store_check(store, &report, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    if (cli->json)
        report_json_print(&report);
    else
        report_print(&report);
    if (report.n_problems > 0)
        status = cli_fail(cli, KR_E_INVALID, "the store failed %zu check%s",
                          report.n_problems, plural(report.n_problems));

out:
    kr_check_report_clear(&report);
    kr_store_close(store);
    return status;
}
