/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal helpers of the strategy lifecycle shared by src/domain/strategy*.c, yaml.c and
 * diff.c (and the unit tests, which link the static library): the YAML check behind
 * libyaml and the line diff.
 */
#ifndef TT_DOMAIN_STRATEGY_INTERNAL_H
#define TT_DOMAIN_STRATEGY_INTERNAL_H

#include <stddef.h>

/* Collections nested deeper than this are refused: a strategy's YAML needs a handful. */
#define TTI_YAML_MAX_DEPTH 64

/*
 * Parse text[0..len) as a YAML stream with libyaml, every event to the end. TT_OK when
 * well-formed; TT_EINVAL with "yaml: line L, column C: <problem>" in err otherwise (also for
 * empty input, a NUL byte, more than TT_MAX_STRATEGY_YAML bytes, collections nested more
 * than TTI_YAML_MAX_DEPTH deep, an alias naming no anchor defined before it in its document,
 * or more than 256 anchors in one document). Time and memory are linear in len.
 */
int tti_yaml_check(const char *text, size_t len, char *err, size_t errlen);

/*
 * The unified diff of two texts, line by line (Myers' O(ND) algorithm in linear space),
 * with `context` lines of context around each change, headers "--- label_a" and
 * "+++ label_b", and "\ No newline at end of file" where a text ends without one. "" when
 * the texts are equal. *out is malloc'ed; TT_ENOMEM on allocation failure.
 */
int tti_diff_unified(const char *a, size_t alen, const char *b, size_t blen, const char *label_a,
                     const char *label_b, unsigned context, char **out);

#endif
