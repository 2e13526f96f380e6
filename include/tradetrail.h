/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail.h - the public API of libtradetrail, a tamper-evident, append-only audit
 * ledger. If it is not in this header, it is not API: the CLI and the server use nothing
 * else.
 */
#ifndef TRADETRAIL_H
#define TRADETRAIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TT_BUILDING_LIBRARY)
#define TT_EXPORT __attribute__((visibility("default")))
#else
#define TT_EXPORT
#endif

#define TT_VERSION "0.1.0"

/* ---------------------------------------------------------------------------------------
 * Status codes. Values are never renumbered; retired codes stay as placeholders.
 * ------------------------------------------------------------------------------------- */
typedef enum tt_status {
    TT_OK = 0,
    TT_ENOMEM = 1,     /* an allocation failed */
    TT_EINVAL = 2,     /* invalid argument or event; the message names the field and rule */
    TT_EMISUSE = 3,    /* the API was called in a way it does not allow */
    TT_EIO = 4,        /* file-system I/O failed */
    TT_EDB = 5,        /* the store reported an error */
    TT_ECRYPTO = 6,    /* a cryptographic operation failed or a key is malformed */
    TT_EPARSE = 7,     /* input could not be parsed (JSON, note, key, config) */
    TT_ENET = 8,       /* network error (notifications) */
    TT_ETOOBIG = 9,    /* a size limit was exceeded */
    TT_ECONFLICT = 10, /* the operation conflicts with the current state */
    TT_ENOTFOUND = 11, /* no such record */
    TT_EAUTH = 12,     /* authentication or signature failure */
    TT_ENOSPC = 13,    /* the disk is full */
    TT_ETAMPERED = 14, /* verification found a mismatch */
    TT_EBUSY = 15,     /* the store stayed locked longer than the configured wait */
} tt_status;

/* The name of a status code ("TT_EINVAL"), never NULL. Thread-safe. */
TT_EXPORT const char *tt_strerror(int rc);

/* ---------------------------------------------------------------------------------------
 * Limits (SPEC 3.1, 9)
 * ------------------------------------------------------------------------------------- */
#define TT_HASH_SIZE 32
#define TT_MAX_ENTITY 64
#define TT_MAX_ENTITY_ID 128
#define TT_MAX_EVENT_TYPE 64
#define TT_MAX_ACTOR 128
#define TT_MAX_STATUS 64
#define TT_MAX_REASON 8192
#define TT_MAX_METADATA 65536
#define TT_MAX_IDEMPOTENCY_KEY 128
#define TT_MAX_PRODUCER 64       /* characters of a producer name (SPEC 15) */
#define TT_MAX_PRINCIPAL 160     /* "token:" + a 128-byte token name, "cli:" + a user */
#define TT_MAX_METADATA_DEPTH 64 /* nesting levels of metadata, its own object being one */
#define TT_MAX_BATCH 10000
#define TT_MAX_QUERY_LIMIT 10000
#define TT_MAX_QUERY_TYPES 32
#define TT_TS_LEN 27 /* "2026-01-18T10:31:00.123456Z" */

/* ---------------------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------------------- */

/*
 * One audit record. On input (append) seq, ts_us and leaf_hash are ignored and the
 * optional strings may be NULL. `metadata` is the JSON text of an object or NULL.
 * `occurred_at_us` is the client-side time in microseconds since the Unix epoch (UTC), or
 * INT64_MIN when absent. On output every string is owned by whoever returned the event
 * (see each function).
 */
typedef struct tt_event {
    int64_t seq;
    int64_t ts_us;
    const char *entity;
    const char *entity_id;
    const char *event_type;
    const char *actor;
    const char *old_status;
    const char *new_status;
    const char *reason;
    const char *metadata;
    int64_t occurred_at_us;
    const char *idempotency_key;
    uint8_t leaf_hash[TT_HASH_SIZE];
    /* Who authenticated the append (SPEC 3.1): set by the ledger from tt_set_principal,
     * ignored on input; NULL on events appended before principals were recorded. */
    const char *principal;
    /* The sending process's own name and counter (SPEC 15, completeness per producer):
     * both or neither; producer 1..TT_MAX_PRODUCER characters, producer_seq >= 1. NULL and
     * 0 when the event carries none (such events hash exactly as before, docs/FORMAT.md). */
    const char *producer;
    int64_t producer_seq;
    /* Set only on events read in the corrected view (TT_VIEW_CORRECTED, SPEC 15): the seq of
     * the CORRECTION whose fields are shown over the stored ones; 0 otherwise. */
    int64_t corrected_by;
} tt_event;

#define TT_TIME_NONE INT64_MIN

/* Initialise an input event: all strings NULL, occurred_at_us = TT_TIME_NONE. */
TT_EXPORT void tt_event_init(tt_event *ev);

/*
 * Check an event against the rules of SPEC 3.1 without writing anything. On failure
 * returns TT_EINVAL (or TT_ETOOBIG for a size limit) and writes a message naming the field
 * and the rule into err (always NUL-terminated, truncated to errlen). Thread-safe.
 */
TT_EXPORT int tt_event_validate(const tt_event *ev, char *err, size_t errlen);

/*
 * Parse one JSON event object (as POST /api/events and NDJSON lines carry it) into *out.
 * Unknown fields, wrong types, duplicate metadata keys and invalid UTF-8 are rejected
 * with TT_EINVAL / TT_EPARSE and a message. The strings of *out point into *owner, which
 * the caller frees with tt_free(). The event is also validated. Thread-safe.
 */
TT_EXPORT int tt_event_parse_json(const char *json, size_t len, tt_event *out, void **owner,
                                  char *err, size_t errlen);

/*
 * Serialise an event (with seq, ts and leaf_hash) as one compact JSON object, the shape
 * of GET /api/events/{seq}. Returns a NUL-terminated string the caller frees with
 * tt_free(), or NULL when out of memory.
 */
TT_EXPORT char *tt_event_to_json(const tt_event *ev);

/*
 * The canonical leaf bytes of an event (docs/FORMAT.md) in a buffer the caller frees with
 * tt_free(). TT_ENOMEM on allocation failure.
 */
TT_EXPORT int tt_event_leaf_bytes(const tt_event *ev, uint8_t **out, size_t *outlen);

/* The RFC 6962 leaf hash SHA-256(0x00 || leaf bytes) of an event. */
TT_EXPORT int tt_event_leaf_hash(const tt_event *ev, uint8_t out[TT_HASH_SIZE]);

/* 1 when the two hashes are equal, compared in constant time (no early exit): how every
 * digest is compared, so a caller never reaches for memcmp. Thread-safe. */
TT_EXPORT int tt_hash_equal(const uint8_t a[TT_HASH_SIZE], const uint8_t b[TT_HASH_SIZE]);

/* 1 when s[0..len) is valid UTF-8 (no overlong forms, no surrogates). Thread-safe. */
TT_EXPORT int tt_utf8_valid(const char *s, size_t len);

/* Free memory returned by the library. Accepts NULL. */
TT_EXPORT void tt_free(void *p);

/* ---------------------------------------------------------------------------------------
 * Time helpers
 * ------------------------------------------------------------------------------------- */

/* Format microseconds since the epoch as RFC 3339 UTC with 6 fractional digits and Z.
 * buf must hold TT_TS_LEN + 1 bytes. */
TT_EXPORT void tt_time_format(int64_t us, char buf[TT_TS_LEN + 1]);

/* Parse RFC 3339 (any offset, any fraction up to 9 digits, truncated to microseconds). */
TT_EXPORT int tt_time_parse_rfc3339(const char *s, int64_t *us);

/* Parse a whole decimal integer in [min, max] as strtoll reads it (leading white space and
 * a sign allowed): the rule of every integer in the API's query strings and the CLI's
 * flags, which users' scripts depend on. TT_EINVAL otherwise (*out untouched). */
TT_EXPORT int tt_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parse a user time expression: RFC 3339, a date YYYY-MM-DD (midnight UTC), `now`,
 * `today`, `yesterday`, or a relative offset `-2h`, `-30m`, `-7d`, `-45s`, relative to
 * now_us. */
TT_EXPORT int tt_time_parse_expr(const char *s, int64_t now_us, int64_t *us);

/* The current time in microseconds since the epoch. */
TT_EXPORT int64_t tt_time_now_us(void);

/* ---------------------------------------------------------------------------------------
 * Opening a ledger
 * ------------------------------------------------------------------------------------- */

typedef struct tt_ledger tt_ledger;

typedef struct tt_open_options {
    /* Data directory: holds the SQLite store (ledger.db), the signing key (signing.key)
     * and the configuration file. Required unless db_uri and key_path are both set. */
    const char *data_dir;
    /* Store URI: NULL or a path for SQLite ("sqlite:PATH" also accepted). */
    const char *db_uri;
    /* Path to the signing key; default DATA/signing.key. */
    const char *key_path;
    /* Create the store and signing key if missing (tradetrail init). */
    int create;
    /* Checkpoint origin line used when creating a ledger; default "tradetrail/<random>". */
    const char *origin;
    /* How long a writer waits for another process's write lock, in milliseconds; 0 means
     * the default of 10000. */
    int busy_timeout_ms;
    /* Group commit: at most this many events per transaction (default 10000) and at most
     * this many microseconds of waiting for more requests to join (default 200). */
    int batch_max_events;
    int batch_wait_us;
} tt_open_options;

/*
 * Open (or with create, create) a ledger. On failure *out is untouched and, when err is
 * not NULL, a message is written into it. The handle is thread-safe: many threads may
 * append and query concurrently; appends from all threads are group-committed.
 */
TT_EXPORT int tt_ledger_open(const tt_open_options *opts, tt_ledger **out, char *err,
                             size_t errlen);

/* SPEC 15 namespaces: independent ledgers in the same store, each with its own seq, tree
 * and checkpoints. The main ledger is the one tt_ledger_open opens. */
#define TT_MAIN_LEDGER "main"
#define TT_MAX_LEDGER_NAME 32

/* Whether name is a valid ledger name: 1-32 characters a-z, 0-9 and '-', not starting
 * with '-'. */
TT_EXPORT int tt_ledger_name_valid(const char *name);

/*
 * Open (with create, create) the ledger NAME beside the main ledger main: same store URI
 * and signing key, its own store (SQLite: the file beside main's with "-NAME" before
 * ".db"; PostgreSQL: the schema "<main's schema>__NAME"), origin "<main's origin>/NAME".
 * NAME must not be "main". The new handle is independent of main, which may be closed.
 * Without create, a ledger that does not exist yet is TT_ENOTFOUND.
 */
TT_EXPORT int tt_ledger_open_named(tt_ledger *main, const char *name, int create, tt_ledger **out,
                                   char *err, size_t errlen);

/* The ledger's name: "main" or the name it was opened with. Valid while l is open. */
TT_EXPORT const char *tt_ledger_name(const tt_ledger *l);

/* Close a ledger and free it. Accepts NULL. No call may be in progress. */
TT_EXPORT void tt_ledger_close(tt_ledger *l);

/* The detailed message of the last failure on this thread's last call on l. Valid until
 * that thread's next call on l. Never NULL. */
TT_EXPORT const char *tt_ledger_errmsg(tt_ledger *l);

/* The origin line of this ledger's checkpoints. Valid while l is open. */
TT_EXPORT const char *tt_ledger_origin(tt_ledger *l);

/* ---------------------------------------------------------------------------------------
 * Appending
 * ------------------------------------------------------------------------------------- */

typedef struct tt_append_result {
    int64_t seq;
    int64_t ts_us;
    uint8_t leaf_hash[TT_HASH_SIZE];
    int existed; /* 1 when an idempotency key matched an earlier event: nothing written */
} tt_append_result;

/*
 * Append n events (1 <= n <= TT_MAX_BATCH) as one atomic batch: every event is validated
 * first, then all of them are committed durably in one transaction, or none. Events with
 * an idempotency key already in the ledger (or earlier in the same batch) are not written
 * again: their result carries the original seq with existed = 1.
 *
 * Concurrent callers (threads sharing l) are group-committed: the call returns only after
 * the transaction holding its events has been fsynced. Other processes appending to the
 * same store are serialised by the store's write lock.
 *
 * results (n entries) is written only on success. On failure the ledger is unchanged;
 * TT_EINVAL/TT_ETOOBIG name the index, field and rule in tt_ledger_errmsg(); TT_ENOSPC
 * when the disk is full; TT_EBUSY when the write lock could not be taken in time.
 */
TT_EXPORT int tt_ledger_append(tt_ledger *l, const tt_event *events, size_t n,
                               tt_append_result *results);

/*
 * The same append without waiting: for servers that must not hold a thread per append
 * while its group's fsync is pending. Events are validated at once; on failure nothing is
 * queued, done is never called, and the status and tt_ledger_errmsg() are those of
 * tt_ledger_append. On TT_OK, done(ctx, rc, msg) is called exactly once, from a thread the
 * ledger owns, when the group holding the events has committed (rc TT_OK, results
 * written) or failed (rc and msg as tt_ledger_append would give; results untouched).
 * events, the strings they point to and results must stay valid until then; done must
 * not call back into the ledger's append functions. tt_ledger_close waits for every
 * queued append.
 */
