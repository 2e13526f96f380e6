/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail serve: the HTTP API on libmicrohttpd. Shared types of the server files:
 * the server object, per-request state, routing and the helpers that answer requests.
 */
#ifndef TT_SERVER_H
#define TT_SERVER_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "tradetrail.h"
#include "util/buf.h"
#include "util/config.h"

#define SRV_MAX_BODY (16u * 1024 * 1024) /* SPEC 9 */
#define SRV_HIST_BUCKETS 12

typedef struct srv_sse_hub srv_sse_hub;
typedef struct srv_job srv_job;

typedef struct srv_metrics {
    atomic_llong events_appended;
    atomic_llong append_count;
    atomic_llong append_sum_us;
    atomic_llong append_buckets[SRV_HIST_BUCKETS]; /* cumulative per upper bound */
    atomic_llong http_by_code[600];
} srv_metrics;

typedef struct srv {
    tt_ledger *l;
    struct MHD_Daemon *d;
    srv_metrics m;
    srv_sse_hub *hub;
    atomic_int stopping;
    atomic_int active_requests;
    atomic_int deferred; /* suspended requests whose work has not finished (defer.c) */
    int metrics_public;
    const tti_config *cfg; /* the effective configuration (util/config.h) */
    int64_t checkpoint_interval_ms;
    pthread_t ticker;
    pthread_mutex_t tick_lock;
    pthread_cond_t tick_cond;
} srv;

typedef struct srv_req srv_req;

/* What a route needs: no token, read, or ingest (admin satisfies every role). */
typedef enum srv_need { NEED_NONE, NEED_READ, NEED_INGEST, NEED_ADMIN } srv_need;

typedef struct srv_route {
    const char *method;
    const char *pattern; /* literal path; "{seq}" a decimal segment, "{id}" a name segment */
    srv_need need;
    enum MHD_Result (*handle)(srv *s, srv_req *r);
} srv_route;

struct srv_req {
    srv *s;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    int64_t seq; /* the {seq} of the path */
    char id[65]; /* the {id} of the path */
    tti_buf body;
    int body_too_big;
    int64_t started_us;
    void *sse;    /* an SSE subscriber, freed when the request completes */
    srv_job *job; /* deferred work in flight or done (server/defer.c) */
};

/* Answers: JSON text (copied), an error body for a status (SPEC 9), text/plain. */
enum MHD_Result srv_json(srv_req *r, unsigned status, const char *json);
enum MHD_Result srv_json_take(srv_req *r, unsigned status, char *json);
enum MHD_Result srv_error(srv_req *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum MHD_Result srv_text(srv_req *r, unsigned status, const char *content_type, const char *text);
/* Answer for a library failure: status from the one mapping table, message from the
 * library. */
enum MHD_Result srv_fail(srv_req *r, int rc, const char *msg);
enum MHD_Result srv_queue(srv_req *r, unsigned status, struct MHD_Response *resp);
unsigned srv_status_for(int rc);

/* Query-string access: the value or NULL. srv_check_params refuses parameters not in
 * allowed (NULL-terminated) and invalid UTF-8, answering 400; returns 0 when fine. */
const char *srv_param(srv_req *r, const char *name);
int srv_check_params(srv_req *r, const char *const *allowed, enum MHD_Result *answer);

/* Authorise a request for a role; *ok = 0 when an error answer was queued. */
enum MHD_Result srv_authorise(srv *s, srv_req *r, srv_need need, int *ok);

/* Dispatch through a route table: *matched = 0 when no pattern matched the path (nothing
 * answered); otherwise the answer (405 for a known path with another method, 413, 401/403,
 * or the handler's). */
enum MHD_Result srv_route_table(srv *s, srv_req *r, const srv_route *table, size_t n, int *matched);

/* The domain route tables (server/api_strategy.c, server/api_domain.c). */
enum MHD_Result srv_strategy_route(srv *s, srv_req *r, int *matched);
enum MHD_Result srv_domain_route(srv *s, srv_req *r, int *matched);

/* Jobs and notifications (SPEC 7): started after the HTTP daemon, stopped after it has
 * drained and before the final checkpoint. start returns 0 or prints why it could not. */
int srv_jobs_start(srv *s);
void srv_jobs_stop(srv *s);
enum MHD_Result srv_cron_route(srv *s, srv_req *r, int *matched);
int srv_notify_start(srv *s);
void srv_notify_stop(srv *s);

/* Routes of each file. */
enum MHD_Result srv_events_post(srv *s, srv_req *r);
enum MHD_Result srv_events_list(srv *s, srv_req *r);
enum MHD_Result srv_event_get(srv *s, srv_req *r);
enum MHD_Result srv_event_proof(srv *s, srv_req *r);
enum MHD_Result srv_consistency(srv *s, srv_req *r);
enum MHD_Result srv_checkpoint_json(srv *s, srv_req *r);
enum MHD_Result srv_checkpoint_note(srv *s, srv_req *r);
enum MHD_Result srv_stats(srv *s, srv_req *r);
enum MHD_Result srv_metrics_get(srv *s, srv_req *r);
enum MHD_Result srv_stream(srv *s, srv_req *r);

/* Parse the query-string filters (and paging) of GET /api/events and /api/stream into q
 * with tt_query_parse_params; *owner holds q's strings, freed with tt_free(). Answers the
 * error itself (400) and returns -1 on a bad value. Call srv_check_params first. */
int srv_parse_filters(srv_req *r, tt_query *q, void **owner, enum MHD_Result *answer);

/* Metrics recording. */
void srv_metrics_append(srv *s, int64_t events, int64_t duration_us);
void srv_metrics_status(srv *s, unsigned status);

/* SSE hub: new events wake suspended streams. */
srv_sse_hub *srv_sse_hub_new(void);
void srv_sse_hub_free(srv_sse_hub *h);
void srv_sse_notify(srv *s);
void srv_sse_shutdown(srv *s);
void srv_sse_heartbeat(srv *s);
void srv_sse_release(srv_req *r);

/* Deferred answers (server/defer.c): srv_defer suspends the connection; the work, started
 * after it, calls srv_defer_done from any thread when finished; the handler is then
 * called again and finish(s, r, data, 1) answers. finish(s, r, data, 0) only frees, for a
 * request that ended before its answer. */
typedef enum MHD_Result (*srv_finish_fn)(srv *s, srv_req *r, void *data, int answer);
enum MHD_Result srv_defer(srv_req *r, void *data, srv_finish_fn finish);
void srv_defer_done(srv_req *r);
int srv_deferred(srv_req *r);
enum MHD_Result srv_defer_finish(srv *s, srv_req *r);
void srv_defer_release(srv *s, srv_req *r);

/* The MHD daemon around a ledger. */
int srv_start(srv *s, const char *listen, unsigned threads, char *err, size_t errlen);
void srv_stop(srv *s);

#endif
