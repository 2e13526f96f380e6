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

#include "server.h"

/* ---- POST /api/events ---- */

static int content_type(srv_req *r, int *ndjson)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    if (ct == NULL)
        return -1;
    size_t n = strcspn(ct, "; \t");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        *ndjson = 0;
    else if (n == 20 && strncasecmp(ct, "application/x-ndjson", 20) == 0)
        *ndjson = 1;
    else
        return -1;
    return 0;
}

/* The Idempotency-Key header names the key of a single event. */
static enum MHD_Result apply_idem_header(srv_req *r, tt_event *ev, int is_batch, int *ok)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Idempotency-Key");
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
    ev->idempotency_key = h;
    char err[256];
    int rc = tt_event_validate(ev, err, sizeof err);
    if (rc != TT_OK)
        return srv_error(r, srv_status_for(rc), "Idempotency-Key: %s", err);
    *ok = 1;
    return MHD_YES;
}

static enum MHD_Result answer_append(srv *s, srv_req *r, const tt_append_result *res, size_t n,
                                     int is_batch)
{
    int64_t written = 0;
    for (size_t i = 0; i < n; i++)
        written += !res[i].existed;
    srv_metrics_append(s, written, tt_time_now_us() - r->started_us);
    if (written > 0)
        srv_sse_notify(s);
    if (!is_batch)
        return srv_json_take(r, res[0].existed ? 200 : 201, tt_append_result_to_json(res));
    return srv_json_take(r, written ? 201 : 200, tt_batch_result_to_json(res, n));
}

enum MHD_Result srv_events_post(srv *s, srv_req *r)
{
    int ndjson;
    if (content_type(r, &ndjson) != 0)
        return srv_error(r, 415,
                         "Content-Type must be application/json or "
                         "application/x-ndjson");
    if (r->body.len == 0)
        return srv_error(r, 400, "the request body is empty");
    tt_event *events = NULL;
    void *owner = NULL;
    size_t n = 0;
    int is_batch = 0, ok;
    char err[512];
    int rc = tt_events_parse_body(r->body.data, r->body.len, ndjson, &events, &n, &owner, &is_batch,
                                  err, sizeof err);
    if (rc != TT_OK)
        return srv_error(r, srv_status_for(rc), "%s", err);
    enum MHD_Result ret = apply_idem_header(r, &events[0], is_batch, &ok);
    tt_append_result *res = ok ? calloc(n, sizeof *res) : NULL;
    if (ok && res == NULL)
        ret = srv_error(r, 500, "out of memory");
    else if (ok && (rc = tt_ledger_append(s->l, events, n, res)) != TT_OK)
        ret = srv_fail(r, rc, tt_ledger_errmsg(s->l));
    else if (ok)
        ret = answer_append(s, r, res, n, is_batch);
    free(res);
    tt_events_free_body(events, n, owner);
    return ret;
}

/* ---- filters (GET /api/events, /api/stream) ---- */

static int parse_seq(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < 0)
        return -1;
    *out = x;
    return 0;
}