typedef void (*tt_append_done)(void *ctx, int rc, const char *msg);
TT_EXPORT int tt_ledger_append_async(tt_ledger *l, const tt_event *events, size_t n,
                                     tt_append_result *results, tt_append_done done, void *ctx);

/*
 * Commit observers: after tt_ledger_on_commit(l, fn, ctx), fn(ctx, first_seq, count) is
 * called once for every batch of appends made through l that wrote new events (seqs
 * first_seq .. first_seq + count - 1), after the batch is durable and before its callers
 * return, in commit order, one call at a time, from the committing thread. Batches of
 * idempotent repeats only, failed batches and other processes' appends are not reported.
 * fn must be quick (count a metric, wake a stream), must not append and must not add or
 * remove observers; it may read the ledger. At most 16 observers per handle: TT_ENOSPC
 * beyond, TT_EMISUSE for a NULL l or fn. Thread-safe.
 *
 * tt_ledger_on_commit_remove removes the first observer registered with this fn and ctx
 * (TT_ENOTFOUND when none); once it returns, fn is not running and is not called again.
 * Observers need no removal before tt_ledger_close, but ctx must stay valid until one or
 * the other returns (closing commits the asynchronous appends still queued).
 */
typedef void (*tt_commit_fn)(void *ctx, int64_t first_seq, int64_t count);
TT_EXPORT int tt_ledger_on_commit(tt_ledger *l, tt_commit_fn fn, void *ctx);
TT_EXPORT int tt_ledger_on_commit_remove(tt_ledger *l, tt_commit_fn fn, void *ctx);

/*
 * Replaying or generating history (an importer, tradetrail demo): until called again with
 * TT_TIME_NONE, events appended BY THIS THREAD that carry no occurred_at get occurred_at_us.
 * ts stays the ledger's own time. Thread-local; affects every ledger handle.
 */
TT_EXPORT void tt_set_client_time(int64_t occurred_at_us);

/*
 * Who authenticates the appends THIS THREAD makes from now on (SPEC 3.1 principal, part of
 * every event's leaf bytes): "token:<name>" in the server, "cli:<user>" in the command
 * line; NULL restores the default, "lib". Captured when an append is queued, so an
 * asynchronous append keeps the principal of the thread that queued it. TT_EINVAL (the
 * setting unchanged) unless 1..TT_MAX_PRINCIPAL bytes of UTF-8 without control characters.
 * Thread-local; affects every ledger handle.
 */
TT_EXPORT int tt_set_principal(const char *principal);

/*
 * The token (by id, tt_token_authenticate_cached) whose revocation the asynchronous appends
 * THIS THREAD queues from now on are checked against, just before their group commits: a
 * revoked token's request then fails alone with TT_EAUTH and nothing of it is written. 0
 * (the default) checks nothing. The token lives in the ledger the append goes to.
 * Thread-local; affects every ledger handle.
 */
TT_EXPORT void tt_set_append_token(int64_t token_id);

/*
 * tt_ledger_append and tt_ledger_append_async for events exactly as tt_events_parse_body
 * returned them with owner: they were checked and normalised there, once, and are not
 * checked again. Members changed since (a key taken from a header: a new pointer) are
 * checked, each once, as tt_ledger_append checks every member. owner must stay valid until the
 * call returns (until done is called for the asynchronous form).
 */
TT_EXPORT int tt_ledger_append_parsed(tt_ledger *l, const tt_event *events, size_t n,
                                      const void *owner, tt_append_result *results);
TT_EXPORT int tt_ledger_append_parsed_async(tt_ledger *l, const tt_event *events, size_t n,
                                            const void *owner, tt_append_result *results,
                                            tt_append_done done, void *ctx);

/* ---------------------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------------------- */

/* ---------------------------------------------------------------------------------------
 * Completeness per producer (SPEC 15)
 * ------------------------------------------------------------------------------------- */

/* What the ledger knows of one producer, read and written inside the write transaction so
 * that several processes (or servers on one PostgreSQL) share it. */
typedef struct tt_producer {
    char name[4 * TT_MAX_PRODUCER + 1];
    int64_t last_seq;     /* the highest producer_seq recorded since its last restart; 0: none */
    int64_t last_event;   /* ledger seq of its latest event; 0: heartbeats only */
    int64_t last_seen_us; /* its latest event or heartbeat */
    int64_t timeout_s;    /* its heartbeat_timeout; 0: the configured default */
    int silent;           /* a SILENT event was recorded and nothing was heard since */
    int64_t gaps, missing, repeats, restarts, silences; /* counts of what was recorded */
} tt_producer;

/* The default heartbeat_timeout in seconds (SPEC 15). */
#define TT_HEARTBEAT_TIMEOUT_DEFAULT 300

/*
 * Every known producer, in name order, into *out (freed with tt_free()); *n its count.
 * Thread-safe.
 */
TT_EXPORT int tt_ledger_producers(tt_ledger *l, tt_producer **out, size_t *n);

/*
 * POST /api/heartbeat: mark producer alive now (a new producer is created) and, when
 * timeout_s > 0, set its heartbeat_timeout. Clears a recorded silence, so the next one is
 * reported again. Writes no event. *out (may be NULL) gets the producer's state after it. TT_EINVAL
 * for a bad name (SPEC 3.1 text rules, at most TT_MAX_PRODUCER characters) or timeout. Thread-safe.
 */
TT_EXPORT int tt_ledger_heartbeat(tt_ledger *l, const char *producer, int64_t timeout_s,
                                  tt_producer *out);

/*
 * The body of POST /api/heartbeat: {"producer": NAME, "heartbeat_timeout": SECONDS?}.
 * *producer points into *owner (tt_free); *timeout_s is 0 when not given. TT_EINVAL /
 * TT_EPARSE with a message. Thread-safe.
 */
TT_EXPORT int tt_heartbeat_parse_json(const char *json, size_t len, const char **producer,
                                      int64_t *timeout_s, void **owner, char *err, size_t errlen);

/* One producer as POST /api/heartbeat answers it, and {"producers":[...]} as GET
 * /api/producers does; tt_free(), NULL when out of memory. */
TT_EXPORT char *tt_producer_to_json(const tt_producer *p);
TT_EXPORT char *tt_producers_to_json(const tt_producer *ps, size_t n);

/*
 * Record a SILENT event (entity producer, entity_id the name) for each producer not heard
 * from for longer than its heartbeat_timeout (default_timeout_s when it has none), once per
 * silence: the producer's state is read and marked inside the event's transaction, so two
 * servers sweeping together record it once. *n_raised (may be NULL) gets how many were
 * recorded. Thread-safe; the server calls it every few seconds.
 */
TT_EXPORT int tt_ledger_sweep_silent(tt_ledger *l, int64_t now_us, int64_t default_timeout_s,
                                     size_t *n_raised);

typedef enum tt_order { TT_ORDER_ASC = 0, TT_ORDER_DESC = 1 } tt_order;

/* How events are shown (SPEC 15 corrections, docs/CONCEPTS.md): as stored, or corrected: an
 * event whose latest CORRECTION or VOID (metadata.corrects = its seq) is a VOID is left
 * out, one whose latest is a CORRECTION shows that correction's old_status, new_status and
 * reason (those it carries) and its metadata members (but corrects) over its own, with
 * corrected_by set; CORRECTION and VOID events themselves are left out. Filters match the
 * stored fields. The stored events are unchanged and provable either way. */
typedef enum tt_view { TT_VIEW_STORED = 0, TT_VIEW_CORRECTED = 1 } tt_view;

/* Filters of GET /api/events (SPEC 9, 10). NULL / 0 / TT_TIME_NONE means "no filter". */
typedef struct tt_query {
    const char *entity;
    const char *entity_id;
    const char *event_types[TT_MAX_QUERY_TYPES]; /* any of these */
    size_t n_event_types;
    const char *actor;
    int64_t since_us;   /* ts >= since */
    int64_t until_us;   /* ts < until */
    const char *text;   /* full-text search on reason (words, all must match) */
    int64_t after_seq;  /* seq > after_seq (0: none) */
    int64_t before_seq; /* seq < before_seq (0: none) */
    size_t limit;       /* 1..TT_MAX_QUERY_LIMIT; 0 means 100 */
    tt_order order;
    tt_view view; /* TT_VIEW_STORED unless asked (SPEC 15) */
    /* SPEC 8: also events whose bodies retention moved to archive segments (read from the
     * segments: slower, but complete); 0: only the hot store's events. */
    int include_archive;
} tt_query;

/* Initialise a query with no filters, limit 100, ascending. */
TT_EXPORT void tt_query_init(tt_query *q);

/*
 * Whether event e passes q's filters as tt_ledger_query() judges them: seq range, entity,
 * entity_id, event types, actor and time, compared byte for byte. 1 when it does, 0 when it
 * does not, -1 when it passes those but q asks what only the store can answer: a text filter
 * (SPEC 10's word and prefix rules live in the store's index) or the corrected view (both
 * only narrow what the stored fields match, so 0 stays a sure no). order, limit and
 * include_archive do not matter. Lets a reader that already holds an event (the server's
 * event streams) filter it without a query. Thread-safe.
 */
TT_EXPORT int tt_query_matches(const tt_query *q, const tt_event *e);

/* One query-string parameter as the HTTP layer decoded it (percent escapes and '+' undone).
 * value is NULL for a bare "key" without '=', which counts as absent. */
typedef struct tt_query_param {
    const char *key;
    const char *value;
} tt_query_param;

/*
 * Apply the query-string parameters of GET /api/events and /api/stream (SPEC 9, 10) to q,
 * which the caller initialised (tt_query_init) or filled before:
 *
 *   entity, entity_id, actor, q   the filter strings, taken as given ("" too)
 *   event_type   a comma-separated list that replaces q's; empty items are skipped; at
 *                most TT_MAX_QUERY_TYPES
 *   since, until tt_time_parse_expr() relative to now_us
 *   after_seq    a decimal integer >= 0 (as strtoll reads it: leading blanks, '+' allowed)
 *   order        asc or desc
 *   limit        1..TT_MAX_QUERY_LIMIT
 *   cursor       "c<seq>", seq >= 1, as next_cursor gives it: with order desc it sets
 *                before_seq, otherwise it raises after_seq to seq
 *   view         stored (the default) or corrected (SPEC 15, tt_view)
 *
 * The parameters are applied in that order, whatever their order in params (n pairs), and
 * the first bad one in that order is reported. Fields whose parameter is absent (or has a
 * NULL value) keep their value. A key not listed above or given twice is refused. Values
 * are taken as bytes: checking them as UTF-8 is the caller's job (the server refuses
 * invalid UTF-8 in any parameter before calling).
 *
 * On success the strings this call sets in q are copies in one block returned in *owner
 * (NULL when the call set none), which the caller frees with tt_free() once q is no longer
 * used; strings of q that the call did not set are left as they were. On failure q and
 * *owner are untouched and err gets the message HTTP clients see, e.g. "limit: must be 1 to
 * 10000": TT_EINVAL for a bad parameter (HTTP 400), TT_ENOMEM, or TT_EMISUSE for a NULL q,
 * owner, params (with n > 0) or key. Thread-safe.
 */
TT_EXPORT int tt_query_parse_params(tt_query *q, const tt_query_param *params, size_t n,
                                    int64_t now_us, void **owner, char *err, size_t errlen);

/*
 * The names tt_query_parse_params() knows, one per index from 0 until NULL: the filters,
 * then (when paging is non-zero) order, limit, cursor and view. GET /api/stream takes the filters
 * only; GET /api/events takes all. Thread-safe.
 */
TT_EXPORT const char *tt_query_param_name(size_t i, int paging);

/* The cursor of the page after the one whose last event is last_seq, as next_cursor gives
 * it (SPEC 9) and the cursor parameter reads it back: "c<seq>", NUL-terminated. */
#define TT_CURSOR_SIZE 24
TT_EXPORT void tt_query_cursor(int64_t last_seq, char out[TT_CURSOR_SIZE]);

typedef struct tt_iter tt_iter;

/*
 * Run a query. Filters apply before the limit. The iterator must be freed with
 * tt_iter_free() before l is closed.
 */
TT_EXPORT int tt_ledger_query(tt_ledger *l, const tt_query *q, tt_iter **out);

/*
 * Fetch the next event. Returns TT_OK with *ev pointing at an event valid until the next
 * call on it, TT_ENOTFOUND at the end, or an error.
 */
TT_EXPORT int tt_iter_next(tt_iter *it, const tt_event **ev);

/* Free an iterator. Accepts NULL. */
TT_EXPORT void tt_iter_free(tt_iter *it);

/* Fetch one event by seq into *out; free it with tt_event_free(). TT_ENOTFOUND when seq is
 * beyond the tree or its body was archived. */
TT_EXPORT int tt_ledger_get(tt_ledger *l, int64_t seq, tt_event **out);

/* Free an event returned by tt_ledger_get(). Accepts NULL. */
TT_EXPORT void tt_event_free(tt_event *ev);

