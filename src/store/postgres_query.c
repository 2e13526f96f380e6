/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading events and checkpoints from the PostgreSQL backend: the query builder behind
 * tt_ledger_query (every value a parameter, only fixed SQL fragments in the text), scans
 * for verification through a cursor fetched in blocks, time bounds and counts. Interned
 * names are resolved by joins in the database, one result per block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"
#include "store/records.h"
#include "util/err.h"

/* A name id no row holds resolves to a text no name can be (a C0 control character), so
 * verify reports the event at this seq as not what was hashed (as the SQLite backend). */
#define MISSING "chr(1) || '(missing interned name)'"
#define NAMED(alias, col)                                                                          \
    "CASE WHEN e." col " IS NULL THEN NULL ELSE coalesce(" alias ".value, " MISSING ") END"
#define EVENT_LIST                                                                                 \
    "SELECT e.seq, e.ts, coalesce(ne.value, " MISSING "), coalesce(sj.entity_id, " MISSING "), "   \
    "coalesce(nt.value, " MISSING "), coalesce(na.value, " MISSING                                 \
    "), " NAMED("no", "old_status") ", " NAMED(                                                    \
        "nn", "new_status") ", e.reason, e.metadata, e.occurred_at, e.idem, e.leaf_hash, "         \
                            "e.principal, e.producer, e.producer_seq "
#define EVENT_NAMES                                                                                \
    "LEFT JOIN names ne ON ne.id = e.entity LEFT JOIN subjects sj ON sj.id = e.subject "           \
    "LEFT JOIN names nt ON nt.id = e.event_type LEFT JOIN names na ON na.id = e.actor "            \
    "LEFT JOIN names no ON no.id = e.old_status LEFT JOIN names nn ON nn.id = e.new_status "
#define EVENT_COLUMNS EVENT_LIST "FROM events e " EVENT_NAMES

/* Rows fetched per round trip of a scan: a verify of a million events makes 500. */
#define SCAN_BLOCK 2000

/* The reason index's expression (schema version 1): the same words on both sides, each
 * query word a prefix from 3 characters on (tt_search_terms). */
#define REASON_MATCH                                                                               \
    " AND e.reason IS NOT NULL AND e.reason <> '' AND to_tsvector('simple', tt_words(e.reason)) "  \
    "@@ to_tsquery('simple', tt_search_terms("

static int iter_new(tti_store *s, int kind, tti_store_iter **out)
{
    tti_store_iter *it = calloc(1, sizeof *it);
    if (it == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    it->s = s;
    it->kind = kind;
    *out = it;
    return TT_OK;
}

/* The next row of the iterator, fetching the cursor's next block when one is open.
 * TT_ENOTFOUND at the end. */
static int next_row(tti_store_iter *it, const char *what)
{
    if (it->res != NULL && it->row + 1 < it->nrows) {
        it->row++;
        return TT_OK;
    }
    if (it->cursor[0] == '\0' || it->done)
        return TT_ENOTFOUND;
    PQclear(it->res);
    it->res = NULL;
    char sql[64];
    snprintf(sql, sizeof sql, "FETCH %d FROM %s", SCAN_BLOCK, it->cursor);
    int rc;
    if ((it->res = tti_pg_exec(it->s, sql, NULL, &rc, what)) == NULL)
        return rc;
    it->nrows = PQntuples(it->res);
    it->row = 0;
    if (it->nrows < SCAN_BLOCK)
        it->done = 1;
    return it->nrows > 0 ? TT_OK : TT_ENOTFOUND;
}

int tti_pg_read_cp(tti_store *s, const PGresult *r, int row, tti_cp_row *out);
int tti_pg_read_cp(tti_store *s, const PGresult *r, int row, tti_cp_row *out)
{
    out->tree_size = tti_pg_int(r, row, 0); /* named in the report even when bad */
    if (PQgetlength(r, row, 2) != TT_HASH_SIZE)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ETAMPERED,
                       "checkpoint %lld has a malformed root", (long long)out->tree_size);
    out->ts_us = tti_pg_int(r, row, 1);
    memcpy(out->root, PQgetvalue(r, row, 2), TT_HASH_SIZE);
    out->note = PQgetvalue(r, row, 3);
    return TT_OK;
}

