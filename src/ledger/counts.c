// SPDX-License-Identifier: Apache-2.0
/*
 * Counts of events by entity, event type and actor as running totals. Counting a ledger
 * of 10 million events takes 1 to 2 s (GET /api/stats, the dashboard's filter choices,
 * the actors report); events never change once recorded, so the totals are kept per
 * ledger handle and only the events after them are counted on the next call; after a
 * retention run (which removes rows from the hot store) everything is counted again. Every
 * server on one PostgreSQL database keeps its own totals, each read from the database.
 */
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "util/failpoint.h"

void tti_counts_free(tt_count *c, size_t n)
{
    for (size_t i = 0; c != NULL && i < n; i++)
        free(c[i].name);
    free(c);
}

static tti_count_cache *cache_of(tt_ledger *l, int what)
{
    return what >= 0 && (size_t)what < sizeof l->counts / sizeof l->counts[0] ? &l->counts[what]
                                                                              : NULL;
}

/* Add one name's count to the totals; TT_ENOMEM leaves them partly merged. */
static int add(tti_count_cache *t, const tt_count *d)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->c[i].name, d->name) == 0) {
            t->c[i].count += d->count;
            return TT_OK;
        }
    tt_count *grown = realloc(t->c, (t->n + 1) * sizeof *grown);
    if (grown == NULL)
        return TT_ENOMEM;
    t->c = grown;
    if ((t->c[t->n].name = strdup(d->name)) == NULL)
        return TT_ENOMEM;
    t->c[t->n++].count = d->count;
    return TT_OK;
}

static int by_count(const void *a, const void *b)
{
    const tt_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int copy_sorted(const tti_count_cache *t, tt_count **out, size_t *n)
{
    tt_count *c = calloc(t->n ? t->n : 1, sizeof *c);
    if (c == NULL)
        return tti_fail(TT_ENOMEM, "out of memory counting events");
    for (size_t i = 0; i < t->n; i++) {
        c[i].count = t->c[i].count;
        if ((c[i].name = strdup(t->c[i].name)) == NULL) {
            tti_counts_free(c, i);
            return tti_fail(TT_ENOMEM, "out of memory counting events");
        }
    }
    qsort(c, t->n, sizeof *c, by_count);
    *out = c;
    *n = t->n;
    return TT_OK;
}

static void reset(tti_count_cache *t)
{
    tti_counts_free(t->c, t->n);
    *t = (tti_count_cache){0};
}

/* Whether a retention run was recorded after the totals: its transaction removed event
 * rows from the hot store (SPEC 8), which a count of the new events alone cannot see, so
 * everything is counted again (as a server started afterwards would). Any process may
 * have run it; the run's event is in the same transaction as the removal. */
static int retention_since(tt_ledger *l, tti_store *s, int64_t upto, int *seen)
{
    tt_count *d = NULL;
    size_t nd = 0;
    *seen = 0;
    if (upto == 0)
        return TT_OK;
    int rc = l->ops->count_by(s, TTI_COUNT_ENTITY, upto, &d, &nd);
    if (rc != TT_OK)
        return tti_store_fail(l, s, rc);
    for (size_t i = 0; i < nd; i++)
        *seen |= strcmp(d[i].name, TTI_RETENTION_ENTITY) == 0;
    tti_counts_free(d, nd);
    return TT_OK;
}

int tti_counts_at(tt_ledger *l, tti_store *s, int what, int64_t size, tt_count **out, size_t *n)
{
    tti_count_cache *t = cache_of(l, what);
    if (t == NULL)
        return tti_fail(TT_EINVAL, "no such count: %d", what);
    if (size < t->upto) /* another store's history (a ledger replaced under a handle) */
        reset(t);
    if (size > t->upto) {
        int retention;
        int rc = retention_since(l, s, t->upto, &retention);
        if (rc != TT_OK)
            return rc;
        if (retention)
            reset(t);
        tt_count *d = NULL;
        size_t nd = 0;
        tti_failpoint("counting"); /* a test's stand-in for counting a large ledger */
        if ((rc = l->ops->count_by(s, what, t->upto, &d, &nd)) != TT_OK)
            return tti_store_fail(l, s, rc);
        for (size_t i = 0; rc == TT_OK && i < nd; i++)
            rc = add(t, &d[i]);
        tti_counts_free(d, nd);
        if (rc != TT_OK) { /* partly merged: count everything again next time */
            reset(t);
            return tti_fail(rc, "out of memory counting events");
        }
        t->upto = size;
    }
    return copy_sorted(t, out, n);
}

int tti_ledger_counts(tt_ledger *l, int what, tt_count **out, size_t *n, int64_t *size)
{
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    pthread_mutex_lock(&l->clock);
    tti_head h = {0};
    if ((rc = l->ops->begin_read(s)) == TT_OK) {
        if ((rc = l->ops->read_head(s, &h)) != TT_OK)
            rc = tti_store_fail(l, s, rc);
        else
            rc = tti_counts_at(l, s, what, h.size, out, n);
        l->ops->rollback(s);
    } else {
        rc = tti_store_fail(l, s, rc);
    }
    pthread_mutex_unlock(&l->clock);
    tti_reader_put(l, s);
    if (rc == TT_OK && size != NULL)
        *size = h.size;
    return rc;
}
