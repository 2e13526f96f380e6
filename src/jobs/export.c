/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verifiable export (SPEC 8, docs/FORMAT.md section 8): the events of a time window as
 * JSON lines or CSV, and a manifest holding the signed checkpoint, the files' SHA-256, the
 * boundary events that show the window is complete, and the range proof that ties every
 * exported event to the signed root. The CLI writes a directory; the server streams the
 * same bytes (tt_export_read) and serves the manifest separately.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/export.h"
#include "ledger/ledger.h"
#include "util/buf.h"

#define DEFAULT_FILE_EVENTS 1000000

struct tt_export {
    tt_ledger *l;
    tt_export_options o;
    tti_manifest m; /* filled as the files are read; files[] grows */
    size_t files_cap;
    int64_t next_seq;   /* the next seq to write */
    int header_done;    /* the current file's CSV header */
    int64_t file_first; /* first seq of the current file */
    int64_t file_count; /* events in the current file */
    int64_t file_bytes;
    tti_sha256_ctx *sha; /* of the current file */
    tt_iter *it;         /* the current page */
    tti_buf out;
    size_t sent;
    int done; /* every event read */
};

void tt_export_options_init(tt_export_options *o)
{
    memset(o, 0, sizeof *o);
    o->since_us = TT_TIME_NONE;
    o->until_us = TT_TIME_NONE;
    o->format = TT_EXPORT_JSONL;
}

/* The seq of the first (asc) or last (desc) event with the time bound and seq <= cap;
 * 0 when none. */
static int bound_seq(tt_ledger *l, int64_t since, int64_t until, int64_t cap, tt_order order,
                     int64_t *out)
{
    tt_query q;
    tt_query_init(&q);
    q.since_us = since;
    q.until_us = until;
    q.before_seq = cap + 1;
    q.limit = 1;
    q.order = order;
    q.include_archive = 1; /* SPEC 8: an export spans archived events too */
    tt_iter *it = NULL;
    const tt_event *ev;
    int rc = tt_ledger_query(l, &q, &it);
    if (rc == TT_OK)
        rc = tt_iter_next(it, &ev);
    if (rc == TT_OK)
        *out = ev->seq;
    else if (rc == TT_ENOTFOUND)
        *out = 0, rc = TT_OK;
    tt_iter_free(it);
    return rc;
}

static int leaf_of(tt_ledger *l, int64_t seq, uint8_t **out, size_t *len)
{
    tt_event *ev = NULL;
    int rc = tt_ledger_get(l, seq, &ev);
    if (rc == TT_OK)
        rc = tt_event_leaf_bytes(ev, out, len);
    tt_event_free(ev);
    return rc;
}

typedef struct find_arg {
    int64_t want;
    tt_checkpoint *out;
} find_arg;

/* The first stored checkpoint of tree size >= want, which becomes the snapshot: an
 * export's snapshot must be a signed tree (FORMAT.md 8.3), and the size a data answer
 * named is one, so its manifest request finds exactly that checkpoint. */
static int find_checkpoint(tt_ledger *l, tti_store *s, void *ctx)
{
    const find_arg *a = ctx;
    tti_store_iter *it = NULL;
    tti_cp_row row = {0};
    int rc = l->ops->checkpoints_iter(s, &it);
    if (rc != TT_OK)
        return tti_store_fail(l, s, rc);
    while ((rc = l->ops->checkpoints_next(it, &row)) == TT_OK && row.tree_size < a->want)
        continue; /* in tree-size order */
    if (rc == TT_OK) {
        a->out->tree_size = row.tree_size;
        a->out->ts_us = row.ts_us;
        memcpy(a->out->root_hash, row.root, TT_HASH_SIZE);
        if ((a->out->note = strdup(row.note)) == NULL)
            rc = tti_fail(TT_ENOMEM, "out of memory");
    } else if (rc == TT_ENOTFOUND) {
        rc = tti_fail(TT_EINVAL, "tree_size: %lld is beyond the latest checkpoint",
                      (long long)a->want);
    } else {
        rc = tti_store_fail(l, s, rc);
    }
    l->ops->iter_free(it);
    return rc;
}

/* The checkpoint an export is proved against, whose tree size is its snapshot: of the
 * current tree (signed now when the latest does not cover it; the latest when this
 * process has no signing key), or the first one covering the size asked for. */
