/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/util/time.c: RFC 3339 formatting and parsing (offsets, fractions,
 * calendar rules) and the user time expressions, evaluated against a fixed "now".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tradetrail.h"
#include "util/time.h"

#define SEC 1000000LL
#define DAY (86400LL * SEC)
/* 2026-01-18T10:31:00.123456Z, the SPEC's example time. */
#define NOW 1768732260123456LL

static int64_t parse_ok(const char *s)
{
    int64_t us = 0;
    if (tt_time_parse_rfc3339(s, &us) != TT_OK)
        fail_msg("rejected: \"%s\"", s);
    return us;
}

static void parse_bad(const char *s)
{
    int64_t us = 42;
    if (tt_time_parse_rfc3339(s, &us) != TT_EINVAL)
        fail_msg("accepted: \"%s\"", s);
    assert_int_equal(us, 42); /* untouched on failure */
}

static void format_is(int64_t us, const char *want)
{
    char buf[TT_TS_LEN + 1];
    tt_time_format(us, buf);
    assert_string_equal(buf, want);
    assert_int_equal(strlen(buf), TT_TS_LEN);
}

static void test_format(void **state)
{
    (void)state;
    format_is(0, "1970-01-01T00:00:00.000000Z");
    format_is(-1, "1969-12-31T23:59:59.999999Z");
    format_is(NOW, "2026-01-18T10:31:00.123456Z");
    format_is(951782400LL * SEC, "2000-02-29T00:00:00.000000Z");
    format_is(-62135596800LL * SEC, "0001-01-01T00:00:00.000000Z");
    format_is(253402300800LL * SEC - 1, "9999-12-31T23:59:59.999999Z");
    /* Outside four-digit years the output is clamped, never longer. */
    format_is(INT64_MIN, "0001-01-01T00:00:00.000000Z");
    format_is(INT64_MAX, "9999-12-31T23:59:59.999999Z");
}

