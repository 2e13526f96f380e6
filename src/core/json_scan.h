/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A JSON scanner over raw bytes that allocates nothing: it checks syntax (RFC 8259), counts
 * values and bounds nesting, so that the event parser can refuse what is over a limit of
 * SPEC 3.1 before jansson builds a tree of it, and find the elements of a batch without
 * building the batch.
 */
#ifndef TT_CORE_JSON_SCAN_H
#define TT_CORE_JSON_SCAN_H

#include <stddef.h>

/* The deepest nesting the scanner can follow; a scan's max_depth is at most this. */
#define TTI_JSCAN_DEPTH 256

typedef struct tti_jscan {
    const char *base; /* the start of the text, for line and column */
    const char *p;    /* the next byte to read */
    const char *end;
    size_t values;      /* values scanned so far (members' keys are not values) */
    size_t max_values;  /* more is TT_ETOOBIG */
    unsigned max_depth; /* deeper nesting is TT_EINVAL; 0 allows scalars only */
    const char *what;   /* why the last scan stopped, for a message */
} tti_jscan;

/* Scan text[0..len) with no value limit and the deepest nesting the scanner follows. */
void tti_jscan_init(tti_jscan *s, const char *text, size_t len);

/* Skip JSON whitespace. */
void tti_jscan_ws(tti_jscan *s);

/* Skip one value at s->p (no whitespace before it), checking its syntax. TT_OK with s->p
 * after it; TT_EPARSE for a syntax error, TT_ETOOBIG when s->values passes max_values,
 * TT_EINVAL when nesting passes max_depth: s->p at the fault, s->what saying what. */
int tti_jscan_value(tti_jscan *s);

/* Skip one string at s->p (the opening quote), checking its escapes. */
int tti_jscan_string(tti_jscan *s);

/* 1-based line and column of s->p, counted in bytes from s->base. */
void tti_jscan_pos(const tti_jscan *s, int *line, int *col);

/* 1 when text[0..len) is exactly one JSON object, and valid UTF-8. */
int tti_json_is_object(const char *text, size_t len);

#endif
