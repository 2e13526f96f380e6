/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SSE hub of GET /api/stream (server/sse.c): suspended streams wait in it until new
 * events, the heartbeat tick or shutdown wake them.
 */
#ifndef TT_SERVER_SSE_H
#define TT_SERVER_SSE_H

#include "answer.h"

/* Set up s->hub and observe s->l's commits (each wakes the streams); TT_OK or a library
 * status, TT_EINVAL for a bad SSE_TEST_BUF_ENV or SSE_TEST_WINDOW_ENV. stop undoes it
 * (nothing when start failed). The two variables are for tests only: a subscriber's page
 * buffer in bytes, a window's size in events (sse_feed.h). */
#define SSE_TEST_BUF_ENV "TT_TEST_SSE_BUFFER"
#define SSE_TEST_WINDOW_ENV "TT_TEST_SSE_WINDOW"
int srv_sse_start(srv *s);
void srv_sse_stop(srv *s);
/* New events may be there: every suspended stream looks, within 20 ms (sse.c,
 * SSE_COALESCE_NS). Any thread; cheap (the waker thread does the waking). */
void srv_sse_notify(srv *s);
/* Streams due a keep-alive send one; those whose client has gone end, and (checked once a
 * second) those whose token was revoked. The ticker's thread. */
void srv_sse_heartbeat(srv *s);
/* End every stream and refuse new ones (the server is stopping). */
void srv_sse_shutdown(srv *s);

#endif
