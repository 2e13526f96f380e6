/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail verify-export: checks an export directory offline, with no ledger and no
 * database (SPEC 8, docs/FORMAT.md 8.5). Everything is recomputed from the files and the
 * verifier key; the manifest is not trusted beyond what the signed checkpoint proves.
 * Data files are streamed: memory stays O(log n) whatever the export's size.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/export.h"
#include "util/buf.h"

/* A data file read through one buffer, hashed as it is read. */
typedef struct reader {
    FILE *fp;
    tti_sha256_ctx *sha;
    unsigned char buf[64 * 1024];
    size_t pos, len;
    int64_t bytes;
    int eof, error;
} reader;

static int rd_getc(reader *r)
{
    if (r->pos == r->len) {
        if (r->eof)
            return EOF;
        r->len = fread(r->buf, 1, sizeof r->buf, r->fp);
        r->pos = 0;
        if (r->len < sizeof r->buf) {
            r->eof = 1;
            r->error = ferror(r->fp);
        }
        tti_sha256_update(r->sha, r->buf, r->len);
        r->bytes += (int64_t)r->len;
        if (r->len == 0)
            return EOF;
    }
    return r->buf[r->pos++];
}

typedef struct vctx {
    const char *dir;
    const tti_manifest *m;
    tt_export_report *rep;
    tt_progress_fn progress;
    void *pctx;
    /* the leaf source, in seq order: boundary before, the files' events, boundary after */
    int64_t lo, hi, next_index;
    size_t file;  /* index of the open file; n_files when past them */
    int64_t line; /* record number within the file (CSV: 1 is the header) */
    int64_t in_file;
    reader *rd;
    int64_t prev_ts;
    size_t next_hash;
    tti_buf rec;
    tti_csv_field fields[TTI_EXPORT_CSV_COLUMNS + 1];
    size_t nfields;
    tti_csv_layout layout; /* the open CSV file's columns, from its header row */
    int failed;            /* a report was written; stop */
} vctx;

static int fail(vctx *v, int rc, int64_t seq, const char *item, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(vctx *v, int rc, int64_t seq, const char *item, const char *fmt, ...)
{
    if (v->failed)
        return rc;
    v->failed = 1;
    snprintf(v->rep->item, sizeof v->rep->item, "%s", item);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->rep->message, sizeof v->rep->message, fmt, ap);
    va_end(ap);
    v->rep->first_bad_seq = seq;
    return rc;
}

static const char *cur_name(vctx *v)
{
    return v->m->files[v->file].name;
}

static int open_file(vctx *v)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", v->dir, cur_name(v));
    v->rd = calloc(1, sizeof *v->rd);
    if (v->rd == NULL || (v->rd->sha = tti_sha256_new()) == NULL)
        return fail(v, TT_ENOMEM, 0, cur_name(v), "out of memory");
    if ((v->rd->fp = fopen(path, "rb")) == NULL)
        return fail(v, errno == ENOENT ? TT_ETAMPERED : TT_EIO, 0, cur_name(v), "cannot open: %s",
                    strerror(errno));
    v->line = 0;
    v->in_file = 0;
    return TT_OK;
}

static void close_reader(reader *r)
{
    if (r == NULL)
        return;
    if (r->fp)
        fclose(r->fp);
    tti_sha256_free(r->sha);
    free(r);
}

/* One JSON line into v->rec (without the LF). 1 read, 0 end of file, <0 error. */
static int read_line(vctx *v)
{
    tti_buf_reset(&v->rec);
    int c;
    while ((c = rd_getc(v->rd)) != EOF && c != '\n') {
        char ch = (char)c;
        if (tti_buf_add(&v->rec, &ch, 1) != 0)
            return -1;
    }
    if (c == EOF && v->rec.len == 0)
        return 0;
    if (c == EOF) /* FORMAT.md 8.1: every line ends in LF */
        return -2;
    return 1;
}

static void free_fields(vctx *v)
{
    for (size_t i = 0; i < v->nfields; i++)
        free(v->fields[i].text);
    v->nfields = 0;
}

