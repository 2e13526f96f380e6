/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An allocation-free JSON syntax scanner (RFC 8259): the first pass over a request body,
 * which bounds value counts and nesting before jansson allocates a node per value (a 16 MiB
 * array of zeros would otherwise take some 40 bytes of tree per input byte), and the check
 * that stored metadata is still one JSON object when it is written out verbatim.
 */
#include "core/json_scan.h"

#include "tradetrail.h"
#include "util/utf8.h"

static int fail(tti_jscan *s, int rc, const char *what)
{
    s->what = what;
    return rc;
}

void tti_jscan_init(tti_jscan *s, const char *text, size_t len)
{
    s->base = s->p = text;
    s->end = text + len;
    s->values = 0;
    s->max_values = (size_t)-1;
    s->max_depth = TTI_JSCAN_DEPTH;
    s->what = "";
}

void tti_jscan_ws(tti_jscan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int tti_jscan_string(tti_jscan *s)
{
    if (s->p >= s->end || *s->p != '"')
        return fail(s, TT_EPARSE, "string or '}' expected");
    for (s->p++; s->p < s->end; s->p++) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            return TT_OK;
        }
        if (c < 0x20)
            return fail(s, TT_EPARSE, "control character in a string");
        if (c != '\\')
            continue;
        if (++s->p >= s->end)
            break;
        switch (*s->p) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            break;
        case 'u':
            if (s->end - s->p < 5 || !is_hex(s->p[1]) || !is_hex(s->p[2]) || !is_hex(s->p[3]) ||
                !is_hex(s->p[4]))
                return fail(s, TT_EPARSE, "invalid \\u escape");
            s->p += 4;
            break;
        default:
            return fail(s, TT_EPARSE, "invalid escape");
        }
    }
    return fail(s, TT_EPARSE, "unterminated string");
}

static int digits(tti_jscan *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number(tti_jscan *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!digits(s))
        return fail(s, TT_EPARSE, "invalid number");
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!digits(s))
            return fail(s, TT_EPARSE, "invalid number");
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!digits(s))
            return fail(s, TT_EPARSE, "invalid number");
    }
    return TT_OK;
}

static int literal(tti_jscan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n)
        return fail(s, TT_EPARSE, "invalid token");
    for (size_t i = 0; i < n; i++)
        if (s->p[i] != word[i])
            return fail(s, TT_EPARSE, "invalid token");
    s->p += n;
    return TT_OK;
}

static int scalar(tti_jscan *s)
{
    switch (*s->p) {
    case '"':
        return tti_jscan_string(s);
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return number(s);
        return fail(s, TT_EPARSE, "invalid token");
    }
}

/* A member's key and its ':'; s->p at the key. */
static int member_key(tti_jscan *s)
{
    int rc = tti_jscan_string(s);
    if (rc != TT_OK)
        return rc;
    tti_jscan_ws(s);
    if (s->p >= s->end || *s->p != ':')
        return fail(s, TT_EPARSE, "':' expected");
    s->p++;
    tti_jscan_ws(s);
    return TT_OK;
}

/* Iterative, with the open containers on a stack: the depth a client can send costs no
 * C stack. */
int tti_jscan_value(tti_jscan *s)
{
    char open[TTI_JSCAN_DEPTH];
    unsigned depth = 0, max = s->max_depth < TTI_JSCAN_DEPTH ? s->max_depth : TTI_JSCAN_DEPTH;
    int rc;
    for (;;) {
        /* A value. */
        if (s->p >= s->end)
            return fail(s, TT_EPARSE, "unexpected end of input");
        if (++s->values > s->max_values)
            return fail(s, TT_ETOOBIG, "too many values");
        char c = *s->p;
        if (c == '{' || c == '[') {
            if (depth == max)
                return fail(s, TT_EINVAL, "nested too deeply");
            open[depth++] = c;
            s->p++;
            tti_jscan_ws(s);
            if (s->p < s->end && *s->p == (c == '{' ? '}' : ']')) {
                s->p++;
                depth--;
            } else if (c == '{') {
                if ((rc = member_key(s)) != TT_OK)
                    return rc;
                continue;
            } else {
                continue;
            }
        } else if ((rc = scalar(s)) != TT_OK) {
            return rc;
        }
        /* After a value: close containers until one continues with another value. */
        for (;;) {
            if (depth == 0)
                return TT_OK;
            tti_jscan_ws(s);
            if (s->p >= s->end)
                return fail(s, TT_EPARSE, "unexpected end of input");
            char close = open[depth - 1] == '{' ? '}' : ']';
            if (*s->p == close) {
                s->p++;
                depth--;
                continue;
            }
            if (*s->p != ',')
                return fail(s, TT_EPARSE,
                            close == '}' ? "',' or '}' expected" : "',' or ']' expected");
            s->p++;
            tti_jscan_ws(s);
            if (open[depth - 1] == '{' && (rc = member_key(s)) != TT_OK)
                return rc;
            break;
        }
    }
}

void tti_jscan_pos(const tti_jscan *s, int *line, int *col)
{
    int l = 1, c = 1;
    for (const char *q = s->base; q < s->p && q < s->end; q++) {
        if (*q == '\n')
            l++, c = 1;
        else
            c++;
    }
    *line = l;
    *col = c;
}

int tti_json_is_object(const char *text, size_t len)
{
    tti_jscan s;
    tti_jscan_init(&s, text, len);
    tti_jscan_ws(&s);
    if (s.p >= s.end || *s.p != '{' || tti_jscan_value(&s) != TT_OK)
        return 0;
    tti_jscan_ws(&s);
    return s.p == s.end && tti_utf8_valid(text, len);
}
