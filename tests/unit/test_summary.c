/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Summaries (SPEC 6.4, seed 001): period bounds (UTC days, ISO weeks, months with leap
 * years), the counts of a known history, the JSON shape of GET /api/summary, and the text
 * layout against golden files in tests/golden/summary. The ledger assigns ts and the
 * signing key is random, so before comparing, timestamps become <TS>, dates <DATE>, and
 * the checkpoint's root and signature <ROOT> and <SIG>: the golden files pin the layout and
 * every count, not the clock. TT_UPDATE_GOLDEN=1 rewrites them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tradetrail.h"
#include "testdb.h"

#define GOLDEN TT_SOURCE_DIR "/tests/golden/summary/"
#define ORIGIN "tradetrail/summary-test"

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
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-summary-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    tt_open_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = f->dir;
    char uri[512];
    o.db_uri = tt_test_db_uri(f->dir, uri, sizeof uri);
    o.create = 1;
    o.origin = ORIGIN;
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

static int64_t day(int y, int m, int d)
{
    char buf[32];
    int64_t us;
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT00:00:00Z", y, m, d);
    assert_int_equal(tt_time_parse_rfc3339(buf, &us), TT_OK);
    return us;
}

static void test_period_bounds(void **state)
{
    (void)state;
    int64_t a, b, noon = 12LL * 3600 * 1000000;
    assert_int_equal(tt_period_bounds(TT_PERIOD_DAY, day(2026, 1, 18) + noon, &a, &b), TT_OK);
    assert_true(a == day(2026, 1, 18) && b == day(2026, 1, 19));
    /* 2026-01-18 is a Sunday: its ISO week starts Monday 2026-01-12 */
    assert_int_equal(tt_period_bounds(TT_PERIOD_WEEK, day(2026, 1, 18) + noon, &a, &b), TT_OK);
    assert_true(a == day(2026, 1, 12) && b == day(2026, 1, 19));
    assert_int_equal(tt_period_bounds(TT_PERIOD_WEEK, day(2026, 1, 12), &a, &b), TT_OK);
    assert_true(a == day(2026, 1, 12));
    assert_int_equal(tt_period_bounds(TT_PERIOD_WEEK, day(1970, 1, 1), &a, &b), TT_OK);
    assert_true(a == day(1969, 12, 29) && b == day(1970, 1, 5));
    assert_int_equal(tt_period_bounds(TT_PERIOD_MONTH, day(2024, 2, 29) + noon, &a, &b), TT_OK);
    assert_true(a == day(2024, 2, 1) && b == day(2024, 3, 1));
    assert_int_equal(tt_period_bounds(TT_PERIOD_MONTH, day(2025, 12, 31), &a, &b), TT_OK);
    assert_true(a == day(2025, 12, 1) && b == day(2026, 1, 1));
    assert_int_equal(tt_period_bounds(TT_PERIOD_MONTH, day(1969, 12, 15) - 1, &a, &b), TT_OK);
    assert_true(a == day(1969, 12, 1) && b == day(1970, 1, 1));
    assert_int_equal(tt_period_bounds((tt_period)7, 0, &a, &b), TT_EINVAL);
    tt_period p;
    assert_int_equal(tt_period_parse("week", &p), TT_OK);
    assert_int_equal(p, TT_PERIOD_WEEK);
    assert_int_equal(tt_period_parse("year", &p), TT_EINVAL);
}

/* ---- a known day ---- */

static void strategy_event(tt_ledger *l, const char *id, const char *type, const char *actor)
{
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "strategy";
    ev.entity_id = id;
    ev.event_type = type;
    ev.actor = actor;
    tt_append_result r;
    assert_int_equal(tt_ledger_append(l, &ev, 1, &r), TT_OK);
}

static void history(tt_ledger *l)
{
    tt_append_result r;
    assert_int_equal(tt_ledger_log_action(l, "Test audit entry - system check", NULL, NULL, &r),
                     TT_OK);
    assert_int_equal(tt_ledger_log_action(l, "Auto-repair: Created PostgreSQL database quantum",
                                          "auto-repair", NULL, &r),
                     TT_OK);
    strategy_event(l, "s1", "CREATED", "alice");
    strategy_event(l, "s2", "CREATED", "alice");
    strategy_event(l, "s1", "ACTIVATED", "orchestrator");
    strategy_event(l, "s1", "SWAPPED_OUT", "evaluator");
    strategy_event(l, "s2", "SWAPPED_IN", "evaluator");
    strategy_event(l, "s3", "FAILED", "system");
    strategy_event(l, "s2", "CLOSED", "bob");
    tt_feedback_result fr;
    assert_int_equal(tt_feedback_record(l, "s2", 0.06, 0.01, "user_104", "SPY", NULL, &fr), TT_OK);
    assert_int_equal(tt_feedback_record(l, "s2", 0.00, 0.01, "user_107", "SPY", NULL, &fr), TT_OK);
    assert_int_equal(tt_feedback_record(l, "s1", 0.01, 0.01, "user_104", "SPY", NULL, &fr), TT_OK);
    assert_int_equal(
        tt_ledger_log_action(l, "Weekly self-heal: All checks\npassed", "self-heal", NULL, &r),
        TT_OK);
}

