/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The strategy endpoints of SPEC 9: the lifecycle (create, transitions, YAML updates,
 * rollback, swap), reads (strategies, versions, diff) and the two seed-compatible audit
 * logs. Each handler parses the request through the library's JSON mapping, calls the
 * library and answers with the library's JSON; a refused transition is 409 with the
 * library's message naming the current status.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ledgers.h"
#include "metrics.h"
#include "routes.h"

/* ---- helpers ---- */

static int parse_pos(const char *v, int64_t max, int64_t *out)
{
    return tt_parse_int(v, 1, max, out) == TT_OK ? 0 : -1;
}

/* Parse a JSON body of a kind; answers 415/400 itself and returns -1 on failure. */
static int parse_body(srv_req *r, tt_strategy_request_kind kind, tt_strategy_request *req,
                      void **owner, enum MHD_Result *answer)
{
    if (srv_no_params(r, answer) != 0 || srv_json_body(r, answer) != 0)
        return -1;
    char err[512];
    int rc =
        tt_strategy_request_parse(r->body.data, r->body.len, kind, req, owner, err, sizeof err);
    if (rc != TT_OK) {
        *answer = srv_error(r, srv_status_for(rc), "%s", err);
        return -1;
    }
    /* A named ledger that does not exist yet (server/ledgers.h) is created by a strategy's
     * creation only: it holds no strategy for any other write to find. */
    int creates = kind == TT_STRATEGY_REQ_CREATE;
    if (creates ? srv_ledger_create(r, answer) == 0 : r->l != NULL)
        return 0;
    if (!creates)
        *answer = srv_error(r, 404, "no strategy %s",
                            kind == TT_STRATEGY_REQ_SWAP ? req->swap.old_id : r->id);
    tt_free(*owner);
    *owner = NULL;
    return -1;
}

/* Answer a successful single-strategy write with the strategy as it is now. */
static enum MHD_Result answer_write(srv *s, srv_req *r, unsigned status, const char *id,
                                    const tt_append_result *res, int64_t version)
{
    srv_metrics_append(s, tt_time_now_us() - r->started_us);
    tt_strategy *st = NULL;
    int rc = tt_strategy_get(r->l, id, &st);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    enum MHD_Result ret = srv_json_take(r, status, tt_strategy_result_to_json(st, res, version));
    tt_strategy_free(st);
    return ret;
}

/* ---- writes ---- */

static enum MHD_Result create(srv *s, srv_req *r)
{
    tt_strategy_request req;
    void *owner = NULL;
    enum MHD_Result answer;
    if (parse_body(r, TT_STRATEGY_REQ_CREATE, &req, &owner, &answer) != 0)
        return answer;
    char id[TT_MAX_STRATEGY_ID + 1];
    tt_append_result res;
    int rc = tt_strategy_create(r->l, &req.create, id, &res);
    answer = rc != TT_OK ? srv_fail(r, rc, tt_ledger_errmsg(r->l))
                         : answer_write(s, r, 201, id, &res, 1);
    tt_free(owner);
    return answer;
}

typedef int (*transition_fn)(tt_ledger *, const char *, const char *, const char *,
                             tt_append_result *);

static enum MHD_Result transition(srv *s, srv_req *r, transition_fn fn)
{
    tt_strategy_request req;
    void *owner = NULL;
    enum MHD_Result answer;
    if (parse_body(r, TT_STRATEGY_REQ_ACTION, &req, &owner, &answer) != 0)
        return answer;
    tt_append_result res;
    int rc = fn(r->l, r->id, req.create.actor, req.create.reason, &res);
    answer = rc != TT_OK ? srv_fail(r, rc, tt_ledger_errmsg(r->l))
                         : answer_write(s, r, 200, r->id, &res, 0);
    tt_free(owner);
    return answer;
}

static enum MHD_Result submit(srv *s, srv_req *r)
{
    return transition(s, r, tt_strategy_submit);
}

static enum MHD_Result activate(srv *s, srv_req *r)
{
    return transition(s, r, tt_strategy_activate);
}

static enum MHD_Result fail_(srv *s, srv_req *r)
{
    return transition(s, r, tt_strategy_fail);
}

static enum MHD_Result close_(srv *s, srv_req *r)
{
    return transition(s, r, tt_strategy_close);
}

static enum MHD_Result archive(srv *s, srv_req *r)
{
    return transition(s, r, tt_strategy_archive);
}

static enum MHD_Result delete_(srv *s, srv_req *r)
{
    return transition(s, r, tt_strategy_delete);
}

static enum MHD_Result set_status(srv *s, srv_req *r)
{
    tt_strategy_request req;
    void *owner = NULL;
    enum MHD_Result answer;
    if (parse_body(r, TT_STRATEGY_REQ_STATUS, &req, &owner, &answer) != 0)
        return answer;
    tt_append_result res;
    int rc =
        tt_strategy_set_status(r->l, r->id, req.status, req.create.actor, req.create.reason, &res);
    answer = rc != TT_OK ? srv_fail(r, rc, tt_ledger_errmsg(r->l))
                         : answer_write(s, r, 200, r->id, &res, 0);
    tt_free(owner);
    return answer;
}

