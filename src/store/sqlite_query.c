/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading events from the SQLite backend: iterators that resolve interned names through
 * per-iterator caches, the query builder behind tt_ledger_query (every value bound, only
 * fixed SQL fragments in the text), full scans for verification, time bounds and counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/map.h"
#include "store/records.h"

int tti_sqlite_iter_new(tti_store *s, const char *sql, int kind, tti_store_iter **out)
{
    tti_store_iter *it = calloc(1, sizeof *it);
    if (it == NULL)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
    it->s = s;
    it->kind = kind;
    it->left = -1;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &it->st, NULL);
    if (rc != SQLITE_OK) {
        free(it);
        return tti_sqlite_fail(s, rc, "preparing a query");
    }
    *out = it;
    return TT_OK;
}

/* Event rows carry interned ids; the iterator resolves them from a cache that lives as
 * long as the iterator (scan_name below): five joins to names per row were two thirds of
 * verify's time and most of a 100-row history query's seeks. */
#define EVENT_SELECT                                                                               \
    "SELECT e.seq, e.ts, e.entity, e.subject, e.event_type, e.actor, e.old_status, "               \
    "e.new_status, e.reason, e.metadata, e.occurred_at, e.idem, e.leaf_hash, e.principal, "        \
    "e.producer, e.producer_seq "
#define EVENT_COLUMNS EVENT_SELECT "FROM events e "
/* A search walks the reason index newest (or oldest) first and stops at the limit, instead
 * of collecting every match before sorting: the index is the outer loop. */
#define SEARCH_COLUMNS EVENT_SELECT "FROM events_fts f CROSS JOIN events e ON e.seq = f.rowid "
/* A subject's events: its entries in subject_recent, then (a second statement, the same
 * text from the table name on) in subject_index, or the other way round oldest first
 * (sqlite_subjects.c: every recent seq is above every seq of the index). */
#define SUBJECT_FROM EVENT_SELECT "FROM "
#define RECENT_TABLE "subject_recent"
#define INDEX_TABLE "subject_index"
#define SUBJECT_COLUMNS SUBJECT_FROM RECENT_TABLE " x CROSS JOIN events e ON e.seq = x.seq "
/* More subjects than a query lists one by one: both tables read as one and sorted. A few
 * subjects are read as a merge of per-subject parts instead (multi_subject_sql). */
#define SUBJECTS_COLUMNS                                                                           \
    SUBJECT_FROM "(SELECT subject, seq FROM " RECENT_TABLE                                         \
                 " UNION ALL SELECT subject, seq FROM " INDEX_TABLE                                \
                 ") x CROSS JOIN events e ON e.seq = x.seq "

/* The cache of names is never kept across iterators, so a names row changed on disk is
 * read afresh by the next verify. */
int tti_sqlite_scan(tti_store *s, int64_t first, tti_store_iter **out)
{
    int rc = tti_sqlite_iter_new(s, EVENT_COLUMNS "WHERE e.seq >= ?1 ORDER BY e.seq", 2, out);
    if (rc == TT_OK)
        sqlite3_bind_int64((*out)->st, 1, first);
    return rc;
}

/* A name id no names row holds: the event cannot be what was hashed, and verify must say
 * so at this seq, so the text is one no name can be (a C0 control character). */
static const char missing_name[] = "\x01(missing interned name)";