/* One RFC 4180 record (fields split; CRLF ends it outside quotes). 1, 0 at the end, <0. */
static int read_csv(vctx *v)
{
    free_fields(v);
    int c = rd_getc(v->rd);
    if (c == EOF)
        return 0;
    for (;;) {
        if (v->nfields > TTI_EXPORT_CSV_COLUMNS)
            return -2;
        tti_csv_field *f = &v->fields[v->nfields++];
        memset(f, 0, sizeof *f);
        tti_buf_reset(&v->rec);
        if (c == '"') {
            f->quoted = 1;
            for (;;) {
                c = rd_getc(v->rd);
                if (c == EOF)
                    return -2;
                if (c == '"') {
                    c = rd_getc(v->rd);
                    if (c != '"')
                        break;
                }
                char ch = (char)c;
                if (tti_buf_add(&v->rec, &ch, 1) != 0)
                    return -1;
            }
        } else {
            while (c != ',' && c != '\r' && c != EOF) {
                char ch = (char)c;
                if (c == '"' || c == '\n' || tti_buf_add(&v->rec, &ch, 1) != 0)
                    return -2;
                c = rd_getc(v->rd);
            }
        }
        f->len = v->rec.len;
        if ((f->text = malloc(f->len + 1)) == NULL)
            return -1;
        memcpy(f->text, v->rec.len ? v->rec.data : "", f->len);
        f->text[f->len] = '\0';
        if (c == ',') {
            c = rd_getc(v->rd);
            continue;
        }
        if (c == '\r' && rd_getc(v->rd) == '\n')
            return 1;
        return -2; /* FORMAT.md 8.2: every record ends in CRLF */
    }
}

/* Close the current file: its size and SHA-256 against the manifest, its count. */
static int finish_file(vctx *v)
{
    const tti_export_file *f = &v->m->files[v->file];
    uint8_t sha[TT_HASH_SIZE];
    int64_t bytes = v->rd->bytes;
    int err = v->rd->error;
    tti_sha256_final(v->rd->sha, sha);
    v->rd->sha = NULL;
    close_reader(v->rd);
    v->rd = NULL;
    if (err)
        return fail(v, TT_EIO, 0, f->name, "read error");
    if (v->in_file != f->count)
        return fail(v, TT_ETAMPERED, 0, f->name, "holds %lld events, the manifest says %lld",
                    (long long)v->in_file, (long long)f->count);
    if (bytes != f->bytes || !tt_hash_equal(sha, f->sha256))
        return fail(v, TT_ETAMPERED, 0, f->name,
                    "SHA-256 or size does not match the manifest (%lld bytes)", (long long)bytes);
    v->file++;
    return TT_OK;
}

/* A CSV file's header row: which columns its records have, and where (FORMAT.md 8.2). */
static int read_header(vctx *v)
{
    char err[200];
    v->line = 1;
    int r = read_csv(v);
    if (r == -1)
        return fail(v, TT_ENOMEM, 0, cur_name(v), "out of memory");
    if (r == 0)
        return fail(v, TT_ETAMPERED, 0, cur_name(v),
                    "empty, without the header row of FORMAT.md 8.2");
    if (r != 1)
        return fail(v, TT_ETAMPERED, 0, cur_name(v),
                    "line 1: not the header row of FORMAT.md 8.2 (malformed, or more than %d "
                    "columns)",
                    TTI_EXPORT_CSV_COLUMNS);
    if (tti_export_csv_layout(v->fields, v->nfields, &v->layout, err, sizeof err) != TT_OK)
        return fail(v, TT_ETAMPERED, 0, cur_name(v),
                    "line 1: not the header row of FORMAT.md 8.2 (%s)", err);
    return TT_OK;
}

