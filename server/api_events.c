/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event and verification endpoints of SPEC 9: append (single, array, NDJSON), query
 * with filters and cursors (streamed, never buffered whole), one event, proofs,
 * checkpoints and stats. Each parses the request, calls the library, formats the answer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "append.h"
#include "defer.h"
#include "ledgers.h"
#include "offload.h"
#include "routes.h"

/* ---- POST /api/events ---- */

static int content_type(srv_req *r, int *ndjson)
{
    if (srv_content_is(r, "application/json"))
        *ndjson = 0;
    else if (srv_content_is(r, "application/x-ndjson"))
        *ndjson = 1;
    else
        return -1;
    return 0;
}

/* The Idempotency-Key header names the key of a single event. */
static enum MHD_Result apply_idem_header(srv_req *r, tt_event *ev, int is_batch, int *ok)
{
    const char *h;
    enum MHD_Result answer;
    *ok = 0;
    if (srv_single_header(r, "Idempotency-Key", &h, &answer) != 0)
        return answer;
    *ok = 1;
    if (h == NULL)
        return MHD_YES;
    *ok = 0;
    if (is_batch)
        return srv_error(r, 400,
                         "the Idempotency-Key header applies to a single event; give "
                         "each event of a batch its own idempotency_key");
    if (ev->idempotency_key != NULL && strcmp(ev->idempotency_key, h) != 0)
        return srv_error(r, 400, "the Idempotency-Key header and idempotency_key differ");
    /* Checked by the ledger with the rest of the append, and only this member: the parser
     * checked the others (tt_ledger_append_parsed_async). */
    ev->idempotency_key = h;
    *ok = 1;
    return MHD_YES;
}

/* An append in flight on a worker thread (server/defer.c): the request and the append
 * (server/append.c). */
typedef struct append_job {
    srv_req *r;
    srv_append a;
} append_job;

static void append_job_free(append_job *j)
{
    srv_append_clear(&j->a);
    free(j);
}

/* Called by the ledger's committer thread once the group is on disk (or failed). */
static void on_appended(void *ctx, int rc, const char *msg)
{
    append_job *j = ctx;
    srv_append_done(&j->a, rc, msg);
    srv_defer_done(j->r);
}

static enum MHD_Result append_finish(srv *s, srv_req *r, void *data, int answer)
{
    append_job *j = data;
    enum MHD_Result ret = MHD_YES;
    if (answer && j->a.rc != TT_OK)
        ret = srv_fail(r, j->a.rc, j->a.err);
    else if (answer) {
        char *json;
        unsigned status = srv_append_results(s, &j->a, r->started_us, &json);
        ret = srv_json_take(r, status, json);
    }
    append_job_free(j);
    return ret;
}

/* Submit parsed events (taking them and owner): the connection is suspended until the
 * ledger's committer thread reports the group on disk, and then answered as POST
 * /api/events answers. apply_header: the Idempotency-Key header names the key. */
static enum MHD_Result submit(srv *s, srv_req *r, tt_event *events, size_t n, void *owner,
                              int is_batch, int apply_header)
{
    (void)s;
    append_job *j = calloc(1, sizeof *j);
    if (j == NULL || srv_append_init(&j->a, events, n, owner, is_batch) != TT_OK) {
        if (j == NULL)
            tt_events_free_body(events, n, owner);
        free(j);
        return srv_error(r, 500, "out of memory");
    }
    int ok = 1;
    enum MHD_Result ret = MHD_YES;
    if (apply_header)
        ret = apply_idem_header(r, &j->a.events[0], j->a.is_batch, &ok);
    if (ok && srv_ledger_create(r, &ret) != 0)
        ok = 0;
    if (!ok) {
        append_job_free(j);
        return ret;
    }
    j->r = r;
    tt_ledger *l = r->l; /* once deferred, r belongs to the completion */
    if ((ret = srv_defer(r, j, append_finish)) != MHD_YES || !srv_deferred(r))
        return ret;
    /* A cached token is checked by the commit (tt_set_append_token at dispatch), unless the
     * append is refused before it is queued. */
    int64_t unchecked = r->token_unchecked;
    r->token_unchecked = 0;
    /* Checked once, by the parser: the ledger does not check these events again. */
    srv_append *a = &j->a;
    int rc = tt_ledger_append_parsed_async(l, a->events, a->n, a->owner, a->res, on_appended, j);
    if (rc != TT_OK) {
        r->token_unchecked = unchecked;
        on_appended(j, rc, tt_ledger_errmsg(l));
    }
    return MHD_YES;
}

