/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the verifiable export (src/jobs/export.c, src/core/export_*.c): range
 * proofs recomputed to the root for every range of small trees, exports of windows in
 * both formats verified offline, the streamed bytes equal to the directory's, every
 * kind of tampering with an export (a byte, a deleted or swapped line, a file, the
 * manifest, the signature, another ledger's key) caught with the failing item named, and
 * CSV records of every leaf version (SPEC 15's producer columns) read back by their header.
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
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/export.h"
#include "tradetrail.h"
#include "util/buf.h"
#include "util/codec.h"
#include "testdb.h"
#include "testjson.h"

typedef struct fixture {
    char dir[64];
    tt_ledger *l;
    char *key;
    int64_t ts[64]; /* ts of seq i at [i] */
    int n;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static tt_ledger *open_at(const char *dir)
{
    tt_open_options o;
    memset(&o, 0, sizeof o);
    char uri[512];
    o.data_dir = dir;
    o.db_uri = tt_test_db_uri(dir, uri, sizeof uri); /* PostgreSQL in the pg/ matrix */
    o.create = 1;
    tt_ledger *l = NULL;
    char err[256];
    assert_int_equal(tt_ledger_open(&o, &l, err, sizeof err), TT_OK);
    return l;
}

static void append(fixture *f, const char *reason, const char *meta)
{
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "strategy";
    ev.entity_id = "s,1\"x";
    ev.event_type = "ACTIVATED";
    ev.actor = "evaluator";
    ev.reason = reason;
    ev.metadata = meta;
    tt_append_result r;
    assert_int_equal(tt_ledger_append(f->l, &ev, 1, &r), TT_OK);
    f->n = (int)r.seq;
    f->ts[r.seq] = r.ts_us;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-export-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char data[128];
    snprintf(data, sizeof data, "%s/data", f->dir);
    f->l = open_at(data);
    assert_int_equal(tt_ledger_verifier_key(f->l, &f->key), TT_OK);
    for (int i = 0; i < 20; i++) {
        append(f,
               i % 3 == 0   ? "line one\nline \"two\""
               : i % 3 == 1 ? ""
                            : NULL,
               i % 2 ? "{\"a\":1.5,\"b\":[1,\"x,y\"],\"c\":1e-05,\"é\":\"\\u0001\"}" : NULL);
        usleep(1000);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tt_ledger_close(f->l);
    tt_free(f->key);
    rm_rf(f->dir);
    free(f);
    return 0;
}

/* ---- range proofs: FORMAT.md 8.4's walk, written again from the text ---- */

typedef struct walk {
    const uint8_t (*leaves)[32];
    int64_t lo, hi;
    const uint8_t (*proof)[32];
    size_t n, used;
    int bad;
} walk;

static void calc(walk *w, int64_t l, int64_t r, uint8_t out[32])
{
    if (r <= w->lo || l >= w->hi) {
        if (w->used == w->n) {
            w->bad = 1;
            memset(out, 0, 32);
            return;
        }
        memcpy(out, w->proof[w->used++], 32);
        return;
    }
    if (r - l == 1) {
        memcpy(out, w->leaves[l], 32);
        return;
    }
    int64_t k = 1;
    while (k * 2 < r - l)
        k *= 2;
    uint8_t a[32], b[32];
    calc(w, l, l + k, a);
    calc(w, l + k, r, b);
    tti_hash_node(a, b, out);
}

static void test_range_proofs(void **state)
{
    fixture *f = *state;
    uint8_t leaves[64][32];
    for (int s = 1; s <= f->n; s++) {
        tt_event *ev;
        assert_int_equal(tt_ledger_get(f->l, s, &ev), TT_OK);
        memcpy(leaves[s - 1], ev->leaf_hash, 32);
        tt_event_free(ev);
    }
    uint8_t hashes[TT_RANGE_PROOF_MAX][32];
    for (int64_t size = 1; size <= f->n; size++) {
        tt_proof p;
        assert_int_equal(tt_ledger_prove_inclusion(f->l, 1, size, &p), TT_OK);
        for (int64_t lo = 0; lo <= size; lo++)
            for (int64_t hi = lo; hi <= size; hi++) {
                size_t n = 0;
                assert_int_equal(tt_ledger_prove_range(f->l, lo, hi, size, hashes, &n), TT_OK);
                walk w = {leaves, lo, hi, (const uint8_t(*)[32])hashes, n, 0, 0};
                uint8_t root[32];
                calc(&w, 0, size, root);
                assert_false(w.bad);
                assert_int_equal(w.used, n);
                assert_memory_equal(root, p.root_hash, 32);
            }
    }
    size_t n;
    assert_int_equal(tt_ledger_prove_range(f->l, 3, 2, 5, hashes, &n), TT_EINVAL);
    assert_int_equal(tt_ledger_prove_range(f->l, 0, 5, f->n + 1, hashes, &n), TT_EINVAL);
}

/* ---- exports ---- */

static void export_to(fixture *f, const char *name, int64_t since, int64_t until,
                      tt_export_format fmt, int64_t per_file, char out[256])
{
    snprintf(out, 256, "%s/%s", f->dir, name);
    tt_export_options o;
    tt_export_options_init(&o);
    o.since_us = since;
    o.until_us = until;
    o.format = fmt;
    o.max_file_events = per_file;
    tt_export_summary sum;
    int rc = tt_export_write_dir(f->l, &o, out, NULL, NULL, &sum);
    if (rc != TT_OK)
        fail_msg("export: %s: %s", tt_strerror(rc), tt_ledger_errmsg(f->l));
}

static int verify(const char *dir, const char *key, tt_export_report *rep)
{
    return tt_export_verify_dir(dir, key, NULL, NULL, rep);
}

static void test_export_windows(void **state)
{
    fixture *f = *state;
    tt_export_report rep;
    char dir[256], name[64];
    int k = 0;
    /* every window [a, b] of seqs, as since = ts(a), until = ts(b + 1), both formats */
    for (int a = 1; a <= f->n; a += 3)
        for (int b = a - 1; b <= f->n; b += 4) {
            tt_export_format fmt = (a + b) % 2 ? TT_EXPORT_CSV : TT_EXPORT_JSONL;
            snprintf(name, sizeof name, "w%d", k++);
            int64_t until = b < f->n ? f->ts[b + 1] : TT_TIME_NONE;
            export_to(f, name, a > 1 ? f->ts[a] : TT_TIME_NONE, until, fmt, 1 + (a % 4), dir);
            int rc = verify(dir, f->key, &rep);
            if (rc != TT_OK)
                fail_msg("window [%d, %d]: %s: %s", a, b, rep.item, rep.message);
            assert_int_equal(rep.first_seq, a);
            assert_int_equal(rep.last_seq, b);
            assert_int_equal(rep.count, b - a + 1);
        }
}

/* The streamed bytes are the directory's file, and its manifest verifies too. */
static void test_stream_equals_dir(void **state)
{
    fixture *f = *state;
    char dir[256];
    export_to(f, "d", f->ts[5], f->ts[15], TT_EXPORT_CSV, 0, dir);
    tt_export_options o;
    tt_export_options_init(&o);
    o.since_us = f->ts[5];
    o.until_us = f->ts[15];
    o.format = TT_EXPORT_CSV;
    tt_export *x;
    assert_int_equal(tt_export_open(f->l, &o, &x), TT_OK);
    char *manifest = NULL;
    assert_int_equal(tt_export_manifest(x, "events.csv", &manifest), TT_EMISUSE);
    char path[600], buf[7];
    snprintf(path, sizeof path, "%s/events-000001.csv", dir);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n;
    char s[280];
    snprintf(s, sizeof s, "%s/s", f->dir);
    mkdir(s, 0700);
    snprintf(path, sizeof path, "%s/events.csv", s);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    while (tt_export_read(x, buf, sizeof buf, &n) == TT_OK && n > 0) {
        char want[7];
        assert_int_equal(fread(want, 1, n, fp), n);
        assert_memory_equal(want, buf, n);
        fwrite(buf, 1, n, out);
    }
    assert_int_equal(fgetc(fp), EOF);
    fclose(fp);
    fclose(out);
    assert_int_equal(tt_export_manifest(x, "events.csv", &manifest), TT_OK);
    tt_test_assert_jansson_layout(manifest);
    tt_export_free(x);
    snprintf(path, sizeof path, "%s/manifest.json", s);
    out = fopen(path, "wb");
    fputs(manifest, out);
    fclose(out);
    tt_free(manifest);
    tt_export_report rep;
    assert_int_equal(verify(s, f->key, &rep), TT_OK);
    assert_int_equal(rep.count, 10);
}

/* ---- tampering ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
    p[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return p;
}

static void spit(const char *path, const char *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

/* Copy a line-oriented file with line i (0-based) deleted, or lines i and i + 1 swapped. */
static void edit_lines(const char *path, int i, int swap)
{
    size_t n;
    char *p = slurp(path, &n);
    char *lines[256];
    int nl = 0;
    for (char *s = p; *s && nl < 256;) {
        lines[nl++] = s;
        char *e = strchr(s, '\n');
        if (e == NULL)
            break;
        s = e + 1;
    }
    FILE *fp = fopen(path, "wb");
    for (int j = 0; j < nl; j++) {
        int k = swap && j == i ? i + 1 : swap && j == i + 1 ? i : j;
        if (!swap && j == i)
            continue;
        char *e = strchr(lines[k], '\n');
        fwrite(lines[k], 1, e ? (size_t)(e - lines[k] + 1) : strlen(lines[k]), fp);
    }
    fclose(fp);
    free(p);
}

static void expect_fail(fixture *f, const char *dir, const char *key, int want_rc,
                        const char *item_part)
{
    tt_export_report rep;
    int rc = verify(dir, key ? key : f->key, &rep);
    if (rc != want_rc || strstr(rep.item, item_part) == NULL)
        fail_msg("%s: got %s, item \"%s\": %s (wanted %s, item ~ \"%s\")", dir, tt_strerror(rc),
                 rep.item, rep.message, tt_strerror(want_rc), item_part);
}

static void fresh(fixture *f, const char *name, tt_export_format fmt, char dir[256])
{
    export_to(f, name, f->ts[4], f->ts[17], fmt, 0, dir);
    tt_export_report rep;
    assert_int_equal(verify(dir, f->key, &rep), TT_OK);
}

static void test_tamper(void **state)
{
    fixture *f = *state;
    char dir[256], path[300];
    for (int fi = 0; fi < 2; fi++) {
        tt_export_format fmt = fi ? TT_EXPORT_CSV : TT_EXPORT_JSONL;
        const char *ext = fi ? "csv" : "jsonl";
        int hdr = fi; /* CSV's header is line 1 */
        char name[32];
        /* every single byte of the data file, flipped: caught */
        snprintf(name, sizeof name, "t%d-bytes", fi);
        fresh(f, name, fmt, dir);
        snprintf(path, sizeof path, "%s/events-000001.%s", dir, ext);
        size_t n;
        char *orig = slurp(path, &n);
        for (size_t i = 0; i < n; i += 1 + i / 97) {
            orig[i] ^= 0x01;
            spit(path, orig, n);
            tt_export_report rep;
            int rc = verify(dir, f->key, &rep);
            if (rc == TT_OK)
                fail_msg("flipping byte %zu of %s went unnoticed", i, path);
            assert_true(strstr(rep.item, "events-000001") != NULL);
            orig[i] ^= 0x01;
        }
        spit(path, orig, n);
        free(orig);
        /* a deleted line, swapped lines */
        edit_lines(path, hdr + 3, 0);
        expect_fail(f, dir, NULL, TT_ETAMPERED, "events-000001");
        spit(path, "", 0);
        snprintf(name, sizeof name, "t%d-swap", fi);
        fresh(f, name, fmt, dir);
        snprintf(path, sizeof path, "%s/events-000001.%s", dir, ext);
        edit_lines(path, hdr + 2, 1);
        expect_fail(f, dir, NULL, TT_ETAMPERED, "events-000001");
        /* the file gone */
        unlink(path);
        expect_fail(f, dir, NULL, TT_ETAMPERED, "events-000001");
    }
    char name[32];
    snprintf(name, sizeof name, "t-manifest");
    fresh(f, name, TT_EXPORT_JSONL, dir);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    size_t n;
    char *m = slurp(path, &n);
    /* a bad signature: one base64 character of the signature line changed */
    char *sig = strstr(m, "\\u2014 ");
    if (sig == NULL)
        sig = strstr(m, "\xe2\x80\x94 ");
    assert_non_null(sig);
    char *end = strstr(sig, "\\n\"");
    assert_non_null(end);
    char was = end[-3];
    end[-3] = was == 'A' ? 'B' : 'A';
    spit(path, m, n);
    expect_fail(f, dir, NULL, TT_EAUTH, "checkpoint");
    end[-3] = was;
    spit(path, m, n);
    tt_export_report rep;
    assert_int_equal(verify(dir, f->key, &rep), TT_OK);
    /* another ledger's key */
    char other[128];
    snprintf(other, sizeof other, "%s/other", f->dir);
    tt_ledger *l2 = open_at(other);
    char *key2;
    assert_int_equal(tt_ledger_verifier_key(l2, &key2), TT_OK);
    tt_ledger_close(l2);
    expect_fail(f, dir, key2, TT_EAUTH, "checkpoint");
    tt_free(key2);
    /* the window widened in the manifest: the boundary event contradicts it */
    char *since = strstr(m, "\"since\": \"");
    assert_non_null(since);
    memcpy(since + 10, "2000", 4);
    spit(path, m, n);
    expect_fail(f, dir, NULL, TT_ETAMPERED, "boundary.before");
    memcpy(since + 10, "2026", 4);
    /* a proof hash changed */
    char *h = strstr(m, "\"hashes\": [\n");
    assert_non_null(h);
    h = strchr(h + 12, '"');
    h[1] = h[1] == '0' ? '1' : '0';
    spit(path, m, n);
    expect_fail(f, dir, NULL, TT_ETAMPERED, "proof");
    free(m);
    /* a malformed manifest */
    spit(path, "{\"format\":1}", 12);
    expect_fail(f, dir, NULL, TT_EPARSE, "manifest");
}

/* ---- CSV records and their header (FORMAT.md 8.2) ---- */

/* Split one CSV record whose quoted values hold no '"' or ',' (CRLF stripped); the texts
 * point into line, which is changed. */
static size_t split_simple(char *line, tti_csv_field *f, size_t max)
{
    size_t n = 0;
    char *crlf = strstr(line, "\r\n");
    if (crlf != NULL)
        *crlf = '\0';
    for (char *p = line; n < max; p++) {
        char *end = strchr(p, ',');
        if (end != NULL)
            *end = '\0';
        f[n].quoted = p[0] == '"';
        f[n].text = p + f[n].quoted;
        f[n].len = strlen(f[n].text) - (size_t)(f[n].quoted ? 1 : 0);
        f[n].text[f[n].len] = '\0';
        n++;
        if (end == NULL)
            break;
        p = end;
    }
    return n;
}

/* The layout a header row gives, or its TT_EPARSE. */
static int layout_of(const char *header, tti_csv_layout *lay)
{
    char line[512], err[256];
    tti_csv_field f[TTI_EXPORT_CSV_COLUMNS + 1];
    snprintf(line, sizeof line, "%s", header);
    size_t n = split_simple(line, f, TTI_EXPORT_CSV_COLUMNS + 1);
    return tti_export_csv_layout(f, n, lay, err, sizeof err);
}

/* Parse one CSV record under lay; its leaf hash recomputed into h. */
static int parse_record(const tti_csv_layout *lay, const char *record, uint8_t h[32])
{
    char line[1024], err[256];
    tti_csv_field f[TTI_EXPORT_CSV_COLUMNS + 1];
    snprintf(line, sizeof line, "%s", record);
    size_t n = split_simple(line, f, TTI_EXPORT_CSV_COLUMNS + 1);
    tti_export_rec rec;
    int rc = tti_export_parse_csv(lay, f, n, &rec, err, sizeof err);
    if (rc == TT_OK) {
        assert_int_equal(tt_event_leaf_hash(&rec.ev, h), TT_OK);
        assert_memory_equal(h, rec.ev.leaf_hash, 32);
    }
    tti_export_rec_clear(&rec);
    return rc;
}

/* An event with the required fields only, at 2026-01-18T10:31:00.123456Z. */
static void order_event(tt_event *ev, int64_t seq)
{
    tt_event_init(ev);
    ev->seq = seq;
    ev->ts_us = 1768732260123456;
    ev->entity = "order";
    ev->entity_id = "o-1";
    ev->event_type = "FILLED";
    ev->actor = "bot";
}

/* Every leaf version re-hashes from its CSV record, under the header written now and under
 * the 14-column header of exports written before producer and producer_seq. */
static void test_csv_leaf_versions(void **state)
{
    (void)state;
    tt_event ev;
    order_event(&ev, 7);
    ev.reason = "";
    tti_buf b;
    tti_buf_init(&b, 1 << 16);
    assert_int_equal(tti_export_header(TT_EXPORT_CSV, &b), 0);
    tti_csv_layout now, old;
    assert_int_equal(layout_of(b.data, &now), TT_OK);
    assert_int_equal(now.n, TTI_EXPORT_CSV_COLUMNS);
    const char *old_header = "seq,ts,entity,entity_id,event_type,actor,old_status,new_status,"
                             "reason,metadata,occurred_at,idempotency_key,principal,leaf_hash";
    assert_int_equal(layout_of(old_header, &old), TT_OK);
    assert_int_equal(old.pos[TTI_EXPORT_COLUMNS], -1);
    for (int version = 1; version <= 3; version++) {
        ev.principal = version >= 2 ? "token:ingest" : NULL;
        ev.producer = version == 3 ? "ft-main" : NULL;
        ev.producer_seq = version == 3 ? 4294967298 : 0; /* wider than 32 bits */
        uint8_t *leaf, h[32];
        size_t len;
        assert_int_equal(tt_event_leaf_bytes(&ev, &leaf, &len), TT_OK);
        assert_int_equal(leaf[0], version);
        tt_free(leaf);
        assert_int_equal(tt_event_leaf_hash(&ev, ev.leaf_hash), TT_OK);
        tti_buf_reset(&b);
        assert_int_equal(tti_export_record(TT_EXPORT_CSV, &ev, &b), 0);
        assert_int_equal(parse_record(&now, b.data, h), TT_OK);
        assert_memory_equal(h, ev.leaf_hash, 32);
        if (version < 3) { /* what the writer made before: without the two empty cells */
            char *end = strstr(b.data, "\",,\r\n");
            assert_non_null(end);
            memcpy(end, "\"\r\n", 4); /* with its NUL */
            assert_int_equal(parse_record(&old, b.data, h), TT_OK);
        } else {
            assert_non_null(strstr(b.data, ",\"ft-main\",4294967298\r\n"));
            assert_int_equal(parse_record(&old, b.data, h), TT_EPARSE); /* 16 fields, not 14 */
        }
    }
    tti_buf_free(&b);
}

/* A header is read by its names; a record's producer cells follow FORMAT.md 8.2. */
static void test_csv_header_and_producer_cells(void **state)
{
    (void)state;
    tti_csv_layout lay;
    static const char *const bad_headers[] = {
        "seq,ts,entity,entity_id,event_type,actor,old_status,new_status,reason,metadata,"
        "occurred_at,idempotency_key,principal,leaf_hash,producer", /* without producer_seq */
        "seq,ts,entity,entity_id,event_type,actor,old_status,new_status,reason,metadata,"
        "occurred_at,idempotency_key,principal", /* without leaf_hash */
        "seq,ts,entity,entity_id,event_type,actor,old_status,new_status,reason,metadata,"
        "occurred_at,idempotency_key,principal,leaf_hash,seq", /* twice */
        "seq,ts,entity,entity_id,event_type,actor,old_status,new_status,reason,metadata,"
        "occurred_at,idempotency_key,principal,leaf_hash,producers,producer_seq",
        "seq,ts,entity,entity_id,event_type,actor,old_status,new_status,reason,metadata,"
        "occurred_at,idempotency_key,principal,\"leaf_hash\"",
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++)
        assert_int_equal(layout_of(bad_headers[i], &lay), TT_EPARSE);
    /* the columns in another order: each found by its name */
    assert_int_equal(layout_of("producer_seq,leaf_hash,producer,seq,ts,entity,entity_id,"
                               "event_type,actor,old_status,new_status,reason,metadata,"
                               "occurred_at,idempotency_key,principal",
                               &lay),
                     TT_OK);
    tt_event ev;
    order_event(&ev, 3);
    ev.principal = "lib";
    ev.producer = "p";
    ev.producer_seq = 12;
    assert_int_equal(tt_event_leaf_hash(&ev, ev.leaf_hash), TT_OK);
    char hex[65], rec[512];
    tti_hex_encode(ev.leaf_hash, 32, hex);
    uint8_t h[32];
    const char *lead = "\"2026-01-18T10:31:00.123456Z\",\"order\",\"o-1\",\"FILLED\",\"bot\","
                       ",,,,,,\"lib\"";
    snprintf(rec, sizeof rec, "12,\"%s\",\"p\",3,%s", hex, lead);
    assert_int_equal(parse_record(&lay, rec, h), TT_OK);
    assert_memory_equal(h, ev.leaf_hash, 32);
    static const char *const bad_cells[][2] = {
        /* producer_seq, producer */
        {"12", "\"\""},   /* "" is not a name */
        {"", "\"p\""},    /* a producer without its producer_seq */
        {"12", ""},       /* a producer_seq without its producer */
        {"012", "\"p\""}, /* producer_seq is written as seq is: bare, no leading zero */
        {"\"12\"", "\"p\""}, {"0", "\"p\""}, {"12", "p"}, /* a present producer is quoted */
    };
    for (size_t i = 0; i < sizeof bad_cells / sizeof bad_cells[0]; i++) {
        snprintf(rec, sizeof rec, "%s,\"%s\",%s,3,%s", bad_cells[i][0], hex, bad_cells[i][1], lead);
        if (parse_record(&lay, rec, h) != TT_EPARSE)
            fail_msg("accepted: %s", rec);
    }
}

/* Replace every from by to in the file at path (to no longer than from). */
static void edit_all(const char *path, const char *from, const char *to)
{
    size_t n;
    char *p = slurp(path, &n), *q;
    size_t nf = strlen(from), nt = strlen(to);
    for (char *s = p; (q = memmem(s, n - (size_t)(s - p), from, nf)) != NULL; s = q + nt) {
        memmove(q + nt, q + nf, n - (size_t)(q - p) - nf);
        memcpy(q, to, nt);
        n -= nf - nt;
    }
    spit(path, p, n);
    free(p);
}

/* Record the data file's new size and SHA-256 in the (unsigned) manifest, as the writer of
 * these bytes would have. */
static void refresh_manifest(const char *dir, const char *file)
{
    char path[300];
    size_t n, mlen;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *data = slurp(path, &n);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    char *text = slurp(path, &mlen), err[256];
    tti_manifest m;
    assert_int_equal(tti_manifest_parse(text, mlen, &m, err, sizeof err), TT_OK);
    tti_sha256((const uint8_t *)data, n, NULL, 0, NULL, 0, m.files[0].sha256);
    m.files[0].bytes = (int64_t)n;
    char *json = tti_manifest_to_json(&m);
    assert_non_null(json);
    spit(path, json, strlen(json));
    free(json);
    tti_manifest_clear(&m);
    free(text);
    free(data);
}

/* Events with and without a producer exported as CSV verify; a changed producer cell is
 * caught; a file with the 14-column header of earlier exports still verifies. */
static void test_csv_producers(void **state)
{
    fixture *f = *state;
    int first = f->n + 1;
    for (int i = 0; i < 6; i++) {
        tt_event ev;
        order_event(&ev, 0); /* the ledger sets seq and ts */
        ev.entity_id = "o,\"1\"";
        ev.producer = i % 2 ? "ft,\"main\"" : NULL;
        ev.producer_seq = i % 2 ? 1 + i / 2 : 0;
        tt_append_result r;
        assert_int_equal(tt_ledger_append(f->l, &ev, 1, &r), TT_OK);
        f->ts[r.seq] = r.ts_us;
        f->n = (int)r.seq;
        usleep(1000);
    }
    char dir[256], path[300];
    tt_export_report rep;
    export_to(f, "p-all", TT_TIME_NONE, TT_TIME_NONE, TT_EXPORT_CSV, 0, dir);
    if (verify(dir, f->key, &rep) != TT_OK)
        fail_msg("%s: %s", rep.item, rep.message);
    /* the window starting at a version 3 event, ending before one */
    export_to(f, "p-win", f->ts[first + 1], f->ts[first + 5], TT_EXPORT_CSV, 0, dir);
    if (verify(dir, f->key, &rep) != TT_OK)
        fail_msg("%s: %s", rep.item, rep.message);
    assert_int_equal(rep.count, 4);
    snprintf(path, sizeof path, "%s/events-000001.csv", dir);
    edit_all(path, ",\"ft,\"\"main\"\"\",2\r\n", ",\"ft,\"\"main\"\"\",3\r\n");
    refresh_manifest(dir, "events-000001.csv");
    assert_int_equal(verify(dir, f->key, &rep), TT_ETAMPERED);
    assert_non_null(strstr(rep.item, "events-000001.csv line"));
    assert_non_null(strstr(rep.message, "leaf hash does not match"));
    /* an export of the events before the producers, as written before the two columns */
    export_to(f, "p-old", TT_TIME_NONE, f->ts[first + 1], TT_EXPORT_CSV, 0, dir);
    snprintf(path, sizeof path, "%s/events-000001.csv", dir);
    edit_all(path, ",producer,producer_seq\r\n", "\r\n");
    edit_all(path, "\",,\r\n", "\"\r\n");
    refresh_manifest(dir, "events-000001.csv");
    size_t n;
    char *text = slurp(path, &n);
    assert_null(strstr(text, "producer"));
    free(text);
    if (verify(dir, f->key, &rep) != TT_OK)
        fail_msg("%s: %s", rep.item, rep.message);
    assert_int_equal(rep.count, first);
}

static void test_manifest_check(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(tt_export_manifest_check("{", 1, err, sizeof err), TT_EPARSE);
    assert_int_equal(tt_export_manifest_check("[]", 2, err, sizeof err), TT_EPARSE);
    const char *dup = "{\"format\":\"tradetrail-export\",\"format\":\"x\"}";
    assert_int_equal(tt_export_manifest_check(dup, strlen(dup), err, sizeof err), TT_EPARSE);
    tt_export_format fmt;
    assert_int_equal(tt_export_format_parse("csv", &fmt), TT_OK);
    assert_int_equal(fmt, TT_EXPORT_CSV);
    assert_int_equal(tt_export_format_parse("xml", &fmt), TT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_range_proofs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_equals_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
        cmocka_unit_test(test_manifest_check),
        cmocka_unit_test(test_csv_leaf_versions),
        cmocka_unit_test(test_csv_header_and_producer_cells),
        cmocka_unit_test_setup_teardown(test_csv_producers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
