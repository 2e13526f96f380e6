/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The training sync (SPEC 6.2) and job runs (SPEC 7): the watermark, no record skipped
 * across runs and batches, exactly-once delivery to a file sink when the commit after the
 * file write fails (a store wrapper injects the failure, standing in for a crash), when
 * the write itself was cut short or torn, SYNC_FAILED with the watermark unchanged when an
 * HTTP sink is down, configuration mistakes refused with nothing written, the job
 * events with the scheduler's last-slot bookkeeping, and the job runner shared by the
 * scheduler, the cron endpoints and the CLI (each job's result, the daily summary's period
 * rule, the catch-up rule).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/jobs_store.h"
#include "store/store.h"
#include "tradetrail.h"
#include "testdb.h"

/* ---- a store whose Nth commit fails ---- */

static int commit_countdown;

static int f_commit(tti_store *s)
{
    if (commit_countdown > 0 && --commit_countdown == 0) {
        tt_test_db_ops()->rollback(s);
        return TT_EIO;
    }
    return tt_test_db_ops()->commit(s);
}

static tti_store_ops fault_ops;

typedef struct fixture {
    char dir[64];
    char sink[128];
    tt_ledger *l;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Another handle on the fixture's ledger, as a second server (or a restarted one) has. */
static void open_ledger(const fixture *f, tt_ledger **l)
{
    char uri[512], err[512] = "";
    tt_open_options o = {.data_dir = f->dir, .create = 1};
    o.db_uri = tt_test_db_uri(f->dir, uri, sizeof uri);
    if (tt_ledger_open(&o, l, err, sizeof err) != TT_OK)
        fail_msg("open: %s", err);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-sync-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->sink, sizeof f->sink, "file:%s/train.jsonl", f->dir);
    fault_ops = *tt_test_db_ops();
    fault_ops.commit = f_commit;
    tti_store_override = &fault_ops;
    commit_countdown = 0;
    open_ledger(f, &f->l);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    commit_countdown = 0;
    tt_ledger_close(f->l);
    tti_store_override = NULL;
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void record(fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "strat-%d", i % 7);
        tt_feedback_result r;
        int rc = tt_feedback_record(f->l, id, 0.01 * (i % 5), 0.02, "tester", "SPY", NULL, &r);
        if (rc != TT_OK)
            fail_msg("record: %s", tt_ledger_errmsg(f->l));
    }
}

/* The seqs in the sink file, in file order; checks each line is whole JSON-ish. */
static size_t file_seqs(fixture *f, int64_t *seqs, size_t max)
{
    FILE *fp = fopen(f->sink + 5, "r");
    if (fp == NULL)
        return 0;
    char line[4096];
    size_t n = 0;
    while (fgets(line, sizeof line, fp) != NULL) {
        assert_true(strlen(line) > 2 && line[strlen(line) - 1] == '\n');
        assert_true(line[strlen(line) - 2] == '}');
        const char *p = strstr(line, "\"seq\":");
        assert_non_null(p);
        assert_true(n < max);
        seqs[n++] = strtoll(p + 6, NULL, 10);
    }
    fclose(fp);
    return n;
}

/* All feedback seqs of the ledger, ascending. */
static size_t ledger_seqs(fixture *f, int64_t *seqs, size_t max)
{
    tt_feedback_filter flt;
    tt_feedback_filter_init(&flt);
    flt.limit = max;
    tt_feedback *list;
    size_t n;
    assert_int_equal(tt_feedback_list(f->l, &flt, &list, &n), TT_OK);
    for (size_t i = 0; i < n; i++)
        seqs[i] = list[n - 1 - i].seq; /* newest first → ascending */
    tt_feedback_list_free(list, n);
    return n;
}

/* Every record exactly once, in seq order. */
static void assert_exactly_once(fixture *f)
{
    static int64_t a[4096], b[4096];
    size_t na = file_seqs(f, a, 4096), nb = ledger_seqs(f, b, 4096);
    if (na != nb)
        fail_msg("the sink has %zu lines, the ledger %zu records", na, nb);
    for (size_t i = 0; i < na; i++)
        if (a[i] != b[i])
            fail_msg("line %zu: seq %lld, want %lld", i + 1, (long long)a[i], (long long)b[i]);
}

