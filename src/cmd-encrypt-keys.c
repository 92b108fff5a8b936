/* SPDX-License-Identifier: MIT */
/* keyrot encrypt-keys: encrypt the private keys stored in plaintext. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "commands.h"

static const char usage[] =
    "Usage: keyrot --store-passphrase-file FILE encrypt-keys\n"
    "\n"
    "Encrypts every private key that the store still holds in plaintext\n"
    "(stored before a store passphrase was in use) under the store\n"
    "passphrase, in one transaction with one audit record per key. The\n"
    "freed plaintext pages are overwritten and the write-ahead log is\n"
    "truncated, so no plaintext copy stays in the store's files. The\n"
    "passphrase must open the keys already encrypted (exit 4 otherwise);\n"
    "without one, exit 2. Running it again changes nothing.\n";

int
cmd_encrypt_keys(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kr_store *store = NULL;
    kr_error err = {0};
    size_t n_encrypted = 0;
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

    if (cli_store_open(cli, &store, &err) != KR_OK
        || kr_store_private_encrypt_all(store, &n_encrypted, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }

    if (cli->json)
        cli_json_print(json_pack("{s:I, s:b}", "encrypted",
                                 (json_int_t)n_encrypted, "changed",
                                 n_encrypted > 0),
                       false);
    else if (n_encrypted == 0)
        printf("nothing to do: every stored private key is already "
               "encrypted\n");
    else
        printf("encrypted %zu private key%s under the store passphrase\n",
               n_encrypted, n_encrypted == 1 ? "" : "s");

out:
    kr_store_close(store);
    return status;
}
