/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RFC 6962 / RFC 9162 Merkle tree: a compact range (the right edge of a tree, O(log n)
 * hashes) for appending, proof generation over a fetcher of stored perfect-subtree hashes,
 * and root computation. The public verification functions live in merkle.c too.
 */
#ifndef TT_CORE_MERKLE_H
#define TT_CORE_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define TTI_MAX_PROOF 64

/* The roots of the perfect subtrees that make up a tree of `size` leaves, largest (left)
 * first: one per set bit of size. */
typedef struct tti_crange {
    uint64_t size;
    unsigned n;
    uint8_t hashes[64][32];
} tti_crange;

/* Called for every node that becomes complete while appending: height 0 is the leaf
 * itself; index is the node's position among nodes of that height (leaf index >> height). */
typedef void (*tti_node_cb)(void *ctx, unsigned height, uint64_t index, const uint8_t hash[32]);

void tti_crange_init(tti_crange *r);

/* Append one leaf hash; cb (may be NULL) sees every completed node, bottom up. */
void tti_crange_append(tti_crange *r, const uint8_t leaf[32], tti_node_cb cb, void *ctx);

/* As tti_crange_append, with the parent hashes the append completes already computed
 * (tti_crange_merges of them, bottom up, as tti_crange_append's cb saw them above height 0
 * on a copy of r): verify hashes on one thread and checks on another. */
void tti_crange_append_known(tti_crange *r, const uint8_t leaf[32], const uint8_t (*parents)[32],
                             tti_node_cb cb, void *ctx);

/* How many parents the next append completes (the trailing one bits of the size). */
unsigned tti_crange_merges(const tti_crange *r);

/* The root of the tree the range describes (SHA-256 of nothing when empty). */
void tti_crange_root(const tti_crange *r, uint8_t out[32]);

/* Fetch the hash of the perfect subtree of the given height and index (covering leaves
 * [index << height, (index + 1) << height)). Returns 0 (TT_OK) or a tt_status. */
typedef int (*tti_node_fetch)(void *ctx, unsigned height, uint64_t index, uint8_t out[32]);

/* Build the compact range of a tree of `size` leaves from stored nodes. */
int tti_crange_from_fetch(uint64_t size, tti_node_fetch f, void *ctx, tti_crange *out);

/* MTH(D[begin:end]) of RFC 9162 2.1.1 for end > begin, from stored nodes. */
int tti_merkle_range_root(uint64_t begin, uint64_t end, tti_node_fetch f, void *ctx,
                          uint8_t out[32]);

/* Inclusion proof PATH(index, D[size]) (RFC 9162 2.1.3.1); out holds TTI_MAX_PROOF. */
int tti_merkle_inclusion(uint64_t index, uint64_t size, tti_node_fetch f, void *ctx,
                         uint8_t (*out)[32], size_t *n);

/* Consistency proof PROOF(m, D[n]) (RFC 9162 2.1.4.1) for 0 < m <= n. */
int tti_merkle_consistency(uint64_t m, uint64_t n, tti_node_fetch f, void *ctx, uint8_t (*out)[32],
                           size_t *nout);

/* Subtrees [start, end) of draft-ietf-plants-merkle-tree-certs section 4 (Merkle Tree
 * Certificates): the tree over D[start:end], valid when start <= end and start is a
 * multiple of BIT_CEIL(end - start). Both return TT_OK, TT_ETAMPERED when the proof does
 * not verify, or TT_EINVAL for an invalid subtree or an index / size outside it. */

/* Verify a subtree inclusion proof of entry `index` in [start, end) with hash subtree_hash
 * (draft section 4.3.3). */
int tti_merkle_verify_subtree_inclusion(uint64_t index, uint64_t start, uint64_t end,
                                        const uint8_t entry_hash[32], const uint8_t (*proof)[32],
                                        size_t n, const uint8_t subtree_hash[32]);

/* Verify a subtree consistency proof of [start, end) with hash node_hash against the tree of
 * `size` leaves with hash root_hash (draft section 4.4.3). */
int tti_merkle_verify_subtree_consistency(uint64_t start, uint64_t end, uint64_t size,
                                          const uint8_t node_hash[32], const uint8_t root_hash[32],
                                          const uint8_t (*proof)[32], size_t n);

#endif