static enum MHD_Result rollback(srv *s, srv_req *r)
{
    tt_strategy_request req;
    void *owner = NULL;
    enum MHD_Result answer;
    if (parse_body(r, TT_STRATEGY_REQ_ROLLBACK, &req, &owner, &answer) != 0)
        return answer;
    tt_append_result res;
    int64_t version = 0;
    int rc = tt_strategy_rollback(r->l, r->id, req.version, req.create.actor, req.create.reason,
                                  &version, &res);
    answer = rc != TT_OK ? srv_fail(r, rc, tt_ledger_errmsg(r->l))
                         : answer_write(s, r, 200, r->id, &res, version);
    tt_free(owner);
    return answer;
}

static enum MHD_Result put_yaml(srv *s, srv_req *r)
{
    tt_strategy_request req;
    void *owner = NULL;
    enum MHD_Result answer;
    if (parse_body(r, TT_STRATEGY_REQ_YAML, &req, &owner, &answer) != 0)
        return answer;
    tt_append_result res;
    int64_t version = 0;
    int rc = tt_strategy_update_yaml(r->l, r->id, req.create.yaml, req.create.yaml_len,
                                     req.create.actor, req.create.reason, &version, &res);
    answer = rc != TT_OK ? srv_fail(r, rc, tt_ledger_errmsg(r->l))
                         : answer_write(s, r, 200, r->id, &res, version);
    tt_free(owner);
    return answer;
}

static enum MHD_Result swap(srv *s, srv_req *r)
{
    tt_strategy_request req;
    void *owner = NULL;
    enum MHD_Result answer;
    if (parse_body(r, TT_STRATEGY_REQ_SWAP, &req, &owner, &answer) != 0)
        return answer;
    tt_append_result res[2];
    int rc = tt_strategy_swap(r->l, &req.swap, res);
    tt_strategy *o = NULL, *n = NULL;
    if (rc == TT_OK) {
        srv_metrics_append(s, tt_time_now_us() - r->started_us);
        if ((rc = tt_strategy_get(r->l, req.swap.old_id, &o)) == TT_OK)
            rc = tt_strategy_get(r->l, req.swap.new_id, &n);
    }
    answer = rc != TT_OK ? srv_fail(r, rc, tt_ledger_errmsg(r->l))
                         : srv_json_take(r, 200, tt_strategy_swap_result_to_json(o, n, res));
    tt_strategy_free(o);
    tt_strategy_free(n);
    tt_free(owner);
    return answer;
}

/* ---- reads ---- */

static enum MHD_Result list(srv *s, srv_req *r)
{
    (void)s;
    static const char *const allowed[] = {"status", "symbol", "include_deleted", "limit", NULL};
    enum MHD_Result answer;
    if (srv_check_params(r, allowed, &answer) != 0)
        return answer;
    tt_strategy_filter f = {.status = srv_param(r, "status"), .symbol = srv_param(r, "symbol")};
    const char *v = srv_param(r, "include_deleted");
    if (v != NULL) {
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0 && strcmp(v, "1") != 0 &&
            strcmp(v, "0") != 0)
            return srv_error(r, 400, "include_deleted: must be true or false");
        f.include_deleted = v[0] == 't' || v[0] == '1';
    }
    int64_t limit;
    if ((v = srv_param(r, "limit")) != NULL) {
        if (parse_pos(v, TT_MAX_QUERY_LIMIT, &limit) != 0)
            return srv_error(r, 400, "limit: must be 1 to %d", TT_MAX_QUERY_LIMIT);
        f.limit = (size_t)limit;
    }
    tt_strategy *arr = NULL;
    size_t n = 0;
    int rc = tt_strategy_list(r->l, &f, &arr, &n);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    answer = srv_json_take(r, 200, tt_strategy_list_to_json(arr, n));
    tt_strategy_list_free(arr, n);
    return answer;
}

static enum MHD_Result get_one(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result answer;
    if (srv_no_params(r, &answer) != 0)
        return answer;
    tt_strategy *st = NULL;
    int rc = tt_strategy_get(r->l, r->id, &st);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    answer = srv_json_take(r, 200, tt_strategy_to_json(st));
    tt_strategy_free(st);
    return answer;
}

static enum MHD_Result versions(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result answer;
    if (srv_no_params(r, &answer) != 0)
        return answer;
    tt_strategy_version *arr = NULL;
    size_t n = 0;
    int rc = tt_strategy_versions(r->l, r->id, &arr, &n);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    answer = srv_json_take(r, 200, tt_strategy_versions_to_json(r->id, arr, n));
    tt_strategy_versions_free(arr, n);
    return answer;
}

