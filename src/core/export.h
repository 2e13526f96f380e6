/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The export format of docs/FORMAT.md section 8, in one place: how an event is written as
 * a JSON line or a CSV record and read back, and the manifest as a C struct, written and
 * parsed. The exporter (src/jobs/export.c) and the offline verifier (export_verify.c) both
 * use it, so they cannot disagree on a byte.
 */
#ifndef TT_CORE_EXPORT_H
#define TT_CORE_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "tradetrail.h"
#include "util/buf.h"

#define TTI_EXPORT_FORMAT_NAME "tradetrail-export"
#define TTI_EXPORT_VERSION 1
#define TTI_EXPORT_MAX_FILES 100000
#define TTI_EXPORT_MAX_RECORD (1u << 20) /* one JSON line or CSV record, bytes */
#define TTI_EXPORT_COLUMNS 14

/* The header row of a CSV export (without its CRLF) and its column names in order. */
extern const char *const tti_export_columns[TTI_EXPORT_COLUMNS];

/* The CSV header row with its CRLF, for the first bytes of a CSV file. */
int tti_export_header(tt_export_format f, tti_buf *out);

/* Append one event as a JSON line (LF) or a CSV record (CRLF). -1 when out of memory. */
int tti_export_record(tt_export_format f, const tt_event *ev, tti_buf *out);

/* One parsed record: the event (strings point into owner), and its stated leaf hash. */
typedef struct tti_export_rec {
    tt_event ev;
    void *owner;
} tti_export_rec;

/* Parse one record's bytes (a JSON line without its LF; a CSV record without its CRLF as
 * tti_csv_fields split it) into rec; free with tti_export_rec_clear. TT_EPARSE with a
 * message naming the field. */
int tti_export_parse_jsonl(const char *line, size_t len, tti_export_rec *rec, char *err,
                           size_t errlen);

/* A CSV field as read: text (NUL-terminated copy) and whether it was quoted. */
typedef struct tti_csv_field {
    char *text;
    size_t len;
    int quoted;
} tti_csv_field;

int tti_export_parse_csv(tti_csv_field *fields, size_t n, tti_export_rec *rec, char *err,
                         size_t errlen);
void tti_export_rec_clear(tti_export_rec *rec);

typedef struct tti_export_file {
    char *name;
    int64_t first_seq, last_seq, count, bytes;
    uint8_t sha256[TT_HASH_SIZE];
} tti_export_file;

typedef struct tti_manifest {
    char *origin;
    tt_export_format format;
    int64_t since_us, until_us; /* TT_TIME_NONE when open */
    int64_t tree_size;          /* the snapshot: seqs <= tree_size were considered */
    int64_t first_seq, last_seq, count;
    tti_export_file *files;
    size_t n_files;
    uint8_t *before, *after; /* boundary leaf bytes, NULL when none */
    size_t before_len, after_len;
    int64_t cp_tree_size;
    uint8_t cp_root[TT_HASH_SIZE];
    char *note;
    int64_t proof_first, proof_end; /* leaf indexes [first, end) the proof leaves open */
    uint8_t (*hashes)[TT_HASH_SIZE];
    size_t n_hashes;
} tti_manifest;

/* The manifest as JSON text (caller frees), NULL when out of memory. */
char *tti_manifest_to_json(const tti_manifest *m);

/* Parse a manifest; strict (unknown or missing members, wrong types, bad hex, unsafe
 * file names refused). TT_EPARSE / TT_ENOMEM; clear with tti_manifest_clear. */
int tti_manifest_parse(const char *json, size_t len, tti_manifest *out, char *err, size_t errlen);
void tti_manifest_clear(tti_manifest *m);

/* The leaf hashes a verifier computes versus the proof's: [lo, hi) as a function of the
 * range and its boundaries (docs/FORMAT.md 8.4). */
void tti_manifest_proof_range(const tti_manifest *m, int64_t *lo, int64_t *hi);

/* A leaf's version, seq and ts read from its bytes; -1 when too short or unknown. */
int tti_leaf_peek(const uint8_t *leaf, size_t len, int64_t *seq, int64_t *ts_us);

#endif
