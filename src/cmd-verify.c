/* SPDX-License-Identifier: MIT */
/*
 * keyrot verify: check tokens against the store's keys in the rotation
 * overlap, or against a JWKS file without any store.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "duration.h"
#include "jwk.h"
#include "jws.h"
#include "lifecycle.h"
#include "store-audit.h"

#define JWKS_FILE_MAX (1024 * 1024)
/* A stream of tokens writes its usage counters after this many tokens, or
 * this many seconds, whichever comes first, and at its end. */
#define USAGE_FLUSH_TOKENS  1000
#define USAGE_FLUSH_SECONDS 5

static const char usage[] =
    "Usage: keyrot verify [TOKEN|-] [--aud AUD] [--leeway D] [--jwks FILE]\n"
    "\n"
    "Checks one TOKEN, or one token per line from standard input (no TOKEN\n"
    "or '-'; blank lines are skipped, and no token at all is a usage\n"
    "error), and prints one result per token: 'valid: kid K ...' or\n"
    "'invalid: REASON: detail'. With --json, one object per token:\n"
    "{\"valid\":true,\"kid\":...,\"claims\":{...}} or\n"
    "{\"valid\":false,\"reason\":...,\"detail\":...}.\n"
    "Exit status 0 when every token is valid, 1 when any is not.\n"
    "\n"
    "  --aud AUD     require this audience (aud may be a string or an array)\n"
    "  --leeway D    clock skew allowed on exp, nbf and iat (default: the\n"
    "                policy's leeway)\n"
    "  --jwks FILE   verify against the keys of a JWK Set file, without a\n"
    "                store; the default policy limits apply\n"
    "\n"
    "Reasons: malformed, too_large, bad_header, alg_not_allowed,\n"
    "crit_unsupported, kid_missing, kid_unknown, key_retired, key_revoked,\n"
    "bad_signature, exp_missing, bad_claim, expired, not_yet_valid,\n"
    "iat_in_future, lifetime_too_long, aud_mismatch.\n";

/* A key looked up once per run, with the verdict of its state. */
/* How long a batch trusts a key's state before reading it again, so that
 * a revocation or rotation by another process reaches a long stream. */
#define KEY_STATE_TTL_SECONDS 5

/* A key looked up during this run. */
typedef struct cached_key {
    char kid[KR_KID_SIZE];
    kr_rsakey *key; /* public key; NULL when unknown */
    bool has_info;  /* store lookups: info contains the key's record */
    kr_key_info info;
    time_t looked_up; /* wall clock of the last store lookup */
} cached_key;

typedef struct resolver {
    kr_store *store;     /* NULL with --jwks */
    kr_jwks_entry *jwks; /* the --jwks keys */
    size_t n_jwks;
    int64_t now;
    cached_key *cache;
    size_t n_cache;
    kr_usage_batch *usage; /* NULL with --jwks */
    time_t usage_flushed;  /* when usage was last written */
} resolver;

/* (Re)reads entry's record and public key from the store. */
static kr_code
store_lookup(resolver *r, cached_key *entry, kr_error *err)
{
    kr_error lookup_err = {0};
    kr_code rc;

    kr_rsakey_free(entry->key);
    entry->key = NULL;
    entry->has_info = false;
    entry->looked_up = time(NULL);

    rc = kr_store_key_get(r->store, entry->kid, &entry->info, &lookup_err);
    if (rc == KR_E_NOTFOUND)
        return KR_OK;
    if (rc != KR_OK)
        return kr_error_set(err, rc, "%s", lookup_err.msg);
    entry->has_info = true;

    if (!kr_lifecycle_verifies(&entry->info, r->now))
        return KR_OK;
    return kr_store_key_load_public(r->store, entry->kid, &entry->key, err);
}

/* Judges a cached key at the current clock: its deadline may have passed
 * since it was looked up. */
static void
entry_judge(const resolver *r, const cached_key *entry, const kr_rsakey **key,
            kr_reason *refusal)
{
    *key = NULL;
    if (entry->has_info && entry->info.state == KR_STATE_REVOKED)
        *refusal = KR_REASON_KEY_REVOKED;
    else if (entry->has_info && !kr_lifecycle_verifies(&entry->info, r->now))
        *refusal = KR_REASON_KEY_RETIRED;
    else if (entry->key == NULL)
        *refusal = KR_REASON_KID_UNKNOWN;
    else
        *key = entry->key;
    if (*key != NULL)
        *refusal = KR_REASON_NONE;
}