/* The text of the row with this id, copied into *out; *out = NULL when no row has it. */
static int read_by_id(tti_store_iter *it, const char *sql, int64_t id, const char *what, char **out)
{
    int rc = TT_OK;
    *out = NULL;
    sqlite3_stmt *st = tti_sqlite_stmt(it->s, sql, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *out = strdup(tti_sqlite_col_text(st, 0) ? tti_sqlite_col_text(st, 0) : "");
    /* Reset at once: a statement left on a row holds its read snapshot, and this
     * connection goes back to the reader pool after the scan. */
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return tti_sqlite_fail(it->s, step, what);
    if (step == SQLITE_ROW && *out == NULL)
        return tti_err(it->s->errbuf, sizeof it->s->errbuf, TT_ENOMEM, "out of memory");
    return TT_OK;
}

static const char *scan_name(tti_store_iter *it, int col, int *rc)
{
    if (sqlite3_column_type(it->st, col) == SQLITE_NULL)
        return NULL;
    int64_t id = sqlite3_column_int64(it->st, col);
    if (id > 0 && (uint64_t)id < it->n_names && it->names[id] != NULL)
        return it->names[id];
    char *v;
    int r =
        read_by_id(it, "SELECT value FROM names WHERE id = ?1", id, "reading an interned name", &v);
    if (r != TT_OK) {
        *rc = r;
        return NULL;
    }
    if (v == NULL || id <= 0 || id >= (1 << 24)) { /* not cached: odd ids are rare */
        free(v);
        return missing_name;
    }
    if ((uint64_t)id >= it->n_names) {
        size_t n = (size_t)id * 2 + 16;
        char **grown = realloc(it->names, n * sizeof *grown);
        if (grown == NULL) {
            free(v);
            *rc = tti_err(it->s->errbuf, sizeof it->s->errbuf, TT_ENOMEM, "out of memory");
            return NULL;
        }
        memset(grown + it->n_names, 0, (n - it->n_names) * sizeof *grown);
        it->names = grown;
        it->n_names = n;
    }
    return it->names[id] = v;
}

/* Subjects (entity ids) can number millions, so their cache is a fixed direct-mapped
 * table: a scan over few subjects (a verify of a strategy ledger) looks each up once, and a
 * scan over many costs what the join it replaces cost, one seek per row. A query needs no
 * more slots than rows (subject_slots): a 100-row page does not clear and free 4096. */
#define SUBJ_SLOTS 4096

static size_t subject_slots(size_t rows)
{
    size_t n = 16;
    while (n < rows && n < SUBJ_SLOTS)
        n *= 2;
    return n;
}

struct subj_slot {
    int64_t id;
    char *value;
};

static const char *scan_subject(tti_store_iter *it, int *rc)
{
    int64_t id = sqlite3_column_int64(it->st, 3);
    if (it->n_subj_slots == 0)
        it->n_subj_slots = SUBJ_SLOTS;
    if (it->subjects == NULL &&
        (it->subjects = calloc(it->n_subj_slots, sizeof *it->subjects)) == NULL) {
        *rc = tti_err(it->s->errbuf, sizeof it->s->errbuf, TT_ENOMEM, "out of memory");
        return NULL;
    }
    struct subj_slot *slot = &it->subjects[(uint64_t)id % it->n_subj_slots];
    if (slot->value != NULL && slot->id == id)
        return slot->value;
    char *v;
    int r = read_by_id(it, "SELECT entity_id FROM subjects WHERE id = ?1", id,
                       "reading an entity id", &v);
    if (r != TT_OK) {
        *rc = r;
        return NULL;
    }
    if (v == NULL)
        return missing_name;
    free(slot->value);
    slot->id = id;
    return slot->value = v;
}

static int scan_names(tti_store_iter *it, tt_event *e)
{
    int rc = TT_OK;
    e->entity_id = scan_subject(it, &rc);
    e->entity = scan_name(it, 2, &rc);
    e->event_type = scan_name(it, 4, &rc);
    e->actor = scan_name(it, 5, &rc);
    e->old_status = scan_name(it, 6, &rc);
    e->new_status = scan_name(it, 7, &rc);
    return rc;
}

/* Look up an interned id without inserting; 0 when the name was never recorded. */
static int lookup_name(tti_store *s, int kind, const char *value, int64_t *id)
{
    if (tti_map_get(s->names, kind, value, id))
        return TT_OK;
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_NAME_GET);
    sqlite3_bind_int64(st, 1, kind);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *id = 0;
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "looking up a name");
    sqlite3_reset(st);
    return TT_OK;
}

#define MAX_SUBJECTS 32

typedef struct qbuild {
    tti_buf sql;
    int64_t ints[TT_MAX_QUERY_TYPES + MAX_SUBJECTS + 16];
    int nints;
    const char *texts[4];
    int ntexts;
    int empty;          /* a filter names something never recorded: no rows */
    const char *seqcol; /* the column the walk is ordered by */
    int two_parts;      /* one subject: subject_recent and subject_index read in turn */
    int n_subj;         /* subjects read as a merge of parts (2 and up), or 0 */
    int subj_param;     /* the parameter number of the first of them */
    size_t tail_at;     /* where the filters after the subject condition start in sql */
    size_t order_at;    /* where " ORDER BY" starts in sql */
    size_t limit;       /* rows at most */
} qbuild;

/* Integer parameters are numbered ?1..; text parameters from ?100 on. Only fixed SQL
 * fragments and parameter numbers go into the text; every value is bound. */
static void qparam(qbuild *b, const char *before, int num, const char *after)
{
    tti_buf_adds(&b->sql, before);
    tti_buf_printf(&b->sql, "?%d", num);
    tti_buf_adds(&b->sql, after);
}

