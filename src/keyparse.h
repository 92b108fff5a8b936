/* SPDX-License-Identifier: MIT */
/*
 * Reads the key files operators actually have: PEM (PKCS#1, PKCS#8,
 * encrypted PKCS#8, legacy encrypted PKCS#1, SPKI, X.509 certificate), DER
 * of the same, and a JWK (private or public). Repairs PEM text that went
 * through environment variables, JSON or Windows tools when the result is
 * unambiguous (CRLF or CR line ends, a UTF-8 BOM, text before the BEGIN
 * line, lost or escaped line breaks), reporting each repair as a warning.
 *
 * Refusals, each with its own message (code KR_E_INPUT unless noted):
 * empty input, UTF-16 text, garbage, truncated PEM, two private keys in one
 * file, EC and Ed25519 keys, RSA under min_bits, an even public exponent or
 * 1, a passphrase required but not given, a wrong passphrase.
 * An odd exponent other than 65537 is accepted with a warning.
 */
#ifndef KEYROT_KEYPARSE_H
#define KEYROT_KEYPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "kid.h"
#include "rsakey.h"

/* Parses one key from data (data_len bytes, need not be NUL-terminated).
 * passphrase is NUL-terminated or NULL; it is used only for encrypted keys.
 * On KR_OK *out is the key (public only for SPKI, certificates and public
 * JWKs) and kid receives the JWK's own "kid", or "" when the input carries
 * none. Messages name the problem, not the file: the caller adds that. */
kr_code kr_key_parse(const uint8_t *data, size_t data_len,
                     const char *passphrase, unsigned min_bits,
                     kr_rsakey **out, char kid[KR_KID_SIZE],
                     kr_warnings *warnings, kr_error *err);

#endif
