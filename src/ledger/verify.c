/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verification (SPEC 4): recompute every leaf hash from the stored fields, every stored
 * tree node, the head, and every stored checkpoint's root and signature, and name the
 * first seq or checkpoint that does not match. `verify_since` does the same from a
 * checkpoint the user kept, after proving that checkpoint's tree is a prefix of ours.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/event.h"
#include "core/export.h"
#include "ledger/ledger.h"
#include "util/thread.h"

typedef struct walk {
    tt_ledger *l;
    tti_store *s;
    tti_head head;
    tti_crange cr;
    tt_verify_report *rep;
    tti_fetcher fetch; /* tiles, for comparing recomputed nodes */
    tti_store_iter *cps;
    tti_cp_row cp; /* next checkpoint to check, valid when have_cp */
    int have_cp;
    int64_t last_ts;             /* ts of the last event walked */
    int64_t n_keyed, n_reasoned; /* events read with an idempotency key, with a reason */
    int64_t cps_seen, max_cp;    /* checkpoint rows read, and the largest tree size */
    int bad;                     /* a mismatch was found: stop */
    int rc;                      /* an error that stopped verification */
    tt_progress_fn progress;
    void *pctx;
    /* Archive segments (SPEC 8): the recorded ones, and the leaves of the one the scan is
     * in, read from its file and checked against its manifest when the walk enters it. */
    tti_segment *segs;
    size_t n_segs;
    const tti_segment *cseg;
    uint8_t (*chash)[32];
    int64_t *cts;
    const tti_segment *cur_seg; /* the segment of the leaf being appended, for messages */
    int64_t fill_next;          /* the next seq batch_fill adds */
    /* Legal holds (verify_holds.c; NULL without any): the loaded segment's events that a
     * hold may have kept in the store, by their place in it (NULL for the others). */
    tti_vholds *vh;
    tt_event **ckept;
    size_t n_ckept;
    tt_event *pending; /* an event read past a gap of archived seqs */
    int scan_done;
    /* SPEC 15: the producers' states replayed over every event (a full walk only); the
     * first mismatch is kept and reported after the walk, so that a bad leaf before it
     * is still the one named. */
    tti_preplay *pr;
    int64_t pr_bad_seq;
    int pr_rc;
    char pr_msg[512];
} walk;

/* Feed one event to the producers' replay; a mismatch is kept for after the walk. */
static int replay_producer(walk *w, const tt_event *ev)
{
    if (w->pr == NULL || w->pr_rc != TT_OK)
        return TT_OK;
    int rc = tti_preplay_event(w->pr, ev, w->pr_msg, sizeof w->pr_msg);
    if (rc == TT_ETAMPERED) {
        w->pr_rc = rc;
        w->pr_bad_seq = ev->seq;
        return TT_OK;
    }
    return rc;
}

static int tampered_seq(walk *w, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int tampered_seq(walk *w, int64_t seq, const char *fmt, ...)
{
    if (!w->bad) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->rep->message, sizeof w->rep->message, fmt, ap);
        va_end(ap);
        w->rep->first_bad_seq = seq;
        w->bad = 1;
    }
    return TT_ETAMPERED;
}

static int tampered_cp(walk *w, int64_t size, const char *what)
{
    if (!w->bad) {
        snprintf(w->rep->message, sizeof w->rep->message, "checkpoint at tree size %lld: %s",
                 (long long)size, what);
        w->rep->bad_checkpoint_size = size;
        w->bad = 1;
    }
    return TT_ETAMPERED;
}

/* Every recomputed node stored in a tile (heights 0, 8, 16, ...) must equal the tile's. */
static void compare_node(void *ctx, unsigned height, uint64_t index, const uint8_t hash[32])
{
    walk *w = ctx;
    if (w->bad || w->rc != TT_OK || !tti_tile_locate(height, index).stored)
        return;
    uint8_t stored[32];
    int rc = tti_fetch_node(&w->fetch, height, index, stored);
    int64_t first = (int64_t)(index << height) + 1;
    if (rc == TT_ETAMPERED || (rc == TT_OK && !tti_ct_equal(stored, hash, 32))) {
        if (height == 0 && w->cur_seg != NULL)
            tampered_seq(w, first, "seq %lld: archive segment %s does not match the tree",
                         (long long)first, w->cur_seg->file);
        else if (height == 0)
            tampered_seq(w, first, "seq %lld: the stored tree leaf does not match the event",
                         (long long)first);
        else
            tampered_seq(w, first, "tree node over seq %lld..%lld does not match the events",
                         (long long)first, (long long)((int64_t)((index + 1) << height)));
    } else if (rc != TT_OK) {
        w->rc = rc;
    }
}

