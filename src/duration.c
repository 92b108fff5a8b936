/* SPDX-License-Identifier: MIT */
/* Duration parsing and time formatting shared by the CLI and the library. */
#include "config.h"

#include "duration.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct {
    char suffix;
    int64_t seconds;
} units[] = {
    {'d', 86400},
    {'h', 3600},
    {'m', 60},
    {'s', 1},
};

static int64_t
unit_seconds(char suffix)
{
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (units[i].suffix == suffix)
            return units[i].seconds;
    }
    return 0;
}

kr_code
kr_duration_parse(const char *text, int64_t *seconds, kr_error *err)
{
    int64_t value = 0;
    int64_t scale = 1;
    const char *p = text;

    if (text == NULL || *p < '0' || *p > '9')
        return kr_error_set(err, KR_E_USAGE,
                            "invalid duration '%s': expected a number of "
                            "seconds or a number with s, m, h or d",
                            text ? text : "");

    for (; *p >= '0' && *p <= '9'; p++) {
        value = value * 10 + (*p - '0');
        if (value > KR_DURATION_MAX)
            return kr_error_set(err, KR_E_USAGE,
                                "invalid duration '%s': longer than 100 years",
                                text);
    }

    if (*p != '\0') {
        scale = unit_seconds(*p);
        if (scale == 0 || p[1] != '\0')
            return kr_error_set(err, KR_E_USAGE,
                                "invalid duration '%s': expected a number of "
                                "seconds or a number with s, m, h or d",
                                text);
    }

    if (value > KR_DURATION_MAX / scale)
        return kr_error_set(err, KR_E_USAGE,
                            "invalid duration '%s': longer than 100 years",
                            text);

    *seconds = value * scale;
    return KR_OK;
}

void
kr_duration_format(int64_t seconds, char *out, size_t out_size)
{
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (seconds != 0 && seconds % units[i].seconds == 0) {
            snprintf(out, out_size, "%" PRId64 "%c",
                     seconds / units[i].seconds, units[i].suffix);
            return;
        }
    }
    snprintf(out, out_size, "%" PRId64 "s", seconds);
}

void
kr_time_format(int64_t unix_seconds, char *out, size_t out_size)
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;

    if (unix_seconds == 0 || gmtime_r(&t, &tm) == NULL) {
        snprintf(out, out_size, "-");
        return;
    }
    strftime(out, out_size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
