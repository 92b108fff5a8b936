/* SPDX-License-Identifier: MIT */
/*
 * keyrot's entry point: global options, the command table, and the
 * context (clock, actor, store path) every command receives.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

typedef struct command {
    const char *name;
    kr_command_fn run;
    const char *summary;
} command;

static const command commands[] = {
    {"init", cmd_init, "create a keystore"},
    {"generate", cmd_generate, "generate a new RSA key pair"},
    {"import", cmd_import, "register a key pair or public key from a file"},
    {"import-jwks", cmd_import_jwks, "register the RSA keys of a JWK Set"},
    {"list", cmd_list, "list keys, states and dates"},
    {"show", cmd_show, "show one key"},
    {"activate", cmd_activate, "make a key the one that signs"},
    {"rotate", cmd_rotate, "generate a key and activate it in one step"},
    {"retire", cmd_retire, "retire a retiring key now, guarded"},
    {"revoke", cmd_revoke, "stop a key from verifying at once"},
    {"purge", cmd_purge, "destroy a retired or revoked key's private part"},
    {"tick", cmd_tick, "apply due transitions"},
    {"sign", cmd_sign, "print a token signed by the active key"},
    {"header", cmd_header, "print an Authorization: Bearer header"},
    {"verify", cmd_verify, "check tokens"},
    {"jwks", cmd_jwks, "print the public JWK Set"},
    {"policy", cmd_policy, "show or change the policy"},
    {"status", cmd_status, "one line for monitoring"},
    {"check", cmd_check, "check the store's integrity and invariants"},
    {"export", cmd_export, "write a key's public part, or its private part"},
    {"encrypt-keys", cmd_encrypt_keys,
     "encrypt plaintext private keys under the store passphrase"},
    {"audit", cmd_audit, "list, verify or archive the audit log"},
    {"usage", cmd_usage, "show usage per key and audience"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char usage_head[] =
    "Usage: keyrot [--store PATH] [--store-passphrase-file FILE]\n"
    "              [--now UNIX_SECONDS] [--json] COMMAND [OPTIONS]\n"
    "\n"
    "Manages RSA signing keys for short-lived RS256 JWTs through their "
    "rotation.\n"
    "\n"
    "Global options:\n"
    "  --store PATH        keystore file (default: $KEYROT_STORE, else\n"
    "                      $XDG_DATA_HOME/keyrot/keystore.db, else\n"
    "                      ~/.local/share/keyrot/keystore.db)\n"
    "  --store-passphrase-file F\n"
    "                      passphrase that encrypts private keys at rest\n"
    "                      (default: the file named by\n"
    "                      $KEYROT_STORE_PASSPHRASE_FILE); keys stored while\n"
    "                      it is set are encrypted and need it to sign\n"
    "  --now UNIX_SECONDS  the time used for token checks and deadlines;\n"
    "                      changes to a key may not be dated before its\n"
    "                      recorded history\n"
    "  --json              machine-readable output on stdout\n"
    "  --help, --version\n"
    "\n"
    "Commands:\n";

static const char usage_tail[] =
    "\n"
    "Run 'keyrot COMMAND --help' for a command's options.\n"
    "Exit status: 0 success; 1 a token, the audit chain or a check did not\n"
    "verify; 2 usage error; 3 not found; 4 refused by a key's state or the\n"
    "policy; 5 invalid input; 6 store or system failure.\n";

static void
usage_print(FILE *out)
{
    fputs(usage_head, out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fputs(usage_tail, out);
}

/* Resolves the default store path; *buf is malloc'd. */
static const char *
store_default(char **buf)
{
    const char *env = getenv("KEYROT_STORE");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    size_t size;

    if (env != NULL && env[0] != '\0')
        return env;

    if (xdg != NULL && xdg[0] == '/') {
        size = strlen(xdg) + sizeof("/keyrot/keystore.db");
        *buf = malloc(size);
        if (*buf != NULL)
            snprintf(*buf, size, "%s/keyrot/keystore.db", xdg);
        return *buf;
    }
    if (home == NULL || home[0] == '\0') {
        struct passwd *pw = getpwuid(getuid());

        home = pw != NULL ? pw->pw_dir : "/";
    }
    size = strlen(home) + sizeof("/.local/share/keyrot/keystore.db");
    *buf = malloc(size);
    if (*buf != NULL)
        snprintf(*buf, size, "%s/.local/share/keyrot/keystore.db", home);
    return *buf;
}

static void
actor_fill(char *actor, size_t size)
{
    const char *user = getenv("USER");
    struct passwd *pw = NULL;
    char host[128] = "unknown";

    if (user == NULL || user[0] == '\0') {
        pw = getpwuid(getuid());
        user = pw != NULL ? pw->pw_name : "unknown";
    }
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    snprintf(actor, size, "%s@%s", user, host);
}

