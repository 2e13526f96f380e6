/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AI-feedback training sync (SPEC 6.2, seed 000): feedback records past the watermark
 * go, in seq order and in batches, to a file:PATH or http(s):// sink. A batch is first
 * prepared (ai_feedback_sync/BATCH: its records and id are fixed in sync_state), then
 * delivered, then committed (ai_feedback_sync/SYNC, advancing the watermark in the same
 * transaction). A crash anywhere re-sends the same batch under the same id: the file sink
 * skips what its last line shows was already written, an HTTP receiver dedups by batch id.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "jobs/sink.h"
#include "ledger/ledger.h"
#include "store/jobs_store.h"
#include "util/buf.h"

#define TAIL_BYTES 16384       /* a record line is far shorter (ids <= 128 characters) */
#define LOCK_WAIT_MS 30000     /* how long a run waits for another run's lock on a file */
#define HTTP_TIMEOUT_MS 30000L /* one POST */
#define MAX_CONFLICTS 8        /* concurrent runs racing for the same batch */

typedef struct sink {
    const char *spec; /* as configured */
    const char *path; /* file sink: the path; NULL for HTTP */
    char shown[512];  /* what the events record: no credentials, no query string */
} sink;

static int parse_sink(const char *spec, sink *out)
{
    memset(out, 0, sizeof *out);
    out->spec = spec;
    if (spec == NULL || spec[0] == '\0')
        return tti_fail(TT_EINVAL, "feedback_sink: not configured (file:PATH or an http(s):// "
                                   "URL)");
    if (strncmp(spec, "file:", 5) == 0) {
        out->path = spec + 5;
        if (strncmp(out->path, "//", 2) == 0)
            out->path += 2; /* file:///abs/path */
        if (out->path[0] == '\0')
            return tti_fail(TT_EINVAL, "feedback_sink: file: needs a path");
        snprintf(out->shown, sizeof out->shown, "file:%s", out->path);
        return TT_OK;
    }
    size_t scheme = strncmp(spec, "http://", 7) == 0    ? 7
                    : strncmp(spec, "https://", 8) == 0 ? 8
                                                        : 0;
    if (scheme == 0 || spec[scheme] == '\0')
        return tti_fail(TT_EINVAL, "feedback_sink: want file:PATH or an http:// or https:// URL");
    /* WARNING: a URL may carry credentials (user:pass@ or a token in the query): the
     * ledger only ever records scheme, host and path. */
    const char *host = spec + scheme, *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at != NULL && (slash == NULL || at < slash))
        host = at + 1;
    size_t n = strcspn(host, "?#");
    snprintf(out->shown, sizeof out->shown, "%.*s%.*s", (int)scheme, spec, (int)(n > 400 ? 400 : n),
             host);
    return TT_OK;
}

static int read_state(tt_ledger *l, tti_sync_state *st)
{
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    if ((rc = l->ops->begin_read(s)) == TT_OK) {
        rc = l->ops->jobs->sync_get(s, st);
        l->ops->rollback(s);
    }
    if (rc != TT_OK)
        tti_store_fail(l, s, rc);
    tti_reader_put(l, s);
    return rc;
}

static int read_records(tt_ledger *l, int64_t first, int64_t last, tt_feedback **out, size_t *n)
{
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    if ((rc = l->ops->begin_read(s)) == TT_OK) {
        rc = l->ops->jobs->feedback_range(s, first, last, TT_SYNC_MAX_BATCH, out, n);
        l->ops->rollback(s);
    }
    if (rc != TT_OK)
        tti_store_fail(l, s, rc);
    tti_reader_put(l, s);
    return rc;
}

/* ---- events ---- */

typedef struct batch_tx {
    tti_sync_state want; /* the batch this run works on */
    int committed;       /* SYNC: the state after it */
} batch_tx;

/* BATCH: only when no batch is pending and the watermark is the one the batch follows. */
static int prepare_before(void *ctx, tt_ledger *l, tti_store *w)
{
    batch_tx *t = ctx;
    tti_sync_state cur;
    int rc = l->ops->jobs->sync_get(w, &cur);
    if (rc != TT_OK)
        return tti_store_fail(l, w, rc);
    if (cur.batch_id[0] != '\0' || cur.watermark != t->want.watermark)
        return tti_fail(TT_ECONFLICT, "another training sync prepared a batch first");
    rc = l->ops->jobs->sync_set(w, &t->want);
    return rc == TT_OK ? TT_OK : tti_store_fail(l, w, rc);
}

