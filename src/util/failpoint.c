/* SPDX-License-Identifier: Apache-2.0 */
/* Crash and delay points for tests (failpoint.h), named by TRADETRAIL_FAILPOINT. */
#include "util/failpoint.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void tti_failpoint(const char *name)
{
    const char *want = getenv("TRADETRAIL_FAILPOINT");
    size_t n = strlen(name);
    if (want == NULL || strncmp(want, name, n) != 0)
        return;
    if (want[n] == '\0')
        kill(getpid(), SIGKILL);
    if (want[n] != '@')
        return;
    long ms = strtol(want + n + 1, NULL, 10);
    if (ms <= 0 || ms > 60000) /* a test's delay: a minute at most */
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}