/* ---------------------------------------------------------------------------------------
 * Tree, checkpoints, proofs
 * ------------------------------------------------------------------------------------- */

typedef struct tt_checkpoint {
    int64_t tree_size;
    uint8_t root_hash[TT_HASH_SIZE];
    int64_t ts_us;
    char *note; /* the signed note text, owned by the struct */
} tt_checkpoint;

/* Release the note of a checkpoint filled by the library. Accepts NULL. */
TT_EXPORT void tt_checkpoint_clear(tt_checkpoint *cp);

/* The current tree size and root hash, read from the store. */
TT_EXPORT int tt_ledger_head(tt_ledger *l, int64_t *tree_size, uint8_t root[TT_HASH_SIZE]);

/* The latest stored checkpoint; TT_ENOTFOUND when none was signed yet. */
TT_EXPORT int tt_ledger_checkpoint_latest(tt_ledger *l, tt_checkpoint *out);

/*
 * Sign a checkpoint of the current tree now and store it. When the latest checkpoint
 * already covers the current size it is returned instead (no duplicate). Requires the
 * signing key.
 */
TT_EXPORT int tt_ledger_checkpoint_sign(tt_ledger *l, tt_checkpoint *out);

/* The verifier key "<name>+<hex key id>+<base64(0x01 || public key)>" (C2SP signed-note),
 * as a string the caller frees with tt_free(). */
TT_EXPORT int tt_ledger_verifier_key(tt_ledger *l, char **out);

typedef struct tt_proof {
    int64_t leaf_index; /* inclusion proofs only */
    int64_t tree_size;  /* second size for consistency proofs */
    int64_t first_size; /* consistency proofs only */
    uint8_t leaf_hash[TT_HASH_SIZE];
    uint8_t root_hash[TT_HASH_SIZE];
    size_t n_hashes;
    uint8_t hashes[64][TT_HASH_SIZE];
} tt_proof;

/* Inclusion proof of event seq in the tree of size tree_size (0: the current size),
 * RFC 9162 2.1.3.1. TT_EINVAL unless 1 <= seq <= tree_size <= current size. */
TT_EXPORT int tt_ledger_prove_inclusion(tt_ledger *l, int64_t seq, int64_t tree_size,
                                        tt_proof *out);

/* Consistency proof between sizes first and second (RFC 9162 2.1.4.1), with both roots.
 * TT_EINVAL unless 1 <= first <= second <= current size. */
TT_EXPORT int tt_ledger_prove_consistency(tt_ledger *l, int64_t first, int64_t second,
                                          tt_proof *out);

/*
 * Range proof of the leaves [first, end) (0-based leaf indexes) in the tree of tree_size
 * leaves (docs/FORMAT.md section 8): walking MTH(D[0:tree_size]) as RFC 9162 2.1.1 splits
 * it, the hash of every subtree wholly outside the range, left to right. With the range's
 * leaf hashes a verifier recomputes the root. hashes holds TT_RANGE_PROOF_MAX entries; *n
 * gets how many were written. TT_EINVAL unless 0 <= first <= end <= tree_size <= current
 * size. Thread-safe.
 */
#define TT_RANGE_PROOF_MAX 128
TT_EXPORT int tt_ledger_prove_range(tt_ledger *l, int64_t first, int64_t end, int64_t tree_size,
                                    uint8_t (*hashes)[TT_HASH_SIZE], size_t *n);

/* ---- Verification without a ledger (clients, offline verifier) ---- */

/* Verify an inclusion proof (RFC 9162 2.1.3.2). TT_OK or TT_ETAMPERED (TT_EINVAL for
 * impossible indexes). Thread-safe. */
TT_EXPORT int tt_proof_verify_inclusion(int64_t leaf_index, int64_t tree_size,
                                        const uint8_t leaf_hash[TT_HASH_SIZE],
                                        const uint8_t (*hashes)[TT_HASH_SIZE], size_t n_hashes,
                                        const uint8_t root[TT_HASH_SIZE]);

/* Verify a consistency proof (RFC 9162 2.1.4.2). TT_OK or TT_ETAMPERED / TT_EINVAL. */
TT_EXPORT int tt_proof_verify_consistency(int64_t first, int64_t second,
                                          const uint8_t first_root[TT_HASH_SIZE],
                                          const uint8_t second_root[TT_HASH_SIZE],
                                          const uint8_t (*hashes)[TT_HASH_SIZE], size_t n_hashes);

/* The RFC 6962 root of a list of leaf hashes (empty list: SHA-256 of nothing). */
TT_EXPORT int tt_merkle_root(const uint8_t (*leaf_hashes)[TT_HASH_SIZE], size_t n,
                             uint8_t root[TT_HASH_SIZE]);

/* Leaf hash of raw leaf bytes: SHA-256(0x00 || data). */
TT_EXPORT void tt_leaf_hash(const uint8_t *data, size_t len, uint8_t out[TT_HASH_SIZE]);

/*
 * Parse and check a signed checkpoint note against a verifier key: the signature line for
 * the key must be present and valid. On success fills origin (caller frees with tt_free(),
 * may be NULL to skip), tree size and root. TT_EPARSE for a malformed note or key,
 * TT_EAUTH for a missing or bad signature.
 */
TT_EXPORT int tt_checkpoint_verify_note(const char *note, size_t len, const char *verifier_key,
                                        char **origin, int64_t *tree_size,
                                        uint8_t root[TT_HASH_SIZE]);

/* ---------------------------------------------------------------------------------------
 * Verification of a whole ledger
 * ------------------------------------------------------------------------------------- */

/* Progress callback: done of total units. Return non-zero to cancel (TT_EMISUSE). */
typedef int (*tt_progress_fn)(void *ctx, int64_t done, int64_t total);

typedef struct tt_verify_report {
    int64_t tree_size;      /* size verified */
    int64_t events_checked; /* leaf hashes recomputed */
    int64_t checkpoints_checked;
    int64_t first_bad_seq;       /* 0 when none */
    int64_t bad_checkpoint_size; /* tree size of the first bad checkpoint, 0 when none */
    char message[512];           /* what failed, for a human */
    /* SPEC 8: archive segments read and checked, and of events_checked those whose leaf
     * came from a segment (their bodies left the hot store). */
    int64_t segments_checked;
    int64_t archived_checked;
} tt_verify_report;

/*
 * Recompute every leaf hash from the stored fields, every stored tree node, the head, and
 * every stored checkpoint's root and signature. Returns TT_OK when everything matches,
 * TT_ETAMPERED with the report naming the first bad seq or checkpoint otherwise, or
 * another error when the verification itself could not run. progress may be NULL.
 */
TT_EXPORT int tt_ledger_verify(tt_ledger *l, tt_progress_fn progress, void *ctx,
                               tt_verify_report *report);

/*
 * Verify only what was appended after a signed checkpoint the caller kept: the note's
 * signature (against this ledger's key), that its tree is a prefix of the current tree,
 * and the leaves appended since, recomputed from the stored fields.
 */
TT_EXPORT int tt_ledger_verify_since(tt_ledger *l, const char *note, size_t len,
                                     tt_progress_fn progress, void *ctx, tt_verify_report *report);

/*
 * Check checkpoint signatures in tt_ledger_verify and tt_ledger_verify_since against vkey, a
 * verifier key (NAME+KEYID+BASE64 as tt_ledger_verifier_key gives it; trailing newline and
 * spaces ignored) that the caller trusts, instead of the one derived from signing.key.
 * Without signing.key and without this call, verification fails with TT_ECRYPTO: the copy of
 * the key stored in the database is never trusted to vouch for that database (SPEC 4).
 * TT_EINVAL for a malformed key. Call before verifying, not concurrently with it.
 */
TT_EXPORT int tt_ledger_trust_key(tt_ledger *l, const char *vkey, size_t len);

/* ---------------------------------------------------------------------------------------
 * Migration between stores
 * ------------------------------------------------------------------------------------- */

typedef struct tt_migrate_report {
    int64_t events;              /* events copied, each leaf hash recomputed and compared */
    int64_t checkpoints;         /* checkpoints copied, each root compared with the tree */
    int64_t rows;                /* rows of the other tables (tokens, strategies, ...) */
    int64_t bad_seq;             /* the first event that failed a check, 0 when none */
    int64_t bad_checkpoint_size; /* tree size of a checkpoint that failed, 0 when none */
    uint8_t root[TT_HASH_SIZE];  /* the tree's root, equal in both stores on success */
    char message[512];           /* what failed, for a human */
} tt_migrate_report;

/*
 * Copy a whole ledger from the store at from_uri (sqlite:PATH, a file path, postgres://...)
 * into the store at to_uri, which must be empty (its schema is created when missing):
 * every event with its seq, ts and leaf hash, the tree's tiles, the checkpoints, the
 * origin and verifier key, and every domain table (tokens as hashes, strategies and
 * versions, feedback, job runs, the sync state, the notification outbox), ids kept. No
 * signing key is needed. Each leaf hash is recomputed from the event's fields, each
 * checkpoint's root and the final root compared with the tree rebuilt from the leaves,
 * and each checkpoint's signed note verified under the source's recorded verifier key
 * and required to name its row's tree.
 * The target is written in one transaction: on any failure it is left as it was.
 * progress (may be NULL) sees events copied of the source's total. Returns TT_OK,
 * TT_ECONFLICT when the target is not empty, TT_ETAMPERED when the source fails a check
 * (report->bad_seq or bad_checkpoint_size names it), TT_EINVAL for an unsupported URI or
 * a table this version cannot copy, or a store error; report->message says what failed.
 */
TT_EXPORT int tt_store_migrate(const char *from_uri, const char *to_uri, tt_progress_fn progress,
                               void *ctx, tt_migrate_report *report);

/* ---------------------------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------------------------- */

typedef struct tt_count {
    char *name;
    int64_t count;
} tt_count;

typedef struct tt_stats {
    int64_t total;
    int64_t today; /* events with ts in the current UTC day */
    int64_t tree_size;
    int64_t last_ts_us;       /* TT_TIME_NONE when empty */
    int64_t checkpoint_size;  /* 0 when none */
    int64_t checkpoint_ts_us; /* TT_TIME_NONE when none */
    tt_count *by_entity;
    size_t n_by_entity;
    tt_count *by_event_type;
    size_t n_by_event_type;
} tt_stats;

/* Fill *out; release with tt_stats_clear(). */
TT_EXPORT int tt_ledger_stats(tt_ledger *l, tt_stats *out);
TT_EXPORT void tt_stats_clear(tt_stats *s);

/* ---------------------------------------------------------------------------------------
 * JSON shapes shared by the CLI (-o json) and the HTTP API (SPEC 9, 10). Each returns a
 * compact JSON text the caller frees with tt_free(), or NULL when out of memory.
 * ------------------------------------------------------------------------------------- */

/* {"seq","ts","leaf_hash"} as POST /api/events answers for one event. */
TT_EXPORT char *tt_append_result_to_json(const tt_append_result *r);
/* {"first_seq","count","seqs"} as POST /api/events answers for a batch (SPEC 9): count new
 * events from first_seq (null when none is new), seqs every input's seq in input order (the
 * original seq for a replayed idempotency key). */
TT_EXPORT char *tt_batch_result_to_json(const tt_append_result *r, size_t n);
/* {"leaf_index","tree_size","leaf_hash","hashes":[...],"root_hash"} */
TT_EXPORT char *tt_inclusion_proof_to_json(const tt_proof *p);
/* {"first","second","hashes":[...],"first_root","second_root"} */
TT_EXPORT char *tt_consistency_proof_to_json(const tt_proof *p);
/* {"tree_size","root_hash","ts","note"} */
TT_EXPORT char *tt_checkpoint_to_json(const tt_checkpoint *cp);
/* {"total","today","tree_size","last_ts","checkpoint":{"tree_size","ts","age_seconds"},
 *  "by_entity":{...},"by_event_type":{...}} */
TT_EXPORT char *tt_stats_to_json(const tt_stats *s, int64_t now_us);
/* {"ok","tree_size","events_checked","checkpoints_checked","first_bad_seq",
 *  "bad_checkpoint_size","message"} */
TT_EXPORT char *tt_verify_report_to_json(const tt_verify_report *r, int ok);

/*
 * Normalise metadata JSON text as the ledger stores it: a JSON object, no duplicate keys,
 * valid UTF-8, compact, at most TT_MAX_METADATA bytes. *out freed with tt_free(). On
 * failure a message naming the field is written to err.
 */
TT_EXPORT int tt_metadata_normalize(const char *in, size_t len, char **out, char *err,
                                    size_t errlen);

/* The metadata keys redacted unless configured otherwise (SPEC 15, redact_keys). */
#define TT_REDACT_DEFAULT "api_key,apikey,secret,password,passphrase,token,private_key"

