/* SPDX-License-Identifier: MIT */
/* keyrot sign and keyrot header: mint a token with the active key. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "jws.h"
#include "store-audit.h"
#include "store-history.h"
#include "token-cache.h"

/* Largest --claims file accepted, in bytes. */
#define CLAIMS_FILE_MAX (64 * 1024)
#define AUD_MAX         16

static const char sign_usage[] =
    "Usage: keyrot sign [--aud AUD]... [--ttl D] [--claim NAME=VALUE]...\n"
    "                   [--claims FILE] [--cache FILE]\n"
    "                   [--cache-min-remaining PERCENT]\n"
    "\n"
    "Prints one RS256 token signed by the active key, with the header\n"
    "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":KID} and the claims aud, iat "
    "(now)\n"
    "and exp (now + ttl), then any others given.\n"
    "\n"
    "  --aud AUD           audience (the project ID); repeat for several,\n"
    "                      which are signed as an array\n"
    "  --ttl D             lifetime, such as 300, 5m (default: the policy's\n"
    "                      token_ttl; at most its max_token_ttl)\n"
    "  --claim NAME=VALUE  an extra claim; VALUE is read as JSON when it is\n"
    "                      a number, true, false, null, an object or an\n"
    "                      array, else as a string\n"
    "  --claims FILE       extra claims from a JSON object file\n"
    "  --cache FILE        print the token cached in FILE while it was made\n"
    "                      for the same options and store, its key is still\n"
    "                      the active one, and at least half of its lifetime\n"
    "                      is left; else sign a new one and cache it. FILE\n"
    "                      (and FILE.lock) get mode 0600; concurrent callers\n"
    "                      share one renewal\n"
    "  --cache-min-remaining PERCENT\n"
    "                      the share of the lifetime that must be left to\n"
    "                      reuse a cached token, 1-100 (default 50)\n"
    "iat and exp are always set by keyrot; iat is the global --now when it\n"
    "is given. At most 16 audiences; the claims may take up to 8192 bytes\n"
    "of JSON. FILE may be '-' for standard input.\n";

static const char header_usage[] =
    "Usage: keyrot header [same options as sign]\n"
    "\n"
    "Prints 'Authorization: Bearer TOKEN' for curl -H and scripts.\n";

typedef struct sign_args {
    const char *auds[AUD_MAX];
    size_t n_auds;
    int64_t ttl;            /* -1: the policy's */
    json_t *extra;          /* claims from --claims and --claim, owned */
    const char *cache_path; /* --cache, or NULL */
    unsigned cache_min_pct; /* --cache-min-remaining */
    bool cache_min_given;   /* whether --cache-min-remaining was given */
} sign_args;

/* Parses VALUE of --claim: JSON for numbers, literals, objects and arrays,
 * else the text as a string. */
static json_t *
claim_value(const char *text)
{
    json_t *value;
    json_error_t jerr;

    value = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (value != NULL && !json_is_string(value))
        return value;
    json_decref(value);
    return json_string(text);
}

static int
claim_add(kr_cli *cli, json_t *claims, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char name[256];
    json_t *value;

    if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(name))
        return cli_fail(cli, KR_E_USAGE,
                        "--claim: expected NAME=VALUE, got '%s'", arg);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';

    value = claim_value(eq + 1);
    if (value == NULL)
        return cli_fail(cli, KR_E_USAGE, "--claim %s: invalid value", name);
    json_object_set_new(claims, name, value);
    return 0;
}

