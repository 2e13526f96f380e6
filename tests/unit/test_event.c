/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the event model: every validation rule of SPEC 3.1 at its boundary, the
 * JSON mapping and metadata normalisation, and the leaf-byte known-answer vectors of
 * tests/vectors/leaf checked byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/event.h"
#include "tradetrail.h"
#include "util/buf.h"
#include "util/codec.h"

#ifndef TT_VECTORS_DIR
#error "TT_VECTORS_DIR must name tests/vectors"
#endif

/* ---- helpers ------------------------------------------------------------------------- */

static void minimal(tt_event *ev)
{
    tt_event_init(ev);
    ev->entity = "strategy";
    ev->entity_id = "s-1";
    ev->event_type = "ACTIVATED";
    ev->actor = "evaluator";
}

/* A string of n copies of unit (a UTF-8 character), freed by the caller. */
static char *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

static void expect_ok(const tt_event *ev)
{
    char err[256] = "";
    int rc = tt_event_validate(ev, err, sizeof err);
    if (rc != TT_OK)
        fail_msg("unexpected rejection: %s", err);
    assert_string_equal(err, "");
}

static void expect_reject(const tt_event *ev, int want, const char *substr)
{
    char err[256] = "";
    int rc = tt_event_validate(ev, err, sizeof err);
    if (rc != want || strstr(err, substr) == NULL)
        fail_msg("want %s with \"%s\", got %s: \"%s\"", tt_strerror(want), substr, tt_strerror(rc),
                 err);
}

/* Set the string member at off of a minimal event to s and validate. */
static void field_ok(size_t off, const char *s)
{
    tt_event ev;
    minimal(&ev);
    *(const char **)((char *)&ev + off) = s;
    expect_ok(&ev);
}

static void field_bad(size_t off, const char *s, int want, const char *substr)
{
    tt_event ev;
    minimal(&ev);
    *(const char **)((char *)&ev + off) = s;
    expect_reject(&ev, want, substr);
}

#define OFF(f) offsetof(tt_event, f)

/* ---- validation ---------------------------------------------------------------------- */

static void test_minimal_valid(void **state)
{
    (void)state;
    tt_event ev;
    minimal(&ev);
    expect_ok(&ev);
    assert_null(ev.reason);
    assert_true(ev.occurred_at_us == TT_TIME_NONE);
}

static void test_required_fields(void **state)
{
    (void)state;
    field_bad(OFF(entity), NULL, TT_EINVAL, "entity: required");
    field_bad(OFF(entity_id), NULL, TT_EINVAL, "entity_id: required");
    field_bad(OFF(event_type), NULL, TT_EINVAL, "event_type: required");
    field_bad(OFF(actor), NULL, TT_EINVAL, "actor: required");
    field_bad(OFF(entity), "", TT_EINVAL, "entity: must not be empty");
    field_bad(OFF(entity_id), "", TT_EINVAL, "entity_id: must not be empty");
    field_bad(OFF(event_type), "", TT_EINVAL, "event_type: must not be empty");
    field_bad(OFF(actor), "", TT_EINVAL, "actor: must not be empty");
}

static void test_entity(void **state)
{
    (void)state;
    char *max = repeat("a", 64), *over = repeat("a", 65);
    field_ok(OFF(entity), max);
    field_ok(OFF(entity), "a");
    field_ok(OFF(entity), "ai_feedback_2");
    field_bad(OFF(entity), over, TT_EINVAL, "entity: longer than 64 characters");
    field_bad(OFF(entity), "Strategy", TT_EINVAL,
              "entity: must match [a-z][a-z0-9_]{0,63} (got \"Strategy\")");
    field_bad(OFF(entity), "1abc", TT_EINVAL, "entity: must match");
    field_bad(OFF(entity), "_abc", TT_EINVAL, "entity: must match");
    field_bad(OFF(entity), "a-b", TT_EINVAL, "entity: must match");
    field_bad(OFF(entity), "a b", TT_EINVAL, "entity: must match");
    field_bad(OFF(entity), "caf\xc3\xa9", TT_EINVAL, "(got \"caf\xc3\xa9\")");
    field_bad(OFF(entity), "caf\xff", TT_EINVAL, "(got \"caf\\xff\")");
    /* A control character is shown escaped, so the message stays one clean line. */
    field_bad(OFF(entity), "a\n\"", TT_EINVAL, "(got \"a\\x0a\\x22\")");
    free(max);
    free(over);
}

static void test_event_type(void **state)
{
    (void)state;
    char *max = repeat("A", 64), *over = repeat("A", 65);
    field_ok(OFF(event_type), max);
    field_ok(OFF(event_type), "SWAPPED_OUT2");
    field_bad(OFF(event_type), over, TT_EINVAL, "event_type: longer than 64 characters");
    field_bad(OFF(event_type), "activated", TT_EINVAL,
              "event_type: must match [A-Z][A-Z0-9_]{0,63} (got \"activated\")");
    field_bad(OFF(event_type), "9X", TT_EINVAL, "event_type: must match");
    field_bad(OFF(event_type), "A-B", TT_EINVAL, "event_type: must match");
    free(max);
    free(over);
}

/* entity_id, actor, old/new_status and idempotency_key share the text rule. */
static void text_rule(size_t off, const char *name, size_t max)
{
    char want[128];
    char *ascii = repeat("x", max), *wide = repeat("\xe6\x9d\xb1", max); /* U+6771 */
    char *ascii_over = repeat("x", max + 1), *wide_over = repeat("\xc3\xa9", max + 1);
    char *huge = repeat("x", 4 * max + 1);
    field_ok(off, ascii);
    field_ok(off, wide);                          /* the limit counts characters, not bytes */
    field_ok(off, "with space and \xe2\x82\xac"); /* printable includes space and U+20AC */
    snprintf(want, sizeof want, "%s: longer than %zu characters", name, max);
    field_bad(off, ascii_over, TT_EINVAL, want);
    field_bad(off, wide_over, TT_EINVAL, want);
    field_bad(off, huge, TT_EINVAL, want);
    snprintf(want, sizeof want, "%s: control character U+0001 at byte 1", name);
    field_bad(off, "a\x01", TT_EINVAL, want);
    snprintf(want, sizeof want, "%s: control character U+0009", name);
    field_bad(off, "a\tb", TT_EINVAL, want);
    snprintf(want, sizeof want, "%s: control character U+000A", name);
    field_bad(off, "a\nb", TT_EINVAL, want);
    snprintf(want, sizeof want, "%s: control character U+007F", name);
    field_bad(off, "a\x7f", TT_EINVAL, want);
    snprintf(want, sizeof want, "%s: control character U+0085", name); /* C1 NEL */
    field_bad(off, "a\xc2\x85", TT_EINVAL, want);
    field_ok(off, "a\xc2\xa0"); /* U+00A0, just past C1 */
    snprintf(want, sizeof want, "%s: invalid UTF-8 at byte 1", name);
    field_bad(off, "a\xff", TT_EINVAL, want);
    field_bad(off, "a\xc0\xaf", TT_EINVAL, want);         /* overlong '/' */
    field_bad(off, "a\xed\xa0\x80", TT_EINVAL, want);     /* surrogate U+D800 */
    field_bad(off, "a\xf4\x90\x80\x80", TT_EINVAL, want); /* above U+10FFFF */
    field_bad(off, "a\xe6\x9d", TT_EINVAL, want);         /* truncated */
    free(ascii);
    free(wide);
    free(ascii_over);
    free(wide_over);
    free(huge);
}