/*
 * Redaction (SPEC 15): the value of every metadata member whose key is in the set (ASCII
 * case-insensitive, at any depth, inside arrays too, whatever the value's type) becomes
 * the string "[redacted]" when metadata is normalised: by tt_metadata_normalize and by the
 * event parsers (tt_event_parse_json, tt_events_parse_body), so before the event is hashed
 * or stored. A direct caller's tt_event whose metadata still holds such a key is refused
 * (TT_EINVAL) by the append calls: pass it through tt_metadata_normalize first.
 *
 * Set the process's set from list, comma separated (spaces around names ignored; at most
 * 32 names of at most 63 bytes): NULL restores TT_REDACT_DEFAULT, "" or "none" redacts
 * nothing. TT_EINVAL with a message in err for a bad list (the set is then unchanged).
 * WARNING: not thread-safe: call at start-up, before other threads parse or append.
 */
TT_EXPORT int tt_redact_keys_set(const char *list, char *err, size_t errlen);

/* The active set as a comma-separated list ("" when none). Valid until the next
 * tt_redact_keys_set. */
TT_EXPORT const char *tt_redact_keys_get(void);

/* ---------------------------------------------------------------------------------------
 * Maintenance actions (SPEC 6.3)
 * ------------------------------------------------------------------------------------- */

/* Record a maintenance action: entity "maintenance", entity_id = source (default
 * "manual"), event_type "ACTION", actor = actor (default: the source), reason = message. */
TT_EXPORT int tt_ledger_log_action(tt_ledger *l, const char *message, const char *source,
                                   const char *actor, tt_append_result *out);

/* The answer of POST /api/actions, {"seq","ts"}; free with tt_free, NULL when out of
 * memory. */
TT_EXPORT char *tt_action_result_to_json(const tt_append_result *r);

/* ---------------------------------------------------------------------------------------
 * Request bodies (POST /api/events, NDJSON on stdin)
 * ------------------------------------------------------------------------------------- */

/*
 * Parse a request body into events: one JSON object (*is_batch = 0), a JSON array of
 * objects, or, with ndjson set, one object per line (blank lines skipped); both batch forms
 * set *is_batch = 1. At most TT_MAX_BATCH events. Every event is parsed and validated; on
 * the first failure returns TT_EINVAL / TT_EPARSE / TT_ETOOBIG with a message naming the
 * event index (or line) and field. On success release *events and their strings with
 * tt_events_free_body(*events, *n, *owner).
 */
TT_EXPORT int tt_events_parse_body(const char *body, size_t len, int ndjson, tt_event **events,
                                   size_t *n, void **owner, int *is_batch, char *err,
                                   size_t errlen);
TT_EXPORT void tt_events_free_body(tt_event *events, size_t n, void *owner);

/* ---------------------------------------------------------------------------------------
 * API tokens (SPEC 9): bearer tokens with roles, stored only as SHA-256.
 * ------------------------------------------------------------------------------------- */

typedef enum tt_role {
    TT_ROLE_NONE = 0,
    TT_ROLE_INGEST = 1,
    TT_ROLE_READ = 2,
    TT_ROLE_ADMIN = 3,
} tt_role;

/* "ingest", "read", "admin" (NULL for TT_ROLE_NONE), and back (TT_EINVAL when unknown). */
TT_EXPORT const char *tt_role_name(tt_role r);
TT_EXPORT int tt_role_parse(const char *s, tt_role *out);

typedef struct tt_token_info {
    int64_t id;
    char *name;
    tt_role role;
    int64_t created_us;
    int64_t revoked_us; /* TT_TIME_NONE while valid */
} tt_token_info;

/*
 * Create a token with a role and an optional name; the token text ("tt_" + 64 hex
 * characters) is returned in *token (free with tt_free; WARNING: shown once, never stored
 * or logged). The creation is recorded as an event (entity "token", entity_id the id,
 * event_type "CREATED", metadata role and name) in the same transaction.
 */
TT_EXPORT int tt_token_create(tt_ledger *l, tt_role role, const char *name, const char *actor,
                              char **token, int64_t *id);

/* Revoke a token by id (event "REVOKED"); TT_ENOTFOUND when no such token, TT_ECONFLICT when
 * already revoked. */
TT_EXPORT int tt_token_revoke(tt_ledger *l, int64_t id, const char *actor);

/* Look a presented token up (constant-time digest comparison): TT_OK with its role and id,
 * TT_EAUTH when unknown, malformed or revoked. */
TT_EXPORT int tt_token_check(tt_ledger *l, const char *token, tt_role *role, int64_t *id);

/* tt_token_check that also gives the principal the token authenticates as, for
 * tt_set_principal: "token:<name>", or "token:#<id>" for a token without a printable name.
 * id and principal may be NULL. */
TT_EXPORT int tt_token_authenticate(tt_ledger *l, const char *token, tt_role *role, int64_t *id,
                                    char principal[TT_MAX_PRINCIPAL + 1]);

/*
 * tt_token_authenticate for a request that only appends, answered without a store read when
 * the token was verified before through l (*cached = 1). Who a token is never changes;
 * whether it was revoked since is not known then: pass *id to tt_set_append_token before
 * tt_ledger_append_async, and if the request ends without an append, ask
 * tt_token_recheck before answering it. id and principal must not be NULL.
 */
TT_EXPORT int tt_token_authenticate_cached(tt_ledger *l, const char *token, tt_role *role,
                                           int64_t *id, char principal[TT_MAX_PRINCIPAL + 1],
                                           int *cached);

/* Whether token id is still valid: TT_OK, or TT_EAUTH when revoked or unknown. */
TT_EXPORT int tt_token_recheck(tt_ledger *l, int64_t id);

/* Every token (never the secret); free with tt_token_list_free. */
TT_EXPORT int tt_token_list(tt_ledger *l, tt_token_info **out, size_t *n);
TT_EXPORT void tt_token_list_free(tt_token_info *list, size_t n);

/*
 * JSON shapes of `tradetrail token create|list -o json`: {"id","role","token"} (WARNING:
 * holds the secret; print it once, never log it) and, per token, {"id","role","name",
 * "created","revoked"} (revoked null while valid). Free with tt_free; NULL when out of
 * memory.
 */
TT_EXPORT char *tt_token_created_to_json(int64_t id, tt_role role, const char *token);
TT_EXPORT char *tt_token_info_to_json(const tt_token_info *t);

/* ---------------------------------------------------------------------------------------
 * Strategies (SPEC 6.1)
 * ------------------------------------------------------------------------------------- */
/*
 * A strategy has an id ([A-Za-z0-9_-]{1,64}), name, symbol, timeframe, a lifecycle status,
 * a soft-delete flag and numbered versions of its YAML definition. Every change is one
 * transaction with its "strategy" event (SPEC 3.2): entity "strategy", entity_id the
 * strategy id, actor and reason as given, old_status and new_status set.
 *
 * Conventions of every write below: actor is required (1-128 characters), reason may be
 * NULL (at most TT_MAX_REASON bytes). A transition the table of SPEC 6.1 does not allow
 * returns TT_ECONFLICT with a message naming the current status ("strategy s1 is ACTIVE;
 * activate needs PENDING"); an unknown strategy TT_ENOTFOUND; bad input TT_EINVAL. On any
 * failure nothing is written: no status change, no version, no event. Every operation on a
 * soft-deleted strategy is refused with TT_ECONFLICT. res, when not NULL, receives the
 * event's seq, ts and leaf hash (written only on success). Thread-safe on a shared l.
 */
#define TT_MAX_STRATEGY_ID 64
#define TT_MAX_STRATEGY_NAME 256
#define TT_MAX_STRATEGY_SYMBOL 64
#define TT_MAX_STRATEGY_TIMEFRAME 32
#define TT_MAX_STRATEGY_YAML (1024 * 1024)

typedef enum tt_strategy_status {
    TT_STRATEGY_DRAFT = 0,
    TT_STRATEGY_PENDING = 1,
    TT_STRATEGY_ACTIVE = 2,
    TT_STRATEGY_FAILED = 3,
    TT_STRATEGY_CLOSED = 4,
    TT_STRATEGY_ARCHIVED = 5,
} tt_strategy_status;

/* "DRAFT", "PENDING", ... (NULL for an unknown value), and back (TT_EINVAL when unknown;
 * upper case only). Thread-safe. */
TT_EXPORT const char *tt_strategy_status_name(tt_strategy_status s);
TT_EXPORT int tt_strategy_status_parse(const char *s, tt_strategy_status *out);

/* One strategy as stored. Strings are owned by whoever returned it (see each function). */
typedef struct tt_strategy {
    char *id;
    char *name;
    char *symbol;
    char *timeframe;
    tt_strategy_status status;
    int deleted;
    int64_t version; /* number of the latest version (1 after create) */
    int64_t created_us;
    int64_t updated_us;
} tt_strategy;

/* One version of a strategy's YAML. content is NULL in lists (tt_strategy_versions). */
typedef struct tt_strategy_version {
    char *strategy_id;
    int64_t number;
    char *content;
    size_t content_len;
    char sha256[2 * TT_HASH_SIZE + 1]; /* lowercase hex of SHA-256(content) */
    char *change_type;                 /* "INITIAL", "MANUAL_EDIT" or "ROLLBACK" */
    char *author;
    char *reason; /* may be NULL */
    int64_t created_us;
    int64_t seq; /* the event that recorded this version */
} tt_strategy_version;

/* What create needs. id NULL: one is generated ("stg_" + 16 hex digits). */
typedef struct tt_strategy_spec {
    const char *id;
    const char *name;      /* 1..TT_MAX_STRATEGY_NAME bytes of printable UTF-8 */
    const char *symbol;    /* 1..TT_MAX_STRATEGY_SYMBOL */
    const char *timeframe; /* 1..TT_MAX_STRATEGY_TIMEFRAME */
    const char *yaml;      /* well-formed YAML, 1..TT_MAX_STRATEGY_YAML bytes */
    size_t yaml_len;
    const char *actor;
    const char *reason;
} tt_strategy_spec;

/*
 * Create a strategy in DRAFT with version 1 (INITIAL) and its CREATED event (new_status
 * DRAFT, metadata {"symbol","name","timeframe","versionNumber":1}). The YAML is parsed with
 * libyaml (the whole document stream): malformed YAML is TT_EINVAL with line and column. An
 * id already taken is TT_ECONFLICT. id_out (may be NULL) receives the id.
 */
TT_EXPORT int tt_strategy_create(tt_ledger *l, const tt_strategy_spec *spec,
                                 char id_out[TT_MAX_STRATEGY_ID + 1], tt_append_result *res);

/*
 * The transitions of SPEC 6.1, one function each (event type in brackets):
 * submit    DRAFT or CLOSED -> PENDING   (STATUS_CHANGED)
 * activate  PENDING -> ACTIVE            (ACTIVATED)
 * fail      DRAFT or PENDING -> FAILED   (FAILED)
 * close     ACTIVE -> CLOSED             (CLOSED)
 * archive   FAILED or CLOSED -> ARCHIVED (ARCHIVED)
 * delete    any status but ACTIVE; the status is kept, the strategy is marked deleted
 *           (DELETED, old_status = new_status = the status)
 */
TT_EXPORT int tt_strategy_submit(tt_ledger *l, const char *id, const char *actor,
                                 const char *reason, tt_append_result *res);
TT_EXPORT int tt_strategy_activate(tt_ledger *l, const char *id, const char *actor,
                                   const char *reason, tt_append_result *res);
TT_EXPORT int tt_strategy_fail(tt_ledger *l, const char *id, const char *actor, const char *reason,
                               tt_append_result *res);
TT_EXPORT int tt_strategy_close(tt_ledger *l, const char *id, const char *actor, const char *reason,
                                tt_append_result *res);
TT_EXPORT int tt_strategy_archive(tt_ledger *l, const char *id, const char *actor,
                                  const char *reason, tt_append_result *res);
TT_EXPORT int tt_strategy_delete(tt_ledger *l, const char *id, const char *actor,
                                 const char *reason, tt_append_result *res);

/*
 * The generic status change: from any status but ARCHIVED to any other status
 * (STATUS_CHANGED). Setting the current status again is TT_ECONFLICT.
 */
TT_EXPORT int tt_strategy_set_status(tt_ledger *l, const char *id, tt_strategy_status status,
                                     const char *actor, const char *reason, tt_append_result *res);

/*
 * Store a new version of the YAML (change type MANUAL_EDIT) from any status but ARCHIVED;
 * the status is unchanged. Event YAML_UPDATED with metadata {"versionNumber","changeType"}.
 * Malformed YAML is TT_EINVAL. version_out (may be NULL) receives the new version number.
 */
TT_EXPORT int tt_strategy_update_yaml(tt_ledger *l, const char *id, const char *yaml,
                                      size_t yaml_len, const char *actor, const char *reason,
                                      int64_t *version_out, tt_append_result *res);

/*
 * Store a new version (change type ROLLBACK) holding version target's content, from any
 * status but ARCHIVED. Event ROLLED_BACK with metadata {"targetVersionNumber",
 * "newVersionNumber"}. TT_ENOTFOUND when the strategy has no version target.
 */
TT_EXPORT int tt_strategy_rollback(tt_ledger *l, const char *id, int64_t target, const char *actor,
                                   const char *reason, int64_t *version_out, tt_append_result *res);

