/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON mapping of events (SPEC 3.1, 9): parsing an incoming event object with jansson,
 * normalising metadata into the exact bytes the ledger stores and hashes, and writing an
 * event back as JSON. Input is scanned first (json_scan.c) so that nothing over a limit of
 * SPEC 3.1 is built; output goes through the one JSON writer (util/buf.c) so that the stored
 * metadata bytes are defined by docs/FORMAT.md, not by a jansson version's formatting.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/json_scan.h"
#include "core/redact.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/err.h"

/* Metadata text longer than this is refused before parsing: the SPEC's request body
 * limit, so pretty-printed input that normalises below TT_MAX_METADATA still fits. */
#define MAX_METADATA_INPUT (16u << 20)

/* ---- Writing JSON values (docs/FORMAT.md, "Metadata normalisation") -------------------- */

static void put_value(tti_buf *b, const json_t *v, int redact);

/* With redact, a member whose key is in the redaction set (SPEC 15) keeps its key and gets
 * the value "[redacted]", whatever it held: the secret never reaches the leaf bytes. */
static void put_object(tti_buf *b, const json_t *v, int redact)
{
    const char *key;
    const json_t *item;
    int first = 1;
    tti_buf_add(b, "{", 1);
    /* jansson 2.14 keeps insertion order, so keys come out in the order they came in. */
    json_object_foreach((json_t *)v, key, item)
    {
        if (!first)
            tti_buf_add(b, ",", 1);
        first = 0;
        size_t klen = strlen(key);
        tti_buf_json_strn(b, key, klen);
        tti_buf_add(b, ":", 1);
        if (redact && tti_redact_match(key, klen))
            tti_buf_add(b, "\"" TTI_REDACTED "\"", sizeof TTI_REDACTED + 1);
        else
            put_value(b, item, redact);
    }
    tti_buf_add(b, "}", 1);
}

static void put_array(tti_buf *b, const json_t *v, int redact)
{
    tti_buf_add(b, "[", 1);
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (i > 0)
            tti_buf_add(b, ",", 1);
        put_value(b, json_array_get(v, i), redact);
    }
    tti_buf_add(b, "]", 1);
}

/* Recursion is bounded by TT_MAX_METADATA_DEPTH, checked by the scan before parsing. */
static void put_value(tti_buf *b, const json_t *v, int redact)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put_object(b, v, redact);
        break;
    case JSON_ARRAY:
        put_array(b, v, redact);
        break;
    case JSON_STRING:
        tti_buf_json_strn(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        tti_buf_json_int(b, (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        tti_buf_json_real(b, json_real_value(v));
        break;
    case JSON_TRUE:
        tti_buf_add(b, "true", 4);
        break;
    case JSON_FALSE:
        tti_buf_add(b, "false", 5);
        break;
    case JSON_NULL:
        tti_buf_add(b, "null", 4);
        break;
    }
}

/* ---- Metadata ---------------------------------------------------------------------------- */

static const char *type_name(const json_t *v)
{
    static const char *const names[] = {"object", "array", "string", "number",
                                        "number", "true",  "false",  "null"};
    return names[json_typeof(v)];
}

/* Serialise a parsed metadata object into its stored form, at most TT_MAX_METADATA bytes;
 * redacted (SPEC 15) on the way in, not when re-reading what was stored. */
static int metadata_text(const json_t *obj, int redact, char **out, size_t *outlen, char *err,
                         size_t errlen)
{
    tti_buf b;
    tti_buf_init(&b, TT_MAX_METADATA);
    put_object(&b, obj, redact);
    if (b.failed) {
        int too_big = b.failed == TTI_BUF_TOOBIG;
        tti_buf_free(&b);
        return too_big ? tti_err(err, errlen, TT_EINVAL, "metadata: larger than %d bytes",
                                 TT_MAX_METADATA)
                       : tti_err(err, errlen, TT_ENOMEM, "metadata: out of memory");
    }
    *outlen = b.len;
    *out = tti_buf_take(&b);
    return TT_OK;
}

/* Keep a parser message printable ASCII: it may quote bytes of the rejected input. */
static void clean_text(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7F)
            *s = '?';
}

