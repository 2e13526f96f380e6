/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite tables and queries of the notification outbox (SPEC 7): one row per channel and
 * triggering event, with its retry state (attempts, next attempt, Discord parts done), so
 * delivery survives restarts. The partial index keeps the worker's "what is due" query a
 * short index scan however many delivered rows accumulate.
 */
#include <stdlib.h>
#include <string.h>

#include "store/notify_store.h"
#include "store/sqlite_internal.h"
#include "util/err.h"

/* Schema version 5. Webhook and SMTP URLs are secrets and never stored here: the
 * delivering process takes them from its configuration. */
const char tti_sqlite_schema_notify[] =
    "CREATE TABLE outbox(id INTEGER PRIMARY KEY,"
    " channel TEXT NOT NULL CHECK (channel IN ('slack', 'discord', 'generic', 'email')),"
    " seq INTEGER NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,"
    " created_us INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " parts_done INTEGER NOT NULL DEFAULT 0, next_us INTEGER NOT NULL,"
    " delivered_us INTEGER, last_error TEXT);"
    "CREATE INDEX outbox_due ON outbox(next_us) WHERE delivered_us IS NULL;";

/* Schema version 13: the Telegram channels (SPEC 15). SQLite cannot change a CHECK in place,
 * so the table is rebuilt with the same columns, rows and index. */
const char tti_sqlite_schema_outbox_telegram[] =
    "CREATE TABLE outbox_v13(id INTEGER PRIMARY KEY,"
    " channel TEXT NOT NULL CHECK (channel IN ('slack', 'discord', 'generic', 'email',"
    " 'telegram', 'telegram_errors')),"
    " seq INTEGER NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,"
    " created_us INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " parts_done INTEGER NOT NULL DEFAULT 0, next_us INTEGER NOT NULL,"
    " delivered_us INTEGER, last_error TEXT);"
    "INSERT INTO outbox_v13 SELECT id, channel, seq, subject, body, created_us, attempts,"
    " parts_done, next_us, delivered_us, last_error FROM outbox;"
    "DROP TABLE outbox;"
    "ALTER TABLE outbox_v13 RENAME TO outbox;"
    "CREATE INDEX outbox_due ON outbox(next_us) WHERE delivered_us IS NULL;";

static const char sql_enqueue[] =
    "INSERT INTO outbox(channel, seq, subject, body, created_us, next_us)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_next_due[] = "SELECT min(next_us) FROM outbox WHERE delivered_us IS NULL"
                                   " AND channel IN (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_claim[] =
    "SELECT id, channel, seq, subject, body, created_us, attempts, parts_done FROM outbox"
    " WHERE delivered_us IS NULL AND next_us <= ?7 AND channel IN (?1, ?2, ?3, ?4, ?5, ?6)"
    " ORDER BY next_us, id LIMIT ?8";
static const char sql_lease[] = "UPDATE outbox SET next_us = ?2 WHERE id = ?1";
static const char sql_update[] =
    "UPDATE outbox SET delivered_us = ?2, attempts = ?3, parts_done = ?4, next_us = ?5,"
    " last_error = coalesce(?6, last_error) WHERE id = ?1";
static const char sql_pending[] = "SELECT count(*) FROM outbox WHERE delivered_us IS NULL";

static const char *const channel_names[TTI_OUTBOX_NCHANNELS] = {
    "slack", "discord", "generic", "email", "telegram", "telegram_errors"};

static void bind_channels(sqlite3_stmt *st, unsigned channels)
{
    for (int i = 0; i < TTI_OUTBOX_NCHANNELS; i++)
        if (channels & (1u << i))
            sqlite3_bind_text(st, i + 1, channel_names[i], -1, SQLITE_STATIC);
}

static int enqueue(tti_store *s, const tti_outbox_row *row, int64_t next_us)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_enqueue, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_text(st, 1, row->channel, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, row->seq);
    sqlite3_bind_text(st, 3, row->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, row->body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, row->created_us);
    sqlite3_bind_int64(st, 6, next_us);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? TT_OK : tti_sqlite_fail(s, rc, "queueing a notification");
}

static int next_due(tti_store *s, unsigned channels, int64_t *next_us)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_next_due, &rc);
    if (st == NULL)
        return rc;
    bind_channels(st, channels);
    rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    if (found)
        *next_us = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return tti_sqlite_fail(s, rc, "reading the notification outbox");
    return found ? TT_OK : TT_ENOTFOUND;
}

static char *dup_col(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return strdup(t != NULL ? (const char *)t : "");
}

static int claim(tti_store *s, unsigned channels, int64_t now_us, int64_t lease_us, int max,
                 tti_outbox_row **rows, size_t *n)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_claim, &rc);
    if (st == NULL)
        return rc;
    tti_outbox_row *arr = calloc((size_t)max, sizeof *arr);
    if (arr == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    bind_channels(st, channels);
    sqlite3_bind_int64(st, 7, now_us);
    sqlite3_bind_int64(st, 8, max);
    size_t cnt = 0;
    int status = TT_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && cnt < (size_t)max) {
        tti_outbox_row *r = &arr[cnt++];
        r->id = sqlite3_column_int64(st, 0);
        r->channel = dup_col(st, 1);
        r->seq = sqlite3_column_int64(st, 2);
        r->subject = dup_col(st, 3);
        r->body = dup_col(st, 4);
        r->created_us = sqlite3_column_int64(st, 5);
        r->attempts = sqlite3_column_int(st, 6);
        r->parts_done = sqlite3_column_int(st, 7);
        if (r->channel == NULL || r->subject == NULL || r->body == NULL) {
            status = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
            break;
        }
    }
    if (status == TT_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        status = tti_sqlite_fail(s, rc, "claiming notifications");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (size_t i = 0; status == TT_OK && i < cnt; i++) {
        sqlite3_stmt *up = tti_sqlite_stmt(s, sql_lease, &status);
        if (up == NULL)
            break;
        sqlite3_bind_int64(up, 1, arr[i].id);
        sqlite3_bind_int64(up, 2, lease_us);
        rc = sqlite3_step(up);
        sqlite3_reset(up);
        if (rc != SQLITE_DONE)
            status = tti_sqlite_fail(s, rc, "leasing a notification");
    }
    if (status != TT_OK) {
        tti_outbox_rows_free(arr, cnt);
        return status;
    }
    *rows = arr;
    *n = cnt;
    return TT_OK;
}

static int update(tti_store *s, int64_t id, int64_t delivered_us, int attempts, int parts_done,
                  int64_t next_us, const char *error)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_update, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    if (delivered_us > 0)
        sqlite3_bind_int64(st, 2, delivered_us);
    sqlite3_bind_int(st, 3, attempts);
    sqlite3_bind_int(st, 4, parts_done);
    sqlite3_bind_int64(st, 5, next_us);
    if (error != NULL)
        sqlite3_bind_text(st, 6, error, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? TT_OK : tti_sqlite_fail(s, rc, "updating a notification");
}

static int pending(tti_store *s, int64_t *n)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_pending, &rc);
    if (st == NULL)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? TT_OK : tti_sqlite_fail(s, rc, "counting pending notifications");
}

const struct tti_notify_ops tti_sqlite_notify_ops = {
    .enqueue = enqueue,
    .next_due = next_due,
    .claim = claim,
    .update = update,
    .pending = pending,
};