/* A swap: scores are included as evaluationScore when their has_ flag is set. */
typedef struct tt_strategy_swap_spec {
    const char *old_id; /* ACTIVE; becomes CLOSED */
    const char *new_id; /* PENDING; becomes ACTIVE */
    const char *actor;
    const char *reason;
    const char *swap_reason; /* metadata swapReason; NULL: the reason (or "manual") */
    int has_old_score;
    double old_score;
    int has_new_score;
    double new_score;
} tt_strategy_swap_spec;

/*
 * Swap strategies: old ACTIVE -> CLOSED (SWAPPED_OUT, metadata {"swapReason",
 * "newStrategyId","evaluationScore"?}) and new PENDING -> ACTIVE (SWAPPED_IN, metadata
 * {"swapReason","replacedStrategyId","evaluationScore"?}). Both rows and both events are
 * one transaction, or nothing. res (may be NULL) has room for 2 results: out, then in.
 * TT_EINVAL when the ids are equal or a score is not finite.
 */
TT_EXPORT int tt_strategy_swap(tt_ledger *l, const tt_strategy_swap_spec *spec,
                               tt_append_result res[2]);

/* Fetch one strategy (deleted ones too); free with tt_strategy_free(). TT_ENOTFOUND. */
TT_EXPORT int tt_strategy_get(tt_ledger *l, const char *id, tt_strategy **out);
TT_EXPORT void tt_strategy_free(tt_strategy *s);

/* Filters of tt_strategy_list. NULL / 0 means "no filter". */
typedef struct tt_strategy_filter {
    const char *status; /* a status name */
    const char *symbol;
    int include_deleted;
    size_t limit; /* 1..TT_MAX_QUERY_LIMIT; 0 means 1000 */
} tt_strategy_filter;

/* Strategies matching the filter, by id. Free with tt_strategy_list_free(). */
TT_EXPORT int tt_strategy_list(tt_ledger *l, const tt_strategy_filter *f, tt_strategy **out,
                               size_t *n);
TT_EXPORT void tt_strategy_list_free(tt_strategy *list, size_t n);

/* Every version of a strategy, oldest first, without content. TT_ENOTFOUND for an unknown
 * strategy. Free with tt_strategy_versions_free(). */
TT_EXPORT int tt_strategy_versions(tt_ledger *l, const char *id, tt_strategy_version **out,
                                   size_t *n);
TT_EXPORT void tt_strategy_versions_free(tt_strategy_version *list, size_t n);

/* One version with its content; free with tt_strategy_version_free(). TT_ENOTFOUND. */
TT_EXPORT int tt_strategy_version_get(tt_ledger *l, const char *id, int64_t number,
                                      tt_strategy_version **out);
TT_EXPORT void tt_strategy_version_free(tt_strategy_version *v);

/*
 * The unified diff (3 lines of context, "--- ID/vFROM" and "+++ ID/vTO" headers) from
 * version from to version to; "" when the contents are equal. *out freed with tt_free().
 */
TT_EXPORT int tt_strategy_diff(tt_ledger *l, const char *id, int64_t from, int64_t to, char **out);

/*
 * The seed-compatible audit log (SPEC 9): one strategy's events newest first (limit
 * 1..TT_MAX_QUERY_LIMIT, 0 means 100) as {"success":true,"strategyId","auditLog":[{"id",
 * "strategyId","eventType","oldStatus","newStatus","changedBy","changeReason","metadata",
 * "createdAt"}],"count"}, where id is the event's seq and createdAt its ts. *out freed with
 * tt_free().
 */
TT_EXPORT int tt_strategy_audit_log_json(tt_ledger *l, const char *id, size_t limit, char **out);

/* All strategy events newest first, only those of event_type (a comma list, as event_type of
 * GET /api/events) when not NULL (the filter applies before the limit), as
 * {"success":true,"auditLogs":[...],"count"} with the entries above. */
TT_EXPORT int tt_strategy_audit_logs_json(tt_ledger *l, const char *event_type, size_t limit,
                                          char **out);

/* ---- JSON mapping shared by the CLI (-o json) and the HTTP API ---- */

/* Which request body tt_strategy_request_parse expects (SPEC 9 strategy rows). */
typedef enum tt_strategy_request_kind {
    TT_STRATEGY_REQ_CREATE = 0,   /* {"id"?,"name","symbol","timeframe","yaml","actor","reason"?} */
    TT_STRATEGY_REQ_ACTION = 1,   /* {"actor","reason"?} */
    TT_STRATEGY_REQ_ROLLBACK = 2, /* {"actor","reason"?,"version"} */
    TT_STRATEGY_REQ_YAML = 3,     /* {"yaml","actor","reason"?} */
    TT_STRATEGY_REQ_SWAP = 4,     /* {"old_id","new_id","actor","reason"?,"swap_reason"?,
                                     "old_score"?,"new_score"?} */
    TT_STRATEGY_REQ_STATUS = 5,   /* {"status","actor","reason"?} */
} tt_strategy_request_kind;

/* A parsed request body: the fields its kind allows are set, the others NULL / 0. */
typedef struct tt_strategy_request {
    tt_strategy_spec create; /* create's fields; actor, reason and yaml of every kind */
    int64_t version;         /* rollback target */
    tt_strategy_status status;
    tt_strategy_swap_spec swap;
} tt_strategy_request;

/*
 * Parse a request body of a kind. Unknown fields, wrong types, missing required fields and
 * invalid UTF-8 are TT_EINVAL / TT_EPARSE with a message naming the field. The strings of
 * *out point into *owner, freed by the caller with tt_free(). Thread-safe.
 */
TT_EXPORT int tt_strategy_request_parse(const char *json, size_t len, tt_strategy_request_kind kind,
                                        tt_strategy_request *out, void **owner, char *err,
                                        size_t errlen);

/* {"id","name","symbol","timeframe","status","deleted","version","created_at",
 *  "updated_at"}. Each serialiser returns compact JSON freed with tt_free(), or NULL when
 * out of memory. */
TT_EXPORT char *tt_strategy_to_json(const tt_strategy *s);
/* {"strategies":[...],"count"} */
TT_EXPORT char *tt_strategy_list_to_json(const tt_strategy *list, size_t n);
/* {"strategy_id","version","sha256","change_type","author","reason","created_at","seq",
 *  "size"} plus "content" when the version has it. */
TT_EXPORT char *tt_strategy_version_to_json(const tt_strategy_version *v);
/* {"strategy_id","versions":[...],"count"} */
TT_EXPORT char *tt_strategy_versions_to_json(const char *id, const tt_strategy_version *list,
                                             size_t n);
/* {"strategy":{...},"event":{"seq","ts","leaf_hash"},"version"?} — what a write answers;
 * version is included when > 0 (create, update, rollback). */
TT_EXPORT char *tt_strategy_result_to_json(const tt_strategy *s, const tt_append_result *res,
                                           int64_t version);
/* {"old":{...},"new":{...},"events":[{out},{in}]} — what a swap answers. */
TT_EXPORT char *tt_strategy_swap_result_to_json(const tt_strategy *old_s, const tt_strategy *new_s,
                                                const tt_append_result res[2]);
/* {"strategy_id","from","to","diff"} */
TT_EXPORT char *tt_strategy_diff_to_json(const char *id, int64_t from, int64_t to,
                                         const char *diff);

/* ---------------------------------------------------------------------------------------
 * AI feedback, summaries, analytics (SPEC 6.2, 6.4)
 * ------------------------------------------------------------------------------------- */
/* ---- AI feedback (SPEC 6.2) ---- */

#define TT_FEEDBACK_REWARD_SCALE 0.05   /* default reward_scale */
#define TT_FEEDBACK_NEUTRAL_BAND 0.0005 /* default neutral_band */
#define TT_FEEDBACK_MAX_LIST 10000      /* largest page of tt_feedback_list */

typedef enum tt_outcome {
    TT_OUTCOME_NONE = 0, /* filters only: any outcome */
    TT_OUTCOME_POSITIVE = 1,
    TT_OUTCOME_NEGATIVE = 2,
    TT_OUTCOME_NEUTRAL = 3,
} tt_outcome;

/* "positive", "negative", "neutral" (NULL for anything else), and back (TT_EINVAL). */
TT_EXPORT const char *tt_outcome_name(tt_outcome o);
TT_EXPORT int tt_outcome_parse(const char *s, tt_outcome *out);

/* The evaluator's settings (configuration keys reward_scale and neutral_band). */
typedef struct tt_feedback_settings {
    double reward_scale; /* finite, > 0 */
    double neutral_band; /* finite, >= 0 */
} tt_feedback_settings;

/* Fill the defaults (0.05 and 0.0005). */
TT_EXPORT void tt_feedback_settings_init(tt_feedback_settings *s);

/*
 * The evaluator alone (SPEC 6.2), nothing written: alpha = ai_return - benchmark_return,
 * reward = tanh(alpha / reward_scale), outcome positive when alpha > neutral_band,
 * negative when alpha < -neutral_band, else neutral. settings may be NULL (defaults).
 * TT_EINVAL for a non-finite input or setting; outputs written only on success.
 * Thread-safe; does not touch the ledger's error message.
 */
TT_EXPORT int tt_feedback_evaluate(double ai_return, double benchmark_return,
                                   const tt_feedback_settings *settings, double *alpha,
                                   double *reward, tt_outcome *outcome);

/* What tt_feedback_record answers (POST /api/feedback). */
typedef struct tt_feedback_result {
    double alpha;
    double reward;
    tt_outcome outcome;
    int64_t id;  /* the feedback record */
    int64_t seq; /* its ai_feedback/RECORD event */
    int64_t ts_us;
} tt_feedback_result;

/*
 * Record AI feedback for a strategy: evaluates it (tt_feedback_evaluate), then writes the
 * feedback record and its event (entity "ai_feedback", entity_id = strategy_id,
 * event_type "RECORD", actor = user_id, metadata {strategyId, benchmark, aiReturn,
 * benchmarkReturn, alpha, reward, outcome}) in one transaction (SPEC 3.2). benchmark may
 * be NULL; settings may be NULL (defaults). strategy_id and user_id follow the entity_id
 * and actor rules of SPEC 3.1. On failure nothing of the record is stored and *out is
 * untouched: TT_EINVAL (non-finite number, bad field; the message names it), or a store
 * error. Thread-safe.
 */
TT_EXPORT int tt_feedback_record(tt_ledger *l, const char *strategy_id, double ai_return,
                                 double benchmark_return, const char *user_id,
                                 const char *benchmark, const tt_feedback_settings *settings,
                                 tt_feedback_result *out);

/* One stored feedback record; strings owned by the list. */
typedef struct tt_feedback {
    int64_t id;
    int64_t seq;
    int64_t ts_us;
    char *strategy_id;
    char *user_id;
    char *benchmark; /* NULL when none was given */
    double ai_return;
    double benchmark_return;
    double alpha;
    double reward;
    tt_outcome outcome;
} tt_feedback;

/* Filters of GET /api/feedback; NULL / TT_OUTCOME_NONE / TT_TIME_NONE mean none. */
typedef struct tt_feedback_filter {
    const char *strategy_id;
    tt_outcome outcome;
    int64_t since_us; /* ts >= since */
    int64_t until_us; /* ts < until */
    size_t limit;     /* 1..TT_FEEDBACK_MAX_LIST; 0 means 100 */
} tt_feedback_filter;

/* No filters, limit 100. */
TT_EXPORT void tt_feedback_filter_init(tt_feedback_filter *f);

/* Feedback records matching f, newest first (filters apply before the limit). *out freed
 * with tt_feedback_list_free(). Thread-safe. */
TT_EXPORT int tt_feedback_list(tt_ledger *l, const tt_feedback_filter *f, tt_feedback **out,
                               size_t *n);
TT_EXPORT void tt_feedback_list_free(tt_feedback *list, size_t n);

/* {"alpha","reward","outcome","seq"} as POST /api/feedback answers. */
TT_EXPORT char *tt_feedback_result_to_json(const tt_feedback_result *r);
/* {"feedback":[{"id","seq","ts","strategy_id","user_id","benchmark","ai_return",
 *  "benchmark_return","alpha","reward","outcome"}...],"count"} as GET /api/feedback. */
TT_EXPORT char *tt_feedback_list_to_json(const tt_feedback *list, size_t n);

/* The body of POST /api/feedback, parsed: strings point into *owner (free with tt_free). */
typedef struct tt_feedback_input {
    const char *strategy_id;
    double ai_return;
    double benchmark_return;
    const char *user_id;
    const char *benchmark; /* NULL when absent or null */
} tt_feedback_input;

/*
 * Parse {"strategy_id","ai_return","benchmark_return","user_id","benchmark"?}: unknown
 * fields, wrong types (a return must be a JSON number) and missing fields are rejected
 * with TT_EINVAL / TT_EPARSE and a message naming the field. Thread-safe.
 */
TT_EXPORT int tt_feedback_parse_json(const char *json, size_t len, tt_feedback_input *out,
                                     void **owner, char *err, size_t errlen);

/* The body of POST /api/actions {"message","source"?}: *message and *source (NULL when
 * absent) point into *owner (free with tt_free). Thread-safe. */
TT_EXPORT int tt_action_parse_json(const char *json, size_t len, const char **message,
                                   const char **source, void **owner, char *err, size_t errlen);