/* SYNC: the pending batch must still be ours; the watermark moves to its end. */
static int commit_before(void *ctx, tt_ledger *l, tti_store *w)
{
    batch_tx *t = ctx;
    tti_sync_state cur;
    int rc = l->ops->jobs->sync_get(w, &cur);
    if (rc != TT_OK)
        return tti_store_fail(l, w, rc);
    if (strcmp(cur.batch_id, t->want.batch_id) != 0)
        return tti_fail(TT_ECONFLICT, "batch %s was committed by another training sync",
                        t->want.batch_id);
    tti_sync_state next;
    memset(&next, 0, sizeof next);
    next.watermark = t->want.batch_to;
    rc = l->ops->jobs->sync_set(w, &next);
    return rc == TT_OK ? TT_OK : tti_store_fail(l, w, rc);
}

static int batch_meta(const tti_sync_state *b, const sink *k, char **out)
{
    tti_buf m;
    tti_buf_init(&m, 4096);
    tti_buf_printf(&m, "{\"from_seq\":%lld,\"to_seq\":%lld,\"count\":%lld,\"sink\":",
                   (long long)b->batch_from, (long long)b->batch_to, (long long)b->batch_count);
    tti_buf_json_str(&m, k->shown);
    tti_buf_adds(&m, ",\"batch_id\":");
    tti_buf_json_str(&m, b->batch_id);
    tti_buf_adds(&m, "}");
    if (m.failed) {
        tti_buf_free(&m);
        return tti_fail(TT_ENOMEM, "out of memory");
    }
    char err[256];
    int rc = tt_metadata_normalize(m.data, m.len, out, err, sizeof err);
    tti_buf_free(&m);
    return rc == TT_OK ? TT_OK : tti_fail(rc, "sync metadata: %s", err);
}

/* One ai_feedback_sync event about batch b, with hooks (or none). */
static int sync_event(tt_ledger *l, const char *type, const tti_sync_state *b, const sink *k,
                      const char *reason, const tti_tx_hooks *hooks, batch_tx *t, int64_t *seq)
{
    char *meta = NULL;
    int rc = batch_meta(b, k, &meta);
    if (rc != TT_OK)
        return rc;
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "ai_feedback_sync";
    ev.entity_id = b->batch_id;
    ev.event_type = type;
    ev.actor = "system";
    ev.reason = reason;
    ev.metadata = meta;
    tt_append_result res;
    rc = tti_ledger_append_tx(l, &ev, 1, hooks, t, &res);
    tt_free(meta);
    if (rc == TT_OK && seq != NULL)
        *seq = res.seq;
    return rc;
}

/* ---- the records as JSON ---- */

/* The shortest %g form that reads back to the same double. */
static void num(tti_buf *b, const char *key, double v)
{
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    tti_buf_printf(b, ",\"%s\":%s", key, tmp);
}

static void record_json(tti_buf *b, const tt_feedback *f)
{
    char ts[TT_TS_LEN + 1];
    tt_time_format(f->ts_us, ts);
    tti_buf_printf(b, "\"seq\":%lld,\"id\":%lld,\"ts\":\"%s\",\"strategy_id\":", (long long)f->seq,
                   (long long)f->id, ts);
    tti_buf_json_str(b, f->strategy_id);
    tti_buf_adds(b, ",\"user_id\":");
    tti_buf_json_str(b, f->user_id);
    tti_buf_adds(b, ",\"benchmark\":");
    if (f->benchmark != NULL)
        tti_buf_json_str(b, f->benchmark);
    else
        tti_buf_adds(b, "null");
    num(b, "ai_return", f->ai_return);
    num(b, "benchmark_return", f->benchmark_return);
    num(b, "alpha", f->alpha);
    num(b, "reward", f->reward);
    tti_buf_adds(b, ",\"outcome\":");
    const char *o = tt_outcome_name(f->outcome);
    if (o != NULL)
        tti_buf_json_str(b, o);
    else
        tti_buf_adds(b, "null");
}

