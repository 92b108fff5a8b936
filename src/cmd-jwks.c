/* SPDX-License-Identifier: MIT */
/* keyrot jwks: print the public JWK Set of the keys that verify. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "jwk.h"
#include "lifecycle.h"

static const char usage[] =
    "Usage: keyrot jwks\n"
    "\n"
    "Prints the public JWK Set (RFC 7517) of the pending, active and\n"
    "retiring keys that still verify, for verifiers to fetch. Each key has\n"
    "kty, kid, use, alg, n and e. The output is JSON with or without\n"
    "--json.\n";

int
cmd_jwks(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kr_store *store = NULL;
    kr_key_info *keys = NULL;
    size_t n_keys = 0;
    json_t *set = NULL, *array;
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

    if (cli_store_open(cli, &store, &err) != KR_OK
        || kr_store_key_list_published(store, &keys, &n_keys, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }

    array = json_array();
    set = json_pack("{s:o}", "keys", array);
    for (size_t i = 0; i < n_keys; i++) {
        kr_rsakey *key = NULL;

        if (!kr_lifecycle_verifies(&keys[i], cli->ctx.now))
            continue;
        if (kr_store_key_load_public(store, keys[i].kid, &key, &err)
            != KR_OK) {
            status = cli_report(cli, &err, keys[i].kid);
            goto out;
        }
        json_array_append_new(array, kr_jwk_public(key, keys[i].kid));
        kr_rsakey_free(key);
    }
    cli_json_print(set, true);
    set = NULL;

out:
    json_decref(set);
    free(keys);
    kr_store_close(store);
    return status;
}
