/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The freqtrade webhook adapter (SPEC 15, POST /api/adapters/freqtrade): freqtrade fills
 * the body the user configured for each message type with str.format, so every value
 * arrives as a string ("0.01", "None", "2026-01-18 10:31:00+00:00"). This file reads such
 * a body, checks it against the fields freqtrade's webhook documentation lists for the
 * message types, and turns it into one entity `trade` event (or a `bot` STATUS event),
 * written as an event object and parsed by the one event parser. docs/INTEGRATIONS.md
 * has the configuration the user pastes into freqtrade.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "domain/trade_events.h"
#include "tradetrail.h"
#include "util/codec.h"
#include "util/err.h"

#define WEBHOOK_MAX (64u << 10) /* a configured body is a few hundred bytes */

/* freqtrade's RPCMessageType values this adapter records, and the event type of each. */
static const struct msg_type {
    const char *name, *event_type;
    int trade; /* a trade message (trade_id required) rather than a bot status */
} types[] = {
    {"entry", "ENTRY", 1},   {"entry_fill", "ENTRY_FILL", 1}, {"entry_cancel", "ENTRY_CANCEL", 1},
    {"exit", "EXIT", 1},     {"exit_fill", "EXIT_FILL", 1},   {"exit_cancel", "EXIT_CANCEL", 1},
    {"status", "STATUS", 0}, {"startup", "STARTUP", 0},       {"warning", "WARNING", 0},
};

enum kind { K_STR, K_NUM, K_BOOL };

/* The placeholders freqtrade's webhook documentation lists for the entry and exit
 * messages (plus strategy and timeframe, which newer versions add, and the cancel
 * reason), each kept in metadata under its own name. */
static const struct field {
    const char *name;
    enum kind kind;
} fields[] = {
    {"exchange", K_STR},       {"pair", K_STR},           {"direction", K_STR},
    {"leverage", K_NUM},       {"amount", K_NUM},         {"open_rate", K_NUM},
    {"close_rate", K_NUM},     {"limit", K_NUM},          {"order_rate", K_NUM},
    {"current_rate", K_NUM},   {"stake_amount", K_NUM},   {"stake_currency", K_STR},
    {"base_currency", K_STR},  {"quote_currency", K_STR}, {"fiat_currency", K_STR},
    {"profit_amount", K_NUM},  {"profit_ratio", K_NUM},   {"cumulative_profit", K_NUM},
    {"gain", K_STR},           {"enter_tag", K_STR},      {"exit_reason", K_STR},
    {"order_type", K_STR},     {"open_date", K_STR},      {"close_date", K_STR},
    {"strategy", K_STR},       {"timeframe", K_STR},      {"sub_trade", K_BOOL},
    {"is_final_exit", K_BOOL}, {"reason", K_STR},
};

/* Members handled apart from the metadata fields. */
static const char *const special[] = {"type", "bot", "trade_id", "status", NULL};

/* A value str.format wrote for a missing one: Python's None, or nothing. */
static int absent(const json_t *v)
{
    if (json_is_null(v))
        return 1;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    return s != NULL && (s[0] == '\0' || strcmp(s, "None") == 0);
}

static int field_index(const char *name)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int is_special(const char *name)
{
    for (size_t i = 0; special[i] != NULL; i++)
        if (strcmp(special[i], name) == 0)
            return 1;
    return 0;
}

/* A string member, or NULL when absent; TT_EINVAL for another JSON type. */
static int get_str(const json_t *o, const char *name, const char **out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, name);
    *out = NULL;
    if (v == NULL || absent(v))
        return TT_OK;
    if (json_is_integer(v) && strcmp(name, "trade_id") == 0)
        return TT_OK; /* read as a number by the caller */
    if (!json_is_string(v))
        return tti_err(err, errlen, TT_EINVAL, "%s: must be a string", name);
    *out = json_string_value(v);
    return TT_OK;
}

/* A number given as freqtrade writes it (a string) or as a JSON number; NaN when absent
 * or "nan" (Python's text of a missing rate). */
