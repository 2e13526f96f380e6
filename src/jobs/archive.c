/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Archive segments (SPEC 8, issue 16; docs/FORMAT.md section 9): the leaf bytes of a range
 * of events as zstd-compressed JSON lines, with a manifest holding the range, the file's
 * SHA-256, a signed checkpoint and the range proof that ties the segment to it, so a
 * segment can be checked on its own, offline. A segment is written to a temporary name,
 * fsynced, read back and checked line by line against the leaf hashes stored in the
 * ledger, and only then renamed into place; its manifest comes last. This file is the
 * only user of libzstd. Retention (removing the bodies a segment holds from the hot
 * store) builds on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "core/crypto.h"
#include "core/export.h"
#include "core/note.h"
#include "jobs/archive.h"
#include "ledger/ledger.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/failpoint.h"
#include "util/fs.h"

#define ZLEVEL 6
#define PAGE TT_MAX_QUERY_LIMIT
#define STOP 1000 /* a status of our own: enough of the segment read */

static int read_manifest(const char *path, tti_buf *b, char *err, size_t errlen);

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tti_fail(TT_EIO, "%s: %s", dir, strerror(errno));
    int rc = fsync(fd) == 0 ? TT_OK : tti_fail(TT_EIO, "fsync %s: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

/* The origin a segment's manifest names (origin[0] = 0 when it has none or none can be
 * read): the ledger that wrote it. */
static void manifest_origin(const char *mpath, char *origin, size_t n)
{
    tti_buf text;
    tti_buf_init(&text, TTI_ARCHIVE_MANIFEST_MAX);
    tti_segment_manifest *m = calloc(1, sizeof *m);
    char err[256];
    origin[0] = '\0';
    if (m != NULL && read_manifest(mpath, &text, err, sizeof err) == TT_OK &&
        tti_segment_manifest_parse(text.data != NULL ? text.data : "", text.len, m, err,
                                   sizeof err) == TT_OK)
        snprintf(origin, n, "%s", m->origin);
    tti_segment_manifest_clear(m);
    free(m);
    tti_buf_free(&text);
}

/* tmp becomes path, never replacing a file there: another ledger sharing the archive
 * directory may have written (and recorded) a segment of the same name. */
static int place(const char *tmp, const char *path, const char *mpath)
{
    if (link(tmp, path) == 0)
        return unlink(tmp) == 0 ? TT_OK : tti_fail(TT_EIO, "%s: %s", tmp, strerror(errno));
    if (errno != EEXIST)
        return tti_fail(TT_EIO, "link %s: %s", tmp, strerror(errno));
    char origin[TTI_KEY_NAME_MAX + 1];
    manifest_origin(mpath, origin, sizeof origin);
    return tti_fail(TT_ECONFLICT,
                    "archive: %s already exists%s%s%s; give each ledger its own archive_dir "
                    "(TRADETRAIL_ARCHIVE_DIR), or move the file away if no ledger records it",
                    path, origin[0] ? " and belongs to the ledger with origin " : "", origin,
                    origin[0] ? "" : " and is not provably this ledger's");
}

static int write_all(FILE *fp, const void *p, size_t n, tti_sha256_ctx *sha, int64_t *bytes)
{
    if (n > 0 && fwrite(p, 1, n, fp) != n)
        return tti_fail(errno == ENOSPC ? TT_ENOSPC : TT_EIO, "write: %s", strerror(errno));
    tti_sha256_update(sha, p, n);
    *bytes += (int64_t)n;
    return TT_OK;
}

/* Compress src into fp (flushing at end). */
static int zwrite(ZSTD_CCtx *z, FILE *fp, const char *src, size_t n, int end, tti_sha256_ctx *sha,
                  int64_t *bytes)
{
    char out[64 * 1024];
    ZSTD_inBuffer in = {src, n, 0};
    for (;;) {
        ZSTD_outBuffer ob = {out, sizeof out, 0};
        size_t left = ZSTD_compressStream2(z, &ob, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left))
            return tti_fail(TT_EIO, "zstd: %s", ZSTD_getErrorName(left));
        int rc = write_all(fp, out, ob.pos, sha, bytes);
        if (rc != TT_OK)
            return rc;
        if (end ? left == 0 : in.pos == in.size)
            return TT_OK;
    }
}

