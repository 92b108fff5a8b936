/* SPDX-License-Identifier: MIT */
/*
 * The audit log and the usage counters of the store (src/store-audit.c).
 *
 * Audit log: every record carries the wall clock, the --now clock when one
 * was given, the actor (user@host), the event, the kid and a JSON object of
 * details. Each record's SHA-256 covers its own fields and the hash of the
 * record before it, so that editing, removing, inserting or reordering a
 * record breaks the chain at that record. The audit_anchor row keeps the
 * head (last seq and hash) written by keyrot and the archived prefix, so
 * that removing the newest records, or a record appended by other means, is
 * found too. What the chain cannot find: someone with write access to the
 * file who recomputes every hash after the change and rewrites the anchor.
 * Against that, keep the head printed by `keyrot audit verify` somewhere
 * else and check it later with --anchor.
 *
 * Usage: counters per key, audience and UTC day, never a row per token:
 * tokens signed and the latest exp minted; verifications accepted, with the
 * first and last one, and refused by reason; and the latest accepted token
 * issued after its key stopped being active (the retirement guard's
 * evidence). Two policy settings control it: usage_counters (1 by default)
 * and usage_records (0 by default; 1 adds one audit record per token,
 * holding the token's SHA-256 and never the token).
 */
#ifndef KEYROT_STORE_AUDIT_H
#define KEYROT_STORE_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "kid.h"
#include "store.h"

/* Hex SHA-256 of an audit record, NUL included. */
#define KR_AUDIT_HASH_SIZE 65

/* --- the audit log ----------------------------------------------------- */

/* One event that keyrot writes to the audit log. */
typedef struct kr_audit_event_info {
    const char *name;
    const char *summary; /* what a record of it means, for --help */
    bool adds_key;       /* the record adds its key, as pending */
} kr_audit_event_info;

/* Returns the table of every event keyrot writes (static storage), in the
 * order a store's life meets them. */
const kr_audit_event_info *kr_audit_events(size_t *n_events);

/* Looks an event up by name; NULL when keyrot writes no such event. */
const kr_audit_event_info *kr_audit_event_find(const char *name);

/* One record as stored; the strings are borrowed and valid only during the
 * callback that receives them. */
typedef struct kr_audit_record {
    int64_t seq;
    int64_t at;     /* wall clock, Unix seconds */
    bool has_clock; /* whether --now was given */
    int64_t clock;  /* the --now time */
    const char *actor;
    const char *event;
    const char *kid;     /* NULL when the event concerns no key */
    const char *details; /* a JSON object, as text */
    const char *hash;
} kr_audit_record;

/* Which records kr_store_audit_each visits; NULL or 0 means no limit. */
typedef struct kr_audit_filter {
    const char *kid;
    const char *event;
    int64_t since; /* records with at >= since */
    int64_t until; /* records with at < until */
} kr_audit_filter;

/* Receives one record; a code other than KR_OK stops the walk and is
 * returned by kr_store_audit_each. */
typedef kr_code (*kr_audit_visit_fn)(void *ctx, const kr_audit_record *rec,
                                     kr_error *err);

/* Calls visit for each record that filter selects, in seq order. */
kr_code kr_store_audit_each(kr_store *store, const kr_audit_filter *filter,
                            kr_audit_visit_fn visit, void *ctx, kr_error *err);

/* Returns the JSON form of a record (a new reference): seq, at, clock,
 * actor, event, kid, details (an object), hash. NULL when out of memory or
 * when details is not JSON. */
json_t *kr_audit_record_json(const kr_audit_record *rec);

/* Size of kr_audit_check.problem, NUL included. */
#define KR_AUDIT_PROBLEM_SIZE 256

/* What kr_store_audit_verify found. */
typedef struct kr_audit_check {
    bool intact;
    int64_t n_records;  /* records in the store */
    int64_t pruned_seq; /* records up to this seq were archived; 0 none */
    int64_t head_seq;   /* the last record */
    char head_hash[KR_AUDIT_HASH_SIZE];
    int64_t bad_seq; /* the first bad record when !intact */
    char problem[KR_AUDIT_PROBLEM_SIZE]; /* what is wrong with it */
} kr_audit_check;

/* Recomputes the chain from the archived prefix (or the start) to the
 * head and fills *check. anchor_seq > 0 also requires that record
 * anchor_seq still has the hash anchor_hash (a head saved earlier, outside
 * the store). Returns KR_OK whether or not the chain is intact (see
 * check->intact); an error only when the store could not be read. */
kr_code kr_store_audit_verify(kr_store *store, int64_t anchor_seq,
                              const char *anchor_hash, kr_audit_check *check,
                              kr_error *err);

/* What kr_store_audit_archive did. */
typedef struct kr_audit_archived {
    int64_t n_records; /* records moved to the file; 0 when none were due */
    int64_t first_seq;
    int64_t through_seq;
    char through_hash[KR_AUDIT_HASH_SIZE];
    int64_t checkpoint_seq; /* the audit_archive record written */
} kr_audit_archived;

