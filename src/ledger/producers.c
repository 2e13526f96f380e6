/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Completeness per producer (SPEC 15). Each event carrying producer / producer_seq is
 * compared, inside the batch's write transaction, with the producer's stored state: a
 * counter that jumps ahead is a GAP, one back to 1 a RESTART, one at or below the last seen
 * (not 1) a REPEAT, each recorded as an event (entity producer) right after the event that
 * revealed it, in the same transaction. Heartbeats mark a producer alive; a producer silent
 * longer than its heartbeat_timeout gets one SILENT event per silence. The state is never
 * cached in memory: several processes and servers on one PostgreSQL share it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "ledger/ledger.h"
#include "store/producer_store.h"

#define ACTOR "system" /* what the ledger itself records is automated (SPEC 6.4) */

/* The state of name, or a fresh one when the producer is new. */
static int load(tt_ledger *l, tti_store *s, const char *name, tt_producer *p)
{
    int rc = l->ops->producer->get(s, name, p);
    if (rc == TT_ENOTFOUND) {
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "%s", name);
        rc = TT_OK;
    }
    return rc == TT_OK ? TT_OK : tti_store_fail(l, s, rc);
}

int tti_producer_step(tt_producer *pp, const tt_event *ev, tti_producer_note *note)
{
    tt_producer p = *pp;
    note->emit = 0;
    int64_t expected = p.last_seq + 1, got = ev->producer_seq;
    const char *type = NULL;
    int n = 0;
    if (got > expected) {
        type = "GAP";
        p.gaps++;
        p.missing += got - expected;
        n = snprintf(note->meta, sizeof note->meta,
                     "{\"expected\":%lld,\"got\":%lld,\"missing\":%lld,\"event_seq\":%lld}",
                     (long long)expected, (long long)got, (long long)(got - expected),
                     (long long)ev->seq);
        snprintf(note->reason, sizeof note->reason,
                 "expected producer_seq %lld, got %lld: %lld missing", (long long)expected,
                 (long long)got, (long long)(got - expected));
    } else if (got == 1 && p.last_seq >= 1) {
        type = "RESTART";
        p.restarts++;
        n = snprintf(note->meta, sizeof note->meta,
                     "{\"expected\":%lld,\"got\":1,\"previous\":%lld,\"event_seq\":%lld}",
                     (long long)expected, (long long)p.last_seq, (long long)ev->seq);
        snprintf(note->reason, sizeof note->reason,
                 "producer_seq back to 1 after %lld: the producer restarted",
                 (long long)p.last_seq);
    } else if (got < expected) {
        type = "REPEAT";
        p.repeats++;
        n = snprintf(note->meta, sizeof note->meta,
                     "{\"expected\":%lld,\"got\":%lld,\"event_seq\":%lld}", (long long)expected,
                     (long long)got, (long long)ev->seq);
        snprintf(note->reason, sizeof note->reason,
                 "producer_seq %lld again (expected %lld): sent twice or replayed", (long long)got,
                 (long long)expected);
    }
    if (n < 0 || (size_t)n >= sizeof note->meta)
        return tti_fail(TT_EINVAL, "producer note too long");
    /* A repeat leaves the counter where it was: the next new event is still last + 1. */
    if (got >= expected || got == 1)
        p.last_seq = got;
    p.last_event = ev->seq;
    p.last_seen_us = ev->ts_us;
    p.silent = 0;
    *pp = p;
    if (type != NULL) {
        tt_event *d = &note->ev;
        tt_event_init(d);
        snprintf(note->type, sizeof note->type, "%s", type);
        d->entity = "producer";
        d->entity_id = ev->producer;
        d->event_type = note->type;
        d->actor = ACTOR;
        d->reason = note->reason;
        d->metadata = note->meta;
        note->emit = 1;
    }
    return TT_OK;
}

int tti_producer_track(tt_ledger *l, tti_store *w, const tt_event *ev, tti_producer_note *note)
{
    tt_producer p;
    int rc = load(l, w, ev->producer, &p);
    if (rc == TT_OK)
        rc = tti_producer_step(&p, ev, note);
    if (rc == TT_OK && (rc = l->ops->producer->put(w, &p)) != TT_OK)
        rc = tti_store_fail(l, w, rc);
    return rc;
}

/* Entity ids follow the event rules (SPEC 3.1); a producer name has its own length. */
static int check_name(const char *name)
{
    char err[200];
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "producer";
    ev.entity_id = ev.event_type = "X";
    ev.actor = ACTOR;
    ev.producer = name;
    ev.producer_seq = 1;
    if (name == NULL)
        return tti_fail(TT_EINVAL, "producer: required");
    int rc = tti_event_check(&ev, 0, err, sizeof err);
    return rc == TT_OK ? TT_OK : tti_fail(rc, "%s", err);
}

