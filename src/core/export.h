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
#define TTI_EXPORT_COLUMNS 14            /* the members every exported event has */
#define TTI_EXPORT_CSV_COLUMNS 16        /* CSV: those, then producer and producer_seq (SPEC 15) */

/* The column names of a CSV export in the order it writes them (its header row without the
 * CRLF); the first TTI_EXPORT_COLUMNS are every exported event's JSON members too. */
extern const char *const tti_export_columns[TTI_EXPORT_CSV_COLUMNS];

/* The CSV header row with its CRLF, for the first bytes of a CSV file. */
int tti_export_header(tt_export_format f, tti_buf *out);

/* Append one event as a JSON line (LF) or a CSV record (CRLF). -1 when out of memory. */
int tti_export_record(tt_export_format f, const tt_event *ev, tti_buf *out);

/* One parsed record: the event (strings point into owner), and its stated leaf hash. */
typedef struct tti_export_rec {
    tt_event ev;
    void *owner;
} tti_export_rec;

/* Parse one JSON line (without its LF) into rec; free with tti_export_rec_clear. TT_EPARSE
 * with a message naming the field. */
int tti_export_parse_jsonl(const char *line, size_t len, tti_export_rec *rec, char *err,
                           size_t errlen);

/* A CSV field as read: text (NUL-terminated copy) and whether it was quoted. */
typedef struct tti_csv_field {
    char *text;
    size_t len;
    int quoted;
} tti_csv_field;

/* Where each of tti_export_columns sits in a CSV file's records, as its header row says.
 * CSV exports written before producer and producer_seq existed have only the first 14
 * columns, so a reader goes by the header's names, never by position (FORMAT.md 8.2). */
typedef struct tti_csv_layout {
    size_t n;                        /* fields in every record */
    int pos[TTI_EXPORT_CSV_COLUMNS]; /* the field holding column i; -1 when absent */
} tti_csv_layout;

/* Read a header row's fields into *out: each a known column name, unquoted, at most once;
 * the first 14 required, producer and producer_seq both or neither. TT_EPARSE with a
 * message naming the column. */
int tti_export_csv_layout(const tti_csv_field *fields, size_t n, tti_csv_layout *out, char *err,
                          size_t errlen);

/* Parse one CSV record (its fields as the verifier's reader split it, without the CRLF) of
 * a file whose header gave lay into rec; the strings stay in fields. TT_EPARSE with a
 * message naming the field. */
int tti_export_parse_csv(const tti_csv_layout *lay, const tti_csv_field *fields, size_t n,
                         tti_export_rec *rec, char *err, size_t errlen);
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

/* The members both manifests end with (docs/FORMAT.md 8.3 and 9.2): "checkpoint"
 * {tree_size, root_hash, note} and "proof" {first, end, hashes: n hashes of TT_HASH_SIZE
 * bytes, back to back}. */
void tti_manifest_write_proof(tti_jw *w, int64_t tree_size, const uint8_t root[TT_HASH_SIZE],
                              const char *note, int64_t first, int64_t end, const uint8_t *hashes,
                              size_t n);

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