/* ---- Summaries (SPEC 6.4) ---- */

typedef enum tt_period { TT_PERIOD_DAY = 0, TT_PERIOD_WEEK = 1, TT_PERIOD_MONTH = 2 } tt_period;

/* "day", "week", "month", and back (TT_EINVAL). */
TT_EXPORT const char *tt_period_name(tt_period p);
TT_EXPORT int tt_period_parse(const char *s, tt_period *out);

/* The UTC period of a kind holding the instant at_us: [*from_us, *to_us). Weeks start on
 * Monday (ISO 8601). Thread-safe. */
TT_EXPORT int tt_period_bounds(tt_period p, int64_t at_us, int64_t *from_us, int64_t *to_us);

#define TT_SUMMARY_MAX_ACTIONS 100 /* the latest actions a summary lists */

typedef struct tt_summary_action {
    int64_t seq;
    int64_t ts_us;
    char *source;  /* the action's entity_id */
    char *message; /* its reason */
} tt_summary_action;

typedef struct tt_summary {
    tt_period period;
    int64_t from_us, to_us; /* [from, to) */
    int64_t first_seq;      /* the events of the period: [first_seq, end_seq) */
    int64_t end_seq;
    int64_t total; /* events in the period */
    tt_count *by_entity;
    size_t n_by_entity;
    tt_count *by_event_type;
    size_t n_by_event_type;
    int64_t n_actions_total;    /* maintenance ACTION events in the period */
    tt_summary_action *actions; /* the latest of them (at most TT_SUMMARY_MAX_ACTIONS), oldest
                                   first */
    size_t n_actions;
    /* strategy events in the period: CREATED, ACTIVATED, CLOSED, SWAPPED_IN, FAILED */
    int64_t created, activated, closed, swapped, failed;
    int64_t positive, negative, neutral; /* feedback records in the period */
    double mean_reward;                  /* NaN when there were none */
    int has_checkpoint;                  /* latest signed checkpoint at build time */
    tt_checkpoint checkpoint;
    /* Completeness per producer (SPEC 15): entity producer events in the period, and the
     * latest of them (at most TT_SUMMARY_MAX_ACTIONS), oldest first, with source the
     * producer and message "TYPE: reason". */
    int64_t producer_gaps, producer_repeats, producer_restarts, producer_silences;
    tt_summary_action *producer_events;
    size_t n_producer_events;
} tt_summary;

/*
 * Summarise the UTC day, ISO week or month holding at_us, from a consistent snapshot. The
 * period's events are found as a seq range (ts never decreases along seq) and counted
 * with indexed queries; nothing is loaded whole. Release with tt_summary_clear().
 * Thread-safe.
 */
TT_EXPORT int tt_summary_build(tt_ledger *l, tt_period period, int64_t at_us, tt_summary *out);
TT_EXPORT void tt_summary_clear(tt_summary *s);

/*
 * The text form in the layout of the seed's daily summary (title line with the date, total
 * actions, `[ts] message` lines between two rulers, the closing count line), then events
 * per entity, strategies, feedback, and the latest signed checkpoint note. title NULL means
 * "tradetrail". Caller frees with tt_free(); NULL when out of memory.
 */
TT_EXPORT char *tt_summary_to_text(const tt_summary *s, const char *title);
/* The JSON of GET /api/summary (SPEC 9). */
TT_EXPORT char *tt_summary_to_json(const tt_summary *s);

/* ---- Analytics (SPEC 6.4) ---- */

/*
 * Automated actors (SPEC 6.4): "system", "evaluator", "scheduler", "orchestrator", and
 * service actors, i.e. names ending in "bot", "-service", "_service", "-svc", "-daemon",
 * "_daemon", "-job", "_job", "-worker", "_worker", "-monitor", "_monitor", "-cron" or
 * starting with "svc-" or "service:". Everyone else is a person. Thread-safe.
 */
TT_EXPORT int tt_actor_is_automated(const char *actor);

typedef enum tt_cell_type {
    TT_CELL_NULL = 0,
    TT_CELL_TEXT = 1,
    TT_CELL_INT = 2,
    TT_CELL_REAL = 3,
} tt_cell_type;

typedef struct tt_cell {
    tt_cell_type type;
    char *text; /* TT_CELL_TEXT, owned by the report */
    int64_t i;
    double r;
} tt_cell;

/* A report: a titled table (rows of cells under named columns) and named totals. */
typedef struct tt_report {
    char *kind;
    char *title;
    size_t n_columns;
    char **columns;
    size_t n_rows;
    tt_cell *cells; /* n_rows * n_columns, row by row */
    size_t n_totals;
    char **total_names;
    tt_cell *totals;
} tt_report;

/* The report kinds: "event-counts", "activation-time", "lifespan", "close-reasons",
 * "actors", "swaps-heatmap", "feedback", "evaluator-accuracy"; *n gets their number. */
TT_EXPORT const char *const *tt_report_kinds(size_t *n);

/*
 * Run one analytics report (docs/DOMAIN.md defines each) with SQL over indexes in one
 * consistent snapshot; totals always cover the whole ledger, rows are capped at limit
 * (0: 100, at most 10000). TT_EINVAL for an unknown kind. Free with tt_report_free().
 * Thread-safe.
 */
TT_EXPORT int tt_report_run(tt_ledger *l, const char *kind, size_t limit, tt_report **out);
TT_EXPORT void tt_report_free(tt_report *r);
/* {"kind","title","columns":[...],"rows":[{column: value}...],"totals":{...}} as
 * GET /api/analytics/{kind}. */
TT_EXPORT char *tt_report_to_json(const tt_report *r);

/* ---- Demo history (tradetrail demo) ---- */

typedef struct tt_demo_options {
    int64_t events;          /* about this many events (at least 1) */
    uint64_t seed;           /* same seed, same history (except the ledger's ts) */
    int span_days;           /* history spread over this many days before now (0: 42) */
    tt_progress_fn progress; /* may be NULL */
    void *progress_ctx;
    const char *feedback_sink; /* the training sync's sink (tt_feedback_sync); NULL: no sync */
} tt_demo_options;

typedef struct tt_demo_report {
    int64_t events; /* events written */
    int64_t strategies, swaps, feedback, actions;
    int64_t rollbacks, syncs;
} tt_demo_report;

/*
 * Write a realistic generated history through the library's own calls: strategies going
 * through their lifecycle (with 32 events or more, every one of the 11 strategy event
 * types: edits, rollbacks, swaps, deletes), daily AI feedback (tt_feedback_record), one
 * training sync halfway to opts->feedback_sink (tt_feedback_sync_job; skipped when NULL)
 * and maintenance actions (tt_ledger_log_action). The ledger assigns ts, so the spread over
 * weeks is carried by occurred_at. On a ledger holding an earlier demo the new strategies
 * get fresh ids, so every run adds to the history. report may be NULL. Stops at the first
 * failure (events already written stay: each step is its own transaction).
 */
TT_EXPORT int tt_demo_generate(tt_ledger *l, const tt_demo_options *opts, tt_demo_report *report);

/* The report as `tradetrail demo -o json` prints it; free with tt_free, NULL when out of
 * memory. */
TT_EXPORT char *tt_demo_report_to_json(const tt_demo_report *r);

/* ---------------------------------------------------------------------------------------
 * Notifications (SPEC 7): outbox and delivery
 * ------------------------------------------------------------------------------------- */

/* Channels, as bits of tt_notify_channels() and indexes of tt_notify_counts. */
#define TT_NOTIFY_SLACK 0
#define TT_NOTIFY_DISCORD 1
#define TT_NOTIFY_GENERIC 2
#define TT_NOTIFY_EMAIL 3
#define TT_NOTIFY_TELEGRAM 4        /* the Telegram chat (telegram_chat_id) */
#define TT_NOTIFY_TELEGRAM_ERRORS 5 /* the Telegram chat for errors (telegram_error_chat_id) */
#define TT_NOTIFY_NCHANNELS 6
#define TT_NOTIFY_DISCORD_MAX 2000  /* characters of one Discord message */
#define TT_NOTIFY_TELEGRAM_MAX 4096 /* characters of one Telegram message */

/*
 * Where notifications go, taken from the configuration keys of the same names (SPEC 10).
 * Every string is borrowed by the call it is passed to (copied when kept). NULL or ""
 * means unset. The webhook URL and the SMTP URL are secrets: the library never prints
 * them and never stores them in the outbox.
 */
typedef struct tt_notify_config {
    const char *alert_webhook;        /* Slack, Discord or generic JSON webhook URL */
    const char *alert_webhook_format; /* "slack" (default), "discord" or "generic" */
    const char *alert_events;         /* "TYPE,entity/TYPE,...": events that raise an alert */
    const char *audit_email;          /* recipients, comma separated */
    const char *smtp_url;             /* smtp://host:port or smtps://; e-mail needs both */
    const char *smtp_from;            /* default "tradetrail@localhost" */
    const char *summary_title;        /* default "tradetrail" */
    long timeout_ms;                  /* per delivery attempt; 0: 10000 */
    /* SMTP STARTTLS (SPEC 14): "required" (no TLS, no mail), "try" (TLS when the relay
     * offers it) or "off". Unset: "required", except "try" for a relay on localhost,
     * 127.0.0.0/8 or ::1. An smtps:// URL is TLS from the first byte whatever this says. */
    const char *smtp_tls;
    /* Telegram (SPEC 15): Bot API sendMessage to telegram_chat_id with the bot's token. The
     * token is a secret: never printed, logged or stored in the outbox. */
    const char *telegram_bot_token;
    const char *telegram_chat_id;       /* numeric id or @channelname */
    const char *telegram_error_chat_id; /* where telegram_error_events go instead */
    const char *telegram_events;        /* "TYPE,entity/TYPE,...": unset: alert_events */
    const char *telegram_error_events;  /* unset: "FAILED,ERROR,SILENT,GAP" */
    const char *telegram_api;           /* Bot API base URL; unset: https://api.telegram.org */
    long telegram_per_minute;           /* messages per chat and minute; 0: 20; 1..1000 */
    long telegram_late_after_s;         /* older events are marked late; 0: 300; -1: never */
} tt_notify_config;

/* All fields unset. */
TT_EXPORT void tt_notify_config_init(tt_notify_config *cfg);

/* The configured channels as a bit set (1 << TT_NOTIFY_*): the webhook's format when
 * alert_webhook is set, e-mail when audit_email and smtp_url are both set. TT_EINVAL with a
 * message in err for an unknown format, an smtp_tls other than required, try or off, or a
 * malformed alert_events entry. */
TT_EXPORT int tt_notify_channels(const tt_notify_config *cfg, unsigned *out, char *err,
                                 size_t errlen);

/* "slack", "discord", "generic", "email", "telegram", "telegram_errors"; NULL for another
 * index. */
TT_EXPORT const char *tt_notify_channel_name(int channel);

/*
 * Set (or with cfg NULL, clear) the ledger's notification rules. From then on every new
 * event matching alert_events gets one outbox row per configured channel, written in the
 * same transaction as the event (an idempotent repeat writes none); the same settings are
 * used by tt_notify_deliver_due. cfg is copied. TT_EINVAL as tt_notify_channels. Safe
 * against concurrent appends; must not race with tt_notify_deliver_due.
 */
TT_EXPORT int tt_ledger_set_notify(tt_ledger *l, const tt_notify_config *cfg);

/*
 * Enqueue a summary (title: the subject line; text: the body) for every channel cfg
 * configures, in one transaction with the event recording it (entity "notification",
 * entity_id "summary", event_type "QUEUED", metadata {"channels":[...]}). TT_EINVAL when
 * cfg configures no channel. Delivery is left to tt_notify_deliver_due (the server's
 * worker). Thread-safe.
 */
TT_EXPORT int tt_notify_summary(tt_ledger *l, const tt_notify_config *cfg, const char *title,
                                const char *text);

/*
 * Send a summary to every channel cfg configures: its text form titled cfg->summary_title
 * (tt_summary_to_text), queued by tt_notify_summary with the text's first line as the
 * subject, so `summary --notify` and the daily_summary job send the same. Errors as
 * tt_notify_summary (TT_EINVAL when no channel is configured). Thread-safe.
 */
TT_EXPORT int tt_summary_send(tt_ledger *l, const tt_notify_config *cfg, const tt_summary *s);

typedef struct tt_notify_stats {
    int attempted;       /* outbox rows tried in this pass */
    int delivered;       /* of which delivered completely */
    int failed;          /* of which failed (rescheduled with backoff) */
    int64_t next_due_us; /* earliest next attempt still pending, TT_TIME_NONE when none */
} tt_notify_stats;

/*
 * One delivery pass: claim up to max (1..1000) due outbox rows of the channels configured
 * by tt_ledger_set_notify, send each (libcurl, with the configured timeout) outside any
 * lock or transaction, and record the outcome: delivered, or rescheduled with exponential
 * backoff (1 s doubling to 10 min, +-25 % jitter) stored in the row so it survives
 * restarts. Rows claimed but not finished by a crashed process come back after a 10 min
 * lease. out may be NULL. Call from one thread (the server's worker).
 */
