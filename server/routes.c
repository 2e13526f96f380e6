/* SPDX-License-Identifier: Apache-2.0 */
/* The one list of route tables tradetrail serve dispatches over; a new URL family adds its
 * module's table here. */
#include "routes.h"

const srv_route_table *const srv_route_tables[] = {
    &srv_ops_routes,
    &srv_events_routes,
    &srv_stream_routes,
    &srv_strategy_routes,
    &srv_domain_routes,
    &srv_cron_routes,
    &srv_export_routes,
    &srv_adapter_routes,
    &srv_producer_routes,
    &srv_web_routes, /* the dashboard's files */
    NULL,
};
