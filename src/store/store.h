/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The storage backend interface: one table of functions per backend (SQLite, PostgreSQL).
 * No SQL lives outside the backend files. A tti_store is one connection; the ledger opens
 * one for writing and a small pool for reading, so a backend never has to be thread-safe
 * itself.
 */
#ifndef TT_STORE_STORE_H
#define TT_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tradetrail.h"

#define TTI_TILE_WIDTH 256 /* hashes per tile; a tile at level L holds nodes of height 8L */
#define TTI_TILE_HEIGHT 8

typedef struct tti_store tti_store;
struct tti_strategy_ops; /* src/store/strategy_store.h */
struct tti_domain_ops;   /* src/store/domain_store.h */
struct tti_jobs_ops;     /* src/store/jobs_store.h */
struct tti_notify_ops;   /* src/store/notify_store.h */
struct tti_producer_ops; /* src/store/producer_store.h */
typedef struct tti_store_iter tti_store_iter;

/* The ledger head, read and written inside the write transaction (SPEC 5). */
typedef struct tti_head {
    int64_t size;
    int64_t last_ts_us;               /* TT_TIME_NONE when empty */
    uint8_t crange[64][TT_HASH_SIZE]; /* perfect-subtree roots, largest first */
    unsigned n_crange;
    /* SPEC 4: what checkpoint signing has recorded, so that removing checkpoints shows. */
    int64_t signed_size;   /* the largest tree size a stored checkpoint signs; 0: none */
    int64_t n_checkpoints; /* checkpoints stored */
} tti_head;

typedef struct tti_store_config {
    int create;          /* create the schema when the store is empty */
    int busy_timeout_ms; /* how long to wait for another writer's lock */
    int read_only;       /* a reader connection */
    /* SPEC 15 namespaces: NULL for the store's main ledger, else the name of an independent
     * ledger kept beside it (SQLite: a sibling file; PostgreSQL: a schema of its own). */
    const char *ns;
} tti_store_config;

/* A checkpoint row as stored. */
typedef struct tti_cp_row {
    int64_t tree_size;
    int64_t ts_us;
    uint8_t root[TT_HASH_SIZE];
    char *note; /* malloc'ed */
} tti_cp_row;

/* A cell of a domain table in a store-to-store copy (tt_store_migrate). */
typedef struct tti_value {
    char type; /* 0 NULL, 'i' integer or flag, 'r' real, 't' text, 'b' bytes */
    int64_t i;
    double r;
    const void *p; /* 't', 'b': borrowed for the duration of the callback */
    size_t n;
} tti_value;

/* A domain table as both backends name it: columns in SQL order, one type letter each
 * ('i' integer, 'f' flag: integer 0/1 in SQLite, boolean in PostgreSQL, 'r' real, 't'
 * text, 'b' bytes). Rows come in `order`; `identity` names a generated id column whose
 * generator must move past the copied ids (PostgreSQL), or is NULL. */
typedef struct tti_table {
    const char *name;
    const char *columns;
    const char *types;
    const char *order;
    const char *identity;
} tti_table;

/* Every domain table a migration copies row by row (src/store/tables.c), and every table
 * the ledger's own operations copy (events and their indexes, tiles, checkpoints, head,
 * meta, the sync state). A table a store holds that neither list names stops a migration
 * rather than being left behind. */
extern const tti_table tti_tables[];
extern const size_t tti_n_tables;
int tti_table_known(const char *name);

typedef int (*tti_row_fn)(void *ctx, const tti_value *v, size_t n);
typedef int (*tti_name_fn)(void *ctx, const char *name);

/* An archive segment as the hot store records it (SPEC 8, docs/FORMAT.md section 9): the
 * bodies of its seqs may leave the events table only once this row exists. */
typedef struct tti_segment {
    int64_t first_seq, last_seq;
    int64_t bytes;                /* of the compressed file */
    uint8_t sha256[TT_HASH_SIZE]; /* of the compressed file */
    char file[64];                /* seg-<first>-<last>.jsonl.zst, in the archive directory */
    int64_t ts_us;                /* when it was recorded */
} tti_segment;

/* Retention's choice per stored event: 1 keeps its body in the hot store. */
typedef int (*tti_keep_fn)(void *ctx, const char *entity, const char *entity_id);

