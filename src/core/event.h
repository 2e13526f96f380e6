/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helpers of the event model: metadata normalisation and UTF-8 checks shared by
 * validation, JSON mapping and the CLI. */
#ifndef TT_CORE_EVENT_H
#define TT_CORE_EVENT_H

#include "tradetrail.h"

#include <stddef.h>
#include <stdint.h>

/* Leaf encoding version byte (docs/FORMAT.md). */
#define TTI_LEAF_VERSION 0x01

/*
 * Normalise metadata JSON text: must be a JSON object, no duplicate keys, valid UTF-8,
 * at most TT_MAX_METADATA bytes once serialised compactly (key order kept). *out is a new
 * NUL-terminated string freed with tt_free(). TT_EINVAL / TT_ETOOBIG / TT_EPARSE with a
 * message in err naming the field "metadata".
 */
int tti_metadata_normalize(const char *in, size_t len, char **out, char *err, size_t errlen);

/* 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int tti_utf8_valid(const char *s, size_t len);

/* Number of code points of a valid UTF-8 string. */
size_t tti_utf8_count(const char *s, size_t len);

/* Write ev's leaf bytes (docs/FORMAT.md) into buf when they fit in cap; *len is their
 * size either way (0 when they cannot be measured). TT_ETOOBIG when they do not fit (grow
 * buf to *len and call again), TT_EINVAL when a required field is missing. */
int tti_event_leaf_encode(const tt_event *ev, uint8_t *buf, size_t cap, size_t *len);

/* Deep-copy an event's strings into one allocation; *out freed with tt_event_free(). */
int tti_event_clone(const tt_event *in, tt_event **out);

#endif