static int64_t count_events(fixture *f, const char *entity, const char *type)
{
    tt_query q;
    tt_query_init(&q);
    q.entity = entity;
    q.event_types[0] = type;
    q.n_event_types = 1;
    q.limit = 10000;
    tt_iter *it;
    assert_int_equal(tt_ledger_query(f->l, &q, &it), TT_OK);
    const tt_event *ev;
    int64_t n = 0;
    while (tt_iter_next(it, &ev) == TT_OK && ev != NULL)
        n++;
    tt_iter_free(it);
    return n;
}

static void test_watermark(void **state)
{
    fixture *f = *state;
    tt_sync_result r;
    /* Nothing yet: nothing happens. */
    assert_int_equal(tt_feedback_sync(f->l, f->sink, &r), TT_OK);
    assert_int_equal(r.count, 0);
    assert_int_equal(count_events(f, "ai_feedback_sync", "SYNC"), 0);
    record(f, 5);
    assert_int_equal(tt_feedback_sync(f->l, f->sink, &r), TT_OK);
    assert_int_equal(r.count, 5);
    assert_int_equal(r.batches, 1);
    assert_int_equal(r.from_seq, 1);
    assert_int_equal(r.to_seq, 5);
    assert_int_equal(r.watermark, 5);
    assert_true(strncmp(r.batch_id, "fbs-", 4) == 0);
    assert_exactly_once(f);
    /* A second run sends nothing again. */
    assert_int_equal(tt_feedback_sync(f->l, f->sink, &r), TT_OK);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.watermark, 5);
    /* New records (interleaved with other events) go next, none skipped. */
    tt_append_result ar;
    assert_int_equal(tt_ledger_log_action(f->l, "between", NULL, NULL, &ar), TT_OK);
    record(f, 3);
    assert_int_equal(tt_feedback_sync(f->l, f->sink, &r), TT_OK);
    assert_int_equal(r.count, 3);
    assert_exactly_once(f);
    assert_int_equal(count_events(f, "ai_feedback_sync", "SYNC"), 2);
    /* The SYNC event says what went where. */
    tt_event *ev;
    assert_int_equal(tt_ledger_get(f->l, r.event_seq, &ev), TT_OK);
    assert_string_equal(ev->event_type, "SYNC");
    assert_string_equal(ev->entity_id, r.batch_id);
    assert_non_null(strstr(ev->metadata, "\"count\":3"));
    assert_non_null(strstr(ev->metadata, "\"sink\":\"file:"));
    assert_non_null(strstr(ev->metadata, "\"from_seq\""));
    tt_event_free(ev);
}

static void test_batches(void **state)
{
    fixture *f = *state;
    record(f, TT_SYNC_MAX_BATCH + 7);
    tt_sync_result r;
    assert_int_equal(tt_feedback_sync(f->l, f->sink, &r), TT_OK);
    assert_int_equal(r.count, TT_SYNC_MAX_BATCH + 7);
    assert_int_equal(r.batches, 2);
    assert_exactly_once(f);
}

/* The commit after the file write fails (as if the process died there): the re-run must
 * not write the batch again. */
static void test_crash_before_commit(void **state)
{
    fixture *f = *state;
    record(f, 10);
    tt_sync_result r;
    commit_countdown = 2; /* 1: BATCH, 2: SYNC */
    assert_int_equal(tt_feedback_sync(f->l, f->sink, &r), TT_EIO);
    assert_int_equal(r.watermark, 0);
    assert_true(r.error[0] != '\0');
    assert_int_equal(count_events(f, "ai_feedback_sync", "SYNC_FAILED"), 1);
    assert_int_equal(count_events(f, "ai_feedback_sync", "SYNC"), 0);
    assert_exactly_once(f); /* written once already */
    char first[64];
    snprintf(first, sizeof first, "%s", r.batch_id);
    assert_int_equal(tt_feedback_sync(f->l, f->sink, &r), TT_OK);
    assert_string_equal(r.batch_id, first); /* the same batch, the same id */
    assert_int_equal(r.count, 10);
    assert_int_equal(r.watermark, 10);
    assert_exactly_once(f);
}

/* A crash in the middle of the file write: only part of the batch (and a torn line) is
 * there. The re-run cuts the torn line and writes the rest once. */