/* Convert a jansson load error, keeping its line and column (STYLE: foreign errors). */
static int load_error(json_error_t *je, const char *what, char *err, size_t errlen)
{
    int rc = TT_EPARSE;
    switch (json_error_code(je)) {
    case json_error_out_of_memory:
        rc = TT_ENOMEM;
        break;
    case json_error_duplicate_key:
    case json_error_invalid_utf8:
    case json_error_null_character:
        rc = TT_EINVAL; /* well-formed enough, but breaks a rule of SPEC 3.1 */
        break;
    default:
        break;
    }
    clean_text(je->text);
    return tti_err(err, errlen, rc, "%s: invalid JSON at line %d, column %d: %s", what, je->line,
                   je->column, je->text);
}

/* Members other than metadata hold a string or null: a few values more still get jansson's
 * "must be a string" message below, anything larger is refused by the scan. */
#define FIELD_MAX_VALUES 64

static const char *type_at(const char *p)
{
    switch (*p) {
    case '{':
        return "object";
    case '[':
        return "array";
    case '"':
        return "string";
    case 't':
        return "true";
    case 'f':
        return "false";
    case 'n':
        return "null";
    default:
        return "number";
    }
}

static int scan_error(const tti_jscan *s, const char *what, char *err, size_t errlen)
{
    int line, col;
    tti_jscan_pos(s, &line, &col);
    return tti_err(err, errlen, TT_EPARSE, "%s: invalid JSON at line %d, column %d: %s", what, line,
                   col, s->what);
}

/* Bound a metadata value at s->p before anything is built (SPEC 3.1: parsers bound memory
 * by the input's limits): its values and its nesting. */
static int scan_metadata(tti_jscan *s, char *err, size_t errlen)
{
    s->values = 0;
    s->max_values = TTI_META_MAX_VALUES;
    s->max_depth = TT_MAX_METADATA_DEPTH;
    int rc = tti_jscan_value(s);
    if (rc == TT_ETOOBIG)
        return tti_err(err, errlen, TT_EINVAL, "metadata: larger than %d bytes", TT_MAX_METADATA);
    if (rc == TT_EINVAL)
        return tti_err(err, errlen, TT_EINVAL, "metadata: nested deeper than %d levels",
                       TT_MAX_METADATA_DEPTH);
    return rc == TT_OK ? TT_OK : scan_error(s, "metadata", err, errlen);
}