static int split_types(tt_query *q, const char *v, char **types_buf)
{
    *types_buf = strdup(v);
    if (*types_buf == NULL)
        return -1;
    char *save = NULL;
    for (char *t = strtok_r(*types_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (q->n_event_types == TT_MAX_QUERY_TYPES)
            return -1;
        q->event_types[q->n_event_types++] = t;
    }
    return 0;
}

static int parse_time_param(srv_req *r, const char *name, int64_t *out, enum MHD_Result *answer)
{
    const char *v = srv_param(r, name);
    if (v == NULL)
        return 0;
    if (tt_time_parse_expr(v, tt_time_now_us(), out) != TT_OK) {
        *answer = srv_error(r, 400, "%s: not a time (RFC 3339, YYYY-MM-DD, today, -2h)", name);
        return -1;
    }
    return 0;
}

int srv_parse_filters(srv_req *r, tt_query *q, char **types_buf, enum MHD_Result *answer)
{
    q->entity = srv_param(r, "entity");
    q->entity_id = srv_param(r, "entity_id");
    q->actor = srv_param(r, "actor");
    q->text = srv_param(r, "q");
    const char *types = srv_param(r, "event_type");
    if (types != NULL && split_types(q, types, types_buf) != 0) {
        *answer = srv_error(r, 400, "event_type: at most %d types", TT_MAX_QUERY_TYPES);
        return -1;
    }
    if (parse_time_param(r, "since", &q->since_us, answer) != 0 ||
        parse_time_param(r, "until", &q->until_us, answer) != 0)
        return -1;
    const char *after = srv_param(r, "after_seq");
    if (after != NULL && parse_seq(after, &q->after_seq) != 0) {
        *answer = srv_error(r, 400, "after_seq: must be a non-negative integer");
        return -1;
    }
    return 0;
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
    if (p->count == p->limit && p->last_seq > 0)
        tti_buf_printf(&p->out, "\"c%lld\"", (long long)p->last_seq);
    else
        tti_buf_adds(&p->out, "null");
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

static int parse_paging(srv_req *r, tt_query *q, enum MHD_Result *answer)
{
    const char *v;
    int64_t x;
    if ((v = srv_param(r, "order")) != NULL) {
        if (strcmp(v, "asc") != 0 && strcmp(v, "desc") != 0) {
            *answer = srv_error(r, 400, "order: must be asc or desc");
            return -1;
        }
        q->order = v[0] == 'd' ? TT_ORDER_DESC : TT_ORDER_ASC;
    }
    if ((v = srv_param(r, "limit")) != NULL) {
        if (parse_seq(v, &x) != 0 || x < 1 || x > TT_MAX_QUERY_LIMIT) {
            *answer = srv_error(r, 400, "limit: must be 1 to %d", TT_MAX_QUERY_LIMIT);
            return -1;
        }
        q->limit = (size_t)x;
    }
    if ((v = srv_param(r, "cursor")) != NULL) {
        if (v[0] != 'c' || parse_seq(v + 1, &x) != 0 || x < 1) {
            *answer = srv_error(r, 400, "cursor: not a cursor this server returned");
            return -1;
        }
        if (q->order == TT_ORDER_DESC)
            q->before_seq = x;
        else if (x > q->after_seq)
            q->after_seq = x;
    }
    return 0;
}

static const char *const list_params[] = {"entity", "entity_id", "event_type", "actor",
                                          "since",  "until",     "q",          "after_seq",
                                          "limit",  "order",     "cursor",     NULL};

enum MHD_Result srv_events_list(srv *s, srv_req *r)
{
    enum MHD_Result answer = MHD_NO;
    tt_query q;
    tt_query_init(&q);
    char *types = NULL;
    if (srv_check_params(r, list_params, &answer) != 0 ||
        srv_parse_filters(r, &q, &types, &answer) != 0 || parse_paging(r, &q, &answer) != 0) {
        free(types);
        return answer;
    }
    page *p = calloc(1, sizeof *p);
    if (p == NULL) {
        free(types);
        return srv_error(r, 500, "out of memory");
    }
    p->limit = q.limit;
    tti_buf_init(&p->out, 1 << 20);
    int rc = tt_ledger_query(s->l, &q, &p->it);
    free(types);
    if (rc != TT_OK) {
        page_free(p);
        return srv_fail(r, rc, tt_ledger_errmsg(s->l));
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
    return srv_queue(r, 200, resp);
}

/* ---- one event, proofs, checkpoints, stats ---- */

static int no_params(srv_req *r, enum MHD_Result *answer)
{
    static const char *const none[] = {NULL};
    return srv_check_params(r, none, answer);
}

enum MHD_Result srv_event_get(srv *s, srv_req *r)
{
    enum MHD_Result answer;
    if (no_params(r, &answer) != 0)
        return answer;
    tt_event *ev = NULL;
    int rc = tt_ledger_get(s->l, r->seq, &ev);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(s->l));
    enum MHD_Result ret = srv_json_take(r, 200, tt_event_to_json(ev));
    tt_event_free(ev);
    return ret;
}

enum MHD_Result srv_event_proof(srv *s, srv_req *r)
{
    static const char *const allowed[] = {"tree_size", NULL};
    enum MHD_Result answer;
    if (srv_check_params(r, allowed, &answer) != 0)
        return answer;
    int64_t size = 0;
    const char *v = srv_param(r, "tree_size");
    if (v != NULL && (parse_seq(v, &size) != 0 || size < 1))
        return srv_error(r, 400, "tree_size: must be a positive integer");
    tt_proof p;
    int rc = tt_ledger_prove_inclusion(s->l, r->seq, size, &p);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(s->l));
    return srv_json_take(r, 200, tt_inclusion_proof_to_json(&p));
}

enum MHD_Result srv_consistency(srv *s, srv_req *r)
{
    static const char *const allowed[] = {"first", "second", NULL};
    enum MHD_Result answer;
    if (srv_check_params(r, allowed, &answer) != 0)
        return answer;
    const char *a = srv_param(r, "first"), *b = srv_param(r, "second");
    int64_t m, n;
    if (a == NULL || b == NULL || parse_seq(a, &m) != 0 || parse_seq(b, &n) != 0)
        return srv_error(r, 400,
                         "first and second must be integers with 1 <= first <= second "
                         "<= tree size");
    tt_proof p;
    int rc = tt_ledger_prove_consistency(s->l, m, n, &p);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(s->l));
    return srv_json_take(r, 200, tt_consistency_proof_to_json(&p));
}

/* The latest checkpoint; one is signed first when none exists yet. */
static int latest(srv *s, tt_checkpoint *cp)
{
    int rc = tt_ledger_checkpoint_latest(s->l, cp);
    if (rc == TT_ENOTFOUND)
        rc = tt_ledger_checkpoint_sign(s->l, cp);
    return rc;
}

enum MHD_Result srv_checkpoint_json(srv *s, srv_req *r)
{
    enum MHD_Result answer;
    if (no_params(r, &answer) != 0)
        return answer;
    tt_checkpoint cp;
    int rc = latest(s, &cp);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(s->l));
    answer = srv_json_take(r, 200, tt_checkpoint_to_json(&cp));
    tt_checkpoint_clear(&cp);
    return answer;
}

enum MHD_Result srv_checkpoint_note(srv *s, srv_req *r)
{
    enum MHD_Result answer;
    if (no_params(r, &answer) != 0)
        return answer;
    tt_checkpoint cp;
    int rc = latest(s, &cp);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(s->l));
    answer = srv_text(r, 200, "text/plain; charset=utf-8", cp.note);
    tt_checkpoint_clear(&cp);
    return answer;
}

enum MHD_Result srv_stats(srv *s, srv_req *r)
{
    enum MHD_Result answer;
    if (no_params(r, &answer) != 0)
        return answer;
    tt_stats st;
    int rc = tt_ledger_stats(s->l, &st);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(s->l));
    answer = srv_json_take(r, 200, tt_stats_to_json(&st, tt_time_now_us()));
    tt_stats_clear(&st);
    return answer;
}
