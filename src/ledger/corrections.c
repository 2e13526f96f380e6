/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Corrections (SPEC 15): a CORRECTION or VOID event names an earlier event in
 * metadata.corrects. Nothing stored ever changes; the corrected view (TT_VIEW_CORRECTED)
 * shows events as their latest correction says, and the originals stay stored and provable.
 * Here are the check made before such an event is queued and the view's rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "ledger/ledger.h"

#define KEY "corrects"

static int is_correction(const tt_event *ev)
{
    return strcmp(ev->event_type, "CORRECTION") == 0 || strcmp(ev->event_type, "VOID") == 0;
}

static int corr_fail(size_t n, size_t i, const char *text)
{
    return n == 1 ? tti_fail(TT_EINVAL, "%s", text) : tti_fail(TT_EINVAL, "event %zu: %s", i, text);
}

/* The target must already be in the ledger: seqs only grow, so an event committed before the
 * correction is queued is earlier than the correction, whichever batch it lands in. */
int tti_corrections_check(tt_ledger *l, const tt_event *events, size_t n)
{
    int64_t size = -1;
    char text[300];
    for (size_t i = 0; i < n; i++) {
        if (!is_correction(&events[i]))
            continue;
        int64_t target = 0;
        int rc = tti_metadata_get_int(events[i].metadata, KEY, &target);
        if (rc != TT_OK || target < 1)
            return corr_fail(n, i,
                             "metadata.corrects: a CORRECTION or VOID event needs the seq of "
                             "the earlier event it corrects, an integer >= 1");
        uint8_t root[TT_HASH_SIZE];
        if (size < 0 && (rc = tt_ledger_head(l, &size, root)) != TT_OK)
            return rc;
        if (target > size) {
            snprintf(text, sizeof text,
                     "metadata.corrects: no event with seq %lld to correct (the ledger holds "
                     "%lld); a correction refers to an earlier event",
                     (long long)target, (long long)size);
            return corr_fail(n, i, text);
        }
    }
    return TT_OK;
}

/* ---- the corrected view ---- */

typedef struct entry {
    int64_t target, seq;
    int is_void;
    tt_event *ev; /* the correction itself, cloned */
} entry;

struct tti_corrections {
    entry *e;
    size_t n, cap;
};

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int add(tti_corrections *c, const tt_event *ev)
{
    int64_t target;
    /* One stored before the rule, or naming a later event, corrects nothing. */
    if (tti_metadata_get_int(ev->metadata, KEY, &target) != TT_OK || target < 1 ||
        target >= ev->seq)
        return TT_OK;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        entry *e = realloc(c->e, cap * sizeof *e);
        if (e == NULL)
            return TT_ENOMEM;
        c->e = e;
        c->cap = cap;
    }
    entry *x = &c->e[c->n];
    if (tti_event_clone(ev, &x->ev) != TT_OK)
        return TT_ENOMEM;
    x->target = target;
    x->seq = ev->seq;
    x->is_void = strcmp(ev->event_type, "VOID") == 0;
    c->n++;
    return TT_OK;
}

void tti_corrections_free(tti_corrections *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        tt_event_free(c->e[i].ev);
    free(c->e);
    free(c);
}

int tti_corrections_load(tt_ledger *l, tti_store *s, tti_corrections **out)
{
    tti_corrections *c = calloc(1, sizeof *c);
    if (c == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    tt_query q;
    tt_query_init(&q);
    q.event_types[0] = "CORRECTION";
    q.event_types[1] = "VOID";
    q.n_event_types = 2;
    q.limit = TT_MAX_QUERY_LIMIT;
    int rc = TT_OK;
    for (size_t got = q.limit; rc == TT_OK && got == q.limit;) {
        tti_store_iter *it;
        if ((rc = l->ops->query(s, &q, &it)) != TT_OK) {
            rc = tti_store_fail(l, s, rc);
            break;
        }
        const tt_event *ev;
        got = 0;
        while (rc == TT_OK && (rc = l->ops->iter_next(it, &ev)) == TT_OK) {
            got++;
            q.after_seq = ev->seq;
            if ((rc = add(c, ev)) != TT_OK)
                rc = tti_fail(rc, "out of memory loading corrections");
        }
        if (rc == TT_ENOTFOUND)
            rc = TT_OK;
        else if (rc != TT_OK && rc != TT_ENOMEM)
            rc = tti_store_fail(l, s, rc);
        l->ops->iter_free(it);
    }
    if (rc != TT_OK) {
        tti_corrections_free(c);
        return rc;
    }
    if (c->n > 1) /* no corrections: c->e is NULL, which qsort may not be given */
        qsort(c->e, c->n, sizeof *c->e, entry_cmp);
    *out = c;
    return TT_OK;
}

size_t tti_corrections_count(const tti_corrections *c)
{
    return c->n;
}

/* The latest correction of seq, or NULL. */
static const entry *latest(const tti_corrections *c, int64_t seq)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) { /* first entry with target > seq */
        size_t mid = lo + (hi - lo) / 2;
        if (c->e[mid].target <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && c->e[lo - 1].target == seq ? &c->e[lo - 1] : NULL;
}

int tti_corrections_apply(const tti_corrections *c, const tt_event *ev, tt_event *shown,
                          char **meta)
{
    *meta = NULL;
    if (is_correction(ev))
        return 1;
    const entry *x = latest(c, ev->seq);
    *shown = *ev;
    if (x == NULL)
        return 0;
    if (x->is_void)
        return 1;
    const tt_event *k = x->ev;
    if (k->old_status != NULL)
        shown->old_status = k->old_status;
    if (k->new_status != NULL)
        shown->new_status = k->new_status;
    if (k->reason != NULL)
        shown->reason = k->reason;
    if (tti_metadata_overlay(ev->metadata, k->metadata, KEY, meta) != TT_OK)
        return -1;
    shown->metadata = *meta;
    shown->corrected_by = x->seq;
    return 0;
}
