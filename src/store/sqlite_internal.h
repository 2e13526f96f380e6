/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the SQLite backend's files share: the connection object, error conversion, the
 * per-connection prepared statements, the event iterator, row collection and the
 * operations each file contributes to tti_sqlite_ops. Only src/store/sqlite*.c include
 * this header (and with it sqlite3.h).
 */
#ifndef TT_STORE_SQLITE_INTERNAL_H
#define TT_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/records.h"
#include "store/store.h"
#include "util/map.h"

#define TTI_SQLITE_CORE_STMTS 32
#define TTI_SQLITE_CACHE 96

/* Kinds of interned names (the names table), and the entity ids (the subjects table). */
enum {
    TTI_NAME_ENTITY = 1,
    TTI_NAME_TYPE = 2,
    TTI_NAME_ACTOR = 3,
    TTI_NAME_STATUS = 4,
    TTI_NAME_SUBJECT = 5
};

/* The statements of the append path, prepared when a connection opens (sqlite.c). */
enum {
    TTI_ST_HEAD_GET,
    TTI_ST_HEAD_PUT,
    TTI_ST_IDEM_GET,
    TTI_ST_IDEM_PUT,
    TTI_ST_EVENT_PUT,
    TTI_ST_FTS_PUT,
    TTI_ST_NAME_GET,
    TTI_ST_NAME_PUT,
    TTI_ST_SUBJ_GET,
    TTI_ST_SUBJ_PUT,
    TTI_ST_TILE_GET,
    TTI_ST_TILE_PUT,
    TTI_ST_CP_PUT,
    TTI_ST_CP_LATEST,
    TTI_ST_META_GET,
    TTI_ST_META_PUT,
    TTI_ST_TS_AT,
    TTI_ST_TOKEN_PUT,
    TTI_ST_TOKEN_FIND,
    TTI_ST_TOKEN_GET,
    TTI_ST_TOKEN_REVOKE,
    TTI_ST_COUNT
};

/* The writer's VFS: WAL writes gathered until the sync (sqlite_vfs.c); NULL if it could
 * not be registered. */
const char *tti_sqlite_gather_vfs(void);

/* The checkpointer (sqlite_checkpoint.c): a thread and a connection that copy the WAL into
 * the database file while the writer goes on committing. */
typedef struct tti_sqlite_ckpt tti_sqlite_ckpt;

/* From the writer's WAL hook: ask for a checkpoint when at least limit of the WAL's frames
 * are not yet copied and none is under way (restarted: the WAL started over since the last
 * commit). Returns 0 when there is no checkpointer (it could not start): then the caller
 * checkpoints itself. */
int tti_sqlite_ckpt_ask(tti_store *s, int frames, int limit, int restarted);
/* Wait until no checkpoint is asked for or under way (before the writer checkpoints itself). */
void tti_sqlite_ckpt_wait(tti_store *s);
/* Stop the thread and close its connection (the store is closing). */
void tti_sqlite_ckpt_stop(tti_store *s);

struct tti_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[TTI_SQLITE_CORE_STMTS];
    tti_map *names;
    int in_txn;
    int read_only;
    int hit_enospc;        /* the last write ran out of disk: give the WAL back before the next */
    int wal_frames;        /* WAL frames after the last commit (the WAL hook) */
    tti_sqlite_ckpt *ckpt; /* the checkpointer, once a checkpoint was needed */
    int ckpt_failed;       /* it could not start: the writer checkpoints itself */
    int64_t recent_rows;   /* rows in subject_recent as this writer counts them; -1 unknown */
    int64_t move_after;    /* the subject whose recent entries moved last (-1: not known) */
    char errbuf[512];
    struct {
        const char *sql; /* identity of a static SQL string */
        sqlite3_stmt *st;
    } cache[TTI_SQLITE_CACHE];
    int n_cache;
};

/* Convert an SQLite failure into a tt_status with a message naming what failed (disk
 * full → TT_ENOSPC, lock timeout → TT_EBUSY, I/O → TT_EIO, else TT_EDB). */
int tti_sqlite_fail(tti_store *s, int rc, const char *what);

/* The prepared statement for a static SQL string, reset with bindings cleared, prepared
 * once per connection. NULL with *rc set on failure. Only pass string literals (or other
 * static strings): the pointer is the cache key. */
sqlite3_stmt *tti_sqlite_stmt(tti_store *s, const char *sql, int *rc);
/* As tti_sqlite_stmt for SQL built at run time: key (a constant's address) identifies it. */
sqlite3_stmt *tti_sqlite_stmt_keyed(tti_store *s, const char *key, const char *sql, int *rc);

