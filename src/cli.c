/* SPDX-License-Identifier: MIT */
/* Messages, file input and store opening for the keyrot commands. */
#include "config.h"

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"

static void
message_print(const kr_cli *cli, const char *prefix, const char *fmt,
              va_list ap)
{
    fprintf(stderr, "keyrot: ");
    if (cli != NULL && cli->command != NULL)
        fprintf(stderr, "%s: ", cli->command);
    if (prefix != NULL)
        fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int
cli_fail(const kr_cli *cli, kr_code code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message_print(cli, NULL, fmt, ap);
    va_end(ap);
    return (int)code;
}

int
cli_report(const kr_cli *cli, const kr_error *err, const char *subject)
{
    if (subject != NULL)
        return cli_fail(cli, err->code, "%s: %s", subject, err->msg);
    return cli_fail(cli, err->code, "%s", err->msg);
}

void
cli_warn(const kr_cli *cli, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message_print(cli, "warning: ", fmt, ap);
    va_end(ap);
}

void
cli_note(const kr_cli *cli, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message_print(cli, "note: ", fmt, ap);
    va_end(ap);
}

void
cli_warnings_print(const kr_cli *cli, const kr_warnings *w,
                   const char *subject)
{
    for (size_t i = 0; i < w->n_warnings; i++) {
        if (subject != NULL)
            cli_warn(cli, "%s: %s", subject, w->msg[i]);
        else
            cli_warn(cli, "%s", w->msg[i]);
    }
}

int
cli_option_error(const kr_cli *cli, char **argv)
{
    static const struct {
        const char *name;
        const char *example; /* the option as written before a command */
    } globals[] = {
        {"--json", "--json"},
        {"--store", "--store PATH"},
        {"--store-passphrase-file", "--store-passphrase-file FILE"},
        {"--now", "--now UNIX_SECONDS"},
    };
    const char *arg = optind > 0 ? argv[optind - 1] : "";

    for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++) {
        size_t len = strlen(globals[i].name);

        if (strncmp(arg, globals[i].name, len) == 0
            && (arg[len] == '\0' || arg[len] == '='))
            return cli_fail(cli, KR_E_USAGE,
                            "%s is a global option: put it before the "
                            "command, as in 'keyrot %s %s ...'",
                            globals[i].name, globals[i].example, cli->command);
    }
    if (optopt > ' ' && optopt < 127 && strncmp(arg, "--", 2) != 0)
        return cli_fail(cli, KR_E_USAGE,
                        "invalid option -%c; see 'keyrot %s --help' (an "
                        "argument that starts with '-' goes after '--')",
                        optopt, cli->command);
    return cli_fail(cli, KR_E_USAGE,
                    "invalid option or missing value: %s; see 'keyrot %s "
                    "--help'",
                    arg, cli->command);
}

int
cli_duration_arg(const kr_cli *cli, const char *option, const char *text,
                 int64_t *seconds)
{
    kr_error err = {0};

    if (kr_duration_parse(text, seconds, &err) != KR_OK)
        return cli_fail(cli, KR_E_USAGE, "%s: %s", option, err.msg);
    return KR_OK;
}

kr_code
cli_file_read(const char *path, size_t max_len, uint8_t **data, size_t *len,
              kr_error *err)
{
    FILE *fp = NULL;
    uint8_t *buf = NULL;
    size_t used = 0, cap = 4096;
    kr_code rc = KR_OK;

    if (strcmp(path, "-") == 0) {
        fp = stdin;
    } else {
        struct stat st;

        fp = fopen(path, "rb");
        if (fp == NULL) {
            if (errno == ENOENT)
                return kr_error_set(err, KR_E_NOTFOUND, "file not found");
            return kr_error_set(err, KR_E_SYSTEM, "cannot read: %s",
                                strerror(errno));
        }
        if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = kr_error_set(err, KR_E_INPUT, "is a directory");
            goto out;
        }
    }

    buf = malloc(cap);
    if (buf == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }
    for (;;) {
        size_t got;

        if (used + 1 >= cap) {
            uint8_t *grown;

            if (cap > max_len + 1) {
                rc = kr_error_set(err, KR_E_INPUT,
                                  "larger than the limit of %zu bytes",
                                  max_len);
                goto out;
            }
            /* Grow by copying so the old buffer can be wiped: it may hold
             * part of a private key. */
            grown = malloc(cap * 2);
            if (grown == NULL) {
                rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
                goto out;
            }
            memcpy(grown, buf, used);
            gnutls_memset(buf, 0, cap);
            free(buf);
            buf = grown;
            cap *= 2;
        }
        got = fread(buf + used, 1, cap - used - 1, fp);
        used += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        rc =
            kr_error_set(err, KR_E_SYSTEM, "read failed: %s", strerror(errno));
        goto out;
    }
    if (used > max_len) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "larger than the limit of %zu bytes", max_len);
        goto out;
    }

    buf[used] = '\0';
    *data = buf;
    *len = used;
    buf = NULL;

