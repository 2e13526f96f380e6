/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON mapping of the domain: request bodies of POST /api/feedback and /api/actions,
 * and the shapes of feedback, summaries and reports shared by the CLI's -o json and the
 * HTTP API (SPEC 9, 10). Output goes through the one JSON writer (util/buf.c); jansson
 * only parses the request bodies, here and nowhere else in the domain.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_out.h"
#include "tradetrail.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/err.h"

/* ---- output: through the one JSON writer (util/buf.c) ---- */

#define OUT_MAX (256u << 20) /* a report of TT_MAX_QUERY_LIMIT rows is far below */

/* A member's key, with the comma it needs: *first says whether one came before. */
static void key(tti_buf *b, int *first, const char *name)
{
    if (!*first)
        tti_buf_add(b, ",", 1);
    *first = 0;
    tti_buf_json_str(b, name);
    tti_buf_add(b, ":", 1);
}

static void put_ts(tti_buf *b, int64_t us)
{
    char buf[TT_TS_LEN + 1];
    if (us == TT_TIME_NONE) {
        tti_buf_add(b, "null", 4);
        return;
    }
    tt_time_format(us, buf);
    tti_buf_json_str(b, buf);
}

/* Close the text and hand it over; NULL when any write on the way failed. */
static char *finish(tti_buf *b)
{
    if (b->failed) {
        tti_buf_free(b);
        return NULL;
    }
    return tti_buf_take(b);
}

char *tt_feedback_result_to_json(const tt_feedback_result *r)
{
    tti_buf b;
    int first = 1;
    tti_buf_init(&b, OUT_MAX);
    tti_buf_add(&b, "{", 1);
    key(&b, &first, "alpha");
    tti_buf_json_real(&b, r->alpha);
    key(&b, &first, "reward");
    tti_buf_json_real(&b, r->reward);
    key(&b, &first, "outcome");
    tti_buf_json_str(&b, tt_outcome_name(r->outcome));
    key(&b, &first, "seq");
    tti_buf_json_int(&b, (long long)r->seq);
    tti_buf_add(&b, "}", 1);
    return finish(&b);
}

char *tt_feedback_list_to_json(const tt_feedback *list, size_t n)
{
    tti_buf b;
    tti_buf_init(&b, OUT_MAX);
    tti_buf_adds(&b, "{\"feedback\":[");
    for (size_t i = 0; i < n; i++) {
        const tt_feedback *f = &list[i];
        int first = 1;
        tti_buf_adds(&b, i ? ",{" : "{");
        key(&b, &first, "id");
        tti_buf_json_int(&b, (long long)f->id);
        key(&b, &first, "seq");
        tti_buf_json_int(&b, (long long)f->seq);
        key(&b, &first, "ts");
        put_ts(&b, f->ts_us);
        key(&b, &first, "strategy_id");
        tti_buf_json_str(&b, f->strategy_id);
        key(&b, &first, "user_id");
        tti_buf_json_str(&b, f->user_id);
        key(&b, &first, "benchmark");
        tti_buf_json_str(&b, f->benchmark);
        key(&b, &first, "ai_return");
        tti_buf_json_real(&b, f->ai_return);
        key(&b, &first, "benchmark_return");
        tti_buf_json_real(&b, f->benchmark_return);
        key(&b, &first, "alpha");
        tti_buf_json_real(&b, f->alpha);
        key(&b, &first, "reward");
        tti_buf_json_real(&b, f->reward);
        key(&b, &first, "outcome");
        tti_buf_json_str(&b, tt_outcome_name(f->outcome));
        tti_buf_add(&b, "}", 1);
    }
    tti_buf_adds(&b, "],\"count\":");
    tti_buf_json_int(&b, (long long)n);
    tti_buf_add(&b, "}", 1);
    return finish(&b);
}

