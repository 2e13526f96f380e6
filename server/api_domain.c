/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The feedback, maintenance action, summary and analytics endpoints of SPEC 9. Each parses
 * the request, calls the library and answers with the library's JSON (or, for a summary
 * asked for as text/plain, its text form).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "front/front.h"
#include "ledgers.h"
#include "metrics.h"
#include "offload.h"
#include "routes.h"

/* ---- POST /api/feedback ---- */

static enum MHD_Result feedback_post(srv *s, srv_req *r)
{
    enum MHD_Result ret;
    if (srv_no_params(r, &ret) != 0 || srv_json_body(r, &ret) != 0)
        return ret;
    tt_feedback_settings cfg;
    char err[512];
    if (front_feedback_settings(s->cfg, &cfg, err, sizeof err) != TT_OK)
        return srv_error(r, 500, "configuration: %s", err);
    tt_feedback_input in;
    void *owner = NULL;
    int rc = tt_feedback_parse_json(r->body.data, r->body.len, &in, &owner, err, sizeof err);
    if (rc != TT_OK)
        return srv_error(r, srv_status_for(rc), "%s", err);
    tt_feedback_result res;
    if (srv_ledger_create(r, &ret) != 0) {
        tt_free(owner);
        return ret;
    }
    rc = tt_feedback_record(r->l, in.strategy_id, in.ai_return, in.benchmark_return, in.user_id,
                            in.benchmark, &cfg, &res);
    tt_free(owner);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    srv_metrics_append(s, tt_time_now_us() - r->started_us);
    return srv_json_take(r, 201, tt_feedback_result_to_json(&res));
}

/* ---- GET /api/feedback ---- */

static int parse_limit(const char *v, size_t max, size_t *out)
{
    int64_t x;
    if (tt_parse_int(v, 1, (int64_t)max, &x) != TT_OK)
        return -1;
    *out = (size_t)x;
    return 0;
}

static int time_param(srv_req *r, const char *name, int64_t *out, enum MHD_Result *answer)
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

static enum MHD_Result feedback_list(srv *s, srv_req *r)
{
    (void)s;
    static const char *const allowed[] = {"strategy_id", "outcome", "since",
                                          "until",       "limit",   NULL};
    enum MHD_Result ret;
    if (srv_check_params(r, allowed, &ret) != 0)
        return ret;
    tt_feedback_filter f;
    tt_feedback_filter_init(&f);
    f.strategy_id = srv_param(r, "strategy_id");
    const char *v = srv_param(r, "outcome");
    if (v != NULL && tt_outcome_parse(v, &f.outcome) != TT_OK)
        return srv_error(r, 400, "outcome: must be positive, negative or neutral");
    if ((v = srv_param(r, "limit")) != NULL && parse_limit(v, TT_FEEDBACK_MAX_LIST, &f.limit) != 0)
        return srv_error(r, 400, "limit: must be an integer from 1 to %d", TT_FEEDBACK_MAX_LIST);
    if (time_param(r, "since", &f.since_us, &ret) != 0 ||
        time_param(r, "until", &f.until_us, &ret) != 0)
        return ret;
    tt_feedback *list = NULL;
    size_t n = 0;
    int rc = tt_feedback_list(r->l, &f, &list, &n);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    ret = srv_json_take(r, 200, tt_feedback_list_to_json(list, n));
    tt_feedback_list_free(list, n);
    return ret;
}

/* ---- POST /api/actions ---- */

static enum MHD_Result actions_post(srv *s, srv_req *r)
{
    enum MHD_Result ret;
    if (srv_no_params(r, &ret) != 0 || srv_json_body(r, &ret) != 0)
        return ret;
    const char *message, *source;
    void *owner = NULL;
    char err[512];
    int rc =
        tt_action_parse_json(r->body.data, r->body.len, &message, &source, &owner, err, sizeof err);
    if (rc != TT_OK)
        return srv_error(r, srv_status_for(rc), "%s", err);
    tt_append_result res;
    if (srv_ledger_create(r, &ret) != 0) {
        tt_free(owner);
        return ret;
    }
    rc = tt_ledger_log_action(r->l, message, source, NULL, &res);
    tt_free(owner);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    srv_metrics_append(s, tt_time_now_us() - r->started_us);
    return srv_json_take(r, 201, tt_action_result_to_json(&res));
}