int tti_pg_latest_checkpoint(tti_store *s, tti_cp_row *out)
{
    int rc;
    PGresult *r = tti_pg_run(s, TTI_PG_CP_LATEST, NULL, &rc, "reading the latest checkpoint");
    if (r == NULL)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return TT_ENOTFOUND;
    }
    tti_cp_row row;
    if ((rc = tti_pg_read_cp(s, r, 0, &row)) == TT_OK) {
        row.note = strdup(row.note);
        if (row.note == NULL)
            rc = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    }
    PQclear(r);
    if (rc == TT_OK)
        *out = row;
    return rc;
}

/* A cursor when the connection is inside a transaction (verify's snapshot), else one
 * result: a cursor lives only as long as its transaction. */
static int open_scan(tti_store *s, tti_store_iter *it, const char *sql, const tti_pgargs *a,
                     const char *what)
{
    int rc;
    if (PQtransactionStatus(s->conn) == PQTRANS_INTRANS) {
        tti_buf decl;
        tti_buf_init(&decl, TTI_STORE_SQL_MAX);
        snprintf(it->cursor, sizeof it->cursor, "tt_scan%u", ++s->cursors);
        tti_buf_printf(&decl, "DECLARE %s NO SCROLL CURSOR FOR ", it->cursor);
        tti_buf_adds(&decl, sql);
        PGresult *r = NULL;
        if (decl.failed == TTI_BUF_TOOBIG)
            rc = tti_err(s->errbuf, sizeof s->errbuf, TT_EINVAL, "%s: query too long", what);
        else if (decl.failed)
            rc = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
        else
            r = tti_pg_exec(s, decl.data, a, &rc, what);
        tti_buf_free(&decl);
        PQclear(r);
        if (r == NULL) {
            it->cursor[0] = '\0';
            return rc;
        }
        it->row = -1;
        return TT_OK;
    }
    if ((it->res = tti_pg_exec(s, sql, a, &rc, what)) == NULL)
        return rc;
    it->nrows = PQntuples(it->res);
    it->row = -1;
    return TT_OK;
}

int tti_pg_checkpoints_iter(tti_store *s, tti_store_iter **out)
{
    tti_store_iter *it = NULL;
    int rc = iter_new(s, 1, &it);
    if (rc == TT_OK && (rc = open_scan(s, it,
                                       "SELECT tree_size, ts, root, note FROM checkpoints "
                                       "ORDER BY tree_size",
                                       NULL, "reading checkpoints")) != TT_OK) {
        tti_pg_iter_free(it);
        return rc;
    }
    if (rc == TT_OK)
        *out = it;
    return rc;
}

int tti_pg_checkpoints_next(tti_store_iter *it, tti_cp_row *out)
{
    int rc = next_row(it, "reading checkpoints");
    return rc == TT_OK ? tti_pg_read_cp(it->s, it->res, it->row, out) : rc;
}

int tti_pg_scan(tti_store *s, int64_t first, tti_store_iter **out)
{
    int rc = tti_pg_flush(s);
    tti_store_iter *it = NULL;
    if (rc != TT_OK || (rc = iter_new(s, 2, &it)) != TT_OK)
        return rc;
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, first);
    if ((rc = open_scan(s, it, EVENT_COLUMNS "WHERE e.seq >= $1 ORDER BY e.seq", &a,
                        "reading events")) != TT_OK) {
        tti_pg_iter_free(it);
        return rc;
    }
    *out = it;
    return TT_OK;
}

typedef struct qbuild {
    tti_buf sql;
    tti_pgargs a;
    int empty; /* a filter names something never recorded: no rows */
} qbuild;

/* A parameter bound before, by its number. */
static void qref(qbuild *b, const char *before, int num, const char *after)
{
    tti_buf_adds(&b->sql, before);
    tti_buf_printf(&b->sql, "$%d", num);
    tti_buf_adds(&b->sql, after);
}

