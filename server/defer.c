/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deferred requests: work that blocks for a long time (a durable append waits for its
 * group's fsync) runs on a worker thread while libmicrohttpd keeps the connection
 * suspended, so the daemon's threads go on reading other requests meanwhile. Without it a
 * daemon thread blocked in an append stalled every other connection it served, and a
 * commit group held only the requests that happened to sit on free threads (measured: 17
 * of 64 clients per group). The worker resumes the connection when done; the daemon
 * then calls the request handler again, which answers through the job's finish function.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct srv_job {
    srv_work_fn work;
    srv_finish_fn finish;
    void *data;
    srv_req *r;
    atomic_int done;
    srv_job *next;
};

struct srv_workers {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    srv_job *head, *tail;
    int stopping;
    unsigned n;
    pthread_t threads[];
};

static srv_job *next_job(srv_workers *w)
{
    pthread_mutex_lock(&w->lock);
    while (w->head == NULL && !w->stopping)
        pthread_cond_wait(&w->cond, &w->lock);
    srv_job *j = w->head;
    if (j != NULL) {
        w->head = j->next;
        if (w->head == NULL)
            w->tail = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    return j;
}

static void *worker(void *arg)
{
    srv_workers *w = arg;
    srv_job *j;
    while ((j = next_job(w)) != NULL) {
        j->work(j->r, j->data);
        atomic_store(&j->done, 1);
        MHD_resume_connection(j->r->conn);
    }
    return NULL;
}

int srv_workers_start(srv *s, unsigned n, char *err, size_t errlen)
{
    srv_workers *w = calloc(1, sizeof *w + n * sizeof w->threads[0]);
    if (w == NULL) {
        snprintf(err, errlen, "out of memory starting %u request workers", n);
        return TT_ENOMEM;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* Workers call the library and wait: a small stack is plenty. */
    pthread_attr_setstacksize(&attr, 256 * 1024);
    s->workers = w;
    for (; w->n < n; w->n++) {
        int e = pthread_create(&w->threads[w->n], &attr, worker, w);
        if (e != 0) {
            pthread_attr_destroy(&attr);
            srv_workers_stop(s);
            snprintf(err, errlen, "cannot start request worker %u of %u: %s", w->n + 1, n,
                     strerror(e));
            return TT_EIO;
        }
    }
    pthread_attr_destroy(&attr);
    return TT_OK;
}

/* Called after the daemon stopped: no job is queued or running any more. */
void srv_workers_stop(srv *s)
{
    srv_workers *w = s->workers;
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
    s->workers = NULL;
}

enum MHD_Result srv_defer(srv_req *r, void *data, srv_work_fn work, srv_finish_fn finish)
{
    srv_workers *w = r->s->workers;
    srv_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        finish(r->s, r, data, 0);
        return srv_error(r, 500, "out of memory");
    }
    j->work = work;
    j->finish = finish;
    j->data = data;
    j->r = r;
    r->job = j;
    /* Suspend before the job is visible to a worker, so its resume always follows. */
    MHD_suspend_connection(r->conn);
    pthread_mutex_lock(&w->lock);
    if (w->tail != NULL)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return MHD_YES;
}

int srv_deferred(srv_req *r)
{
    return r->job != NULL;
}

enum MHD_Result srv_defer_finish(srv *s, srv_req *r)
{
    srv_job *j = r->job;
    if (!atomic_load(&j->done))
        return MHD_YES; /* a spurious callback before the worker resumed us */
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
