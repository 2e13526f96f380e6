/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Daily, weekly and monthly summaries (SPEC 6.4, seed 001): the period's events found as a
 * seq range (ts never decreases along seq), counted by indexed queries in one snapshot,
 * and the text form in the seed's layout, ending with the latest signed checkpoint note so
 * a summary sent out anchors the ledger's state outside the machine.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "store/domain_store.h"
#include "util/buf.h"

#define DAY_US (86400LL * 1000000LL)
#define RULER "============================================================"

static const char *const period_names[] = {"day", "week", "month"};

const char *tt_period_name(tt_period p)
{
    return p >= TT_PERIOD_DAY && p <= TT_PERIOD_MONTH ? period_names[p] : NULL;
}

int tt_period_parse(const char *s, tt_period *out)
{
    for (int p = TT_PERIOD_DAY; p <= TT_PERIOD_MONTH; p++)
        if (s != NULL && strcmp(s, period_names[p]) == 0) {
            *out = (tt_period)p;
            return TT_OK;
        }
    return TT_EINVAL;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int tt_period_bounds(tt_period p, int64_t at_us, int64_t *from_us, int64_t *to_us)
{
    /* Keep the arithmetic far from overflow: +-100,000 years is plenty. */
    if (tt_period_name(p) == NULL || at_us < -3000000LL * 1000000 * 1000000 ||
        at_us > 3000000LL * 1000000 * 1000000)
        return TT_EINVAL;
    int64_t days = floor_div(at_us, DAY_US), first, end;
    if (p == TT_PERIOD_DAY) {
        first = days;
        end = days + 1;
    } else if (p == TT_PERIOD_WEEK) {
        int64_t dow = ((days % 7) + 10) % 7; /* 0 = Monday; 1970-01-01 was a Thursday */
        first = days - dow;
        end = first + 7;
    } else {
        int64_t y;
        int m, d;
        civil_from_days(days, &y, &m, &d);
        first = days_from_civil(y, m, 1);
        end = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
    }
    *from_us = first * DAY_US;
    *to_us = end * DAY_US;
    return TT_OK;
}

void tt_summary_clear(tt_summary *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_by_entity; i++)
        free(s->by_entity[i].name);
    for (size_t i = 0; i < s->n_by_event_type; i++)
        free(s->by_event_type[i].name);
    for (size_t i = 0; i < s->n_actions; i++) {
        free(s->actions[i].source);
        free(s->actions[i].message);
    }
    free(s->by_entity);
    free(s->by_event_type);
    free(s->actions);
    for (size_t i = 0; i < s->n_producer_events; i++) {
        free(s->producer_events[i].source);
        free(s->producer_events[i].message);
    }
    free(s->producer_events);
    tt_checkpoint_clear(&s->checkpoint);
    memset(s, 0, sizeof *s);
}

/* Add n to the count of name in a small array (kept sorted by name). */
static int bump(tt_count **arr, size_t *n, const char *name, int64_t by)
{
    size_t i = 0;
    while (i < *n && strcmp((*arr)[i].name, name) < 0)
        i++;
    if (i < *n && strcmp((*arr)[i].name, name) == 0) {
        (*arr)[i].count += by;
        return TT_OK;
    }
    tt_count *na = realloc(*arr, (*n + 1) * sizeof *na);
    if (na == NULL)
        return TT_ENOMEM;
    *arr = na;
    char *dup = strdup(name);
    if (dup == NULL)
        return TT_ENOMEM;
    memmove(&na[i + 1], &na[i], (*n - i) * sizeof *na);
    na[i].name = dup;
    na[i].count = by;
    (*n)++;
    return TT_OK;
}