/* Only fixed fragments and parameter numbers go into the text; every value is bound. */
static void qparam(qbuild *b, const char *before, const char *after)
{
    qref(b, before, b->a.n, after);
}

static void qint(qbuild *b, const char *before, int64_t v)
{
    tti_pg_i64(&b->a, v);
    qparam(b, before, "");
}

static void qtext(qbuild *b, const char *before, const char *v, const char *after)
{
    tti_pg_text(&b->a, v);
    qparam(b, before, after);
}

static int q_name(tti_store *s, qbuild *b, int kind, const char *value, const char *col)
{
    if (value == NULL)
        return TT_OK;
    int64_t id;
    int rc = tti_pg_lookup_name(s, kind, value, &id);
    if (rc != TT_OK)
        return rc;
    if (id == 0)
        b->empty = 1;
    qint(b, col, id);
    return TT_OK;
}

static int q_types(tti_store *s, qbuild *b, const tt_query *q)
{
    if (q->n_event_types == 0)
        return TT_OK;
    int any = 0;
    tti_buf_adds(&b->sql, " AND e.event_type IN (");
    for (size_t i = 0; i < q->n_event_types && i < TT_MAX_QUERY_TYPES; i++) {
        int64_t id;
        int rc = tti_pg_lookup_name(s, 2, q->event_types[i], &id);
        if (rc != TT_OK)
            return rc;
        any |= id != 0;
        qint(b, i ? "," : "", id);
    }
    tti_buf_adds(&b->sql, ")");
    if (!any)
        b->empty = 1;
    return TT_OK;
}

static void q_seq_bound(void *ctx, const char *op, int64_t v)
{
    qbuild *b = ctx;
    tti_buf_printf(&b->sql, " AND e.seq %s ", op);
    qint(b, "", v);
}

static int q_seq_bounds(tti_store *s, qbuild *b, const tt_query *q)
{
    return tti_store_seq_bounds(s, q, tti_pg_seq_at_ts, q_seq_bound, b);
}

/* Does text hold a word tt_words() keeps? Letters and digits, or any non-ASCII byte (the
 * database decides which of those are letters). Only punctuation matches nothing, as on
 * SQLite. */
static int has_word(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            *p >= 0x80)
            return 1;
    return 0;
}

/* With an entity_id, each of its subjects (one per entity it is recorded under) is walked
 * on its own, newest (or oldest) first along events(subject, seq) with the filters, up to
 * the page's limit; the page is the first rows of those, and only its rows are joined to
 * their names. Written as "subject IN (…) ORDER BY seq LIMIT", the planner walked the
 * primary key backwards instead and tested every event's subject: 120 ms for a page of an
 * entity_id with one event in a thousand, at 300,000 events, and in proportion to the
 * events between two of its own. */
static void q_subject_open(qbuild *b)
{
    tti_buf_adds(&b->sql,
                 EVENT_LIST "FROM (SELECT p.seq FROM subjects sj0 CROSS JOIN LATERAL (SELECT e.seq "
                            "FROM events e WHERE e.subject = sj0.id");
}

static int q_subject_close(tti_store *s, qbuild *b, const tt_query *q, const char *dir, int limit)
{
    int64_t entity = 0;
    int rc = q->entity ? tti_pg_lookup_name(s, 1, q->entity, &entity) : TT_OK;
    if (rc != TT_OK)
        return rc;
    if (q->entity != NULL && entity == 0)
        b->empty = 1;
    tti_buf_adds(&b->sql, " ORDER BY e.seq");
    tti_buf_adds(&b->sql, dir);
    qref(b, " LIMIT ", limit, ") p");
    qtext(b, " WHERE sj0.entity_id = ", q->entity_id, "");
    qint(b, " AND (", entity);
    qparam(b, " = 0 OR sj0.entity = ", ")");
    tti_buf_adds(&b->sql, " ORDER BY p.seq");
    tti_buf_adds(&b->sql, dir);
    qref(b, " LIMIT ", limit, ") x JOIN events e ON e.seq = x.seq " EVENT_NAMES "WHERE true");
    return TT_OK;
}