static void test_text_fields(void **state)
{
    (void)state;
    text_rule(OFF(entity_id), "entity_id", TT_MAX_ENTITY_ID);
    text_rule(OFF(actor), "actor", TT_MAX_ACTOR);
    text_rule(OFF(old_status), "old_status", TT_MAX_STATUS);
    text_rule(OFF(new_status), "new_status", TT_MAX_STATUS);
    text_rule(OFF(idempotency_key), "idempotency_key", TT_MAX_IDEMPOTENCY_KEY);
}

static void test_empty_optional(void **state)
{
    (void)state;
    /* Absent is NULL; "" is refused except for reason (docs/FORMAT.md). */
    field_bad(OFF(old_status), "", TT_EINVAL,
              "old_status: must not be empty (omit it or use null)");
    field_bad(OFF(new_status), "", TT_EINVAL, "new_status: must not be empty");
    field_bad(OFF(idempotency_key), "", TT_EINVAL, "idempotency_key: must not be empty");
    field_bad(OFF(metadata), "", TT_EINVAL, "metadata: must not be empty");
    field_ok(OFF(reason), "");
}

static void test_reason(void **state)
{
    (void)state;
    char *max = repeat("r", TT_MAX_REASON), *over = repeat("r", TT_MAX_REASON + 1);
    /* 2731 three-byte characters are 8193 bytes: the limit counts bytes. */
    char *wide_over = repeat("\xe6\x9d\xb1", 2731);
    field_ok(OFF(reason), max);
    field_ok(OFF(reason), "line 1\nline 2\r\n\tindented");
    field_bad(OFF(reason), over, TT_EINVAL, "reason: longer than 8192 bytes");
    field_bad(OFF(reason), wide_over, TT_EINVAL, "reason: longer than 8192 bytes");
    field_bad(OFF(reason), "bell\x07", TT_EINVAL, "reason: control character U+0007 at byte 4");
    field_bad(OFF(reason), "a\x7f", TT_EINVAL, "reason: control character U+007F");
    field_bad(OFF(reason), "a\xc2\x9f", TT_EINVAL, "reason: control character U+009F");
    field_bad(OFF(reason), "a\x0b", TT_EINVAL, "reason: control character U+000B");
    field_bad(OFF(reason), "ok \xe2\x28\xa1", TT_EINVAL, "reason: invalid UTF-8 at byte 3");
    free(max);
    free(over);
    free(wide_over);
}

/* {"k":"xxx..."} of exactly n bytes. */
static char *metadata_of_size(size_t n)
{
    char *body = repeat("x", n - 8), *s = malloc(n + 1);
    assert_non_null(s);
    snprintf(s, n + 1, "{\"k\":\"%s\"}", body);
    free(body);
    return s;
}

static void test_metadata_rule(void **state)
{
    (void)state;
    char *max = metadata_of_size(TT_MAX_METADATA), *over = metadata_of_size(TT_MAX_METADATA + 1);
    field_ok(OFF(metadata), "{}");
    field_ok(OFF(metadata), max);
    /* SPEC 3: a field over its limit is invalid (400), not too large (413). */
    field_bad(OFF(metadata), over, TT_EINVAL, "metadata: larger than 65536 bytes");
    /* A direct C caller's metadata gets the same one check: parsed, and in normal form. */
    field_bad(OFF(metadata), "[1]", TT_EINVAL, "metadata: must be a JSON object (got array)");
    field_bad(OFF(metadata), "{", TT_EINVAL, "metadata: invalid JSON");
    field_bad(OFF(metadata), "{\"a\":\"\xff\"}", TT_EINVAL, "metadata: invalid JSON");
    field_bad(OFF(metadata), "{\"a\":\"\n\"}", TT_EINVAL, "metadata: invalid JSON");
    field_bad(OFF(metadata), "{\"a\": 1}", TT_EINVAL, "metadata: not in normalised form");
    field_bad(OFF(metadata), "{\"a\":1,\"a\":2}", TT_EINVAL, "metadata: invalid JSON");
    free(max);
    free(over);
}

/* A parsed event changed afterwards (the Idempotency-Key header names its key) is checked
 * on what changed only: the rest was checked by the parser, and checking it again would
 * re-normalise up to 64 KiB of metadata for every such append (issue 12). */
static void test_check_changes(void **state)
{
    (void)state;
    char err[256];
    tt_event checked, ev;
    minimal(&checked);
    checked.metadata = "{\"a\": 1}"; /* not normal form: a full check refuses it */
    checked.producer = "feed";
    checked.producer_seq = 1;
    ev = checked;
    assert_int_equal(tti_event_check(&ev, 0, err, sizeof err), TT_EINVAL);
    assert_int_equal(tti_event_check_changes(&ev, &checked, err, sizeof err), TT_OK);
    ev.idempotency_key = "from-a-header";
    assert_int_equal(tti_event_check_changes(&ev, &checked, err, sizeof err), TT_OK);
    ev.idempotency_key = "bad\x01key";
    assert_int_equal(tti_event_check_changes(&ev, &checked, err, sizeof err), TT_EINVAL);
    assert_non_null(strstr(err, "idempotency_key"));
    char *long_key = repeat("k", TT_MAX_IDEMPOTENCY_KEY + 1);
    ev.idempotency_key = long_key;
    assert_int_equal(tti_event_check_changes(&ev, &checked, err, sizeof err), TT_EINVAL);
    assert_non_null(strstr(err, "idempotency_key"));
    free(long_key);
    ev.idempotency_key = NULL;
    ev.entity = "Strategy"; /* any member changed is checked */
    assert_int_equal(tti_event_check_changes(&ev, &checked, err, sizeof err), TT_EINVAL);
    assert_non_null(strstr(err, "entity"));
    ev.entity = checked.entity;
    ev.metadata = "{\"b\": 2}";
    assert_int_equal(tti_event_check_changes(&ev, &checked, err, sizeof err), TT_EINVAL);
    assert_non_null(strstr(err, "metadata"));
    ev.metadata = checked.metadata;
    ev.producer_seq = 0;
    assert_int_equal(tti_event_check_changes(&ev, &checked, err, sizeof err), TT_EINVAL);
    assert_non_null(strstr(err, "producer_seq"));
    ev.producer_seq = 1;
    /* Without a checked copy, everything is checked. */
    assert_int_equal(tti_event_check_changes(&ev, NULL, err, sizeof err), TT_EINVAL);
}

static void test_occurred_at_any(void **state)
{
    (void)state;
    tt_event ev;
    minimal(&ev);
    ev.occurred_at_us = INT64_MAX;
    expect_ok(&ev);
    ev.occurred_at_us = INT64_MIN + 1;
    expect_ok(&ev);
}

static void test_validate_err_buffer(void **state)
{
    (void)state;
    tt_event ev;
    char small[8];
    minimal(&ev);
    ev.entity = "Bad";
    assert_int_equal(tt_event_validate(&ev, small, sizeof small), TT_EINVAL);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(tt_event_validate(&ev, NULL, 0), TT_EINVAL);
    assert_int_equal(tt_event_validate(NULL, NULL, 0), TT_EMISUSE);
}

