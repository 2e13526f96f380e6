/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AI feedback (SPEC 6.2): the evaluator's arithmetic at the edges of the neutral band,
 * rejection of non-finite numbers and bad settings with nothing written, the record and
 * its ai_feedback/RECORD event, the list filters, the JSON shapes, and atomicity: a store
 * wrapper fails each write-path step of a record in turn (including the feedback insert),
 * and nothing of the record may persist.
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

#include "store/domain_store.h"
#include "store/store.h"
#include "tradetrail.h"
#include "testdb.h"

/* ---- a store that fails the Nth write-path call ---- */

static long countdown;
static int fired;
static int last_injected;

static int inject(void)
{
    last_injected = 0;
    if (countdown <= 0 || --countdown > 0)
        return TT_OK;
    fired = last_injected = 1;
    return TT_EIO;
}

static const char *f_errmsg(tti_store *s)
{
    return last_injected ? "injected I/O error" : tt_test_db_ops()->errmsg(s);
}
static int f_begin_write(tti_store *s)
{
    return inject() ? TT_EIO : tt_test_db_ops()->begin_write(s);
}
static int f_commit(tti_store *s)
{
    return inject() ? TT_EIO : tt_test_db_ops()->commit(s);
}
static int f_read_head(tti_store *s, tti_head *h)
{
    return inject() ? TT_EIO : tt_test_db_ops()->read_head(s, h);
}
static int f_write_head(tti_store *s, const tti_head *h)
{
    return inject() ? TT_EIO : tt_test_db_ops()->write_head(s, h);
}
static int f_insert_event(tti_store *s, const tt_event *ev)
{
    return inject() ? TT_EIO : tt_test_db_ops()->insert_event(s, ev);
}
static int f_put_tile(tti_store *s, unsigned level, uint64_t index,
                      const uint8_t (*hashes)[TT_HASH_SIZE], size_t n)
{
    return inject() ? TT_EIO : tt_test_db_ops()->put_tile(s, level, index, hashes, n);
}
static int f_feedback_insert(tti_store *s, const tti_feedback_row *row, int64_t *id)
{
    return inject() ? TT_EIO : tt_test_db_ops()->domain->feedback_insert(s, row, id);
}

static tti_store_ops fault_ops;
static struct tti_domain_ops fault_domain;

