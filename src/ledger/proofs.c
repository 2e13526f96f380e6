/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading the tree: perfect-subtree hashes from tiles (O(log n) tile reads per proof),
 * the head, inclusion and consistency proofs (RFC 9162 2.1.3, 2.1.4), and signed
 * checkpoints.
 */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "ledger/ledger.h"

#define CACHE_SLOTS 16

typedef struct cached_tile {
    int used;
    unsigned level;
    uint64_t index;
    size_t n;
    uint8_t hashes[TTI_TILE_WIDTH][TT_HASH_SIZE];
} cached_tile;

/* Tiles read during one call (a proof, a verification): the right-edge tiles are needed
 * by many nodes of one proof. Lives no longer than the call's read transaction. */
struct tti_tile_cache {
    cached_tile slot[CACHE_SLOTS];
    unsigned next;
};

tti_tile_cache *tti_tile_cache_new(void)
{
    return calloc(1, sizeof(tti_tile_cache));
}

void tti_tile_cache_free(tti_tile_cache *c)
{
    free(c);
}

static int load_tile(tti_fetcher *f, unsigned level, uint64_t index, cached_tile **out)
{
    tti_tile_cache *c = f->cache;
    for (unsigned i = 0; i < CACHE_SLOTS; i++) {
        cached_tile *t = &c->slot[i];
        if (t->used && t->level == level && t->index == index) {
            *out = t;
            return TT_OK;
        }
    }
    cached_tile *t = &c->slot[c->next++ % CACHE_SLOTS];
    t->used = 0;
    int rc = f->l->ops->get_tile(f->s, level, index, t->hashes, &t->n);
    if (rc != TT_OK)
        return tti_store_fail(f->l, f->s, rc);
    t->used = 1;
    t->level = level;
    t->index = index;
    *out = t;
    return TT_OK;
}

tti_tile_addr tti_tile_locate(unsigned height, uint64_t index)
{
    unsigned r = height % TTI_TILE_HEIGHT;
    uint64_t first = index << r; /* the first entry, counted along the tile level */
    return (tti_tile_addr){.level = height / TTI_TILE_HEIGHT,
                           .tile = first / TTI_TILE_WIDTH,
                           .first = (size_t)(first % TTI_TILE_WIDTH),
                           .count = (size_t)1 << r,
                           .stored = r == 0};
}

/* Hash of the perfect subtree (height, index): the root over the tile entries it spans. */
int tti_fetch_node(void *ctx, unsigned height, uint64_t index, uint8_t out[32])
{
    tti_fetcher *f = ctx;
    tti_tile_addr a = tti_tile_locate(height, index);
    size_t off = a.first, count = a.count;
    cached_tile *t = NULL;
    int rc = load_tile(f, a.level, a.tile, &t);
    if (rc != TT_OK)
        return rc;
    if (t->n < off + count)
        return tti_fail(TT_ETAMPERED,
                        "tree tile %u/%llu holds %zu hashes, %zu needed; run `tradetrail "
                        "verify`",
                        a.level, (unsigned long long)t->index, t->n, off + count);
    uint8_t buf[128][TT_HASH_SIZE];
    memcpy(buf, t->hashes[off], count * TT_HASH_SIZE);
    for (size_t w = count; w > 1; w /= 2)
        for (size_t i = 0; i < w / 2; i++)
            tti_hash_node(buf[2 * i], buf[2 * i + 1], buf[i]);
    memcpy(out, buf[0], TT_HASH_SIZE);
    return TT_OK;
}

void tti_head_to_crange(const tti_head *h, tti_crange *cr)
{
    cr->size = (uint64_t)h->size;
    cr->n = h->n_crange;
    memcpy(cr->hashes, h->crange, h->n_crange * TT_HASH_SIZE);
}

void tti_head_set_crange(tti_head *h, const tti_crange *cr)
{
    h->size = (int64_t)cr->size;
    h->n_crange = cr->n;
    memcpy(h->crange, cr->hashes, cr->n * TT_HASH_SIZE);
}

int tti_head_matches(const tti_head *h, const tti_crange *cr)
{
    return cr->size == (uint64_t)h->size && cr->n == h->n_crange &&
           tti_ct_equal(cr->hashes, h->crange, cr->n * TT_HASH_SIZE);
}

void tti_head_root(const tti_head *h, uint8_t out[32])
{
    tti_crange cr;
    tti_head_to_crange(h, &cr);
    tti_crange_root(&cr, out);
}

/* Run fn inside a read snapshot with a fetcher and the current head. */
typedef int (*read_fn)(tti_fetcher *f, const tti_head *h, void *arg);

