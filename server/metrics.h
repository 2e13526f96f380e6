/* SPDX-License-Identifier: Apache-2.0 */
/* The counters behind GET /metrics (server/metrics.c) that the handlers feed. */
#ifndef TT_SERVER_METRICS_H
#define TT_SERVER_METRICS_H

#include "answer.h"

srv_metrics *srv_metrics_new(void);
void srv_metrics_free(srv_metrics *m);
/* An append of events through this server, acknowledged after duration_us. */
void srv_metrics_append(srv *s, int64_t events, int64_t duration_us);

#endif
