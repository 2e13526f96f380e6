/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of archive segments (src/jobs/archive.c): a segment of any range verifies
 * offline against the verifier key, leaves the ledger unchanged, and a flipped byte of
 * the segment, another ledger's key or a changed manifest are caught; a range without
 * stored bodies or beyond the tree is refused and leaves no file behind; a manifest claiming
 * more events than a segment may hold is refused before anything is allocated by its count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs/archive.h"
#include "tradetrail.h"
#include "testjson.h"

/* The largest calloc the library asked for since the last reset: tests/tests.cmake links
 * this program with -Wl,--wrap=calloc, so the library's calloc calls come here. */
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
static size_t largest_calloc;

void *__wrap_calloc(size_t n, size_t size)
{
    size_t bytes = size != 0 && n > SIZE_MAX / size ? SIZE_MAX : n * size;
    if (bytes > largest_calloc)
        largest_calloc = bytes;
    return __real_calloc(n, size);
}

typedef struct fixture {
    char dir[64];
    tt_ledger *l;
    char *key;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static tt_ledger *open_at(const char *dir)
{
    tt_open_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = dir;
    o.create = 1;
    tt_ledger *l = NULL;
    char err[256];
    assert_int_equal(tt_ledger_open(&o, &l, err, sizeof err), TT_OK);
    return l;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-archive-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char data[128];
    snprintf(data, sizeof data, "%s/data", f->dir);
    f->l = open_at(data);
    assert_int_equal(tt_ledger_verifier_key(f->l, &f->key), TT_OK);
    for (int i = 0; i < 700; i++) {
        tt_event ev;
        tt_event_init(&ev);
        ev.entity = "order";
        ev.entity_id = i % 2 ? "o-1" : "o-2";
        ev.event_type = "FILLED";
        ev.actor = "bot";
        ev.reason = i % 3 ? "fill" : NULL;
        ev.metadata = i % 5 ? NULL : "{\"px\":1.5}";
        tt_append_result r;
        assert_int_equal(tt_ledger_append(f->l, &ev, 1, &r), TT_OK);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tt_ledger_close(f->l);
    tt_free(f->key);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void manifest_of(fixture *f, const tt_archive_segment *s, char out[256])
{
    snprintf(out, 256, "%s/arch/seg-%012lld-%012lld.json", f->dir, (long long)s->first_seq,
             (long long)s->last_seq);
}

static void test_segments_verify(void **state)
{
    fixture *f = *state;
    char arch[128], man[256], err[256];
    snprintf(arch, sizeof arch, "%s/arch", f->dir);
    int64_t ranges[][2] = {{1, 1}, {1, 256}, {257, 300}, {301, 700}, {5, 699}};
    int64_t size0;
    uint8_t root0[TT_HASH_SIZE];
    assert_int_equal(tt_ledger_head(f->l, &size0, root0), TT_OK);
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        tt_archive_segment s, v;
        int rc = tt_archive_write_segment(f->l, arch, ranges[i][0], ranges[i][1], &s);
        if (rc != TT_OK)
            fail_msg("segment %lld-%lld: %s", (long long)ranges[i][0], (long long)ranges[i][1],
                     tt_ledger_errmsg(f->l));
        assert_int_equal(s.count, ranges[i][1] - ranges[i][0] + 1);
        manifest_of(f, &s, man);
        rc = tt_archive_verify_segment(man, f->key, &v, err, sizeof err);
        if (rc != TT_OK)
            fail_msg("verify %s: %s", man, err);
        assert_int_equal(v.count, s.count);
        assert_memory_equal(v.sha256, s.sha256, TT_HASH_SIZE);
        FILE *fp = fopen(man, "rb");
        assert_non_null(fp);
        char text[1 << 16];
        size_t len = fread(text, 1, sizeof text - 1, fp);
        fclose(fp);
        text[len] = '\0';
        tt_test_assert_jansson_layout(text);
    }
    /* the ledger is unchanged but for the checkpoint a segment may sign */
    int64_t size1;
    uint8_t root1[TT_HASH_SIZE];
    assert_int_equal(tt_ledger_head(f->l, &size1, root1), TT_OK);
    assert_int_equal(size1, size0);
    assert_memory_equal(root0, root1, TT_HASH_SIZE);
    tt_verify_report rep;
    assert_int_equal(tt_ledger_verify(f->l, NULL, NULL, &rep), TT_OK);
}

static void test_tamper_and_refusals(void **state)
{
    fixture *f = *state;
    char arch[128], man[256], err[256], path[300];
    snprintf(arch, sizeof arch, "%s/arch", f->dir);
    tt_archive_segment s;
    assert_int_equal(tt_archive_write_segment(f->l, arch, 10, 400, &s), TT_OK);
    manifest_of(f, &s, man);
    snprintf(path, sizeof path, "%s/%s", arch, s.name);
    /* another ledger's key */
    char other[128];
    snprintf(other, sizeof other, "%s/other", f->dir);
    tt_ledger *l2 = open_at(other);
    char *key2;
    assert_int_equal(tt_ledger_verifier_key(l2, &key2), TT_OK);
    tt_ledger_close(l2);
    assert_int_equal(tt_archive_verify_segment(man, key2, NULL, err, sizeof err), TT_EAUTH);
    tt_free(key2);
    /* bytes of the compressed file */
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    for (long at = 0; at < n; at += 1 + n / 23) {
        fseek(fp, at, SEEK_SET);
        int c = fgetc(fp);
        fseek(fp, at, SEEK_SET);
        fputc(c ^ 0x10, fp);
        fflush(fp);
        int rc = tt_archive_verify_segment(man, f->key, NULL, err, sizeof err);
        if (rc == TT_OK)
            fail_msg("byte %ld of the segment flipped unnoticed", at);
        fseek(fp, at, SEEK_SET);
        fputc(c, fp);
        fflush(fp);
    }
    fclose(fp);
    assert_int_equal(tt_archive_verify_segment(man, f->key, NULL, err, sizeof err), TT_OK);
    /* refusals leave nothing behind */
    assert_int_equal(tt_archive_write_segment(f->l, arch, 600, 701, NULL), TT_EINVAL);
    assert_int_equal(tt_archive_write_segment(f->l, arch, 0, 5, NULL), TT_EINVAL);
    DIR *d = opendir(arch);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        assert_null(strstr(e->d_name, ".tmp"));
    closedir(d);
}

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[len] = '\0';
    return text;
}

/* The manifest text with the range grown to count events (last_seq, count, proof.end and
 * checkpoint.tree_size follow), everything else as written. */
static char *with_count(const char *text, long long count)
{
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    assert_non_null(o);
    long long first = json_integer_value(json_object_get(o, "first_seq"));
    long long last = first + count - 1;
    json_object_set_new(o, "last_seq", json_integer(last));
    json_object_set_new(o, "count", json_integer(count));
    json_object_set_new(json_object_get(o, "proof"), "end", json_integer(last));
    json_object_set_new(json_object_get(o, "checkpoint"), "tree_size", json_integer(last));
    char *d = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    assert_non_null(d);
    json_decref(o);
    return d;
}

/* A manifest's count sizes the leaf hashes a check holds (count x 32 bytes): one claiming
 * more events than a segment may hold is refused by the parser, with the reason, before
 * anything is allocated by it; the writer and retention never make such a segment. */
static void test_manifest_count_bounded(void **state)
{
    fixture *f = *state;
    char arch[128], man[256], err[256];
    snprintf(arch, sizeof arch, "%s/arch", f->dir);
    tt_archive_segment s;
    assert_int_equal(tt_archive_write_segment(f->l, arch, 10, 400, &s), TT_OK);
    manifest_of(f, &s, man);
    const char *text = read_text(man);
    tti_segment_manifest m;
    memset(&m, 0, sizeof m);
    assert_int_equal(tti_segment_manifest_parse(text, strlen(text), &m, err, sizeof err), TT_OK);
    assert_int_equal(m.count, 391);
    assert_string_equal(m.file, s.name);
    /* written again from the struct: the same bytes */
    char *again = tti_segment_manifest_to_json(&m);
    assert_non_null(again);
    assert_int_equal(strlen(text), strlen(again) + 1);
    assert_memory_equal(text, again, strlen(again));
    tt_free(again);
    tti_segment_manifest_clear(&m);

    /* FORMAT.md 9.2: another format or version is refused, not read as this one */
    const char *others[][2] = {{"\"version\": 1", "\"version\": 2"},
                               {"\"tradetrail-archive\"", "\"tradetrail-export\""}};
    for (size_t i = 0; i < 2; i++) {
        const char *at = strstr(text, others[i][0]);
        assert_non_null(at);
        size_t pre = (size_t)(at - text), olen = strlen(others[i][0]);
        char *bad = malloc(strlen(text) + 32);
        assert_non_null(bad);
        snprintf(bad, strlen(text) + 32, "%.*s%s%s", (int)pre, text, others[i][1], at + olen);
        assert_int_equal(tti_segment_manifest_parse(bad, strlen(bad), &m, err, sizeof err),
                         TT_EPARSE);
        assert_non_null(strstr(err, "version 1 tradetrail-archive"));
        free(bad);
    }

    long long huge[] = {TTI_ARCHIVE_MAX_EVENTS + 1LL, 100000000LL, 1LL << 40, 1LL << 58,
                        INT64_MAX - 1000}; /* first_seq + count - 1 stays representable */
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        char *bad = with_count(text, huge[i]);
        memset(&m, 0x5a, sizeof m);
        largest_calloc = 0;
        assert_int_equal(tti_segment_manifest_parse(bad, strlen(bad), &m, err, sizeof err),
                         TT_EPARSE);
        assert_non_null(strstr(err, "count"));
        assert_non_null(strstr(err, "more than"));
        assert_int_equal(m.count, 0x5a5a5a5a5a5a5a5aLL); /* untouched */
        /* through the file: the same refusal, with the manifest's path */
        FILE *fp = fopen(man, "wb");
        assert_non_null(fp);
        fputs(bad, fp);
        fclose(fp);
        assert_int_equal(tt_archive_verify_segment(man, f->key, NULL, err, sizeof err), TT_EPARSE);
        assert_non_null(strstr(err, man));
        assert_non_null(strstr(err, "count"));
        if (largest_calloc > 64 * 1024)
            fail_msg("count %lld: a calloc of %zu bytes", huge[i], largest_calloc);
        free(bad);
    }
    /* at the bound the parser accepts it (the check then fails on the file) */
    char *edge = with_count(text, TTI_ARCHIVE_MAX_EVENTS);
    assert_int_equal(tti_segment_manifest_parse(edge, strlen(edge), &m, err, sizeof err), TT_OK);
    tti_segment_manifest_clear(&m);
    free(edge);
    /* a manifest larger than any real one is refused unread past its bound */
    FILE *fp = fopen(man, "wb");
    assert_non_null(fp);
    for (unsigned i = 0; i <= TTI_ARCHIVE_MANIFEST_MAX / 8; i++)
        fputs("        ", fp);
    fclose(fp);
    assert_int_equal(tt_archive_verify_segment(man, f->key, NULL, err, sizeof err), TT_EPARSE);
    assert_non_null(strstr(err, "larger than"));
    /* nothing writes a segment the parser would refuse */
    assert_int_equal(tt_archive_write_segment(f->l, arch, 1, TTI_ARCHIVE_MAX_EVENTS + 1LL, NULL),
                     TT_EINVAL);
    assert_non_null(strstr(tt_ledger_errmsg(f->l), "at most"));
    tt_retention_options o = {
        .older_than_days = 1, .archive_dir = arch, .segment_events = TTI_ARCHIVE_MAX_EVENTS + 1LL};
    tt_retention_result r;
    assert_int_equal(tt_retention_run(f->l, &o, &r), TT_EINVAL);
    assert_non_null(strstr(tt_ledger_errmsg(f->l), "segment_events"));
}