static int build_query(tti_store *s, const tt_query *q, qbuild *b)
{
    int rc;
    const char *dir = q->order == TT_ORDER_DESC ? " DESC" : " ASC";
    tti_pg_i64(&b->a, (int64_t)(q->limit ? q->limit : 100)); /* $1: every LIMIT's */
    if (q->entity_id != NULL)
        q_subject_open(b);
    else {
        tti_buf_adds(&b->sql, EVENT_COLUMNS "WHERE true");
        if ((rc = q_name(s, b, 1, q->entity, " AND e.entity = ")) != TT_OK)
            return rc;
    }
    if ((rc = q_types(s, b, q)) != TT_OK ||
        (rc = q_name(s, b, 3, q->actor, " AND e.actor = ")) != TT_OK ||
        (rc = q_seq_bounds(s, b, q)) != TT_OK)
        return rc;
    if (q->text != NULL && q->text[strspn(q->text, " \t\r\n")] != '\0') {
        if (!has_word(q->text))
            b->empty = 1;
        qtext(b, REASON_MATCH, q->text, "))");
    }
    if (q->entity_id != NULL && (rc = q_subject_close(s, b, q, dir, 1)) != TT_OK)
        return rc;
    tti_buf_adds(&b->sql, " ORDER BY e.seq");
    tti_buf_adds(&b->sql, dir);
    qref(b, " LIMIT ", 1, "");
    if (b->sql.failed)
        return tti_store_sql_failed(s->errbuf, sizeof s->errbuf, b->sql.failed);
    return TT_OK;
}

int tti_pg_query(tti_store *s, const tt_query *q, tti_store_iter **out)
{
    int rc = tti_pg_flush(s);
    if (rc != TT_OK)
        return rc;
    qbuild *b = calloc(1, sizeof *b);
    if (b == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    tti_buf_init(&b->sql, TTI_STORE_SQL_MAX);
    tti_store_iter *it = NULL;
    if ((rc = build_query(s, q, b)) == TT_OK && (rc = iter_new(s, 2, &it)) == TT_OK && !b->empty) {
        if ((it->res = tti_pg_exec(s, b->sql.data, &b->a, &rc, "querying events")) != NULL)
            it->nrows = PQntuples(it->res);
    }
    tti_buf_free(&b->sql);
    free(b);
    if (rc != TT_OK) {
        tti_pg_iter_free(it);
        return rc;
    }
    it->row = -1;
    *out = it;
    return TT_OK;
}

int tti_pg_iter_next(tti_store_iter *it, const tt_event **ev)
{
    int rc = next_row(it, "reading events");
    if (rc != TT_OK)
        return rc;
    const PGresult *r = it->res;
    int i = it->row;
    tt_event *e = &it->ev;
    e->seq = tti_pg_int(r, i, 0);
    e->ts_us = tti_pg_int(r, i, 1);
    e->entity = tti_pg_str(r, i, 2);
    e->entity_id = tti_pg_str(r, i, 3);
    e->event_type = tti_pg_str(r, i, 4);
    e->actor = tti_pg_str(r, i, 5);
    e->old_status = tti_pg_str(r, i, 6);
    e->new_status = tti_pg_str(r, i, 7);
    e->reason = tti_pg_str(r, i, 8);
    e->metadata = tti_pg_str(r, i, 9);
    e->occurred_at_us = PQgetisnull(r, i, 10) ? TT_TIME_NONE : tti_pg_int(r, i, 10);
    e->idempotency_key = tti_pg_str(r, i, 11);
    memset(e->leaf_hash, 0, TT_HASH_SIZE);
    if (PQgetlength(r, i, 12) == TT_HASH_SIZE)
        memcpy(e->leaf_hash, PQgetvalue(r, i, 12), TT_HASH_SIZE);
    e->principal = tti_pg_str(r, i, 13);
    e->producer = tti_pg_str(r, i, 14);
    e->producer_seq = PQgetisnull(r, i, 15) ? 0 : tti_pg_int(r, i, 15);
    *ev = e;
    return TT_OK;
}

void tti_pg_iter_free(tti_store_iter *it)
{
    if (it == NULL)
        return;
    PQclear(it->res);
    if (it->cursor[0] != '\0' && PQtransactionStatus(it->s->conn) == PQTRANS_INTRANS) {
        char sql[64];
        snprintf(sql, sizeof sql, "CLOSE %s", it->cursor);
        PQclear(PQexec(it->s->conn, sql));
    }
    free(it);
}

int tti_pg_event_extent(tti_store *s, int64_t *max_seq, int64_t *count)
{
    int rc = tti_pg_flush(s);
    PGresult *r = rc == TT_OK ? tti_pg_run(s, TTI_PG_EXTENT, NULL, &rc, "counting events") : NULL;
    if (r == NULL)
        return rc;
    *max_seq = tti_pg_int(r, 0, 0);
    *count = tti_pg_int(r, 0, 1);
    PQclear(r);
    return TT_OK;
}

/* The side indexes against the events (SPEC 4). On this store neither is a table of its
 * own: idempotency keys are a column of the event row (covered by its leaf hash) under a
 * unique index, and the reason index is an expression index over the row's reason. Each is
 * derived by the database from rows the triggers keep unchanged, so there is nothing that
 * could disagree with the events without the events themselves changing, which the walk
 * over the leaves reports. */
int tti_pg_check_idem(tti_store *s, int64_t n, int64_t *bad_seq)
{
    (void)s;
    (void)n;
    (void)bad_seq;
    return TT_OK;
}

int tti_pg_check_search(tti_store *s, int64_t n, int64_t *bad_seq)
{
    (void)s;
    (void)n;
    (void)bad_seq;
    return TT_OK;
}

static int ts_of(tti_store *s, int64_t seq, int64_t *ts)
{
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, seq);
    int rc;
    PGresult *r = tti_pg_run(s, TTI_PG_TS_AT, &a, &rc, "searching by time");
    if (r == NULL)
        return rc;
    /* A seq without a row takes the next stored row's ts (sqlite_query.c). */
    *ts = PQntuples(r) == 1 ? tti_pg_int(r, 0, 0) : INT64_MAX;
    PQclear(r);
    return TT_OK;
}

