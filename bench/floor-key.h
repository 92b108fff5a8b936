/* SPDX-License-Identifier: MIT */
/*
 * Key loading and base64url helpers for the benchmark's floor programs
 * (floor-sign, floor-verify). They use Nettle, GMP and libc only, never
 * libkeyrot, GnuTLS, SQLite or jansson, so that a floor program costs what
 * the cryptography needs and nothing else.
 */
#ifndef KEYROT_BENCH_FLOOR_KEY_H
#define KEYROT_BENCH_FLOOR_KEY_H

#include <nettle/rsa.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads a PEM "RSA PRIVATE KEY" (PKCS#1) file into pub and priv, both
 * initialised and prepared by this function. On failure prints one line on
 * stderr, clears both keys and returns false. The decoded DER is wiped
 * before it is freed. */
bool floor_key_load(const char *path, struct rsa_public_key *pub,
                    struct rsa_private_key *priv);

/* Encodes len bytes as base64url without padding into out, which must hold
 * BASE64_ENCODE_LENGTH(len) + 3 bytes; writes a NUL and returns the text
 * length. */
size_t floor_b64url_encode(const uint8_t *data, size_t len, char *out);

/* Decodes text_len bytes of unpadded base64url text into out (at most
 * out_size bytes). Returns false on bad text or when out is too small. */
bool floor_b64url_decode(const char *text, size_t text_len, uint8_t *out,
                         size_t out_size, size_t *out_len);

#endif