/* With parse, always through jansson (the tests compare tti_metadata_is_normal with it). */
static int normalize(const char *in, size_t len, int redact, int parse, char **out, char *err,
                     size_t errlen)
{
    json_error_t je;
    tti_jscan s;
    size_t n;
    if (in == NULL || out == NULL)
        return tti_err(err, errlen, TT_EMISUSE, "metadata: NULL");
    if (len > MAX_METADATA_INPUT)
        return tti_err(err, errlen, TT_EINVAL, "metadata: larger than %u bytes of input",
                       MAX_METADATA_INPUT);
    if (!parse && tti_metadata_is_normal(in, len)) { /* its own normal form */
        if ((*out = malloc(len + 1)) == NULL)
            return tti_err(err, errlen, TT_ENOMEM, "metadata: out of memory");
        memcpy(*out, in, len);
        (*out)[len] = '\0';
        return TT_OK;
    }
    tti_jscan_init(&s, in, len);
    tti_jscan_ws(&s);
    int rc = scan_metadata(&s, err, errlen);
    if (rc != TT_OK)
        return rc;
    /* JSON_DECODE_ANY so a scalar gets "must be a JSON object", not a syntax error. */
    json_t *root = json_loadb(in, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (root == NULL)
        return load_error(&je, "metadata", err, errlen);
    rc = json_is_object(root)
             ? metadata_text(root, redact, out, &n, err, errlen)
             : tti_err(err, errlen, TT_EINVAL, "metadata: must be a JSON object (got %s)",
                       type_name(root));
    json_decref(root);
    return rc;
}

int tti_metadata_normalize(const char *in, size_t len, char **out, char *err, size_t errlen)
{
    return normalize(in, len, 1, 0, out, err, errlen);
}

int tti_metadata_normalize_parsed(const char *in, size_t len, char **out, char *err, size_t errlen)
{
    return normalize(in, len, 1, 1, out, err, errlen);
}

int tti_metadata_renormalize(const char *in, size_t len, char **out, char *err, size_t errlen)
{
    return normalize(in, len, 0, 0, out, err, errlen);
}

/* ---- Reading stored metadata (SPEC 15 corrections) --------------------------------------- */

int tti_metadata_get_int(const char *meta, const char *key, int64_t *out)
{
    if (meta == NULL)
        return TT_ENOTFOUND;
    json_t *root = json_loads(meta, JSON_REJECT_DUPLICATES, NULL);
    json_t *v = json_is_object(root) ? json_object_get(root, key) : NULL;
    int rc = v == NULL ? TT_ENOTFOUND : json_is_integer(v) ? TT_OK : TT_EINVAL;
    if (rc == TT_OK)
        *out = json_integer_value(v);
    json_decref(root);
    return rc;
}

int tti_metadata_overlay(const char *base, const char *patch, const char *skip, char **out)
{
    json_t *b = base != NULL ? json_loads(base, 0, NULL) : json_object();
    json_t *p = patch != NULL ? json_loads(patch, 0, NULL) : NULL;
    int rc = TT_OK;
    *out = NULL;
    if (!json_is_object(b) || (patch != NULL && !json_is_object(p))) {
        rc = TT_EINVAL;
        goto out;
    }
    const char *key;
    json_t *v;
    size_t n = 0;
    json_object_foreach(p, key, v)
    {
        if (strcmp(key, skip) != 0 && json_object_set(b, key, v) == 0)
            n++;
    }
    if (n == 0 && base == NULL)
        goto out; /* nothing to show: stays absent */
    tti_buf buf;
    tti_buf_init(&buf, SIZE_MAX / 2);
    put_object(&buf, b, 0); /* stored text, already redacted at ingest */
    if (buf.failed) {
        tti_buf_free(&buf);
        rc = TT_ENOMEM;
    } else {
        *out = tti_buf_take(&buf);
    }
out:
    json_decref(b);
    json_decref(p);
    return rc;
}

/* ---- Parsing an event -------------------------------------------------------------------- */

enum field_kind { KIND_STRING, KIND_METADATA, KIND_TIME, KIND_COUNTER };

typedef struct json_field {
    const char *name;
    size_t off; /* of the string member; unused for occurred_at and producer_seq */
    enum field_kind kind;
    int required;
} json_field;

static const json_field fields[] = {
    {"entity", offsetof(tt_event, entity), KIND_STRING, 1},
    {"entity_id", offsetof(tt_event, entity_id), KIND_STRING, 1},
    {"event_type", offsetof(tt_event, event_type), KIND_STRING, 1},
    {"actor", offsetof(tt_event, actor), KIND_STRING, 1},
    {"old_status", offsetof(tt_event, old_status), KIND_STRING, 0},
    {"new_status", offsetof(tt_event, new_status), KIND_STRING, 0},
    {"reason", offsetof(tt_event, reason), KIND_STRING, 0},
    {"metadata", offsetof(tt_event, metadata), KIND_METADATA, 0},
    {"occurred_at", 0, KIND_TIME, 0},
    {"idempotency_key", offsetof(tt_event, idempotency_key), KIND_STRING, 0},
    {"producer", offsetof(tt_event, producer), KIND_STRING, 0},
    {"producer_seq", 0, KIND_COUNTER, 0},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

/* What one event object holds: strings borrowed from the jansson tree, metadata owned. */
typedef struct parsed {
    const char *str[N_FIELDS];
    size_t len[N_FIELDS];
    char *metadata;
    int64_t occurred_at_us;
    int64_t producer_seq;
} parsed;

static int field_index_n(const char *key, size_t n);

static int field_index(const char *key)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (strcmp(key, fields[i].name) == 0)
            return (int)i;
    return -1;
}

/* A client's string as a message may show it: at most 40 bytes, cut at a character
 * boundary, control characters as '?'. s is valid UTF-8 (jansson checked it). */
static const char *show(const char *s, char *buf, size_t cap)
{
    size_t n = strlen(s), keep = n < 40 ? n : 40;
    while (keep < n && keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
        keep--;
    for (size_t i = 0; i < keep; i++)
        buf[i] = (char)((unsigned char)s[i] < 0x20 || s[i] == 0x7F ? '?' : s[i]);
    snprintf(buf + keep, cap - keep, "%s", keep < n ? "..." : "");
    return buf;
}

static int take_time(const json_t *v, parsed *p, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    char shown[48];
    if (tt_time_parse_rfc3339(s, &p->occurred_at_us) != TT_OK)
        return tti_err(err, errlen, TT_EINVAL,
                       "occurred_at: must be an RFC 3339 time such as 2026-01-18T10:31:00Z "
                       "(got \"%s\")",
                       show(s, shown, sizeof shown));
    return TT_OK;
}

static int take_metadata(size_t i, const json_t *v, parsed *p, char *err, size_t errlen)
{
    if (!json_is_object(v))
        return tti_err(err, errlen, TT_EINVAL, "metadata: must be a JSON object or null (got %s)",
                       type_name(v));
    int rc = metadata_text(v, 1, &p->metadata, &p->len[i], err, errlen);
    if (rc == TT_OK)
        p->str[i] = p->metadata;
    return rc;
}

static int take_field(size_t i, const json_t *v, parsed *p, char *err, size_t errlen)
{
    const json_field *f = &fields[i];
    if (json_is_null(v) && !f->required)
        return TT_OK;
    if (f->kind == KIND_METADATA)
        return take_metadata(i, v, p, err, errlen);
    if (f->kind == KIND_COUNTER) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return tti_err(err, errlen, TT_EINVAL, "%s: must be an integer >= 1 or null (got %s)",
                           f->name, json_is_integer(v) ? "a smaller integer" : type_name(v));
        p->producer_seq = json_integer_value(v);
        return TT_OK;
    }
    if (!json_is_string(v))
        return tti_err(err, errlen, TT_EINVAL, "%s: must be a string%s (got %s)", f->name,
                       f->required ? "" : " or null", type_name(v));
    if (f->kind == KIND_TIME)
        return take_time(v, p, err, errlen);
    p->str[i] = json_string_value(v);
    p->len[i] = json_string_length(v);
    return TT_OK;
}

static int take_object(const json_t *root, parsed *p, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    char shown[48];
    if (!json_is_object(root))
        return tti_err(err, errlen, TT_EINVAL, "event: must be a JSON object (got %s)",
                       type_name(root));
    /* Anything not in SPEC 3.1, including seq, ts and leaf_hash, is refused, not dropped. */
    json_object_foreach((json_t *)root, key, v)
    {
        int i = field_index(key);
        if (i < 0)
            return tti_err(err, errlen, TT_EINVAL, "unknown field \"%s\"",
                           show(key, shown, sizeof shown));
        int rc = take_field((size_t)i, v, p, err, errlen);
        if (rc != TT_OK)
            return rc;
    }
    return TT_OK;
}

/* ---- The common event, taken without jansson ---------------------------------------------
 * Most events arrive plain: members of SPEC 3.1 once each, strings of printable ASCII
 * without escapes, metadata already in normal form (core/meta_normal.c), a time that
 * parses. Such an object is taken straight from its text, which the scan has already
 * checked for syntax and limits; its strings are its values, so they are borrowed as
 * jansson's would be. Anything else makes fast_take_object return 0 and jansson's tree
 * decides, with its messages. Measured: docs/PERFORMANCE.md. */

/* JSON's whitespace, as the scan skips it (json_scan.c). */
static void skip_ws(const char **p, const char *end)
{
    tti_jscan s;
    tti_jscan_init(&s, *p, (size_t)(end - *p));
    tti_jscan_ws(&s);
    *p = s.p;
}

static int fast_plain(const char **p, const char *end, const char **s, size_t *n)
{
    size_t len = tti_json_plain_string(*p, end);
    if (len == 0)
        return 0;
    *s = *p + 1;
    *n = len - 2;
    *p += len;
    return 1;
}

/* producer_seq: 1 or more, no leading zero, in range. */
static int fast_counter(const char **p, const char *end, parsed *out)
{
    int64_t v = 0;
    const char *q = *p;
    while (q < end && *q >= '0' && *q <= '9' && q - *p < 18)
        v = v * 10 + (*q++ - '0');
    if (q == *p || **p == '0' || (q < end && *q >= '0' && *q <= '9'))
        return 0;
    out->producer_seq = v;
    *p = q;
    return 1;
}

static int fast_time(const char **p, const char *end, parsed *out)
{
    const char *s;
    size_t n;
    char buf[64];
    if (!fast_plain(p, end, &s, &n) || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return tt_time_parse_rfc3339(buf, &out->occurred_at_us) == TT_OK;
}

static int fast_field(const json_field *f, size_t i, const char **p, const char *end, parsed *out)
{
    if (end - *p >= 4 && memcmp(*p, "null", 4) == 0) {
        *p += 4;
        return !f->required;
    }
    if (f->kind == KIND_METADATA) {
        size_t n = tti_metadata_normal_span(*p, (size_t)(end - *p));
        out->str[i] = *p;
        out->len[i] = n;
        *p += n;
        return n > 0;
    }
    if (f->kind == KIND_COUNTER)
        return fast_counter(p, end, out);
    if (f->kind == KIND_TIME)
        return fast_time(p, end, out);
    return fast_plain(p, end, &out->str[i], &out->len[i]);
}

static int fast_take_object(const char *p, const char *end, parsed *out)
{
    unsigned seen = 0;
    if (p >= end || *p++ != '{')
        return 0;
    skip_ws(&p, end);
    if (p < end && *p == '}')
        return 1;
    for (;;) {
        const char *key;
        size_t klen;
        if (!fast_plain(&p, end, &key, &klen))
            return 0;
        int i = field_index_n(key, klen);
        if (i < 0 || (seen & (1u << i)))
            return 0;
        seen |= 1u << i;
        skip_ws(&p, end);
        if (p >= end || *p++ != ':')
            return 0;
        skip_ws(&p, end);
        if (!fast_field(&fields[i], (size_t)i, &p, end, out))
            return 0;
        skip_ws(&p, end);
        if (p < end && *p == ',') {
            p++;
            skip_ws(&p, end);
        } else {
            return p < end && *p == '}' && p + 1 == end;
        }
    }
}

/* Copy the parsed strings into one allocation (*owner) that ev points into. */
static int assemble(parsed *p, tt_event *ev, void **owner)
{
    size_t total = 0;
    for (size_t i = 0; i < N_FIELDS; i++)
        total += p->str[i] != NULL ? p->len[i] + 1 : 0;
    char *block = malloc(total ? total : 1), *q = block;
    if (block == NULL)
        return TT_ENOMEM;
    tt_event_init(ev);
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (p->str[i] == NULL || fields[i].kind == KIND_COUNTER)
            continue;
        memcpy(q, p->str[i], p->len[i]);
        q[p->len[i]] = '\0';
        *(const char **)((char *)ev + fields[i].off) = q;
        q += p->len[i] + 1;
    }
    ev->occurred_at_us = p->occurred_at_us;
    ev->producer_seq = p->producer_seq;
    *owner = block;
    return TT_OK;
}

static int field_index_n(const char *key, size_t n)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (strncmp(key, fields[i].name, n) == 0 && fields[i].name[n] == '\0')
            return (int)i;
    return -1;
}

