/* SPDX-License-Identifier: Apache-2.0 */
/* The append fast path of tradetrail serve (server/fastpath.c): it accepts every
 * connection, serves plain event appends, and hands the rest to libmicrohttpd. */
#ifndef TT_SERVER_FASTPATH_H
#define TT_SERVER_FASTPATH_H

#include "answer.h"

/* Serve connections accepted on listen_fd (non-blocking, listening; the fast path closes
 * it when it stops) beside s->d, which must run with MHD_USE_NO_LISTEN_SOCKET. 0, or -1
 * with errno. */
int srv_fastpath_start(srv *s, int listen_fd);
/* After the drain (server/serve.c): stop accepting, close what is held. */
void srv_fastpath_stop(void);

#endif
