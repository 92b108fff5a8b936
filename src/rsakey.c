/* SPDX-License-Identifier: MIT */
/*
 * RSA key objects. A key keeps Nettle's public and private structures,
 * ready to sign and verify, plus its n and e as big-endian bytes for JWKs
 * and thumbprints. GnuTLS generates keys and converts them to and from
 * PKCS#8 and SubjectPublicKeyInfo. Operator file formats are keyparse.c's
 * job, JSON is jwk.c's.
 *
 * Private numbers live in GMP integers. GnuTLS installs GMP memory
 * functions that zero memory before freeing it, so mpz_clear wipes them;
 * this file must never replace those functions. Byte copies of private
 * numbers are wiped with gnutls_memset before they are freed.
 */
#include "config.h"

#include "rsakey.h"

#include <gmp.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

/* Smallest modulus that kr_rsakey_from_params builds. The callers enforce
 * the policy minimum (2048 bits by default). */
#define RSA_MIN_BUILD_BITS 512

/* base64url length of the largest n or e, rounded up to whole groups. */
#define B64_MAX_KEY_LEN ((KR_RSA_MAX_SIG_SIZE + 2) / 3 * 4)

struct kr_rsakey {
    struct rsa_public_key pub;
    struct rsa_private_key priv; /* initialised only when has_private */
    bool has_private;
    unsigned bits;
    uint8_t *n; /* big-endian, no leading zero octet */
    size_t n_len;
    uint8_t *e;
    size_t e_len;
};

/* Converts x to malloc'd big-endian bytes without leading zeros (one zero
 * byte for x = 0). Returns NULL when out of memory. */
static uint8_t *
mpz_to_bytes(const mpz_t x, size_t *len)
{
    size_t n = nettle_mpz_sizeinbase_256_u(x);
    uint8_t *buf = malloc(n);

    if (buf == NULL)
        return NULL;

    nettle_mpz_get_str_256(n, buf, x);
    *len = n;
    return buf;
}

static kr_rsakey *
rsakey_new(void)
{
    kr_rsakey *key = calloc(1, sizeof(*key));

    if (key == NULL)
        return NULL;

    rsa_public_key_init(&key->pub);
    return key;
}