/* ---- fixture ---- */

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
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-feedback-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    fault_ops = *tt_test_db_ops();
    fault_domain = *tt_test_db_ops()->domain;
    fault_domain.feedback_insert = f_feedback_insert;
    fault_ops.domain = &fault_domain;
    fault_ops.errmsg = f_errmsg;
    fault_ops.begin_write = f_begin_write;
    fault_ops.commit = f_commit;
    fault_ops.read_head = f_read_head;
    fault_ops.write_head = f_write_head;
    fault_ops.insert_event = f_insert_event;
    fault_ops.put_tile = f_put_tile;
    tti_store_override = &fault_ops;
    countdown = 0;
    tt_open_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = f->dir;
    char uri[512];
    o.db_uri = tt_test_db_uri(f->dir, uri, sizeof uri);
    o.create = 1;
    char err[512] = "";
    int rc = tt_ledger_open(&o, &f->l, err, sizeof err);
    if (rc != TT_OK)
        fail_msg("open: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    countdown = 0;
    tt_ledger_close(f->l);
    tti_store_override = NULL;
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int64_t tree_size(tt_ledger *l)
{
    int64_t n;
    uint8_t root[TT_HASH_SIZE];
    assert_int_equal(tt_ledger_head(l, &n, root), TT_OK);
    return n;
}

static size_t n_feedback(tt_ledger *l)
{
    tt_feedback_filter f;
    tt_feedback_filter_init(&f);
    f.limit = TT_FEEDBACK_MAX_LIST;
    tt_feedback *list = NULL;
    size_t n = 0;
    assert_int_equal(tt_feedback_list(l, &f, &list, &n), TT_OK);
    tt_feedback_list_free(list, n);
    return n;
}

/* ---- the evaluator ---- */

static tt_outcome outcome_of(double ai, double bench, const tt_feedback_settings *s)
{
    double a = 0, r = 0;
    tt_outcome o = TT_OUTCOME_NONE;
    assert_int_equal(tt_feedback_evaluate(ai, bench, s, &a, &r, &o), TT_OK);
    return o;
}

static void test_band_edges(void **state)
{
    (void)state;
    const double band = TT_FEEDBACK_NEUTRAL_BAND;
    /* alpha exactly +-band is neutral (strict comparisons) */
    assert_int_equal(outcome_of(band, 0.0, NULL), TT_OUTCOME_NEUTRAL);
    assert_int_equal(outcome_of(0.0, band, NULL), TT_OUTCOME_NEUTRAL);
    assert_int_equal(outcome_of(0.0, 0.0, NULL), TT_OUTCOME_NEUTRAL);
    /* one ulp beyond */
    assert_int_equal(outcome_of(nextafter(band, 1.0), 0.0, NULL), TT_OUTCOME_POSITIVE);
    assert_int_equal(outcome_of(-nextafter(band, 1.0), 0.0, NULL), TT_OUTCOME_NEGATIVE);
    /* clearly beyond */
    assert_int_equal(outcome_of(0.0506, 0.05, NULL), TT_OUTCOME_POSITIVE);
    assert_int_equal(outcome_of(0.0494, 0.05, NULL), TT_OUTCOME_NEGATIVE);
    /* a band of zero: any non-zero alpha decides */
    tt_feedback_settings s = {.reward_scale = 0.05, .neutral_band = 0.0};
    assert_int_equal(outcome_of(1e-12, 0.0, &s), TT_OUTCOME_POSITIVE);
    assert_int_equal(outcome_of(0.0, 1e-12, &s), TT_OUTCOME_NEGATIVE);
    assert_int_equal(outcome_of(0.0, 0.0, &s), TT_OUTCOME_NEUTRAL);
    /* a custom band */
    s.neutral_band = 0.01;
    assert_int_equal(outcome_of(0.01, 0.0, &s), TT_OUTCOME_NEUTRAL);
    assert_int_equal(outcome_of(0.0101, 0.0, &s), TT_OUTCOME_POSITIVE);
}

static void test_reward_values(void **state)
{
    (void)state;
    double a, r;
    tt_outcome o;
    assert_int_equal(tt_feedback_evaluate(0.05, 0.0, NULL, &a, &r, &o), TT_OK);
    assert_true(a == 0.05);
    assert_true(fabs(r - tanh(1.0)) < 1e-15);
    assert_true(fabs(r - 0.7615941559557649) < 1e-15);
    assert_int_equal(tt_feedback_evaluate(0.01, 0.03, NULL, &a, &r, &o), TT_OK);
    assert_true(fabs(a - -0.02) < 1e-17);
    assert_true(fabs(r - tanh(-0.4)) < 1e-12);
    assert_int_equal(o, TT_OUTCOME_NEGATIVE);
    /* saturates towards +-1 */
    assert_int_equal(tt_feedback_evaluate(5.0, 0.0, NULL, &a, &r, &o), TT_OK);
    assert_true(r > 0.9999999 && r <= 1.0);
    tt_feedback_settings s = {.reward_scale = 0.1, .neutral_band = 0.0005};
    assert_int_equal(tt_feedback_evaluate(0.12, 0.02, &s, &a, &r, &o), TT_OK);
    assert_true(fabs(r - tanh(1.0)) < 1e-12);
}

static void test_nonfinite_rejected(void **state)
{
    fixture *f = *state;
    double bad[] = {NAN, INFINITY, -INFINITY};
    double a = 7, r = 7;
    tt_outcome o = TT_OUTCOME_NONE;
    tt_feedback_result res;
    memset(&res, 0x5a, sizeof res);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(tt_feedback_evaluate(bad[i], 0.0, NULL, &a, &r, &o), TT_EINVAL);
        assert_int_equal(tt_feedback_evaluate(0.0, bad[i], NULL, &a, &r, &o), TT_EINVAL);
        assert_int_equal(tt_feedback_record(f->l, "s1", bad[i], 0.0, "u", "SPY", NULL, &res),
                         TT_EINVAL);
        assert_non_null(strstr(tt_ledger_errmsg(f->l), "ai_return"));
        assert_int_equal(tt_feedback_record(f->l, "s1", 0.0, bad[i], "u", "SPY", NULL, &res),
                         TT_EINVAL);
        assert_non_null(strstr(tt_ledger_errmsg(f->l), "benchmark_return"));
    }
    /* overflowing alpha */
    assert_int_equal(tt_feedback_evaluate(1.7e308, -1.7e308, NULL, &a, &r, &o), TT_EINVAL);
    /* outputs untouched on failure */
    assert_true(a == 7 && r == 7 && o == TT_OUTCOME_NONE);
    /* bad settings */
    tt_feedback_settings s = {.reward_scale = 0.0, .neutral_band = 0.0005};
    assert_int_equal(tt_feedback_record(f->l, "s1", 0.1, 0.0, "u", NULL, &s, &res), TT_EINVAL);
    s.reward_scale = NAN;
    assert_int_equal(tt_feedback_record(f->l, "s1", 0.1, 0.0, "u", NULL, &s, &res), TT_EINVAL);
    s.reward_scale = 0.05;
    s.neutral_band = -1;
    assert_int_equal(tt_feedback_record(f->l, "s1", 0.1, 0.0, "u", NULL, &s, &res), TT_EINVAL);
    /* bad fields */
    assert_int_equal(tt_feedback_record(f->l, "", 0.1, 0.0, "u", NULL, NULL, &res), TT_EINVAL);
    assert_int_equal(tt_feedback_record(f->l, "s1", 0.1, 0.0, NULL, NULL, NULL, &res), TT_EINVAL);
    assert_int_equal(tt_feedback_record(f->l, "a\nb", 0.1, 0.0, "u", NULL, NULL, &res), TT_EINVAL);
    assert_int_equal(tree_size(f->l), 0);
    assert_int_equal(n_feedback(f->l), 0);
}