out:
    if (buf != NULL) {
        gnutls_memset(buf, 0, cap);
        free(buf);
    }
    if (fp != NULL && fp != stdin)
        fclose(fp);
    return rc;
}

kr_code
cli_passphrase_read(const char *path, char **out, kr_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    kr_code rc;

    rc = cli_file_read(path, 4096, &data, &len, err);
    if (rc != KR_OK)
        return rc;

    /* The same rule as openssl's -passin file: one final line end is not
     * part of the passphrase. */
    if (len > 0 && data[len - 1] == '\n')
        data[--len] = '\0';
    if (len > 0 && data[len - 1] == '\r')
        data[--len] = '\0';
    if (memchr(data, '\0', len) != NULL) {
        gnutls_memset(data, 0, len);
        free(data);
        return kr_error_set(err, KR_E_INPUT,
                            "the passphrase file contains a NUL byte");
    }

    *out = (char *)data;
    return KR_OK;
}

void
cli_secret_free(char *secret)
{
    if (secret == NULL)
        return;
    gnutls_memset(secret, 0, strlen(secret));
    free(secret);
}

kr_code
cli_store_open(kr_cli *cli, kr_store **store, kr_error *err)
{
    struct stat st;
    kr_code rc;

    rc = kr_store_open(cli->store_path, &cli->ctx, store, err);
    if (rc == KR_OK && stat(cli->store_path, &st) == 0
        && (st.st_mode & 077) != 0)
        cli_warn(cli,
                 "%s is accessible to other users (mode %04o) and holds "
                 "private keys; run chmod 600 on it",
                 cli->store_path, (unsigned)(st.st_mode & 07777));
    return rc;
}

kr_code
cli_json_print(json_t *value, bool pretty)
{
    char *text;

    if (value == NULL)
        return KR_E_SYSTEM;
    text = json_dumps(value, pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER
                                    : JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(value);
    if (text == NULL)
        return KR_E_SYSTEM;
    puts(text);
    free(text);
    return KR_OK;
}

static json_t *
time_json(int64_t t)
{
    return t == 0 ? json_null() : json_integer(t);
}

json_t *
cli_key_json(const kr_key_info *info)
{
    json_t *obj = json_object();

    json_object_set_new(obj, "kid", json_string(info->kid));
    json_object_set_new(obj, "state", json_string(kr_state_name(info->state)));
    json_object_set_new(obj, "bits", json_integer(info->bits));
    json_object_set_new(obj, "thumbprint", json_string(info->thumbprint));
    json_object_set_new(obj, "private", json_boolean(info->has_private));
    json_object_set_new(obj, "origin", json_string(info->origin));
    json_object_set_new(obj, "created_at", time_json(info->created_at));
    json_object_set_new(obj, "activated_at", time_json(info->activated_at));
    json_object_set_new(obj, "deactivated_at",
                        time_json(info->deactivated_at));
    json_object_set_new(obj, "retire_after", time_json(info->retire_after));
    json_object_set_new(obj, "retired_at", time_json(info->retired_at));
    json_object_set_new(obj, "revoked_at", time_json(info->revoked_at));
    json_object_set_new(obj, "purged_at", time_json(info->purged_at));
    json_object_set_new(obj, "private_encrypted",
                        json_boolean(info->private_encrypted));
    if (info->revoke_reason[0] != '\0')
        json_object_set_new(obj, "revoke_reason",
                            json_string(info->revoke_reason));
    return obj;
}
