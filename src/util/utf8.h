/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 checks shared by event validation, the JSON writer and the domain's text rules. */
#ifndef TT_UTIL_UTF8_H
#define TT_UTIL_UTF8_H

#include <stddef.h>

/* Offset of the first byte of s[0..len) that does not start a well-formed sequence, or len
 * when all of it is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
size_t tti_utf8_bad(const char *s, size_t len);

/* 1 when s[0..len) is valid UTF-8. */
int tti_utf8_valid(const char *s, size_t len);

/* Number of code points of a valid UTF-8 string. */
size_t tti_utf8_count(const char *s, size_t len);

#endif
