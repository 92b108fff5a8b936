/* SPDX-License-Identifier: MIT */
/*
 * The key states that the audit log records: which state the newest record
 * of a key names, looked up for one key (sign) or for every key in one
 * pass (check). The rules that decide a record's state are here. The
 * chain, appending and archiving belong to store-audit.c, and the caller
 * compares the result with the keys table.
 *
 * Precedence: the records that remain in the store are all newer than the
 * archived ones, so a key's own record always wins over a checkpoint. Of
 * two checkpoints, the newer one archived the newer records, so it wins.
 */
#include "config.h"

#include "store-history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

/* Per-token records never name a state, and with the policy's
 * usage_records they can outnumber every other record of a key by far.
 * The partial index audit_kid_state (schema version 5) leaves them out
 * and SQLite uses it only for a query that carries this term exactly as
 * the index does. */
#define NOT_TOKEN_EVENT                                                       \
    "event NOT IN ('token_signed', 'token_accepted', 'token_refused')"

static bool
state_from_name(const char *name, kr_state *state)
{
    for (int i = KR_STATE_PENDING; i <= KR_STATE_REVOKED; i++) {
        if (name != NULL && strcmp(name, kr_state_name((kr_state)i)) == 0) {
            *state = (kr_state)i;
            return true;
        }
    }
    return false;
}

bool
kr_history_record_state(const char *event, const char *details,
                        kr_state *state)
{
    const kr_audit_event_info *info = kr_audit_event_find(event);
    json_t *obj;
    bool named;

    if (info != NULL && info->adds_key) {
        *state = KR_STATE_PENDING;
        return true;
    }

    obj = json_loads(details, 0, NULL);
    named =
        state_from_name(json_string_value(json_object_get(obj, "to")), state);
    json_decref(obj);
    return named;
}

static void
state_set(kr_history_state *out, kr_state state, int64_t seq,
          const char *event)
{
    out->found = true;
    out->state = state;
    out->seq = seq;
    snprintf(out->event, sizeof(out->event), "%s", event);
}

/* Reads whether records were archived (audit_anchor.pruned_seq > 0). A
 * missing anchor counts as archived: audit verify reports it, and this
 * check must not add a false alarm of its own. */
static kr_code
archived_get(kr_store *store, bool *archived, kr_error *err)
{
    static const char sql[] =
        "SELECT pruned_seq FROM audit_anchor WHERE id = 1";
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;
    int step;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return kr_store_sql_error(store, "reading the audit anchor", err);
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        *archived = sqlite3_column_int64(stmt, 0) > 0;
    else if (step == SQLITE_DONE)
        *archived = true;
    else
        rc = kr_store_sql_error(store, "reading the audit anchor", err);
    sqlite3_finalize(stmt);
    return rc;
}

/* Finds the state the newest record of kid itself names. */
static kr_code
own_state_get(kr_store *store, const char *kid, kr_history_state *out,
              kr_error *err)
{
    static const char sql[] =
        "SELECT seq, event, details FROM audit"
        " WHERE kid = ?1 AND " NOT_TOKEN_EVENT " ORDER BY seq DESC";
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;
    kr_state state;
    int step;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK
        || sqlite3_bind_text(stmt, 1, kid, -1, SQLITE_STATIC) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "reading the audit log", err);
        goto out;
    }
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *event = (const char *)sqlite3_column_text(stmt, 1);
        const char *details = (const char *)sqlite3_column_text(stmt, 2);

        if (event != NULL && details != NULL
            && kr_history_record_state(event, details, &state)) {
            state_set(out, state, sqlite3_column_int64(stmt, 0), event);
            goto out;
        }
    }
    if (step != SQLITE_DONE)
        rc = kr_store_sql_error(store, "reading the audit log", err);

out:
    sqlite3_finalize(stmt);
    return rc;
}

/* Reads the state a checkpoint's details carry for kid, if any. */
static bool
checkpoint_state(const char *details, const char *kid, kr_state *state)
{
    json_t *obj = json_loads(details, 0, NULL);
    const json_t *states = json_object_get(obj, "key_states");
    bool named;

    named = state_from_name(json_string_value(json_object_get(states, kid)),
                            state);
    json_decref(obj);
    return named;
}

/* Finds the state the newest audit_archive checkpoint carries for kid. */
static kr_code
archived_state_get(kr_store *store, const char *kid, kr_history_state *out,
                   kr_error *err)
{
    static const char sql[] =
        "SELECT seq, details FROM audit WHERE kid IS NULL"
        " AND event = 'audit_archive' AND " NOT_TOKEN_EVENT
        " ORDER BY seq DESC";
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;
    kr_state state;
    int step;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return kr_store_sql_error(store, "reading the audit log", err);
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *details = (const char *)sqlite3_column_text(stmt, 1);

        if (details != NULL && checkpoint_state(details, kid, &state)) {
            state_set(out, state, sqlite3_column_int64(stmt, 0),
                      "audit_archive");
            goto out;
        }
    }
    if (step != SQLITE_DONE)
        rc = kr_store_sql_error(store, "reading the audit log", err);

out:
    sqlite3_finalize(stmt);
    return rc;
}

kr_code
kr_store_history_get(kr_store *store, const char *kid, kr_history_state *out,
                     kr_error *err)
{
    kr_code rc;

    memset(out, 0, sizeof(*out));
    snprintf(out->kid, sizeof(out->kid), "%s", kid);

    rc = own_state_get(store, kid, out, err);
    if (rc != KR_OK || out->found)
        return rc;

    rc = archived_get(store, &out->archived, err);
    if (rc != KR_OK || !out->archived)
        return rc;
    return archived_state_get(store, kid, out, err);
}

