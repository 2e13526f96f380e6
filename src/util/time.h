/* SPDX-License-Identifier: Apache-2.0 */
/* Time helpers below the public tt_time_* (src/util/time.c): UTC civil-date arithmetic that
 * needs no time zone (time parsing, cron expressions), and deadlines for the threads that
 * wait on a condition variable (the server's ticker, scheduler and notification worker). */
#ifndef TT_UTIL_TIME_H
#define TT_UTIL_TIME_H

#include <stdint.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant,
 * "chrono-compatible low-level date algorithms"); the days of month m (1..12) of year y. */
int64_t tti_days_from_civil(int64_t y, unsigned m, unsigned d);
void tti_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
unsigned tti_days_in_month(int64_t y, unsigned m);

/* The CLOCK_REALTIME instant us microseconds after the epoch, as pthread_cond_timedwait
 * takes it. */
struct timespec tti_timespec_at(int64_t us);

/* The CLOCK_REALTIME instant ms milliseconds from now. */
struct timespec tti_deadline_ms(int64_t ms);

#endif
