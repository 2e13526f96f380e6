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

/*
 * Indented JSON (the export and archive manifests, files people read): objects and arrays
 * laid out as jansson's JSON_INDENT(2) laid them out before this writer replaced it, so the
 * files keep their bytes: each member or element on its own line, two spaces a level,
 * `"key": value`, an empty object or array as {} or []. Strings and numbers go through the
 * writer above. Open with tti_jw_open (key NULL inside an array or at the top), add members
 * with tti_jw_key then a value, close with tti_jw_close. Errors stick to b->failed.
 */
#define TTI_JW_DEPTH 8
typedef struct tti_jw {
    tti_buf *b;
    int depth;
    int n[TTI_JW_DEPTH]; /* members written at each open level */
} tti_jw;

void tti_jw_init(tti_jw *w, tti_buf *b);
/* The separator and indentation before a member (key non-NULL: "key": ) or an element. */
void tti_jw_key(tti_jw *w, const char *key);
/* key then '{' or '['. */
void tti_jw_open(tti_jw *w, const char *key, char brace);
void tti_jw_close(tti_jw *w, char brace);
/* key then a string (NULL: null), an integer, or a hex string of n bytes (NULL: null). */
void tti_jw_str(tti_jw *w, const char *key, const char *s);
void tti_jw_int(tti_jw *w, const char *key, long long v);
void tti_jw_hex(tti_jw *w, const char *key, const unsigned char *p, size_t n);

/* Take ownership of the data (caller frees); the buffer is reset. */
char *tti_buf_take(tti_buf *b);

#endif
