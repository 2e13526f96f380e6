/* SPDX-License-Identifier: Apache-2.0 */
/* Crash points for tests (failpoint.h): SIGKILL at the point TRADETRAIL_FAILPOINT names. */
#include "util/failpoint.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tti_failpoint(const char *name)
{
    const char *want = getenv("TRADETRAIL_FAILPOINT");
    if (want != NULL && strcmp(want, name) == 0)
        kill(getpid(), SIGKILL);
}
