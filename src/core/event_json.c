/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON mapping of events (SPEC 3.1, 9): parsing an incoming event object with jansson,
 * normalising metadata into the exact bytes the ledger stores and hashes, and writing an
 * event back as JSON. The writer is our own so that the stored metadata bytes are defined
 * by docs/FORMAT.md, not by a jansson version's number formatting.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "util/codec.h"
#include "util/err.h"

/* Metadata text longer than this is refused before parsing: the SPEC's request body
 * limit, so pretty-printed input that normalises below TT_MAX_METADATA still fits. */
#define MAX_METADATA_INPUT (16u << 20)

/* ---- A bounded growable text buffer ------------------------------------------------------ */

typedef struct jbuf {
    char *buf;
    size_t len, cap, max;
    int rc; /* the first failure, TT_ENOMEM or TT_ETOOBIG; later writes are ignored */
} jbuf;

static void jb_put(jbuf *b, const char *s, size_t n)
{
    if (b->rc != TT_OK)
        return;
    if (n > b->max - b->len) {
        b->rc = TT_ETOOBIG;
        return;
    }
    if (n >= b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len <= n)
            cap = cap > b->max / 2 ? b->max + 1 : cap * 2;
        char *p = realloc(b->buf, cap);
        if (p == NULL) {
            b->rc = TT_ENOMEM;
            return;
        }
        b->buf = p, b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void jb_lit(jbuf *b, const char *s)
{
    jb_put(b, s, strlen(s));
}

/* The buffer's text, or NULL (buffer freed) when a write failed. */
static char *jb_finish(jbuf *b)
{
    if (b->rc == TT_OK && b->buf == NULL)
        b->rc = TT_ENOMEM; /* nothing was written: cannot happen for our callers */
    if (b->rc != TT_OK) {
        free(b->buf);
        return NULL;
    }
    return b->buf;
}

/* ---- Writing JSON values (docs/FORMAT.md, "Metadata normalisation") -------------------- */

/*
 * A JSON string: '"' and '\' escaped, control characters below U+0020 as \b \f \n \r \t or
 * \u00xx (lowercase hex), everything else, including non-ASCII, as is. Text that is not
 * valid UTF-8 (never stored by the ledger; possible only in a tampered store) has its
 * bytes >= 0x80 replaced by U+FFFD so the output stays valid JSON.
 */
static void jb_str(jbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int lossy = !tti_utf8_valid(s, n);
    size_t run = 0;
    jb_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        size_t elen = 2;
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]}, two[2] = {'\\', (char)c};
        if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
            two[1] = "btn?fr"[c - '\b'], esc = two;
        else if (c < 0x20)
            esc = u, elen = 6;
        else if (c >= 0x80 && lossy)
            esc = "\xEF\xBF\xBD", elen = 3; /* U+FFFD */
        else if (c == '"' || c == '\\')
            esc = two;
        else
            continue;
        jb_put(b, s + run, i - run);
        jb_put(b, esc, elen);
        run = i + 1;
    }
    jb_put(b, s + run, n - run);
    jb_put(b, "\"", 1);
}

static void jb_int(jbuf *b, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", v);
    jb_put(b, tmp, (size_t)n);
}

/*
 * The shortest correctly rounded decimal (1 to 17 significant digits) that reads back as
 * d: its digits without trailing zeros (*nd of them) and the exponent of the first one.
 */
