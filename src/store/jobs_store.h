/* SPDX-License-Identifier: Apache-2.0 */
/* Store operations of the jobs work (SPEC 7). */
#ifndef TT_STORE_JOBS_STORE_H
#define TT_STORE_JOBS_STORE_H

#include "store/store.h"

struct tti_jobs_ops {
    int placeholder; /* filled by the jobs work */
};

#endif