/* Fills the cached byte forms of n and e and the bit size from key->pub. */
static kr_code
rsakey_cache_public(kr_rsakey *key, kr_error *err)
{
    key->bits = (unsigned)mpz_sizeinbase(key->pub.n, 2);
    key->n = mpz_to_bytes(key->pub.n, &key->n_len);
    key->e = mpz_to_bytes(key->pub.e, &key->e_len);
    if (key->n == NULL || key->e == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    return KR_OK;
}

/* Checks the public numbers: the bounds on n and the exponent rules that
 * RS256 relies on (RFC 8017 section 3.1: e odd, 3 <= e < n). */
static kr_code
rsakey_check_public(const mpz_t n, const mpz_t e, kr_error *err)
{
    size_t bits = mpz_sizeinbase(n, 2);

    if (mpz_sgn(n) <= 0 || bits < RSA_MIN_BUILD_BITS)
        return kr_error_set(err, KR_E_INPUT,
                            "RSA modulus is too small (%zu bits)",
                            mpz_sgn(n) <= 0 ? (size_t)0 : bits);

    if (bits > KR_RSA_MAX_BITS)
        return kr_error_set(err, KR_E_INPUT,
                            "RSA key is %zu bits; at most %d are supported",
                            bits, KR_RSA_MAX_BITS);

    if (mpz_even_p(n))
        return kr_error_set(err, KR_E_INPUT,
                            "invalid RSA key: the modulus is even");

    if (mpz_cmp_ui(e, 1) == 0)
        return kr_error_set(err, KR_E_INPUT,
                            "RSA public exponent is 1; an odd exponent of "
                            "at least 3 is required");

    if (mpz_sgn(e) <= 0 || mpz_even_p(e))
        return kr_error_set(err, KR_E_INPUT,
                            "RSA public exponent is even; an odd exponent "
                            "of at least 3 is required");

    if (mpz_cmp(e, n) >= 0)
        return kr_error_set(err, KR_E_INPUT,
                            "invalid RSA key: the public exponent is not "
                            "smaller than the modulus");

    return KR_OK;
}

/* Checks that the private numbers belong to the public key and to each
 * other: n = p*q, dp = d mod (p-1), dq = d mod (q-1), qi*q = 1 mod p, and
 * e*dp = 1 mod (p-1), e*dq = 1 mod (q-1). Nettle signs with the CRT values
 * only, so these are the numbers a signature depends on. */
static kr_code
rsakey_check_private(const struct rsa_public_key *pub,
                     const struct rsa_private_key *priv, kr_error *err)
{
    mpz_t t, m;
    kr_code rc = KR_OK;

    mpz_init(t);
    mpz_init(m);

    if (mpz_cmp_ui(priv->p, 1) <= 0 || mpz_cmp_ui(priv->q, 1) <= 0) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "invalid RSA private key: "
                          "p or q is not greater than 1");
        goto out;
    }

    mpz_mul(t, priv->p, priv->q);
    if (mpz_cmp(t, pub->n) != 0) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "invalid RSA private key: "
                          "p times q is not the modulus");
        goto out;
    }

    mpz_sub_ui(m, priv->p, 1);
    mpz_mod(t, priv->d, m);
    if (mpz_cmp(t, priv->a) != 0) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "invalid RSA private key: "
                          "dp does not match d");
        goto out;
    }
    mpz_mul(t, pub->e, priv->a);
    mpz_mod(t, t, m);
    if (mpz_cmp_ui(t, 1) != 0) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "invalid RSA private key: "
                          "dp is not the inverse of e");
        goto out;
    }

    mpz_sub_ui(m, priv->q, 1);
    mpz_mod(t, priv->d, m);
    if (mpz_cmp(t, priv->b) != 0) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "invalid RSA private key: "
                          "dq does not match d");
        goto out;
    }
    mpz_mul(t, pub->e, priv->b);
    mpz_mod(t, t, m);
    if (mpz_cmp_ui(t, 1) != 0) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "invalid RSA private key: "
                          "dq is not the inverse of e");
        goto out;
    }

    mpz_mul(t, priv->c, priv->q);
    mpz_mod(t, t, priv->p);
    if (mpz_cmp_ui(t, 1) != 0) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "invalid RSA private key: "
                          "qi is not the inverse of q modulo p");
        goto out;
    }

out:
    mpz_clear(t);
    mpz_clear(m);
    return rc;
}

static bool
params_has_private(const kr_rsa_params *params)
{
    return params->d.len > 0 || params->p.len > 0 || params->q.len > 0
           || params->dp.len > 0 || params->dq.len > 0 || params->qi.len > 0;
}

static bool
params_private_complete(const kr_rsa_params *params)
{
    return params->d.len > 0 && params->p.len > 0 && params->q.len > 0
           && params->dp.len > 0 && params->dq.len > 0 && params->qi.len > 0;
}

