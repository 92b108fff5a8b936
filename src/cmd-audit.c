/* SPDX-License-Identifier: MIT */
/*
 * keyrot audit: list the event log, check its hash chain (audit verify),
 * and move old records to an archive file behind a chained checkpoint
 * (audit archive). The chain and its rules are store-audit.c's.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "duration.h"
#include "store-audit.h"
#include "store-check.h"

/* The help, in two parts around the list of events (from the table in
 * store-audit.c). */
static const char usage_head[] =
    "Usage: keyrot audit [--kid KID] [--event EVENT] [--since T] [--until T]\n"
    "       keyrot audit verify [--anchor SEQ:HASH]\n"
    "       keyrot audit archive --before T --out FILE\n"
    "\n"
    "Lists the audit log, oldest first: sequence number, wall-clock time,\n"
    "the --now time the command ran with (when given), actor (user@host),\n"
    "event, kid and details. With --json, one JSON object per line.\n"
    "\n"
    "  --kid KID       only records about this key; a kid that names no key\n"
    "                  in the store exits 3\n"
    "  --event EVENT   only this event, one of those listed below; another\n"
    "                  name exits 2\n"
    "  --since T       only records written at or after T\n"
    "  --until T       only records written before T\n"
    "T is Unix seconds, or UTC as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, and is\n"
    "compared with the wall-clock time of each record.\n"
    "\n"
    "Events:\n";

static const char usage_tail[] =
    "\n"
    "audit verify recomputes the hash chain and exits 1 naming the first bad\n"
    "record when a record was edited, deleted, inserted or reordered, or the\n"
    "newest records were removed. It prints the head as SEQ:HASH; keep that\n"
    "outside the store and pass it later as --anchor to also detect a log\n"
    "rewritten with recomputed hashes up to that record. When the chain is\n"
    "intact, it also compares each key's state with the newest state its\n"
    "records name, and exits 1 with one 'problem:' line per key that\n"
    "differs (a key row edited behind keyrot's back; --json:\n"
    "\"state_problems\":[{\"kid\":...,\"detail\":...}]).\n"
    "\n"
    "audit archive writes the records older than T to FILE (JSON lines; FILE\n"
    "must not exist), then removes them from the store behind a chained\n"
    "audit_archive record holding the last archived hash, so that the chain\n"
    "still verifies. It refuses to archive a broken chain.\n";

static void
usage_print(void)
{
    const kr_audit_event_info *events;
    size_t n_events;

    fputs(usage_head, stdout);
    events = kr_audit_events(&n_events);
    for (size_t i = 0; i < n_events; i++)
        printf("  %-16s%s\n", events[i].name, events[i].summary);
    fputs(usage_tail, stdout);
}

/* Converts a UTC date and time to Unix seconds; false when a field is out
 * of range (timegm would silently carry 2026-02-31 into March). */
static bool
utc_seconds(int year, int mon, int day, int hour, int min, int sec, int64_t *t)
{
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = mon - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = min,
                    .tm_sec = sec};
    struct tm back;
    time_t seconds = timegm(&tm);

    if (seconds < 0 || gmtime_r(&seconds, &back) == NULL
        || back.tm_year != year - 1900 || back.tm_mon != mon - 1
        || back.tm_mday != day || back.tm_hour != hour || back.tm_min != min
        || back.tm_sec != sec)
        return false;
    *t = (int64_t)seconds;
    return true;
}

/* Parses T: Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC). */
int
cmd_time_arg(const kr_cli *cli, const char *option, const char *text,
             int64_t *t)
{
    int year, mon, day, hour = 0, min = 0, sec = 0, used = 0;
    char *end = NULL;
    long long value;
    size_t len = strlen(text);

    if (len > 0 && strspn(text, "0123456789") == len) {
        errno = 0;
        value = strtoll(text, &end, 10);
        if (errno == 0 && value <= 253402300799LL) {
            *t = value;
            return 0;
        }
    } else if (len == 10
               && sscanf(text, "%4d-%2d-%2d%n", &year, &mon, &day, &used) == 3
               && used == 10) {
        if (utc_seconds(year, mon, day, 0, 0, 0, t))
            return 0;
    } else if (len == 20
               && sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &year, &mon, &day,
                         &hour, &min, &sec, &used)
                      == 6
               && used == 20) {
        if (utc_seconds(year, mon, day, hour, min, sec, t))
            return 0;
    }
    return cli_fail(cli, KR_E_USAGE,
                    "%s: invalid time '%s': expected Unix seconds, "
                    "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ",
                    option, text);
}

int
cmd_kid_arg(const kr_cli *cli, const char *option, const char *text)
{
    char shown[2 * KR_KID_SIZE];

    if (kr_kid_valid(text, strlen(text)))
        return 0;
    kr_kid_escape(text, strlen(text), shown, sizeof(shown));
    return cli_fail(cli, KR_E_USAGE,
                    "%s: %s is not a valid key ID: expected 1 to %d of "
                    "A-Z a-z 0-9 . _ -",
                    option, shown, KR_KID_MAX);
}