static void test_record_and_event(void **state)
{
    fixture *f = *state;
    tt_feedback_result r;
    assert_int_equal(tt_feedback_record(f->l, "strat-1", 0.07, 0.02, "user_104", "SPY", NULL, &r),
                     TT_OK);
    assert_int_equal(r.outcome, TT_OUTCOME_POSITIVE);
    assert_int_equal(r.seq, 1);
    assert_true(fabs(r.alpha - 0.05) < 1e-12);
    tt_event *ev = NULL;
    assert_int_equal(tt_ledger_get(f->l, r.seq, &ev), TT_OK);
    assert_string_equal(ev->entity, "ai_feedback");
    assert_string_equal(ev->entity_id, "strat-1");
    assert_string_equal(ev->event_type, "RECORD");
    assert_string_equal(ev->actor, "user_104");
    json_t *m = json_loads(ev->metadata, 0, NULL);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "strategyId")), "strat-1");
    assert_string_equal(json_string_value(json_object_get(m, "benchmark")), "SPY");
    assert_string_equal(json_string_value(json_object_get(m, "outcome")), "positive");
    assert_true(json_real_value(json_object_get(m, "aiReturn")) == 0.07);
    assert_true(json_real_value(json_object_get(m, "benchmarkReturn")) == 0.02);
    assert_true(json_real_value(json_object_get(m, "alpha")) == r.alpha);
    assert_true(json_real_value(json_object_get(m, "reward")) == r.reward);
    json_decref(m);
    tt_event_free(ev);

    tt_feedback_filter flt;
    tt_feedback_filter_init(&flt);
    tt_feedback *list = NULL;
    size_t n = 0;
    assert_int_equal(tt_feedback_list(f->l, &flt, &list, &n), TT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].seq, r.seq);
    assert_int_equal(list[0].id, r.id);
    assert_int_equal(list[0].ts_us, r.ts_us);
    assert_string_equal(list[0].benchmark, "SPY");
    assert_true(list[0].reward == r.reward);
    char *json = tt_feedback_list_to_json(list, n);
    assert_non_null(json);
    json_t *j = json_loads(json, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
    json_decref(j);
    tt_free(json);
    tt_feedback_list_free(list, n);

    json = tt_feedback_result_to_json(&r);
    j = json_loads(json, 0, NULL);
    assert_int_equal(json_object_size(j), 4);
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "positive");
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 1);
    json_decref(j);
    tt_free(json);

    /* the feedback table refuses changes like the event table */
    tt_verify_report rep;
    assert_int_equal(tt_ledger_verify(f->l, NULL, NULL, &rep), TT_OK);
}

static void test_list_filters(void **state)
{
    fixture *f = *state;
    tt_feedback_result r;
    const char *ids[] = {"a", "b", "a", "c", "a", "b"};
    double ai[] = {0.02, -0.02, 0.0, 0.03, -0.01, 0.0001};
    for (int i = 0; i < 6; i++)
        assert_int_equal(tt_feedback_record(f->l, ids[i], ai[i], 0.0, "u", NULL, NULL, &r), TT_OK);
    tt_feedback_filter flt;
    tt_feedback *list = NULL;
    size_t n = 0;
    tt_feedback_filter_init(&flt);
    flt.strategy_id = "a";
    assert_int_equal(tt_feedback_list(f->l, &flt, &list, &n), TT_OK);
    assert_int_equal(n, 3);
    assert_true(list[0].seq > list[1].seq && list[1].seq > list[2].seq); /* newest first */
    tt_feedback_list_free(list, n);
    tt_feedback_filter_init(&flt);
    flt.outcome = TT_OUTCOME_NEUTRAL;
    assert_int_equal(tt_feedback_list(f->l, &flt, &list, &n), TT_OK);
    assert_int_equal(n, 2);
    tt_feedback_list_free(list, n);
    tt_feedback_filter_init(&flt);
    flt.outcome = TT_OUTCOME_NEGATIVE;
    flt.strategy_id = "a";
    assert_int_equal(tt_feedback_list(f->l, &flt, &list, &n), TT_OK);
    assert_int_equal(n, 1);
    assert_true(list[0].ai_return == -0.01);
    tt_feedback_list_free(list, n);
    tt_feedback_filter_init(&flt);
    flt.limit = 2;
    assert_int_equal(tt_feedback_list(f->l, &flt, &list, &n), TT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].seq, 6);
    tt_feedback_list_free(list, n);
    /* time bounds: since after everything gives nothing; until before everything too */
    tt_feedback_filter_init(&flt);
    flt.since_us = tt_time_now_us() + 1000000;
    assert_int_equal(tt_feedback_list(f->l, &flt, &list, &n), TT_OK);
    assert_int_equal(n, 0);
    tt_feedback_list_free(list, n);
    tt_feedback_filter_init(&flt);
    flt.until_us = 0;
    assert_int_equal(tt_feedback_list(f->l, &flt, &list, &n), TT_OK);
    assert_int_equal(n, 0);
    tt_feedback_list_free(list, n);
    tt_feedback_filter_init(&flt);
    flt.since_us = 0;
    flt.until_us = tt_time_now_us() + 1000000;
    assert_int_equal(tt_feedback_list(f->l, &flt, &list, &n), TT_OK);
    assert_int_equal(n, 6);
    tt_feedback_list_free(list, n);
    tt_feedback_filter_init(&flt);
    flt.limit = TT_FEEDBACK_MAX_LIST + 1;
    assert_int_equal(tt_feedback_list(f->l, &flt, &list, &n), TT_EINVAL);
}