static int on_pair(void *ctx, const tti_pair_count *pc)
{
    tt_summary *s = ctx;
    s->total += pc->count;
    if (bump(&s->by_entity, &s->n_by_entity, pc->entity, pc->count) != TT_OK ||
        bump(&s->by_event_type, &s->n_by_event_type, pc->event_type, pc->count) != TT_OK)
        return tti_fail(TT_ENOMEM, "out of memory");
    if (strcmp(pc->entity, "maintenance") == 0 && strcmp(pc->event_type, "ACTION") == 0)
        s->n_actions_total += pc->count;
    if (strcmp(pc->entity, "producer") == 0) { /* SPEC 15 */
        static const char *const kinds[] = {"GAP", "REPEAT", "RESTART", "SILENT"};
        int64_t *slots[] = {&s->producer_gaps, &s->producer_repeats, &s->producer_restarts,
                            &s->producer_silences};
        for (size_t i = 0; i < 4; i++)
            if (strcmp(pc->event_type, kinds[i]) == 0)
                *slots[i] += pc->count;
    }
    if (strcmp(pc->entity, "strategy") != 0)
        return TT_OK;
    static const char *const types[] = {"CREATED", "ACTIVATED", "CLOSED", "SWAPPED_IN", "FAILED"};
    int64_t *slots[] = {&s->created, &s->activated, &s->closed, &s->swapped, &s->failed};
    for (size_t i = 0; i < 5; i++)
        if (strcmp(pc->event_type, types[i]) == 0)
            *slots[i] += pc->count;
    return TT_OK;
}

static int on_action(void *ctx, const tt_cell *c, size_t n)
{
    tt_summary *s = ctx;
    if (n < 4)
        return TT_OK;
    tt_summary_action *a = &s->actions[s->n_actions];
    a->seq = c[0].i;
    a->ts_us = c[1].i;
    a->source = strdup(c[2].type == TT_CELL_TEXT ? c[2].text : "");
    a->message = strdup(c[3].type == TT_CELL_TEXT ? c[3].text : "");
    s->n_actions++;
    return a->source && a->message ? TT_OK : tti_fail(TT_ENOMEM, "out of memory");
}

/* The period's latest producer events (SPEC 15), oldest first, read in the summary's
 * snapshot through the entity index. */
