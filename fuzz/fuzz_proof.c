/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the Merkle proof verifiers (tt_proof_verify_inclusion and
 * _consistency, RFC 9162 2.1.3.2 and 2.1.4.2; the Merkle Tree Certificates subtree
 * verifiers) and, in passing, the proof generators. The first byte picks a mode:
 *   0, 1  sizes, indexes, hashes and roots straight from the input (optionally the root a
 *         naive verifier computes, so that valid shapes reach TT_OK): the library must
 *         answer exactly as a naive recursive verifier written from the RFC's definitions
 *         of PATH and PROOF;
 *   2     the subtree verifiers on raw input: no crash, TT_EINVAL exactly for invalid
 *         ranges, and subtree inclusion equal to inclusion in the shifted tree;
 *   3     a tree built from the input: proofs made naively verify, the library's own
 *         generators give the same proofs, and any flipped bit, dropped hash or other
 *         index is refused.
 */
#include "fuzz.h"

#include "tradetrail.h"
#include "core/crypto.h"
#include "core/merkle.h"

#define MAX_HASHES 70 /* a few more than any valid proof holds */
#define MAX_LEAVES 128

typedef uint8_t hash_t[32];

static int eq(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, 32) == 0;
}

/* The largest power of two strictly below n (n >= 2), by counting rather than bit tricks. */
static uint64_t split(uint64_t n)
{
    uint64_t k = 1;
    while (k <= (n - 1) / 2)
        k <<= 1;
    return k;
}

/* ---- Naive verifiers: the recursive definitions, consuming the proof from its end ---- */

/* RFC 9162 2.1.3.1: PATH(m, D[n]) ends with the sibling at the top; rebuild the root. */
static int naive_inclusion(uint64_t m, uint64_t n, const uint8_t leaf[32], const hash_t *p,
                           size_t len, uint8_t out[32])
{
    if (n == 1) {
        memcpy(out, leaf, 32);
        return len == 0;
    }
    if (len == 0)
        return 0;
    uint64_t k = split(n);
    uint8_t sub[32];
    if (m < k) {
        if (!naive_inclusion(m, k, leaf, p, len - 1, sub))
            return 0;
        tti_hash_node(sub, p[len - 1], out);
    } else {
        if (!naive_inclusion(m - k, n - k, leaf, p, len - 1, sub))
            return 0;
        tti_hash_node(p[len - 1], sub, out);
    }
    return 1;
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b): the roots of D[0:m] (old) and D[0:n] (new). */
static int naive_subproof(uint64_t m, uint64_t n, int b, const uint8_t first_root[32],
                          const hash_t *p, size_t len, uint8_t old[32], uint8_t new_root[32])
{
    if (m == n) {
        const uint8_t *h = b ? first_root : p[0];
        if (len != (b ? 0u : 1u))
            return 0;
        memcpy(old, h, 32);
        memcpy(new_root, h, 32);
        return 1;
    }
    if (len == 0)
        return 0;
    uint64_t k = split(n);
    const uint8_t *last = p[len - 1];
    uint8_t o[32], nw[32];
    if (m <= k) {
        if (!naive_subproof(m, k, b, first_root, p, len - 1, o, nw))
            return 0;
        memcpy(old, o, 32);
        tti_hash_node(nw, last, new_root);
    } else {
        if (!naive_subproof(m - k, n - k, 0, first_root, p, len - 1, o, nw))
            return 0;
        tti_hash_node(last, o, old);
        tti_hash_node(last, nw, new_root);
    }
    return 1;
}

/* ---- Modes 0 and 1: raw input against the naive verifiers ---------------------------- */

static void raw_inclusion(fuzz_reader *r)
{
    int64_t index = (int64_t)fuzz_u64(r), size = (int64_t)fuzz_u64(r);
    uint8_t flags = fuzz_u8(r), leaf[32], root[32], naive[32];
    size_t n = fuzz_u8(r) % MAX_HASHES;
    hash_t hashes[MAX_HASHES];
    fuzz_bytes(r, leaf, 32);
    fuzz_bytes(r, root, 32);
    fuzz_bytes(r, (uint8_t *)hashes, n * 32);

    int rc = tt_proof_verify_inclusion(index, size, leaf, n ? hashes : NULL, n, root);
    if (index < 0 || size <= 0 || index >= size) {
        FUZZ_CHECK(rc == TT_EINVAL);
        return;
    }
    int shape = naive_inclusion((uint64_t)index, (uint64_t)size, leaf, hashes, n, naive);
    FUZZ_CHECK(rc == TT_OK || rc == TT_ETAMPERED);
    FUZZ_CHECK((rc == TT_OK) == (shape && eq(naive, root)));
    if (shape && (flags & 1)) {
        /* The root the proof implies: accepted exactly when the shape is right. */
        rc = tt_proof_verify_inclusion(index, size, leaf, hashes, n, naive);
        FUZZ_CHECK(rc == TT_OK);
    }
}