char *tt_summary_to_json(const tt_summary *s)
{
    tti_buf b;
    int first = 1;
    const char *period = tt_period_name(s->period);
    tti_buf_init(&b, OUT_MAX);
    tti_buf_add(&b, "{", 1);
    key(&b, &first, "period");
    tti_buf_json_str(&b, period ? period : "");
    key(&b, &first, "from");
    put_ts(&b, s->from_us);
    key(&b, &first, "to");
    put_ts(&b, s->to_us);
    key(&b, &first, "total");
    tti_buf_json_int(&b, (long long)s->total);
    key(&b, &first, "by_entity");
    tti_json_counts(&b, s->by_entity, s->n_by_entity);
    key(&b, &first, "by_event_type");
    tti_json_counts(&b, s->by_event_type, s->n_by_event_type);
    key(&b, &first, "actions");
    tti_buf_add(&b, "[", 1);
    for (size_t i = 0; i < s->n_actions; i++) {
        tti_buf_adds(&b, i ? ",{\"ts\":" : "{\"ts\":");
        put_ts(&b, s->actions[i].ts_us);
        tti_buf_adds(&b, ",\"source\":");
        tti_buf_json_str(&b, s->actions[i].source ? s->actions[i].source : "");
        tti_buf_adds(&b, ",\"message\":");
        tti_buf_json_str(&b, s->actions[i].message ? s->actions[i].message : "");
        tti_buf_add(&b, "}", 1);
    }
    tti_buf_add(&b, "]", 1);
    key(&b, &first, "strategies");
    tti_buf_printf(&b,
                   "{\"created\":%lld,\"activated\":%lld,\"closed\":%lld,\"swapped\":%lld,"
                   "\"failed\":%lld}",
                   (long long)s->created, (long long)s->activated, (long long)s->closed,
                   (long long)s->swapped, (long long)s->failed);
    key(&b, &first, "feedback");
    tti_buf_printf(&b, "{\"positive\":%lld,\"negative\":%lld,\"neutral\":%lld,\"mean_reward\":",
                   (long long)s->positive, (long long)s->negative, (long long)s->neutral);
    tti_buf_json_real(&b, s->mean_reward);
    tti_buf_add(&b, "}", 1);
    key(&b, &first, "producers"); /* SPEC 15 */
    tti_buf_printf(&b,
                   "{\"gaps\":%lld,\"repeats\":%lld,\"restarts\":%lld,\"silences\":%lld,"
                   "\"events\":[",
                   (long long)s->producer_gaps, (long long)s->producer_repeats,
                   (long long)s->producer_restarts, (long long)s->producer_silences);
    for (size_t i = 0; i < s->n_producer_events; i++) {
        tti_buf_adds(&b, i ? ",{\"seq\":" : "{\"seq\":");
        tti_buf_json_int(&b, (long long)s->producer_events[i].seq);
        tti_buf_adds(&b, ",\"ts\":");
        put_ts(&b, s->producer_events[i].ts_us);
        tti_buf_adds(&b, ",\"producer\":");
        tti_buf_json_str(&b, s->producer_events[i].source);
        tti_buf_adds(&b, ",\"message\":");
        tti_buf_json_str(&b, s->producer_events[i].message);
        tti_buf_add(&b, "}", 1);
    }
    tti_buf_adds(&b, "]}");
    /* The checkpoint object exactly as GET /api/checkpoint shapes it. */
    key(&b, &first, "checkpoint");
    if (!s->has_checkpoint) {
        tti_buf_add(&b, "null", 4);
    } else {
        char *text = tt_checkpoint_to_json(&s->checkpoint);
        if (text == NULL)
            b.failed = TTI_BUF_NOMEM;
        else
            tti_buf_adds(&b, text);
        tt_free(text);
    }
    tti_buf_add(&b, "}", 1);
    return finish(&b);
}

