/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQLite side of a store-to-store copy (tt_store_migrate): the schema's table names,
 * and the rows of a domain table (src/store/tables.c) read and written as typed cells, ids
 * kept. Statements are built from the table's column list, which is a constant.
 */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/err.h"

static int prepare(tti_store *s, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? TT_OK : tti_sqlite_fail(s, rc, "preparing a copy statement");
}

int tti_sqlite_table_names(tti_store *s, tti_name_fn fn, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", &st);
    int step;
    while (rc == TT_OK && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = fn(ctx, tti_sqlite_col_text(st, 0));
    if (rc == TT_OK && step != SQLITE_DONE)
        rc = tti_sqlite_fail(s, step, "listing tables");
    sqlite3_finalize(st);
    return rc;
}

int tti_sqlite_table_rows(tti_store *s, const tti_table *t, tti_row_fn fn, void *ctx)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM %s ORDER BY %s", t->columns, t->name, t->order);
    size_t n = strlen(t->types);
    tti_value v[32];
    if (n > sizeof v / sizeof v[0])
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EMISUSE, "%s: too many columns", t->name);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, sql, &st);
    int step = SQLITE_DONE;
    while (rc == TT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        for (size_t i = 0; i < n; i++) {
            int col = (int)i;
            memset(&v[i], 0, sizeof v[i]);
            if (sqlite3_column_type(st, col) == SQLITE_NULL)
                continue;
            v[i].type = t->types[i] == 'f' ? 'i' : t->types[i];
            if (v[i].type == 'i')
                v[i].i = sqlite3_column_int64(st, col);
            else if (v[i].type == 'r')
                v[i].r = sqlite3_column_double(st, col);
            else {
                v[i].p = v[i].type == 'b' ? sqlite3_column_blob(st, col)
                                          : (const void *)sqlite3_column_text(st, col);
                v[i].n = (size_t)sqlite3_column_bytes(st, col);
            }
        }
        rc = fn(ctx, v, n);
    }
    if (rc == TT_OK && step != SQLITE_DONE)
        rc = tti_sqlite_fail(s, step, "reading a table to copy");
    sqlite3_finalize(st);
    return rc;
}

int tti_sqlite_table_insert(tti_store *s, const tti_table *t, const tti_value *v)
{
    char sql[768];
    size_t n = strlen(t->types);
    int len = snprintf(sql, sizeof sql, "INSERT INTO %s(%s) VALUES (", t->name, t->columns);
    for (size_t i = 0; i < n && len > 0 && (size_t)len < sizeof sql; i++)
        len += snprintf(sql + len, sizeof sql - (size_t)len, "%s?", i ? "," : "");
    if (len <= 0 || (size_t)len + 2 > sizeof sql)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EMISUSE, "%s: too many columns", t->name);
    memcpy(sql + len, ")", 2);
    int rc;
    sqlite3_stmt *st = NULL;
    /* One statement per table, cached by the table's identity for the whole copy. */
    st = tti_sqlite_stmt_keyed(s, t->name, sql, &rc);
    if (st == NULL)
        return rc;
    for (size_t i = 0; i < n; i++) {
        int col = (int)i + 1;
        if (v[i].type == 'i')
            sqlite3_bind_int64(st, col, v[i].i);
        else if (v[i].type == 'r')
            sqlite3_bind_double(st, col, v[i].r);
        else if (v[i].type == 't')
            sqlite3_bind_text(st, col, v[i].p, (int)v[i].n, SQLITE_STATIC);
        else if (v[i].type == 'b')
            sqlite3_bind_blob(st, col, v[i].n ? v[i].p : "", (int)v[i].n, SQLITE_STATIC);
    }
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    return step == SQLITE_DONE ? TT_OK : tti_sqlite_fail(s, step, "copying a row");
}

int tti_sqlite_table_done(tti_store *s, const tti_table *t)
{
    (void)s, (void)t; /* INTEGER PRIMARY KEY continues after the largest id by itself */
    return TT_OK;
}
