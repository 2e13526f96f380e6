/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Well-formedness of strategy YAML (SPEC 6.1) with libyaml: the only file that includes
 * yaml.h. The whole stream is parsed event by event (no document tree is built), so the
 * check costs memory proportional to nesting depth, not to the document, and it stops at
 * TTI_YAML_MAX_DEPTH: libyaml's scanner rechecks every open flow collection on each token,
 * so a deep document costs time quadratic in its depth (SPEC 3.1, 14: parsers bound time
 * by the input's limits).
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/event.h"
#include "domain/yaml.h"
#include "tradetrail.h"
#include "util/err.h"

/* Anchors a document may define, so an alias is looked up in bounded time. */
#define MAX_ANCHORS 256

typedef struct anchors {
    char *name[MAX_ANCHORS];
    size_t n;
} anchors;

static void anchors_clear(anchors *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->name[i]);
    a->n = 0;
}

static int anchor_known(const anchors *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->name[i], name) == 0)
            return 1;
    return 0;
}

/* An anchor defined by a node event; redefining one is allowed (YAML 1.2 3.2.2.2). */
static int anchor_add(anchors *a, const char *name, char *err, size_t errlen)
{
    if (name == NULL || anchor_known(a, name))
        return TT_OK;
    if (a->n == MAX_ANCHORS)
        return tti_err(err, errlen, TT_EINVAL, "yaml: more than %d anchors in one document",
                       MAX_ANCHORS);
    if ((a->name[a->n] = strdup(name)) == NULL)
        return tti_err(err, errlen, TT_ENOMEM, "yaml: out of memory");
    a->n++;
    return TT_OK;
}

/* Depth and anchor rules for one parsed event. */
static int check_event(const yaml_event_t *ev, int *depth, anchors *a, char *err, size_t errlen)
{
    const char *anchor = NULL;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        anchors_clear(a); /* anchors are local to their document */
        return TT_OK;
    case YAML_ALIAS_EVENT:
        if (!anchor_known(a, (const char *)ev->data.alias.anchor))
            return tti_err(err, errlen, TT_EINVAL,
                           "yaml: line %zu, column %zu: alias *%s names "
                           "no anchor defined before it",
                           ev->start_mark.line + 1, ev->start_mark.column + 1,
                           (const char *)ev->data.alias.anchor);
        return TT_OK;
    case YAML_SCALAR_EVENT:
        anchor = (const char *)ev->data.scalar.anchor;
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        anchor = ev->type == YAML_SEQUENCE_START_EVENT
                     ? (const char *)ev->data.sequence_start.anchor
                     : (const char *)ev->data.mapping_start.anchor;
        if (++*depth > TTI_YAML_MAX_DEPTH)
            return tti_err(err, errlen, TT_EINVAL,
                           "yaml: line %zu, column %zu: nested more than %d levels deep",
                           ev->start_mark.line + 1, ev->start_mark.column + 1, TTI_YAML_MAX_DEPTH);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        --*depth;
        return TT_OK;
    default:
        return TT_OK;
    }
    return anchor_add(a, anchor, err, errlen);
}

int tti_yaml_check(const char *text, size_t len, char *err, size_t errlen)
{
    if (text == NULL || len == 0)
        return tti_err(err, errlen, TT_EINVAL, "yaml: must not be empty");
    if (len > TT_MAX_STRATEGY_YAML)
        return tti_err(err, errlen, TT_EINVAL, "yaml: at most %d bytes (got %zu)",
                       TT_MAX_STRATEGY_YAML, len);
    /* libyaml stops at NUL as a "control character" error; say it plainly instead. */
    if (memchr(text, '\0', len) != NULL)
        return tti_err(err, errlen, TT_EINVAL, "yaml: contains a NUL byte");
    /* Versions are served as JSON strings: UTF-8 only (libyaml would also take a UTF-16
     * stream announced by a byte-order mark). */
    if (!tti_utf8_valid(text, len))
        return tti_err(err, errlen, TT_EINVAL, "yaml: not valid UTF-8");
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return tti_err(err, errlen, TT_ENOMEM, "yaml: out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    anchors a = {.n = 0};
    int rc = TT_OK, done = 0, depth = 0;
    while (!done && rc == TT_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            if (p.error == YAML_MEMORY_ERROR)
                rc = tti_err(err, errlen, TT_ENOMEM, "yaml: out of memory");
            else
                rc = tti_err(err, errlen, TT_EINVAL, "yaml: line %zu, column %zu: %s%s%s",
                             p.problem_mark.line + 1, p.problem_mark.column + 1,
                             p.problem ? p.problem : "malformed", p.context ? " " : "",
                             p.context ? p.context : "");
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = check_event(&ev, &depth, &a, err, errlen);
        yaml_event_delete(&ev);
    }
    anchors_clear(&a);
    yaml_parser_delete(&p);
    return rc;
}