/* A member's value that the scan refused: the message jansson's path would give. */
static int member_refused(int f, const char *key, size_t klen, const char *value, char *err,
                          size_t errlen)
{
    char shown[48], tmp[48];
    if (f < 0) {
        snprintf(tmp, sizeof tmp, "%.*s", (int)(klen < 44 ? klen : 44), key);
        return tti_err(err, errlen, TT_EINVAL, "unknown field \"%s\"",
                       show(tmp, shown, sizeof shown));
    }
    return tti_err(err, errlen, TT_EINVAL, "%s: must be a string%s (got %s)", fields[f].name,
                   fields[f].required ? "" : " or null", type_at(value));
}

/* Scan the event object at s->p ('{') to its end, bounding what each member holds before
 * jansson builds any of it. Keys are compared as written: an escaped spelling of a field
 * name is only bounded as another field is, and then judged by the parse. */
static int scan_event(tti_jscan *s, char *err, size_t errlen)
{
    s->p++;
    tti_jscan_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return TT_OK;
    }
    for (size_t members = 1;; members++) {
        const char *key = s->p;
        if (tti_jscan_string(s) != TT_OK)
            return scan_error(s, "event", err, errlen);
        size_t klen = (size_t)(s->p - key) - 2;
        int f = field_index_n(++key, klen);
        if (members > N_FIELDS)
            return member_refused(-1, key, klen, key, err, errlen);
        tti_jscan_ws(s);
        if (s->p >= s->end || *s->p != ':') {
            s->what = "':' expected";
            return scan_error(s, "event", err, errlen);
        }
        s->p++;
        tti_jscan_ws(s);
        const char *value = s->p;
        int rc;
        if (f >= 0 && fields[f].kind == KIND_METADATA) {
            if ((rc = scan_metadata(s, err, errlen)) != TT_OK)
                return rc;
        } else {
            s->values = 0;
            s->max_values = FIELD_MAX_VALUES;
            s->max_depth = TTI_JSCAN_DEPTH;
            rc = tti_jscan_value(s);
            if (rc == TT_ETOOBIG || rc == TT_EINVAL)
                return member_refused(f, key, klen, value, err, errlen);
            if (rc != TT_OK)
                return scan_error(s, "event", err, errlen);
        }
        tti_jscan_ws(s);
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            return TT_OK;
        }
        if (s->p >= s->end || *s->p != ',') {
            s->what = "',' or '}' expected";
            return scan_error(s, "event", err, errlen);
        }
        s->p++;
        tti_jscan_ws(s);
    }
}

