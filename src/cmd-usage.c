/* SPDX-License-Identifier: MIT */
/*
 * keyrot usage: what each key did, per audience: tokens signed, the latest
 * exp minted, verifications accepted and refused by reason, the first and
 * last accepted use, and the latest accepted token issued after its key
 * stopped being active. Also the usage part of `keyrot show KID`. The
 * counters are store-usage.c's.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "duration.h"
#include "store-audit.h"

static const char usage_help[] =
    "Usage: keyrot usage [--kid KID] [--since T]\n"
    "\n"
    "Shows, per key and audience: tokens signed and the latest exp minted;\n"
    "verifications accepted, with the first and last one; verifications\n"
    "refused, by reason; and the latest accepted token that was issued\n"
    "after its key stopped being active (a system still signing with an\n"
    "old key). Times are the clock the commands ran with (--now when\n"
    "given). With --json, prints one JSON array.\n"
    "\n"
    "  --kid KID   only this key; a kid that names no key in the store\n"
    "              exits 3. '-' selects what was counted without a known\n"
    "              kid\n"
    "  --since T   only what happened from the UTC day of T on (Unix\n"
    "              seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ); the\n"
    "              counters are kept per day\n"
    "\n"
    "The audience is the token's aud claim; '-' stands for none, and for\n"
    "refused tokens whose signature was not checked. A refused token whose\n"
    "kid is missing, malformed or not in the store counts under kid '-'.\n"
    "The policy setting usage_counters=0 stops counting; usage_records=1\n"
    "adds one audit record per token (its SHA-256, never the token).\n";

/* The table's rendering of the empty kid (tokens counted without a known
 * kid), which --kid also takes to select them. */
#define KID_PLACEHOLDER "-"

static json_t *
time_json(int64_t t)
{
    return t == 0 ? json_null() : json_integer(t);
}

static json_t *
text_or_null(const char *text)
{
    return text[0] == '\0' ? json_null() : json_string(text);
}

/* Returns the JSON form of one row (a new reference). */
static json_t *
row_json(const kr_usage_row *r)
{
    json_t *reasons = json_object();
    json_t *late = json_null();

    for (size_t i = 0; i < r->n_reasons; i++)
        json_object_set_new(reasons, r->refused[i].reason,
                            json_integer(r->refused[i].n));
    if (r->late_accepted_at != 0)
        late = json_pack("{s:I, s:I}", "iat", (json_int_t)r->late_iat,
                         "accepted_at", (json_int_t)r->late_accepted_at);
    return json_pack(
        "{s:o, s:o, s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:I, s:o,"
        " s:o}",
        "kid", text_or_null(r->kid), "aud", text_or_null(r->aud), "signed",
        (json_int_t)r->n_signed, "last_exp", time_json(r->last_exp),
        "first_signed_at", time_json(r->first_signed_at), "last_signed_at",
        time_json(r->last_signed_at), "accepted", (json_int_t)r->n_accepted,
        "first_accepted_at", time_json(r->first_accepted_at),
        "last_accepted_at", time_json(r->last_accepted_at), "refused",
        (json_int_t)r->n_refused, "refused_by_reason", reasons, "late", late);
}

static json_t *
rows_json(const kr_usage_row *rows, size_t n_rows)
{
    json_t *array = json_array();

    for (size_t i = 0; i < n_rows; i++)
        json_array_append_new(array, row_json(&rows[i]));
    return array;
}

static const char *
dash_if_empty(const char *text)
{
    return text[0] == '\0' ? "-" : text;
}

