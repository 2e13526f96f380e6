/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Job runs (SPEC 7): every run of a job, whether the scheduler, a cron endpoint or the CLI
 * started it, is a STARTED event and a COMPLETED or FAILED event (entity "job", entity_id
 * the job's name), each written with its job_runs row in one transaction (SPEC 3.2). Also
 * the cron endpoints' secret check, in constant time.
 */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "ledger/ledger.h"
#include "store/jobs_store.h"
#include "util/buf.h"

typedef struct run_tx {
    const char *name, *trigger;
    int64_t slot_us;
    int64_t id;
    const char *status;
} run_tx;

static int begin_after(void *ctx, tt_ledger *l, tti_store *w, const tt_append_result *res, size_t n)
{
    run_tx *t = ctx;
    if (n != 1)
        return tti_fail(TT_EMISUSE, "a job run starts with one event");
    int rc = l->ops->jobs->run_insert(w, t->name, t->trigger, t->slot_us, res[0].seq, &t->id);
    return rc == TT_OK ? TT_OK : tti_store_fail(l, w, rc);
}

static int end_after(void *ctx, tt_ledger *l, tti_store *w, const tt_append_result *res, size_t n)
{
    run_tx *t = ctx;
    if (n != 1)
        return tti_fail(TT_EMISUSE, "a job run ends with one event");
    int rc = l->ops->jobs->run_finish(w, t->id, t->status, res[0].seq);
    return rc == TT_OK ? TT_OK : tti_store_fail(l, w, rc);
}

/* Metadata is stored in its normalised form (SPEC 3.1). *out: tt_free. */
static int normalize(const char *json, char **out)
{
    char err[256];
    int rc = tt_metadata_normalize(json, strlen(json), out, err, sizeof err);
    return rc == TT_OK ? TT_OK : tti_fail(rc, "job metadata: %s", err);
}

int tt_job_begin(tt_ledger *l, const char *name, const char *trigger, int64_t slot_us,
                 int64_t *run_id)
{
    if (l == NULL || name == NULL || trigger == NULL || run_id == NULL)
        return tti_fail(TT_EMISUSE, "tt_job_begin: NULL argument");
    tti_buf b;
    tti_buf_init(&b, 1024);
    tti_buf_adds(&b, "{\"trigger\":");
    tti_buf_json_str(&b, trigger);
    if (slot_us != TT_TIME_NONE) {
        char ts[TT_TS_LEN + 1];
        tt_time_format(slot_us, ts);
        tti_buf_printf(&b, ",\"slot\":\"%s\"", ts);
    }
    tti_buf_adds(&b, "}");
    if (b.failed) {
        tti_buf_free(&b);
        return tti_fail(TT_ENOMEM, "out of memory");
    }
    char *meta = NULL;
    int rc = normalize(b.data, &meta);
    tti_buf_free(&b);
    if (rc != TT_OK)
        return rc;
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "job";
    ev.entity_id = name;
    ev.event_type = "STARTED";
    ev.actor = trigger;
    ev.metadata = meta;
    run_tx t = {.name = name, .trigger = trigger, .slot_us = slot_us};
    static const tti_tx_hooks hooks = {.after = begin_after};
    tt_append_result res;
    rc = tti_ledger_append_tx(l, &ev, 1, &hooks, &t, &res);
    tt_free(meta);
    if (rc == TT_OK)
        *run_id = t.id;
    return rc;
}

int tt_job_end(tt_ledger *l, int64_t run_id, const char *name, const char *trigger,
               const char *error, const char *result_json)
{
    if (l == NULL || name == NULL || trigger == NULL)
        return tti_fail(TT_EMISUSE, "tt_job_end: NULL argument");
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "job";
    ev.entity_id = name;
    ev.event_type = error != NULL ? "FAILED" : "COMPLETED";
    ev.actor = trigger;
    char reason[TT_MAX_REASON];
    if (error != NULL) {
        /* Keep the reason within its limit whatever the error says (SPEC 3.1). */
        size_t n = strlen(error);
        if (n >= sizeof reason)
            n = sizeof reason - 1;
        while (n > 0 && ((unsigned char)error[n] & 0xC0) == 0x80)
            n--;
        memcpy(reason, error, n);
        reason[n] = '\0';
        ev.reason = reason[0] ? reason : "failed";
    }
    char *meta = NULL;
    int rc;
    if (result_json != NULL && (rc = normalize(result_json, &meta)) != TT_OK)
        return rc;
    ev.metadata = meta;
    run_tx t = {.name = name, .trigger = trigger, .id = run_id, .status = ev.event_type};
    static const tti_tx_hooks hooks = {.after = end_after};
    tt_append_result res;
    rc = tti_ledger_append_tx(l, &ev, 1, &hooks, &t, &res);
    tt_free(meta);
    return rc;
}

int tt_job_last_slot(tt_ledger *l, const char *name, int64_t *slot_us)
{
    if (l == NULL || name == NULL || slot_us == NULL)
        return tti_fail(TT_EMISUSE, "tt_job_last_slot: NULL argument");
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    int64_t v = 0;
    if ((rc = l->ops->begin_read(s)) == TT_OK) {
        rc = l->ops->jobs->last_slot(s, name, &v);
        l->ops->rollback(s);
    }
    if (rc != TT_OK)
        tti_store_fail(l, s, rc);
    else
        *slot_us = v;
    tti_reader_put(l, s);
    return rc;
}

int tt_cron_authorize(const char *configured_secret, const char *header)
{
    if (configured_secret == NULL || configured_secret[0] == '\0')
        return TT_EMISUSE;
    if (header == NULL)
        return TT_EAUTH;
    /* WARNING: compare digests, so neither the content nor the length of the secret leaks
     * through timing. */
    uint8_t a[32], b[32];
    tti_sha256((const uint8_t *)configured_secret, strlen(configured_secret), NULL, 0, NULL, 0, a);
    tti_sha256((const uint8_t *)header, strlen(header), NULL, 0, NULL, 0, b);
    int eq = tti_ct_equal(a, b, sizeof a);
    tti_cleanse(a, sizeof a);
    tti_cleanse(b, sizeof b);
    return eq ? TT_OK : TT_EAUTH;
}
