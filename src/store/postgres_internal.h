/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the PostgreSQL backend's files share: the connection object, error conversion,
 * parameter lists for prepared statements, binary result decoding and the operations each
 * file contributes to tti_postgres_ops. Only src/store/postgres*.c include this header (and
 * with it libpq-fe.h).
 */
#ifndef TT_STORE_POSTGRES_INTERNAL_H
#define TT_STORE_POSTGRES_INTERNAL_H

#include <libpq-fe.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/map.h"

/* Kinds of interned names: the same numbers as the SQLite backend's names table, so a
 * migrated store keeps its ids. */
enum {
    TTI_PG_NAME_ENTITY = 1,
    TTI_PG_NAME_TYPE = 2,
    TTI_PG_NAME_ACTOR = 3,
    TTI_PG_NAME_STATUS = 4,
};

/* The statements prepared once per connection, on first use (postgres.c). */
enum {
    TTI_PG_HEAD_GET,
    TTI_PG_HEAD_LOCK,
    TTI_PG_HEAD_PUT,
    TTI_PG_IDEM_GET,
    TTI_PG_NAME_GET,
    TTI_PG_NAME_PUT,
    TTI_PG_SUBJ_PUT,
    TTI_PG_TILE_GET,
    TTI_PG_TILE_PUT,
    TTI_PG_CP_PUT,
    TTI_PG_CP_HEAD,
    TTI_PG_CP_LATEST,
    TTI_PG_META_GET,
    TTI_PG_META_PUT,
    TTI_PG_TS_AT,
    TTI_PG_EXTENT,
    TTI_PG_COUNT_ENTITY,
    TTI_PG_COUNT_TYPE,
    TTI_PG_COUNT_ACTOR,
    TTI_PG_TOKEN_PUT,
    TTI_PG_TOKEN_FIND,
    TTI_PG_TOKEN_GET,
    TTI_PG_TOKEN_REVOKE,
    TTI_PG_TOKEN_LIST,
    TTI_PG_OUTBOX_PUT,
    TTI_PG_OUTBOX_DUE,
    TTI_PG_OUTBOX_CLAIM,
    TTI_PG_OUTBOX_UPDATE,
    TTI_PG_OUTBOX_PENDING,
    TTI_PG_TILE_EDGE,
    TTI_PG_EVENTS_PUT,
    TTI_PG_TOKENS_GONE,
    TTI_PG_LEAF_AT,
    TTI_PG_NSTMT
};

/* One level's edge tile as this connection last read or wrote it. */
struct tti_pg_tile {
    int valid;
    int pending; /* written in this transaction, not yet sent (tti_pg_flush) */
    uint64_t index;
    size_t n;
    uint8_t hashes[TTI_TILE_WIDTH][TT_HASH_SIZE];
};

struct tti_store {
    PGconn *conn;
    tti_map *names; /* interned ids; names are never deleted, so another server's are valid */
    int in_txn;
    int read_only;
    int busy_timeout_ms;
    int lost; /* the last failure lost the connection: open it again before the next */
    /* SPEC 15: a named ledger's search_path (its schema, quoted), set again on reconnect. */
    char *search_path;
    unsigned char prepared[TTI_PG_NSTMT];
    unsigned cursors; /* names the next scan cursor */
    /* Writes of a batch wait here and go to the database together, in one round trip
     * with the COMMIT (tti_pg_flush): the event rows (a JSON array), the edge tiles marked
     * pending and the head when head_pending. */
    tti_buf copy;
    size_t n_copy;
    int head_pending;
    /* A write of this transaction was dropped before it reached the database (out of
     * memory buffering it): the transaction may only roll back. */
    int doomed;
    /* The last event this transaction wrote: if the connection drops during its COMMIT,
     * the event's row, found or not, says whether the transaction committed. */
    int64_t last_seq; /* 0: no event */
    uint8_t last_leaf[TT_HASH_SIZE];
    /* Round trips saved per batch (issue 15): the head row as the write lock read it, valid
     * until this transaction writes the head or ends; and the tiles this connection wrote
     * last, valid while the head is still the size its last commit left (no other writer
     * appended since: sizes only grow). */
    tti_head head;
    int head_valid;
    struct tti_pg_tile *tiles; /* TTI_TILE_HEIGHT levels, allocated on the first write */
    int64_t tiles_size;        /* head size after the commit that wrote them; -1: unknown */
    int64_t pending_size;      /* head size this transaction wrote; -1: none */
    int tiles_ok;              /* tiles valid in this transaction */
    int tiles_dirty;           /* this transaction wrote tiles */
    char errbuf[512];
};

/* Parameters of one statement: integers travel as text, bytes in binary, NULL as NULL. */
#define TTI_PG_MAX_PARAMS 96
typedef struct tti_pgargs {
    const char *v[TTI_PG_MAX_PARAMS];
    int len[TTI_PG_MAX_PARAMS];
    int fmt[TTI_PG_MAX_PARAMS];
    char num[TTI_PG_MAX_PARAMS][24];
    int n;
} tti_pgargs;

void tti_pg_i64(tti_pgargs *a, int64_t v);
void tti_pg_text(tti_pgargs *a, const char *v); /* NULL binds SQL NULL */
void tti_pg_bytes(tti_pgargs *a, const void *p, size_t n);

/* Convert a failed result (or the connection's failure when res is NULL) into a status
 * with a message: disk full → TT_ENOSPC, lock timeout, deadlock or serialization failure →
 * TT_EBUSY, out of memory → TT_ENOMEM, anything else TT_EDB. */
int tti_pg_fail(tti_store *s, const PGresult *res, const char *what);

