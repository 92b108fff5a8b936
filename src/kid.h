/* SPDX-License-Identifier: MIT */
/* Key ID rules: 1 to 128 characters of A-Z a-z 0-9 . _ - */
#ifndef KEYROT_KID_H
#define KEYROT_KID_H

#include <stdbool.h>
#include <stddef.h>

#define KR_KID_MAX  128
#define KR_KID_SIZE (KR_KID_MAX + 1) /* with the NUL */

/* Returns whether the len bytes at kid form a valid key ID. An embedded NUL
 * makes it invalid. */
bool kr_kid_valid(const char *kid, size_t len);

/* Writes a printable, quoted rendering of an untrusted kid into out (at
 * most out_size bytes, NUL included), escaping control characters, quotes
 * and non-ASCII bytes as \xHH and cutting long input with "...". Used so a
 * hostile kid can appear in a message without breaking the line. */
void kr_kid_escape(const char *kid, size_t len, char *out, size_t out_size);

#endif
