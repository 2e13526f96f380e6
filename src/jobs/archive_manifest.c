/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An archive segment's manifest (docs/FORMAT.md 9.2) as a C struct, written and parsed in
 * one place, apart from the files and the checks of archive.c: the parser looks at no file
 * and no key, so the fuzzer (fuzz/fuzz_segment_manifest.c) reaches it directly.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/export.h"
#include "jobs/archive.h"
#include "util/buf.h"
#include "util/codec.h"

char *tti_segment_manifest_to_json(const tti_segment_manifest *m)
{
    tti_buf mb;
    tti_jw w;
    tti_buf_init(&mb, TTI_ARCHIVE_MANIFEST_MAX);
    tti_jw_init(&w, &mb);
    tti_jw_open(&w, NULL, '{');
    tti_jw_str(&w, "format", "tradetrail-archive");
    tti_jw_int(&w, "version", 1);
    tti_jw_str(&w, "origin", m->origin);
    tti_jw_int(&w, "first_seq", m->first_seq);
    tti_jw_int(&w, "last_seq", m->last_seq);
    tti_jw_int(&w, "count", m->count);
    tti_jw_str(&w, "file", m->file);
    tti_jw_int(&w, "bytes", m->bytes);
    tti_jw_hex(&w, "sha256", m->sha256, TT_HASH_SIZE);
    tti_manifest_write_proof(&w, m->cp_tree_size, m->cp_root, m->note, m->proof_first, m->proof_end,
                             m->hashes[0], m->n_hashes);
    tti_jw_close(&w, '}');
    char *text = mb.failed ? NULL : tti_buf_take(&mb);
    tti_buf_free(&mb);
    return text;
}

void tti_segment_manifest_clear(tti_segment_manifest *m)
{
    if (m == NULL)
        return;
    free(m->owner);
    memset(m, 0, sizeof *m);
}

#define FAIL(code, ...)                                                                            \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        rc = code;                                                                                 \
        goto out;                                                                                  \
    } while (0)

int tti_segment_manifest_parse(const char *text, size_t len, tti_segment_manifest *out, char *err,
                               size_t errlen)
{
    int rc = TT_OK;
    json_t *o = NULL;
    tti_segment_manifest m;
    memset(&m, 0, sizeof m);
    if (len > TTI_ARCHIVE_MANIFEST_MAX)
        FAIL(TT_EPARSE, "larger than %u bytes", TTI_ARCHIVE_MANIFEST_MAX);
    json_error_t je;
    if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
        FAIL(TT_EPARSE, "line %d column %d: %s", je.line, je.column, je.text);
    json_int_t first, last, count, bytes, cpsize, pfirst, pend, version;
    const char *format, *file, *shahex, *roothex, *note, *origin;
    json_t *jh;
    if (json_unpack_ex(o, &je, 0,
                       "{s:s,s:I,s:s,s:I,s:I,s:I,s:s,s:I,s:s,s:{s:I,s:s,s:s},s:{s:I,s:I,s:o}}",
                       "format", &format, "version", &version, "origin", &origin, "first_seq",
                       &first, "last_seq", &last, "count", &count, "file", &file, "bytes", &bytes,
                       "sha256", &shahex, "checkpoint", "tree_size", &cpsize, "root_hash", &roothex,
                       "note", &note, "proof", "first", &pfirst, "end", &pend, "hashes", &jh) != 0)
        FAIL(TT_EPARSE, "not a segment manifest: %s", je.text);
    /* FORMAT.md 9.2: a reader refuses a manifest of another format or version. */
    if (strcmp(format, "tradetrail-archive") != 0 || version != 1)
        FAIL(TT_EPARSE, "format, version: not a version 1 tradetrail-archive manifest");
    if (first < 1 || last < first || count != last - first + 1)
        FAIL(TT_EPARSE, "first_seq, last_seq, count: need 1 <= first_seq <= last_seq and count = "
                        "last_seq - first_seq + 1");
    /* WARNING: count sizes the leaf hashes a check holds (count x 32 bytes): bounded here,
     * before anyone allocates by it. */
    if (count > TTI_ARCHIVE_MAX_EVENTS)
        FAIL(TT_EPARSE, "count: %lld events, more than the %d a segment may hold", (long long)count,
             TTI_ARCHIVE_MAX_EVENTS);
    if (pfirst != first - 1 || pend != last)
        FAIL(TT_EPARSE, "proof: first and end must be first_seq - 1 and last_seq");
    if (cpsize < last)
        FAIL(TT_EPARSE, "checkpoint.tree_size: must be at least last_seq");
    if (!json_is_array(jh) || json_array_size(jh) > TT_RANGE_PROOF_MAX)
        FAIL(TT_EPARSE, "proof.hashes: must be an array of at most %d hashes", TT_RANGE_PROOF_MAX);
    if (strchr(file, '/') != NULL)
        FAIL(TT_EPARSE, "file: must name a file beside the manifest (no '/')");
    if (tti_hex_decode(shahex, strlen(shahex), m.sha256, TT_HASH_SIZE) != 0)
        FAIL(TT_EPARSE, "sha256: not 64 hex digits");
    if (tti_hex_decode(roothex, strlen(roothex), m.cp_root, TT_HASH_SIZE) != 0)
        FAIL(TT_EPARSE, "checkpoint.root_hash: not 64 hex digits");
    m.n_hashes = json_array_size(jh);
    for (size_t i = 0; i < m.n_hashes; i++) {
        json_t *h = json_array_get(jh, i);
        if (!json_is_string(h) || tti_hex_decode(json_string_value(h), json_string_length(h),
                                                 m.hashes[i], TT_HASH_SIZE) != 0)
            FAIL(TT_EPARSE, "proof.hashes[%zu]: not a hash", i);
    }
    /* The three strings in one block (each within the text's bounded length). */
    size_t no = strlen(origin) + 1, nf = strlen(file) + 1, nn = strlen(note) + 1;
    char *owner = malloc(no + nf + nn);
    if (owner == NULL)
        FAIL(TT_ENOMEM, "out of memory");
    memcpy(owner, origin, no);
    memcpy(owner + no, file, nf);
    memcpy(owner + no + nf, note, nn);
    m.owner = owner;
    m.origin = owner;
    m.file = owner + no;
    m.note = owner + no + nf;
    m.first_seq = first;
    m.last_seq = last;
    m.count = count;
    m.bytes = bytes;
    m.cp_tree_size = cpsize;
    m.proof_first = pfirst;
    m.proof_end = pend;
    *out = m;
out:
    json_decref(o);
    return rc;
}