/* One line: {"seq":N,"leaf_hash":"hex","leaf":"base64 of the leaf bytes"}\n */
static int line_of(const tt_event *ev, tti_buf *b)
{
    uint8_t *leaf = NULL;
    size_t n = 0;
    int rc = tt_event_leaf_bytes(ev, &leaf, &n);
    if (rc != TT_OK)
        return tti_fail(rc, "out of memory");
    uint8_t h[TT_HASH_SIZE];
    tt_leaf_hash(leaf, n, h);
    if (!tt_hash_equal(h, ev->leaf_hash)) {
        free(leaf);
        /* WARNING: never archive what does not match its stored hash: run verify. */
        return tti_fail(TT_ETAMPERED, "seq %lld: stored fields do not match the leaf hash",
                        (long long)ev->seq);
    }
    char hex[2 * TT_HASH_SIZE + 1];
    char *b64 = malloc(tti_base64_len(n) + 1);
    if (b64 == NULL) {
        free(leaf);
        return tti_fail(TT_ENOMEM, "out of memory");
    }
    tti_base64_encode(leaf, n, b64);
    tti_hex_encode(h, TT_HASH_SIZE, hex);
    tti_buf_printf(b, "{\"seq\":%lld,\"leaf_hash\":\"%s\",\"leaf\":\"%s\"}\n", (long long)ev->seq,
                   hex, b64);
    free(b64);
    free(leaf);
    return b->failed ? tti_fail(TT_ENOMEM, "out of memory") : TT_OK;
}

/* Parse one line back: its seq and leaf hash, checked against its leaf bytes (*leaf_out,
 * malloc'ed, and *leaf_len on success). */
static int parse_line(const char *s, size_t n, int64_t *seq, uint8_t hash[TT_HASH_SIZE],
                      uint8_t **leaf_out, size_t *leaf_len)
{
    json_error_t je;
    json_t *o = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
    int rc = TT_ETAMPERED;
    json_t *js = json_object_get(o, "seq"), *jh = json_object_get(o, "leaf_hash"),
           *jl = json_object_get(o, "leaf");
    if (o == NULL || json_object_size(o) != 3 || !json_is_integer(js) || !json_is_string(jh) ||
        !json_is_string(jl))
        goto out;
    size_t blen = json_string_length(jl), len = 0;
    uint8_t *leaf = malloc(blen / 4 * 3 + 3);
    if (leaf == NULL) {
        rc = TT_ENOMEM;
        goto out;
    }
    int64_t lseq, lts;
    uint8_t h[TT_HASH_SIZE], stated[TT_HASH_SIZE];
    if (tti_base64_decode(json_string_value(jl), blen, leaf, blen / 4 * 3 + 3, &len) == 0 &&
        tti_leaf_peek(leaf, len, &lseq, &lts) == 0 && lseq == json_integer_value(js) &&
        tti_hex_decode(json_string_value(jh), json_string_length(jh), stated, TT_HASH_SIZE) == 0) {
        tt_leaf_hash(leaf, len, h);
        if (tt_hash_equal(h, stated)) {
            *seq = lseq;
            memcpy(hash, h, TT_HASH_SIZE);
            *leaf_out = leaf;
            *leaf_len = len;
            leaf = NULL;
            rc = TT_OK;
        }
    }
    free(leaf);
out:
    json_decref(o);
    return rc;
}

/* Read a segment file back: SHA-256 and size, and each line's seq, leaf hash and leaf bytes
 * handed to fn in order. */
typedef int (*line_fn)(void *ctx, int64_t seq, const uint8_t hash[TT_HASH_SIZE],
                       const uint8_t *leaf, size_t len);

