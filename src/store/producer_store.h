/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store operations of completeness per producer (SPEC 15): one row of state per producer
 * (its counter, when it was last heard from, whether its silence was recorded, and the
 * counts of gaps, repeats, restarts and silences). Read and written inside the write
 * transaction of the events they concern, so every process appending to the store shares it.
 */
#ifndef TT_STORE_PRODUCER_STORE_H
#define TT_STORE_PRODUCER_STORE_H

#include "store/store.h"

struct tti_producer_ops {
    /* The state of name; TT_ENOTFOUND when the producer is unknown. */
    int (*get)(tti_store *s, const char *name, tt_producer *out);
    /* Insert or replace the row of p->name. */
    int (*put)(tti_store *s, const tt_producer *p);
    /* Every producer in name order; *out malloc'ed (NULL when none). */
    int (*list)(tti_store *s, tt_producer **out, size_t *n);
};

#endif
