/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer created with its maximum (curl's dynbuf idea), and the project's
 * one JSON writer: every JSON text tradetrail prints or stores escapes strings and writes
 * numbers through these functions (docs/FORMAT.md section 3). */
#ifndef TT_UTIL_BUF_H
#define TT_UTIL_BUF_H

#include <stddef.h>

typedef struct tti_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max;
    int failed; /* an append failed (TTI_BUF_NOMEM or TTI_BUF_TOOBIG): content incomplete */
} tti_buf;

#define TTI_BUF_NOMEM 1
#define TTI_BUF_TOOBIG 2

void tti_buf_init(tti_buf *b, size_t max);
void tti_buf_free(tti_buf *b);
void tti_buf_reset(tti_buf *b);
/* 0, or -1 (and b->failed set) when out of memory or beyond max. */
int tti_buf_add(tti_buf *b, const void *p, size_t n);
int tti_buf_adds(tti_buf *b, const char *s);
int tti_buf_printf(tti_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Append s[0..n) as a JSON string literal (docs/FORMAT.md section 3): '"' and '\' escaped,
 * U+0008/9/A/C/D as \b \t \n \f \r, other characters below U+0020 as \u00xx (lowercase
 * hex), everything else, including DEL and non-ASCII, as is. Text that is not valid UTF-8
 * has its bytes >= 0x80 replaced by U+FFFD, so the output is always valid JSON.
 */
int tti_buf_json_strn(tti_buf *b, const char *s, size_t n);
/* The same for a NUL-terminated string; NULL is written as null. */
int tti_buf_json_str(tti_buf *b, const char *s);
/* A double as Python's repr() writes it (docs/FORMAT.md section 3): the shortest digits
 * that read back as d, positional with at least one fractional digit when
 * 1e-4 <= |d| < 1e16, else d[.ddd]e+XX. Not finite: null. */
int tti_buf_json_real(tti_buf *b, double d);
/* A 64-bit integer in decimal. */
int tti_buf_json_int(tti_buf *b, long long v);
/* Take ownership of the data (caller frees); the buffer is reset. */
char *tti_buf_take(tti_buf *b);

#endif