kr_code
kr_rsakey_from_params(const kr_rsa_params *params, kr_rsakey **out,
                      kr_error *err)
{
    kr_rsakey *key = NULL;
    kr_code rc;

    *out = NULL;

    if (params->n.len == 0 || params->e.len == 0) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "invalid RSA key: n or e is "
                          "missing");
        goto out;
    }

    if (params->n.len > KR_RSA_MAX_SIG_SIZE + 1) {
        rc = kr_error_set(err, KR_E_INPUT, "RSA key is larger than %d bits",
                          KR_RSA_MAX_BITS);
        goto out;
    }

    if (params_has_private(params) && !params_private_complete(params)) {
        rc = kr_error_set(err, KR_E_INPUT,
                          "RSA private key lacks one of "
                          "d, p, q, dp, dq, qi; all six are required");
        goto out;
    }

    key = rsakey_new();
    if (key == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }

    nettle_mpz_set_str_256_u(key->pub.n, params->n.len, params->n.data);
    nettle_mpz_set_str_256_u(key->pub.e, params->e.len, params->e.data);
    rc = rsakey_check_public(key->pub.n, key->pub.e, err);
    if (rc != KR_OK)
        goto out;

    if (rsa_public_key_prepare(&key->pub) != 1) {
        rc = kr_error_set(err, KR_E_INPUT, "invalid RSA public key");
        goto out;
    }

    if (params_has_private(params)) {
        rsa_private_key_init(&key->priv);
        key->has_private = true;
        nettle_mpz_set_str_256_u(key->priv.d, params->d.len, params->d.data);
        nettle_mpz_set_str_256_u(key->priv.p, params->p.len, params->p.data);
        nettle_mpz_set_str_256_u(key->priv.q, params->q.len, params->q.data);
        nettle_mpz_set_str_256_u(key->priv.a, params->dp.len, params->dp.data);
        nettle_mpz_set_str_256_u(key->priv.b, params->dq.len, params->dq.data);
        nettle_mpz_set_str_256_u(key->priv.c, params->qi.len, params->qi.data);

        rc = rsakey_check_private(&key->pub, &key->priv, err);
        if (rc != KR_OK)
            goto out;

        if (rsa_private_key_prepare(&key->priv) != 1
            || key->priv.size != key->pub.size) {
            rc = kr_error_set(err, KR_E_INPUT, "invalid RSA private key");
            goto out;
        }
    }

    rc = rsakey_cache_public(key, err);
    if (rc != KR_OK)
        goto out;

    *out = key;
    key = NULL;

out:
    kr_rsakey_free(key);
    return rc;
}

kr_code
kr_rsakey_from_public(const uint8_t *n, size_t n_len, const uint8_t *e,
                      size_t e_len, kr_rsakey **out, kr_error *err)
{
    kr_rsa_params params;

    memset(&params, 0, sizeof(params));
    params.n.data = n;
    params.n.len = n_len;
    params.e.data = e;
    params.e.len = e_len;
    return kr_rsakey_from_params(&params, out, err);
}

/* The eight numbers of an RSA private key as GnuTLS exports them. */
struct raw_rsa {
    gnutls_datum_t m, e, d, p, q, u, e1, e2;
};

static void
raw_rsa_wipe_datum(gnutls_datum_t *d)
{
    if (d->data != NULL)
        gnutls_memset(d->data, 0, d->size);
    gnutls_free(d->data);
    d->data = NULL;
    d->size = 0;
}

static void
raw_rsa_free(struct raw_rsa *raw)
{
    raw_rsa_wipe_datum(&raw->m);
    raw_rsa_wipe_datum(&raw->e);
    raw_rsa_wipe_datum(&raw->d);
    raw_rsa_wipe_datum(&raw->p);
    raw_rsa_wipe_datum(&raw->q);
    raw_rsa_wipe_datum(&raw->u);
    raw_rsa_wipe_datum(&raw->e1);
    raw_rsa_wipe_datum(&raw->e2);
}

static kr_bytes
datum_bytes(const gnutls_datum_t *d)
{
    kr_bytes b = {d->data, d->size};

    return b;
}

/* Builds a key from a GnuTLS private key object. GnuTLS's "u" is the
 * PKCS#1 coefficient q^-1 mod p, the JWK "qi". */
static kr_code
rsakey_from_gnutls(gnutls_x509_privkey_t gkey, kr_rsakey **out, kr_error *err)
{
    struct raw_rsa raw;
    kr_rsa_params params;
    int ret;
    kr_code rc;

    memset(&raw, 0, sizeof(raw));

    ret = gnutls_x509_privkey_get_pk_algorithm(gkey);
    if (ret != GNUTLS_PK_RSA) {
        rc = kr_error_set(err, KR_E_INPUT, "not an RSA private key");
        goto out;
    }

    ret = gnutls_x509_privkey_export_rsa_raw2(gkey, &raw.m, &raw.e, &raw.d,
                                              &raw.p, &raw.q, &raw.u, &raw.e1,
                                              &raw.e2);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_INPUT, "cannot read the RSA key: %s",
                          gnutls_strerror(ret));
        goto out;
    }

    params.n = datum_bytes(&raw.m);
    params.e = datum_bytes(&raw.e);
    params.d = datum_bytes(&raw.d);
    params.p = datum_bytes(&raw.p);
    params.q = datum_bytes(&raw.q);
    params.dp = datum_bytes(&raw.e1);
    params.dq = datum_bytes(&raw.e2);
    params.qi = datum_bytes(&raw.u);
    rc = kr_rsakey_from_params(&params, out, err);