int tti_event_parse_at(tti_jscan *s, int to_end, tt_event *out, void **owner, char *err,
                       size_t errlen)
{
    json_error_t je;
    parsed p = {.occurred_at_us = TT_TIME_NONE};
    tt_event ev;
    void *block = NULL;
    const char *start = s->p;
    int rc = scan_event(s, err, errlen);
    if (rc != TT_OK)
        return rc;
    const char *stop = s->p;
    if (to_end) {
        /* Malformed input is a syntax error before any rule is judged, as jansson's whole-
         * document parse reported it. */
        tti_jscan_ws(s);
        if (s->p != s->end) {
            s->what = "end of input expected";
            return scan_error(s, "event", err, errlen);
        }
    }
    json_t *root = NULL;
    if (!fast_take_object(start, stop, &p)) {
        memset(&p, 0, sizeof p);
        p.occurred_at_us = TT_TIME_NONE;
        /* Duplicate keys are refused at every depth, metadata included. */
        root = json_loadb(start, (size_t)(stop - start), JSON_REJECT_DUPLICATES, &je);
        if (root == NULL)
            return load_error(&je, "event", err, errlen);
        rc = take_object(root, &p, err, errlen);
    }
    if (rc == TT_OK && (rc = assemble(&p, &ev, &block)) != TT_OK)
        tti_err(err, errlen, rc, "event: out of memory");
    /* The one check of SPEC 3.1; the metadata is the normaliser's own output. */
    if (rc == TT_OK && (rc = tti_event_check(&ev, TTI_CHECK_META_NORMAL, err, errlen)) != TT_OK)
        free(block);
    if (rc == TT_OK) {
        *out = ev;
        *owner = block;
    }
    free(p.metadata);
    json_decref(root);
    return rc;
}

