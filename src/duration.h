/* SPDX-License-Identifier: MIT */
/* Durations as operators write them: "300", "300s", "5m", "2h", "90d",
 * "2h30m". */
#ifndef KEYROT_DURATION_H
#define KEYROT_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Largest duration accepted: 100 years, in seconds. Bounds the arithmetic
 * on deadlines so that now + duration never overflows. */
#define KR_DURATION_MAX ((int64_t)100 * 366 * 86400)

/* Parses text as a non-negative number of seconds: a bare number, or
 * numbers each followed by a unit d, h, m or s, the units in that order
 * and each at most once ("1d12h", "2h1m"). Returns KR_E_USAGE on anything
 * else, or on a total above KR_DURATION_MAX. */
kr_code kr_duration_parse(const char *text, int64_t *seconds, kr_error *err);

/* Formats seconds exactly, largest unit first ("90d", "5m", "2h1m",
 * "1m1s"), into out of out_size bytes; kr_duration_parse reads it back. 0
 * and negative values are written in seconds ("0s"). */
void kr_duration_format(int64_t seconds, char *out, size_t out_size);

/* Formats Unix seconds as ISO 8601 UTC ("2026-01-01T01:01:00Z") into out,
 * which must hold at least 21 bytes; writes "-" for 0. */
void kr_time_format(int64_t unix_seconds, char *out, size_t out_size);

#endif
