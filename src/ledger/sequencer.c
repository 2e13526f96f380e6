/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sequencer (SPEC 5): appends from every thread queue up; one of the waiting threads
 * becomes the leader, takes the queue as one batch, assigns seq and ts, hashes the leaves,
 * extends the tree's tiles, writes it all in one transaction and commits durably, and
 * only then tells the commit observers and wakes every caller in the batch (group commit).
 * The transaction hooks run inside the transaction for each event written. The ledger head
 * is read inside the write transaction, so several processes can append to one store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"
#include "core/event.h"
#include "ledger/ledger.h"
#include "util/failpoint.h"
#include "util/thread.h"

struct tti_request {
    const tt_event *events;
    size_t n;
    const tti_tx_hooks *hooks; /* a domain change committed with these events, or NULL */
    int64_t client_time;       /* occurred_at for events without one (tt_set_client_time) */
    char principal[TT_MAX_PRINCIPAL + 1]; /* who appends (tt_set_principal), as queued */
    int64_t token_id; /* a token to check for revocation first (tt_set_append_token), or 0 */
    void *hooks_ctx;
    tt_append_result *results;
    int rc;
    int done;
    char err[512];
    pthread_cond_t wake;    /* signalled when done, or when this caller is to lead */
    tt_append_done done_cb; /* an asynchronous append: called instead of waking a caller */
    void *done_ctx;
    tt_append_result *out; /* the caller's results, written on success */
    tti_request *next;
};

/* The right edge of the tree's tiles, one partial tile per level, loaded on first use. */
typedef struct tile_edge {
    int loaded;
    int dirty;
    uint64_t index;
    size_t n;
    uint8_t hashes[TTI_TILE_WIDTH][TT_HASH_SIZE];
} tile_edge;

typedef struct batch_ctx {
    tt_ledger *l;
    tti_head head;
    tti_crange cr;      /* the tree's right edge while the batch grows it */
    tile_edge *edge[8]; /* levels 0..7 cover 2^64 leaves */
    int rc;
} batch_ctx;

static int flush_tile(batch_ctx *b, unsigned level)
{
    tile_edge *t = b->edge[level];
    if (t == NULL || !t->dirty)
        return TT_OK;
    int rc = b->l->ops->put_tile(b->l->w, level, t->index, (const uint8_t(*)[32])t->hashes, t->n);
    t->dirty = 0;
    return rc;
}

/* Position the level's edge tile on `index`, loading it from the store when needed. */
static int edge_tile(batch_ctx *b, unsigned level, uint64_t index, tile_edge **out)
{
    tile_edge *t = b->edge[level];
    if (t == NULL) {
        t = b->edge[level] = calloc(1, sizeof *t);
        if (t == NULL)
            return tti_fail(TT_ENOMEM, "out of memory extending the tree");
    }
    if (t->loaded && t->index == index) {
        *out = t;
        return TT_OK;
    }
    /* Store failures get the store's message here: on_node only keeps the status. */
    int rc = flush_tile(b, level);
    if (rc != TT_OK)
        return tti_store_fail(b->l, b->l->w, rc);
    rc = b->l->ops->get_tile(b->l->w, level, index, t->hashes, &t->n);
    if (rc != TT_OK)
        return tti_store_fail(b->l, b->l->w, rc);
    t->index = index;
    t->loaded = 1;
    *out = t;
    return TT_OK;
}

/* Every completed node a tile stores (tti_tile_locate) is appended to its tile. */
static void on_node(void *ctx, unsigned height, uint64_t index, const uint8_t hash[32])
{
    batch_ctx *b = ctx;
    tti_tile_addr a = tti_tile_locate(height, index);
    if (b->rc != TT_OK || !a.stored)
        return;
    unsigned level = a.level;
    tile_edge *t = NULL;
    b->rc = edge_tile(b, level, a.tile, &t);
    if (b->rc != TT_OK)
        return;
    size_t pos = a.first;
    if (pos != t->n) {
        b->rc = tti_fail(TT_ETAMPERED,
                         "tree tile %u/%llu has %zu hashes where %zu were expected; run "
                         "`tradetrail verify`",
                         level, (unsigned long long)t->index, t->n, pos);
        return;
    }
    memcpy(t->hashes[pos], hash, TT_HASH_SIZE);
    t->n = pos + 1;
    t->dirty = 1;
}

