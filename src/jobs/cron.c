/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cron expressions (SPEC 7): the five classic fields in UTC with lists, ranges, steps, `*`,
 * month and weekday names and the @hourly/@daily/@weekly/@monthly/@yearly shorthands, and
 * the next and previous matching minute. Day of month and day of week follow Vixie cron:
 * when both are restricted (neither field starts with `*`), a day matching either one is
 * a match; otherwise both must match.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "jobs/cron.h"
#include "util/time.h"

/* Search bound of next/prev: 28 years covers every Feb 29 gap (2096 → 2104) twice over. */
#define SEARCH_DAYS (28 * 366)

typedef struct field {
    const char *name;
    unsigned min, max;
    const char *const *names; /* names[i] is value min + i; NULL when none */
} field;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const field fields[5] = {
    {"minute", 0, 59, NULL},          {"hour", 0, 23, NULL},
    {"day of month", 1, 31, NULL},    {"month", 1, 12, month_names},
    {"day of week", 0, 7, day_names},
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* A number or a name of the field; *end after it. -1 when neither. */
static long value(const field *f, const char *p, const char **end)
{
    if (isdigit((unsigned char)*p)) {
        long v = 0;
        while (isdigit((unsigned char)*p) && v < 1000)
            v = v * 10 + (*p++ - '0');
        *end = p;
        return v;
    }
    for (unsigned i = 0; f->names != NULL && f->names[i] != NULL; i++)
        if (strncasecmp(p, f->names[i], 3) == 0 && !isalpha((unsigned char)p[3])) {
            *end = p + 3;
            return (long)(f->min + i);
        }
    return -1;
}

/* One field: comma-separated items of `*`, N, N-M, each optionally /STEP. */
static int parse_field(const field *f, const char *p, size_t len, uint64_t *bits, char *err,
                       size_t errlen)
{
    char item[64];
    uint64_t set = 0;
    const char *end = p + len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = (size_t)((comma ? comma : end) - p);
        if (n == 0 || n >= sizeof item) {
            snprintf(err, errlen, "%s: %s", f->name, n == 0 ? "empty list item" : "item too long");
            return TT_EINVAL;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        const char *q = item;
        long lo, hi, step = 1;
        int range = 1;
        if (*q == '*') {
            lo = f->min;
            hi = f->max == 7 ? 6 : f->max; /* 7 is only another name for Sunday */
            q++;
        } else {
            if ((lo = value(f, q, &q)) < 0)
                goto bad;
            hi = lo;
            range = *q == '-';
            if (range) {
                if ((hi = value(f, q + 1, &q)) < 0)
                    goto bad;
            }
        }
        if (*q == '/') {
            const char *s = q + 1;
            if (!isdigit((unsigned char)*s))
                goto bad;
            step = value(&fields[0], s, &q);
            if (step < 1 || step > (long)f->max + 1) {
                snprintf(err, errlen, "%s: step %ld out of range 1-%u in \"%s\"", f->name, step,
                         f->max + 1, item);
                return TT_EINVAL;
            }
            if (!range)
                hi = f->max == 7 ? 6 : f->max; /* N/S: from N to the end */
        }
        if (*q != '\0')
            goto bad;
        if (lo < (long)f->min || hi > (long)f->max || lo > (long)f->max || hi < (long)f->min) {
            snprintf(err, errlen, "%s: %s out of range %u-%u", f->name, item, f->min, f->max);
            return TT_EINVAL;
        }
        if (lo > hi) {
            snprintf(err, errlen, "%s: range \"%s\" runs backwards", f->name, item);
            return TT_EINVAL;
        }
        for (long v = lo; v <= hi; v += step)
            set |= UINT64_C(1) << (f->max == 7 && v == 7 ? 0 : v);
        p += n + (comma != NULL);
        if (comma != NULL && p == end) {
            snprintf(err, errlen, "%s: list ends with a comma", f->name);
            return TT_EINVAL;
        }
        continue;
    bad:
        snprintf(err, errlen, "%s: cannot read \"%s\" (want *, N, N-M, a list, /STEP%s)", f->name,
                 item,
                 f->names == month_names ? " or a name: jan"
                 : f->names              ? " or a name: mon"
                                         : "");
        return TT_EINVAL;
    }
    *bits = set;
    return TT_OK;
}

static const struct {
    const char *name, *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

int tt_cron_parse(const char *expr, tt_cron *out, char *err, size_t errlen)
{
    char dummy[8];
    if (err == NULL) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (expr == NULL || out == NULL) {
        snprintf(err, errlen, "no expression");
        return TT_EMISUSE;
    }
    while (isspace((unsigned char)*expr))
        expr++;
    if (*expr == '@') {
        size_t n = strcspn(expr, " \t\r\n");
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if (strlen(macros[i].name) == n && strncasecmp(expr, macros[i].name, n) == 0 &&
                expr[n + strspn(expr + n, " \t\r\n")] == '\0')
                return tt_cron_parse(macros[i].expr, out, err, errlen);
        snprintf(err, errlen,
                 "unknown shorthand \"%.*s\" (want @hourly, @daily, @weekly, "
                 "@monthly or @yearly)",
                 (int)(n > 32 ? 32 : n), expr);
        return TT_EINVAL;
    }
    uint64_t bits[5];
    int star[5] = {0};
    const char *p = expr;
    for (int i = 0; i < 5; i++) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, " \t\r\n");
        if (n == 0) {
            snprintf(err, errlen,
                     "expected 5 fields (minute hour day-of-month month "
                     "day-of-week), got %d",
                     i);
            return TT_EINVAL;
        }
        star[i] = *p == '*';
        int rc = parse_field(&fields[i], p, n, &bits[i], err, errlen);
        if (rc != TT_OK)
            return rc;
        p += n;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '\0') {
        snprintf(err, errlen, "expected 5 fields, got more (\"%.32s\")", p);
        return TT_EINVAL;
    }
    tt_cron c;
    memset(&c, 0, sizeof c);
    c.minutes = bits[0];
    c.hours = (uint32_t)bits[1];
    c.days = (uint32_t)bits[2];
    c.months = (uint16_t)bits[3];
    c.weekdays = (uint8_t)bits[4];
    c.dom_star = (uint8_t)star[2];
    c.dow_star = (uint8_t)star[4];
    /* An expression that can never fire is a mistake worth naming (e.g. "0 0 30 2 *"). */
    if (!c.dom_star && c.dow_star) {
        int possible = 0;
        for (unsigned m = 1; m <= 12 && !possible; m++)
            for (int d = 1; (c.months >> m & 1) && d <= (int)tti_days_in_month(2000, m); d++)
                possible |= (int)(c.days >> d & 1);
        if (!possible) {
            snprintf(err, errlen,
                     "day of month and month never meet: the expression never "
                     "fires");
            return TT_EINVAL;
        }
    }
    *out = c;
    return TT_OK;
}

