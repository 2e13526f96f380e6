/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scheduler inside tradetrail serve and the cron endpoints (SPEC 7). One thread wakes
 * at each due minute (at least once a minute, and at once on stop) and runs the due jobs
 * one after another. What a run does, its record, and the catch-up rule at start are the
 * library's (tt_job_run, tt_job_catch_up in src/jobs/run.c); this file only decides when.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front/front.h"
#include "routes.h"
#include "util/time.h"
#include "workers.h"
#include "util/thread.h"

#define MINUTE_US INT64_C(60000000)

typedef struct job {
    const char *name;     /* TT_JOB_* */
    const char *endpoint; /* /api/cron/<endpoint> */
    const char *key;      /* schedule_<name> */
    int enabled;
    tt_cron cron;
    int64_t next_us;
} job;

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int running;
    int stop;
    job jobs[4];
    size_t n_jobs;
} sched = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static const char *cfg_value(const srv *s, const char *key)
{
    return tti_config_value(s->cfg, key);
}

/* ---- the jobs ---- */

/*
 * Run one job through the library's runner (tt_job_run). *json (may be NULL) gets the run's
 * result for the endpoint. A failure is printed here, the library having recorded it.
 */
static int run_job(srv *s, const char *name, const char *trigger, int64_t slot_us, char **json)
{
    tt_notify_config n;
    front_notify_config(s->cfg, &n);
    tt_job_settings js = {.notify = &n, .feedback_sink = cfg_value(s, "feedback_sink")};
    /* SPEC 8: retention_days, min_retention_days and archive_dir (checked at start). */
    char dir[4096], err[256];
    if (front_retention_settings(s->cfg, s->data_dir, NULL, dir, sizeof dir, &js.older_than_days,
                                 &js.min_retention_days, err, sizeof err) == TT_OK)
        js.archive_dir = dir;
    int rc = tt_job_run(s->l, name, trigger, slot_us, &js, json);
    if (rc != TT_OK)
        fprintf(stderr, "tradetrail serve: job %s failed: %s\n", name, tt_ledger_errmsg(s->l));
    return rc;
}

/* ---- the scheduler thread ---- */

static void *scheduler(void *arg)
{
    srv *s = arg;
    tti_thread_name("tt-jobs");
    pthread_mutex_lock(&sched.lock);
    while (!sched.stop) {
        int64_t now = tt_time_now_us(), wake = (now / MINUTE_US + 1) * MINUTE_US;
        for (size_t i = 0; i < sched.n_jobs; i++) {
            job *j = &sched.jobs[i];
            if (!j->enabled || now < j->next_us)
                continue;
            int64_t slot = j->next_us;
            pthread_mutex_unlock(&sched.lock);
            run_job(s, j->name, TT_TRIGGER_SCHEDULER, slot, NULL);
            pthread_mutex_lock(&sched.lock);
            /* Minutes that passed while it ran are not replayed (the catch-up rule). */
            if (tt_cron_next(&j->cron, tt_time_now_us(), &j->next_us) != TT_OK)
                j->enabled = 0;
            if (sched.stop)
                break;
        }
        if (sched.stop)
            break;
        now = tt_time_now_us();
        for (size_t i = 0; i < sched.n_jobs; i++)
            if (sched.jobs[i].enabled && sched.jobs[i].next_us < wake)
                wake = sched.jobs[i].next_us;
        if (wake <= now)
            continue;
        struct timespec until = tti_timespec_at(wake);
        pthread_cond_timedwait(&sched.cond, &sched.lock, &until);
    }
    pthread_mutex_unlock(&sched.lock);
    return NULL;
}

/* Read schedule_<job>; "off" (or empty) disables. Prints why a value is refused. */
static int load_schedule(srv *s, job *j)
{
    const char *v = cfg_value(s, j->key);
    j->enabled = 0;
    if (v == NULL || strcmp(v, "off") == 0)
        return 0;
    char err[256];
    if (tt_cron_parse(v, &j->cron, err, sizeof err) != TT_OK) {
        fprintf(stderr, "tradetrail serve: %s = \"%s\": %s\n", j->key, v, err);
        return -1;
    }
    j->enabled = 1;
    return 0;
}

