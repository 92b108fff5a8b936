/* SPDX-License-Identifier: MIT */
/* keyrot init: create a keystore with the default policy. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"

static const char usage[] =
    "Usage: keyrot [--store PATH] init\n"
    "\n"
    "Creates a new keystore file (mode 0600) with the default policy.\n"
    "Never overwrites an existing file. When the store is the per-user\n"
    "default, its directory is created (mode 0700) if missing.\n";

/* Creates each missing directory above path, mode 0700. */
static kr_code
parents_create(const char *path, kr_error *err)
{
    char *dir = strdup(path);
    kr_code rc = KR_OK;

    if (dir == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");

    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            rc = kr_error_set(err, KR_E_SYSTEM, "cannot create %s: %s", dir,
                              strerror(errno));
            break;
        }
        *p = '/';
    }
    free(dir);
    return rc;
}

int
cmd_init(kr_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kr_error err = {0};
    int opt;

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

    if (cli->store_is_default
        && parents_create(cli->store_path, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    if (kr_store_create(cli->store_path, &cli->ctx, &err) != KR_OK)
        return cli_report(cli, &err, NULL);

    if (cli->json)
        cli_json_print(
            json_pack("{s:s, s:b}", "store", cli->store_path, "created", 1),
            false);
    else
        printf("created keystore %s\n", cli->store_path);
    return 0;
}
