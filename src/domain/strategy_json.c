/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON mapping of the strategy lifecycle (SPEC 9, 10): request bodies parsed into the
 * C structs of tradetrail.h (jansson, strict: unknown fields and wrong types rejected), and
 * strategies, versions, results and the seed-compatible audit logs serialised for the HTTP
 * API and the CLI's -o json, so that both print the same objects. The front ends never see
 * jansson.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "tradetrail.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/err.h"

#define OUT_MAX (256u * 1024 * 1024)

/* ---- request bodies ------------------------------------------------------------------- */

enum ftype { F_STR, F_INT, F_NUM };

typedef struct field {
    const char *name;
    enum ftype type;
    int required;
    unsigned kinds; /* mask of tt_strategy_request_kind */
} field;

#define K(k) (1u << (k))
#define K_ALL 0x3fu

static const field fields[] = {
    {"id", F_STR, 0, K(TT_STRATEGY_REQ_CREATE)},
    {"name", F_STR, 1, K(TT_STRATEGY_REQ_CREATE)},
    {"symbol", F_STR, 1, K(TT_STRATEGY_REQ_CREATE)},
    {"timeframe", F_STR, 1, K(TT_STRATEGY_REQ_CREATE)},
    {"yaml", F_STR, 1, K(TT_STRATEGY_REQ_CREATE) | K(TT_STRATEGY_REQ_YAML)},
    {"actor", F_STR, 1, K_ALL},
    {"reason", F_STR, 0, K_ALL},
    {"version", F_INT, 1, K(TT_STRATEGY_REQ_ROLLBACK)},
    {"status", F_STR, 1, K(TT_STRATEGY_REQ_STATUS)},
    {"old_id", F_STR, 1, K(TT_STRATEGY_REQ_SWAP)},
    {"new_id", F_STR, 1, K(TT_STRATEGY_REQ_SWAP)},
    {"swap_reason", F_STR, 0, K(TT_STRATEGY_REQ_SWAP)},
    {"old_score", F_NUM, 0, K(TT_STRATEGY_REQ_SWAP)},
    {"new_score", F_NUM, 0, K(TT_STRATEGY_REQ_SWAP)},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

static const field *find_field(const char *name, unsigned kind)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (strcmp(fields[i].name, name) == 0 && (fields[i].kinds & K(kind)))
            return &fields[i];
    return NULL;
}

/* Where each string field lands in the request. */
static const char **slot(tt_strategy_request *r, const char *name)
{
    static const struct {
        const char *name;
        size_t off;
    } map[] = {
        {"id", offsetof(tt_strategy_request, create.id)},
        {"name", offsetof(tt_strategy_request, create.name)},
        {"symbol", offsetof(tt_strategy_request, create.symbol)},
        {"timeframe", offsetof(tt_strategy_request, create.timeframe)},
        {"yaml", offsetof(tt_strategy_request, create.yaml)},
        {"actor", offsetof(tt_strategy_request, create.actor)},
        {"reason", offsetof(tt_strategy_request, create.reason)},
        {"old_id", offsetof(tt_strategy_request, swap.old_id)},
        {"new_id", offsetof(tt_strategy_request, swap.new_id)},
        {"swap_reason", offsetof(tt_strategy_request, swap.swap_reason)},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].name, name) == 0)
            return (const char **)((char *)r + map[i].off);
    return NULL;
}

static int take_number(const field *f, json_t *v, tt_strategy_request *r, char *err, size_t errlen)
{
    if (f->type == F_INT) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return tti_err(err, errlen, TT_EINVAL, "%s: must be a positive integer", f->name);
        r->version = json_integer_value(v);
        return TT_OK;
    }
    if (!json_is_number(v))
        return tti_err(err, errlen, TT_EINVAL, "%s: must be a number", f->name);
    double d = json_number_value(v);
    if (strcmp(f->name, "old_score") == 0) {
        r->swap.has_old_score = 1;
        r->swap.old_score = d;
    } else {
        r->swap.has_new_score = 1;
        r->swap.new_score = d;
    }
    return TT_OK;
}