static void test_utf8_helpers(void **state)
{
    (void)state;
    assert_true(tti_utf8_valid("", 0));
    assert_true(tti_utf8_valid("\xf0\x9f\x98\x80", 4));  /* U+1F600 */
    assert_true(tti_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    assert_true(tti_utf8_valid("\xef\xbf\xbf", 3));      /* U+FFFF */
    assert_false(tti_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    assert_false(tti_utf8_valid("\xf0\x80\x80\xaf", 4)); /* overlong */
    assert_false(tti_utf8_valid("\xc1\xbf", 2));         /* overlong */
    assert_false(tti_utf8_valid("\xed\xbf\xbf", 3));     /* surrogate */
    assert_false(tti_utf8_valid("\x80", 1));             /* lone continuation */
    assert_false(tti_utf8_valid("\xf5\x80\x80\x80", 4)); /* beyond Unicode */
    assert_false(tti_utf8_valid("a\0b", 3) == 0);        /* NUL is valid UTF-8 */
    assert_int_equal(tti_utf8_count("a\xc3\xa9\xe6\x9d\xb1\xf0\x9f\x98\x80", 10), 4);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(tt_strerror(TT_OK), "TT_OK");
    assert_string_equal(tt_strerror(TT_EINVAL), "TT_EINVAL");
    assert_string_equal(tt_strerror(TT_ETOOBIG), "TT_ETOOBIG");
    assert_string_equal(tt_strerror(TT_ETAMPERED), "TT_ETAMPERED");
    assert_string_equal(tt_strerror(TT_EBUSY), "TT_EBUSY");
    assert_string_equal(tt_strerror(16), "TT_E?");
    assert_string_equal(tt_strerror(-1), "TT_E?");
}

static void test_clone(void **state)
{
    (void)state;
    tt_event ev, *copy = NULL;
    char reason[] = "because";
    minimal(&ev);
    ev.seq = 9;
    ev.reason = reason;
    ev.metadata = "{\"a\":1}";
    ev.leaf_hash[0] = 0xab;
    assert_int_equal(tti_event_clone(&ev, &copy), TT_OK);
    reason[0] = 'X';
    assert_string_equal(copy->reason, "because");
    assert_string_equal(copy->entity, "strategy");
    assert_string_equal(copy->metadata, "{\"a\":1}");
    assert_null(copy->old_status);
    assert_int_equal(copy->seq, 9);
    assert_int_equal(copy->leaf_hash[0], 0xab);
    assert_true(copy->entity != ev.entity);
    tt_event_free(copy);
    tt_event_free(NULL);
    tt_free(NULL);
}

/* ---- leaf bytes ------------------------------------------------------------------------ */

static void test_leaf_absent_vs_empty(void **state)
{
    (void)state;
    tt_event ev;
    uint8_t *a, *b, ha[TT_HASH_SIZE], hb[TT_HASH_SIZE];
    size_t na, nb;
    minimal(&ev);
    assert_int_equal(tt_event_leaf_bytes(&ev, &a, &na), TT_OK);
    ev.reason = "";
    assert_int_equal(tt_event_leaf_bytes(&ev, &b, &nb), TT_OK);
    assert_int_equal(nb, na + 4); /* presence 1 plus a zero length instead of presence 0 */
    assert_int_equal(tt_event_leaf_hash(&ev, hb), TT_OK);
    ev.reason = NULL;
    assert_int_equal(tt_event_leaf_hash(&ev, ha), TT_OK);
    assert_memory_not_equal(ha, hb, TT_HASH_SIZE);
    tt_free(a);
    tt_free(b);
}

static void test_leaf_missing_required(void **state)
{
    (void)state;
    tt_event ev;
    uint8_t *b = NULL, h[TT_HASH_SIZE];
    size_t n = 0;
    minimal(&ev);
    ev.actor = NULL;
    assert_int_equal(tt_event_leaf_bytes(&ev, &b, &n), TT_EINVAL);
    assert_null(b);
    assert_int_equal(tt_event_leaf_hash(&ev, h), TT_EINVAL);
}

/* Leaf bytes decode to an event that encodes back to the same bytes; bytes that could not
 * have come from an event are refused, such as occurred_at present with the value that
 * means "absent" (found by fuzz_leaf). */
static void test_leaf_decode(void **state)
{
    (void)state;
    tt_event ev, *back = NULL;
    uint8_t *a, *b;
    size_t na, nb;
    minimal(&ev);
    ev.occurred_at_us = 1700000000000000;
    assert_int_equal(tt_event_leaf_bytes(&ev, &a, &na), TT_OK);
    assert_int_equal(tti_event_leaf_decode(a, na, &back), TT_OK);
    assert_int_equal(back->occurred_at_us, ev.occurred_at_us);
    assert_int_equal(tt_event_leaf_bytes(back, &b, &nb), TT_OK);
    assert_int_equal(nb, na);
    assert_memory_equal(a, b, na);
    tt_event_free(back);
    tt_free(b);
    /* the occurred_at presence byte sits 8 bytes before the idempotency key's byte, at the
     * end of a minimal version 1 leaf */
    size_t at = na - 1 - 8 - 1;
    assert_int_equal(a[at], 1);
    for (int i = 0; i < 8; i++)
        a[at + 1 + (size_t)i] = i == 0 ? 0x80 : 0;
    back = NULL;
    assert_int_equal(tti_event_leaf_decode(a, na, &back), TT_EPARSE);
    assert_null(back);
    assert_int_equal(tti_event_leaf_decode(a, na - 1, &back), TT_EPARSE); /* truncated */
    tt_free(a);
}

/* Hashing a large event (past the stack buffer) agrees with hashing its bytes. */
static void test_leaf_hash_large(void **state)
{
    (void)state;
    tt_event ev;
    char *reason = repeat("r", TT_MAX_REASON), *meta = metadata_of_size(TT_MAX_METADATA);
    uint8_t *b, h1[TT_HASH_SIZE], h2[TT_HASH_SIZE];
    size_t n;
    minimal(&ev);
    ev.reason = reason;
    ev.metadata = meta;
    assert_int_equal(tt_event_leaf_bytes(&ev, &b, &n), TT_OK);
    assert_int_equal(tt_event_leaf_hash(&ev, h1), TT_OK);
    tti_hash_leaf(b, n, h2);
    assert_memory_equal(h1, h2, TT_HASH_SIZE);
    tt_free(b);
    free(reason);
    free(meta);
}

/* Build the event of a vector through the ingest path: its client fields as JSON go
 * through tt_event_parse_json, seq and ts are set as the ledger would. */
static void check_vector(const char *path)
{
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        fail_msg("%s: %s", path, je.text);
    json_t *fields = json_deep_copy(json_object_get(doc, "event"));
    int64_t seq = json_integer_value(json_object_get(fields, "seq")), ts;
    assert_int_equal(tt_time_parse_rfc3339(json_string_value(json_object_get(fields, "ts")), &ts),
                     TT_OK);
    /* The ledger's fields: seq, ts and (version 2) the principal; version 1 vectors have
     * none and show it as null. */
    json_t *principal = json_incref(json_object_get(fields, "principal"));
    json_object_del(fields, "seq");
    json_object_del(fields, "ts");
    json_object_del(fields, "principal");
    char *text = json_dumps(fields, JSON_COMPACT), err[256] = "";
    tt_event ev;
    void *owner;
    if (tt_event_parse_json(text, strlen(text), &ev, &owner, err, sizeof err) != TT_OK)
        fail_msg("%s: %s", path, err);
    ev.seq = seq;
    ev.ts_us = ts;
    ev.principal = json_string_value(principal);

    uint8_t *bytes, hash[TT_HASH_SIZE];
    size_t n;
    assert_int_equal(tt_event_leaf_bytes(&ev, &bytes, &n), TT_OK);
    char *hex = malloc(2 * n + 1), hhex[2 * TT_HASH_SIZE + 1];
    assert_non_null(hex);
    tti_hex_encode(bytes, n, hex);
    assert_string_equal(hex, json_string_value(json_object_get(doc, "leaf_bytes")));
    assert_int_equal(tt_event_leaf_hash(&ev, hash), TT_OK);
    tti_hex_encode(hash, TT_HASH_SIZE, hhex);
    assert_string_equal(hhex, json_string_value(json_object_get(doc, "leaf_hash")));

    /* And back: the event as the API shows it is the vector's event plus leaf_hash. */
    memcpy(ev.leaf_hash, hash, TT_HASH_SIZE);
    char *out = tt_event_to_json(&ev);
    json_t *shown = json_loads(out, 0, &je), *want = json_object_get(doc, "event");
    assert_non_null(shown);
    json_object_set_new(want, "leaf_hash", json_string(hhex));
    if (principal == NULL)
        json_object_set_new(want, "principal", json_null());
    if (!json_equal(shown, want))
        fail_msg("%s: tt_event_to_json gave %s", path, out);
    json_decref(principal);

    json_decref(shown);
    tt_free(out);
    free(hex);
    tt_free(bytes);
    tt_free(owner);
    free(text);
    json_decref(fields);
    json_decref(doc);
}

static void test_leaf_vectors(void **state)
{
    (void)state;
    const char *dir = TT_VECTORS_DIR "/leaf";
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        check_vector(path);
        n++;
    }
    closedir(d);
    assert_true(n >= 6); /* versions 1 and 2 */
}

/* ---- JSON parsing -------------------------------------------------------------------- */

#define BASE                                                                                       \
    "\"entity\":\"strategy\",\"entity_id\":\"s-1\",\"event_type\":\"CREATED\",\"actor\":\"a\""

static int parse(const char *json, tt_event *ev, void **owner, char *err, size_t errlen)
{
    return tt_event_parse_json(json, strlen(json), ev, owner, err, errlen);
}

static void parse_bad(const char *json, int want, const char *substr)
{
    char err[512] = "";
    tt_event ev;
    void *owner = (void *)&ev;
    memset(&ev, 0x5a, sizeof ev);
    int rc = parse(json, &ev, &owner, err, sizeof err);
    if (rc != want || strstr(err, substr) == NULL)
        fail_msg("%s: want %s with \"%s\", got %s: \"%s\"", json, tt_strerror(want), substr,
                 tt_strerror(rc), err);
    /* Out-parameters are written only on success. */
    assert_ptr_equal(owner, &ev);
    assert_int_equal(((unsigned char *)&ev)[0], 0x5a);
}

static void test_parse_full(void **state)
{
    (void)state;
    const char *json = "{" BASE ",\"old_status\":\"DRAFT\",\"new_status\":\"PENDING\","
                       "\"reason\":\"go\\nnow\",\"metadata\":{ \"b\" : 1, \"a\": [1.0, 0.1, "
                       "\"\\u00e9\\/\"], \"c\": {}},\"occurred_at\":\"2026-01-18T12:31:00+02:00\","
                       "\"idempotency_key\":\"k-1\"}";
    tt_event ev;
    void *owner = NULL;
    char err[256] = "";
    assert_int_equal(parse(json, &ev, &owner, err, sizeof err), TT_OK);
    assert_string_equal(ev.entity, "strategy");
    assert_string_equal(ev.entity_id, "s-1");
    assert_string_equal(ev.event_type, "CREATED");
    assert_string_equal(ev.actor, "a");
    assert_string_equal(ev.old_status, "DRAFT");
    assert_string_equal(ev.new_status, "PENDING");
    assert_string_equal(ev.reason, "go\nnow");
    assert_string_equal(ev.metadata, "{\"b\":1,\"a\":[1.0,0.1,\"\xc3\xa9/\"],\"c\":{}}");
    assert_int_equal(ev.occurred_at_us, 1768732260000000LL); /* 2026-01-18T10:31:00Z */
    assert_string_equal(ev.idempotency_key, "k-1");
    assert_int_equal(ev.seq, 0);
    tt_free(owner);
}

static void test_parse_nulls(void **state)
{
    (void)state;
    const char *json = "{" BASE ",\"old_status\":null,\"new_status\":null,\"reason\":null,"
                       "\"metadata\":null,\"occurred_at\":null,\"idempotency_key\":null}";
    tt_event ev;
    void *owner = NULL;
    char err[256] = "";
    assert_int_equal(parse(json, &ev, &owner, err, sizeof err), TT_OK);
    assert_null(ev.old_status);
    assert_null(ev.new_status);
    assert_null(ev.reason);
    assert_null(ev.metadata);
    assert_null(ev.idempotency_key);
    assert_true(ev.occurred_at_us == TT_TIME_NONE);
    tt_free(owner);
}

static void test_parse_unknown_fields(void **state)
{
    (void)state;
    parse_bad("{" BASE ",\"x\":1}", TT_EINVAL, "unknown field \"x\"");
    parse_bad("{" BASE ",\"seq\":1}", TT_EINVAL, "unknown field \"seq\"");
    parse_bad("{" BASE ",\"ts\":\"2026-01-18T10:31:00Z\"}", TT_EINVAL, "unknown field \"ts\"");
    parse_bad("{" BASE ",\"leaf_hash\":\"00\"}", TT_EINVAL, "unknown field \"leaf_hash\"");
    parse_bad("{" BASE ",\"Entity\":\"x\"}", TT_EINVAL, "unknown field \"Entity\"");
    parse_bad("{" BASE ",\"a\\u0001b\":1}", TT_EINVAL, "unknown field \"a?b\"");
}

static void test_parse_wrong_types(void **state)
{
    (void)state;
    parse_bad("{\"entity\":5}", TT_EINVAL, "entity: must be a string (got number)");
    parse_bad("{\"entity\":null}", TT_EINVAL, "entity: must be a string (got null)");
    parse_bad("{\"actor\":[\"a\"]}", TT_EINVAL, "actor: must be a string (got array)");
    parse_bad("{" BASE ",\"reason\":true}", TT_EINVAL,
              "reason: must be a string or null (got true)");
    parse_bad("{" BASE ",\"old_status\":{}}", TT_EINVAL, "old_status: must be a string or null");
    parse_bad("{" BASE ",\"idempotency_key\":7}", TT_EINVAL, "idempotency_key: must be a string");
    parse_bad("{" BASE ",\"metadata\":[]}", TT_EINVAL,
              "metadata: must be a JSON object or null (got array)");
    parse_bad("{" BASE ",\"metadata\":\"{}\"}", TT_EINVAL,
              "metadata: must be a JSON object or null (got string)");
    parse_bad("{" BASE ",\"occurred_at\":1768732260}", TT_EINVAL,
              "occurred_at: must be a string or null (got number)");
    parse_bad("{" BASE ",\"occurred_at\":\"yesterday\"}", TT_EINVAL,
              "occurred_at: must be an RFC 3339 time");
    parse_bad("[]", TT_EINVAL, "event: must be a JSON object (got array)");
    parse_bad("\"x\"", TT_EINVAL, "event: must be a JSON object (got string)");
    parse_bad("null", TT_EINVAL, "event: must be a JSON object (got null)");
}

static void test_parse_missing_and_rules(void **state)
{
    (void)state;
    parse_bad("{}", TT_EINVAL, "entity: required");
    parse_bad("{\"entity\":\"strategy\",\"entity_id\":\"s\",\"event_type\":\"X\"}", TT_EINVAL,
              "actor: required");
    parse_bad("{\"entity\":\"Strategy\",\"entity_id\":\"s\",\"event_type\":\"X\",\"actor\":\"a\"}",
              TT_EINVAL, "entity: must match [a-z][a-z0-9_]{0,63} (got \"Strategy\")");
    parse_bad("{" BASE ",\"old_status\":\"\"}", TT_EINVAL, "old_status: must not be empty");
    parse_bad("{" BASE ",\"reason\":\"a\\u0007\"}", TT_EINVAL, "reason: control character U+0007");
}

static void test_parse_duplicates(void **state)
{
    (void)state;
    parse_bad("{" BASE ",\"actor\":\"b\"}", TT_EINVAL, "duplicate object key");
    parse_bad("{" BASE ",\"metadata\":{\"a\":1,\"a\":2}}", TT_EINVAL, "duplicate object key");
    parse_bad("{" BASE ",\"metadata\":{\"x\":[{\"a\":1,\"a\":1}]}}", TT_EINVAL,
              "duplicate object key");
}

static void test_parse_bad_bytes(void **state)
{
    (void)state;
    parse_bad("{" BASE ",\"reason\":\"caf\xff\"}", TT_EINVAL, "invalid JSON at line 1");
    parse_bad("{" BASE ",\"reason\":\"a\xed\xa0\x80\"}", TT_EINVAL, "invalid JSON");
    parse_bad("{" BASE ",\"reason\":\"a\\ud800\"}", TT_EPARSE, "invalid JSON"); /* lone surrogate */
    parse_bad("{" BASE ",\"reason\":\"a\\u0000b\"}", TT_EINVAL, "invalid JSON");
    /* Raw NUL byte inside a string, given by length. */
    static const char nul[] = "{\"entity\":\"a\0b\"}";
    tt_event ev;
    void *owner = NULL;
    char err[256] = "";
    assert_int_not_equal(tt_event_parse_json(nul, sizeof nul - 1, &ev, &owner, err, sizeof err),
                         TT_OK);
    assert_null(owner);
}

static void test_parse_syntax(void **state)
{
    (void)state;
    parse_bad("{\n  \"entity\": \"strategy\",\n  oops\n}", TT_EPARSE,
              "event: invalid JSON at line 3, column");
    parse_bad("", TT_EPARSE, "invalid JSON at line 1");
    parse_bad("{" BASE "} trailing", TT_EPARSE, "invalid JSON");
    parse_bad("{" BASE ",}", TT_EPARSE, "invalid JSON");
    parse_bad("{" BASE ",\"metadata\":{\"big\":123456789012345678901234567890}}", TT_EPARSE,
              "too big integer");
}

/* {"metadata":{"k":"xxx"}} where the stored metadata text is exactly n bytes. */
static char *event_with_metadata(size_t n)
{
    char *meta = metadata_of_size(n);
    size_t len = strlen("{" BASE ",\"metadata\":}") + n + 1;
    char *json = malloc(len);
    assert_non_null(json);
    snprintf(json, len, "{" BASE ",\"metadata\":%s}", meta);
    free(meta);
    return json;
}

static void test_parse_metadata_size(void **state)
{
    (void)state;
    char *max = event_with_metadata(TT_MAX_METADATA),
         *over = event_with_metadata(TT_MAX_METADATA + 1);
    tt_event ev;
    void *owner = NULL;
    char err[256] = "";
    assert_int_equal(parse(max, &ev, &owner, err, sizeof err), TT_OK);
    assert_int_equal(strlen(ev.metadata), TT_MAX_METADATA);
    tt_free(owner);
    parse_bad(over, TT_EINVAL, "metadata: larger than 65536 bytes");
    free(max);
    free(over);
}

static void test_parse_null_args(void **state)
{
    (void)state;
    tt_event ev;
    void *owner;
    assert_int_equal(tt_event_parse_json(NULL, 0, &ev, &owner, NULL, 0), TT_EMISUSE);
    assert_int_equal(tt_event_parse_json("{}", 2, NULL, &owner, NULL, 0), TT_EMISUSE);
}

/* ---- metadata normalisation ----------------------------------------------------------- */

static void norm_is(const char *in, const char *want)
{
    char *out = NULL, err[256] = "";
    if (tti_metadata_normalize(in, strlen(in), &out, err, sizeof err) != TT_OK)
        fail_msg("%s: %s", in, err);
    assert_string_equal(out, want);
    /* Idempotent: normalised text normalises to itself. */
    char *again = NULL;
    assert_int_equal(tti_metadata_normalize(out, strlen(out), &again, err, sizeof err), TT_OK);
    assert_string_equal(again, out);
    tt_free(again);
    tt_free(out);
}

static void norm_bad(const char *in, int want, const char *substr)
{
    char *out = NULL, err[256] = "";
    int rc = tti_metadata_normalize(in, strlen(in), &out, err, sizeof err);
    if (rc != want || strstr(err, substr) == NULL)
        fail_msg("%s: want %s with \"%s\", got %s: \"%s\"", in, tt_strerror(want), substr,
                 tt_strerror(rc), err);
    assert_null(out);
}

static void test_metadata_normalize(void **state)
{
    (void)state;
    norm_is("{}", "{}");
    norm_is(" {\n \"z\" : 1 ,\t\"a\" : [ ] } ", "{\"z\":1,\"a\":[]}");
    norm_is("{\"n\":[0.1,1.82,-0.0,0,-0,100.0,1E2,1e15,1e16,1e-4,1e-5,2.5e-7,1.5e300]}",
            "{\"n\":[0.1,1.82,-0.0,0,0,100.0,100.0,1000000000000000.0,1e+16,0.0001,1e-05,"
            "2.5e-07,1.5e+300]}");
    norm_is("{\"n\":[9223372036854775807,-9223372036854775808,0.30000000000000004]}",
            "{\"n\":[9223372036854775807,-9223372036854775808,0.30000000000000004]}");
    norm_is("{\"s\":\"\\u001f\\b\\f\\n\\r\\t\\\"\\\\\\/\\u00e9\\u2028\\u007f\"}",
            "{\"s\":\"\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\xc3\xa9\xe2\x80\xa8\x7f\"}");
    norm_is("{\"\\u00e9\":{\"t\":true,\"f\":false,\"n\":null}}",
            "{\"\xc3\xa9\":{\"t\":true,\"f\":false,\"n\":null}}");
    norm_bad("[1]", TT_EINVAL, "metadata: must be a JSON object (got array)");
    norm_bad("null", TT_EINVAL, "metadata: must be a JSON object (got null)");
    norm_bad("", TT_EPARSE, "metadata: invalid JSON");
    norm_bad("{\"a\":1,\"a\":2}", TT_EINVAL, "metadata: invalid JSON at line 1, column");
    norm_bad("{\"a\":", TT_EPARSE, "metadata: invalid JSON at line 1");
    norm_bad("{\"a\":\"\xff\"}", TT_EINVAL, "metadata: invalid JSON");
    norm_bad("{\"a\":NaN}", TT_EPARSE, "metadata: invalid JSON");
}

/* tti_metadata_is_normal may only say yes where the parsing normaliser gives the text back
 * unchanged (it may say no to normal text: then that normaliser decides). */
static int shown_normal(const char *in)
{
    if (!tti_metadata_is_normal(in, strlen(in)))
        return 0;
    char *out = NULL, err[256];
    int rc = tti_metadata_normalize_parsed(in, strlen(in), &out, err, sizeof err);
    if (rc != TT_OK)
        fail_msg("shown normal but refused: %s: %s", in, err);
    if (strcmp(out, in) != 0)
        fail_msg("shown normal but normalises to something else: %s -> %s", in, out);
    tt_free(out);
    return 1;
}

static void test_metadata_is_normal(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "{}",
        "{\"a\":1}",
        "{\"run\":\"r256035\",\"score\":0.3492,\"window\":\"54d\",\"tag\":\"flcnia\"}",
        "{\"a\":[1,2,{\"b\":null}],\"c\":true,\"d\":false,\"e\":[],\"f\":{}}",
        "{\"x\":-5,\"y\":0,\"z\":0.0,\"w\":-0.0,\"v\":100.0,\"u\":12.5,\"t\":0.0023}",
        "{\"i\":999999999999999999,\"j\":-999999999999999999,\"r\":123456789012345.0}",
        "{\"r\":99999999999999.9,\"s\":0.000123456789012345,\"p\":\"a/b ~ ok\"}",
    };
    static const char *const no[] = {
        "[1]",
        "{",
        "{\"a\":1",
        "{\"a\":1}x",
        "{\"a\":1} ",
        " {\"a\":1}",
        "{\"a\": 1}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":\"\\n\"}",
        "{\"a\":\"\xc3\xa9\"}",
        "{\"a\":-0}",
        "{\"a\":01}",
        "{\"a\":1.50}",
        "{\"a\":0.00001}",
        "{\"a\":1E5}",
        "{\"a\":1.0e2}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":0.10}",
        "{\"a\":1234567890123456.0}",
        "{\"a\":0.1234567890123456}",
        "{\"a\":10000000000000000000}",
        "{\"a\":tru}",
        "{\"a\":NaN}",
        "{\"password\":\"x\"}",
        "{\"a\":{\"api_key\":1}}",
        "{\"a\":\"\x7f\"}",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!shown_normal(yes[i]))
            fail_msg("not shown normal: %s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (tti_metadata_is_normal(no[i], strlen(no[i])))
            fail_msg("shown normal: %s", no[i]);
    /* Deeper than the one-pass proof goes, or more keys than it compares: not shown, and
     * still normal for the normaliser. */
    tti_buf deep, wide;
    tti_buf_init(&deep, 1024);
    tti_buf_init(&wide, 1024);
    for (int i = 0; i < 17; i++)
        tti_buf_add(&deep, "{\"a\":", 5);
    tti_buf_add(&deep, "1", 1);
    for (int i = 0; i < 17; i++)
        tti_buf_add(&deep, "}", 1);
    tti_buf_add(&wide, "{", 1);
    for (int i = 0; i < 33; i++) {
        char kv[32];
        int n = snprintf(kv, sizeof kv, "%s\"k%d\":%d", i ? "," : "", i, i);
        tti_buf_add(&wide, kv, (size_t)n);
    }
    tti_buf_add(&wide, "}", 1);
    assert_false(deep.failed || wide.failed);
    assert_false(tti_metadata_is_normal(deep.data, deep.len));
    norm_is(deep.data, deep.data);
    assert_false(tti_metadata_is_normal(wide.data, wide.len));
    norm_is(wide.data, wide.data);
    tti_buf_free(&deep);
    tti_buf_free(&wide);
    char *max = metadata_of_size(TT_MAX_METADATA + 1);
    assert_false(tti_metadata_is_normal(max, strlen(max)));
    free(max);
}