int tt_event_parse_json(const char *json, size_t len, tt_event *out, void **owner, char *err,
                        size_t errlen)
{
    tti_jscan s;
    tt_event ev;
    void *block = NULL;
    if (json == NULL || out == NULL || owner == NULL)
        return tti_err(err, errlen, TT_EMISUSE, "event: NULL argument");
    tti_jscan_init(&s, json, len);
    tti_jscan_ws(&s);
    const char *value = s.p;
    int rc, is_object = s.p < s.end && *s.p == '{';
    if (is_object)
        rc = tti_event_parse_at(&s, 1, &ev, &block, err, errlen);
    else if ((rc = tti_jscan_value(&s)) != TT_OK)
        return scan_error(&s, "event", err, errlen);
    if (rc != TT_OK)
        return rc;
    tti_jscan_ws(&s);
    if (s.p != s.end) {
        free(block);
        s.what = "end of input expected";
        return scan_error(&s, "event", err, errlen);
    }
    if (!is_object)
        return tti_err(err, errlen, TT_EINVAL, "event: must be a JSON object (got %s)",
                       type_at(value));
    *out = ev;
    *owner = block;
    return TT_OK;
}

/* ---- Writing an event -------------------------------------------------------------------- */

static void put_member(tti_buf *b, const char *name, const char *s)
{
    tti_buf_add(b, ",\"", 2);
    tti_buf_adds(b, name);
    tti_buf_add(b, "\":", 2);
    tti_buf_json_str(b, s);
}

