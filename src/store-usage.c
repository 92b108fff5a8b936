/* SPDX-License-Identifier: MIT */
/*
 * Usage counters of the store, per key, audience and UTC day: tokens
 * signed, verifications accepted and refused by reason, and the latest
 * accepted token issued after its key stopped being active. That last one
 * is the retirement guard's evidence that some system still signs with an
 * old key. Events are gathered in a kr_usage_batch and written in one
 * transaction, so that `verify -` over many tokens costs one commit per
 * batch instead of one per token. With the policy's usage_records on, each
 * token also gets an audit record (its SHA-256, never the token), chained
 * like every other record. The audit chain itself is store-audit.c's.
 */
#include "config.h"

#include "store-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

#define SECONDS_PER_DAY 86400

#ifndef SQLITE_DEFAULT_WAL_AUTOCHECKPOINT
#define SQLITE_DEFAULT_WAL_AUTOCHECKPOINT 1000 /* SQLite's own default */
#endif

/* Counts of one (kid, aud, day) and, for refusals, one reason. */
typedef struct usage_entry {
    char kid[KR_KID_SIZE];
    char aud[KR_USAGE_AUD_SIZE];
    char reason[KR_USAGE_REASON_SIZE]; /* "" for signed and accepted */
    int64_t day;
    int64_t n_signed, last_exp, first_signed_at, last_signed_at;
    int64_t n, first_at, last_at; /* accepted, or refused for reason */
    int64_t late_iat, late_at;
} usage_entry;

/* What the batch learned of a key for the late-token check. */
typedef struct key_seen {
    char kid[KR_KID_SIZE];
    int64_t inactive_since; /* deactivated_at while not active; else 0 */
} key_seen;

/* One per-token audit record waiting for the flush. */
typedef struct token_record {
    const char *event;
    char kid[KR_KID_SIZE]; /* "" for none */
    json_t *details;       /* owned */
} token_record;

struct kr_usage_batch {
    kr_store *store; /* borrowed */
    bool counters;   /* policy usage_counters */
    bool records;    /* policy usage_records */
    size_t n_pending;
    usage_entry *entries;
    size_t n_entries, cap_entries;
    key_seen *keys;
    size_t n_keys, cap_keys;
    token_record *tokens;
    size_t n_tokens, cap_tokens;
};

/* Grows *array of *cap elements of size to hold at least n + 1. */
static bool
array_reserve(void **array, size_t *cap, size_t n, size_t size)
{
    size_t grown_cap;
    void *grown;

    if (n < *cap)
        return true;
    grown_cap = *cap ? *cap * 2 : 16;
    grown = realloc(*array, grown_cap * size);
    if (grown == NULL)
        return false;
    *array = grown;
    *cap = grown_cap;
    return true;
}

/* Copies text into out of out_size bytes, cutting at a UTF-8 character
 * boundary when it is too long. */
