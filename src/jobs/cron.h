/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the jobs files share about cron expressions (SPEC 7) beyond the public tt_cron_*:
 * whether one minute matches (the civil-date arithmetic is util/time.h's).
 */
#ifndef TT_JOBS_CRON_H
#define TT_JOBS_CRON_H

#include <stdint.h>

#include "tradetrail.h"

#define TTI_MINUTE_US INT64_C(60000000)
#define TTI_DAY_US INT64_C(86400000000)

/* Does the minute holding t_us match c (UTC)? */
int tti_cron_matches(const tt_cron *c, int64_t t_us);

#endif