int tt_ledger_heartbeat(tt_ledger *l, const char *producer, int64_t timeout_s, tt_producer *out)
{
    if (l == NULL)
        return tti_fail(TT_EMISUSE, "tt_ledger_heartbeat: NULL ledger");
    int rc = check_name(producer);
    if (rc != TT_OK)
        return rc;
    if (timeout_s < 0 || timeout_s > 366LL * 86400)
        return tti_fail(TT_EINVAL, "heartbeat_timeout: must be 1 to 31622400 seconds");
    pthread_mutex_lock(&l->wlock);
    if ((rc = l->ops->begin_write(l->w)) != TT_OK) {
        rc = tti_store_fail(l, l->w, rc);
    } else {
        tt_producer p;
        if ((rc = load(l, l->w, producer, &p)) == TT_OK) {
            p.last_seen_us = tt_time_now_us();
            p.silent = 0;
            if (timeout_s > 0)
                p.timeout_s = timeout_s;
            if ((rc = l->ops->producer->put(l->w, &p)) != TT_OK ||
                (rc = l->ops->commit(l->w)) != TT_OK)
                rc = tti_store_fail(l, l->w, rc);
            else if (out != NULL)
                *out = p;
        }
        if (rc != TT_OK)
            l->ops->rollback(l->w);
    }
    pthread_mutex_unlock(&l->wlock);
    return rc;
}

int tt_ledger_producers(tt_ledger *l, tt_producer **out, size_t *n)
{
    if (l == NULL || out == NULL || n == NULL)
        return tti_fail(TT_EMISUSE, "tt_ledger_producers: NULL argument");
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    tt_producer *arr = NULL;
    size_t cnt = 0;
    if ((rc = l->ops->producer->list(s, &arr, &cnt)) != TT_OK)
        rc = tti_store_fail(l, s, rc);
    tti_reader_put(l, s);
    if (rc == TT_OK) {
        *out = arr;
        *n = cnt;
    }
    return rc;
}

/* ---- SILENT ---- */

typedef struct silent_ctx {
    const tt_producer *seen; /* as the sweep read it outside the transaction */
} silent_ctx;

/* Inside the SILENT event's transaction: still silent as read, and not yet recorded? */
static int silent_before(void *ctx, tt_ledger *l, tti_store *w)
{
    silent_ctx *c = ctx;
    tt_producer p;
    int rc = load(l, w, c->seen->name, &p);
    if (rc != TT_OK)
        return rc;
    if (p.silent || p.last_seen_us != c->seen->last_seen_us)
        return tti_fail(TT_ECONFLICT, "producer %s: heard from or reported meanwhile", p.name);
    p.silent = 1;
    p.silences++;
    if ((rc = l->ops->producer->put(w, &p)) != TT_OK)
        return tti_store_fail(l, w, rc);
    return TT_OK;
}

static int raise_silent(tt_ledger *l, const tt_producer *p, int64_t now_us, int64_t timeout_s)
{
    char last[TT_TS_LEN + 1], reason[128], meta[128];
    tt_time_format(p->last_seen_us, last);
    snprintf(reason, sizeof reason, "no event or heartbeat for %lld s (heartbeat_timeout %lld s)",
             (long long)((now_us - p->last_seen_us) / 1000000), (long long)timeout_s);
    snprintf(meta, sizeof meta, "{\"last_seen\":\"%s\",\"heartbeat_timeout\":%lld}", last,
             (long long)timeout_s);
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "producer";
    ev.entity_id = p->name;
    ev.event_type = "SILENT";
    ev.actor = ACTOR;
    ev.reason = reason;
    ev.metadata = meta;
    silent_ctx c = {p};
    static const tti_tx_hooks hooks = {silent_before, NULL};
    tt_append_result res;
    return tti_ledger_append_tx(l, &ev, 1, &hooks, &c, &res);
}

int tt_ledger_sweep_silent(tt_ledger *l, int64_t now_us, int64_t default_timeout_s,
                           size_t *n_raised)
{
    tt_producer *ps = NULL;
    size_t n = 0, raised = 0;
    if (default_timeout_s <= 0)
        default_timeout_s = TT_HEARTBEAT_TIMEOUT_DEFAULT;
    int rc = tt_ledger_producers(l, &ps, &n);
    for (size_t i = 0; rc == TT_OK && i < n; i++) {
        int64_t timeout = ps[i].timeout_s > 0 ? ps[i].timeout_s : default_timeout_s;
        if (ps[i].silent || now_us - ps[i].last_seen_us <= timeout * 1000000)
            continue;
        rc = raise_silent(l, &ps[i], now_us, timeout);
        if (rc == TT_OK)
            raised++;
        else if (rc == TT_ECONFLICT) /* another process was quicker, or it spoke */
            rc = TT_OK;
    }
    free(ps);
    if (n_raised != NULL)
        *n_raised = raised;
    return rc;
}