static int next_cp(walk *w)
{
    int rc = w->l->ops->checkpoints_next(w->cps, &w->cp);
    w->have_cp = rc == TT_OK;
    if (rc == TT_OK) {
        w->cps_seen++;
        w->max_cp = w->cp.tree_size > w->max_cp ? w->cp.tree_size : w->max_cp;
    }
    if (rc == TT_ENOTFOUND)
        return TT_OK;
    if (rc == TT_ETAMPERED)
        return tampered_cp(w, w->cp.tree_size, "its stored root is malformed");
    return rc == TT_OK ? TT_OK : tti_store_fail(w->l, w->s, rc);
}

/* Check every stored checkpoint whose size equals the tree walked so far. */
static int check_cps(walk *w)
{
    while (w->have_cp && !w->bad && (uint64_t)w->cp.tree_size <= w->cr.size) {
        if ((uint64_t)w->cp.tree_size < w->cr.size) {
            /* Only sizes below the walk's start are skipped (verify_since). */
        } else {
            uint8_t root[32], nroot[32];
            uint64_t nsize;
            tti_crange_root(&w->cr, root);
            if (!tti_ct_equal(root, w->cp.root, 32))
                return tampered_cp(w, w->cp.tree_size, "its root does not match the events");
            int rc = tti_note_verify_checkpoint(w->cp.note, strlen(w->cp.note), &w->l->verifier,
                                                NULL, &nsize, nroot);
            if (rc == TT_ENOMEM) /* not a verdict on the checkpoint */
                return tti_fail(rc, "out of memory");
            if (rc != TT_OK)
                return tampered_cp(w, w->cp.tree_size, "its signature does not verify");
            if (nsize != w->cr.size || !tti_ct_equal(nroot, root, 32))
                return tampered_cp(w, w->cp.tree_size, "its signed note names another tree");
            w->rep->checkpoints_checked++;
        }
        int rc = next_cp(w);
        if (rc != TT_OK)
            return rc;
    }
    return TT_OK;
}

/* ---- Hashing beside the scan ------------------------------------------------------------
 * Reading rows and hashing each took about half of verify's time on one core (issue 6).
 * So the scanning thread encodes a batch of events' leaf bytes while a second thread
 * hashes the batch before it: the leaves, and the tree's interior nodes on a copy of the
 * walk's compact range. Every check still runs on the scanning thread, in seq order, with
 * those hashes (tti_crange_append_known), so the first bad seq reported does not change. */

#define VB_EVENTS 512
/* Appending n consecutive leaves completes at most n + 64 parents (the carries of n
 * increments of a 64-bit counter). */
#define VB_PARENTS (VB_EVENTS + 64)

typedef struct vbatch {
    size_t n;
    int64_t seq[VB_EVENTS], ts[VB_EVENTS];
    int enc_rc[VB_EVENTS]; /* tti_event_leaf_encode's status for each event */
    /* The segment holding the seq, or NULL; archived: the leaf comes from it (no body in
     * the hot store); seg_bad: a hot body its segment holds otherwise. */
    const tti_segment *seg[VB_EVENTS];
    unsigned char archived[VB_EVENTS], seg_bad[VB_EVENTS];
    size_t off[VB_EVENTS], len[VB_EVENTS];
    uint8_t stored[VB_EVENTS][32];  /* the stored leaf hash */
    uint8_t leaf[VB_EVENTS][32];    /* recomputed by the hasher */
    size_t first_parent[VB_EVENTS]; /* each event's parents in parent[] */
    uint8_t parent[VB_PARENTS][32]; /* the interior nodes each append completes */
    size_t n_parents;
    uint8_t *bytes; /* the leaf bytes, back to back */
    size_t used, cap;
    int end_rc; /* after these events: TT_OK (more may follow), TT_ENOTFOUND (the end) or
                 * the scan's error */
} vbatch;

typedef struct hasher {
    pthread_t thread;
    int started; /* 0: no thread could be started, batches are hashed inline */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    vbatch *job; /* submitted and not hashed yet */
    int quit;
    tti_crange cr; /* the walk's range, one batch ahead of the checks */
} hasher;

static void note_parent(void *ctx, unsigned height, uint64_t index, const uint8_t hash[32])
{
    (void)index;
    vbatch *b = ctx;
    if (height > 0 && b->n_parents < VB_PARENTS)
        memcpy(b->parent[b->n_parents++], hash, 32);
}

/* After an event that cannot be encoded the checks stop, so the range may stop too. */
static void hash_batch(hasher *h, vbatch *b)
{
    b->n_parents = 0;
    for (size_t i = 0; i < b->n && b->enc_rc[i] == TT_OK; i++) {
        if (b->archived[i])
            memcpy(b->leaf[i], b->stored[i], 32); /* hashed from the segment's line */
        else
            tti_hash_leaf(b->bytes + b->off[i], b->len[i], b->leaf[i]);
        b->first_parent[i] = b->n_parents;
        tti_crange_append(&h->cr, b->leaf[i], note_parent, b);
    }
}