/* Copy every string into one block (the owner) so the caller frees a single pointer. */
static int copy_strings(json_t *root, unsigned kind, tt_strategy_request *r, void **owner,
                        char *err, size_t errlen)
{
    size_t total = 1;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (json_is_string(v))
            total += json_string_length(v) + 1;
    }
    char *block = malloc(total), *p = block;
    if (block == NULL)
        return tti_err(err, errlen, TT_ENOMEM, "out of memory");
    json_object_foreach(root, key, v)
    {
        const field *f = find_field(key, kind);
        const char **dst = slot(r, key);
        if (f == NULL || f->type != F_STR || !json_is_string(v) || dst == NULL)
            continue;
        size_t n = json_string_length(v);
        memcpy(p, json_string_value(v), n);
        p[n] = '\0';
        if (strcmp(key, "yaml") == 0)
            r->create.yaml_len = n;
        else if (strlen(p) != n) {
            free(block);
            return tti_err(err, errlen, TT_EINVAL, "%s: must not contain NUL", key);
        }
        *dst = p;
        p += n + 1;
    }
    *owner = block;
    return TT_OK;
}

static int check_fields(json_t *root, unsigned kind, tt_strategy_request *r, char *err,
                        size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        const field *f = find_field(key, kind);
        if (f == NULL)
            return tti_err(err, errlen, TT_EINVAL, "%.64s: unknown field", key);
        if (json_is_null(v) && !f->required)
            continue;
        if (f->type == F_STR && !json_is_string(v))
            return tti_err(err, errlen, TT_EINVAL, "%s: must be a string", key);
        int rc;
        if (f->type != F_STR && (rc = take_number(f, v, r, err, errlen)) != TT_OK)
            return rc;
    }
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field *f = &fields[i];
        if (f->required && (f->kinds & K(kind)) && json_object_get(root, f->name) == NULL)
            return tti_err(err, errlen, TT_EINVAL, "%s: required", f->name);
    }
    return TT_OK;
}

int tt_strategy_request_parse(const char *json, size_t len, tt_strategy_request_kind kind,
                              tt_strategy_request *out, void **owner, char *err, size_t errlen)
{
    if ((unsigned)kind > TT_STRATEGY_REQ_STATUS || json == NULL)
        return tti_err(err, errlen, TT_EMISUSE, "tt_strategy_request_parse: bad arguments");
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return tti_err(err, errlen, TT_EPARSE, "request body: line %d, column %d: %s", je.line,
                       je.column, je.text);
    tt_strategy_request r;
    memset(&r, 0, sizeof r);
    int rc = TT_OK;
    if (!json_is_object(root))
        rc = tti_err(err, errlen, TT_EINVAL, "request body: must be a JSON object");
    if (rc == TT_OK)
        rc = check_fields(root, (unsigned)kind, &r, err, errlen);
    void *block = NULL;
    if (rc == TT_OK)
        rc = copy_strings(root, (unsigned)kind, &r, &block, err, errlen);
    if (rc == TT_OK && kind == TT_STRATEGY_REQ_STATUS) {
        json_t *st = json_object_get(root, "status");
        if (tt_strategy_status_parse(json_string_value(st), &r.status) != TT_OK)
            rc = tti_err(err, errlen, TT_EINVAL,
                         "status: must be DRAFT, PENDING, ACTIVE, FAILED, CLOSED or ARCHIVED");
    }
    json_decref(root);
    if (rc != TT_OK) {
        free(block);
        return rc;
    }
    /* actor and reason serve every kind; the swap carries its own copy. */
    r.swap.actor = r.create.actor;
    r.swap.reason = r.create.reason;
    *out = r;
    *owner = block;
    return TT_OK;
}

/* ---- serialisers ---------------------------------------------------------------------- */

static char *finish(tti_buf *b)
{
    if (b->failed) {
        tti_buf_free(b);
        return NULL;
    }
    return tti_buf_take(b);
}

static void put_str(tti_buf *b, const char *sep, const char *name, const char *v)
{
    tti_buf_printf(b, "%s\"%s\":", sep, name);
    if (v == NULL)
        tti_buf_adds(b, "null");
    else
        tti_buf_json_str(b, v);
}

static void put_ts(tti_buf *b, const char *sep, const char *name, int64_t us)
{
    char ts[TT_TS_LEN + 1];
    if (us != TT_TIME_NONE)
        tt_time_format(us, ts);
    put_str(b, sep, name, us == TT_TIME_NONE ? NULL : ts);
}

