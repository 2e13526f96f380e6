/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The well-formedness check of strategy YAML (SPEC 6.1), behind libyaml in yaml.c: used by
 * the strategy lifecycle, the fuzz target and the unit tests.
 */
#ifndef TT_DOMAIN_YAML_H
#define TT_DOMAIN_YAML_H

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

#endif
