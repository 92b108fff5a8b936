/* SPDX-License-Identifier: MIT */
/*
 * The key states that the audit log records (src/store-history.c). Every
 * state change writes a record whose details name the new state ("to"),
 * and generate and import records add a key as pending, so the newest of
 * those records of a key names the state the key must be in. A key row
 * edited behind keyrot's back (a revoked key set back to active) then
 * contradicts its own history, which check, audit verify and sign look
 * for. Archiving moves the oldest records out of the store, so each
 * audit_archive checkpoint carries the newest state its archived records
 * named for each key (details "key_states").
 */
#ifndef KEYROT_STORE_HISTORY_H
#define KEYROT_STORE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "kid.h"
#include "store.h"

/* Reads the state that one audit record names for its key: the "to" of
 * a state change, or pending for a generate or import record. details is
 * the record's JSON text. Returns false for a record that names no state
 * (an export, a purge, a token record). */
bool kr_history_record_state(const char *event, const char *details,
                             kr_state *state);

/* The newest state the audit log records for one key. */
typedef struct kr_history_state {
    char kid[KR_KID_SIZE];
    bool found;     /* the log names a state for this key */
    kr_state state; /* when found */
    int64_t seq;    /* the record that names it, when found: the key's
                       own record, or an audit_archive checkpoint */
    char event[24]; /* that record's event */
    bool archived;  /* records were archived; when !found, the key's
                       records may have left the store before
                       checkpoints carried key states */
} kr_history_state;

/* Looks up the newest state the log records for kid: from the key's own
 * records, newest first, else from the audit_archive checkpoints, newest
 * first. One indexed query when the key has a record of its own. Fills
 * *out (found is false when no record names a state) and returns KR_OK,
 * or KR_E_SYSTEM when the store could not be read. */
kr_code kr_store_history_get(kr_store *store, const char *kid,
                             kr_history_state *out, kr_error *err);

/* Lists the newest recorded state of every key that the log names, in one
 * pass over the log, sorted by kid. *states is for free(). *archived is
 * set when records were archived. Returns KR_OK or KR_E_SYSTEM. */
kr_code kr_store_history_list(kr_store *store, kr_history_state **states,
                              size_t *n_states, bool *archived, kr_error *err);

/* Finds kid in a list from kr_store_history_list; NULL when absent. */
const kr_history_state *kr_history_find(const kr_history_state *states,
                                        size_t n_states, const char *kid);

#endif
