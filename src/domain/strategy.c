/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The strategy lifecycle (SPEC 6.1): the transition table, YAML versions and swaps. Every
 * change is committed by tti_ledger_append_tx in one transaction with its event (SPEC 3.2):
 * the `before` hook reads the current row inside the write transaction and refuses what
 * the table does not allow (nothing is written then); the `after` hook, which sees the
 * event's seq and ts, writes the strategy row and the version. A failure anywhere rolls
 * all of it back.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/event.h"
#include "domain/diff.h"
#include "domain/yaml.h"
#include "ledger/ledger.h"
#include "store/strategy_store.h"
#include "util/buf.h"
#include "util/codec.h"

#define M(s) (1u << (s))
#define ALL_STATUSES 0x3fu
#define TO_UNCHANGED (-1)
#define TO_GIVEN (-2)

int tt_strategy_status_parse(const char *s, tt_strategy_status *out)
{
    if (tti_strategy_status_from(s, out) == TT_OK)
        return TT_OK;
    return tti_fail(TT_EINVAL,
                    "status: must be DRAFT, PENDING, ACTIVE, FAILED, CLOSED or ARCHIVED "
                    "(got \"%.64s\")",
                    s ? s : "");
}

/* ---- input checks --------------------------------------------------------------------- */

static int check_id(const char *what, const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > TT_MAX_STRATEGY_ID ||
        strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
        return tti_fail(TT_EINVAL, "%s: must match [A-Za-z0-9_-]{1,%d} (got \"%.80s\")", what,
                        TT_MAX_STRATEGY_ID, id ? id : "");
    return TT_OK;
}

/* Required, 1..max bytes of UTF-8 without control characters. */
static int check_text(const char *what, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return tti_fail(TT_EINVAL, "%s: required", what);
    if (n > max)
        return tti_fail(TT_EINVAL, "%s: at most %zu bytes (got %zu)", what, max, n);
    if (!tti_utf8_valid(s, n))
        return tti_fail(TT_EINVAL, "%s: not valid UTF-8", what);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return tti_fail(TT_EINVAL, "%s: control characters are not allowed", what);
    return TT_OK;
}

static int check_yaml(const char *yaml, size_t len)
{
    char err[300];
    int rc = tti_yaml_check(yaml, len, err, sizeof err);
    return rc == TT_OK ? TT_OK : tti_fail(rc, "%s", err);
}

static void sha256_hex(const char *s, size_t n, char out[2 * TT_HASH_SIZE + 1])
{
    uint8_t h[TT_HASH_SIZE];
    tti_sha256((const uint8_t *)s, n, NULL, 0, NULL, 0, h);
    tti_hex_encode(h, TT_HASH_SIZE, out);
}

static void init_event(tt_event *ev, const char *id, const char *type, const char *actor,
                       const char *reason)
{
    tt_event_init(ev);
    ev->entity = "strategy";
    ev->entity_id = id;
    ev->event_type = type;
    ev->actor = actor;
    ev->reason = reason;
}

/* Metadata built here is canonicalised like any ingested metadata, so that what is hashed
 * is what a client would have sent. */
static int finish_meta(tti_buf *b, char **out)
{
    if (b->failed)
        return tti_fail(TT_ENOMEM, "out of memory building metadata");
    char err[256];
    int rc = tti_metadata_normalize(b->data, b->len, out, err, sizeof err);
    return rc == TT_OK ? TT_OK : tti_fail(rc, "%s", err);
}

/* Read a strategy inside the write transaction: TT_ENOTFOUND with a message. */
static int load(tt_ledger *l, tti_store *w, const char *id, tt_strategy *out)
{
    int rc = l->ops->strategy->get(w, id, out);
    if (rc == TT_ENOTFOUND)
        return tti_fail(rc, "no strategy %s", id);
    return rc == TT_OK ? TT_OK : tti_store_fail(l, w, rc);
}

static int store_rc(tt_ledger *l, tti_store *w, int rc)
{
    return rc == TT_OK ? TT_OK : tti_store_fail(l, w, rc);
}

/* ---- create --------------------------------------------------------------------------- */

typedef struct create_tx {
    const tt_strategy_spec *spec;
    char id[TT_MAX_STRATEGY_ID + 1];
    char sha[2 * TT_HASH_SIZE + 1];
} create_tx;

