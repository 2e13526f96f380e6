/* SPDX-License-Identifier: Apache-2.0 */
/* The libmicrohttpd daemon of tradetrail serve (server/http.c): listen, dispatch, stop. */
#ifndef TT_SERVER_HTTP_H
#define TT_SERVER_HTTP_H

#include <stddef.h>

#include "answer.h"

/* Listen on ADDR:PORT (IPv4) with threads request threads and serve srv_route_tables.
 * Returns TT_OK, or TT_EINVAL / TT_EIO with the reason in err. */
int srv_start(srv *s, const char *listen, unsigned threads, char *err, size_t errlen);
/* Stop the daemon (after draining: see server/serve.c). */
void srv_stop(srv *s);

#endif
