/* SPDX-License-Identifier: Apache-2.0 */
/* A check shared by the unit tests of files people read as JSON (the export and archive
 * manifests). Include after <cmocka.h>. */
#ifndef TT_TEST_TESTJSON_H
#define TT_TEST_TESTJSON_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The manifests keep the layout jansson's JSON_INDENT(2) gave them before the one JSON
 * writer (tti_jw_*) replaced json_dumps (their bytes are hashed by whoever keeps them):
 * parsed and dumped again by jansson, text is the same, plus its final newline. */
static inline void tt_test_assert_jansson_layout(const char *text)
{
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    if (o == NULL)
        fail_msg("manifest: %s at line %d", e.text, e.line);
    char *d = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    assert_non_null(d);
    size_t n = strlen(d);
    assert_int_equal(strlen(text), n + 1);
    assert_memory_equal(text, d, n);
    assert_int_equal(text[n], '\n');
    free(d);
    json_decref(o);
}

#endif
