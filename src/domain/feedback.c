/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AI feedback (SPEC 6.2, seed 000): the evaluator (alpha, reward, outcome with a neutral
 * band) and the feedback record, written together with its ai_feedback/RECORD event in
 * one transaction (SPEC 3.2), and the filtered list of records.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "ledger/ledger.h"
#include "store/domain_store.h"
#include "util/buf.h"

void tt_feedback_settings_init(tt_feedback_settings *s)
{
    s->reward_scale = TT_FEEDBACK_REWARD_SCALE;
    s->neutral_band = TT_FEEDBACK_NEUTRAL_BAND;
}

void tt_feedback_filter_init(tt_feedback_filter *f)
{
    memset(f, 0, sizeof *f);
    f->outcome = TT_OUTCOME_NONE;
    f->since_us = TT_TIME_NONE;
    f->until_us = TT_TIME_NONE;
    f->limit = 100;
}

/* The evaluator with a message for the ledger's error slot. */
static int evaluate(double ai, double bench, const tt_feedback_settings *cfg, double *alpha,
                    double *reward, tt_outcome *outcome, char *err, size_t errlen)
{
    tt_feedback_settings def;
    if (cfg == NULL) {
        tt_feedback_settings_init(&def);
        cfg = &def;
    }
    if (!isfinite(ai) || !isfinite(bench)) {
        snprintf(err, errlen, "%s: must be a finite number",
                 isfinite(ai) ? "benchmark_return" : "ai_return");
        return TT_EINVAL;
    }
    if (!isfinite(cfg->reward_scale) || cfg->reward_scale <= 0) {
        snprintf(err, errlen, "reward_scale: must be a finite number > 0");
        return TT_EINVAL;
    }
    if (!isfinite(cfg->neutral_band) || cfg->neutral_band < 0) {
        snprintf(err, errlen, "neutral_band: must be a finite number >= 0");
        return TT_EINVAL;
    }
    double a = ai - bench;
    if (!isfinite(a)) {
        snprintf(err, errlen, "ai_return - benchmark_return overflows");
        return TT_EINVAL;
    }
    /* SPEC 6.2: strict comparisons, so alpha exactly at +-band is neutral. */
    *outcome = a > cfg->neutral_band    ? TT_OUTCOME_POSITIVE
               : a < -cfg->neutral_band ? TT_OUTCOME_NEGATIVE
                                        : TT_OUTCOME_NEUTRAL;
    *alpha = a;
    *reward = tanh(a / cfg->reward_scale);
    return TT_OK;
}

int tt_feedback_evaluate(double ai_return, double benchmark_return,
                         const tt_feedback_settings *settings, double *alpha, double *reward,
                         tt_outcome *outcome)
{
    char err[128];
    double a, r;
    tt_outcome o;
    int rc = evaluate(ai_return, benchmark_return, settings, &a, &r, &o, err, sizeof err);
    if (rc == TT_OK) {
        *alpha = a;
        *reward = r;
        *outcome = o;
    }
    return rc;
}

typedef struct feedback_tx {
    tti_feedback_row row;
    int64_t id;
} feedback_tx;

/* After the event has its seq: the record stores it, inside the same transaction. */
static int record_after(void *ctx, tt_ledger *l, tti_store *w, const tt_append_result *res,
                        size_t n)
{
    feedback_tx *t = ctx;
    if (n != 1)
        return tti_fail(TT_EMISUSE, "a feedback record has one event");
    t->row.seq = res[0].seq;
    t->row.ts_us = res[0].ts_us;
    int rc = l->ops->domain->feedback_insert(w, &t->row, &t->id);
    return rc == TT_OK ? TT_OK : tti_store_fail(l, w, rc);
}

static void meta_num(tti_buf *b, const char *key, double v)
{
    /* 17 significant digits read back exactly; normalisation shortens them. */
    tti_buf_printf(b, ",\"%s\":%.17g", key, v);
}