static int create_before(void *ctx, tt_ledger *l, tti_store *w)
{
    create_tx *t = ctx;
    tt_strategy cur;
    int rc = l->ops->strategy->get(w, t->id, &cur);
    if (rc == TT_OK) {
        tti_strategy_clear(&cur);
        return tti_fail(TT_ECONFLICT, "strategy %s already exists", t->id);
    }
    return rc == TT_ENOTFOUND ? TT_OK : tti_store_fail(l, w, rc);
}

static int create_after(void *ctx, tt_ledger *l, tti_store *w, const tt_append_result *res,
                        size_t n)
{
    (void)n;
    create_tx *t = ctx;
    const tt_strategy_spec *sp = t->spec;
    tt_strategy st = {.id = t->id,
                      .name = (char *)sp->name,
                      .symbol = (char *)sp->symbol,
                      .timeframe = (char *)sp->timeframe,
                      .status = TT_STRATEGY_DRAFT,
                      .version = 1,
                      .created_us = res[0].ts_us,
                      .updated_us = res[0].ts_us};
    int rc = l->ops->strategy->insert(w, &st);
    if (rc != TT_OK)
        return store_rc(l, w, rc);
    tt_strategy_version v = {.strategy_id = t->id,
                             .number = 1,
                             .content = (char *)sp->yaml,
                             .content_len = sp->yaml_len,
                             .change_type = "INITIAL",
                             .author = (char *)sp->actor,
                             .reason = (char *)sp->reason,
                             .created_us = res[0].ts_us,
                             .seq = res[0].seq};
    memcpy(v.sha256, t->sha, sizeof v.sha256);
    return store_rc(l, w, l->ops->strategy->version_insert(w, &v));
}

static int generate_id(char out[TT_MAX_STRATEGY_ID + 1])
{
    uint8_t rnd[8];
    if (tti_random(rnd, sizeof rnd) != 0)
        return tti_fail(TT_ECRYPTO, "no randomness for a strategy id");
    memcpy(out, "stg_", 4);
    tti_hex_encode(rnd, sizeof rnd, out + 4);
    return TT_OK;
}

int tt_strategy_create(tt_ledger *l, const tt_strategy_spec *spec,
                       char id_out[TT_MAX_STRATEGY_ID + 1], tt_append_result *res)
{
    if (l == NULL || spec == NULL)
        return tti_fail(TT_EMISUSE, "tt_strategy_create: NULL argument");
    create_tx t = {.spec = spec};
    int rc;
    if (spec->id != NULL) {
        if ((rc = check_id("id", spec->id)) != TT_OK)
            return rc;
        memcpy(t.id, spec->id, strlen(spec->id) + 1);
    } else if ((rc = generate_id(t.id)) != TT_OK) {
        return rc;
    }
    if ((rc = check_text("name", spec->name, TT_MAX_STRATEGY_NAME)) != TT_OK ||
        (rc = check_text("symbol", spec->symbol, TT_MAX_STRATEGY_SYMBOL)) != TT_OK ||
        (rc = check_text("timeframe", spec->timeframe, TT_MAX_STRATEGY_TIMEFRAME)) != TT_OK ||
        (rc = check_yaml(spec->yaml, spec->yaml_len)) != TT_OK)
        return rc;
    sha256_hex(spec->yaml, spec->yaml_len, t.sha);
    tti_buf b;
    tti_buf_init(&b, TT_MAX_METADATA);
    tti_buf_adds(&b, "{\"symbol\":");
    tti_buf_json_str(&b, spec->symbol);
    tti_buf_adds(&b, ",\"name\":");
    tti_buf_json_str(&b, spec->name);
    tti_buf_adds(&b, ",\"timeframe\":");
    tti_buf_json_str(&b, spec->timeframe);
    tti_buf_adds(&b, ",\"versionNumber\":1}");
    char *meta = NULL;
    rc = finish_meta(&b, &meta);
    tti_buf_free(&b);
    if (rc != TT_OK)
        return rc;
    tt_event ev;
    init_event(&ev, t.id, "CREATED", spec->actor, spec->reason);
    ev.new_status = "DRAFT";
    ev.metadata = meta;
    static const tti_tx_hooks hooks = {.before = create_before, .after = create_after};
    tt_append_result r;
    rc = tti_ledger_append_tx(l, &ev, 1, &hooks, &t, &r);
    tt_free(meta);
    if (rc != TT_OK)
        return rc;
    if (id_out != NULL)
        memcpy(id_out, t.id, strlen(t.id) + 1);
    if (res != NULL)
        *res = r;
    return TT_OK;
}