static int
claims_file_add(kr_cli *cli, json_t *claims, const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *loaded = NULL;
    json_error_t jerr;
    kr_error err = {0};
    int status = 0;

    if (cli_file_read(path, CLAIMS_FILE_MAX, &data, &len, &err) != KR_OK)
        return cli_report(cli, &err, path);

    loaded =
        json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (loaded == NULL) {
        status = cli_fail(cli, KR_E_INPUT, "%s: invalid JSON at line %d: %s",
                          path, jerr.line, jerr.text);
        goto out;
    }
    if (!json_is_object(loaded)) {
        status = cli_fail(cli, KR_E_INPUT,
                          "%s: the claims file must hold a JSON object", path);
        goto out;
    }
    if (json_object_get(loaded, "iat") != NULL
        || json_object_get(loaded, "exp") != NULL) {
        status = cli_fail(cli, KR_E_INPUT,
                          "%s: iat and exp are set by keyrot; remove them "
                          "and use --ttl for the lifetime",
                          path);
        goto out;
    }
    json_object_update(claims, loaded);

out:
    json_decref(loaded);
    free(data);
    return status;
}

/* Parses --cache-min-remaining: 1 to 100, with or without '%'. */
static int
percent_arg(kr_cli *cli, const char *text, unsigned *pct)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);

    if (end != NULL && *end == '%')
        end++;
    if (end == text || *end != '\0' || value < 1 || value > 100)
        return cli_fail(cli, KR_E_USAGE,
                        "--cache-min-remaining: invalid percentage '%s': use "
                        "1 to 100",
                        text);
    *pct = (unsigned)value;
    return 0;
}

