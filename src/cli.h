/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the keyrot command: the global options every command
 * sees, messages in the one format users and scripts rely on, reading
 * input files, and opening the store. Library code never prints; this
 * layer does, with data on stdout and everything else on stderr.
 */
#ifndef KEYROT_CLI_H
#define KEYROT_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* Global options and the context derived from them. */
typedef struct kr_cli {
    const char *command;    /* the command's name, for messages */
    const char *store_path; /* resolved: --store, KEYROT_STORE or default */
    bool store_is_default;  /* neither --store nor KEYROT_STORE was set */
    bool json;              /* --json */
    const char *store_passphrase_file; /* --store-passphrase-file */
    kr_context ctx;
} kr_cli;

/* A command: argv[0] is the command's name; returns the exit status. */
typedef int (*kr_command_fn)(kr_cli *cli, int argc, char **argv);

/* Prints "keyrot: COMMAND: message" on stderr and returns code. */
int cli_fail(const kr_cli *cli, kr_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints err as "keyrot: COMMAND: [SUBJECT: ]message" and returns its
 * code. subject may be NULL. */
int cli_report(const kr_cli *cli, const kr_error *err, const char *subject);

/* Prints "keyrot: COMMAND: warning: message" on stderr. */
void cli_warn(const kr_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "keyrot: COMMAND: note: message" on stderr: something the
 * command did that its data on stdout does not show. */
void cli_note(const kr_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints every warning, prefixed by subject (may be NULL). */
void cli_warnings_print(const kr_cli *cli, const kr_warnings *w,
                        const char *subject);

/* Reports an option error found by getopt_long (unknown option or
 * missing value) and returns KR_E_USAGE. */
int cli_option_error(const kr_cli *cli, char **argv);

/* Reads a whole file (or standard input for "-") of at most max_len bytes.
 * *data is malloc'd, NUL-terminated (not counted in *len); the caller
 * wipes it when it held a secret. Returns KR_E_NOTFOUND for a missing
 * file, KR_E_INPUT when it is too large. */
kr_code cli_file_read(const char *path, size_t max_len, uint8_t **data,
                      size_t *len, kr_error *err);

/* Reads a passphrase file, dropping one final LF (or CR LF). *out is for
 * cli_secret_free(). */
kr_code cli_passphrase_read(const char *path, char **out, kr_error *err);

/* Wipes and frees a NUL-terminated secret; NULL is allowed. */
void cli_secret_free(char *secret);

/* Opens the store named by the global options. */
kr_code cli_store_open(kr_cli *cli, kr_store **store, kr_error *err);

/* Prints a JSON value on stdout followed by a newline; steals value.
 * Returns KR_OK or KR_E_SYSTEM. */
kr_code cli_json_print(json_t *value, bool pretty);

/* Returns the JSON form of a key's record (a new reference). */
json_t *cli_key_json(const kr_key_info *info);

/* Parses a duration option value; on error prints the message and returns
 * KR_E_USAGE. */
int cli_duration_arg(const kr_cli *cli, const char *option, const char *text,
                     int64_t *seconds);

#endif