static void qint(qbuild *b, const char *before, int64_t v)
{
    b->ints[b->nints++] = v;
    qparam(b, before, b->nints, "");
}

static void qtext(qbuild *b, const char *before, const char *v, const char *after)
{
    b->texts[b->ntexts++] = v;
    qparam(b, before, b->ntexts + 99, after);
}

static int q_name_filter(tti_store *s, qbuild *b, int kind, const char *value, const char *col)
{
    if (value == NULL)
        return TT_OK;
    int64_t id;
    int rc = lookup_name(s, kind, value, &id);
    if (rc != TT_OK)
        return rc;
    if (id == 0)
        b->empty = 1;
    tti_buf_adds(&b->sql, " AND ");
    qint(b, col, id);
    return TT_OK;
}

static int q_types(tti_store *s, qbuild *b, const tt_query *q, int unindexed)
{
    if (q->n_event_types == 0)
        return TT_OK;
    int any = 0;
    tti_buf_adds(&b->sql, unindexed ? " AND +e.event_type IN (" : " AND e.event_type IN (");
    for (size_t i = 0; i < q->n_event_types && i < TT_MAX_QUERY_TYPES; i++) {
        int64_t id;
        int rc = lookup_name(s, TTI_NAME_TYPE, q->event_types[i], &id);
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

/* One bound on the column that orders the walk (e.seq, or f.rowid when the reason index is
 * the outer loop, so FTS5 can seek to it instead of filtering every match). */
static void q_seq_bound(void *ctx, const char *op, int64_t v)
{
    qbuild *b = ctx;
    tti_buf_printf(&b->sql, " AND %s %s ", b->seqcol, op);
    qint(b, "", v);
}

static int q_seq_bounds(tti_store *s, qbuild *b, const tt_query *q)
{
    return tti_store_seq_bounds(s, q, tti_sqlite_seq_at_ts, q_seq_bound, b);
}

/* The subjects (interned entity/entity_id pairs) an entity_id filter names, bound as
 * integers so the planner walks the per-subject index in seq order. *n = -1 when there
 * are too many to list (then a subquery is used). */
static int find_subjects(tti_store *s, const tt_query *q, int64_t *ids, int *n)
{
    int64_t entity = 0;
    int rc = q->entity ? lookup_name(s, TTI_NAME_ENTITY, q->entity, &entity) : TT_OK;
    *n = 0;
    if (rc != TT_OK || (q->entity && entity == 0))
        return rc;
    sqlite3_stmt *st = tti_sqlite_stmt(
        s, "SELECT id FROM subjects WHERE entity_id = ?1 AND (?2 = 0 OR entity = ?2)", &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_text(st, 1, q->entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, entity);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == MAX_SUBJECTS) {
            *n = -1;
            break;
        }
        ids[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW
               ? TT_OK
               : tti_sqlite_fail(s, rc, "looking up an entity id");
}

/* The subject condition. Two subjects and up are only bound here: multi_subject_sql
 * writes one condition per part. */
static void q_subjects(qbuild *b, const tt_query *q, const int64_t *ids, int n)
{
    if (n < 0)
        qtext(b, " AND x.subject IN (SELECT id FROM subjects WHERE entity_id = ", q->entity_id,
              ")");
    else if (n == 0)
        b->empty = 1;
    else if (n == 1)
        qint(b, " AND x.subject = ", ids[0]);
    else {
        b->n_subj = n;
        b->subj_param = b->nints + 1;
        for (int i = 0; i < n; i++)
            b->ints[b->nints++] = ids[i];
    }
}

/* The search terms of q->text: NULL when there is no text filter; b->empty when the words
 * hold no token (only punctuation), which nothing matches. */
static int q_terms(tti_store *s, const tt_query *q, qbuild *b, char **fts, char **pre)
{
    *fts = NULL;
    *pre = NULL;
    if (q->text == NULL || q->text[strspn(q->text, " \t\r\n")] == '\0')
        return TT_OK;
    int n = 0;
    int rc = tti_sqlite_fts_terms(s, q->text, fts, pre, &n);
    if (rc == TT_OK && n == 0)
        b->empty = 1;
    return rc;
}

static int build_query(tti_store *s, const tt_query *q, qbuild *b, char **fts, char **pre)
{
    int rc;
    /* With an entity_id, the per-subject index is the one to walk: the unary + keeps the
     * planner from choosing a low-selectivity index (entity, type, actor) instead. Without
     * one, a search walks the reason index (SEARCH_COLUMNS) and checks the rest per row. */
    int by_subject = q->entity_id != NULL;
    if ((rc = q_terms(s, q, b, fts, pre)) != TT_OK)
        return rc;
    int by_text = *fts != NULL && !by_subject;
    int64_t ids[MAX_SUBJECTS];
    int n = 0;
    if (by_subject && (rc = find_subjects(s, q, ids, &n)) != TT_OK)
        return rc;
    b->two_parts = by_subject && n == 1;
    b->seqcol = by_text ? "f.rowid" : by_subject ? "x.seq" : "e.seq";
    tti_buf_adds(&b->sql, by_text                ? SEARCH_COLUMNS "WHERE events_fts MATCH ?100"
                          : by_subject && n >= 0 ? SUBJECT_COLUMNS "WHERE 1"
                          : by_subject           ? SUBJECTS_COLUMNS "WHERE 1"
                                                 : EVENT_COLUMNS "WHERE 1");
    if (by_text)
        b->texts[b->ntexts++] = *fts;
    if (by_subject)
        q_subjects(b, q, ids, n);
    b->tail_at = b->sql.len;
    if ((!by_subject &&
         (rc = q_name_filter(s, b, TTI_NAME_ENTITY, q->entity, "e.entity = ")) != TT_OK) ||
        (rc = q_types(s, b, q, by_subject)) != TT_OK ||
        (rc = q_name_filter(s, b, TTI_NAME_ACTOR, q->actor,
                            by_subject ? "+e.actor = " : "e.actor = ")) != TT_OK ||
        (rc = q_seq_bounds(s, b, q)) != TT_OK)
        return rc;
    if (*fts != NULL && by_subject)
        qtext(b, " AND e.seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ", *fts, ")");
    /* Words longer than the index's prefixes: the whole prefix, checked per candidate. */
    if (*pre != NULL)
        qtext(b, " AND tt_word_prefixes(e.reason, ", *pre, ")");
    b->order_at = b->sql.len;
    tti_buf_adds(&b->sql, " ORDER BY ");
    tti_buf_adds(&b->sql, b->seqcol);
    tti_buf_adds(&b->sql, q->order == TT_ORDER_DESC ? " DESC" : " ASC");
    b->limit = q->limit ? q->limit : 100;
    qint(b, " LIMIT ", (int64_t)b->limit);
    if (b->sql.failed)
        return tti_store_sql_failed(s->errbuf, sizeof s->errbuf, b->sql.failed);
    return TT_OK;
}

/* Several subjects (one entity_id under several entities) interleave across both tables.
 * Each subject's part in each table walks its own index and stops at the limit, filters
 * applied; SQLite merges the parts in seq order, and only the page's rows are joined to
 * events for their columns. Sorting every entry of the subjects instead, each joined first,
 * took 52 ms at 10 million events against 0.5 ms for one subject. */
static int multi_subject_sql(const qbuild *b, int efilters, tti_buf *m)
{
    static const char *const tables[2] = {RECENT_TABLE, INDEX_TABLE};
    const char *tail = b->sql.data + b->tail_at, *order = b->sql.data + b->order_at;
    tti_buf_adds(m, EVENT_SELECT "FROM (SELECT seq FROM (");
    for (int i = 0; i < b->n_subj; i++)
        for (int t = 0; t < 2; t++)
            tti_buf_printf(m,
                           "%sSELECT seq FROM (SELECT x.seq AS seq FROM %s x%s WHERE x.subject = "
                           "?%d%s)",
                           i || t ? " UNION ALL " : "", tables[t],
                           efilters ? " CROSS JOIN events e ON e.seq = x.seq" : "",
                           b->subj_param + i, tail);
    tti_buf_printf(m, ") x%s) x CROSS JOIN events e ON e.seq = x.seq%s", order, order);
    return m->failed;
}

static void bind_all(sqlite3_stmt *st, const qbuild *b)
{
    for (int i = 0; i < b->nints; i++)
        sqlite3_bind_int64(st, i + 1, b->ints[i]);
    for (int i = 0; i < b->ntexts; i++)
        sqlite3_bind_text(st, i + 100, b->texts[i], -1, SQLITE_TRANSIENT);
}

/* One subject's query reads subject_recent and subject_index in two statements: both must
 * read one snapshot, or a move between them would show an entry twice or not at all. */
static int subject_parts(tti_store *s, const qbuild *b, int desc, tti_store_iter *it)
{
    static const char head[] = SUBJECT_FROM RECENT_TABLE;
    tti_buf other;
    tti_buf_init(&other, TTI_STORE_SQL_MAX);
    tti_buf_adds(&other, SUBJECT_FROM INDEX_TABLE);
    tti_buf_adds(&other, b->sql.data + strlen(head));
    if (other.failed) {
        int rc = tti_store_sql_failed(s->errbuf, sizeof s->errbuf, other.failed);
        tti_buf_free(&other);
        return rc;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, other.data, -1, &st, NULL);
    tti_buf_free(&other);
    if (rc != SQLITE_OK)
        return tti_sqlite_fail(s, rc, "preparing a query");
    bind_all(st, b);
    /* Newest first: the recent entries, then the index; oldest first the other way. */
    it->next = desc ? st : it->st;
    it->st = desc ? it->st : st;
    it->left = (int64_t)b->limit;
    if (!b->empty && sqlite3_get_autocommit(s->db)) {
        if ((rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
            return tti_sqlite_fail(s, rc, "starting a read");
        it->own_txn = 1;
    }
    return TT_OK;
}

int tti_sqlite_query(tti_store *s, const tt_query *q, tti_store_iter **out)
{
    qbuild b;
    memset(&b, 0, sizeof b);
    tti_buf_init(&b.sql, TTI_STORE_SQL_MAX);
    tti_buf multi;
    tti_buf_init(&multi, 1u << 20);
    char *fts = NULL, *pre = NULL;
    int rc = build_query(s, q, &b, &fts, &pre);
    if (rc == TT_OK && b.n_subj > 0 &&
        multi_subject_sql(&b, q->n_event_types || q->actor || fts || pre, &multi) != 0)
        rc = tti_store_sql_failed(s->errbuf, sizeof s->errbuf, multi.failed);
    if (rc == TT_OK)
        rc = tti_sqlite_iter_new(s, b.n_subj > 0 ? multi.data : b.sql.data, 2, out);
    tti_buf_free(&multi);
    if (rc == TT_OK) {
        bind_all((*out)->st, &b);
        if (b.two_parts && (rc = subject_parts(s, &b, q->order == TT_ORDER_DESC, *out)) != TT_OK) {
            tti_sqlite_iter_free(*out);
            *out = NULL;
        }
    }
    tti_buf_free(&b.sql);
    free(fts);
    free(pre);
    if (rc != TT_OK)
        return rc;
    (*out)->empty = b.empty;
    (*out)->n_subj_slots = subject_slots(b.limit);
    return TT_OK;
}

/* A subject's read transaction ends with its last row, not when the iterator is freed:
 * GET /api/events frees it after the client has taken the whole answer, and a slow client
 * would keep the WAL from starting over meanwhile. */
static int end_read(tti_store_iter *it)
{
    it->empty = 1; /* a later call must not step the statement again: it would start over */
    if (it->own_txn) {
        sqlite3_reset(it->st);
        sqlite3_finalize(it->next);
        it->next = NULL;
        it->own_txn = 0;
        /* Only reads were made: a COMMIT that fails leaves nothing to keep. */
        if (sqlite3_exec(it->s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            sqlite3_exec(it->s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return TT_ENOTFOUND;
}

int tti_sqlite_iter_next(tti_store_iter *it, const tt_event **ev)
{
    if (it->empty || it->left == 0)
        return end_read(it);
    int rc = sqlite3_step(it->st);
    if (rc == SQLITE_DONE && it->next != NULL) { /* a subject's second part */
        sqlite3_finalize(it->st);
        it->st = it->next;
        it->next = NULL;
        rc = sqlite3_step(it->st);
    }
    if (rc == SQLITE_DONE)
        return end_read(it);
    if (rc == SQLITE_ROW && it->left > 0)
        it->left--;
    if (rc != SQLITE_ROW)
        return tti_sqlite_fail(it->s, rc, "reading events");
    sqlite3_stmt *st = it->st;
    tt_event *e = &it->ev;
    e->seq = sqlite3_column_int64(st, 0);
    e->ts_us = sqlite3_column_int64(st, 1);
    if ((rc = scan_names(it, e)) != TT_OK)
        return rc;
    e->reason = tti_sqlite_col_text(st, 8);
    e->metadata = tti_sqlite_col_text(st, 9);
    e->occurred_at_us =
        sqlite3_column_type(st, 10) == SQLITE_NULL ? TT_TIME_NONE : sqlite3_column_int64(st, 10);
    e->idempotency_key = tti_sqlite_col_text(st, 11);
    memset(e->leaf_hash, 0, TT_HASH_SIZE);
    if (sqlite3_column_bytes(st, 12) == TT_HASH_SIZE)
        memcpy(e->leaf_hash, sqlite3_column_blob(st, 12), TT_HASH_SIZE);
    e->principal = tti_sqlite_col_text(st, 13);
    e->producer = tti_sqlite_col_text(st, 14);
    e->producer_seq = sqlite3_column_int64(st, 15);
    *ev = e;
    return TT_OK;
}

void tti_sqlite_iter_free(tti_store_iter *it)
{
    if (it == NULL)
        return;
    end_read(it);
    sqlite3_finalize(it->st);
    sqlite3_finalize(it->next);
    for (size_t i = 0; i < it->n_names; i++)
        free(it->names[i]);
    free(it->names);
    if (it->subjects != NULL)
        for (size_t i = 0; i < it->n_subj_slots; i++)
            free(it->subjects[i].value);
    free(it->subjects);
    free(it);
}

int tti_sqlite_event_extent(tti_store *s, int64_t *max_seq, int64_t *count)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT coalesce(max(seq), 0), count(*) FROM events", -1,
                                &st, NULL);
    if (rc != SQLITE_OK)
        return tti_sqlite_fail(s, rc, "counting events");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *max_seq = sqlite3_column_int64(st, 0);
        *count = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? TT_OK : tti_sqlite_fail(s, rc, "counting events");
}

static int ts_of(tti_store *s, int64_t seq, int64_t *ts)
{
    sqlite3_stmt *st = tti_sqlite_core(s, TTI_ST_TS_AT);
    sqlite3_bind_int64(st, 1, seq);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "searching by time");
    /* A seq without a row (its body archived) takes the ts of the next stored row, at most
     * its own (ts never decreases): the stored rows at or after the answer are exactly
     * those with ts >= ts_us. No row at or after seq: nothing stored is later. */
    *ts = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MAX;
    sqlite3_reset(st);
    return TT_OK;
}

int tti_sqlite_seq_at_ts(tti_store *s, int64_t ts_us, int64_t *seq)
{
    tti_head h;
    int rc = tti_sqlite_read_head(s, &h);
    return rc != TT_OK ? rc : tti_store_seq_at_ts(s, h.size, ts_us, ts_of, seq);
}

static int read_count(tti_store *s, sqlite3_stmt *st, void *row)
{
    tt_count *c = row;
    const char *name = tti_sqlite_col_text(st, 0);
    c->name = strdup(name != NULL ? name : "");
    c->count = sqlite3_column_int64(st, 1);
    return c->name != NULL
               ? TT_OK
               : tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory counting events");
}

static void clear_count(void *row)
{
    tti_count_clear(row);
}

/* One statement per column counted (static literals, so the statement cache keys on them).
 * The whole ledger is counted without a seq bound: SQLite then reads the column's index
 * alone (4 times faster at 10 million events than the table's seq range it picks with one). */
#define COUNT_BY(col, where)                                                                       \
    "SELECT n.value, c FROM (SELECT " col " AS k, count(*) AS c FROM events" where                 \
    " GROUP BY " col ") JOIN names n ON n.id = k"

int tti_sqlite_count_by(tti_store *s, int what, int64_t after_seq, tt_count **out, size_t *n)
{
    static const char *const sql[2][3] = {
        {COUNT_BY("entity", ""), COUNT_BY("event_type", ""), COUNT_BY("actor", "")},
        {COUNT_BY("entity", " WHERE seq > ?1"), COUNT_BY("event_type", " WHERE seq > ?1"),
         COUNT_BY("actor", " WHERE seq > ?1")}};
    int col = what == TTI_COUNT_ENTITY ? 0 : what == TTI_COUNT_EVENT_TYPE ? 1 : 2;
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql[after_seq > 0][col], &rc);
    void *arr = NULL;
    if (st != NULL && after_seq > 0 && (rc = sqlite3_bind_int64(st, 1, after_seq)) != SQLITE_OK)
        return tti_sqlite_fail(s, rc, "counting events");
    if (st != NULL)
        rc = tti_sqlite_collect(s, st, sizeof(tt_count), 16, &arr, n, read_count, clear_count,
                                "counting events");
    if (st != NULL && rc == TT_OK)
        *out = arr;
    return rc;
}
