/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite tables and statements of retention (SPEC 8): archive_segments, one append-only row
 * per archive segment written, and the removal of event bodies those segments hold. The
 * events table refuses DELETE except for a seq inside a recorded segment: the one,
 * narrowly scoped exception to append-only (UPDATE stays refused everywhere).
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/err.h"

/* Schema version 12. */
const char tti_sqlite_schema_archive[] =
    "CREATE TABLE archive_segments(first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL,"
    " file TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 BLOB NOT NULL, ts INTEGER NOT NULL,"
    " CHECK (last_seq >= first_seq));"
    "CREATE TRIGGER archive_segments_no_update BEFORE UPDATE ON archive_segments"
    " BEGIN SELECT RAISE(ABORT, 'archive segments are append-only'); END;"
    "CREATE TRIGGER archive_segments_no_delete BEFORE DELETE ON archive_segments"
    " BEGIN SELECT RAISE(ABORT, 'archive segments are append-only'); END;"
    /* SPEC 4, 8: an event row may go only once a recorded segment holds its leaf. */
    "DROP TRIGGER IF EXISTS events_no_delete;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    " WHEN coalesce((SELECT a.last_seq FROM archive_segments a WHERE a.first_seq <= OLD.seq"
    " ORDER BY a.first_seq DESC LIMIT 1), 0) < OLD.seq"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;";

static const char sql_put[] = "INSERT INTO archive_segments(first_seq, last_seq, file, bytes,"
                              " sha256, ts) VALUES (?,?,?,?,?,?)";
static const char sql_list[] =
    "SELECT first_seq, last_seq, file, bytes, sha256, ts FROM archive_segments ORDER BY first_seq";
static const char sql_rows[] =
    "SELECT e.seq, e.reason, e.idem, n.value, s.entity_id, e.subject FROM events e"
    " JOIN subjects s ON s.id = e.subject JOIN names n ON n.id = e.entity"
    " WHERE e.seq >= ?1 AND e.seq <= ?2 ORDER BY e.seq";
static const char sql_fts_del[] =
    "INSERT INTO events_fts(events_fts, rowid, reason) VALUES ('delete', ?, ?)";
static const char sql_idem_del[] = "DELETE FROM idem WHERE key = ? AND seq = ?";
static const char sql_event_del[] = "DELETE FROM events WHERE seq = ?";

int tti_sqlite_segment_put(tti_store *s, const tti_segment *seg)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_put, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, seg->first_seq);
    sqlite3_bind_int64(st, 2, seg->last_seq);
    sqlite3_bind_text(st, 3, seg->file, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, seg->bytes);
    sqlite3_bind_blob(st, 5, seg->sha256, TT_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, seg->ts_us);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? TT_OK : tti_sqlite_fail(s, rc, "recording an archive segment");
}

static int read_segment(tti_store *s, sqlite3_stmt *st, void *row)
{
    tti_segment *g = row;
    const char *file = tti_sqlite_col_text(st, 2);
    memset(g, 0, sizeof *g);
    g->first_seq = sqlite3_column_int64(st, 0);
    g->last_seq = sqlite3_column_int64(st, 1);
    g->bytes = sqlite3_column_int64(st, 3);
    g->ts_us = sqlite3_column_int64(st, 5);
    if (file == NULL || strlen(file) >= sizeof g->file ||
        sqlite3_column_bytes(st, 4) != TT_HASH_SIZE)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                       "archive segment from seq %lld: malformed record", (long long)g->first_seq);
    memcpy(g->file, file, strlen(file) + 1);
    memcpy(g->sha256, sqlite3_column_blob(st, 4), TT_HASH_SIZE);
    return TT_OK;
}

static void clear_segment(void *row)
{
    (void)row;
}

int tti_sqlite_segments(tti_store *s, tti_segment **out, size_t *n)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_list, &rc);
    void *arr = NULL;
    if (st != NULL)
        rc = tti_sqlite_collect(s, st, sizeof(tti_segment), 16, &arr, n, read_segment,
                                clear_segment, "listing archive segments");
    if (st != NULL && rc == TT_OK)
        *out = arr;
    return rc;
}

/* One event to remove: its seq, and what its index entries need. */
typedef struct gone {
    int64_t seq, subject;
    char *reason, *idem;
} gone;

static void gone_free(gone *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(g[i].reason);
        free(g[i].idem);
    }
    free(g);
}

static int step_done(tti_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? TT_OK : tti_sqlite_fail(s, rc, what);
}

static int remove_one(tti_store *s, const gone *g)
{
    int rc;
    sqlite3_stmt *st;
    if (g->reason != NULL && g->reason[0] != '\0') {
        /* A contentless FTS5 index forgets a document given the text it was indexed with. */
        if ((st = tti_sqlite_stmt(s, sql_fts_del, &rc)) == NULL)
            return rc;
        sqlite3_bind_int64(st, 1, g->seq);
        sqlite3_bind_text(st, 2, g->reason, -1, SQLITE_STATIC);
        if ((rc = step_done(s, st, "removing an archived reason from the index")) != TT_OK)
            return rc;
    }
    if (g->idem != NULL) {
        if ((st = tti_sqlite_stmt(s, sql_idem_del, &rc)) == NULL)
            return rc;
        sqlite3_bind_text(st, 1, g->idem, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, g->seq);
        if ((rc = step_done(s, st, "removing an archived idempotency key")) != TT_OK)
            return rc;
    }
    if ((rc = tti_sqlite_subject_del(s, g->subject, g->seq)) != TT_OK)
        return rc;
    if ((st = tti_sqlite_stmt(s, sql_event_del, &rc)) == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, g->seq);
    return step_done(s, st, "removing an archived event body");
}

static char *dup_col(sqlite3_stmt *st, int i, int *oom)
{
    const char *v = tti_sqlite_col_text(st, i);
    char *d = v != NULL ? strdup(v) : NULL;
    *oom |= v != NULL && d == NULL;
    return d;
}

int tti_sqlite_purge(tti_store *s, int64_t first, int64_t last, tti_keep_fn keep, void *ctx,
                     int64_t *removed)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_rows, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, first);
    sqlite3_bind_int64(st, 2, last);
    gone *list = NULL;
    size_t n = 0, cap = 0;
    int oom = 0;
    /* Listed first, removed after: rows are not deleted under a running SELECT. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *entity = tti_sqlite_col_text(st, 3), *id = tti_sqlite_col_text(st, 4);
        if (keep != NULL && keep(ctx, entity ? entity : "", id ? id : ""))
            continue;
        if (n == cap) {
            size_t c = cap ? 2 * cap : 256;
            gone *p = realloc(list, c * sizeof *p);
            if (p == NULL) {
                oom = 1;
                break;
            }
            list = p;
            cap = c;
        }
        list[n].seq = sqlite3_column_int64(st, 0);
        list[n].subject = sqlite3_column_int64(st, 5);
        list[n].reason = dup_col(st, 1, &oom);
        list[n].idem = dup_col(st, 2, &oom);
        n++;
        if (oom)
            break;
    }
    sqlite3_reset(st);
    if (oom) {
        gone_free(list, n);
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    }
    if (rc != SQLITE_DONE) {
        gone_free(list, n);
        return tti_sqlite_fail(s, rc, "listing archived events");
    }
    rc = TT_OK;
    for (size_t i = 0; i < n && rc == TT_OK; i++)
        rc = remove_one(s, &list[i]);
    gone_free(list, n);
    if (rc == TT_OK)
        *removed = (int64_t)n;
    return rc;
}