/* ---- GET /api/summary ---- */

static int wants_text(srv_req *r)
{
    const char *a = srv_header(r, "Accept");
    return a != NULL && strstr(a, "text/plain") != NULL && strstr(a, "application/json") == NULL;
}

typedef struct summary_args {
    tt_period period;
    int64_t at;
    const char *title; /* the text form's title (the configuration outlives the server) */
    int text;
} summary_args;

static int summary_work(tt_ledger *l, void *arg, srv_result *out)
{
    const summary_args *a = arg;
    tt_summary sum;
    int rc = tt_summary_build(l, a->period, a->at, &sum);
    if (rc != TT_OK)
        return rc;
    if (a->text) {
        out->body = tt_summary_to_text(&sum, a->title);
        out->content_type = "text/plain; charset=utf-8";
    } else {
        out->body = tt_summary_to_json(&sum);
    }
    tt_summary_clear(&sum);
    return TT_OK;
}

/* A month's summary reads every event of the month: on a worker (server/offload.c). */
static enum MHD_Result summary_get(srv *s, srv_req *r)
{
    static const char *const allowed[] = {"period", "date", NULL};
    enum MHD_Result ret;
    if (srv_check_params(r, allowed, &ret) != 0)
        return ret;
    summary_args *a = calloc(1, sizeof *a);
    if (a == NULL)
        return srv_error(r, 500, "out of memory");
    *a = (summary_args){.period = TT_PERIOD_DAY, .at = tt_time_now_us(), .text = wants_text(r)};
    a->title = s->cfg ? tti_config_get(s->cfg, "summary_title") : NULL;
    const char *v = srv_param(r, "period");
    if (v != NULL && tt_period_parse(v, &a->period) != TT_OK) {
        free(a);
        return srv_error(r, 400, "period: must be day, week or month");
    }
    if ((v = srv_param(r, "date")) != NULL && tt_time_parse_expr(v, a->at, &a->at) != TT_OK) {
        free(a);
        return srv_error(r, 400, "date: not a date (YYYY-MM-DD, today, yesterday)");
    }
    return srv_offload(r, summary_work, a);
}

/* ---- GET /api/analytics/{kind} ---- */

typedef struct report_args {
    char kind[65];
    size_t limit;
} report_args;

static int report_work(tt_ledger *l, void *arg, srv_result *out)
{
    const report_args *a = arg;
    tt_report *rep = NULL;
    int rc = tt_report_run(l, a->kind, a->limit, &rep);
    if (rc != TT_OK)
        return rc;
    out->body = tt_report_to_json(rep);
    tt_report_free(rep);
    return TT_OK;
}

/* Reports count or read the whole ledger: on a worker (server/offload.c). */
static enum MHD_Result analytics_get(srv *s, srv_req *r)
{
    (void)s;
    static const char *const allowed[] = {"limit", NULL};
    enum MHD_Result ret;
    if (srv_check_params(r, allowed, &ret) != 0)
        return ret;
    size_t limit = 0;
    const char *v = srv_param(r, "limit");
    if (v != NULL && parse_limit(v, TT_MAX_QUERY_LIMIT, &limit) != 0)
        return srv_error(r, 400, "limit: must be an integer from 1 to %d", TT_MAX_QUERY_LIMIT);
    size_t n;
    const char *const *kinds = tt_report_kinds(&n);
    size_t k = 0;
    while (k < n && strcmp(kinds[k], r->id) != 0)
        k++;
    if (k == n)
        return srv_error(r, 404, "no analytics report \"%s\"", r->id);
    report_args *a = calloc(1, sizeof *a);
    if (a == NULL)
        return srv_error(r, 500, "out of memory");
    snprintf(a->kind, sizeof a->kind, "%s", r->id);
    a->limit = limit;
    return srv_offload(r, report_work, a);
}

static const srv_route routes[] = {
    {"POST", "/api/feedback", NEED_INGEST, feedback_post},
    {"GET", "/api/feedback", NEED_READ, feedback_list},
    {"POST", "/api/actions", NEED_INGEST, actions_post},
    {"GET", "/api/summary", NEED_READ, summary_get},
    {"GET", "/api/analytics/{id}", NEED_READ, analytics_get},
};

SRV_ROUTE_TABLE(srv_domain_routes, routes);
