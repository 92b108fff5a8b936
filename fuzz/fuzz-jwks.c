/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for JWK Set parsing (kr_jwks_parse), as 'import-jwks'
 * and 'verify --jwks' read a file.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kr_jwks_entry *entries = NULL;
    size_t n_entries = 0;
    kr_warnings warnings = {0};
    kr_error err = {KR_OK, ""};
    kr_code rc;
    size_t i, j;

    rc = kr_jwks_parse((const char *)data, size, 2048, &entries, &n_entries,
                       &warnings, &err);

    /* Invariants: every entry has a valid, unique kid and a public key of
     * at least min_bits; failure gives no entries and a message. */
    for (i = 0; rc == KR_OK && i < n_entries; i++) {
        if (!kr_kid_valid(entries[i].kid, strlen(entries[i].kid))
            || entries[i].key == NULL || kr_rsakey_has_private(entries[i].key)
            || kr_rsakey_bits(entries[i].key) < 2048)
            abort();
        for (j = 0; j < i; j++) {
            if (strcmp(entries[i].kid, entries[j].kid) == 0)
                abort();
        }
    }
    if (rc != KR_OK && (entries != NULL || err.msg[0] == '\0'))
        abort();
    kr_jwks_entries_free(entries, n_entries);
    return 0;
}
