/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the trading-domain parsers: strategy request bodies
 * (tt_strategy_request_parse, every kind), POST /api/feedback and /api/actions bodies, the
 * strategy YAML well-formedness check (tti_yaml_check, libyaml) and the small name parsers.
 * The first input byte picks the parser (mod 10), the rest is its input; for YAML a first
 * byte of 128 or more repeats the input to 256 KiB first, so the depth and anchor limits
 * are fuzzed at a size where a slow path shows. Beyond not crashing: a
 * failure leaves the out-parameters alone and says why; an accepted body has every field
 * its kind requires and none it does not allow, as valid UTF-8; names parse back to
 * themselves.
 */
#include "fuzz.h"

#include <math.h>

#include "tradetrail.h"
#include "domain/yaml.h"

static char sentinel;

static int utf8_or_null(const char *s)
{
    return s == NULL || tt_utf8_valid(s, strlen(s));
}

static void strategy_request(const char *json, size_t len, tt_strategy_request_kind kind)
{
    tt_strategy_request r, untouched;
    void *owner = &sentinel;
    char err[512];
    memset(&r, 0x5A, sizeof r);
    untouched = r;
    int rc = tt_strategy_request_parse(json, len, kind, &r, &owner, err, sizeof err);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EINVAL || rc == TT_EPARSE);
        FUZZ_CHECK(memcmp(&r, &untouched, sizeof r) == 0 && owner == &sentinel);
        FUZZ_CHECK_ERRMSG(err);
        return;
    }
    const tt_strategy_spec *c = &r.create;
    const tt_strategy_swap_spec *s = &r.swap;
    int create = kind == TT_STRATEGY_REQ_CREATE, swap = kind == TT_STRATEGY_REQ_SWAP;
    FUZZ_CHECK(owner != &sentinel && c->actor != NULL);
    FUZZ_CHECK(s->actor == c->actor && s->reason == c->reason);
    FUZZ_CHECK((c->name != NULL) == create && (c->symbol != NULL) == create &&
               (c->timeframe != NULL) == create);
    FUZZ_CHECK(create || c->id == NULL);
    FUZZ_CHECK((c->yaml != NULL) == (create || kind == TT_STRATEGY_REQ_YAML));
    FUZZ_CHECK(c->yaml == NULL || strlen(c->yaml) == c->yaml_len);
    FUZZ_CHECK((r.version >= 1) == (kind == TT_STRATEGY_REQ_ROLLBACK));
    if (kind == TT_STRATEGY_REQ_STATUS)
        FUZZ_CHECK(tt_strategy_status_name(r.status) != NULL);
    FUZZ_CHECK((s->old_id != NULL) == swap && (s->new_id != NULL) == swap);
    FUZZ_CHECK(swap || (s->swap_reason == NULL && !s->has_old_score && !s->has_new_score));
    FUZZ_CHECK(!s->has_old_score || isfinite(s->old_score));
    FUZZ_CHECK(!s->has_new_score || isfinite(s->new_score));
    const char *all[] = {c->id,     c->name,   c->symbol, c->yaml,        c->actor,
                         c->reason, s->old_id, s->new_id, s->swap_reason, c->timeframe};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        FUZZ_CHECK(utf8_or_null(all[i]));
    tt_free(owner);
}

static void feedback(const char *json, size_t len)
{
    tt_feedback_input in, untouched;
    void *owner = &sentinel;
    char err[512];
    memset(&in, 0x5A, sizeof in);
    untouched = in;
    int rc = tt_feedback_parse_json(json, len, &in, &owner, err, sizeof err);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EINVAL || rc == TT_EPARSE);
        FUZZ_CHECK(memcmp(&in, &untouched, sizeof in) == 0 && owner == &sentinel);
        FUZZ_CHECK_ERRMSG(err);
        return;
    }
    FUZZ_CHECK(in.strategy_id != NULL && in.user_id != NULL);
    FUZZ_CHECK(utf8_or_null(in.strategy_id) && utf8_or_null(in.user_id) &&
               utf8_or_null(in.benchmark));
    FUZZ_CHECK(isfinite(in.ai_return) && isfinite(in.benchmark_return));
    tt_free(owner);
}

static void action(const char *json, size_t len)
{
    const char *message = &sentinel, *source = &sentinel;
    void *owner = &sentinel;
    char err[512];
    int rc = tt_action_parse_json(json, len, &message, &source, &owner, err, sizeof err);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EINVAL || rc == TT_EPARSE);
        FUZZ_CHECK(message == &sentinel && source == &sentinel && owner == &sentinel);
        FUZZ_CHECK_ERRMSG(err);
        return;
    }
    FUZZ_CHECK(message != NULL && utf8_or_null(message) && utf8_or_null(source));
    tt_free(owner);
}

/* Open flow collections at the start of text, before anything else but spaces. */
static size_t leading_opens(const char *text, size_t len)
{
    size_t depth = 0;
    for (size_t i = 0; i < len && (text[i] == '[' || text[i] == '{' || text[i] == ' '); i++)
        depth += text[i] != ' ';
    return depth;
}

static void yaml(const char *text, size_t len)
{
    char err[512];
    int rc = tti_yaml_check(text, len, err, sizeof err);
    /* Deeper than the limit is refused whatever follows (issue 13 item 4). */
    if (leading_opens(text, len) > TTI_YAML_MAX_DEPTH)
        FUZZ_CHECK(rc == TT_EINVAL);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EINVAL);
        FUZZ_CHECK_ERRMSG(err);
        return;
    }
    FUZZ_CHECK(len > 0 && tt_utf8_valid(text, len) && memchr(text, '\0', len) == NULL);
}

/* The input repeated to 256 KiB: nesting, anchors and aliases at a size where anything
 * worse than linear in the document blows libFuzzer's per-input timeout (fuzz/run.sh: 10 s;
 * 200 KB of `[` took 19 s before the depth limit). */
#define YAML_AMPLIFIED (256 * 1024)

static void yaml_amplified(const char *text, size_t len)
{
    if (len == 0)
        return;
    char *big = malloc(YAML_AMPLIFIED);
    if (big == NULL)
        return;
    for (size_t i = 0; i < YAML_AMPLIFIED; i++)
        big[i] = text[i % len];
    yaml(big, YAML_AMPLIFIED);
    free(big);
}

/* Every name parser: whatever parses names itself exactly. */
static void names(const char *s)
{
    tt_strategy_status st;
    tt_outcome o;
    tt_period p;
    tt_role role;
    if (tt_strategy_status_parse(s, &st) == TT_OK)
        FUZZ_CHECK(fuzz_str_eq(tt_strategy_status_name(st), s));
    if (tt_outcome_parse(s, &o) == TT_OK)
        FUZZ_CHECK(fuzz_str_eq(tt_outcome_name(o), s));
    if (tt_period_parse(s, &p) == TT_OK)
        FUZZ_CHECK(fuzz_str_eq(tt_period_name(p), s));
    if (tt_role_parse(s, &role) == TT_OK)
        FUZZ_CHECK(fuzz_str_eq(tt_role_name(role), s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned which = data[0] % 10;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (which <= TT_STRATEGY_REQ_STATUS) {
        strategy_request(text, len, (tt_strategy_request_kind)which);
    } else if (which == 6) {
        feedback(text, len);
    } else if (which == 7) {
        action(text, len);
    } else if (which == 8 && data[0] >= 128) {
        yaml_amplified(text, len);
    } else if (which == 8) {
        yaml(text, len);
    } else {
        char *s = fuzz_strdup(data + 1, len);
        names(s);
        free(s);
    }
    return 0;
}