static int read_segment(const char *path, line_fn fn, void *ctx, uint8_t sha_out[TT_HASH_SIZE],
                        int64_t *bytes)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return tti_fail(TT_EIO, "%s: %s", path, strerror(errno));
    ZSTD_DCtx *z = ZSTD_createDCtx();
    tti_sha256_ctx *sha = tti_sha256_new();
    char *in = malloc(ZSTD_DStreamInSize()), *out = malloc(ZSTD_DStreamOutSize());
    tti_buf line;
    tti_buf_init(&line, TTI_EXPORT_MAX_RECORD);
    int rc = TT_OK;
    size_t last = 0;
    *bytes = 0;
    if (z == NULL || sha == NULL || in == NULL || out == NULL) {
        rc = tti_fail(TT_ENOMEM, "out of memory");
        goto done;
    }
    size_t got;
    while (rc == TT_OK && (got = fread(in, 1, ZSTD_DStreamInSize(), fp)) > 0) {
        tti_sha256_update(sha, in, got);
        *bytes += (int64_t)got;
        ZSTD_inBuffer ib = {in, got, 0};
        while (rc == TT_OK && ib.pos < ib.size) {
            ZSTD_outBuffer ob = {out, ZSTD_DStreamOutSize(), 0};
            last = ZSTD_decompressStream(z, &ob, &ib);
            if (ZSTD_isError(last)) {
                rc = tti_fail(TT_ETAMPERED, "%s: not a zstd stream (%s)", path,
                              ZSTD_getErrorName(last));
                break;
            }
            for (size_t i = 0; rc == TT_OK && i < ob.pos; i++) {
                if (out[i] != '\n') {
                    if (tti_buf_add(&line, &out[i], 1) != 0)
                        rc = tti_fail(TT_ETAMPERED, "%s: a line longer than 1 MiB", path);
                    continue;
                }
                int64_t seq;
                uint8_t h[TT_HASH_SIZE], *leaf = NULL;
                size_t len = 0;
                rc = parse_line(line.data ? line.data : "", line.len, &seq, h, &leaf, &len);
                if (rc != TT_OK)
                    rc = tti_fail(rc, "%s: a malformed line or a leaf that does not match its hash",
                                  path);
                else
                    rc = fn(ctx, seq, h, leaf, len);
                free(leaf);
                tti_buf_reset(&line);
            }
        }
    }
    if (rc == TT_OK && (ferror(fp) || last != 0 || line.len != 0))
        rc = tti_fail(TT_ETAMPERED, "%s: truncated", path);
done:
    if (rc == TT_OK)
        tti_sha256_final(sha, sha_out);
    else
        tti_sha256_free(sha);
    ZSTD_freeDCtx(z);
    free(in);
    free(out);
    tti_buf_free(&line);
    fclose(fp);
    return rc;
}

/* Re-read check: the lines are exactly seqs first..last with the hashes the store holds. */
typedef struct recheck {
    tt_ledger *l;
    int64_t next, last;
    tt_iter *it;
} recheck;

static int recheck_line(void *ctx, int64_t seq, const uint8_t hash[TT_HASH_SIZE],
                        const uint8_t *leaf, size_t len)
{
    (void)leaf, (void)len;
    recheck *r = ctx;
    if (seq != r->next || seq > r->last)
        return tti_fail(TT_ETAMPERED, "segment re-read: seq %lld where %lld was expected",
                        (long long)seq, (long long)r->next);
    const tt_event *ev;
    int rc = TT_ENOTFOUND;
    for (int tries = 0; rc == TT_ENOTFOUND && tries < 2; tries++) {
        if (r->it == NULL) {
            tt_query q;
            tt_query_init(&q);
            q.after_seq = seq - 1;
            q.before_seq = r->last + 1;
            q.limit = PAGE;
            if ((rc = tt_ledger_query(r->l, &q, &r->it)) != TT_OK)
                return rc;
        }
        if ((rc = tt_iter_next(r->it, &ev)) == TT_ENOTFOUND) {
            tt_iter_free(r->it);
            r->it = NULL;
        }
    }
    if (rc != TT_OK || ev->seq != seq || !tt_hash_equal(ev->leaf_hash, hash))
        return tti_fail(rc == TT_OK || rc == TT_ENOTFOUND ? TT_ETAMPERED : rc,
                        "segment re-read: seq %lld does not match the stored leaf hash",
                        (long long)seq);
    r->next++;
    return TT_OK;
}

