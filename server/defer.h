/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deferred answers (server/defer.c): srv_defer suspends the connection; the work, started
 * after it, calls srv_defer_done from any thread when finished; the daemon then calls
 * srv_defer_finish, and finish(s, r, data, 1) answers. finish(s, r, data, 0) only frees, for
 * a request that ended before its answer (srv_defer_release, when the request completes).
 */
#ifndef TT_SERVER_DEFER_H
#define TT_SERVER_DEFER_H

#include "answer.h"

typedef enum MHD_Result (*srv_finish_fn)(srv *s, srv_req *r, void *data, int answer);
enum MHD_Result srv_defer(srv_req *r, void *data, srv_finish_fn finish);
void srv_defer_done(srv_req *r);
int srv_deferred(srv_req *r);
enum MHD_Result srv_defer_finish(srv *s, srv_req *r);
void srv_defer_release(srv *s, srv_req *r);

#endif
