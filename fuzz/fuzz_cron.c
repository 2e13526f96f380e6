/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for cron expressions: tt_cron_parse, then tt_cron_next and tt_cron_prev
 * from a fixed time and from a time taken from the input. The expression is the input up to
 * its first NUL; the time is the 8 bytes after that NUL when there are 8. Beyond not
 * crashing: a failure writes nothing and says why; every field of a parsed expression is a
 * non-empty set within its range; an accepted expression fires within the search window;
 * and next/prev agree with a naive minute-by-minute scan over a window of two days, which
 * reads the calendar from tt_time_format rather than from the cron code's own arithmetic
 * (so only within years 1..9999, the range tt_time_format writes).
 */
#include "fuzz.h"

#include "tradetrail.h"

#define MINUTE_US INT64_C(60000000)
#define DAY_US (1440 * MINUTE_US)
#define MIN_US (INT64_C(-62135596800) * 1000000)     /* 0001-01-01T00:00:00Z */
#define MAX_US (INT64_C(253402300800) * 1000000 - 1) /* 9999-12-31T23:59:59.999999Z */
#define NOW_US INT64_C(1768732260123456)             /* 2026-01-18T10:31:00.123456Z */
#define SCAN_MINUTES 2880
#define SENTINEL INT64_C(0x5A5A5A5A5A5A5A5A)

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

static unsigned num(const char *s, int n)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

/* Does the minute holding t match? The calendar comes from the RFC 3339 text. */
static int naive_match(const tt_cron *c, int64_t t)
{
    char ts[TT_TS_LEN + 1];
    tt_time_format(t, ts); /* "YYYY-MM-DDTHH:MM:..." */
    unsigned month = num(ts + 5, 2), day = num(ts + 8, 2), hour = num(ts + 11, 2),
             minute = num(ts + 14, 2);
    unsigned wd = (unsigned)((floor_div(t, DAY_US) % 7 + 11) % 7); /* 1970-01-01: Thursday */
    int dom = (int)(c->days >> day & 1), dow = (int)(c->weekdays >> wd & 1);
    int day_ok = !c->dom_star && !c->dow_star ? dom || dow : dom && dow;
    return day_ok && (c->months >> month & 1) && (c->hours >> hour & 1) &&
           (c->minutes >> minute & 1);
}

static void check_fields(const tt_cron *c)
{
    FUZZ_CHECK(c->minutes != 0 && c->minutes >> 60 == 0);
    FUZZ_CHECK(c->hours != 0 && c->hours >> 24 == 0);
    FUZZ_CHECK(c->days != 0 && (c->days & 1) == 0);
    FUZZ_CHECK(c->months != 0 && (c->months & 1) == 0 && c->months >> 13 == 0);
    FUZZ_CHECK(c->weekdays != 0 && c->weekdays >> 7 == 0);
    FUZZ_CHECK(c->dom_star <= 1 && c->dow_star <= 1);
}

/* next and prev against a scan of SCAN_MINUTES minutes on either side of t. */
static void check_around(const tt_cron *c, int64_t t)
{
    int64_t next = SENTINEL, prev = SENTINEL;
    int rn = tt_cron_next(c, t, &next), rp = tt_cron_prev(c, t, &prev);
    FUZZ_CHECK(rn == TT_OK || (rn == TT_ENOTFOUND && next == SENTINEL));
    FUZZ_CHECK(rp == TT_OK || (rp == TT_ENOTFOUND && prev == SENTINEL));
    if (t < MIN_US + SCAN_MINUTES * MINUTE_US || t > MAX_US - SCAN_MINUTES * MINUTE_US)
        return; /* only crashes and overflows are checked out there */

    int64_t first = floor_div(t, MINUTE_US) * MINUTE_US;
    int64_t want = SENTINEL;
    for (int i = 1; i <= SCAN_MINUTES && want == SENTINEL; i++)
        if (naive_match(c, first + i * MINUTE_US))
            want = first + i * MINUTE_US;
    if (want != SENTINEL)
        FUZZ_CHECK(rn == TT_OK && next == want);
    else if (rn == TT_OK)
        FUZZ_CHECK(next > first + SCAN_MINUTES * MINUTE_US && next % MINUTE_US == 0 &&
                   (next > MAX_US || naive_match(c, next)));

    want = SENTINEL;
    for (int i = 0; i < SCAN_MINUTES && want == SENTINEL; i++)
        if (naive_match(c, first - i * MINUTE_US))
            want = first - i * MINUTE_US;
    if (want != SENTINEL)
        FUZZ_CHECK(rp == TT_OK && prev == want);
    else if (rp == TT_OK)
        FUZZ_CHECK(prev <= first - SCAN_MINUTES * MINUTE_US && prev % MINUTE_US == 0 &&
                   (prev < MIN_US || naive_match(c, prev)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *expr = fuzz_strdup(data, size), err[256];
    size_t n = strlen(expr);
    tt_cron c, untouched;
    memset(&c, 0x5A, sizeof c);
    untouched = c;
    int rc = tt_cron_parse(expr, &c, err, sizeof err);
    free(expr);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EINVAL);
        FUZZ_CHECK(memcmp(&c, &untouched, sizeof c) == 0);
        FUZZ_CHECK_ERRMSG(err);
        return 0;
    }
    check_fields(&c);
    /* Expressions that can never fire are refused, so this one fires within the window. */
    int64_t next = 0;
    FUZZ_CHECK(tt_cron_next(&c, NOW_US, &next) == TT_OK && naive_match(&c, next));
    check_around(&c, NOW_US);
    if (size - n > 8) {
        fuzz_reader r = {data + n + 1, size - n - 1};
        check_around(&c, (int64_t)fuzz_u64(&r));
    }
    return 0;
}
