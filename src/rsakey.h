/* SPDX-License-Identifier: MIT */
/*
 * An RSA key held in memory: always the public part, and the private part
 * when this store or file has it. The key is loaded and generated with
 * GnuTLS and signs and verifies RS256 (RSASSA-PKCS1-v1_5 with SHA-256,
 * RFC 7518 section 3.3) with Nettle. Private material lives only inside
 * the object and is wiped when it is freed.
 *
 * This module does not parse operator input (see keyparse.h) or JSON.
 */
#ifndef KEYROT_RSAKEY_H
#define KEYROT_RSAKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct kr_rsakey kr_rsakey;

/* RFC 7638 thumbprint: base64url SHA-256, 43 characters plus NUL. */
#define KR_THUMBPRINT_SIZE 44

/* Largest modulus keyrot accepts, in bits; also bounds signature sizes. */
#define KR_RSA_MAX_BITS     16384
#define KR_RSA_MAX_SIG_SIZE (KR_RSA_MAX_BITS / 8)

/* Big-endian unsigned integer bytes, borrowed from a key. */
typedef struct kr_bytes {
    const uint8_t *data;
    size_t len;
} kr_bytes;

/* The eight RFC 7518 section 6.3 parameters, big-endian, no leading zero
 * octets required. d..qi are all set for a private key, all empty
 * (len 0) for a public key. */
typedef struct kr_rsa_params {
    kr_bytes n, e, d, p, q, dp, dq, qi;
} kr_rsa_params;

/* Generates a new key of bits (2048..KR_RSA_MAX_BITS, multiple of 8) with
 * e = 65537. *out is for kr_rsakey_free(). */
kr_code kr_rsakey_generate(unsigned bits, kr_rsakey **out, kr_error *err);

/* Builds a key from raw parameters, checking them: n at least 512 bits and
 * odd, e odd and > 1, and, for a private key, that p*q = n and the CRT values
 * agree. Size policy (min_bits) is the caller's. Returns KR_E_INPUT on bad
 * parameters. */
kr_code kr_rsakey_from_params(const kr_rsa_params *params, kr_rsakey **out,
                              kr_error *err);

/* Loads the store's private format: unencrypted PKCS#8 DER. */
kr_code kr_rsakey_from_pkcs8_der(const uint8_t *der, size_t der_len,
                                 kr_rsakey **out, kr_error *err);

/* Builds a public key from n and e (big-endian bytes). */
kr_code kr_rsakey_from_public(const uint8_t *n, size_t n_len, const uint8_t *e,
                              size_t e_len, kr_rsakey **out, kr_error *err);

/* Frees the key, wiping private material. NULL is allowed. */
void kr_rsakey_free(kr_rsakey *key);

bool kr_rsakey_has_private(const kr_rsakey *key);

/* Modulus size in bits. */
unsigned kr_rsakey_bits(const kr_rsakey *key);

/* Borrows n and e as big-endian bytes without leading zero octets; valid
 * until the key is freed. */
kr_bytes kr_rsakey_n(const kr_rsakey *key);
kr_bytes kr_rsakey_e(const kr_rsakey *key);

/* Exports all parameters for a private JWK. Fills *params with pointers
 * into a buffer *storage that the caller wipes (gnutls_memset) and frees
 * with free(); storage_len is its size. Returns KR_E_REFUSED without a
 * private part. */
kr_code kr_rsakey_params(const kr_rsakey *key, kr_rsa_params *params,
                         uint8_t **storage, size_t *storage_len,
                         kr_error *err);

/* Computes the RFC 7638 thumbprint of the public key into out. */
void kr_rsakey_thumbprint(const kr_rsakey *key, char out[KR_THUMBPRINT_SIZE]);

/* Returns whether both keys have the same public n and e. */
bool kr_rsakey_same_public(const kr_rsakey *a, const kr_rsakey *b);

/* Signs msg with RS256. sig must hold KR_RSA_MAX_SIG_SIZE bytes; *sig_len
 * receives the signature length (the modulus size in bytes). Returns
 * KR_E_REFUSED when the key has no private part. */
kr_code kr_rsakey_sign_rs256(const kr_rsakey *key, const uint8_t *msg,
                             size_t msg_len, uint8_t *sig, size_t *sig_len,
                             kr_error *err);

/* Returns true when sig is a valid RS256 signature of msg under key. */
bool kr_rsakey_verify_rs256(const kr_rsakey *key, const uint8_t *msg,
                            size_t msg_len, const uint8_t *sig,
                            size_t sig_len);

/* Output encodings of kr_rsakey_export. */
typedef enum kr_key_format {
    KR_FORMAT_PEM,
    KR_FORMAT_DER,
} kr_key_format;

/* Exports the public key as SubjectPublicKeyInfo (PEM or DER), or the
 * private key as unencrypted PKCS#8 when private is true. *out is malloc'd
 * (*out_len bytes, PEM NUL-terminated but not counted); the caller wipes a
 * private export with gnutls_memset before free(). */
kr_code kr_rsakey_export(const kr_rsakey *key, kr_key_format format,
                         bool private_part, uint8_t **out, size_t *out_len,
                         kr_error *err);

/* Exports the private key as PKCS#8 DER encrypted under passphrase
 * (PBES2 with AES-256-CBC, GnuTLS's PBKDF2 defaults), the store's format
 * for keys protected at rest. *out is for wipe and free(). */
kr_code kr_rsakey_export_encrypted(const kr_rsakey *key,
                                   const char *passphrase, uint8_t **out,
                                   size_t *out_len, kr_error *err);

/* Loads a key written by kr_rsakey_export_encrypted. Returns KR_E_REFUSED
 * when passphrase does not decrypt it. */
kr_code kr_rsakey_from_pkcs8_der_encrypted(const uint8_t *der, size_t der_len,
                                           const char *passphrase,
                                           kr_rsakey **out, kr_error *err);

/* Drops the private part, keeping the public key. */
void kr_rsakey_drop_private(kr_rsakey *key);

#endif
