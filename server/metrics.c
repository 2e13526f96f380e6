/* SPDX-License-Identifier: Apache-2.0 */
/* The operational endpoints: GET /healthz, and GET /metrics, the Prometheus text exposition
 * of the SPEC 9 metrics, with the counters behind it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "routes.h"

#define HIST_BUCKETS 12

struct srv_metrics {
    atomic_llong events_appended;
    atomic_llong append_count;
    atomic_llong append_sum_us;
    atomic_llong append_buckets[HIST_BUCKETS]; /* cumulative per upper bound */
};

/* Commit observer: every event this server's ledger handle wrote, counted once it is durable
 * (the appends of the API, of job runs and of notifications alike; repeats not). */
static void on_commit(void *ctx, int64_t first_seq, int64_t count)
{
    (void)first_seq;
    srv_metrics *m = ctx;
    atomic_fetch_add(&m->events_appended, count);
}

int srv_metrics_start(srv *s)
{
    srv_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return TT_ENOMEM;
    int rc = tt_ledger_on_commit(s->l, on_commit, m);
    if (rc != TT_OK) {
        free(m);
        return rc;
    }
    s->metrics = m;
    return TT_OK;
}

void srv_metrics_stop(srv *s)
{
    if (s->metrics == NULL)
        return;
    tt_ledger_on_commit_remove(s->l, on_commit, s->metrics);
    free(s->metrics);
    s->metrics = NULL;
}

static const double bucket_bounds[HIST_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

void srv_metrics_append(srv *s, int64_t duration_us)
{
    srv_metrics *m = s->metrics;
    atomic_fetch_add(&m->append_count, 1);
    atomic_fetch_add(&m->append_sum_us, duration_us);
    for (int i = 0; i < HIST_BUCKETS; i++)
        if ((double)duration_us / 1e6 <= bucket_bounds[i])
            atomic_fetch_add(&m->append_buckets[i], 1);
}

static void histogram(tti_buf *b, srv *s)
{
    tti_buf_adds(b, "# HELP tradetrail_append_duration_seconds Time from request to durable "
                    "acknowledgement of an append.\n"
                    "# TYPE tradetrail_append_duration_seconds histogram\n");
    for (int i = 0; i < HIST_BUCKETS; i++)
        tti_buf_printf(b, "tradetrail_append_duration_seconds_bucket{le=\"%g\"} %lld\n",
                       bucket_bounds[i], (long long)atomic_load(&s->metrics->append_buckets[i]));
    long long count = atomic_load(&s->metrics->append_count);
    tti_buf_printf(b, "tradetrail_append_duration_seconds_bucket{le=\"+Inf\"} %lld\n", count);
    tti_buf_printf(b, "tradetrail_append_duration_seconds_sum %.6f\n",
                   (double)atomic_load(&s->metrics->append_sum_us) / 1e6);
    tti_buf_printf(b, "tradetrail_append_duration_seconds_count %lld\n", count);
}

static void ledger_gauges(tti_buf *b, srv *s)
{
    int64_t size = 0;
    uint8_t root[TT_HASH_SIZE];
    tt_ledger_head(s->l, &size, root);
    tti_buf_printf(b,
                   "# HELP tradetrail_tree_size Number of events in the ledger.\n"
                   "# TYPE tradetrail_tree_size gauge\ntradetrail_tree_size %lld\n",
                   (long long)size);
    tt_checkpoint cp;
    double age = -1;
    if (tt_ledger_checkpoint_latest(s->l, &cp) == TT_OK) {
        age = (double)(tt_time_now_us() - cp.ts_us) / 1e6;
        tt_checkpoint_clear(&cp);
    }
    tti_buf_adds(b, "# HELP tradetrail_checkpoint_age_seconds Age of the latest signed "
                    "checkpoint (-1: none yet).\n"
                    "# TYPE tradetrail_checkpoint_age_seconds gauge\n");
    tti_buf_printf(b, "tradetrail_checkpoint_age_seconds %.3f\n", age);
}

/* SPEC 7: the outbox (all processes) and this server's delivery attempts. */
static void notify_metrics(tti_buf *b, srv *s)
{
    tt_notify_counts nc;
    if (tt_notify_counts_get(s->l, &nc) != TT_OK)
        memset(&nc, 0, sizeof nc);
    tti_buf_printf(b,
                   "# HELP tradetrail_outbox_pending Notifications waiting for delivery.\n"
                   "# TYPE tradetrail_outbox_pending gauge\ntradetrail_outbox_pending %lld\n"
                   "# HELP tradetrail_notifications_sent_total Notification delivery attempts "
                   "by channel and outcome.\n"
                   "# TYPE tradetrail_notifications_sent_total counter\n",
                   (long long)nc.pending);
    for (int c = 0; c < TT_NOTIFY_NCHANNELS; c++)
        tti_buf_printf(b,
                       "tradetrail_notifications_sent_total{channel=\"%s\",outcome=\"sent\"} "
                       "%lld\n"
                       "tradetrail_notifications_sent_total{channel=\"%s\",outcome=\"failed\"} "
                       "%lld\n",
                       tt_notify_channel_name(c), (long long)nc.sent[c], tt_notify_channel_name(c),
                       (long long)nc.failed[c]);
}

/* A Prometheus label value: backslash and double quote escaped (names hold no control
 * characters, SPEC 3.1). */
static void label(tti_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            tti_buf_add(b, "\\", 1);
        tti_buf_add(b, v, 1);
    }
}