static int day_matches(const tt_cron *c, int64_t days)
{
    int64_t y;
    unsigned m, d;
    tti_civil_from_days(days, &y, &m, &d);
    if (!(c->months >> m & 1))
        return 0;
    unsigned wd = (unsigned)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    int dom = (int)(c->days >> d & 1), dow = (int)(c->weekdays >> wd & 1);
    /* Vixie cron: both restricted → either matches; else both must. */
    return (!c->dom_star && !c->dow_star) ? (dom || dow) : (dom && dow);
}

int tti_cron_matches(const tt_cron *c, int64_t t_us)
{
    int64_t minute = floor_div(t_us, TTI_MINUTE_US);
    int64_t days = floor_div(minute, 1440);
    int64_t mod = minute - days * 1440;
    return day_matches(c, days) && (c->hours >> (mod / 60) & 1) && (c->minutes >> (mod % 60) & 1);
}

int tt_cron_next(const tt_cron *c, int64_t after_us, int64_t *next_us)
{
    if (c == NULL || next_us == NULL)
        return TT_EMISUSE;
    int64_t minute = floor_div(after_us, TTI_MINUTE_US) + 1; /* strictly after */
    int64_t days = floor_div(minute, 1440);
    int from = (int)(minute - days * 1440);
    for (int64_t i = 0; i < SEARCH_DAYS; i++, days++, from = 0) {
        if (!day_matches(c, days))
            continue;
        for (int mm = from; mm < 1440; mm++)
            if ((c->hours >> (mm / 60) & 1) && (c->minutes >> (mm % 60) & 1)) {
                /* Near the ends of int64 the minute has no microsecond value. */
                int64_t us;
                if (__builtin_mul_overflow(days * 1440 + mm, TTI_MINUTE_US, &us))
                    return TT_ENOTFOUND;
                *next_us = us;
                return TT_OK;
            }
    }
    return TT_ENOTFOUND;
}

int tt_cron_prev(const tt_cron *c, int64_t at_us, int64_t *prev_us)
{
    if (c == NULL || prev_us == NULL)
        return TT_EMISUSE;
    int64_t minute = floor_div(at_us, TTI_MINUTE_US); /* at or before */
    int64_t days = floor_div(minute, 1440);
    int from = (int)(minute - days * 1440);
    for (int64_t i = 0; i < SEARCH_DAYS; i++, days--, from = 1439) {
        if (!day_matches(c, days))
            continue;
        for (int mm = from; mm >= 0; mm--)
            if ((c->hours >> (mm / 60) & 1) && (c->minutes >> (mm % 60) & 1)) {
                int64_t us;
                if (__builtin_mul_overflow(days * 1440 + mm, TTI_MINUTE_US, &us))
                    return TT_ENOTFOUND;
                *prev_us = us;
                return TT_OK;
            }
    }
    return TT_ENOTFOUND;
}
