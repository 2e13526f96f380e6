/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite tables and queries of AI feedback, summaries and analytics (SPEC 6.2, 6.4): the
 * feedback table (append-only, like the events), the seq-range counts a summary needs, and
 * one aggregate query per analytics report. Events store interned ids, so every query looks
 * the names it needs up once (constant subqueries) and aggregates over the indexes on
 * events(event_type), events(actor) and the primary key; nothing returns all events.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/domain_store.h"
#include "store/sqlite_internal.h"
#include "util/err.h"

/* Schema version 3. */
const char tti_sqlite_schema_domain[] =
    "CREATE TABLE feedback(id INTEGER PRIMARY KEY, seq INTEGER NOT NULL UNIQUE,"
    " ts INTEGER NOT NULL, strategy_id TEXT NOT NULL, user_id TEXT NOT NULL, benchmark TEXT,"
    " ai_return REAL NOT NULL, benchmark_return REAL NOT NULL, alpha REAL NOT NULL,"
    " reward REAL NOT NULL,"
    " outcome TEXT NOT NULL CHECK (outcome IN ('positive', 'negative', 'neutral')));"
    "CREATE INDEX feedback_strategy ON feedback(strategy_id, seq);"
    /* SPEC 3.2: a feedback record is as permanent as the event that recorded it. */
    "CREATE TRIGGER feedback_no_update BEFORE UPDATE ON feedback"
    " BEGIN SELECT RAISE(ABORT, 'feedback records are append-only'); END;"
    "CREATE TRIGGER feedback_no_delete BEFORE DELETE ON feedback"
    " BEGIN SELECT RAISE(ABORT, 'feedback records are append-only'); END;";

/* Interned ids (names.kind: 1 entity, 2 event type; see sqlite.c). */
#define ENTITY(v) "(SELECT id FROM names WHERE kind = 1 AND value = '" v "')"
#define TYPE(v) "(SELECT id FROM names WHERE kind = 2 AND value = '" v "')"
#define TYPES(v) "(SELECT id FROM names WHERE kind = 2 AND value IN (" v "))"
/* The time an event happened: the client's occurred_at when given, else the ledger's ts. */
#define WHEN(e) "coalesce(" e ".occurred_at, " e ".ts)"

/* First CREATED and first later event of the given types per strategy. */
#define STRATEGY_PAIRS(types)                                                                                             \
    "WITH c AS (SELECT subject, min(seq) AS seq FROM events WHERE event_type = " TYPE("CREATED") " AND entity = " ENTITY( \
        "strategy") " GROUP BY subject),"                                                                                 \
                    " x AS (SELECT subject, min(seq) AS seq "                                                             \
                    "FROM events WHERE event_type IN " TYPES(types) " AND entity = " ENTITY(                              \
                        "strategy") " GROUP BY subject),"                                                                 \
                                    " p AS (SELECT c.subject, "                                                           \
                                    "c.seq AS cseq, x.seq AS "                                                            \
                                    "xseq FROM c JOIN x ON "                                                              \
                                    "x.subject = c.subject AND "                                                          \
                                    "x.seq > c.seq) "

#define PAIR_ROWS                                                                                  \
    "SELECT s.entity_id, " WHEN("ec") ", " WHEN("ex") " FROM p JOIN subjects s ON s.id = "         \
                                                      "p.subject JOIN events ec ON ec.seq = "      \
                                                      "p.cseq JOIN events ex ON ex.seq = p.xseq "  \
                                                      "ORDER BY p.cseq LIMIT ?1"

#define PAIR_STATS                                                                                 \
    ", d AS (SELECT " WHEN("ex") " - " WHEN(                                                       \
        "ec") " AS us FROM p JOIN events ec ON ec.seq = p.cseq JOIN events ex ON ex.seq = "        \
              "p.xseq) SELECT count(*), avg(us), (SELECT avg(us) FROM (SELECT us FROM d ORDER BY " \
              "us LIMIT 2 - (SELECT count(*) FROM d) % 2 OFFSET ((SELECT count(*) FROM d) - 1) / " \
              "2)) FROM d"

#define ACTIVATION_TYPES "'ACTIVATED', 'SWAPPED_IN'"
#define CLOSING_TYPES "'CLOSED', 'SWAPPED_OUT'"

#define DAY_US "86400000000"
#define HOUR_US "3600000000"

