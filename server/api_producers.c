/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Completeness per producer (SPEC 15): POST /api/heartbeat marks a producer alive (its
 * SILENT events are raised by the ticker, server/serve.c), GET /api/producers lists what
 * the ledger knows of each producer. The library parses, decides and shapes the JSON.
 */
#include "ledgers.h"
#include "routes.h"

static enum MHD_Result heartbeat_post(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result ret;
    if (srv_no_params(r, &ret) != 0 || srv_json_body(r, &ret) != 0)
        return ret;
    const char *producer;
    int64_t timeout_s;
    void *owner = NULL;
    char err[512];
    int rc = tt_heartbeat_parse_json(r->body.data, r->body.len, &producer, &timeout_s, &owner, err,
                                     sizeof err);
    if (rc != TT_OK)
        return srv_error(r, srv_status_for(rc), "%s", err);
    /* A heartbeat is one small write, rare per producer: it runs on this thread. */
    tt_producer p;
    if (srv_ledger_create(r, &ret) != 0) {
        tt_free(owner);
        return ret;
    }
    rc = tt_ledger_heartbeat(r->l, producer, timeout_s, &p);
    tt_free(owner);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    return srv_json_take(r, 200, tt_producer_to_json(&p));
}

static enum MHD_Result producers_get(srv *s, srv_req *r)
{
    (void)s;
    enum MHD_Result ret;
    if (srv_no_params(r, &ret) != 0)
        return ret;
    tt_producer *ps = NULL;
    size_t n = 0;
    int rc = tt_ledger_producers(r->l, &ps, &n);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(r->l));
    ret = srv_json_take(r, 200, tt_producers_to_json(ps, n));
    tt_free(ps);
    return ret;
}

static const srv_route routes[] = {
    {"POST", "/api/heartbeat", NEED_INGEST, heartbeat_post},
    {"GET", "/api/producers", NEED_READ, producers_get},
};

SRV_ROUTE_TABLE(srv_producer_routes, routes);