/* ---- the transition table (SPEC 6.1) -------------------------------------------------- */

enum op {
    OP_SUBMIT,
    OP_ACTIVATE,
    OP_FAIL,
    OP_CLOSE,
    OP_ARCHIVE,
    OP_DELETE,
    OP_SET,
    OP_UPDATE,
    OP_ROLLBACK
};

typedef struct rule {
    const char *name;
    unsigned from; /* mask of statuses the operation is allowed from */
    int to;        /* a status, TO_UNCHANGED or TO_GIVEN */
    const char *event_type;
    const char *needs; /* the allowed statuses, for the conflict message */
} rule;

static const rule rules[] = {
    [OP_SUBMIT] = {"submit", M(TT_STRATEGY_DRAFT) | M(TT_STRATEGY_CLOSED), TT_STRATEGY_PENDING,
                   "STATUS_CHANGED", "DRAFT or CLOSED"},
    [OP_ACTIVATE] = {"activate", M(TT_STRATEGY_PENDING), TT_STRATEGY_ACTIVE, "ACTIVATED",
                     "PENDING"},
    [OP_FAIL] = {"fail", M(TT_STRATEGY_DRAFT) | M(TT_STRATEGY_PENDING), TT_STRATEGY_FAILED,
                 "FAILED", "DRAFT or PENDING"},
    [OP_CLOSE] = {"close", M(TT_STRATEGY_ACTIVE), TT_STRATEGY_CLOSED, "CLOSED", "ACTIVE"},
    [OP_ARCHIVE] = {"archive", M(TT_STRATEGY_FAILED) | M(TT_STRATEGY_CLOSED), TT_STRATEGY_ARCHIVED,
                    "ARCHIVED", "FAILED or CLOSED"},
    [OP_DELETE] = {"delete", ALL_STATUSES & ~M(TT_STRATEGY_ACTIVE), TO_UNCHANGED, "DELETED",
                   "any status but ACTIVE (close it first)"},
    [OP_SET] = {"set-status", ALL_STATUSES & ~M(TT_STRATEGY_ARCHIVED), TO_GIVEN, "STATUS_CHANGED",
                "any status but ARCHIVED"},
    [OP_UPDATE] = {"update-yaml", ALL_STATUSES & ~M(TT_STRATEGY_ARCHIVED), TO_UNCHANGED,
                   "YAML_UPDATED", "any status but ARCHIVED"},
    [OP_ROLLBACK] = {"rollback", ALL_STATUSES & ~M(TT_STRATEGY_ARCHIVED), TO_UNCHANGED,
                     "ROLLED_BACK", "any status but ARCHIVED"},
};

typedef struct op_tx {
    enum op op;
    const char *id;
    const char *actor, *reason;
    tt_strategy_status given; /* OP_SET */
    const char *yaml;         /* OP_UPDATE */
    size_t yaml_len;
    int64_t target; /* OP_ROLLBACK */
    tt_strategy cur;
    tt_strategy_version from; /* OP_ROLLBACK: the version rolled back to */
    int64_t new_version;
    char sha[2 * TT_HASH_SIZE + 1];
    char *meta;
    tt_event ev;
} op_tx;

/* Refuse what the table does not allow, naming the current status (SPEC 6.1). */
static int check_allowed(const rule *r, const tt_strategy *cur, const char *what)
{
    const char *now = tt_strategy_status_name(cur->status);
    if (cur->deleted)
        return tti_fail(TT_ECONFLICT, "strategy %s is deleted (status %s); %s is not allowed",
                        cur->id, now, what);
    if (!(r->from & M(cur->status)))
        return tti_fail(TT_ECONFLICT, "strategy %s is %s; %s needs %s", cur->id, now, what,
                        r->needs);
    return TT_OK;
}

