/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer created with its maximum (curl's dynbuf idea), and JSON string
 * escaping, for building responses without a JSON library in the front ends. */
#ifndef TT_UTIL_BUF_H
#define TT_UTIL_BUF_H

#include <stddef.h>

typedef struct tti_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max;
    int failed; /* an append failed (out of memory or over max): the content is incomplete */
} tti_buf;

void tti_buf_init(tti_buf *b, size_t max);
void tti_buf_free(tti_buf *b);
void tti_buf_reset(tti_buf *b);
/* 0, or -1 (and b->failed set) when out of memory or beyond max. */
int tti_buf_add(tti_buf *b, const void *p, size_t n);
int tti_buf_adds(tti_buf *b, const char *s);
int tti_buf_printf(tti_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal with quotes (control characters escaped). */
int tti_buf_json_str(tti_buf *b, const char *s);
/* Take ownership of the data (caller frees); the buffer is reset. */
char *tti_buf_take(tti_buf *b);

#endif
