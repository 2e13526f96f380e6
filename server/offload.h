/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slow reads off the daemon's threads (server/offload.c): a handler whose answer takes a
 * scan of the ledger (GET /api/stats, /api/analytics/{kind}, /api/summary) hands its work
 * to a small pool of workers and its connection is suspended meanwhile (server/defer.c).
 */
#ifndef TT_SERVER_OFFLOAD_H
#define TT_SERVER_OFFLOAD_H

#include "answer.h"

/* The answer of a slow read, filled on a worker: body (malloc'd, or from the library and
 * freed with tt_free) is JSON, or text of content_type when that is set. */
typedef struct srv_result {
    char *body;
    const char *content_type;
} srv_result;

/* The work: a library status; on TT_OK, out->body is set. arg is the handler's and is
 * freed (with free) once the request is answered or has ended. */
typedef int (*srv_work_fn)(tt_ledger *l, void *arg, srv_result *out);

/* Run work(r->l, arg, ...) on a worker and answer r with its result: 200 with the body, or
 * the status and message of the library failure. Takes arg in every case. */
enum MHD_Result srv_offload(srv_req *r, srv_work_fn work, void *arg);

/* The workers, started with the daemon (server/http.c) and stopped after it, when no
 * deferred request is left. */
int srv_offload_start(unsigned workers);
void srv_offload_stop(void);

#endif
