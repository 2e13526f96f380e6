/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Thread names. Linux gives a new thread its creator's name, so without them the commit
 * thread, which the first request handler starts, showed up as one more "MHD-worker" in
 * `top -H` and in profiles, where it is the thread that matters most
 * (docs/PERFORMANCE.md, docs/OPERATIONS.md).
 */
#include <pthread.h>

#include "util/thread.h"

void tti_thread_name(const char *name)
{
    /* A name only labels the thread for people and tools: failing to set one (a name too
     * long, a platform without names) changes nothing else, so the result is not needed. */
    (void)pthread_setname_np(pthread_self(), name);
}