enum MHD_Result srv_append_parsed(srv *s, srv_req *r, tt_event *events, size_t n, void *owner)
{
    return submit(s, r, events, n, owner, n > 1, 0);
}

/* Parsing and validation run on the daemon's thread, the append on the committer's. */
static enum MHD_Result events_post(srv *s, srv_req *r)
{
    int ndjson;
    enum MHD_Result answer;
    if (srv_no_params(r, &answer) != 0)
        return answer;
    if (content_type(r, &ndjson) != 0)
        return srv_error(r, 415,
                         "Content-Type must be application/json or "
                         "application/x-ndjson");
    if (r->body.len == 0)
        return srv_error(r, 400, "the request body is empty");
    char err[512];
    tt_event *events;
    size_t n;
    void *owner;
    int is_batch;
    int rc = tt_events_parse_body(r->body.data, r->body.len, ndjson, &events, &n, &owner, &is_batch,
                                  err, sizeof err);
    if (rc != TT_OK)
        return srv_error(r, srv_status_for(rc), "%s", err);
    return submit(s, r, events, n, owner, is_batch, 1);
}

/* ---- GET /api/events: streamed page ---- */

typedef struct page {
    tt_iter *it;
    tti_buf out;
    size_t sent; /* bytes of out already handed to MHD */
    size_t limit, count;
    int64_t last_seq;
    int done; /* 0 events, 1 trailer written, 2 finished */
    tt_order order;
} page;

static void page_trailer(page *p)
{
    tti_buf_adds(&p->out, "],\"next_cursor\":");
    if (p->count == p->limit && p->last_seq > 0) {
        char cursor[TT_CURSOR_SIZE];
        tt_query_cursor(p->last_seq, cursor);
        tti_buf_printf(&p->out, "\"%s\"", cursor);
    } else {
        tti_buf_adds(&p->out, "null");
    }
    tti_buf_adds(&p->out, "}\n");
    p->done = 1;
}

/* Refill the buffer with the next event (or the trailer). Returns -1 on an error. */
static int page_fill(page *p)
{
    tti_buf_reset(&p->out);
    p->sent = 0;
    if (p->done)
        return 0;
    const tt_event *ev;
    int rc = p->count < p->limit ? tt_iter_next(p->it, &ev) : TT_ENOTFOUND;
    if (rc == TT_ENOTFOUND) {
        page_trailer(p);
        return 0;
    }
    if (rc != TT_OK)
        return -1;
    char *json = tt_event_to_json(ev);
    if (json == NULL)
        return -1;
    if (p->count > 0)
        tti_buf_adds(&p->out, ",");
    tti_buf_adds(&p->out, json);
    tt_free(json);
    p->count++;
    p->last_seq = ev->seq;
    return p->out.failed ? -1 : 0;
}

