/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of redaction (SPEC 15): the redact_keys set, the normaliser replacing values
 * at any depth, case-insensitively and whatever their type, every parsing path (single,
 * array, NDJSON, tt_metadata_normalize), direct callers refused, and the ledger hashing,
 * verifying and proving the redacted form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/redact.h"
#include "testdb.h"
#include "tradetrail.h"

static char *norm(const char *in)
{
    char *out = NULL, err[256] = "";
    int rc = tt_metadata_normalize(in, strlen(in), &out, err, sizeof err);
    if (rc != TT_OK)
        fail_msg("normalize %s: %s", in, err);
    return out;
}

static void norm_is(const char *in, const char *want)
{
    char *got = norm(in);
    assert_string_equal(got, want);
    tt_free(got);
}

/* The written-out default set is the parse of TT_REDACT_DEFAULT. */
static void default_set(void **state)
{
    (void)state;
    assert_string_equal(tt_redact_keys_get(), TT_REDACT_DEFAULT);
    static const char *const yes[] = {"api_key",    "apikey", "secret",      "password",
                                      "passphrase", "token",  "private_key", "PassWord",
                                      "API_KEY",    "Token"};
    static const char *const no[] = {"tokens", "secret_", "pass", "key", "run", "api-key", ""};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
            assert_true(tti_redact_match(yes[i], strlen(yes[i])));
        for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
            assert_false(tti_redact_match(no[i], strlen(no[i])));
        assert_int_equal(tt_redact_keys_set(NULL, NULL, 0), TT_OK); /* parsed this time */
        assert_string_equal(tt_redact_keys_get(), TT_REDACT_DEFAULT);
    }
}

static void nested_and_arrays(void **state)
{
    (void)state;
    norm_is("{\"run\":\"r1\",\"auth\":{\"inner\":{\"Password\":\"hunter2\",\"user\":\"bob\"}},"
            "\"accounts\":[{\"API_KEY\":\"k1\",\"n\":1},[{\"secret\":\"s\"}],\"token\"],"
            "\"score\":0.5}",
            "{\"run\":\"r1\",\"auth\":{\"inner\":{\"Password\":\"[redacted]\",\"user\":\"bob\"}},"
            "\"accounts\":[{\"API_KEY\":\"[redacted]\",\"n\":1},[{\"secret\":\"[redacted]\"}],"
            "\"token\"],\"score\":0.5}");
    /* A key spelled with an escape is the same key. */
    norm_is("{\"pass\\u0077ord\":\"x\"}", "{\"password\":\"[redacted]\"}");
    /* Nothing to redact: byte for byte what the normaliser always wrote. */
    norm_is("{ \"a\" : [1, {\"b\": null}], \"tok\": \"t\" }",
            "{\"a\":[1,{\"b\":null}],\"tok\":\"t\"}");
}

static void non_string_values(void **state)
{
    (void)state;
    norm_is("{\"token\":123,\"secret\":{\"x\":1},\"passphrase\":[1,2],\"private_key\":null,"
            "\"apikey\":true,\"password\":-1.5}",
            "{\"token\":\"[redacted]\",\"secret\":\"[redacted]\",\"passphrase\":\"[redacted]\","
            "\"private_key\":\"[redacted]\",\"apikey\":\"[redacted]\",\"password\":"
            "\"[redacted]\"}");
}

static void configured_set(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(tt_redact_keys_set(" Sig , nonce,,", err, sizeof err), TT_OK);
    assert_string_equal(tt_redact_keys_get(), "Sig,nonce");
    norm_is("{\"SIG\":\"abc\",\"Nonce\":7,\"token\":\"t\"}",
            "{\"SIG\":\"[redacted]\",\"Nonce\":\"[redacted]\",\"token\":\"t\"}");
    assert_int_equal(tt_redact_keys_set("none", err, sizeof err), TT_OK);
    assert_string_equal(tt_redact_keys_get(), "");
    norm_is("{\"password\":\"p\"}", "{\"password\":\"p\"}");
    /* A bad list leaves the set as it was. */
    char long_key[80];
    memset(long_key, 'k', 64);
    long_key[64] = '\0';
    assert_int_equal(tt_redact_keys_set(long_key, err, sizeof err), TT_EINVAL);
    assert_non_null(strstr(err, "redact_keys"));
    assert_int_equal(tt_redact_keys_set("a\"b", err, sizeof err), TT_EINVAL);
    assert_string_equal(tt_redact_keys_get(), "");
    assert_int_equal(tt_redact_keys_set(NULL, err, sizeof err), TT_OK);
    norm_is("{\"password\":\"p\"}", "{\"password\":\"[redacted]\"}");
}

