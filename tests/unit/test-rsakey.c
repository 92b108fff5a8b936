/* SPDX-License-Identifier: MIT */
/*
 * Tests of the RSA key object: generation, RS256 sign and verify with
 * their negative twins, PKCS#8 and SubjectPublicKeyInfo export and import,
 * parameter checks, and the RFC 7638 section 3.1 thumbprint. When openssl
 * is on PATH, its RSASSA-PKCS1-v1_5 signature of the same message with the
 * fixed test key must equal ours byte for byte (the scheme is
 * deterministic), and it must accept our exports.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmp.h>
#include <gnutls/gnutls.h>

#include "b64.h"
#include "rsakey.h"
#include "tap.h"

/* GMP's own free function, exported by libgmp but not declared in gmp.h. */
extern void __gmp_default_free(void *ptr, size_t size);

static const char message[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0";

/* RFC 7638 section 3.1 example key, and its thumbprint. */
static const char rfc7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7"
    "aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXA"
    "rwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7"
    "d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lF"
    "d2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
static const char rfc7638_thumbprint[] =
    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/* Frees a buffer that held private key bytes. */
static void
wipe_free(void *p, size_t len)
{
    if (p != NULL)
        gnutls_memset(p, 0, len);
    free(p);
}

static kr_rsakey *
key_generate(unsigned bits)
{
    kr_rsakey *key = NULL;
    kr_error err;

    kr_error_clear(&err);
    if (kr_rsakey_generate(bits, &key, &err) != KR_OK)
        tap_diag("generate %u: %s", bits, err.msg);
    return key;
}

static void
test_generate(kr_rsakey *key)
{
    kr_bytes e = kr_rsakey_e(key);
    kr_bytes n = kr_rsakey_n(key);

    tap_ok(kr_rsakey_has_private(key), "generated key has a private part");
    tap_ok(kr_rsakey_bits(key) == 2048, "generated key has 2048 bits");
    tap_ok(n.len == 256 && n.data[0] != 0, "n is 256 bytes, no leading zero");
    tap_ok(e.len == 3 && e.data[0] == 1 && e.data[1] == 0 && e.data[2] == 1,
           "e is 65537");
}

static void
test_generate_bad_size(void)
{
    kr_rsakey *key = NULL;
    kr_error err;

    kr_error_clear(&err);
    tap_ok(kr_rsakey_generate(1024, &key, &err) != KR_OK && key == NULL,
           "generate refuses 1024 bits");
    kr_error_clear(&err);
    tap_ok(kr_rsakey_generate(2049, &key, &err) != KR_OK && key == NULL,
           "generate refuses a size not a multiple of 8");
}

static void
test_sign_verify(kr_rsakey *key)
{
    uint8_t sig[KR_RSA_MAX_SIG_SIZE + 1];
    uint8_t longer[KR_RSA_MAX_SIG_SIZE + 1];
    size_t sig_len = 0;
    size_t msg_len = strlen(message);
    kr_error err;

    kr_error_clear(&err);
    tap_ok(kr_rsakey_sign_rs256(key, (const uint8_t *)message, msg_len, sig,
                                &sig_len, &err)
               == KR_OK,
           "sign succeeds");
    tap_ok(sig_len == 256, "signature is the modulus size");
    tap_ok(kr_rsakey_verify_rs256(key, (const uint8_t *)message, msg_len, sig,
                                  sig_len),
           "verify accepts the signature");

    tap_ok(!kr_rsakey_verify_rs256(key, (const uint8_t *)message, msg_len - 1,
                                   sig, sig_len),
           "verify rejects a changed message");

    sig[sig_len - 1] ^= 0x01;
    tap_ok(!kr_rsakey_verify_rs256(key, (const uint8_t *)message, msg_len, sig,
                                   sig_len),
           "verify rejects a flipped signature bit");
    sig[sig_len - 1] ^= 0x01;

    /* The same value with a leading zero octet is still the wrong length. */
    longer[0] = 0;
    memcpy(longer + 1, sig, sig_len);
    tap_ok(!kr_rsakey_verify_rs256(key, (const uint8_t *)message, msg_len,
                                   longer, sig_len + 1),
           "verify rejects a signature one byte longer");
    tap_ok(!kr_rsakey_verify_rs256(key, (const uint8_t *)message, msg_len, sig,
                                   sig_len - 1),
           "verify rejects a signature one byte shorter");
    tap_ok(!kr_rsakey_verify_rs256(key, (const uint8_t *)message, msg_len, sig,
                                   0),
           "verify rejects an empty signature");

    memset(longer, 0xff, sig_len);
    tap_ok(!kr_rsakey_verify_rs256(key, (const uint8_t *)message, msg_len,
                                   longer, sig_len),
           "verify rejects a signature not smaller than n");
}

static void
test_pkcs8_roundtrip(kr_rsakey *key)
{
    uint8_t *der = NULL;
    size_t der_len = 0;
    uint8_t *pem = NULL;
    size_t pem_len = 0;
    kr_rsakey *back = NULL;
    uint8_t sig1[KR_RSA_MAX_SIG_SIZE], sig2[KR_RSA_MAX_SIG_SIZE];
    size_t len1 = 0, len2 = 0;
    char tp1[KR_THUMBPRINT_SIZE], tp2[KR_THUMBPRINT_SIZE];
    kr_error err;

    kr_error_clear(&err);
    tap_ok(kr_rsakey_export(key, KR_FORMAT_DER, true, &der, &der_len, &err)
               == KR_OK,
           "export private PKCS#8 DER");
    tap_ok(kr_rsakey_from_pkcs8_der(der, der_len, &back, &err) == KR_OK
               && back != NULL,
           "import PKCS#8 DER");
    if (back == NULL) {
        tap_diag("%s", err.msg);
        goto out;
    }

    tap_ok(kr_rsakey_has_private(back), "imported key is private");
    tap_ok(kr_rsakey_same_public(key, back), "same public key after import");
    kr_rsakey_thumbprint(key, tp1);
    kr_rsakey_thumbprint(back, tp2);
    tap_str_eq(tp2, tp1, "same thumbprint after import");

    /* PKCS#1 v1.5 is deterministic: equal private keys sign equally. */
    kr_rsakey_sign_rs256(key, (const uint8_t *)message, strlen(message), sig1,
                         &len1, &err);
    kr_rsakey_sign_rs256(back, (const uint8_t *)message, strlen(message), sig2,
                         &len2, &err);
    tap_ok(len1 == len2 && len1 > 0 && memcmp(sig1, sig2, len1) == 0,
           "imported key gives the same signature");

    tap_ok(kr_rsakey_export(key, KR_FORMAT_PEM, true, &pem, &pem_len, &err)
                   == KR_OK
               && strncmp((char *)pem, "-----BEGIN PRIVATE KEY-----\n", 28)
                      == 0
               && strlen((char *)pem) == pem_len,
           "private PEM export is PKCS#8, NUL-terminated");

    der[der_len / 2] ^= 0x40;
    kr_rsakey_free(back);
    back = NULL;
    kr_error_clear(&err);
    tap_ok(kr_rsakey_from_pkcs8_der(der, der_len, &back, &err) != KR_OK
               && back == NULL && err.msg[0] != '\0',
           "import rejects damaged PKCS#8 DER");

out:
    wipe_free(der, der_len);
    wipe_free(pem, pem_len);
    kr_rsakey_free(back);
}

static void
test_public_export(kr_rsakey *key)
{
    uint8_t *pem = NULL;
    size_t pem_len = 0;
    uint8_t *der = NULL;
    size_t der_len = 0;
    kr_error err;

    kr_error_clear(&err);
    tap_ok(kr_rsakey_export(key, KR_FORMAT_PEM, false, &pem, &pem_len, &err)
                   == KR_OK
               && strncmp((char *)pem, "-----BEGIN PUBLIC KEY-----\n", 27)
                      == 0,
           "public PEM export is SubjectPublicKeyInfo");
    tap_ok(kr_rsakey_export(key, KR_FORMAT_DER, false, &der, &der_len, &err)
                   == KR_OK
               && der_len == 294 && der[0] == 0x30,
           "public DER export of a 2048-bit key is 294 bytes");
    free(pem);
    free(der);
}

static void
test_params_roundtrip(kr_rsakey *key)
{
    kr_rsa_params params;
    uint8_t *storage = NULL;
    size_t storage_len = 0;
    kr_rsakey *back = NULL;
    kr_rsakey *pub = NULL;
    uint8_t *qi_copy = NULL;
    kr_error err;

    kr_error_clear(&err);
    tap_ok(kr_rsakey_params(key, &params, &storage, &storage_len, &err)
               == KR_OK,
           "params export");
    tap_ok(params.n.len == 256 && params.d.len > 0 && params.p.len > 0
               && params.q.len > 0 && params.dp.len > 0 && params.dq.len > 0
               && params.qi.len > 0,
           "all eight parameters are set");

    tap_ok(kr_rsakey_from_params(&params, &back, &err) == KR_OK
               && kr_rsakey_same_public(key, back)
               && kr_rsakey_has_private(back),
           "from_params rebuilds the private key");

    kr_rsakey_free(back);
    back = NULL;
    tap_ok(kr_rsakey_from_public(params.n.data, params.n.len, params.e.data,
                                 params.e.len, &pub, &err)
                   == KR_OK
               && !kr_rsakey_has_private(pub)
               && kr_rsakey_same_public(key, pub),
           "from_public builds a public-only key");

    /* A single changed CRT value must be caught, not signed with. */
    qi_copy = malloc(params.qi.len);
    memcpy(qi_copy, params.qi.data, params.qi.len);
    qi_copy[params.qi.len - 1] ^= 0x02;
    params.qi.data = qi_copy;
    kr_error_clear(&err);
    tap_ok(kr_rsakey_from_params(&params, &back, &err) == KR_E_INPUT
               && back == NULL,
           "from_params rejects a wrong qi");
    tap_diag("wrong qi: %s", err.msg);
    wipe_free(qi_copy, params.qi.len);

    params.qi.len = 0;
    kr_error_clear(&err);
    tap_ok(kr_rsakey_from_params(&params, &back, &err) == KR_E_INPUT,
           "from_params rejects a private key without qi");

    wipe_free(storage, storage_len);
    kr_rsakey_free(pub);
}

static void
test_bad_public(void)
{
    uint8_t n[256];
    static const uint8_t e_even[] = {0x01, 0x00, 0x00};
    static const uint8_t e_one[] = {0x01};
    static const uint8_t e_three[] = {0x03};
    kr_rsakey *key = NULL;
    kr_error err;

    memset(n, 0xc5, sizeof(n));

    kr_error_clear(&err);
    tap_ok(
        kr_rsakey_from_public(n, sizeof(n), e_even, sizeof(e_even), &key, &err)
                == KR_E_INPUT
            && strstr(err.msg, "even") != NULL,
        "from_public rejects an even exponent");
    tap_diag("%s", err.msg);

    kr_error_clear(&err);
    tap_ok(
        kr_rsakey_from_public(n, sizeof(n), e_one, sizeof(e_one), &key, &err)
                == KR_E_INPUT
            && strstr(err.msg, "is 1") != NULL,
        "from_public rejects e = 1");

    kr_error_clear(&err);
    tap_ok(kr_rsakey_from_public(n, sizeof(n), e_three, sizeof(e_three), &key,
                                 &err)
                   == KR_OK
               && key != NULL,
           "from_public accepts e = 3");
    kr_rsakey_free(key);
    key = NULL;

    n[sizeof(n) - 1] = 0xc4;
    kr_error_clear(&err);
    tap_ok(kr_rsakey_from_public(n, sizeof(n), e_three, sizeof(e_three), &key,
                                 &err)
               == KR_E_INPUT,
           "from_public rejects an even modulus");

    kr_error_clear(&err);
    tap_ok(kr_rsakey_from_public(n, 0, e_three, sizeof(e_three), &key, &err)
               == KR_E_INPUT,
           "from_public rejects an empty modulus");
}

static void
test_thumbprint_rfc7638(void)
{
    uint8_t *n = NULL;
    size_t n_len = 0;
    static const uint8_t e[] = {0x01, 0x00, 0x01};
    kr_rsakey *key = NULL;
    char tp[KR_THUMBPRINT_SIZE];
    kr_error err;

    kr_error_clear(&err);
    if (kr_b64url_decode(rfc7638_n, strlen(rfc7638_n), &n, &n_len, &err)
            != KR_OK
        || kr_rsakey_from_public(n, n_len, e, sizeof(e), &key, &err)
               != KR_OK) {
        tap_ok(0, "RFC 7638 example key loads: %s", err.msg);
        goto out;
    }

    kr_rsakey_thumbprint(key, tp);
    tap_str_eq(tp, rfc7638_thumbprint, "RFC 7638 section 3.1 thumbprint");
    tap_ok(kr_rsakey_bits(key) == 2048, "RFC 7638 example key is 2048 bits");

out:
    free(n);
    kr_rsakey_free(key);
}

static void
test_drop_private(kr_rsakey *key)
{
    uint8_t sig[KR_RSA_MAX_SIG_SIZE];
    size_t sig_len = 0;
    uint8_t *out = NULL;
    size_t out_len = 0;
    kr_rsa_params params;
    uint8_t *storage = NULL;
    size_t storage_len = 0;
    kr_error err;

    kr_rsakey_drop_private(key);
    tap_ok(!kr_rsakey_has_private(key),
           "drop_private removes the private part");

    kr_error_clear(&err);
    tap_ok(
        kr_rsakey_sign_rs256(key, (const uint8_t *)"x", 1, sig, &sig_len, &err)
                == KR_E_REFUSED
            && sig_len == 0,
        "sign with a public key is refused");
    tap_ok(strstr(err.msg, "private") != NULL,
           "refusal names the private part");

    kr_error_clear(&err);
    tap_ok(kr_rsakey_export(key, KR_FORMAT_PEM, true, &out, &out_len, &err)
                   == KR_E_REFUSED
               && out == NULL,
           "private export of a public key is refused");

    kr_error_clear(&err);
    tap_ok(kr_rsakey_params(key, &params, &storage, &storage_len, &err)
                   == KR_E_REFUSED
               && storage == NULL,
           "params of a public key are refused");
}

/* Reads a whole file into a malloc'd buffer. */
static uint8_t *
file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size + 1);
        if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)size;
    }
    fclose(f);
    return buf;
}