static void *hasher_main(void *arg)
{
    hasher *h = arg;
    tti_thread_name("tt-verify-hash");
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (h->job == NULL && !h->quit)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->job == NULL)
            break;
        vbatch *b = h->job;
        pthread_mutex_unlock(&h->mu);
        hash_batch(h, b);
        pthread_mutex_lock(&h->mu);
        h->job = NULL;
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void hasher_start(hasher *h, const tti_crange *cr)
{
    memset(h, 0, sizeof *h);
    h->cr = *cr;
    if (pthread_mutex_init(&h->mu, NULL) != 0)
        return;
    if (pthread_cond_init(&h->cv, NULL) != 0) {
        pthread_mutex_destroy(&h->mu);
        return;
    }
    h->started = pthread_create(&h->thread, NULL, hasher_main, h) == 0;
    if (!h->started) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
    }
}

static void hasher_submit(hasher *h, vbatch *b)
{
    if (!h->started) {
        hash_batch(h, b);
        return;
    }
    pthread_mutex_lock(&h->mu);
    h->job = b;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static void hasher_wait(hasher *h)
{
    if (!h->started)
        return;
    pthread_mutex_lock(&h->mu);
    while (h->job != NULL)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

static void hasher_stop(hasher *h)
{
    if (!h->started)
        return;
    pthread_mutex_lock(&h->mu);
    h->quit = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
}

/* Record one event of the scan: its seq, ts and stored hash, and its leaf bytes. */
static int batch_add(walk *w, vbatch *b, const tt_event *ev)
{
    size_t i = b->n, len = 0;
    b->seq[i] = ev->seq;
    b->ts[i] = ev->ts_us;
    memcpy(b->stored[i], ev->leaf_hash, 32);
    int rc = tti_event_leaf_encode(ev, b->bytes + b->used, b->cap - b->used, &len);
    if (rc == TT_ETOOBIG && len > b->cap - b->used) {
        size_t cap = b->cap * 2 > b->used + len ? b->cap * 2 : b->used + len;
        uint8_t *grown = realloc(b->bytes, cap);
        if (grown == NULL)
            return tti_fail(TT_ENOMEM, "out of memory");
        b->bytes = grown;
        b->cap = cap;
        rc = tti_event_leaf_encode(ev, b->bytes + b->used, b->cap - b->used, &len);
    }
    b->enc_rc[i] = rc; /* a failure is reported at this seq, in order */
    b->off[i] = b->used;
    b->len[i] = len;
    /* A body kept hot inside a segment (a legal hold) must be the one the segment holds. */
    int in_seg = w->cseg != NULL && ev->seq >= w->cseg->first_seq && ev->seq <= w->cseg->last_seq;
    b->seg[i] = in_seg ? w->cseg : NULL;
    b->archived[i] = 0;
    b->seg_bad[i] =
        in_seg && !tti_ct_equal(w->chash[ev->seq - w->cseg->first_seq], ev->leaf_hash, 32);
    if (rc == TT_OK)
        b->used += len;
    b->n++;
    w->fill_next = ev->seq + 1;
    /* inside a segment the segment's leaves are replayed (load_leaf), held bodies too */
    if (!in_seg && (rc = replay_producer(w, ev)) != TT_OK)
        return rc;
    if (!in_seg && w->vh != NULL && (rc = tti_vholds_saw(w->vh, ev)) != TT_OK)
        return rc;
    w->n_keyed += ev->idempotency_key != NULL;
    w->n_reasoned += ev->reason != NULL && ev->reason[0] != '\0';
    return TT_OK;
}

/* Record one archived seq: its leaf hash and ts as the loaded segment holds them. */
static int batch_add_archived(walk *w, vbatch *b)
{
    size_t i = b->n, k = (size_t)(w->fill_next - w->cseg->first_seq);
    if (w->ckept != NULL && w->ckept[k] != NULL) {
        int rc = tti_vholds_missing(w->vh, w->ckept[k], w->cseg);
        if (rc != TT_OK)
            return rc;
    }
    b->seq[i] = w->fill_next;
    b->ts[i] = w->cts[k];
    memcpy(b->stored[i], w->chash[k], 32);
    b->enc_rc[i] = TT_OK;
    b->off[i] = b->used;
    b->len[i] = 0;
    b->seg[i] = w->cseg;
    b->archived[i] = 1;
    b->seg_bad[i] = 0;
    b->n++;
    w->fill_next++;
    return TT_OK;
}

static int load_leaf(void *ctx, int64_t seq, const uint8_t *leaf, size_t len)
{
    walk *w = ctx;
    int64_t lseq, ts;
    size_t k = (size_t)(seq - w->cseg->first_seq);
    if (seq < w->cseg->first_seq || seq > w->cseg->last_seq ||
        tti_leaf_peek(leaf, len, &lseq, &ts) != 0 || lseq != seq)
        return tti_fail(TT_ETAMPERED, "archive segment %s: seq %lld out of place", w->cseg->file,
                        (long long)seq);
    tti_hash_leaf(leaf, len, w->chash[k]);
    w->cts[k] = ts;
    if (w->pr == NULL && w->vh == NULL)
        return TT_OK;
    tt_event *ev = NULL;
    int rc = tti_event_leaf_decode(leaf, len, &ev);
    if (rc == TT_ENOMEM)
        return tti_fail(rc, "out of memory");
    if (rc != TT_OK) /* the hash comparison names it */
        return TT_OK;
    if (w->pr != NULL)
        rc = replay_producer(w, ev);
    if (rc == TT_OK && w->vh != NULL)
        rc = tti_vholds_saw(w->vh, ev);
    if (rc == TT_OK && w->vh != NULL && tti_vholds_candidate(w->vh, ev)) {
        w->ckept[k] = ev; /* until the walk knows whether its body is in the store */
        return TT_OK;
    }
    tt_event_free(ev);
    return rc;
}

static void free_kept(walk *w)
{
    for (size_t k = 0; w->ckept != NULL && k < w->n_ckept; k++)
        tt_event_free(w->ckept[k]);
    free(w->ckept);
    w->ckept = NULL;
    w->n_ckept = 0;
}

/* Read the leaves of segment g (the walk enters it). */
static int load_segment(walk *w, const tti_segment *g)
{
    size_t n = (size_t)(g->last_seq - g->first_seq + 1);
    free(w->chash);
    free(w->cts);
    free_kept(w);
    w->cseg = NULL;
    w->chash = malloc(n * 32);
    w->cts = malloc(n * sizeof *w->cts);
    if (w->vh != NULL && (w->ckept = calloc(n, sizeof *w->ckept)) != NULL)
        w->n_ckept = n;
    if (w->chash == NULL || w->cts == NULL || (w->vh != NULL && w->ckept == NULL))
        return tti_fail(TT_ENOMEM, "out of memory");
    if (w->l->archive.read == NULL)
        return tti_fail(TT_EMISUSE,
                        "seq %lld..%lld are in archive segment %s, and no archive directory "
                        "was given to read it (tt_ledger_set_archive)",
                        (long long)g->first_seq, (long long)g->last_seq, g->file);
    w->cseg = g;
    int rc = w->l->archive.read(w->l->archive.ctx, w->l, g, load_leaf, w);
    if (rc == TT_ETAMPERED)
        tampered_seq(w, g->first_seq, "%s", tt_ledger_errmsg(w->l));
    if (rc != TT_OK)
        w->cseg = NULL;
    else
        w->rep->segments_checked++;
    return rc;
}

/* Read up to VB_EVENTS seqs: stored events from the scan, and the leaves of archived seqs
 * (no event row, inside a recorded segment) in their places. TT_OK, or an error with its
 * message set. */
static int batch_fill(walk *w, tti_store_iter *it, vbatch *b)
{
    const tt_event *ev;
    int rc = TT_OK;
    b->n = b->used = 0;
    while (b->n < VB_EVENTS) {
        int64_t next = w->fill_next;
        const tti_segment *g = tti_segment_find(w->segs, w->n_segs, next);
        if (g != NULL && g != w->cseg && (rc = load_segment(w, g)) != TT_OK)
            return rc;
        if (w->pending == NULL && !w->scan_done) {
            rc = w->l->ops->iter_next(it, &ev);
            if (rc == TT_ENOTFOUND) {
                w->scan_done = 1;
            } else if (rc != TT_OK) {
                break;
            } else if (ev->seq <= next || g == NULL) {
                if (batch_add(w, b, ev) != TT_OK)
                    return TT_ENOMEM;
                continue;
            } else if (tti_event_clone(ev, &w->pending) != TT_OK) {
                return tti_fail(TT_ENOMEM, "out of memory");
            }
        }
        if (w->pending != NULL && (w->pending->seq <= next || g == NULL)) {
            int arc = batch_add(w, b, w->pending);
            tt_event_free(w->pending);
            w->pending = NULL;
            if (arc != TT_OK)
                return TT_ENOMEM;
            continue;
        }
        if (g != NULL && next <= w->head.size) {
            if ((rc = batch_add_archived(w, b)) != TT_OK)
                return rc;
            continue;
        }
        rc = TT_ENOTFOUND;
        break;
    }
    /* Full: more may follow (an empty next batch ends the walk); else the end or an error. */
    b->end_rc = b->n == VB_EVENTS ? TT_OK : rc;
    return TT_OK;
}

static vbatch *batch_new(void)
{
    vbatch *b = calloc(1, sizeof *b);
    if (b != NULL && (b->bytes = malloc(b->cap = 256 * VB_EVENTS)) == NULL) {
        free(b);
        b = NULL;
    }
    return b;
}

static void batch_free(vbatch *b)
{
    if (b != NULL)
        free(b->bytes);
    free(b);
}

static int check_event(walk *w, const vbatch *b, size_t i, int64_t expect, int64_t *prev_ts)
{
    int64_t seq = b->seq[i];
    if (seq != expect)
        return tampered_seq(w, expect, "seq %lld: the event is missing", (long long)expect);
    if (seq > w->head.size)
        return tampered_seq(w, seq, "seq %lld: an event beyond the ledger head (%lld)",
                            (long long)seq, (long long)w->head.size);
    if (b->enc_rc[i] != TT_OK)
        return tti_fail(b->enc_rc[i], "cannot encode event %lld", (long long)seq);
    if (!tti_ct_equal(b->leaf[i], b->stored[i], 32))
        return tampered_seq(w, seq, "seq %lld: the stored fields do not match its leaf hash",
                            (long long)seq);
    if (b->seg_bad[i])
        return tampered_seq(w, seq, "seq %lld: archive segment %s does not match the event",
                            (long long)seq, b->seg[i]->file);
    w->rep->archived_checked += b->archived[i];
    w->cur_seg = b->archived[i] ? b->seg[i] : NULL;
    if (b->ts[i] < *prev_ts)
        return tampered_seq(w, seq, "seq %lld: ts goes backwards", (long long)seq);
    *prev_ts = b->ts[i];
    w->last_ts = b->ts[i];
    /* The hasher's range grew with the same leaves; should it ever lack a parent, hash
     * here rather than trust it. */
    if (tti_crange_merges(&w->cr) <= b->n_parents - b->first_parent[i])
        tti_crange_append_known(&w->cr, b->leaf[i],
                                (const uint8_t(*)[32])b->parent[b->first_parent[i]], compare_node,
                                w);
    else
        tti_crange_append(&w->cr, b->leaf[i], compare_node, w);
    if (w->rc != TT_OK)
        return tti_store_fail(w->l, w->s, w->rc);
    return w->bad ? TT_ETAMPERED : check_cps(w);
}

static int check_batch(walk *w, const vbatch *b, int64_t first, int64_t *expect, int64_t *prev_ts)
{
    int64_t total = w->head.size - first + 1;
    for (size_t i = 0; i < b->n; i++) {
        int rc = check_event(w, b, i, *expect, prev_ts);
        if (rc != TT_OK)
            return rc;
        w->rep->events_checked++;
        (*expect)++;
        if (w->progress && (*expect & 4095) == 0 &&
            w->progress(w->pctx, *expect - first, total) != 0)
            return tti_fail(TT_EMISUSE, "verification cancelled");
    }
    return TT_OK;
}

/* Batches alternate: while one is hashed, the next is read; then the first is checked. */
static int walk_batches(walk *w, tti_store_iter *it, vbatch *bs[2], int64_t first)
{
    hasher h;
    hasher_start(&h, &w->cr);
    int64_t expect = first, prev_ts = INT64_MIN;
    int cur = 0;
    int rc = batch_fill(w, it, bs[0]);
    while (rc == TT_OK) {
        vbatch *b = bs[cur], *next = bs[!cur];
        hasher_submit(&h, b);
        next->n = 0;
        next->end_rc = TT_ENOTFOUND;
        int fill_rc = b->end_rc == TT_OK ? batch_fill(w, it, next) : TT_OK;
        hasher_wait(&h);
        if ((rc = check_batch(w, b, first, &expect, &prev_ts)) == TT_OK && fill_rc != TT_OK)
            rc = fill_rc; /* its message is set */
        else if (rc == TT_OK && b->end_rc != TT_OK && b->end_rc != TT_ENOTFOUND)
            rc = tti_store_fail(w->l, w->s, b->end_rc);
        else if (rc == TT_OK)
            rc = b->end_rc;
        cur = !cur;
    }
    hasher_stop(&h);
    if (rc == TT_ENOTFOUND && !w->bad && expect <= w->head.size)
        tampered_seq(w, expect, "seq %lld: the event is missing", (long long)expect);
    return rc;
}

static int walk_events(walk *w, int64_t first)
{
    tti_store_iter *it;
    w->fill_next = first;
    int rc = w->l->ops->scan(w->s, first, &it);
    if (rc != TT_OK)
        return tti_store_fail(w->l, w->s, rc);
    vbatch *bs[2] = {batch_new(), batch_new()};
    if (bs[0] == NULL || bs[1] == NULL)
        rc = tti_fail(TT_ENOMEM, "out of memory");
    else
        rc = walk_batches(w, it, bs, first);
    w->l->ops->iter_free(it);
    batch_free(bs[0]);
    batch_free(bs[1]);
    if (w->bad)
        return TT_ETAMPERED;
    return rc == TT_ENOTFOUND ? TT_OK : rc;
}

/* After the walk: a body a legal hold kept in the store must still be there (SPEC 8). */
static int check_holds(walk *w)
{
    char msg[512];
    int64_t seq = w->vh != NULL ? tti_vholds_first_violation(w->vh, msg, sizeof msg) : 0;
    return seq > 0 ? tampered_seq(w, seq, "%s", msg) : TT_OK;
}

/* After the walk: the head must describe the tree walked, and nothing may lie beyond. */
static int check_end(walk *w)
{
    int64_t max_seq, count;
    int rc = w->l->ops->event_extent(w->s, &max_seq, &count);
    if (rc != TT_OK)
        return tti_store_fail(w->l, w->s, rc);
    if (max_seq > w->head.size || count > w->head.size)
        return tampered_seq(w, w->head.size + 1, "events beyond the ledger head (%lld) exist",
                            (long long)w->head.size);
    if (!tti_head_matches(&w->head, &w->cr))
        return tampered_seq(w, w->head.size, "the ledger head does not match the events");
    /* The head's last ts keeps ts from going backwards on the next append. */
    if (w->head.size > 0 && w->rep->events_checked > 0 && w->head.last_ts_us != w->last_ts)
        return tampered_seq(w, w->head.size, "the ledger head's last ts does not match seq %lld",
                            (long long)w->head.size);
    if (w->have_cp)
        return tampered_cp(w, w->cp.tree_size,
                           "it covers more events than the ledger holds: events were removed");
    /* SPEC 4: the head records what signing stored, so removing checkpoints shows. */
    if (w->cps_seen != w->head.n_checkpoints || w->max_cp != w->head.signed_size) {
        char what[200];
        snprintf(what, sizeof what,
                 "the ledger head records %lld checkpoints up to this size, but %lld are stored "
                 "(up to tree size %lld): checkpoints were removed",
                 (long long)w->head.n_checkpoints, (long long)w->cps_seen, (long long)w->max_cp);
        return tampered_cp(w, w->head.signed_size, what);
    }
    return TT_OK;
}

/* An index that disagrees with the events (the first mismatch found is the one reported). */
static int tampered_index(walk *w, int64_t bad, const char *msg)
{
    if (!w->bad) {
        snprintf(w->rep->message, sizeof w->rep->message, "%s", msg);
        w->rep->first_bad_seq = bad;
        w->bad = 1;
    }
    return TT_ETAMPERED;
}

/* The side indexes must match the events (SPEC 4): a retry answered with another event's
 * seq, or an event search no longer finds, would not show in any leaf. full: the walk read
 * every event, so its counts stand for the whole ledger. */
static int check_indexes(walk *w, int full)
{
    int64_t bad = 0;
    int rc = w->l->ops->check_idem(w->s, full ? w->n_keyed : -1, &bad);
    if (rc == TT_OK)
        rc = w->l->ops->check_search(w->s, full ? w->n_reasoned : -1, &bad);
    /* A full verification checked the subject index beside the walk (terms_main). */
    if (rc == TT_OK && !full && w->l->ops->check_subjects != NULL)
        rc = w->l->ops->check_subjects(w->s, &bad);
    if (rc == TT_ETAMPERED)
        return tampered_index(w, bad, w->l->ops->errmsg(w->s));
    return rc == TT_OK ? TT_OK : tti_store_fail(w->l, w->s, rc);
}

/* ---- the reason index's words, beside the walk -----------------------------------------
 * Comparing each document of the reason index with its reason (check_search_terms) reads
 * every reason again and every (word, event) entry of the index: on SQLite more than twice
 * the walk's time when it ran after it. It reads nothing the walk needs, so it runs on a
 * second connection, on a thread of its own, while the walk runs. Its read transaction
 * begins just after the walk's and may see a later commit; the check stops at the head the
 * walk read, and an event and its document are written (and archived) in one transaction,
 * so each snapshot agrees with itself and a mismatch found is one the database holds. */
typedef struct terms_job {
    tt_ledger *l;
    tti_store *s; /* the second connection, or NULL: the check runs after the walk */
    int64_t upto;
    pthread_t th;
    atomic_int stop; /* the walk ended early: stop too */
    int rc;
    int64_t bad;
    char msg[512];
} terms_job;

static int terms_stopped(void *ctx, int64_t done, int64_t total)
{
    (void)done;
    (void)total;
    return atomic_load(&((terms_job *)ctx)->stop);
}

/* The index contents no leaf covers: the reason index's words, then the per-subject index
 * (each where the backend keeps one beside the events). */
static void side_checks(terms_job *j, tti_store *s, tt_progress_fn progress, void *ctx)
{
    const tti_store_ops *ops = j->l->ops;
    j->rc = TT_OK;
    if (ops->check_search_terms != NULL)
        j->rc = ops->check_search_terms(s, j->upto, progress, ctx, &j->bad);
    if (j->rc == TT_OK && ops->check_subjects != NULL && !atomic_load(&j->stop))
        j->rc = ops->check_subjects(s, &j->bad);
    if (j->rc != TT_OK)
        snprintf(j->msg, sizeof j->msg, "%s", ops->errmsg(s));
}

static void *terms_main(void *arg)
{
    terms_job *j = arg;
    tti_thread_name("tt-verify-index");
    side_checks(j, j->s, terms_stopped, j);
    return NULL;
}

/* Start the check on a second reader of the same ledger; without one (it cannot be opened,
 * or it does not see the walk's events) terms_finish runs it on the walk's connection. */
static void terms_start(walk *w, terms_job *j)
{
    j->l = w->l;
    j->upto = w->head.size;
    const tti_store_ops *ops = w->l->ops;
    tti_store *s;
    if ((ops->check_search_terms == NULL && ops->check_subjects == NULL) ||
        tti_reader_get(w->l, &s) != TT_OK)
        return;
    tti_head h;
    if (ops->begin_read(s) == TT_OK) {
        if (ops->read_head(s, &h) == TT_OK && h.size >= w->head.size) {
            j->s = s;
            if (pthread_create(&j->th, NULL, terms_main, j) == 0)
                return;
            j->s = NULL;
        }
        ops->rollback(s);
    }
    tti_reader_put(w->l, s);
}

/* Wait for the check (go: the walk and the other checks passed; otherwise stop it). */
static int terms_finish(walk *w, terms_job *j, int go)
{
    const tti_store_ops *ops = w->l->ops;
    if (j->s != NULL) {
        if (!go)
            atomic_store(&j->stop, 1);
        pthread_join(j->th, NULL);
        ops->rollback(j->s);
        tti_reader_put(w->l, j->s);
        j->s = NULL;
    } else if (go) {
        side_checks(j, w->s, w->progress, w->pctx);
    }
    if (!go || j->rc == TT_OK)
        return TT_OK;
    if (j->rc == TT_ETAMPERED)
        return tampered_index(w, j->bad, j->msg);
    return tti_fail(j->rc, "%s", j->msg);
}

static int walk_begin(tt_ledger *l, walk *w, tt_verify_report *rep)
{
    memset(rep, 0, sizeof *rep);
    w->l = l;
    w->rep = rep;
    tti_crange_init(&w->cr);
    if (!l->have_verifier)
        return tti_fail(TT_ECRYPTO, "no verifier key: cannot check checkpoint signatures");
    /* WARNING: a key read from the store vouches for nothing: whoever rewrote the store
     * (events, tree and checkpoints, signed with a key of their own) rewrote it too. */
    if (!l->verifier_trusted)
        return tti_fail(TT_ECRYPTO,
                        "no trusted verifier key: %s is absent, and the key stored in the "
                        "database cannot vouch for that database; give the verifier key "
                        "`tradetrail key` printed where the ledger was created (tradetrail "
                        "verify --key VKEY)",
                        l->key_path != NULL ? l->key_path : "signing.key");
    int rc = tti_reader_get(l, &w->s);
    if (rc != TT_OK)
        return rc;
    w->fetch.l = l;
    w->fetch.s = w->s;
    if ((w->fetch.cache = tti_tile_cache_new()) == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    if ((rc = l->ops->begin_read(w->s)) != TT_OK)
        return tti_store_fail(l, w->s, rc);
    if ((rc = l->ops->read_head(w->s, &w->head)) != TT_OK)
        return rc == TT_ETAMPERED ? tampered_seq(w, 1, "%s", l->ops->errmsg(w->s))
                                  : tti_store_fail(l, w->s, rc);
    rep->tree_size = w->head.size;
    w->fetch.tree_size = w->head.size;
    if ((rc = tti_ledger_segments(l, w->s, &w->segs, &w->n_segs)) != TT_OK)
        return rc;
    if (w->n_segs > 0 && (rc = tti_vholds_load(l, w->s, &w->vh)) != TT_OK)
        return rc;
    if ((rc = l->ops->checkpoints_iter(w->s, &w->cps)) != TT_OK)
        return tti_store_fail(l, w->s, rc);
    return next_cp(w);
}

static void walk_end(walk *w)
{
    if (w->cps != NULL)
        w->l->ops->iter_free(w->cps);
    if (w->s != NULL) {
        w->l->ops->rollback(w->s);
        tti_reader_put(w->l, w->s);
    }
    tti_tile_cache_free(w->fetch.cache);
    free(w->segs);
    free(w->chash);
    free(w->cts);
    free_kept(w);
    tti_vholds_free(w->vh);
    tt_event_free(w->pending);
    tti_preplay_free(w->pr);
}

static int finish(walk *w, int rc)
{
    if (rc == TT_ETAMPERED || w->bad) {
        tti_fail(TT_ETAMPERED, "%s", w->rep->message);
        rc = TT_ETAMPERED;
    } else if (rc == TT_OK) {
        char arch[96] = "";
        if (w->rep->segments_checked > 0)
            snprintf(arch, sizeof arch, " (%lld from %lld archive segments)",
                     (long long)w->rep->archived_checked, (long long)w->rep->segments_checked);
        snprintf(w->rep->message, sizeof w->rep->message,
                 "ok: %lld events%s, %lld checkpoints verified", (long long)w->rep->events_checked,
                 arch, (long long)w->rep->checkpoints_checked);
    }
    walk_end(w);
    return rc;
}

/* SPEC 15: what the replay found, or the stored states against the replayed ones. */
static int check_producers(walk *w)
{
    if (w->pr_rc == TT_ETAMPERED)
        return tampered_seq(w, w->pr_bad_seq, "%s", w->pr_msg);
    char msg[512];
    int64_t bad = 0;
    int rc = tti_preplay_check(w->pr, w->l, w->s, &bad, msg, sizeof msg);
    if (rc == TT_ETAMPERED)
        return tampered_seq(w, bad, "%s", msg);
    return rc;
}

int tt_ledger_verify(tt_ledger *l, tt_progress_fn progress, void *ctx, tt_verify_report *report)
{
    walk w;
    memset(&w, 0, sizeof w);
    w.progress = progress;
    w.pctx = ctx;
    if ((w.pr = tti_preplay_new()) == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    terms_job tj;
    memset(&tj, 0, sizeof tj);
    int rc = walk_begin(l, &w, report);
    if (rc == TT_OK)
        terms_start(&w, &tj);
    if (rc == TT_OK)
        rc = check_cps(&w); /* a checkpoint of the empty tree */
    if (rc == TT_OK)
        rc = walk_events(&w, 1);
    if (rc == TT_OK)
        rc = check_holds(&w);
    if (rc == TT_OK)
        rc = check_end(&w);
    if (rc == TT_OK)
        rc = check_indexes(&w, 1);
    int trc = terms_finish(&w, &tj, rc == TT_OK && !w.bad);
    if (rc == TT_OK)
        rc = trc;
    if (rc == TT_OK)
        rc = check_producers(&w);
    return finish(&w, rc);
}

/* The kept checkpoint's tree must be a prefix of ours: rebuild its right edge from our
 * stored nodes and compare roots (equivalent to checking a consistency proof). */
static int check_prefix(walk *w, uint64_t size, const uint8_t root[32])
{
    if (size > (uint64_t)w->head.size)
        return tampered_cp(w, (int64_t)size,
                           "the ledger holds fewer events than this checkpoint: events were "
                           "removed");
    int rc = tti_crange_from_fetch(size, tti_fetch_node, &w->fetch, &w->cr);
    if (rc == TT_ETAMPERED)
        return tampered_cp(w, (int64_t)size, "the stored tree does not contain it");
    if (rc != TT_OK)
        return rc;
    uint8_t have[32];
    tti_crange_root(&w->cr, have);
    if (!tti_ct_equal(have, root, 32))
        return tampered_cp(w, (int64_t)size,
                           "the ledger's first events no longer match it: history was "
                           "rewritten");
    while (w->have_cp && (uint64_t)w->cp.tree_size < size)
        if ((rc = next_cp(w)) != TT_OK)
            return rc;
    return TT_OK;
}

int tt_ledger_verify_since(tt_ledger *l, const char *note, size_t len, tt_progress_fn progress,
                           void *ctx, tt_verify_report *report)
{
    walk w;
    memset(&w, 0, sizeof w);
    w.progress = progress;
    w.pctx = ctx;
    int rc = walk_begin(l, &w, report);
    uint64_t size = 0;
    uint8_t root[32];
    if (rc == TT_OK) {
        rc = tti_note_verify_checkpoint(note, len, &l->verifier, NULL, &size, root);
        if (rc != TT_OK) {
            snprintf(report->message, sizeof report->message, "%s",
                     rc == TT_EAUTH ? "the checkpoint's signature does not verify with this "
                                      "ledger's key"
                                    : "the checkpoint note is malformed");
            walk_end(&w);
            return tti_fail(rc, "%s", report->message);
        }
    }
    if (rc == TT_OK)
        rc = check_prefix(&w, size, root);
    if (rc == TT_OK)
        rc = check_cps(&w);
    if (rc == TT_OK)
        rc = walk_events(&w, (int64_t)size + 1);
    if (rc == TT_OK)
        rc = check_holds(&w);
    if (rc == TT_OK)
        rc = check_end(&w);
    if (rc == TT_OK)
        rc = check_indexes(&w, 0);
    return finish(&w, rc);
}