static void test_atomic_under_faults(void **state)
{
    fixture *f = *state;
    tt_feedback_result r;
    /* something before, so tiles and head already exist */
    assert_int_equal(tt_feedback_record(f->l, "pre", 0.01, 0.0, "u", NULL, NULL, &r), TT_OK);
    int64_t size = tree_size(f->l);
    long n;
    for (n = 1; n < 100; n++) {
        countdown = n;
        fired = 0;
        int rc = tt_feedback_record(f->l, "s-fault", 0.02, 0.01, "u", "SPY", NULL, &r);
        countdown = 0;
        if (!fired) {
            assert_int_equal(rc, TT_OK);
            break;
        }
        if (rc == TT_OK)
            fail_msg("failure %ld was injected but the record succeeded", n);
        assert_int_equal(tree_size(f->l), size);
        assert_int_equal(n_feedback(f->l), 1);
        tt_verify_report rep;
        assert_int_equal(tt_ledger_verify(f->l, NULL, NULL, &rep), TT_OK);
    }
    assert_true(n > 3); /* begin, head, event, feedback insert, ... were all exercised */
    assert_int_equal(tree_size(f->l), size + 1);
    assert_int_equal(n_feedback(f->l), 2);
}

static void test_parse_json(void **state)
{
    (void)state;
    tt_feedback_input in;
    void *owner = NULL;
    char err[256];
    const char *ok = "{\"strategy_id\":\"s\",\"ai_return\":0.05,\"benchmark_return\":1,"
                     "\"user_id\":\"u\",\"benchmark\":\"SPY\"}";
    assert_int_equal(tt_feedback_parse_json(ok, strlen(ok), &in, &owner, err, sizeof err), TT_OK);
    assert_string_equal(in.strategy_id, "s");
    assert_true(in.ai_return == 0.05 && in.benchmark_return == 1.0);
    assert_string_equal(in.benchmark, "SPY");
    tt_free(owner);
    const char *bad[] = {
        "{\"strategy_id\":\"s\",\"ai_return\":\"0.05\",\"benchmark_return\":1,\"user_id\":\"u\"}",
        "{\"strategy_id\":\"s\",\"ai_return\":0.05,\"user_id\":\"u\"}",
        "{\"strategy_id\":\"s\",\"ai_return\":0.05,\"benchmark_return\":1,\"user_id\":\"u\","
        "\"extra\":1}",
        "{\"strategy_id\":\"s\",\"ai_return\":1e999,\"benchmark_return\":1,\"user_id\":\"u\"}",
        "[1]",
        "{",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        owner = NULL;
        int rc = tt_feedback_parse_json(bad[i], strlen(bad[i]), &in, &owner, err, sizeof err);
        assert_true(rc == TT_EINVAL || rc == TT_EPARSE);
        assert_null(owner);
    }
    const char *msg, *src;
    const char *act = "{\"message\":\"Restarted Grafana\",\"source\":\"auto-repair\"}";
    assert_int_equal(tt_action_parse_json(act, strlen(act), &msg, &src, &owner, err, sizeof err),
                     TT_OK);
    assert_string_equal(msg, "Restarted Grafana");
    assert_string_equal(src, "auto-repair");
    tt_free(owner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_band_edges),
        cmocka_unit_test(test_reward_values),
        cmocka_unit_test_setup_teardown(test_nonfinite_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_and_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_under_faults, setup, teardown),
        cmocka_unit_test(test_parse_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