static int with_snapshot(tt_ledger *l, read_fn fn, void *arg)
{
    tti_fetcher f = {.l = l};
    int rc = tti_reader_get(l, &f.s);
    if (rc != TT_OK)
        return rc;
    f.cache = tti_tile_cache_new();
    if (f.cache == NULL) {
        tti_reader_put(l, f.s);
        return tti_fail(TT_ENOMEM, "out of memory");
    }
    tti_head h;
    if ((rc = l->ops->begin_read(f.s)) != TT_OK) {
        rc = tti_store_fail(l, f.s, rc);
    } else {
        if ((rc = l->ops->read_head(f.s, &h)) != TT_OK)
            rc = tti_store_fail(l, f.s, rc);
        else {
            f.tree_size = h.size;
            rc = fn(&f, &h, arg);
        }
        l->ops->rollback(f.s);
    }
    tti_tile_cache_free(f.cache);
    tti_reader_put(l, f.s);
    return rc;
}

typedef struct head_arg {
    int64_t size;
    uint8_t root[TT_HASH_SIZE];
} head_arg;

static int head_fn(tti_fetcher *f, const tti_head *h, void *arg)
{
    (void)f;
    head_arg *a = arg;
    a->size = h->size;
    tti_head_root(h, a->root);
    return TT_OK;
}

int tt_ledger_head(tt_ledger *l, int64_t *tree_size, uint8_t root[TT_HASH_SIZE])
{
    head_arg a;
    int rc = with_snapshot(l, head_fn, &a);
    if (rc == TT_OK) {
        *tree_size = a.size;
        memcpy(root, a.root, TT_HASH_SIZE);
    }
    return rc;
}

/* The root of the tree of `size` leaves: the head's when current, else from tiles. */
static int root_at(tti_fetcher *f, const tti_head *h, int64_t size, uint8_t out[32])
{
    if (size == h->size) {
        tti_head_root(h, out);
        return TT_OK;
    }
    return tti_merkle_range_root(0, (uint64_t)size, tti_fetch_node, f, out);
}

static int inclusion_fn(tti_fetcher *f, const tti_head *h, void *arg)
{
    tt_proof *p = arg;
    if (p->tree_size == 0)
        p->tree_size = h->size;
    if (p->leaf_index < 0 || p->tree_size > h->size || p->leaf_index >= p->tree_size)
        return tti_fail(TT_EINVAL,
                        "need 1 <= seq <= tree_size <= %lld (got seq %lld, tree_size %lld)",
                        (long long)h->size, (long long)p->leaf_index + 1, (long long)p->tree_size);
    int rc = tti_fetch_node(f, 0, (uint64_t)p->leaf_index, p->leaf_hash);
    if (rc == TT_OK)
        rc = tti_merkle_inclusion((uint64_t)p->leaf_index, (uint64_t)p->tree_size, tti_fetch_node,
                                  f, p->hashes, &p->n_hashes);
    if (rc == TT_OK)
        rc = root_at(f, h, p->tree_size, p->root_hash);
    return rc == TT_OK || rc == TT_ETAMPERED || rc == TT_EDB ? rc
                                                             : tti_fail(rc, "cannot build proof");
}

int tt_ledger_prove_inclusion(tt_ledger *l, int64_t seq, int64_t tree_size, tt_proof *out)
{
    tt_proof p;
    memset(&p, 0, sizeof p);
    p.leaf_index = seq - 1;
    p.tree_size = tree_size;
    if (seq < 1 || tree_size < 0)
        return tti_fail(TT_EINVAL, "seq must be >= 1 and tree_size >= 0");
    int rc = with_snapshot(l, inclusion_fn, &p);
    if (rc == TT_OK)
        *out = p;
    return rc;
}

static int consistency_fn(tti_fetcher *f, const tti_head *h, void *arg)
{
    tt_proof *p = arg;
    if (p->first_size < 1 || p->first_size > p->tree_size || p->tree_size > h->size)
        return tti_fail(TT_EINVAL, "need 1 <= first <= second <= %lld (got %lld and %lld)",
                        (long long)h->size, (long long)p->first_size, (long long)p->tree_size);
    int rc = tti_merkle_consistency((uint64_t)p->first_size, (uint64_t)p->tree_size, tti_fetch_node,
                                    f, p->hashes, &p->n_hashes);
    if (rc == TT_OK)
        rc = root_at(f, h, p->first_size, p->leaf_hash); /* first root kept in leaf_hash */
    if (rc == TT_OK)
        rc = root_at(f, h, p->tree_size, p->root_hash);
    return rc;
}

int tt_ledger_prove_consistency(tt_ledger *l, int64_t first, int64_t second, tt_proof *out)
{
    tt_proof p;
    memset(&p, 0, sizeof p);
    p.first_size = first;
    p.tree_size = second;
    int rc = with_snapshot(l, consistency_fn, &p);
    if (rc == TT_OK)
        *out = p;
    return rc;
}

void tt_checkpoint_clear(tt_checkpoint *cp)
{
    if (cp == NULL)
        return;
    free(cp->note);
    cp->note = NULL;
}

static void from_row(tt_checkpoint *out, const tti_cp_row *row)
{
    out->tree_size = row->tree_size;
    out->ts_us = row->ts_us;
    memcpy(out->root_hash, row->root, TT_HASH_SIZE);
    out->note = row->note;
}