static const char sql_activation[] = STRATEGY_PAIRS(ACTIVATION_TYPES) PAIR_ROWS;
static const char sql_activation_stats[] = STRATEGY_PAIRS(ACTIVATION_TYPES) PAIR_STATS;
static const char sql_lifespan[] = STRATEGY_PAIRS(CLOSING_TYPES) PAIR_ROWS;
static const char sql_lifespan_stats[] = STRATEGY_PAIRS(CLOSING_TYPES) PAIR_STATS;
static const char sql_close_reasons[] =
    "SELECT nullif(reason, ''), count(*) AS c FROM events WHERE event_type IN " TYPES(
        CLOSING_TYPES) " AND entity = " ENTITY("strategy") " GROUP BY 1 ORDER BY c DESC, 1 "
                                                           "LIMIT ?1";
/* Floor division, so times before 1970 land on the right day; 1970-01-01 was a Thursday
 * (3 with Monday = 0). */
static const char sql_swaps[] =
    "SELECT ((((t - m) / " DAY_US ") % 7) + 10) % 7 AS dow, m / " HOUR_US " AS hour, count(*) "
    "FROM (SELECT t, ((t % " DAY_US ") + " DAY_US ") % " DAY_US
    " AS m FROM (SELECT " WHEN("e") " AS t FROM events e WHERE e.event_type = " TYPE(
        "SWAPPED_IN") " AND e.entity = " ENTITY("strategy") ")) GROUP BY dow, hour ORDER BY dow, "
                                                            "hour LIMIT ?1";
static const char sql_feedback[] =
    "SELECT strategy_id, count(*), sum(outcome = 'positive'), sum(outcome = 'negative'), "
    "sum(outcome = 'neutral'), avg(reward) FROM feedback GROUP BY strategy_id ORDER BY "
    "strategy_id LIMIT ?1";
/* Each swap is judged by the first feedback recorded for the new strategy after it. */
static const char sql_evaluator[] =
    "SELECT s.entity_id, e.seq, (SELECT f.outcome FROM feedback f WHERE f.strategy_id = "
    "s.entity_id AND f.seq > e.seq ORDER BY f.seq LIMIT 1) FROM events e JOIN subjects s ON "
    "s.id = e.subject WHERE e.event_type = " TYPE("SWAPPED_IN") " AND e.entity = " ENTITY(
        "strategy") " ORDER BY e.seq LIMIT ?1";

static const char sql_fb_insert[] =
    "INSERT INTO feedback(seq, ts, strategy_id, user_id, benchmark, ai_return, "
    "benchmark_return, alpha, reward, outcome) VALUES (?,?,?,?,?,?,?,?,?,?)";
#define FB_COLUMNS                                                                                 \
    "SELECT id, seq, ts, strategy_id, user_id, benchmark, ai_return, benchmark_return, alpha, "    \
    "reward, outcome FROM feedback "
static const char sql_fb_by_strategy[] =
    FB_COLUMNS "WHERE strategy_id = ?1 AND seq >= ?3 AND seq < ?4 AND (?2 IS NULL OR outcome = "
               "?2) ORDER BY seq DESC LIMIT ?5";
static const char sql_fb_all[] =
    FB_COLUMNS "WHERE seq >= ?3 AND seq < ?4 AND (?2 IS NULL OR outcome = ?2) ORDER BY seq DESC "
               "LIMIT ?5";

static const char sql_range_counts[] =
    "SELECT n1.value, n2.value, c FROM (SELECT entity AS en, event_type AS ty, count(*) AS c "
    "FROM events WHERE seq >= ?1 AND seq < ?2 GROUP BY entity, event_type) JOIN names n1 ON "
    "n1.id = en JOIN names n2 ON n2.id = ty ORDER BY n1.value, n2.value";
static const char sql_range_actions[] =
    "SELECT e.seq, e.ts, s.entity_id, e.reason FROM events e JOIN subjects s ON s.id = "
    "e.subject WHERE e.seq >= ?1 AND e.seq < ?2 AND e.entity = " ENTITY(
        "maintenance") " AND e.event_type = " TYPE("ACTION") " ORDER BY e.seq DESC LIMIT ?3";
static const char sql_range_feedback[] =
    "SELECT coalesce(sum(outcome = 'positive'), 0), coalesce(sum(outcome = 'negative'), 0), "
    "coalesce(sum(outcome = 'neutral'), 0), coalesce(sum(reward), 0.0) FROM feedback WHERE "
    "seq >= ?1 AND seq < ?2";

static int nomem(tti_store *s)
{
    return tti_err(s->errbuf, sizeof s->errbuf, TT_ENOMEM, "out of memory");
}

