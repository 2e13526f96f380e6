/* SPDX-License-Identifier: Apache-2.0 */
/* Error messages: printf-style formatting into a caller's bounded buffer. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tti_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* Say so when a message did not fit rather than cutting it silently. */
    if (n >= 0 && (size_t)n >= errlen && errlen > 4)
        memcpy(err + errlen - 4, "...", 4);
    return rc;
}
