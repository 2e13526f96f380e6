/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tradetrail serve on an open ledger (srv_serve, called by cli/cmd_serve.c): the first admin
 * token, the HTTP server and the ticker that signs checkpoints and wakes streams, the
 * scheduler and the notification worker; a clean shutdown on SIGTERM/SIGINT: stop
 * accepting, drain, commit, sign a final checkpoint, exit 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "front/front.h"
#include "util/time.h"
#include "http.h"
#include "ledgers.h"
#include "metrics.h"
#include "sse.h"
#include "workers.h"
#include "util/thread.h"

/* Print "tradetrail serve: <message>" on stderr; returns the exit code of rc (SPEC 10). */
static int fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rc = front_vfail("serve", rc, fmt, ap);
    va_end(ap);
    return rc;
}

/* The ticker thread (signing checkpoints, waking streams) beside the server it serves. */
typedef struct ticking {
    srv *s;
    int64_t checkpoint_interval_ms;
    int64_t heartbeat_timeout_s; /* SPEC 15: the default for producers without their own */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} ticking;

static int parse_settings(const tti_config *cfg, srv *s, ticking *t)
{
    char err[256];
    double v;
    int rc = tti_config_double(cfg, "checkpoint_interval", 0.01, 86400, &v, err, sizeof err);
    if (rc == TT_OK)
        rc = tti_config_bool(cfg, "metrics_public", &s->metrics_public, err, sizeof err);
    if (rc != TT_OK)
        return fail(rc, "%s", err);
    t->checkpoint_interval_ms = (int64_t)(v * 1000);
    if ((rc = tti_config_double(cfg, "heartbeat_timeout", 1, 366 * 86400.0, &v, err, sizeof err)) !=
        TT_OK)
        return fail(rc, "%s", err);
    t->heartbeat_timeout_s = (int64_t)v;
    s->cfg = cfg;
    return 0;
}

/* First start on an empty store: one admin token, shown once. */
static int first_token(tt_ledger *l)
{
    tt_token_info *list = NULL;
    size_t n = 0;
    int rc = tt_token_list(l, &list, &n);
    tt_token_list_free(list, n);
    if (rc != TT_OK)
        return fail(rc, "%s", tt_ledger_errmsg(l));
    if (n > 0) {
        printf("tokens: `tradetrail token create --role read|ingest|admin` makes a new one\n");
        return 0;
    }
    char *token = NULL;
    rc = tt_token_create(l, TT_ROLE_ADMIN, "initial-admin", "tradetrail-serve", &token, NULL);
    if (rc != TT_OK)
        return fail(rc, "%s", tt_ledger_errmsg(l));
    printf("admin token (shown once, keep it safe): %s\n", token);
    printf("more tokens: tradetrail token create --role read|ingest|admin --name NAME\n");
    tt_free(token);
    return 0;
}

static void sleep_ms(ticking *t, int64_t ms)
{
    struct timespec until = tti_deadline_ms(ms);
    pthread_mutex_lock(&t->lock);
    if (!atomic_load(&t->s->stopping))
        pthread_cond_timedwait(&t->cond, &t->lock, &until);
    pthread_mutex_unlock(&t->lock);
}

/* What one tick does for every ledger: which of its periodic duties are due. */
typedef struct tick {
    const ticking *t;
    int64_t now_ms;
    int sweep, sign;
} tick;

/* One ledger's tick: wake streams for appends made by other processes (its size
 * changed), raise SILENT for producers silent too long (SPEC 15), sign when the tree has
 * grown (SPEC 4). */
static void tick_ledger(srv *s, tt_ledger *l, int64_t *last_size, void *ctx)
{
    const tick *k = ctx;
    int64_t size = 0;
    uint8_t root[TT_HASH_SIZE];
    if (tt_ledger_head(l, &size, root) != TT_OK)
        return;
    if (size != *last_size)
        srv_sse_notify(s);
    *last_size = size;
    if (k->sweep &&
        tt_ledger_sweep_silent(l, k->now_ms * 1000, k->t->heartbeat_timeout_s, NULL) != TT_OK)
        fprintf(stderr, "tradetrail serve: ledger %s: producers: %s\n", tt_ledger_name(l),
                tt_ledger_errmsg(l));
    tt_checkpoint cp;
    if (!k->sign)
        return;
    if (tt_ledger_checkpoint_sign(l, &cp) == TT_OK)
        tt_checkpoint_clear(&cp);
    else
        fprintf(stderr, "tradetrail serve: ledger %s: checkpoint: %s\n", tt_ledger_name(l),
                tt_ledger_errmsg(l));
}

/* Tick the main ledger and every named one, and send the streams' heartbeats. */
static void *ticker(void *arg)
{
    ticking *t = arg;
    tti_thread_name("tt-ticker");
    srv *s = t->s;
    int64_t last_size = -1, last_cp = 0, last_sweep = 0,
            step = t->checkpoint_interval_ms < 250 ? t->checkpoint_interval_ms : 250;
    while (!atomic_load(&s->stopping)) {
        sleep_ms(t, step);
        tick k = {.t = t, .now_ms = tt_time_now_us() / 1000};
        k.sweep = k.now_ms - last_sweep >= 1000;
        k.sign = k.now_ms - last_cp >= t->checkpoint_interval_ms;
        tick_ledger(s, s->l, &last_size, &k);
        srv_ledgers_each(s, tick_ledger, &k);
        srv_sse_heartbeat(s);
        if (k.sweep)
            last_sweep = k.now_ms;
        if (k.sign)
            last_cp = k.now_ms;
    }
    return NULL;
}