static int pin_checkpoint(tt_ledger *l, int64_t want, tt_checkpoint *cp)
{
    int rc = tt_ledger_checkpoint_sign(l, cp);
    if (rc == TT_ECRYPTO)
        rc = tt_ledger_checkpoint_latest(l, cp);
    if (rc != TT_OK || want == 0 || want == cp->tree_size)
        return rc;
    int64_t latest = cp->tree_size;
    tt_checkpoint_clear(cp);
    if (want > latest)
        return tti_fail(TT_EINVAL, "tree_size: %lld is beyond the latest checkpoint (%lld)",
                        (long long)want, (long long)latest);
    find_arg a = {want, cp};
    return tti_ledger_read(l, find_checkpoint, &a);
}

int tt_export_open(tt_ledger *l, const tt_export_options *o, tt_export **out)
{
    if (l == NULL || o == NULL || out == NULL)
        return tti_fail(TT_EMISUSE, "tt_export_open: NULL argument");
    if (o->since_us != TT_TIME_NONE && o->until_us != TT_TIME_NONE && o->since_us > o->until_us)
        return tti_fail(TT_EINVAL, "since must not be after until");
    if (o->format != TT_EXPORT_JSONL && o->format != TT_EXPORT_CSV)
        return tti_fail(TT_EINVAL, "format: must be jsonl or csv");
    tt_export *x = calloc(1, sizeof *x);
    if (x == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    tti_manifest *m = &x->m;
    x->l = l;
    x->o = *o;
    tti_buf_init(&x->out, 4 * TTI_EXPORT_MAX_RECORD);
    tt_checkpoint cp = {0};
    int rc = pin_checkpoint(l, o->tree_size > 0 ? o->tree_size : 0, &cp);
    if (rc != TT_OK)
        goto fail;
    m->note = cp.note; /* owned by the manifest from here */
    m->cp_tree_size = cp.tree_size;
    memcpy(m->cp_root, cp.root_hash, TT_HASH_SIZE);
    m->tree_size = cp.tree_size;
    if ((m->origin = strdup(tt_ledger_origin(l))) == NULL) {
        rc = tti_fail(TT_ENOMEM, "out of memory");
        goto fail;
    }
    m->format = o->format;
    m->since_us = o->since_us;
    m->until_us = o->until_us;
    /* ts never decreases along seq: the window is one contiguous seq range. */
    int64_t first = 1, last = m->tree_size;
    if (o->since_us != TT_TIME_NONE &&
        (rc = bound_seq(l, o->since_us, TT_TIME_NONE, m->tree_size, TT_ORDER_ASC, &first)) != TT_OK)
        goto fail;
    if (first == 0)
        first = m->tree_size + 1;
    if (o->until_us != TT_TIME_NONE &&
        (rc = bound_seq(l, TT_TIME_NONE, o->until_us, m->tree_size, TT_ORDER_DESC, &last)) != TT_OK)
        goto fail;
    if (last < first - 1)
        last = first - 1;
    m->first_seq = first;
    m->last_seq = last;
    m->count = last - first + 1;
    /* FORMAT.md 8.4: the events just outside the window prove nothing was left out. */
    if (first > 1 && (rc = leaf_of(l, first - 1, &m->before, &m->before_len)) != TT_OK)
        goto fail;
    if (last < m->tree_size && (rc = leaf_of(l, last + 1, &m->after, &m->after_len)) != TT_OK)
        goto fail;
    x->next_seq = first;
    x->file_first = first;
    if ((x->sha = tti_sha256_new()) == NULL) {
        rc = tti_fail(TT_ENOMEM, "out of memory");
        goto fail;
    }
    *out = x;
    return TT_OK;
fail:
    tt_export_free(x);
    return rc;
}

void tt_export_range(const tt_export *x, int64_t *tree_size, int64_t *first_seq, int64_t *last_seq,
                     int64_t *count)
{
    if (tree_size)
        *tree_size = x->m.tree_size;
    if (first_seq)
        *first_seq = x->m.first_seq;
    if (last_seq)
        *last_seq = x->m.last_seq;
    if (count)
        *count = x->m.count;
}

void tt_export_free(tt_export *x)
{
    if (x == NULL)
        return;
    tt_iter_free(x->it);
    tti_sha256_free(x->sha);
    tti_buf_free(&x->out);
    tti_manifest_clear(&x->m);
    free(x);
}

/* Refill out with the next record of the current file: the header first, then events
 * until the file holds limit of them (0: no limit). Sets *eof when the file is complete. */
static int fill(tt_export *x, int64_t limit, int *eof)
{
    tti_buf_reset(&x->out);
    x->sent = 0;
    *eof = 0;
    if (!x->header_done) {
        x->header_done = 1;
        if (tti_export_header(x->o.format, &x->out) != 0)
            return tti_fail(TT_ENOMEM, "out of memory");
        if (x->out.len > 0)
            return TT_OK;
    }
    if (x->next_seq > x->m.last_seq || (limit > 0 && x->file_count >= limit)) {
        *eof = 1;
        return TT_OK;
    }
    const tt_event *ev = NULL;
    int rc = TT_ENOTFOUND;
    for (int tries = 0; rc == TT_ENOTFOUND && tries < 2; tries++) {
        if (x->it == NULL) {
            /* One page at a time: no read transaction stays open while a client reads. */
            tt_query q;
            tt_query_init(&q);
            q.after_seq = x->next_seq - 1;
            q.before_seq = x->m.last_seq + 1;
            q.limit = TT_MAX_QUERY_LIMIT;
            q.include_archive = 1;
            if ((rc = tt_ledger_query(x->l, &q, &x->it)) != TT_OK)
                return rc;
        }
        rc = tt_iter_next(x->it, &ev);
        if (rc == TT_ENOTFOUND) {
            tt_iter_free(x->it);
            x->it = NULL;
        }
    }
    if (rc == TT_ENOTFOUND || (rc == TT_OK && ev->seq != x->next_seq))
        return tti_fail(TT_ENOTFOUND, "seq %lld: no stored body to export", (long long)x->next_seq);
    if (rc != TT_OK)
        return rc;
    if (tti_export_record(x->o.format, ev, &x->out) != 0)
        return tti_fail(TT_ENOMEM, "out of memory");
    x->next_seq++;
    x->file_count++;
    return TT_OK;
}

/* Copy the current file's next bytes; *n 0 when the file is complete. */
static int read_file(tt_export *x, char *buf, size_t cap, size_t *n, int64_t limit)
{
    size_t got = 0;
    while (got < cap) {
        if (x->sent == x->out.len) {
            int eof;
            int rc = fill(x, limit, &eof);
            if (rc != TT_OK)
                return rc;
            if (eof)
                break;
            continue;
        }
        size_t take = x->out.len - x->sent;
        if (take > cap - got)
            take = cap - got;
        memcpy(buf + got, x->out.data + x->sent, take);
        x->sent += take;
        got += take;
    }
    tti_sha256_update(x->sha, buf, got);
    x->file_bytes += (int64_t)got;
    *n = got;
    return TT_OK;
}

int tt_export_read(tt_export *x, char *buf, size_t cap, size_t *n)
{
    if (x == NULL || buf == NULL || n == NULL || cap == 0)
        return tti_fail(TT_EMISUSE, "tt_export_read: bad argument");
    return read_file(x, buf, cap, n, 0);
}

/* Close the current file as name: its entry in the manifest; a new file starts. */
static int end_file(tt_export *x, const char *name)
{
    tti_manifest *m = &x->m;
    if (m->n_files == x->files_cap) {
        size_t cap = x->files_cap ? 2 * x->files_cap : 4;
        tti_export_file *f = realloc(m->files, cap * sizeof *f);
        if (f == NULL)
            return tti_fail(TT_ENOMEM, "out of memory");
        m->files = f;
        x->files_cap = cap;
    }
    tti_export_file *f = &m->files[m->n_files];
    memset(f, 0, sizeof *f);
    if ((f->name = strdup(name)) == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    m->n_files++;
    f->first_seq = x->file_first;
    f->count = x->file_count;
    f->last_seq = x->file_first + x->file_count - 1;
    f->bytes = x->file_bytes;
    tti_sha256_final(x->sha, f->sha256);
    x->sha = tti_sha256_new();
    x->file_first = x->next_seq;
    x->file_count = 0;
    x->file_bytes = 0;
    x->header_done = 0;
    return x->sha ? TT_OK : tti_fail(TT_ENOMEM, "out of memory");
}

static int build_manifest(tt_export *x, char **out)
{
    tti_manifest *m = &x->m;
    int64_t lo, hi;
    tti_manifest_proof_range(m, &lo, &hi);
    m->proof_first = lo;
    m->proof_end = hi;
    free(m->hashes);
    m->hashes = calloc(TT_RANGE_PROOF_MAX, TT_HASH_SIZE);
    if (m->hashes == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    int rc = tt_ledger_prove_range(x->l, lo, hi, m->cp_tree_size, m->hashes, &m->n_hashes);
    if (rc != TT_OK)
        return rc;
    if ((*out = tti_manifest_to_json(m)) == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    return TT_OK;
}

int tt_export_manifest(tt_export *x, const char *name, char **out)
{
    if (x == NULL || name == NULL || out == NULL)
        return tti_fail(TT_EMISUSE, "tt_export_manifest: NULL argument");
    if (x->next_seq <= x->m.last_seq || !x->header_done || x->sent < x->out.len)
        return tti_fail(TT_EMISUSE, "tt_export_manifest: the data was not read to its end");
    int rc = end_file(x, name);
    return rc == TT_OK ? build_manifest(x, out) : rc;
}

/* ---- into a directory ---- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return tti_fail(errno == ENOSPC ? TT_ENOSPC : TT_EIO, "write: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return TT_OK;
}

static int create_file(const char *dir, const char *name, int *fd)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (*fd < 0)
        return tti_fail(errno == EEXIST ? TT_ECONFLICT : TT_EIO, "%s: %s", path,
                        errno == EEXIST ? "already exists (export into a new directory)"
                                        : strerror(errno));
    return TT_OK;
}

static int close_synced(int fd)
{
    int rc = fsync(fd) == 0 ? TT_OK : tti_fail(TT_EIO, "fsync: %s", strerror(errno));
    if (close(fd) != 0 && rc == TT_OK)
        rc = tti_fail(TT_EIO, "close: %s", strerror(errno));
    return rc;
}

int tt_export_write_dir(tt_ledger *l, const tt_export_options *o, const char *dir,
                        tt_progress_fn progress, void *ctx, tt_export_summary *out)
{
    if (dir == NULL)
        return tti_fail(TT_EMISUSE, "tt_export_write_dir: NULL dir");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return tti_fail(TT_EIO, "%s: %s", dir, strerror(errno));
    tt_export *x = NULL;
    char *manifest = NULL, *buf = malloc(256 * 1024);
    int fd = -1;
    if (buf == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    int rc = tt_export_open(l, o, &x);
    if (rc != TT_OK)
        goto out;
    int64_t limit = o->max_file_events > 0 ? o->max_file_events : DEFAULT_FILE_EVENTS;
    int64_t done = 0;
    for (int nfile = 1;; nfile++) {
        char name[64];
        snprintf(name, sizeof name, "events-%06d.%s", nfile, tt_export_format_name(o->format));
        if ((rc = create_file(dir, name, &fd)) != TT_OK)
            goto out;
        size_t n;
        while ((rc = read_file(x, buf, 256 * 1024, &n, limit)) == TT_OK && n > 0) {
            if ((rc = write_all(fd, buf, n)) != TT_OK)
                goto out;
            if (progress && x->next_seq - x->m.first_seq != done) {
                done = x->next_seq - x->m.first_seq;
                if (progress(ctx, done, x->m.count)) {
                    rc = tti_fail(TT_EMISUSE, "cancelled");
                    goto out;
                }
            }
        }
        if (rc != TT_OK)
            goto out;
        rc = close_synced(fd);
        fd = -1;
        if (rc != TT_OK || (rc = end_file(x, name)) != TT_OK)
            goto out;
        if (x->next_seq > x->m.last_seq)
            break;
    }
    if ((rc = build_manifest(x, &manifest)) != TT_OK)
        goto out;
    /* The manifest last, renamed into place: a directory with a manifest is complete. */
    if ((rc = create_file(dir, "manifest.json.tmp", &fd)) != TT_OK ||
        (rc = write_all(fd, manifest, strlen(manifest))) != TT_OK)
        goto out;
    rc = close_synced(fd);
    fd = -1;
    if (rc != TT_OK)
        goto out;
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/manifest.json.tmp", dir);
    snprintf(to, sizeof to, "%s/manifest.json", dir);
    if (link(from, to) != 0) { /* link, not rename: never replace an existing manifest */
        rc = tti_fail(errno == EEXIST ? TT_ECONFLICT : TT_EIO, "%s: %s", to, strerror(errno));
        goto out;
    }
    unlink(from);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    if (out != NULL) {
        out->tree_size = x->m.tree_size;
        out->first_seq = x->m.first_seq;
        out->last_seq = x->m.last_seq;
        out->count = x->m.count;
        out->files = (int64_t)x->m.n_files;
    }
out:
    if (fd >= 0)
        close(fd);
    free(manifest);
    free(buf);
    tt_export_free(x);
    return rc;
}
