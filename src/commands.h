/* SPDX-License-Identifier: MIT */
/* The keyrot commands, one per cmd-<name>.c file. */
#ifndef KEYROT_COMMANDS_H
#define KEYROT_COMMANDS_H

#include "cli.h"
#include "lifecycle.h"

int cmd_init(kr_cli *cli, int argc, char **argv);
int cmd_generate(kr_cli *cli, int argc, char **argv);
int cmd_import(kr_cli *cli, int argc, char **argv);
int cmd_import_jwks(kr_cli *cli, int argc, char **argv);
int cmd_list(kr_cli *cli, int argc, char **argv);
int cmd_show(kr_cli *cli, int argc, char **argv);
int cmd_activate(kr_cli *cli, int argc, char **argv);
int cmd_sign(kr_cli *cli, int argc, char **argv);
int cmd_header(kr_cli *cli, int argc, char **argv);
int cmd_verify(kr_cli *cli, int argc, char **argv);
int cmd_jwks(kr_cli *cli, int argc, char **argv);
int cmd_export(kr_cli *cli, int argc, char **argv);
int cmd_encrypt_keys(kr_cli *cli, int argc, char **argv);
int cmd_rotate(kr_cli *cli, int argc, char **argv);
int cmd_retire(kr_cli *cli, int argc, char **argv);
int cmd_revoke(kr_cli *cli, int argc, char **argv);
int cmd_purge(kr_cli *cli, int argc, char **argv);
int cmd_tick(kr_cli *cli, int argc, char **argv);
int cmd_policy(kr_cli *cli, int argc, char **argv);
int cmd_status(kr_cli *cli, int argc, char **argv);
int cmd_check(kr_cli *cli, int argc, char **argv);
int cmd_audit(kr_cli *cli, int argc, char **argv);
int cmd_usage(kr_cli *cli, int argc, char **argv);

/* Prints the usage of kid under `keyrot show`, or, when key_obj is not
 * NULL, adds it to key_obj as "usage". In cmd-usage.c. Returns the exit
 * status. */
int cmd_usage_show(const kr_cli *cli, kr_store *store, const char *kid,
                   json_t *key_obj);

/* Parses a time option: Unix seconds, YYYY-MM-DD or
 * YYYY-MM-DDTHH:MM:SSZ (UTC). Prints the error and returns KR_E_USAGE
 * when it is none of these. In cmd-audit.c. */
int cmd_time_arg(const kr_cli *cli, const char *option, const char *text,
                 int64_t *t);

/* Checks the syntax of a kid given to option. Prints the error and returns
 * KR_E_USAGE when it is not a valid key ID, else returns 0. In
 * cmd-audit.c. */
int cmd_kid_arg(const kr_cli *cli, const char *option, const char *text);

/* Prints what a plan did (or, with dry_run, would do): lines for people,
 * or one JSON object with --json. In plan-print.c. */
void cmd_plan_print(const kr_cli *cli, const kr_plan *plan, bool dry_run);

/* Prints one line per state change of plan on stdout, as
 * cmd_plan_print does, for commands that print their own result beside
 * them (purge, policy set). In plan-print.c. */
void cmd_plan_transitions_print(const kr_plan *plan);

/* Prints the plan's note and each of its state changes as notes on stderr
 * ("keyrot: COMMAND: note: KID: FROM -> TO ..."), for commands whose
 * stdout carries other data. In plan-print.c. */
void cmd_plan_notes_print(const kr_cli *cli, const kr_plan *plan);

/* Returns the state changes of plan as a JSON array (a new reference), in
 * the form of the "transitions" member of a JSON plan. In plan-print.c. */
json_t *cmd_plan_transitions_json(const kr_plan *plan);

/* Generates a key of bits, stores it under kid_arg (or a default kid,
 * written to kid_out) and activates it when asked; *plan then lists the
 * state changes, and is empty otherwise. Prints errors; returns the exit
 * status. */
int cmd_generate_run(kr_cli *cli, kr_store *store, const char *kid_arg,
                     long bits, bool activate, char kid_out[KR_KID_SIZE],
                     kr_plan *plan);

/* Returns whether --bits N is a size keyrot generates (2048, 3072, 4096).
 * Shared by generate and rotate. */
bool cmd_bits_allowed(long bits);

/* Decides the size of a key to generate: *bits from --bits, or the
 * policy's default_bits when it is 0; either at least min_bits. Prints
 * the error and returns the exit status. Shared by generate and rotate. */
int cmd_bits_resolve(kr_cli *cli, kr_store *store, long *bits);

/* Writes the default kid of a generated key: "k-YYYYMMDD-" (the date of
 * now) and the first 8 characters of its RFC 7638 thumbprint. Shared by
 * generate and rotate. */
void cmd_kid_default(const kr_cli *cli, const kr_rsakey *key,
                     char kid[KR_KID_SIZE]);

#endif