static void strategy_obj(tti_buf *b, const tt_strategy *s)
{
    put_str(b, "{", "id", s->id);
    put_str(b, ",", "name", s->name);
    put_str(b, ",", "symbol", s->symbol);
    put_str(b, ",", "timeframe", s->timeframe);
    put_str(b, ",", "status", tt_strategy_status_name(s->status));
    tti_buf_printf(b, ",\"deleted\":%s,\"version\":%lld", s->deleted ? "true" : "false",
                   (long long)s->version);
    put_ts(b, ",", "created_at", s->created_us);
    put_ts(b, ",", "updated_at", s->updated_us);
    tti_buf_adds(b, "}");
}

static void result_obj(tti_buf *b, const tt_append_result *r)
{
    char hex[2 * TT_HASH_SIZE + 1];
    tti_hex_encode(r->leaf_hash, TT_HASH_SIZE, hex);
    tti_buf_printf(b, "{\"seq\":%lld", (long long)r->seq);
    put_ts(b, ",", "ts", r->ts_us);
    put_str(b, ",", "leaf_hash", hex);
    tti_buf_adds(b, "}");
}

static void version_obj(tti_buf *b, const tt_strategy_version *v)
{
    put_str(b, "{", "strategy_id", v->strategy_id);
    tti_buf_printf(b, ",\"version\":%lld", (long long)v->number);
    put_str(b, ",", "sha256", v->sha256);
    put_str(b, ",", "change_type", v->change_type);
    put_str(b, ",", "author", v->author);
    put_str(b, ",", "reason", v->reason);
    put_ts(b, ",", "created_at", v->created_us);
    tti_buf_printf(b, ",\"seq\":%lld,\"size\":%zu", (long long)v->seq, v->content_len);
    if (v->content != NULL) {
        tti_buf_adds(b, ",\"content\":");
        tti_buf_json_str(b, v->content);
    }
    tti_buf_adds(b, "}");
}

char *tt_strategy_to_json(const tt_strategy *s)
{
    tti_buf b;
    tti_buf_init(&b, OUT_MAX);
    strategy_obj(&b, s);
    return finish(&b);
}

char *tt_strategy_list_to_json(const tt_strategy *list, size_t n)
{
    tti_buf b;
    tti_buf_init(&b, OUT_MAX);
    tti_buf_adds(&b, "{\"strategies\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            tti_buf_adds(&b, ",");
        strategy_obj(&b, &list[i]);
    }
    tti_buf_printf(&b, "],\"count\":%zu}", n);
    return finish(&b);
}

char *tt_strategy_version_to_json(const tt_strategy_version *v)
{
    tti_buf b;
    tti_buf_init(&b, OUT_MAX);
    version_obj(&b, v);
    return finish(&b);
}

char *tt_strategy_versions_to_json(const char *id, const tt_strategy_version *list, size_t n)
{
    tti_buf b;
    tti_buf_init(&b, OUT_MAX);
    put_str(&b, "{", "strategy_id", id);
    tti_buf_adds(&b, ",\"versions\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            tti_buf_adds(&b, ",");
        version_obj(&b, &list[i]);
    }
    tti_buf_printf(&b, "],\"count\":%zu}", n);
    return finish(&b);
}

char *tt_strategy_result_to_json(const tt_strategy *s, const tt_append_result *res, int64_t version)
{
    tti_buf b;
    tti_buf_init(&b, OUT_MAX);
    tti_buf_adds(&b, "{\"strategy\":");
    strategy_obj(&b, s);
    tti_buf_adds(&b, ",\"event\":");
    result_obj(&b, res);
    if (version > 0)
        tti_buf_printf(&b, ",\"version\":%lld", (long long)version);
    tti_buf_adds(&b, "}");
    return finish(&b);
}

char *tt_strategy_swap_result_to_json(const tt_strategy *old_s, const tt_strategy *new_s,
                                      const tt_append_result res[2])
{
    tti_buf b;
    tti_buf_init(&b, OUT_MAX);
    tti_buf_adds(&b, "{\"old\":");
    strategy_obj(&b, old_s);
    tti_buf_adds(&b, ",\"new\":");
    strategy_obj(&b, new_s);
    tti_buf_adds(&b, ",\"events\":[");
    result_obj(&b, &res[0]);
    tti_buf_adds(&b, ",");
    result_obj(&b, &res[1]);
    tti_buf_adds(&b, "]}");
    return finish(&b);
}

