/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL tables and queries of strategies and their YAML versions (SPEC 6.1), as
 * sqlite_strategy.c: schema version 5 and the strategy operations. Versions are
 * append-only at the database level, like events; strategies are never deleted (deletion
 * is a flag).
 */
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"
#include "store/records.h"
#include "store/strategy_store.h"
#include "util/err.h"

/* Schema version 5. */
const char tti_pg_schema_strategy[] =
    "CREATE TABLE strategies(id text PRIMARY KEY, name text NOT NULL, symbol text NOT NULL,"
    " timeframe text NOT NULL,"
    " status text NOT NULL CHECK (status IN"
    " ('DRAFT','PENDING','ACTIVE','FAILED','CLOSED','ARCHIVED')),"
    " deleted boolean NOT NULL DEFAULT false, version bigint NOT NULL,"
    " created bigint NOT NULL, updated bigint NOT NULL);"
    "CREATE INDEX strategies_status ON strategies(status);"
    "CREATE INDEX strategies_symbol ON strategies(symbol);"
    "CREATE TABLE strategy_versions(strategy_id text NOT NULL, number bigint NOT NULL,"
    " content text NOT NULL, sha256 text NOT NULL,"
    " change_type text NOT NULL CHECK (change_type IN ('INITIAL','MANUAL_EDIT','ROLLBACK')),"
    " author text NOT NULL, reason text, created bigint NOT NULL, seq bigint NOT NULL,"
    " PRIMARY KEY (strategy_id, number));"
    /* SPEC 6.1: a version is history; soft delete is the only way a strategy goes. */
    "CREATE TRIGGER strategy_versions_no_update BEFORE UPDATE OR DELETE ON strategy_versions"
    " FOR EACH ROW EXECUTE FUNCTION tt_append_only();"
    "CREATE TRIGGER strategy_versions_no_truncate BEFORE TRUNCATE ON strategy_versions"
    " FOR EACH STATEMENT EXECUTE FUNCTION tt_append_only();"
    "CREATE TRIGGER strategies_no_delete BEFORE DELETE ON strategies"
    " FOR EACH ROW EXECUTE FUNCTION tt_append_only();"
    "CREATE TRIGGER strategies_no_truncate BEFORE TRUNCATE ON strategies"
    " FOR EACH STATEMENT EXECUTE FUNCTION tt_append_only();";

#define ST_COLUMNS                                                                                 \
    "SELECT id, name, symbol, timeframe, status, deleted::int, version, created, updated "         \
    "FROM strategies "
#define V_COLUMNS "SELECT strategy_id, number, sha256, change_type, author, reason, created, seq, "

/* An existing id inserts nothing (no failed statement to roll back): TT_ECONFLICT. */
static const char sql_insert[] =
    "INSERT INTO strategies(id, name, symbol, timeframe, status, deleted, version, created,"
    " updated) VALUES ($1,$2,$3,$4,$5,$6::int::boolean,$7,$8,$9) ON CONFLICT (id) DO NOTHING";
static const char sql_get[] = ST_COLUMNS "WHERE id = $1";
static const char sql_update[] = "UPDATE strategies SET status = $1, deleted = $2::int::boolean,"
                                 " version = $3, updated = $4 WHERE id = $5";
/* NULL parameters switch a filter off, so one statement serves every filter. */
static const char sql_list[] =
    ST_COLUMNS "WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR symbol = $2)"
               " AND ($3::int <> 0 OR NOT deleted) ORDER BY id LIMIT $4";
static const char sql_version_insert[] =
    "INSERT INTO strategy_versions(strategy_id, number, content, sha256, change_type, author,"
    " reason, created, seq) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)";
static const char sql_version_get[] = V_COLUMNS "content, octet_length(content)"
                                                " FROM strategy_versions"
                                                " WHERE strategy_id = $1 AND number = $2";
static const char sql_version_list[] = V_COLUMNS "NULL::text, octet_length(content)"
                                                 " FROM strategy_versions"
                                                 " WHERE strategy_id = $1 ORDER BY number";

