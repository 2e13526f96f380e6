/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retention planning (SPEC 8, issue 16): which events a retention run may move to archive
 * segments. The cutoff is never later than min_retention_days allows, the range starts
 * after the last segment already in the archive directory (a segment counts once its
 * manifest exists), and events of entity ids under a legal hold are counted apart: their
 * bodies stay in the hot store. Writing nothing, it is what `tradetrail retention plan`
 * shows and what a run will act on.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

#define DAY_US (86400LL * 1000000LL)

/* The last seq covered by a complete segment (manifest present) in dir; 0 when none. */
static int archived_end(const char *dir, int64_t *end)
{
    *end = 0;
    if (dir == NULL)
        return TT_OK;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? TT_OK : tti_fail(TT_EIO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long long a, b;
        char tail[8];
        if (sscanf(e->d_name, "seg-%12lld-%12lld.%7s", &a, &b, tail) == 3 &&
            strcmp(tail, "json") == 0 && b > *end)
            *end = b;
    }
    closedir(d);
    return TT_OK;
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
    int rc = archived_end(archive_dir, &p.archived_through);
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
