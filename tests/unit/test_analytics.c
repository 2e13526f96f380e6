/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Analytics (SPEC 6.4): a generated history of strategies (created, activated directly or
 * swapped in, closed or swapped out, with reasons and client-side times), feedback before
 * and after swaps, and actors of both kinds; the test keeps its own account while writing
 * it and checks every report, row by row and total by total, against that account. Also
 * the automated-actor rule, the report JSON and an unknown kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tradetrail.h"

#define N 40
#define SEC 1000000LL
#define DAY (86400LL * SEC)

typedef struct fixture {
    char dir[64];
    tt_ledger *l;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-analytics-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    tt_open_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = f->dir;
    o.create = 1;
    char err[512] = "";
    if (tt_ledger_open(&o, &f->l, err, sizeof err) != TT_OK)
        fail_msg("open: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tt_ledger_close(f->l);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- the generated history and the test's own account of it ---- */

static uint64_t rng = 42;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const char *const reasons[] = {"Drawdown limit", "Manual stop", "Regime change"};

typedef struct account {
    int64_t types[8]; /* CREATED ACTIVATED SWAPPED_IN CLOSED SWAPPED_OUT RECORD ACTION */
    double act[N], life[N];
    int n_act, n_life;
    int64_t reason_count[4]; /* reasons[0..2], "Higher score" */
    int64_t heat[7][24];
    int64_t manual, automated;
    int64_t swaps, evaluated, positive;
    int64_t fb_count[N], fb_pos[N], fb_neg[N], fb_neu[N];
    double fb_sum[N];
} account;

static account acc;

static void append(tt_ledger *l, const char *id, const char *type, const char *actor,
                   const char *reason, int64_t when)
{
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "strategy";
    ev.entity_id = id;
    ev.event_type = type;
    ev.actor = actor;
    ev.reason = reason;
    ev.occurred_at_us = when;
    tt_append_result r;
    if (tt_ledger_append(l, &ev, 1, &r) != TT_OK)
        fail_msg("append: %s", tt_ledger_errmsg(l));
    if (tt_actor_is_automated(actor))
        acc.automated++;
    else
        acc.manual++;
}

static void feedback(tt_ledger *l, int i, const char *id, double ai, double bench)
{
    tt_feedback_result r;
    assert_int_equal(tt_feedback_record(l, id, ai, bench, "user_7", "SPY", NULL, &r), TT_OK);
    acc.types[5]++;
    acc.manual++;
    acc.fb_count[i]++;
    acc.fb_sum[i] += r.reward;
    acc.fb_pos[i] += r.outcome == TT_OUTCOME_POSITIVE;
    acc.fb_neg[i] += r.outcome == TT_OUTCOME_NEGATIVE;
    acc.fb_neu[i] += r.outcome == TT_OUTCOME_NEUTRAL;
}

static char ids[N][16];
static int64_t created_at[N];

static void generate(tt_ledger *l)
{
    memset(&acc, 0, sizeof acc);
    int64_t base;
    assert_int_equal(tt_time_parse_rfc3339("2026-01-05T00:00:00Z", &base), TT_OK); /* Monday */
    int64_t act_at[N];
    int how[N]; /* 0 never active, 1 ACTIVATED, 2 SWAPPED_IN */
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "st-%02d", i);
        created_at[i] = base + (int64_t)(rnd() % (20 * 24 * 3600)) * SEC;
        append(l, ids[i], "CREATED", i % 2 ? "alice" : "bob", NULL, created_at[i]);
        acc.types[0]++;
        how[i] = (int)(rnd() % 3);
    }
    /* feedback recorded before a swap must not count for the evaluator */
    for (int i = 0; i < N; i++)
        if (how[i] == 2)
            feedback(l, i, ids[i], -0.05, 0.0);
    for (int i = 0; i < N; i++) {
        if (how[i] == 0)
            continue;
        int64_t d = (int64_t)(60 + rnd() % (5 * 24 * 3600)) * SEC;
        act_at[i] = created_at[i] + d;
        acc.act[acc.n_act++] = (double)d / 1e6;
        if (how[i] == 1) {
            append(l, ids[i], "ACTIVATED", "orchestrator", NULL, act_at[i]);
            acc.types[1]++;
        } else {
            append(l, ids[i], "SWAPPED_IN", "evaluator", "Higher score", act_at[i]);
            acc.types[2]++;
            acc.swaps++;
            int64_t m = ((act_at[i] % DAY) + DAY) % DAY;
            int dow = (int)((((act_at[i] - m) / DAY) % 7 + 10) % 7);
            acc.heat[dow][m / (3600 * SEC)]++;
        }
        /* a second activation is not the first: it must not change the answers */
        if (i % 7 == 0) {
            append(l, ids[i], "ACTIVATED", "orchestrator", NULL, act_at[i] + 999 * DAY);
            acc.types[1]++;
        }
    }
    for (int i = 0; i < N; i++) {
        if (how[i] == 0 || rnd() % 4 == 0)
            continue;
        int64_t d = (int64_t)(3600 + rnd() % (10 * 24 * 3600)) * SEC;
        int64_t when = act_at[i] + d;
        acc.life[acc.n_life++] = (double)(when - created_at[i]) / 1e6;
        if (i % 5 == 4) {
            append(l, ids[i], "SWAPPED_OUT", "evaluator", "Higher score", when);
            acc.types[4]++;
            acc.reason_count[3]++;
        } else {
            int r = (int)(rnd() % 3);
            append(l, ids[i], "CLOSED", r == 1 ? "carol" : "risk-bot", reasons[r], when);
            acc.types[3]++;
            acc.reason_count[r]++;
        }
    }
    /* feedback after the swaps: the first one decides */
    for (int i = 0; i < N; i++) {
        if (rnd() % 4 == 0)
            continue;
        double ai = ((double)(rnd() % 2001) - 1000.0) / 10000.0;
        if (how[i] == 2) {
            acc.evaluated++;
            acc.positive += ai > TT_FEEDBACK_NEUTRAL_BAND;
        }
        feedback(l, i, ids[i], ai, 0.0);
        if (rnd() % 2)
            feedback(l, i, ids[i], 0.2, 0.0);
    }
    tt_append_result r;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(
            tt_ledger_log_action(l, "Restarted Grafana", "auto-repair-daemon", NULL, &r), TT_OK);
        acc.types[6]++;
        acc.automated++;
    }
}