static kr_code
resolve(void *ctx, const char *kid, const kr_rsakey **key, kr_reason *refusal,
        kr_error *err)
{
    resolver *r = ctx;
    cached_key *entry = NULL, *grown;
    kr_code rc;

    for (size_t i = 0; i < r->n_cache && entry == NULL; i++) {
        if (strcmp(r->cache[i].kid, kid) == 0)
            entry = &r->cache[i];
    }

    if (entry == NULL) {
        grown = realloc(r->cache, (r->n_cache + 1) * sizeof(*grown));
        if (grown == NULL)
            return kr_error_set(err, KR_E_SYSTEM, "out of memory");
        r->cache = grown;
        entry = &r->cache[r->n_cache++];
        memset(entry, 0, sizeof(*entry));
        snprintf(entry->kid, sizeof(entry->kid), "%s", kid);

        for (size_t i = 0; r->store == NULL && i < r->n_jwks; i++) {
            if (strcmp(r->jwks[i].kid, kid) == 0)
                entry->key = r->jwks[i].key;
        }
        entry->looked_up = 0;
    }

    if (r->store != NULL
        && (entry->looked_up == 0
            || time(NULL) - entry->looked_up >= KEY_STATE_TTL_SECONDS)) {
        rc = store_lookup(r, entry, err);
        if (rc != KR_OK)
            return rc;
    }

    entry_judge(r, entry, key, refusal);
    return KR_OK;
}

static void
resolver_free(resolver *r)
{
    for (size_t i = 0; r->store != NULL && i < r->n_cache; i++)
        kr_rsakey_free(r->cache[i].key);
    free(r->cache);
    kr_jwks_entries_free(r->jwks, r->n_jwks);
}

static void
verdict_print(const kr_cli *cli, kr_verdict *v)
{
    char exp[32];

    if (cli->json) {
        json_t *obj;

        if (v->reason == KR_REASON_NONE)
            obj = json_pack("{s:b, s:s, s:O}", "valid", 1, "kid", v->kid,
                            "claims", v->claims);
        else
            obj = json_pack("{s:b, s:s, s:s}", "valid", 0, "reason",
                            kr_reason_name(v->reason), "detail", v->detail);
        cli_json_print(obj, false);
        return;
    }
    if (v->reason == KR_REASON_NONE) {
        kr_time_format(v->exp, exp, sizeof(exp));
        printf("valid: kid %s, expires %s\n", v->kid, exp);
    } else {
        printf("invalid: %s: %s\n", kr_reason_name(v->reason), v->detail);
    }
}

/* Counts a verdict in the usage batch; a failure to count is reported
 * but changes no verdict. */
static void
usage_count(const kr_cli *cli, resolver *r, const kr_verdict *v,
            const char *token, size_t len)
{
    kr_usage_event ev = {
        .kind =
            v->reason == KR_REASON_NONE ? KR_USAGE_ACCEPTED : KR_USAGE_REFUSED,
        .kid = v->kid[0] != '\0' ? v->kid : NULL,
        .reason = kr_reason_name(v->reason),
        .claims = v->claims,
        .token = token,
        .token_len = len,
    };
    kr_error err = {0};

    if (r->usage != NULL && kr_usage_batch_add(r->usage, &ev, &err) != KR_OK)
        cli_warn(cli, "usage not recorded: %s", err.msg);
}

/* Writes the usage gathered so far when force is set or the batch is due. */
static void
usage_flush(const kr_cli *cli, resolver *r, bool force)
{
    kr_error err = {0};
    time_t now = time(NULL);

    if (r->usage == NULL || kr_usage_batch_pending(r->usage) == 0)
        return;
    if (!force && kr_usage_batch_pending(r->usage) < USAGE_FLUSH_TOKENS
        && now - r->usage_flushed < USAGE_FLUSH_SECONDS)
        return;
    r->usage_flushed = now;
    if (kr_usage_batch_flush(r->usage, &err) != KR_OK)
        cli_warn(cli, "usage not recorded: %s", err.msg);
}

/* Verifies one token, prints its result and counts it. Returns false when
 * the token is not valid, and sets err when the check could not run. */
static bool
token_check(const kr_cli *cli, resolver *r, const kr_verify_params *params,
            const char *token, size_t len, kr_error *err)
{
    kr_verdict v = {0};
    bool valid = false;

    if (kr_jws_verify(token, len, params, resolve, r, &v, err) == KR_OK) {
        verdict_print(cli, &v);
        usage_count(cli, r, &v, token, len);
        valid = v.reason == KR_REASON_NONE;
    }
    kr_verdict_clear(&v);
    return valid;
}

/* Reads one line of at most max_len bytes, without its line end, into buf
 * (max_len + 2 bytes). A longer line is consumed to its end and reported
 * with *len = max_len + 1, so that the verifier rejects it as too large
 * without keeping it in memory. Returns false at end of input. */