/* --- every key in one pass -------------------------------------------------
 */

/* The states gathered by one pass: kid -> index into states. */
typedef struct state_map {
    json_t *index;
    kr_history_state *states;
    size_t n, cap;
    json_t *checkpoints; /* [seq, key_states] of each audit_archive
                            record, oldest first */
} state_map;

/* Returns the entry of kid, adding an empty one; NULL when out of
 * memory. */
static kr_history_state *
map_entry(state_map *map, const char *kid)
{
    json_t *slot = json_object_get(map->index, kid);
    kr_history_state *entry;

    if (slot != NULL)
        return &map->states[json_integer_value(slot)];
    if (map->n == map->cap) {
        size_t cap = map->cap ? map->cap * 2 : 64;
        kr_history_state *grown = realloc(map->states, cap * sizeof(*grown));

        if (grown == NULL)
            return NULL;
        map->states = grown;
        map->cap = cap;
    }
    if (json_object_set_new(map->index, kid, json_integer((json_int_t)map->n))
        != 0)
        return NULL;
    entry = &map->states[map->n++];
    memset(entry, 0, sizeof(*entry));
    snprintf(entry->kid, sizeof(entry->kid), "%s", kid);
    return entry;
}

/* Takes in one record of the pass, in seq order. */
static kr_code
map_record(state_map *map, sqlite3_stmt *stmt, kr_error *err)
{
    const char *event = (const char *)sqlite3_column_text(stmt, 1);
    const char *kid = (const char *)sqlite3_column_text(stmt, 2);
    const char *details = (const char *)sqlite3_column_text(stmt, 3);
    kr_history_state *entry;
    kr_state state;
    json_t *obj;

    if (event == NULL || details == NULL)
        return KR_OK;

    if (kid == NULL && strcmp(event, "audit_archive") == 0) {
        obj = json_loads(details, 0, NULL);
        if (json_is_object(json_object_get(obj, "key_states"))
            && json_array_append_new(
                   map->checkpoints,
                   json_pack("[I, O]",
                             (json_int_t)sqlite3_column_int64(stmt, 0),
                             json_object_get(obj, "key_states")))
                   != 0) {
            json_decref(obj);
            return kr_error_set(err, KR_E_SYSTEM, "out of memory");
        }
        json_decref(obj);
        return KR_OK;
    }
    if (kid == NULL || !kr_history_record_state(event, details, &state))
        return KR_OK;

    entry = map_entry(map, kid);
    if (entry == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    state_set(entry, state, sqlite3_column_int64(stmt, 0), event);
    return KR_OK;
}

/* Gives each key without a record of its own the state of the newest
 * checkpoint that names it. */
static kr_code
map_checkpoints(state_map *map, kr_error *err)
{
    size_t i = json_array_size(map->checkpoints);
    const char *kid;
    json_t *value;
    kr_state state;

    while (i-- > 0) {
        const json_t *checkpoint = json_array_get(map->checkpoints, i);
        int64_t seq = json_integer_value(json_array_get(checkpoint, 0));

        json_object_foreach(json_array_get(checkpoint, 1), kid, value)
        {
            kr_history_state *entry;

            if (json_object_get(map->index, kid) != NULL
                || !state_from_name(json_string_value(value), &state))
                continue;
            entry = map_entry(map, kid);
            if (entry == NULL)
                return kr_error_set(err, KR_E_SYSTEM, "out of memory");
            state_set(entry, state, seq, "audit_archive");
        }
    }
    return KR_OK;
}

static int
state_compare(const void *a, const void *b)
{
    return strcmp(((const kr_history_state *)a)->kid,
                  ((const kr_history_state *)b)->kid);
}

kr_code
kr_store_history_list(kr_store *store, kr_history_state **states,
                      size_t *n_states, bool *archived, kr_error *err)
{
    static const char sql[] =
        "SELECT seq, event, kid, details FROM audit WHERE " NOT_TOKEN_EVENT
        " ORDER BY seq";
    state_map map = {json_object(), NULL, 0, 0, json_array()};
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;
    int step = SQLITE_DONE;

    if (map.index == NULL || map.checkpoints == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }
    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "reading the audit log", err);
        goto out;
    }
    while (rc == KR_OK && (step = sqlite3_step(stmt)) == SQLITE_ROW)
        rc = map_record(&map, stmt, err);
    if (rc == KR_OK && step != SQLITE_DONE)
        rc = kr_store_sql_error(store, "reading the audit log", err);
    if (rc == KR_OK)
        rc = map_checkpoints(&map, err);
    if (rc == KR_OK)
        rc = archived_get(store, archived, err);
    if (rc != KR_OK)
        goto out;

    if (map.n > 1)
        qsort(map.states, map.n, sizeof(*map.states), state_compare);
    *states = map.states;
    *n_states = map.n;
    map.states = NULL;

out:
    sqlite3_finalize(stmt);
    free(map.states);
    json_decref(map.index);
    json_decref(map.checkpoints);
    return rc;
}

const kr_history_state *
kr_history_find(const kr_history_state *states, size_t n_states,
                const char *kid)
{
    kr_history_state key;

    snprintf(key.kid, sizeof(key.kid), "%s", kid);
    return bsearch(&key, states, n_states, sizeof(*states), state_compare);
}