static ssize_t page_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    page *p = cls;
    size_t n = 0;
    while (n < max) {
        if (p->sent == p->out.len) {
            if (p->done)
                break;
            if (page_fill(p) != 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        }
        size_t take = p->out.len - p->sent;
        if (take > max - n)
            take = max - n;
        memcpy(buf + n, p->out.data + p->sent, take);
        p->sent += take;
        n += take;
    }
    return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void page_free(void *cls)
{
    page *p = cls;
    tt_iter_free(p->it);
    tti_buf_free(&p->out);
    free(p);
}

static enum MHD_Result events_list(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result answer = MHD_NO;
    tt_query q;
    tt_query_init(&q);
    void *owner = NULL;
    if (srv_parse_filters(r, 1, &q, &owner, &answer) != 0)
        return answer;
    page *p = calloc(1, sizeof *p);
    if (p == NULL) {
        tt_free(owner);
        return srv_error(r, 500, "out of memory");
    }
    p->limit = q.limit;
    tti_buf_init(&p->out, 1 << 20);
    int rc = tt_ledger_query(r->l, &q, &p->it); /* the store copies the filter strings */
    tt_free(owner);
    if (rc != TT_OK) {
        page_free(p);
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    }
    tti_buf_adds(&p->out, "{\"events\":[");
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, page_read, p, page_free);
    if (resp == NULL) {
        page_free(p);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return srv_queue_stream(r, 200, resp);
}

/* ---- one event, proofs, checkpoints, stats ---- */

static enum MHD_Result event_get(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result answer;
    if (srv_no_params(r, &answer) != 0)
        return answer;
    tt_event *ev = NULL;
    int rc = tt_ledger_get(r->l, r->seq, &ev);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    enum MHD_Result ret = srv_json_take(r, 200, tt_event_to_json(ev));
    tt_event_free(ev);
    return ret;
}

static enum MHD_Result event_proof(srv *s, srv_req *r)
{
    (void)s;
    static const char *const allowed[] = {"tree_size", NULL};
    enum MHD_Result answer;
    if (srv_check_params(r, allowed, &answer) != 0)
        return answer;
    int64_t size = 0;
    const char *v = srv_param(r, "tree_size");
    if (v != NULL && tt_parse_int(v, 1, INT64_MAX, &size) != TT_OK)
        return srv_error(r, 400, "tree_size: must be a positive integer");
    tt_proof p;
    int rc = tt_ledger_prove_inclusion(r->l, r->seq, size, &p);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    return srv_json_take(r, 200, tt_inclusion_proof_to_json(&p));
}

static enum MHD_Result consistency(srv *s, srv_req *r)
{
    (void)s;
    static const char *const allowed[] = {"first", "second", NULL};
    enum MHD_Result answer;
    if (srv_check_params(r, allowed, &answer) != 0)
        return answer;
    const char *a = srv_param(r, "first"), *b = srv_param(r, "second");
    int64_t m, n;
    if (a == NULL || b == NULL || tt_parse_int(a, 0, INT64_MAX, &m) != TT_OK ||
        tt_parse_int(b, 0, INT64_MAX, &n) != TT_OK)
        return srv_error(r, 400,
                         "first and second must be integers with 1 <= first <= second "
                         "<= tree size");
    tt_proof p;
    int rc = tt_ledger_prove_consistency(r->l, m, n, &p);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    return srv_json_take(r, 200, tt_consistency_proof_to_json(&p));
}

/* The latest checkpoint; one is signed first when none exists yet. */
static int latest(tt_ledger *l, tt_checkpoint *cp)
{
    int rc = tt_ledger_checkpoint_latest(l, cp);
    if (rc == TT_ENOTFOUND)
        rc = tt_ledger_checkpoint_sign(l, cp);
    return rc;
}

static enum MHD_Result checkpoint_json(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result answer;
    if (srv_no_params(r, &answer) != 0)
        return answer;
    tt_checkpoint cp;
    int rc = latest(r->l, &cp);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    answer = srv_json_take(r, 200, tt_checkpoint_to_json(&cp));
    tt_checkpoint_clear(&cp);
    return answer;
}

static enum MHD_Result checkpoint_note(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result answer;
    if (srv_no_params(r, &answer) != 0)
        return answer;
    tt_checkpoint cp;
    int rc = latest(r->l, &cp);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    answer = srv_text(r, 200, "text/plain; charset=utf-8", cp.note);
    tt_checkpoint_clear(&cp);
    return answer;
}

static int stats_work(tt_ledger *l, void *arg, srv_result *out)
{
    (void)arg;
    tt_stats st;
    int rc = tt_ledger_stats(l, &st);
    if (rc != TT_OK)
        return rc;
    out->body = tt_stats_to_json(&st, tt_time_now_us());
    tt_stats_clear(&st);
    return TT_OK;
}

/* Counting a large ledger the first time takes seconds: on a worker (server/offload.c). */
static enum MHD_Result stats(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result answer;
    if (srv_no_params(r, &answer) != 0)
        return answer;
    return srv_offload(r, stats_work, NULL);
}

static const srv_route routes[] = {
    {"POST", "/api/events", NEED_APPEND, events_post},
    {"GET", "/api/events", NEED_READ, events_list},
    {"GET", "/api/events/{seq}", NEED_READ, event_get},
    {"GET", "/api/events/{seq}/proof", NEED_READ, event_proof},
    {"GET", "/api/consistency", NEED_READ, consistency},
    {"GET", "/api/checkpoint", NEED_READ, checkpoint_json},
    {"GET", "/checkpoint", NEED_READ, checkpoint_note},
    {"GET", "/api/stats", NEED_READ, stats},
};

SRV_ROUTE_TABLE(srv_events_routes, routes);
