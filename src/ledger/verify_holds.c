/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What verify checks of legal holds (SPEC 4, 8): retention keeps the body of every hold
 * event, and of every event whose entity_id is under a hold whenever it runs over its
 * segment (the first run without the hold removes it for good).
 * Such a body missing from the store is a deletion, even though its segment still holds
 * the leaf. Which ids were held is read from the hold events (always kept in the store);
 * when retention last ran over a segment, from the retention events the walk meets (they
 * may themselves be archived); the verdict comes after the walk, once both are known.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "ledger/ledger.h"

typedef struct hold_ev {
    int64_t seq;
    char *entity_id;
    int hold; /* HOLD, else RELEASE */
} hold_ev;

typedef struct run_ev {
    int64_t seq;
    char *file; /* the segment the retention run recorded or swept */
} run_ev;

typedef struct missing {
    int64_t seq;
    char *entity_id;
    int is_hold; /* a hold event itself */
    char file[64];
} missing;

struct tti_vholds {
    hold_ev *holds; /* in seq order */
    size_t n_holds, cap_holds;
    run_ev *runs;
    size_t n_runs, cap_runs;
    missing *miss;
    size_t n_miss, cap_miss;
};

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return TT_OK;
    size_t cap2 = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, cap2 * size);
    if (p == NULL)
        return tti_fail(TT_ENOMEM, "out of memory checking legal holds");
    *arr = p;
    *cap = cap2;
    return TT_OK;
}

static int on_hold(void *ctx, const tt_event *ev)
{
    tti_vholds *h = ctx;
    int rc = grow((void **)&h->holds, &h->cap_holds, h->n_holds, sizeof *h->holds);
    if (rc != TT_OK)
        return rc;
    hold_ev *e = &h->holds[h->n_holds];
    if ((e->entity_id = strdup(ev->entity_id)) == NULL)
        return tti_fail(TT_ENOMEM, "out of memory checking legal holds");
    e->seq = ev->seq;
    e->hold = strcmp(ev->event_type, "HOLD") == 0;
    h->n_holds++;
    return TT_OK;
}

int tti_vholds_load(tt_ledger *l, tti_store *s, tti_vholds **out)
{
    *out = NULL;
    tti_vholds *h = calloc(1, sizeof *h);
    if (h == NULL)
        return tti_fail(TT_ENOMEM, "out of memory checking legal holds");
    int rc = tti_entity_each(l, s, TTI_HOLD_ENTITY, on_hold, h);
    if (rc != TT_OK || h->n_holds == 0) {
        tti_vholds_free(h);
        return rc;
    }
    *out = h;
    return TT_OK;
}

int tti_vholds_saw(tti_vholds *h, const tt_event *ev)
{
    if (strcmp(ev->entity, TTI_RETENTION_ENTITY) != 0)
        return TT_OK;
    int rc = grow((void **)&h->runs, &h->cap_runs, h->n_runs, sizeof *h->runs);
    if (rc != TT_OK)
        return rc;
    if ((h->runs[h->n_runs].file = strdup(ev->entity_id)) == NULL)
        return tti_fail(TT_ENOMEM, "out of memory checking legal holds");
    h->runs[h->n_runs++].seq = ev->seq;
    return TT_OK;
}

int tti_vholds_candidate(const tti_vholds *h, const tt_event *ev)
{
    if (strcmp(ev->entity, TTI_HOLD_ENTITY) == 0)
        return 1;
    for (size_t i = 0; i < h->n_holds; i++)
        if (strcmp(h->holds[i].entity_id, ev->entity_id) == 0)
            return 1;
    return 0;
}

int tti_vholds_missing(tti_vholds *h, const tt_event *ev, const tti_segment *seg)
{
    int rc = grow((void **)&h->miss, &h->cap_miss, h->n_miss, sizeof *h->miss);
    if (rc != TT_OK)
        return rc;
    missing *m = &h->miss[h->n_miss];
    if ((m->entity_id = strdup(ev->entity_id)) == NULL)
        return tti_fail(TT_ENOMEM, "out of memory checking legal holds");
    m->seq = ev->seq;
    m->is_hold = strcmp(ev->entity, TTI_HOLD_ENTITY) == 0;
    memcpy(m->file, seg->file, sizeof m->file);
    h->n_miss++;
    return TT_OK;
}

static int held_at(const tti_vholds *h, const char *entity_id, int64_t before)
{
    int held = 0;
    for (size_t i = 0; i < h->n_holds && h->holds[i].seq < before; i++)
        if (strcmp(h->holds[i].entity_id, entity_id) == 0)
            held = h->holds[i].hold;
    return held;
}

/* Whether retention should have kept entity_id's body in segment file: it was held at
 * every run over the segment (a run removes the bodies no hold keeps then, and nothing
 * brings them back). *last: the last such run, 0 when the walk met none. */
static int kept_by_holds(const tti_vholds *h, const char *file, const char *entity_id,
                         int64_t *last)
{
    *last = 0;
    for (size_t i = 0; i < h->n_runs; i++) {
        if (strcmp(h->runs[i].file, file) != 0)
            continue;
        if (!held_at(h, entity_id, h->runs[i].seq))
            return 0;
        if (h->runs[i].seq > *last)
            *last = h->runs[i].seq;
    }
    return *last > 0;
}

int64_t tti_vholds_first_violation(const tti_vholds *h, char *msg, size_t cap)
{
    for (size_t i = 0; i < h->n_miss; i++) { /* in seq order: the walk's */
        const missing *m = &h->miss[i];
        int64_t run;
        if (m->is_hold) {
            snprintf(msg, cap,
                     "seq %lld: a legal hold's event is missing from the store (retention "
                     "keeps every one)",
                     (long long)m->seq);
            return m->seq;
        }
        if (kept_by_holds(h, m->file, m->entity_id, &run)) {
            snprintf(msg, cap,
                     "seq %lld: its body is missing from the store, but %s was under a legal "
                     "hold whenever retention ran over archive segment %s (last at seq %lld)",
                     (long long)m->seq, m->entity_id, m->file, (long long)run);
            return m->seq;
        }
    }
    return 0;
}

void tti_vholds_free(tti_vholds *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n_holds; i++)
        free(h->holds[i].entity_id);
    for (size_t i = 0; i < h->n_runs; i++)
        free(h->runs[i].file);
    for (size_t i = 0; i < h->n_miss; i++)
        free(h->miss[i].entity_id);
    free(h->holds);
    free(h->runs);
    free(h->miss);
    free(h);
}