typedef struct tti_store_ops {
    const char *name;
    /* Does this backend handle uri? */
    int (*accepts)(const char *uri);
    int (*open)(const char *uri, const tti_store_config *cfg, tti_store **out, char *err,
                size_t errlen);
    void (*close)(tti_store *s);
    /* Message of the last failure on s; never NULL. */
    const char *(*errmsg)(tti_store *s);

    /* Transactions. begin_write takes the store-wide write lock, waiting at most the busy
     * timeout (TT_EBUSY after). begin_read opens a consistent snapshot. */
    int (*begin_write)(tti_store *s);
    /* begin_write for a group of appends whose tokens came from the ledger's cache: also
     * reads, after the lock is taken, which of ids[0..n) name a token revoked or gone
     * (refused[i] set to 1, others left alone), so that a revocation committed before
     * the lock refuses the group's requests. PostgreSQL sends the read with the lock, in
     * the same round trip. On failure no lock is held. */
    int (*begin_write_tokens)(tti_store *s, const int64_t *ids, size_t n, unsigned char *refused);
    int (*begin_read)(tti_store *s);
    int (*commit)(tti_store *s);
    void (*rollback)(tti_store *s);

    int (*read_head)(tti_store *s, tti_head *out);
    int (*write_head)(tti_store *s, const tti_head *h);

    /* Seq of the event holding idempotency key, TT_ENOTFOUND if none; principal gets its
     * principal ("" for an event without one). */
    int (*idem_lookup)(tti_store *s, const char *key, int64_t *seq, int64_t *ts_us,
                       uint8_t leaf[TT_HASH_SIZE], char principal[TT_MAX_PRINCIPAL + 1]);
    /* Insert one event (seq, ts and leaf_hash set) with its indexes. */
    int (*insert_event)(tti_store *s, const tt_event *ev);

    /* Tiles: *n gets the number of hashes (0..256) stored for (level, index); a missing
     * tile gives *n = 0 and TT_OK. buf holds TTI_TILE_WIDTH hashes. */
    int (*get_tile)(tti_store *s, unsigned level, uint64_t index, uint8_t (*buf)[TT_HASH_SIZE],
                    size_t *n);
    int (*put_tile)(tti_store *s, unsigned level, uint64_t index,
                    const uint8_t (*hashes)[TT_HASH_SIZE], size_t n);

    /* Store a checkpoint and record it in the head (signed_size, n_checkpoints); inside a
     * write transaction. */
    int (*put_checkpoint)(tti_store *s, const tti_cp_row *cp);
    /* Latest checkpoint (largest tree size); TT_ENOTFOUND when none. */
    int (*latest_checkpoint)(tti_store *s, tti_cp_row *out);
    /* All checkpoints in tree-size order. */
    int (*checkpoints_iter)(tti_store *s, tti_store_iter **out);
    int (*checkpoints_next)(tti_store_iter *it, tti_cp_row *out); /* row borrowed */

    /* Meta key/value (origin, creation time). *value malloc'ed; TT_ENOTFOUND. */
    int (*meta_get)(tti_store *s, const char *key, char **value);
    int (*meta_set)(tti_store *s, const char *key, const char *value);

    /* Events. Query iterators yield borrowed events valid until the next call. */
    int (*query)(tti_store *s, const tt_query *q, tti_store_iter **out);
    /* Every stored event with first <= seq, in seq order (verification). */
    int (*scan)(tti_store *s, int64_t first, tti_store_iter **out);
    int (*iter_next)(tti_store_iter *it, const tt_event **ev);
    void (*iter_free)(tti_store_iter *it);
    /* Largest stored seq and the number of event rows (tamper checks). */
    int (*event_extent)(tti_store *s, int64_t *max_seq, int64_t *count);
    /* The side indexes against the events (SPEC 4, tamper checks), read-only. n is what a
     * walk over every event counted (events with a key; events with a non-empty reason), or
     * -1 to count them here. check_idem: every row maps a key to the event holding it, and
     * there are n rows. check_search: the full-text index holds n documents, none beyond
     * the last event. check_search_terms (a full verification; NULL where the index cannot
     * disagree with the events): each document of an event up to seq upto holds the words
     * of its reason and no other; it reads only its own transaction, so it may run on a
     * second connection beside the walk, and calls progress (reasons read of 0) as it goes,
     * stopping when that returns non-zero. TT_OK, or TT_ETAMPERED with a message and
     * *bad_seq the first seq concerned (0 when none can be named). */
    int (*check_idem)(tti_store *s, int64_t n, int64_t *bad_seq);
    int (*check_search)(tti_store *s, int64_t n, int64_t *bad_seq);
    /* The per-subject index kept beside the events (NULL where it is the database's own
     * index on events): exactly one entry per event, under its subject. It reads only its
     * own transaction, so a full verification runs it beside the walk with
     * check_search_terms. TT_OK, or TT_ETAMPERED as above. */
    int (*check_subjects)(tti_store *s, int64_t *bad_seq);
    int (*check_search_terms)(tti_store *s, int64_t upto, tt_progress_fn progress, void *ctx,
                              int64_t *bad_seq);

    /* First seq whose ts >= ts_us (size + 1 when none). */
    int (*seq_at_ts)(tti_store *s, int64_t ts_us, int64_t *seq);
    /* Counts of the events after after_seq by entity, event type or actor (TTI_COUNT_*),
     * in no particular order; array and names malloc'ed. The ledger keeps running totals
     * (ledger/counts.c), so after the first call only the new events are counted. */
    int (*count_by)(tti_store *s, int what, int64_t after_seq, tt_count **out, size_t *n);

    /* Archive segments (SPEC 8). segment_put records one inside a write transaction; the
     * table is append-only like events. segments lists them in seq order (*out malloc'ed,
     * NULL when none). purge removes, inside a write transaction, the bodies of the events
     * with first <= seq <= last that keep() does not keep, with their idempotency key and
     * reason index entries; every seq must lie in a recorded segment (the store refuses
     * the removal of any other event). *removed counts the rows removed. */
    int (*segment_put)(tti_store *s, const tti_segment *seg);
    int (*segments)(tti_store *s, tti_segment **out, size_t *n);
    int (*purge)(tti_store *s, int64_t first, int64_t last, tti_keep_fn keep, void *ctx,
                 int64_t *removed);

    /* API tokens (hash = SHA-256 of the token). token_find: TT_ENOTFOUND when unknown. */
    int (*token_insert)(tti_store *s, const char *name, int role, const uint8_t hash[32],
                        int64_t created_us, int64_t *id);
    int (*token_find)(tti_store *s, const uint8_t hash[32], tt_token_info *out,
                      uint8_t stored_hash[32]);
    int (*token_get)(tti_store *s, int64_t id, tt_token_info *out);
    /* Which of ids[0..n) name a token revoked or gone: refused[i] set to 1, others left
     * alone. The one statement of that rule in each store; begin_write_tokens uses it. */
    int (*tokens_refused)(tti_store *s, const int64_t *ids, size_t n, unsigned char *refused);
    int (*token_revoke)(tti_store *s, int64_t id, int64_t revoked_us);
    int (*token_list)(tti_store *s, tt_token_info **out, size_t *n);

    /* Bulk copy (tt_store_migrate). table_names: every table of the store's schema;
     * table_rows: every row of t in its order, fn's non-zero return stops with that status;
     * table_insert: one row of t as given, ids kept; table_done: after the copy of t (moves
     * an identity generator past the copied ids). */
    int (*table_names)(tti_store *s, tti_name_fn fn, void *ctx);
    int (*table_rows)(tti_store *s, const tti_table *t, tti_row_fn fn, void *ctx);
    int (*table_insert)(tti_store *s, const tti_table *t, const tti_value *v);
    int (*table_done)(tti_store *s, const tti_table *t);

    /* Domain records (SPEC 6): strategies and versions; feedback, summaries, analytics. */
    const struct tti_strategy_ops *strategy;
    const struct tti_domain_ops *domain;
    /* Jobs (SPEC 7): job runs, training-sync watermark; the notification outbox. */
    const struct tti_jobs_ops *jobs;
    const struct tti_notify_ops *notify;
    /* Completeness per producer (SPEC 15). */
    const struct tti_producer_ops *producer;
} tti_store_ops;