static void shortest_digits(double d, char dig[18], int *nd, int *exp)
{
    char tmp[40];
    for (int p = 1;; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
        if (p == 17 || strtod(tmp, NULL) == d)
            break;
    }
    /* "[-]d[.ddd]e±XX": skip the sign and the locale's decimal point, whatever it is. */
    const char *s = tmp;
    *nd = 0;
    for (; *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            dig[(*nd)++] = *s;
    *exp = (int)strtol(s + 1, NULL, 10);
    while (*nd > 1 && dig[*nd - 1] == '0')
        (*nd)--;
}

/*
 * A real, written like Python's repr() so that json.dumps(..., separators=(",", ":"),
 * ensure_ascii=False) reproduces stored metadata: positional with at least one fractional
 * digit when 1e-4 <= |x| < 1e16, else d[.ddd]e±XX. (jansson's own "%.17g" would store 0.1
 * as 0.10000000000000001.)
 */
static void jb_real(jbuf *b, double d)
{
    char dig[18], out[48];
    int nd, exp, o = 0;
    shortest_digits(d, dig, &nd, &exp);
    if (signbit(d))
        out[o++] = '-';
    if (exp >= 0 && exp < 16) {
        for (int i = 0; i <= exp; i++)
            out[o++] = (char)(i < nd ? dig[i] : '0');
        out[o++] = '.';
        for (int i = exp + 1; i < nd; i++)
            out[o++] = dig[i];
        if (exp + 1 >= nd)
            out[o++] = '0';
    } else if (exp < 0 && exp >= -4) {
        out[o++] = '0', out[o++] = '.';
        for (int i = exp + 1; i < 0; i++)
            out[o++] = '0';
        memcpy(out + o, dig, (size_t)nd);
        o += nd;
    } else {
        out[o++] = dig[0];
        if (nd > 1)
            out[o++] = '.';
        memcpy(out + o, dig + 1, (size_t)nd - 1);
        o += nd - 1;
        o += snprintf(out + o, sizeof out - (size_t)o, "e%c%02d", exp < 0 ? '-' : '+',
                      exp < 0 ? -exp : exp);
    }
    jb_put(b, out, (size_t)o);
}

static void jb_value(jbuf *b, const json_t *v);

static void jb_object(jbuf *b, const json_t *v)
{
    const char *key;
    const json_t *item;
    int first = 1;
    jb_put(b, "{", 1);
    /* jansson 2.14 keeps insertion order, so keys come out in the order they came in. */
    json_object_foreach((json_t *)v, key, item)
    {
        if (!first)
            jb_put(b, ",", 1);
        first = 0;
        jb_str(b, key, strlen(key));
        jb_put(b, ":", 1);
        jb_value(b, item);
    }
    jb_put(b, "}", 1);
}

static void jb_array(jbuf *b, const json_t *v)
{
    jb_put(b, "[", 1);
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (i > 0)
            jb_put(b, ",", 1);
        jb_value(b, json_array_get(v, i));
    }
    jb_put(b, "]", 1);
}