static int oom(tti_store *s)
{
    return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory reading strategies");
}

static char *dup_cell(const PGresult *r, int row, int col, int *bad)
{
    const char *v = tti_pg_str(r, row, col);
    if (v == NULL)
        return NULL;
    char *c = strdup(v);
    *bad |= c == NULL;
    return c;
}

static int read_strategy(const PGresult *r, int row, tt_strategy *out)
{
    int bad = 0;
    memset(out, 0, sizeof *out);
    out->id = dup_cell(r, row, 0, &bad);
    out->name = dup_cell(r, row, 1, &bad);
    out->symbol = dup_cell(r, row, 2, &bad);
    out->timeframe = dup_cell(r, row, 3, &bad);
    const char *status = tti_pg_str(r, row, 4);
    if (status == NULL || tti_strategy_status_from(status, &out->status) != TT_OK)
        out->status = TT_STRATEGY_DRAFT; /* the CHECK constraint makes this unreachable */
    out->deleted = tti_pg_int(r, row, 5) != 0;
    out->version = tti_pg_int(r, row, 6);
    out->created_us = tti_pg_int(r, row, 7);
    out->updated_us = tti_pg_int(r, row, 8);
    if (bad)
        tti_strategy_clear(out);
    return bad;
}

static int read_version(const PGresult *r, int row, tt_strategy_version *out)
{
    int bad = 0;
    memset(out, 0, sizeof *out);
    out->strategy_id = dup_cell(r, row, 0, &bad);
    out->number = tti_pg_int(r, row, 1);
    const char *sha = tti_pg_str(r, row, 2);
    if (sha != NULL && strlen(sha) < sizeof out->sha256)
        memcpy(out->sha256, sha, strlen(sha) + 1);
    out->change_type = dup_cell(r, row, 3, &bad);
    out->author = dup_cell(r, row, 4, &bad);
    out->reason = dup_cell(r, row, 5, &bad);
    out->created_us = tti_pg_int(r, row, 6);
    out->seq = tti_pg_int(r, row, 7);
    out->content_len = (size_t)tti_pg_int(r, row, 9);
    if (!PQgetisnull(r, row, 8)) {
        size_t n = (size_t)PQgetlength(r, row, 8);
        if ((out->content = malloc(n + 1)) == NULL) {
            bad = 1;
        } else {
            memcpy(out->content, PQgetvalue(r, row, 8), n);
            out->content[n] = '\0';
            out->content_len = n;
        }
    }
    if (bad)
        tti_strategy_version_clear(out);
    return bad;
}

static int st_insert(tti_store *s, const tt_strategy *v)
{
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, v->id);
    tti_pg_text(&a, v->name);
    tti_pg_text(&a, v->symbol);
    tti_pg_text(&a, v->timeframe);
    tti_pg_text(&a, tt_strategy_status_name(v->status));
    tti_pg_i64(&a, v->deleted != 0);
    tti_pg_i64(&a, v->version);
    tti_pg_i64(&a, v->created_us);
    tti_pg_i64(&a, v->updated_us);
    int rc;
    PGresult *r = tti_pg_exec(s, sql_insert, &a, &rc, "storing a strategy");
    if (r == NULL)
        return rc;
    rc = strcmp(PQcmdTuples(r), "1") == 0 ? TT_OK
                                          : tti_err(s->errbuf, sizeof s->errbuf, TT_ECONFLICT,
                                                    "strategy %s already exists", v->id);
    PQclear(r);
    return rc;
}

static int st_get(tti_store *s, const char *id, tt_strategy *out)
{
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, id);
    int rc;
    PGresult *r = tti_pg_exec(s, sql_get, &a, &rc, "reading a strategy");
    if (r == NULL)
        return rc;
    rc = PQntuples(r) == 0 ? TT_ENOTFOUND : read_strategy(r, 0, out) ? oom(s) : TT_OK;
    PQclear(r);
    return rc;
}