static int
args_parse(kr_cli *cli, int argc, char **argv, const char *usage,
           sign_args *args)
{
    static const struct option options[] = {
        {"aud", required_argument, NULL, 'a'},
        {"ttl", required_argument, NULL, 't'},
        {"claim", required_argument, NULL, 'c'},
        {"claims", required_argument, NULL, 'C'},
        {"cache", required_argument, NULL, 'k'},
        {"cache-min-remaining", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt, status;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        status = 0;
        switch (opt) {
        case 'a':
            if (args->n_auds == AUD_MAX)
                return cli_fail(cli, KR_E_USAGE, "--aud: at most %d audiences",
                                AUD_MAX);
            if (optarg[0] == '\0')
                return cli_fail(cli, KR_E_USAGE, "--aud: empty audience");
            args->auds[args->n_auds++] = optarg;
            break;
        case 't':
            status = cli_duration_arg(cli, "--ttl", optarg, &args->ttl);
            if (status == 0 && args->ttl == 0)
                status = cli_fail(cli, KR_E_USAGE, "--ttl: must be positive");
            break;
        case 'c':
            status = claim_add(cli, args->extra, optarg);
            break;
        case 'C':
            status = claims_file_add(cli, args->extra, optarg);
            break;
        case 'k':
            args->cache_path = optarg;
            break;
        case 'm':
            status = percent_arg(cli, optarg, &args->cache_min_pct);
            args->cache_min_given = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return -1;
        default:
            return cli_option_error(cli, argv);
        }
        if (status != 0)
            return status;
    }
    if (optind != argc)
        return cli_fail(cli, KR_E_USAGE, "unexpected argument '%s'",
                        argv[optind]);
    if (args->cache_min_given && args->cache_path == NULL)
        return cli_fail(cli, KR_E_USAGE,
                        "--cache-min-remaining applies only to a cached "
                        "token; add --cache FILE");

    if (json_object_get(args->extra, "iat") != NULL
        || json_object_get(args->extra, "exp") != NULL)
        return cli_fail(cli, KR_E_USAGE,
                        "iat and exp are set by keyrot; use --ttl for the "
                        "lifetime");
    if (args->n_auds > 0 && json_object_get(args->extra, "aud") != NULL)
        return cli_fail(cli, KR_E_USAGE,
                        "aud is given both by --aud and in the claims");
    return 0;
}

/* Builds {aud, iat, exp, ...extra} in that order. */
static json_t *
claims_build(const sign_args *args, int64_t iat, int64_t exp)
{
    json_t *claims = json_object();
    const char *name;
    json_t *value;

    if (args->n_auds == 1) {
        json_object_set_new(claims, "aud", json_string(args->auds[0]));
    } else if (args->n_auds > 1) {
        json_t *array = json_array();

        for (size_t i = 0; i < args->n_auds; i++)
            json_array_append_new(array, json_string(args->auds[i]));
        json_object_set_new(claims, "aud", array);
    }
    json_object_set_new(claims, "iat", json_integer(iat));
    json_object_set_new(claims, "exp", json_integer(exp));
    json_object_foreach(args->extra, name, value)
        json_object_set(claims, name, value);
    return claims;
}

/* Counts the token under its key and each audience (and writes its
 * per-token audit record when the policy asks); a failure to count is
 * reported but does not withhold a token that was already signed. */
static void
usage_record(kr_cli *cli, kr_store *store, const char *kid, const char *token,
             const json_t *claims)
{
    kr_error err = {0};

    if (kr_store_usage_token_signed(store, kid, token, strlen(token), claims,
                                    &err)
        != KR_OK)
        cli_warn(cli, "usage not recorded: %s", err.msg);
}

/* Rejects an active key that its audit history contradicts, because a
 * revoked key set back to active by editing the store must not sign. A
 * key whose records were all archived before checkpoints carried key
 * states cannot be compared, so it signs. Returns an exit status. */
static int
active_history_check(const kr_cli *cli, kr_store *store,
                     const kr_key_info *active)
{
    kr_history_state recorded;
    kr_error err = {0};

    if (kr_store_history_get(store, active->kid, &recorded, &err) != KR_OK)
        return cli_report(cli, &err, NULL);
    if (!recorded.found && !recorded.archived)
        return cli_fail(cli, KR_E_REFUSED,
                        "the active key %s has no record in the audit log, "
                        "so the store was edited by other means; run "
                        "'keyrot check'",
                        active->kid);
    if (recorded.found && recorded.state != KR_STATE_ACTIVE)
        return cli_fail(cli, KR_E_REFUSED,
                        "key %s is active in the store, but %s in the audit "
                        "log (record %" PRId64 ", %s), so the store was "
                        "edited by other means; run 'keyrot check'",
                        active->kid, kr_state_name(recorded.state),
                        recorded.seq, recorded.event);
    return 0;
}

/* What token_mint needs, all borrowed. */
typedef struct mint_ctx {
    kr_cli *cli;
    kr_store *store;
    const kr_key_info *active;
    const sign_args *args;
} mint_ctx;

/* Signs a new token with the active key and records its use. A
 * kr_token_mint_fn, so that the token cache can call it. */
static kr_code
token_mint(void *ctx, kr_cached_token *fresh, kr_error *err)
{
    const mint_ctx *m = ctx;
    kr_rsakey *key = NULL;
    json_t *claims = NULL;
    kr_code rc;

    rc = kr_store_key_load(m->store, m->active->kid, &key, err);
    if (rc != KR_OK)
        goto out;

    fresh->iat = m->cli->ctx.now;
    fresh->exp = fresh->iat + m->args->ttl;
    claims = claims_build(m->args, fresh->iat, fresh->exp);
    rc = kr_jws_sign(key, m->active->kid, claims, &fresh->token, err);
    if (rc != KR_OK)
        goto out;
    snprintf(fresh->kid, sizeof(fresh->kid), "%s", m->active->kid);
    usage_record(m->cli, m->store, m->active->kid, fresh->token, claims);

out:
    json_decref(claims);
    kr_rsakey_free(key);
    return rc;
}

/* Returns the cached token for these options, or mints and caches one.
 * The request id covers everything the token depends on except the time
 * and the key, which the cache checks itself. */
static kr_code
token_get_cached(mint_ctx *m, kr_cached_token *out, bool *reused,
                 kr_error *err)
{
    char request[KR_TOKEN_REQUEST_SIZE];
    kr_token_cache_query query = {0};
    kr_warnings warnings = {0};
    json_t *auds = json_array(), *desc;
    kr_code rc;

    for (size_t i = 0; i < m->args->n_auds; i++)
        json_array_append_new(auds, json_string(m->args->auds[i]));
    desc = json_pack("{s:s, s:I, s:o, s:O}", "store", m->cli->store_path,
                     "ttl", (json_int_t)m->args->ttl, "aud", auds, "claims",
                     m->args->extra);
    if (desc == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    rc = kr_token_cache_request_id(desc, request, err);
    json_decref(desc);
    if (rc != KR_OK)
        return rc;

    query.request = request;
    query.active_kid = m->active->kid;
    query.now = m->cli->ctx.now;
    query.min_remaining_pct = m->args->cache_min_pct;
    rc = kr_token_cache_get(m->args->cache_path, &query, token_mint, m, out,
                            reused, &warnings, err);
    cli_warnings_print(m->cli, &warnings, m->args->cache_path);
    return rc;
}

static void
token_print(const kr_cli *cli, const sign_args *args, const kr_cached_token *t,
            bool reused, bool as_header)
{
    json_t *obj;

    if (!cli->json) {
        printf("%s%s\n", as_header ? "Authorization: Bearer " : "", t->token);
        return;
    }
    obj = json_pack("{s:s, s:s, s:I, s:I}", "token", t->token, "kid", t->kid,
                    "iat", (json_int_t)t->iat, "exp", (json_int_t)t->exp);
    if (obj != NULL && as_header)
        json_object_set_new(
            obj, "header", json_sprintf("Authorization: Bearer %s", t->token));
    if (obj != NULL && args->cache_path != NULL)
        json_object_set_new(obj, "cached", json_boolean(reused));
    cli_json_print(obj, false);
}

static int
sign_run(kr_cli *cli, int argc, char **argv, const char *usage, bool as_header)
{
    sign_args args = {.ttl = -1,
                      .extra = json_object(),
                      .cache_min_pct = KR_TOKEN_CACHE_MIN_REMAINING_PCT};
    kr_cached_token result = {0};
    kr_store *store = NULL;
    kr_error err = {0};
    kr_key_info active;
    kr_policy policy;
    mint_ctx mint;
    bool reused = false;
    kr_code rc;
    int status;

    status = args_parse(cli, argc, argv, usage, &args);
    if (status != 0) {
        status = status < 0 ? 0 : status;
        goto out;
    }

    /* The active key and its audit history are read from one snapshot:
     * a rotation committed between the two reads would otherwise look like
     * a key whose state contradicts its history. */
    if (cli_store_open(cli, &store, &err) != KR_OK
        || kr_store_read_begin(store, &err) != KR_OK
        || kr_store_policy_get(store, &policy, &err) != KR_OK
        || kr_store_active_get(store, &active, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    if (args.ttl < 0)
        args.ttl = policy.token_ttl;
    if (args.ttl > policy.max_token_ttl) {
        status = cli_fail(cli, KR_E_REFUSED,
                          "--ttl %" PRId64 "s exceeds the policy's "
                          "max_token_ttl of %" PRId64 "s",
                          args.ttl, policy.max_token_ttl);
        goto out;
    }
    if (!active.has_private) {
        status = cli_fail(cli, KR_E_REFUSED,
                          "the active key %s has no private part in this "
                          "store (verify-only); import its private key or "
                          "activate another key",
                          active.kid);
        goto out;
    }
    status = active_history_check(cli, store, &active);
    kr_store_read_end(store);
    if (status != 0)
        goto out;

    mint = (mint_ctx){cli, store, &active, &args};
    if (args.cache_path != NULL)
        rc = token_get_cached(&mint, &result, &reused, &err);
    else
        rc = token_mint(&mint, &result, &err);
    if (rc != KR_OK) {
        status =
            cli_report(cli, &err, args.cache_path != NULL ? NULL : active.kid);
        goto out;
    }
    token_print(cli, &args, &result, reused, as_header);

out:
    kr_cached_token_clear(&result);
    json_decref(args.extra);
    kr_store_close(store);
    return status;
}

int
cmd_sign(kr_cli *cli, int argc, char **argv)
{
    return sign_run(cli, argc, argv, sign_usage, false);
}

int
cmd_header(kr_cli *cli, int argc, char **argv)
{
    return sign_run(cli, argc, argv, header_usage, true);
}