static void
text_copy_cut(char *out, size_t out_size, const char *text)
{
    size_t len = strlen(text);

    if (len >= out_size) {
        len = out_size - 1;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(out, text, len);
    out[len] = '\0';
}

kr_code
kr_usage_batch_new(kr_store *store, kr_usage_batch **out, kr_error *err)
{
    kr_usage_batch *batch;
    kr_policy policy;
    kr_code rc;

    rc = kr_store_policy_get(store, &policy, err);
    if (rc != KR_OK)
        return rc;

    batch = calloc(1, sizeof(*batch));
    if (batch == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    batch->store = store;
    batch->counters = policy.usage_counters != 0;
    batch->records = policy.usage_records != 0;
    *out = batch;
    return KR_OK;
}

static void
batch_reset(kr_usage_batch *batch)
{
    for (size_t i = 0; i < batch->n_tokens; i++)
        json_decref(batch->tokens[i].details);
    batch->n_tokens = 0;
    batch->n_entries = 0;
    batch->n_pending = 0;
}

void
kr_usage_batch_free(kr_usage_batch *batch)
{
    if (batch == NULL)
        return;
    batch_reset(batch);
    free(batch->entries);
    free(batch->keys);
    free(batch->tokens);
    free(batch);
}

size_t
kr_usage_batch_pending(const kr_usage_batch *batch)
{
    return batch->n_pending;
}

/* --- gathering ------------------------------------------------------------
 */

static usage_entry *
entry_get(kr_usage_batch *batch, const char *kid, const char *aud,
          const char *reason, int64_t day)
{
    usage_entry *e;

    /* Newest first: a batch mostly repeats the entry it just counted. */
    for (size_t i = batch->n_entries; i-- > 0;) {
        e = &batch->entries[i];
        if (e->day == day && strcmp(e->kid, kid) == 0
            && strcmp(e->aud, aud) == 0 && strcmp(e->reason, reason) == 0)
            return e;
    }
    if (!array_reserve((void **)&batch->entries, &batch->cap_entries,
                       batch->n_entries, sizeof(*batch->entries)))
        return NULL;
    e = &batch->entries[batch->n_entries++];
    memset(e, 0, sizeof(*e));
    text_copy_cut(e->kid, sizeof(e->kid), kid);
    text_copy_cut(e->aud, sizeof(e->aud), aud);
    text_copy_cut(e->reason, sizeof(e->reason), reason);
    e->day = day;
    return e;
}

/* Finds when kid stopped being active, reading the key once per batch.
 * *inactive_since is 0 when the key is active, unknown, or never was. */
static kr_code
key_inactive_since(kr_usage_batch *batch, const char *kid,
                   int64_t *inactive_since, kr_error *err)
{
    kr_error lookup_err = {0};
    kr_key_info info;
    key_seen *k;
    kr_code rc;

    for (size_t i = 0; i < batch->n_keys; i++) {
        if (strcmp(batch->keys[i].kid, kid) == 0) {
            *inactive_since = batch->keys[i].inactive_since;
            return KR_OK;
        }
    }

    rc = kr_store_key_get(batch->store, kid, &info, &lookup_err);
    if (rc != KR_OK && rc != KR_E_NOTFOUND)
        return kr_error_set(err, rc, "%s", lookup_err.msg);
    if (!array_reserve((void **)&batch->keys, &batch->cap_keys, batch->n_keys,
                       sizeof(*batch->keys)))
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    k = &batch->keys[batch->n_keys++];
    text_copy_cut(k->kid, sizeof(k->kid), kid);
    k->inactive_since = 0;
    if (rc == KR_OK && info.state != KR_STATE_ACTIVE)
        k->inactive_since = info.deactivated_at;
    *inactive_since = k->inactive_since;
    return KR_OK;
}

/* Reads a NumericDate claim as whole seconds; false when absent. */
static bool
claim_time(const json_t *claims, const char *name, int64_t *t)
{
    const json_t *value = json_object_get(claims, name);

    if (json_is_integer(value)) {
        *t = (int64_t)json_integer_value(value);
        return true;
    }
    if (json_is_real(value) && json_real_value(value) > -9.2e18
        && json_real_value(value) < 9.2e18) {
        *t = (int64_t)json_real_value(value);
        return true;
    }
    return false;
}

/* Collects the token's audiences, or one empty audience when it has none
 * or its claims are not trusted. Returns how many. */
static size_t
auds_collect(const json_t *claims, const char *auds[KR_USAGE_AUDS_MAX])
{
    const json_t *aud = json_object_get(claims, "aud");
    size_t n = 0, i;
    const json_t *item;

    if (json_is_string(aud)) {
        auds[n++] = json_string_value(aud);
    } else if (json_is_array(aud)) {
        json_array_foreach(aud, i, item)
        {
            if (json_is_string(item) && n < KR_USAGE_AUDS_MAX)
                auds[n++] = json_string_value(item);
        }
    }
    if (n == 0)
        auds[n++] = "";
    return n;
}

static void
entry_count(usage_entry *e, const kr_usage_event *ev, int64_t now,
            int64_t late_after)
{
    int64_t exp = 0, iat = 0;

    if (ev->kind == KR_USAGE_SIGNED) {
        e->n_signed++;
        if (claim_time(ev->claims, "exp", &exp) && exp > e->last_exp)
            e->last_exp = exp;
        if (e->first_signed_at == 0 || now < e->first_signed_at)
            e->first_signed_at = now;
        if (now > e->last_signed_at)
            e->last_signed_at = now;
        return;
    }

    e->n++;
    if (e->first_at == 0 || now < e->first_at)
        e->first_at = now;
    if (now > e->last_at)
        e->last_at = now;

    /* The guard's evidence: a token issued after its key stopped being
     * active means that some signer still uses the old key. */
    if (ev->kind == KR_USAGE_ACCEPTED && late_after > 0
        && claim_time(ev->claims, "iat", &iat) && iat > late_after
        && (now > e->late_at || (now == e->late_at && iat > e->late_iat))) {
        e->late_iat = iat;
        e->late_at = now;
    }
}

static kr_code
counters_add(kr_usage_batch *batch, const kr_usage_event *ev, const char *kid,
             int64_t now, kr_error *err)
{
    const char *auds[KR_USAGE_AUDS_MAX];
    const char *reason =
        ev->kind == KR_USAGE_REFUSED && ev->reason != NULL ? ev->reason : "";
    int64_t late_after = 0;
    size_t n_auds;
    kr_code rc;

    if (ev->kind == KR_USAGE_ACCEPTED && kid[0] != '\0') {
        rc = key_inactive_since(batch, kid, &late_after, err);
        if (rc != KR_OK)
            return rc;
    }

    n_auds = auds_collect(ev->claims, auds);
    for (size_t i = 0; i < n_auds; i++) {
        usage_entry *e =
            entry_get(batch, kid, auds[i], reason, now / SECONDS_PER_DAY);

        if (e == NULL)
            return kr_error_set(err, KR_E_SYSTEM, "out of memory");
        entry_count(e, ev, now, late_after);
    }
    return KR_OK;
}

static const char *const token_events[] = {
    [KR_USAGE_SIGNED] = "token_signed",
    [KR_USAGE_ACCEPTED] = "token_accepted",
    [KR_USAGE_REFUSED] = "token_refused",
};

/* Keeps the per-token audit record of ev: the token's SHA-256 and its
 * trusted aud, iat, exp and jti claims, never the token. */
static kr_code
record_add(kr_usage_batch *batch, const kr_usage_event *ev, const char *kid,
           int64_t now, kr_error *err)
{
    uint8_t digest[KR_SHA256_SIZE];
    char hex[2 * KR_SHA256_SIZE + 1];
    const char *names[] = {"aud", "iat", "exp", "jti"};
    token_record *t;
    json_t *details;

    kr_sha256(ev->token, ev->token_len, digest);
    for (size_t i = 0; i < KR_SHA256_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);

    details =
        json_pack("{s:s, s:I}", "token_sha256", hex, "at", (json_int_t)now);
    if (details == NULL)
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        json_t *value = json_object_get(ev->claims, names[i]);

        if (value != NULL)
            json_object_set_new(details, names[i], json_deep_copy(value));
    }
    if (ev->kind == KR_USAGE_REFUSED && ev->reason != NULL)
        json_object_set_new(details, "reason", json_string(ev->reason));
    if (kid[0] == '\0' && ev->kid != NULL)
        json_object_set_new(details, "kid", json_string(ev->kid));

    if (!array_reserve((void **)&batch->tokens, &batch->cap_tokens,
                       batch->n_tokens, sizeof(*batch->tokens))) {
        json_decref(details);
        return kr_error_set(err, KR_E_SYSTEM, "out of memory");
    }
    t = &batch->tokens[batch->n_tokens++];
    t->event = token_events[ev->kind];
    text_copy_cut(t->kid, sizeof(t->kid), kid);
    t->details = details;
    return KR_OK;
}

kr_code
kr_usage_batch_add(kr_usage_batch *batch, const kr_usage_event *ev,
                   kr_error *err)
{
    const int64_t now = batch->store->ctx->now;
    const char *kid = ev->kid != NULL ? ev->kid : "";
    kr_code rc = KR_OK;

    /* A kid that the store does not know is only what the token claims:
     * counted as such, hostile tokens with ever new kids would add rows
     * without limit. So those refusals count under the empty kid, like a
     * token without a kid, and the per-token record keeps the claimed kid
     * in its details. */
    if (ev->kind == KR_USAGE_REFUSED && ev->reason != NULL
        && strcmp(ev->reason, KR_USAGE_REASON_KID_UNKNOWN) == 0)
        kid = "";

    batch->n_pending++;
    if (batch->counters)
        rc = counters_add(batch, ev, kid, now, err);
    if (rc == KR_OK && batch->records && ev->token != NULL)
        rc = record_add(batch, ev, kid, now, err);
    return rc;
}

/* --- writing
 * ----------------------------------------------------------------- */

static int
bind_time_or_null(sqlite3_stmt *stmt, int index, int64_t t)
{
    if (t == 0)
        return sqlite3_bind_null(stmt, index);
    return sqlite3_bind_int64(stmt, index, t);
}

/* clang-format would split this SQL, built from macros, into letters. */
/* clang-format off */
/* The smaller or larger of a stored time and a new one, either NULL. */
#define EARLIER(col)                                                       \
    col " = min(coalesce(" col ", excluded." col "), coalesce(excluded." col \
        ", " col "))"
#define LATER(col)                                                         \
    col " = max(coalesce(" col ", excluded." col "), coalesce(excluded." col \
        ", " col "))"

static const char usage_upsert_sql[] =
    "INSERT INTO usage (kid, aud, day, n_signed, last_exp, first_signed_at,"
    " last_signed_at, n_accepted, first_accepted_at, last_accepted_at,"
    " late_iat, late_accepted_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    " ON CONFLICT (kid, aud, day) DO UPDATE SET"
    " n_signed = n_signed + excluded.n_signed, " LATER("last_exp") ", "
    EARLIER("first_signed_at") ", " LATER("last_signed_at") ","
    " n_accepted = n_accepted + excluded.n_accepted, "
    EARLIER("first_accepted_at") ", " LATER("last_accepted_at") ","
    " late_iat = CASE WHEN excluded.late_accepted_at"
    "   >= coalesce(late_accepted_at, excluded.late_accepted_at)"
    "   THEN excluded.late_iat ELSE late_iat END, "
    LATER("late_accepted_at");
/* clang-format on */

static const char refused_upsert_sql[] =
    "INSERT INTO usage_refused (kid, aud, day, reason, n, first_at, last_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT (kid, aud, day, reason) DO UPDATE SET n = n + excluded.n,"
    " first_at = min(first_at, excluded.first_at),"
    " last_at = max(last_at, excluded.last_at)";

static kr_code
entry_write(kr_store *store, sqlite3_stmt *usage, sqlite3_stmt *refused,
            const usage_entry *e, kr_error *err)
{
    sqlite3_stmt *stmt = e->reason[0] ? refused : usage;
    int ok;

    sqlite3_reset(stmt);
    ok = sqlite3_bind_text(stmt, 1, e->kid, -1, SQLITE_STATIC) == SQLITE_OK
         && sqlite3_bind_text(stmt, 2, e->aud, -1, SQLITE_STATIC) == SQLITE_OK
         && sqlite3_bind_int64(stmt, 3, e->day) == SQLITE_OK;
    if (ok && stmt == refused)
        ok = sqlite3_bind_text(stmt, 4, e->reason, -1, SQLITE_STATIC)
                 == SQLITE_OK
             && sqlite3_bind_int64(stmt, 5, e->n) == SQLITE_OK
             && sqlite3_bind_int64(stmt, 6, e->first_at) == SQLITE_OK
             && sqlite3_bind_int64(stmt, 7, e->last_at) == SQLITE_OK;
    else if (ok)
        ok = sqlite3_bind_int64(stmt, 4, e->n_signed) == SQLITE_OK
             && bind_time_or_null(stmt, 5, e->last_exp) == SQLITE_OK
             && bind_time_or_null(stmt, 6, e->first_signed_at) == SQLITE_OK
             && bind_time_or_null(stmt, 7, e->last_signed_at) == SQLITE_OK
             && sqlite3_bind_int64(stmt, 8, e->n) == SQLITE_OK
             && bind_time_or_null(stmt, 9, e->first_at) == SQLITE_OK
             && bind_time_or_null(stmt, 10, e->last_at) == SQLITE_OK
             && bind_time_or_null(stmt, 11, e->late_iat) == SQLITE_OK
             && bind_time_or_null(stmt, 12, e->late_at) == SQLITE_OK;
    if (!ok || sqlite3_step(stmt) != SQLITE_DONE)
        return kr_store_sql_error(store, "recording usage", err);
    return KR_OK;
}

static kr_code
batch_write(kr_usage_batch *batch, kr_error *err)
{
    kr_store *store = batch->store;
    sqlite3_stmt *usage = NULL, *refused = NULL;
    kr_code rc = KR_OK;

    if (sqlite3_prepare_v2(store->db, usage_upsert_sql, -1, &usage, NULL)
            != SQLITE_OK
        || sqlite3_prepare_v2(store->db, refused_upsert_sql, -1, &refused,
                              NULL)
               != SQLITE_OK) {
        rc = kr_store_sql_error(store, "preparing a query", err);
        goto out;
    }
    for (size_t i = 0; i < batch->n_entries && rc == KR_OK; i++)
        rc = entry_write(store, usage, refused, &batch->entries[i], err);
    for (size_t i = 0; i < batch->n_tokens && rc == KR_OK; i++) {
        const token_record *t = &batch->tokens[i];

        rc = kr_store_audit_append(store, t->event, t->kid[0] ? t->kid : NULL,
                                   t->details, err);
    }

out:
    sqlite3_finalize(usage);
    sqlite3_finalize(refused);
    return rc;
}

/* Frames in the WAL below which a usage-only connection skips the
 * checkpoint on close. */
#define USAGE_WAL_FRAMES_MAX 64

static int
wal_frames_note(void *ctx, sqlite3 *db, const char *name, int n_frames)
{
    int *frames = ctx;

    (void)db;
    (void)name;
    *frames = n_frames;
    return SQLITE_OK;
}

/*
 * Commits, and decides whether closing the connection will checkpoint.
 * Closing the last connection after a write checkpoints the WAL into the
 * file, and that fsync made a one-shot sign about 1.5 times slower in
 * bench/bench-usage.py. Skipping it always is no better: the next process
 * to open the store then reads the whole WAL to rebuild its index. So a
 * usage-only connection skips the checkpoint while the WAL holds fewer
 * than USAGE_WAL_FRAMES_MAX frames (about one per signed token), and one
 * close in that many pays for it. The commits are in the WAL either way.
 */
static kr_code
wal_commit(kr_store *store, kr_error *err)
{
    int frames = 0;
    kr_code rc;

    /* The hook replaces the automatic checkpoint until it is restored. */
    sqlite3_wal_hook(store->db, wal_frames_note, &frames);
    rc = kr_store_commit(store, err);
    sqlite3_wal_autocheckpoint(store->db, SQLITE_DEFAULT_WAL_AUTOCHECKPOINT);
    if (rc == KR_OK)
        sqlite3_db_config(store->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                          frames < USAGE_WAL_FRAMES_MAX, NULL);
    return rc;
}

kr_code
kr_usage_batch_flush(kr_usage_batch *batch, kr_error *err)
{
    kr_code rc;

    if (batch->n_entries == 0 && batch->n_tokens == 0) {
        batch_reset(batch);
        return KR_OK;
    }

    rc = kr_store_begin(batch->store, err);
    if (rc != KR_OK)
        goto out;
    rc = batch_write(batch, err);
    if (rc == KR_OK)
        rc = wal_commit(batch->store, err);

out:
    kr_store_rollback(batch->store);
    batch_reset(batch);
    return rc;
}

kr_code
kr_store_usage_token_signed(kr_store *store, const char *kid,
                            const char *token, size_t token_len,
                            const json_t *claims, kr_error *err)
{
    kr_usage_event ev = {
        .kind = KR_USAGE_SIGNED,
        .kid = kid,
        .claims = claims,
        .token = token,
        .token_len = token_len,
    };
    kr_usage_batch *batch = NULL;
    kr_code rc;

    rc = kr_usage_batch_new(store, &batch, err);
    if (rc == KR_OK)
        rc = kr_usage_batch_add(batch, &ev, err);
    if (rc == KR_OK)
        rc = kr_usage_batch_flush(batch, err);
    kr_usage_batch_free(batch);
    return rc;
}

/* --- reading
 * ------------------------------------------------------------------- */

/* The rows being summed for kr_store_usage_list. */
typedef struct row_list {
    kr_usage_row *rows;
    size_t n, cap;
} row_list;

static kr_usage_row *
row_get(row_list *list, const char *kid, const char *aud)
{
    kr_usage_row *row;

    for (size_t i = list->n; i-- > 0;) {
        row = &list->rows[i];
        if (strcmp(row->kid, kid) == 0 && strcmp(row->aud, aud) == 0)
            return row;
    }
    if (!array_reserve((void **)&list->rows, &list->cap, list->n,
                       sizeof(*list->rows)))
        return NULL;
    row = &list->rows[list->n++];
    memset(row, 0, sizeof(*row));
    text_copy_cut(row->kid, sizeof(row->kid), kid);
    text_copy_cut(row->aud, sizeof(row->aud), aud);
    return row;
}

static int64_t
earlier(int64_t a, int64_t b)
{
    if (a == 0 || (b != 0 && b < a))
        return b;
    return a;
}

static int64_t
later(int64_t a, int64_t b)
{
    return b > a ? b : a;
}

/* Adds one day's row of the usage table to its (kid, aud) row. */
static void
row_add_day(kr_usage_row *row, sqlite3_stmt *stmt)
{
    int64_t late_at = sqlite3_column_int64(stmt, 10);

    row->n_signed += sqlite3_column_int64(stmt, 2);
    row->last_exp = later(row->last_exp, sqlite3_column_int64(stmt, 3));
    row->first_signed_at =
        earlier(row->first_signed_at, sqlite3_column_int64(stmt, 4));
    row->last_signed_at =
        later(row->last_signed_at, sqlite3_column_int64(stmt, 5));
    row->n_accepted += sqlite3_column_int64(stmt, 6);
    row->first_accepted_at =
        earlier(row->first_accepted_at, sqlite3_column_int64(stmt, 7));
    row->last_accepted_at =
        later(row->last_accepted_at, sqlite3_column_int64(stmt, 8));
    if (late_at != 0 && late_at >= row->late_accepted_at) {
        row->late_iat = sqlite3_column_int64(stmt, 9);
        row->late_accepted_at = late_at;
    }
}

static void
row_add_refusal(kr_usage_row *row, const char *reason, int64_t n)
{
    row->n_refused += n;
    for (size_t i = 0; i < row->n_reasons; i++) {
        if (strcmp(row->refused[i].reason, reason) == 0) {
            row->refused[i].n += n;
            return;
        }
    }
    if (row->n_reasons == KR_USAGE_REASONS_MAX)
        return;
    text_copy_cut(row->refused[row->n_reasons].reason,
                  sizeof(row->refused[0].reason), reason);
    row->refused[row->n_reasons++].n = n;
}

static const char *
column_text(sqlite3_stmt *stmt, int i)
{
    const unsigned char *text = sqlite3_column_text(stmt, i);

    return text ? (const char *)text : "";
}

/* Runs sql bound to (kid or NULL, first day) and hands each row to add. */
static kr_code
usage_query(kr_store *store, const char *sql, const char *kid, int64_t day,
            row_list *list, bool refusals, kr_error *err)
{
    sqlite3_stmt *stmt = NULL;
    kr_usage_row *row;
    kr_code rc = KR_OK;
    int step;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK
        || (kid ? sqlite3_bind_text(stmt, 1, kid, -1, SQLITE_STATIC)
                : sqlite3_bind_null(stmt, 1))
               != SQLITE_OK
        || sqlite3_bind_int64(stmt, 2, day) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "reading usage", err);
        goto out;
    }
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        row = row_get(list, column_text(stmt, 0), column_text(stmt, 1));
        if (row == NULL) {
            rc = kr_error_set(err, KR_E_SYSTEM, "out of memory");
            goto out;
        }
        if (refusals)
            row_add_refusal(row, column_text(stmt, 2),
                            sqlite3_column_int64(stmt, 3));
        else
            row_add_day(row, stmt);
    }
    if (step != SQLITE_DONE)
        rc = kr_store_sql_error(store, "reading usage", err);

