/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cron expressions (SPEC 7): a table of expressions with next-run (and previous-run)
 * times across month ends, leap days (2024, 2028 yes; 2100 no), steps, ranges, lists,
 * names, shorthands and Vixie cron's day-of-month / day-of-week rule, and invalid
 * expressions refused with a message naming the field. Also the cron secret check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tradetrail.h"

static int64_t t(const char *s)
{
    int64_t us;
    if (tt_time_parse_rfc3339(s, &us) != TT_OK)
        fail_msg("bad time %s", s);
    return us;
}

static void expect_next(const char *expr, const char *after, const char *want)
{
    tt_cron c;
    char err[256] = "";
    if (tt_cron_parse(expr, &c, err, sizeof err) != TT_OK)
        fail_msg("\"%s\": %s", expr, err);
    int64_t next;
    assert_int_equal(tt_cron_next(&c, t(after), &next), TT_OK);
    char got[TT_TS_LEN + 1];
    tt_time_format(next, got);
    if (next != t(want))
        fail_msg("\"%s\" after %s: got %s, want %s", expr, after, got, want);
}

static void test_next_table(void **state)
{
    (void)state;
    static const char *const rows[][3] = {
        /* the defaults */
        {"0 0 * * *", "2026-01-18T10:31:00Z", "2026-01-19T00:00:00Z"},
        {"0 2 * * *", "2026-01-18T01:59:59Z", "2026-01-18T02:00:00Z"},
        {"0 2 * * *", "2026-01-18T02:00:00Z", "2026-01-19T02:00:00Z"}, /* strictly after */
        {"0 2 * * *", "2026-12-31T02:00:00Z", "2027-01-01T02:00:00Z"}, /* year end */
        {"* * * * *", "2026-01-18T10:31:30.5Z", "2026-01-18T10:32:00Z"},
        /* month ends */
        {"0 0 31 * *", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"},
        {"0 0 30 * *", "2026-01-30T00:00:00Z", "2026-03-30T00:00:00Z"},
        {"59 23 28-31 * *", "2026-02-28T23:59:00Z", "2026-03-28T23:59:00Z"},
        {"0 0 1 * *", "2026-01-31T23:59:00Z", "2026-02-01T00:00:00Z"},
        /* Feb 29 */
        {"0 0 29 2 *", "2023-03-01T00:00:00Z", "2024-02-29T00:00:00Z"},
        {"0 0 29 2 *", "2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z"},
        {"0 0 29 2 *", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"}, /* 2100 is not leap */
        {"0 12 * 2 *", "2100-02-28T12:00:00Z", "2101-02-01T12:00:00Z"},
        {"0 12 * 2 *", "2000-02-28T12:00:00Z", "2000-02-29T12:00:00Z"}, /* 2000 is */
        /* steps, ranges, lists */
        {"*/15 * * * *", "2026-01-18T10:31:00Z", "2026-01-18T10:45:00Z"},
        {"*/15 * * * *", "2026-01-18T10:45:00Z", "2026-01-18T11:00:00Z"},
        {"5/20 * * * *", "2026-01-18T10:46:00Z", "2026-01-18T11:05:00Z"},
        {"0-30/10 9-17 * * *", "2026-01-18T17:30:00Z", "2026-01-19T09:00:00Z"},
        {"0 8,12,18 * * *", "2026-01-18T12:00:00Z", "2026-01-18T18:00:00Z"},
        {"0 0 1,15 * *", "2026-01-02T00:00:00Z", "2026-01-15T00:00:00Z"},
        {"0 0 * */3 *", "2026-02-01T00:00:00Z", "2026-04-01T00:00:00Z"}, /* months 1,4,7,10 */
        /* weekdays: 2026-01-18 is a Sunday */
        {"0 9 * * 1-5", "2026-01-17T10:00:00Z", "2026-01-19T09:00:00Z"},
        {"0 9 * * mon-fri", "2026-01-23T09:00:00Z", "2026-01-26T09:00:00Z"},
        {"0 0 * * 7", "2026-01-18T00:00:00Z", "2026-01-25T00:00:00Z"}, /* 7 = Sunday */
        {"0 0 * * 0", "2026-01-17T00:00:00Z", "2026-01-18T00:00:00Z"},
        {"0 0 * JAN,jul SUN", "2026-01-31T00:00:00Z", "2026-07-05T00:00:00Z"},
        /* Vixie rule: both restricted → either; "*" in one → both (i.e. the other) */
        {"0 0 13 * 5", "2026-01-10T00:00:00Z", "2026-01-13T00:00:00Z"}, /* the 13th, a Tue */
        {"0 0 13 * 5", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"}, /* a Friday */
        {"0 0 1 * 1", "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"},
        {"0 0 */2 * 1", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z"}, /* odd day AND Monday */
        /* shorthands */
        {"@daily", "2026-01-18T10:31:00Z", "2026-01-19T00:00:00Z"},
        {"@hourly", "2026-01-18T10:31:00Z", "2026-01-18T11:00:00Z"},
        {"@weekly", "2026-01-18T10:31:00Z", "2026-01-25T00:00:00Z"},
        {"@monthly", "2026-01-18T10:31:00Z", "2026-02-01T00:00:00Z"},
        {"@yearly", "2026-01-18T10:31:00Z", "2027-01-01T00:00:00Z"},
        /* before 1970 */
        {"30 6 * * *", "1969-12-31T07:00:00Z", "1970-01-01T06:30:00Z"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_next(rows[i][0], rows[i][1], rows[i][2]);
}

static void test_prev(void **state)
{
    (void)state;
    static const char *const rows[][3] = {
        {"0 2 * * *", "2026-01-18T10:31:00Z", "2026-01-18T02:00:00Z"},
        {"0 2 * * *", "2026-01-18T02:00:00Z", "2026-01-18T02:00:00Z"}, /* at counts */
        {"0 2 * * *", "2026-01-18T01:59:59Z", "2026-01-17T02:00:00Z"},
        {"0 0 29 2 *", "2103-01-01T00:00:00Z", "2096-02-29T00:00:00Z"},
        {"0 0 31 * *", "2026-05-01T00:00:00Z", "2026-03-31T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        tt_cron c;
        assert_int_equal(tt_cron_parse(rows[i][0], &c, NULL, 0), TT_OK);
        int64_t prev;
        assert_int_equal(tt_cron_prev(&c, t(rows[i][1]), &prev), TT_OK);
        if (prev != t(rows[i][2]))
            fail_msg("prev of \"%s\" at %s", rows[i][0], rows[i][1]);
    }
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *const rows[][2] = {
        {"", "expected 5 fields"},
        {"0 0 * *", "expected 5 fields"},
        {"0 0 * * * *", "got more"},
        {"60 0 * * *", "minute"},
        {"0 24 * * *", "hour"},
        {"0 0 0 * *", "day of month"},
        {"0 0 32 * *", "day of month"},
        {"0 0 * 13 *", "month"},
        {"0 0 * * 8", "day of week"},
        {"5-1 * * * *", "backwards"},
        {"*/0 * * * *", "step"},
        {"*/x * * * *", "minute"},
        {"1,,2 * * * *", "empty list item"},
        {"1, * * * *", "comma"},
        {"a * * * *", "minute"},
        {"0 0 * foo *", "month"},
        {"0 0 30 2 *", "never fires"},
        {"0 0 31 4,6,9,11 *", "never fires"},
        {"@sometimes", "unknown shorthand"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        tt_cron c;
        char err[256] = "";
        assert_int_equal(tt_cron_parse(rows[i][0], &c, err, sizeof err), TT_EINVAL);
        if (strstr(err, rows[i][1]) == NULL)
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", rows[i][0], err, rows[i][1]);
    }
    /* Feb 29 alone is fine: it fires in leap years. */
    tt_cron c;
    assert_int_equal(tt_cron_parse("0 0 29 2 *", &c, NULL, 0), TT_OK);
    /* Both restricted: the weekday makes it fire even on a month without that day. */
    assert_int_equal(tt_cron_parse("0 0 30 2 1", &c, NULL, 0), TT_OK);
}

/* Regression (fuzz/regressions/cron): a match beyond the int64 range of microseconds is
 * "not found", never a wrapped time. */
static void test_range_edges(void **state)
{
    (void)state;
    tt_cron c;
    int64_t t = 0;
    assert_int_equal(tt_cron_parse("* * * * *", &c, NULL, 0), TT_OK);
    assert_int_equal(tt_cron_next(&c, INT64_MAX, &t), TT_ENOTFOUND);
    assert_int_equal(tt_cron_prev(&c, INT64_MIN, &t), TT_ENOTFOUND);
    assert_int_equal(t, 0);
}

static void test_authorize(void **state)
{
    (void)state;
    assert_int_equal(tt_cron_authorize(NULL, "x"), TT_EMISUSE);
    assert_int_equal(tt_cron_authorize("", "x"), TT_EMISUSE);
    assert_int_equal(tt_cron_authorize("s3cret", NULL), TT_EAUTH);
    assert_int_equal(tt_cron_authorize("s3cret", ""), TT_EAUTH);
    assert_int_equal(tt_cron_authorize("s3cret", "s3cre"), TT_EAUTH);
    assert_int_equal(tt_cron_authorize("s3cret", "s3cret "), TT_EAUTH);
    assert_int_equal(tt_cron_authorize("s3cret", "s3cret"), TT_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_table), cmocka_unit_test(test_range_edges),
        cmocka_unit_test(test_prev),       cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_authorize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
