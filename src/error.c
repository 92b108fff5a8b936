/* SPDX-License-Identifier: MIT */
/* Error and warning recording for the keyrot library. */
#include "config.h"

#include "error.h"

#include <stdarg.h>
#include <stdio.h>

kr_code
kr_error_set(kr_error *err, kr_code code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->code != KR_OK)
        return code;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void
kr_error_clear(kr_error *err)
{
    if (err == NULL)
        return;
    err->code = KR_OK;
    err->msg[0] = '\0';
}

void
kr_warnings_add(kr_warnings *w, const char *fmt, ...)
{
    va_list ap;

    if (w == NULL || w->n_warnings >= KR_WARNINGS_MAX)
        return;

    va_start(ap, fmt);
    vsnprintf(w->msg[w->n_warnings], KR_WARNING_SIZE, fmt, ap);
    va_end(ap);
    w->n_warnings++;
}