/* Moves the oldest records, those before the first record whose wall
 * clock is at or after `before`, to a new JSON-lines file at path (one
 * kr_audit_record_json object per line; the file must not exist). In the
 * same transaction it appends an "audit_archive" checkpoint record that
 * names the first and last archived seq, the hash the first one follows
 * and the last one's hash, moves the anchor's archived prefix to the last
 * one, and deletes the archived records; the file is in place before the
 * commit and removed when the commit fails. Refuses with KR_E_INVALID when
 * the chain is not intact, so that a tampered record is never carried into
 * an archive, and with KR_E_REFUSED when path exists. */
kr_code kr_store_audit_archive(kr_store *store, int64_t before,
                               const char *path, kr_audit_archived *out,
                               kr_error *err);

/* --- usage counters ------------------------------------------------------ */

/* Stored audience size, NUL included; longer audiences are cut. */
#define KR_USAGE_AUD_SIZE 256
/* Size of a refusal reason code, NUL included. */
#define KR_USAGE_REASON_SIZE 24
/* Distinct reasons kept per row. */
#define KR_USAGE_REASONS_MAX 24
/* Audiences counted per token; more are not counted. */
#define KR_USAGE_AUDS_MAX 16

typedef enum kr_usage_kind {
    KR_USAGE_SIGNED,
    KR_USAGE_ACCEPTED,
    KR_USAGE_REFUSED,
} kr_usage_kind;

/* The verify reason code of a token whose kid the store does not know. */
#define KR_USAGE_REASON_KID_UNKNOWN "kid_unknown"

/* One token signed or verified. Everything is borrowed for the call. */
typedef struct kr_usage_event {
    kr_usage_kind kind;
    const char *kid;      /* the signing key, or the token header's kid when
                             it was syntactically valid; else NULL. A
                             refusal for reason kid_unknown counts under
                             the empty kid, so that unknown kids add no
                             rows. */
    const char *reason;   /* KR_USAGE_REFUSED: the verify reason code */
    const json_t *claims; /* the claims once the signature held (or as
                             signed); NULL before that: then the token's
                             audience is not trusted and not counted */
    const char *token;    /* the compact token; only its SHA-256 is kept, and
                             only when per-token records are on */
    size_t token_len;
} kr_usage_event;

/* Usage events gathered in memory and written in one transaction. */
typedef struct kr_usage_batch kr_usage_batch;

/* Starts a batch that writes to store (borrowed), reading the usage
 * policy once. *out is for kr_usage_batch_free(). */
kr_code kr_usage_batch_new(kr_store *store, kr_usage_batch **out,
                           kr_error *err);

/* Counts one event at the store's clock (ctx->now). */
kr_code kr_usage_batch_add(kr_usage_batch *batch, const kr_usage_event *ev,
                           kr_error *err);

/* Returns the number of events added since the last flush. */
size_t kr_usage_batch_pending(const kr_usage_batch *batch);

/* Writes the counters (and per-token audit records) gathered so far in one
 * transaction, then empties the batch, also on failure. */
kr_code kr_usage_batch_flush(kr_usage_batch *batch, kr_error *err);

/* Frees a batch without writing it; NULL is allowed. */
void kr_usage_batch_free(kr_usage_batch *batch);

/* Counts one signed token (claims as signed) at once: a batch of one. */
kr_code kr_store_usage_token_signed(kr_store *store, const char *kid,
                                    const char *token, size_t token_len,
                                    const json_t *claims, kr_error *err);

/* One refusal reason and how many tokens it refused. */
typedef struct kr_usage_refusal {
    char reason[KR_USAGE_REASON_SIZE];
    int64_t n;
} kr_usage_refusal;

/* The usage of one key and audience, summed over the days selected. Times
 * are the command clock (--now when given), 0 = never. */
typedef struct kr_usage_row {
    char kid[KR_KID_SIZE];       /* "" for refused tokens without a kid, or
                                    with one the store does not know */
    char aud[KR_USAGE_AUD_SIZE]; /* "" when none, or not trusted */
    int64_t n_signed;
    int64_t last_exp;
    int64_t first_signed_at;
    int64_t last_signed_at;
    int64_t n_accepted;
    int64_t first_accepted_at;
    int64_t last_accepted_at;
    int64_t late_iat;         /* latest accepted token issued after its key */
    int64_t late_accepted_at; /* stopped being active: iat, when accepted */
    int64_t n_refused;
    size_t n_reasons;
    kr_usage_refusal refused[KR_USAGE_REASONS_MAX];
} kr_usage_row;

/* Lists usage by kid and audience, for kid (NULL: every key) over the UTC
 * days from the one holding `since` (0: all). *rows is for free(). */
kr_code kr_store_usage_list(kr_store *store, const char *kid, int64_t since,
                            kr_usage_row **rows, size_t *n_rows,
                            kr_error *err);

/* The retirement guard's evidence that a system still signs with a key. */
typedef struct kr_usage_late {
    char aud[KR_USAGE_AUD_SIZE];
    int64_t iat;         /* when the token was issued */
    int64_t accepted_at; /* when it was accepted */
} kr_usage_late;

/* Finds the most recently accepted token under kid that was issued after
 * issued_after and accepted at or after accepted_since. Returns
 * KR_E_NOTFOUND (without a message) when there is none. */
kr_code kr_store_usage_late_evidence(kr_store *store, const char *kid,
                                     int64_t issued_after,
                                     int64_t accepted_since,
                                     kr_usage_late *late, kr_error *err);

#endif
