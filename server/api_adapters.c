/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Adapters for what trading bots already send (SPEC 15): POST /api/adapters/freqtrade takes
 * freqtrade's webhook bodies. The library turns a body into an event
 * (tt_freqtrade_parse_webhook); this file only checks the request and appends it as
 * POST /api/events does.
 */
#include "routes.h"

static enum MHD_Result freqtrade_post(srv *s, srv_req *r)
{
    /* ledger: the named ledger (SPEC 15) for a bot that can only be given a URL
     * (server/ledgers.c reads it where X-Ledger is missing). */
    static const char *const allowed[] = {"ledger", NULL};
    enum MHD_Result answer;
    if (srv_check_params(r, allowed, &answer) != 0)
        return answer;
    if (!srv_content_is(r, "application/json"))
        return srv_error(r, 415,
                         "Content-Type must be application/json: set \"format\": \"json\" in "
                         "freqtrade's webhook configuration");
    if (r->body.len == 0)
        return srv_error(r, 400, "the request body is empty");
    char err[512];
    tt_event *events;
    size_t n;
    void *owner;
    int rc =
        tt_freqtrade_parse_webhook(r->body.data, r->body.len, &events, &n, &owner, err, sizeof err);
    if (rc != TT_OK)
        return srv_error(r, srv_status_for(rc), "%s", err);
    return srv_append_parsed(s, r, events, n, owner);
}

static const srv_route routes[] = {
    {"POST", "/api/adapters/freqtrade", NEED_INGEST, freqtrade_post},
};

SRV_ROUTE_TABLE(srv_adapter_routes, routes);