static bool
now_parse(const char *text, int64_t *now)
{
    char *end = NULL;
    long long value;

    errno = 0;
    value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 0
        || value > 253402300799LL)
        return false;
    *now = value;
    return true;
}

/* Returns the value of a "--name VALUE" or "--name=VALUE" option at
 * argv[*i], advancing *i, or NULL when argv[*i] is not that option. */
static const char *
option_value(const char *name, int argc, char **argv, int *i, bool *missing)
{
    size_t len = strlen(name);
    const char *arg = argv[*i];

    if (strncmp(arg, name, len) != 0)
        return NULL;
    if (arg[len] == '=')
        return arg + len + 1;
    if (arg[len] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    (*i)++;
    return argv[*i];
}

static int
globals_parse(kr_cli *cli, int argc, char **argv, int *first)
{
    int i;

    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        bool missing = false;
        const char *value;

        if (strcmp(argv[i], "--json") == 0) {
            cli->json = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage_print(stdout);
            return -1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("keyrot %s\n", PACKAGE_VERSION);
            return -1;
        } else if ((value = option_value("--store", argc, argv, &i, &missing))
                   != NULL) {
            cli->store_path = value;
        } else if ((value = option_value("--store-passphrase-file", argc, argv,
                                         &i, &missing))
                   != NULL) {
            cli->store_passphrase_file = value;
        } else if ((value = option_value("--now", argc, argv, &i, &missing))
                   != NULL) {
            if (!now_parse(value, &cli->ctx.now))
                return cli_fail(cli, KR_E_USAGE,
                                "--now: invalid time '%s': expected Unix "
                                "seconds",
                                value);
            cli->ctx.now_overridden = true;
        } else if (missing) {
            return cli_fail(cli, KR_E_USAGE, "%s needs a value", argv[i]);
        } else {
            return cli_fail(cli, KR_E_USAGE,
                            "unknown option '%s'; see 'keyrot --help'",
                            argv[i]);
        }
    }
    *first = i;
    return 0;
}

/* Reads the store passphrase named by --store-passphrase-file or
 * $KEYROT_STORE_PASSPHRASE_FILE, if any, into *passphrase. */
static int
store_passphrase_load(kr_cli *cli, char **passphrase)
{
    const char *path = cli->store_passphrase_file;
    const char *source = "--store-passphrase-file";
    kr_error err = {0};

    if (path == NULL) {
        path = getenv("KEYROT_STORE_PASSPHRASE_FILE");
        source = "KEYROT_STORE_PASSPHRASE_FILE";
    }
    if (path == NULL || path[0] == '\0')
        return 0;

    if (cli_passphrase_read(path, passphrase, &err) != KR_OK)
        return cli_fail(cli, err.code, "%s: %s: %s", source, path, err.msg);
    if ((*passphrase)[0] == '\0')
        return cli_fail(cli, KR_E_INPUT, "%s: %s: the passphrase is empty",
                        source, path);
    cli->ctx.store_passphrase = *passphrase;
    return 0;
}

int
main(int argc, char **argv)
{
    kr_cli cli = {0};
    char *default_path = NULL;
    char *passphrase = NULL;
    const command *found = NULL;
    int first = 0;
    int status;

    cli.ctx.real_now = (int64_t)time(NULL);
    cli.ctx.now = cli.ctx.real_now;
    actor_fill(cli.ctx.actor, sizeof(cli.ctx.actor));

    status = globals_parse(&cli, argc, argv, &first);
    if (status != 0)
        return status < 0 ? 0 : status;

    if (first >= argc) {
        usage_print(stderr);
        return KR_E_USAGE;
    }
    if (strcmp(argv[first], "help") == 0 || strcmp(argv[first], "-h") == 0) {
        usage_print(stdout);
        return 0;
    }
    if (cli.store_path == NULL) {
        const char *env = getenv("KEYROT_STORE");

        cli.store_is_default = env == NULL || env[0] == '\0';
        cli.store_path = store_default(&default_path);
    }
    if (cli.store_path == NULL)
        return cli_fail(&cli, KR_E_SYSTEM, "out of memory");

    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[first], commands[i].name) == 0)
            found = &commands[i];
    }
    if (found == NULL) {
        status =
            cli_fail(&cli, KR_E_USAGE,
                     "unknown command '%s'; see 'keyrot --help'", argv[first]);
        goto out;
    }
    cli.command = found->name;

    status = store_passphrase_load(&cli, &passphrase);
    if (status == 0)
        status = found->run(&cli, argc - first, argv + first);

out:
    cli_secret_free(passphrase);
    free(default_path);
    return status;
}