/* The plan: min_retention_days is never undercut, the range starts after the last segment
 * the store records, and held ids are counted apart. */
static void test_retention_plan(void **state)
{
    fixture *f = *state;
    char arch[128];
    snprintf(arch, sizeof arch, "%s/arch", f->dir);
    int64_t now = tt_time_now_us();
    tt_retention_plan p;
    assert_int_equal(tt_retention_plan_make(f->l, 0, 0, now, arch, &p), TT_OK);
    assert_int_equal(p.first_seq, 1);
    assert_int_equal(p.last_seq, 700);
    assert_int_equal(p.held, 0);
    /* a request for 0 days under a 7-day legal minimum archives nothing recent */
    assert_int_equal(tt_retention_plan_make(f->l, 0, 7, now, arch, &p), TT_OK);
    assert_int_equal(p.effective_days, 7);
    assert_int_equal(p.count, 0);
    assert_int_equal(tt_retention_plan_make(f->l, -1, 0, now, arch, &p), TT_EINVAL);
    /* a segment the store never recorded does not count: a run writes it again */
    assert_int_equal(tt_archive_write_segment(f->l, arch, 1, 256, NULL), TT_OK);
    assert_int_equal(tt_hold_add(f->l, "o-1", "legal", "inquiry", NULL), TT_OK);
    assert_int_equal(tt_retention_plan_make(f->l, 0, 0, tt_time_now_us() + 1, arch, &p), TT_OK);
    assert_int_equal(p.archived_through, 0);
    assert_int_equal(p.first_seq, 1);
    assert_int_equal(p.last_seq, 701);
    /* o-1 is every odd i: seqs 2, 4, ... 700 (350 events) and the HOLD event itself */
    assert_int_equal(p.held, 351);
    char *json = tt_retention_plan_to_json(&p);
    assert_non_null(strstr(json, "\"held\":351"));
    tt_free(json);
}