static int64_t next_ts(const tti_head *h)
{
    int64_t now = tt_time_now_us();
    /* SPEC 3.1: ts never decreases along seq, even if the clock steps back. */
    return h->last_ts_us != TT_TIME_NONE && h->last_ts_us > now ? h->last_ts_us : now;
}

/* ---- Idempotency keys (SPEC 3.1) ------------------------------------------------------
 * A key names one event's content. A retry with the same content gets the original seq and
 * writes nothing; the same key with other content is TT_ECONFLICT for the whole request,
 * and nothing of that request is written. Content is compared through the leaf hash: the
 * candidate is hashed with the original's seq and ts, so it matches the stored leaf hash
 * exactly when every other field is the same. Every key of a request is checked before
 * any of its events is written, so a refused request leaves the batch's other requests
 * (other callers) untouched. */

typedef struct keyed {
    const char *key;
    size_t idx;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c != 0 ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* The event as the sequencer would store it at (seq, ts) with a principal (NULL: a version
 * 1 leaf), hashed. */
static int leaf_at(const tti_request *r, size_t i, int64_t seq, int64_t ts, const char *principal,
                   uint8_t out[32])
{
    tt_event ev = r->events[i];
    if (ev.occurred_at_us == TT_TIME_NONE)
        ev.occurred_at_us = r->client_time;
    ev.principal = principal;
    ev.seq = seq;
    ev.ts_us = ts;
    int rc = tt_event_leaf_hash(&ev, out);
    return rc == TT_OK ? TT_OK : tti_fail(rc, "cannot encode event %zu", i);
}

static int key_conflict(const tti_request *r, size_t i, const char *what)
{
    const char *key = r->events[i].idempotency_key;
    if (r->n == 1)
        return tti_fail(TT_ECONFLICT, "idempotency key \"%.*s\" %s", 64, key, what);
    return tti_fail(TT_ECONFLICT, "event %zu: idempotency key \"%.*s\" %s", i, 64, key, what);
}

/* Check every key of r. dup[i] gets the index of the first event of r with the same key
 * (or i); results[i] is filled, with existed set, for a key already in the ledger. */
static int check_keys(tt_ledger *l, tti_request *r, size_t *dup)
{
    keyed *ks = NULL;
    size_t nk = 0;
    int rc = TT_OK;
    for (size_t i = 0; i < r->n; i++) {
        dup[i] = i;
        nk += r->events[i].idempotency_key != NULL;
    }
    if (nk == 0)
        return TT_OK;
    if (nk > 1) {
        if ((ks = malloc(nk * sizeof *ks)) == NULL)
            return tti_fail(TT_ENOMEM, "out of memory checking idempotency keys");
        nk = 0;
        for (size_t i = 0; i < r->n; i++)
            if (r->events[i].idempotency_key != NULL)
                ks[nk++] = (keyed){r->events[i].idempotency_key, i};
        qsort(ks, nk, sizeof *ks, keyed_cmp);
        for (size_t k = 1; k < nk && rc == TT_OK; k++) {
            if (strcmp(ks[k].key, ks[k - 1].key) != 0)
                continue;
            size_t first = dup[ks[k - 1].idx], i = ks[k].idx;
            uint8_t a[32], b[32];
            dup[i] = first;
            if ((rc = leaf_at(r, first, 0, 0, r->principal, a)) == TT_OK &&
                (rc = leaf_at(r, i, 0, 0, r->principal, b)) == TT_OK && !tti_ct_equal(a, b, 32)) {
                char what[64];
                snprintf(what, sizeof what, "is also on event %zu, with other content", first);
                rc = key_conflict(r, i, what);
            }
        }
        free(ks);
    }
    for (size_t i = 0; i < r->n && rc == TT_OK; i++) {
        if (r->events[i].idempotency_key == NULL || dup[i] != i)
            continue;
        tt_append_result *res = &r->results[i];
        char stored_by[TT_MAX_PRINCIPAL + 1];
        rc = l->ops->idem_lookup(l->w, r->events[i].idempotency_key, &res->seq, &res->ts_us,
                                 res->leaf_hash, stored_by);
        if (rc == TT_ENOTFOUND) {
            memset(res, 0, sizeof *res);
            rc = TT_OK;
            continue;
        }
        if (rc != TT_OK)
            return tti_store_fail(l, l->w, rc);
        /* Content is what the client sent: the candidate is hashed with the original's
         * principal (none for a version 1 leaf), so a retry through another token still
         * finds its event. */
        uint8_t mine[32];
        if ((rc = leaf_at(r, i, res->seq, res->ts_us, stored_by[0] ? stored_by : NULL, mine)) !=
            TT_OK)
            break;
        if (!tti_ct_equal(mine, res->leaf_hash, 32)) {
            char what[96];
            snprintf(what, sizeof what, "already names seq %lld, a different event",
                     (long long)res->seq);
            rc = key_conflict(r, i, what);
            break;
        }
        res->existed = 1;
    }
    if (rc != TT_OK)
        memset(r->results, 0, r->n * sizeof *r->results);
    return rc;
}

/* Write one event at the next seq: leaf hash, row, tree, head, then the transaction hooks
 * (SPEC 7: an alert's outbox row), which run only for events written now, never for
 * idempotent repeats. */
static int write_event(batch_ctx *b, tt_event *ev, int64_t ts, size_t i)
{
    tt_ledger *l = b->l;
    ev->seq = b->head.size + 1;
    ev->ts_us = ts;
    int rc = tt_event_leaf_hash(ev, ev->leaf_hash);
    if (rc != TT_OK)
        return tti_fail(rc, "cannot encode event %zu", i);
    if ((rc = l->ops->insert_event(l->w, ev)) != TT_OK)
        return tti_store_fail(l, l->w, rc);
    tti_crange_append(&b->cr, ev->leaf_hash, on_node, b);
    if (b->rc != TT_OK)
        return b->rc;
    b->head.size = (int64_t)b->cr.size;
    b->head.last_ts_us = ts;
    for (int h = 0; h < l->n_hooks; h++)
        if ((rc = l->hooks[h].fn(l->hooks[h].ctx, l, l->w, ev)) != TT_OK)
            return rc;
    return TT_OK;
}

static int append_one(batch_ctx *b, tti_request *r, size_t i, const size_t *dup, int64_t ts)
{
    tt_append_result *res = &r->results[i];
    if (res->existed)
        return TT_OK; /* check_keys found it in the ledger */
    if (dup[i] != i) {
        *res = r->results[dup[i]];
        res->existed = 1;
        return TT_OK;
    }
    tt_event ev = r->events[i];
    if (ev.occurred_at_us == TT_TIME_NONE)
        ev.occurred_at_us = r->client_time;
    ev.principal = r->principal; /* SPEC 3.1: set by the ledger, never by the caller */
    int rc = write_event(b, &ev, ts, i);
    if (rc != TT_OK)
        return rc;
    res->seq = ev.seq;
    res->ts_us = ts;
    memcpy(res->leaf_hash, ev.leaf_hash, TT_HASH_SIZE);
    if (ev.producer == NULL)
        return TT_OK;
    /* SPEC 15: a gap, restart or repeat is recorded right after the event, in this
     * transaction, by whoever appended it. */
    tti_producer_note note;
    if ((rc = tti_producer_track(b->l, b->l->w, &ev, &note)) != TT_OK || !note.emit)
        return rc;
    note.ev.principal = r->principal;
    return write_event(b, &note.ev, ts, i);
}

/* One request's events. A key conflict refuses the request alone (r->rc, r->err) unless it
 * carries a domain change, which then fails with it. */
static int append_request(batch_ctx *b, tti_request *r, int64_t ts)
{
    size_t *dup = malloc(r->n * sizeof *dup);
    if (dup == NULL)
        return tti_fail(TT_ENOMEM, "out of memory for %zu events", r->n);
    memset(r->results, 0, r->n * sizeof *r->results);
    int rc = check_keys(b->l, r, dup);
    if (rc == TT_ECONFLICT && r->hooks == NULL) {
        r->rc = rc;
        snprintf(r->err, sizeof r->err, "%s", tt_ledger_errmsg(b->l));
        rc = TT_OK;
    } else {
        for (size_t i = 0; i < r->n && rc == TT_OK; i++)
            rc = append_one(b, r, i, dup, ts);
    }
    free(dup);
    return rc;
}

/* A queued request may join a group that holds the write lock when it carries no domain
 * change and no token, or a token this group checked under the lock and found valid: a
 * revocation is itself a write group (tt_token_revoke commits the REVOKED event with it),
 * so none can commit while this group holds the lock, and the check still holds. */
static int joins_group(const tti_request *first, const tti_request *q)
{
    if (q->hooks != NULL)
        return 0;
    if (q->token_id == 0)
        return 1;
    for (const tti_request *r = first; r != NULL; r = r->next)
        if (r->token_id == q->token_id && r->rc == TT_OK)
            return 1;
    return 0;
}

/* Queued requests join the group that holds the lock, in queue order and up to the batch
 * limit; write_batch takes them twice. Those that queued while the group waited for its
 * lock: with several servers on one PostgreSQL database that wait is when most arrive
 * (docs/PERFORMANCE.md, "Requests that arrive during the lock"). Then those that queued
 * while the first ones were written: NDJSON batches of 1,000 events take milliseconds to
 * write, and every group pays the lock, its round trips, the commit's flush and the index
 * pages it dirties once. A group with a domain change stays alone. */
static void take_joiners(tt_ledger *l, tti_request *first)
{
    if (first->hooks != NULL)
        return;
    size_t total = 0;
    tti_request *last = first;
    for (tti_request *r = first; r != NULL; r = r->next) {
        total += r->n;
        last = r;
    }
    /* The token last found valid: joiners mostly carry the same one, and joins_group
     * scans the whole group for it. */
    int64_t valid = 0;
    pthread_mutex_lock(&l->qlock);
    tti_request *q;
    while ((q = l->queue_head) != NULL && total + q->n <= (size_t)l->batch_max_events &&
           (q->hooks == NULL && q->token_id == valid ? 1 : joins_group(first, q))) {
        valid = q->token_id;
        l->queue_head = q->next;
        if (l->queue_head == NULL)
            l->queue_tail = NULL;
        q->next = NULL;
        last->next = q;
        last = q;
        total += q->n;
    }
    pthread_mutex_unlock(&l->qlock);
}

static int write_batch(batch_ctx *b, tti_request *first, int64_t *size_before)
{
    tt_ledger *l = b->l;
    int rc = l->ops->read_head(l->w, &b->head);
    if (rc != TT_OK)
        return tti_store_fail(l, l->w, rc);
    *size_before = b->head.size;
    if (first->hooks != NULL && first->hooks->before != NULL &&
        (rc = first->hooks->before(first->hooks_ctx, l, l->w)) != TT_OK)
        return rc;
    int64_t ts = next_ts(&b->head);
    tti_head_to_crange(&b->head, &b->cr);
    /* Two rounds: the requests queued while the group waited for its lock join it and are
     * written, then those queued while they were written (take_joiners). */
    take_joiners(l, first);
    tti_request *r = first, *last = first;
    for (int round = 0; round < 2; round++) {
        for (; r != NULL; r = r->next) {
            last = r;
            if (r->rc == TT_OK && (rc = append_request(b, r, ts)) != TT_OK)
                return rc; /* a request refused already (begin_group) is left out */
        }
        if (round == 0) {
            tti_failpoint("group-written"); /* a test's pause between the rounds */
            take_joiners(l, first);
            r = last->next;
        }
    }
    if (first->hooks != NULL && first->hooks->after != NULL &&
        (rc = first->hooks->after(first->hooks_ctx, l, l->w, first->results, first->n)) != TT_OK)
        return rc;
    for (unsigned level = 0; level < 8; level++)
        if ((rc = flush_tile(b, level)) != TT_OK)
            return tti_store_fail(l, l->w, rc);
    tti_head_set_crange(&b->head, &b->cr);
    if ((rc = l->ops->write_head(l->w, &b->head)) != TT_OK)
        return tti_store_fail(l, l->w, rc);
    return TT_OK;
}

/* The distinct cached tokens (tt_set_append_token) of a group's requests still to do. */
static size_t group_tokens(const tti_request *first, int64_t *ids)
{
    size_t n = 0;
    for (const tti_request *r = first; r != NULL; r = r->next) {
        if (r->token_id == 0 || r->rc != TT_OK)
            continue;
        size_t i = 0;
        while (i < n && ids[i] != r->token_id)
            i++;
        if (i == n)
            ids[n++] = r->token_id;
    }
    return n;
}

/* Begin the group's transaction and refuse, each alone, the requests whose cached token
 * was revoked since it was cached. The store reads the tokens after taking the write lock
 * (with it, in one round trip, on PostgreSQL): a revocation committed before the lock
 * refuses the request; one committed after it is concurrent with the request. *any: some
 * request is left to write (else no transaction is open). */
static int begin_group(tt_ledger *l, tti_request *first, int *any)
{
    size_t cap = 0;
    for (const tti_request *r = first; r != NULL; r = r->next)
        cap += r->token_id != 0;
    int64_t small_ids[16], *ids = small_ids;
    unsigned char small_refused[16], *refused = small_refused;
    if (cap > 16 &&
        ((ids = malloc(cap * sizeof *ids)) == NULL || (refused = calloc(cap, 1)) == NULL)) {
        if (ids != small_ids)
            free(ids);
        return tti_fail(TT_ENOMEM, "out of memory checking the group's tokens");
    }
    size_t n = group_tokens(first, ids);
    memset(refused, 0, n);
    int rc = l->ops->begin_write_tokens(l->w, ids, n, refused);
    if (rc != TT_OK)
        rc = tti_store_fail(l, l->w, rc);
    for (size_t i = 0; i < n && rc == TT_OK; i++) {
        if (!refused[i])
            continue;
        tti_token_cache_drop(l, ids[i]);
        for (tti_request *q = first; q != NULL; q = q->next)
            if (q->token_id == ids[i] && q->rc == TT_OK) {
                q->rc = TT_EAUTH;
                snprintf(q->err, sizeof q->err, "invalid or revoked token");
            }
    }
    if (ids != small_ids) {
        free(ids);
        free(refused);
    }
    *any = 0;
    for (const tti_request *r = first; r != NULL && rc == TT_OK; r = r->next)
        *any |= r->rc == TT_OK;
    if (rc == TT_OK && !*any)
        l->ops->rollback(l->w);
    return rc;
}

/* One transaction for the whole batch: all of it commits durably, or none of it. On
 * success *first_seq and *count give the seqs it wrote, for the commit observers. */
static int commit_batch(tt_ledger *l, tti_request *first, int64_t *first_seq, int64_t *count)
{
    batch_ctx b;
    memset(&b, 0, sizeof b);
    b.l = l;
    *first_seq = *count = 0;
    pthread_mutex_lock(&l->wlock);
    int any = 0;
    int rc = begin_group(l, first, &any);
    if (rc == TT_OK && any) {
        tti_failpoint("group-locked"); /* a test's pause while the group holds the lock */
        int64_t before = 0;
        rc = write_batch(&b, first, &before);
        if (rc == TT_OK && (rc = l->ops->commit(l->w)) != TT_OK)
            rc = tti_store_fail(l, l->w, rc);
        if (rc != TT_OK)
            l->ops->rollback(l->w);
        *first_seq = before + 1;
        *count = rc == TT_OK ? b.head.size - before : 0;
    }
    pthread_mutex_unlock(&l->wlock);
    for (unsigned i = 0; i < 8; i++)
        free(b.edge[i]);
    return rc;
}

/* Take queued requests up to the batch limit; a request is never split. */
static tti_request *take_batch(tt_ledger *l)
{
    tti_request *first = l->queue_head, *last = first;
    size_t total = first->n;
    /* A request carrying a domain change commits alone: its hooks may fail it (a refused
     * transition) and that must not take other callers' events down with it. */
    while (first->hooks == NULL && last->next != NULL && last->next->hooks == NULL &&
           total + last->next->n <= (size_t)l->batch_max_events) {
        last = last->next;
        total += last->n;
    }
    l->queue_head = last->next;
    if (l->queue_head == NULL)
        l->queue_tail = NULL;
    last->next = NULL;
    return first;
}

/* Finish asynchronous requests: results to the caller, then its callback. */
static void complete_async(tti_request *list)
{
    for (tti_request *r = list, *next; r != NULL; r = next) {
        next = r->next;
        if (r->rc == TT_OK)
            memcpy(r->out, r->results, r->n * sizeof *r->out);
        r->done_cb(r->done_ctx, r->rc, r->rc == TT_OK ? "" : r->err);
        free(r->results);
        free(r);
    }
}

static void lead(tt_ledger *l)
{
    l->leader_active = 1;
    /* Wait briefly for company only when appends have been arriving concurrently: a lone
     * caller (a CLI append) should not pay for a batch that will never fill. */
    if (l->last_batch_shared && l->batch_wait_us > 0) {
        pthread_mutex_unlock(&l->qlock);
        struct timespec ts = {0, (long)l->batch_wait_us * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&l->qlock);
    }
    tti_request *batch = take_batch(l);
    pthread_mutex_unlock(&l->qlock);
    int64_t first_seq = 0, nwritten = 0;
    int rc = commit_batch(l, batch, &first_seq, &nwritten);
    const char *msg = tt_ledger_errmsg(l);
    /* Still the only leader: observers see the batches one at a time, in commit order. */
    if (rc == TT_OK)
        tti_ledger_notify_observers(l, first_seq, nwritten);
    pthread_mutex_lock(&l->qlock);
    /* The requests that joined under the lock (take_joiners) count too. */
    l->last_batch_shared = batch->next != NULL;
    /* Wake exactly the callers of this batch, and the next one in the queue to lead: a
     * broadcast woke every waiter to find most of them still queued (measured: a quarter
     * of the server's CPU in futex calls with 64 appends in flight). */
    tti_request *finished = NULL;
    for (tti_request *r = batch, *next; r != NULL; r = next) {
        next = r->next;
        /* A request refused alone (an idempotency conflict) keeps its own status; one
         * refused for its token keeps it even when the batch failed (SPEC 9: the holder of
         * a revoked token learns nothing but 401). */
        if (rc != TT_OK && r->rc != TT_EAUTH) {
            snprintf(r->err, sizeof r->err, "%s", msg);
            r->rc = rc;
        }
        r->done = 1;
        if (r->done_cb != NULL) {
            r->next = finished;
            finished = r;
        } else {
            pthread_cond_signal(&r->wake);
        }
    }
    l->leader_active = 0;
    if (l->queue_head != NULL && l->queue_head->done_cb != NULL)
        pthread_cond_signal(&l->committer_wake);
    else if (l->queue_head != NULL)
        pthread_cond_signal(&l->queue_head->wake);
    if (finished != NULL) {
        /* Callbacks run without the queue lock: they may take their own locks. */
        pthread_mutex_unlock(&l->qlock);
        complete_async(finished);
        pthread_mutex_lock(&l->qlock);
    }
}

/* The batch rules both append calls apply before anything is queued, and the one check of
 * SPEC 3.1: in full for an event from a caller, and for one from tt_events_parse_body only
 * on what changed since it was checked there (a key from a header), so no event is
 * checked twice. */
static int check_batch(tt_ledger *l, const tt_event *events, size_t n, const void *parsed)
{
    char err[400];
    if (n == 0)
        return tti_fail(TT_EINVAL, "a batch needs at least one event");
    if (n > TT_MAX_BATCH)
        return tti_fail(TT_ETOOBIG, "a batch holds at most %d events (got %zu)", TT_MAX_BATCH, n);
    for (size_t i = 0; i < n; i++) {
        const tt_event *checked = parsed != NULL ? tti_body_checked(parsed, events, n, i) : NULL;
        int rc = tti_event_check_changes(&events[i], checked, err, sizeof err);
        if (rc != TT_OK)
            return n == 1 ? tti_fail(rc, "%s", err) : tti_fail(rc, "event %zu: %s", i, err);
    }
    return tti_corrections_check(l, events, n); /* SPEC 15 */
}

static _Thread_local int64_t tl_client_time = TT_TIME_NONE;
static _Thread_local char tl_principal[TT_MAX_PRINCIPAL + 1];
static _Thread_local int64_t tl_append_token;

void tt_set_append_token(int64_t token_id)
{
    tl_append_token = token_id > 0 ? token_id : 0;
}

void tt_set_client_time(int64_t occurred_at_us)
{
    tl_client_time = occurred_at_us;
}

int tt_set_principal(const char *principal)
{
    char err[200];
    if (principal == NULL) {
        tl_principal[0] = '\0';
        return TT_OK;
    }
    int rc = tti_principal_check(principal, err, sizeof err);
    if (rc != TT_OK)
        return tti_fail(rc, "%s", err);
    memcpy(tl_principal, principal, strlen(principal) + 1);
    return TT_OK;
}

/* The calling thread's principal into a request: "lib" unless tt_set_principal said. */
static void take_principal(tti_request *r)
{
    memcpy(r->principal, tl_principal[0] ? tl_principal : "lib",
           tl_principal[0] ? strlen(tl_principal) + 1 : 4);
}

static int append_sync(tt_ledger *l, const tt_event *events, size_t n, const void *parsed,
                       const tti_tx_hooks *hooks, void *hooks_ctx, tt_append_result *results)
{
    if (l == NULL || events == NULL || results == NULL)
        return tti_fail(TT_EMISUSE, "tt_ledger_append: NULL argument");
    int rc = check_batch(l, events, n, parsed);
    if (rc != TT_OK)
        return rc;
    tt_append_result *tmp = calloc(n, sizeof *tmp);
    if (tmp == NULL)
        return tti_fail(TT_ENOMEM, "out of memory for %zu results", n);
    tti_request req = {.events = events,
                       .n = n,
                       .results = tmp,
                       .hooks = hooks,
                       .hooks_ctx = hooks_ctx,
                       .client_time = tl_client_time,
                       .wake = PTHREAD_COND_INITIALIZER};
    take_principal(&req);
    pthread_mutex_lock(&l->qlock);
    if (l->queue_tail != NULL)
        l->queue_tail->next = &req;
    else
        l->queue_head = &req;
    l->queue_tail = &req;
    while (!req.done) {
        if (!l->leader_active)
            lead(l);
        else
            pthread_cond_wait(&req.wake, &l->qlock);
    }
    pthread_mutex_unlock(&l->qlock);
    pthread_cond_destroy(&req.wake);
    if (req.rc == TT_OK)
        memcpy(results, tmp, n * sizeof *tmp);
    else
        tti_fail(req.rc, "%s", req.err);
    free(tmp);
    return req.rc;
}

int tt_ledger_append(tt_ledger *l, const tt_event *events, size_t n, tt_append_result *results)
{
    return append_sync(l, events, n, NULL, NULL, NULL, results);
}

int tt_ledger_append_parsed(tt_ledger *l, const tt_event *events, size_t n, const void *owner,
                            tt_append_result *results)
{
    return append_sync(l, events, n, owner, NULL, NULL, results);
}

int tti_ledger_append_tx(tt_ledger *l, const tt_event *events, size_t n, const tti_tx_hooks *hooks,
                         void *hooks_ctx, tt_append_result *results)
{
    return append_sync(l, events, n, NULL, hooks, hooks_ctx, results);
}

/* The committer thread: leads whenever asynchronous appends wait and no caller leads. */
static void *committer(void *arg)
{
    tt_ledger *l = arg;
    tti_thread_name("tt-commit");
    pthread_mutex_lock(&l->qlock);
    for (;;) {
        if (l->queue_head != NULL && !l->leader_active)
            lead(l);
        else if (l->committer_stop && l->queue_head == NULL)
            break;
        else
            pthread_cond_wait(&l->committer_wake, &l->qlock);
    }
    pthread_mutex_unlock(&l->qlock);
    return NULL;
}

static int append_async(tt_ledger *l, const tt_event *events, size_t n, const void *parsed,
                        tt_append_result *results, tt_append_done done, void *ctx)
{
    if (l == NULL || events == NULL || results == NULL || done == NULL)
        return tti_fail(TT_EMISUSE, "tt_ledger_append_async: NULL argument");
    int rc = check_batch(l, events, n, parsed);
    if (rc != TT_OK)
        return rc;
    tti_request *req = calloc(1, sizeof *req);
    tt_append_result *tmp = calloc(n, sizeof *tmp);
    if (req == NULL || tmp == NULL) {
        free(req);
        free(tmp);
        return tti_fail(TT_ENOMEM, "out of memory for %zu results", n);
    }
    *req = (tti_request){.events = events,
                         .n = n,
                         .results = tmp,
                         .client_time = tl_client_time,
                         .token_id = tl_append_token,
                         .done_cb = done,
                         .done_ctx = ctx,
                         .out = results};
    take_principal(req);
    pthread_mutex_lock(&l->qlock);
    if (!l->committer_started) {
        if (pthread_create(&l->committer, NULL, committer, l) != 0) {
            pthread_mutex_unlock(&l->qlock);
            free(req);
            free(tmp);
            return tti_fail(TT_ENOMEM, "cannot start the ledger's commit thread");
        }
        l->committer_started = 1;
    }
    if (l->queue_tail != NULL)
        l->queue_tail->next = req;
    else
        l->queue_head = req;
    l->queue_tail = req;
    if (!l->leader_active)
        pthread_cond_signal(&l->committer_wake);
    pthread_mutex_unlock(&l->qlock);
    return TT_OK;
}

int tt_ledger_append_async(tt_ledger *l, const tt_event *events, size_t n,
                           tt_append_result *results, tt_append_done done, void *ctx)
{
    return append_async(l, events, n, NULL, results, done, ctx);
}

int tt_ledger_append_parsed_async(tt_ledger *l, const tt_event *events, size_t n, const void *owner,
                                  tt_append_result *results, tt_append_done done, void *ctx)
{
    return append_async(l, events, n, owner, results, done, ctx);
}

void tti_sequencer_stop(tt_ledger *l)
{
    pthread_mutex_lock(&l->qlock);
    l->committer_stop = 1;
    pthread_cond_signal(&l->committer_wake);
    pthread_mutex_unlock(&l->qlock);
    pthread_join(l->committer, NULL);
    l->committer_started = 0;
}