static enum MHD_Result version_one(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result answer;
    if (srv_no_params(r, &answer) != 0)
        return answer;
    tt_strategy_version *v = NULL;
    int rc = tt_strategy_version_get(r->l, r->id, r->seq, &v);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    answer = srv_json_take(r, 200, tt_strategy_version_to_json(v));
    tt_strategy_version_free(v);
    return answer;
}

static enum MHD_Result diff(srv *s, srv_req *r)
{
    (void)s;
    static const char *const allowed[] = {"from", "to", NULL};
    enum MHD_Result answer;
    if (srv_check_params(r, allowed, &answer) != 0)
        return answer;
    const char *a = srv_param(r, "from"), *b = srv_param(r, "to");
    int64_t from, to;
    if (a == NULL || b == NULL || parse_pos(a, INT64_MAX, &from) != 0 ||
        parse_pos(b, INT64_MAX, &to) != 0)
        return srv_error(r, 400, "from and to must be version numbers (positive integers)");
    char *text = NULL;
    int rc = tt_strategy_diff(r->l, r->id, from, to, &text);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    /* Accept: text/x-diff (or text/plain) gets the patch itself, for curl | patch. */
    const char *accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept");
    if (accept != NULL &&
        (strncmp(accept, "text/x-diff", 11) == 0 || strncmp(accept, "text/plain", 10) == 0))
        answer = srv_text(r, 200, "text/x-diff; charset=utf-8", text);
    else
        answer = srv_json_take(r, 200, tt_strategy_diff_to_json(r->id, from, to, text));
    tt_free(text);
    return answer;
}

/* Seed 002's parseInt(limit) || 100, but strict: a bad limit is 400, not silently 100. */
static int audit_limit(srv_req *r, size_t *limit, enum MHD_Result *answer)
{
    const char *v = srv_param(r, "limit");
    int64_t x = 100;
    if (v != NULL && parse_pos(v, TT_MAX_QUERY_LIMIT, &x) != 0) {
        *answer = srv_error(r, 400, "limit: must be 1 to %d", TT_MAX_QUERY_LIMIT);
        return -1;
    }
    *limit = (size_t)x;
    return 0;
}

static enum MHD_Result audit_log(srv *s, srv_req *r)
{
    (void)s;
    static const char *const allowed[] = {"limit", NULL};
    enum MHD_Result answer;
    size_t limit;
    if (srv_check_params(r, allowed, &answer) != 0 || audit_limit(r, &limit, &answer) != 0)
        return answer;
    char *json = NULL;
    int rc = tt_strategy_audit_log_json(r->l, r->id, limit, &json);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    return srv_json_take(r, 200, json);
}

static enum MHD_Result audit_logs(srv *s, srv_req *r)
{
    (void)s;
    static const char *const allowed[] = {"limit", "eventType", NULL};
    enum MHD_Result answer;
    size_t limit;
    if (srv_check_params(r, allowed, &answer) != 0 || audit_limit(r, &limit, &answer) != 0)
        return answer;
    const char *type = srv_param(r, "eventType");
    char *json = NULL;
    int rc = tt_strategy_audit_logs_json(r->l, type && type[0] ? type : NULL, limit, &json);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    return srv_json_take(r, 200, json);
}

/* Literal paths before {id} patterns: "swap" is also a well-formed id. */
static const srv_route routes[] = {
    {"POST", "/api/strategies", NEED_INGEST, create},
    {"GET", "/api/strategies", NEED_READ, list},
    {"POST", "/api/strategies/swap", NEED_INGEST, swap},
    {"GET", "/api/audit-logs/strategies", NEED_READ, audit_logs},
    {"GET", "/api/strategies/{id}", NEED_READ, get_one},
    {"POST", "/api/strategies/{id}/submit", NEED_INGEST, submit},
    {"POST", "/api/strategies/{id}/activate", NEED_INGEST, activate},
    {"POST", "/api/strategies/{id}/fail", NEED_INGEST, fail_},
    {"POST", "/api/strategies/{id}/close", NEED_INGEST, close_},
    {"POST", "/api/strategies/{id}/archive", NEED_INGEST, archive},
    {"POST", "/api/strategies/{id}/delete", NEED_INGEST, delete_},
    {"POST", "/api/strategies/{id}/status", NEED_INGEST, set_status},
    {"POST", "/api/strategies/{id}/rollback", NEED_INGEST, rollback},
    {"PUT", "/api/strategies/{id}/yaml", NEED_INGEST, put_yaml},
    {"GET", "/api/strategies/{id}/versions", NEED_READ, versions},
    {"GET", "/api/strategies/{id}/versions/{seq}", NEED_READ, version_one},
    {"GET", "/api/strategies/{id}/diff", NEED_READ, diff},
    {"GET", "/api/strategies/{id}/audit-log", NEED_READ, audit_log},
};

SRV_ROUTE_TABLE(srv_strategy_routes, routes);