static int64_t count_of(const tt_count *c, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0)
            return c[i].count;
    return 0;
}

/* The counts a handle keeps as running totals (GET /api/stats) follow a retention run that
 * removed rows from the hot store: they equal what a handle opened afterwards counts. */
static void test_counts_after_retention(void **state)
{
    fixture *f = *state;
    tt_stats before, after, fresh;
    assert_int_equal(tt_ledger_stats(f->l, &before), TT_OK);
    assert_int_equal(count_of(before.by_entity, before.n_by_entity, "order"), 700);
    char arch[128], data[128];
    snprintf(arch, sizeof arch, "%s/arch", f->dir);
    tt_retention_options o = {.older_than_days = 1,
                              .archive_dir = arch,
                              .now_us = tt_time_now_us() + 3 * 86400LL * 1000000LL};
    tt_retention_result r;
    if (tt_retention_run(f->l, &o, &r) != TT_OK)
        fail_msg("retention run: %s", tt_ledger_errmsg(f->l));
    assert_true(r.archived > 0);
    assert_int_equal(tt_ledger_stats(f->l, &after), TT_OK);
    snprintf(data, sizeof data, "%s/data", f->dir);
    tt_ledger *l2 = open_at(data);
    assert_int_equal(tt_ledger_stats(l2, &fresh), TT_OK);
    tt_ledger_close(l2);
    assert_int_equal(count_of(after.by_entity, after.n_by_entity, "order"), 700 - r.archived);
    assert_int_equal(after.n_by_entity, fresh.n_by_entity);
    for (size_t i = 0; i < after.n_by_entity; i++) {
        assert_string_equal(after.by_entity[i].name, fresh.by_entity[i].name);
        assert_int_equal(after.by_entity[i].count, fresh.by_entity[i].count);
    }
    assert_int_equal(after.n_by_event_type, fresh.n_by_event_type);
    for (size_t i = 0; i < after.n_by_event_type; i++)
        assert_int_equal(after.by_event_type[i].count, fresh.by_event_type[i].count);
    tt_stats_clear(&before);
    tt_stats_clear(&after);
    tt_stats_clear(&fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_segments_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_count_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_after_retention, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