/* The next exported event's leaf hash, with every per-event check. */
static int next_event(vctx *v, int64_t seq, uint8_t out[TT_HASH_SIZE])
{
    char item[300], err[256];
    for (;;) {
        if (v->file >= v->m->n_files)
            return fail(v, TT_ETAMPERED, seq, "files", "seq %lld is missing", (long long)seq);
        int rc;
        if (v->rd == NULL && (rc = open_file(v)) != TT_OK)
            return rc;
        if (v->line == 0 && v->m->format == TT_EXPORT_CSV && (rc = read_header(v)) != TT_OK)
            return rc;
        if (v->in_file == v->m->files[v->file].count) {
            /* this file's events are done: anything more in it is extra */
            int r = v->m->format == TT_EXPORT_CSV ? read_csv(v) : read_line(v);
            if (r != 0)
                return fail(v, TT_ETAMPERED, 0, cur_name(v),
                            "more than the %lld events the manifest lists",
                            (long long)v->m->files[v->file].count);
            if ((rc = finish_file(v)) != TT_OK)
                return rc;
            continue;
        }
        v->line++;
        snprintf(item, sizeof item, "%s line %lld", cur_name(v), (long long)v->line);
        int r = v->m->format == TT_EXPORT_CSV ? read_csv(v) : read_line(v);
        if (r == -1)
            return fail(v, TT_ENOMEM, seq, item, "out of memory");
        if (r == 0)
            return fail(v, TT_ETAMPERED, seq, item, "seq %lld is missing (end of file)",
                        (long long)seq);
        if (r < 0)
            return fail(v, TT_ETAMPERED, seq, item, "malformed record");
        tti_export_rec rec;
        rc = v->m->format == TT_EXPORT_CSV
                 ? tti_export_parse_csv(&v->layout, v->fields, v->nfields, &rec, err, sizeof err)
                 : tti_export_parse_jsonl(v->rec.data, v->rec.len, &rec, err, sizeof err);
        if (rc != TT_OK)
            return fail(v, rc == TT_ENOMEM ? rc : TT_ETAMPERED, seq, item, "%s", err);
        const tt_event *ev = &rec.ev;
        if (ev->seq != seq)
            rc = fail(v, TT_ETAMPERED, seq, item, "seq %lld where %lld was expected",
                      (long long)ev->seq, (long long)seq);
        else if (tt_event_leaf_hash(ev, out) != TT_OK)
            rc = fail(v, TT_ENOMEM, seq, item, "out of memory");
        else if (!tt_hash_equal(out, ev->leaf_hash))
            rc = fail(v, TT_ETAMPERED, seq, item,
                      "seq %lld: the leaf hash does not match the event's fields", (long long)seq);
        else if (ev->ts_us < v->prev_ts)
            rc = fail(v, TT_ETAMPERED, seq, item, "seq %lld: ts decreases", (long long)seq);
        else if ((v->m->since_us != TT_TIME_NONE && ev->ts_us < v->m->since_us) ||
                 (v->m->until_us != TT_TIME_NONE && ev->ts_us >= v->m->until_us))
            rc = fail(v, TT_ETAMPERED, seq, item, "seq %lld: ts outside the export's window",
                      (long long)seq);
        v->prev_ts = ev->ts_us;
        tti_export_rec_clear(&rec);
        if (rc != TT_OK)
            return rc;
        v->in_file++;
        if (v->progress && v->progress(v->pctx, seq - v->m->first_seq + 1, v->m->count))
            return fail(v, TT_EMISUSE, seq, item, "cancelled");
        return TT_OK;
    }
}

/* The leaf hash of leaf index i (the proof range is read strictly in order). */
static int next_leaf(vctx *v, int64_t i, uint8_t out[TT_HASH_SIZE])
{
    if (i != v->next_index)
        return fail(v, TT_ETAMPERED, 0, "proof", "leaves out of order");
    v->next_index++;
    int64_t seq = i + 1;
    if (seq == v->m->first_seq - 1 && v->m->before != NULL) {
        tt_leaf_hash(v->m->before, v->m->before_len, out);
        return TT_OK;
    }
    if (seq == v->m->last_seq + 1 && v->m->after != NULL) {
        tt_leaf_hash(v->m->after, v->m->after_len, out);
        return TT_OK;
    }
    return next_event(v, seq, out);
}

/* MTH(D[l:r]) (RFC 9162 2.1.1) with the leaves of [lo, hi) computed and every subtree
 * outside it taken from the proof, in order (FORMAT.md 8.4). */
static int calc(vctx *v, int64_t l, int64_t r, uint8_t out[TT_HASH_SIZE])
{
    if (r <= v->lo || l >= v->hi) {
        if (v->next_hash == v->m->n_hashes)
            return fail(v, TT_ETAMPERED, 0, "proof", "too few hashes");
        memcpy(out, v->m->hashes[v->next_hash++], TT_HASH_SIZE);
        return TT_OK;
    }
    if (r - l == 1)
        return next_leaf(v, l, out);
    int64_t k = 1;
    while (k << 1 < r - l)
        k <<= 1;
    uint8_t left[TT_HASH_SIZE], right[TT_HASH_SIZE];
    int rc = calc(v, l, l + k, left);
    if (rc == TT_OK)
        rc = calc(v, l + k, r, right);
    if (rc == TT_OK)
        tti_hash_node(left, right, out);
    return rc;
}