out:
    raw_rsa_free(&raw);
    return rc;
}

kr_code
kr_rsakey_generate(unsigned bits, kr_rsakey **out, kr_error *err)
{
    gnutls_x509_privkey_t gkey = NULL;
    int ret;
    kr_code rc;

    *out = NULL;

    if (bits < 2048 || bits > KR_RSA_MAX_BITS || bits % 8 != 0) {
        rc = kr_error_set(err, KR_E_USAGE,
                          "invalid RSA key size %u: use a "
                          "multiple of 8 from 2048 to %d",
                          bits, KR_RSA_MAX_BITS);
        goto out;
    }

    ret = gnutls_x509_privkey_init(&gkey);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot create a key object: %s",
                          gnutls_strerror(ret));
        goto out;
    }

    ret = gnutls_x509_privkey_generate(gkey, GNUTLS_PK_RSA, bits, 0);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_SYSTEM, "RSA key generation failed: %s",
                          gnutls_strerror(ret));
        goto out;
    }

    rc = rsakey_from_gnutls(gkey, out, err);

out:
    if (gkey != NULL)
        gnutls_x509_privkey_deinit(gkey);
    return rc;
}

kr_code
kr_rsakey_from_pkcs8_der(const uint8_t *der, size_t der_len, kr_rsakey **out,
                         kr_error *err)
{
    gnutls_x509_privkey_t gkey = NULL;
    gnutls_datum_t datum;
    int ret;
    kr_code rc;

    *out = NULL;

    if (der_len == 0 || der_len > 0xffffffffu) {
        rc = kr_error_set(err, KR_E_INPUT, "invalid PKCS#8 key: bad size");
        goto out;
    }

    ret = gnutls_x509_privkey_init(&gkey);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_SYSTEM, "cannot create a key object: %s",
                          gnutls_strerror(ret));
        goto out;
    }

    datum.data = (unsigned char *)der;
    datum.size = (unsigned)der_len;
    ret = gnutls_x509_privkey_import_pkcs8(gkey, &datum, GNUTLS_X509_FMT_DER,
                                           NULL, GNUTLS_PKCS_PLAIN);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_INPUT, "invalid PKCS#8 key: %s",
                          gnutls_strerror(ret));
        goto out;
    }

    rc = rsakey_from_gnutls(gkey, out, err);

out:
    if (gkey != NULL)
        gnutls_x509_privkey_deinit(gkey);
    return rc;
}

void
kr_rsakey_drop_private(kr_rsakey *key)
{
    if (key == NULL || !key->has_private)
        return;

    rsa_private_key_clear(&key->priv);
    gnutls_memset(&key->priv, 0, sizeof(key->priv));
    key->has_private = false;
}

void
kr_rsakey_free(kr_rsakey *key)
{
    if (key == NULL)
        return;

    kr_rsakey_drop_private(key);
    rsa_public_key_clear(&key->pub);
    free(key->n);
    free(key->e);
    free(key);
}

bool
kr_rsakey_has_private(const kr_rsakey *key)
{
    return key->has_private;
}

unsigned
kr_rsakey_bits(const kr_rsakey *key)
{
    return key->bits;
}

kr_bytes
kr_rsakey_n(const kr_rsakey *key)
{
    kr_bytes b = {key->n, key->n_len};

    return b;
}

kr_bytes
kr_rsakey_e(const kr_rsakey *key)
{
    kr_bytes b = {key->e, key->e_len};

    return b;
}

/* Appends x to storage at *pos as big-endian bytes and points *b at it. */
static void
params_put(uint8_t *storage, size_t *pos, const mpz_t x, kr_bytes *b)
{
    size_t len = nettle_mpz_sizeinbase_256_u(x);

    nettle_mpz_get_str_256(len, storage + *pos, x);
    b->data = storage + *pos;
    b->len = len;
    *pos += len;
}