/* Step through st, handing each row's cells to fn; the statement is reset afterwards. */
static int emit_rows(tti_store *s, sqlite3_stmt *st, tti_cells_fn fn, void *ctx, const char *what)
{
    tt_cell cells[8];
    int rc, status = TT_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int n = sqlite3_column_count(st);
        if (n > 8)
            n = 8;
        for (int i = 0; i < n; i++) {
            memset(&cells[i], 0, sizeof cells[i]);
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER:
                cells[i].type = TT_CELL_INT;
                cells[i].i = sqlite3_column_int64(st, i);
                break;
            case SQLITE_FLOAT:
                cells[i].type = TT_CELL_REAL;
                cells[i].r = sqlite3_column_double(st, i);
                break;
            case SQLITE_NULL:
                cells[i].type = TT_CELL_NULL;
                break;
            default:
                cells[i].type = TT_CELL_TEXT;
                cells[i].text = (char *)sqlite3_column_text(st, i);
                if (cells[i].text == NULL) {
                    sqlite3_reset(st);
                    return nomem(s);
                }
                break;
            }
        }
        if ((status = fn(ctx, cells, (size_t)n)) != TT_OK)
            break;
    }
    if (status == TT_OK && rc != SQLITE_DONE)
        status = tti_sqlite_fail(s, rc, what);
    sqlite3_reset(st);
    return status;
}

static int sd_feedback_insert(tti_store *s, const tti_feedback_row *row, int64_t *id)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_fb_insert, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, row->seq);
    sqlite3_bind_int64(st, 2, row->ts_us);
    sqlite3_bind_text(st, 3, row->strategy_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, row->user_id, -1, SQLITE_STATIC);
    if (row->benchmark != NULL)
        sqlite3_bind_text(st, 5, row->benchmark, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 6, row->ai_return);
    sqlite3_bind_double(st, 7, row->benchmark_return);
    sqlite3_bind_double(st, 8, row->alpha);
    sqlite3_bind_double(st, 9, row->reward);
    sqlite3_bind_text(st, 10, tt_outcome_name(row->outcome), -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return tti_sqlite_fail(s, rc, "storing a feedback record");
    *id = sqlite3_last_insert_rowid(s->db);
    return TT_OK;
}

static char *dup_col(sqlite3_stmt *st, int i, int *bad)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    if (v == NULL)
        return NULL;
    char *d = strdup(v);
    *bad |= d == NULL;
    return d;
}

int tti_sqlite_read_feedback(tti_store *s, sqlite3_stmt *st, void *row)
{
    tt_feedback *f = row;
    int bad = 0;
    memset(f, 0, sizeof *f);
    f->id = sqlite3_column_int64(st, 0);
    f->seq = sqlite3_column_int64(st, 1);
    f->ts_us = sqlite3_column_int64(st, 2);
    f->strategy_id = dup_col(st, 3, &bad);
    f->user_id = dup_col(st, 4, &bad);
    f->benchmark = dup_col(st, 5, &bad);
    f->ai_return = sqlite3_column_double(st, 6);
    f->benchmark_return = sqlite3_column_double(st, 7);
    f->alpha = sqlite3_column_double(st, 8);
    f->reward = sqlite3_column_double(st, 9);
    const char *o = (const char *)sqlite3_column_text(st, 10);
    if (o == NULL || tt_outcome_parse(o, &f->outcome) != TT_OK)
        f->outcome = TT_OUTCOME_NONE;
    if (bad) {
        tti_feedback_clear(f);
        return nomem(s);
    }
    return TT_OK;
}

void tti_sqlite_clear_feedback(void *row)
{
    tti_feedback_clear(row);
}

static int bind_time_bounds(tti_store *s, sqlite3_stmt *st, const tt_feedback_filter *f)
{
    int64_t first = 0, end = INT64_MAX;
    int rc;
    /* ts never decreases along seq: a time bound is a seq bound (SPEC 3.1). */
    if (f->since_us != TT_TIME_NONE && (rc = tti_sqlite_ops.seq_at_ts(s, f->since_us, &first)))
        return rc;
    if (f->until_us != TT_TIME_NONE && (rc = tti_sqlite_ops.seq_at_ts(s, f->until_us, &end)))
        return rc;
    sqlite3_bind_int64(st, 3, first);
    sqlite3_bind_int64(st, 4, end);
    return TT_OK;
}