static int versioned_meta(op_tx *t)
{
    tti_buf b;
    tti_buf_init(&b, 256);
    if (t->op == OP_UPDATE)
        tti_buf_printf(&b, "{\"versionNumber\":%lld,\"changeType\":\"MANUAL_EDIT\"}",
                       (long long)t->new_version);
    else
        tti_buf_printf(&b, "{\"targetVersionNumber\":%lld,\"newVersionNumber\":%lld}",
                       (long long)t->target, (long long)t->new_version);
    int rc = finish_meta(&b, &t->meta);
    tti_buf_free(&b);
    return rc;
}

static int op_before(void *ctx, tt_ledger *l, tti_store *w)
{
    op_tx *t = ctx;
    const rule *r = &rules[t->op];
    int rc = load(l, w, t->id, &t->cur);
    if (rc != TT_OK)
        return rc;
    if ((rc = check_allowed(r, &t->cur, r->name)) != TT_OK)
        return rc;
    tt_strategy_status to = r->to == TO_GIVEN       ? t->given
                            : r->to == TO_UNCHANGED ? t->cur.status
                                                    : (tt_strategy_status)r->to;
    if (t->op == OP_SET && to == t->cur.status)
        return tti_fail(TT_ECONFLICT, "strategy %s is already %s", t->id,
                        tt_strategy_status_name(to));
    t->ev.old_status = tt_strategy_status_name(t->cur.status);
    t->ev.new_status = tt_strategy_status_name(to);
    t->cur.status = to;
    t->cur.deleted |= t->op == OP_DELETE;
    if (t->op != OP_UPDATE && t->op != OP_ROLLBACK)
        return TT_OK;
    if (t->op == OP_ROLLBACK) {
        rc = l->ops->strategy->version_get(w, t->id, t->target, &t->from);
        if (rc == TT_ENOTFOUND)
            return tti_fail(rc, "strategy %s has no version %lld", t->id, (long long)t->target);
        if (rc != TT_OK)
            return store_rc(l, w, rc);
        t->yaml = t->from.content;
        t->yaml_len = t->from.content_len;
        memcpy(t->sha, t->from.sha256, sizeof t->sha);
    }
    t->new_version = t->cur.version + 1;
    t->cur.version = t->new_version;
    if ((rc = versioned_meta(t)) != TT_OK)
        return rc;
    t->ev.metadata = t->meta;
    return TT_OK;
}

static int op_after(void *ctx, tt_ledger *l, tti_store *w, const tt_append_result *res, size_t n)
{
    (void)n;
    op_tx *t = ctx;
    t->cur.updated_us = res[0].ts_us;
    int rc = l->ops->strategy->update(w, &t->cur);
    if (rc != TT_OK || (t->op != OP_UPDATE && t->op != OP_ROLLBACK))
        return store_rc(l, w, rc);
    tt_strategy_version v = {.strategy_id = (char *)t->id,
                             .number = t->new_version,
                             .content = (char *)t->yaml,
                             .content_len = t->yaml_len,
                             .change_type = t->op == OP_UPDATE ? "MANUAL_EDIT" : "ROLLBACK",
                             .author = (char *)t->actor,
                             .reason = (char *)t->reason,
                             .created_us = res[0].ts_us,
                             .seq = res[0].seq};
    memcpy(v.sha256, t->sha, sizeof v.sha256);
    return store_rc(l, w, l->ops->strategy->version_insert(w, &v));
}

static int run_op(tt_ledger *l, op_tx *t, tt_append_result *res)
{
    if (l == NULL)
        return tti_fail(TT_EMISUSE, "tt_strategy: NULL ledger");
    int rc = check_id("id", t->id);
    if (rc != TT_OK)
        return rc;
    init_event(&t->ev, t->id, rules[t->op].event_type, t->actor, t->reason);
    static const tti_tx_hooks hooks = {.before = op_before, .after = op_after};
    tt_append_result r;
    rc = tti_ledger_append_tx(l, &t->ev, 1, &hooks, t, &r);
    tti_strategy_clear(&t->cur);
    tti_strategy_version_clear(&t->from);
    tt_free(t->meta);
    if (rc == TT_OK && res != NULL)
        *res = r;
    return rc;
}

