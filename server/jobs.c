/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler inside tradetrail serve and the cron endpoints (SPEC 7). */
#include "server.h"

int srv_jobs_start(srv *s)
{
    (void)s;
    return 0; /* the jobs work starts the scheduler thread here */
}

void srv_jobs_stop(srv *s)
{
    (void)s;
}

enum MHD_Result srv_cron_route(srv *s, srv_req *r, int *matched)
{
    (void)s;
    (void)r;
    *matched = 0; /* the jobs work adds POST /api/cron/{job} and /api/ai/train here */
    return MHD_NO;
}
