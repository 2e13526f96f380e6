/* SPDX-License-Identifier: Apache-2.0 */
/* Reading events: filtered queries through an iterator, one event by seq, and statistics. */
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "ledger/ledger.h"

struct tt_iter {
    tt_ledger *l;
    tti_store *s;
    tti_store_iter *it;
    /* The corrected view (SPEC 15): the corrections, the event shown and its metadata,
     * and how many more events the caller asked for. */
    tti_corrections *corr;
    tt_event shown;
    char *meta;
    size_t left;
    /* include_archive (SPEC 8): the archived matches, served before the hot store's events
     * (asc) or after them (desc), at most limit in all. */
    int with_archive, hot_done;
    tt_event **arch;
    size_t n_arch, i_arch, served, limit;
    tt_order order;
};

void tt_query_init(tt_query *q)
{
    memset(q, 0, sizeof *q);
    q->since_us = TT_TIME_NONE;
    q->until_us = TT_TIME_NONE;
    q->limit = 100;
    q->order = TT_ORDER_ASC;
}

static int same(const char *filter, const char *value)
{
    return filter == NULL || (value != NULL && strcmp(filter, value) == 0);
}

/* The in-memory twin of the stores' WHERE clauses (store/sqlite_query.c, postgres_query.c);
 * tests/unit/test_ledger.c holds the two to the same answers on random events and queries. */
int tt_query_matches(const tt_query *q, const tt_event *e)
{
    if ((q->after_seq > 0 && e->seq <= q->after_seq) ||
        (q->before_seq > 0 && e->seq >= q->before_seq))
        return 0;
    if ((q->since_us != TT_TIME_NONE && e->ts_us < q->since_us) ||
        (q->until_us != TT_TIME_NONE && e->ts_us >= q->until_us))
        return 0;
    if (!same(q->entity, e->entity) || !same(q->entity_id, e->entity_id) ||
        !same(q->actor, e->actor))
        return 0;
    int typed = q->n_event_types == 0;
    for (size_t i = 0; !typed && i < q->n_event_types && i < TT_MAX_QUERY_TYPES; i++)
        typed = same(q->event_types[i], e->event_type);
    if (!typed)
        return 0;
    /* Both only narrow what the stored fields match. */
    return q->text != NULL || q->view != TT_VIEW_STORED ? -1 : 1;
}

static int check_query(const tt_query *q)
{
    if (q->limit > TT_MAX_QUERY_LIMIT)
        return tti_fail(TT_EINVAL, "limit must be between 1 and %d (got %zu)", TT_MAX_QUERY_LIMIT,
                        q->limit);
    if (q->n_event_types > TT_MAX_QUERY_TYPES)
        return tti_fail(TT_EINVAL, "at most %d event types per query", TT_MAX_QUERY_TYPES);
    if (q->after_seq < 0 || q->before_seq < 0)
        return tti_fail(TT_EINVAL, "after_seq and before_seq must not be negative");
    if (q->order != TT_ORDER_ASC && q->order != TT_ORDER_DESC)
        return tti_fail(TT_EINVAL, "order must be asc or desc");
    return TT_OK;
}

/* SPEC 8: the archived part of a query, collected now; the hot store's part (*sq) starts
 * after the last archived seq (bodies kept hot there are served from their segment). */
static int with_archive(tt_ledger *l, tt_iter *it, const tt_query *q, tt_query *sq)
{
    tti_segment *segs = NULL;
    size_t n = 0;
    int rc = tti_ledger_segments(l, it->s, &segs, &n);
    if (rc != TT_OK || n == 0) {
        free(segs);
        return rc;
    }
    int64_t end = segs[n - 1].last_seq;
    it->with_archive = 1;
    it->limit = q->limit ? q->limit : 100;
    it->order = q->order;
    rc = tti_archive_collect(l, segs, n, q, it->limit, &it->arch, &it->n_arch);
    free(segs);
    if (sq->after_seq < end)
        sq->after_seq = end;
    /* asc: the hot store only fills what the archive left of the page */
    if (q->order == TT_ORDER_ASC && it->n_arch >= it->limit)
        it->hot_done = 1;
    else if (q->order == TT_ORDER_ASC)
        sq->limit = it->limit - it->n_arch;
    return rc;
}

