/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Well-formedness of strategy YAML (SPEC 6.1) with libyaml: the only file that includes
 * yaml.h. The whole stream is parsed event by event (no document tree is built), so the
 * check costs memory proportional to nesting depth, not to the document.
 */
#include <string.h>
#include <yaml.h>

#include "core/event.h"
#include "domain/strategy_internal.h"
#include "tradetrail.h"
#include "util/err.h"

int tti_yaml_check(const char *text, size_t len, char *err, size_t errlen)
{
    if (text == NULL || len == 0)
        return tti_err(err, errlen, TT_EINVAL, "yaml: must not be empty");
    if (len > TT_MAX_STRATEGY_YAML)
        return tti_err(err, errlen, TT_EINVAL, "yaml: at most %d bytes (got %zu)",
                       TT_MAX_STRATEGY_YAML, len);
    /* libyaml stops at NUL as a "control character" error; say it plainly instead. */
    if (memchr(text, '\0', len) != NULL)
        return tti_err(err, errlen, TT_EINVAL, "yaml: contains a NUL byte");
    /* Versions are served as JSON strings: UTF-8 only (libyaml would also take a UTF-16
     * stream announced by a byte-order mark). */
    if (!tti_utf8_valid(text, len))
        return tti_err(err, errlen, TT_EINVAL, "yaml: not valid UTF-8");
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return tti_err(err, errlen, TT_ENOMEM, "yaml: out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    int rc = TT_OK, done = 0;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            if (p.error == YAML_MEMORY_ERROR)
                rc = tti_err(err, errlen, TT_ENOMEM, "yaml: out of memory");
            else
                rc = tti_err(err, errlen, TT_EINVAL, "yaml: line %zu, column %zu: %s%s%s",
                             p.problem_mark.line + 1, p.problem_mark.column + 1,
                             p.problem ? p.problem : "malformed", p.context ? " " : "",
                             p.context ? p.context : "");
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}