/* ---- normalising the text ---- */

static int is_pat(const char *p, const char *pat)
{
    for (; *pat; p++, pat++) {
        if (*p == '\0')
            return 0;
        if (*pat == 'd' ? !isdigit((unsigned char)*p) : *pat != *p)
            return 0;
    }
    return 1;
}

static char *normalise(const char *in)
{
    size_t cap = strlen(in) * 2 + 64, o = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    int note_line = -1; /* lines into the checkpoint note */
    for (const char *p = in; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (note_line == 2 || (note_line >= 3 && strncmp(p, "\xe2\x80\x94 ", 4) == 0)) {
            const char *text = note_line == 2 ? "<ROOT>" : "\xe2\x80\x94 " ORIGIN " <SIG>";
            o += (size_t)snprintf(out + o, cap - o, "%s", text);
        } else {
            for (size_t i = 0; i < len;) {
                if (is_pat(p + i, "dddd-dd-ddTdd:dd:dd.ddddddZ")) {
                    o += (size_t)snprintf(out + o, cap - o, "<TS>");
                    i += 27;
                } else if (is_pat(p + i, "dddd-dd-dd")) {
                    o += (size_t)snprintf(out + o, cap - o, "<DATE>");
                    i += 10;
                } else if (is_pat(p + i, "(dddd-dd)")) {
                    o += (size_t)snprintf(out + o, cap - o, "(<MONTH>)");
                    i += 9;
                } else {
                    out[o++] = p[i++];
                }
            }
        }
        if (note_line >= 0)
            note_line++;
        static const char cp_head[] = "\xf0\x9f\x94\x8f Checkpoint (";
        if (strncmp(p, cp_head, sizeof cp_head - 1) == 0)
            note_line = 0;
        if (eol)
            out[o++] = '\n';
        out[o] = '\0';
        p += len + (eol != NULL);
    }
    return out;
}

static void check_golden(const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, GOLDEN "%s", name);
    char *norm = normalise(text);
    if (getenv("TT_UPDATE_GOLDEN") != NULL) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(norm, f);
        fclose(f);
    }
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("missing golden file %s (run with TT_UPDATE_GOLDEN=1)", path);
    static char want[65536];
    size_t n = fread(want, 1, sizeof want - 1, f);
    fclose(f);
    want[n] = '\0';
    if (strcmp(norm, want) != 0)
        fail_msg("%s differs from the text:\n---- got ----\n%s\n---- want ----\n%s", name, norm,
                 want);
    free(norm);
}

static int64_t first_ts(tt_ledger *l)
{
    tt_event *ev;
    assert_int_equal(tt_ledger_get(l, 1, &ev), TT_OK);
    int64_t ts = ev->ts_us;
    tt_event_free(ev);
    return ts;
}