/* A core statement (TTI_ST_*), reset with its bindings cleared. */
static inline sqlite3_stmt *tti_sqlite_core(tti_store *s, int which)
{
    sqlite3_stmt *st = s->stmt[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* The MurmurHash3 finaliser: the keyed sums of the index checks (sqlite_search.c,
 * sqlite_subjects.c) hash each entry with it. */
static inline uint64_t tti_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline const char *tti_sqlite_col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Bind text, or leave the parameter NULL. The text must outlive the statement's step. */
static inline void tti_sqlite_bind_opt(sqlite3_stmt *st, int col, const char *v)
{
    if (v != NULL)
        sqlite3_bind_text(st, col, v, -1, SQLITE_STATIC);
}

/*
 * Step st to the end, filling a malloc'ed array of elem-byte records with read_one (which
 * returns a status, with s's message set); the array grows with tti_rows_reserve. st is
 * reset afterwards (the caller finalizes a statement it prepared itself). On failure
 * nothing is returned and the rows read so far are released with clear_one; what names
 * the operation in the message.
 */
int tti_sqlite_collect(tti_store *s, sqlite3_stmt *st, size_t elem, size_t first, void **out,
                       size_t *n, int (*read_one)(tti_store *s, sqlite3_stmt *st, void *row),
                       void (*clear_one)(void *row), const char *what);

/* An iterator over the rows of sql: kind 1 checkpoints, 2 events (names by id). */
struct tti_store_iter {
    tti_store *s;
    sqlite3_stmt *st;
    int kind; /* 1 checkpoints, 2 events (names by id) */
    int empty;
    tt_event ev;
    char **names; /* kind 2: interned names by id, read once per scan */
    size_t n_names;
    struct subj_slot *subjects; /* kind 2: entity ids by subject id, direct-mapped */
    size_t n_subj_slots;        /* its size: SUBJ_SLOTS, or fewer for a short query */
    sqlite3_stmt *next;         /* a subject's query: the part read after st */
    int64_t left;               /* rows it may still return over both parts; -1 any */
    int own_txn;                /* it began the read transaction both parts share */
};
int tti_sqlite_iter_new(tti_store *s, const char *sql, int kind, tti_store_iter **out);

/* The log (sqlite_log.c). */
int tti_sqlite_read_head(tti_store *s, tti_head *out);
int tti_sqlite_write_head(tti_store *s, const tti_head *h);
int tti_sqlite_idem_lookup(tti_store *s, const char *key, int64_t *seq, int64_t *ts_us,
                           uint8_t leaf[TT_HASH_SIZE], char principal[TT_MAX_PRINCIPAL + 1]);
int tti_sqlite_insert_event(tti_store *s, const tt_event *ev);
int tti_sqlite_get_tile(tti_store *s, unsigned level, uint64_t index, uint8_t (*buf)[TT_HASH_SIZE],
                        size_t *n);
int tti_sqlite_put_tile(tti_store *s, unsigned level, uint64_t index,
                        const uint8_t (*hashes)[TT_HASH_SIZE], size_t n);
int tti_sqlite_put_checkpoint(tti_store *s, const tti_cp_row *cp);
int tti_sqlite_latest_checkpoint(tti_store *s, tti_cp_row *out);
int tti_sqlite_checkpoints_iter(tti_store *s, tti_store_iter **out);
int tti_sqlite_checkpoints_next(tti_store_iter *it, tti_cp_row *out);
int tti_sqlite_check_idem(tti_store *s, int64_t n, int64_t *bad_seq);

/* Reading events (sqlite_query.c). */
/* Bulk copy (sqlite_copy.c). */
int tti_sqlite_table_names(tti_store *s, tti_name_fn fn, void *ctx);
int tti_sqlite_table_rows(tti_store *s, const tti_table *t, tti_row_fn fn, void *ctx);
int tti_sqlite_table_insert(tti_store *s, const tti_table *t, const tti_value *v);
int tti_sqlite_table_done(tti_store *s, const tti_table *t);

int tti_sqlite_scan(tti_store *s, int64_t first, tti_store_iter **out);
int tti_sqlite_query(tti_store *s, const tt_query *q, tti_store_iter **out);
int tti_sqlite_iter_next(tti_store_iter *it, const tt_event **ev);
void tti_sqlite_iter_free(tti_store_iter *it);
int tti_sqlite_event_extent(tti_store *s, int64_t *max_seq, int64_t *count);
int tti_sqlite_seq_at_ts(tti_store *s, int64_t ts_us, int64_t *seq);
int tti_sqlite_count_by(tti_store *s, int what, int64_t after_seq, tt_count **out, size_t *n);

/* API tokens (sqlite_tokens.c). */
int tti_sqlite_token_insert(tti_store *s, const char *name, int role, const uint8_t hash[32],
                            int64_t created_us, int64_t *id);
int tti_sqlite_token_find(tti_store *s, const uint8_t hash[32], tt_token_info *out,
                          uint8_t stored_hash[32]);
int tti_sqlite_token_get(tti_store *s, int64_t id, tt_token_info *out);
/* store.h begin_write_tokens's read, inside the write transaction. */
int tti_sqlite_tokens_refused(tti_store *s, const int64_t *ids, size_t n, unsigned char *refused);
int tti_sqlite_token_revoke(tti_store *s, int64_t id, int64_t revoked_us);
int tti_sqlite_token_list(tti_store *s, tt_token_info **out, size_t *n);

/* Fill a tt_feedback from a row of columns id, seq, ts, strategy_id, user_id, benchmark,
 * ai_return, benchmark_return, alpha, reward, outcome (strings copied); on failure nothing
 * is left allocated. The row reader and clearer of tti_sqlite_collect for feedback. */
int tti_sqlite_read_feedback(tti_store *s, sqlite3_stmt *st, void *row);
void tti_sqlite_clear_feedback(void *row);

/* Schema migrations of the domain parts (versions 2 and 3), and their operations. */
extern const char tti_sqlite_schema_strategy[];
extern const char tti_sqlite_schema_domain[];
extern const struct tti_strategy_ops tti_sqlite_strategy_ops;
extern const struct tti_domain_ops tti_sqlite_domain_ops;
/* Versions 4 (jobs, training sync) and 5 (notification outbox). */
extern const char tti_sqlite_schema_jobs[];
extern const char tti_sqlite_schema_notify[];
extern const char tti_sqlite_schema_outbox_telegram[]; /* version 13 */
extern const struct tti_jobs_ops tti_sqlite_jobs_ops;
extern const struct tti_notify_ops tti_sqlite_notify_ops;
/* Version 6: the reason index without positions (sqlite_search.c). */
extern const char tti_sqlite_schema_search[];
/* Version 9: the reason index with a prefix index of 3 characters; version 10: its vocab. */
extern const char tti_sqlite_schema_search_prefix[];
extern const char tti_sqlite_schema_search_vocab[];
/* Version 11: completeness per producer (SPEC 15). */
extern const char tti_sqlite_schema_producer[];
extern const struct tti_producer_ops tti_sqlite_producer_ops;
/* Version 12: archive segments and the removal of archived bodies (sqlite_archive.c). */
extern const char tti_sqlite_schema_archive[];
int tti_sqlite_segment_put(tti_store *s, const tti_segment *seg);
int tti_sqlite_segments(tti_store *s, tti_segment **out, size_t *n);
int tti_sqlite_purge(tti_store *s, int64_t first, int64_t last, tti_keep_fn keep, void *ctx,
                     int64_t *removed);
/* Version 14: the per-subject index in two tables (sqlite_subjects.c). A commit that
 * leaves subject_recent above TTI_RECENT_ROWS entries first moves whole subjects' entries
 * into subject_index until it is back to that size. */
#define TTI_RECENT_ROWS 16384
extern const char tti_sqlite_schema_subjects[];
int tti_sqlite_subject_put(tti_store *s, int64_t subject, int64_t seq);
int tti_sqlite_subjects_move(tti_store *s);
int tti_sqlite_subject_del(tti_store *s, int64_t subject, int64_t seq);
/* Register tt_subject_sum() on a connection (every connection: verify reads on readers). */
int tti_sqlite_subjects_init(tti_store *s);
int tti_sqlite_check_subjects(tti_store *s, int64_t *bad_seq);
/* Register tt_word_prefixes() on a connection (every connection: readers search). */
int tti_sqlite_search_init(tti_store *s);
int tti_sqlite_check_search(tti_store *s, int64_t n, int64_t *bad_seq);
int tti_sqlite_check_search_terms(tti_store *s, int64_t upto, tt_progress_fn progress, void *ctx,
                                  int64_t *bad_seq);

/* The FTS5 query for a user's search words: each token the index's tokenizer finds, as a
 * quoted term (all must match): a whole word for 1-2 characters, a prefix query of 3
 * characters, a prefix query of a longer word that starts few index entries, else one of
 * its first 3 characters with the word in *prefixes (space separated, for
 * tt_word_prefixes(e.reason, ?) to check), or NULL. Both malloc'd; *nterms is 0, and *out
 * NULL, when nothing can match: the words hold no token at all (only punctuation), or a
 * word starts no term of the index. */
int tti_sqlite_fts_terms(tti_store *s, const char *text, char **out, char **prefixes, int *nterms);

#endif
