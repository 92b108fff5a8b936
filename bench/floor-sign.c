/* SPDX-License-Identifier: MIT */
/*
 * floor-sign: the least work a one-shot RS256 signer can do, as the
 * benchmark's floor for `keyrot sign`. It starts, loads a PKCS#1 PEM key
 * with Nettle, signs the same header and claims shape that keyrot mints
 * ({"alg":"RS256","typ":"JWT","kid":KID}, {"aud":AUD,"iat":now,"exp":now+300})
 * with the blinded rsa_sha256_sign_digest_tr, and prints the token. No
 * store, no policy, no usage record, no JSON library.
 *
 * Usage: floor-sign KEY.pem KID AUD
 */
#include <gmp.h>
#include <inttypes.h>
#include <nettle/base64.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "floor-key.h"

/* Token lifetime, in seconds: keyrot's default token_ttl. */
#define TOKEN_TTL 300
/* Largest JSON part and its encoding; KID and AUD are short in the bench. */
#define PART_MAX 512
#define SIG_MAX  2048

static void
random_fill(void *ctx, size_t len, uint8_t *dst)
{
    bool *failed = ctx;

    while (len > 0) {
        ssize_t n = getrandom(dst, len, 0);

        if (n <= 0) {
            *failed = true;
            return;
        }
        dst += n;
        len -= (size_t)n;
    }
}

int
main(int argc, char **argv)
{
    struct rsa_public_key pub;
    struct rsa_private_key priv;
    struct sha256_ctx sha;
    uint8_t digest[SHA256_DIGEST_SIZE];
    uint8_t sig[SIG_MAX];
    char header[PART_MAX], claims[PART_MAX];
    char token[3 * BASE64_ENCODE_LENGTH(PART_MAX)
               + BASE64_ENCODE_LENGTH(SIG_MAX) + 16];
    size_t pos;
    bool failed = false;
    int64_t now;
    mpz_t s;
    int n_header, n_claims, status = 1;

    if (argc != 4) {
        fprintf(stderr, "usage: floor-sign KEY.pem KID AUD\n");
        return 2;
    }
    if (!floor_key_load(argv[1], &pub, &priv))
        return 1;
    mpz_init(s);

    now = (int64_t)time(NULL);
    n_header = snprintf(header, sizeof(header),
                        "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                        argv[2]);
    n_claims =
        snprintf(claims, sizeof(claims),
                 "{\"aud\":\"%s\",\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}",
                 argv[3], now, now + TOKEN_TTL);
    if (n_header < 0 || n_header >= PART_MAX || n_claims < 0
        || n_claims >= PART_MAX || pub.size > SIG_MAX) {
        fprintf(stderr, "floor-sign: KID, AUD or the key is too large\n");
        goto out;
    }

    pos =
        floor_b64url_encode((const uint8_t *)header, (size_t)n_header, token);
    token[pos++] = '.';
    pos += floor_b64url_encode((const uint8_t *)claims, (size_t)n_claims,
                               token + pos);

    sha256_init(&sha);
    sha256_update(&sha, pos, (const uint8_t *)token);
    sha256_digest(&sha, sizeof(digest), digest);
    if (!rsa_sha256_sign_digest_tr(&pub, &priv, &failed, random_fill, digest,
                                   s)
        || failed) {
        fprintf(stderr, "floor-sign: signing failed\n");
        goto out;
    }
    nettle_mpz_get_str_256(pub.size, sig, s);

    token[pos++] = '.';
    pos += floor_b64url_encode(sig, pub.size, token + pos);
    puts(token);
    status = 0;

out:
    mpz_clear(s);
    rsa_private_key_clear(&priv);
    rsa_public_key_clear(&pub);
    return status;
}
