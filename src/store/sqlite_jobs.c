/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite tables and queries of the jobs work (SPEC 6.2, 7): job_runs, one row per run of a
 * scheduled or triggered job, and sync_state, the single row holding the training sync's
 * watermark and its pending batch.
 */
#include <stdlib.h>
#include <string.h>

#include "store/jobs_store.h"
#include "store/sqlite_internal.h"
#include "util/err.h"

/* Schema version 4. */
const char tti_sqlite_schema_jobs[] =
    "CREATE TABLE job_runs(id INTEGER PRIMARY KEY, name TEXT NOT NULL, trigger TEXT NOT NULL,"
    " slot INTEGER, started_seq INTEGER NOT NULL, ended_seq INTEGER,"
    " status TEXT NOT NULL CHECK (status IN ('STARTED', 'COMPLETED', 'FAILED')));"
    "CREATE INDEX job_runs_slot ON job_runs(name, slot) WHERE slot IS NOT NULL;"
    "CREATE TABLE sync_state(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " watermark INTEGER NOT NULL, batch_id TEXT, batch_from INTEGER, batch_to INTEGER,"
    " batch_count INTEGER);"
    "INSERT INTO sync_state(id, watermark) VALUES (1, 0);";

static const char sql_run_insert[] =
    "INSERT INTO job_runs(name, trigger, slot, started_seq, status) VALUES (?,?,?,?,'STARTED')";
static const char sql_run_finish[] =
    "UPDATE job_runs SET status = ?2, ended_seq = ?3 WHERE id = ?1 AND status = 'STARTED'";
static const char sql_last_slot[] =
    "SELECT max(slot) FROM job_runs WHERE name = ?1 AND slot IS NOT NULL AND status != "
    "'STARTED'";
static const char sql_sync_get[] =
    "SELECT watermark, batch_id, batch_from, batch_to, batch_count FROM sync_state WHERE id = 1";
static const char sql_sync_set[] =
    "UPDATE sync_state SET watermark = ?1, batch_id = ?2, batch_from = ?3, batch_to = ?4,"
    " batch_count = ?5 WHERE id = 1";
static const char sql_fb_range[] =
    "SELECT id, seq, ts, strategy_id, user_id, benchmark, ai_return, benchmark_return, alpha,"
    " reward, outcome FROM feedback WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3";

static int sj_run_insert(tti_store *s, const char *name, const char *trigger, int64_t slot_us,
                         int64_t started_seq, int64_t *id)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_run_insert, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, trigger, -1, SQLITE_STATIC);
    if (slot_us != TT_TIME_NONE)
        sqlite3_bind_int64(st, 3, slot_us);
    sqlite3_bind_int64(st, 4, started_seq);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "storing a job run");
    *id = sqlite3_last_insert_rowid(s->db);
    return TT_OK;
}

static int sj_run_finish(tti_store *s, int64_t id, const char *status, int64_t ended_seq)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_run_finish, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, ended_seq);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "finishing a job run");
    if (sqlite3_changes(s->db) != 1)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOTFOUND, "no started job run %lld",
                       (long long)id);
    return TT_OK;
}

static int sj_last_slot(tti_store *s, const char *name, int64_t *slot_us)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_last_slot, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    int status = TT_OK;
    if (rc != SQLITE_ROW)
        status = tti_sqlite_fail(s, rc, "reading job runs");
    else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
        status = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOTFOUND, "no scheduled run of %s", name);
    else
        *slot_us = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return status;
}

static int sj_sync_get(tti_store *s, tti_sync_state *out)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_sync_get, &rc);
    if (st == NULL)
        return rc;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE
                   ? tti_err(s->errbuf, sizeof s->errbuf, TT_EDB, "the sync_state row is missing")
                   : tti_sqlite_fail(s, rc, "reading the sync state");
    }
    memset(out, 0, sizeof *out);
    out->watermark = sqlite3_column_int64(st, 0);
    const char *b = (const char *)sqlite3_column_text(st, 1);
    if (b != NULL && strlen(b) < sizeof out->batch_id)
        memcpy(out->batch_id, b, strlen(b) + 1);
    out->batch_from = sqlite3_column_int64(st, 2);
    out->batch_to = sqlite3_column_int64(st, 3);
    out->batch_count = sqlite3_column_int64(st, 4);
    sqlite3_reset(st);
    return TT_OK;
}

static int sj_sync_set(tti_store *s, const tti_sync_state *in)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_sync_set, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, in->watermark);
    if (in->batch_id[0] != '\0') {
        sqlite3_bind_text(st, 2, in->batch_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, in->batch_from);
        sqlite3_bind_int64(st, 4, in->batch_to);
        sqlite3_bind_int64(st, 5, in->batch_count);
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? TT_OK : tti_sqlite_fail(s, rc, "writing the sync state");
}

static int sj_feedback_range(tti_store *s, int64_t first, int64_t last, size_t max,
                             tt_feedback **out, size_t *n)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_fb_range, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, first);
    sqlite3_bind_int64(st, 2, last);
    sqlite3_bind_int64(st, 3, (int64_t)max);
    void *arr = NULL;
    rc = tti_sqlite_collect(s, st, sizeof(tt_feedback), 16, &arr, n, tti_sqlite_read_feedback,
                            tti_sqlite_clear_feedback, "reading feedback records to sync");
    if (rc == TT_OK)
        *out = arr;
    return rc;
}

const struct tti_jobs_ops tti_sqlite_jobs_ops = {
    .run_insert = sj_run_insert,
    .run_finish = sj_run_finish,
    .last_slot = sj_last_slot,
    .sync_get = sj_sync_get,
    .sync_set = sj_sync_set,
    .feedback_range = sj_feedback_range,
};
