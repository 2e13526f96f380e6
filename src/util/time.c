/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Time as microseconds since 1970-01-01T00:00:00Z: RFC 3339 formatting and parsing and the
 * user time expressions of the CLI and the query API (SPEC 9, 10). Calendar arithmetic is
 * done by hand (proleptic Gregorian, days-from-civil) rather than with timegm/gmtime_r,
 * so it is thread-safe, locale-free and independent of TZ.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tradetrail.h"
#include "util/time.h"

#define US_PER_SEC 1000000LL
#define US_PER_DAY (86400LL * US_PER_SEC)
/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z: the four-digit years of RFC 3339. */
#define MIN_US (-62135596800LL * US_PER_SEC)
#define MAX_US (253402300800LL * US_PER_SEC - 1)

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-compatible
 * low-level date algorithms"). */
int64_t tti_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void tti_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned tti_days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Floor division, so that times before 1970 land in the right day. */
static int64_t floor_day(int64_t us, int64_t *rem)
{
    int64_t days = us / US_PER_DAY, r = us % US_PER_DAY;
    if (r < 0)
        r += US_PER_DAY, days--;
    *rem = r;
    return days;
}

static char *put_digits(char *p, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

void tt_time_format(int64_t us, char buf[TT_TS_LEN + 1])
{
    /* Clamped to the four-digit years RFC 3339 can write, so the output always has
     * exactly TT_TS_LEN characters. */
    us = us < MIN_US ? MIN_US : us > MAX_US ? MAX_US : us;
    int64_t rem, y;
    unsigned m, d;
    tti_civil_from_days(floor_day(us, &rem), &y, &m, &d);
    uint64_t sec = (uint64_t)(rem / US_PER_SEC), frac = (uint64_t)(rem % US_PER_SEC);
    char *p = put_digits(buf, (uint64_t)y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, sec / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sec / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sec % 60, 2);
    *p++ = '.';
    p = put_digits(p, frac, 6);
    *p++ = 'Z';
    *p = '\0';
}

/* Exactly n ASCII digits at s; -1 otherwise. */
static int64_t digits(const char *s, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DD" at s (years 0001-9999, real days of the month) as days since the epoch. */
static int parse_date(const char *s, int64_t *days)
{
    int64_t y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 1 || s[4] != '-' || s[7] != '-' || m < 1 || m > 12 || d < 1 ||
        d > tti_days_in_month(y, (unsigned)m))
        return TT_EINVAL;
    *days = tti_days_from_civil(y, (unsigned)m, (unsigned)d);
    return TT_OK;
}

/* "HH:MM:SS[.fraction]" at s as microseconds into the day; *end past it. Leap seconds
 * (:60) are rejected: the ledger's clock cannot represent them. */
static int parse_clock(const char *s, int64_t *us, const char **end)
{
    int64_t h = digits(s, 2), mi = digits(s + 3, 2), sec = digits(s + 6, 2);
    if (h < 0 || h > 23 || s[2] != ':' || mi < 0 || mi > 59 || s[5] != ':' || sec < 0 || sec > 59)
        return TT_EINVAL;
    int64_t frac = 0;
    s += 8;
    if (*s == '.') {
        int n = 0;
        /* Up to nanoseconds; digits beyond microseconds are truncated. */
        for (s++; *s >= '0' && *s <= '9'; s++, n++)
            if (n < 6)
                frac = frac * 10 + (*s - '0');
        if (n < 1 || n > 9)
            return TT_EINVAL;
        for (; n < 6; n++)
            frac *= 10;
    }
    *us = ((h * 60 + mi) * 60 + sec) * US_PER_SEC + frac;
    *end = s;
    return TT_OK;
}

/* "Z" or "+HH:MM" / "-HH:MM" at s, which must end there, as microseconds east of UTC. */
static int parse_offset(const char *s, int64_t *us)
{
    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
        *us = 0;
        return TT_OK;
    }
    if (s[0] != '+' && s[0] != '-')
        return TT_EINVAL;
    int64_t h = digits(s + 1, 2), m;
    /* Check each piece before reading past it: the string may end anywhere. */
    if (h < 0 || h > 23 || s[3] != ':' || (m = digits(s + 4, 2)) < 0 || m > 59 || s[6] != '\0')
        return TT_EINVAL;
    *us = (s[0] == '-' ? -1 : 1) * (h * 60 + m) * 60 * US_PER_SEC;
    return TT_OK;
}

