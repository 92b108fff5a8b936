/* SPDX-License-Identifier: MIT */
/* keyrot import: register a key pair, or a public key only, from a file. */
#include "config.h"

#include <getopt.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "keyparse.h"
#include "lifecycle.h"

/* Largest key file accepted; a 16384-bit JWK with every member is ~12 KB,
 * and certtool's text dump before a PEM block can be large. */
#define KEY_FILE_MAX (256 * 1024)

static const char usage[] =
    "Usage: keyrot import FILE [--kid KID] [--passphrase-file F] "
    "[--activate]\n"
    "\n"
    "Registers the key in FILE ('-' for standard input) as pending. FILE may\n"
    "be PEM (PKCS#1, PKCS#8, encrypted PKCS#8, SPKI public key, X.509\n"
    "certificate), DER, or a JWK. A public key or certificate registers a\n"
    "verify-only key. Importing the same key under the same kid again\n"
    "changes nothing; importing the private half of a verify-only key adds\n"
    "its private part.\n"
    "\n"
    "  --kid KID             key ID as the portal gave it (a JWK may carry\n"
    "                        its own); 1-128 characters of A-Z a-z 0-9 . _ -\n"
    "  --passphrase-file F   passphrase for an encrypted key; one final line\n"
    "                        end is dropped. Default: the file named by\n"
    "                        $KEYROT_PASSPHRASE_FILE\n"
    "  --activate            make it the active key at once; the previous\n"
    "                        active key becomes retiring for the policy's\n"
    "                        overlap. The state changes go to stderr as\n"
    "                        notes (with --json, into \"transitions\")\n";

typedef struct import_args {
    const char *file;
    const char *kid;
    const char *passphrase_file;
    bool activate;
} import_args;

static int
args_parse(kr_cli *cli, int argc, char **argv, import_args *args)
{
    static const struct option options[] = {
        {"kid", required_argument, NULL, 'k'},
        {"passphrase-file", required_argument, NULL, 'p'},
        {"activate", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'k':
            args->kid = optarg;
            break;
        case 'p':
            args->passphrase_file = optarg;
            break;
        case 'a':
            args->activate = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return -1;
        default:
            return cli_option_error(cli, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_fail(cli, KR_E_USAGE,
                        "expected one key FILE; see 'keyrot import --help'");
    args->file = argv[optind];
    if (args->kid != NULL && !kr_kid_valid(args->kid, strlen(args->kid)))
        return cli_fail(cli, KR_E_USAGE,
                        "--kid: invalid kid; use 1-128 characters of "
                        "A-Z a-z 0-9 . _ -");
    if (args->passphrase_file == NULL) {
        const char *env = getenv("KEYROT_PASSPHRASE_FILE");

        if (env != NULL && env[0] != '\0')
            args->passphrase_file = env;
    }
    return 0;
}

/* Picks the kid: --kid, or the JWK's own; both must agree when given. */
static int
kid_choose(kr_cli *cli, const import_args *args, const char *embedded,
           char kid[KR_KID_SIZE])
{
    if (args->kid != NULL && embedded[0] != '\0'
        && strcmp(args->kid, embedded) != 0)
        return cli_fail(cli, KR_E_USAGE,
                        "%s: the JWK names kid %s but --kid says %s",
                        args->file, embedded, args->kid);
    if (args->kid == NULL && embedded[0] == '\0')
        return cli_fail(cli, KR_E_USAGE,
                        "%s: the file carries no key ID; give the one the "
                        "portal issued with --kid",
                        args->file);
    snprintf(kid, KR_KID_SIZE, "%s", args->kid ? args->kid : embedded);
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
    return "?";
}

/* Prints the imported key; with --activate (plan not NULL), also the
 * state changes, as notes on stderr or as "transitions" in JSON. */
static void
result_print(const kr_cli *cli, const kr_key_info *info,
             kr_add_outcome outcome, const kr_plan *plan)
{
    json_t *obj;

    if (cli->json) {
        obj = cli_key_json(info);
        json_object_set_new(obj, "outcome",
                            json_string(outcome_text(outcome)));
        if (plan != NULL)
            json_object_set_new(obj, "transitions",
                                cmd_plan_transitions_json(plan));
        cli_json_print(obj, false);
        return;
    }
    printf("%s %s: RSA %u, %s, %s, thumbprint %s\n", outcome_text(outcome),
           info->kid, info->bits, kr_state_name(info->state),
           info->has_private ? "with private key"
                             : "verify-only (no private key)",
           info->thumbprint);
    if (plan != NULL)
        cmd_plan_notes_print(cli, plan);
}

int
cmd_import(kr_cli *cli, int argc, char **argv)
{
    import_args args = {0};
    kr_store *store = NULL;
    kr_rsakey *key = NULL;
    uint8_t *data = NULL;
    size_t data_len = 0;
    char *passphrase = NULL;
    char embedded[KR_KID_SIZE] = "";
    char kid[KR_KID_SIZE];
    kr_warnings warnings = {0};
    kr_error err = {0};
    kr_add_outcome outcome;
    kr_key_info info;
    kr_policy policy;
    kr_plan plan;
    kr_code rc;
    int status;

    status = args_parse(cli, argc, argv, &args);
    if (status != 0)
        return status < 0 ? 0 : status;

    if (cli_store_open(cli, &store, &err) != KR_OK)
        return cli_report(cli, &err, NULL);
    if (kr_store_policy_get(store, &policy, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }

    if (cli_file_read(args.file, KEY_FILE_MAX, &data, &data_len, &err)
        != KR_OK) {
        status = cli_report(cli, &err, args.file);
        goto out;
    }
    if (args.passphrase_file != NULL
        && cli_passphrase_read(args.passphrase_file, &passphrase, &err)
               != KR_OK) {
        status = cli_report(cli, &err, args.passphrase_file);
        goto out;
    }

    if (kr_key_parse(data, data_len, passphrase, (unsigned)policy.min_bits,
                     &key, embedded, &warnings, &err)
        != KR_OK) {
        cli_warnings_print(cli, &warnings, args.file);
        status = cli_report(cli, &err, args.file);
        goto out;
    }
    cli_warnings_print(cli, &warnings, args.file);

    status = kid_choose(cli, &args, embedded, kid);
    if (status != 0)
        goto out;

    /* With --activate the key is added and activated in one transaction,
     * so a refused activation leaves the store as it was. */
    if (args.activate)
        rc = kr_lifecycle_add_activate(store, key, kid, "imported", &outcome,
                                       &plan, &err);
    else
        rc = kr_store_key_add(store, key, kid, "imported", &outcome, &err);
    if (rc != KR_OK) {
        status = cli_report(cli, &err, args.file);
        goto out;
    }
    if (kr_store_key_get(store, kid, &info, &err) != KR_OK) {
        status = cli_report(cli, &err, kid);
        goto out;
    }
    result_print(cli, &info, outcome, args.activate ? &plan : NULL);

out:
    if (data != NULL) {
        gnutls_memset(data, 0, data_len);
        free(data);
    }
    cli_secret_free(passphrase);
    kr_rsakey_free(key);
    kr_store_close(store);
    return status;
}
