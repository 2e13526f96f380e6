/* SPDX-License-Identifier: Apache-2.0 */
/* Store operations for AI feedback, summaries and analytics (SPEC 6.2, 6.4). */
#ifndef TT_STORE_DOMAIN_STORE_H
#define TT_STORE_DOMAIN_STORE_H

#include "store/store.h"

struct tti_domain_ops {
    int placeholder; /* the feedback, summary and analytics work fills this table */
};

#endif