int tt_ledger_query(tt_ledger *l, const tt_query *q, tt_iter **out)
{
    int rc = check_query(q);
    if (rc != TT_OK)
        return rc;
    tt_iter *it = calloc(1, sizeof *it);
    if (it == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    it->l = l;
    if ((rc = tti_reader_get(l, &it->s)) != TT_OK) {
        free(it);
        return rc;
    }
    tt_query sq = *q;
    if (q->include_archive && l->archive.read != NULL &&
        (rc = with_archive(l, it, q, &sq)) != TT_OK) {
        tt_iter_free(it);
        return rc;
    }
    if (q->view == TT_VIEW_CORRECTED) {
        if ((rc = tti_corrections_load(l, it->s, &it->corr)) != TT_OK) {
            tt_iter_free(it);
            return rc;
        }
        /* Each correction leaves out at most itself and the event it voids: reading that
         * many more rows still fills the page the caller asked for. */
        it->left = q->limit ? q->limit : 100;
        sq.limit = it->left + 2 * tti_corrections_count(it->corr);
    }
    if ((rc = l->ops->query(it->s, &sq, &it->it)) != TT_OK) {
        rc = tti_store_fail(l, it->s, rc);
        tt_iter_free(it);
        return rc;
    }
    *out = it;
    return TT_OK;
}

static int hot_next(tt_iter *it, const tt_event **ev)
{
    for (;;) {
        if (it->corr != NULL && it->left == 0)
            return TT_ENOTFOUND;
        const tt_event *raw;
        int rc = it->l->ops->iter_next(it->it, &raw);
        if (rc != TT_OK && rc != TT_ENOTFOUND)
            return tti_store_fail(it->l, it->s, rc);
        if (rc != TT_OK || it->corr == NULL) {
            *ev = raw;
            return rc;
        }
        free(it->meta);
        int hide = tti_corrections_apply(it->corr, raw, &it->shown, &it->meta);
        if (hide < 0)
            return tti_fail(TT_ENOMEM, "out of memory applying a correction");
        if (hide)
            continue;
        it->left--;
        *ev = &it->shown;
        return TT_OK;
    }
}

int tt_iter_next(tt_iter *it, const tt_event **ev)
{
    if (!it->with_archive)
        return hot_next(it, ev);
    if (it->served >= it->limit)
        return TT_ENOTFOUND;
    if (it->order == TT_ORDER_ASC && it->i_arch < it->n_arch) {
        *ev = it->arch[it->i_arch++];
        it->served++;
        return TT_OK;
    }
    if (!it->hot_done) {
        int rc = hot_next(it, ev);
        if (rc == TT_OK)
            it->served++;
        if (rc != TT_ENOTFOUND)
            return rc;
        it->hot_done = 1;
    }
    if (it->order == TT_ORDER_DESC && it->i_arch < it->n_arch) {
        *ev = it->arch[it->i_arch++];
        it->served++;
        return TT_OK;
    }
    return TT_ENOTFOUND;
}

void tt_iter_free(tt_iter *it)
{
    if (it == NULL)
        return;
    tti_archive_events_free(it->arch, it->n_arch);
    if (it->it != NULL)
        it->l->ops->iter_free(it->it);
    tti_corrections_free(it->corr);
    free(it->meta);
    tti_reader_put(it->l, it->s);
    free(it);
}

int tt_ledger_get(tt_ledger *l, int64_t seq, tt_event **out)
{
    if (seq < 1)
        return tti_fail(TT_EINVAL, "seq must be >= 1 (got %lld)", (long long)seq);
    tt_query q;
    tt_query_init(&q);
    q.after_seq = seq - 1;
    q.before_seq = seq + 1;
    q.limit = 1;
    tt_iter *it;
    int rc = tt_ledger_query(l, &q, &it);
    if (rc != TT_OK)
        return rc;
    const tt_event *ev;
    rc = tt_iter_next(it, &ev);
    if (rc == TT_ENOTFOUND) { /* SPEC 8: an archived event is served from its segment */
        tt_iter_free(it);
        q.include_archive = 1;
        if ((rc = tt_ledger_query(l, &q, &it)) != TT_OK)
            return rc;
        rc = tt_iter_next(it, &ev);
    }
    if (rc == TT_OK && (rc = tti_event_clone(ev, out)) != TT_OK)
        tti_fail(rc, "out of memory");
    else if (rc == TT_ENOTFOUND)
        tti_fail(rc, "no event with seq %lld%s", (long long)seq,
                 l->archive.read == NULL ? " in the hot store (archived events are read from "
                                           "the archive directory, which was not given)"
                                         : "");
    tt_iter_free(it);
    return rc;
}

void tt_stats_clear(tt_stats *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_by_entity; i++)
        free(s->by_entity[i].name);
    for (size_t i = 0; i < s->n_by_event_type; i++)
        free(s->by_event_type[i].name);
    free(s->by_entity);
    free(s->by_event_type);
    memset(s, 0, sizeof *s);
}