/* WARNING: no MHD_quiesce_daemon. With epoll worker threads, libmicrohttpd 0.9.75 removes
 * the listening socket from a worker's epoll set both in the quiesce call and in the worker
 * itself, unlocked, and aborts the process ("Failed to remove listen FD from epoll set")
 * when the worker wins (seen in CI at SIGTERM). The server stops accepting work instead:
 * every request that arrives after the signal is answered 503 with Connection: close
 * (on_request, srv_queue), and the listening socket closes with the daemon. */
static void drain(srv *s)
{
    srv_sse_shutdown(s);
    for (int i = 0; i < 1000 && atomic_load(&s->active_requests) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* An append still waiting for its commit holds a suspended connection and will resume
     * it: the daemon must outlive that, however long the disk takes. */
    while (atomic_load(&s->deferred) > 0) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    srv_stop(s);
}

static void stop_ticker(ticking *t)
{
    pthread_mutex_lock(&t->lock);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
}

static int shutdown_server(srv *s, ticking *t)
{
    atomic_store(&s->stopping, 1);
    drain(s);
    stop_ticker(t);
    srv_jobs_stop(s);
    srv_notify_stop(s);
    tick k = {.t = t, .sign = 1};
    srv_ledgers_each(s, tick_ledger, &k); /* their final checkpoints; errors are printed */
    tt_checkpoint cp;
    int rc = tt_ledger_checkpoint_sign(s->l, &cp);
    if (rc != TT_OK)
        return fail(rc, "final checkpoint: %s", tt_ledger_errmsg(s->l));
    fprintf(stderr, "tradetrail serve: stopped; final checkpoint at tree size %lld\n",
            (long long)cp.tree_size);
    tt_checkpoint_clear(&cp);
    return 0;
}

/* SIGTERM and SIGINT, blocked in the calling thread. Every thread inherits its creator's
 * mask, so this runs before the server starts any (the stream waker is the first): a
 * thread that left them unblocked would take SIGTERM's default action, killing the process
 * without its drain and final checkpoint, instead of the main thread's sigwait. */
static sigset_t stop_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    return set;
}

static int run(srv *s, ticking *t, const char *listen, unsigned threads, const char *data_dir)
{
    sigset_t set = stop_signals();
    char err[256];
    /* The notification settings are in place before any HTTP thread can read them. */
    if (srv_notify_start(s) != 0)
        return EXIT_ERROR;
    int rc = srv_start(s, listen, threads, err, sizeof err);
    if (rc != TT_OK) {
        srv_notify_stop(s);
        return fail(rc, "%s", err);
    }
    if (pthread_create(&t->thread, NULL, ticker, t) != 0) {
        srv_stop(s);
        srv_notify_stop(s);
        return fail(TT_ENOMEM, "cannot start the checkpoint thread");
    }
    if (srv_jobs_start(s) != 0) {
        atomic_store(&s->stopping, 1);
        srv_jobs_stop(s);
        srv_notify_stop(s);
        srv_stop(s);
        stop_ticker(t);
        return EXIT_ERROR;
    }
    printf("tradetrail serving http://%s/ (data %s)\n", listen, data_dir);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "tradetrail serve: %s received, draining\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    return shutdown_server(s, t);
}

int srv_serve(tt_ledger *l, const srv_options *o)
{
    int rc = 0;
    stop_signals();
    /* Large (the answer counters): not on the stack. */
    srv *s = calloc(1, sizeof *s);
    ticking t = {.s = s};
    pthread_mutex_init(&t.lock, NULL);
    pthread_cond_init(&t.cond, NULL);
    int st = s == NULL ? TT_ENOMEM : (s->l = l, s->data_dir = o->data_dir, srv_sse_start(s));
    if (st == TT_OK)
        st = srv_metrics_start(s);
    if (st == TT_OK)
        st = srv_ledgers_start(s);
    if (st != TT_OK)
        rc =
            fail(st, "%s",
                 st == TT_ENOMEM   ? "out of memory"
                 : st == TT_EINVAL ? SSE_TEST_BUF_ENV
                     " must be 4096 to 1048576 (bytes), " SSE_TEST_WINDOW_ENV " 16 to 4096 (events)"
                                   : tt_ledger_errmsg(l));
    if (rc == 0)
        rc = parse_settings(o->cfg, s, &t);
    if (rc == 0)
        rc = first_token(l);
    if (rc == 0)
        rc = run(s, &t, tti_config_get(o->cfg, "listen"), o->threads, o->data_dir);
    if (s != NULL) {
        srv_ledgers_stop(s);
        srv_metrics_stop(s);
        srv_sse_stop(s);
        free(s);
    }
    pthread_mutex_destroy(&t.lock);
    pthread_cond_destroy(&t.cond);
    return rc;
}