static int
file_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return 0;
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* Loads the fixed test key through openssl's PKCS#8 conversion, signs the
 * message with both, and has openssl check our exports. */
static void
test_openssl_interop(void)
{
    const char *data_dir = getenv("KR_DATA");
    char dir[] = "/tmp/kr-rsakey-XXXXXX";
    char cmd[1024];
    char path[512];
    uint8_t *der = NULL;
    size_t der_len = 0;
    uint8_t *theirs = NULL;
    size_t theirs_len = 0;
    uint8_t *out = NULL;
    size_t out_len = 0;
    uint8_t sig[KR_RSA_MAX_SIG_SIZE];
    size_t sig_len = 0;
    kr_rsakey *key = NULL;
    kr_error err;

    if (data_dir == NULL || system("openssl version >/dev/null 2>&1") != 0) {
        tap_ok(1, "# SKIP openssl interop: KR_DATA unset or no openssl");
        return;
    }
    if (mkdtemp(dir) == NULL) {
        tap_ok(0, "cannot create a temporary directory");
        return;
    }

    snprintf(path, sizeof(path), "%s/msg", dir);
    file_write(path, message, strlen(message));
    snprintf(cmd, sizeof(cmd),
             "openssl pkcs8 -topk8 -nocrypt -outform DER "
             "-in '%s/test-rsa2048.pem' -out '%s/key.der' && "
             "openssl dgst -sha256 -sign '%s/test-rsa2048.pem' "
             "-out '%s/sig' '%s/msg'",
             data_dir, dir, data_dir, dir, dir);
    tap_ok(system(cmd) == 0, "openssl converts and signs with the test key");

    snprintf(path, sizeof(path), "%s/key.der", dir);
    der = file_read(path, &der_len);
    kr_error_clear(&err);
    tap_ok(der != NULL
               && kr_rsakey_from_pkcs8_der(der, der_len, &key, &err) == KR_OK,
           "openssl's PKCS#8 DER loads");
    if (key == NULL)
        goto out;

    kr_rsakey_sign_rs256(key, (const uint8_t *)message, strlen(message), sig,
                         &sig_len, &err);
    snprintf(path, sizeof(path), "%s/sig", dir);
    theirs = file_read(path, &theirs_len);
    tap_ok(theirs != NULL && theirs_len == sig_len
               && memcmp(theirs, sig, sig_len) == 0,
           "our RS256 signature equals openssl's byte for byte");

    /* openssl must accept our PKCS#8 (checks every CRT value) and our
     * SubjectPublicKeyInfo with our signature. */
    kr_rsakey_export(key, KR_FORMAT_PEM, true, &out, &out_len, &err);
    snprintf(path, sizeof(path), "%s/ours.pem", dir);
    file_write(path, out, out_len);
    wipe_free(out, out_len);
    out = NULL;
    snprintf(cmd, sizeof(cmd),
             "openssl pkey -check -noout -in '%s/ours.pem' >/dev/null 2>&1",
             dir);
    tap_ok(system(cmd) == 0, "openssl pkey -check accepts our PKCS#8 export");

    kr_rsakey_export(key, KR_FORMAT_PEM, false, &out, &out_len, &err);
    snprintf(path, sizeof(path), "%s/ours-pub.pem", dir);
    file_write(path, out, out_len);
    free(out);
    out = NULL;
    snprintf(path, sizeof(path), "%s/oursig", dir);
    file_write(path, sig, sig_len);
    snprintf(cmd, sizeof(cmd),
             "openssl dgst -sha256 -verify '%s/ours-pub.pem' "
             "-signature '%s/oursig' '%s/msg' >/dev/null 2>&1",
             dir, dir, dir);
    tap_ok(system(cmd) == 0, "openssl verifies our signature with our SPKI");

out:
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        tap_diag("could not remove %s", dir);
    wipe_free(der, der_len);
    free(theirs);
    kr_rsakey_free(key);
}

/* rsakey.c relies on GnuTLS having replaced GMP's free function with one
 * that zeroes memory, so that mpz_clear wipes private numbers. */
static void
test_gmp_free_wipes(void)
{
    void (*free_func)(void *, size_t) = NULL;

    mp_get_memory_functions(NULL, NULL, &free_func);
    tap_ok(free_func != NULL && free_func != __gmp_default_free,
           "GMP frees through GnuTLS's wiping function");
}

int
main(void)
{
    kr_rsakey *key = key_generate(2048);

    if (!tap_ok(key != NULL, "generate a 2048-bit key"))
        return tap_done();

    test_gmp_free_wipes();
    test_generate(key);
    test_generate_bad_size();
    test_sign_verify(key);
    test_pkcs8_roundtrip(key);
    test_public_export(key);
    test_params_roundtrip(key);
    test_bad_public();
    test_thumbprint_rfc7638();
    test_openssl_interop();
    test_drop_private(key);
    kr_rsakey_free(key);
    return tap_done();
}