kr_code
kr_rsakey_params(const kr_rsakey *key, kr_rsa_params *params,
                 uint8_t **storage, size_t *storage_len, kr_error *err)
{
    const struct rsa_private_key *priv = &key->priv;
    uint8_t *buf = NULL;
    size_t size;
    size_t pos = 0;

    memset(params, 0, sizeof(*params));
    *storage = NULL;
    *storage_len = 0;

    if (!key->has_private)
        return kr_error_set(err, KR_E_REFUSED, "the key has no private part");

    size = nettle_mpz_sizeinbase_256_u(key->pub.n)
           + nettle_mpz_sizeinbase_256_u(key->pub.e)
           + nettle_mpz_sizeinbase_256_u(priv->d)
           + nettle_mpz_sizeinbase_256_u(priv->p)
           + nettle_mpz_sizeinbase_256_u(priv->q)
           + nettle_mpz_sizeinbase_256_u(priv->a)
           + nettle_mpz_sizeinbase_256_u(priv->b)
           + nettle_mpz_sizeinbase_256_u(priv->c);
    buf = malloc(size);
    if (buf == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");

    params_put(buf, &pos, key->pub.n, &params->n);
    params_put(buf, &pos, key->pub.e, &params->e);
    params_put(buf, &pos, priv->d, &params->d);
    params_put(buf, &pos, priv->p, &params->p);
    params_put(buf, &pos, priv->q, &params->q);
    params_put(buf, &pos, priv->a, &params->dp);
    params_put(buf, &pos, priv->b, &params->dq);
    params_put(buf, &pos, priv->c, &params->qi);

    *storage = buf;
    *storage_len = size;
    return KR_OK;
}

void
kr_rsakey_thumbprint(const kr_rsakey *key, char out[KR_THUMBPRINT_SIZE])
{
    /* RFC 7638 section 3.2: the required members only, sorted, no white
     * space. The encoded n and e go straight into the JSON text. */
    static const char part1[] = "{\"e\":\"";
    static const char part2[] = "\",\"kty\":\"RSA\",\"n\":\"";
    static const char part3[] = "\"}";
    /* n and e are both below 2^KR_RSA_MAX_BITS, so each encodes to at
     * most B64_MAX_KEY_LEN characters. */
    char json[sizeof(part1) + sizeof(part2) + sizeof(part3)
              + 2 * B64_MAX_KEY_LEN];
    uint8_t digest[KR_SHA256_SIZE];
    size_t pos = 0;

    memcpy(json + pos, part1, sizeof(part1) - 1);
    pos += sizeof(part1) - 1;
    pos += kr_b64url_encode_to(key->e, key->e_len, json + pos);
    memcpy(json + pos, part2, sizeof(part2) - 1);
    pos += sizeof(part2) - 1;
    pos += kr_b64url_encode_to(key->n, key->n_len, json + pos);
    memcpy(json + pos, part3, sizeof(part3) - 1);
    pos += sizeof(part3) - 1;

    kr_sha256(json, pos, digest);
    kr_b64url_encode_to(digest, sizeof(digest), out);
}

bool
kr_rsakey_same_public(const kr_rsakey *a, const kr_rsakey *b)
{
    return mpz_cmp(a->pub.n, b->pub.n) == 0
           && mpz_cmp(a->pub.e, b->pub.e) == 0;
}

/* Random source for RSA blinding. A nettle_random_func cannot report an
 * error, so a gnutls_rnd failure is recorded here and the caller discards
 * the signature. */
struct blind_rng {
    bool failed;
};

static void
blind_rng_fill(void *ctx, size_t length, uint8_t *dst)
{
    struct blind_rng *rng = ctx;

    if (gnutls_rnd(GNUTLS_RND_NONCE, dst, length) < 0)
        rng->failed = true;
}

kr_code
kr_rsakey_sign_rs256(const kr_rsakey *key, const uint8_t *msg, size_t msg_len,
                     uint8_t *sig, size_t *sig_len, kr_error *err)
{
    uint8_t digest[KR_SHA256_SIZE];
    struct blind_rng rng = {false};
    mpz_t s;
    int ok;
    kr_code rc = KR_OK;

    *sig_len = 0;

    if (!key->has_private)
        return kr_error_set(err, KR_E_REFUSED,
                            "the key has no private part; "
                            "it can only verify");

    kr_sha256(msg, msg_len, digest);
    mpz_init(s);

    /* The _tr variant blinds the private operation, and Nettle checks the
     * result against the public key before returning it (rsa-sign-tr.c). */
    ok = rsa_sha256_sign_digest_tr(&key->pub, &key->priv, &rng, blind_rng_fill,
                                   digest, s);
    if (rng.failed) {
        rc = kr_error_set(err, KR_E_SYSTEM,
                          "random number generator "
                          "failed while signing");
        goto out;
    }
    if (ok != 1) {
        rc = kr_error_set(err, KR_E_SYSTEM, "RSA signing failed");
        goto out;
    }

    nettle_mpz_get_str_256(key->pub.size, sig, s);
    *sig_len = key->pub.size;

out:
    mpz_clear(s);
    return rc;
}

bool
kr_rsakey_verify_rs256(const kr_rsakey *key, const uint8_t *msg,
                       size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    uint8_t digest[KR_SHA256_SIZE];
    mpz_t s;
    int ok;

    /* RFC 8017 section 8.2.2 step 1: the signature is exactly k octets. A
     * shorter or zero-padded longer value is an invalid signature, not
     * something to normalise. */
    if (sig_len != key->pub.size)
        return false;

    kr_sha256(msg, msg_len, digest);
    mpz_init(s);
    nettle_mpz_set_str_256_u(s, sig_len, sig);
    ok = rsa_sha256_verify_digest(&key->pub, digest, s);
    mpz_clear(s);
    return ok == 1;
}

/* Copies a GnuTLS datum into a malloc'd buffer with a NUL after the data,
 * wiping the datum when it held private material. */
static kr_code
datum_take(gnutls_datum_t *d, bool secret, uint8_t **out, size_t *out_len,
           kr_error *err)
{
    uint8_t *buf = malloc((size_t)d->size + 1);
    kr_code rc = KR_OK;

    if (buf == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }

    memcpy(buf, d->data, d->size);
    buf[d->size] = '\0';
    *out = buf;
    *out_len = d->size;

out:
    if (secret)
        gnutls_memset(d->data, 0, d->size);
    gnutls_free(d->data);
    d->data = NULL;
    return rc;
}

static kr_code
rsakey_export_public(const kr_rsakey *key, gnutls_x509_crt_fmt_t fmt,
                     uint8_t **out, size_t *out_len, kr_error *err)
{
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t m = {key->n, (unsigned)key->n_len};
    gnutls_datum_t e = {key->e, (unsigned)key->e_len};
    gnutls_datum_t text = {NULL, 0};
    int ret;
    kr_code rc;

    ret = gnutls_pubkey_init(&pub);
    if (ret >= 0)
        ret = gnutls_pubkey_import_rsa_raw(pub, &m, &e);
    if (ret >= 0)
        ret = gnutls_pubkey_export2(pub, fmt, &text);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_SYSTEM,
                          "cannot export the public key: "
                          "%s",
                          gnutls_strerror(ret));
        goto out;
    }

    rc = datum_take(&text, false, out, out_len, err);