static int get_num(const json_t *v, const char *name, double *out, char *err, size_t errlen)
{
    *out = NAN;
    if (absent(v))
        return TT_OK;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return TT_OK;
    }
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (s == NULL)
        return tti_err(err, errlen, TT_EINVAL, "%s: must be a number or a numeric string", name);
    if (strcasecmp(s, "nan") == 0)
        return TT_OK;
    char *end;
    double d = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(d))
        return tti_err(err, errlen, TT_EINVAL, "%s: \"%.40s\" is not a finite number", name, s);
    *out = d;
    return TT_OK;
}

static int get_bool(const json_t *v, const char *name, int *out, char *err, size_t errlen)
{
    *out = -1;
    if (absent(v))
        return TT_OK;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return TT_OK;
    }
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    if (strcmp(s, "True") == 0 || strcmp(s, "true") == 0)
        *out = 1;
    else if (strcmp(s, "False") == 0 || strcmp(s, "false") == 0)
        *out = 0;
    else
        return tti_err(err, errlen, TT_EINVAL, "%s: must be True or False", name);
    return TT_OK;
}

/* Every member must be one this adapter knows: a typo in the pasted configuration is
 * reported rather than silently dropped. */
static int check_members(const json_t *o, char *err, size_t errlen)
{
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)o, name, v)
    {
        if (!is_special(name) && field_index(name) < 0)
            return tti_err(err, errlen, TT_EINVAL,
                           "unknown field \"%.64s\" (see docs/INTEGRATIONS.md for the fields "
                           "of each message type)",
                           name);
        if (json_is_object(v) || json_is_array(v))
            return tti_err(err, errlen, TT_EINVAL, "%.64s: must be a string, not %s", name,
                           json_is_object(v) ? "an object" : "an array");
    }
    return TT_OK;
}

static const struct msg_type *find_type(const char *name)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}

/* The metadata members, in the table's order so the same payload always gives the same
 * bytes (its idempotency key depends on them). */
static int put_fields(tti_tev *t, const json_t *o, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const json_t *v = json_object_get(o, fields[i].name);
        if (v == NULL)
            continue;
        int rc = TT_OK;
        if (fields[i].kind == K_NUM) {
            double d;
            if ((rc = get_num(v, fields[i].name, &d, err, errlen)) == TT_OK && !isnan(d))
                tti_tev_num(t, fields[i].name, d);
        } else if (fields[i].kind == K_BOOL) {
            int x;
            if ((rc = get_bool(v, fields[i].name, &x, err, errlen)) == TT_OK && x >= 0)
                tti_tev_bool(t, fields[i].name, x);
        } else {
            const char *s;
            if ((rc = get_str(o, fields[i].name, &s, err, errlen)) == TT_OK)
                tti_tev_str(t, fields[i].name, s);
        }
        if (rc != TT_OK)
            return rc;
    }
    return TT_OK;
}

/* A one-line reason a reader of the timeline understands without the metadata. */
static void reason_text(char *out, size_t n, const struct msg_type *mt, const json_t *o)
{
    const char *pair = json_string_value(json_object_get(o, "pair"));
    const char *dir = json_string_value(json_object_get(o, "direction"));
    const char *why = json_string_value(json_object_get(o, "exit_reason"));
    const char *cancel = json_string_value(json_object_get(o, "reason"));
    if (why == NULL || strcmp(why, "None") == 0)
        why = cancel;
    if (why != NULL && strcmp(why, "None") == 0)
        why = NULL;
    snprintf(out, n, "freqtrade %s %s%s%s%s%s", mt->name, pair ? pair : "", dir ? " " : "",
             dir ? dir : "", why ? ": " : "", why ? why : "");
}

/* The event object for one webhook body, with the idempotency key of a trade message:
 * freqtrade resends the same body when an answer is not 2xx (webhook.retries), and the
 * same body must then name the same event. */
