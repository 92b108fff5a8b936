/* SPDX-License-Identifier: MIT */
/*
 * Key ID syntax and a safe way to show an untrusted kid in a message. The
 * store decides whether a kid exists; this file only checks its spelling.
 */
#include "config.h"

#include "kid.h"

#include <stdio.h>
#include <string.h>

static bool
kid_char_valid(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool
kr_kid_valid(const char *kid, size_t len)
{
    size_t i;

    if (kid == NULL || len == 0 || len > KR_KID_MAX)
        return false;

    for (i = 0; i < len; i++) {
        if (!kid_char_valid((unsigned char)kid[i]))
            return false;
    }
    return true;
}

/* Writes the rendering of one byte into piece (at least 5 bytes) and
 * returns its length: the byte itself when printable ASCII, else \xHH.
 * The quote and the backslash are escaped too, so the output can always be
 * read back unambiguously. */
static size_t
kid_escape_byte(unsigned char c, char piece[5])
{
    static const char hex[] = "0123456789abcdef";

    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        piece[0] = (char)c;
        piece[1] = '\0';
        return 1;
    }

    piece[0] = '\\';
    piece[1] = 'x';
    piece[2] = hex[c >> 4];
    piece[3] = hex[c & 0x0f];
    piece[4] = '\0';
    return 4;
}

void
kr_kid_escape(const char *kid, size_t len, char *out, size_t out_size)
{
    /* Room that must stay free after a character: the closing quote and
     * the NUL, plus "..." when more input follows. */
    static const size_t closing = 2;
    static const size_t ellipsis = 3;
    size_t pos = 0;
    size_t i;
    char piece[5];
    size_t piece_len;
    size_t reserve;

    if (out == NULL || out_size == 0)
        return;

    /* Too small for even `""...`: an empty string is all that fits. */
    if (out_size < 1 + closing + ellipsis) {
        out[0] = '\0';
        return;
    }

    out[pos++] = '"';
    for (i = 0; i < len; i++) {
        piece_len = kid_escape_byte((unsigned char)kid[i], piece);
        reserve = closing + (i + 1 < len ? ellipsis : 0);
        if (pos + piece_len + reserve > out_size)
            break;
        memcpy(out + pos, piece, piece_len);
        pos += piece_len;
    }

    out[pos++] = '"';
    if (i < len) {
        memcpy(out + pos, "...", ellipsis);
        pos += ellipsis;
    }
    out[pos] = '\0';
}
