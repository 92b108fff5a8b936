/* SPDX-License-Identifier: MIT */
/*
 * The one error type of the keyrot library. Every fallible function returns
 * a kr_code (KR_OK is 0) and fills a caller-owned kr_error. The codes are
 * the documented exit statuses of the keyrot command, so the CLI maps them
 * one to one. This module owns formatting and the "first error wins" rule;
 * it does not print anything.
 */
#ifndef KEYROT_ERROR_H
#define KEYROT_ERROR_H

#include <stddef.h>

/* Exit statuses of the keyrot command; stable, documented in the README. */
typedef enum kr_code {
    KR_OK = 0,
    KR_E_INVALID = 1,  /* a token, the audit chain or a check did not verify */
    KR_E_USAGE = 2,    /* wrong options or arguments */
    KR_E_NOTFOUND = 3, /* key, store or file not found */
    KR_E_REFUSED = 4,  /* refused by a key's state or by the policy */
    KR_E_INPUT = 5, /* a key, JWKS, token or claims file that cannot be used */
    KR_E_SYSTEM = 6, /* store, I/O or library failure */
} kr_code;

/* Maximum length of an error message, NUL included. */
#define KR_ERROR_MSG_SIZE 512

typedef struct kr_error {
    kr_code code;
    char msg[KR_ERROR_MSG_SIZE];
} kr_error;

/* Sets *err to (code, message) unless an error is already set: the first
 * error wins, so a cleanup path cannot overwrite the cause. err may be NULL.
 * Returns code, so callers can write `return kr_error_set(err, ...)`. */
kr_code kr_error_set(kr_error *err, kr_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets *err to KR_OK with an empty message. */
void kr_error_clear(kr_error *err);

/* Maximum number of warnings kept by one operation, and their size. */
#define KR_WARNINGS_MAX 8
#define KR_WARNING_SIZE 256

/* Non-fatal findings (a repaired PEM, an unusual exponent) that the library
 * reports to its caller instead of printing them. */
typedef struct kr_warnings {
    size_t n_warnings;
    char msg[KR_WARNINGS_MAX][KR_WARNING_SIZE];
} kr_warnings;

/* Appends a warning; drops it silently when KR_WARNINGS_MAX are kept.
 * w may be NULL. */
void kr_warnings_add(kr_warnings *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
