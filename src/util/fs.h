/* SPDX-License-Identifier: Apache-2.0 */
/* Directories: creating a path with its missing parents, private to the user. */
#ifndef TT_UTIL_FS_H
#define TT_UTIL_FS_H

#include <stddef.h>

/* mkdir -p with mode 0700 (masked by the umask) for each directory it creates; an existing
 * one is fine. TT_EINVAL for an empty or over-long path, TT_EIO naming the directory that
 * could not be made. */
int tti_mkdir_p(const char *dir, char *err, size_t errlen);

#endif