static void test_torn_write(void **state)
{
    fixture *f = *state;
    record(f, 6);
    tt_sync_result r;
    commit_countdown = 2;
    assert_int_equal(tt_feedback_sync(f->l, f->sink, &r), TT_EIO);
    /* Keep 3 whole lines and half of the 4th. */
    FILE *fp = fopen(f->sink + 5, "r");
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    size_t cut = 0;
    for (int lines = 0; cut < n && lines < 3; cut++)
        if (buf[cut] == '\n')
            lines++;
    cut += 20;
    fp = fopen(f->sink + 5, "w");
    assert_int_equal(fwrite(buf, 1, cut, fp), cut);
    fclose(fp);
    assert_int_equal(tt_feedback_sync(f->l, f->sink, &r), TT_OK);
    assert_int_equal(r.count, 6);
    assert_exactly_once(f);
}

static void test_http_down(void **state)
{
    fixture *f = *state;
    record(f, 4);
    tt_sync_result r;
    /* Port 1 on loopback: nothing listens. */
    int rc = tt_feedback_sync(f->l, "http://127.0.0.1:1/train?token=hush", &r);
    assert_int_equal(rc, TT_ENET);
    assert_int_equal(r.watermark, 0);
    assert_int_equal(count_events(f, "ai_feedback_sync", "SYNC_FAILED"), 1);
    tt_event *ev;
    assert_int_equal(tt_ledger_get(f->l, r.event_seq, &ev), TT_OK);
    assert_string_equal(ev->event_type, "SYNC_FAILED");
    assert_non_null(ev->reason);
    assert_null(strstr(ev->metadata, "hush")); /* WARNING: no secrets in the ledger */
    tt_event_free(ev);
    /* The next run to a working sink sends the same batch, then the watermark moves. */
    assert_int_equal(tt_feedback_sync(f->l, f->sink, &r), TT_OK);
    assert_int_equal(r.watermark, 4);
    assert_exactly_once(f);
}

static void test_bad_sink(void **state)
{
    fixture *f = *state;
    record(f, 1);
    int64_t size0, size1;
    uint8_t root[TT_HASH_SIZE];
    assert_int_equal(tt_ledger_head(f->l, &size0, root), TT_OK);
    tt_sync_result r;
    const char *bad[] = {NULL, "", "file:", "ftp://x/y", "/plain/path", "http://"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(tt_feedback_sync(f->l, bad[i], &r), TT_EINVAL);
        assert_int_equal(tt_feedback_sync_job(f->l, bad[i], TT_TRIGGER_CLI, TT_TIME_NONE, &r),
                         TT_EINVAL);
    }
    assert_int_equal(tt_ledger_head(f->l, &size1, root), TT_OK);
    assert_int_equal(size0, size1); /* nothing written */
}

/* Issue 15: on PostgreSQL several servers' schedulers may reach one slot; the second begin
 * of a slot that is running or done is refused and writes nothing. */
static void test_slot_taken(void **state)
{
    fixture *f = *state;
    if (!tt_test_db_is_pg())
        skip(); /* one SQLite store has one server, whose scheduler runs a slot once */
    int64_t s1 = INT64_C(1768701600000000), run, run2, size0, size1;
    uint8_t root[TT_HASH_SIZE];
    assert_int_equal(tt_job_begin(f->l, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, s1, &run),
                     TT_OK);
    assert_int_equal(tt_ledger_head(f->l, &size0, root), TT_OK);
    assert_int_equal(tt_job_begin(f->l, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, s1, &run2),
                     TT_ECONFLICT);
    assert_int_equal(tt_ledger_head(f->l, &size1, root), TT_OK);
    assert_int_equal(size0, size1);
    assert_int_equal(tt_job_end(f->l, run, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, NULL, "{}"),
                     TT_OK);
    assert_int_equal(tt_job_begin(f->l, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, s1, &run2),
                     TT_ECONFLICT);
    /* Another slot, and runs without a slot, are not affected. */
    assert_int_equal(tt_job_begin(f->l, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER,
                                  s1 + INT64_C(86400000000), &run2),
                     TT_OK);
    assert_int_equal(tt_job_begin(f->l, TT_JOB_CHECKPOINT, TT_TRIGGER_CLI, TT_TIME_NONE, &run2),
                     TT_OK);
    assert_int_equal(tt_job_begin(f->l, TT_JOB_CHECKPOINT, TT_TRIGGER_CLI, TT_TIME_NONE, &run2),
                     TT_OK);
    /* A failed run counts as handled (docs/JOBS.md): its slot is not run again either. */
    int64_t s2 = s1 + 2 * INT64_C(86400000000);
    assert_int_equal(tt_job_begin(f->l, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, s2, &run),
                     TT_OK);
    assert_int_equal(
        tt_job_end(f->l, run, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, "sink down", NULL),
        TT_OK);
    assert_int_equal(tt_job_begin(f->l, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, s2, &run2),
                     TT_ECONFLICT);
}