TT_EXPORT int tt_notify_deliver_due(tt_ledger *l, int max, tt_notify_stats *out);

typedef struct tt_notify_counts {
    int64_t pending;                     /* undelivered outbox rows (all channels) */
    int64_t sent[TT_NOTIFY_NCHANNELS];   /* deliveries by this process, by channel */
    int64_t failed[TT_NOTIFY_NCHANNELS]; /* failed attempts by this process */
} tt_notify_counts;

/* Counts for the metrics (SPEC 9). Thread-safe. */
TT_EXPORT int tt_notify_counts_get(tt_ledger *l, tt_notify_counts *out);

/* ---------------------------------------------------------------------------------------
 * Jobs, cron expressions and the training sync (SPEC 6.2, 7)
 * ------------------------------------------------------------------------------------- */

/*
 * A parsed 5-field cron expression (minute hour day-of-month month day-of-week), in UTC.
 * Each field is a bit set; dom_star / dow_star say the field began with `*` (Vixie cron:
 * when neither did, a day matching either field matches; otherwise both must).
 */
typedef struct tt_cron {
    uint64_t minutes; /* bit i: minute i (0..59) */
    uint32_t hours;   /* bit i: hour i (0..23) */
    uint32_t days;    /* bit i: day of month i (1..31) */
    uint16_t months;  /* bit i: month i (1..12) */
    uint8_t weekdays; /* bit i: weekday i, 0 = Sunday (7 is read as Sunday too) */
    uint8_t dom_star;
    uint8_t dow_star;
} tt_cron;

/*
 * Parse expr: lists (1,15), ranges (1-5), steps (*\/15, 0-30/10, 5/20), `*`, month and
 * weekday names (jan, mon; any case) and @hourly, @daily, @midnight, @weekly, @monthly,
 * @yearly, @annually. TT_EINVAL with a message naming the field in err (when not NULL) for
 * anything else, including an expression that can never fire ("0 0 30 2 *"). *out is
 * written only on success. Thread-safe.
 */
TT_EXPORT int tt_cron_parse(const char *expr, tt_cron *out, char *err, size_t errlen);

/* The first matching minute strictly after after_us, or the latest one at or before at_us
 * (UTC, microseconds since the epoch). TT_ENOTFOUND when none within 28 years, or when
 * the matching minute lies outside the int64 range of microseconds. */
TT_EXPORT int tt_cron_next(const tt_cron *c, int64_t after_us, int64_t *next_us);
TT_EXPORT int tt_cron_prev(const tt_cron *c, int64_t at_us, int64_t *prev_us);

/* Job names (entity_id of the job events) and what started a run (the events' actor). */
#define TT_JOB_DAILY_SUMMARY "daily_summary"
#define TT_JOB_FEEDBACK_SYNC "feedback_sync"
#define TT_JOB_CHECKPOINT "checkpoint"
#define TT_JOB_RETENTION "retention"
#define TT_TRIGGER_SCHEDULER "scheduler"
#define TT_TRIGGER_CRON "cron"
#define TT_TRIGGER_CLI "cli"

/*
 * Record that a job run starts: event entity "job", entity_id name, event_type STARTED,
 * actor trigger, metadata {"trigger", "slot"?}, and a job_runs row, in one transaction.
 * slot_us is the scheduled minute for scheduler runs (TT_TIME_NONE otherwise). *run_id
 * identifies the run for tt_job_end. Thread-safe.
 */
TT_EXPORT int tt_job_begin(tt_ledger *l, const char *name, const char *trigger, int64_t slot_us,
                           int64_t *run_id);

/*
 * Record the end of a run: COMPLETED (error NULL; result_json, a JSON object or NULL,
 * becomes the metadata) or FAILED (reason = error), and mark the run, in one transaction.
 * TT_ENOTFOUND when run_id is not a started run. Thread-safe.
 */
TT_EXPORT int tt_job_end(tt_ledger *l, int64_t run_id, const char *name, const char *trigger,
                         const char *error, const char *result_json);

/* The scheduled minute of the latest finished (COMPLETED or FAILED) scheduler run of name;
 * TT_ENOTFOUND when the scheduler never finished one. The catch-up rule (docs/JOBS.md). */
TT_EXPORT int tt_job_last_slot(tt_ledger *l, const char *name, int64_t *slot_us);

/*
 * Check a cron request's X-Cron-Auth header (may be NULL) against the configured secret in
 * constant time. TT_OK when they are equal; TT_EMISUSE when no secret is configured (NULL
 * or "": the endpoints answer 403); TT_EAUTH when the header is missing or wrong (401).
 */
TT_EXPORT int tt_cron_authorize(const char *configured_secret, const char *header);

/* What job runs take from the configuration (util/config.h reads it). */
typedef struct tt_job_settings {
    const tt_notify_config *notify; /* where daily_summary sends (NULL, or no channel: not) */
    const char *feedback_sink;      /* feedback_sync's sink (NULL: the run is refused) */
    /* retention (SPEC 8): where segments go, retention_days (-1: not set, the run is
     * refused), min_retention_days, and progress after each segment (may be NULL). */
    const char *archive_dir;
    int64_t older_than_days;
    int64_t min_retention_days;
    int64_t segment_events; /* 0: TT_RETENTION_SEGMENT_EVENTS */
    tt_progress_fn progress;
    void *progress_ctx;
} tt_job_settings;

/*
 * Run one job as a recorded run (tt_job_begin ... tt_job_end; tt_feedback_sync_job for
 * feedback_sync), the one runner of the scheduler, the cron endpoints and the CLI. slot_us
 * is the scheduled minute of a scheduler run, TT_TIME_NONE otherwise (the run is then for
 * now). The jobs:
 *
 *   daily_summary  the summary of the UTC day before the run's minute (SPEC 6.4: the 00:00
 *                  run covers the day that ended), sent with tt_summary_send when
 *                  settings->notify configures a channel; result {"date","total","notified"}
 *   checkpoint     signs a checkpoint; result {"tree_size"}
 *   retention      tt_retention_run with settings->archive_dir, older_than_days and
 *                  min_retention_days, at the run's minute; result as
 *                  tt_retention_result_to_json
 *   feedback_sync  the training sync to settings->feedback_sink; result as
 *                  tt_sync_result_to_json
 *
 * Runs of one process never overlap. On success *result (when result is not NULL) gets the
 * run's result as JSON, freed with tt_free(); a failed run is recorded FAILED with the
 * message tt_ledger_errmsg() gives. TT_EINVAL for an unknown name. Thread-safe.
 */
TT_EXPORT int tt_job_run(tt_ledger *l, const char *name, const char *trigger, int64_t slot_us,
                         const tt_job_settings *settings, char **result);

/*
 * The catch-up rule (docs/JOBS.md) for a scheduled job at start: TT_OK with *slot_us, the
 * latest minute at or before now_us matching cron, when the slot of the job's last
 * finished scheduler run is older: run it once, now, for that minute. TT_ENOTFOUND when
 * there is nothing to catch up (the last run is as recent, the scheduler never finished a
 * run of the job, or cron never fired). Older missed minutes are never replayed one by one.
 */
TT_EXPORT int tt_job_catch_up(tt_ledger *l, const char *name, const tt_cron *cron, int64_t now_us,
                              int64_t *slot_us);

#define TT_SYNC_MAX_BATCH 1000 /* feedback records per training-sync batch */

typedef struct tt_sync_result {
    int64_t count;    /* records delivered by this call, all batches */
    int64_t batches;  /* batches committed by this call */
    int64_t from_seq; /* first and last feedback seq delivered (0 when none) */
    int64_t to_seq;
    int64_t watermark; /* every record with seq <= watermark has been delivered */
    int64_t event_seq; /* seq of the last SYNC (or SYNC_FAILED) event; 0 when none */
    char batch_id[64]; /* the last batch's id; "" when none */
    char error[256];   /* the delivery error after a failure */
} tt_sync_result;

/*
 * The training sync (SPEC 6.2): send every feedback record not yet synced, in seq order,
 * in batches of at most TT_SYNC_MAX_BATCH, to sink: "file:PATH" (JSON lines, one per
 * record, each carrying its batch id; fsynced; before appending, the file's last line is
 * checked so that a batch interrupted after the write and before the commit is never
 * written twice) or an http:// or https:// URL (one POST of {"batch_id",...,"records"}
 * per batch; any 2xx is success; a batch is re-sent under the same id until committed).
 * Each batch is prepared (ai_feedback_sync/BATCH event), delivered, then committed with an
 * ai_feedback_sync/SYNC event (metadata from_seq, to_seq, count, sink, batch_id) that
 * advances the watermark in the same transaction. A delivery failure records SYNC_FAILED
 * (reason: the error), leaves the watermark, and returns TT_ENET or TT_EIO with out->error
 * set. out is filled in both cases. TT_EINVAL for a malformed sink. Thread-safe; runs in
 * other processes are serialised by the store and a lock on a file sink.
 */
TT_EXPORT int tt_feedback_sync(tt_ledger *l, const char *sink, tt_sync_result *out);

/* tt_feedback_sync as a recorded run of the job feedback_sync (tt_job_begin/tt_job_end
 * around it, the result as the COMPLETED metadata). */
TT_EXPORT int tt_feedback_sync_job(tt_ledger *l, const char *sink, const char *trigger,
                                   int64_t slot_us, tt_sync_result *out);

/* {"count","batches","from_seq","to_seq","watermark","event_seq","batch_id","error"?};
 * tt_free. */
TT_EXPORT char *tt_sync_result_to_json(const tt_sync_result *r);

/* ---------------------------------------------------------------------------------------
 * Verifiable export (SPEC 8; docs/FORMAT.md section 8)
 * ------------------------------------------------------------------------------------- */

typedef enum tt_export_format { TT_EXPORT_JSONL = 0, TT_EXPORT_CSV = 1 } tt_export_format;

/* "jsonl" / "csv"; the parse refuses anything else (TT_EINVAL). Thread-safe. */
TT_EXPORT const char *tt_export_format_name(tt_export_format f);
TT_EXPORT int tt_export_format_parse(const char *s, tt_export_format *out);

typedef struct tt_export_options {
    int64_t since_us; /* ts >= since; TT_TIME_NONE: from the first event */
    int64_t until_us; /* ts < until; TT_TIME_NONE: to the snapshot's end */
    tt_export_format format;
    /* The snapshot: the tree size of the checkpoint the export is proved against; only
     * seqs up to it are exported. 0: the latest checkpoint, signed now if it does not cover
     * the current tree (the signing key is needed then); N: the first stored checkpoint of
     * tree size >= N (tt_export_range tells which). */
    int64_t tree_size;
    /* tt_export_write_dir: events per data file (a new file after that many); 0: 1000000. */
    int64_t max_file_events;
} tt_export_options;

/* since, until: none; JSON lines; the current tree; 1000000 events per file. */
TT_EXPORT void tt_export_options_init(tt_export_options *o);

typedef struct tt_export tt_export;

/*
 * Start an export: fixes the signed checkpoint, the snapshot size and the seq range of
 * the events with since <= ts < until (ts never decreases along seq, so they are one
 * contiguous range). The data is then pulled with tt_export_read; the manifest of the
 * exported bytes comes from tt_export_manifest once the data has been read to its end.
 * TT_EINVAL for since > until or a tree_size beyond the latest checkpoint. Free with
 * tt_export_free() before l is closed. A handle is used by one thread at a time.
 */
TT_EXPORT int tt_export_open(tt_ledger *l, const tt_export_options *o, tt_export **out);

/* The snapshot size, the first and last exported seq and the count, fixed by _open
 * (count 0: last = first - 1). */
TT_EXPORT void tt_export_range(const tt_export *x, int64_t *tree_size, int64_t *first_seq,
                               int64_t *last_seq, int64_t *count);

/* The next bytes of the data file (CSV: header row first) into buf[0..cap): *n is 0 at the
 * end. Events are read in pages; no read transaction stays open between calls. */
TT_EXPORT int tt_export_read(tt_export *x, char *buf, size_t cap, size_t *n);

/* The manifest (JSON text, caller frees with tt_free) of the data read so far as one file
 * called name. TT_EMISUSE before tt_export_read reached the end. */
TT_EXPORT int tt_export_manifest(tt_export *x, const char *name, char **out);

/* Release an export. Accepts NULL. */
TT_EXPORT void tt_export_free(tt_export *x);

typedef struct tt_export_summary {
    int64_t tree_size, first_seq, last_seq, count;
    int64_t files; /* data files written */
} tt_export_summary;

/*
 * Export into directory dir (created 0700 when missing; existing export files in it are
 * refused with TT_ECONFLICT): events-000001.jsonl (or .csv), ... and manifest.json, each
 * fsynced, the manifest last (written to a temporary name and renamed), so a directory
 * with a manifest holds a whole export. progress (may be NULL) sees events written of the
 * count. *out (may be NULL) is filled on success. Thread-safe as tt_ledger_query.
 */
TT_EXPORT int tt_export_write_dir(tt_ledger *l, const tt_export_options *o, const char *dir,
                                  tt_progress_fn progress, void *ctx, tt_export_summary *out);