out:
    sqlite3_finalize(stmt);
    return rc;
}

static int
row_compare(const void *a, const void *b)
{
    const kr_usage_row *x = a, *y = b;
    int by_kid = strcmp(x->kid, y->kid);

    return by_kid != 0 ? by_kid : strcmp(x->aud, y->aud);
}

kr_code
kr_store_usage_list(kr_store *store, const char *kid, int64_t since,
                    kr_usage_row **rows, size_t *n_rows, kr_error *err)
{
    static const char usage_sql[] =
        "SELECT kid, aud, n_signed, last_exp, first_signed_at,"
        " last_signed_at, n_accepted, first_accepted_at, last_accepted_at,"
        " late_iat, late_accepted_at FROM usage"
        " WHERE (?1 IS NULL OR kid = ?1) AND day >= ?2 ORDER BY kid, aud, day";
    static const char refused_sql[] =
        "SELECT kid, aud, reason, sum(n) FROM usage_refused"
        " WHERE (?1 IS NULL OR kid = ?1) AND day >= ?2"
        " GROUP BY kid, aud, reason ORDER BY kid, aud, reason";
    row_list list = {0};
    int64_t day = since > 0 ? since / SECONDS_PER_DAY : 0;
    kr_code rc;

    rc = usage_query(store, usage_sql, kid, day, &list, false, err);
    if (rc == KR_OK)
        rc = usage_query(store, refused_sql, kid, day, &list, true, err);
    if (rc != KR_OK) {
        free(list.rows);
        return rc;
    }

    if (list.n > 1)
        qsort(list.rows, list.n, sizeof(*list.rows), row_compare);
    *rows = list.rows;
    *n_rows = list.n;
    return KR_OK;
}

