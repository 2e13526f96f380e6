/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The threads tradetrail serve runs beside the HTTP daemon (SPEC 7): the job scheduler
 * (server/jobs.c) and the notification worker (server/notify_worker.c). Started after the
 * notification settings are in place, stopped after the daemon has drained and before the
 * final checkpoint. start returns 0, or -1 after printing why it could not.
 */
#ifndef TT_SERVER_WORKERS_H
#define TT_SERVER_WORKERS_H

#include "answer.h"

int srv_jobs_start(srv *s);
void srv_jobs_stop(srv *s);
int srv_notify_start(srv *s);
void srv_notify_stop(srv *s);

#endif
