/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /api/export and GET /api/export/manifest (SPEC 8, 9; docs/API.md): the data file of
 * a verifiable export, streamed as libmicrohttpd pulls it (one page of events at a time,
 * no read transaction held between pulls), and its manifest, served separately for the
 * same snapshot: the data answer names its snapshot in X-Tradetrail-Tree-Size and links the
 * manifest's URL. The library does the work (src/jobs/export.c); this file parses the
 * query string and formats the answers.
 */
#include <stdlib.h>
#include <string.h>

#include "routes.h"

typedef struct export_args {
    tt_export_options o;
} export_args;

/* since, until, format, tree_size: the same for both endpoints. */
static int parse_args(srv_req *r, export_args *a, enum MHD_Result *answer)
{
    static const char *const allowed[] = {"since", "until", "format", "tree_size", NULL};
    if (srv_check_params(r, allowed, answer) != 0)
        return -1;
    tt_export_options_init(&a->o);
    int64_t now = tt_time_now_us();
    const char *v;
    if ((v = srv_param(r, "since")) != NULL && tt_time_parse_expr(v, now, &a->o.since_us) != 0) {
        *answer = srv_error(r, 400, "since: not a time (RFC 3339, a date, today, -7d, ...)");
        return -1;
    }
    if ((v = srv_param(r, "until")) != NULL && tt_time_parse_expr(v, now, &a->o.until_us) != 0) {
        *answer = srv_error(r, 400, "until: not a time (RFC 3339, a date, today, -7d, ...)");
        return -1;
    }
    if ((v = srv_param(r, "format")) != NULL && tt_export_format_parse(v, &a->o.format) != 0) {
        *answer = srv_error(r, 400, "format: must be jsonl or csv");
        return -1;
    }
    if ((v = srv_param(r, "tree_size")) != NULL &&
        tt_parse_int(v, 1, INT64_MAX, &a->o.tree_size) != TT_OK) {
        *answer = srv_error(r, 400, "tree_size: must be a positive integer");
        return -1;
    }
    return 0;
}

static const char *file_name(tt_export_format f)
{
    return f == TT_EXPORT_CSV ? "events.csv" : "events.jsonl";
}

/* ---- GET /api/export ---- */

static ssize_t data_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    size_t n = 0;
    if (tt_export_read(cls, buf, max, &n) != TT_OK)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void data_free(void *cls)
{
    tt_export_free(cls);
}

static void time_header(struct MHD_Response *resp, const char *name, int64_t us)
{
    if (us == TT_TIME_NONE)
        return;
    char ts[TT_TS_LEN + 1];
    tt_time_format(us, ts);
    MHD_add_response_header(resp, name, ts);
}

static enum MHD_Result export_data(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result answer;
    export_args a;
    if (parse_args(r, &a, &answer) != 0)
        return answer;
    tt_export *x = NULL;
    int rc = tt_export_open(r->l, &a.o, &x);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    int64_t size, first, last, count;
    tt_export_range(x, &size, &first, &last, &count);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, data_read, x, data_free);
    if (resp == NULL) {
        tt_export_free(x);
        return MHD_NO;
    }
    /* The snapshot and the resolved window, so the manifest can be asked for the very
     * same bytes even when since/until were relative ("-7d"). */
    char num[32], link[256], ts1[TT_TS_LEN + 1], ts2[TT_TS_LEN + 1];
    snprintf(num, sizeof num, "%lld", (long long)size);
    MHD_add_response_header(resp, "X-Tradetrail-Tree-Size", num);
    snprintf(num, sizeof num, "%lld", (long long)count);
    MHD_add_response_header(resp, "X-Tradetrail-Count", num);
    time_header(resp, "X-Tradetrail-Since", a.o.since_us);
    time_header(resp, "X-Tradetrail-Until", a.o.until_us);
    tt_time_format(a.o.since_us, ts1);
    tt_time_format(a.o.until_us, ts2);
    snprintf(link, sizeof link,
             "</api/export/manifest?format=%s&tree_size=%lld%s%s%s%s>; "
             "rel=\"describedby\"",
             tt_export_format_name(a.o.format), (long long)size,
             a.o.since_us != TT_TIME_NONE ? "&since=" : "", a.o.since_us != TT_TIME_NONE ? ts1 : "",
             a.o.until_us != TT_TIME_NONE ? "&until=" : "",
             a.o.until_us != TT_TIME_NONE ? ts2 : "");
    MHD_add_response_header(resp, "Link", link);
    MHD_add_response_header(resp, "Content-Type",
                            a.o.format == TT_EXPORT_CSV ? "text/csv; charset=utf-8; header=present"
                                                        : "application/x-ndjson");
    char disp[64];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", file_name(a.o.format));
    MHD_add_response_header(resp, "Content-Disposition", disp);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return srv_queue(r, 200, resp);
}

/* ---- GET /api/export/manifest ---- */

static enum MHD_Result export_manifest(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result answer;
    export_args a;
    if (parse_args(r, &a, &answer) != 0)
        return answer;
    tt_export *x = NULL;
    int rc = tt_export_open(r->l, &a.o, &x);
    /* The manifest hashes the data file: read it through once, keeping nothing. */
    char *buf = rc == TT_OK ? malloc(64 * 1024) : NULL;
    if (rc == TT_OK && buf == NULL)
        rc = TT_ENOMEM;
    size_t n = 1;
    while (rc == TT_OK && n > 0)
        rc = tt_export_read(x, buf, 64 * 1024, &n);
    free(buf);
    char *manifest = NULL;
    if (rc == TT_OK)
        rc = tt_export_manifest(x, file_name(a.o.format), &manifest);
    tt_export_free(x);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    return srv_json_take(r, 200, manifest);
}

static const srv_route routes[] = {
    {"GET", "/api/export", NEED_READ, export_data},
    {"GET", "/api/export/manifest", NEED_READ, export_manifest},
};

SRV_ROUTE_TABLE(srv_export_routes, routes);
