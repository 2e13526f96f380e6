/* SPDX-License-Identifier: Apache-2.0 */
/* Pieces of the result shapes (json_out.c) that other JSON shapes of the library share. */
#ifndef TT_CORE_JSON_OUT_H
#define TT_CORE_JSON_OUT_H

#include <stddef.h>

#include "tradetrail.h"
#include "util/buf.h"

/* {"name":count,...} in the order given (stats, summaries). */
void tti_json_counts(tti_buf *b, const tt_count *c, size_t n);

#endif