static int sd_feedback_list(tti_store *s, const tt_feedback_filter *f, tt_feedback **out, size_t *n)
{
    int rc;
    sqlite3_stmt *st =
        tti_sqlite_stmt(s, f->strategy_id != NULL ? sql_fb_by_strategy : sql_fb_all, &rc);
    if (st == NULL)
        return rc;
    if (f->strategy_id != NULL)
        sqlite3_bind_text(st, 1, f->strategy_id, -1, SQLITE_TRANSIENT);
    if (f->outcome != TT_OUTCOME_NONE)
        sqlite3_bind_text(st, 2, tt_outcome_name(f->outcome), -1, SQLITE_STATIC);
    if ((rc = bind_time_bounds(s, st, f)) != TT_OK)
        return rc;
    /* bind_time_bounds may have run other statements; this one keeps its bindings. */
    size_t limit = f->limit ? f->limit : 100;
    sqlite3_bind_int64(st, 5, (int64_t)limit);
    void *arr = NULL;
    rc =
        tti_sqlite_collect(s, st, sizeof(tt_feedback), limit < 64 ? limit : 64, &arr, n,
                           tti_sqlite_read_feedback, tti_sqlite_clear_feedback, "listing feedback");
    if (rc == TT_OK)
        *out = arr;
    return rc;
}

typedef struct pair_ctx {
    tti_pair_fn fn;
    void *ctx;
} pair_ctx;

static int pair_row(void *ctx, const tt_cell *c, size_t n)
{
    pair_ctx *p = ctx;
    if (n < 3)
        return TT_OK;
    tti_pair_count pc = {c[0].text, c[1].text, c[2].i};
    return p->fn(p->ctx, &pc);
}

static int sd_range_counts(tti_store *s, int64_t first, int64_t end, tti_pair_fn fn, void *ctx)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_range_counts, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, first);
    sqlite3_bind_int64(st, 2, end);
    pair_ctx p = {fn, ctx};
    return emit_rows(s, st, pair_row, &p, "counting the period's events");
}

static int sd_range_actions(tti_store *s, int64_t first, int64_t end, size_t max, tti_cells_fn fn,
                            void *ctx)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_range_actions, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, first);
    sqlite3_bind_int64(st, 2, end);
    sqlite3_bind_int64(st, 3, (int64_t)max);
    return emit_rows(s, st, fn, ctx, "reading the period's actions");
}

static int sd_range_feedback(tti_store *s, int64_t first, int64_t end, int64_t counts[3],
                             double *reward_sum)
{
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql_range_feedback, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, first);
    sqlite3_bind_int64(st, 2, end);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        for (int i = 0; i < 3; i++)
            counts[i] = sqlite3_column_int64(st, i);
        *reward_sum = sqlite3_column_double(st, 3);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? TT_OK : tti_sqlite_fail(s, rc, "counting the period's feedback");
}

static int sd_analytics(tti_store *s, int query, size_t limit, tti_cells_fn fn, void *ctx)
{
    static const char *const sql[] = {
        [TTI_AQ_ACTIVATION] = sql_activation,
        [TTI_AQ_ACTIVATION_STATS] = sql_activation_stats,
        [TTI_AQ_LIFESPAN] = sql_lifespan,
        [TTI_AQ_LIFESPAN_STATS] = sql_lifespan_stats,
        [TTI_AQ_CLOSE_REASONS] = sql_close_reasons,
        [TTI_AQ_SWAPS] = sql_swaps,
        [TTI_AQ_FEEDBACK] = sql_feedback,
        [TTI_AQ_EVALUATOR] = sql_evaluator,
    };
    if (query < TTI_AQ_ACTIVATION || query > TTI_AQ_EVALUATOR)
        return tti_err(s->errbuf, sizeof s->errbuf, TT_EMISUSE, "no analytics query %d", query);
    int rc;
    sqlite3_stmt *st = tti_sqlite_stmt(s, sql[query], &rc);
    if (st == NULL)
        return rc;
    if (sqlite3_bind_parameter_count(st) >= 1)
        sqlite3_bind_int64(st, 1, limit ? (int64_t)limit : -1);
    return emit_rows(s, st, fn, ctx, "running an analytics query");
}

const struct tti_domain_ops tti_sqlite_domain_ops = {
    .feedback_insert = sd_feedback_insert,
    .feedback_list = sd_feedback_list,
    .range_counts = sd_range_counts,
    .range_actions = sd_range_actions,
    .range_feedback = sd_range_feedback,
    .analytics = sd_analytics,
};