/* --- audit (the list) ---------------------------------------------------- */

/* Checks --event against the events keyrot writes, so that a misspelt
 * name is an error instead of an empty listing. */
static int
event_arg(const kr_cli *cli, const char *text)
{
    if (kr_audit_event_find(text) != NULL)
        return 0;
    return cli_fail(cli, KR_E_USAGE,
                    "--event: unknown event '%s'; 'keyrot audit --help' "
                    "lists the events",
                    text);
}

typedef struct list_state {
    const kr_cli *cli;
    size_t n_printed;
} list_state;

static kr_code
record_print(void *ctx, const kr_audit_record *rec, kr_error *err)
{
    list_state *state = ctx;
    char at[32], clock[32];

    if (state->cli->json) {
        json_t *obj = kr_audit_record_json(rec);

        if (obj == NULL)
            return kr_error_set(err, KR_E_INVALID,
                                "audit record %" PRId64 " has details that "
                                "are not JSON; see 'keyrot audit verify'",
                                rec->seq);
        cli_json_print(obj, false);
        state->n_printed++;
        return KR_OK;
    }

    if (state->n_printed++ == 0)
        printf("%-6s %-20s %-20s %-24s %-14s %-24s %s\n", "SEQ", "TIME",
               "CLOCK", "ACTOR", "EVENT", "KID", "DETAILS");
    kr_time_format(rec->at, at, sizeof(at));
    if (rec->has_clock)
        kr_time_format(rec->clock, clock, sizeof(clock));
    else
        snprintf(clock, sizeof(clock), "-");
    printf("%-6" PRId64 " %-20s %-20s %-24s %-14s %-24s %s\n", rec->seq, at,
           clock, rec->actor, rec->event, rec->kid ? rec->kid : "-",
           rec->details);
    return KR_OK;
}

static int
audit_list(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"kid", required_argument, NULL, 'k'},
        {"event", required_argument, NULL, 'e'},
        {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kr_audit_filter filter = {0};
    list_state state = {.cli = cli};
    kr_key_info info;
    kr_store *store = NULL;
    kr_error err = {0};
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while (status == 0
           && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'k':
            filter.kid = optarg;
            status = cmd_kid_arg(cli, "--kid", optarg);
            break;
        case 'e':
            filter.event = optarg;
            status = event_arg(cli, optarg);
            break;
        case 's':
            status = cmd_time_arg(cli, "--since", optarg, &filter.since);
            break;
        case 'u':
            status = cmd_time_arg(cli, "--until", optarg, &filter.until);
            break;
        case 'h':
            usage_print();
            return 0;
        default:
            return cli_option_error(cli, argv);
        }
    }
    if (status != 0)
        return status;
    if (optind != argc)
        return cli_fail(cli, KR_E_USAGE,
                        "unexpected argument '%s'; see 'keyrot audit --help'",
                        argv[optind]);

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);
    /* Keys are never deleted, so a kid without a key is a typo. */
    if ((filter.kid != NULL
         && kr_store_key_get(store, filter.kid, &info, &err) != KR_OK)
        || kr_store_audit_each(store, &filter, record_print, &state, &err)
               != KR_OK)
        status = cli_report(cli, &err, NULL);
    else if (state.n_printed == 0 && !cli->json)
        fprintf(stderr, "keyrot: audit: no audit record matches\n");

    kr_store_close(store);
    return status;
}

/* --- audit verify -------------------------------------------------------- */

/* Parses --anchor SEQ:HASH as printed by audit verify. */
static int
anchor_parse(const kr_cli *cli, const char *text, int64_t *seq,
             char hash[KR_AUDIT_HASH_SIZE])
{
    const char *colon = strchr(text, ':');
    char *end = NULL;
    long long value;

    errno = 0;
    value = strtoll(text, &end, 10);
    if (colon == NULL || end != colon || errno != 0 || value <= 0
        || strlen(colon + 1) != KR_AUDIT_HASH_SIZE - 1
        || strspn(colon + 1, "0123456789abcdefABCDEF")
               != KR_AUDIT_HASH_SIZE - 1)
        return cli_fail(cli, KR_E_USAGE,
                        "--anchor: expected SEQ:HASH as printed by 'keyrot "
                        "audit verify', got '%s'",
                        text);
    *seq = value;

    /* keyrot prints lowercase hex; a head copied through a tool that
     * writes uppercase is the same hash. */
    for (size_t i = 0; i < KR_AUDIT_HASH_SIZE; i++)
        hash[i] = (char)tolower((unsigned char)colon[1 + i]);
    return 0;
}

/* Returns the keys whose state contradicts the log as a JSON array. */
static json_t *
state_problems_json(const kr_check_report *states)
{
    json_t *array = json_array();

    for (size_t i = 0; i < states->n_problems; i++)
        json_array_append_new(
            array, json_pack("{s:s, s:s}", "kid", states->problems[i].kid,
                             "detail", states->problems[i].detail));
    return array;
}

/* Prints the chain's verdict and, for an intact chain, the keys whose
 * state contradicts it. */