static void put_cell(tti_buf *b, const tt_cell *c)
{
    switch (c->type) {
    case TT_CELL_TEXT:
        tti_buf_json_str(b, c->text ? c->text : "");
        break;
    case TT_CELL_INT:
        tti_buf_json_int(b, (long long)c->i);
        break;
    case TT_CELL_REAL:
        tti_buf_json_real(b, c->r);
        break;
    default:
        tti_buf_add(b, "null", 4);
    }
}

char *tt_report_to_json(const tt_report *r)
{
    tti_buf b;
    int first = 1;
    tti_buf_init(&b, OUT_MAX);
    tti_buf_add(&b, "{", 1);
    key(&b, &first, "kind");
    tti_buf_json_str(&b, r->kind ? r->kind : "");
    key(&b, &first, "title");
    tti_buf_json_str(&b, r->title ? r->title : "");
    key(&b, &first, "columns");
    tti_buf_add(&b, "[", 1);
    for (size_t i = 0; i < r->n_columns; i++) {
        if (i > 0)
            tti_buf_add(&b, ",", 1);
        tti_buf_json_str(&b, r->columns[i]);
    }
    tti_buf_add(&b, "]", 1);
    key(&b, &first, "rows");
    tti_buf_add(&b, "[", 1);
    for (size_t i = 0; i < r->n_rows; i++) {
        int rf = 1;
        tti_buf_adds(&b, i ? ",{" : "{");
        for (size_t j = 0; j < r->n_columns; j++) {
            key(&b, &rf, r->columns[j]);
            put_cell(&b, &r->cells[i * r->n_columns + j]);
        }
        tti_buf_add(&b, "}", 1);
    }
    tti_buf_add(&b, "]", 1);
    key(&b, &first, "totals");
    tti_buf_add(&b, "{", 1);
    int tf = 1;
    for (size_t i = 0; i < r->n_totals; i++) {
        key(&b, &tf, r->total_names[i]);
        put_cell(&b, &r->totals[i]);
    }
    tti_buf_add(&b, "}", 1);
    tti_buf_add(&b, "}", 1);
    return finish(&b);
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

/* ---- tokens, actions and the demo's report: the CLI's and server's -o json shapes ---- */

char *tt_token_created_to_json(int64_t id, tt_role role, const char *token)
{
    tti_buf b;
    tti_buf_init(&b, 4096);
    tti_buf_adds(&b, "{\"id\":");
    tti_buf_json_int(&b, (long long)id);
    tti_buf_adds(&b, ",\"role\":");
    tti_buf_json_str(&b, tt_role_name(role));
    tti_buf_adds(&b, ",\"token\":");
    tti_buf_json_str(&b, token);
    tti_buf_add(&b, "}", 1);
    return finish(&b);
}

char *tt_token_info_to_json(const tt_token_info *t)
{
    tti_buf b;
    tti_buf_init(&b, 4096);
    tti_buf_adds(&b, "{\"id\":");
    tti_buf_json_int(&b, (long long)t->id);
    tti_buf_adds(&b, ",\"role\":");
    tti_buf_json_str(&b, tt_role_name(t->role));
    tti_buf_adds(&b, ",\"name\":");
    if (t->name != NULL)
        tti_buf_json_str(&b, t->name);
    else
        tti_buf_adds(&b, "null");
    tti_buf_adds(&b, ",\"created\":");
    put_ts(&b, t->created_us);
    tti_buf_adds(&b, ",\"revoked\":");
    put_ts(&b, t->revoked_us);
    tti_buf_add(&b, "}", 1);
    return finish(&b);
}

char *tt_action_result_to_json(const tt_append_result *r)
{
    tti_buf b;
    tti_buf_init(&b, 256);
    tti_buf_adds(&b, "{\"seq\":");
    tti_buf_json_int(&b, (long long)r->seq);
    tti_buf_adds(&b, ",\"ts\":");
    put_ts(&b, r->ts_us);
    tti_buf_add(&b, "}", 1);
    return finish(&b);
}

char *tt_demo_report_to_json(const tt_demo_report *r)
{
    const struct {
        const char *name;
        int64_t v;
    } m[] = {{"events", r->events},       {"strategies", r->strategies}, {"swaps", r->swaps},
             {"rollbacks", r->rollbacks}, {"feedback", r->feedback},     {"syncs", r->syncs},
             {"actions", r->actions}};
    tti_buf b;
    int first = 1;
    tti_buf_init(&b, 1024);
    tti_buf_add(&b, "{", 1);
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        key(&b, &first, m[i].name);
        tti_buf_json_int(&b, (long long)m[i].v);
    }
    tti_buf_add(&b, "}", 1);
    return finish(&b);
}

