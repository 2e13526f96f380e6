/* SPDX-License-Identifier: Apache-2.0 */
/* Time helpers below the public tt_time_* (src/util/time.c): deadlines for the threads that
 * wait on a condition variable (the server's ticker, scheduler and notification worker). */
#ifndef TT_UTIL_TIME_H
#define TT_UTIL_TIME_H

#include <stdint.h>
#include <time.h>

/* The CLOCK_REALTIME instant us microseconds after the epoch, as pthread_cond_timedwait
 * takes it. */
struct timespec tti_timespec_at(int64_t us);

/* The CLOCK_REALTIME instant ms milliseconds from now. */
struct timespec tti_deadline_ms(int64_t ms);

#endif
