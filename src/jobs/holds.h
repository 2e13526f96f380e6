/* SPDX-License-Identifier: Apache-2.0 */
/* Legal holds as the other files of src/jobs read them (holds.c; SPEC 8). */
#ifndef TT_JOBS_HOLDS_H
#define TT_JOBS_HOLDS_H

#include "ledger/ledger.h"

/* tt_hold_list read through store s, inside a transaction the caller holds (retention
 * reads the holds in the write transaction that removes bodies). */
int tti_hold_list_on(tt_ledger *l, tti_store *s, tt_hold **out, size_t *n_out);

#endif