/* RFC 3339 section 5.6 date-time. */
int tt_time_parse_rfc3339(const char *s, int64_t *us)
{
    int64_t days, clock, offset;
    const char *end;
    if (s == NULL || us == NULL || strnlen(s, 20) < 20)
        return TT_EINVAL;
    if (parse_date(s, &days) != TT_OK || (s[10] != 'T' && s[10] != 't') ||
        parse_clock(s + 11, &clock, &end) != TT_OK || parse_offset(end, &offset) != TT_OK)
        return TT_EINVAL;
    int64_t v = days * US_PER_DAY + clock - offset;
    /* An offset can push 0001-01-01 or 9999-12-31 out of the writable range. */
    if (v < MIN_US || v > MAX_US)
        return TT_EINVAL;
    *us = v;
    return TT_OK;
}

/* "-N" followed by s, m, h, d or w: now minus N units, with overflow checked. */
static int parse_relative(const char *s, int64_t now_us, int64_t *us)
{
    static const char units[] = "smhdw";
    static const int64_t unit_us[] = {US_PER_SEC, 60 * US_PER_SEC, 3600 * US_PER_SEC, US_PER_DAY,
                                      7 * US_PER_DAY};
    int64_t n = 0, delta, v;
    size_t i = 1;
    for (; s[i] >= '0' && s[i] <= '9'; i++)
        if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, s[i] - '0', &n))
            return TT_EINVAL;
    const char *u = s[i] != '\0' ? strchr(units, s[i]) : NULL;
    if (i == 1 || u == NULL || s[i + 1] != '\0')
        return TT_EINVAL;
    if (__builtin_mul_overflow(n, unit_us[u - units], &delta) ||
        __builtin_sub_overflow(now_us, delta, &v) || v < MIN_US || v > MAX_US)
        return TT_EINVAL;
    *us = v;
    return TT_OK;
}

int tt_time_parse_expr(const char *s, int64_t now_us, int64_t *us)
{
    int64_t days, rem;
    if (s == NULL || us == NULL)
        return TT_EINVAL;
    if (strcasecmp(s, "now") == 0) {
        *us = now_us;
    } else if (strcasecmp(s, "today") == 0 || strcasecmp(s, "yesterday") == 0) {
        /* Within the RFC 3339 range, so days * US_PER_DAY cannot overflow. */
        if (now_us < MIN_US || now_us > MAX_US)
            return TT_EINVAL;
        days = floor_day(now_us, &rem) - (s[0] == 'y' || s[0] == 'Y');
        if (days * US_PER_DAY < MIN_US)
            return TT_EINVAL;
        *us = days * US_PER_DAY;
    } else if (s[0] == '-') {
        return parse_relative(s, now_us, us);
    } else if (strlen(s) == 10) {
        if (parse_date(s, &days) != TT_OK)
            return TT_EINVAL;
        *us = days * US_PER_DAY;
    } else {
        return tt_time_parse_rfc3339(s, us);
    }
    return TT_OK;
}

int64_t tt_time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

struct timespec tti_timespec_at(int64_t us)
{
    int64_t sec = us / US_PER_SEC, rem = us % US_PER_SEC;
    if (rem < 0) {
        sec--;
        rem += US_PER_SEC;
    }
    return (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = (long)rem * 1000};
}

struct timespec tti_deadline_ms(int64_t ms)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return tti_timespec_at((int64_t)now.tv_sec * US_PER_SEC + now.tv_nsec / 1000 + ms * 1000);
}
