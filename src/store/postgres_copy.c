/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL side of a store-to-store copy (tt_store_migrate): the schema's table
 * names, and the rows of a domain table (src/store/tables.c) read through a cursor in
 * blocks and written as typed parameters, ids kept; afterwards each identity column's
 * generator moves past the copied ids so new rows do not collide with them.
 */
#include <stdio.h>
#include <string.h>

#include "store/postgres_internal.h"
#include "util/err.h"

#define COPY_BLOCK 5000 /* rows per FETCH */

int tti_pg_table_names(tti_store *s, tti_name_fn fn, void *ctx)
{
    int rc = TT_OK;
    PGresult *r = tti_pg_exec(s,
                              "SELECT table_name::text FROM information_schema.tables"
                              " WHERE table_schema = current_schema()"
                              " AND table_type = 'BASE TABLE' ORDER BY 1",
                              NULL, &rc, "listing tables");
    if (r == NULL)
        return rc;
    for (int i = 0; rc == TT_OK && i < PQntuples(r); i++)
        rc = fn(ctx, PQgetvalue(r, i, 0));
    PQclear(r);
    return rc;
}

static int emit_rows(const tti_table *t, const PGresult *r, tti_row_fn fn, void *ctx)
{
    size_t n = strlen(t->types);
    tti_value v[32];
    int rc = TT_OK;
    for (int row = 0; rc == TT_OK && row < PQntuples(r); row++) {
        for (size_t i = 0; i < n; i++) {
            int col = (int)i;
            memset(&v[i], 0, sizeof v[i]);
            if (PQgetisnull(r, row, col))
                continue;
            v[i].type = t->types[i] == 'f' ? 'i' : t->types[i];
            if (v[i].type == 'i')
                v[i].i = tti_pg_int(r, row, col); /* a boolean is one byte, 0 or 1 */
            else if (v[i].type == 'r')
                v[i].r = tti_pg_real(r, row, col);
            else {
                v[i].p = PQgetvalue(r, row, col);
                v[i].n = (size_t)PQgetlength(r, row, col);
            }
        }
        rc = fn(ctx, v, n);
    }
    return rc;
}

int tti_pg_table_rows(tti_store *s, const tti_table *t, tti_row_fn fn, void *ctx)
{
    if (strlen(t->types) > 32)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EMISUSE, "%s: too many columns", t->name);
    char sql[768];
    snprintf(sql, sizeof sql, "DECLARE tt_copy NO SCROLL CURSOR FOR SELECT %s FROM %s ORDER BY %s",
             t->columns, t->name, t->order);
    int rc = TT_OK;
    /* A cursor lives in a transaction: the caller's read snapshot. */
    PGresult *r = tti_pg_exec(s, sql, NULL, &rc, "reading a table to copy");
    PQclear(r);
    if (r == NULL)
        return rc;
    for (;;) {
        snprintf(sql, sizeof sql, "FETCH %d FROM tt_copy", COPY_BLOCK);
        if ((r = tti_pg_exec(s, sql, NULL, &rc, "reading a table to copy")) == NULL)
            return rc;
        int rows = PQntuples(r);
        rc = emit_rows(t, r, fn, ctx);
        PQclear(r);
        if (rc != TT_OK || rows < COPY_BLOCK)
            break;
    }
    int crc = TT_OK;
    r = tti_pg_exec(s, "CLOSE tt_copy", NULL, &crc, "closing a copy cursor");
    PQclear(r);
    return rc != TT_OK ? rc : crc;
}

int tti_pg_table_insert(tti_store *s, const tti_table *t, const tti_value *v)
{
    char sql[768];
    size_t n = strlen(t->types);
    int len = snprintf(sql, sizeof sql, "INSERT INTO %s(%s) VALUES (", t->name, t->columns);
    for (size_t i = 0; i < n && len > 0 && (size_t)len < sizeof sql; i++)
        len += snprintf(sql + len, sizeof sql - (size_t)len, "%s$%zu", i ? "," : "", i + 1);
    if (n > 32 || len <= 0 || (size_t)len + 2 > sizeof sql)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EMISUSE, "%s: too many columns", t->name);
    memcpy(sql + len, ")", 2);
    tti_pgargs a = {.n = 0};
    char reals[32][32];
    for (size_t i = 0; i < n; i++) {
        if (v[i].type == 'i')
            tti_pg_i64(&a, v[i].i); /* "0" and "1" are booleans too */
        else if (v[i].type == 'r') {
            snprintf(reals[i], sizeof reals[i], "%.17g", v[i].r); /* round-trips exactly */
            tti_pg_text(&a, reals[i]);
        } else if (v[i].type == 'b')
            tti_pg_bytes(&a, v[i].p, v[i].n);
        else if (v[i].type == 't')
            tti_pg_bytes(&a, v[i].p, v[i].n); /* text in binary is its bytes, no NUL needed */
        else
            tti_pg_text(&a, NULL);
    }
    int rc = TT_OK;
    PGresult *r = tti_pg_exec(s, sql, &a, &rc, "copying a row");
    PQclear(r);
    return r == NULL ? rc : TT_OK;
}

int tti_pg_table_done(tti_store *s, const tti_table *t)
{
    if (t->identity == NULL)
        return TT_OK;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT setval(pg_get_serial_sequence('%s', '%s'), coalesce(max(%s), 0) + 1, false)"
             " FROM %s",
             t->name, t->identity, t->identity, t->name);
    int rc = TT_OK;
    PGresult *r = tti_pg_exec(s, sql, NULL, &rc, "moving an id generator past copied rows");
    PQclear(r);
    return r == NULL ? rc : TT_OK;
}
