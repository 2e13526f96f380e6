/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The query-string parameters of GET /api/events and /api/stream (SPEC 9, 10) turned into a
 * tt_query: their names, defaults, limits and error messages live here, once, so that the
 * server only hands over what libmicrohttpd decoded, the CLI splits --type the same way,
 * and fuzz/fuzz_query.c reaches the parser without an HTTP connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tradetrail.h"
#include "util/err.h"

/*
 * Applied in this order whatever the order of the pairs, as the server always did: cursor
 * depends on order and after_seq, and when several values are bad the first one in this
 * order is the one reported. The strings (entity .. event_type) are copied last.
 */
enum {
    P_ENTITY,
    P_ENTITY_ID,
    P_ACTOR,
    P_TEXT,
    P_TYPES,
    P_SINCE,
    P_UNTIL,
    P_AFTER,
    P_ORDER,
    P_LIMIT,
    P_CURSOR,
    P_VIEW,
    P_ARCHIVE,
    N_PARAMS
};

static const char *const param_names[N_PARAMS] = {
    "entity",    "entity_id", "actor", "q",      "event_type", "since",           "until",
    "after_seq", "order",     "limit", "cursor", "view",       "include_archive",
};

const char *tt_query_param_name(size_t i, int paging)
{
    /* The paging names come last in the enum: without paging the list stops before them. */
    return i < (size_t)(paging ? N_PARAMS : P_ORDER) ? param_names[i] : NULL;
}

/* SPEC 9: next_cursor is "c<last seq of the page>"; parse_paging reads it back. */
void tt_query_cursor(int64_t last_seq, char out[TT_CURSOR_SIZE])
{
    snprintf(out, TT_CURSOR_SIZE, "c%lld", (long long)last_seq);
}

static int param_index(const char *key)
{
    for (int i = 0; i < N_PARAMS; i++)
        if (strcmp(param_names[i], key) == 0)
            return i;
    return -1;
}

/* A seq or count: >= 0. */
static int parse_seq(const char *v, int64_t *out)
{
    return tt_parse_int(v, 0, INT64_MAX, out);
}

/* The number of event types in a list: non-empty items between commas (strtok's view). */
static size_t count_types(const char *v)
{
    size_t n = 0;
    for (const char *p = v; *p; p++)
        n += *p != ',' && (p == v || p[-1] == ',');
    return n;
}

static int parse_time(const char *v, const char *name, int64_t now_us, int64_t *out, char *err,
                      size_t errlen)
{
    if (v != NULL && tt_time_parse_expr(v, now_us, out) != TT_OK)
        return tti_err(err, errlen, TT_EINVAL, "%s: not a time (RFC 3339, YYYY-MM-DD, today, -2h)",
                       name);
    return TT_OK;
}

static int parse_paging(tt_query *w, const char *const *v, char *err, size_t errlen)
{
    int64_t x;
    if (v[P_ORDER] != NULL) {
        if (strcmp(v[P_ORDER], "asc") != 0 && strcmp(v[P_ORDER], "desc") != 0)
            return tti_err(err, errlen, TT_EINVAL, "order: must be asc or desc");
        w->order = v[P_ORDER][0] == 'd' ? TT_ORDER_DESC : TT_ORDER_ASC;
    }
    if (v[P_LIMIT] != NULL) {
        if (parse_seq(v[P_LIMIT], &x) != 0 || x < 1 || x > TT_MAX_QUERY_LIMIT)
            return tti_err(err, errlen, TT_EINVAL, "limit: must be 1 to %d", TT_MAX_QUERY_LIMIT);
        w->limit = (size_t)x;
    }
    if (v[P_VIEW] != NULL) {
        if (strcmp(v[P_VIEW], "stored") != 0 && strcmp(v[P_VIEW], "corrected") != 0)
            return tti_err(err, errlen, TT_EINVAL, "view: must be stored or corrected");
        w->view = v[P_VIEW][0] == 'c' ? TT_VIEW_CORRECTED : TT_VIEW_STORED;
    }
    if (v[P_ARCHIVE] != NULL) { /* SPEC 8: archived events too, read from the segments */
        if (strcmp(v[P_ARCHIVE], "0") != 0 && strcmp(v[P_ARCHIVE], "1") != 0)
            return tti_err(err, errlen, TT_EINVAL, "include_archive: must be 0 or 1");
        w->include_archive = v[P_ARCHIVE][0] == '1';
    }
    if (v[P_CURSOR] != NULL) {
        /* The format of tt_query_cursor: the next page lies beyond the seq it names. */
        const char *c = v[P_CURSOR];
        if (c[0] != 'c' || parse_seq(c + 1, &x) != 0 || x < 1)
            return tti_err(err, errlen, TT_EINVAL, "cursor: not a cursor this server returned");
        if (w->order == TT_ORDER_DESC)
            w->before_seq = x;
        else if (x > w->after_seq)
            w->after_seq = x;
    }
    return TT_OK;
}