static int simple_op(tt_ledger *l, enum op op, const char *id, const char *actor,
                     const char *reason, tt_append_result *res)
{
    op_tx t = {.op = op, .id = id, .actor = actor, .reason = reason};
    return run_op(l, &t, res);
}

int tt_strategy_submit(tt_ledger *l, const char *id, const char *actor, const char *reason,
                       tt_append_result *res)
{
    return simple_op(l, OP_SUBMIT, id, actor, reason, res);
}

int tt_strategy_activate(tt_ledger *l, const char *id, const char *actor, const char *reason,
                         tt_append_result *res)
{
    return simple_op(l, OP_ACTIVATE, id, actor, reason, res);
}

int tt_strategy_fail(tt_ledger *l, const char *id, const char *actor, const char *reason,
                     tt_append_result *res)
{
    return simple_op(l, OP_FAIL, id, actor, reason, res);
}

int tt_strategy_close(tt_ledger *l, const char *id, const char *actor, const char *reason,
                      tt_append_result *res)
{
    return simple_op(l, OP_CLOSE, id, actor, reason, res);
}

int tt_strategy_archive(tt_ledger *l, const char *id, const char *actor, const char *reason,
                        tt_append_result *res)
{
    return simple_op(l, OP_ARCHIVE, id, actor, reason, res);
}

int tt_strategy_delete(tt_ledger *l, const char *id, const char *actor, const char *reason,
                       tt_append_result *res)
{
    return simple_op(l, OP_DELETE, id, actor, reason, res);
}

int tt_strategy_set_status(tt_ledger *l, const char *id, tt_strategy_status status,
                           const char *actor, const char *reason, tt_append_result *res)
{
    if (tt_strategy_status_name(status) == NULL)
        return tti_fail(TT_EINVAL, "status: unknown value %d", (int)status);
    op_tx t = {.op = OP_SET, .id = id, .actor = actor, .reason = reason, .given = status};
    return run_op(l, &t, res);
}

int tt_strategy_update_yaml(tt_ledger *l, const char *id, const char *yaml, size_t yaml_len,
                            const char *actor, const char *reason, int64_t *version_out,
                            tt_append_result *res)
{
    int rc = check_yaml(yaml, yaml_len);
    if (rc != TT_OK)
        return rc;
    op_tx t = {.op = OP_UPDATE,
               .id = id,
               .actor = actor,
               .reason = reason,
               .yaml = yaml,
               .yaml_len = yaml_len};
    sha256_hex(yaml, yaml_len, t.sha);
    rc = run_op(l, &t, res);
    if (rc == TT_OK && version_out != NULL)
        *version_out = t.new_version;
    return rc;
}

int tt_strategy_rollback(tt_ledger *l, const char *id, int64_t target, const char *actor,
                         const char *reason, int64_t *version_out, tt_append_result *res)
{
    if (target < 1)
        return tti_fail(TT_EINVAL, "version: must be a positive integer (got %lld)",
                        (long long)target);
    op_tx t = {.op = OP_ROLLBACK, .id = id, .actor = actor, .reason = reason, .target = target};
    int rc = run_op(l, &t, res);
    if (rc == TT_OK && version_out != NULL)
        *version_out = t.new_version;
    return rc;
}

/* ---- swap ----------------------------------------------------------------------------- */

typedef struct swap_tx {
    const tt_strategy_swap_spec *spec;
    tt_strategy old_s, new_s;
    tt_event ev[2];
} swap_tx;

static int swap_before(void *ctx, tt_ledger *l, tti_store *w)
{
    swap_tx *t = ctx;
    int rc = load(l, w, t->spec->old_id, &t->old_s);
    if (rc == TT_OK)
        rc = load(l, w, t->spec->new_id, &t->new_s);
    if (rc != TT_OK)
        return rc;
    static const rule out_rule = {.from = M(TT_STRATEGY_ACTIVE), .needs = "ACTIVE"};
    static const rule in_rule = {.from = M(TT_STRATEGY_PENDING), .needs = "PENDING"};
    if ((rc = check_allowed(&out_rule, &t->old_s, "swapping it out")) != TT_OK ||
        (rc = check_allowed(&in_rule, &t->new_s, "swapping it in")) != TT_OK)
        return rc;
    t->old_s.status = TT_STRATEGY_CLOSED;
    t->new_s.status = TT_STRATEGY_ACTIVE;
    return TT_OK;
}

