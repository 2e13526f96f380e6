/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The append of POST /api/events between the request and its answer, shared by both front
 * ends (server/api_events.c through libmicrohttpd, server/fastpath.c): one place decides
 * what an append answers, so the two cannot drift.
 */
#include <stdio.h>
#include <stdlib.h>

#include "append.h"
#include "metrics.h"
#include "util/time.h"

int srv_append_init(srv_append *a, tt_event *events, size_t n, void *owner, int is_batch)
{
    a->events = events;
    a->n = n;
    a->owner = owner;
    a->is_batch = is_batch;
    a->rc = TT_OK;
    a->err[0] = '\0';
    if ((a->res = calloc(n, sizeof *a->res)) == NULL) {
        srv_append_clear(a);
        return TT_ENOMEM;
    }
    return TT_OK;
}

void srv_append_clear(srv_append *a)
{
    tt_events_free_body(a->events, a->n, a->owner);
    free(a->res);
    a->events = NULL;
    a->owner = NULL;
    a->res = NULL;
    a->n = 0;
}

void srv_append_done(srv_append *a, int rc, const char *msg)
{
    a->rc = rc;
    if (rc != TT_OK)
        snprintf(a->err, sizeof a->err, "%s", msg ? msg : "");
}

unsigned srv_append_results(srv *s, const srv_append *a, int64_t started_us, char **json)
{
    size_t written = 0;
    for (size_t i = 0; i < a->n; i++)
        written += !a->res[i].existed;
    srv_metrics_append(s, tt_time_now_us() - started_us);
    *json = a->is_batch ? tt_batch_result_to_json(a->res, a->n) : tt_append_result_to_json(a->res);
    return written ? 201 : 200;
}