/* Run a prepared statement (TTI_PG_*) with binary results; NULL with *rc set on failure.
 * The caller PQclear()s the result. */
PGresult *tti_pg_run(tti_store *s, int which, const tti_pgargs *a, int *rc, const char *what);
/* Run one SQL text with parameters (the query builder's statements); as tti_pg_run. */
PGresult *tti_pg_exec(tti_store *s, const char *sql, const tti_pgargs *a, int *rc,
                      const char *what);
/* One statement of a pipeline (tti_pg_pipeline): a prepared statement (TTI_PG_*) or, with
 * sql set, an SQL text; *keep, when given, receives its result (the caller PQclear()s). */
typedef struct tti_pg_step {
    int which;
    const char *sql;
    const tti_pgargs *a;
    const char *what;
    PGresult **keep;
} tti_pg_step;

/* A tile's row id: the level in the top byte, the tile's index below it. */
static inline int64_t tti_pg_tile_id(unsigned level, uint64_t index)
{
    return (int64_t)(((uint64_t)level << 56) | index);
}
/* The parameters of TTI_PG_HEAD_PUT. */
void tti_pg_head_args(tti_pgargs *a, const tti_head *h);
/* Prepare a statement on this connection unless it already is. */
int tti_pg_prepare(tti_store *s, int which, const char *what);
/* Send n statements at once and read their results: one round trip instead of n. After a
 * failure the later statements are skipped by the database and the first error returned. */
int tti_pg_pipeline(tti_store *s, const tti_pg_step *steps, size_t n);
/* Send the writes waiting in this transaction (event rows, tiles, head), with a COMMIT
 * after them when commit is set; every statement inside a write transaction flushes first,
 * so nothing reads around a write still waiting. */
int tti_pg_send_writes(tti_store *s, int commit, PGresult **commit_result);
static inline int tti_pg_flush(tti_store *s)
{
    return tti_pg_send_writes(s, 0, NULL);
}

/* Binary result cells. */
int64_t tti_pg_int(const PGresult *r, int row, int col);
double tti_pg_real(const PGresult *r, int row, int col);
static inline const char *tti_pg_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Reading (postgres_query.c). */
struct tti_store_iter {
    tti_store *s;
    PGresult *res;
    int row, nrows;
    int kind;        /* 1 checkpoints, 2 events */
    char cursor[32]; /* "" when res holds every row */
    int done;        /* the cursor has no more rows */
    tt_event ev;
};
int tti_pg_read_head(tti_store *s, tti_head *out);
int tti_pg_latest_checkpoint(tti_store *s, tti_cp_row *out);
int tti_pg_checkpoints_iter(tti_store *s, tti_store_iter **out);
int tti_pg_checkpoints_next(tti_store_iter *it, tti_cp_row *out);
int tti_pg_query(tti_store *s, const tt_query *q, tti_store_iter **out);
int tti_pg_scan(tti_store *s, int64_t first, tti_store_iter **out);
int tti_pg_iter_next(tti_store_iter *it, const tt_event **ev);
void tti_pg_iter_free(tti_store_iter *it);
int tti_pg_event_extent(tti_store *s, int64_t *max_seq, int64_t *count);
int tti_pg_check_idem(tti_store *s, int64_t n, int64_t *bad_seq);
int tti_pg_check_search(tti_store *s, int64_t n, int64_t *bad_seq);
int tti_pg_seq_at_ts(tti_store *s, int64_t ts_us, int64_t *seq);
int tti_pg_count_by(tti_store *s, int what, int64_t after_seq, tt_count **out, size_t *n);
/* The id of a name of kind, 0 when it was never recorded (no insert). */
int tti_pg_lookup_name(tti_store *s, int kind, const char *value, int64_t *id);

/* Bulk copy (postgres_copy.c). */
int tti_pg_table_names(tti_store *s, tti_name_fn fn, void *ctx);
int tti_pg_table_rows(tti_store *s, const tti_table *t, tti_row_fn fn, void *ctx);
int tti_pg_table_insert(tti_store *s, const tti_table *t, const tti_value *v);
int tti_pg_table_done(tti_store *s, const tti_table *t);

/* Schema version 2 and the operations of the notification outbox (postgres_notify.c). */
extern const char tti_pg_schema_notify[];
extern const char tti_pg_schema_outbox_telegram[]; /* version 9 */
extern const struct tti_notify_ops tti_pg_notify_ops;

/* Versions 3, feedback (postgres_domain.c), and 4, the jobs tables (postgres_jobs.c). */
extern const char tti_pg_schema_domain[];
extern const char tti_pg_schema_jobs[];
extern const struct tti_domain_ops tti_pg_domain_ops;
extern const struct tti_jobs_ops tti_pg_jobs_ops;
/* Version 5: strategies and their versions (postgres_strategy.c). */
extern const char tti_pg_schema_strategy[];
extern const char tti_pg_schema_producer[];
extern const struct tti_producer_ops tti_pg_producer_ops;
/* Version 7: archive segments and the removal of archived bodies (postgres_archive.c). */
extern const char tti_pg_schema_archive[];
int tti_pg_segment_put(tti_store *s, const tti_segment *seg);
int tti_pg_segments(tti_store *s, tti_segment **out, size_t *n);
int tti_pg_purge(tti_store *s, int64_t first, int64_t last, tti_keep_fn keep, void *ctx,
                 int64_t *removed);
extern const struct tti_strategy_ops tti_pg_strategy_ops;
int tti_pg_feedback_range(tti_store *s, int64_t first, int64_t last, size_t max, tt_feedback **out,
                          size_t *n);

#endif
