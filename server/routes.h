/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Routing of tradetrail serve: what a route is, and the route table each module exports.
 * A module owns its URL family (journal-gatewayd keeps one handler per family); the daemon
 * (server/http.c) dispatches over srv_route_tables (server/routes.c) and knows no route.
 */
#ifndef TT_SERVER_ROUTES_H
#define TT_SERVER_ROUTES_H

#include <stddef.h>

#include "answer.h"

/* What a route needs before its handler runs (admin satisfies every token role). */
typedef enum srv_need {
    NEED_NONE,    /* nothing: /healthz */
    NEED_READ,    /* a read or admin token */
    NEED_INGEST,  /* an ingest or admin token */
    NEED_APPEND,  /* as NEED_INGEST, for a route that only appends (server/http.c may_cache) */
    NEED_ADMIN,   /* an admin token */
    NEED_METRICS, /* none with metrics_public, else as NEED_READ (SPEC 9, GET /metrics) */
    NEED_CRON,    /* the X-Cron-Auth shared secret, cron_secret (SPEC 7) */
} srv_need;

typedef enum MHD_Result (*srv_handler)(srv *s, srv_req *r);

typedef struct srv_route {
    const char *method;
    const char *pattern; /* literal path; "{seq}" a decimal segment, "{id}" a name segment */
    srv_need need;
    srv_handler handle;
} srv_route;

typedef struct srv_route_table {
    const srv_route *routes;
    size_t n;
} srv_route_table;

#define SRV_ROUTE_TABLE(name, routes)                                                              \
    const srv_route_table name = {routes, sizeof routes / sizeof routes[0]}

/* The tables, one per module. Within a table the first matching route wins (literal
 * segments before {id} patterns); across tables no path belongs to two modules, so their
 * order does not matter. */
extern const srv_route_table srv_ops_routes;      /* server/metrics.c: /healthz, /metrics */
extern const srv_route_table srv_events_routes;   /* server/api_events.c */
extern const srv_route_table srv_stream_routes;   /* server/sse.c */
extern const srv_route_table srv_strategy_routes; /* server/api_strategy.c */
extern const srv_route_table srv_domain_routes;   /* server/api_domain.c */
extern const srv_route_table srv_cron_routes;     /* server/jobs.c */
extern const srv_route_table srv_export_routes;   /* server/api_export.c */
extern const srv_route_table srv_web_routes;      /* server/api_web.c: the dashboard */
extern const srv_route_table srv_adapter_routes;  /* server/api_adapters.c: /api/adapters/ */
extern const srv_route_table srv_producer_routes; /* server/api_producers.c: SPEC 15 */

/* Append events parsed by the library (tt_events_parse_body or an adapter), taking them
 * and owner, and answer as POST /api/events answers (201 or 200 for an idempotent repeat);
 * the connection waits for the commit without holding a thread (server/api_events.c). */
enum MHD_Result srv_append_parsed(srv *s, srv_req *r, tt_event *events, size_t n, void *owner);

/* Every table the daemon serves, NULL-terminated (server/routes.c). */
extern const srv_route_table *const srv_route_tables[];

#endif
