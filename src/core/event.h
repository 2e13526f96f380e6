/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helpers of the event model: the one check of SPEC 3.1, metadata normalisation,
 * leaf bytes, and the parsed bodies whose events the ledger need not check again. */
#ifndef TT_CORE_EVENT_H
#define TT_CORE_EVENT_H

#include "tradetrail.h"

#include <stddef.h>
#include <stdint.h>

#include "util/utf8.h"

/* Leaf encoding version bytes (docs/FORMAT.md): 2 records the principal; 1 is how events
 * appended before that were hashed, and still verifies; 3 is used only by events that carry
 * a producer. */
#define TTI_LEAF_VERSION 0x02
#define TTI_LEAF_VERSION_1 0x01
#define TTI_LEAF_VERSION_3 0x03 /* version 2 plus producer and producer_seq (SPEC 15) */

/* tti_event_check: metadata is the normaliser's own output (the event parser's), so only
 * its size is checked, not its form. */
#define TTI_CHECK_META_NORMAL 1u

/* The checks of SPEC 3.1 (docs/FORMAT.md section 1), the only ones: tt_event_validate is
 * tti_event_check(ev, 0, ...). TT_EINVAL with a message naming the field and the rule. */
int tti_event_check(const tt_event *ev, unsigned flags, char *err, size_t errlen);

/* The rule for a principal (SPEC 3.1): 1..TT_MAX_PRINCIPAL bytes of printable UTF-8. */
int tti_principal_check(const char *p, char *err, size_t errlen);

/* events[i] as tt_events_parse_body checked it (and put in normal form), when owner is the
 * body it returned with events; else NULL. */
const tt_event *tti_body_checked(const void *owner, const tt_event *events, size_t n, size_t i);

/* tti_event_check for an event that was checked as `checked` and may have been changed
 * since: only the members whose value changed (a string replaced is a new pointer, as when
 * the Idempotency-Key header names the key) are checked, each once; checked NULL checks
 * everything. */
int tti_event_check_changes(const tt_event *ev, const tt_event *checked, char *err, size_t errlen);

/*
 * Normalise metadata JSON text: must be a JSON object, no duplicate keys, valid UTF-8,
 * at most TT_MAX_METADATA bytes once serialised compactly (key order kept), the values of
 * the keys in the redaction set replaced by "[redacted]" (SPEC 15, core/redact.c). *out is a new
 * NUL-terminated string freed with tt_free(). TT_EINVAL / TT_EPARSE with a
 * message in err naming the field "metadata".
 */
int tti_metadata_normalize(const char *in, size_t len, char **out, char *err, size_t errlen);

/* 1 when in[0..len) is shown, in one pass, to be its own normal form (the normaliser would
 * give it back unchanged); 0 when it is not shown, which says nothing either way: then only
 * tti_metadata_normalize decides (core/meta_normal.c). */
int tti_metadata_is_normal(const char *in, size_t len);
/* The length of the metadata object at in that is shown to be in normal form, followed by
 * whatever else (0: none is shown). */
size_t tti_metadata_normal_span(const char *in, size_t len);
/* The length of the JSON string at p (quotes included) when it holds only printable ASCII
 * without escapes, so that its bytes are its value; 0 otherwise. */
size_t tti_json_plain_string(const char *p, const char *end);
/* tti_metadata_normalize without that shortcut: always parsed and written again. */
int tti_metadata_normalize_parsed(const char *in, size_t len, char **out, char *err, size_t errlen);

/* More values than this cannot normalise into TT_MAX_METADATA bytes: a value takes at least
 * one byte and, but for the outermost object, a separator or its container's closing
 * bracket, so n values take at least 2n - 1 bytes. Refusing them before jansson builds a
 * node for each (some 40 bytes of tree per "0,") keeps memory to a few times the input. */
#define TTI_META_MAX_VALUES (TT_MAX_METADATA / 2)

/* The integer member key of stored (normalised) metadata: TT_OK, TT_ENOTFOUND when there is
 * no metadata or no such member, TT_EINVAL when it is not an integer. */
int tti_metadata_get_int(const char *meta, const char *key, int64_t *out);

/* base's object with patch's members (but skip) set over it, in normal form, into *out
 * (tt_free); *out NULL when both are absent or patch holds only skip. TT_EINVAL when either
 * is not a JSON object. For showing the corrected view (SPEC 15), never for hashing. */
int tti_metadata_overlay(const char *base, const char *patch, const char *skip, char **out);

/* The normal form of metadata that was already stored, without redaction (SPEC 15 applies
 * on the way in only): what verifying an export recomputes, whatever redact_keys says now. */
int tti_metadata_renormalize(const char *in, size_t len, char **out, char *err, size_t errlen);

/* Parse the event object at s->p ('{'), leaving s->p after it: scanned for the limits of
 * SPEC 3.1 first, then parsed and checked once (tt_event_parse_json's rules). With to_end,
 * only whitespace may follow it. */
struct tti_jscan;
int tti_event_parse_at(struct tti_jscan *s, int to_end, tt_event *out, void **owner, char *err,
                       size_t errlen);

/* Write ev's leaf bytes (docs/FORMAT.md) into buf when they fit in cap; *len is their
 * size either way (0 when they cannot be measured). TT_ETOOBIG when they do not fit (grow
 * buf to *len and call again), TT_EINVAL when a required field is missing. */
int tti_event_leaf_encode(const tt_event *ev, uint8_t *buf, size_t cap, size_t *len);

/* The event whose leaf bytes these are (docs/FORMAT.md section 2), leaf_hash computed;
 * strings copied with it into one allocation freed with tt_event_free(). TT_EPARSE for
 * bytes that are not a leaf of a known version (trailing bytes, a NUL in a string),
 * TT_ENOMEM. The fields are not checked against SPEC 3.1: the leaf hash is what vouches. */
int tti_event_leaf_decode(const uint8_t *leaf, size_t len, tt_event **out);

/* Deep-copy an event's strings into one allocation; *out freed with tt_event_free(). */
int tti_event_clone(const tt_event *in, tt_event **out);

#endif
