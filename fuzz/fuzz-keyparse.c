/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for key import parsing (kr_key_parse): PEM with every
 * repair, DER, and JWK, exactly as 'keyrot import' reads a file. The
 * passphrase is the one of the interop fixtures' encrypted key, so that
 * seeds made from that key decrypt and mutations of it reach the
 * decrypted key's checks.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyparse.h"

#define FUZZ_PASSPHRASE "interop-k4 test passphrase"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kr_rsakey *key = NULL;
    char kid[KR_KID_SIZE];
    kr_warnings warnings = {0};
    kr_error err = {KR_OK, ""};
    kr_code rc;

    rc = kr_key_parse(data, size, FUZZ_PASSPHRASE, 2048, &key, kid, &warnings,
                      &err);

    /* Invariants: success gives a key of at least min_bits and a kid that
     * is empty or valid; failure gives no key and a message. */
    if (rc == KR_OK && (key == NULL || kr_rsakey_bits(key) < 2048))
        abort();
    if (rc == KR_OK && kid[0] != '\0' && !kr_kid_valid(kid, strlen(kid)))
        abort();
    if (rc != KR_OK && (key != NULL || err.msg[0] == '\0'))
        abort();
    kr_rsakey_free(key);
    return 0;
}