static void put_time(tti_buf *b, const char *name, int64_t us)
{
    char ts[TT_TS_LEN + 1];
    if (us != TT_TIME_NONE)
        tt_time_format(us, ts);
    put_member(b, name, us == TT_TIME_NONE ? NULL : ts);
}

/* Stored metadata is the normal form (docs/FORMAT.md section 3): it goes out byte for byte,
 * after an allocation-free syntax check rather than a parse. A damaged store's text that is
 * not one JSON object goes out as a string, so the output is still valid JSON. */
static void put_metadata(tti_buf *b, const char *s)
{
    if (s != NULL && tti_json_is_object(s, strlen(s))) {
        tti_buf_add(b, ",\"metadata\":", 12);
        tti_buf_adds(b, s);
    } else {
        put_member(b, "metadata", s);
    }
}

char *tt_event_to_json(const tt_event *ev)
{
    char hex[2 * TT_HASH_SIZE + 1];
    tti_buf b;
    if (ev == NULL)
        return NULL;
    tti_buf_init(&b, SIZE_MAX / 2);
    tti_buf_adds(&b, "{\"seq\":");
    tti_buf_json_int(&b, (long long)ev->seq);
    put_time(&b, "ts", ev->ts_us);
    put_member(&b, "entity", ev->entity);
    put_member(&b, "entity_id", ev->entity_id);
    put_member(&b, "event_type", ev->event_type);
    put_member(&b, "actor", ev->actor);
    put_member(&b, "old_status", ev->old_status);
    put_member(&b, "new_status", ev->new_status);
    put_member(&b, "reason", ev->reason);
    put_metadata(&b, ev->metadata);
    put_time(&b, "occurred_at", ev->occurred_at_us);
    put_member(&b, "idempotency_key", ev->idempotency_key);
    put_member(&b, "principal", ev->principal);
    if (ev->corrected_by > 0) { /* the corrected view only (SPEC 15) */
        tti_buf_adds(&b, ",\"corrected_by\":");
        tti_buf_json_int(&b, (long long)ev->corrected_by);
    }
    /* SPEC 15: only on events that carry them, so every other event's JSON is as before. */
    if (ev->producer != NULL) {
        put_member(&b, "producer", ev->producer);
        tti_buf_adds(&b, ",\"producer_seq\":");
        tti_buf_json_int(&b, (long long)ev->producer_seq);
    }
    tti_hex_encode(ev->leaf_hash, TT_HASH_SIZE, hex);
    put_member(&b, "leaf_hash", hex);
    tti_buf_add(&b, "}", 1);
    if (b.failed) {
        tti_buf_free(&b);
        return NULL;
    }
    return tti_buf_take(&b);
}
