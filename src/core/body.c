/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request bodies of POST /api/events and NDJSON streams: one event object, a JSON array of
 * them, or one object per line, parsed and checked completely before anything is written.
 * An array is walked element by element with the allocation-free scanner, so each event is
 * parsed once, on its own, and no tree of the whole batch is ever built. The body remembers
 * its events as checked, so the ledger need not check them again (tti_body_checked).
 */
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/json_scan.h"
#include "util/err.h"

#define BODY_MAGIC 0x74746264u /* "ttbd": an owner made by tt_events_parse_body */

typedef struct body {
    unsigned magic;
    size_t n, cap;
    tt_event *events;  /* handed to the caller */
    tt_event *checked; /* the same events as checked, to notice a caller's change */
    void **blocks;     /* each event's strings */
} body;

static void body_free(body *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->blocks[i]);
    free(b->events);
    free(b->checked);
    free(b->blocks);
    b->magic = 0;
    free(b);
}

static int body_grow(body *b, char *err, size_t errlen)
{
    if (b->n == TT_MAX_BATCH)
        return tti_err(err, errlen, TT_ETOOBIG, "a batch holds at most %d events", TT_MAX_BATCH);
    if (b->n < b->cap)
        return TT_OK;
    size_t cap = b->cap ? b->cap * 2 : 16;
    tt_event *ev = realloc(b->events, cap * sizeof *ev);
    if (ev != NULL)
        b->events = ev;
    tt_event *ck = ev != NULL ? realloc(b->checked, cap * sizeof *ck) : NULL;
    if (ck != NULL)
        b->checked = ck;
    void **bl = ck != NULL ? realloc(b->blocks, cap * sizeof *bl) : NULL;
    if (bl == NULL)
        return tti_err(err, errlen, TT_ENOMEM, "out of memory");
    b->blocks = bl;
    b->cap = cap;
    return TT_OK;
}

static void body_keep(body *b, const tt_event *ev, void *block)
{
    b->events[b->n] = *ev;
    b->checked[b->n] = *ev;
    b->blocks[b->n] = block;
    b->n++;
}

/* One event object given as its own text: the single-event body and an NDJSON line. */
static int add_text(body *b, const char *text, size_t len, const char *where, size_t index,
                    char *err, size_t errlen)
{
    char msg[400];
    tt_event ev;
    void *block;
    int rc = body_grow(b, err, errlen);
    if (rc != TT_OK)
        return rc;
    if ((rc = tt_event_parse_json(text, len, &ev, &block, msg, sizeof msg)) != TT_OK)
        return tti_err(err, errlen, rc, "%s %zu: %s", where, index, msg);
    body_keep(b, &ev, block);
    return TT_OK;
}

static int parse_ndjson(body *b, const char *text, size_t len, char *err, size_t errlen)
{
    size_t line = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        line++;
        size_t n = (size_t)(stop - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        int blank = 1;
        for (size_t i = 0; i < n && blank; i++)
            blank = p[i] == ' ' || p[i] == '\t';
        if (!blank) {
            int rc = add_text(b, p, n, "line", line, err, errlen);
            if (rc != TT_OK)
                return rc;
        }
        p = nl ? nl + 1 : end;
    }
    return b->n ? TT_OK : tti_err(err, errlen, TT_EINVAL, "the body holds no events");
}

static int syntax(const tti_jscan *s, const char *what, char *err, size_t errlen)
{
    int line, col;
    tti_jscan_pos(s, &line, &col);
    return tti_err(err, errlen, TT_EPARSE, "invalid JSON at line %d, column %d: %s", line, col,
                   what);
}

/* The elements of an array, s->p at its '['. Each is scanned and parsed on its own. */
static int parse_array(body *b, tti_jscan *s, char *err, size_t errlen)
{
    char msg[400];
    s->p++;
    tti_jscan_ws(s);
    if (s->p < s->end && *s->p == ']')
        return tti_err(err, errlen, TT_EINVAL, "the array holds no events");
    for (size_t i = 0;; i++) {
        if (s->p >= s->end)
            return syntax(s, "unexpected end of input", err, errlen);
        if (*s->p != '{')
            return tti_err(err, errlen, TT_EINVAL, "event %zu: must be a JSON object", i);
        tt_event ev;
        void *block;
        int rc = body_grow(b, err, errlen);
        if (rc != TT_OK)
            return rc;
        if ((rc = tti_event_parse_at(s, 0, &ev, &block, msg, sizeof msg)) != TT_OK)
            return tti_err(err, errlen, rc, "event %zu: %s", i, msg);
        body_keep(b, &ev, block);
        tti_jscan_ws(s);
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            tti_jscan_ws(s);
            return s->p == s->end ? TT_OK : syntax(s, "end of input expected", err, errlen);
        }
        if (s->p >= s->end || *s->p != ',')
            return syntax(s, "',' or ']' expected", err, errlen);
        s->p++;
        tti_jscan_ws(s);
    }
}

static int parse_json(body *b, const char *text, size_t len, int *is_batch, char *err,
                      size_t errlen)
{
    tti_jscan s;
    tti_jscan_init(&s, text, len);
    tti_jscan_ws(&s);
    *is_batch = 1;
    if (s.p < s.end && *s.p == '{') {
        *is_batch = 0;
        return add_text(b, text, len, "event", 0, err, errlen);
    }
    if (s.p < s.end && *s.p == '[')
        return parse_array(b, &s, err, errlen);
    if (tti_jscan_value(&s) != TT_OK)
        return syntax(&s, s.what, err, errlen);
    return tti_err(err, errlen, TT_EINVAL, "the body must be an event object or an array");
}

int tt_events_parse_body(const char *text, size_t len, int ndjson, tt_event **events, size_t *n,
                         void **owner, int *is_batch, char *err, size_t errlen)
{
    body *b = calloc(1, sizeof *b);
    int batch = 1;
    if (b == NULL)
        return tti_err(err, errlen, TT_ENOMEM, "out of memory");
    b->magic = BODY_MAGIC;
    int rc = ndjson ? parse_ndjson(b, text, len, err, errlen)
                    : parse_json(b, text, len, &batch, err, errlen);
    if (rc != TT_OK) {
        body_free(b);
        return rc;
    }
    *events = b->events;
    *n = b->n;
    *owner = b;
    *is_batch = batch;
    return TT_OK;
}

void tt_events_free_body(tt_event *events, size_t n, void *owner)
{
    (void)events;
    (void)n;
    if (owner != NULL)
        body_free(owner);
}

const tt_event *tti_body_checked(const void *owner, const tt_event *events, size_t n, size_t i)
{
    const body *b = owner;
    if (b == NULL || b->magic != BODY_MAGIC || b->events != events || b->n != n || i >= n)
        return NULL;
    return &b->checked[i];
}