static void raw_consistency(fuzz_reader *r)
{
    int64_t first = (int64_t)fuzz_u64(r), second = (int64_t)fuzz_u64(r);
    uint8_t flags = fuzz_u8(r), r1[32], r2[32], old[32], nw[32];
    size_t n = fuzz_u8(r) % MAX_HASHES;
    hash_t hashes[MAX_HASHES];
    fuzz_bytes(r, r1, 32);
    fuzz_bytes(r, r2, 32);
    fuzz_bytes(r, (uint8_t *)hashes, n * 32);

    int rc = tt_proof_verify_consistency(first, second, r1, r2, n ? hashes : NULL, n);
    if (first <= 0 || second < first) {
        FUZZ_CHECK(rc == TT_EINVAL);
        return;
    }
    int shape = naive_subproof((uint64_t)first, (uint64_t)second, 1, r1, hashes, n, old, nw);
    FUZZ_CHECK(rc == TT_OK || rc == TT_ETAMPERED);
    FUZZ_CHECK((rc == TT_OK) == (shape && eq(old, r1) && eq(nw, r2)));
    if (shape && (flags & 1)) {
        /* The roots the proof implies (first_root is only an input when first is a power
         * of two, and then it is its own old root). */
        rc = tt_proof_verify_consistency(first, second, old, nw, hashes, n);
        FUZZ_CHECK(rc == TT_OK);
    }
}

/* ---- Mode 2: the Merkle Tree Certificates subtree verifiers on raw input ------------- */

/* draft-ietf-plants-merkle-tree-certs 4.1, in 128-bit arithmetic so BIT_CEIL cannot wrap. */
static int naive_is_subtree(uint64_t start, uint64_t end)
{
    if (start > end)
        return 0;
    unsigned __int128 ceil = 1;
    while (ceil < end - start)
        ceil <<= 1;
    return start % ceil == 0;
}

static void raw_subtree(fuzz_reader *r)
{
    uint64_t index = fuzz_u64(r), start = fuzz_u64(r), end = fuzz_u64(r), size = fuzz_u64(r);
    uint8_t a[32], b[32];
    size_t n = fuzz_u8(r) % MAX_HASHES;
    hash_t hashes[MAX_HASHES];
    fuzz_bytes(r, a, 32);
    fuzz_bytes(r, b, 32);
    fuzz_bytes(r, (uint8_t *)hashes, n * 32);

    int rc = tti_merkle_verify_subtree_inclusion(index, start, end, a, hashes, n, b);
    int valid = naive_is_subtree(start, end) && index >= start && index < end;
    FUZZ_CHECK(valid ? rc == TT_OK || rc == TT_ETAMPERED : rc == TT_EINVAL);
    if (valid && end - start <= INT64_MAX)
        FUZZ_CHECK(rc == tt_proof_verify_inclusion((int64_t)(index - start), (int64_t)(end - start),
                                                   a, hashes, n, b));

    rc = tti_merkle_verify_subtree_consistency(start, end, size, a, b, hashes, n);
    valid = naive_is_subtree(start, end) && end <= size;
    FUZZ_CHECK(valid ? rc == TT_OK || rc == TT_ETAMPERED : rc == TT_EINVAL);
}

/* ---- Mode 3: a real tree ----------------------------------------------------------- */

typedef struct tree {
    hash_t leaves[MAX_LEAVES];
    uint64_t n;
    uint64_t limit; /* the generator under test may only fetch nodes below this */
} tree;

/* RFC 9162 2.1.1: MTH(D[lo:hi]), hi > lo. */
static void mth(const tree *t, uint64_t lo, uint64_t hi, uint8_t out[32])
{
    if (hi - lo == 1) {
        memcpy(out, t->leaves[lo], 32);
        return;
    }
    uint64_t k = split(hi - lo);
    uint8_t l[32], r[32];
    mth(t, lo, lo + k, l);
    mth(t, lo + k, hi, r);
    tti_hash_node(l, r, out);
}

