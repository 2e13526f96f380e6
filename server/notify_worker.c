/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The notification worker inside tradetrail serve (SPEC 7): one thread that runs delivery
 * passes over the outbox (tt_notify_deliver_due) and sleeps until the next row is due or
 * new rows may have arrived. It never touches the append path: the library sends with no
 * lock held, so a dead or slow receiver only delays notifications.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "front/front.h"
#include "util/time.h"
#include "workers.h"
#include "util/thread.h"

#define POLL_MS 200 /* how soon rows queued by appends are picked up */

/* One server per process: the worker's state lives here rather than in srv. */
static struct {
    pthread_t thread;
    int started;
    int stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void wait_ms(int64_t ms)
{
    struct timespec until = tti_deadline_ms(ms);
    pthread_mutex_lock(&w.lock);
    if (!w.stop)
        pthread_cond_timedwait(&w.cond, &w.lock, &until);
    pthread_mutex_unlock(&w.lock);
}

static int stopping(void)
{
    pthread_mutex_lock(&w.lock);
    int s = w.stop;
    pthread_mutex_unlock(&w.lock);
    return s;
}

static void *worker(void *arg)
{
    srv *s = arg;
    tti_thread_name("tt-notify");
    int64_t last_error_us = 0;
    while (!stopping()) {
        tt_notify_stats st;
        int rc = tt_notify_deliver_due(s->l, 32, &st);
        int64_t now = tt_time_now_us(), ms = POLL_MS;
        if (rc != TT_OK) {
            /* The message names the failure, never a webhook or SMTP URL. At most one
             * line every 10 s while the store keeps failing. */
            if (now - last_error_us > 10000000) {
                fprintf(stderr, "tradetrail serve: notifications: %s\n", tt_ledger_errmsg(s->l));
                last_error_us = now;
            }
            ms = 1000;
        } else if (st.attempted > st.failed) {
            ms = 0; /* progress: there may be more due rows */
        } else if (st.next_due_us != TT_TIME_NONE && st.next_due_us > now &&
                   (st.next_due_us - now) / 1000 < ms) {
            ms = (st.next_due_us - now) / 1000 + 1;
        }
        if (ms > 0)
            wait_ms(ms);
    }
    return NULL;
}

int srv_notify_start(srv *s)
{
    tt_notify_config nc;
    front_notify_config(s->cfg, &nc);
    unsigned channels = 0;
    char err[256];
    if (tt_notify_channels(&nc, &channels, err, sizeof err) != TT_OK) {
        fprintf(stderr, "tradetrail serve: %s\n", err);
        return -1;
    }
    if (tt_ledger_set_notify(s->l, &nc) != TT_OK) {
        fprintf(stderr, "tradetrail serve: %s\n", tt_ledger_errmsg(s->l));
        return -1;
    }
    if (channels == 0)
        return 0; /* nothing to deliver to: no thread */
    w.stop = 0;
    if (pthread_create(&w.thread, NULL, worker, s) != 0) {
        fprintf(stderr, "tradetrail serve: cannot start the notification worker\n");
        return -1;
    }
    w.started = 1;
    char names[128] = "";
    for (int c = 0; c < TT_NOTIFY_NCHANNELS; c++)
        if (channels & (1u << c)) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "",
                     tt_notify_channel_name(c));
        }
    fprintf(stderr, "tradetrail serve: notifications to %s\n", names);
    return 0;
}

void srv_notify_stop(srv *s)
{
    (void)s;
    if (!w.started)
        return;
    pthread_mutex_lock(&w.lock);
    w.stop = 1;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.lock);
    pthread_join(w.thread, NULL);
    w.started = 0;
}
