/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared window of a ledger's newest events behind GET /api/stream (sse_feed.h). It
 * holds the events of seqs (lo, hi], each with the fields a stream filter looks at and its
 * message ready to send, in a ring indexed by seq. A subscriber at hi that was woken by a
 * new generation reads the store once for everyone; one behind lo, or with a text filter
 * that may match, reads the store itself as before.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sse_feed.h"

/* Events (SRV_FEED_CAP) and bytes the window keeps: enough for every live subscriber to
 * take a few batches from it, small beside the server's memory (a maximal message is
 * ~0.5 MB). */
#define FEED_MAX_BYTES ((size_t)16 * 1024 * 1024)
/* Far above any event within SPEC 3's limits; one beyond it is not kept (subscribers read
 * it from the store, whose path ends the stream visibly when it cannot be sent). */
#define FEED_MAX_MESSAGE ((size_t)4 * 1024 * 1024)

typedef struct fev {
    tt_event ev; /* seq, ts_us and the filtered names; the strings live after the struct */
    size_t len;
    char *msg;
} fev;

struct srv_feed {
    tt_ledger *l;
    atomic_llong *reads;
    pthread_mutex_t m;
    int64_t lo, hi;
    int64_t cap; /* events held at most, up to SRV_FEED_CAP */
    size_t bytes;
    int synced;               /* synced_gen is set */
    unsigned long synced_gen; /* the generation of the last read from the store */
    fev *ring[SRV_FEED_CAP];  /* seq s at s % cap; NULL: not in the hot store */
};

srv_feed *srv_feed_new(tt_ledger *l, atomic_llong *reads, int cap)
{
    if (cap < 0 || cap > SRV_FEED_CAP)
        return NULL;
    srv_feed *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    if (pthread_mutex_init(&f->m, NULL) != 0) {
        free(f);
        return NULL;
    }
    f->l = l;
    f->reads = reads;
    f->cap = cap > 0 ? cap : SRV_FEED_CAP;
    return f;
}

static fev **slot(srv_feed *f, int64_t seq)
{
    return &f->ring[seq % f->cap];
}

static void drop_oldest(srv_feed *f)
{
    fev **p = slot(f, ++f->lo);
    if (*p != NULL)
        f->bytes -= (*p)->len;
    free(*p);
    *p = NULL;
}

static void drop_all(srv_feed *f, int64_t at)
{
    while (f->lo < f->hi)
        drop_oldest(f);
    f->lo = f->hi = at;
}

void srv_feed_free(srv_feed *f)
{
    if (f == NULL)
        return;
    drop_all(f, 0);
    pthread_mutex_destroy(&f->m);
    free(f);
}

tt_ledger *srv_feed_ledger(const srv_feed *f)
{
    return f->l;
}

int srv_feed_message(tti_buf *out, const tt_event *ev)
{
    char *json = tt_event_to_json(ev);
    size_t before = out->len;
    int rc = json == NULL ? TTI_BUF_NOMEM
                          : tti_buf_printf(out, "id: %lld\nevent: event\ndata: %s\n\n",
                                           (long long)ev->seq, json);
    tt_free(json);
    if (rc != 0) { /* leave no part of the message behind */
        rc = out->failed ? out->failed : rc;
        out->len = before;
        if (out->data != NULL)
            out->data[before] = '\0';
        out->failed = 0;
    }
    return rc;
}

/* A copy of what the window keeps of ev, in one block; NULL when out of memory. An event
 * whose message is over FEED_MAX_MESSAGE is kept without it (msg NULL): a subscriber it
 * matches reads it from the store, whose path ends the stream visibly if it cannot send it. */
static fev *keep(const tt_event *ev)
{
    tti_buf msg;
    tti_buf_init(&msg, FEED_MAX_MESSAGE);
    int rc = srv_feed_message(&msg, ev);
    if (rc != 0 && rc != TTI_BUF_TOOBIG) {
        tti_buf_free(&msg);
        return NULL;
    }
    size_t mlen = rc == 0 ? msg.len + 1 : 0;
    const char *names[4] = {ev->entity, ev->entity_id, ev->event_type, ev->actor};
    size_t sizes[4], total = sizeof(fev) + mlen;
    for (int i = 0; i < 4; i++)
        total += sizes[i] = names[i] != NULL ? strlen(names[i]) + 1 : 0;
    fev *e = malloc(total);
    if (e == NULL) {
        tti_buf_free(&msg);
        return NULL;
    }
    char *p = (char *)(e + 1);
    tt_event_init(&e->ev);
    e->ev.seq = ev->seq;
    e->ev.ts_us = ev->ts_us;
    const char **fields[4] = {&e->ev.entity, &e->ev.entity_id, &e->ev.event_type, &e->ev.actor};
    for (int i = 0; i < 4; i++) {
        *fields[i] = names[i] != NULL ? memcpy(p, names[i], sizes[i]) : NULL;
        p += sizes[i];
    }
    e->msg = mlen > 0 ? memcpy(p, msg.data, mlen) : NULL;
    e->len = mlen > 0 ? msg.len : 0;
    tti_buf_free(&msg);
    return e;
}