int tt_archive_write_segment(tt_ledger *l, const char *dir, int64_t first, int64_t last,
                             tt_archive_segment *out)
{
    if (l == NULL || dir == NULL || first < 1 || last < first)
        return tti_fail(TT_EINVAL, "archive: need a directory and 1 <= first <= last");
    if (last - first + 1 > TTI_ARCHIVE_MAX_EVENTS) /* a manifest with more is refused */
        return tti_fail(TT_EINVAL, "archive: a segment holds at most %d events",
                        TTI_ARCHIVE_MAX_EVENTS);
    tt_archive_segment seg;
    memset(&seg, 0, sizeof seg);
    seg.first_seq = first;
    seg.last_seq = last;
    seg.count = last - first + 1;
    snprintf(seg.name, sizeof seg.name, "seg-%012lld-%012lld.jsonl.zst", (long long)first,
             (long long)last);
    char path[4096], tmp[4200], mpath[4096], mtmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, seg.name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(mpath, sizeof mpath, "%s/seg-%012lld-%012lld.json", dir, (long long)first,
             (long long)last);
    snprintf(mtmp, sizeof mtmp, "%s.tmp", mpath);
    char merr[512];
    if (tti_mkdir_p(dir, merr, sizeof merr) != TT_OK) /* archive_dir/NAME: parents too */
        return tti_fail(TT_EIO, "%s", merr);
    tt_checkpoint cp = {0};
    int rc = tt_ledger_checkpoint_sign(l, &cp);
    if (rc == TT_ECRYPTO)
        rc = tt_ledger_checkpoint_latest(l, &cp);
    if (rc != TT_OK)
        return rc;
    if (cp.tree_size < last) {
        tt_checkpoint_clear(&cp);
        return tti_fail(TT_EINVAL, "archive: seq %lld is beyond the latest checkpoint",
                        (long long)last);
    }
    FILE *fp = NULL;
    ZSTD_CCtx *z = ZSTD_createCCtx();
    tti_sha256_ctx *sha = tti_sha256_new();
    tt_iter *it = NULL;
    tti_buf b;
    tti_buf_init(&b, 4 * TTI_EXPORT_MAX_RECORD);
    char *manifest = NULL;
    tti_segment_manifest *m = calloc(1, sizeof *m); /* 4 KiB of proof hashes */
    if (z == NULL || sha == NULL || m == NULL) {
        rc = tti_fail(TT_ENOMEM, "out of memory");
        goto out;
    }
    ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, ZLEVEL);
    ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (fp = fdopen(fd, "wb")) == NULL) {
        rc = tti_fail(TT_EIO, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    /* 1. write every event's leaf bytes, checked against its stored hash */
    for (int64_t next = first; next <= last;) {
        tt_query q;
        tt_query_init(&q);
        q.after_seq = next - 1;
        q.before_seq = last + 1;
        q.limit = PAGE;
        const tt_event *ev;
        if ((rc = tt_ledger_query(l, &q, &it)) != TT_OK)
            goto out;
        int64_t before = next;
        while ((rc = tt_iter_next(it, &ev)) == TT_OK) {
            if (ev->seq != next) {
                rc =
                    tti_fail(TT_ENOTFOUND, "archive: seq %lld has no stored body", (long long)next);
                goto out;
            }
            tti_buf_reset(&b);
            if ((rc = line_of(ev, &b)) != TT_OK ||
                (rc = zwrite(z, fp, b.data, b.len, 0, sha, &seg.bytes)) != TT_OK)
                goto out;
            next++;
        }
        tt_iter_free(it);
        it = NULL;
        if (rc != TT_ENOTFOUND)
            goto out;
        rc = TT_OK;
        if (next == before) {
            rc = tti_fail(TT_ENOTFOUND, "archive: seq %lld has no stored body", (long long)next);
            goto out;
        }
    }
    if ((rc = zwrite(z, fp, "", 0, 1, sha, &seg.bytes)) != TT_OK)
        goto out;
    if (fflush(fp) != 0) {
        rc = tti_fail(errno == ENOSPC ? TT_ENOSPC : TT_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    tti_failpoint("archive-written");
    /* 2. durable before anything relies on it */
    if (fsync(fileno(fp)) != 0) {
        rc = tti_fail(errno == ENOSPC ? TT_ENOSPC : TT_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    tti_failpoint("archive-synced");
    fclose(fp);
    fp = NULL;
    tti_sha256_final(sha, seg.sha256);
    sha = NULL;
    /* 3. read back and check every line against the stored leaf hashes */
    recheck r = {.l = l, .next = first, .last = last};
    uint8_t again[TT_HASH_SIZE];
    int64_t bytes;
    rc = read_segment(tmp, recheck_line, &r, again, &bytes);
    tt_iter_free(r.it);
    if (rc == TT_OK &&
        (r.next != last + 1 || bytes != seg.bytes || !tt_hash_equal(again, seg.sha256)))
        rc = tti_fail(TT_EIO, "%s: the file read back differs from what was written", tmp);
    if (rc != TT_OK)
        goto out;
    tti_failpoint("archive-checked");
    if ((rc = place(tmp, path, mpath)) != TT_OK)
        goto out;
    if ((rc = sync_dir(dir)) != TT_OK)
        goto out;
    /* 4. the manifest: range, file, checkpoint and the range proof to it */
    if ((rc = tt_ledger_prove_range(l, first - 1, last, cp.tree_size, m->hashes, &m->n_hashes)) !=
        TT_OK)
        goto out;
    m->origin = tt_ledger_origin(l);
    m->first_seq = first;
    m->last_seq = last;
    m->count = seg.count;
    m->file = seg.name;
    m->bytes = seg.bytes;
    memcpy(m->sha256, seg.sha256, TT_HASH_SIZE);
    m->cp_tree_size = cp.tree_size;
    memcpy(m->cp_root, cp.root_hash, TT_HASH_SIZE);
    m->note = cp.note;
    m->proof_first = first - 1;
    m->proof_end = last;
    if ((manifest = tti_segment_manifest_to_json(m)) == NULL) {
        rc = tti_fail(TT_ENOMEM, "out of memory");
        goto out;
    }
    fd = open(mtmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (fp = fdopen(fd, "wb")) == NULL) {
        rc = tti_fail(TT_EIO, "%s: %s", mtmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    if (fputs(manifest, fp) < 0 || fputc('\n', fp) == EOF || fflush(fp) != 0 ||
        fsync(fileno(fp)) != 0) {
        rc = tti_fail(errno == ENOSPC ? TT_ENOSPC : TT_EIO, "%s: %s", mtmp, strerror(errno));
        goto out;
    }
    fclose(fp);
    fp = NULL;
    if ((rc = place(mtmp, mpath, mpath)) != TT_OK)
        goto out;
    rc = sync_dir(dir);
    tti_failpoint("archive-manifest");
out:
    if (fp != NULL)
        fclose(fp);
    if (rc != TT_OK) {
        unlink(tmp);
        unlink(mtmp);
    }
    tt_iter_free(it);
    tti_sha256_free(sha);
    ZSTD_freeCCtx(z);
    tti_buf_free(&b);
    free(manifest);
    free(m);
    tt_checkpoint_clear(&cp);
    if (rc == TT_OK && out != NULL)
        *out = seg;
    return rc;
}

/* ---- offline check of a segment ---- */

typedef struct collect {
    int64_t next, last;
    uint8_t (*hashes)[TT_HASH_SIZE];
    size_t n;
    tti_leaf_fn fn; /* also handed each line's leaf, when not NULL */
    void *fctx;
    const char *file;
} collect;

static int collect_line(void *ctx, int64_t seq, const uint8_t hash[TT_HASH_SIZE],
                        const uint8_t *leaf, size_t len)
{
    collect *c = ctx;
    if (seq != c->next || seq > c->last)
        return tti_fail(TT_ETAMPERED, "%s: seq %lld where %lld was expected", c->file,
                        (long long)seq, (long long)c->next);
    memcpy(c->hashes[c->n++], hash, TT_HASH_SIZE);
    c->next++;
    return c->fn != NULL ? c->fn(c->fctx, seq, leaf, len) : TT_OK;
}

typedef struct walk {
    const uint8_t (*leaves)[TT_HASH_SIZE];
    int64_t lo, hi;
    const uint8_t (*proof)[TT_HASH_SIZE];
    size_t n, used;
} walk;

/* MTH over the proof's subtrees and the segment's leaves (FORMAT.md 8.4's walk). */
static int calc(walk *w, int64_t l, int64_t r, uint8_t out[TT_HASH_SIZE])
{
    if (r <= w->lo || l >= w->hi) {
        if (w->used == w->n)
            return -1;
        memcpy(out, w->proof[w->used++], TT_HASH_SIZE);
        return 0;
    }
    if (r - l == 1) {
        memcpy(out, w->leaves[l - w->lo], TT_HASH_SIZE);
        return 0;
    }
    int64_t k = 1;
    while (k << 1 < r - l)
        k <<= 1;
    uint8_t a[TT_HASH_SIZE], b[TT_HASH_SIZE];
    if (calc(w, l, l + k, a) != 0 || calc(w, l + k, r, b) != 0)
        return -1;
    tti_hash_node(a, b, out);
    return 0;
}

/* The manifest file's text into b (created with TTI_ARCHIVE_MANIFEST_MAX as its maximum).
 * A manifest that cannot be read is as bad as one that does not parse: TT_EPARSE. */
static int read_manifest(const char *path, tti_buf *b, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return TT_EPARSE;
    }
    char chunk[16384];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        if (tti_buf_add(b, chunk, n) != 0)
            break;
    int bad = ferror(fp);
    fclose(fp);
    if (bad || b->failed == TTI_BUF_TOOBIG) {
        snprintf(err, errlen, "%s: %s", path,
                 bad ? "read error" : "larger than a segment manifest may be");
        return TT_EPARSE;
    }
    if (b->failed) {
        snprintf(err, errlen, "out of memory");
        return TT_ENOMEM;
    }
    return TT_OK;
}

/* tt_archive_verify_segment with a parsed verifier key, each line's leaf handed to fn (may
 * be NULL) as it is read. */
static int verify_manifest(const char *manifest_path, const tti_verifier *v, tti_leaf_fn fn,
                           void *fctx, tt_archive_segment *out, char *err, size_t errlen)
{
    collect c = {0};
    char *origin = NULL;
    tti_buf text;
    tti_buf_init(&text, TTI_ARCHIVE_MANIFEST_MAX);
    tti_segment_manifest *m = calloc(1, sizeof *m); /* 4 KiB of proof hashes */
    int rc = TT_OK;
#define BAD(code, ...)                                                                             \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        rc = code;                                                                                 \
        goto out;                                                                                  \
    } while (0)
    if (m == NULL)
        BAD(TT_ENOMEM, "out of memory");
    if ((rc = read_manifest(manifest_path, &text, err, errlen)) != TT_OK)
        goto out;
    char perr[256];
    rc = tti_segment_manifest_parse(text.data != NULL ? text.data : "", text.len, m, perr,
                                    sizeof perr);
    if (rc != TT_OK)
        BAD(rc, "%s: %s", manifest_path, perr);
    uint64_t size;
    uint8_t root[TT_HASH_SIZE], got[TT_HASH_SIZE];
    if (tti_note_verify_checkpoint(m->note, strlen(m->note), v, &origin, &size, root) != TT_OK ||
        strcmp(origin, m->origin) != 0 || size != (uint64_t)m->cp_tree_size ||
        !tt_hash_equal(root, m->cp_root))
        BAD(TT_EAUTH, "%s: the checkpoint is not signed by the verifier key", manifest_path);
    /* count is at most TTI_ARCHIVE_MAX_EVENTS (the parser's bound) */
    c.hashes = calloc((size_t)m->count, TT_HASH_SIZE);
    if (c.hashes == NULL)
        BAD(TT_ENOMEM, "out of memory");
    char path[4096];
    const char *slash = strrchr(manifest_path, '/');
    snprintf(path, sizeof path, "%.*s%s", slash ? (int)(slash - manifest_path + 1) : 0,
             manifest_path, m->file);
    c.next = m->first_seq;
    c.last = m->last_seq;
    c.fn = fn;
    c.fctx = fctx;
    c.file = m->file;
    int64_t nbytes;
    if ((rc = read_segment(path, collect_line, &c, got, &nbytes)) != TT_OK)
        BAD(rc, "%s", tt_ledger_errmsg(NULL));
    if (c.next != m->last_seq + 1)
        BAD(TT_ETAMPERED, "%s: seq %lld is missing", m->file, (long long)c.next);
    if (nbytes != m->bytes || !tt_hash_equal(got, m->sha256))
        BAD(TT_ETAMPERED, "%s: SHA-256 or size does not match the manifest", m->file);
    walk w = {(const uint8_t(*)[TT_HASH_SIZE])c.hashes,  m->first_seq - 1, m->last_seq,
              (const uint8_t(*)[TT_HASH_SIZE])m->hashes, m->n_hashes,      0};
    uint8_t calc_root[TT_HASH_SIZE];
    if (calc(&w, 0, (int64_t)size, calc_root) != 0 || w.used != m->n_hashes ||
        !tt_hash_equal(calc_root, root))
        BAD(TT_ETAMPERED, "%s: the segment does not hash to the signed checkpoint's root", m->file);
    if (out != NULL) {
        memset(out, 0, sizeof *out);
        out->first_seq = m->first_seq;
        out->last_seq = m->last_seq;
        out->count = m->count;
        out->bytes = m->bytes;
        memcpy(out->sha256, m->sha256, TT_HASH_SIZE);
        snprintf(out->name, sizeof out->name, "%s", m->file);
    }
#undef BAD
out:
    tti_segment_manifest_clear(m);
    free(m);
    tti_buf_free(&text);
    free(origin);
    free(c.hashes);
    return rc;
}

int tt_archive_verify_segment(const char *manifest_path, const char *verifier_key,
                              tt_archive_segment *out, char *err, size_t errlen)
{
    tti_verifier v;
    if (manifest_path == NULL || verifier_key == NULL ||
        tti_verifier_parse(verifier_key, strlen(verifier_key), &v) != TT_OK) {
        snprintf(err, errlen, "not a verifier key");
        return TT_EINVAL;
    }
    return verify_manifest(manifest_path, &v, NULL, NULL, out, err, errlen);
}

/* ---- leftovers of a stopped run ---- */

typedef struct first_line {
    tt_ledger *l;
    int64_t first;
    int ours;
} first_line;

static int check_first(void *ctx, int64_t seq, const uint8_t hash[TT_HASH_SIZE],
                       const uint8_t *leaf, size_t len)
{
    (void)leaf, (void)len;
    first_line *f = ctx;
    tt_event *ev = NULL;
    f->ours = seq == f->first && tt_ledger_get(f->l, seq, &ev) == TT_OK &&
              tt_hash_equal(ev->leaf_hash, hash);
    tt_event_free(ev);
    return STOP;
}

int tti_archive_leftover_ours(tt_ledger *l, const char *dir, int64_t first, int64_t last, int *ours)
{
    char seg[4200], man[4200];
    snprintf(seg, sizeof seg, "%s/seg-%012lld-%012lld.jsonl.zst", dir, (long long)first,
             (long long)last);
    snprintf(man, sizeof man, "%s/seg-%012lld-%012lld.json", dir, (long long)first,
             (long long)last);
    if (access(man, F_OK) == 0) {
        char origin[TTI_KEY_NAME_MAX + 1];
        manifest_origin(man, origin, sizeof origin);
        *ours = strcmp(origin, tt_ledger_origin(l)) == 0;
        return TT_OK;
    }
    /* no manifest (a run stopped before writing it): the first line's leaf hash is this
     * ledger's for that seq, or the file is not ours */
    first_line f = {.l = l, .first = first};
    uint8_t sha[TT_HASH_SIZE];
    int64_t bytes;
    int rc = access(seg, F_OK) == 0 ? read_segment(seg, check_first, &f, sha, &bytes) : STOP;
    *ours = f.ours;
    return rc == TT_ENOMEM ? rc : TT_OK;
}

/* ---- the ledger's archive source (SPEC 8) ---- */

/* The manifest's path for a segment file seg-<first>-<last>.jsonl.zst in dir. */
static void manifest_path(const char *dir, const char *file, char *out, size_t n)
{
    size_t len = strlen(file);
    static const char ext[] = ".jsonl.zst";
    if (len > sizeof ext - 1 && strcmp(file + len - (sizeof ext - 1), ext) == 0)
        len -= sizeof ext - 1;
    snprintf(out, n, "%s/%.*s.json", dir, (int)len, file);
}

static int source_read(void *ctx, tt_ledger *l, const tti_segment *seg, tti_leaf_fn fn, void *fctx)
{
    const char *dir = ctx;
    if (!l->have_verifier)
        return tti_fail(TT_ECRYPTO, "no verifier key to check archive segment %s", seg->file);
    char path[4200], err[600];
    snprintf(path, sizeof path, "%s/%s", dir, seg->file);
    if (access(path, F_OK) != 0 && errno == ENOENT) /* gone: as tampered as changed */
        return tti_fail(TT_ETAMPERED, "archive segment %s is missing from %s", seg->file, dir);
    manifest_path(dir, seg->file, path, sizeof path);
    tt_archive_segment got;
    int rc = verify_manifest(path, &l->verifier, fn, fctx, &got, err, sizeof err);
    if (rc == TT_EAUTH || rc == TT_EPARSE)
        rc = TT_ETAMPERED; /* a manifest that does not check is a tampered segment */
    if (rc != TT_OK)
        return err[0] != '\0' ? tti_fail(rc, "archive segment %s: %s", seg->file, err) : rc;
    /* WARNING: the store's record is the second anchor: a segment and manifest replaced
     * together by another valid pair (another range, another file) must not pass. */
    if (got.first_seq != seg->first_seq || got.last_seq != seg->last_seq ||
        got.bytes != seg->bytes || strcmp(got.name, seg->file) != 0 ||
        !tt_hash_equal(got.sha256, seg->sha256))
        return tti_fail(TT_ETAMPERED,
                        "archive segment %s: its manifest does not match the segment the ledger "
                        "recorded (range, size or SHA-256)",
                        seg->file);
    return TT_OK;
}

int tti_archive_check(tt_ledger *l, const char *dir, const tti_segment *seg)
{
    return source_read((void *)dir, l, seg, NULL, NULL);
}

int tt_ledger_set_archive(tt_ledger *l, const char *dir)
{
    if (l == NULL)
        return tti_fail(TT_EMISUSE, "tt_ledger_set_archive: NULL ledger");
    if (dir == NULL) {
        tti_ledger_set_archive(l, NULL);
        return TT_OK;
    }
    char *copy = strdup(dir);
    if (copy == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    tti_archive_src src = {.read = source_read, .destroy = free, .ctx = copy};
    tti_ledger_set_archive(l, &src);
    return TT_OK;
}
