/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ownership of the records a store hands back (tokens, strategies and versions, feedback,
 * outbox rows): how to free them, the names of their enumerated fields, and how a backend
 * grows the array it fills row by row.
 * It lives below the store so that a backend never calls up into src/domain to release
 * what it allocated, and a second backend shares the same code.
 */
#ifndef TT_STORE_RECORDS_H
#define TT_STORE_RECORDS_H

#include <stddef.h>

#include "tradetrail.h"

/* The names of record fields stored as text. tti_strategy_status_from is
 * tt_strategy_status_parse without the error message (the store has no ledger to report
 * to): TT_EINVAL for an unknown name or NULL. */
int tti_strategy_status_from(const char *s, tt_strategy_status *out);

/* Free the strings of one record (not the struct) and zero it. Accept NULL. */
void tti_strategy_clear(tt_strategy *s);
void tti_strategy_version_clear(tt_strategy_version *v);
void tti_feedback_clear(tt_feedback *f);
void tti_token_info_clear(tt_token_info *t);
void tti_count_clear(tt_count *c);

/*
 * Make room for element n in *arr (elements of elem bytes, *cap of them allocated): the
 * capacity doubles from first, so filling n rows costs O(n) copies. TT_OK, or TT_ENOMEM
 * with *arr and *cap untouched.
 */
int tti_rows_reserve(void **arr, size_t *cap, size_t n, size_t elem, size_t first);

/* Free an array of n records with the clear function of its element type. */
void tti_rows_free(void *arr, size_t n, size_t elem, void (*clear)(void *));

#endif
