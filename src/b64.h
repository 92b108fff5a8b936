/* SPDX-License-Identifier: MIT */
/*
 * base64url without padding (RFC 7515 section 2, RFC 4648 section 5) and
 * SHA-256, both from Nettle. The decoder is strict: it rejects padding,
 * white space, the standard alphabet's '+' and '/', and non-canonical
 * trailing bits, because a JWS has exactly one valid encoding.
 */
#ifndef KEYROT_B64_H
#define KEYROT_B64_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define KR_SHA256_SIZE 32

/* Length of the base64url text for len bytes, without padding and NUL. */
size_t kr_b64url_encoded_len(size_t len);

/* Encodes data into out, which must hold kr_b64url_encoded_len(len) + 1
 * bytes; writes a NUL. Returns the text length. */
size_t kr_b64url_encode_to(const uint8_t *data, size_t len, char *out);

/* Encodes data; returns a NUL-terminated string for the caller to free(),
 * or NULL when out of memory. */
char *kr_b64url_encode(const uint8_t *data, size_t len);

/* Decodes text_len bytes of base64url text. On KR_OK *out is a malloc'd
 * buffer of *out_len bytes (free() it; wipe it first if it held a secret).
 * Returns KR_E_INPUT on any character outside the base64url alphabet, on
 * padding, or on an impossible length. */
kr_code kr_b64url_decode(const char *text, size_t text_len, uint8_t **out,
                         size_t *out_len, kr_error *err);

/* Computes SHA-256 of data into digest. */
void kr_sha256(const void *data, size_t len, uint8_t digest[KR_SHA256_SIZE]);

#endif
