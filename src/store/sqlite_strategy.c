/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite tables and queries of strategies and their YAML versions (SPEC 6.1): schema
 * version 2 and the strategy operations of the SQLite backend. Versions are append-only at
 * the database level, like events; strategies are never deleted (deletion is a flag).
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "store/strategy_store.h"
#include "util/err.h"

/* Schema version 2. */
const char tti_sqlite_schema_strategy[] =
    "CREATE TABLE strategies(id TEXT PRIMARY KEY, name TEXT NOT NULL, symbol TEXT NOT NULL,"
    " timeframe TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN"
    " ('DRAFT','PENDING','ACTIVE','FAILED','CLOSED','ARCHIVED')),"
    " deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),"
    " version INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE INDEX strategies_status ON strategies(status);"
    "CREATE INDEX strategies_symbol ON strategies(symbol);"
    "CREATE TABLE strategy_versions(strategy_id TEXT NOT NULL, number INTEGER NOT NULL,"
    " content TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " change_type TEXT NOT NULL CHECK (change_type IN ('INITIAL','MANUAL_EDIT','ROLLBACK')),"
    " author TEXT NOT NULL, reason TEXT, created INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (strategy_id, number)) WITHOUT ROWID;"
    /* SPEC 6.1: a version is history; soft delete is the only way a strategy goes. */
    "CREATE TRIGGER strategy_versions_no_update BEFORE UPDATE ON strategy_versions"
    " BEGIN SELECT RAISE(ABORT, 'strategy versions are append-only'); END;"
    "CREATE TRIGGER strategy_versions_no_delete BEFORE DELETE ON strategy_versions"
    " BEGIN SELECT RAISE(ABORT, 'strategy versions are append-only'); END;"
    "CREATE TRIGGER strategies_no_delete BEFORE DELETE ON strategies"
    " BEGIN SELECT RAISE(ABORT, 'strategies are soft-deleted, never removed'); END;";

static const char sql_insert[] =
    "INSERT INTO strategies(id, name, symbol, timeframe, status, deleted, version, created,"
    " updated) VALUES (?,?,?,?,?,?,?,?,?)";
static const char sql_get[] = "SELECT id, name, symbol, timeframe, status, deleted, version,"
                              " created, updated FROM strategies WHERE id = ?";
static const char sql_update[] =
    "UPDATE strategies SET status = ?, deleted = ?, version = ?, updated = ? WHERE id = ?";
/* NULL parameters switch a filter off, so one prepared statement serves every filter. */
static const char sql_list[] =
    "SELECT id, name, symbol, timeframe, status, deleted, version, created, updated"
    " FROM strategies WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR symbol = ?2)"
    " AND (?3 OR deleted = 0) ORDER BY id LIMIT ?4";
static const char sql_version_insert[] =
    "INSERT INTO strategy_versions(strategy_id, number, content, sha256, change_type, author,"
    " reason, created, seq) VALUES (?,?,?,?,?,?,?,?,?)";
static const char sql_version_get[] =
    "SELECT strategy_id, number, sha256, change_type, author, reason, created, seq, content,"
    " length(CAST(content AS BLOB)) FROM strategy_versions WHERE strategy_id = ? AND number = ?";
static const char sql_version_list[] =
    "SELECT strategy_id, number, sha256, change_type, author, reason, created, seq, NULL,"
    " length(CAST(content AS BLOB)) FROM strategy_versions WHERE strategy_id = ?"
    " ORDER BY number";

static void bind_text(sqlite3_stmt *st, int col, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_text(st, col, v, -1, SQLITE_STATIC);
}

static int oom(tti_store *s)
{
    return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory reading strategies");
}

/* A copy of a text column, or NULL for SQL NULL; *bad set when the copy failed. */
static char *dup_col(sqlite3_stmt *st, int i, int *bad)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    if (v == NULL)
        return NULL;
    char *c = strdup(v);
    if (c == NULL)
        *bad = 1;
    return c;
}

static int read_strategy(tti_store *s, sqlite3_stmt *st, tt_strategy *out)
{
    int bad = 0;
    memset(out, 0, sizeof *out);
    out->id = dup_col(st, 0, &bad);
    out->name = dup_col(st, 1, &bad);
    out->symbol = dup_col(st, 2, &bad);
    out->timeframe = dup_col(st, 3, &bad);
    const char *status = (const char *)sqlite3_column_text(st, 4);
    if (status == NULL || tti_strategy_status_from(status, &out->status) != TT_OK)
        out->status = TT_STRATEGY_DRAFT; /* the CHECK constraint makes this unreachable */
    out->deleted = sqlite3_column_int(st, 5) != 0;
    out->version = sqlite3_column_int64(st, 6);
    out->created_us = sqlite3_column_int64(st, 7);
    out->updated_us = sqlite3_column_int64(st, 8);
    if (bad) {
        tti_strategy_clear(out);
        return oom(s);
    }
    return TT_OK;
}