kr_code
kr_store_usage_late_evidence(kr_store *store, const char *kid,
                             int64_t issued_after, int64_t accepted_since,
                             kr_usage_late *late, kr_error *err)
{
    static const char sql[] =
        "SELECT aud, late_iat, late_accepted_at FROM usage"
        " WHERE kid = ?1 AND late_iat > ?2 AND late_accepted_at >= ?3"
        " ORDER BY late_accepted_at DESC, late_iat DESC LIMIT 1";
    sqlite3_stmt *stmt = NULL;
    kr_code rc = KR_OK;
    int step;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK
        || sqlite3_bind_text(stmt, 1, kid, -1, SQLITE_STATIC) != SQLITE_OK
        || sqlite3_bind_int64(stmt, 2, issued_after) != SQLITE_OK
        || sqlite3_bind_int64(stmt, 3, accepted_since) != SQLITE_OK) {
        rc = kr_store_sql_error(store, "reading usage", err);
        goto out;
    }
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        text_copy_cut(late->aud, sizeof(late->aud), column_text(stmt, 0));
        late->iat = sqlite3_column_int64(stmt, 1);
        late->accepted_at = sqlite3_column_int64(stmt, 2);
    } else if (step == SQLITE_DONE) {
        rc = KR_E_NOTFOUND;
    } else {
        rc = kr_store_sql_error(store, "reading usage", err);
    }

out:
    sqlite3_finalize(stmt);
    return rc;
}