static bool
line_read(FILE *in, char *buf, size_t max_len, size_t *len)
{
    size_t used = 0;
    int c;

    while ((c = getc_unlocked(in)) != EOF && c != '\n') {
        if (used <= max_len)
            buf[used++] = (char)c;
    }
    if (c == EOF && used == 0)
        return false;

    if (used > 0 && used <= max_len && buf[used - 1] == '\r')
        used--;
    buf[used] = '\0';
    *len = used;
    return true;
}

static int
stream_check(kr_cli *cli, resolver *r, const kr_verify_params *params)
{
    char *line = NULL;
    size_t len = 0, n_tokens = 0;
    kr_verify_params step_params;
    bool all_valid = true;
    kr_error err = {0};
    int status = 0;

    line = malloc(KR_JWS_TOKEN_MAX + 2);
    if (line == NULL)
        return cli_fail(cli, KR_E_SYSTEM, "out of memory");

    while (line_read(stdin, line, KR_JWS_TOKEN_MAX, &len)) {
        if (len == 0)
            continue;
        n_tokens++;

        /* A stream may run for hours. Without --now, each token is judged
         * and counted at the time it arrives. The resolver judges key
         * deadlines at that time too and rereads key states every
         * KEY_STATE_TTL_SECONDS. */
        step_params = *params;
        if (!cli->ctx.now_overridden) {
            cli->ctx.now = (int64_t)time(NULL);
            step_params.now = cli->ctx.now;
            r->now = cli->ctx.now;
        }
        if (!token_check(cli, r, &step_params, line, len, &err))
            all_valid = false;
        if (err.code != KR_OK) {
            status = cli_report(cli, &err, NULL);
            break;
        }
        fflush(stdout);
        usage_flush(cli, r, false);
    }
    free(line);

    if (status == 0 && ferror(stdin))
        status =
            cli_fail(cli, KR_E_SYSTEM, "reading standard input failed: %s",
                     strerror(errno));
    else if (status == 0 && n_tokens == 0)
        status = cli_fail(cli, KR_E_USAGE,
                          "no token to verify: standard input was empty");
    if (status == 0 && !all_valid)
        status = KR_E_INVALID;
    return status;
}

static int
jwks_load(kr_cli *cli, const char *path, resolver *r)
{
    uint8_t *data = NULL;
    size_t len = 0;
    kr_warnings warnings = {0};
    kr_error err = {0};
    int status = 0;

    if (cli_file_read(path, JWKS_FILE_MAX, &data, &len, &err) != KR_OK)
        return cli_report(cli, &err, path);
    if (kr_jwks_parse((const char *)data, len, 2048, &r->jwks, &r->n_jwks,
                      &warnings, &err)
        != KR_OK)
        status = cli_report(cli, &err, path);
    cli_warnings_print(cli, &warnings, path);
    free(data);
    return status;
}

int
cmd_verify(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"aud", required_argument, NULL, 'a'},
        {"leeway", required_argument, NULL, 'l'},
        {"jwks", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kr_verify_params params = {.now = cli->ctx.now, .leeway = -1};
    kr_policy policy = KR_POLICY_DEFAULTS;
    resolver r = {.now = cli->ctx.now};
    const char *jwks_path = NULL;
    const char *token = NULL;
    kr_error err = {0};
    int opt, status = 0;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'a':
            params.aud = optarg;
            break;
        case 'l':
            status = cli_duration_arg(cli, "--leeway", optarg, &params.leeway);
            if (status != 0)
                return status;
            break;
        case 'j':
            jwks_path = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return cli_option_error(cli, argv);
        }
    }
    if (argc - optind > 1)
        return cli_fail(cli, KR_E_USAGE,
                        "expected at most one TOKEN; pass several on "
                        "standard input, one per line");
    if (argc - optind == 1 && strcmp(argv[optind], "-") != 0)
        token = argv[optind];

    if (jwks_path != NULL) {
        status = jwks_load(cli, jwks_path, &r);
        if (status != 0)
            goto out;
    } else if (cli_store_open(cli, &r.store, &err) != KR_OK
               || kr_store_policy_get(r.store, &policy, &err) != KR_OK
               || kr_usage_batch_new(r.store, &r.usage, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    r.usage_flushed = time(NULL);
    if (params.leeway < 0)
        params.leeway = policy.leeway;
    params.max_lifetime = policy.max_token_ttl;

    if (token == NULL) {
        status = stream_check(cli, &r, &params);
    } else if (!token_check(cli, &r, &params, token, strlen(token), &err)) {
        status =
            err.code != KR_OK ? cli_report(cli, &err, NULL) : KR_E_INVALID;
    }
    usage_flush(cli, &r, true);

out:
    kr_usage_batch_free(r.usage);
    resolver_free(&r);
    kr_store_close(r.store);
    return status;
}
