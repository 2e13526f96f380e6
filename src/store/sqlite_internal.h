/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the SQLite backend's files share: the connection object, error conversion and a
 * per-connection cache of prepared statements. Only src/store/sqlite*.c include this
 * header (and with it sqlite3.h).
 */
#ifndef TT_STORE_SQLITE_INTERNAL_H
#define TT_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"
#include "util/map.h"

#define TTI_SQLITE_CORE_STMTS 32
#define TTI_SQLITE_CACHE 96

struct tti_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[TTI_SQLITE_CORE_STMTS];
    tti_map *names;
    int in_txn;
    int read_only;
    int hit_enospc; /* the last write ran out of disk: give the WAL back before the next */
    int wal_frames; /* WAL frames after the last commit (the WAL hook) */
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

/* Fill f from a row of columns id, seq, ts, strategy_id, user_id, benchmark, ai_return,
 * benchmark_return, alpha, reward, outcome (strings copied). -1 when out of memory. */
int tti_sqlite_read_feedback(sqlite3_stmt *st, tt_feedback *f);

/* Schema migrations of the domain parts (versions 2 and 3), and their operations. */
extern const char tti_sqlite_schema_strategy[];
extern const char tti_sqlite_schema_domain[];
extern const struct tti_strategy_ops tti_sqlite_strategy_ops;
extern const struct tti_domain_ops tti_sqlite_domain_ops;
/* Versions 4 (jobs, training sync) and 5 (notification outbox). */
extern const char tti_sqlite_schema_jobs[];
extern const char tti_sqlite_schema_notify[];
extern const struct tti_jobs_ops tti_sqlite_jobs_ops;
extern const struct tti_notify_ops tti_sqlite_notify_ops;
/* Version 6: the reason index without positions (sqlite_search.c). */
extern const char tti_sqlite_schema_search[];

/* The FTS5 query for a user's search words: each token the index's tokenizer finds, as a
 * quoted term (all must match). *out is malloc'd; *nterms is 0 when the words hold no
 * token at all (only punctuation). */
int tti_sqlite_fts_terms(tti_store *s, const char *text, char **out, int *nterms);

#endif