/* ---- reading reports ---- */

static int col(const tt_report *r, const char *name)
{
    for (size_t j = 0; j < r->n_columns; j++)
        if (strcmp(r->columns[j], name) == 0)
            return (int)j;
    fail_msg("report %s has no column %s", r->kind, name);
    return -1;
}

static const tt_cell *cell(const tt_report *r, size_t row, const char *name)
{
    return &r->cells[row * r->n_columns + (size_t)col(r, name)];
}

static const tt_cell *total(const tt_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_totals; i++)
        if (strcmp(r->total_names[i], name) == 0)
            return &r->totals[i];
    fail_msg("report %s has no total %s", r->kind, name);
    return NULL;
}

static tt_report *run(tt_ledger *l, const char *kind, size_t limit)
{
    tt_report *r = NULL;
    int rc = tt_report_run(l, kind, limit, &r);
    if (rc != TT_OK)
        fail_msg("%s: %s", kind, tt_ledger_errmsg(l));
    char *json = tt_report_to_json(r);
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), kind);
    assert_int_equal(json_array_size(json_object_get(j, "rows")), r->n_rows);
    assert_int_equal(json_object_size(json_object_get(j, "totals")), r->n_totals);
    json_decref(j);
    tt_free(json);
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void check_durations(tt_ledger *l, const char *kind, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    tt_report *r = run(l, kind, 1000);
    assert_int_equal(total(r, "strategies")->i, n);
    assert_int_equal(r->n_rows, n);
    assert_true(fabs(total(r, "mean_seconds")->r - sum / n) < 1e-3);
    assert_true(fabs(total(r, "median_seconds")->r - median) < 1e-3);
    for (size_t i = 0; i < r->n_rows; i++) { /* every row's own duration is one of ours */
        double d = cell(r, i, "seconds")->r;
        assert_non_null(bsearch(&d, v, (size_t)n, sizeof *v, cmp_double));
    }
    tt_report_free(r);
    r = run(l, kind, 3); /* rows capped, totals still whole */
    assert_int_equal(r->n_rows, 3);
    assert_int_equal(total(r, "strategies")->i, n);
    tt_report_free(r);
}

