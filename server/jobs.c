/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scheduler inside tradetrail serve and the cron endpoints (SPEC 7). One thread wakes
 * at each due minute (at least once a minute, and at once on stop) and runs the due jobs
 * one after another; each run is recorded by the library as job STARTED / COMPLETED /
 * FAILED events. Catch-up rule (docs/JOBS.md): on start, a job whose latest due minute
 * is later than the slot of its last finished scheduled run runs once, now, for that
 * latest minute; older missed minutes are not replayed one by one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "routes.h"
#include "sse.h"
#include "workers.h"

#define MINUTE_US INT64_C(60000000)
#define DAY_US INT64_C(86400000000)

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
    job jobs[3];
    size_t n_jobs;
    /* Runs of the same job (scheduler and endpoints) do not overlap. */
    pthread_mutex_t run_lock;
} sched = {.lock = PTHREAD_MUTEX_INITIALIZER,
           .cond = PTHREAD_COND_INITIALIZER,
           .run_lock = PTHREAD_MUTEX_INITIALIZER};

static const char *cfg_value(const srv *s, const char *key)
{
    return tti_config_value(s->cfg, key);
}

/* ---- the jobs ---- */

static void notify_config(const srv *s, tt_notify_config *n)
{
    tti_config_notify(s->cfg, n);
}

/* SPEC 6.4: the scheduler's summary is of the day before the run's minute; the cron
 * endpoint stands in for the scheduler and does the same. Delivered when a channel is
 * configured. */
static int run_daily_summary(srv *s, int64_t at_us, char **result, char *err, size_t errlen)
{
    tt_summary sum;
    int rc = tt_summary_build(s->l, TT_PERIOD_DAY, at_us - DAY_US, &sum);
    if (rc != TT_OK) {
        snprintf(err, errlen, "summary: %s", tt_ledger_errmsg(s->l));
        return rc;
    }
    tt_notify_config n;
    notify_config(s, &n);
    unsigned channels = 0;
    char nerr[256] = "";
    int notified = 0;
    if (tt_notify_channels(&n, &channels, nerr, sizeof nerr) == TT_OK && channels != 0) {
        const char *title = n.summary_title ? n.summary_title : "tradetrail";
        char *text = tt_summary_to_text(&sum, title);
        char subject[512], day[TT_TS_LEN + 1];
        tt_time_format(sum.from_us, day);
        snprintf(subject, sizeof subject, "%s daily summary %.10s", title, day);
        rc = text == NULL ? TT_ENOMEM : tt_notify_summary(s->l, &n, subject, text);
        tt_free(text);
        if (rc != TT_OK) {
            snprintf(err, errlen, "queueing the summary: %s",
                     rc == TT_ENOMEM ? "out of memory" : tt_ledger_errmsg(s->l));
            tt_summary_clear(&sum);
            return rc;
        }
        notified = 1;
    }
    char day[TT_TS_LEN + 1];
    tt_time_format(sum.from_us, day);
    char buf[256];
    snprintf(buf, sizeof buf, "{\"date\":\"%.10s\",\"total\":%lld,\"notified\":%s}", day,
             (long long)sum.total, notified ? "true" : "false");
    tt_summary_clear(&sum);
    *result = strdup(buf);
    return *result != NULL ? TT_OK : TT_ENOMEM;
}

static int run_checkpoint(srv *s, char **result, char *err, size_t errlen)
{
    tt_checkpoint cp;
    int rc = tt_ledger_checkpoint_sign(s->l, &cp);
    if (rc != TT_OK) {
        snprintf(err, errlen, "checkpoint: %s", tt_ledger_errmsg(s->l));
        return rc;
    }
    char buf[128];
    snprintf(buf, sizeof buf, "{\"tree_size\":%lld}", (long long)cp.tree_size);
    tt_checkpoint_clear(&cp);
    *result = strdup(buf);
    return *result != NULL ? TT_OK : TT_ENOMEM;
}

/*
 * Run one job as a recorded run. slot_us: the scheduled minute (TT_TIME_NONE for an
 * endpoint). *json (may be NULL) gets the answer for the endpoint: the run's result, or
 * {"error"} after a failure. Returns the library status.
 */
