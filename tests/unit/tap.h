/* SPDX-License-Identifier: MIT */
/*
 * A minimal TAP producer for the unit tests, read by automake's TAP driver.
 * Each check prints one "ok"/"not ok" line; tap_done() prints the plan and
 * returns the exit status. Header-only so every test binary is one file.
 */
#ifndef KEYROT_TAP_H
#define KEYROT_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TAP_UNUSED __attribute__((unused))

static int tap_count;
static int tap_failed;

TAP_UNUSED __attribute__((format(printf, 2, 3))) static int
tap_ok(int cond, const char *fmt, ...)
{
    va_list ap;

    tap_count++;
    if (!cond)
        tap_failed++;
    printf("%sok %d - ", cond ? "" : "not ", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    return cond;
}

/* Compares two strings; on mismatch prints both as TAP diagnostics. */
TAP_UNUSED static int
tap_str_eq(const char *got, const char *want, const char *name)
{
    int same = got != NULL && want != NULL && strcmp(got, want) == 0;

    tap_ok(same, "%s", name);
    if (!same)
        printf("# got:  %s\n# want: %s\n", got ? got : "(null)",
               want ? want : "(null)");
    return same;
}

TAP_UNUSED __attribute__((format(printf, 1, 2))) static void
tap_diag(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

TAP_UNUSED static int
tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed == 0 ? 0 : 1;
}

#endif
