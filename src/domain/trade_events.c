/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON event objects of entity `trade` (SPEC 15), written through the one JSON writer
 * for the freqtrade webhook adapter and the trading-bot imports. */
#include "domain/trade_events.h"

#include "tradetrail.h"

static void member(tti_buf *b, const char *key, const char *value)
{
    tti_buf_adds(b, ",");
    tti_buf_json_str(b, key);
    tti_buf_adds(b, ":");
    tti_buf_json_str(b, value);
}

void tti_tev_begin(tti_tev *t, tti_buf *b, const char *entity, const char *entity_id,
                   const char *event_type, const char *actor, const char *reason,
                   int64_t occurred_us)
{
    t->b = b;
    t->first = 1;
    tti_buf_adds(b, "{\"entity\":");
    tti_buf_json_str(b, entity);
    member(b, "entity_id", entity_id);
    member(b, "event_type", event_type);
    member(b, "actor", actor);
    if (reason != NULL)
        member(b, "reason", reason);
    if (occurred_us != TT_TIME_NONE) {
        char ts[TT_TS_LEN + 1];
        tt_time_format(occurred_us, ts);
        member(b, "occurred_at", ts);
    }
    tti_buf_adds(b, ",\"metadata\":{");
}

static void key(tti_tev *t, const char *name)
{
    if (!t->first)
        tti_buf_adds(t->b, ",");
    t->first = 0;
    tti_buf_json_str(t->b, name);
    tti_buf_adds(t->b, ":");
}

void tti_tev_str(tti_tev *t, const char *name, const char *value)
{
    if (value == NULL)
        return;
    key(t, name);
    tti_buf_json_str(t->b, value);
}

void tti_tev_num(tti_tev *t, const char *name, double value)
{
    key(t, name);
    tti_buf_json_real(t->b, value);
}

void tti_tev_bool(tti_tev *t, const char *name, int value)
{
    key(t, name);
    tti_buf_adds(t->b, value ? "true" : "false");
}

void tti_tev_end(tti_tev *t, const char *idempotency_key)
{
    tti_buf_adds(t->b, "}");
    if (idempotency_key != NULL)
        member(t->b, "idempotency_key", idempotency_key);
    tti_buf_adds(t->b, "}\n");
}
