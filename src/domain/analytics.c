/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Analytics reports (SPEC 6.4, in the manner of aureport): each report is a titled table
 * and a few totals, computed from aggregate queries the store runs over its indexes in one
 * snapshot. Rows stream through a callback; only the rows shown (at most the limit) are
 * kept, while totals cover the whole ledger. docs/DOMAIN.md defines every report.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "store/domain_store.h"

#define MAX_COLS 26

static const char *const kinds[] = {
    "event-counts", "activation-time", "lifespan", "close-reasons",
    "actors",       "swaps-heatmap",   "feedback", "evaluator-accuracy"};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

const char *const *tt_report_kinds(size_t *n)
{
    *n = N_KINDS;
    return kinds;
}

/* ---- automated actors (SPEC 6.4) ---- */

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

int tt_actor_is_automated(const char *actor)
{
    static const char *const names[] = {"system", "evaluator", "scheduler", "orchestrator"};
    static const char *const suffixes[] = {"bot",      "-service", "_service", "-svc",    "-daemon",
                                           "_daemon",  "-job",     "_job",     "-worker", "_worker",
                                           "-monitor", "_monitor", "-cron"};
    if (actor == NULL)
        return 0;
    size_t n = strlen(actor);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(actor, names[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (ends_with(actor, n, suffixes[i]))
            return 1;
    return strncmp(actor, "svc-", 4) == 0 || strncmp(actor, "service:", 8) == 0;
}

/* ---- building a report ---- */

static void cell_clear(tt_cell *c)
{
    if (c->type == TT_CELL_TEXT)
        free(c->text);
    memset(c, 0, sizeof *c);
}

void tt_report_free(tt_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_rows * r->n_columns; i++)
        cell_clear(&r->cells[i]);
    for (size_t i = 0; i < r->n_columns; i++)
        free(r->columns[i]);
    for (size_t i = 0; i < r->n_totals; i++) {
        free(r->total_names[i]);
        cell_clear(&r->totals[i]);
    }
    free(r->cells);
    free(r->columns);
    free(r->total_names);
    free(r->totals);
    free(r->kind);
    free(r->title);
    free(r);
}

static int cell_copy(tt_cell *dst, const tt_cell *src)
{
    *dst = *src;
    if (src->type == TT_CELL_TEXT && (dst->text = strdup(src->text ? src->text : "")) == NULL) {
        dst->type = TT_CELL_NULL;
        return TT_ENOMEM;
    }
    return TT_OK;
}

typedef struct builder {
    tt_ledger *l;
    tti_store *s;
    tt_report *r;
    size_t limit;
    size_t cap;
    int rc;
    /* per-report running totals */
    int64_t n[8];
    double sum;
    tt_cell matrix[7][24];
} builder;

static int set_columns(tt_report *r, const char *const *cols, size_t n)
{
    r->columns = calloc(n, sizeof *r->columns);
    if (r->columns == NULL)
        return TT_ENOMEM;
    r->n_columns = n;
    for (size_t i = 0; i < n; i++)
        if ((r->columns[i] = strdup(cols[i])) == NULL)
            return TT_ENOMEM;
    return TT_OK;
}

/* Append a row (copied) unless the limit is reached. */
static int add_row(builder *b, const tt_cell *cells)
{
    tt_report *r = b->r;
    if (r->n_rows >= b->limit)
        return TT_OK;
    if (r->n_rows == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        tt_cell *na = realloc(r->cells, cap * r->n_columns * sizeof *na);
        if (na == NULL)
            return TT_ENOMEM;
        r->cells = na;
        b->cap = cap;
    }
    tt_cell *row = &r->cells[r->n_rows * r->n_columns];
    memset(row, 0, r->n_columns * sizeof *row);
    r->n_rows++;
    for (size_t i = 0; i < r->n_columns; i++)
        if (cell_copy(&row[i], &cells[i]) != TT_OK)
            return TT_ENOMEM;
    return TT_OK;
}

static tt_cell c_int(int64_t v)
{
    tt_cell c = {.type = TT_CELL_INT, .i = v};
    return c;
}

static tt_cell c_real(double v)
{
    tt_cell c = {.type = isfinite(v) ? TT_CELL_REAL : TT_CELL_NULL, .r = v};
    return c;
}

static tt_cell c_text(const char *v)
{
    tt_cell c = {.type = v ? TT_CELL_TEXT : TT_CELL_NULL, .text = (char *)v};
    return c;
}

static int add_total(tt_report *r, const char *name, tt_cell v)
{
    char **nn = realloc(r->total_names, (r->n_totals + 1) * sizeof *nn);
    if (nn == NULL)
        return TT_ENOMEM;
    r->total_names = nn;
    tt_cell *nt = realloc(r->totals, (r->n_totals + 1) * sizeof *nt);
    if (nt == NULL)
        return TT_ENOMEM;
    r->totals = nt;
    if ((nn[r->n_totals] = strdup(name)) == NULL)
        return TT_ENOMEM;
    if (cell_copy(&nt[r->n_totals], &v) != TT_OK) {
        free(nn[r->n_totals]);
        return TT_ENOMEM;
    }
    r->n_totals++;
    return TT_OK;
}

static int run(builder *b, int query, size_t limit, tti_cells_fn fn)
{
    int rc = b->l->ops->domain->analytics(b->s, query, limit, fn, b);
    if (rc != TT_OK && b->rc == TT_OK)
        b->rc = tti_store_fail(b->l, b->s, rc);
    return rc == TT_OK ? TT_OK : b->rc;
}

/* Rows (name, count) from the ledger's running totals of what (TTI_COUNT_*), most first:
 * counting every event again takes seconds on a large ledger. */
static int run_counts(builder *b, int what, tti_cells_fn fn)
{
    tt_count *c = NULL;
    size_t n = 0;
    int rc = tti_ledger_counts(b->l, what, &c, &n, NULL);
    for (size_t i = 0; rc == TT_OK && i < n; i++) {
        tt_cell row[2] = {c_text(c[i].name), c_int(c[i].count)};
        rc = fn(b, row, 2);
    }
    tti_counts_free(c, n);
    if (rc != TT_OK && b->rc == TT_OK)
        b->rc = rc;
    return rc;
}

/* ---- the reports ---- */

static int row_counted(void *ctx, const tt_cell *c, size_t n)
{
    builder *b = ctx;
    if (n < 2)
        return TT_OK;
    b->n[0] += c[1].i;
    tt_cell row[2] = {c[0].type == TT_CELL_NULL ? c_text("(none)") : c[0], c[1]};
    return add_row(b, row);
}

static int rep_counts(builder *b, int query, const char *col, const char *total)
{
    const char *cols[] = {col, "count"};
    int rc = set_columns(b->r, cols, 2);
    if (rc == TT_OK)
        rc = query == 0 ? run_counts(b, TTI_COUNT_EVENT_TYPE, row_counted)
                        : run(b, query, 0, row_counted);
    return rc == TT_OK ? add_total(b->r, total, c_int(b->n[0])) : rc;
}

static int row_pair(void *ctx, const tt_cell *c, size_t n)
{
    builder *b = ctx;
    if (n < 3)
        return TT_OK;
    char t1[TT_TS_LEN + 1], t2[TT_TS_LEN + 1];
    tt_time_format(c[1].i, t1);
    tt_time_format(c[2].i, t2);
    tt_cell row[4] = {c[0], c_text(t1), c_text(t2), c_real((double)(c[2].i - c[1].i) / 1e6)};
    return add_row(b, row);
}

static int row_stats(void *ctx, const tt_cell *c, size_t n)
{
    builder *b = ctx;
    if (n < 3)
        return TT_OK;
    b->n[0] = c[0].i;
    b->n[1] = c[1].type != TT_CELL_NULL;
    b->sum = c[1].type == TT_CELL_REAL ? c[1].r : (double)c[1].i;
    tt_cell *m = &b->matrix[0][0];
    *m = c_real(c[2].type == TT_CELL_REAL ? c[2].r : (double)c[2].i);
    if (c[2].type == TT_CELL_NULL)
        m->type = TT_CELL_NULL;
    return TT_OK;
}

static int rep_durations(builder *b, int rows, int stats, const char *to)
{
    const char *cols[] = {"strategy_id", "created", to, "seconds"};
    int rc = set_columns(b->r, cols, 4);
    if (rc == TT_OK)
        rc = run(b, rows, b->limit, row_pair);
    if (rc == TT_OK)
        rc = run(b, stats, 0, row_stats);
    if (rc != TT_OK)
        return rc;
    tt_cell mean = b->n[1] ? c_real(b->sum / 1e6) : c_text(NULL);
    tt_cell median = b->matrix[0][0];
    if (median.type == TT_CELL_REAL)
        median.r /= 1e6;
    if ((rc = add_total(b->r, "strategies", c_int(b->n[0]))) != TT_OK ||
        (rc = add_total(b->r, "mean_seconds", mean)) != TT_OK)
        return rc;
    return add_total(b->r, "median_seconds", median);
}

static int row_actor(void *ctx, const tt_cell *c, size_t n)
{
    builder *b = ctx;
    if (n < 2)
        return TT_OK;
    int automated = tt_actor_is_automated(c[0].text);
    b->n[0]++;
    b->n[automated ? 2 : 1] += c[1].i;
    tt_cell row[3] = {c[0], c_text(automated ? "automated" : "manual"), c[1]};
    return add_row(b, row);
}

static int rep_actors(builder *b)
{
    const char *cols[] = {"actor", "kind", "count"};
    int rc = set_columns(b->r, cols, 3);
    if (rc == TT_OK)
        rc = run_counts(b, TTI_COUNT_ACTOR, row_actor);
    if (rc == TT_OK)
        rc = add_total(b->r, "actors", c_int(b->n[0]));
    if (rc == TT_OK)
        rc = add_total(b->r, "manual", c_int(b->n[1]));
    if (rc == TT_OK)
        rc = add_total(b->r, "automated", c_int(b->n[2]));
    return rc == TT_OK ? add_total(b->r, "events", c_int(b->n[1] + b->n[2])) : rc;
}

static int row_swap(void *ctx, const tt_cell *c, size_t n)
{
    builder *b = ctx;
    if (n < 3 || c[0].i < 0 || c[0].i > 6 || c[1].i < 0 || c[1].i > 23)
        return TT_OK;
    b->matrix[c[0].i][c[1].i].i += c[2].i;
    b->n[0] += c[2].i;
    return TT_OK;
}

static int rep_heatmap(builder *b)
{
    static const char *const cols[] = {"day", "00", "01", "02", "03", "04", "05", "06",   "07",
                                       "08",  "09", "10", "11", "12", "13", "14", "15",   "16",
                                       "17",  "18", "19", "20", "21", "22", "23", "total"};
    static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    int rc = set_columns(b->r, cols, MAX_COLS);
    for (int d = 0; d < 7; d++)
        for (int h = 0; h < 24; h++)
            b->matrix[d][h] = c_int(0);
    if (rc == TT_OK)
        rc = run(b, TTI_AQ_SWAPS, 0, row_swap);
    for (int d = 0; rc == TT_OK && d < 7; d++) {
        tt_cell row[MAX_COLS];
        int64_t sum = 0;
        row[0] = c_text(days[d]);
        for (int h = 0; h < 24; h++) {
            row[h + 1] = b->matrix[d][h];
            sum += b->matrix[d][h].i;
        }
        row[25] = c_int(sum);
        size_t saved = b->limit;
        b->limit = 7; /* the matrix is always whole */
        rc = add_row(b, row);
        b->limit = saved;
    }
    return rc == TT_OK ? add_total(b->r, "swaps", c_int(b->n[0])) : rc;
}

static int row_feedback(void *ctx, const tt_cell *c, size_t n)
{
    builder *b = ctx;
    if (n < 6)
        return TT_OK;
    for (int i = 1; i <= 4; i++)
        b->n[i - 1] += c[i].i;
    b->sum += (c[5].type == TT_CELL_REAL ? c[5].r : (double)c[5].i) * (double)c[1].i;
    return add_row(b, c);
}

static int rep_feedback(builder *b)
{
    const char *cols[] = {"strategy_id", "count", "positive", "negative", "neutral", "mean_reward"};
    int rc = set_columns(b->r, cols, 6);
    if (rc == TT_OK)
        rc = run(b, TTI_AQ_FEEDBACK, 0, row_feedback);
    const char *names[] = {"records", "positive", "negative", "neutral"};
    for (int i = 0; rc == TT_OK && i < 4; i++)
        rc = add_total(b->r, names[i], c_int(b->n[i]));
    if (rc != TT_OK)
        return rc;
    return add_total(b->r, "mean_reward",
                     b->n[0] ? c_real(b->sum / (double)b->n[0]) : c_text(NULL));
}

static int row_eval(void *ctx, const tt_cell *c, size_t n)
{
    builder *b = ctx;
    if (n < 3)
        return TT_OK;
    b->n[0]++;
    if (c[2].type == TT_CELL_TEXT) {
        b->n[1]++;
        b->n[2] += strcmp(c[2].text, "positive") == 0;
    }
    return add_row(b, c);
}

static int rep_evaluator(builder *b)
{
    const char *cols[] = {"strategy_id", "swap_seq", "next_outcome"};
    int rc = set_columns(b->r, cols, 3);
    if (rc == TT_OK)
        rc = run(b, TTI_AQ_EVALUATOR, 0, row_eval);
    if (rc == TT_OK)
        rc = add_total(b->r, "swaps", c_int(b->n[0]));
    if (rc == TT_OK)
        rc = add_total(b->r, "evaluated", c_int(b->n[1]));
    if (rc == TT_OK)
        rc = add_total(b->r, "positive", c_int(b->n[2]));
    if (rc != TT_OK)
        return rc;
    return add_total(b->r, "accuracy",
                     b->n[1] ? c_real((double)b->n[2] / (double)b->n[1]) : c_text(NULL));
}

static const char *const titles[] = {"Event counts by type",
                                     "Time from CREATED to activation",
                                     "Strategy lifespan (CREATED to closing)",
                                     "Most common close reasons",
                                     "Activity by actor",
                                     "Swaps by day of week and hour (UTC)",
                                     "AI feedback per strategy",
                                     "Evaluator accuracy"};

static int build(builder *b, size_t k)
{
    switch (k) {
    case 0:
        return rep_counts(b, 0, "event_type", "events"); /* the ledger's running totals */
    case 1:
        return rep_durations(b, TTI_AQ_ACTIVATION, TTI_AQ_ACTIVATION_STATS, "activated");
    case 2:
        return rep_durations(b, TTI_AQ_LIFESPAN, TTI_AQ_LIFESPAN_STATS, "closed");
    case 3:
        return rep_counts(b, TTI_AQ_CLOSE_REASONS, "reason", "closed");
    case 4:
        return rep_actors(b);
    case 5:
        return rep_heatmap(b);
    case 6:
        return rep_feedback(b);
    default:
        return rep_evaluator(b);
    }
}

int tt_report_run(tt_ledger *l, const char *kind, size_t limit, tt_report **out)
{
    if (l == NULL || kind == NULL || out == NULL)
        return tti_fail(TT_EMISUSE, "tt_report_run: NULL argument");
    size_t k = 0;
    while (k < N_KINDS && strcmp(kinds[k], kind) != 0)
        k++;
    if (k == N_KINDS)
        return tti_fail(TT_EINVAL,
                        "unknown report \"%s\" (event-counts, activation-time, lifespan, "
                        "close-reasons, actors, swaps-heatmap, feedback, evaluator-accuracy)",
                        kind);
    if (limit > TT_MAX_QUERY_LIMIT)
        return tti_fail(TT_EINVAL, "limit must be between 1 and %d (got %zu)", TT_MAX_QUERY_LIMIT,
                        limit);
    builder *b = calloc(1, sizeof *b);
    tt_report *r = calloc(1, sizeof *r);
    int rc =
        b && r && (r->kind = strdup(kind)) && (r->title = strdup(titles[k])) ? TT_OK : TT_ENOMEM;
    if (rc == TT_OK) {
        b->l = l;
        b->r = r;
        b->limit = limit ? limit : 100;
        rc = tti_reader_get(l, &b->s);
    } else {
        rc = tti_fail(TT_ENOMEM, "out of memory");
    }
    if (rc == TT_OK && b->s != NULL) {
        if ((rc = l->ops->begin_read(b->s)) != TT_OK) {
            rc = tti_store_fail(l, b->s, rc);
        } else {
            rc = build(b, k);
            l->ops->rollback(b->s);
            if (rc == TT_ENOMEM && b->rc == TT_OK)
                rc = tti_fail(TT_ENOMEM, "out of memory building a report");
        }
        tti_reader_put(l, b->s);
    }
    free(b);
    if (rc != TT_OK) {
        tt_report_free(r);
        return rc;
    }
    *out = r;
    return TT_OK;
}
