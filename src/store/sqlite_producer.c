/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite tables of completeness per producer (SPEC 15): the producer and producer_seq
 * columns of events, and producers, one row of state per producer (store/producer_store.h).
 */
#include <stdio.h>
#include <string.h>

#include "store/producer_store.h"
#include "store/sqlite_internal.h"
#include "util/err.h"

/* Schema version 11. The new columns are NULL on every existing row: such events keep their
 * leaf bytes (docs/FORMAT.md, version 3 only for events with a producer). */
const char tti_sqlite_schema_producer[] =
    "ALTER TABLE events ADD COLUMN producer TEXT;"
    "ALTER TABLE events ADD COLUMN producer_seq INTEGER;"
    "CREATE TABLE producers(name TEXT PRIMARY KEY, last_seq INTEGER NOT NULL,"
    " last_event INTEGER NOT NULL, last_seen INTEGER NOT NULL, timeout INTEGER NOT NULL,"
    " silent INTEGER NOT NULL, gaps INTEGER NOT NULL, missing INTEGER NOT NULL,"
    " repeats INTEGER NOT NULL, restarts INTEGER NOT NULL, silences INTEGER NOT NULL)"
    " WITHOUT ROWID;";

#define COLUMNS                                                                                    \
    "name, last_seq, last_event, last_seen, timeout, silent, gaps, missing, repeats, restarts, "   \
    "silences"
static const char sql_get[] = "SELECT " COLUMNS " FROM producers WHERE name = ?";
static const char sql_put[] =
    "INSERT OR REPLACE INTO producers(" COLUMNS ") VALUES (?,?,?,?,?,?,?,?,?,?,?)";
static const char sql_list[] = "SELECT " COLUMNS " FROM producers ORDER BY name";

static int read_row(tti_store *s, sqlite3_stmt *st, void *row)
{
    (void)s;
    tt_producer *p = row;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", (const char *)sqlite3_column_text(st, 0));
    int64_t *v[] = {&p->last_seq, &p->last_event, &p->last_seen_us, &p->timeout_s, NULL,
                    &p->gaps,     &p->missing,    &p->repeats,      &p->restarts,  &p->silences};
    for (int i = 0; i < 10; i++)
        if (v[i] != NULL)
            *v[i] = sqlite3_column_int64(st, i + 1);
    p->silent = sqlite3_column_int(st, 5);
    return TT_OK;
}

static void clear_row(void *row)
{
    (void)row;
}

static int sp_get(tti_store *s, const char *name, tt_producer *out)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_get, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = read_row(s, st, out);
    else if (rc == SQLITE_DONE)
        rc = TT_ENOTFOUND;
    else
        rc = tti_sqlite_fail(s, rc, "reading a producer");
    sqlite3_reset(st);
    return rc;
}

static int sp_put(tti_store *s, const tt_producer *p)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_put, &rc);
    if (st == NULL)
        return rc;
    const int64_t v[] = {p->last_seq, p->last_event, p->last_seen_us, p->timeout_s, p->silent,
                         p->gaps,     p->missing,    p->repeats,      p->restarts,  p->silences};
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
    for (int i = 0; i < 10; i++)
        sqlite3_bind_int64(st, i + 2, v[i]);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? TT_OK : tti_sqlite_fail(s, rc, "storing a producer");
}

static int sp_list(tti_store *s, tt_producer **out, size_t *n)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_list, &rc);
    if (st == NULL)
        return rc;
    void *arr = NULL;
    rc = tti_sqlite_collect(s, st, sizeof(tt_producer), 8, &arr, n, read_row, clear_row,
                            "listing producers");
    if (rc == TT_OK)
        *out = arr;
    return rc;
}

const struct tti_producer_ops tti_sqlite_producer_ops = {
    .get = sp_get,
    .put = sp_put,
    .list = sp_list,
};