static void test_reports(void **state)
{
    fixture *f = *state;
    generate(f->l);
    tt_report *r;

    /* event-counts */
    static const char *const types[] = {"CREATED",     "ACTIVATED", "SWAPPED_IN", "CLOSED",
                                        "SWAPPED_OUT", "RECORD",    "ACTION"};
    r = run(f->l, "event-counts", 0);
    int64_t all = 0;
    for (int t = 0; t < 7; t++) {
        all += acc.types[t];
        int found = acc.types[t] == 0;
        for (size_t i = 0; i < r->n_rows; i++)
            if (strcmp(cell(r, i, "event_type")->text, types[t]) == 0) {
                assert_int_equal(cell(r, i, "count")->i, acc.types[t]);
                found = 1;
            }
        assert_true(found);
    }
    assert_int_equal(total(r, "events")->i, all);
    for (size_t i = 1; i < r->n_rows; i++) /* most frequent first */
        assert_true(cell(r, i - 1, "count")->i >= cell(r, i, "count")->i);
    tt_report_free(r);

    check_durations(f->l, "activation-time", acc.act, acc.n_act);
    check_durations(f->l, "lifespan", acc.life, acc.n_life);

    /* close-reasons */
    r = run(f->l, "close-reasons", 0);
    const char *names[] = {reasons[0], reasons[1], reasons[2], "Higher score"};
    int64_t closed = 0;
    for (int k = 0; k < 4; k++) {
        closed += acc.reason_count[k];
        int64_t got = 0;
        for (size_t i = 0; i < r->n_rows; i++)
            if (strcmp(cell(r, i, "reason")->text, names[k]) == 0)
                got = cell(r, i, "count")->i;
        assert_int_equal(got, acc.reason_count[k]);
    }
    assert_int_equal(total(r, "closed")->i, closed);
    tt_report_free(r);

    /* actors */
    r = run(f->l, "actors", 0);
    assert_int_equal(total(r, "manual")->i, acc.manual);
    assert_int_equal(total(r, "automated")->i, acc.automated);
    assert_int_equal(total(r, "events")->i, all);
    for (size_t i = 0; i < r->n_rows; i++)
        assert_string_equal(cell(r, i, "kind")->text,
                            tt_actor_is_automated(cell(r, i, "actor")->text) ? "automated"
                                                                             : "manual");
    tt_report_free(r);

    /* swaps-heatmap */
    r = run(f->l, "swaps-heatmap", 1);
    assert_int_equal(r->n_rows, 7);
    assert_int_equal(total(r, "swaps")->i, acc.swaps);
    for (int d = 0; d < 7; d++)
        for (int h = 0; h < 24; h++) {
            char hh[4];
            snprintf(hh, sizeof hh, "%02d", h);
            assert_int_equal(cell(r, (size_t)d, hh)->i, acc.heat[d][h]);
        }
    assert_string_equal(cell(r, 0, "day")->text, "Mon");
    tt_report_free(r);

    /* feedback per strategy */
    r = run(f->l, "feedback", 1000);
    int64_t records = 0;
    double sum = 0;
    size_t rows = 0;
    for (int i = 0; i < N; i++) {
        records += acc.fb_count[i];
        sum += acc.fb_sum[i];
        if (acc.fb_count[i] == 0)
            continue;
        rows++;
        size_t k = 0;
        while (k < r->n_rows && strcmp(cell(r, k, "strategy_id")->text, ids[i]) != 0)
            k++;
        assert_true(k < r->n_rows);
        assert_int_equal(cell(r, k, "count")->i, acc.fb_count[i]);
        assert_int_equal(cell(r, k, "positive")->i, acc.fb_pos[i]);
        assert_int_equal(cell(r, k, "negative")->i, acc.fb_neg[i]);
        assert_int_equal(cell(r, k, "neutral")->i, acc.fb_neu[i]);
        assert_true(fabs(cell(r, k, "mean_reward")->r - acc.fb_sum[i] / acc.fb_count[i]) < 1e-9);
    }
    assert_int_equal(r->n_rows, rows);
    assert_int_equal(total(r, "records")->i, records);
    assert_true(fabs(total(r, "mean_reward")->r - sum / records) < 1e-9);
    tt_report_free(r);

    /* evaluator-accuracy */
    r = run(f->l, "evaluator-accuracy", 0);
    assert_int_equal(total(r, "swaps")->i, acc.swaps);
    assert_int_equal(total(r, "evaluated")->i, acc.evaluated);
    assert_int_equal(total(r, "positive")->i, acc.positive);
    if (acc.evaluated > 0)
        assert_true(fabs(total(r, "accuracy")->r - (double)acc.positive / acc.evaluated) < 1e-12);
    tt_report_free(r);
    assert_true(acc.swaps > 3 && acc.evaluated > 1 && acc.n_life > 3); /* the history is rich */
}

static void test_empty_and_unknown(void **state)
{
    fixture *f = *state;
    size_t n;
    const char *const *kinds = tt_report_kinds(&n);
    assert_int_equal(n, 8);
    for (size_t k = 0; k < n; k++) {
        tt_report *r = run(f->l, kinds[k], 0);
        if (strcmp(kinds[k], "activation-time") == 0) {
            assert_int_equal(total(r, "strategies")->i, 0);
            assert_int_equal(total(r, "median_seconds")->type, TT_CELL_NULL);
        }
        if (strcmp(kinds[k], "evaluator-accuracy") == 0)
            assert_int_equal(total(r, "accuracy")->type, TT_CELL_NULL);
        tt_report_free(r);
    }
    tt_report *r = NULL;
    assert_int_equal(tt_report_run(f->l, "nope", 0, &r), TT_EINVAL);
    assert_null(r);
    assert_int_equal(tt_report_run(f->l, "actors", TT_MAX_QUERY_LIMIT + 1, &r), TT_EINVAL);
}

static void test_automated_actors(void **state)
{
    (void)state;
    const char *yes[] = {"system",        "evaluator",        "scheduler",    "orchestrator",
                         "risk-bot",      "tradingbot",       "feed-service", "sync_service",
                         "ingest-worker", "realtime-monitor", "svc-orders",   "service:alerts",
                         "nightly-job",   "repair-daemon"};
    const char *no[] = {"alice", "user_104", "jean-luc", "bot-hunter", "systems", "Evaluator"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!tt_actor_is_automated(yes[i]))
            fail_msg("%s should be automated", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (tt_actor_is_automated(no[i]))
            fail_msg("%s should be manual", no[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_unknown, setup, teardown),
        cmocka_unit_test(test_automated_actors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