static void test_day_text_and_counts(void **state)
{
    fixture *f = *state;
    history(f->l);
    int64_t at = first_ts(f->l);
    tt_summary s;
    assert_int_equal(tt_summary_build(f->l, TT_PERIOD_DAY, at, &s), TT_OK);
    assert_int_equal(s.total, 13);
    assert_int_equal(s.n_actions_total, 3);
    assert_int_equal(s.n_actions, 3);
    assert_string_equal(s.actions[0].message, "Test audit entry - system check");
    assert_string_equal(s.actions[0].source, "manual");
    assert_int_equal(s.created, 2);
    assert_int_equal(s.activated, 1);
    assert_int_equal(s.swapped, 1);
    assert_int_equal(s.closed, 1);
    assert_int_equal(s.failed, 1);
    assert_int_equal(s.positive, 1);
    assert_int_equal(s.negative, 1);
    assert_int_equal(s.neutral, 1);
    double want = (tanh(1.0) + tanh(-0.2) + 0.0) / 3;
    assert_true(fabs(s.mean_reward - want) < 1e-12);
    assert_int_equal(s.has_checkpoint, 0);
    char *text = tt_summary_to_text(&s, "Quantum Trader V3");
    assert_non_null(text);
    check_golden("day-no-checkpoint.txt", text);
    tt_free(text);
    tt_summary_clear(&s);

    tt_checkpoint cp;
    assert_int_equal(tt_ledger_checkpoint_sign(f->l, &cp), TT_OK);
    assert_int_equal(tt_summary_build(f->l, TT_PERIOD_DAY, at, &s), TT_OK);
    assert_int_equal(s.has_checkpoint, 1);
    assert_string_equal(s.checkpoint.note, cp.note);
    text = tt_summary_to_text(&s, NULL);
    assert_non_null(strstr(text, cp.note)); /* the note verbatim, so it can be checked */
    check_golden("day.txt", text);
    tt_free(text);

    /* JSON: exactly the keys of SPEC 9, and SPEC 15's producers */
    char *json = tt_summary_to_json(&s);
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    const char *keys[] = {"period",    "from",          "to",       "total",
                          "by_entity", "by_event_type", "actions",  "strategies",
                          "feedback",  "checkpoint",    "producers"};
    assert_int_equal(json_object_size(j), 11);
    for (size_t i = 0; i < 11; i++)
        assert_non_null(json_object_get(j, keys[i]));
    assert_string_equal(json_string_value(json_object_get(j, "period")), "day");
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 13);
    json_t *be = json_object_get(j, "by_entity");
    assert_int_equal(json_integer_value(json_object_get(be, "strategy")), 7);
    assert_int_equal(json_integer_value(json_object_get(be, "maintenance")), 3);
    assert_int_equal(json_integer_value(json_object_get(be, "ai_feedback")), 3);
    json_t *acts = json_object_get(j, "actions");
    assert_int_equal(json_array_size(acts), 3);
    json_t *a1 = json_array_get(acts, 1);
    assert_int_equal(json_object_size(a1), 3);
    assert_string_equal(json_string_value(json_object_get(a1, "source")), "auto-repair");
    json_t *st = json_object_get(j, "strategies");
    assert_int_equal(json_object_size(st), 5);
    assert_int_equal(json_integer_value(json_object_get(st, "swapped")), 1);
    json_t *fb = json_object_get(j, "feedback");
    assert_int_equal(json_object_size(fb), 4);
    assert_true(fabs(json_real_value(json_object_get(fb, "mean_reward")) - want) < 1e-12);
    json_t *c = json_object_get(j, "checkpoint");
    assert_int_equal(json_integer_value(json_object_get(c, "tree_size")), 13);
    assert_string_equal(json_string_value(json_object_get(c, "note")), cp.note);
    json_decref(j);
    tt_free(json);
    tt_summary_clear(&s);

    assert_int_equal(tt_summary_build(f->l, TT_PERIOD_WEEK, at, &s), TT_OK);
    assert_int_equal(s.total, 13);
    text = tt_summary_to_text(&s, NULL);
    check_golden("week.txt", text);
    tt_free(text);
    tt_summary_clear(&s);
    assert_int_equal(tt_summary_build(f->l, TT_PERIOD_MONTH, at, &s), TT_OK);
    text = tt_summary_to_text(&s, NULL);
    check_golden("month.txt", text);
    tt_free(text);
    tt_summary_clear(&s);
    tt_checkpoint_clear(&cp);
}

static void test_empty_period(void **state)
{
    fixture *f = *state;
    history(f->l);
    tt_summary s;
    /* a day long before anything was recorded */
    assert_int_equal(tt_summary_build(f->l, TT_PERIOD_DAY, day(2001, 9, 3), &s), TT_OK);
    assert_int_equal(s.total, 0);
    assert_int_equal(s.n_actions, 0);
    assert_true(isnan(s.mean_reward));
    char *text = tt_summary_to_text(&s, NULL);
    assert_non_null(strstr(text, "(2001-09-03)"));
    check_golden("empty-day.txt", text);
    tt_free(text);
    char *json = tt_summary_to_json(&s);
    json_t *j = json_loads(json, 0, NULL);
    assert_true(json_is_null(json_object_get(json_object_get(j, "feedback"), "mean_reward")));
    assert_string_equal(json_string_value(json_object_get(j, "from")),
                        "2001-09-03T00:00:00.000000Z");
    assert_string_equal(json_string_value(json_object_get(j, "to")), "2001-09-04T00:00:00.000000Z");
    json_decref(j);
    tt_free(json);
    tt_summary_clear(&s);
}

static void test_many_actions_capped(void **state)
{
    fixture *f = *state;
    tt_append_result r;
    char msg[64];
    for (int i = 0; i < TT_SUMMARY_MAX_ACTIONS + 20; i++) {
        snprintf(msg, sizeof msg, "action %d", i);
        assert_int_equal(tt_ledger_log_action(f->l, msg, "cron", NULL, &r), TT_OK);
    }
    tt_summary s;
    assert_int_equal(tt_summary_build(f->l, TT_PERIOD_DAY, first_ts(f->l), &s), TT_OK);
    assert_int_equal(s.n_actions_total, TT_SUMMARY_MAX_ACTIONS + 20);
    assert_int_equal(s.n_actions, TT_SUMMARY_MAX_ACTIONS);
    assert_string_equal(s.actions[0].message, "action 20"); /* the latest, oldest first */
    assert_string_equal(s.actions[TT_SUMMARY_MAX_ACTIONS - 1].message, "action 119");
    char *text = tt_summary_to_text(&s, NULL);
    assert_non_null(strstr(text, "Recent Actions (latest 100 of 120):\n"));
    tt_free(text);
    tt_summary_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_bounds),
        cmocka_unit_test_setup_teardown(test_day_text_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_period, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_actions_capped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
