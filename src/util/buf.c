/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer with a maximum size, and JSON string escaping. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        b->failed = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = 1;
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
        return b->failed = 1, -1;
    if ((size_t)n < sizeof small)
        return tti_buf_add(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (big == NULL)
        return b->failed = 1, -1;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = tti_buf_add(b, big, (size_t)n);
    free(big);
    return rc;
}

int tti_buf_json_str(tti_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (tti_buf_add(b, "\"", 1) != 0)
        return -1;
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
            continue;
        tti_buf_add(b, run, (size_t)(s - run));
        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            esc[2] = 0;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
            esc[2] = 0;
        }
        tti_buf_adds(b, esc);
        run = s + 1;
    }
    tti_buf_add(b, run, (size_t)(s - run));
    return tti_buf_add(b, "\"", 1);
}

char *tti_buf_take(tti_buf *b)
{
    char *d = b->data;
    if (d == NULL)
        d = calloc(1, 1);
    memset(b, 0, sizeof *b);
    return d;
}
