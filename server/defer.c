/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deferred answers: a request whose work completes later on another thread (a durable
 * append waits for its group's fsync, tt_ledger_append_async) is suspended in
 * libmicrohttpd meanwhile, so the daemon's threads go on serving other connections. A
 * daemon thread blocked in an append used to stall every connection it served, and a
 * commit group held only the requests that happened to sit on free threads (measured: 17
 * of 64 clients per group). srv_defer_done resumes the connection; the daemon then calls
 * the request handler again, which answers through the job's finish function.
 */
#include <stdlib.h>

#include "defer.h"

struct srv_job {
    srv_finish_fn finish;
    void *data;
    atomic_int done;
};

enum MHD_Result srv_defer(srv_req *r, void *data, srv_finish_fn finish)
{
    srv_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        finish(r->s, r, data, 0);
        return srv_error(r, 500, "out of memory");
    }
    j->finish = finish;
    j->data = data;
    r->job = j;
    atomic_fetch_add(&r->s->deferred, 1);
    /* Suspended before the work is started, so its resume always comes after. */
    MHD_suspend_connection(r->conn);
    return MHD_YES;
}

void srv_defer_done(srv_req *r)
{
    srv *s = r->s; /* r may be gone once the connection is resumed */
    atomic_store(&r->job->done, 1);
    MHD_resume_connection(r->conn);
    atomic_fetch_sub(&s->deferred, 1);
}

int srv_deferred(srv_req *r)
{
    return r->job != NULL;
}

enum MHD_Result srv_defer_finish(srv *s, srv_req *r)
{
    srv_job *j = r->job;
    if (!atomic_load(&j->done))
        return MHD_YES; /* a callback before the work resumed us: keep waiting */
    r->job = NULL;
    enum MHD_Result ret = j->finish(s, r, j->data, 1);
    free(j);
    return ret;
}

void srv_defer_release(srv *s, srv_req *r)
{
    srv_job *j = r->job;
    if (j == NULL)
        return;
    r->job = NULL;
    j->finish(s, r, j->data, 0);
    free(j);
}