/* Random texts close to the normal form (numbers of every layout, escapes, repeated keys,
 * nesting): whatever the proof accepts, the parsing normaliser gives back unchanged. */
static uint32_t fz_next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void fz_number(tti_buf *b, uint32_t *x)
{
    static const char *const pre[] = {"", "-", "", ""};
    char num[48];
    int o = snprintf(num, sizeof num, "%s", pre[fz_next(x) % 4]);
    int ni = (int)(fz_next(x) % 19) + 1, nf = (int)(fz_next(x) % 20) - 3;
    for (int i = 0; i < ni; i++)
        num[o++] = (char)('0' + (i == 0 && fz_next(x) % 3 ? fz_next(x) % 2 : fz_next(x) % 10));
    if (nf > 0) {
        num[o++] = '.';
        for (int i = 0; i < nf; i++)
            num[o++] = (char)('0' + (fz_next(x) % 4 == 0 ? 0 : fz_next(x) % 10));
    }
    if (fz_next(x) % 8 == 0)
        o += snprintf(num + o, sizeof num - (size_t)o, "e%d", (int)(fz_next(x) % 40) - 20);
    tti_buf_add(b, num, (size_t)o);
}

static void fz_value(tti_buf *b, uint32_t *x, int depth)
{
    static const char *const strs[] = {"\"a\"",        "\"b\"",       "\"x y\"",
                                       "\"\\n\"",      "\"\\u0041\"", "\"\\/\"",
                                       "\"\xc3\xa9\"", "\"\"",        "\"password\""};
    switch (fz_next(x) % (depth < 4 ? 7 : 5)) {
    case 0:
    case 1:
        fz_number(b, x);
        break;
    case 2: {
        const char *str = strs[fz_next(x) % 9];
        tti_buf_add(b, str, strlen(str));
        break;
    }
    case 3:
        tti_buf_add(b, fz_next(x) % 2 ? "true" : "null", 4);
        break;
    case 4:
        tti_buf_add(b, "false", 5);
        break;
    case 5: {
        tti_buf_add(b, "[", 1);
        int n = (int)(fz_next(x) % 4);
        for (int i = 0; i < n; i++) {
            if (i)
                tti_buf_add(b, ",", 1);
            fz_value(b, x, depth + 1);
        }
        tti_buf_add(b, "]", 1);
        break;
    }
    default: {
        tti_buf_add(b, "{", 1);
        int n = (int)(fz_next(x) % 5);
        for (int i = 0; i < n; i++) {
            if (i)
                tti_buf_add(b, ",", 1);
            const char *k = strs[fz_next(x) % 9];
            tti_buf_add(b, k, strlen(k));
            const char *colon = fz_next(x) % 50 ? ":" : " : ";
            tti_buf_add(b, colon, strlen(colon));
            fz_value(b, x, depth + 1);
        }
        tti_buf_add(b, "}", 1);
    }
    }
}

