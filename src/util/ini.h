/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal INI reader for tradetrail.conf: `key = value` lines, `#`/`;` comments,
 * optional [sections] (ignored, keys are global), surrounding quotes removed. */
#ifndef TT_UTIL_INI_H
#define TT_UTIL_INI_H

#include <stddef.h>

/* Called for every key; return non-zero to stop with that status. */
typedef int (*tti_ini_fn)(void *ctx, const char *key, const char *value, int line);

/* Read path and call fn per key. TT_ENOTFOUND when the file does not exist, TT_EPARSE with
 * the line number in err for a malformed line, TT_EIO on a read error. */
int tti_ini_load(const char *path, tti_ini_fn fn, void *ctx, char *err, size_t errlen);

#endif
