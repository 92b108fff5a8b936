/* SPDX-License-Identifier: MIT */
/*
 * Adds a set of keys in one transaction. kr_store_key_add commits each key
 * on its own, so a set imported with it could stop half-way when its fifth
 * key clashes with the store. This file wraps kr_store_key_add_locked in
 * one BEGIN IMMEDIATE ... COMMIT instead. It does not parse key files.
 */
#include "config.h"

#include "keyset.h"

#include "store-internal.h"

kr_code
kr_keyset_add(kr_store *store, const kr_jwks_entry *entries, size_t n_entries,
              const char *origin, kr_add_outcome *outcomes, kr_error *err)
{
    kr_error add_err = {KR_OK, ""};
    size_t i;
    kr_code rc;

    rc = kr_store_begin(store, err);
    if (rc != KR_OK)
        return rc;

    for (i = 0; i < n_entries; i++) {
        rc = kr_store_key_add_locked(store, entries[i].key, entries[i].kid,
                                     origin, &outcomes[i], &add_err);
        if (rc != KR_OK) {
            rc = kr_error_set(err, rc, "kid %s: %s", entries[i].kid,
                              add_err.msg);
            goto out;
        }
    }

    rc = kr_store_commit(store, err);

out:
    /* A failed COMMIT leaves the transaction open; roll it back too. */
    if (rc != KR_OK)
        kr_store_rollback(store);
    return rc;
}