static int run_job(srv *s, const char *name, const char *trigger, int64_t slot_us, char **json)
{
    int64_t at = slot_us != TT_TIME_NONE ? slot_us : tt_time_now_us();
    int rc;
    char *result = NULL, err[512] = "";
    pthread_mutex_lock(&sched.run_lock);
    if (strcmp(name, TT_JOB_FEEDBACK_SYNC) == 0) {
        tt_sync_result r;
        rc = tt_feedback_sync_job(s->l, cfg_value(s, "feedback_sink"), trigger, slot_us, &r);
        if (rc != TT_OK)
            snprintf(err, sizeof err, "%s", tt_ledger_errmsg(s->l));
        else
            result = tt_sync_result_to_json(&r);
        pthread_mutex_unlock(&sched.run_lock);
        goto answer;
    }
    int64_t run;
    if ((rc = tt_job_begin(s->l, name, trigger, slot_us, &run)) != TT_OK) {
        snprintf(err, sizeof err, "%s", tt_ledger_errmsg(s->l));
        pthread_mutex_unlock(&sched.run_lock);
        goto answer;
    }
    if (strcmp(name, TT_JOB_DAILY_SUMMARY) == 0)
        rc = run_daily_summary(s, at, &result, err, sizeof err);
    else
        rc = run_checkpoint(s, &result, err, sizeof err);
    int erc = tt_job_end(s->l, run, name, trigger, rc == TT_OK ? NULL : err, result);
    pthread_mutex_unlock(&sched.run_lock);
    if (rc == TT_OK && erc != TT_OK) {
        rc = erc;
        snprintf(err, sizeof err, "recording the run: %s", tt_ledger_errmsg(s->l));
    }
answer:
    if (rc != TT_OK) {
        fprintf(stderr, "tradetrail serve: job %s failed: %s\n", name, err);
        free(result);
        result = NULL;
    }
    if (json != NULL) {
        *json = result;
        result = NULL;
    }
    free(result);
    return rc;
}

/* ---- the scheduler thread ---- */

static void *scheduler(void *arg)
{
    srv *s = arg;
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
        struct timespec until = {(time_t)(wake / 1000000), (long)(wake % 1000000) * 1000};
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
    const char *ret = cfg_value(s, "schedule_retention");
    if (ret != NULL && strcmp(ret, "off") != 0) {
        fprintf(stderr, "tradetrail serve: schedule_retention: retention is not available yet "
                        "(SPEC 8); remove the setting or set it to off\n");
        return -1;
    }
    static const job defs[] = {
        {TT_JOB_DAILY_SUMMARY, "daily-summary", "schedule_daily_summary", 0, {0}, 0},
        {TT_JOB_FEEDBACK_SYNC, "feedback-sync", "schedule_feedback_sync", 0, {0}, 0},
        {TT_JOB_CHECKPOINT, "checkpoint", "schedule_checkpoint", 0, {0}, 0},
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
    /* Catch-up rule: once, now, for the latest due minute of a job whose last finished
     * scheduled run is older; a job the scheduler never ran has nothing to catch up. */
    int64_t now = tt_time_now_us();
    for (size_t i = 0; i < sched.n_jobs; i++) {
        job *j = &sched.jobs[i];
        if (!j->enabled)
            continue;
        int64_t due, last;
        if (tt_cron_prev(&j->cron, now, &due) == TT_OK &&
            tt_job_last_slot(s->l, j->name, &last) == TT_OK && last < due) {
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
    srv_sse_notify(s);
    if (json == NULL)
        return srv_error(r, 500, "out of memory");
    size_t n = strlen(json) + 64;
    char *body = malloc(n);
    if (body == NULL) {
        free(json);
        return srv_error(r, 500, "out of memory");
    }
    snprintf(body, n, "{\"job\":\"%s\",\"result\":%s}", name, json);
    free(json);
    return srv_json_take(r, 200, body);
}

static enum MHD_Result cron_job(srv *s, srv_req *r)
{
    static const char *const names[][2] = {
        {"daily-summary", TT_JOB_DAILY_SUMMARY},
        {"feedback-sync", TT_JOB_FEEDBACK_SYNC},
        {"checkpoint", TT_JOB_CHECKPOINT},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(r->id, names[i][0]) == 0)
            return answer_run(s, r, names[i][1]);
    if (strcmp(r->id, "retention") == 0)
        return srv_error(r, 404, "the retention job is not available yet (SPEC 8)");
    return srv_error(r, 404, "no job \"%s\" (daily-summary, feedback-sync, checkpoint)", r->id);
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