static int swap_after(void *ctx, tt_ledger *l, tti_store *w, const tt_append_result *res, size_t n)
{
    (void)n;
    swap_tx *t = ctx;
    t->old_s.updated_us = res[0].ts_us;
    t->new_s.updated_us = res[1].ts_us;
    int rc = l->ops->strategy->update(w, &t->old_s);
    if (rc == TT_OK)
        rc = l->ops->strategy->update(w, &t->new_s);
    return store_rc(l, w, rc);
}

static int swap_meta(const tt_strategy_swap_spec *sp, int out_side, char **meta)
{
    const char *why = sp->swap_reason ? sp->swap_reason : sp->reason ? sp->reason : "manual";
    tti_buf b;
    tti_buf_init(&b, TT_MAX_METADATA);
    tti_buf_adds(&b, "{\"swapReason\":");
    tti_buf_json_str(&b, why);
    tti_buf_adds(&b, out_side ? ",\"newStrategyId\":" : ",\"replacedStrategyId\":");
    tti_buf_json_str(&b, out_side ? sp->new_id : sp->old_id);
    if (out_side ? sp->has_old_score : sp->has_new_score)
        tti_buf_printf(&b, ",\"evaluationScore\":%.17g", out_side ? sp->old_score : sp->new_score);
    tti_buf_adds(&b, "}");
    int rc = finish_meta(&b, meta);
    tti_buf_free(&b);
    return rc;
}

int tt_strategy_swap(tt_ledger *l, const tt_strategy_swap_spec *spec, tt_append_result res[2])
{
    if (l == NULL || spec == NULL)
        return tti_fail(TT_EMISUSE, "tt_strategy_swap: NULL argument");
    int rc;
    if ((rc = check_id("old_id", spec->old_id)) != TT_OK ||
        (rc = check_id("new_id", spec->new_id)) != TT_OK)
        return rc;
    if (strcmp(spec->old_id, spec->new_id) == 0)
        return tti_fail(TT_EINVAL, "old_id and new_id must differ (both \"%s\")", spec->old_id);
    if ((spec->has_old_score && !isfinite(spec->old_score)) ||
        (spec->has_new_score && !isfinite(spec->new_score)))
        return tti_fail(TT_EINVAL, "old_score, new_score: must be finite numbers");
    if (spec->swap_reason != NULL &&
        (rc = check_text("swap_reason", spec->swap_reason, 256)) != TT_OK)
        return rc;
    swap_tx t = {.spec = spec};
    char *meta_out = NULL, *meta_in = NULL;
    if ((rc = swap_meta(spec, 1, &meta_out)) != TT_OK ||
        (rc = swap_meta(spec, 0, &meta_in)) != TT_OK) {
        tt_free(meta_out);
        return rc;
    }
    init_event(&t.ev[0], spec->old_id, "SWAPPED_OUT", spec->actor, spec->reason);
    t.ev[0].old_status = "ACTIVE";
    t.ev[0].new_status = "CLOSED";
    t.ev[0].metadata = meta_out;
    init_event(&t.ev[1], spec->new_id, "SWAPPED_IN", spec->actor, spec->reason);
    t.ev[1].old_status = "PENDING";
    t.ev[1].new_status = "ACTIVE";
    t.ev[1].metadata = meta_in;
    static const tti_tx_hooks hooks = {.before = swap_before, .after = swap_after};
    tt_append_result r[2];
    rc = tti_ledger_append_tx(l, t.ev, 2, &hooks, &t, r);
    tti_strategy_clear(&t.old_s);
    tti_strategy_clear(&t.new_s);
    tt_free(meta_out);
    tt_free(meta_in);
    if (rc == TT_OK && res != NULL)
        memcpy(res, r, sizeof r);
    return rc;
}

/* ---- reads ---------------------------------------------------------------------------- */