/* ---- file sink ---- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int lock_file(int fd)
{
    for (int waited = 0; waited < LOCK_WAIT_MS; waited += 10) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    errno = ETIMEDOUT;
    return -1;
}

/*
 * The file's last complete line, when it belongs to batch_id, gives the last seq of the
 * batch already written; a torn last line (a crash in mid-write) is cut off first, since
 * its batch was never committed. *done = 0 when nothing of the batch is there.
 */
static int check_tail(int fd, const char *batch_id, int64_t *done, char *err, size_t errlen)
{
    *done = 0;
    struct stat st;
    if (fstat(fd, &st) != 0)
        goto io;
    if (st.st_size == 0)
        return TT_OK;
    off_t start = st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0;
    size_t len = (size_t)(st.st_size - start);
    char *buf = malloc(len + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return TT_ENOMEM;
    }
    ssize_t got = pread(fd, buf, len, start);
    if (got != (ssize_t)len) {
        free(buf);
        goto io;
    }
    buf[len] = '\0';
    size_t end = len; /* one past the last '\n' */
    while (end > 0 && buf[end - 1] != '\n')
        end--;
    if (end < len) {
        if (end == 0 && start > 0) {
            free(buf);
            snprintf(err, errlen,
                     "the sink file ends with a line longer than %d bytes: not "
                     "written by tradetrail",
                     TAIL_BYTES);
            return TT_EIO;
        }
        if (ftruncate(fd, start + (off_t)end) != 0 || fsync(fd) != 0) {
            free(buf);
            goto io;
        }
    }
    if (end > 0) {
        buf[end - 1] = '\0';
        const char *line = strrchr(buf, '\n');
        line = line != NULL ? line + 1 : (start == 0 ? buf : NULL);
        char prefix[96];
        snprintf(prefix, sizeof prefix, "{\"batch_id\":\"%s\",\"seq\":", batch_id);
        if (line != NULL && strncmp(line, prefix, strlen(prefix)) == 0)
            *done = strtoll(line + strlen(prefix), NULL, 10);
    }
    free(buf);
    return TT_OK;
io:
    snprintf(err, errlen, "the sink file: %s", strerror(errno));
    return TT_EIO;
}

static int fsync_dir(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int deliver_file(const sink *k, const tti_sync_state *b, const tt_feedback *recs, size_t n,
                        char *err, size_t errlen)
{
    struct stat st;
    int created = stat(k->path, &st) != 0;
    int fd = open(k->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", k->path, strerror(errno));
        return TT_EIO;
    }
    int rc = TT_EIO;
    tti_buf out;
    tti_buf_init(&out, (size_t)TT_SYNC_MAX_BATCH * 2048);
    /* One run at a time per file, across processes: the tail check and the append must
     * not interleave with another run's. */
    if (lock_file(fd) != 0) {
        snprintf(err, errlen, "%s: cannot lock: %s", k->path, strerror(errno));
        goto out;
    }
    int64_t done;
    if ((rc = check_tail(fd, b->batch_id, &done, err, errlen)) != TT_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].seq <= done)
            continue; /* written before a crash: never twice */
        tti_buf_adds(&out, "{\"batch_id\":");
        tti_buf_json_str(&out, b->batch_id);
        tti_buf_adds(&out, ",");
        record_json(&out, &recs[i]);
        tti_buf_adds(&out, "}\n");
    }
    rc = TT_EIO;
    if (out.failed) {
        snprintf(err, errlen, "out of memory");
        rc = TT_ENOMEM;
        goto out;
    }
    if (lseek(fd, 0, SEEK_END) < 0 || write_all(fd, out.data, out.len) != 0 || fsync(fd) != 0 ||
        (created && fsync_dir(k->path) != 0)) {
        snprintf(err, errlen, "%s: %s", k->path, strerror(errno));
        goto out;
    }
    rc = TT_OK;
out:
    tti_buf_free(&out);
    close(fd); /* releases the lock */
    return rc;
}

/* ---- HTTP sink ---- */