static void test_metadata_is_normal_random(void **state)
{
    (void)state;
    uint32_t x = 2463534242u;
    int shown = 0, normal = 0;
    for (int i = 0; i < 100000; i++) {
        tti_buf b;
        tti_buf_init(&b, 1 << 20);
        tti_buf_add(&b, "{\"m\":", 5);
        fz_value(&b, &x, 1);
        tti_buf_add(&b, "}", 1);
        assert_false(b.failed);
        shown += shown_normal(b.data);
        char *out = NULL, err[256];
        if (tti_metadata_normalize_parsed(b.data, strlen(b.data), &out, err, sizeof err) == TT_OK) {
            normal += strcmp(out, b.data) == 0;
            tt_free(out);
        }
        tti_buf_free(&b);
    }
    /* The proof covers most of what is normal here, so the comparison above was exercised. */
    assert_true(shown > 20000);
    assert_true(shown <= normal);
}

/* An event parsed as written (plain ones are taken without jansson) and with its entity
 * escaped ("\u0073trategy" is "strategy"), which only jansson's path takes: the same event,
 * or the same refusal, either way. */
/* A syntax error's column moves with an escape's five more bytes: "column 12" -> "column". */
static void drop_column(char *msg)
{
    char *c = strstr(msg, "column ");
    if (c != NULL) {
        char *digits = c + strlen("column"), *rest = digits + 1 + strspn(digits + 1, "0123456789");
        memmove(digits, rest, strlen(rest) + 1);
    }
}

