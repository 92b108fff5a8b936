/* SPDX-License-Identifier: MIT */
/*
 * The store's hash-chained audit log: appending a record in the caller's
 * transaction, reading records, checking the chain, and archiving the
 * oldest records to a JSON-lines file behind a chained checkpoint. Usage
 * counters are store-usage.c's; what each event means is the caller's.
 *
 * Chain rules:
 *   1. Record seq n follows record n-1 without a gap. The first record of
 *      a store follows 64 zeros, and the first after an archive follows
 *      the last archived record's hash (audit_anchor.pruned_hash).
 *   2. A record's hash is SHA-256 over its fields and the previous hash
 *      (kr_audit_hash); `audit verify` recomputes every one.
 *   3. audit_anchor.head_seq and head_hash name the last record keyrot
 *      wrote; kr_store_audit_append updates them in the same transaction,
 *      so a record removed from the end, or added by other means, shows.
 *   4. audit_anchor.pruned_seq equals the through_seq of the newest
 *      "audit_archive" record in the chain; the schema lets only records up
 *      to pruned_seq be deleted.
 */
#include "config.h"

#include "store-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "store-history.h"

static kr_code
prepare(kr_store *store, const char *sql, sqlite3_stmt **stmt, kr_error *err)
{
    if (sqlite3_prepare_v2(store->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return kr_store_sql_error(store, "preparing a query", err);
    return KR_OK;
}

static int
bind_text_or_null(sqlite3_stmt *stmt, int index, const char *text)
{
    if (text == NULL)
        return sqlite3_bind_null(stmt, index);
    return sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
}

/* --- events ------------------------------------------------------------- */

/* Every event name passed to kr_store_audit_append, by lifecycle.c,
 * store.c, store-usage.c and this file. `audit --event` accepts only these
 * and `audit --help` lists them, so a new event belongs here too. */
static const kr_audit_event_info audit_events[] = {
    {"init", "the store was created", false},
    {"generate", "a key pair was generated, as pending", true},
    {"import", "a key was imported (import, import-jwks), as pending", true},
    {"import_private", "the private part of a verify-only key was imported",
     false},
    {"activate", "a key became active (cause rollback: a retiring key)",
     false},
    {"deactivate", "the active key became retiring", false},
    {"retire", "a retiring key was retired (cause: its deadline passed)",
     false},
    {"revoke", "a key was revoked, with the reason", false},
    {"purge", "the private part of a key was destroyed", false},
    {"export_private", "a private key was exported to a file", false},
    {"encrypt_private",
     "a stored private key was encrypted under the store passphrase", false},
    {"policy_set", "a policy setting changed, with the old and new value",
     false},
    {"audit_archive", "old records were moved to an archive file", false},
    {"token_signed", "a token was signed (policy usage_records=1)", false},
    {"token_accepted", "a token was accepted (policy usage_records=1)", false},
    {"token_refused", "a token was refused (policy usage_records=1)", false},
};

#define N_AUDIT_EVENTS (sizeof(audit_events) / sizeof(audit_events[0]))

const kr_audit_event_info *
kr_audit_events(size_t *n_events)
{
    *n_events = N_AUDIT_EVENTS;
    return audit_events;
}

const kr_audit_event_info *
kr_audit_event_find(const char *name)
{
    for (size_t i = 0; i < N_AUDIT_EVENTS; i++) {
        if (strcmp(audit_events[i].name, name) == 0)
            return &audit_events[i];
    }
    return NULL;
}

/* --- hashing ------------------------------------------------------------ */

/* The chain hash is SHA-256 over every field of the record and the
 * previous record's hash, each written as "LENGTH:BYTES;" so that moving
 * bytes from one field to the next changes the hash. */
typedef struct hash_input {
    char *data;
    size_t len;
    size_t cap;
} hash_input;

static void
hash_field(hash_input *buf, const char *text)
{
    size_t text_len = text ? strlen(text) : 0;
    char prefix[32];
    int prefix_len;

    prefix_len = snprintf(prefix, sizeof(prefix), "%zu:", text_len);
    if (buf->data == NULL)
        return;
    if (buf->len + (size_t)prefix_len + text_len + 1 > buf->cap) {
        size_t cap = (buf->len + (size_t)prefix_len + text_len + 1) * 2;
        char *grown = realloc(buf->data, cap);

        if (grown == NULL) {
            free(buf->data);
            buf->data = NULL;
            return;
        }
        buf->data = grown;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, prefix, (size_t)prefix_len);
    buf->len += (size_t)prefix_len;
    if (text_len > 0)
        memcpy(buf->data + buf->len, text, text_len);
    buf->len += text_len;
    buf->data[buf->len++] = ';';
}

kr_code
kr_audit_hash(const kr_audit_fields *f, const char *prev_hash,
              char out[KR_AUDIT_HASH_SIZE], kr_error *err)
{
    hash_input buf = {malloc(512), 0, 512};
    char number[32];
    uint8_t digest[KR_SHA256_SIZE];

    snprintf(number, sizeof(number), "%" PRId64, f->seq);
    hash_field(&buf, number);
    snprintf(number, sizeof(number), "%" PRId64, f->at);
    hash_field(&buf, number);
    if (f->has_clock)
        snprintf(number, sizeof(number), "%" PRId64, f->clock);
    else
        number[0] = '\0';
    hash_field(&buf, number);
    hash_field(&buf, f->actor);
    hash_field(&buf, f->event);
    hash_field(&buf, f->kid);
    hash_field(&buf, f->details);
    hash_field(&buf, prev_hash);
    if (buf.data == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");

    kr_sha256(buf.data, buf.len, digest);
    free(buf.data);
    for (size_t i = 0; i < KR_SHA256_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return KR_OK;
}

/* --- the anchor ---------------------------------------------------------- */

typedef struct anchor {
    int64_t head_seq;
    char head_hash[KR_AUDIT_HASH_SIZE];
    int64_t pruned_seq;
    char pruned_hash[KR_AUDIT_HASH_SIZE];
} anchor;

static void
hash_copy(char out[KR_AUDIT_HASH_SIZE], const unsigned char *text)
{
    snprintf(out, KR_AUDIT_HASH_SIZE, "%s", text ? (const char *)text : "");
}

/* Reads the anchor row; KR_E_INVALID when it is missing, which only a
 * hand edit of the file can cause. */
static kr_code
anchor_get(kr_store *store, anchor *a, kr_error *err)
{
    static const char sql[] =
        "SELECT head_seq, head_hash, pruned_seq, pruned_hash"
        " FROM audit_anchor WHERE id = 1";
    sqlite3_stmt *stmt = NULL;
    kr_code rc;
    int step;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;

    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        a->head_seq = sqlite3_column_int64(stmt, 0);
        hash_copy(a->head_hash, sqlite3_column_text(stmt, 1));
        a->pruned_seq = sqlite3_column_int64(stmt, 2);
        hash_copy(a->pruned_hash, sqlite3_column_text(stmt, 3));
    } else if (step == SQLITE_DONE) {
        rc = kr_error_set(err, KR_E_INVALID,
                          "the audit anchor is missing from the store, so "
                          "the audit log was altered; see 'keyrot audit "
                          "verify'");
    } else {
        rc = kr_store_sql_error(store, "reading the audit anchor", err);
    }
    sqlite3_finalize(stmt);
    return rc;
}

static kr_code
anchor_set(kr_store *store, const anchor *a, kr_error *err)
{
    static const char sql[] =
        "UPDATE audit_anchor SET head_seq = ?, head_hash = ?,"
        " pruned_seq = ?, pruned_hash = ? WHERE id = 1";
    sqlite3_stmt *stmt = NULL;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;
    if (sqlite3_bind_int64(stmt, 1, a->head_seq) != SQLITE_OK
        || sqlite3_bind_text(stmt, 2, a->head_hash, -1, SQLITE_STATIC)
               != SQLITE_OK
        || sqlite3_bind_int64(stmt, 3, a->pruned_seq) != SQLITE_OK
        || sqlite3_bind_text(stmt, 4, a->pruned_hash, -1, SQLITE_STATIC)
               != SQLITE_OK
        || sqlite3_step(stmt) != SQLITE_DONE)
        rc = kr_store_sql_error(store, "writing the audit anchor", err);
    sqlite3_finalize(stmt);
    return rc;
}

/* --- appending ------------------------------------------------------------
 */

static kr_code
record_insert(kr_store *store, const kr_audit_fields *f, const char *hash,
              kr_error *err)
{
    static const char sql[] =
        "INSERT INTO audit (seq, at, clock, actor, event, kid, details, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *stmt = NULL;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;
    if (sqlite3_bind_int64(stmt, 1, f->seq) != SQLITE_OK
        || sqlite3_bind_int64(stmt, 2, f->at) != SQLITE_OK
        || (f->has_clock ? sqlite3_bind_int64(stmt, 3, f->clock)
                         : sqlite3_bind_null(stmt, 3))
               != SQLITE_OK
        || bind_text_or_null(stmt, 4, f->actor) != SQLITE_OK
        || bind_text_or_null(stmt, 5, f->event) != SQLITE_OK
        || bind_text_or_null(stmt, 6, f->kid) != SQLITE_OK
        || bind_text_or_null(stmt, 7, f->details) != SQLITE_OK
        || bind_text_or_null(stmt, 8, hash) != SQLITE_OK
        || sqlite3_step(stmt) != SQLITE_DONE)
        rc = kr_store_sql_error(store, "writing the audit log", err);
    sqlite3_finalize(stmt);
    return rc;
}

kr_code
kr_store_audit_append(kr_store *store, const char *event, const char *kid,
                      const json_t *details, kr_error *err)
{
    const kr_context *ctx = store->ctx;
    char *details_text = NULL;
    char hash[KR_AUDIT_HASH_SIZE];
    kr_audit_fields f = {0};
    anchor a;
    kr_code rc;

    /* The anchor, not the last row, gives the previous hash: a record
     * deleted from the end then stays visible as a gap. */
    rc = anchor_get(store, &a, err);
    if (rc != KR_OK)
        return rc;

    details_text = details ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS)
                           : strdup("{}");
    if (details_text == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");

    f.seq = a.head_seq + 1;
    f.at = ctx->real_now;
    f.has_clock = ctx->now_overridden;
    f.clock = ctx->now;
    f.actor = ctx->actor;
    f.event = event;
    f.kid = kid;
    f.details = details_text;
    rc = kr_audit_hash(&f, a.head_hash, hash, err);
    if (rc != KR_OK)
        goto out;

    rc = record_insert(store, &f, hash, err);
    if (rc != KR_OK)
        goto out;

    a.head_seq = f.seq;
    memcpy(a.head_hash, hash, sizeof(hash));
    rc = anchor_set(store, &a, err);

out:
    free(details_text);
    return rc;
}

/* --- reading ----------------------------------------------------------------
 */

/* Reads the row of stmt (columns seq, at, clock, actor, event, kid,
 * details, hash) into rec. Returns false when a column has a type keyrot
 * never writes, which only a hand edit causes. */
static bool
record_read(sqlite3_stmt *stmt, kr_audit_record *rec)
{
    static const int types[] = {SQLITE_INTEGER, SQLITE_INTEGER, SQLITE_INTEGER,
                                SQLITE_TEXT,    SQLITE_TEXT,    SQLITE_TEXT,
                                SQLITE_TEXT,    SQLITE_TEXT};
    bool typed = true;

    for (int i = 0; i < 8; i++) {
        int type = sqlite3_column_type(stmt, i);
        bool nullable = i == 2 || i == 5; /* clock, kid */

        if (type != types[i] && !(nullable && type == SQLITE_NULL))
            typed = false;
    }
    rec->seq = sqlite3_column_int64(stmt, 0);
    rec->at = sqlite3_column_int64(stmt, 1);
    rec->has_clock = sqlite3_column_type(stmt, 2) != SQLITE_NULL;
    rec->clock = sqlite3_column_int64(stmt, 2);
    rec->actor = (const char *)sqlite3_column_text(stmt, 3);
    rec->event = (const char *)sqlite3_column_text(stmt, 4);
    rec->kid = (const char *)sqlite3_column_text(stmt, 5);
    rec->details = (const char *)sqlite3_column_text(stmt, 6);
    rec->hash = (const char *)sqlite3_column_text(stmt, 7);
    if (rec->actor == NULL || rec->event == NULL || rec->details == NULL
        || rec->hash == NULL)
        typed = false;
    return typed;
}

#define RECORD_COLUMNS "seq, at, clock, actor, event, kid, details, hash"

kr_code
kr_store_audit_each(kr_store *store, const kr_audit_filter *filter,
                    kr_audit_visit_fn visit, void *ctx, kr_error *err)
{
    static const char sql[] =
        "SELECT " RECORD_COLUMNS " FROM audit"
        " WHERE (?1 IS NULL OR kid = ?1) AND (?2 IS NULL OR event = ?2)"
        " AND at >= ?3 AND (?4 = 0 OR at < ?4) ORDER BY seq";
    sqlite3_stmt *stmt = NULL;
    kr_audit_record rec;
    kr_code rc;
    int step;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;
    if (bind_text_or_null(stmt, 1, filter->kid) != SQLITE_OK
        || bind_text_or_null(stmt, 2, filter->event) != SQLITE_OK
        || sqlite3_bind_int64(stmt, 3, filter->since) != SQLITE_OK
        || sqlite3_bind_int64(stmt, 4, filter->until) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "reading the audit log", err);
        goto out;
    }

    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        record_read(stmt, &rec);
        if (rec.actor == NULL || rec.event == NULL || rec.details == NULL
            || rec.hash == NULL) {
            rc = kr_error_set(err, KR_E_INVALID,
                              "audit record %" PRId64 " is damaged (a field "
                              "is empty); see 'keyrot audit verify'",
                              rec.seq);
            goto out;
        }
        rc = visit(ctx, &rec, err);
        if (rc != KR_OK)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = kr_store_sql_error(store, "reading the audit log", err);

out:
    sqlite3_finalize(stmt);
    return rc;
}

json_t *
kr_audit_record_json(const kr_audit_record *rec)
{
    json_t *details = json_loads(rec->details, 0, NULL);

    if (details == NULL)
        return NULL;
    return json_pack("{s:I, s:I, s:o, s:s, s:s, s:o, s:o, s:s}", "seq",
                     (json_int_t)rec->seq, "at", (json_int_t)rec->at, "clock",
                     rec->has_clock ? json_integer(rec->clock) : json_null(),
                     "actor", rec->actor, "event", rec->event, "kid",
                     rec->kid ? json_string(rec->kid) : json_null(), "details",
                     details, "hash", rec->hash);
}

/* --- checking the chain ----------------------------------------------------
 */

/* State of one pass over the chain. */
typedef struct chain_walk {
    kr_audit_check *check;
    const anchor *anchor;
    int64_t expected_seq;
    char prev[KR_AUDIT_HASH_SIZE];
    int64_t anchor_seq; /* a head saved outside the store; 0 none */
    const char *anchor_hash;
    bool anchor_seen;
    int64_t checkpoint_seq; /* through_seq of the newest audit_archive */
    char checkpoint_hash[KR_AUDIT_HASH_SIZE];
} chain_walk;

static void check_fail(kr_audit_check *check, int64_t seq, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

static void
check_fail(kr_audit_check *check, int64_t seq, const char *fmt, ...)
{
    va_list ap;

    if (!check->intact)
        return;
    check->intact = false;
    check->bad_seq = seq;
    va_start(ap, fmt);
    vsnprintf(check->problem, sizeof(check->problem), fmt, ap);
    va_end(ap);
}

static bool
hash_equal(const char *a, const char *b)
{
    size_t len = strlen(a);

    return len == strlen(b) && gnutls_memcmp(a, b, len) == 0;
}

/* Remembers the range an audit_archive checkpoint records as archived. */
static void
checkpoint_note(chain_walk *w, const kr_audit_record *rec)
{
    json_t *details = json_loads(rec->details, 0, NULL);
    const char *hash;

    if (details == NULL)
        return;
    w->checkpoint_seq =
        json_integer_value(json_object_get(details, "through_seq"));
    hash = json_string_value(json_object_get(details, "through_hash"));
    hash_copy(w->checkpoint_hash, (const unsigned char *)hash);
    json_decref(details);
}

/* Checks one record against the chain so far. */
static kr_code
chain_step(chain_walk *w, const kr_audit_record *rec, bool typed,
           kr_error *err)
{
    kr_audit_check *check = w->check;
    kr_audit_fields f;
    char hash[KR_AUDIT_HASH_SIZE];
    kr_code rc;

    if (rec->seq < w->expected_seq) {
        check_fail(check, rec->seq,
                   "record %" PRId64 " lies in the archived range (through "
                   "%" PRId64 ") but is present: it was inserted",
                   rec->seq, w->anchor->pruned_seq);
        return KR_OK;
    }
    if (rec->seq > w->expected_seq) {
        check_fail(check, w->expected_seq,
                   "record %" PRId64
                   " is missing: the chain goes from %" PRId64 " to %" PRId64
                   "; it was deleted",
                   w->expected_seq, w->expected_seq - 1, rec->seq);
        return KR_OK;
    }
    if (!typed) {
        check_fail(check, rec->seq,
                   "record %" PRId64 " has a field of a type keyrot never "
                   "writes: it was edited",
                   rec->seq);
        return KR_OK;
    }

    f = (kr_audit_fields){rec->seq,   rec->at,     rec->has_clock,
                          rec->clock, rec->actor,  rec->event,
                          rec->kid,   rec->details};
    rc = kr_audit_hash(&f, w->prev, hash, err);
    if (rc != KR_OK)
        return rc;
    if (!hash_equal(hash, rec->hash)) {
        check_fail(check, rec->seq,
                   "record %" PRId64 " does not match its chain hash: it was "
                   "edited, or records were reordered or inserted",
                   rec->seq);
        return KR_OK;
    }

    if (rec->seq == w->anchor_seq) {
        w->anchor_seen = true;
        if (!hash_equal(rec->hash, w->anchor_hash))
            check_fail(check, rec->seq,
                       "record %" PRId64 " does not have the anchored hash: "
                       "the log was rewritten from there on or before",
                       rec->seq);
    }
    if (strcmp(rec->event, "audit_archive") == 0)
        checkpoint_note(w, rec);

    hash_copy(w->prev, (const unsigned char *)rec->hash);
    w->expected_seq++;
    return KR_OK;
}

/* Checks what only the whole walk shows: the head and the archive. */
static void
chain_finish(chain_walk *w)
{
    kr_audit_check *check = w->check;
    const anchor *a = w->anchor;
    int64_t last = w->expected_seq - 1;

    if (last < a->head_seq)
        check_fail(check, last + 1,
                   "records %" PRId64 " to %" PRId64 " are missing: the "
                   "store's head is record %" PRId64 "; the newest records "
                   "were deleted",
                   last + 1, a->head_seq, a->head_seq);
    else if (last > a->head_seq)
        check_fail(check, a->head_seq + 1,
                   "record %" PRId64 " follows the head keyrot recorded "
                   "(record %" PRId64 "): it was added by other means",
                   a->head_seq + 1, a->head_seq);
    else if (!hash_equal(w->prev, a->head_hash))
        check_fail(check, last,
                   "record %" PRId64 " does not match the head keyrot "
                   "recorded: it was replaced",
                   last);

    if (a->pruned_seq > 0
        && (w->checkpoint_seq != a->pruned_seq
            || !hash_equal(w->checkpoint_hash, a->pruned_hash)))
        check_fail(check, a->pruned_seq + 1,
                   "the archived range recorded in the store (through "
                   "record %" PRId64 ") matches no audit_archive checkpoint "
                   "in the chain: records were deleted",
                   a->pruned_seq);

    if (w->anchor_seq > 0 && !w->anchor_seen) {
        if (w->anchor_seq == a->pruned_seq
            && hash_equal(a->pruned_hash, w->anchor_hash))
            return;
        if (w->anchor_seq < a->pruned_seq)
            check_fail(check, w->anchor_seq,
                       "record %" PRId64 " was archived; check the anchor "
                       "against the archive file",
                       w->anchor_seq);
        else
            check_fail(check, w->anchor_seq,
                       "the anchored record %" PRId64 " is not in the "
                       "chain, which ends at record %" PRId64,
                       w->anchor_seq, last);
    }
}

kr_code
kr_store_audit_verify(kr_store *store, int64_t anchor_seq,
                      const char *anchor_hash, kr_audit_check *check,
                      kr_error *err)
{
    static const char sql[] =
        "SELECT " RECORD_COLUMNS " FROM audit ORDER BY seq";
    sqlite3_stmt *stmt = NULL;
    chain_walk w = {0};
    kr_audit_record rec;
    anchor a;
    kr_code rc;
    int step;

    memset(check, 0, sizeof(*check));
    check->intact = true;

    rc = anchor_get(store, &a, err);
    if (rc == KR_E_INVALID) {
        kr_error_clear(err);
        check_fail(check, 0, "the audit anchor is missing from the store");
        return KR_OK;
    }
    if (rc != KR_OK)
        return rc;

    w.check = check;
    w.anchor = &a;
    w.expected_seq = a.pruned_seq + 1;
    hash_copy(w.prev, (const unsigned char *)a.pruned_hash);
    w.anchor_seq = anchor_seq;
    w.anchor_hash = anchor_hash;
    check->pruned_seq = a.pruned_seq;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        bool typed = record_read(stmt, &rec);

        check->n_records++;
        if (!check->intact)
            continue;
        rc = chain_step(&w, &rec, typed, err);
        if (rc != KR_OK)
            goto out;
    }
    if (step != SQLITE_DONE) {
        rc = kr_store_sql_error(store, "reading the audit log", err);
        goto out;
    }

    if (check->intact)
        chain_finish(&w);
    check->head_seq = w.expected_seq - 1;
    hash_copy(check->head_hash, (const unsigned char *)w.prev);

out:
    sqlite3_finalize(stmt);
    return rc;
}

/* --- archiving
 * --------------------------------------------------------------- */

/* The part of an archive run that writes the file. */
typedef struct archive_file {
    FILE *fp;
    char *tmp_path; /* written here, then linked to the final path */
    kr_audit_archived *out;
    int64_t before;
    bool done; /* reached a record at or after `before` */
    char last_hash[KR_AUDIT_HASH_SIZE];
    json_t *recorded_states; /* kid -> state, from archived key records */
    json_t *carried_states;  /* kid -> state, from archived checkpoints */
} archive_file;

/* Notes the key state that an archived record names, so that the
 * checkpoint carries it once the record leaves the store (see
 * store-history.h). Every key record archived now is newer than what an
 * archived checkpoint carried, so the two are kept apart and merged with
 * the records winning. Of two checkpoints, the later one wins. */
static kr_code
archive_state_note(archive_file *file, const kr_audit_record *rec,
                   kr_error *err)
{
    json_t *details;
    kr_state state;
    int failed = 0;

    if (rec->kid == NULL && strcmp(rec->event, "audit_archive") == 0) {
        details = json_loads(rec->details, 0, NULL);
        if (json_is_object(json_object_get(details, "key_states")))
            failed = json_object_update(
                file->carried_states, json_object_get(details, "key_states"));
        json_decref(details);
    } else if (rec->kid != NULL
               && kr_history_record_state(rec->event, rec->details, &state)) {
        failed = json_object_set_new(file->recorded_states, rec->kid,
                                     json_string(kr_state_name(state)));
    }
    if (failed != 0)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    return KR_OK;
}

static kr_code
archive_line(void *ctx, const kr_audit_record *rec, kr_error *err)
{
    archive_file *file = ctx;
    json_t *obj;
    char *text;
    int written;
    kr_code rc;

    if (file->done || rec->at >= file->before) {
        file->done = true;
        return KR_OK;
    }

    obj = kr_audit_record_json(rec);
    text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    if (text == NULL)
        return kr_error_set(err, KR_E_SYSTEM,
                            "cannot format audit record %" PRId64, rec->seq);
    written = fprintf(file->fp, "%s\n", text);
    free(text);
    if (written < 0)
        return kr_error_set(err, KR_E_SYSTEM, "cannot write the archive: %s",
                            strerror(errno));

    rc = archive_state_note(file, rec, err);
    if (rc != KR_OK)
        return rc;

    if (file->out->n_records == 0)
        file->out->first_seq = rec->seq;
    file->out->n_records++;
    file->out->through_seq = rec->seq;
    hash_copy(file->last_hash, (const unsigned char *)rec->hash);
    return KR_OK;
}

/* Creates path's temporary sibling, refusing when path exists. */
static kr_code
archive_open(const char *path, archive_file *file, kr_error *err)
{
    size_t size = strlen(path) + sizeof(".tmp");
    int fd;

    if (access(path, F_OK) == 0)
        return kr_error_set(err, KR_E_REFUSED,
                            "%s already exists; archives are never "
                            "overwritten",
                            path);
    file->tmp_path = malloc(size);
    if (file->tmp_path == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    snprintf(file->tmp_path, size, "%s.tmp", path);

    fd = open(file->tmp_path,
              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        kr_code code = errno == ENOENT ? KR_E_NOTFOUND : KR_E_SYSTEM;

        free(file->tmp_path);
        file->tmp_path = NULL;
        return kr_error_set(err, code, "cannot create %s.tmp: %s", path,
                            strerror(errno));
    }
    file->fp = fdopen(fd, "w");
    if (file->fp == NULL) {
        close(fd);
        return kr_error_set(err, KR_E_SYSTEM, "cannot write %s.tmp: %s", path,
                            strerror(errno));
    }
    return KR_OK;
}

/* Flushes the file to disk and links it at path, which must not exist. */
static kr_code
archive_place(archive_file *file, const char *path, kr_error *err)
{
    int failed = fflush(file->fp) != 0 || fsync(fileno(file->fp)) != 0;

    failed |= fclose(file->fp) != 0;
    file->fp = NULL;
    if (failed)
        return kr_error_set(err, KR_E_SYSTEM, "cannot write %s: %s", path,
                            strerror(errno));
    if (link(file->tmp_path, path) != 0)
        return kr_error_set(err, errno == EEXIST ? KR_E_REFUSED : KR_E_SYSTEM,
                            "cannot create %s: %s", path, strerror(errno));
    return KR_OK;
}

static kr_code
archive_prune(kr_store *store, int64_t through_seq, kr_error *err)
{
    static const char sql[] = "DELETE FROM audit WHERE seq <= ?";
    sqlite3_stmt *stmt = NULL;
    kr_code rc;

    rc = prepare(store, sql, &stmt, err);
    if (rc != KR_OK)
        return rc;
    if (sqlite3_bind_int64(stmt, 1, through_seq) != SQLITE_OK
        || sqlite3_step(stmt) != SQLITE_DONE)
        rc = kr_store_sql_error(store, "removing archived records", err);
    sqlite3_finalize(stmt);
    return rc;
}

/* Records the checkpoint, moves the archived prefix and deletes the
 * archived records; runs inside the archive's transaction. */
static kr_code
archive_commit_records(kr_store *store, const char *path,
                       const char *prev_hash, const json_t *key_states,
                       kr_audit_archived *out, kr_error *err)
{
    json_t *details = NULL;
    anchor a;
    kr_code rc;

    details = json_pack("{s:I, s:I, s:s, s:s, s:I, s:s, s:O}", "first_seq",
                        (json_int_t)out->first_seq, "through_seq",
                        (json_int_t)out->through_seq, "prev_hash", prev_hash,
                        "through_hash", out->through_hash, "n_records",
                        (json_int_t)out->n_records, "file", path, "key_states",
                        key_states);
    if (details == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    rc = kr_store_audit_append(store, "audit_archive", NULL, details, err);
    json_decref(details);
    if (rc != KR_OK)
        return rc;

    rc = anchor_get(store, &a, err);
    if (rc != KR_OK)
        return rc;
    out->checkpoint_seq = a.head_seq;
    a.pruned_seq = out->through_seq;
    memcpy(a.pruned_hash, out->through_hash, KR_AUDIT_HASH_SIZE);
    rc = anchor_set(store, &a, err);
    if (rc != KR_OK)
        return rc;

    return archive_prune(store, out->through_seq, err);
}

kr_code
kr_store_audit_archive(kr_store *store, int64_t before, const char *path,
                       kr_audit_archived *out, kr_error *err)
{
    const kr_audit_filter all = {0};
    archive_file file = {.out = out, .before = before};
    kr_audit_check check;
    bool placed = false;
    anchor a;
    kr_code rc;

    memset(out, 0, sizeof(*out));

    file.recorded_states = json_object();
    file.carried_states = json_object();
    if (file.recorded_states == NULL || file.carried_states == NULL) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }
    rc = archive_open(path, &file, err);
    if (rc != KR_OK)
        goto out;

    rc = kr_store_begin(store, err);
    if (rc != KR_OK)
        goto out;

    rc = kr_store_audit_verify(store, 0, NULL, &check, err);
    if (rc == KR_OK && !check.intact)
        rc = kr_error_set(err, KR_E_INVALID,
                          "the audit chain is broken: %s; nothing was "
                          "archived",
                          check.problem);
    if (rc == KR_OK)
        rc = anchor_get(store, &a, err);
    if (rc == KR_OK)
        rc = kr_store_audit_each(store, &all, archive_line, &file, err);
    if (rc != KR_OK || out->n_records == 0)
        goto out;
    memcpy(out->through_hash, file.last_hash, KR_AUDIT_HASH_SIZE);

    rc = archive_place(&file, path, err);
    if (rc != KR_OK)
        goto out;
    placed = true;

    if (json_object_update(file.carried_states, file.recorded_states) != 0) {
        rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
        goto out;
    }
    rc = archive_commit_records(store, path, a.pruned_hash,
                                file.carried_states, out, err);
    if (rc == KR_OK)
        rc = kr_store_commit(store, err);

out:
    kr_store_rollback(store);
    if (file.fp != NULL)
        fclose(file.fp);
    if (file.tmp_path != NULL) {
        unlink(file.tmp_path);
        free(file.tmp_path);
    }
    if (rc != KR_OK && placed)
        unlink(path);
    json_decref(file.recorded_states);
    json_decref(file.carried_states);
    return rc;
}