int tt_ledger_checkpoint_latest(tt_ledger *l, tt_checkpoint *out)
{
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    tti_cp_row row;
    rc = l->ops->latest_checkpoint(s, &row);
    if (rc == TT_OK)
        from_row(out, &row);
    else if (rc == TT_ENOTFOUND)
        tti_fail(rc, "no checkpoint has been signed yet; run `tradetrail checkpoint`");
    else
        tti_store_fail(l, s, rc);
    tti_reader_put(l, s);
    return rc;
}

static int sign_locked(tt_ledger *l, tt_checkpoint *out)
{
    tti_head h;
    tti_cp_row row;
    int rc = l->ops->read_head(l->w, &h);
    if (rc != TT_OK)
        return tti_store_fail(l, l->w, rc);
    rc = l->ops->latest_checkpoint(l->w, &row);
    if (rc == TT_OK && row.tree_size == h.size) {
        from_row(out, &row);
        return TT_OK;
    }
    if (rc == TT_OK)
        free(row.note);
    else if (rc != TT_ENOTFOUND)
        return tti_store_fail(l, l->w, rc);
    row.tree_size = h.size;
    row.ts_us = tt_time_now_us();
    tti_head_root(&h, row.root);
    rc = tti_note_sign_checkpoint(&l->signer, l->origin, (uint64_t)h.size, row.root, &row.note);
    if (rc != TT_OK)
        return tti_fail(rc, "cannot sign the checkpoint");
    if ((rc = l->ops->put_checkpoint(l->w, &row)) != TT_OK ||
        (rc = l->ops->commit(l->w)) != TT_OK) {
        free(row.note);
        return tti_store_fail(l, l->w, rc);
    }
    from_row(out, &row);
    return TT_OK;
}

int tt_ledger_checkpoint_sign(tt_ledger *l, tt_checkpoint *out)
{
    if (!l->have_signer && l->wrong_key[0] != '\0')
        return tti_fail(TT_ECRYPTO, "%s", l->wrong_key);
    if (!l->have_signer)
        return tti_fail(TT_ECRYPTO, "no signing key in the data directory; run `tradetrail "
                                    "init` or point --data at the ledger's directory");
    pthread_mutex_lock(&l->wlock);
    int rc = l->ops->begin_write(l->w);
    if (rc != TT_OK) {
        rc = tti_store_fail(l, l->w, rc);
    } else {
        rc = sign_locked(l, out);
        l->ops->rollback(l->w); /* no-op after a commit */
    }
    pthread_mutex_unlock(&l->wlock);
    return rc;
}

/* ---- range proofs (exports, docs/FORMAT.md section 8) ---- */

typedef struct range_arg {
    uint64_t lo, hi, size;
    uint8_t (*hashes)[TT_HASH_SIZE];
    size_t n, cap;
} range_arg;

/* Walk MTH(D[l:r]) as RFC 9162 2.1.1 splits it: a subtree outside [lo, hi) is one hash of
 * the proof, in left-to-right order; one inside is what the verifier computes. */
static int range_walk(tti_fetcher *f, range_arg *a, uint64_t l, uint64_t r)
{
    if (r <= a->lo || l >= a->hi) {
        if (a->n == a->cap)
            return tti_fail(TT_EINVAL, "range proof longer than %zu hashes", a->cap);
        return tti_merkle_range_root(l, r, tti_fetch_node, f, a->hashes[a->n++]);
    }
    if (r - l == 1 || (l >= a->lo && r <= a->hi))
        return TT_OK;
    uint64_t k = 1;
    while (k << 1 < r - l)
        k <<= 1;
    int rc = range_walk(f, a, l, l + k);
    return rc == TT_OK ? range_walk(f, a, l + k, r) : rc;
}

static int range_fn(tti_fetcher *f, const tti_head *h, void *arg)
{
    range_arg *a = arg;
    if (a->size > (uint64_t)h->size || a->hi > a->size || a->lo > a->hi)
        return tti_fail(TT_EINVAL, "need first <= end <= tree_size <= %lld", (long long)h->size);
    return a->size == 0 ? TT_OK : range_walk(f, a, 0, a->size);
}

int tt_ledger_prove_range(tt_ledger *l, int64_t first, int64_t end, int64_t tree_size,
                          uint8_t (*hashes)[TT_HASH_SIZE], size_t *n)
{
    if (first < 0 || end < first || tree_size < end || hashes == NULL || n == NULL)
        return tti_fail(TT_EINVAL, "need 0 <= first <= end <= tree_size");
    range_arg a = {.lo = (uint64_t)first,
                   .hi = (uint64_t)end,
                   .size = (uint64_t)tree_size,
                   .hashes = hashes,
                   .cap = TT_RANGE_PROOF_MAX};
    int rc = with_snapshot(l, range_fn, &a);
    if (rc == TT_OK)
        *n = a.n;
    return rc;
}
