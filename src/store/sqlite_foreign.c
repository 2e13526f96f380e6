/* SPDX-License-Identifier: Apache-2.0 */
/* Read-only access to another program's SQLite database (src/store/foreign.h): the
 * trading-bot imports of SPEC 15 read freqtrade's and hummingbot's databases here. */
#include <sqlite3.h>
#include <stdlib.h>

#include "store/foreign.h"
#include "tradetrail.h"
#include "util/err.h"

struct tti_foreign {
    sqlite3 *db;
};

struct tti_frows {
    sqlite3_stmt *st;
};

int tti_foreign_open(const char *path, tti_foreign **out, char *err, size_t errlen)
{
    tti_foreign *f = calloc(1, sizeof *f);
    if (f == NULL)
        return tti_err(err, errlen, TT_ENOMEM, "out of memory");
    /* SQLITE_OPEN_READONLY: the bot may be running, and its database is never ours to
     * change; query_only refuses writes even through a statement that would try. */
    int rc = sqlite3_open_v2(path, &f->db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(f->db, 5000);
        rc = sqlite3_exec(f->db, "PRAGMA query_only = 1; SELECT count(*) FROM sqlite_master", NULL,
                          NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        /* A path that is missing or not a database is the user's input, not a failure of
         * ours (exit code 1, SPEC 10). */
        int st = rc == SQLITE_NOTADB || rc == SQLITE_CANTOPEN ? TT_EINVAL : TT_EDB;
        tti_err(err, errlen, st, "cannot read %s as an SQLite database: %s", path,
                f->db ? sqlite3_errmsg(f->db) : sqlite3_errstr(rc));
        tti_foreign_close(f);
        return st;
    }
    *out = f;
    return TT_OK;
}

void tti_foreign_close(tti_foreign *f)
{
    if (f == NULL)
        return;
    sqlite3_close(f->db);
    free(f);
}

int tti_foreign_has(tti_foreign *f, const char *table, const char *column)
{
    sqlite3_stmt *st;
    const char *sql = column ? "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2"
                             : "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1";
    if (sqlite3_prepare_v2(f->db, sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    if (column)
        sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

int tti_foreign_query(tti_foreign *f, const char *sql, tti_frows **out, char *err, size_t errlen)
{
    tti_frows *q = calloc(1, sizeof *q);
    if (q == NULL)
        return tti_err(err, errlen, TT_ENOMEM, "out of memory");
    if (sqlite3_prepare_v2(f->db, sql, -1, &q->st, NULL) != SQLITE_OK) {
        tti_err(err, errlen, TT_EDB, "reading the database: %s", sqlite3_errmsg(f->db));
        free(q);
        return TT_EDB;
    }
    *out = q;
    return TT_OK;
}

int tti_foreign_next(tti_frows *q, char *err, size_t errlen)
{
    int rc = sqlite3_step(q->st);
    if (rc == SQLITE_ROW)
        return TT_OK;
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    return tti_err(err, errlen, TT_EDB, "reading the database: %s",
                   sqlite3_errmsg(sqlite3_db_handle(q->st)));
}

const char *tti_foreign_text(tti_frows *q, int i)
{
    return (const char *)sqlite3_column_text(q->st, i);
}

int tti_foreign_is_int(tti_frows *q, int i)
{
    return sqlite3_column_type(q->st, i) == SQLITE_INTEGER;
}

int tti_foreign_is_null(tti_frows *q, int i)
{
    return sqlite3_column_type(q->st, i) == SQLITE_NULL;
}

int64_t tti_foreign_int(tti_frows *q, int i)
{
    return sqlite3_column_int64(q->st, i);
}

double tti_foreign_real(tti_frows *q, int i)
{
    return sqlite3_column_double(q->st, i);
}

void tti_foreign_finish(tti_frows *q)
{
    if (q == NULL)
        return;
    sqlite3_finalize(q->st);
    free(q);
}
