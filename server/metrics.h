/* SPDX-License-Identifier: Apache-2.0 */
/* The counters behind GET /metrics (server/metrics.c): the events written, counted by a
 * commit observer of the ledger, and the append requests' times, fed by the handlers. */
#ifndef TT_SERVER_METRICS_H
#define TT_SERVER_METRICS_H

#include "answer.h"

/* Set up s->metrics and observe s->l's commits; TT_OK or a library status. stop undoes it
 * (nothing when start failed). */
int srv_metrics_start(srv *s);
void srv_metrics_stop(srv *s);
/* An append request answered duration_us after it arrived (the histogram). */
void srv_metrics_append(srv *s, int64_t duration_us);

#endif
