/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the time parsers tt_time_parse_rfc3339 and tt_time_parse_expr (with
 * a fixed "now", and with a "now" taken from the input to reach the overflow checks), and for
 * tt_time_format over the whole int64 range. The string is the input up to its first NUL;
 * the int64 is the 8 bytes after that NUL when there are 8, else the first 8 input bytes.
 * Beyond not crashing: results stay in the RFC 3339 range, format -> parse gives the same
 * microseconds, canonical input formats back to itself, each expression form keeps its
 * promise (dates are midnights, offsets lie in the past), and a failure writes nothing.
 */
#include "fuzz.h"

#include <strings.h>

#include "tradetrail.h"

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (86400 * US_PER_SEC)
#define MIN_US (INT64_C(-62135596800) * US_PER_SEC)     /* 0001-01-01T00:00:00Z */
#define MAX_US (INT64_C(253402300800) * US_PER_SEC - 1) /* 9999-12-31T23:59:59.999999Z */
#define NOW_US INT64_C(1768732260123456)                /* 2026-01-18T10:31:00.123456Z */
#define SENTINEL INT64_C(0x5A5A5A5A5A5A5A5A)

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

/* tt_time_format writes exactly TT_TS_LEN characters, which parse back to the (clamped)
 * value. */
static void check_format(int64_t us)
{
    char buf[TT_TS_LEN + 1];
    int64_t back = SENTINEL;
    tt_time_format(us, buf);
    FUZZ_CHECK(strlen(buf) == TT_TS_LEN);
    FUZZ_CHECK(tt_time_parse_rfc3339(buf, &back) == TT_OK);
    FUZZ_CHECK(back == (us < MIN_US ? MIN_US : us > MAX_US ? MAX_US : us));
}

static void check_rfc3339(const char *s)
{
    int64_t us = SENTINEL, expr = SENTINEL;
    if (tt_time_parse_rfc3339(s, &us) != TT_OK) {
        FUZZ_CHECK(us == SENTINEL);
        return;
    }
    FUZZ_CHECK(us >= MIN_US && us <= MAX_US);
    check_format(us);
    /* Already canonical: formatting gives the same text back. */
    char buf[TT_TS_LEN + 1];
    tt_time_format(us, buf);
    if (strlen(s) == TT_TS_LEN && s[10] == 'T' && s[TT_TS_LEN - 1] == 'Z')
        FUZZ_CHECK(strcmp(buf, s) == 0);
    /* No expression form looks like an RFC 3339 time, so the expression parser agrees. */
    FUZZ_CHECK(tt_time_parse_expr(s, NOW_US, &expr) == TT_OK && expr == us);
}

static void check_expr(const char *s, int64_t now)
{
    int64_t us = SENTINEL;
    if (tt_time_parse_expr(s, now, &us) != TT_OK) {
        FUZZ_CHECK(us == SENTINEL);
        return;
    }
    if (strcasecmp(s, "now") == 0) {
        FUZZ_CHECK(us == now);
        return;
    }
    FUZZ_CHECK(us >= MIN_US && us <= MAX_US);
    check_format(us);
    if (strcasecmp(s, "today") == 0 || strcasecmp(s, "yesterday") == 0) {
        int64_t back = s[0] == 'y' || s[0] == 'Y' ? 1 : 0;
        FUZZ_CHECK(floor_div(us, US_PER_DAY) == floor_div(now, US_PER_DAY) - back);
        FUZZ_CHECK(us % US_PER_DAY == 0);
    } else if (s[0] == '-') {
        FUZZ_CHECK(us <= now && (now - us) % US_PER_SEC == 0);
    } else if (strlen(s) == 10) {
        char buf[TT_TS_LEN + 1];
        tt_time_format(us, buf);
        FUZZ_CHECK(us % US_PER_DAY == 0 && memcmp(buf, s, 10) == 0);
    } else {
        int64_t direct = SENTINEL;
        FUZZ_CHECK(tt_time_parse_rfc3339(s, &direct) == TT_OK && direct == us);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strdup(data, size);
    size_t n = strlen(s);
    fuzz_reader r = {data, size};
    if (size - n > 8) {
        r.p = data + n + 1;
        r.n = size - n - 1;
    }
    int64_t v = (int64_t)fuzz_u64(&r);

    check_format(v);
    check_rfc3339(s);
    check_expr(s, NOW_US);
    check_expr(s, v);
    free(s);
    return 0;
}