/* RFC 9162 2.1.3.1 PATH(m, D[lo:hi]), m relative to lo, appended bottom first. */
static void naive_path(const tree *t, uint64_t m, uint64_t lo, uint64_t hi, hash_t *out,
                       size_t *len)
{
    if (hi - lo == 1)
        return;
    uint64_t k = split(hi - lo);
    if (m < k) {
        naive_path(t, m, lo, lo + k, out, len);
        mth(t, lo + k, hi, out[(*len)++]);
    } else {
        naive_path(t, m - k, lo + k, hi, out, len);
        mth(t, lo, lo + k, out[(*len)++]);
    }
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[lo:hi], b). */
static void naive_proof(const tree *t, uint64_t m, uint64_t lo, uint64_t hi, int b, hash_t *out,
                        size_t *len)
{
    if (m == hi - lo) {
        if (!b)
            mth(t, lo, hi, out[(*len)++]);
        return;
    }
    uint64_t k = split(hi - lo);
    if (m <= k) {
        naive_proof(t, m, lo, lo + k, b, out, len);
        mth(t, lo + k, hi, out[(*len)++]);
    } else {
        naive_proof(t, m - k, lo + k, hi, 0, out, len);
        mth(t, lo, lo + k, out[(*len)++]);
    }
}

/* tti_node_fetch over the naive tree; fetching outside [0, limit) is a generator bug. */
static int fetch(void *ctx, unsigned height, uint64_t index, uint8_t out[32])
{
    const tree *t = ctx;
    FUZZ_CHECK(height < 64 && index < (t->limit >> height));
    mth(t, index << height, (index + 1) << height, out);
    return TT_OK;
}

static void flip(uint8_t *h, uint8_t bit)
{
    h[(bit >> 3) % 32] ^= (uint8_t)(1u << (bit & 7));
}

static void tree_inclusion(tree *t, fuzz_reader *r, const uint8_t root[32])
{
    uint64_t n = t->n, index = fuzz_u8(r) % n;
    uint8_t bit = fuzz_u8(r), pick = fuzz_u8(r), got[32];
    hash_t path[MAX_HASHES], gen[TTI_MAX_PROOF];
    size_t len = 0, ngen = 0;
    naive_path(t, index, 0, n, path, &len);
    const uint8_t *leaf = t->leaves[index];
    FUZZ_CHECK(tt_proof_verify_inclusion((int64_t)index, (int64_t)n, leaf, path, len, root) ==
               TT_OK);
    FUZZ_CHECK(naive_inclusion(index, n, leaf, path, len, got) && eq(got, root));

    t->limit = n;
    FUZZ_CHECK(tti_merkle_inclusion(index, n, fetch, t, gen, &ngen) == TT_OK);
    FUZZ_CHECK(ngen == len && memcmp(gen, path, len * 32) == 0);

    /* Tampering of any kind is refused. */
    uint8_t bad[32];
    memcpy(bad, root, 32);
    flip(bad, bit);
    FUZZ_CHECK(tt_proof_verify_inclusion((int64_t)index, (int64_t)n, leaf, path, len, bad) ==
               TT_ETAMPERED);
    memcpy(bad, leaf, 32);
    flip(bad, bit);
    FUZZ_CHECK(tt_proof_verify_inclusion((int64_t)index, (int64_t)n, bad, path, len, root) ==
               TT_ETAMPERED);
    if (len > 0) {
        size_t j = pick % len;
        flip(path[j], bit);
        FUZZ_CHECK(tt_proof_verify_inclusion((int64_t)index, (int64_t)n, leaf, path, len, root) ==
                   TT_ETAMPERED);
        flip(path[j], bit);
        FUZZ_CHECK(tt_proof_verify_inclusion((int64_t)index, (int64_t)n, leaf, path, len - 1,
                                             root) == TT_ETAMPERED);
    }
    memcpy(path[len], root, 32); /* one hash too many */
    FUZZ_CHECK(tt_proof_verify_inclusion((int64_t)index, (int64_t)n, leaf, path, len + 1, root) ==
               TT_ETAMPERED);
    if (n > 1) {
        uint64_t other = (index + 1 + pick % (n - 1)) % n;
        FUZZ_CHECK(tt_proof_verify_inclusion((int64_t)other, (int64_t)n, leaf, path, len, root) !=
                   TT_OK);
    }
}