/* docs/JOBS.md: a run killed mid-way is run again at the next start, however recent its
 * start; a run whose server is alive is not run by another. On PostgreSQL the run's
 * liveness is its server's database session: closing a handle plays a kill. */
static void test_killed_run_runs_again(void **state)
{
    fixture *f = *state;
    if (!tt_test_db_is_pg())
        skip(); /* one SQLite store has one server, whose scheduler runs a slot once */
    int64_t s1 = INT64_C(1768701600000000), run, run2;
    tt_ledger *other;
    open_ledger(f, &other);
    assert_int_equal(tt_job_begin(f->l, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, s1, &run),
                     TT_OK);
    assert_int_equal(tt_job_begin(other, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, s1, &run2),
                     TT_ECONFLICT);
    tt_ledger_close(f->l); /* killed mid-run: STARTED without an end */
    open_ledger(f, &f->l);
    assert_int_equal(tt_job_begin(f->l, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, s1, &run),
                     TT_OK);
    assert_int_equal(tt_job_begin(other, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, s1, &run2),
                     TT_ECONFLICT);
    assert_int_equal(tt_job_end(f->l, run, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, NULL, "{}"),
                     TT_OK);
    assert_int_equal(tt_job_begin(other, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, s1, &run2),
                     TT_ECONFLICT);
    int64_t slot;
    assert_int_equal(tt_job_last_slot(other, TT_JOB_DAILY_SUMMARY, &slot), TT_OK);
    assert_true(slot == s1);
    tt_ledger_close(other);
}

static void test_job_runs(void **state)
{
    fixture *f = *state;
    int64_t slot;
    assert_int_equal(tt_job_last_slot(f->l, TT_JOB_DAILY_SUMMARY, &slot), TT_ENOTFOUND);
    int64_t run;
    int64_t s1 = INT64_C(1768701600000000); /* 2026-01-18T02:00:00Z */
    assert_int_equal(tt_job_begin(f->l, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, s1, &run),
                     TT_OK);
    /* Started but not finished (a crash): not a handled slot. */
    assert_int_equal(tt_job_last_slot(f->l, TT_JOB_DAILY_SUMMARY, &slot), TT_ENOTFOUND);
    assert_int_equal(
        tt_job_end(f->l, run, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, NULL, "{\"total\":3}"),
        TT_OK);
    assert_int_equal(tt_job_last_slot(f->l, TT_JOB_DAILY_SUMMARY, &slot), TT_OK);
    assert_true(slot == s1);
    /* Ending twice is refused, and writes nothing. */
    assert_int_equal(tt_job_end(f->l, run, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER, NULL, NULL),
                     TT_ENOTFOUND);
    /* A failed run records the error; runs by other triggers have no slot. */
    assert_int_equal(tt_job_begin(f->l, TT_JOB_CHECKPOINT, TT_TRIGGER_CRON, TT_TIME_NONE, &run),
                     TT_OK);
    assert_int_equal(
        tt_job_end(f->l, run, TT_JOB_CHECKPOINT, TT_TRIGGER_CRON, "disk on fire", NULL), TT_OK);
    assert_int_equal(tt_job_last_slot(f->l, TT_JOB_CHECKPOINT, &slot), TT_ENOTFOUND);
    assert_int_equal(count_events(f, "job", "STARTED"), 2);
    assert_int_equal(count_events(f, "job", "COMPLETED"), 1);
    assert_int_equal(count_events(f, "job", "FAILED"), 1);
    /* The sync as a job: STARTED, BATCH, SYNC, COMPLETED. */
    record(f, 2);
    tt_sync_result r;
    assert_int_equal(tt_feedback_sync_job(f->l, f->sink, TT_TRIGGER_CLI, TT_TIME_NONE, &r), TT_OK);
    assert_int_equal(r.count, 2);
    assert_int_equal(count_events(f, "job", "COMPLETED"), 2);
}

