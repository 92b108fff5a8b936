/* SPDX-License-Identifier: MIT */
/*
 * PEM key loading and base64url for the floor programs, on Nettle alone.
 * See floor-key.h for why these programs avoid the rest of keyrot's stack.
 */
#include "floor-key.h"

#include <nettle/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest key file read, in bytes; a 16384-bit PKCS#1 PEM is under 13 KiB. */
#define KEY_FILE_MAX (64 * 1024)

static const char pem_begin[] = "-----BEGIN RSA PRIVATE KEY-----";
static const char pem_end[] = "-----END RSA PRIVATE KEY-----";

/* Reads at most KEY_FILE_MAX bytes of path into a NUL-terminated buffer for
 * the caller to wipe and free. */
static char *
file_read(const char *path, size_t *len)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t n = 0;

    f = fopen(path, "rb");
    if (f == NULL)
        goto out;
    buf = malloc(KEY_FILE_MAX + 1);
    if (buf == NULL)
        goto out;
    n = fread(buf, 1, KEY_FILE_MAX, f);
    if (ferror(f) || !feof(f)) {
        explicit_bzero(buf, KEY_FILE_MAX + 1);
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[n] = '\0';
    *len = n;

out:
    if (f != NULL)
        fclose(f);
    return buf;
}

bool
floor_key_load(const char *path, struct rsa_public_key *pub,
               struct rsa_private_key *priv)
{
    struct base64_decode_ctx ctx;
    char *text = NULL;
    uint8_t *der = NULL;
    size_t text_len = 0, der_len = 0, b64_len;
    const char *start, *end;
    bool ok = false;

    rsa_public_key_init(pub);
    rsa_private_key_init(priv);

    text = file_read(path, &text_len);
    if (text == NULL) {
        fprintf(stderr, "floor: %s: cannot read the key file\n", path);
        goto out;
    }
    start = strstr(text, pem_begin);
    end = start != NULL ? strstr(start, pem_end) : NULL;
    if (end == NULL) {
        fprintf(stderr, "floor: %s: expected a PEM RSA PRIVATE KEY\n", path);
        goto out;
    }
    start += sizeof(pem_begin) - 1;
    b64_len = (size_t)(end - start);

    /* Nettle's decoder skips the line breaks inside the PEM body. */
    der = malloc(BASE64_DECODE_LENGTH(b64_len));
    if (der == NULL) {
        fprintf(stderr, "floor: out of memory\n");
        goto out;
    }
    base64_decode_init(&ctx);
    if (!base64_decode_update(&ctx, &der_len, der, b64_len, start)
        || !base64_decode_final(&ctx)) {
        fprintf(stderr, "floor: %s: invalid base64 in the PEM body\n", path);
        goto out;
    }

    if (!rsa_keypair_from_der(pub, priv, 0, der_len, der)) {
        fprintf(stderr, "floor: %s: not a usable PKCS#1 RSA key\n", path);
        goto out;
    }
    ok = true;

out:
    if (der != NULL)
        explicit_bzero(der, der_len);
    free(der);
    if (text != NULL)
        explicit_bzero(text, text_len);
    free(text);
    if (!ok) {
        rsa_public_key_clear(pub);
        rsa_private_key_clear(priv);
    }
    return ok;
}

size_t
floor_b64url_encode(const uint8_t *data, size_t len, char *out)
{
    struct base64_encode_ctx ctx;
    size_t n;

    base64url_encode_init(&ctx);
    n = base64_encode_update(&ctx, out, len, data);
    n += base64_encode_final(&ctx, out + n);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    return n;
}

bool
floor_b64url_decode(const char *text, size_t text_len, uint8_t *out,
                    size_t out_size, size_t *out_len)
{
    static const char padding[] = "==";
    struct base64_decode_ctx ctx;
    size_t n = 0, n_pad = (4 - text_len % 4) % 4;

    /* Nettle wants whole groups, so put back the padding JWS strips. */
    if (n_pad > 2 || BASE64_DECODE_LENGTH(text_len + n_pad) > out_size)
        return false;
    base64url_decode_init(&ctx);
    if (!base64_decode_update(&ctx, &n, out, text_len, text))
        return false;
    *out_len = n;
    if (!base64_decode_update(&ctx, &n, out + *out_len, n_pad, padding)
        || !base64_decode_final(&ctx))
        return false;
    *out_len += n;
    return true;
}