/* Every body form of POST /api/events and the NDJSON of `tradetrail append`. */
static void body_paths(void **state)
{
    (void)state;
    static const char one[] = "{\"entity\":\"order\",\"entity_id\":\"o-1\",\"event_type\":"
                              "\"PLACED\",\"actor\":\"bot\",\"metadata\":{\"exchange\":{"
                              "\"ApiKey\":\"AK\",\"secret\":\"S\"}}}";
    static const char want[] = "{\"exchange\":{\"ApiKey\":\"[redacted]\",\"secret\":"
                               "\"[redacted]\"}}";
    char body[1024], err[256] = "";
    for (int form = 0; form < 3; form++) {
        if (form == 0)
            snprintf(body, sizeof body, "%s", one);
        else if (form == 1)
            snprintf(body, sizeof body, "[%s,%s]", one, one);
        else
            snprintf(body, sizeof body, "%s\n%s\n", one, one);
        tt_event *ev = NULL;
        size_t n = 0;
        void *owner = NULL;
        int is_batch = 0;
        int rc = tt_events_parse_body(body, strlen(body), form == 2, &ev, &n, &owner, &is_batch,
                                      err, sizeof err);
        if (rc != TT_OK)
            fail_msg("form %d: %s", form, err);
        for (size_t i = 0; i < n; i++)
            assert_string_equal(ev[i].metadata, want);
        tt_events_free_body(ev, n, owner);
    }
    tt_event ev;
    void *block = NULL;
    assert_int_equal(tt_event_parse_json(one, strlen(one), &ev, &block, err, sizeof err), TT_OK);
    assert_string_equal(ev.metadata, want);
    free(block);
}

/* Verifying an export recomputes the stored text: never redacted again. */
static void renormalize_keeps(void **state)
{
    (void)state;
    char *out = NULL, err[256];
    static const char in[] = "{\"password\":\"old\"}";
    assert_int_equal(tti_metadata_renormalize(in, strlen(in), &out, err, sizeof err), TT_OK);
    assert_string_equal(out, in);
    tt_free(out);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The ledger stores, hashes, verifies and proves the redacted form; a direct caller's
 * unredacted metadata is refused, not stored. */
static void ledger_hashes_redacted(void **state)
{
    (void)state;
    char dir[] = "/tmp/tt-redact-XXXXXX", uri[512], err[512] = "";
    assert_non_null(mkdtemp(dir));
    tt_open_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = dir;
    o.create = 1;
    o.db_uri = tt_test_db_uri(dir, uri, sizeof uri);
    tt_ledger *l = NULL;
    if (tt_ledger_open(&o, &l, err, sizeof err) != TT_OK)
        fail_msg("open: %s", err);

    static const char body[] = "{\"entity\":\"order\",\"entity_id\":\"o-1\",\"event_type\":"
                               "\"PLACED\",\"actor\":\"bot\",\"metadata\":{\"keys\":[{\"token\":"
                               "\"T0PSECRET\"}],\"qty\":2}}";
    tt_event *ev = NULL;
    size_t n = 0;
    void *owner = NULL;
    int is_batch;
    assert_int_equal(
        tt_events_parse_body(body, strlen(body), 0, &ev, &n, &owner, &is_batch, err, sizeof err),
        TT_OK);
    tt_append_result res[2];
    assert_int_equal(tt_ledger_append_parsed(l, ev, n, owner, res), TT_OK);
    tt_events_free_body(ev, n, owner);

    /* Direct callers: raw secret refused, normalised (redacted) accepted. */
    tt_event d;
    tt_event_init(&d);
    d.entity = "order";
    d.entity_id = "o-2";
    d.event_type = "PLACED";
    d.actor = "bot";
    d.metadata = "{\"secret\":\"S3\"}";
    assert_int_equal(tt_ledger_append(l, &d, 1, &res[1]), TT_EINVAL);
    assert_non_null(strstr(tt_ledger_errmsg(l), "redact_keys"));
    char *m = norm(d.metadata);
    d.metadata = m;
    assert_int_equal(tt_ledger_append(l, &d, 1, &res[1]), TT_OK);
    tt_free(m);

    tt_event *got = NULL;
    assert_int_equal(tt_ledger_get(l, res[0].seq, &got), TT_OK);
    assert_string_equal(got->metadata, "{\"keys\":[{\"token\":\"[redacted]\"}],\"qty\":2}");
    uint8_t h[TT_HASH_SIZE];
    assert_int_equal(tt_event_leaf_hash(got, h), TT_OK);
    assert_memory_equal(h, res[0].leaf_hash, TT_HASH_SIZE);
    tt_event_free(got);
    assert_int_equal(tt_ledger_get(l, res[1].seq, &got), TT_OK);
    assert_string_equal(got->metadata, "{\"secret\":\"[redacted]\"}");
    tt_event_free(got);

    tt_verify_report rep;
    assert_int_equal(tt_ledger_verify(l, NULL, NULL, &rep), TT_OK);
    tt_proof p;
    assert_int_equal(tt_ledger_prove_inclusion(l, res[0].seq, 0, &p), TT_OK);
    assert_memory_equal(p.leaf_hash, res[0].leaf_hash, TT_HASH_SIZE);
    assert_int_equal(tt_proof_verify_inclusion(p.leaf_index, p.tree_size, p.leaf_hash,
                                               (const uint8_t(*)[TT_HASH_SIZE])p.hashes, p.n_hashes,
                                               p.root_hash),
                     TT_OK);
    tt_ledger_close(l);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_set),
        cmocka_unit_test(nested_and_arrays),
        cmocka_unit_test(non_string_values),
        cmocka_unit_test(configured_set),
        cmocka_unit_test(body_paths),
        cmocka_unit_test(renormalize_keeps),
        cmocka_unit_test(ledger_hashes_redacted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