/* ---- the job runner (src/jobs/run.c) ---- */

static int64_t at(const char *ts)
{
    int64_t us;
    assert_int_equal(tt_time_parse_rfc3339(ts, &us), TT_OK);
    return us;
}

static void test_run_checkpoint(void **state)
{
    fixture *f = *state;
    char *json = NULL;
    assert_int_equal(tt_job_run(f->l, TT_JOB_CHECKPOINT, TT_TRIGGER_CLI, TT_TIME_NONE, NULL, &json),
                     TT_OK);
    assert_non_null(json);
    /* the run's STARTED event is in the tree the checkpoint signs */
    assert_string_equal(json, "{\"tree_size\":1}");
    tt_free(json);
}

static void test_daily_summary_is_of_the_day_before(void **state)
{
    fixture *f = *state;
    char *json = NULL;
    tt_notify_config none;
    tt_notify_config_init(&none);
    tt_job_settings js = {.notify = &none, .feedback_sink = NULL};
    assert_int_equal(tt_job_run(f->l, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER,
                                at("2026-03-02T00:00:00Z"), &js, &json),
                     TT_OK);
    assert_non_null(json);
    assert_string_equal(json, "{\"date\":\"2026-03-01\",\"total\":0,\"notified\":false}");
    tt_free(json);
    int64_t last;
    assert_int_equal(tt_job_last_slot(f->l, TT_JOB_DAILY_SUMMARY, &last), TT_OK);
    assert_true(last == at("2026-03-02T00:00:00Z"));
}

static void test_run_refusals(void **state)
{
    fixture *f = *state;
    char *json = NULL;
    /* retention without an archive directory and retention_days: refused, and not a run */
    assert_int_equal(tt_job_run(f->l, "retention", TT_TRIGGER_CLI, TT_TIME_NONE, NULL, &json),
                     TT_EINVAL);
    assert_null(json);
    assert_int_equal(tt_job_run(f->l, "no_such_job", TT_TRIGGER_CLI, TT_TIME_NONE, NULL, &json),
                     TT_EINVAL);
    assert_null(json);
    /* feedback_sync without a sink: refused, and not a run */
    assert_int_equal(
        tt_job_run(f->l, TT_JOB_FEEDBACK_SYNC, TT_TRIGGER_CLI, TT_TIME_NONE, NULL, &json),
        TT_EINVAL);
    assert_null(json);
    int64_t size;
    uint8_t root[TT_HASH_SIZE];
    assert_int_equal(tt_ledger_head(f->l, &size, root), TT_OK);
    assert_int_equal(size, 0);
}

static void test_catch_up(void **state)
{
    fixture *f = *state;
    tt_cron cron;
    assert_int_equal(tt_cron_parse("0 0 * * *", &cron, NULL, 0), TT_OK);
    int64_t slot = 0;
    /* never finished by the scheduler: nothing to catch up */
    assert_int_equal(
        tt_job_catch_up(f->l, TT_JOB_DAILY_SUMMARY, &cron, at("2026-03-05T09:00:00Z"), &slot),
        TT_ENOTFOUND);
    assert_int_equal(tt_job_run(f->l, TT_JOB_DAILY_SUMMARY, TT_TRIGGER_SCHEDULER,
                                at("2026-03-02T00:00:00Z"), NULL, NULL),
                     TT_OK);
    /* down until Thursday 09:00: one run, for Thursday 00:00 */
    assert_int_equal(
        tt_job_catch_up(f->l, TT_JOB_DAILY_SUMMARY, &cron, at("2026-03-05T09:00:00Z"), &slot),
        TT_OK);
    assert_true(slot == at("2026-03-05T00:00:00Z"));
    /* the latest slot already done: nothing */
    assert_int_equal(
        tt_job_catch_up(f->l, TT_JOB_DAILY_SUMMARY, &cron, at("2026-03-02T23:59:00Z"), &slot),
        TT_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_watermark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_before_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slot_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_run_runs_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_daily_summary_is_of_the_day_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catch_up, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
