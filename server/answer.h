/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bottom of tradetrail serve, below every handler: the state a handler sees (the
 * server and the request), the answers (JSON, the SPEC 9 error body, text), the one table
 * from library codes to HTTP statuses, and the query-string checks. It includes no other
 * server header, so handlers depend on it and never on the daemon (server/http.c).
 */
#ifndef TT_SERVER_ANSWER_H
#define TT_SERVER_ANSWER_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>

#include "tradetrail.h"
#include "util/buf.h"
#include "util/config.h"

#define SRV_MAX_BODY (16u * 1024 * 1024) /* SPEC 9 */

typedef struct srv_sse_hub srv_sse_hub; /* server/sse.c */
typedef struct srv_metrics srv_metrics; /* server/metrics.c */
typedef struct srv_job srv_job;         /* server/defer.c */
typedef struct srv_ledgers srv_ledgers; /* server/ledgers.c */

/* One server. The modules named keep their own state behind their pointer. */
typedef struct srv {
    tt_ledger *l;
    const tti_config *cfg; /* the effective configuration (util/config.h) */
    const char *data_dir;  /* DATA: the default archive directory is DATA/archive */
    int metrics_public;    /* GET /metrics needs no token */
    struct MHD_Daemon *d;  /* server/http.c */
    srv_metrics *metrics;  /* server/metrics.c */
    srv_sse_hub *hub;      /* server/sse.c */
    srv_ledgers *ledgers;  /* server/ledgers.c: the named ledgers (SPEC 15) */
    atomic_int stopping;
    atomic_int active_requests;
    atomic_int deferred;        /* suspended requests whose work has not finished (defer.c) */
    atomic_llong answered[600]; /* answers queued, by status (srv_queue; GET /metrics) */
    /* server/fastpath.c: appends it answered, connections it handed to the daemon. */
    atomic_llong fastpath_served, fastpath_handoffs;
    /* server/sse.c: store queries the event streams ran (GET /metrics). */
    atomic_llong stream_reads;
} srv;

typedef struct srv_req srv_req;

struct srv_req {
    srv *s;
    tt_ledger *l; /* the ledger X-Ledger names (SPEC 15), main without it: server/ledgers.c */
    /* A write's X-Ledger names a ledger not created yet: r->l is NULL until the handler
     * calls srv_ledger_create (server/ledgers.h). */
    const char *new_ledger;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    int64_t seq; /* the {seq} of the path */
    char id[65]; /* the {id} of the path */
    tti_buf body;
    int body_too_big; /* 1: over SRV_MAX_BODY (413), 2: over the shared budget (503) */
    int counted;      /* in srv.active_requests, which the shutdown waits for */
    /* Set when the request was authorised on its headers, before its body (server/http.c):
     * the principal to record for what it appends. */
    int authorised;
    char principal[TT_MAX_PRINCIPAL + 1];
    /* The id of a token taken from the cache (tt_token_authenticate_cached) and not yet
     * checked for revocation; 0 once it is, or when it was read from the store. */
    int64_t token_unchecked;
    /* The id of the token that authorised the request (0: none): an event stream ends when
     * it is revoked (server/sse.c). */
    int64_t token_id;
    int64_t started_us;
    srv_job *job; /* deferred work in flight or done (server/defer.c) */
    /* A handler's state that lives as long as the request (an SSE subscriber): release
     * is called once when the request completes, however it ended. */
    void *state;
    void (*release)(srv_req *r);
};

/* Answers: JSON text (copied; _take frees a library string), an error body for a status
 * (SPEC 9), text of a content type. Each counts its status for GET /metrics. */
enum MHD_Result srv_json(srv_req *r, unsigned status, const char *json);
enum MHD_Result srv_json_take(srv_req *r, unsigned status, char *json);
enum MHD_Result srv_error(srv_req *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum MHD_Result srv_text(srv_req *r, unsigned status, const char *content_type, const char *text);
/* Answer for a library failure: status from the one mapping table, message from the
 * library (or its code's name when msg is empty). */
enum MHD_Result srv_fail(srv_req *r, int rc, const char *msg);
/* Queue a response built by the caller (streams); destroys resp. */
enum MHD_Result srv_queue(srv_req *r, unsigned status, struct MHD_Response *resp);
/* Queue a streamed response (from a reader callback, size unknown): for HEAD, see
 * answer.c; destroys resp. srv_is_head: whether the request is a HEAD. */
enum MHD_Result srv_queue_stream(srv_req *r, unsigned status, struct MHD_Response *resp);
int srv_is_head(const srv_req *r);
/* The HTTP status of a library code: the one table (STYLE.md "Errors"). */
unsigned srv_status_for(int rc);
/* The SPEC 9 error body for status and msg, appended to b: 0, or -1 when b failed. */
int srv_error_json(tti_buf *b, unsigned status, const char *msg);
/* The status an error answer may give a request whose token came from the cache and is
 * not checked yet (*unchecked, then 0): status itself, or 401 / 503 with msg replaced when
 * the token is revoked or cannot be checked now. Every error answer goes through it. */
unsigned srv_vouch(srv *s, int64_t *unchecked, unsigned status, char *msg, size_t cap);

/* Request headers: the value or NULL. srv_content_is: whether Content-Type names type
 * (parameters after ';' ignored, case-insensitive). */
const char *srv_header(srv_req *r, const char *name);
int srv_content_is(srv_req *r, const char *type);
/* A header that may be given at most once: its value (or NULL) in *value and 0, or 400
 * answered into *answer and -1 when the request has it more than once. */
int srv_single_header(srv_req *r, const char *name, const char **value, enum MHD_Result *answer);

/* A JSON request body: 415 unless Content-Type is application/json, 400 when the body is
 * empty, answered into *answer (returns -1); 0 when there is one to parse. */
int srv_json_body(srv_req *r, enum MHD_Result *answer);

/* Query-string access: the value or NULL. srv_check_params refuses parameters not in
 * allowed (NULL-terminated), repeated ones and invalid UTF-8, answering 400 into *answer;
 * returns 0 when fine. srv_no_params: the same for an endpoint that takes none. */
const char *srv_param(srv_req *r, const char *name);
int srv_check_params(srv_req *r, const char *const *allowed, enum MHD_Result *answer);
int srv_no_params(srv_req *r, enum MHD_Result *answer);

/* The filters (and paging) of GET /api/events and /api/stream, parsed into q by the
 * library (tt_query_parse_params); *owner holds q's strings, freed with tt_free(). Refuses
 * names the library does not know and those it knows but the endpoint does not take
 * (paging: limit, order, cursor), answering 400 into *answer and returning -1. */
int srv_parse_filters(srv_req *r, int paging, tt_query *q, void **owner, enum MHD_Result *answer);

#endif