/* Put e (NULL: a seq the hot store does not hold) at hi + 1, the oldest going first when
 * the window is full. */
static void push(srv_feed *f, fev *e)
{
    size_t len = e != NULL ? e->len : 0;
    while (f->lo < f->hi && (f->hi - f->lo >= f->cap || f->bytes + len > FEED_MAX_BYTES))
        drop_oldest(f);
    *slot(f, ++f->hi) = e;
    f->bytes += len;
}

/* Read the events after hi up to `head` into the window; TT_OK or the store's status. */
static int read_to(srv_feed *f, int64_t head)
{
    tt_query q;
    tt_query_init(&q);
    q.after_seq = f->hi;
    q.before_seq = head + 1;
    q.limit = (size_t)(head - f->hi);
    tt_iter *it = NULL;
    atomic_fetch_add(f->reads, 1);
    int rc = tt_ledger_query(f->l, &q, &it);
    const tt_event *ev;
    while (rc == TT_OK && (rc = tt_iter_next(it, &ev)) == TT_OK) {
        fev *e = keep(ev);
        if (e == NULL) {
            rc = TT_ENOMEM;
            break;
        }
        while (f->hi < ev->seq - 1) /* seqs whose bodies retention moved out */
            push(f, NULL);
        push(f, e);
    }
    if (rc == TT_ENOTFOUND) { /* the end: what is missing up to head is not in the store */
        while (f->hi < head)
            push(f, NULL);
        rc = TT_OK;
    }
    tt_iter_free(it);
    return rc;
}

/* Bring the window up to the ledger's head. A new window, or one left further behind than
 * it can hold, starts empty at the head: subscribers behind it read the store themselves
 * until they reach it. */
static int refresh(srv_feed *f, unsigned long gen)
{
    int64_t head;
    uint8_t root[TT_HASH_SIZE];
    int rc = tt_ledger_head(f->l, &head, root);
    if (rc != TT_OK)
        return rc;
    if (!f->synced || head < f->hi || head - f->hi > f->cap)
        drop_all(f, head);
    if (head > f->hi && (rc = read_to(f, head)) != TT_OK)
        return rc;
    f->synced = 1;
    f->synced_gen = gen;
    return TT_OK;
}

/* Serve from (last_seq, hi]; stops at a text candidate (SRV_FEED_QUERY) or a full page. */
static srv_feed_got serve(srv_feed *f, const tt_query *q, tti_buf *out, size_t page_bytes,
                          int64_t *last_seq, int *unfit)
{
    while (*last_seq < f->hi && out->len < page_bytes) {
        const fev *e = *slot(f, *last_seq + 1);
        int m = e != NULL ? tt_query_matches(q, &e->ev) : 0;
        if (m < 0 || (m > 0 && e->msg == NULL))
            return SRV_FEED_QUERY;
        if (m > 0 && tti_buf_add(out, e->msg, e->len) != 0) { /* added nothing */
            out->failed = 0;
            *unfit = out->len == 0;
            return SRV_FEED_SERVED;
        }
        ++*last_seq;
    }
    return SRV_FEED_SERVED;
}

srv_feed_got srv_feed_fill(srv_feed *f, const tt_query *q, unsigned long gen, tti_buf *out,
                           size_t page_bytes, int64_t *last_seq, int64_t *upto, int *unfit)
{
    *unfit = 0;
    srv_feed_got got = SRV_FEED_SERVED;
    pthread_mutex_lock(&f->m);
    for (int refreshed = 0;;) {
        if (*last_seq < f->lo) {
            got = SRV_FEED_MISS;
            break;
        }
        got = serve(f, q, out, page_bytes, last_seq, unfit);
        if (got != SRV_FEED_SERVED || *unfit || out->len >= page_bytes || *last_seq < f->hi)
            break;
        /* Read already under the caller's generation or a later one: nothing it was told
         * of can be missing (generations only grow). */
        if (refreshed || (f->synced && (long)(gen - f->synced_gen) <= 0))
            break;
        refreshed = 1;
        if (refresh(f, gen) != TT_OK) {
            got = SRV_FEED_MISS; /* the subscriber's own query reports the error */
            break;
        }
    }
    /* A subscriber behind the window reads the store up to its start, then rejoins it. */
    *upto = got != SRV_FEED_MISS ? f->hi : *last_seq < f->lo ? f->lo : 0;
    pthread_mutex_unlock(&f->m);
    return got;
}
