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

/* ---------------------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------------------- */

typedef enum tt_order { TT_ORDER_ASC = 0, TT_ORDER_DESC = 1 } tt_order;

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
} tt_query;

/* Initialise a query with no filters, limit 100, ascending. */
TT_EXPORT void tt_query_init(tt_query *q);

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
/* {"first_seq","count"} as POST /api/events answers for a batch. */
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

/* ---------------------------------------------------------------------------------------
 * Maintenance actions (SPEC 6.3)
 * ------------------------------------------------------------------------------------- */

/* Record a maintenance action: entity "maintenance", entity_id = source (default
 * "manual"), event_type "ACTION", actor = actor (default: the source), reason = message. */
TT_EXPORT int tt_ledger_log_action(tt_ledger *l, const char *message, const char *source,
                                   const char *actor, tt_append_result *out);

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

/* Every token (never the secret); free with tt_token_list_free. */
TT_EXPORT int tt_token_list(tt_ledger *l, tt_token_info **out, size_t *n);
TT_EXPORT void tt_token_list_free(tt_token_info *list, size_t n);

/* ---------------------------------------------------------------------------------------
 * Strategies (SPEC 6.1)
 * ------------------------------------------------------------------------------------- */
/* @@strategy-api@@ */

/* ---------------------------------------------------------------------------------------
 * AI feedback, summaries, analytics (SPEC 6.2, 6.4)
 * ------------------------------------------------------------------------------------- */
/* @@domain-api@@ */

#ifdef __cplusplus
}
#endif
#endif /* TRADETRAIL_H */
