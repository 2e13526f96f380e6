/* SPDX-License-Identifier: Apache-2.0 */
/* An append in flight for POST /api/events, whichever front end took the request
 * (server/api_events.c through libmicrohttpd, server/fastpath.c), and its answer. */
#ifndef TT_SERVER_APPEND_H
#define TT_SERVER_APPEND_H

#include "answer.h"

typedef struct srv_append {
    tt_event *events;
    void *owner;
    size_t n;
    int is_batch;
    tt_append_result *res;
    int rc;
    char err[512]; /* the library's message, copied on the committer thread */
} srv_append;

/* Take the parsed events (tt_events_parse_body) and room for their results: TT_OK, or
 * TT_ENOMEM with the events freed. */
int srv_append_init(srv_append *a, tt_event *events, size_t n, void *owner, int is_batch);
void srv_append_clear(srv_append *a);
/* The ledger's verdict, from the done callback on the committer's thread. */
void srv_append_done(srv_append *a, int rc, const char *msg);
/* The answer to an append that committed: its status (201 when it wrote an event, 200 for
 * repeats only) and *json (tt_free; NULL when out of memory). Counts its time since
 * started_us in the metrics. */
unsigned srv_append_results(srv *s, const srv_append *a, int64_t started_us, char **json);

#endif
