/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Queries over archived events (SPEC 8, include_archive): the events whose bodies retention
 * moved out of the hot store are read back from their segments through the archive source
 * (tt_ledger_set_archive), decoded from their leaf bytes and filtered here as the store's
 * query would filter them. Slower than the hot store (each segment is read and checked
 * whole), but complete.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/event.h"
#include "ledger/ledger.h"

static int word_char(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

/* The next word at or after *p (NULL at the end), its length in *n; *p moves past it. */
static const char *next_word(const char **p, size_t *n)
{
    const char *s = *p;
    while (*s && !word_char((unsigned char)*s))
        s++;
    const char *start = s;
    while (*s && word_char((unsigned char)*s))
        s++;
    *p = s;
    *n = (size_t)(s - start);
    return *n ? start : NULL;
}

/* The full-text rule of the stores (docs/ARCHITECTURE.md): the reason's words are runs of
 * letters and digits, compared case-insensitively (ASCII); a search word of 3 characters
 * or more matches the words it starts, a shorter one whole words; every word must match. */
static int word_matches(const char *reason, const char *w, size_t wn)
{
    size_t n;
    for (const char *start; (start = next_word(&reason, &n)) != NULL;)
        if (n >= wn && (wn >= 3 || n == wn) && strncasecmp(start, w, wn) == 0)
            return 1;
    return 0;
}

static int text_matches(const char *reason, const char *text)
{
    size_t n;
    int any = 0;
    for (const char *w; (w = next_word(&text, &n)) != NULL; any = 1)
        if (reason == NULL || !word_matches(reason, w, n))
            return 0;
    return any; /* only punctuation matches nothing, as on the stores */
}

static int eq(const char *want, const char *have)
{
    return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

static int matches(const tt_query *q, const tt_event *ev)
{
    if (!eq(q->entity, ev->entity) || !eq(q->entity_id, ev->entity_id) || !eq(q->actor, ev->actor))
        return 0;
    if (q->since_us != TT_TIME_NONE && ev->ts_us < q->since_us)
        return 0;
    if (q->until_us != TT_TIME_NONE && ev->ts_us >= q->until_us)
        return 0;
    if (q->n_event_types > 0) {
        size_t i = 0;
        while (i < q->n_event_types && strcmp(q->event_types[i], ev->event_type) != 0)
            i++;
        if (i == q->n_event_types)
            return 0;
    }
    return q->text == NULL || text_matches(ev->reason, q->text);
}

typedef struct collect {
    const tt_query *q;
    int64_t lo, hi;
    tt_event **list;
    size_t n, cap, max; /* asc: keep at most max */
} collect;

static int take(void *ctx, int64_t seq, const uint8_t *leaf, size_t len)
{
    collect *c = ctx;
    if (seq < c->lo || seq > c->hi)
        return TT_OK;
    tt_event *ev;
    int rc = tti_event_leaf_decode(leaf, len, &ev);
    if (rc != TT_OK)
        return tti_fail(rc == TT_ENOMEM ? rc : TT_ETAMPERED, "seq %lld: not a leaf",
                        (long long)seq);
    /* WARNING: never stop reading early: the segment's SHA-256 and range proof are checked
     * at its end, and none of its events may be served before they are (docs/API.md). */
    if (!matches(c->q, ev) || (c->q->order == TT_ORDER_ASC && c->n >= c->max)) {
        tt_event_free(ev);
        return TT_OK;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        tt_event **p = realloc(c->list, cap * sizeof *p);
        if (p == NULL) {
            tt_event_free(ev);
            return tti_fail(TT_ENOMEM, "out of memory");
        }
        c->list = p;
        c->cap = cap;
    }
    c->list[c->n++] = ev;
    return TT_OK;
}

void tti_archive_events_free(tt_event **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tt_event_free(list[i]);
    free(list);
}

int tti_archive_collect(tt_ledger *l, const tti_segment *segs, size_t nsegs, const tt_query *q,
                        size_t max, tt_event ***out, size_t *n)
{
    collect c = {.q = q, .lo = q->after_seq + 1, .max = max};
    c.hi = q->before_seq > 0 ? q->before_seq - 1 : INT64_MAX;
    int rc = TT_OK;
    *out = NULL;
    *n = 0;
    int desc = q->order == TT_ORDER_DESC;
    tt_event **acc = NULL; /* desc: the matches kept so far, newest first */
    size_t nacc = 0;
    for (size_t k = 0; k < nsegs && rc == TT_OK && (desc ? nacc : c.n) < max; k++) {
        const tti_segment *g = &segs[desc ? nsegs - 1 - k : k];
        if (g->last_seq < c.lo || g->first_seq > c.hi)
            continue;
        if (desc)
            c.n = 0; /* each segment's matches in seq order, then taken newest first */
        rc = l->archive.read(l->archive.ctx, l, g, take, &c);
        if (!desc || rc != TT_OK)
            continue;
        tt_event **p = realloc(acc, (nacc + c.n) * sizeof *p + 1);
        if (p == NULL) {
            rc = tti_fail(TT_ENOMEM, "out of memory");
            break;
        }
        acc = p;
        for (size_t i = c.n; i > 0; i--) {
            if (nacc < max)
                acc[nacc++] = c.list[i - 1];
            else
                tt_event_free(c.list[i - 1]);
        }
        c.n = 0;
    }
    if (desc) {
        tti_archive_events_free(c.list, c.n);
        c.list = acc;
        c.n = nacc;
    }
    if (rc != TT_OK) {
        tti_archive_events_free(c.list, c.n);
        return rc;
    }
    *out = c.list;
    *n = c.n;
    return TT_OK;
}
