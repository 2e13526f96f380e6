/* SPDX-License-Identifier: Apache-2.0 */
/* Error messages: printf-style formatting into a caller's bounded buffer. */
#ifndef TT_UTIL_ERR_H
#define TT_UTIL_ERR_H

#include <stddef.h>

/* Write a formatted message into err (errlen bytes, NUL-terminated, truncated with "...");
 * does nothing when err is NULL or errlen is 0. Returns rc so callers can
 * `return tti_err(err, errlen, TT_EINVAL, "...")`. */
int tti_err(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