int srv_jobs_start(srv *s)
{
    static const job defs[] = {
        {TT_JOB_DAILY_SUMMARY, "daily-summary", "schedule_daily_summary", 0, {0}, 0},
        {TT_JOB_FEEDBACK_SYNC, "feedback-sync", "schedule_feedback_sync", 0, {0}, 0},
        {TT_JOB_CHECKPOINT, "checkpoint", "schedule_checkpoint", 0, {0}, 0},
        {TT_JOB_RETENTION, "retention", "schedule_retention", 0, {0}, 0},
    };
    sched.n_jobs = sizeof defs / sizeof defs[0];
    memcpy(sched.jobs, defs, sizeof defs);
    for (size_t i = 0; i < sched.n_jobs; i++)
        if (load_schedule(s, &sched.jobs[i]) != 0)
            return -1;
    job *sync = &sched.jobs[1];
    if (sync->enabled && cfg_value(s, "feedback_sink") == NULL) {
        fprintf(stderr, "tradetrail serve: feedback_sync not scheduled: feedback_sink is not "
                        "set\n");
        sync->enabled = 0;
    }
    /* SPEC 7, 8: retention is off unless scheduled, and then needs retention_days. */
    char dir[4096], err[256];
    int64_t days, min_days;
    if (front_retention_settings(s->cfg, s->data_dir, NULL, dir, sizeof dir, &days, &min_days, err,
                                 sizeof err) != TT_OK) {
        fprintf(stderr, "tradetrail serve: %s\n", err);
        return -1;
    }
    job *ret = &sched.jobs[3];
    if (ret->enabled && days < 0) {
        fprintf(stderr, "tradetrail serve: schedule_retention is set but retention_days is not "
                        "(how many days old an event must be to be archived)\n");
        return -1;
    }
    /* Whether scheduled or not: POST /api/cron/retention runs with retention_days too, and
     * SPEC 8's minimum is refused, never silently raised. */
    if (days >= 0 && days < min_days) {
        fprintf(stderr,
                "tradetrail serve: retention_days (%lld) is below min_retention_days (%lld): "
                "raise retention_days (or unset it if retention is not wanted)\n",
                (long long)days, (long long)min_days);
        return -1;
    }
    /* The catch-up rule is the library's (tt_job_catch_up, docs/JOBS.md). */
    int64_t now = tt_time_now_us();
    for (size_t i = 0; i < sched.n_jobs; i++) {
        job *j = &sched.jobs[i];
        if (!j->enabled)
            continue;
        int64_t due;
        if (tt_job_catch_up(s->l, j->name, &j->cron, now, &due) == TT_OK) {
            char ts[TT_TS_LEN + 1];
            tt_time_format(due, ts);
            fprintf(stderr, "tradetrail serve: catching up %s (missed %s)\n", j->name, ts);
            run_job(s, j->name, TT_TRIGGER_SCHEDULER, due, NULL);
        }
        if (tt_cron_next(&j->cron, tt_time_now_us(), &j->next_us) != TT_OK)
            j->enabled = 0;
    }
    sched.stop = 0;
    if (pthread_create(&sched.thread, NULL, scheduler, s) != 0) {
        fprintf(stderr, "tradetrail serve: cannot start the scheduler thread\n");
        return -1;
    }
    sched.running = 1;
    return 0;
}

void srv_jobs_stop(srv *s)
{
    (void)s;
    if (!sched.running)
        return;
    pthread_mutex_lock(&sched.lock);
    sched.stop = 1;
    pthread_cond_broadcast(&sched.cond);
    pthread_mutex_unlock(&sched.lock);
    pthread_join(sched.thread, NULL);
    sched.running = 0;
}

/* ---- POST /api/cron/{job}, POST /api/ai/train ---- */

/* The X-Cron-Auth secret is checked before (NEED_CRON, server/http.c). */
static enum MHD_Result answer_run(srv *s, srv_req *r, const char *name)
{
    char *json = NULL;
    int rc = run_job(s, name, TT_TRIGGER_CRON, TT_TIME_NONE, &json);
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(s->l));
    tti_buf b;
    tti_buf_init(&b, 1 << 20);
    tti_buf_adds(&b, "{\"job\":");
    tti_buf_json_str(&b, name);
    tti_buf_adds(&b, ",\"result\":");
    tti_buf_adds(&b, json);
    tti_buf_adds(&b, "}");
    tt_free(json);
    enum MHD_Result ret = b.failed ? srv_error(r, 500, "out of memory") : srv_json(r, 200, b.data);
    tti_buf_free(&b);
    return ret;
}

static enum MHD_Result cron_job(srv *s, srv_req *r)
{
    static const char *const names[][2] = {
        {"daily-summary", TT_JOB_DAILY_SUMMARY},
        {"feedback-sync", TT_JOB_FEEDBACK_SYNC},
        {"checkpoint", TT_JOB_CHECKPOINT},
        {"retention", TT_JOB_RETENTION},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(r->id, names[i][0]) == 0)
            return answer_run(s, r, names[i][1]);
    return srv_error(r, 404, "no job \"%s\" (daily-summary, feedback-sync, checkpoint, retention)",
                     r->id);
}

static enum MHD_Result ai_train(srv *s, srv_req *r)
{
    return answer_run(s, r, TT_JOB_FEEDBACK_SYNC);
}

static const srv_route routes[] = {
    {"POST", "/api/cron/{id}", NEED_CRON, cron_job},
    {"POST", "/api/ai/train", NEED_CRON, ai_train},
};

SRV_ROUTE_TABLE(srv_cron_routes, routes);