/* SPEC 15: what completeness per producer recorded, from the store (every process's). */
static void producer_metrics(tti_buf *b, srv *s)
{
    tt_producer *ps = NULL;
    size_t n = 0;
    if (tt_ledger_producers(s->l, &ps, &n) != TT_OK)
        n = 0;
    tti_buf_adds(b, "# HELP tradetrail_producer_events_total Gaps, repeats, restarts and "
                    "silences recorded per producer.\n"
                    "# TYPE tradetrail_producer_events_total counter\n");
    static const char *const kinds[] = {"gap", "repeat", "restart", "silent"};
    for (size_t i = 0; i < n; i++) {
        const int64_t v[] = {ps[i].gaps, ps[i].repeats, ps[i].restarts, ps[i].silences};
        for (int k = 0; k < 4; k++) {
            tti_buf_adds(b, "tradetrail_producer_events_total{producer=\"");
            label(b, ps[i].name);
            tti_buf_printf(b, "\",kind=\"%s\"} %lld\n", kinds[k], (long long)v[k]);
        }
    }
    tti_buf_adds(b, "# HELP tradetrail_producer_missing_total producer_seq values skipped by "
                    "gaps.\n# TYPE tradetrail_producer_missing_total counter\n");
    for (size_t i = 0; i < n; i++) {
        tti_buf_adds(b, "tradetrail_producer_missing_total{producer=\"");
        label(b, ps[i].name);
        tti_buf_printf(b, "\"} %lld\n", (long long)ps[i].missing);
    }
    tti_buf_adds(b, "# HELP tradetrail_producer_silent 1 while a producer's silence is "
                    "recorded and nothing was heard since.\n"
                    "# TYPE tradetrail_producer_silent gauge\n");
    for (size_t i = 0; i < n; i++) {
        tti_buf_adds(b, "tradetrail_producer_silent{producer=\"");
        label(b, ps[i].name);
        tti_buf_printf(b, "\"} %d\n", ps[i].silent);
    }
    tt_free(ps);
}

static enum MHD_Result metrics_get(srv *s, srv_req *r)
{
    tti_buf b;
    tti_buf_init(&b, 1 << 20);
    tti_buf_printf(&b,
                   "# HELP tradetrail_events_appended_total Events appended through this "
                   "server.\n# TYPE tradetrail_events_appended_total counter\n"
                   "tradetrail_events_appended_total %lld\n",
                   (long long)atomic_load(&s->metrics->events_appended));
    histogram(&b, s);
    ledger_gauges(&b, s);
    notify_metrics(&b, s);
    producer_metrics(&b, s);
    tti_buf_adds(&b, "# HELP tradetrail_http_requests_total HTTP requests by status code.\n"
                     "# TYPE tradetrail_http_requests_total counter\n");
    for (int code = 100; code < 600; code++) {
        long long n = atomic_load(&s->answered[code]);
        if (n > 0)
            tti_buf_printf(&b, "tradetrail_http_requests_total{code=\"%d\"} %lld\n", code, n);
    }
    tti_buf_printf(&b,
                   "# HELP tradetrail_fastpath_appends_total Append requests the append fast "
                   "path answered itself.\n"
                   "# TYPE tradetrail_fastpath_appends_total counter\n"
                   "tradetrail_fastpath_appends_total %lld\n"
                   "# HELP tradetrail_fastpath_handoffs_total Connections the append fast path "
                   "handed to the general HTTP daemon.\n"
                   "# TYPE tradetrail_fastpath_handoffs_total counter\n"
                   "tradetrail_fastpath_handoffs_total %lld\n",
                   (long long)atomic_load(&s->fastpath_served),
                   (long long)atomic_load(&s->fastpath_handoffs));
    tti_buf_printf(&b,
                   "# HELP tradetrail_stream_store_reads_total Queries the event streams ran "
                   "on the store (one per batch of new events, shared by the streams, and "
                   "those of streams catching up).\n"
                   "# TYPE tradetrail_stream_store_reads_total counter\n"
                   "tradetrail_stream_store_reads_total %lld\n",
                   (long long)atomic_load(&s->stream_reads));
    tti_buf_printf(&b,
                   "# HELP tradetrail_build_info Build information.\n"
                   "# TYPE tradetrail_build_info gauge\n"
                   "tradetrail_build_info{version=\"%s\"} 1\n",
                   TT_VERSION);
    enum MHD_Result ret =
        b.failed ? srv_error(r, 500, "out of memory")
                 : srv_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data);
    tti_buf_free(&b);
    return ret;
}

static enum MHD_Result healthz(srv *s, srv_req *r)
{
    (void)s;
    return srv_json(r, 200, "{\"status\":\"ok\"}");
}

static const srv_route routes[] = {
    {"GET", "/healthz", NEED_NONE, healthz},
    {"GET", "/metrics", NEED_METRICS, metrics_get},
};

SRV_ROUTE_TABLE(srv_ops_routes, routes);