static int st_update(tti_store *s, const tt_strategy *v)
{
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, tt_strategy_status_name(v->status));
    tti_pg_i64(&a, v->deleted != 0);
    tti_pg_i64(&a, v->version);
    tti_pg_i64(&a, v->updated_us);
    tti_pg_text(&a, v->id);
    int rc;
    PGresult *r = tti_pg_exec(s, sql_update, &a, &rc, "updating a strategy");
    if (r == NULL)
        return rc;
    rc = strcmp(PQcmdTuples(r), "1") == 0
             ? TT_OK
             : tti_err(s->errbuf, sizeof s->errbuf, TT_ENOTFOUND, "no strategy %s", v->id);
    PQclear(r);
    return rc;
}

static int st_list(tti_store *s, const tt_strategy_filter *f, tt_strategy **out, size_t *n)
{
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, f->status);
    tti_pg_text(&a, f->symbol);
    tti_pg_i64(&a, f->include_deleted != 0);
    tti_pg_i64(&a, (int64_t)f->limit);
    int rc;
    PGresult *r = tti_pg_exec(s, sql_list, &a, &rc, "listing strategies");
    if (r == NULL)
        return rc;
    size_t cnt = (size_t)PQntuples(r), i = 0;
    tt_strategy *arr = calloc(cnt ? cnt : 1, sizeof *arr);
    int bad = arr == NULL;
    for (; !bad && i < cnt; i++)
        bad = read_strategy(r, (int)i, &arr[i]);
    PQclear(r);
    if (bad) {
        for (size_t k = 0; arr != NULL && k < i; k++)
            tti_strategy_clear(&arr[k]);
        free(arr);
        return oom(s);
    }
    *out = arr;
    *n = cnt;
    return TT_OK;
}

static int st_version_insert(tti_store *s, const tt_strategy_version *v)
{
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, v->strategy_id);
    tti_pg_i64(&a, v->number);
    /* The content by its length: text in binary format is its bytes. */
    a.v[a.n] = v->content != NULL ? v->content : "";
    a.len[a.n] = (int)v->content_len;
    a.fmt[a.n++] = 1;
    tti_pg_text(&a, v->sha256);
    tti_pg_text(&a, v->change_type);
    tti_pg_text(&a, v->author);
    tti_pg_text(&a, v->reason);
    tti_pg_i64(&a, v->created_us);
    tti_pg_i64(&a, v->seq);
    int rc = TT_OK;
    PQclear(tti_pg_exec(s, sql_version_insert, &a, &rc, "storing a strategy version"));
    return rc;
}

static int st_version_get(tti_store *s, const char *id, int64_t number, tt_strategy_version *out)
{
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, id);
    tti_pg_i64(&a, number);
    int rc;
    PGresult *r = tti_pg_exec(s, sql_version_get, &a, &rc, "reading a strategy version");
    if (r == NULL)
        return rc;
    rc = PQntuples(r) == 0 ? TT_ENOTFOUND : read_version(r, 0, out) ? oom(s) : TT_OK;
    PQclear(r);
    return rc;
}

static int st_version_list(tti_store *s, const char *id, tt_strategy_version **out, size_t *n)
{
    tti_pgargs a = {.n = 0};
    tti_pg_text(&a, id);
    int rc;
    PGresult *r = tti_pg_exec(s, sql_version_list, &a, &rc, "listing strategy versions");
    if (r == NULL)
        return rc;
    size_t cnt = (size_t)PQntuples(r), i = 0;
    tt_strategy_version *arr = calloc(cnt ? cnt : 1, sizeof *arr);
    int bad = arr == NULL;
    for (; !bad && i < cnt; i++)
        bad = read_version(r, (int)i, &arr[i]);
    PQclear(r);
    if (bad) {
        for (size_t k = 0; arr != NULL && k < i; k++)
            tti_strategy_version_clear(&arr[k]);
        free(arr);
        return oom(s);
    }
    *out = arr;
    *n = cnt;
    return TT_OK;
}

const struct tti_strategy_ops tti_pg_strategy_ops = {
    .insert = st_insert,
    .get = st_get,
    .update = st_update,
    .list = st_list,
    .version_insert = st_version_insert,
    .version_get = st_version_get,
    .version_list = st_version_list,
};
