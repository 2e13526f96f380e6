/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RFC 9162 Merkle tree: compact ranges for appending, proof generation from stored
 * perfect-subtree hashes, and proof verification (RFC 9162 inclusion and consistency, and
 * the subtree proofs of Merkle Tree Certificates). Nothing here allocates or recurses.
 */
#include "core/merkle.h"

#include "core/crypto.h"
#include "tradetrail.h"

#include <string.h>

/* Every proof in a tree of at most 2^64 - 1 leaves has at most 64 hashes. */
_Static_assert(TTI_MAX_PROOF == 64, "proof buffers assume a depth of at most 64");

/* ---------------------------------------------------------------------------------------
 * Bit helpers
 * ------------------------------------------------------------------------------------- */

/* The largest power of two strictly smaller than n, for n >= 2 (RFC 9162 2.1.1's k). */
static uint64_t split_point(uint64_t n)
{
    return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

/* Whether [begin, end) is a subtree in the sense of draft-ietf-plants-merkle-tree-certs
 * 4.1: begin <= end and begin is a multiple of BIT_CEIL(end - begin). Such a range is
 * built from nodes of the full tree, so its hash needs only stored perfect subtrees. */
static int is_subtree(uint64_t begin, uint64_t end)
{
    if (begin > end)
        return 0;
    if (begin == 0)
        return 1;
    /* The lowest set bit of begin is a power of two; it is >= BIT_CEIL(size) exactly when
     * it is >= size. Written this way nothing overflows, even for size > 2^63. */
    return (begin & (~begin + 1)) >= end - begin;
}

/* ---------------------------------------------------------------------------------------
 * Compact ranges
 * ------------------------------------------------------------------------------------- */

void tti_crange_init(tti_crange *r)
{
    memset(r, 0, sizeof *r);
}

/* known: the parents this append completes, bottom up, or NULL to hash them here. */
static void crange_push(tti_crange *r, const uint8_t leaf[32], const uint8_t (*known)[32],
                        tti_node_cb cb, void *ctx)
{
    /* 2^64 - 1 leaves is the most a uint64_t size can describe; unreachable in practice. */
    if (r->size == UINT64_MAX)
        return;

    uint8_t cur[32];
    memcpy(cur, leaf, 32);
    uint64_t index = r->size;
    unsigned height = 0;
    if (cb != NULL)
        cb(ctx, 0, index, cur);

    /* Each trailing one bit of the old size is a perfect subtree of this height waiting
     * for a right sibling: merging with it completes the parent (RFC 9162 2.1.1). */
    while (index & 1) {
        r->n--;
        if (known != NULL)
            memcpy(cur, *known++, 32);
        else
            tti_hash_node(r->hashes[r->n], cur, cur);
        height++;
        index >>= 1;
        if (cb != NULL)
            cb(ctx, height, index, cur);
    }
    memcpy(r->hashes[r->n], cur, 32);
    r->n++;
    r->size++;
}

void tti_crange_append(tti_crange *r, const uint8_t leaf[32], tti_node_cb cb, void *ctx)
{
    crange_push(r, leaf, NULL, cb, ctx);
}

void tti_crange_append_known(tti_crange *r, const uint8_t leaf[32], const uint8_t (*parents)[32],
                             tti_node_cb cb, void *ctx)
{
    crange_push(r, leaf, parents, cb, ctx);
}

unsigned tti_crange_merges(const tti_crange *r)
{
    unsigned k = 0;
    for (uint64_t index = r->size; index & 1; index >>= 1)
        k++;
    return k;
}

/* RFC 9162 2.1.1: MTH of a list whose perfect subtrees are hashes[0..n), largest first.
 * The split at k = largest power of two < size always separates the leftmost perfect
 * subtree, so the root folds the range from the right. */
static void fold_right(const uint8_t (*hashes)[32], unsigned n, uint8_t out[32])
{
    uint8_t acc[32];
    memcpy(acc, hashes[n - 1], 32);
    for (unsigned i = n - 1; i-- > 0;)
        tti_hash_node(hashes[i], acc, acc);
    memcpy(out, acc, 32);
}

void tti_crange_root(const tti_crange *r, uint8_t out[32])
{
    if (r->n == 0) {
        /* RFC 9162 2.1.1: MTH({}) = HASH(). */
        tti_sha256(NULL, 0, NULL, 0, NULL, 0, out);
        return;
    }
    fold_right((const uint8_t(*)[32])r->hashes, r->n, out);
}

int tti_crange_from_fetch(uint64_t size, tti_node_fetch f, void *ctx, tti_crange *out)
{
    tti_crange tmp;
    tti_crange_init(&tmp);

    /* One perfect subtree per set bit of size, left to right; each starts where the
     * previous one ended, so it is aligned to its own size. */
    uint64_t pos = 0;
    for (unsigned h = 64; h-- > 0;) {
        if (!((size >> h) & 1))
            continue;
        int rc = f(ctx, h, pos >> h, tmp.hashes[tmp.n]);
        if (rc != TT_OK)
            return rc;
        tmp.n++;
        pos += UINT64_C(1) << h;
    }
    tmp.size = size;
    *out = tmp;
    return TT_OK;
}

/* ---------------------------------------------------------------------------------------
 * Proof generation over stored nodes
 * ------------------------------------------------------------------------------------- */

/*
 * MTH(D[begin:end]) for end > begin (RFC 9162 2.1.1) where [begin, end) is a subtree
 * (see is_subtree): one fetch per set bit of the size. Only such ranges occur in RFC 9162
 * proofs; the hash of any other range is not made of tree nodes and would need every leaf.
 */
static int range_root(uint64_t begin, uint64_t end, tti_node_fetch f, void *ctx, uint8_t out[32])
{
    uint64_t size = end - begin;
    uint64_t pos = end;
    uint8_t acc[32], node[32];
    int have = 0;

    /* Walk the perfect subtrees right to left so the fold needs no buffer: each one
     * ends where the next (larger) one to its right begins. */
    for (unsigned h = 0; h < 64; h++) {
        if (!((size >> h) & 1))
            continue;
        pos -= UINT64_C(1) << h;
        int rc = f(ctx, h, pos >> h, have ? node : acc);
        if (rc != TT_OK)
            return rc;
        if (have)
            tti_hash_node(node, acc, acc);
        have = 1;
    }
    memcpy(out, acc, 32);
    return TT_OK;
}

int tti_merkle_range_root(uint64_t begin, uint64_t end, tti_node_fetch f, void *ctx,
                          uint8_t out[32])
{
    if (end <= begin || !is_subtree(begin, end))
        return TT_EINVAL;
    return range_root(begin, end, f, ctx, out);
}

int tti_merkle_inclusion(uint64_t index, uint64_t size, tti_node_fetch f, void *ctx,
                         uint8_t (*out)[32], size_t *n)
{
    if (index >= size)
        return TT_EINVAL;

    /* RFC 9162 2.1.3.1: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) when m < k, else
     * PATH(m - k, D[k:n]) : MTH(D[0:k]). Walking down from the root finds the siblings
     * top first; the proof lists them bottom first. Only the first right sibling can end
     * at the tree's right edge and be imperfect; every other one is a single stored node. */
    uint8_t top_down[TTI_MAX_PROOF][32];
    size_t count = 0;
    uint64_t lo = 0, hi = size;
    while (hi - lo > 1) {
        uint64_t k = split_point(hi - lo);
        int rc;
        if (index < lo + k) {
            rc = range_root(lo + k, hi, f, ctx, top_down[count]);
            hi = lo + k;
        } else {
            rc = range_root(lo, lo + k, f, ctx, top_down[count]);
            lo += k;
        }
        if (rc != TT_OK)
            return rc;
        count++;
    }
    for (size_t i = 0; i < count; i++)
        memcpy(out[i], top_down[count - 1 - i], 32);
    *n = count;
    return TT_OK;
}

int tti_merkle_consistency(uint64_t m, uint64_t n, tti_node_fetch f, void *ctx, uint8_t (*out)[32],
                           size_t *nout)
{
    if (m == 0 || m > n)
        return TT_EINVAL;

    /* RFC 9162 2.1.4.1: PROOF(m, D[n]) = SUBPROOF(m, D[n], true), with
     *   SUBPROOF(m, D[m], true) = {}, SUBPROOF(m, D[m], false) = {MTH(D[m])},
     *   SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])           if m <= k,
     *                        = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])   if m > k.
     * Walking down collects the appended hashes outermost first; the proof is the base
     * case's hash (if any) followed by them innermost first. */
    uint8_t top_down[TTI_MAX_PROOF][32];
    uint8_t base[32];
    size_t count = 0;
    int have_base = 0;
    int b = 1;
    uint64_t lo = 0, hi = n;
    while (m != hi) {
        uint64_t k = split_point(hi - lo);
        int rc;
        if (m <= lo + k) {
            rc = range_root(lo + k, hi, f, ctx, top_down[count]);
            hi = lo + k;
        } else {
            rc = range_root(lo, lo + k, f, ctx, top_down[count]);
            lo += k;
            b = 0;
        }
        if (rc != TT_OK)
            return rc;
        count++;
    }
    if (!b) {
        int rc = range_root(lo, hi, f, ctx, base);
        if (rc != TT_OK)
            return rc;
        have_base = 1;
    }

    size_t j = 0;
    if (have_base)
        memcpy(out[j++], base, 32);
    for (size_t i = 0; i < count; i++)
        memcpy(out[j++], top_down[count - 1 - i], 32);
    *nout = j;
    return TT_OK;
}

/* ---------------------------------------------------------------------------------------
 * Verification
 * ------------------------------------------------------------------------------------- */

/*
 * RFC 9162 2.1.3.2 steps 2-5 with fn = leaf_index, sn = tree_size - 1 already set: chain
 * the proof from `seed` and return 1 when the iteration ends at sn == 0, writing the
 * computed root to out. Shared by RFC 9162 inclusion and MTC subtree inclusion (draft
 * 4.3.2, which is the same procedure over D[start:end]).
 */
static int chain_inclusion(uint64_t fn, uint64_t sn, const uint8_t seed[32],
                           const uint8_t (*path)[32], size_t n, uint8_t out[32])
{
    uint8_t r[32];
    memcpy(r, seed, 32);
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            return 0;
        if ((fn & 1) || fn == sn) {
            tti_hash_node(path[i], r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            tti_hash_node(r, path[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return 0;
    memcpy(out, r, 32);
    return 1;
}

TT_EXPORT int tt_proof_verify_inclusion(int64_t leaf_index, int64_t tree_size,
                                        const uint8_t leaf_hash[TT_HASH_SIZE],
                                        const uint8_t (*hashes)[TT_HASH_SIZE], size_t n_hashes,
                                        const uint8_t root[TT_HASH_SIZE])
{
    /* RFC 9162 2.1.3.2 step 1. */
    if (leaf_index < 0 || tree_size <= 0 || leaf_index >= tree_size)
        return TT_EINVAL;
    if (leaf_hash == NULL || root == NULL || (hashes == NULL && n_hashes > 0))
        return TT_EINVAL;

    uint8_t r[32];
    if (!chain_inclusion((uint64_t)leaf_index, (uint64_t)tree_size - 1, leaf_hash, hashes, n_hashes,
                         r))
        return TT_ETAMPERED;
    /* WARNING: constant-time comparison of digests. */
    return tti_ct_equal(r, root, 32) ? TT_OK : TT_ETAMPERED;
}

TT_EXPORT int tt_proof_verify_consistency(int64_t first, int64_t second,
                                          const uint8_t first_root[TT_HASH_SIZE],
                                          const uint8_t second_root[TT_HASH_SIZE],
                                          const uint8_t (*hashes)[TT_HASH_SIZE], size_t n_hashes)
{
    /* A proof from the empty tree proves nothing (RFC 9162 2.1.4 needs 0 < first). */
    if (first <= 0 || second < first)
        return TT_EINVAL;
    if (first_root == NULL || second_root == NULL || (hashes == NULL && n_hashes > 0))
        return TT_EINVAL;

    /* Equal sizes: PROOF(m, D[m]) is empty and the two roots must be the same. */
    if (first == second) {
        if (n_hashes != 0)
            return TT_ETAMPERED;
        return tti_ct_equal(first_root, second_root, 32) ? TT_OK : TT_ETAMPERED;
    }

    /* RFC 9162 2.1.4.2 step 1. */
    if (n_hashes == 0)
        return TT_ETAMPERED;

    uint64_t fn = (uint64_t)first - 1;
    uint64_t sn = (uint64_t)second - 1;

    /* Step 2: when first is a power of two its root is the proof's implicit first value;
     * `next` indexes the hash that follows the seed. */
    const uint8_t *seed;
    size_t next;
    if ((fn & (uint64_t)first) == 0) {
        seed = first_root;
        next = 0;
    } else {
        seed = hashes[0];
        next = 1;
    }

    /* Steps 3-4. */
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }

    /* Steps 5-6. */
    uint8_t fr[32], sr[32];
    memcpy(fr, seed, 32);
    memcpy(sr, seed, 32);
    for (size_t i = next; i < n_hashes; i++) {
        const uint8_t *c = hashes[i];
        if (sn == 0)
            return TT_ETAMPERED;
        if ((fn & 1) || fn == sn) {
            tti_hash_node(c, fr, fr);
            tti_hash_node(c, sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            tti_hash_node(sr, c, sr);
        }
        fn >>= 1;
        sn >>= 1;
    }

    /* Step 7. WARNING: constant-time comparison of digests; both are compared so the
     * time does not say which root failed. */
    int ok = tti_ct_equal(fr, first_root, 32);
    ok &= tti_ct_equal(sr, second_root, 32);
    return (ok && sn == 0) ? TT_OK : TT_ETAMPERED;
}

int tti_merkle_verify_subtree_inclusion(uint64_t index, uint64_t start, uint64_t end,
                                        const uint8_t entry_hash[32], const uint8_t (*proof)[32],
                                        size_t n, const uint8_t subtree_hash[32])
{
    /* draft-ietf-plants-merkle-tree-certs 4.3.2 step 1. An empty subtree contains no
     * entry, so start < end follows from start <= index < end. */
    if (!is_subtree(start, end) || index < start || index >= end)
        return TT_EINVAL;
    if (proof == NULL && n > 0)
        return TT_EINVAL;

    /* Steps 2-6: RFC 9162 2.1.3.2 with leaf_index = index - start and
     * tree_size = end - start. Then 4.3.3: compare with the subtree hash. */
    uint8_t r[32];
    if (!chain_inclusion(index - start, end - start - 1, entry_hash, proof, n, r))
        return TT_ETAMPERED;
    return tti_ct_equal(r, subtree_hash, 32) ? TT_OK : TT_ETAMPERED;
}

int tti_merkle_verify_subtree_consistency(uint64_t start, uint64_t end, uint64_t size,
                                          const uint8_t node_hash[32], const uint8_t root_hash[32],
                                          const uint8_t (*proof)[32], size_t n)
{
    /* draft-ietf-plants-merkle-tree-certs 4.4.3 step 1. */
    if (!is_subtree(start, end) || end > size)
        return TT_EINVAL;
    if (proof == NULL && n > 0)
        return TT_EINVAL;

    /* Step 2: the empty subtree is consistent with every tree; its hash is HASH(). */
    if (start == end) {
        uint8_t empty[32];
        tti_sha256(NULL, 0, NULL, 0, NULL, 0, empty);
        return (n == 0 && tti_ct_equal(node_hash, empty, 32)) ? TT_OK : TT_ETAMPERED;
    }

    /* Step 3. fn, sn and tn are the paths to the subtree's first and last leaves and to
     * the tree's last leaf; shifting all three moves up one level. */
    uint64_t fn = start, sn = end - 1, tn = size - 1;

    /* Steps 4-5: skip to the highest node of the subtree's right edge that is also a node
     * of the full tree. */
    if (sn == tn) {
        while (fn != sn) {
            fn >>= 1;
            sn >>= 1;
            tn >>= 1;
        }
    } else {
        while (fn != sn && (sn & 1)) {
            fn >>= 1;
            sn >>= 1;
            tn >>= 1;
        }
    }

    /* Steps 6-7: that node is the subtree itself (and then known to the verifier) or the
     * proof's first value. */
    uint8_t fr[32], sr[32];
    size_t i = 0;
    if (fn == sn) {
        memcpy(fr, node_hash, 32);
    } else {
        if (n == 0)
            return TT_ETAMPERED;
        memcpy(fr, proof[0], 32);
        i = 1;
    }
    memcpy(sr, fr, 32);

    /* Step 8. */
    for (; i < n; i++) {
        const uint8_t *c = proof[i];
        if (tn == 0)
            return TT_ETAMPERED;
        if ((sn & 1) || sn == tn) {
            if (fn < sn)
                tti_hash_node(c, fr, fr);
            tti_hash_node(c, sr, sr);
            while (!(sn & 1) && sn != 0) {
                fn >>= 1;
                sn >>= 1;
                tn >>= 1;
            }
        } else {
            tti_hash_node(sr, c, sr);
        }
        fn >>= 1;
        sn >>= 1;
        tn >>= 1;
    }

    /* Step 9. WARNING: constant-time comparison of digests. */
    int ok = tti_ct_equal(fr, node_hash, 32);
    ok &= tti_ct_equal(sr, root_hash, 32);
    return (ok && tn == 0) ? TT_OK : TT_ETAMPERED;
}

/* ---------------------------------------------------------------------------------------
 * Hashing entry points
 * ------------------------------------------------------------------------------------- */

TT_EXPORT int tt_merkle_root(const uint8_t (*leaf_hashes)[TT_HASH_SIZE], size_t n,
                             uint8_t root[TT_HASH_SIZE])
{
    if (root == NULL || (leaf_hashes == NULL && n > 0))
        return TT_EINVAL;
    tti_crange r;
    tti_crange_init(&r);
    for (size_t i = 0; i < n; i++)
        tti_crange_append(&r, leaf_hashes[i], NULL, NULL);
    tti_crange_root(&r, root);
    return TT_OK;
}

TT_EXPORT void tt_leaf_hash(const uint8_t *data, size_t len, uint8_t out[TT_HASH_SIZE])
{
    /* RFC 9162 2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)). */
    tti_hash_leaf(data, len, out);
}