int tt_strategy_get(tt_ledger *l, const char *id, tt_strategy **out)
{
    int rc = check_id("id", id);
    if (rc != TT_OK)
        return rc;
    tt_strategy *st = calloc(1, sizeof *st);
    if (st == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    tti_store *s;
    if ((rc = tti_reader_get(l, &s)) != TT_OK) {
        free(st);
        return rc;
    }
    rc = l->ops->strategy->get(s, id, st);
    if (rc == TT_ENOTFOUND)
        tti_fail(rc, "no strategy %s", id);
    else if (rc != TT_OK)
        tti_store_fail(l, s, rc);
    tti_reader_put(l, s);
    if (rc != TT_OK) {
        free(st);
        return rc;
    }
    *out = st;
    return TT_OK;
}

int tt_strategy_list(tt_ledger *l, const tt_strategy_filter *f, tt_strategy **out, size_t *n)
{
    tt_strategy_filter q = {0};
    if (f != NULL)
        q = *f;
    tt_strategy_status st;
    int rc;
    if (q.status != NULL && (rc = tt_strategy_status_parse(q.status, &st)) != TT_OK)
        return rc;
    if (q.limit == 0)
        q.limit = 1000;
    if (q.limit > TT_MAX_QUERY_LIMIT)
        return tti_fail(TT_EINVAL, "limit: must be 1 to %d", TT_MAX_QUERY_LIMIT);
    tti_store *s;
    if ((rc = tti_reader_get(l, &s)) != TT_OK)
        return rc;
    rc = l->ops->strategy->list(s, &q, out, n);
    if (rc != TT_OK)
        tti_store_fail(l, s, rc);
    tti_reader_put(l, s);
    return rc;
}

int tt_strategy_versions(tt_ledger *l, const char *id, tt_strategy_version **out, size_t *n)
{
    int rc = check_id("id", id);
    if (rc != TT_OK)
        return rc;
    tti_store *s;
    if ((rc = tti_reader_get(l, &s)) != TT_OK)
        return rc;
    /* One snapshot: the strategy and its versions as of the same commit. */
    tt_strategy cur;
    if ((rc = l->ops->begin_read(s)) != TT_OK) {
        rc = tti_store_fail(l, s, rc);
    } else {
        rc = l->ops->strategy->get(s, id, &cur);
        if (rc == TT_OK) {
            tti_strategy_clear(&cur);
            rc = l->ops->strategy->version_list(s, id, out, n);
            if (rc != TT_OK)
                tti_store_fail(l, s, rc);
        } else if (rc == TT_ENOTFOUND) {
            tti_fail(rc, "no strategy %s", id);
        } else {
            tti_store_fail(l, s, rc);
        }
        l->ops->rollback(s);
    }
    tti_reader_put(l, s);
    return rc;
}

int tt_strategy_version_get(tt_ledger *l, const char *id, int64_t number, tt_strategy_version **out)
{
    int rc = check_id("id", id);
    if (rc != TT_OK)
        return rc;
    tt_strategy_version *v = calloc(1, sizeof *v);
    if (v == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    tti_store *s;
    if ((rc = tti_reader_get(l, &s)) != TT_OK) {
        free(v);
        return rc;
    }
    rc = l->ops->strategy->version_get(s, id, number, v);
    if (rc == TT_ENOTFOUND)
        tti_fail(rc, "strategy %s has no version %lld", id, (long long)number);
    else if (rc != TT_OK)
        tti_store_fail(l, s, rc);
    tti_reader_put(l, s);
    if (rc != TT_OK) {
        free(v);
        return rc;
    }
    *out = v;
    return TT_OK;
}

int tt_strategy_diff(tt_ledger *l, const char *id, int64_t from, int64_t to, char **out)
{
    tt_strategy_version *a = NULL, *b = NULL;
    int rc = tt_strategy_version_get(l, id, from, &a);
    if (rc == TT_OK)
        rc = tt_strategy_version_get(l, id, to, &b);
    if (rc == TT_OK) {
        char la[TT_MAX_STRATEGY_ID + 24], lb[TT_MAX_STRATEGY_ID + 24];
        snprintf(la, sizeof la, "%s/v%lld", id, (long long)from);
        snprintf(lb, sizeof lb, "%s/v%lld", id, (long long)to);
        rc = tti_diff_unified(a->content, a->content_len, b->content, b->content_len, la, lb, 3,
                              out);
        if (rc != TT_OK)
            tti_fail(rc, "out of memory computing a diff");
    }
    tt_strategy_version_free(a);
    tt_strategy_version_free(b);
    return rc;
}