/* ---- completeness per producer (SPEC 15) ---- */

int tt_heartbeat_parse_json(const char *json, size_t len, const char **producer, int64_t *timeout_s,
                            void **owner, char *err, size_t errlen)
{
    static const char *const allowed[] = {"producer", "heartbeat_timeout", NULL};
    json_t *o = NULL;
    int rc = load_object(json, len, &o, err, errlen);
    if (rc != TT_OK)
        return rc;
    const char *s[1] = {NULL};
    json_t *t = json_object_get(o, "heartbeat_timeout");
    int64_t timeout = 0;
    if ((rc = only_known(o, allowed, err, errlen)) == TT_OK &&
        (rc = get_str(o, "producer", 1, &s[0], err, errlen)) == TT_OK && t != NULL &&
        !json_is_null(t)) {
        timeout = json_is_integer(t) ? json_integer_value(t) : 0;
        if (timeout < 1 || timeout > 366LL * 86400)
            rc = tti_err(err, errlen, TT_EINVAL,
                         "heartbeat_timeout: must be an integer from 1 to 31622400 seconds");
    }
    if (rc == TT_OK && pack(s, 1, owner) != TT_OK)
        rc = tti_err(err, errlen, TT_ENOMEM, "out of memory");
    json_decref(o);
    if (rc != TT_OK)
        return rc;
    *producer = s[0];
    *timeout_s = timeout;
    return TT_OK;
}

static void put_producer(tti_buf *b, const tt_producer *p)
{
    int first = 1;
    tti_buf_add(b, "{", 1);
    key(b, &first, "producer");
    tti_buf_json_str(b, p->name);
    key(b, &first, "last_seq");
    tti_buf_json_int(b, (long long)p->last_seq);
    key(b, &first, "last_event");
    if (p->last_event > 0)
        tti_buf_json_int(b, (long long)p->last_event);
    else
        tti_buf_add(b, "null", 4);
    key(b, &first, "last_seen");
    put_ts(b, p->last_seen_us);
    key(b, &first, "heartbeat_timeout");
    if (p->timeout_s > 0)
        tti_buf_json_int(b, (long long)p->timeout_s);
    else
        tti_buf_add(b, "null", 4);
    key(b, &first, "silent");
    tti_buf_adds(b, p->silent ? "true" : "false");
    tti_buf_printf(b,
                   ",\"gaps\":%lld,\"missing\":%lld,\"repeats\":%lld,\"restarts\":%lld,"
                   "\"silences\":%lld}",
                   (long long)p->gaps, (long long)p->missing, (long long)p->repeats,
                   (long long)p->restarts, (long long)p->silences);
}

char *tt_producer_to_json(const tt_producer *p)
{
    tti_buf b;
    tti_buf_init(&b, 4096);
    put_producer(&b, p);
    return finish(&b);
}

char *tt_producers_to_json(const tt_producer *ps, size_t n)
{
    tti_buf b;
    tti_buf_init(&b, OUT_MAX);
    tti_buf_adds(&b, "{\"producers\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            tti_buf_add(&b, ",", 1);
        put_producer(&b, &ps[i]);
    }
    tti_buf_adds(&b, "]}");
    return finish(&b);
}
