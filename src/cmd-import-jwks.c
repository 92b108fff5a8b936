/* SPDX-License-Identifier: MIT */
/*
 * keyrot import-jwks: register every RSA public key of a JWK Set file as a
 * verify-only key with origin "jwks". Keys of other types, or whose use,
 * alg or key_ops exclude RS256, are skipped with a warning (RFC 7517
 * section 5). The set is parsed whole before anything is written, and
 * its keys are added in one transaction: a broken set, or one key that
 * clashes with the store, leaves the store untouched.
 */
#include "config.h"

#include <getopt.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "jwk.h"
#include "keyset.h"

/* Largest JWK Set file accepted. A 16384-bit public JWK is about 3 KB, so
 * this is room for hundreds of keys. */
#define JWKS_FILE_MAX (1024 * 1024)

static const char usage[] =
    "Usage: keyrot import-jwks FILE\n"
    "\n"
    "Registers every RSA public key of the JWK Set in FILE ('-' for standard\n"
    "input) as a pending, verify-only key under its own kid. Keys of other\n"
    "types (EC, OKP, oct), or marked for another use or algorithm than\n"
    "RS256 signatures, are skipped with a warning. Private members in the\n"
    "set are ignored: only public keys are stored.\n"
    "\n"
    "The whole set is checked first: invalid JSON, an RSA key without a\n"
    "kid, a duplicate kid, a key under the policy's min_bits, a kid that\n"
    "the store holds with other key material, or key material that the\n"
    "store holds under another kid refuses the import and changes nothing.\n"
    "Importing the same set again changes nothing.\n"
    "\n"
    "Prints one line per key (imported or unchanged); with --json, one\n"
    "object {\"keys\":[...]} whose entries are 'keyrot show' objects with\n"
    "an added \"outcome\".\n";

static int
args_parse(kr_cli *cli, int argc, char **argv, const char **file)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage, stdout);
            return -1;
        }
        return cli_option_error(cli, argv);
    }
    if (optind + 1 != argc)
        return cli_fail(cli, KR_E_USAGE,
                        "expected one JWK Set FILE; see 'keyrot import-jwks "
                        "--help'");
    *file = argv[optind];
    return 0;
}

static const char *
outcome_text(kr_add_outcome outcome)
{
    switch (outcome) {
    case KR_ADD_INSERTED:
        return "imported";
    case KR_ADD_UNCHANGED:
        return "unchanged";
    case KR_ADD_PRIVATE_ADDED:
        return "private part added";
    }
    return "unknown";
}

/* Prints the line for one key, or appends its object to array (--json). */
static void
result_add(const kr_cli *cli, const kr_key_info *info, kr_add_outcome outcome,
           json_t *array)
{
    json_t *obj;

    if (cli->json) {
        obj = cli_key_json(info);
        json_object_set_new(obj, "outcome",
                            json_string(outcome_text(outcome)));
        json_array_append_new(array, obj);
        return;
    }
    printf("%s %s: RSA %u, %s, %s, thumbprint %s\n", outcome_text(outcome),
           info->kid, info->bits, kr_state_name(info->state),
           info->has_private ? "with private key"
                             : "verify-only (no private key)",
           info->thumbprint);
}

/* Adds every entry in one transaction and prints the results. */
static int
entries_add(kr_cli *cli, kr_store *store, const kr_jwks_entry *entries,
            size_t n_entries, const char *file)
{
    kr_add_outcome *outcomes = NULL;
    json_t *array = NULL;
    kr_key_info info;
    kr_error err = {0};
    int status = 0;
    size_t i;

    outcomes = calloc(n_entries, sizeof(*outcomes));
    array = json_array();
    if (outcomes == NULL || array == NULL) {
        status = cli_fail(cli, KR_E_SYSTEM, "out of memory");
        goto out;
    }

    if (kr_keyset_add(store, entries, n_entries, "jwks", outcomes, &err)
        != KR_OK) {
        status = cli_report(cli, &err, file);
        goto out;
    }

    for (i = 0; i < n_entries; i++) {
        if (kr_store_key_get(store, entries[i].kid, &info, &err) != KR_OK) {
            status = cli_report(cli, &err, entries[i].kid);
            goto out;
        }
        result_add(cli, &info, outcomes[i], array);
    }

    if (cli->json)
        cli_json_print(json_pack("{s:O}", "keys", array), false);

out:
    json_decref(array);
    free(outcomes);
    return status;
}

int
cmd_import_jwks(kr_cli *cli, int argc, char **argv)
{
    const char *file = NULL;
    kr_store *store = NULL;
    kr_jwks_entry *entries = NULL;
    size_t n_entries = 0;
    uint8_t *data = NULL;
    size_t data_len = 0;
    kr_warnings warnings = {0};
    kr_error err = {0};
    kr_policy policy;
    int status;

    status = args_parse(cli, argc, argv, &file);
    if (status != 0)
        return status < 0 ? 0 : status;

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);
    if (kr_store_policy_get(store, &policy, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }

    if (cli_file_read(file, JWKS_FILE_MAX, &data, &data_len, &err) != KR_OK) {
        status = cli_report(cli, &err, file);
        goto out;
    }

    if (kr_jwks_parse((const char *)data, data_len, (unsigned)policy.min_bits,
                      &entries, &n_entries, &warnings, &err)
        != KR_OK) {
        cli_warnings_print(cli, &warnings, file);
        status = cli_report(cli, &err, file);
        goto out;
    }
    cli_warnings_print(cli, &warnings, file);

    if (n_entries == 0) {
        status = cli_fail(cli, KR_E_INPUT,
                          "%s: the JWK Set holds no RSA key usable for "
                          "RS256; nothing to import",
                          file);
        goto out;
    }

    status = entries_add(cli, store, entries, n_entries, file);

out:
    kr_jwks_entries_free(entries, n_entries);
    /* A set may carry private members by mistake; wipe the file's bytes. */
    if (data != NULL)
        gnutls_memset(data, 0, data_len);
    free(data);
    kr_store_close(store);
    return status;
}
