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

#define N_UNITS (sizeof(units) / sizeof(units[0]))

/* Returns the index in units[] of suffix, or N_UNITS for an unknown one. */
static size_t
unit_index(char suffix)
{
    for (size_t i = 0; i < N_UNITS; i++) {
        if (units[i].suffix == suffix)
            return i;
    }
    return N_UNITS;
}

static kr_code
duration_invalid(const char *text, kr_error *err)
{
    return kr_error_set(err, KR_E_USAGE,
                        "invalid duration '%s': expected seconds, or numbers "
                        "with d, h, m and s in that order, such as 300, 5m "
                        "or 2h30m",
                        text != NULL ? text : "");
}

static kr_code
duration_too_long(const char *text, kr_error *err)
{
    return kr_error_set(err, KR_E_USAGE,
                        "invalid duration '%s': longer than 100 years", text);
}

/* Parses one part: digits and, unless they are the whole text, a unit
 * smaller than every unit before it (*next_unit is the largest still
 * allowed). Adds its seconds to *total and advances *p. */
static kr_code
duration_part_parse(const char *text, const char **p, size_t *next_unit,
                    int64_t *total, kr_error *err)
{
    int64_t value = 0;
    size_t unit;

    if (**p < '0' || **p > '9')
        return duration_invalid(text, err);
    for (; **p >= '0' && **p <= '9'; (*p)++) {
        value = value * 10 + (**p - '0');
        if (value > KR_DURATION_MAX)
            return duration_too_long(text, err);
    }

    /* A bare number is seconds, but only as the whole duration: "1h30"
     * could mean 30 minutes or 30 seconds. */
    if (**p == '\0' && *next_unit == 0) {
        *total = value;
        return KR_OK;
    }
    unit = unit_index(**p);
    if (unit == N_UNITS || unit < *next_unit)
        return duration_invalid(text, err);
    (*p)++;
    *next_unit = unit + 1;

    if (value > (KR_DURATION_MAX - *total) / units[unit].seconds)
        return duration_too_long(text, err);
    *total += value * units[unit].seconds;
    return KR_OK;
}

kr_code
kr_duration_parse(const char *text, int64_t *seconds, kr_error *err)
{
    const char *p = text;
    size_t next_unit = 0;
    int64_t total = 0;
    kr_code rc;

    if (text == NULL || *text == '\0')
        return duration_invalid(text, err);

    while (*p != '\0') {
        rc = duration_part_parse(text, &p, &next_unit, &total, err);
        if (rc != KR_OK)
            return rc;
    }

    *seconds = total;
    return KR_OK;
}

void
kr_duration_format(int64_t seconds, char *out, size_t out_size)
{
    size_t used = 0;

    if (seconds <= 0) {
        snprintf(out, out_size, "%" PRId64 "s", seconds);
        return;
    }

    out[0] = '\0';
    for (size_t i = 0; i < N_UNITS && seconds > 0; i++) {
        int64_t count = seconds / units[i].seconds;
        int written;

        if (count == 0)
            continue;
        seconds -= count * units[i].seconds;
        written = snprintf(out + used, out_size - used, "%" PRId64 "%c", count,
                           units[i].suffix);
        if (written < 0 || (size_t)written >= out_size - used)
            return;
        used += (size_t)written;
    }
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
