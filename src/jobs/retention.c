/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retention (SPEC 8, issue 16): the plan of which events a run may move to archive
 * segments, and the run. The cutoff is never later than min_retention_days allows, the
 * range starts after the last segment the store records, and events of entity ids under a
 * legal hold keep their bodies in the hot store. A run writes each segment (archive.c:
 * written, fsynced, read back and checked against the stored leaf hashes, its manifest
 * last), and only then, in one transaction with the event that records it, records the
 * segment and removes the bodies it holds. A run killed at any step loses nothing and the
 * next run completes it (docs/OPERATIONS.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs/archive.h"
#include "jobs/holds.h"
#include "ledger/ledger.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/failpoint.h"
#include "util/fs.h"

#define DAY_US (86400LL * 1000000LL)

typedef struct seg_list {
    tti_segment **out;
    size_t *n;
} seg_list;

static int segments_in(tt_ledger *l, tti_store *s, void *ctx)
{
    seg_list *a = ctx;
    return tti_ledger_segments(l, s, a->out, a->n);
}

/* The recorded segments (a reader's snapshot), in seq order; *out freed with free(). */
static int read_segments(tt_ledger *l, tti_segment **out, size_t *n)
{
    seg_list a = {out, n};
    return tti_ledger_read(l, segments_in, &a);
}

/* The last seq of the recorded segments; 0 when none. */
static int archived_end(tt_ledger *l, int64_t *end)
{
    tti_segment *segs = NULL;
    size_t n = 0;
    int rc = read_segments(l, &segs, &n);
    *end = rc == TT_OK && n > 0 ? segs[n - 1].last_seq : 0;
    free(segs);
    return rc;
}

static int count_range(tt_ledger *l, const char *entity_id, int64_t first, int64_t last, int64_t *n)
{
    int64_t after = first - 1;
    *n = 0;
    for (;;) {
        tt_query q;
        tt_query_init(&q);
        q.entity_id = entity_id;
        q.after_seq = after;
        q.before_seq = last + 1;
        q.limit = TT_MAX_QUERY_LIMIT;
        tt_iter *it = NULL;
        const tt_event *ev;
        int rc = tt_ledger_query(l, &q, &it);
        size_t got = 0;
        while (rc == TT_OK && (rc = tt_iter_next(it, &ev)) == TT_OK) {
            got++;
            after = ev->seq;
        }
        tt_iter_free(it);
        if (rc != TT_ENOTFOUND)
            return rc;
        *n += (int64_t)got;
        if (got < TT_MAX_QUERY_LIMIT)
            return TT_OK;
    }
}

int tt_retention_plan_make(tt_ledger *l, int64_t older_than_days, int64_t min_retention_days,
                           int64_t now_us, const char *archive_dir, tt_retention_plan *out)
{
    if (l == NULL || out == NULL || older_than_days < 0 || min_retention_days < 0 ||
        older_than_days > 365000 || min_retention_days > 365000)
        return tti_fail(TT_EINVAL, "retention: days must be 0 to 365000");
    tt_retention_plan p;
    memset(&p, 0, sizeof p);
    /* SPEC 8: the legal minimum is never undercut, whatever the request. */
    p.effective_days = older_than_days > min_retention_days ? older_than_days : min_retention_days;
    p.cutoff_us = now_us - p.effective_days * DAY_US;
    (void)archive_dir; /* segments count once the store records them, wherever they are */
    int rc = archived_end(l, &p.archived_through);
    if (rc != TT_OK)
        return rc;
    p.first_seq = p.archived_through + 1;
    /* the last event with ts < cutoff: ts never decreases along seq */
    tt_query q;
    tt_query_init(&q);
    q.until_us = p.cutoff_us;
    q.order = TT_ORDER_DESC;
    q.limit = 1;
    tt_iter *it = NULL;
    const tt_event *ev;
    rc = tt_ledger_query(l, &q, &it);
    if (rc == TT_OK)
        rc = tt_iter_next(it, &ev);
    p.last_seq = rc == TT_OK ? ev->seq : 0;
    tt_iter_free(it);
    if (rc != TT_OK && rc != TT_ENOTFOUND)
        return rc;
    if (p.last_seq < p.first_seq)
        p.last_seq = p.first_seq - 1;
    p.count = p.last_seq - p.first_seq + 1;
    if (p.count > 0) {
        tt_hold *holds = NULL;
        size_t n = 0;
        if ((rc = tt_hold_list(l, &holds, &n)) != TT_OK)
            return rc;
        for (size_t i = 0; rc == TT_OK && i < n; i++) {
            int64_t c;
            rc = count_range(l, holds[i].entity_id, p.first_seq, p.last_seq, &c);
            p.held += c;
        }
        tt_hold_list_free(holds, n);
        if (rc != TT_OK)
            return rc;
    }
    *out = p;
    return TT_OK;
}

char *tt_retention_plan_to_json(const tt_retention_plan *p)
{
    char cutoff[TT_TS_LEN + 1], *s = malloc(512);
    if (s == NULL)
        return NULL;
    tt_time_format(p->cutoff_us, cutoff);
    snprintf(s, 512,
             "{\"effective_days\":%lld,\"cutoff\":\"%s\",\"archived_through\":%lld,"
             "\"first_seq\":%lld,\"last_seq\":%lld,\"count\":%lld,\"held\":%lld}",
             (long long)p->effective_days, cutoff, (long long)p->archived_through,
             (long long)p->first_seq, (long long)p->last_seq, (long long)p->count,
             (long long)p->held);
    return s;
}

/* ---- the run ---- */

#define PURGE_WINDOW 1000 /* seqs per removal statement */

/* Which bodies stay hot: those of held entity ids, and the holds themselves (the state of
 * the holds is their events). */
typedef struct keep_ctx {
    const tt_hold *holds;
    size_t n;
    int64_t kept;
} keep_ctx;

static int keep_body(void *ctx, const char *entity, const char *entity_id)
{
    keep_ctx *k = ctx;
    int keep = strcmp(entity, TTI_HOLD_ENTITY) == 0;
    for (size_t i = 0; !keep && i < k->n; i++)
        keep = strcmp(k->holds[i].entity_id, entity_id) == 0;
    k->kept += keep;
    return keep;
}

typedef struct seg_tx {
    tti_segment seg;
    int fresh; /* record it (ARCHIVED), or remove what an old one holds (SWEPT) */
    int64_t removed, kept;
} seg_tx;

/* Inside the write transaction: the segment is the next one (or a recorded one), holds as
 * they are now, the record, then the removal. */
static int seg_before(void *ctx, tt_ledger *l, tti_store *w)
{
    seg_tx *t = ctx;
    tti_segment *segs = NULL;
    size_t n = 0;
    int rc = tti_ledger_segments(l, w, &segs, &n);
    if (rc != TT_OK)
        return rc;
    int64_t end = n > 0 ? segs[n - 1].last_seq : 0;
    const tti_segment *have = tti_segment_find(segs, n, t->seg.first_seq);
    int ok = t->fresh ? end == t->seg.first_seq - 1
                      : have != NULL && have->first_seq == t->seg.first_seq &&
                            have->last_seq == t->seg.last_seq;
    free(segs);
    if (!ok)
        return tti_fail(TT_ECONFLICT,
                        "archive: seq %lld..%lld: another retention run recorded this range "
                        "first",
                        (long long)t->seg.first_seq, (long long)t->seg.last_seq);
    tt_hold *holds = NULL;
    size_t nh = 0;
    if ((rc = tti_hold_list_on(l, w, &holds, &nh)) != TT_OK)
        return rc;
    if (t->fresh && (rc = l->ops->segment_put(w, &t->seg)) != TT_OK)
        rc = tti_store_fail(l, w, rc);
    keep_ctx k = {holds, nh, 0};
    for (int64_t a = t->seg.first_seq; rc == TT_OK && a <= t->seg.last_seq; a += PURGE_WINDOW) {
        int64_t b = t->seg.last_seq - a < PURGE_WINDOW ? t->seg.last_seq : a + PURGE_WINDOW - 1;
        int64_t removed = 0;
        if ((rc = l->ops->purge(w, a, b, keep_body, &k, &removed)) != TT_OK)
            rc = tti_store_fail(l, w, rc);
        t->removed += removed;
        tti_failpoint("retention-mid-delete");
    }
    t->kept = k.kept;
    tt_hold_list_free(holds, nh);
    return rc;
}

/* One transaction: the event recording the segment, the record, the removal. */
static int commit_segment(tt_ledger *l, seg_tx *t)
{
    char sha[2 * TT_HASH_SIZE + 1], json[512], reason[160];
    tti_hex_encode(t->seg.sha256, TT_HASH_SIZE, sha);
    snprintf(json, sizeof json,
             "{\"first_seq\":%lld,\"last_seq\":%lld,\"count\":%lld,\"file\":\"%s\","
             "\"bytes\":%lld,\"sha256\":\"%s\"}",
             (long long)t->seg.first_seq, (long long)t->seg.last_seq,
             (long long)(t->seg.last_seq - t->seg.first_seq + 1), t->seg.file,
             (long long)t->seg.bytes, sha);
    snprintf(reason, sizeof reason, "%s seq %lld..%lld",
             t->fresh ? "archived" : "bodies no longer held removed from",
             (long long)t->seg.first_seq, (long long)t->seg.last_seq);
    char *meta = NULL, err[256];
    int rc = tt_metadata_normalize(json, strlen(json), &meta, err, sizeof err);
    if (rc != TT_OK)
        return tti_fail(rc, "retention metadata: %s", err);
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = TTI_RETENTION_ENTITY;
    ev.entity_id = t->seg.file;
    ev.event_type = t->fresh ? "ARCHIVED" : "SWEPT";
    ev.actor = "system";
    ev.reason = reason;
    ev.metadata = meta;
    static const tti_tx_hooks hooks = {.before = seg_before};
    tt_append_result res;
    rc = tti_ledger_append_tx(l, &ev, 1, &hooks, t, &res);
    tt_free(meta);
    return rc;
}

/* A recorded segment whose range still holds bodies no hold keeps (a hold lifted since):
 * checked again against its manifest and signed root, then those bodies go. */
static int sweep(tt_ledger *l, const char *dir, const tti_segment *g, tt_retention_result *r)
{
    tt_hold *holds = NULL;
    size_t nh = 0;
    int rc = tt_hold_list(l, &holds, &nh);
    if (rc != TT_OK)
        return rc;
    keep_ctx k = {holds, nh, 0};
    int64_t releasable = 0, after = g->first_seq - 1;
    for (;;) {
        tt_query q;
        tt_query_init(&q);
        q.after_seq = after;
        q.before_seq = g->last_seq + 1;
        q.limit = TT_MAX_QUERY_LIMIT;
        tt_iter *it = NULL;
        const tt_event *ev;
        size_t got = 0;
        if ((rc = tt_ledger_query(l, &q, &it)) != TT_OK)
            break;
        while ((rc = tt_iter_next(it, &ev)) == TT_OK) {
            got++;
            after = ev->seq;
            releasable += !keep_body(&k, ev->entity, ev->entity_id);
        }
        tt_iter_free(it);
        if (rc != TT_ENOTFOUND)
            break;
        rc = TT_OK;
        if (got < TT_MAX_QUERY_LIMIT)
            break;
    }
    tt_hold_list_free(holds, nh);
    if (rc != TT_OK || releasable == 0)
        return rc;
    if ((rc = tti_archive_check(l, dir, g)) != TT_OK)
        return rc;
    seg_tx t = {.seg = *g, .fresh = 0};
    if ((rc = commit_segment(l, &t)) == TT_OK) {
        r->swept += t.removed;
        r->kept += t.kept;
    }
    return rc;
}

/* Only one run per archive directory at a time (the lock is the directory's .lock file). */
static int lock_dir(const char *dir, int *fd)
{
    char path[4200];
    char merr[512];
    if (tti_mkdir_p(dir, merr, sizeof merr) != TT_OK) /* archive_dir/NAME: parents too */
        return tti_fail(TT_EIO, "%s", merr);
    snprintf(path, sizeof path, "%s/.lock", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return tti_fail(TT_EIO, "%s: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        close(*fd);
        *fd = -1;
        return tti_fail(TT_EBUSY, "another retention run is using %s", dir);
    }
    return TT_OK;
}

/* Files a killed run left: temporary files (nothing records a .tmp file, and the lock keeps
 * any other run off the directory), and segments the store never recorded (their bodies
 * never left the hot store; they are written again). WARNING: ledgers may share an archive
 * directory and segment names hold only seqs: a segment is deleted only when it is provably
 * this ledger's, never because its range lies beyond this ledger's. */
static int clean_dir(tt_ledger *l, const char *dir, int64_t end)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return tti_fail(TT_EIO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = TT_OK;
    while (rc == TT_OK && (e = readdir(d)) != NULL) {
        long long a, b;
        int dot = 0; /* the '.' matched: a named ledger's directory (SPEC 15) has none */
        size_t len = strlen(e->d_name);
        int ours = len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0;
        if (strncmp(e->d_name, "seg-", 4) != 0 || e->d_type == DT_DIR)
            continue;
        if (!ours && sscanf(e->d_name, "seg-%12lld-%12lld.%n", &a, &b, &dot) == 2 && dot > 0 &&
            a > end)
            rc = tti_archive_leftover_ours(l, dir, a, b, &ours);
        if (rc == TT_OK && ours) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (unlink(path) != 0 && errno != ENOENT)
                rc = tti_fail(TT_EIO, "%s: %s", path, strerror(errno));
        }
    }
    closedir(d);
    return rc;
}

int tt_retention_run(tt_ledger *l, const tt_retention_options *o, tt_retention_result *out)
{
    if (l == NULL || o == NULL || o->archive_dir == NULL)
        return tti_fail(TT_EMISUSE, "tt_retention_run: NULL argument");
    int64_t per = o->segment_events > 0 ? o->segment_events : TT_RETENTION_SEGMENT_EVENTS;
    if (per > TTI_ARCHIVE_MAX_EVENTS)
        return tti_fail(TT_EINVAL, "segment_events: at most %d events per segment",
                        TTI_ARCHIVE_MAX_EVENTS);
    tt_retention_result r;
    memset(&r, 0, sizeof r);
    int fd = -1;
    int rc = lock_dir(o->archive_dir, &fd);
    if (rc != TT_OK)
        return rc;
    tti_segment *segs = NULL;
    size_t n = 0;
    int64_t now = o->now_us != 0 ? o->now_us : tt_time_now_us();
    if ((rc = tt_retention_plan_make(l, o->older_than_days, o->min_retention_days, now,
                                     o->archive_dir, &r.plan)) != TT_OK ||
        (rc = clean_dir(l, o->archive_dir, r.plan.archived_through)) != TT_OK ||
        (rc = read_segments(l, &segs, &n)) != TT_OK)
        goto out;
    for (size_t i = 0; i < n && rc == TT_OK; i++)
        rc = sweep(l, o->archive_dir, &segs[i], &r);
    for (int64_t first = r.plan.first_seq; rc == TT_OK && first <= r.plan.last_seq;) {
        int64_t last = r.plan.last_seq - first < per ? r.plan.last_seq : first + per - 1;
        tt_archive_segment a;
        if ((rc = tt_archive_write_segment(l, o->archive_dir, first, last, &a)) != TT_OK)
            break;
        seg_tx t = {.fresh = 1};
        t.seg.first_seq = first;
        t.seg.last_seq = last;
        t.seg.bytes = a.bytes;
        t.seg.ts_us = tt_time_now_us();
        memcpy(t.seg.sha256, a.sha256, TT_HASH_SIZE);
        snprintf(t.seg.file, sizeof t.seg.file, "%s", a.name);
        if ((rc = commit_segment(l, &t)) != TT_OK)
            break;
        tti_failpoint("retention-recorded");
        r.segments++;
        r.archived += t.removed;
        r.kept += t.kept;
        if (r.first_seq == 0)
            r.first_seq = first;
        r.last_seq = last;
        if (o->progress != NULL &&
            o->progress(o->progress_ctx, last - r.plan.first_seq + 1, r.plan.count) != 0)
            rc = tti_fail(TT_EMISUSE, "retention cancelled after seq %lld", (long long)last);
        first = last + 1;
    }
out:
    free(segs);
    close(fd);
    if (rc == TT_OK && out != NULL)
        *out = r;
    return rc;
}

char *tt_retention_result_to_json(const tt_retention_result *r)
{
    char *plan = tt_retention_plan_to_json(&r->plan);
    if (plan == NULL)
        return NULL;
    tti_buf b;
    tti_buf_init(&b, 4096);
    tti_buf_printf(&b,
                   "{\"plan\":%s,\"segments\":%lld,\"first_seq\":%lld,\"last_seq\":%lld,"
                   "\"archived\":%lld,\"kept\":%lld,\"swept\":%lld}",
                   plan, (long long)r->segments, (long long)r->first_seq, (long long)r->last_seq,
                   (long long)r->archived, (long long)r->kept, (long long)r->swept);
    free(plan);
    return b.failed ? (tti_buf_free(&b), NULL) : tti_buf_take(&b);
}
