/* SPDX-License-Identifier: MIT */
/*
 * Registering a set of keys in the store as one change: every key of the
 * set is added, or none is. Used by import-jwks. The rules for one key
 * (identity by RFC 7638 thumbprint, min_bits, kid clashes) are those of
 * kr_store_key_add.
 */
#ifndef KEYROT_KEYSET_H
#define KEYROT_KEYSET_H

#include <stddef.h>

#include "error.h"
#include "jwk.h"
#include "store.h"

/* Adds every key of entries (n_entries, borrowed) under its kid with the
 * given origin ("jwks"), in one transaction that also holds their audit
 * records. outcomes (n_entries elements, caller-owned) receives what
 * happened to each key. On any refusal or failure the transaction is
 * rolled back, so the store is as it was, and the message names the kid.
 * Returns KR_OK, KR_E_REFUSED (a kid held with other key material, the
 * same material under another kid, a key under min_bits) or KR_E_SYSTEM. */
kr_code kr_keyset_add(kr_store *store, const kr_jwks_entry *entries,
                      size_t n_entries, const char *origin,
                      kr_add_outcome *outcomes, kr_error *err);

#endif
