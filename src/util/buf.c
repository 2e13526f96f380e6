/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer with a maximum size, and the one JSON writer (strings, numbers). */
#include "util/buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/utf8.h"

void tti_buf_init(tti_buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

void tti_buf_free(tti_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void tti_buf_reset(tti_buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int grow(tti_buf *b, size_t need)
{
    if (need > b->max) {
        b->failed = TTI_BUF_TOOBIG;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = TTI_BUF_NOMEM;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int tti_buf_add(tti_buf *b, const void *p, size_t n)
{
    if (b->failed)
        return -1;
    if (b->len + n + 1 > b->cap && grow(b, b->len + n) != 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int tti_buf_adds(tti_buf *b, const char *s)
{
    return tti_buf_add(b, s, strlen(s));
}

int tti_buf_printf(tti_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return b->failed = TTI_BUF_NOMEM, -1;
    if ((size_t)n < sizeof small)
        return tti_buf_add(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (big == NULL)
        return b->failed = TTI_BUF_NOMEM, -1;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = tti_buf_add(b, big, (size_t)n);
    free(big);
    return rc;
}

int tti_buf_json_strn(tti_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int lossy = !tti_utf8_valid(s, n);
    size_t run = 0;
    tti_buf_add(b, "\"", 1);
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
        tti_buf_add(b, s + run, i - run);
        tti_buf_add(b, esc, elen);
        run = i + 1;
    }
    tti_buf_add(b, s + run, n - run);
    return tti_buf_add(b, "\"", 1);
}

int tti_buf_json_str(tti_buf *b, const char *s)
{
    return s == NULL ? tti_buf_add(b, "null", 4) : tti_buf_json_strn(b, s, strlen(s));
}

int tti_buf_json_int(tti_buf *b, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", v);
    return tti_buf_add(b, tmp, (size_t)n);
}

/*
 * The shortest correctly rounded decimal (1 to 17 significant digits) that reads back as
 * d: its digits without trailing zeros (*nd of them) and the exponent of the first one.
 * For a normal double the search starts at 15 digits: any decimal of at most 15 (DBL_DIG)
 * significant digits survives the round trip, so when the shortest has k <= 15 digits the
 * 15-digit rounding is those k digits padded with zeros, which are stripped below; and
 * when 15 digits do not read back, neither do fewer. Subnormals have fewer bits, so they
 * search from 1. (Checked against the search from 1 on 3 million doubles.)
 */
static void shortest_digits(double d, char dig[18], int *nd, int *exp)
{
    char tmp[40];
    for (int p = isnormal(d) ? 15 : 1;; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
        if (p == 17 || strtod(tmp, NULL) == d)
            break;
    }
    /* "[-]d[.ddd]e+XX": skip the sign and the locale's decimal point, whatever it is. */
    const char *s = tmp;
    *nd = 0;
    for (; *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            dig[(*nd)++] = *s;
    *exp = (int)strtol(s + 1, NULL, 10);
    while (*nd > 1 && dig[*nd - 1] == '0')
        (*nd)--;
}

/* Written like Python's repr() so that json.dumps(..., separators=(",", ":"),
 * ensure_ascii=False) reproduces stored metadata (jansson's "%.17g" would store 0.1 as
 * 0.10000000000000001). */
int tti_buf_json_real(tti_buf *b, double d)
{
    char dig[18], out[48];
    int nd, exp, o = 0;
    if (!isfinite(d))
        return tti_buf_add(b, "null", 4);
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
    return tti_buf_add(b, out, (size_t)o);
}

char *tti_buf_take(tti_buf *b)
{
    char *d = b->data;
    if (d == NULL)
        d = calloc(1, 1);
    memset(b, 0, sizeof *b);
    return d;
}

/* ---- indented JSON ---- */

void tti_jw_init(tti_jw *w, tti_buf *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
}

static void indent(tti_jw *w)
{
    tti_buf_adds(w->b, "\n");
    for (int i = 0; i < w->depth; i++)
        tti_buf_adds(w->b, "  ");
}

void tti_jw_key(tti_jw *w, const char *key)
{
    if (w->depth == 0)
        return; /* the top-level value */
    if (w->n[w->depth - 1]++ > 0)
        tti_buf_adds(w->b, ",");
    indent(w);
    if (key != NULL) {
        tti_buf_json_str(w->b, key);
        tti_buf_adds(w->b, ": ");
    }
}

void tti_jw_open(tti_jw *w, const char *key, char brace)
{
    tti_jw_key(w, key);
    tti_buf_add(w->b, &brace, 1);
    if (w->depth >= TTI_JW_DEPTH) {
        w->b->failed = TTI_BUF_TOOBIG;
        return;
    }
    w->n[w->depth++] = 0;
}

void tti_jw_close(tti_jw *w, char brace)
{
    if (w->depth == 0) {
        w->b->failed = TTI_BUF_TOOBIG;
        return;
    }
    w->depth--;
    if (w->n[w->depth] > 0)
        indent(w);
    tti_buf_add(w->b, &brace, 1);
}

void tti_jw_str(tti_jw *w, const char *key, const char *s)
{
    tti_jw_key(w, key);
    tti_buf_json_str(w->b, s);
}

void tti_jw_int(tti_jw *w, const char *key, long long v)
{
    tti_jw_key(w, key);
    tti_buf_json_int(w->b, v);
}

void tti_jw_hex(tti_jw *w, const char *key, const unsigned char *p, size_t n)
{
    tti_jw_key(w, key);
    if (p == NULL) {
        tti_buf_adds(w->b, "null");
        return;
    }
    char hex[2 * 64 + 1];
    tti_buf_adds(w->b, "\"");
    for (size_t i = 0; i < n; i += 64) {
        size_t k = n - i < 64 ? n - i : 64;
        tti_hex_encode(p + i, k, hex);
        tti_buf_add(w->b, hex, 2 * k);
    }
    tti_buf_adds(w->b, "\"");
}
