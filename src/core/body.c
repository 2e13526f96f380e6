/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request bodies of POST /api/events and NDJSON streams: one event object, a JSON array of
 * them, or one object per line, parsed and validated completely before anything is
 * written.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tradetrail.h"
#include "util/err.h"

typedef struct parsed_body {
    tt_event *events;
    void **owners;
    size_t n, cap;
} parsed_body;

static void body_free(parsed_body *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->owners[i]);
    free(b->events);
    free(b->owners);
}

static int body_add(parsed_body *b, const char *text, size_t len, const char *where, size_t index,
                    char *err, size_t errlen)
{
    if (b->n == TT_MAX_BATCH)
        return tti_err(err, errlen, TT_ETOOBIG, "a batch holds at most %d events", TT_MAX_BATCH);
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        tt_event *ev = realloc(b->events, cap * sizeof *ev);
        if (ev == NULL)
            return tti_err(err, errlen, TT_ENOMEM, "out of memory");
        b->events = ev;
        void **ow = realloc(b->owners, cap * sizeof *ow);
        if (ow == NULL)
            return tti_err(err, errlen, TT_ENOMEM, "out of memory");
        b->owners = ow;
        b->cap = cap;
    }
    char msg[400];
    int rc = tt_event_parse_json(text, len, &b->events[b->n], &b->owners[b->n], msg, sizeof msg);
    if (rc != TT_OK)
        return tti_err(err, errlen, rc, "%s %zu: %s", where, index, msg);
    b->n++;
    return TT_OK;
}

static int parse_ndjson(parsed_body *b, const char *body, size_t len, char *err, size_t errlen)
{
    size_t line = 0;
    for (const char *p = body, *end = body + len; p < end;) {
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
            int rc = body_add(b, p, n, "line", line, err, errlen);
            if (rc != TT_OK)
                return rc;
        }
        p = nl ? nl + 1 : end;
    }
    return b->n ? TT_OK : tti_err(err, errlen, TT_EINVAL, "the body holds no events");
}

/* An array is split into elements and each is checked with the single-event parser, so
 * the rules live in one place. */
static int parse_array(parsed_body *b, json_t *arr, char *err, size_t errlen)
{
    size_t n = json_array_size(arr);
    if (n == 0)
        return tti_err(err, errlen, TT_EINVAL, "the array holds no events");
    if (n > TT_MAX_BATCH)
        return tti_err(err, errlen, TT_ETOOBIG, "a batch holds at most %d events (got %zu)",
                       TT_MAX_BATCH, n);
    for (size_t i = 0; i < n; i++) {
        json_t *el = json_array_get(arr, i);
        if (!json_is_object(el))
            return tti_err(err, errlen, TT_EINVAL, "event %zu: must be a JSON object", i);
        char *text = json_dumps(el, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text == NULL)
            return tti_err(err, errlen, TT_ENOMEM, "out of memory");
        int rc = body_add(b, text, strlen(text), "event", i, err, errlen);
        free(text);
        if (rc != TT_OK)
            return rc;
    }
    return TT_OK;
}

static int parse_json(parsed_body *b, const char *body, size_t len, int *is_batch, char *err,
                      size_t errlen)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i < len && body[i] == '{') {
        *is_batch = 0;
        return body_add(b, body, len, "event", 0, err, errlen);
    }
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return tti_err(err, errlen, TT_EPARSE, "invalid JSON at line %d, column %d: %s", je.line,
                       je.column, je.text);
    int rc = json_is_array(root)
                 ? parse_array(b, root, err, errlen)
                 : tti_err(err, errlen, TT_EINVAL, "the body must be an event object or an array");
    *is_batch = 1;
    json_decref(root);
    return rc;
}

int tt_events_parse_body(const char *body, size_t len, int ndjson, tt_event **events, size_t *n,
                         void **owner, int *is_batch, char *err, size_t errlen)
{
    parsed_body b = {0};
    int batch = 1;
    int rc = ndjson ? parse_ndjson(&b, body, len, err, errlen)
                    : parse_json(&b, body, len, &batch, err, errlen);
    if (rc != TT_OK) {
        body_free(&b);
        return rc;
    }
    *events = b.events;
    *n = b.n;
    *owner = b.owners;
    *is_batch = batch;
    return TT_OK;
}

void tt_events_free_body(tt_event *events, size_t n, void *owner)
{
    parsed_body b = {.events = events, .owners = owner, .n = n};
    if (owner != NULL || events != NULL)
        body_free(&b);
}