out:
    gnutls_free(text.data);
    if (pub != NULL)
        gnutls_pubkey_deinit(pub);
    return rc;
}

static gnutls_datum_t
bytes_datum(kr_bytes b)
{
    gnutls_datum_t d = {(unsigned char *)b.data, (unsigned)b.len};

    return d;
}

static kr_code
rsakey_export_private(const kr_rsakey *key, gnutls_x509_crt_fmt_t fmt,
                      const char *passphrase, uint8_t **out, size_t *out_len,
                      kr_error *err)
{
    kr_rsa_params params;
    uint8_t *storage = NULL;
    size_t storage_len = 0;
    gnutls_x509_privkey_t gkey = NULL;
    gnutls_datum_t m, e, d, p, q, u, e1, e2;
    gnutls_datum_t text = {NULL, 0};
    int ret;
    kr_code rc;

    rc = kr_rsakey_params(key, &params, &storage, &storage_len, err);
    if (rc != KR_OK)
        goto out;

    m = bytes_datum(params.n);
    e = bytes_datum(params.e);
    d = bytes_datum(params.d);
    p = bytes_datum(params.p);
    q = bytes_datum(params.q);
    u = bytes_datum(params.qi);
    e1 = bytes_datum(params.dp);
    e2 = bytes_datum(params.dq);

    ret = gnutls_x509_privkey_init(&gkey);
    if (ret >= 0)
        ret = gnutls_x509_privkey_import_rsa_raw2(gkey, &m, &e, &d, &p, &q, &u,
                                                  &e1, &e2);
    if (ret >= 0)
        ret = gnutls_x509_privkey_export2_pkcs8(
            gkey, fmt, passphrase,
            passphrase ? GNUTLS_PKCS_PBES2_AES_256 : GNUTLS_PKCS_PLAIN, &text);
    if (ret < 0) {
        rc = kr_error_set(err, KR_E_SYSTEM,
                          "cannot export the private key: "
                          "%s",
                          gnutls_strerror(ret));
        goto out;
    }

    rc = datum_take(&text, true, out, out_len, err);

out:
    if (text.data != NULL)
        gnutls_memset(text.data, 0, text.size);
    gnutls_free(text.data);
    if (gkey != NULL)
        gnutls_x509_privkey_deinit(gkey);
    if (storage != NULL)
        gnutls_memset(storage, 0, storage_len);
    free(storage);
    return rc;
}