static int read_manifest(const char *dir, char **out, size_t *len, tt_export_report *rep)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(rep->item, sizeof rep->item, "manifest.json");
        snprintf(rep->message, sizeof rep->message, "cannot open: %s", strerror(errno));
        return TT_EIO;
    }
    tti_buf b;
    tti_buf_init(&b, TT_EXPORT_MANIFEST_MAX);
    char chunk[16384];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        if (tti_buf_add(&b, chunk, n) != 0)
            break;
    int err = ferror(fp);
    fclose(fp);
    snprintf(rep->item, sizeof rep->item, "manifest.json");
    if (b.failed || err) {
        snprintf(rep->message, sizeof rep->message, "%s",
                 err ? "read error" : "too large or out of memory");
        tti_buf_free(&b);
        return err ? TT_EIO : TT_ETOOBIG;
    }
    *len = b.len;
    *out = tti_buf_take(&b);
    if (*out == NULL) {
        *out = strdup("");
        return *out ? TT_OK : TT_ENOMEM;
    }
    return TT_OK;
}

int tt_export_verify_dir(const char *dir, const char *verifier_key, tt_progress_fn progress,
                         void *ctx, tt_export_report *rep)
{
    tt_export_report scratch;
    if (rep == NULL)
        rep = &scratch;
    memset(rep, 0, sizeof *rep);
    if (dir == NULL || verifier_key == NULL)
        return TT_EMISUSE;
    char *text = NULL, *origin = NULL;
    size_t len = 0;
    tti_manifest m;
    memset(&m, 0, sizeof m);
    vctx v;
    memset(&v, 0, sizeof v);
    v.dir = dir;
    v.m = &m;
    v.rep = rep;
    v.progress = progress;
    v.pctx = ctx;
    v.prev_ts = INT64_MIN;
    tti_buf_init(&v.rec, TTI_EXPORT_MAX_RECORD);
    int rc = read_manifest(dir, &text, &len, rep);
    if (rc != TT_OK)
        goto out;
    if ((rc = tti_manifest_parse(text, len, &m, rep->message, sizeof rep->message)) != TT_OK)
        goto out;
    rep->first_seq = m.first_seq;
    rep->last_seq = m.last_seq;
    rep->count = m.count;
    /* 1. The checkpoint: signed by the key the user trusts, and the manifest's copy of it. */
    int64_t size;
    uint8_t root[TT_HASH_SIZE];
    rc = tt_checkpoint_verify_note(m.note, strlen(m.note), verifier_key, &origin, &size, root);
    if (rc != TT_OK) {
        rc = fail(&v, rc == TT_EPARSE ? TT_EPARSE : TT_EAUTH, 0, "checkpoint.note",
                  rc == TT_EPARSE ? "the signed note or the verifier key is malformed"
                                  : "no valid signature by the verifier key");
        goto out;
    }
    rep->tree_size = size;
    if (strcmp(origin, m.origin) != 0 || size != m.cp_tree_size ||
        !tt_hash_equal(root, m.cp_root)) {
        rc = fail(&v, TT_ETAMPERED, 0, "checkpoint",
                  "the manifest's origin, tree size or root differ from the signed note's");
        goto out;
    }
    /* 2. Completeness: the boundary leaves show the window holds nothing more. */
    int64_t bseq, bts;
    if ((m.first_seq > 1) != (m.before != NULL) ||
        (m.last_seq < m.tree_size) != (m.after != NULL)) {
        rc = fail(&v, TT_ETAMPERED, 0, "boundary",
                  "a boundary event is required exactly when the range does not reach the "
                  "ledger's start or the snapshot's end");
        goto out;
    }
    if (m.before != NULL &&
        (tti_leaf_peek(m.before, m.before_len, &bseq, &bts) != 0 || bseq != m.first_seq - 1 ||
         m.since_us == TT_TIME_NONE || bts >= m.since_us)) {
        rc = fail(&v, TT_ETAMPERED, m.first_seq - 1, "boundary.before",
                  "not an event before the window (seq %lld, ts < since)",
                  (long long)m.first_seq - 1);
        goto out;
    }
    if (m.after != NULL &&
        (tti_leaf_peek(m.after, m.after_len, &bseq, &bts) != 0 || bseq != m.last_seq + 1 ||
         m.until_us == TT_TIME_NONE || bts < m.until_us)) {
        rc = fail(&v, TT_ETAMPERED, m.last_seq + 1, "boundary.after",
                  "not an event after the window (seq %lld, ts >= until)",
                  (long long)m.last_seq + 1);
        goto out;
    }
    if (m.before != NULL) /* ts never decreases: the first event's is at least this */
        tti_leaf_peek(m.before, m.before_len, &bseq, &v.prev_ts);
    /* 3. Every event, every file, and the proof to the signed root. */
    tti_manifest_proof_range(&m, &v.lo, &v.hi);
    v.next_index = v.lo;
    uint8_t got[TT_HASH_SIZE];
    if (size == 0) {
        tt_merkle_root(NULL, 0, got);
    } else if ((rc = calc(&v, 0, size, got)) != TT_OK) {
        goto out;
    }
    while (rc == TT_OK && v.file < m.n_files) { /* trailing files of an empty tail */
        if (v.rd == NULL && (rc = open_file(&v)) != TT_OK)
            break;
        if (m.format == TT_EXPORT_CSV && v.line == 0 && (rc = read_header(&v)) != TT_OK)
            break;
        if (m.files[v.file].count != v.in_file) {
            rc = fail(&v, TT_ETAMPERED, 0, cur_name(&v), "events beyond the manifest's range");
            break;
        }
        int r = m.format == TT_EXPORT_CSV ? read_csv(&v) : read_line(&v);
        if (r != 0)
            rc = fail(&v, TT_ETAMPERED, 0, cur_name(&v), "more events than the manifest lists");
        else
            rc = finish_file(&v);
    }
    if (rc != TT_OK)
        goto out;
    if (v.next_hash != m.n_hashes) {
        rc = fail(&v, TT_ETAMPERED, 0, "proof", "%zu unused hashes", m.n_hashes - v.next_hash);
        goto out;
    }
    if (!tt_hash_equal(got, root)) {
        rc = fail(&v, TT_ETAMPERED, 0, "proof",
                  "the events do not hash to the signed checkpoint's root");
        goto out;
    }
    char since[TT_TS_LEN + 1] = "the start", until[TT_TS_LEN + 1] = "the end";
    if (m.since_us != TT_TIME_NONE)
        tt_time_format(m.since_us, since);
    if (m.until_us != TT_TIME_NONE)
        tt_time_format(m.until_us, until);
    snprintf(rep->item, sizeof rep->item, "export");
    snprintf(rep->message, sizeof rep->message,
             "export verified: %lld events (seq %lld to %lld) with ts from %s until %s in %zu "
             "file%s, proved against the checkpoint of tree size %lld of %s",
             (long long)m.count, (long long)m.first_seq, (long long)m.last_seq, since, until,
             m.n_files, m.n_files == 1 ? "" : "s", (long long)size, origin);
out:
    if (rc == TT_EPARSE && rep->item[0] == '\0')
        snprintf(rep->item, sizeof rep->item, "manifest.json");
    close_reader(v.rd);
    free_fields(&v);
    tti_buf_free(&v.rec);
    tti_manifest_clear(&m);
    free(origin);
    free(text);
    return rc;
}

char *tt_export_report_to_json(const tt_export_report *r, int ok)
{
    tti_buf b;
    tti_buf_init(&b, 4096);
    tti_buf_printf(&b, "{\"ok\":%s,\"item\":", ok ? "true" : "false");
    tti_buf_json_str(&b, r->item);
    tti_buf_adds(&b, ",\"message\":");
    tti_buf_json_str(&b, r->message);
    tti_buf_printf(&b,
                   ",\"tree_size\":%lld,\"first_seq\":%lld,\"last_seq\":%lld,\"count\":%lld,"
                   "\"first_bad_seq\":%lld}",
                   (long long)r->tree_size, (long long)r->first_seq, (long long)r->last_seq,
                   (long long)r->count, (long long)r->first_bad_seq);
    if (b.failed) {
        tti_buf_free(&b);
        return NULL;
    }
    return tti_buf_take(&b);
}
