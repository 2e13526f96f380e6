/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The line diff of two texts (diff.c), for comparing strategy versions (SPEC 6.1).
 */
#ifndef TT_DOMAIN_DIFF_H
#define TT_DOMAIN_DIFF_H

#include <stddef.h>

/*
 * The unified diff of two texts, line by line (Myers' O(ND) algorithm in linear space),
 * with `context` lines of context around each change, headers "--- label_a" and
 * "+++ label_b", and "\ No newline at end of file" where a text ends without one. "" when
 * the texts are equal. *out is malloc'ed; TT_ENOMEM on allocation failure.
 */
int tti_diff_unified(const char *a, size_t alen, const char *b, size_t blen, const char *label_a,
                     const char *label_b, unsigned context, char **out);

#endif