typedef struct tt_export_report {
    int64_t tree_size; /* the signed checkpoint's */
    int64_t first_seq, last_seq, count;
    int64_t first_bad_seq; /* 0 when none or not an event */
    char item[256];        /* the first failing item: a file and line, "manifest", ... */
    char message[512];     /* what failed (or what was verified), for a human */
} tt_export_report;

/*
 * Verify an export directory offline, without a ledger (SPEC 8): the manifest, the
 * checkpoint's signature by verifier_key (C2SP form), every data file's SHA-256 and size,
 * every event's leaf hash recomputed from its fields, seqs consecutive and within the
 * window, the boundary events that show nothing in the window was left out, and the range
 * proof to the signed root. TT_OK; TT_ETAMPERED with report->item naming the first failing
 * item; TT_EAUTH for a checkpoint not signed by the key; TT_EPARSE for a malformed
 * manifest or key; TT_EIO when a file cannot be read. report is filled in every case.
 * progress may be NULL. Thread-safe.
 */
TT_EXPORT int tt_export_verify_dir(const char *dir, const char *verifier_key,
                                   tt_progress_fn progress, void *ctx, tt_export_report *report);

/* {"ok","item","message","tree_size","first_seq","last_seq","count","first_bad_seq"}. */
TT_EXPORT char *tt_export_report_to_json(const tt_export_report *r, int ok);

/*
 * Parse and check the shape of a manifest (docs/FORMAT.md section 8.3) without looking at
 * any file: TT_OK, or TT_EPARSE with a message naming the member. At most
 * TT_EXPORT_MANIFEST_MAX bytes. Used by tt_export_verify_dir and the fuzzer. Thread-safe.
 */
#define TT_EXPORT_MANIFEST_MAX (64u * 1024 * 1024)
TT_EXPORT int tt_export_manifest_check(const char *json, size_t len, char *err, size_t errlen);

/* ---------------------------------------------------------------------------------------
 * Legal holds (SPEC 8): an entity id under hold keeps its events' bodies in the hot store
 * whatever their age. Holds are events (entity "legal_hold", entity_id the held id,
 * event_type HOLD or RELEASE, new_status HELD or RELEASED), so they are signed and provable.
 * ------------------------------------------------------------------------------------- */

/* Place (add) or lift (remove) a hold on entity_id, recorded as one event with actor
 * (default "admin") and reason (required, non-empty). The current state is checked inside
 * the write transaction: TT_ECONFLICT when the id is already held (add) or not held
 * (remove), TT_EINVAL for an invalid id or missing reason. *out (may be NULL) gets the
 * event's seq. Thread-safe. */
TT_EXPORT int tt_hold_add(tt_ledger *l, const char *entity_id, const char *actor,
                          const char *reason, tt_append_result *out);
TT_EXPORT int tt_hold_remove(tt_ledger *l, const char *entity_id, const char *actor,
                             const char *reason, tt_append_result *out);

/* *held = 1 when entity_id is under hold now. Thread-safe. */
TT_EXPORT int tt_hold_active(tt_ledger *l, const char *entity_id, int *held);

typedef struct tt_hold {
    char *entity_id;
    int64_t seq;   /* the HOLD event */
    int64_t ts_us; /* when it was placed */
    char *actor;
    char *reason;
} tt_hold;

/* The holds in force, in the order they were placed; free with tt_hold_list_free. */
TT_EXPORT int tt_hold_list(tt_ledger *l, tt_hold **out, size_t *n);
TT_EXPORT void tt_hold_list_free(tt_hold *list, size_t n);
/* {"holds":[{"entity_id","seq","since","actor","reason"}...],"count"}; tt_free. */
TT_EXPORT char *tt_hold_list_to_json(const tt_hold *list, size_t n);

/* ---------------------------------------------------------------------------------------
 * Archive segments (SPEC 8; docs/FORMAT.md section 9), the storage retention moves event
 * bodies to. Writing a segment changes nothing in the ledger.
 * ------------------------------------------------------------------------------------- */

typedef struct tt_archive_segment {
    int64_t first_seq, last_seq, count;
    int64_t bytes;                /* of the compressed file */
    uint8_t sha256[TT_HASH_SIZE]; /* of the compressed file */
    char name[64];                /* seg-<first>-<last>.jsonl.zst, 12-digit seqs */
} tt_archive_segment;

/*
 * Write the events first_seq..last_seq (all with stored bodies, last_seq within the latest
 * checkpoint, which is signed now if needed) into dir (created 0700 if missing) as a segment:
 * the zstd-compressed JSON lines {"seq","leaf_hash","leaf"} (leaf: base64 of the leaf
 * bytes), written to a temporary name, fsynced, read back and checked line by line against
 * the leaf hashes stored in the ledger, renamed into place, then its manifest
 * seg-<first>-<last>.json (range, file, SHA-256, the signed checkpoint and the range
 * proof to it), fsynced and renamed, and the directory fsynced. TT_ETAMPERED when a stored
 * body does not match its leaf hash (nothing is archived then), TT_ENOTFOUND for a seq
 * without a stored body, TT_EIO / TT_ENOSPC for file errors (temporary files removed).
 * *out (may be NULL) on success. Thread-safe.
 */
TT_EXPORT int tt_archive_write_segment(tt_ledger *l, const char *dir, int64_t first_seq,
                                       int64_t last_seq, tt_archive_segment *out);

/*
 * Check a segment offline from its manifest's path: the checkpoint signed by verifier_key,
 * the file's size and SHA-256, every line's leaf hash recomputed from its leaf bytes and its
 * seq, the seqs consecutive, and the range proof to the signed root. TT_OK; TT_ETAMPERED,
 * TT_EAUTH, TT_EPARSE or TT_EIO with a message in err. *out (may be NULL) on success.
 * Thread-safe.
 */
TT_EXPORT int tt_archive_verify_segment(const char *manifest_path, const char *verifier_key,
                                        tt_archive_segment *out, char *err, size_t errlen);

/* ---------------------------------------------------------------------------------------
 * Retention (SPEC 8): moving the bodies of old events into archive segments. The hot store
 * keeps every leaf hash and tree node, so proofs and checkpoints do not change.
 * ------------------------------------------------------------------------------------- */

typedef struct tt_retention_plan {
    int64_t effective_days;   /* max(older_than_days, min_retention_days) */
    int64_t cutoff_us;        /* events with ts < cutoff are old enough */
    int64_t archived_through; /* the last seq of the segments the store records, 0: none */
    int64_t first_seq, last_seq, count; /* the range to archive next (count 0: nothing) */
    int64_t held; /* events of the range whose entity id is under a legal hold (kept hot) */
} tt_retention_plan;

/* Plan a retention run at now_us. Writes nothing. archive_dir is not read (the store records
 * the segments written) and may be NULL. TT_EINVAL for days outside 0..365000. Thread-safe. */
TT_EXPORT int tt_retention_plan_make(tt_ledger *l, int64_t older_than_days,
                                     int64_t min_retention_days, int64_t now_us,
                                     const char *archive_dir, tt_retention_plan *out);
/* {"effective_days","cutoff","archived_through","first_seq","last_seq","count","held"};
 * tt_free. */
TT_EXPORT char *tt_retention_plan_to_json(const tt_retention_plan *p);

/* ---------------------------------------------------------------------------------------
 * Trading-bot integrations (SPEC 15): freqtrade's webhook, freqtrade and hummingbot
 * history. docs/INTEGRATIONS.md describes the mapping to entity `trade` events.
 * ------------------------------------------------------------------------------------- */

/*
 * Read one freqtrade webhook body (POST /api/adapters/freqtrade; freqtrade's "format":
 * "json", one body per message type as docs/INTEGRATIONS.md shows) into one event, in the
 * shape tt_events_parse_body returns (*n = 1; release with tt_events_free_body, append
 * with tt_ledger_append_parsed). Message types entry, entry_fill, entry_cancel, exit,
 * exit_fill and exit_cancel give entity `trade`, entity_id the trade id, event_type the
 * type in capitals, metadata the pair, direction, amounts, prices, profit and tags, and an
 * idempotency key derived from the content (freqtrade resends a body on a failed answer);
 * status, startup and warning give entity `bot`. Values may be strings as freqtrade's
 * str.format writes them ("0.5", "None") or JSON numbers. An unknown message type or
 * field, a missing trade_id, a value that is not a number where one is expected:
 * TT_EINVAL / TT_EPARSE with a message. Thread-safe.
 */
TT_EXPORT int tt_freqtrade_parse_webhook(const char *body, size_t len, tt_event **events, size_t *n,
                                         void **owner, char *err, size_t errlen);

typedef struct tt_import_options {
    const char *source;      /* "freqtrade" or "hummingbot" */
    const char *path;        /* the bot's SQLite database, opened read-only */
    const char *bot;         /* actor and part of every idempotency key; NULL: source */
    tt_progress_fn progress; /* rows read of the total; may be NULL */
    void *progress_ctx;
} tt_import_options;

typedef struct tt_import_report {
    int64_t rows;     /* source rows read */
    int64_t events;   /* events derived from them */
    int64_t added;    /* of those, newly written */
    int64_t existing; /* already in the ledger from an earlier import (nothing written) */
} tt_import_report;

/*
 * Backfill a trading bot's history from its SQLite database (freqtrade's trades and orders
 * tables, hummingbot's TradeFill and Order tables) as entity `trade` events, in batches.
 * The source time of each row is the event's occurred_at (the ledger assigns ts). Every
 * event has an idempotency key derived from the bot name and the row's identity, so
 * importing the same database again writes nothing new, and a later import adds only what
 * happened since. TT_EINVAL for an unknown source or a database without the expected
 * tables (the message names them), TT_EDB when the database cannot be read. Batches
 * already committed stay when a later one fails; *out is written on success.
 */
TT_EXPORT int tt_import_run(tt_ledger *l, const tt_import_options *o, tt_import_report *out);
/* {"source","rows","events","added","existing"}; tt_free. */
TT_EXPORT char *tt_import_report_to_json(const char *source, const tt_import_report *r);
#define TT_RETENTION_SEGMENT_EVENTS 100000 /* events per archive segment by default */

typedef struct tt_retention_options {
    int64_t older_than_days;    /* archive events older than this many days */
    int64_t min_retention_days; /* the legal minimum: the cutoff never undercuts it */
    const char *archive_dir;    /* where segments are written (created 0700) */
    int64_t now_us;             /* 0: now */
    int64_t segment_events;     /* events per segment; 0: TT_RETENTION_SEGMENT_EVENTS */
    tt_progress_fn progress;    /* after each segment: events done of the plan's count */
    void *progress_ctx;
} tt_retention_options;

typedef struct tt_retention_result {
    tt_retention_plan plan;
    int64_t segments;            /* written and recorded by this run */
    int64_t first_seq, last_seq; /* the range they cover; 0 when none */
    int64_t archived;            /* bodies removed from the hot store */
    int64_t kept;                /* bodies kept hot (legal holds, the holds' own events) */
    int64_t swept;               /* bodies of older segments removed once their hold ended */
} tt_retention_result;

/*
 * Run retention (SPEC 8): plan as tt_retention_plan_make; remove what a killed run left in
 * archive_dir (temporary files, segments the store never recorded); for each older segment
 * whose range holds bodies no hold keeps any more, check the segment again and remove them;
 * then for each segment of at most segment_events events of the plan: write it
 * (tt_archive_write_segment: written, fsynced, re-read and checked line by line against the
 * stored leaf hashes, manifest, directory fsynced), and in one transaction append the event
 * retention/ARCHIVED that records it (entity_id the file name, metadata range, file, bytes,
 * sha256), record it in the store and remove the bodies it holds, except those of entity
 * ids under a legal hold (read in that transaction) and of the holds themselves. A run
 * killed at any point leaves every body either in the hot store or in a recorded, checked
 * segment; the next run completes the work. TT_EBUSY when another run holds archive_dir,
 * TT_ECONFLICT when another process recorded the range first, TT_ETAMPERED when a stored
 * body does not match its leaf hash (nothing of that segment is removed). *out (may be
 * NULL) on success. Thread-safe; runs on one archive directory exclude each other.
 */
TT_EXPORT int tt_retention_run(tt_ledger *l, const tt_retention_options *o,
                               tt_retention_result *out);
/* {"plan":{...},"segments","first_seq","last_seq","archived","kept","swept"}; tt_free. */
TT_EXPORT char *tt_retention_result_to_json(const tt_retention_result *r);

/*
 * Read archived events back from the segments in dir (SPEC 8): tt_ledger_verify then checks
 * each recorded segment (its manifest's signature and range proof, the file's size and
 * SHA-256 against the store's record, every line's leaf hash against the tree), and queries
 * with include_archive, tt_ledger_get and exports serve archived events from it. dir NULL
 * removes it. Without it, archived events are absent from queries and verify fails on a
 * ledger with segments. Call before the handle is shared between threads. TT_ENOMEM.
 */
TT_EXPORT int tt_ledger_set_archive(tt_ledger *l, const char *dir);

#ifdef __cplusplus
}
#endif
#endif /* TRADETRAIL_H */
