/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running a job (SPEC 7), the same for the server's scheduler, the cron endpoints and the
 * CLI: each run recorded (jobs.c), the daily summary's period rule and its one notification
 * subject, and the catch-up rule of docs/JOBS.md.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ledger/ledger.h"
#include "util/buf.h"

#define DAY_US INT64_C(86400000000)

/* Runs of the same job never overlap in a process (the scheduler and the endpoints). */
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;

int tt_summary_send(tt_ledger *l, const tt_notify_config *cfg, const tt_summary *s)
{
    if (l == NULL || cfg == NULL || s == NULL)
        return tti_fail(TT_EMISUSE, "tt_summary_send: NULL argument");
    char *text = tt_summary_to_text(s, cfg->summary_title);
    if (text == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    /* No title: the subject is the text's first line, the seed's title with the period. */
    int rc = tt_notify_summary(l, cfg, NULL, text);
    tt_free(text);
    return rc;
}

/* SPEC 6.4: a run at minute at_us summarises the UTC day before it (the 00:00 run, the
 * day that just ended); sent when a channel is configured. */
static int daily_summary(tt_ledger *l, const tt_job_settings *js, int64_t at_us, char **result)
{
    tt_summary sum;
    int rc = tt_summary_build(l, TT_PERIOD_DAY, at_us - DAY_US, &sum);
    if (rc != TT_OK)
        return tti_fail(rc, "summary: %s", tt_ledger_errmsg(l));
    unsigned channels = 0;
    int notified = 0;
    if (js->notify != NULL && tt_notify_channels(js->notify, &channels, NULL, 0) == TT_OK &&
        channels != 0) {
        if ((rc = tt_summary_send(l, js->notify, &sum)) != TT_OK) {
            tt_summary_clear(&sum);
            return tti_fail(rc, "queueing the summary: %s", tt_ledger_errmsg(l));
        }
        notified = 1;
    }
    char day[TT_TS_LEN + 1];
    tt_time_format(sum.from_us, day);
    tti_buf b;
    tti_buf_init(&b, 256);
    tti_buf_printf(&b, "{\"date\":\"%.10s\",\"total\":%lld,\"notified\":%s}", day,
                   (long long)sum.total, notified ? "true" : "false");
    tt_summary_clear(&sum);
    *result = tti_buf_take(&b);
    return *result != NULL ? TT_OK : tti_fail(TT_ENOMEM, "out of memory");
}

static int checkpoint(tt_ledger *l, char **result)
{
    tt_checkpoint cp;
    int rc = tt_ledger_checkpoint_sign(l, &cp);
    if (rc != TT_OK)
        return tti_fail(rc, "checkpoint: %s", tt_ledger_errmsg(l));
    tti_buf b;
    tti_buf_init(&b, 64);
    tti_buf_printf(&b, "{\"tree_size\":%lld}", (long long)cp.tree_size);
    tt_checkpoint_clear(&cp);
    *result = tti_buf_take(&b);
    return *result != NULL ? TT_OK : tti_fail(TT_ENOMEM, "out of memory");
}

/* SPEC 8: the retention job; the cutoff is taken at the run's minute, before its STARTED
 * event, so a run never archives its own record. */
static int retention(tt_ledger *l, const tt_job_settings *js, int64_t at_us, char **result)
{
    tt_retention_options o = {.older_than_days = js->older_than_days,
                              .min_retention_days = js->min_retention_days,
                              .archive_dir = js->archive_dir,
                              .now_us = at_us,
                              .segment_events = js->segment_events,
                              .progress = js->progress,
                              .progress_ctx = js->progress_ctx};
    tt_retention_result r;
    int rc = tt_retention_run(l, &o, &r);
    if (rc != TT_OK)
        return rc;
    *result = tt_retention_result_to_json(&r);
    return *result != NULL ? TT_OK : tti_fail(TT_ENOMEM, "out of memory");
}

static int run_locked(tt_ledger *l, const char *name, const char *trigger, int64_t slot_us,
                      const tt_job_settings *js, char **result)
{
    if (strcmp(name, TT_JOB_FEEDBACK_SYNC) == 0) {
        tt_sync_result r;
        int rc = tt_feedback_sync_job(l, js->feedback_sink, trigger, slot_us, &r);
        if (rc == TT_OK && (*result = tt_sync_result_to_json(&r)) == NULL)
            rc = tti_fail(TT_ENOMEM, "out of memory");
        return rc;
    }
    /* Like feedback_sync without a sink, retention without its settings is refused before
     * it becomes a run. */
    if (strcmp(name, TT_JOB_RETENTION) == 0 && js->archive_dir == NULL)
        return tti_fail(TT_EINVAL, "retention: no archive directory is configured");
    if (strcmp(name, TT_JOB_RETENTION) == 0 && js->older_than_days < 0)
        return tti_fail(TT_EINVAL, "retention: retention_days is not set (how many days old "
                                   "an event must be to be archived)");
    int64_t run, at = slot_us != TT_TIME_NONE ? slot_us : tt_time_now_us();
    int rc = tt_job_begin(l, name, trigger, slot_us, &run);
    if (rc != TT_OK)
        return rc;
    if (strcmp(name, TT_JOB_DAILY_SUMMARY) == 0)
        rc = daily_summary(l, js, at, result);
    else if (strcmp(name, TT_JOB_RETENTION) == 0)
        rc = retention(l, js, at, result);
    else
        rc = checkpoint(l, result);
    char err[512] = "";
    if (rc != TT_OK)
        snprintf(err, sizeof err, "%s", tt_ledger_errmsg(l));
    int erc = tt_job_end(l, run, name, trigger, rc == TT_OK ? NULL : err, *result);
    if (rc != TT_OK)
        return tti_fail(rc, "%s", err);
    if (erc != TT_OK)
        return tti_fail(erc, "recording the run: %s", tt_ledger_errmsg(l));
    return TT_OK;
}

int tt_job_run(tt_ledger *l, const char *name, const char *trigger, int64_t slot_us,
               const tt_job_settings *settings, char **result)
{
    if (l == NULL || name == NULL || trigger == NULL)
        return tti_fail(TT_EMISUSE, "tt_job_run: NULL argument");
    if (strcmp(name, TT_JOB_DAILY_SUMMARY) != 0 && strcmp(name, TT_JOB_FEEDBACK_SYNC) != 0 &&
        strcmp(name, TT_JOB_CHECKPOINT) != 0 && strcmp(name, TT_JOB_RETENTION) != 0)
        return tti_fail(TT_EINVAL, "no job \"%s\"", name);
    tt_job_settings none = {.older_than_days = -1};
    char *out = NULL;
    pthread_mutex_lock(&run_lock);
    int rc = run_locked(l, name, trigger, slot_us, settings != NULL ? settings : &none, &out);
    pthread_mutex_unlock(&run_lock);
    if (rc == TT_OK && result != NULL) {
        *result = out;
        out = NULL;
    }
    tt_free(out);
    return rc;
}

int tt_job_catch_up(tt_ledger *l, const char *name, const tt_cron *cron, int64_t now_us,
                    int64_t *slot_us)
{
    if (l == NULL || name == NULL || cron == NULL || slot_us == NULL)
        return tti_fail(TT_EMISUSE, "tt_job_catch_up: NULL argument");
    /* docs/JOBS.md: once, for the latest due minute, when the last finished scheduler run
     * is for an older one; a job the scheduler never finished has nothing to catch up. */
    int64_t due, last;
    int rc = tt_cron_prev(cron, now_us, &due);
    if (rc == TT_OK)
        rc = tt_job_last_slot(l, name, &last);
    if (rc != TT_OK)
        return rc;
    if (last >= due)
        return TT_ENOTFOUND;
    *slot_us = due;
    return TT_OK;
}
