/* SPDX-License-Identifier: MIT */
/*
 * keyrot export: write a key's public part, or with --private its private
 * part to a new 0600 file. The private export is audited (which key, which
 * format, which file; never the key).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "commands.h"
#include "jwk.h"

static const char usage[] =
    "Usage: keyrot export KID [--format pem|der|jwk] [--out FILE]\n"
    "       keyrot export KID --private --out FILE [--format pem|der|jwk]\n"
    "\n"
    "Writes the public key of KID (SubjectPublicKeyInfo as PEM or DER, or a\n"
    "public JWK) to standard output or to FILE. With --private, writes the\n"
    "private key (unencrypted PKCS#8 as PEM or DER, or a private JWK) to\n"
    "FILE, which must not exist yet and is created with mode 0600; the\n"
    "export is recorded in the audit log with FILE's absolute path. With\n"
    "the global --json and no --out, prints {\"kid\",\"format\",\"key\"}:\n"
    "the PEM text, the JWK object, or the DER as base64url.\n"
    "\n"
    "  --format F   pem (default), der or jwk\n"
    "  --out FILE   write to FILE instead of standard output; FILE must not\n"
    "               exist yet (export never overwrites a file)\n"
    "  --private    export the private key; requires --out\n";

typedef enum export_format {
    EXPORT_PEM,
    EXPORT_DER,
    EXPORT_JWK,
} export_format;

typedef struct export_args {
    const char *kid;
    const char *out;
    export_format format;
    bool private_part;
} export_args;

static int
args_parse(kr_cli *cli, int argc, char **argv, export_args *args)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"private", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'f':
            if (strcmp(optarg, "pem") == 0)
                args->format = EXPORT_PEM;
            else if (strcmp(optarg, "der") == 0)
                args->format = EXPORT_DER;
            else if (strcmp(optarg, "jwk") == 0)
                args->format = EXPORT_JWK;
            else
                return cli_fail(cli, KR_E_USAGE,
                                "--format: unknown format '%s'; use pem, der "
                                "or jwk",
                                optarg);
            break;
        case 'o':
            args->out = optarg;
            break;
        case 'p':
            args->private_part = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return -1;
        default:
            return cli_option_error(cli, argv);
        }
    }
    if (argc - optind != 1)
        return cli_fail(cli, KR_E_USAGE,
                        "expected one KID; see 'keyrot export --help'");
    args->kid = argv[optind];
    if (args->private_part && args->out == NULL)
        return cli_fail(cli, KR_E_USAGE,
                        "--private needs --out FILE: a private key is never "
                        "written to standard output");
    return 0;
}

/* Encodes key in the requested format; *data is for wipe and free(). */
static kr_code
encode(const kr_rsakey *key, const export_args *args, uint8_t **data,
       size_t *len, kr_error *err)
{
    json_t *jwk = NULL;
    char *text;
    kr_code rc;

    if (args->format != EXPORT_JWK)
        return kr_rsakey_export(
            key, args->format == EXPORT_PEM ? KR_FORMAT_PEM : KR_FORMAT_DER,
            args->private_part, data, len, err);

    if (args->private_part) {
        rc = kr_jwk_private(key, args->kid, &jwk, err);
        if (rc != KR_OK)
            return rc;
    } else {
        jwk = kr_jwk_public(key, args->kid);
        if (jwk == NULL)
            return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    }
    /* The dumped text is wiped by the caller, the JWK's strings here. */
    text = json_dumps(jwk, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    kr_json_wipe(jwk);
    json_decref(jwk);
    if (text == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    *len = strlen(text) + 1;
    text[*len - 1] = '\n';
    *data = (uint8_t *)text;
    return KR_OK;
}

/* Writes data to a new file (never an existing one or through a symlink),
 * mode 0600; removes the partial file on failure. */
static kr_code
file_write_new(const char *path, const uint8_t *data, size_t len,
               kr_error *err)
{
    size_t done = 0;
    int fd;

    fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return kr_error_set(err, errno == EEXIST ? KR_E_REFUSED : KR_E_SYSTEM,
                            "cannot create: %s%s", strerror(errno),
                            errno == EEXIST ? "; export never overwrites a "
                                              "file"
                                            : "");
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    if (done < len || fsync(fd) != 0 || close(fd) != 0) {
        int saved = errno;

        close(fd);
        unlink(path);
        return kr_error_set(err, KR_E_SYSTEM, "write failed: %s",
                            strerror(saved));
    }
    return KR_OK;
}

static const char *const format_names[] = {"pem", "der", "jwk"};

/* Wraps a public export for --json: {"kid", "format", "key"} where key is
 * the PEM text, the JWK object, or the DER as base64url. */
static json_t *
key_json(const export_args *args, const uint8_t *data, size_t len)
{
    json_t *key = NULL;
    char *text;

    if (args->format == EXPORT_JWK) {
        key = json_loadb((const char *)data, len, 0, NULL);
    } else if (args->format == EXPORT_DER) {
        text = kr_b64url_encode(data, len);
        key = text ? json_string(text) : NULL;
        free(text);
    } else {
        key = json_stringn((const char *)data, len);
    }
    return json_pack("{s:s, s:s, s:o*}", "kid", args->kid, "format",
                     args->format == EXPORT_DER ? "der-base64url"
                                                : format_names[args->format],
                     "key", key);
}

/* Returns path with its directory resolved by realpath, so that the audit
 * record names the exported file wherever the command ran. Returns NULL
 * when the directory cannot be resolved or memory runs out. The result is
 * for free(). */
static char *
path_absolute(const char *path)
{
    char *dir_copy = strdup(path), *base_copy = strdup(path);
    char *dir = NULL, *result = NULL;
    const char *base;
    size_t size;

    if (dir_copy == NULL || base_copy == NULL)
        goto out;
    dir = realpath(dirname(dir_copy), NULL);
    if (dir == NULL)
        goto out;

    base = basename(base_copy);
    size = strlen(dir) + 1 + strlen(base) + 1;
    result = malloc(size);
    if (result != NULL)
        snprintf(result, size, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/",
                 base);

out:
    free(dir);
    free(dir_copy);
    free(base_copy);
    return result;
}

int
cmd_export(kr_cli *cli, int argc, char **argv)
{
    export_args args = {0};
    kr_store *store = NULL;
    kr_rsakey *key = NULL;
    char *out_path = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    kr_key_info info;
    kr_error err = {0};
    int status;

    status = args_parse(cli, argc, argv, &args);
    if (status != 0)
        return status < 0 ? 0 : status;

    if (cli_store_open(cli, &store, &err) != KR_OK
        || kr_store_key_get(store, args.kid, &info, &err) != KR_OK) {
        status = cli_report(cli, &err, NULL);
        goto out;
    }
    if (args.private_part && !info.has_private) {
        status = cli_fail(cli, KR_E_REFUSED,
                          "%s: this store holds no private part for this "
                          "key (%s)",
                          info.kid, info.purged_at ? "purged" : "verify-only");
        goto out;
    }

    if ((args.private_part
             ? kr_store_key_load(store, info.kid, &key, &err)
             : kr_store_key_load_public(store, info.kid, &key, &err))
            != KR_OK
        || encode(key, &args, &data, &len, &err) != KR_OK) {
        status = cli_report(cli, &err, info.kid);
        goto out;
    }

    if (args.out != NULL) {
        if (file_write_new(args.out, data, len, &err) != KR_OK) {
            status = cli_report(cli, &err, args.out);
            goto out;
        }
    } else if (cli->json) {
        cli_json_print(key_json(&args, data, len), false);
    } else if (fwrite(data, 1, len, stdout) != len) {
        status = cli_fail(cli, KR_E_SYSTEM, "writing standard output failed");
        goto out;
    }

    /* An export that cannot be audited is undone. */
    if (args.private_part) {
        out_path = path_absolute(args.out);
        if (out_path == NULL)
            kr_error_set(&err, KR_E_SYSTEM,
                         "cannot resolve the directory of %s: %s", args.out,
                         strerror(errno));
        else
            kr_store_export_record(store, info.kid, format_names[args.format],
                                   out_path, &err);
        if (err.code != KR_OK) {
            unlink(args.out);
            status = cli_report(cli, &err, info.kid);
        }
    }

out:
    free(out_path);
    if (data != NULL) {
        gnutls_memset(data, 0, len);
        free(data);
    }
    kr_rsakey_free(key);
    kr_store_close(store);
    return status;
}