/* Each failure's message is set here (tti_store_fail, or by tti_counts_at). */
static int fill_stats(tt_ledger *l, tti_store *s, tt_stats *st)
{
    tti_head h;
    int rc = l->ops->read_head(s, &h);
    if (rc != TT_OK)
        return tti_store_fail(l, s, rc);
    st->total = st->tree_size = h.size;
    st->last_ts_us = h.last_ts_us;
    int64_t now = tt_time_now_us(), day = 86400LL * 1000000LL;
    int64_t midnight = now - ((now % day) + day) % day, first;
    if ((rc = l->ops->seq_at_ts(s, midnight, &first)) != TT_OK)
        return tti_store_fail(l, s, rc);
    st->today = h.size + 1 - first;
    tti_cp_row cp;
    st->checkpoint_ts_us = TT_TIME_NONE;
    rc = l->ops->latest_checkpoint(s, &cp);
    if (rc == TT_OK) {
        st->checkpoint_size = cp.tree_size;
        st->checkpoint_ts_us = cp.ts_us;
        free(cp.note);
    } else if (rc != TT_ENOTFOUND) {
        return tti_store_fail(l, s, rc);
    }
    if ((rc = tti_counts_at(l, s, TTI_COUNT_ENTITY, h.size, &st->by_entity, &st->n_by_entity)) !=
        TT_OK)
        return rc;
    return tti_counts_at(l, s, TTI_COUNT_EVENT_TYPE, h.size, &st->by_event_type,
                         &st->n_by_event_type);
}

int tt_ledger_stats(tt_ledger *l, tt_stats *out)
{
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    tt_stats st;
    memset(&st, 0, sizeof st);
    pthread_mutex_lock(&l->clock); /* the running totals (ledger/counts.c) */
    if ((rc = l->ops->begin_read(s)) == TT_OK) {
        rc = fill_stats(l, s, &st);
        l->ops->rollback(s);
    } else {
        tti_store_fail(l, s, rc);
    }
    pthread_mutex_unlock(&l->clock);
    if (rc != TT_OK) {
        tt_stats_clear(&st);
    } else {
        *out = st;
    }
    tti_reader_put(l, s);
    return rc;
}

/* Every event of a bookkeeping entity (holds, retention runs) for the layers above the
 * store, which read it inside a transaction of their own. */
int tti_entity_each(tt_ledger *l, tti_store *s, const char *entity,
                    int (*fn)(void *ctx, const tt_event *ev), void *ctx)
{
    int64_t after = 0;
    for (;;) {
        tt_query q;
        tt_query_init(&q);
        q.entity = entity;
        q.order = TT_ORDER_ASC;
        q.after_seq = after;
        q.limit = TT_MAX_QUERY_LIMIT;
        tti_store_iter *it = NULL;
        const tt_event *ev;
        size_t got = 0;
        int rc = l->ops->query(s, &q, &it), from_fn = 0;
        if (rc != TT_OK)
            return tti_store_fail(l, s, rc);
        while (!from_fn && (rc = l->ops->iter_next(it, &ev)) == TT_OK) {
            got++;
            after = ev->seq;
            from_fn = (rc = fn(ctx, ev)) != TT_OK;
        }
        l->ops->iter_free(it);
        if (from_fn) /* its message is set */
            return rc;
        if (rc != TT_ENOTFOUND)
            return tti_store_fail(l, s, rc);
        if (got < TT_MAX_QUERY_LIMIT)
            return TT_OK;
    }
}