kr_code
kr_rsakey_export(const kr_rsakey *key, kr_key_format format, bool private_part,
                 uint8_t **out, size_t *out_len, kr_error *err)
{
    gnutls_x509_crt_fmt_t fmt =
        format == KR_FORMAT_PEM ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;

    *out = NULL;
    *out_len = 0;

    if (!private_part)
        return rsakey_export_public(key, fmt, out, out_len, err);

    if (!key->has_private)
        return kr_error_set(err, KR_E_REFUSED,
                            "the key has no private part; "
                            "only the public key can be exported");

    return rsakey_export_private(key, fmt, NULL, out, out_len, err);
}

kr_code
kr_rsakey_export_encrypted(const kr_rsakey *key, const char *passphrase,
                           uint8_t **out, size_t *out_len, kr_error *err)
{
    *out = NULL;
    *out_len = 0;

    if (!key->has_private)
        return kr_error_set(err, KR_E_REFUSED, "the key has no private part");
    if (passphrase == NULL || passphrase[0] == '\0')
        return kr_error_set(err, KR_E_USAGE, "the passphrase is empty");

    return rsakey_export_private(key, GNUTLS_X509_FMT_DER, passphrase, out,
                                 out_len, err);
}

kr_code
kr_rsakey_from_pkcs8_der_encrypted(const uint8_t *der, size_t der_len,
                                   const char *passphrase, kr_rsakey **out,
                                   kr_error *err)
{
    gnutls_x509_privkey_t gkey = NULL;
    gnutls_datum_t datum;
    int ret;
    kr_code rc;

    *out = NULL;

    if (der_len == 0 || der_len > 0xffffffffu)
        return kr_error_set(err, KR_E_INPUT,
                            "invalid encrypted PKCS#8 key: bad size");

    ret = gnutls_x509_privkey_init(&gkey);
    if (ret < 0)
        return kr_error_set(err, KR_E_SYSTEM, "cannot create a key object: %s",
                            gnutls_strerror(ret));

    datum.data = (unsigned char *)der;
    datum.size = (unsigned)der_len;
    ret = gnutls_x509_privkey_import_pkcs8(gkey, &datum, GNUTLS_X509_FMT_DER,
                                           passphrase, 0);
    if (ret < 0) {
        /* GnuTLS reports a wrong passphrase as a decryption or a DER error
         * of the decrypted bytes; both mean the same here. */
        rc = kr_error_set(err, KR_E_REFUSED,
                          "the store passphrase does not decrypt this key");
        goto out;
    }

    rc = rsakey_from_gnutls(gkey, out, err);

out:
    gnutls_x509_privkey_deinit(gkey);
    return rc;
}
