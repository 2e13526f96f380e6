/* SPDX-License-Identifier: Apache-2.0 */
/* Directories the ledger writes into: the data directory, archive and export directories,
 * and a named ledger's archive subdirectory, each created with its missing parents. */
#include "util/fs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "tradetrail.h"
#include "util/err.h"

int tti_mkdir_p(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path)
        return tti_err(err, errlen, TT_EINVAL, "directory path is empty or too long");
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return tti_err(err, errlen, TT_EIO, "cannot create directory %s: %s", path,
                           strerror(errno));
        path[i] = c;
    }
    return TT_OK;
}
