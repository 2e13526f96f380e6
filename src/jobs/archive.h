/* SPDX-License-Identifier: Apache-2.0 */
/* Archive segments as the other files of src/jobs use them (archive.c; SPEC 8), and the
 * segment manifest as a C struct (archive_manifest.c; docs/FORMAT.md 9.2). */
#ifndef TT_JOBS_ARCHIVE_H
#define TT_JOBS_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"

/* The most events one segment holds: a check keeps their leaf hashes in memory (32 bytes
 * each, 32 MiB at most), so a manifest claiming more is refused before anything is
 * allocated, and retention never writes a larger segment. */
#define TTI_ARCHIVE_MAX_EVENTS 1000000
/* The largest manifest read (a real one is a few KiB: at most TT_RANGE_PROOF_MAX hashes). */
#define TTI_ARCHIVE_MANIFEST_MAX (1u << 20)

/* Check the recorded segment seg in dir: its manifest's signed checkpoint (the ledger's
 * verifier key), the file's size and SHA-256, every line, the range proof, and that all of
 * it is the segment the store recorded. TT_OK, or TT_ETAMPERED / TT_EIO with a message. */
int tti_archive_check(tt_ledger *l, const char *dir, const tti_segment *seg);

/* Whether the unrecorded segment seq first..last in dir (its manifest, its file, or what is
 * left of them) is provably this ledger's: its manifest names this ledger's origin or,
 * without one, its first line holds this ledger's leaf hash of that seq. *ours = 0 for
 * anything else (another ledger's, unreadable); TT_OK, or TT_ENOMEM. */
int tti_archive_leftover_ours(tt_ledger *l, const char *dir, int64_t first, int64_t last,
                              int *ours);

/* A segment manifest's members. Parsed, the strings point into owner. */
typedef struct tti_segment_manifest {
    const char *origin, *file, *note;
    int64_t first_seq, last_seq, count;
    int64_t bytes;                /* of the compressed file */
    uint8_t sha256[TT_HASH_SIZE]; /* of the compressed file */
    int64_t cp_tree_size;
    uint8_t cp_root[TT_HASH_SIZE];
    int64_t proof_first, proof_end; /* first_seq - 1 and last_seq */
    uint8_t hashes[TT_RANGE_PROOF_MAX][TT_HASH_SIZE];
    size_t n_hashes;
    char *owner;
} tti_segment_manifest;

/* The manifest as the indented JSON text written beside a segment (caller frees), NULL when
 * out of memory. */
char *tti_segment_manifest_to_json(const tti_segment_manifest *m);

/*
 * Parse a manifest's text (len bytes, at most TTI_ARCHIVE_MANIFEST_MAX) without looking at
 * any file or key: the members of docs/FORMAT.md 9.2 with their types, 1 <= first_seq <=
 * last_seq, count = last_seq - first_seq + 1 and at most TTI_ARCHIVE_MAX_EVENTS, the proof's
 * first and end, checkpoint.tree_size >= last_seq, at most TT_RANGE_PROOF_MAX proof hashes,
 * the hashes as hex, file without '/'; duplicate members refused, other members ignored.
 * TT_OK and *out (free with tti_segment_manifest_clear), or TT_EPARSE / TT_ENOMEM with a
 * message naming the member in err and *out untouched.
 */
int tti_segment_manifest_parse(const char *text, size_t len, tti_segment_manifest *out, char *err,
                               size_t errlen);
/* Free what a parse allocated; accepts NULL. */
void tti_segment_manifest_clear(tti_segment_manifest *m);

#endif