/* Copy the given strings into one block and point w at them; *buf NULL when none. */
static int copy_strings(tt_query *w, const char *const *v, char **buf)
{
    size_t total = 0;
    for (int i = P_ENTITY; i <= P_TYPES; i++)
        total += v[i] != NULL ? strlen(v[i]) + 1 : 0;
    *buf = NULL;
    if (total == 0)
        return TT_OK;
    char *p = *buf = malloc(total);
    if (p == NULL)
        return TT_ENOMEM;
    const char **field[P_TYPES] = {&w->entity, &w->entity_id, &w->actor, &w->text};
    char *list = NULL;
    for (int i = P_ENTITY; i <= P_TYPES; i++) {
        if (v[i] == NULL)
            continue;
        size_t len = strlen(v[i]);
        memcpy(p, v[i], len + 1);
        if (i < P_TYPES)
            *field[i] = p;
        else
            list = p;
        p += len + 1;
    }
    if (list == NULL)
        return TT_OK;
    /* Split the copied list in place at the commas; empty items are skipped. */
    memset(w->event_types, 0, sizeof w->event_types);
    w->n_event_types = 0;
    for (char *t = list; *t; t++) {
        if (*t == ',')
            *t = '\0';
        else if ((t == list || t[-1] == '\0') && w->n_event_types < TT_MAX_QUERY_TYPES)
            w->event_types[w->n_event_types++] = t;
    }
    return TT_OK;
}

int tt_query_parse_params(tt_query *q, const tt_query_param *params, size_t n, int64_t now_us,
                          void **owner, char *err, size_t errlen)
{
    if (q == NULL || owner == NULL || (params == NULL && n > 0))
        return tti_err(err, errlen, TT_EMISUSE, "tt_query_parse_params: a NULL argument");
    const char *v[N_PARAMS] = {NULL};
    int seen[N_PARAMS] = {0};
    for (size_t i = 0; i < n; i++) {
        const char *key = params[i].key;
        if (key == NULL)
            return tti_err(err, errlen, TT_EMISUSE, "query parameter %zu has no name", i);
        int k = param_index(key);
        /* The same words as the server's check of every endpoint (srv_check_params). */
        if (k < 0)
            return tti_err(err, errlen, TT_EINVAL, "unknown query parameter \"%s\"",
                           tt_utf8_valid(key, strlen(key)) ? key : "?");
        if (seen[k])
            return tti_err(err, errlen, TT_EINVAL, "repeated query parameter \"%s\"", key);
        seen[k] = 1;
        v[k] = params[i].value; /* NULL for a bare "key": as if absent */
    }

    tt_query w = *q;
    int rc;
    if (v[P_TYPES] != NULL && count_types(v[P_TYPES]) > TT_MAX_QUERY_TYPES)
        return tti_err(err, errlen, TT_EINVAL, "event_type: at most %d types", TT_MAX_QUERY_TYPES);
    if ((rc = parse_time(v[P_SINCE], "since", now_us, &w.since_us, err, errlen)) != TT_OK ||
        (rc = parse_time(v[P_UNTIL], "until", now_us, &w.until_us, err, errlen)) != TT_OK)
        return rc;
    if (v[P_AFTER] != NULL && parse_seq(v[P_AFTER], &w.after_seq) != 0)
        return tti_err(err, errlen, TT_EINVAL, "after_seq: must be a non-negative integer");
    if ((rc = parse_paging(&w, v, err, errlen)) != TT_OK)
        return rc;
    char *buf;
    if (copy_strings(&w, v, &buf) != TT_OK)
        return tti_err(err, errlen, TT_ENOMEM, "out of memory");
    *q = w;
    *owner = buf;
    return TT_OK;
}