/* Every day from 1600 to 2400 against the C library's own calendar. */
static void test_format_matches_gmtime(void **state)
{
    (void)state;
    for (int64_t day = -135140; day <= 157054; day += 1) {
        time_t t = (time_t)(day * 86400 + 45296); /* 12:34:56 */
        struct tm tm;
        char want[40], got[TT_TS_LEN + 1];
        assert_non_null(gmtime_r(&t, &tm));
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S.000007Z", &tm);
        tt_time_format((int64_t)t * SEC + 7, got);
        assert_string_equal(got, want);
        assert_int_equal(parse_ok(got), (int64_t)t * SEC + 7);
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    /* A walk across the whole range with an odd step hits many fractions and dates. */
    const int64_t lo = -62135596800LL * SEC, hi = 253402300800LL * SEC - 1;
    for (int64_t us = lo; us < hi - 999999937LL * 3331; us += 999999937LL * 3331) {
        char buf[TT_TS_LEN + 1];
        tt_time_format(us, buf);
        assert_int_equal(parse_ok(buf), us);
    }
}

static void test_offsets(void **state)
{
    (void)state;
    int64_t utc = parse_ok("2026-01-18T10:31:00Z");
    assert_int_equal(utc, 1768732260LL * SEC);
    assert_int_equal(parse_ok("2026-01-18T12:31:00+02:00"), utc);
    assert_int_equal(parse_ok("2026-01-18T05:01:00-05:30"), utc);
    assert_int_equal(parse_ok("2026-01-18T10:31:00-00:00"), utc);
    assert_int_equal(parse_ok("2026-01-18T10:31:00+00:00"), utc);
    assert_int_equal(parse_ok("2026-01-18t10:31:00z"), utc);
    assert_int_equal(parse_ok("2026-01-19T09:30:00+23:00"), 1768732200LL * SEC - 0); /* 10:30Z */
    assert_int_equal(parse_ok("2026-01-01T00:30:00+01:00"), parse_ok("2025-12-31T23:30:00Z"));
    parse_bad("2026-01-18T10:31:00+24:00");
    parse_bad("2026-01-18T10:31:00+02:60");
    parse_bad("2026-01-18T10:31:00+0200");
    parse_bad("2026-01-18T10:31:00+02");
    parse_bad("2026-01-18T10:31:00+");
    parse_bad("2026-01-18T10:31:00+02:00 ");
    parse_bad("2026-01-18T10:31:00");
    parse_bad("2026-01-18T10:31:00UTC");
    parse_bad("2026-01-18T10:31:00ZZ");
}

static void test_fractions(void **state)
{
    (void)state;
    int64_t base = parse_ok("2026-01-18T10:31:00Z");
    assert_int_equal(parse_ok("2026-01-18T10:31:00.1Z"), base + 100000);
    assert_int_equal(parse_ok("2026-01-18T10:31:00.123456Z"), base + 123456);
    assert_int_equal(parse_ok("2026-01-18T10:31:00.1234569Z"), base + 123456); /* truncated */
    assert_int_equal(parse_ok("2026-01-18T10:31:00.999999999Z"), base + 999999);
    assert_int_equal(parse_ok("2026-01-18T10:31:00.000001+01:00"), base - 3600 * SEC + 1);
    parse_bad("2026-01-18T10:31:00.1234567890Z"); /* more than 9 digits */
    parse_bad("2026-01-18T10:31:00.Z");
    parse_bad("2026-01-18T10:31:00,5Z");
}

static void test_calendar(void **state)
{
    (void)state;
    parse_ok("2000-02-29T00:00:00Z"); /* divisible by 400 */
    parse_ok("2024-02-29T00:00:00Z");
    parse_ok("1600-02-29T00:00:00Z");
    parse_bad("1900-02-29T00:00:00Z"); /* divisible by 100, not 400 */
    parse_bad("2023-02-29T00:00:00Z");
    parse_bad("2024-02-30T00:00:00Z");
    parse_ok("2026-04-30T00:00:00Z");
    parse_bad("2026-04-31T00:00:00Z");
    parse_ok("2026-12-31T23:59:59Z");
    parse_bad("2026-13-01T00:00:00Z");
    parse_bad("2026-00-01T00:00:00Z");
    parse_bad("2026-01-00T00:00:00Z");
    parse_bad("2026-01-32T00:00:00Z");
    parse_bad("2026-01-18T24:00:00Z");
    parse_bad("2026-01-18T23:60:00Z");
    parse_bad("2026-12-31T23:59:60Z"); /* leap seconds cannot be represented */
    parse_ok("0001-01-01T00:00:00Z");
    parse_ok("9999-12-31T23:59:59.999999Z");
    parse_bad("0000-12-31T23:59:59Z");
    parse_bad("0001-01-01T00:00:00+00:01"); /* before year 1 in UTC */
    parse_bad("9999-12-31T23:59:59-00:01"); /* after year 9999 in UTC */
    assert_int_equal(parse_ok("2024-03-01T00:00:00Z") - parse_ok("2024-02-28T00:00:00Z"), 2 * DAY);
    assert_int_equal(parse_ok("2023-03-01T00:00:00Z") - parse_ok("2023-02-28T00:00:00Z"), DAY);
}

static void test_garbage(void **state)
{
    (void)state;
    parse_bad("");
    parse_bad("2026-01-18");
    parse_bad("2026-01-18 10:31:00Z");
    parse_bad("2026-1-18T10:31:00Z");
    parse_bad("2026-01-18T1:31:00Z");
    parse_bad("+2026-01-18T10:31:00Z");
    parse_bad("20260118T103100Z");
    parse_bad("2026-01-18T10:31:00Z\n");
    parse_bad("2026/01/18T10:31:00Z");
    parse_bad("２０２６-01-18T10:31:00Z");
    parse_bad("2026-01-18T10:31:0aZ");
    assert_int_equal(tt_time_parse_rfc3339(NULL, &(int64_t){0}), TT_EINVAL);
}

static void expr_is(const char *s, int64_t want)
{
    int64_t us = 0;
    if (tt_time_parse_expr(s, NOW, &us) != TT_OK)
        fail_msg("rejected: \"%s\"", s);
    assert_int_equal(us, want);
}

static void expr_bad(const char *s)
{
    int64_t us = 42;
    if (tt_time_parse_expr(s, NOW, &us) != TT_EINVAL)
        fail_msg("accepted: \"%s\"", s);
    assert_int_equal(us, 42);
}

static void test_expr(void **state)
{
    (void)state;
    int64_t midnight = 1768694400LL * SEC; /* 2026-01-18T00:00:00Z */
    expr_is("now", NOW);
    expr_is("NOW", NOW);
    expr_is("today", midnight);
    expr_is("Today", midnight);
    expr_is("yesterday", midnight - DAY);
    expr_is("2026-01-18", midnight);
    expr_is("2024-02-29", parse_ok("2024-02-29T00:00:00Z"));
    expr_is("2026-01-18T12:31:00+02:00", 1768732260LL * SEC);
    expr_is("-45s", NOW - SEC * 45);
    expr_is("-30m", NOW - SEC * 30 * 60);
    expr_is("-2h", NOW - SEC * 2 * 3600);
    expr_is("-7d", NOW - 7 * DAY);
    expr_is("-1w", NOW - 7 * DAY);
    expr_is("-0s", NOW);
    expr_is("-0010d", NOW - 10 * DAY);
    expr_bad("");
    expr_bad("-");
    expr_bad("-h");
    expr_bad("-5");
    expr_bad("-5x");
    expr_bad("-5H");
    expr_bad("-5hh");
    expr_bad("-5 h");
    expr_bad("+5h");
    expr_bad("5h");
    expr_bad("--5h");
    expr_bad("- 5h");
    expr_bad("-99999999999999999999s"); /* N overflows */
    expr_bad("-9223372036854775807s");  /* N * unit overflows */
    expr_bad("-1000000w");              /* before year 1 */
    expr_bad("2023-02-29");
    expr_bad("2026-1-18");
    expr_bad("tomorrow");
    expr_bad("nowx");
    assert_int_equal(tt_time_parse_expr(NULL, NOW, &(int64_t){0}), TT_EINVAL);
}

static void test_expr_before_1970(void **state)
{
    (void)state;
    int64_t us = 0, now = -DAY / 2; /* 1969-12-31T12:00:00Z */
    assert_int_equal(tt_time_parse_expr("today", now, &us), TT_OK);
    assert_int_equal(us, -DAY);
    assert_int_equal(tt_time_parse_expr("yesterday", now, &us), TT_OK);
    assert_int_equal(us, -2 * DAY);
    /* "yesterday" of 0001-01-01 and any day of an impossible "now" do not exist. */
    us = 42;
    assert_int_equal(tt_time_parse_expr("yesterday", -62135596800LL * SEC, &us), TT_EINVAL);
    assert_int_equal(tt_time_parse_expr("today", INT64_MIN, &us), TT_EINVAL);
    assert_int_equal(tt_time_parse_expr("today", INT64_MAX, &us), TT_EINVAL);
    assert_int_equal(us, 42);
    assert_int_equal(tt_time_parse_expr("today", -62135596800LL * SEC, &us), TT_OK);
}

static void test_now(void **state)
{
    (void)state;
    int64_t a = tt_time_now_us(), b = tt_time_now_us();
    assert_true(a > parse_ok("2024-01-01T00:00:00Z"));
    assert_true(b >= a);
}

/* The deadlines of the server's waiting threads (util/time.h). */
static void test_timespec(void **state)
{
    (void)state;
    struct timespec t = tti_timespec_at(1700000000123456LL);
    assert_int_equal(t.tv_sec, 1700000000);
    assert_int_equal(t.tv_nsec, 123456000);
    t = tti_timespec_at(-1); /* before 1970: the nanoseconds stay in [0, 1e9) */
    assert_int_equal(t.tv_sec, -1);
    assert_int_equal(t.tv_nsec, 999999000);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    t = tti_deadline_ms(1500);
    double d = (double)(t.tv_sec - now.tv_sec) + (double)(t.tv_nsec - now.tv_nsec) / 1e9;
    assert_true(d >= 1.499 && d < 1.6);
    assert_true(t.tv_nsec >= 0 && t.tv_nsec < 1000000000L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),           cmocka_unit_test(test_format_matches_gmtime),
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_fractions),        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_garbage),          cmocka_unit_test(test_expr),
        cmocka_unit_test(test_expr_before_1970), cmocka_unit_test(test_now),
        cmocka_unit_test(test_timespec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