static int deliver_http(const sink *k, const tti_sync_state *b, const tt_feedback *recs, size_t n,
                        char *err, size_t errlen)
{
    tti_buf out;
    tti_buf_init(&out, (size_t)TT_SYNC_MAX_BATCH * 2048);
    tti_buf_adds(&out, "{\"batch_id\":");
    tti_buf_json_str(&out, b->batch_id);
    tti_buf_printf(&out, ",\"from_seq\":%lld,\"to_seq\":%lld,\"count\":%zu,\"records\":[",
                   (long long)b->batch_from, (long long)b->batch_to, n);
    for (size_t i = 0; i < n; i++) {
        tti_buf_adds(&out, i ? ",{" : "{");
        record_json(&out, &recs[i]);
        tti_buf_adds(&out, "}");
    }
    tti_buf_adds(&out, "]}");
    int rc;
    if (out.failed) {
        snprintf(err, errlen, "out of memory");
        rc = TT_ENOMEM;
    } else {
        rc = tti_http_sink_post(k->spec, b->batch_id, out.data, out.len, HTTP_TIMEOUT_MS, err,
                                errlen);
    }
    tti_buf_free(&out);
    return rc;
}

/* ---- the sync ---- */

static void make_batch_id(tt_ledger *l, int64_t from, int64_t to, char *out, size_t len)
{
    /* Deterministic: the same records get the same id on every retry; the origin keeps
     * ids of different ledgers feeding one receiver apart. */
    const char *origin = tt_ledger_origin(l);
    uint8_t h[32];
    tti_sha256((const uint8_t *)origin, strlen(origin), NULL, 0, NULL, 0, h);
    snprintf(out, len, "fbs-%02x%02x%02x%02x-%lld-%lld", h[0], h[1], h[2], h[3], (long long)from,
             (long long)to);
}

/* The pending batch, or a new one prepared from the records past the watermark. *n = 0
 * when there is nothing to send. */
static int next_batch(tt_ledger *l, const sink *k, tti_sync_state *b, tt_feedback **recs, size_t *n)
{
    *recs = NULL;
    *n = 0;
    for (int attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
        int rc = read_state(l, b);
        if (rc != TT_OK)
            return rc;
        if (b->batch_id[0] != '\0') {
            if ((rc = read_records(l, b->batch_from, b->batch_to, recs, n)) != TT_OK)
                return rc;
            if ((int64_t)*n != b->batch_count) {
                tt_feedback_list_free(*recs, *n);
                *recs = NULL;
                return tti_fail(TT_EDB, "batch %s should hold %lld records, the store has %zu",
                                b->batch_id, (long long)b->batch_count, *n);
            }
            return TT_OK;
        }
        if ((rc = read_records(l, b->watermark + 1, INT64_MAX, recs, n)) != TT_OK)
            return rc;
        if (*n == 0) {
            tt_feedback_list_free(*recs, 0); /* the empty array the store allocated */
            *recs = NULL;
            return TT_OK;
        }
        b->batch_from = (*recs)[0].seq;
        b->batch_to = (*recs)[*n - 1].seq;
        b->batch_count = (int64_t)*n;
        make_batch_id(l, b->batch_from, b->batch_to, b->batch_id, sizeof b->batch_id);
        batch_tx t = {.want = *b};
        static const tti_tx_hooks hooks = {.before = prepare_before};
        rc = sync_event(l, "BATCH", b, k, NULL, &hooks, &t, NULL);
        if (rc == TT_OK)
            return TT_OK;
        tt_feedback_list_free(*recs, *n);
        *recs = NULL;
        *n = 0;
        if (rc != TT_ECONFLICT)
            return rc;
    }
    return tti_fail(TT_EBUSY, "other training syncs kept preparing batches; try again");
}

