/* SPDX-License-Identifier: Apache-2.0 */
/* Integers from text: the one decimal parser behind every numeric parameter and flag of
 * the front ends (query strings, CLI arguments) and the query parser (tt_parse_int). */
#include <errno.h>
#include <stdlib.h>

#include "tradetrail.h"

int tt_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL || out == NULL)
        return TT_EINVAL;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < min || x > max)
        return TT_EINVAL;
    *out = x;
    return TT_OK;
}