static int read_version(tti_store *s, sqlite3_stmt *st, tt_strategy_version *out)
{
    int bad = 0;
    memset(out, 0, sizeof *out);
    out->strategy_id = dup_col(st, 0, &bad);
    out->number = sqlite3_column_int64(st, 1);
    const char *sha = (const char *)sqlite3_column_text(st, 2);
    if (sha != NULL && strlen(sha) < sizeof out->sha256)
        memcpy(out->sha256, sha, strlen(sha) + 1);
    out->change_type = dup_col(st, 3, &bad);
    out->author = dup_col(st, 4, &bad);
    out->reason = dup_col(st, 5, &bad);
    out->created_us = sqlite3_column_int64(st, 6);
    out->seq = sqlite3_column_int64(st, 7);
    out->content_len = (size_t)sqlite3_column_int64(st, 9);
    if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
        /* Content is text that may in principle hold any byte: copy by length. */
        const void *p = sqlite3_column_blob(st, 8);
        size_t n = (size_t)sqlite3_column_bytes(st, 8);
        out->content = malloc(n + 1);
        if (out->content == NULL)
            bad = 1;
        else {
            if (n > 0)
                memcpy(out->content, p, n);
            out->content[n] = '\0';
            out->content_len = n;
        }
    }
    if (bad) {
        tti_strategy_version_clear(out);
        return oom(s);
    }
    return TT_OK;
}

static int sq_insert(tti_store *s, const tt_strategy *v)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_insert, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, v->id);
    bind_text(st, 2, v->name);
    bind_text(st, 3, v->symbol);
    bind_text(st, 4, v->timeframe);
    bind_text(st, 5, tt_strategy_status_name(v->status));
    sqlite3_bind_int(st, 6, v->deleted != 0);
    sqlite3_bind_int64(st, 7, v->version);
    sqlite3_bind_int64(st, 8, v->created_us);
    sqlite3_bind_int64(st, 9, v->updated_us);
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        sqlite3_reset(st);
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ECONFLICT, "strategy %s already exists",
                       v->id);
    }
    if (rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "storing a strategy");
    return TT_OK;
}

static int sq_get(tti_store *s, const char *id, tt_strategy *out)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_get, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return tti_sqlite_fail(s, rc, "reading a strategy");
    rc = read_strategy(s, st, out);
    sqlite3_reset(st);
    return rc;
}

static int sq_update(tti_store *s, const tt_strategy *v)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_update, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, tt_strategy_status_name(v->status));
    sqlite3_bind_int(st, 2, v->deleted != 0);
    sqlite3_bind_int64(st, 3, v->version);
    sqlite3_bind_int64(st, 4, v->updated_us);
    bind_text(st, 5, v->id);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "updating a strategy");
    if (sqlite3_changes(s->db) != 1)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOTFOUND, "no strategy %s", v->id);
    return TT_OK;
}

static int read_strategy_any(tti_store *s, sqlite3_stmt *st, void *out)
{
    return read_strategy(s, st, out);
}

static void clear_strategy_any(void *p)
{
    tti_strategy_clear(p);
}

static int read_version_any(tti_store *s, sqlite3_stmt *st, void *out)
{
    return read_version(s, st, out);
}

static void clear_version_any(void *p)
{
    tti_strategy_version_clear(p);
}

static int sq_list(tti_store *s, const tt_strategy_filter *f, tt_strategy **out, size_t *n)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_list, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, f->status);
    bind_text(st, 2, f->symbol);
    sqlite3_bind_int(st, 3, f->include_deleted != 0);
    sqlite3_bind_int64(st, 4, (int64_t)f->limit);
    void *arr = NULL;
    rc = tti_sqlite_collect(s, st, sizeof(tt_strategy), 8, &arr, n, read_strategy_any,
                            clear_strategy_any, "listing strategies");
    if (rc == TT_OK)
        *out = arr;
    return rc;
}

static int sq_version_insert(tti_store *s, const tt_strategy_version *v)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_version_insert, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, v->strategy_id);
    sqlite3_bind_int64(st, 2, v->number);
    sqlite3_bind_text(st, 3, v->content, (int)v->content_len, SQLITE_STATIC);
    bind_text(st, 4, v->sha256);
    bind_text(st, 5, v->change_type);
    bind_text(st, 6, v->author);
    bind_text(st, 7, v->reason);
    sqlite3_bind_int64(st, 8, v->created_us);
    sqlite3_bind_int64(st, 9, v->seq);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "storing a strategy version");
    return TT_OK;
}

static int sq_version_get(tti_store *s, const char *id, int64_t number, tt_strategy_version *out)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_version_get, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, number);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return TT_ENOTFOUND;
    if (rc != SQLITE_ROW)
        return tti_sqlite_fail(s, rc, "reading a strategy version");
    rc = read_version(s, st, out);
    sqlite3_reset(st);
    return rc;
}

static int sq_version_list(tti_store *s, const char *id, tt_strategy_version **out, size_t *n)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_version_list, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, id);
    void *arr = NULL;
    rc = tti_sqlite_collect(s, st, sizeof(tt_strategy_version), 8, &arr, n, read_version_any,
                            clear_version_any, "listing strategy versions");
    if (rc == TT_OK)
        *out = arr;
    return rc;
}

const struct tti_strategy_ops tti_sqlite_strategy_ops = {
    .insert = sq_insert,
    .get = sq_get,
    .update = sq_update,
    .list = sq_list,
    .version_insert = sq_version_insert,
    .version_get = sq_version_get,
    .version_list = sq_version_list,
};
