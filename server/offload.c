/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pool of workers for the reads that scan the ledger. libmicrohttpd binds each
 * connection to the daemon thread that accepted it, so a handler counting 10 million
 * events for a second and more also stalls every other keep-alive connection of that
 * thread: the dashboard's second load after a restart waited 2 s behind the first load's
 * GET /api/stats (bench/RESULTS.md, SPEC 11). Such a request is suspended instead, its
 * work runs here, and the daemon answers it when the work is done (server/defer.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "defer.h"
#include "offload.h"
#include "util/thread.h"

typedef struct task {
    struct task *next;
    srv_req *r;
    tt_ledger *l;
    srv_work_fn work;
    void *arg;
    int rc;
    char *err; /* the library's message, copied on the worker (it is per thread) */
    srv_result res;
} task;

#define MAX_WORKERS 16

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    task *head, *tail;
    int stop;
    unsigned n;
    pthread_t threads[MAX_WORKERS];
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void run(task *t)
{
    t->rc = t->work(t->l, t->arg, &t->res);
    const char *msg = t->rc != TT_OK ? tt_ledger_errmsg(t->l) : NULL;
    if (t->rc == TT_OK && t->res.body == NULL) {
        t->rc = TT_ENOMEM;
        msg = "out of memory";
    }
    if (msg != NULL)
        t->err = strdup(msg); /* NULL: finish says "out of memory" */
}

static void *worker(void *unused)
{
    (void)unused;
    tti_thread_name("tt-offload");
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        while (pool.head == NULL && !pool.stop)
            pthread_cond_wait(&pool.cond, &pool.lock);
        task *t = pool.head;
        if (t != NULL && (pool.head = t->next) == NULL)
            pool.tail = NULL;
        pthread_mutex_unlock(&pool.lock);
        if (t == NULL)
            return NULL; /* stopping, and nothing is queued */
        run(t);
        srv_defer_done(t->r);
    }
}

static void task_free(task *t)
{
    tt_free(t->res.body);
    free(t->err);
    free(t->arg);
    free(t);
}

static enum MHD_Result finish(srv *s, srv_req *r, void *data, int answer)
{
    (void)s;
    task *t = data;
    enum MHD_Result ret = MHD_YES;
    if (answer && t->rc != TT_OK)
        ret = srv_fail(r, t->rc, t->err != NULL ? t->err : "out of memory");
    else if (answer && t->res.content_type != NULL)
        ret = srv_text(r, 200, t->res.content_type, t->res.body);
    else if (answer)
        ret = srv_json(r, 200, t->res.body);
    task_free(t);
    return ret;
}

enum MHD_Result srv_offload(srv_req *r, srv_work_fn work, void *arg)
{
    task *t = calloc(1, sizeof *t);
    if (t == NULL) {
        free(arg);
        return srv_error(r, 500, "out of memory");
    }
    *t = (task){.r = r, .l = r->l, .work = work, .arg = arg};
    enum MHD_Result ret = srv_defer(r, t, finish);
    if (ret != MHD_YES || !srv_deferred(r))
        return ret; /* srv_defer answered, and finish freed the task */
    pthread_mutex_lock(&pool.lock);
    if (pool.tail != NULL)
        pool.tail->next = t;
    else
        pool.head = t;
    pool.tail = t;
    pthread_cond_signal(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
    return MHD_YES;
}

int srv_offload_start(unsigned workers)
{
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    pool.stop = 0;
    for (pool.n = 0; pool.n < workers; pool.n++)
        if (pthread_create(&pool.threads[pool.n], NULL, worker, NULL) != 0) {
            srv_offload_stop();
            return -1;
        }
    return 0;
}

void srv_offload_stop(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.stop = 1;
    pthread_cond_broadcast(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
    for (unsigned i = 0; i < pool.n; i++)
        pthread_join(pool.threads[i], NULL);
    pool.n = 0;
}
