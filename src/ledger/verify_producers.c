/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify's check of completeness per producer (SPEC 15). The stored state of each
 * producer decides whether the next event is a GAP, REPEAT or RESTART, so an edited state
 * could hide a missing event from then on. verify replays the same transition
 * (tti_producer_step) over every event in seq order: each detection must be the event right
 * after the one that revealed it, and at the end each stored state must be what the events
 * give (the counters heartbeats and silences move are not derived from events and are not
 * compared).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "ledger/ledger.h"
#include "store/producer_store.h"

typedef struct pstate {
    tt_producer p;
} pstate;

struct tti_preplay {
    pstate *v; /* sorted by name */
    size_t n, cap;
    /* The detection the next seq must be: entity producer, this name and type. */
    int64_t want_seq;
    char want_type[16];
    char want_name[4 * TT_MAX_PRODUCER + 1];
};

tti_preplay *tti_preplay_new(void)
{
    return calloc(1, sizeof(tti_preplay));
}

void tti_preplay_free(tti_preplay *r)
{
    if (r == NULL)
        return;
    free(r->v);
    free(r);
}

/* The state of name, created (zero: a new producer) where it belongs in the order. */
static pstate *state_of(tti_preplay *r, const char *name)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->v[mid].p.name, name);
        if (c == 0)
            return &r->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        pstate *v = realloc(r->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        r->v = v;
        r->cap = cap;
    }
    memmove(&r->v[lo + 1], &r->v[lo], (r->n - lo) * sizeof *r->v);
    memset(&r->v[lo], 0, sizeof r->v[lo]);
    snprintf(r->v[lo].p.name, sizeof r->v[lo].p.name, "%s", name);
    r->n++;
    return &r->v[lo];
}

int tti_preplay_event(tti_preplay *r, const tt_event *ev, char *msg, size_t cap)
{
    if (r->want_seq != 0) {
        int64_t want = r->want_seq;
        r->want_seq = 0;
        if (ev->seq != want || ev->entity == NULL || strcmp(ev->entity, "producer") != 0 ||
            ev->entity_id == NULL || strcmp(ev->entity_id, r->want_name) != 0 ||
            ev->event_type == NULL || strcmp(ev->event_type, r->want_type) != 0) {
            snprintf(msg, cap,
                     "seq %lld: producer %s's counter called for a %s event here (SPEC 15); "
                     "the ledger holds another",
                     (long long)want, r->want_name, r->want_type);
            return TT_ETAMPERED;
        }
    }
    if (ev->producer == NULL)
        return TT_OK;
    pstate *st = state_of(r, ev->producer);
    if (st == NULL)
        return tti_fail(TT_ENOMEM, "out of memory replaying producers");
    tti_producer_note note;
    int rc = tti_producer_step(&st->p, ev, &note);
    if (rc != TT_OK)
        return rc;
    if (note.emit) {
        r->want_seq = ev->seq + 1;
        snprintf(r->want_type, sizeof r->want_type, "%s", note.type);
        snprintf(r->want_name, sizeof r->want_name, "%s", ev->producer);
    }
    return TT_OK;
}

static int same_counts(const tt_producer *a, const tt_producer *b)
{
    return a->last_seq == b->last_seq && a->last_event == b->last_event && a->gaps == b->gaps &&
           a->missing == b->missing && a->repeats == b->repeats && a->restarts == b->restarts;
}

static int mismatch(char *msg, size_t cap, const char *name, const char *what)
{
    snprintf(msg, cap,
             "producers table: %s's state %s (SPEC 15: the state decides the next GAP, REPEAT "
             "or RESTART)",
             name, what);
    return TT_ETAMPERED;
}

int tti_preplay_check(tti_preplay *r, tt_ledger *l, tti_store *s, int64_t *bad_seq, char *msg,
                      size_t cap)
{
    *bad_seq = 0;
    if (r->want_seq != 0) { /* the walk ended before the seq that was to hold it */
        *bad_seq = r->want_seq - 1;
        snprintf(msg, cap,
                 "seq %lld: producer %s's counter called for a %s event after it (SPEC 15); "
                 "there is none",
                 (long long)*bad_seq, r->want_name, r->want_type);
        return TT_ETAMPERED;
    }
    tt_producer *rows = NULL;
    size_t n = 0;
    int rc = l->ops->producer->list(s, &rows, &n);
    if (rc != TT_OK)
        return tti_store_fail(l, s, rc);
    size_t i = 0, j = 0; /* both in name order */
    static const tt_producer none;
    while (rc == TT_OK && (i < n || j < r->n)) {
        int c = i == n ? 1 : j == r->n ? -1 : strcmp(rows[i].name, r->v[j].p.name);
        if (c < 0 && !same_counts(&rows[i], &none)) /* heartbeats only: nothing counted */
            rc = mismatch(msg, cap, rows[i].name, "counts events no event of it explains");
        else if (c > 0)
            rc = mismatch(msg, cap, r->v[j].p.name, "is missing");
        else if (c == 0 && !same_counts(&rows[i], &r->v[j].p))
            rc = mismatch(msg, cap, rows[i].name, "differs from what its events give");
        i += c <= 0;
        j += c >= 0;
    }
    free(rows);
    return rc;
}