/* Writes "expired=2 bad_signature=1" into out. */
static void
reasons_format(const kr_usage_row *r, char *out, size_t out_size)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < r->n_reasons && used < out_size; i++) {
        int n = snprintf(out + used, out_size - used, "%s%s=%" PRId64,
                         i ? " " : "", r->refused[i].reason, r->refused[i].n);

        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Prints the evidence of a late token under the table, if any. */
static void
late_print(const kr_usage_row *r)
{
    char iat[32], at[32];

    if (r->late_accepted_at == 0)
        return;
    kr_time_format(r->late_iat, iat, sizeof(iat));
    kr_time_format(r->late_accepted_at, at, sizeof(at));
    printf("late token: kid %s, audience %s: issued %s, after the key "
           "stopped being active, and accepted %s\n",
           dash_if_empty(r->kid), dash_if_empty(r->aud), iat, at);
}

static void
table_print(const kr_usage_row *rows, size_t n_rows)
{
    char exp[32], first[32], last[32], reasons[512];

    printf("%-24s %-24s %8s %-20s %8s %-20s %-20s %8s %s\n", "KID", "AUDIENCE",
           "SIGNED", "LAST_EXP", "ACCEPTED", "FIRST_ACCEPTED", "LAST_ACCEPTED",
           "REFUSED", "REASONS");
    for (size_t i = 0; i < n_rows; i++) {
        const kr_usage_row *r = &rows[i];

        kr_time_format(r->last_exp, exp, sizeof(exp));
        kr_time_format(r->first_accepted_at, first, sizeof(first));
        kr_time_format(r->last_accepted_at, last, sizeof(last));
        reasons_format(r, reasons, sizeof(reasons));
        printf("%-24s %-24s %8" PRId64 " %-20s %8" PRId64
               " %-20s %-20s %8" PRId64 " %s\n",
               dash_if_empty(r->kid), dash_if_empty(r->aud), r->n_signed, exp,
               r->n_accepted, first, last, r->n_refused, reasons);
    }
    for (size_t i = 0; i < n_rows; i++)
        late_print(&rows[i]);
}

int
cmd_usage_show(const kr_cli *cli, kr_store *store, const char *kid,
               json_t *key_obj)
{
    kr_usage_row *rows = NULL;
    size_t n_rows = 0;
    kr_error err = {0};
    char exp[32], last[32], reasons[512];

    if (kr_store_usage_list(store, kid, 0, &rows, &n_rows, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    if (key_obj != NULL) {
        json_object_set_new(key_obj, "usage", rows_json(rows, n_rows));
        free(rows);
        return 0;
    }
    if (n_rows == 0)
        printf("%-15s %s\n", "usage:", "none recorded");
    for (size_t i = 0; i < n_rows; i++) {
        const kr_usage_row *r = &rows[i];

        kr_time_format(r->last_exp, exp, sizeof(exp));
        kr_time_format(r->last_accepted_at, last, sizeof(last));
        reasons_format(r, reasons, sizeof(reasons));
        printf("%-15s audience %s: signed %" PRId64 " (last exp %s), "
               "accepted %" PRId64 " (last %s), refused %" PRId64 "%s%s%s\n",
               "usage:", dash_if_empty(r->aud), r->n_signed, exp,
               r->n_accepted, last, r->n_refused, r->n_reasons ? " (" : "",
               reasons, r->n_reasons ? ")" : "");
    }
    for (size_t i = 0; i < n_rows; i++)
        late_print(&rows[i]);
    free(rows);
    return 0;
}

int
cmd_usage(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"kid", required_argument, NULL, 'k'},
        {"since", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *kid = NULL;
    int64_t since = 0;
    kr_store *store = NULL;
    kr_usage_row *rows = NULL;
    size_t n_rows = 0;
    kr_key_info info;
    kr_error err = {0};
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while (status == 0
           && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'k':
            kid = optarg;
            if (strcmp(kid, KID_PLACEHOLDER) != 0)
                status = cmd_kid_arg(cli, "--kid", kid);
            break;
        case 's':
            status = cmd_time_arg(cli, "--since", optarg, &since);
            break;
        case 'h':
            fputs(usage_help, stdout);
            return 0;
        default:
            return cli_option_error(cli, argv);
        }
    }
    if (status != 0)
        return status;
    if (optind != argc)
        return cli_fail(cli, KR_E_USAGE,
                        "unexpected argument '%s'; see 'keyrot usage --help'",
                        argv[optind]);

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    /* Keys are never deleted, so a kid without a key is a typo. The
     * placeholder selects the empty kid that the counters keep. It shadows
     * a key whose kid is '-' itself, but the full listing still shows that
     * key's rows. */
    if (kid != NULL && strcmp(kid, KID_PLACEHOLDER) == 0)
        kid = "";
    else if (kid != NULL
             && kr_store_key_get(store, kid, &info, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }

    if (kr_store_usage_list(store, kid, since, &rows, &n_rows, &err)
        != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }

    if (cli->json)
        cli_json_print(rows_json(rows, n_rows), false);
    else if (n_rows == 0)
        fprintf(stderr, "keyrot: usage: no usage recorded%s\n",
                kid || since ? " for this selection" : "");
    else
        table_print(rows, n_rows);

out:
    free(rows);
    kr_store_close(store);
    return status;
}