static int parse_both_ways(const char *plain, const char *escaped)
{
    tt_event a, b;
    void *oa = NULL, *ob = NULL;
    char ea[400], eb[400];
    int ra = tt_event_parse_json(plain, strlen(plain), &a, &oa, ea, sizeof ea);
    int rb = tt_event_parse_json(escaped, strlen(escaped), &b, &ob, eb, sizeof eb);
    drop_column(ea);
    drop_column(eb);
    if (ra != rb || (ra != TT_OK && strcmp(ea, eb) != 0))
        fail_msg("%s\n  -> %d %s\n%s\n  -> %d %s", plain, ra, ra ? ea : "", escaped, rb,
                 rb ? eb : "");
    if (ra == TT_OK) {
        char *ja = tt_event_to_json(&a), *jb = tt_event_to_json(&b);
        assert_non_null(ja);
        assert_non_null(jb);
        if (strcmp(ja, jb) != 0)
            fail_msg("%s\n  -> %s\n  <> %s", plain, ja, jb);
        assert_int_equal(a.occurred_at_us, b.occurred_at_us);
        assert_int_equal(a.producer_seq, b.producer_seq);
        tt_free(ja);
        tt_free(jb);
        tt_free(oa);
        tt_free(ob);
    }
    return ra == TT_OK;
}

