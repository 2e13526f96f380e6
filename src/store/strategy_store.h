/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store operations for strategies and their YAML versions (SPEC 6.1). The domain code in
 * src/domain/strategy.c calls them inside the ledger's write transaction (from the hooks of
 * tti_ledger_append_tx), so a strategy row, its version and its event commit together.
 */
#ifndef TT_STORE_STRATEGY_STORE_H
#define TT_STORE_STRATEGY_STORE_H

#include "store/records.h"
#include "store/store.h"

struct tti_strategy_ops {
    /* Insert a new strategy row (every field of *st). TT_ECONFLICT when the id exists. */
    int (*insert)(tti_store *s, const tt_strategy *st);
    /* Fetch one strategy into *out (strings malloc'ed; release with tti_strategy_clear).
     * TT_ENOTFOUND when there is none. */
    int (*get)(tti_store *s, const char *id, tt_strategy *out);
    /* Set status, deleted flag, latest version number and update time of a strategy. */
    int (*update)(tti_store *s, const tt_strategy *st);
    /* Strategies matching f, by id; the array and its strings malloc'ed. */
    int (*list)(tti_store *s, const tt_strategy_filter *f, tt_strategy **out, size_t *n);
    /* Insert a version row; versions are immutable (the store refuses UPDATE and DELETE). */
    int (*version_insert)(tti_store *s, const tt_strategy_version *v);
    /* One version with content; TT_ENOTFOUND. */
    int (*version_get)(tti_store *s, const char *id, int64_t number, tt_strategy_version *out);
    /* Every version of a strategy, oldest first, without content. */
    int (*version_list)(tti_store *s, const char *id, tt_strategy_version **out, size_t *n);
};

#endif
