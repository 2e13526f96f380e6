/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the archive segment manifest parser (tti_segment_manifest_parse,
 * docs/FORMAT.md 9.2), what verify and reads of archived events trust first about a
 * segment (SPEC 8). Beyond not crashing: a refusal leaves *out untouched with a message; an
 * accepted manifest has a consistent range of at most TTI_ARCHIVE_MAX_EVENTS events (the
 * count that sizes a check's allocation), and writes back (tti_segment_manifest_to_json) to
 * a text that parses to the same manifest and writes the same text again. An input whose
 * first byte is 0x01 is not JSON: the 16 bytes after it give a first_seq and a count, and
 * the manifest built around them (its other members consistent) must be accepted exactly
 * when 1 <= first_seq and 1 <= count <= TTI_ARCHIVE_MAX_EVENTS, so a bound that slipped is
 * found without the fuzzer having to change four numbers together.
 */
#include "fuzz.h"

#include "jobs/archive.h"
#include "tradetrail.h"

static void check_manifest(const tti_segment_manifest *m)
{
    FUZZ_CHECK(m->first_seq >= 1 && m->last_seq >= m->first_seq);
    FUZZ_CHECK(m->count == m->last_seq - m->first_seq + 1);
    FUZZ_CHECK(m->count <= TTI_ARCHIVE_MAX_EVENTS);
    FUZZ_CHECK(m->proof_first == m->first_seq - 1 && m->proof_end == m->last_seq);
    FUZZ_CHECK(m->cp_tree_size >= m->last_seq);
    FUZZ_CHECK(m->n_hashes <= TT_RANGE_PROOF_MAX);
    FUZZ_CHECK(m->origin != NULL && m->note != NULL && m->file != NULL);
    FUZZ_CHECK(strchr(m->file, '/') == NULL);
}

static void check_same(const tti_segment_manifest *a, const tti_segment_manifest *b)
{
    FUZZ_CHECK(strcmp(a->origin, b->origin) == 0 && strcmp(a->file, b->file) == 0 &&
               strcmp(a->note, b->note) == 0);
    FUZZ_CHECK(a->first_seq == b->first_seq && a->last_seq == b->last_seq && a->count == b->count &&
               a->bytes == b->bytes);
    FUZZ_CHECK(a->cp_tree_size == b->cp_tree_size && a->proof_first == b->proof_first &&
               a->proof_end == b->proof_end && a->n_hashes == b->n_hashes);
    FUZZ_CHECK(memcmp(a->sha256, b->sha256, TT_HASH_SIZE) == 0);
    FUZZ_CHECK(memcmp(a->cp_root, b->cp_root, TT_HASH_SIZE) == 0);
    FUZZ_CHECK(memcmp(a->hashes, b->hashes, a->n_hashes * TT_HASH_SIZE) == 0);
}

static void built(const uint8_t *data, size_t size)
{
    static const char hash[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    fuzz_reader r = {data, size};
    int64_t first = (int64_t)fuzz_u64(&r), count = (int64_t)fuzz_u64(&r), last, before;
    if (__builtin_sub_overflow(count, 1, &last) || __builtin_add_overflow(first, last, &last) ||
        __builtin_sub_overflow(first, 1, &before))
        return; /* not representable as the JSON integers a writer would write */
    char text[1024], err[256];
    snprintf(text, sizeof text,
             "{\"format\":\"tradetrail-archive\",\"version\":1,\"origin\":\"o\","
             "\"first_seq\":%lld,\"last_seq\":%lld,\"count\":%lld,"
             "\"file\":\"f\",\"bytes\":1,\"sha256\":\"%s\",\"checkpoint\":{\"tree_size\":%lld,"
             "\"root_hash\":\"%s\",\"note\":\"n\"},\"proof\":{\"first\":%lld,\"end\":%lld,"
             "\"hashes\":[]}}",
             (long long)first, (long long)last, (long long)count, hash, (long long)last, hash,
             (long long)before, (long long)last);
    static tti_segment_manifest m;
    int rc = tti_segment_manifest_parse(text, strlen(text), &m, err, sizeof err);
    int want = first >= 1 && count >= 1 && count <= TTI_ARCHIVE_MAX_EVENTS;
    FUZZ_CHECK((rc == TT_OK) == want);
    if (rc == TT_OK) {
        FUZZ_CHECK(m.first_seq == first && m.count == count);
        tti_segment_manifest_clear(&m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 0x01) {
        built(data + 1, size - 1);
        return 0;
    }
    char err[256];
    static tti_segment_manifest m, m2; /* 4 KiB each */
    memset(&m, 0xa5, sizeof m);
    err[0] = '\0';
    int rc = tti_segment_manifest_parse((const char *)data, size, &m, err, sizeof err);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EPARSE || rc == TT_ENOMEM);
        FUZZ_CHECK_ERRMSG(err);
        const uint8_t *p = (const uint8_t *)&m;
        for (size_t i = 0; i < sizeof m; i++)
            FUZZ_CHECK(p[i] == 0xa5);
        return 0;
    }
    check_manifest(&m);
    char *text = tti_segment_manifest_to_json(&m);
    FUZZ_CHECK(text != NULL);
    FUZZ_CHECK(tti_segment_manifest_parse(text, strlen(text), &m2, err, sizeof err) == TT_OK);
    check_same(&m, &m2);
    char *text2 = tti_segment_manifest_to_json(&m2);
    FUZZ_CHECK(text2 != NULL && strcmp(text, text2) == 0);
    free(text);
    free(text2);
    tti_segment_manifest_clear(&m2);
    tti_segment_manifest_clear(&m);
    return 0;
}