static void test_parse_plain_and_escaped(void **state)
{
    (void)state;
    static const char *const ids[] = {"\"s1\"", "\"\"", "null", "1", "\"x\\ty\""};
    static const char *const reasons[] = {"\"ok\"", "\"\"", "null", "\"caf\xc3\xa9\"", "7"};
    static const char *const metas[] = {
        "{\"a\":1}",         "{\"a\":1.50}", "null", "{\"api_key\":\"s\"}",
        "{\"a\":1,\"a\":2}", "[1]",          "{}",   "{ \"b\" : [true,null] }"};
    static const char *const times[] = {"", ",\"occurred_at\":\"2026-01-18T10:31:00Z\"",
                                        ",\"occurred_at\":\"yesterday\"", ",\"occurred_at\":5"};
    static const char *const producers[] = {
        "", ",\"producer\":\"p\",\"producer_seq\":3", ",\"producer\":\"p\",\"producer_seq\":0",
        ",\"producer_seq\":12345678901234567890", ",\"producer\":\"p\",\"producer_seq\":2.0"};
    static const char *const extras[] = {"", ",\"seq\":1", ",\"actor\":\"again\"",
                                         ",\"idempotency_key\":\"k-1\""};
    char plain[600], escaped[600];
    uint32_t x = 88172645u;
    int taken = 0;
    for (int n = 0; n < 3000; n++) {
#define EV_FMT                                                                                     \
    "{\"entity\":\"%sstrategy\",\"entity_id\":%s,\"event_type\":\"CREATED\",\"actor\":\"bot\","    \
    "\"reason\":%s,\"metadata\":%s%s%s%s}"
        /* Each part the first (plain and valid) choice three times in four. */
#define PICK(a) a[fz_next(&x) % 4 ? 0 : fz_next(&x) % (sizeof a / sizeof a[0])]
        const char *id = PICK(ids), *re = PICK(reasons), *me = PICK(metas), *ti = PICK(times),
                   *pr = PICK(producers), *ex = PICK(extras);
#undef PICK
        /* "\u0073strategy" reads "sstrategy": the plain one says the same */
        snprintf(plain, sizeof plain, EV_FMT, "s", id, re, me, ti, pr, ex);
        snprintf(escaped, sizeof escaped, EV_FMT, "\\u0073", id, re, me, ti, pr, ex);
#undef EV_FMT
        taken += parse_both_ways(plain, escaped);
    }
    assert_true(taken > 100); /* events were taken, not only refused */
}

static void test_metadata_normalize_size(void **state)
{
    (void)state;
    char *max = metadata_of_size(TT_MAX_METADATA), *over = metadata_of_size(TT_MAX_METADATA + 1);
    char *out = NULL, err[256];
    assert_int_equal(tti_metadata_normalize(max, strlen(max), &out, err, sizeof err), TT_OK);
    assert_string_equal(out, max);
    tt_free(out);
    norm_bad(over, TT_EINVAL, "metadata: larger than 65536 bytes");
    /* Pretty-printed input may be larger than the limit as long as its normal form fits. */
    char *pad = repeat(" ", TT_MAX_METADATA), *spaced = malloc(2 * (size_t)TT_MAX_METADATA + 8);
    assert_non_null(spaced);
    snprintf(spaced, 2 * (size_t)TT_MAX_METADATA + 8, "%s{\"a\":1}%s", pad, pad);
    free(pad);
    assert_int_equal(tti_metadata_normalize(spaced, strlen(spaced), &out, err, sizeof err), TT_OK);
    assert_string_equal(out, "{\"a\":1}");
    tt_free(out);
    free(spaced);
    free(max);
    free(over);
}

/* ---- to_json -------------------------------------------------------------------------- */

static void test_to_json_minimal(void **state)
{
    (void)state;
    tt_event ev;
    minimal(&ev);
    ev.seq = 3;
    ev.ts_us = 1768732260123456LL;
    memset(ev.leaf_hash, 0xab, TT_HASH_SIZE);
    char *s = tt_event_to_json(&ev);
    assert_non_null(s);
    assert_string_equal(
        s, "{\"seq\":3,\"ts\":\"2026-01-18T10:31:00.123456Z\",\"entity\":\"strategy\","
           "\"entity_id\":\"s-1\",\"event_type\":\"ACTIVATED\",\"actor\":\"evaluator\","
           "\"old_status\":null,\"new_status\":null,\"reason\":null,\"metadata\":null,"
           "\"occurred_at\":null,\"idempotency_key\":null,\"principal\":null,"
           "\"leaf_hash\":\"abababababababababab"
           "abababababababababababababababababababababab\"}");
    tt_free(s);
    assert_null(tt_event_to_json(NULL));
}

static void test_to_json_damaged(void **state)
{
    (void)state;
    tt_event ev;
    minimal(&ev);
    /* Never stored by the ledger, but a damaged store must still give valid JSON. */
    ev.metadata = "{not json}";
    ev.reason = "bad \xff byte\n";
    char *s = tt_event_to_json(&ev);
    json_error_t je;
    json_t *v = json_loads(s, 0, &je);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "metadata")), "{not json}");
    assert_string_equal(json_string_value(json_object_get(v, "reason")), "bad \xef\xbf\xbd byte\n");
    json_decref(v);
    tt_free(s);
}

/* An event written with tt_event_to_json and read back (without the ledger's fields) has
 * the same leaf hash: the API's shape loses nothing that is hashed. */
static void test_to_json_round_trip(void **state)
{
    (void)state;
    const char *json = "{" BASE ",\"old_status\":\"DRAFT\",\"new_status\":\"PENDING\","
                       "\"reason\":\"tab\\there \\u00e9 \\\"q\\\"\",\"metadata\":{\"r\":0.1,"
                       "\"l\":[1,2.5e-7,{\"k\":\"\\u0001\"}]},\"occurred_at\":"
                       "\"1999-12-31T23:59:59.999999999-00:30\",\"idempotency_key\":\"id\"}";
    tt_event a, b;
    void *oa = NULL, *ob = NULL;
    char err[256] = "";
    uint8_t ha[TT_HASH_SIZE], hb[TT_HASH_SIZE];
    assert_int_equal(parse(json, &a, &oa, err, sizeof err), TT_OK);
    a.seq = 12;
    a.ts_us = -5;
    assert_int_equal(tt_event_leaf_hash(&a, a.leaf_hash), TT_OK);
    char *out = tt_event_to_json(&a);
    json_error_t je;
    json_t *v = json_loads(out, JSON_REJECT_DUPLICATES, &je);
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_object_get(v, "seq")), 12);
    assert_string_equal(json_string_value(json_object_get(v, "ts")), "1969-12-31T23:59:59.999995Z");
    json_object_del(v, "seq");
    json_object_del(v, "ts");
    json_object_del(v, "leaf_hash");
    json_object_del(v, "principal"); /* set by the ledger, refused from a client */
    char *in = json_dumps(v, JSON_COMPACT);
    assert_int_equal(parse(in, &b, &ob, err, sizeof err), TT_OK);
    b.seq = 12;
    b.ts_us = -5;
    assert_string_equal(a.metadata, b.metadata);
    assert_int_equal(a.occurred_at_us, b.occurred_at_us);
    assert_int_equal(tt_event_leaf_hash(&b, hb), TT_OK);
    memcpy(ha, a.leaf_hash, TT_HASH_SIZE);
    assert_memory_equal(ha, hb, TT_HASH_SIZE);
    free(in);
    json_decref(v);
    tt_free(out);
    tt_free(oa);
    tt_free(ob);
}

/* The significant digits of a decimal text: no sign, point, exponent, leading or trailing
 * zeros ("0" for zero). */