#define TTI_COUNT_ENTITY 1
#define TTI_COUNT_EVENT_TYPE 2
#define TTI_COUNT_ACTOR 3

/* Rules every backend shares (store.c), each backend reading its own rows. */

/* The first seq of 1..size whose ts >= ts_us (size + 1 when none): ts never decreases
 * along seq (SPEC 3.1), so a binary search over the primary key, instead of another index
 * to maintain on every append. ts_of gives a seq's ts: that of the next stored row when
 * the seq has none (its body archived), INT64_MAX when no row follows. */
int tti_store_seq_at_ts(tti_store *s, int64_t size, int64_t ts_us,
                        int (*ts_of)(tti_store *s, int64_t seq, int64_t *ts), int64_t *seq);

/* The seq bounds of a query's since, until, after_seq and before_seq (a time bound becomes
 * a seq through seq_at_ts), each given to bound as an SQL comparison (">=", "<", ">")
 * against the seq; TT_OK or seq_at_ts's error. */
int tti_store_seq_bounds(tti_store *s, const tt_query *q,
                         int (*seq_at_ts)(tti_store *s, int64_t ts_us, int64_t *seq),
                         void (*bound)(void *ctx, const char *op, int64_t seq), void *ctx);

/* The most a backend's query text may grow to, far above what tt_ledger_query can ask
 * for: every value is a parameter, so the text grows only with the number of filters. */
#define TTI_STORE_SQL_MAX (64u * 1024)

/* The error of a query text that could not be built, given its tti_buf's failed code, with
 * its message in err: TT_EINVAL when it outgrew its maximum, TT_ENOMEM otherwise. */
int tti_store_sql_failed(char *err, size_t errlen, int failed);

/* The backend for a URI, or NULL (TT_EINVAL) when none accepts it. */
const tti_store_ops *tti_store_backend(const char *uri);

extern const tti_store_ops tti_sqlite_ops;
extern const tti_store_ops tti_postgres_ops;

/* Tests only: when set, every ledger opened afterwards uses these operations (a wrapper
 * that injects failures). Not thread-safe; set before opening. */
extern const tti_store_ops *tti_store_override;

#endif
