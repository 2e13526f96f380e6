/* SPDX-License-Identifier: Apache-2.0 */
/* Writing entity `trade` events as JSON event objects (SPEC 15): the freqtrade webhook
 * adapter and the freqtrade and hummingbot imports build the same shape, which then goes
 * through the one event parser (tt_events_parse_body), so every rule of SPEC 3.1 is
 * checked where it always is. */
#ifndef TT_DOMAIN_TRADE_EVENTS_H
#define TT_DOMAIN_TRADE_EVENTS_H

#include <stdint.h>

#include "util/buf.h"

/* One event object under construction in b: the fixed fields, then metadata members. */
typedef struct tti_tev {
    tti_buf *b;
    int first; /* no metadata member written yet */
} tti_tev;

/* Open {"entity":...,"entity_id":...,"event_type":...,"actor":...,"reason":...,
 * ["occurred_at":...,] "metadata":{ ; reason may be NULL, occurred_us TT_TIME_NONE. */
void tti_tev_begin(tti_tev *t, tti_buf *b, const char *entity, const char *entity_id,
                   const char *event_type, const char *actor, const char *reason,
                   int64_t occurred_us);
/* A metadata member: a string (skipped when NULL), a number, a boolean. */
void tti_tev_str(tti_tev *t, const char *key, const char *value);
void tti_tev_num(tti_tev *t, const char *key, double value);
void tti_tev_bool(tti_tev *t, const char *key, int value);
/* Close metadata and the object, with the idempotency key when not NULL, and a newline
 * (an NDJSON line). */
void tti_tev_end(tti_tev *t, const char *idempotency_key);

#endif
