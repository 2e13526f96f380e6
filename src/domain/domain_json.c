/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON mapping of the domain: request bodies of POST /api/feedback and /api/actions,
 * and the shapes of feedback, summaries and reports shared by the CLI's -o json and the
 * HTTP API (SPEC 9, 10). The only domain file that uses jansson, so the front ends never do.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tradetrail.h"
#include "util/codec.h"
#include "util/err.h"

/* ---- output ---- */

static json_t *ts_value(int64_t us)
{
    if (us == TT_TIME_NONE)
        return json_null();
    char buf[TT_TS_LEN + 1];
    tt_time_format(us, buf);
    return json_string(buf);
}

static json_t *real_value(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Serialise and free; NULL when any allocation on the way failed. */
static char *finish(json_t *o, int ok)
{
    char *s = ok && o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return s;
}

/* json_object_set_new that remembers a failure (a NULL value is one). */
static void put(json_t *o, const char *key, json_t *v, int *ok)
{
    if (o == NULL || v == NULL || json_object_set_new(o, key, v) != 0) {
        if (o != NULL && v != NULL)
            json_decref(v);
        *ok = 0;
    }
}

char *tt_feedback_result_to_json(const tt_feedback_result *r)
{
    json_t *o = json_object();
    int ok = o != NULL;
    put(o, "alpha", real_value(r->alpha), &ok);
    put(o, "reward", real_value(r->reward), &ok);
    put(o, "outcome", str_or_null(tt_outcome_name(r->outcome)), &ok);
    put(o, "seq", json_integer(r->seq), &ok);
    return finish(o, ok);
}

char *tt_feedback_list_to_json(const tt_feedback *list, size_t n)
{
    json_t *o = json_object(), *a = json_array();
    int ok = o && a;
    for (size_t i = 0; ok && i < n; i++) {
        const tt_feedback *f = &list[i];
        json_t *e = json_object();
        ok = e != NULL;
        put(e, "id", json_integer(f->id), &ok);
        put(e, "seq", json_integer(f->seq), &ok);
        put(e, "ts", ts_value(f->ts_us), &ok);
        put(e, "strategy_id", str_or_null(f->strategy_id), &ok);
        put(e, "user_id", str_or_null(f->user_id), &ok);
        put(e, "benchmark", str_or_null(f->benchmark), &ok);
        put(e, "ai_return", real_value(f->ai_return), &ok);
        put(e, "benchmark_return", real_value(f->benchmark_return), &ok);
        put(e, "alpha", real_value(f->alpha), &ok);
        put(e, "reward", real_value(f->reward), &ok);
        put(e, "outcome", str_or_null(tt_outcome_name(f->outcome)), &ok);
        if (e == NULL || json_array_append_new(a, e) != 0)
            ok = 0;
    }
    put(o, "feedback", a, &ok);
    put(o, "count", json_integer((json_int_t)n), &ok);
    return finish(o, ok);
}

static json_t *count_map(const tt_count *c, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++)
        if (json_object_set_new(o, c[i].name, json_integer(c[i].count)) != 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

/* The checkpoint object exactly as GET /api/checkpoint shapes it. */
static json_t *checkpoint_value(const tt_summary *s)
{
    if (!s->has_checkpoint)
        return json_null();
    char *text = tt_checkpoint_to_json(&s->checkpoint);
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    tt_free(text);
    return v;
}

char *tt_summary_to_json(const tt_summary *s)
{
    json_t *o = json_object(), *acts = json_array(), *strat = json_object(), *fb = json_object();
    int ok = o && acts && strat && fb;
    put(o, "period", json_string(tt_period_name(s->period) ? tt_period_name(s->period) : ""), &ok);
    put(o, "from", ts_value(s->from_us), &ok);
    put(o, "to", ts_value(s->to_us), &ok);
    put(o, "total", json_integer(s->total), &ok);
    put(o, "by_entity", count_map(s->by_entity, s->n_by_entity), &ok);
    put(o, "by_event_type", count_map(s->by_event_type, s->n_by_event_type), &ok);
    for (size_t i = 0; ok && i < s->n_actions; i++) {
        json_t *a = json_object();
        ok = a != NULL;
        put(a, "ts", ts_value(s->actions[i].ts_us), &ok);
        put(a, "source", json_string(s->actions[i].source), &ok);
        put(a, "message", json_string(s->actions[i].message), &ok);
        if (a == NULL || json_array_append_new(acts, a) != 0)
            ok = 0;
    }
    put(o, "actions", acts, &ok);
    put(strat, "created", json_integer(s->created), &ok);
    put(strat, "activated", json_integer(s->activated), &ok);
    put(strat, "closed", json_integer(s->closed), &ok);
    put(strat, "swapped", json_integer(s->swapped), &ok);
    put(strat, "failed", json_integer(s->failed), &ok);
    put(o, "strategies", strat, &ok);
    put(fb, "positive", json_integer(s->positive), &ok);
    put(fb, "negative", json_integer(s->negative), &ok);
    put(fb, "neutral", json_integer(s->neutral), &ok);
    put(fb, "mean_reward", real_value(s->mean_reward), &ok);
    put(o, "feedback", fb, &ok);
    put(o, "checkpoint", checkpoint_value(s), &ok);
    return finish(o, ok);
}

static json_t *cell_value(const tt_cell *c)
{
    switch (c->type) {
    case TT_CELL_TEXT:
        return json_string(c->text ? c->text : "");
    case TT_CELL_INT:
        return json_integer(c->i);
    case TT_CELL_REAL:
        return real_value(c->r);
    default:
        return json_null();
    }
}

char *tt_report_to_json(const tt_report *r)
{
    json_t *o = json_object(), *cols = json_array(), *rows = json_array(), *tot = json_object();
    int ok = o && cols && rows && tot;
    put(o, "kind", json_string(r->kind), &ok);
    put(o, "title", json_string(r->title), &ok);
    for (size_t i = 0; ok && i < r->n_columns; i++)
        ok = json_array_append_new(cols, json_string(r->columns[i])) == 0;
    for (size_t i = 0; ok && i < r->n_rows; i++) {
        json_t *row = json_object();
        ok = row != NULL;
        for (size_t j = 0; ok && j < r->n_columns; j++)
            put(row, r->columns[j], cell_value(&r->cells[i * r->n_columns + j]), &ok);
        if (row == NULL || json_array_append_new(rows, row) != 0)
            ok = 0;
    }
    for (size_t i = 0; ok && i < r->n_totals; i++)
        put(tot, r->total_names[i], cell_value(&r->totals[i]), &ok);
    put(o, "columns", cols, &ok);
    put(o, "rows", rows, &ok);
    put(o, "totals", tot, &ok);
    return finish(o, ok);
}

/* ---- request bodies ---- */

static int load_object(const char *json, size_t len, json_t **out, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (root == NULL) {
        for (char *p = je.text; *p; p++) /* keep the message printable ASCII */
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                *p = '?';
        return tti_err(err, errlen,
                       json_error_code(&je) == json_error_out_of_memory ? TT_ENOMEM : TT_EPARSE,
                       "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return tti_err(err, errlen, TT_EINVAL, "the body must be a JSON object");
    }
    *out = root;
    return TT_OK;
}

/* Refuse members not in allowed (SPEC 3.1: nothing is silently dropped). */
static int only_known(json_t *o, const char *const *allowed, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        int known = 0;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, key) == 0;
        if (!known)
            return tti_err(err, errlen, TT_EINVAL, "unknown field \"%.64s\"", key);
    }
    return TT_OK;
}

/* A string member: required or optional (absent or null gives NULL). */
static int get_str(json_t *o, const char *key, int required, const char **out, char *err,
                   size_t errlen)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return required ? tti_err(err, errlen, TT_EINVAL, "%s: required", key) : TT_OK;
    if (!json_is_string(v))
        return tti_err(err, errlen, TT_EINVAL, "%s: must be a string", key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return tti_err(err, errlen, TT_EINVAL, "%s: must not contain NUL", key);
    *out = json_string_value(v);
    return TT_OK;
}

static int get_num(json_t *o, const char *key, double *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v))
        return tti_err(err, errlen, TT_EINVAL, "%s: required", key);
    if (!json_is_number(v))
        return tti_err(err, errlen, TT_EINVAL, "%s: must be a number", key);
    *out = json_number_value(v);
    if (!isfinite(*out))
        return tti_err(err, errlen, TT_EINVAL, "%s: must be a finite number", key);
    return TT_OK;
}