static void sig_digits(const char *s, char *out)
{
    size_t n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && (n > 0 || *s != '0'))
            out[n++] = *s;
    while (n > 0 && out[n - 1] == '0')
        n--;
    if (n == 0)
        out[n++] = '0';
    out[n] = '\0';
}

/* The one writer's doubles have the digits of the shortest decimal that reads back
 * (docs/FORMAT.md section 3), found here by the plain search from 1 digit, on random bit
 * patterns and on short decimals. */
static void test_json_real_shortest(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 30000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double d;
        if (i % 2 == 0) {
            memcpy(&d, &x, sizeof d);
            if (!isfinite(d))
                continue;
        } else {
            d = (double)(int64_t)(x % 2000000) / (double)(1 + (x >> 32) % 1000);
        }
        char tmp[40], want[24], got[24];
        for (int p = 1;; p++) {
            snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
            if (p == 17 || strtod(tmp, NULL) == d)
                break;
        }
        sig_digits(tmp, want);
        tti_buf b;
        tti_buf_init(&b, 64);
        tti_buf_json_real(&b, d);
        assert_false(b.failed);
        sig_digits(b.data, got);
        if (strcmp(got, want) != 0 || strtod(b.data, NULL) != d)
            fail_msg("%.17g: wrote %s, shortest digits %s", d, b.data, want);
        tti_buf_free(&b);
    }
}

/* ---- Memory bounded by the input's limits (issue 13 item 5) --------------------------- */

/* jansson's allocations, counted: the tree it builds is what amplified memory. */
static size_t mem_now, mem_peak;

static void *count_malloc(size_t n)
{
    size_t *p = malloc(n + sizeof(size_t) * 2);
    if (p == NULL)
        return NULL;
    p[0] = n;
    mem_now += n;
    if (mem_now > mem_peak)
        mem_peak = mem_now;
    return p + 2;
}

static void count_free(void *q)
{
    if (q == NULL)
        return;
    size_t *p = (size_t *)q - 2;
    mem_now -= p[0];
    free(p);
}

/* n zeros: "0,0,...,0". */
static char *zeros(size_t n)
{
    char *s = malloc(2 * n);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[2 * i] = '0', s[2 * i + 1] = ',';
    s[2 * n - 1] = '\0';
    return s;
}

static size_t peak_of_body(const char *body, int want_rc, const char *want_msg)
{
    tt_event *events = NULL;
    size_t n = 0;
    void *owner = NULL;
    int is_batch;
    char err[512] = "";
    mem_now = mem_peak = 0;
    json_set_alloc_funcs(count_malloc, count_free);
    int rc = tt_events_parse_body(body, strlen(body), 0, &events, &n, &owner, &is_batch, err,
                                  sizeof err);
    json_set_alloc_funcs(malloc, free);
    if (rc != want_rc || strstr(err, want_msg) == NULL)
        fail_msg("want %s \"%s\", got %s: %s", tt_strerror(want_rc), want_msg, tt_strerror(rc),
                 err);
    if (rc == TT_OK)
        tt_events_free_body(events, n, owner);
    return mem_peak;
}

/* A 16 MiB body whose metadata is one long array of zeros peaked at 721 MB: the scan now
 * refuses it before jansson builds anything. A 16 MiB batch of events that each fit their
 * limits is parsed one event at a time, so jansson holds one event's tree, not the batch's. */
static void test_parse_memory_bounded(void **state)
{
    (void)state;
    const size_t body_max = 16u << 20;
    char *z = zeros(body_max / 2 - 64);
    size_t cap = body_max + 256;
    char *body = malloc(cap);
    assert_non_null(body);
    snprintf(body, cap, "{" BASE ",\"metadata\":{\"z\":[%s]}}", z);
    size_t peak = peak_of_body(body, TT_EINVAL, "metadata: larger than 65536 bytes");
    print_message("one 16 MiB metadata array: jansson peak %zu bytes\n", peak);
    assert_true(peak < 64 * 1024);
    /* The same array in another member is refused as jansson's path would refuse it. */
    snprintf(body, cap, "{" BASE ",\"reason\":[%s]}", z);
    assert_true(peak_of_body(body, TT_EINVAL, "reason: must be a string or null (got array)") <
                64 * 1024);
    snprintf(body, cap, "{" BASE ",\"extra\":[%s]}", z);
    assert_true(peak_of_body(body, TT_EINVAL, "unknown field \"extra\"") < 64 * 1024);
    free(z);

    /* 30,000 zeros normalise to 59,999 bytes: each event is within its limit. */
    z = zeros(30000);
    size_t len = 0, count = 0;
    len += (size_t)snprintf(body, cap, "[");
    while (len + 60100 < body_max) {
        len += (size_t)snprintf(body + len, cap - len, "%s{" BASE ",\"metadata\":{\"z\":[%s]}}",
                                count ? "," : "", z);
        count++;
    }
    snprintf(body + len, cap - len, "]");
    peak = peak_of_body(body, TT_OK, "");
    print_message("%zu events of 30000 zeros (%zu bytes): jansson peak %zu bytes\n", count,
                  strlen(body), peak);
    assert_true(peak < 4 * 1024 * 1024); /* one event's tree; the batch's was ~700 MB */
    free(z);

    /* Nesting is bounded too (SPEC 3.1), before anything is built. */
    size_t depth = TT_MAX_METADATA_DEPTH + 1, o = 0;
    o += (size_t)snprintf(body, cap, "{" BASE ",\"metadata\":");
    for (size_t i = 0; i < depth; i++)
        o += (size_t)snprintf(body + o, cap - o, "{\"a\":");
    o += (size_t)snprintf(body + o, cap - o, "1");
    for (size_t i = 0; i < depth + 1; i++)
        o += (size_t)snprintf(body + o, cap - o, "}");
    peak_of_body(body, TT_EINVAL, "metadata: nested deeper than 64 levels");
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_valid),
        cmocka_unit_test(test_required_fields),
        cmocka_unit_test(test_entity),
        cmocka_unit_test(test_event_type),
        cmocka_unit_test(test_text_fields),
        cmocka_unit_test(test_empty_optional),
        cmocka_unit_test(test_reason),
        cmocka_unit_test(test_metadata_rule),
        cmocka_unit_test(test_check_changes),
        cmocka_unit_test(test_occurred_at_any),
        cmocka_unit_test(test_validate_err_buffer),
        cmocka_unit_test(test_utf8_helpers),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_clone),
        cmocka_unit_test(test_leaf_absent_vs_empty),
        cmocka_unit_test(test_leaf_missing_required),
        cmocka_unit_test(test_leaf_decode),
        cmocka_unit_test(test_leaf_hash_large),
        cmocka_unit_test(test_leaf_vectors),
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_parse_nulls),
        cmocka_unit_test(test_parse_unknown_fields),
        cmocka_unit_test(test_parse_wrong_types),
        cmocka_unit_test(test_parse_missing_and_rules),
        cmocka_unit_test(test_parse_duplicates),
        cmocka_unit_test(test_parse_bad_bytes),
        cmocka_unit_test(test_parse_syntax),
        cmocka_unit_test(test_parse_metadata_size),
        cmocka_unit_test(test_parse_null_args),
        cmocka_unit_test(test_metadata_normalize),
        cmocka_unit_test(test_metadata_normalize_size),
        cmocka_unit_test(test_metadata_is_normal),
        cmocka_unit_test(test_metadata_is_normal_random),
        cmocka_unit_test(test_parse_plain_and_escaped),
        cmocka_unit_test(test_parse_memory_bounded),
        cmocka_unit_test(test_json_real_shortest),
        cmocka_unit_test(test_to_json_minimal),
        cmocka_unit_test(test_to_json_damaged),
        cmocka_unit_test(test_to_json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