/* Recursion is bounded by jansson's parser depth limit (2048). */
static void jb_value(jbuf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        jb_object(b, v);
        break;
    case JSON_ARRAY:
        jb_array(b, v);
        break;
    case JSON_STRING:
        jb_str(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        jb_int(b, (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        jb_real(b, json_real_value(v));
        break;
    case JSON_TRUE:
        jb_lit(b, "true");
        break;
    case JSON_FALSE:
        jb_lit(b, "false");
        break;
    case JSON_NULL:
        jb_lit(b, "null");
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

/* Serialise a parsed metadata object into its stored form, at most TT_MAX_METADATA bytes. */
static int metadata_text(const json_t *obj, char **out, size_t *outlen, char *err, size_t errlen)
{
    jbuf b = {.max = TT_MAX_METADATA};
    jb_object(&b, obj);
    char *s = jb_finish(&b);
    if (s == NULL)
        return b.rc == TT_ETOOBIG ? tti_err(err, errlen, TT_ETOOBIG,
                                            "metadata: larger than %d bytes", TT_MAX_METADATA)
                                  : tti_err(err, errlen, TT_ENOMEM, "metadata: out of memory");
    *out = s;
    *outlen = b.len;
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

int tti_metadata_normalize(const char *in, size_t len, char **out, char *err, size_t errlen)
{
    json_error_t je;
    size_t n;
    if (in == NULL || out == NULL)
        return tti_err(err, errlen, TT_EMISUSE, "metadata: NULL");
    if (len > MAX_METADATA_INPUT)
        return tti_err(err, errlen, TT_ETOOBIG, "metadata: larger than %u bytes of input",
                       MAX_METADATA_INPUT);
    /* JSON_DECODE_ANY so a scalar gets "must be a JSON object", not a syntax error. */
    json_t *root = json_loadb(in, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (root == NULL)
        return load_error(&je, "metadata", err, errlen);
    int rc = json_is_object(root)
                 ? metadata_text(root, out, &n, err, errlen)
                 : tti_err(err, errlen, TT_EINVAL, "metadata: must be a JSON object (got %s)",
                           type_name(root));
    json_decref(root);
    return rc;
}

/* ---- Parsing an event -------------------------------------------------------------------- */

enum field_kind { KIND_STRING, KIND_METADATA, KIND_TIME };

typedef struct json_field {
    const char *name;
    size_t off; /* of the string member; unused for occurred_at */
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
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

/* What one event object holds: strings borrowed from the jansson tree, metadata owned. */
typedef struct parsed {
    const char *str[N_FIELDS];
    size_t len[N_FIELDS];
    char *metadata;
    int64_t occurred_at_us;
} parsed;

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
    int rc = metadata_text(v, &p->metadata, &p->len[i], err, errlen);
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
        if (p->str[i] == NULL)
            continue;
        memcpy(q, p->str[i], p->len[i]);
        q[p->len[i]] = '\0';
        *(const char **)((char *)ev + fields[i].off) = q;
        q += p->len[i] + 1;
    }
    ev->occurred_at_us = p->occurred_at_us;
    *owner = block;
    return TT_OK;
}

int tt_event_parse_json(const char *json, size_t len, tt_event *out, void **owner, char *err,
                        size_t errlen)
{
    json_error_t je;
    parsed p = {.occurred_at_us = TT_TIME_NONE};
    tt_event ev;
    void *block = NULL;
    if (json == NULL || out == NULL || owner == NULL)
        return tti_err(err, errlen, TT_EMISUSE, "event: NULL argument");
    /* Duplicate keys are refused at every depth, metadata included. */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (root == NULL)
        return load_error(&je, "event", err, errlen);
    int rc = take_object(root, &p, err, errlen);
    if (rc == TT_OK && (rc = assemble(&p, &ev, &block)) != TT_OK)
        tti_err(err, errlen, rc, "event: out of memory");
    if (rc == TT_OK && (rc = tt_event_validate(&ev, err, errlen)) != TT_OK)
        free(block);
    if (rc == TT_OK) {
        *out = ev;
        *owner = block;
    }
    free(p.metadata);
    json_decref(root);
    return rc;
}

/* ---- Writing an event -------------------------------------------------------------------- */

static void jb_member(jbuf *b, const char *name, const char *s)
{
    jb_put(b, ",\"", 2);
    jb_lit(b, name);
    jb_put(b, "\":", 2);
    if (s == NULL)
        jb_lit(b, "null");
    else
        jb_str(b, s, strlen(s));
}

static void jb_time(jbuf *b, const char *name, int64_t us)
{
    char ts[TT_TS_LEN + 1];
    if (us == TT_TIME_NONE)
        ts[0] = '\0';
    else
        tt_time_format(us, ts);
    jb_member(b, name, us == TT_TIME_NONE ? NULL : ts);
}

/* Stored metadata goes out byte for byte, as an object, when it parses as one (it always
 * should); otherwise as a string, so a damaged store still yields valid JSON. */
static void jb_metadata(jbuf *b, const char *s)
{
    json_error_t je;
    json_t *v = s != NULL ? json_loads(s, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (json_is_object(v)) {
        jb_put(b, ",\"metadata\":", 12);
        jb_lit(b, s);
    } else {
        jb_member(b, "metadata", s);
    }
    json_decref(v);
}

char *tt_event_to_json(const tt_event *ev)
{
    char hex[2 * TT_HASH_SIZE + 1];
    jbuf b = {.max = SIZE_MAX / 2};
    if (ev == NULL)
        return NULL;
    jb_lit(&b, "{\"seq\":");
    jb_int(&b, (long long)ev->seq);
    jb_time(&b, "ts", ev->ts_us);
    jb_member(&b, "entity", ev->entity);
    jb_member(&b, "entity_id", ev->entity_id);
    jb_member(&b, "event_type", ev->event_type);
    jb_member(&b, "actor", ev->actor);
    jb_member(&b, "old_status", ev->old_status);
    jb_member(&b, "new_status", ev->new_status);
    jb_member(&b, "reason", ev->reason);
    jb_metadata(&b, ev->metadata);
    jb_time(&b, "occurred_at", ev->occurred_at_us);
    jb_member(&b, "idempotency_key", ev->idempotency_key);
    tti_hex_encode(ev->leaf_hash, TT_HASH_SIZE, hex);
    jb_member(&b, "leaf_hash", hex);
    jb_put(&b, "}", 1);
    return jb_finish(&b);
}
