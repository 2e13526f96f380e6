/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the export parsers (docs/FORMAT.md section 8): the manifest
 * (tti_manifest_parse, what tradetrail verify-export reads first and trusts least) and one
 * JSON-lines record (tti_export_parse_jsonl). Beyond not crashing: an accepted manifest
 * writes back (tti_manifest_to_json) to a text that parses to the same manifest and writes
 * the same text again; its counts agree with its range and its files cover the range.
 */
#include "fuzz.h"

#include "core/export.h"
#include "tradetrail.h"

static void check_manifest(const tti_manifest *m)
{
    FUZZ_CHECK(m->count == m->last_seq - m->first_seq + 1 && m->count >= 0);
    FUZZ_CHECK(m->last_seq <= m->tree_size && m->tree_size <= m->cp_tree_size);
    FUZZ_CHECK(m->n_files >= 1 && m->files[0].first_seq == m->first_seq);
    FUZZ_CHECK(m->files[m->n_files - 1].last_seq == m->last_seq);
    FUZZ_CHECK(m->n_hashes <= TT_RANGE_PROOF_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    tti_manifest m;
    if (tti_manifest_parse((const char *)data, size, &m, err, sizeof err) == TT_OK) {
        check_manifest(&m);
        char *text = tti_manifest_to_json(&m);
        FUZZ_CHECK(text != NULL);
        tti_manifest m2;
        FUZZ_CHECK(tti_manifest_parse(text, strlen(text), &m2, err, sizeof err) == TT_OK);
        char *text2 = tti_manifest_to_json(&m2);
        FUZZ_CHECK(text2 != NULL && strcmp(text, text2) == 0);
        free(text);
        free(text2);
        tti_manifest_clear(&m2);
        tti_manifest_clear(&m);
    }
    tti_export_rec rec;
    if (size <= TTI_EXPORT_MAX_RECORD &&
        tti_export_parse_jsonl((const char *)data, size, &rec, err, sizeof err) == TT_OK) {
        FUZZ_CHECK(rec.ev.seq >= 1 && rec.ev.entity != NULL && rec.ev.actor != NULL);
        uint8_t h[TT_HASH_SIZE];
        FUZZ_CHECK(tt_event_leaf_hash(&rec.ev, h) == TT_OK);
        tti_export_rec_clear(&rec);
    }
    return 0;
}
