/* SPDX-License-Identifier: Apache-2.0 */
/* Store operations for strategies and their YAML versions (SPEC 6.1). */
#ifndef TT_STORE_STRATEGY_STORE_H
#define TT_STORE_STRATEGY_STORE_H

#include "store/store.h"

struct tti_strategy_ops {
    int placeholder; /* the strategy lifecycle work fills this table */
};

#endif