static void tree_consistency(tree *t, fuzz_reader *r, const uint8_t root[32])
{
    uint64_t n = t->n, m = 1 + fuzz_u8(r) % n;
    uint8_t bit = fuzz_u8(r), pick = fuzz_u8(r), old[32];
    hash_t proof[MAX_HASHES], gen[TTI_MAX_PROOF];
    size_t len = 0, ngen = 0;
    mth(t, 0, m, old);
    naive_proof(t, m, 0, n, 1, proof, &len);
    FUZZ_CHECK(tt_proof_verify_consistency((int64_t)m, (int64_t)n, old, root, proof, len) == TT_OK);

    t->limit = n;
    FUZZ_CHECK(tti_merkle_consistency(m, n, fetch, t, gen, &ngen) == TT_OK);
    FUZZ_CHECK(ngen == len && memcmp(gen, proof, len * 32) == 0);

    /* With start 0, a subtree consistency proof is an RFC 9162 one. */
    FUZZ_CHECK(tti_merkle_verify_subtree_consistency(0, m, n, old, root, proof, len) == TT_OK);

    uint8_t bad[32];
    memcpy(bad, root, 32);
    flip(bad, bit);
    FUZZ_CHECK(tt_proof_verify_consistency((int64_t)m, (int64_t)n, old, bad, proof, len) ==
               TT_ETAMPERED);
    memcpy(bad, old, 32);
    flip(bad, bit);
    FUZZ_CHECK(tt_proof_verify_consistency((int64_t)m, (int64_t)n, bad, root, proof, len) ==
               TT_ETAMPERED);
    if (len > 0) {
        size_t j = pick % len;
        flip(proof[j], bit);
        FUZZ_CHECK(tt_proof_verify_consistency((int64_t)m, (int64_t)n, old, root, proof, len) ==
                   TT_ETAMPERED);
        flip(proof[j], bit);
        FUZZ_CHECK(tt_proof_verify_consistency((int64_t)m, (int64_t)n, old, root, proof, len - 1) ==
                   TT_ETAMPERED);
    }
    memcpy(proof[len], root, 32);
    FUZZ_CHECK(tt_proof_verify_consistency((int64_t)m, (int64_t)n, old, root, proof, len + 1) ==
               TT_ETAMPERED);
}

/* An aligned subtree [start, end) of the tree: range root and subtree inclusion. */
static void tree_subtree(tree *t, fuzz_reader *r)
{
    uint64_t len = 1 + fuzz_u8(r) % t->n, ceil = 1;
    while (ceil < len)
        ceil <<= 1;
    uint64_t start = ceil * (fuzz_u8(r) % (t->n / ceil + 1)), end = start + len;
    if (end > t->n)
        return;
    uint64_t index = start + fuzz_u8(r) % len;
    uint8_t want[32], got[32];
    hash_t path[MAX_HASHES];
    size_t npath = 0;
    mth(t, start, end, want);
    t->limit = end;
    FUZZ_CHECK(tti_merkle_range_root(start, end, fetch, t, got) == TT_OK && eq(got, want));
    naive_path(t, index - start, start, end, path, &npath);
    FUZZ_CHECK(tti_merkle_verify_subtree_inclusion(index, start, end, t->leaves[index], path, npath,
                                                   want) == TT_OK);
}

static void real_tree(fuzz_reader *r)
{
    static tree t;
    t.n = 1 + fuzz_u8(r) % MAX_LEAVES;
    for (uint64_t i = 0; i < t.n; i++) {
        /* Distinct leaves: the index is part of each leaf's data. */
        uint8_t data[9] = {(uint8_t)i, 0, 0, 0, 0, 0, 0, 0, fuzz_u8(r)};
        tti_hash_leaf(data, sizeof data, t.leaves[i]);
    }
    uint8_t root[32], got[32];
    mth(&t, 0, t.n, root);
    FUZZ_CHECK(tt_merkle_root((const hash_t *)t.leaves, t.n, got) == TT_OK && eq(got, root));
    tti_crange cr;
    tti_crange_init(&cr);
    for (uint64_t i = 0; i < t.n; i++)
        tti_crange_append(&cr, t.leaves[i], NULL, NULL);
    tti_crange_root(&cr, got);
    FUZZ_CHECK(eq(got, root));

    tree_inclusion(&t, r, root);
    tree_consistency(&t, r, root);
    tree_subtree(&t, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader r = {data, size};
    switch (fuzz_u8(&r) % 4) {
    case 0:
        raw_inclusion(&r);
        break;
    case 1:
        raw_consistency(&r);
        break;
    case 2:
        raw_subtree(&r);
        break;
    default:
        real_tree(&r);
        break;
    }
    return 0;
}