static int producer_events(tt_ledger *l, tti_store *st, tt_summary *s)
{
    tt_query q;
    tt_query_init(&q);
    q.entity = "producer";
    q.after_seq = s->first_seq - 1;
    q.before_seq = s->end_seq;
    q.order = TT_ORDER_DESC;
    q.limit = TT_SUMMARY_MAX_ACTIONS;
    s->producer_events = calloc(TT_SUMMARY_MAX_ACTIONS, sizeof *s->producer_events);
    if (s->producer_events == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    tti_store_iter *it;
    int rc = l->ops->query(st, &q, &it);
    if (rc != TT_OK)
        return tti_store_fail(l, st, rc);
    const tt_event *ev;
    while (rc == TT_OK && (rc = l->ops->iter_next(it, &ev)) == TT_OK) {
        tt_summary_action *a = &s->producer_events[s->n_producer_events];
        tti_buf m;
        tti_buf_init(&m, TT_MAX_REASON + 128);
        tti_buf_printf(&m, "%s: %s", ev->event_type, ev->reason ? ev->reason : "");
        a->seq = ev->seq;
        a->ts_us = ev->ts_us;
        a->source = strdup(ev->entity_id);
        a->message = m.failed ? NULL : tti_buf_take(&m);
        tti_buf_free(&m);
        s->n_producer_events++;
        if (a->source == NULL || a->message == NULL)
            rc = tti_fail(TT_ENOMEM, "out of memory");
    }
    if (rc == TT_ENOTFOUND)
        rc = TT_OK;
    else if (rc != TT_ENOMEM)
        rc = tti_store_fail(l, st, rc);
    l->ops->iter_free(it);
    for (size_t i = 0; i < s->n_producer_events / 2; i++) { /* newest first -> oldest first */
        tt_summary_action t = s->producer_events[i];
        s->producer_events[i] = s->producer_events[s->n_producer_events - 1 - i];
        s->producer_events[s->n_producer_events - 1 - i] = t;
    }
    return rc;
}

static int fill(tt_ledger *l, tti_store *st, tt_summary *s)
{
    const struct tti_domain_ops *d = l->ops->domain;
    int rc;
    if ((rc = l->ops->seq_at_ts(st, s->from_us, &s->first_seq)) != TT_OK ||
        (rc = l->ops->seq_at_ts(st, s->to_us, &s->end_seq)) != TT_OK)
        return tti_store_fail(l, st, rc);
    rc = d->range_counts(st, s->first_seq, s->end_seq, on_pair, s);
    if (rc != TT_OK)
        return rc == TT_ENOMEM ? rc : tti_store_fail(l, st, rc);
    s->actions = calloc(TT_SUMMARY_MAX_ACTIONS, sizeof *s->actions);
    if (s->actions == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    rc = d->range_actions(st, s->first_seq, s->end_seq, TT_SUMMARY_MAX_ACTIONS, on_action, s);
    if (rc != TT_OK)
        return rc == TT_ENOMEM ? rc : tti_store_fail(l, st, rc);
    for (size_t i = 0; i < s->n_actions / 2; i++) { /* newest first -> oldest first */
        tt_summary_action t = s->actions[i];
        s->actions[i] = s->actions[s->n_actions - 1 - i];
        s->actions[s->n_actions - 1 - i] = t;
    }
    int64_t counts[3];
    double sum;
    if ((rc = d->range_feedback(st, s->first_seq, s->end_seq, counts, &sum)) != TT_OK)
        return tti_store_fail(l, st, rc);
    s->positive = counts[0];
    s->negative = counts[1];
    s->neutral = counts[2];
    int64_t nfb = counts[0] + counts[1] + counts[2];
    s->mean_reward = nfb > 0 ? sum / (double)nfb : NAN;
    if (s->producer_gaps + s->producer_repeats + s->producer_restarts + s->producer_silences > 0 &&
        (rc = producer_events(l, st, s)) != TT_OK)
        return rc;
    tti_cp_row cp;
    rc = l->ops->latest_checkpoint(st, &cp);
    if (rc == TT_ENOTFOUND)
        return TT_OK;
    if (rc != TT_OK)
        return tti_store_fail(l, st, rc);
    s->has_checkpoint = 1;
    s->checkpoint.tree_size = cp.tree_size;
    s->checkpoint.ts_us = cp.ts_us;
    memcpy(s->checkpoint.root_hash, cp.root, TT_HASH_SIZE);
    s->checkpoint.note = cp.note; /* malloc'ed by the store, now ours */
    return TT_OK;
}

int tt_summary_build(tt_ledger *l, tt_period period, int64_t at_us, tt_summary *out)
{
    if (l == NULL || out == NULL)
        return tti_fail(TT_EMISUSE, "tt_summary_build: NULL argument");
    tt_summary s;
    memset(&s, 0, sizeof s);
    s.period = period;
    if (tt_period_bounds(period, at_us, &s.from_us, &s.to_us) != TT_OK)
        return tti_fail(TT_EINVAL, "period: must be day, week or month, at a sane date");
    tti_store *st;
    int rc = tti_reader_get(l, &st);
    if (rc != TT_OK)
        return rc;
    if ((rc = l->ops->begin_read(st)) != TT_OK) {
        rc = tti_store_fail(l, st, rc);
    } else {
        rc = fill(l, st, &s);
        l->ops->rollback(st);
    }
    tti_reader_put(l, st);
    if (rc != TT_OK) {
        tt_summary_clear(&s);
        return rc;
    }
    *out = s;
    return TT_OK;
}

/* ---- text ---- */

static void date_of(int64_t us, char out[16])
{
    char ts[TT_TS_LEN + 1];
    tt_time_format(us, ts);
    memcpy(out, ts, 10);
    out[10] = '\0';
}

static void title_line(tti_buf *b, const tt_summary *s, const char *title)
{
    char from[16], last[16];
    date_of(s->from_us, from);
    date_of(s->to_us - DAY_US, last);
    static const char *const kinds[] = {"Daily", "Weekly", "Monthly"};
    tti_buf_printf(b, "%s \xe2\x80\x93 %s Audit Summary (", title ? title : "tradetrail",
                   kinds[s->period]);
    if (s->period == TT_PERIOD_DAY)
        tti_buf_adds(b, from);
    else if (s->period == TT_PERIOD_WEEK)
        tti_buf_printf(b, "%s to %s", from, last);
    else
        tti_buf_add(b, from, 7);
    tti_buf_adds(b, ")\n\n");
}

/* One line of text: control characters (a multi-line reason) become spaces. */
static void one_line(tti_buf *b, const char *text)
{
    for (const char *p = text; *p; p++) {
        char ch = (unsigned char)*p < 0x20 ? ' ' : *p;
        tti_buf_add(b, &ch, 1);
    }
}

/* The seed's layout (seeds/001): title, total, recent actions between rulers, count. */
static void seed_part(tti_buf *b, const tt_summary *s)
{
    tti_buf_printf(b, "\xf0\x9f\x93\x8a Total Actions: %lld\n\n", (long long)s->n_actions_total);
    if ((int64_t)s->n_actions < s->n_actions_total)
        tti_buf_printf(b, "Recent Actions (latest %zu of %lld):\n", s->n_actions,
                       (long long)s->n_actions_total);
    else
        tti_buf_adds(b, "Recent Actions:\n");
    tti_buf_adds(b, RULER "\n");
    for (size_t i = 0; i < s->n_actions; i++) {
        char ts[TT_TS_LEN + 1];
        tt_time_format(s->actions[i].ts_us, ts);
        tti_buf_printf(b, "[%s] ", ts);
        one_line(b, s->actions[i].message);
        tti_buf_adds(b, "\n");
    }
    tti_buf_adds(b, RULER "\n\n");
    tti_buf_printf(b, "\xe2\x9c\x85 %lld auto-repair actions executed\n",
                   (long long)s->n_actions_total);
}

/* SPEC 15: what completeness per producer recorded in the period, when anything. */
static void producer_part(tti_buf *b, const tt_summary *s)
{
    int64_t n =
        s->producer_gaps + s->producer_repeats + s->producer_restarts + s->producer_silences;
    if (n == 0) /* nothing to report: the seed's layout stays as it was */
        return;
    tti_buf_printf(b,
                   "\n\xf0\x9f\x93\xa1 Producers: %lld gaps, %lld repeats, %lld restarts, %lld "
                   "silences\n",
                   (long long)s->producer_gaps, (long long)s->producer_repeats,
                   (long long)s->producer_restarts, (long long)s->producer_silences);
    for (size_t i = 0; i < s->n_producer_events; i++) {
        char ts[TT_TS_LEN + 1];
        tt_time_format(s->producer_events[i].ts_us, ts);
        tti_buf_printf(b, "  [%s] ", ts);
        one_line(b, s->producer_events[i].source);
        tti_buf_adds(b, " ");
        one_line(b, s->producer_events[i].message);
        tti_buf_adds(b, "\n");
    }
}

static void domain_part(tti_buf *b, const tt_summary *s)
{
    tti_buf_printf(b, "\n\xf0\x9f\x93\x92 Events: %lld\n", (long long)s->total);
    for (size_t i = 0; i < s->n_by_entity; i++)
        tti_buf_printf(b, "  %-24s %8lld\n", s->by_entity[i].name,
                       (long long)s->by_entity[i].count);
    tti_buf_printf(b,
                   "\n\xf0\x9f\x93\x88 Strategies: %lld created, %lld activated, %lld closed, "
                   "%lld swapped, %lld failed\n",
                   (long long)s->created, (long long)s->activated, (long long)s->closed,
                   (long long)s->swapped, (long long)s->failed);
    int64_t nfb = s->positive + s->negative + s->neutral;
    if (nfb == 0)
        tti_buf_adds(b, "\n\xf0\x9f\xa7\xa0 AI Feedback: none recorded\n");
    else
        tti_buf_printf(b,
                       "\n\xf0\x9f\xa7\xa0 AI Feedback: %lld positive, %lld negative, %lld "
                       "neutral (mean reward %+.4f)\n",
                       (long long)s->positive, (long long)s->negative, (long long)s->neutral,
                       s->mean_reward);
    producer_part(b, s);
    if (!s->has_checkpoint) {
        tti_buf_adds(b, "\n\xf0\x9f\x94\x8f Checkpoint: no checkpoint yet\n");
        return;
    }
    char ts[TT_TS_LEN + 1];
    tt_time_format(s->checkpoint.ts_us, ts);
    tti_buf_printf(b, "\n\xf0\x9f\x94\x8f Checkpoint (tree size %lld, signed %s):\n",
                   (long long)s->checkpoint.tree_size, ts);
    tti_buf_adds(b, s->checkpoint.note);
    size_t n = strlen(s->checkpoint.note);
    if (n == 0 || s->checkpoint.note[n - 1] != '\n')
        tti_buf_adds(b, "\n");
}

char *tt_summary_to_text(const tt_summary *s, const char *title)
{
    tti_buf b;
    tti_buf_init(&b, 16u * 1024 * 1024);
    title_line(&b, s, title);
    seed_part(&b, s);
    domain_part(&b, s);
    if (b.failed) {
        tti_buf_free(&b);
        return NULL;
    }
    return tti_buf_take(&b);
}