static void
check_print(const kr_cli *cli, const kr_audit_check *c,
            const kr_check_report *states)
{
    json_t *obj;

    if (cli->json) {
        obj =
            json_pack("{s:b, s:I, s:I, s:I, s:s}", "intact", c->intact,
                      "records", (json_int_t)c->n_records, "archived_through",
                      (json_int_t)c->pruned_seq, "head_seq",
                      (json_int_t)c->head_seq, "head_hash", c->head_hash);
        if (obj != NULL && !c->intact) {
            json_object_set_new(obj, "bad_seq", json_integer(c->bad_seq));
            json_object_set_new(obj, "problem", json_string(c->problem));
        }
        if (obj != NULL && c->intact)
            json_object_set_new(obj, "state_problems",
                                state_problems_json(states));
        cli_json_print(obj, false);
        return;
    }
    if (!c->intact) {
        printf("broken: %s\n", c->problem);
        return;
    }
    printf("intact: %" PRId64 " records", c->n_records);
    if (c->pruned_seq > 0)
        printf(" after the archived records 1 to %" PRId64, c->pruned_seq);
    printf("; head %" PRId64 ":%s\n", c->head_seq, c->head_hash);
    for (size_t i = 0; i < states->n_problems; i++)
        printf("problem: %s: %s\n", states->problems[i].kid,
               states->problems[i].detail);
}

static int
audit_verify(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"anchor", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char anchor_hash[KR_AUDIT_HASH_SIZE] = "";
    int64_t anchor_seq = 0;
    kr_check_report states = {0};
    kr_store *store = NULL;
    kr_audit_check check;
    kr_error err = {0};
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            usage_print();
            return 0;
        }
        if (opt != 'a')
            return cli_option_error(cli, argv);
        status = anchor_parse(cli, optarg, &anchor_seq, anchor_hash);
        if (status != 0)
            return status;
    }
    if (optind != argc)
        return cli_fail(cli, KR_E_USAGE, "unexpected argument '%s'",
                        argv[optind]);

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);
    if (kr_store_audit_verify(store, anchor_seq, anchor_hash, &check, &err)
            != KR_OK
        || (check.intact
            && kr_store_check_history(store, &states, &err) != KR_OK)) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    check_print(cli, &check, &states);
    if (!check.intact)
        status = KR_E_INVALID;
    else if (states.n_problems > 0)
        status = cli_fail(cli, KR_E_INVALID,
                          "the chain is intact, but %zu key%s contradict%s "
                          "it; the store was edited by other means",
                          states.n_problems, states.n_problems == 1 ? "" : "s",
                          states.n_problems == 1 ? "s" : "");

out:
    kr_check_report_clear(&states);
    kr_store_close(store);
    return status;
}

/* --- audit archive ------------------------------------------------------- */

static void
archived_print(const kr_cli *cli, const kr_audit_archived *a, const char *path)
{
    if (cli->json) {
        cli_json_print(json_pack("{s:I, s:I, s:I, s:s, s:I, s:s?}", "records",
                                 (json_int_t)a->n_records, "first_seq",
                                 (json_int_t)a->first_seq, "through_seq",
                                 (json_int_t)a->through_seq, "through_hash",
                                 a->through_hash, "checkpoint_seq",
                                 (json_int_t)a->checkpoint_seq, "file",
                                 a->n_records > 0 ? path : NULL),
                       false);
        return;
    }
    if (a->n_records == 0) {
        printf("nothing archived: no record is older than the given time\n");
        return;
    }
    printf("archived records %" PRId64 " to %" PRId64 " (%" PRId64
           ") to %s; checkpoint record %" PRId64 "\n",
           a->first_seq, a->through_seq, a->n_records, path,
           a->checkpoint_seq);
}

static int
audit_archive(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"before", required_argument, NULL, 'b'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    int64_t before = -1;
    kr_store *store = NULL;
    kr_audit_archived archived;
    kr_error err = {0};
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while (status == 0
           && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'b':
            status = cmd_time_arg(cli, "--before", optarg, &before);
            break;
        case 'o':
            path = optarg;
            break;
        case 'h':
            usage_print();
            return 0;
        default:
            return cli_option_error(cli, argv);
        }
    }
    if (status != 0)
        return status;
    if (optind != argc)
        return cli_fail(cli, KR_E_USAGE, "unexpected argument '%s'",
                        argv[optind]);
    if (before < 0 || path == NULL)
        return cli_fail(cli, KR_E_USAGE,
                        "audit archive needs --before T and --out FILE");

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);
    if (kr_store_audit_archive(store, before, path, &archived, &err) != KR_OK)
        status = cli_report(cli, &err, NULL);
    else
        archived_print(cli, &archived, path);

    kr_store_close(store);
    return status;
}

int
cmd_audit(kr_cli *cli, int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "verify") == 0) {
        cli->command = "audit verify";
        return audit_verify(cli, argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "archive") == 0) {
        cli->command = "audit archive";
        return audit_archive(cli, argc - 1, argv + 1);
    }
    return audit_list(cli, argc, argv);
}
