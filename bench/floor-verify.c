/* SPDX-License-Identifier: MIT */
/*
 * floor-verify: the least work a batch RS256 verifier can do, as the
 * benchmark's floor for `keyrot verify -`. It starts, loads the public half
 * of a PKCS#1 PEM key with Nettle, then for each token on standard input
 * hashes the signing input, decodes the signature and calls
 * rsa_sha256_verify_digest, printing "valid" or "invalid" per line. It
 * checks no header, claim, kid or key state.
 *
 * Usage: floor-verify KEY.pem < TOKENS
 * Exit status: 0 when every token verified, 1 otherwise, 2 on misuse.
 */
#include <gmp.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floor-key.h"

#define SIG_MAX 2048

static bool
token_verify(const struct rsa_public_key *pub, const char *token, size_t len)
{
    struct sha256_ctx sha;
    uint8_t digest[SHA256_DIGEST_SIZE];
    uint8_t sig[SIG_MAX];
    const char *dot = NULL;
    size_t sig_len = 0;
    mpz_t s;
    bool ok;

    for (size_t i = len; i > 0 && dot == NULL; i--) {
        if (token[i - 1] == '.')
            dot = token + i - 1;
    }
    if (dot == NULL
        || !floor_b64url_decode(dot + 1, len - (size_t)(dot + 1 - token), sig,
                                sizeof(sig), &sig_len)
        || sig_len != pub->size)
        return false;

    sha256_init(&sha);
    sha256_update(&sha, (size_t)(dot - token), (const uint8_t *)token);
    sha256_digest(&sha, sizeof(digest), digest);

    mpz_init(s);
    nettle_mpz_set_str_256_u(s, sig_len, sig);
    ok = rsa_sha256_verify_digest(pub, digest, s) == 1;
    mpz_clear(s);
    return ok;
}

int
main(int argc, char **argv)
{
    struct rsa_public_key pub;
    struct rsa_private_key priv;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    bool all_valid = true;

    if (argc != 2) {
        fprintf(stderr, "usage: floor-verify KEY.pem < TOKENS\n");
        return 2;
    }
    if (!floor_key_load(argv[1], &pub, &priv))
        return 2;
    /* Only the public half verifies; drop the rest at once. */
    rsa_private_key_clear(&priv);

    while ((len = getline(&line, &cap, stdin)) != -1) {
        bool valid;

        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        valid = token_verify(&pub, line, (size_t)len);
        all_valid = all_valid && valid;
        puts(valid ? "valid" : "invalid");
    }

    free(line);
    rsa_public_key_clear(&pub);
    return all_valid ? 0 : 1;
}