char *tt_strategy_diff_to_json(const char *id, int64_t from, int64_t to, const char *diff)
{
    tti_buf b;
    tti_buf_init(&b, OUT_MAX);
    put_str(&b, "{", "strategy_id", id);
    tti_buf_printf(&b, ",\"from\":%lld,\"to\":%lld", (long long)from, (long long)to);
    put_str(&b, ",", "diff", diff);
    tti_buf_adds(&b, "}");
    return finish(&b);
}

/* ---- seed-compatible audit logs (seed 002, SPEC 9) ------------------------------------ */

/* One entry in the seed's camelCase shape; id is the event's seq. */
static void audit_entry(tti_buf *b, const tt_event *ev)
{
    tti_buf_printf(b, "{\"id\":%lld", (long long)ev->seq);
    /* The seed's StrategyAuditLog row carries its strategyId; the all-strategies log needs
     * it to say which strategy each entry is about. */
    put_str(b, ",", "strategyId", ev->entity_id);
    put_str(b, ",", "eventType", ev->event_type);
    put_str(b, ",", "oldStatus", ev->old_status);
    put_str(b, ",", "newStatus", ev->new_status);
    put_str(b, ",", "changedBy", ev->actor);
    put_str(b, ",", "changeReason", ev->reason);
    /* Stored metadata is a normalised JSON object (checked at append): it goes out as is. */
    if (ev->metadata != NULL && ev->metadata[0] == '{') {
        tti_buf_adds(b, ",\"metadata\":");
        tti_buf_adds(b, ev->metadata);
    } else {
        put_str(b, ",", "metadata", ev->metadata);
    }
    put_ts(b, ",", "createdAt", ev->ts_us);
    tti_buf_adds(b, "}");
}

static int audit_query(tt_ledger *l, const char *id, const char *event_type, size_t limit,
                       const char *list_name, char **out)
{
    if (limit > TT_MAX_QUERY_LIMIT)
        return tti_fail(TT_EINVAL, "limit: must be 1 to %d", TT_MAX_QUERY_LIMIT);
    tt_query q;
    tt_query_init(&q);
    q.entity = "strategy";
    q.entity_id = id;
    /* eventType is a comma list, as event_type of GET /api/events. */
    void *types = NULL;
    int rc;
    if (event_type != NULL) {
        const tt_query_param p = {.key = "event_type", .value = event_type};
        char err[128];
        if ((rc = tt_query_parse_params(&q, &p, 1, 0, &types, err, sizeof err)) != TT_OK)
            return tti_fail(rc, "eventType: %s", err);
    }
    q.limit = limit ? limit : 100;
    q.order = TT_ORDER_DESC;
    tt_iter *it = NULL;
    rc = tt_ledger_query(l, &q, &it);
    if (rc != TT_OK) {
        tt_free(types);
        return rc;
    }
    tti_buf b;
    tti_buf_init(&b, OUT_MAX);
    tti_buf_adds(&b, "{\"success\":true");
    if (id != NULL)
        put_str(&b, ",", "strategyId", id);
    tti_buf_printf(&b, ",\"%s\":[", list_name);
    size_t count = 0;
    const tt_event *ev;
    while ((rc = tt_iter_next(it, &ev)) == TT_OK) {
        if (count++ > 0)
            tti_buf_adds(&b, ",");
        audit_entry(&b, ev);
    }
    tt_iter_free(it);
    tt_free(types);
    if (rc != TT_ENOTFOUND) {
        tti_buf_free(&b);
        return rc;
    }
    tti_buf_printf(&b, "],\"count\":%zu}", count);
    if ((*out = finish(&b)) == NULL)
        return tti_fail(TT_ENOMEM, "out of memory building the audit log");
    return TT_OK;
}

int tt_strategy_audit_log_json(tt_ledger *l, const char *id, size_t limit, char **out)
{
    if (id == NULL || id[0] == '\0')
        return tti_fail(TT_EINVAL, "id: required");
    return audit_query(l, id, NULL, limit, "auditLog", out);
}

int tt_strategy_audit_logs_json(tt_ledger *l, const char *event_type, size_t limit, char **out)
{
    return audit_query(l, NULL, event_type, limit, "auditLogs", out);
}