int tti_pg_seq_at_ts(tti_store *s, int64_t ts_us, int64_t *seq)
{
    tti_head h;
    int rc = tti_pg_flush(s);
    if (rc != TT_OK || (rc = tti_pg_read_head(s, &h)) != TT_OK)
        return rc;
    return tti_store_seq_at_ts(s, h.size, ts_us, ts_of, seq);
}

int tti_pg_count_by(tti_store *s, int what, int64_t after_seq, tt_count **out, size_t *n)
{
    int rc = tti_pg_flush(s);
    int which = what == TTI_COUNT_ENTITY       ? TTI_PG_COUNT_ENTITY
                : what == TTI_COUNT_EVENT_TYPE ? TTI_PG_COUNT_TYPE
                                               : TTI_PG_COUNT_ACTOR;
    tti_pgargs a = {.n = 0};
    tti_pg_i64(&a, after_seq);
    PGresult *r = rc == TT_OK ? tti_pg_run(s, which, &a, &rc, "counting events") : NULL;
    if (r == NULL)
        return rc;
    size_t cnt = (size_t)PQntuples(r);
    tt_count *arr = calloc(cnt ? cnt : 1, sizeof *arr);
    if (arr == NULL)
        rc = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory counting events");
    for (size_t i = 0; rc == TT_OK && i < cnt; i++) {
        arr[i].name = strdup(PQgetvalue(r, (int)i, 0));
        arr[i].count = tti_pg_int(r, (int)i, 1);
        if (arr[i].name == NULL)
            rc = tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory counting events");
    }
    PQclear(r);
    if (rc != TT_OK) {
        for (size_t i = 0; arr != NULL && i < cnt; i++)
            tti_count_clear(&arr[i]);
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return TT_OK;
}