int tt_feedback_sync(tt_ledger *l, const char *sink_spec, tt_sync_result *out)
{
    if (l == NULL || out == NULL)
        return tti_fail(TT_EMISUSE, "tt_feedback_sync: NULL argument");
    memset(out, 0, sizeof *out);
    sink k;
    int rc = parse_sink(sink_spec, &k);
    if (rc != TT_OK)
        return rc;
    /* Bounded: each pass commits a batch or stops; new records arriving meanwhile wait
     * for the next run once this many batches went out. */
    for (int pass = 0; pass < 100000; pass++) {
        tti_sync_state b;
        tt_feedback *recs = NULL;
        size_t n = 0;
        if ((rc = next_batch(l, &k, &b, &recs, &n)) != TT_OK)
            return rc;
        if (n == 0) {
            out->watermark = b.watermark;
            return TT_OK;
        }
        char err[sizeof out->error] = "";
        rc = k.path != NULL ? deliver_file(&k, &b, recs, n, err, sizeof err)
                            : deliver_http(&k, &b, recs, n, err, sizeof err);
        tt_feedback_list_free(recs, n);
        int64_t seq = 0;
        if (rc == TT_OK) {
            batch_tx t = {.want = b};
            static const tti_tx_hooks hooks = {.before = commit_before};
            rc = sync_event(l, "SYNC", &b, &k, NULL, &hooks, &t, &seq);
            if (rc == TT_ECONFLICT)
                continue; /* another run committed this very batch: carry on */
            if (rc != TT_OK)
                snprintf(err, sizeof err, "committing batch %s: %s", b.batch_id,
                         tt_ledger_errmsg(l));
        }
        snprintf(out->batch_id, sizeof out->batch_id, "%s", b.batch_id);
        if (rc != TT_OK) {
            /* The watermark stays: the next run re-sends this batch under the same id. */
            int keep = rc;
            snprintf(out->error, sizeof out->error, "%s", err);
            if (sync_event(l, "SYNC_FAILED", &b, &k, err[0] ? err : tt_strerror(keep), NULL, NULL,
                           &seq) == TT_OK)
                out->event_seq = seq;
            out->watermark = b.watermark;
            return tti_fail(keep, "%s", err[0] ? err : tt_strerror(keep));
        }
        out->event_seq = seq;
        if (out->count == 0)
            out->from_seq = b.batch_from;
        out->to_seq = b.batch_to;
        out->count += b.batch_count;
        out->batches++;
        out->watermark = b.batch_to;
    }
    return TT_OK;
}

char *tt_sync_result_to_json(const tt_sync_result *r)
{
    tti_buf b;
    tti_buf_init(&b, 4096);
    tti_buf_printf(&b,
                   "{\"count\":%lld,\"batches\":%lld,\"from_seq\":%lld,\"to_seq\":%lld,"
                   "\"watermark\":%lld,\"event_seq\":%lld,\"batch_id\":",
                   (long long)r->count, (long long)r->batches, (long long)r->from_seq,
                   (long long)r->to_seq, (long long)r->watermark, (long long)r->event_seq);
    if (r->batch_id[0])
        tti_buf_json_str(&b, r->batch_id);
    else
        tti_buf_adds(&b, "null");
    if (r->error[0]) {
        tti_buf_adds(&b, ",\"error\":");
        tti_buf_json_str(&b, r->error);
    }
    tti_buf_adds(&b, "}");
    return tti_buf_take(&b);
}

int tt_feedback_sync_job(tt_ledger *l, const char *sink_spec, const char *trigger, int64_t slot_us,
                         tt_sync_result *out)
{
    if (l == NULL || trigger == NULL || out == NULL)
        return tti_fail(TT_EMISUSE, "tt_feedback_sync_job: NULL argument");
    sink k;
    int rc = parse_sink(sink_spec, &k); /* a configuration mistake is not a run */
    if (rc != TT_OK)
        return rc;
    int64_t run;
    rc = tt_job_begin(l, TT_JOB_FEEDBACK_SYNC, trigger, slot_us, &run);
    if (rc != TT_OK)
        return rc;
    rc = tt_feedback_sync(l, sink_spec, out);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tt_ledger_errmsg(l));
    char *json = rc == TT_OK ? tt_sync_result_to_json(out) : NULL;
    int erc = tt_job_end(l, run, TT_JOB_FEEDBACK_SYNC, trigger, rc == TT_OK ? NULL : msg, json);
    tt_free(json);
    if (rc != TT_OK)
        return tti_fail(rc, "%s", msg);
    return erc;
}