/* Copy up to 3 strings into one allocation (freed with tt_free); NULLs stay NULL. */
static int pack(const char **s, size_t n, void **owner)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += s[i] ? strlen(s[i]) + 1 : 0;
    char *block = malloc(total), *p = block;
    if (block == NULL)
        return TT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == NULL)
            continue;
        size_t len = strlen(s[i]) + 1;
        memcpy(p, s[i], len);
        s[i] = p;
        p += len;
    }
    *owner = block;
    return TT_OK;
}

int tt_feedback_parse_json(const char *json, size_t len, tt_feedback_input *out, void **owner,
                           char *err, size_t errlen)
{
    static const char *const allowed[] = {"strategy_id", "ai_return", "benchmark_return",
                                          "user_id",     "benchmark", NULL};
    json_t *o = NULL;
    int rc = load_object(json, len, &o, err, errlen);
    if (rc != TT_OK)
        return rc;
    tt_feedback_input in;
    memset(&in, 0, sizeof in);
    const char *s[3] = {NULL, NULL, NULL};
    if ((rc = only_known(o, allowed, err, errlen)) == TT_OK &&
        (rc = get_str(o, "strategy_id", 1, &s[0], err, errlen)) == TT_OK &&
        (rc = get_num(o, "ai_return", &in.ai_return, err, errlen)) == TT_OK &&
        (rc = get_num(o, "benchmark_return", &in.benchmark_return, err, errlen)) == TT_OK &&
        (rc = get_str(o, "user_id", 1, &s[1], err, errlen)) == TT_OK &&
        (rc = get_str(o, "benchmark", 0, &s[2], err, errlen)) == TT_OK &&
        (rc = pack(s, 3, owner)) != TT_OK)
        rc = tti_err(err, errlen, TT_ENOMEM, "out of memory");
    json_decref(o);
    if (rc != TT_OK)
        return rc;
    in.strategy_id = s[0];
    in.user_id = s[1];
    in.benchmark = s[2];
    *out = in;
    return TT_OK;
}

int tt_action_parse_json(const char *json, size_t len, const char **message, const char **source,
                         void **owner, char *err, size_t errlen)
{
    static const char *const allowed[] = {"message", "source", NULL};
    json_t *o = NULL;
    int rc = load_object(json, len, &o, err, errlen);
    if (rc != TT_OK)
        return rc;
    const char *s[2] = {NULL, NULL};
    if ((rc = only_known(o, allowed, err, errlen)) == TT_OK &&
        (rc = get_str(o, "message", 1, &s[0], err, errlen)) == TT_OK &&
        (rc = get_str(o, "source", 0, &s[1], err, errlen)) == TT_OK &&
        (rc = pack(s, 2, owner)) != TT_OK)
        rc = tti_err(err, errlen, TT_ENOMEM, "out of memory");
    json_decref(o);
    if (rc != TT_OK)
        return rc;
    *message = s[0];
    *source = s[1];
    return TT_OK;
}