/* The event's metadata in the stored (normalised) form: the seed's field names. */
static int build_meta(const feedback_tx *t, char **out)
{
    tti_buf b;
    tti_buf_init(&b, TT_MAX_METADATA);
    tti_buf_adds(&b, "{\"strategyId\":");
    tti_buf_json_str(&b, t->row.strategy_id);
    tti_buf_adds(&b, ",\"benchmark\":");
    if (t->row.benchmark != NULL)
        tti_buf_json_str(&b, t->row.benchmark);
    else
        tti_buf_adds(&b, "null");
    meta_num(&b, "aiReturn", t->row.ai_return);
    meta_num(&b, "benchmarkReturn", t->row.benchmark_return);
    meta_num(&b, "alpha", t->row.alpha);
    meta_num(&b, "reward", t->row.reward);
    tti_buf_adds(&b, ",\"outcome\":");
    tti_buf_json_str(&b, tt_outcome_name(t->row.outcome));
    tti_buf_adds(&b, "}");
    if (b.failed) {
        tti_buf_free(&b);
        return tti_fail(TT_ENOMEM, "out of memory");
    }
    char err[256];
    int rc = tti_metadata_normalize(b.data, b.len, out, err, sizeof err);
    tti_buf_free(&b);
    return rc == TT_OK ? TT_OK : tti_fail(rc, "%s", err);
}

static int check_text(const char *what, const char *v, size_t max)
{
    if (v == NULL || v[0] == '\0')
        return tti_fail(TT_EINVAL, "%s: required", what);
    size_t n = strlen(v);
    if (!tti_utf8_valid(v, n))
        return tti_fail(TT_EINVAL, "%s: invalid UTF-8", what);
    if (tti_utf8_count(v, n) > max)
        return tti_fail(TT_EINVAL, "%s: at most %zu characters", what, max);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return tti_fail(TT_EINVAL, "%s: control characters are not allowed", what);
    return TT_OK;
}

int tt_feedback_record(tt_ledger *l, const char *strategy_id, double ai_return,
                       double benchmark_return, const char *user_id, const char *benchmark,
                       const tt_feedback_settings *settings, tt_feedback_result *out)
{
    if (l == NULL || out == NULL)
        return tti_fail(TT_EMISUSE, "tt_feedback_record: NULL argument");
    feedback_tx t;
    memset(&t, 0, sizeof t);
    char err[128];
    int rc = evaluate(ai_return, benchmark_return, settings, &t.row.alpha, &t.row.reward,
                      &t.row.outcome, err, sizeof err);
    if (rc != TT_OK)
        return tti_fail(rc, "%s", err);
    if ((rc = check_text("strategy_id", strategy_id, TT_MAX_ENTITY_ID)) != TT_OK ||
        (rc = check_text("user_id", user_id, TT_MAX_ACTOR)) != TT_OK ||
        (benchmark != NULL && (rc = check_text("benchmark", benchmark, 128)) != TT_OK))
        return rc;
    t.row.strategy_id = strategy_id;
    t.row.user_id = user_id;
    t.row.benchmark = benchmark;
    t.row.ai_return = ai_return;
    t.row.benchmark_return = benchmark_return;
    char *meta = NULL;
    if ((rc = build_meta(&t, &meta)) != TT_OK)
        return rc;
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "ai_feedback";
    ev.entity_id = strategy_id;
    ev.event_type = "RECORD";
    ev.actor = user_id;
    ev.metadata = meta;
    static const tti_tx_hooks hooks = {.after = record_after};
    tt_append_result res;
    rc = tti_ledger_append_tx(l, &ev, 1, &hooks, &t, &res);
    free(meta);
    if (rc != TT_OK)
        return rc;
    out->alpha = t.row.alpha;
    out->reward = t.row.reward;
    out->outcome = t.row.outcome;
    out->id = t.id;
    out->seq = res.seq;
    out->ts_us = res.ts_us;
    return TT_OK;
}

int tt_feedback_list(tt_ledger *l, const tt_feedback_filter *f, tt_feedback **out, size_t *n)
{
    if (l == NULL || f == NULL || out == NULL || n == NULL)
        return tti_fail(TT_EMISUSE, "tt_feedback_list: NULL argument");
    if (f->limit > TT_FEEDBACK_MAX_LIST)
        return tti_fail(TT_EINVAL, "limit must be between 1 and %d (got %zu)", TT_FEEDBACK_MAX_LIST,
                        f->limit);
    if (f->outcome != TT_OUTCOME_NONE && tt_outcome_name(f->outcome) == NULL)
        return tti_fail(TT_EINVAL, "outcome: must be positive, negative or neutral");
    tti_store *s;
    int rc = tti_reader_get(l, &s);
    if (rc != TT_OK)
        return rc;
    if ((rc = l->ops->begin_read(s)) == TT_OK) {
        rc = l->ops->domain->feedback_list(s, f, out, n);
        l->ops->rollback(s);
    }
    if (rc != TT_OK)
        tti_store_fail(l, s, rc);
    tti_reader_put(l, s);
    return rc;
}