static int build(const json_t *o, tti_buf *b, char *err, size_t errlen)
{
    const char *type, *bot, *status, *trade_s;
    int rc = get_str(o, "type", &type, err, errlen);
    if (rc == TT_OK)
        rc = get_str(o, "bot", &bot, err, errlen);
    if (rc == TT_OK)
        rc = get_str(o, "status", &status, err, errlen);
    if (rc == TT_OK)
        rc = get_str(o, "trade_id", &trade_s, err, errlen);
    if (rc != TT_OK)
        return rc;
    if (type == NULL)
        return tti_err(err, errlen, TT_EINVAL,
                       "type: required (entry, entry_fill, entry_cancel, exit, exit_fill, "
                       "exit_cancel or status); set it in each message body of freqtrade's "
                       "webhook configuration");
    const struct msg_type *mt = find_type(type);
    if (mt == NULL)
        return tti_err(err, errlen, TT_EINVAL,
                       "type: \"%.40s\" is not a freqtrade message type this adapter records "
                       "(entry, entry_fill, entry_cancel, exit, exit_fill, exit_cancel, "
                       "status, startup, warning)",
                       type);
    const char *actor = bot != NULL ? bot : "freqtrade";
    char reason[512], trade_id[32];
    const json_t *tid = json_object_get(o, "trade_id");
    if (json_is_integer(tid)) {
        snprintf(trade_id, sizeof trade_id, "%lld", (long long)json_integer_value(tid));
        trade_s = trade_id;
    }
    tti_tev t;
    if (mt->trade) {
        if (trade_s == NULL)
            return tti_err(err, errlen, TT_EINVAL,
                           "trade_id: required for a %s message (\"trade_id\": \"{trade_id}\")",
                           mt->name);
        reason_text(reason, sizeof reason, mt, o);
        tti_tev_begin(&t, b, "trade", trade_s, mt->event_type, actor, reason, TT_TIME_NONE);
    } else {
        if (status == NULL)
            return tti_err(err, errlen, TT_EINVAL,
                           "status: required for a %s message (\"status\": \"{status}\")",
                           mt->name);
        tti_tev_begin(&t, b, "bot", actor, mt->event_type, actor, status, TT_TIME_NONE);
    }
    tti_tev_str(&t, "source", "freqtrade");
    if (bot != NULL)
        tti_tev_str(&t, "bot", bot);
    if ((rc = put_fields(&t, o, err, errlen)) != TT_OK)
        return rc;
    if (!mt->trade) {
        tti_tev_end(&t, NULL); /* "running" twice is two statuses, not a retry */
        return TT_OK;
    }
    /* The key names the content: SHA-256 of the event object written so far. */
    uint8_t h[32];
    char key[3 + 64 + 1] = "ft:";
    tti_tev_end(&t, NULL);
    if (b->failed)
        return tti_err(err, errlen, TT_ENOMEM, "out of memory");
    tti_sha256((const uint8_t *)b->data, b->len, NULL, 0, NULL, 0, h);
    tti_hex_encode(h, sizeof h, key + 3);
    /* Reopen the object to add the key: drop the closing "}\n". */
    b->len -= 2;
    b->data[b->len] = '\0';
    tti_buf_adds(b, ",\"idempotency_key\":");
    tti_buf_json_str(b, key);
    tti_buf_adds(b, "}\n");
    return TT_OK;
}

int tt_freqtrade_parse_webhook(const char *body, size_t len, tt_event **events, size_t *n,
                               void **owner, char *err, size_t errlen)
{
    if (len > WEBHOOK_MAX)
        return tti_err(err, errlen, TT_ETOOBIG, "a freqtrade webhook body is at most %u bytes",
                       WEBHOOK_MAX);
    json_error_t je;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL)
        return tti_err(err, errlen, TT_EPARSE,
                       "invalid JSON at line %d, column %d: %s (set \"format\": \"json\" in "
                       "freqtrade's webhook configuration)",
                       je.line, je.column, je.text);
    int rc;
    tti_buf b;
    tti_buf_init(&b, WEBHOOK_MAX + TT_MAX_REASON + 1024);
    if (!json_is_object(o))
        rc = tti_err(err, errlen, TT_EINVAL, "the body must be a JSON object");
    else if ((rc = check_members(o, err, errlen)) == TT_OK)
        rc = build(o, &b, err, errlen);
    json_decref(o);
    if (rc == TT_OK && b.failed)
        rc = tti_err(err, errlen, TT_ETOOBIG, "the event built from the body is too large");
    int is_batch;
    if (rc == TT_OK)
        rc = tt_events_parse_body(b.data, b.len, 0, events, n, owner, &is_batch, err, errlen);
    tti_buf_free(&b);
    return rc;
}
