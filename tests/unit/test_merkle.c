/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of src/core/merkle.c: every RFC 6962 / MTC subtree vector of transparency-dev/merkle
 * under tests/vectors/rfc6962, then properties over trees of up to 4097 leaves (every
 * proof verifies, every tampered proof fails, proof generation fetches only complete
 * perfect subtrees and O(log n) of them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/crypto.h"
#include "core/merkle.h"
#include "tradetrail.h"

#ifndef TT_VECTORS_DIR
#error "TT_VECTORS_DIR must name tests/vectors"
#endif
#define RFC6962_DIR TT_VECTORS_DIR "/rfc6962"

/* The committed copy holds roots.json and 518 files under testdata; fewer means a folder
 * went missing. */
#define MIN_VECTOR_FILES 519

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error(__VA_ARGS__);                                                              \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------------------------------
 * Reference computations straight from the RFC 9162 2.1 definitions, over leaf arrays
 * ------------------------------------------------------------------------------------- */

static uint64_t ref_split(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

/* MTH(D[a:b]), RFC 9162 2.1.1. */
static void ref_mth(const uint8_t (*leaves)[32], uint64_t a, uint64_t b, uint8_t out[32])
{
    if (b == a) {
        tti_sha256(NULL, 0, NULL, 0, NULL, 0, out);
        return;
    }
    if (b - a == 1) {
        memcpy(out, leaves[a], 32);
        return;
    }
    uint64_t k = ref_split(b - a);
    uint8_t l[32], r[32];
    ref_mth(leaves, a, a + k, l);
    ref_mth(leaves, a + k, b, r);
    tti_hash_node(l, r, out);
}

/* SUBTREE_SUBPROOF(start, end, D[lo:hi], b) of draft-ietf-plants-merkle-tree-certs
 * 4.4.1, with start and end relative to lo. */
static void ref_subtree_subproof(const uint8_t (*leaves)[32], uint64_t start, uint64_t end,
                                 uint64_t lo, uint64_t hi, int b, uint8_t (*out)[32], size_t *n)
{
    if (start == 0 && end == hi - lo) {
        if (!b)
            ref_mth(leaves, lo, hi, out[(*n)++]);
        return;
    }
    uint64_t k = ref_split(hi - lo);
    if (end <= k) {
        ref_subtree_subproof(leaves, start, end, lo, lo + k, b, out, n);
        ref_mth(leaves, lo + k, hi, out[(*n)++]);
    } else if (k <= start) {
        ref_subtree_subproof(leaves, start - k, end - k, lo + k, hi, b, out, n);
        ref_mth(leaves, lo, lo + k, out[(*n)++]);
    } else {
        ref_subtree_subproof(leaves, 0, end - k, lo + k, hi, 0, out, n);
        ref_mth(leaves, lo, lo + k, out[(*n)++]);
    }
}

/* SUBTREE_PROOF(start, end, D_n). */
static void ref_subtree_proof(const uint8_t (*leaves)[32], uint64_t start, uint64_t end, uint64_t n,
                              uint8_t (*out)[32], size_t *nout)
{
    *nout = 0;
    if (start < end)
        ref_subtree_subproof(leaves, start, end, 0, n, 1, out, nout);
}

static int ref_is_subtree(uint64_t start, uint64_t end)
{
    uint64_t ceil = 1;
    while (ceil < end - start)
        ceil *= 2;
    return start <= end && start % ceil == 0;
}

static unsigned bit_width(uint64_t n)
{
    unsigned w = 0;
    while (n) {
        w++;
        n >>= 1;
    }
    return w;
}

/* ---------------------------------------------------------------------------------------
 * An in-memory node store filled by the compact range callback
 * ------------------------------------------------------------------------------------- */

typedef struct store {
    uint64_t cap;
    uint8_t (*leaves)[32];
    uint8_t (*roots)[32];      /* roots[n]: root of the first n leaves */
    uint8_t (*levels[64])[32]; /* levels[h][i]: perfect subtree (h, i) */
    uint64_t count[64];        /* nodes stored per height */
    unsigned expect_height;    /* next height the callback must report */
    int cb_errors;
    /* fetch accounting for the proof being generated */
    uint64_t limit;        /* size of the tree the proof is about */
    uint64_t offset_start; /* subtree proofs: the subtree's first leaf */
    unsigned long fetches;
    int bad_fetch;
    int fail_at; /* fault injection: fail the Nth fetch (1-based), 0 never */
} store;

static void store_cb(void *ctx, unsigned height, uint64_t index, const uint8_t hash[32])
{
    store *s = ctx;
    /* Bottom up, each node once, in order. */
    if (height != s->expect_height || height >= 64 || index != s->count[height]) {
        s->cb_errors++;
        return;
    }
    s->expect_height++;
    memcpy(s->levels[height][index], hash, 32);
    s->count[height]++;
}

static int store_fetch(void *ctx, unsigned height, uint64_t index, uint8_t out[32])
{
    store *s = ctx;
    s->fetches++;
    if (s->fail_at != 0 && s->fetches == (unsigned long)s->fail_at)
        return TT_EIO;
    /* Only perfect subtrees complete within the tree being proven. */
    if (height >= 64 || index >= s->count[height] || ((index + 1) << height) > s->limit) {
        s->bad_fetch++;
        return TT_ENOTFOUND;
    }
    memcpy(out, s->levels[height][index], 32);
    return TT_OK;
}

/* The same store seen as the tree over D[offset_start:limit], for subtree proofs: node
 * (h, i) of the subtree is node (h, i + (offset_start >> h)) of the full tree, because
 * a subtree's start is aligned to every height it has. */
static int store_fetch_shifted(void *ctx, unsigned height, uint64_t index, uint8_t out[32])
{
    store *s = ctx;
    if (height >= 64) {
        s->bad_fetch++;
        return TT_ENOTFOUND;
    }
    if ((s->offset_start >> height) << height != s->offset_start) {
        s->bad_fetch++;
        return TT_ENOTFOUND;
    }
    return store_fetch(ctx, height, index + (s->offset_start >> height), out);
}

static store *store_new(uint64_t cap, const uint8_t (*leaves)[32])
{
    store *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->cap = cap;
    s->leaves = malloc((cap ? cap : 1) * 32);
    s->roots = malloc((cap + 1) * 32);
    assert_non_null(s->leaves);
    assert_non_null(s->roots);
    for (unsigned h = 0; h < 64 && (cap >> h) > 0; h++) {
        s->levels[h] = malloc((cap >> h) * 32);
        assert_non_null(s->levels[h]);
    }
    tti_crange r;
    tti_crange_init(&r);
    tti_crange_root(&r, s->roots[0]);
    for (uint64_t i = 0; i < cap; i++) {
        if (leaves != NULL) {
            memcpy(s->leaves[i], leaves[i], 32);
        } else {
            uint8_t b[8];
            for (int j = 0; j < 8; j++)
                b[j] = (uint8_t)(i >> (8 * j));
            tt_leaf_hash(b, sizeof b, s->leaves[i]);
        }
        s->expect_height = 0;
        tti_crange_append(&r, s->leaves[i], store_cb, s);
        tti_crange_root(&r, s->roots[i + 1]);
    }
    assert_int_equal(s->cb_errors, 0);
    return s;
}

static void store_free(store *s)
{
    if (s == NULL)
        return;
    for (unsigned h = 0; h < 64; h++)
        free(s->levels[h]);
    free(s->leaves);
    free(s->roots);
    free(s);
}

static void store_begin(store *s, uint64_t limit)
{
    s->limit = limit;
    s->offset_start = 0;
    s->fetches = 0;
    s->bad_fetch = 0;
    s->fail_at = 0;
}

static int proofs_equal(const uint8_t (*a)[32], size_t na, const uint8_t (*b)[32], size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * 32) == 0);
}

/* ---------------------------------------------------------------------------------------
 * Reading the vector files
 * ------------------------------------------------------------------------------------- */

/*
 * The vectors hold uint64 values up to 2^64 - 1, beyond jansson's json_int_t (int64), so
 * every bare number is turned into a string before parsing and read back exactly with
 * strtoull. Strings are copied untouched.
 */
static char *quote_numbers(const char *in, size_t len)
{
    char *out = malloc(len * 3 + 1);
    assert_non_null(out);
    size_t j = 0;
    int in_str = 0, esc = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (in_str) {
            out[j++] = c;
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
            out[j++] = c;
        } else if ((c >= '0' && c <= '9') || c == '-') {
            out[j++] = '"';
            while (i < len && strchr("0123456789+-.eE", in[i]) != NULL && in[i] != '\0')
                out[j++] = in[i++];
            out[j++] = '"';
            i--;
        } else {
            out[j++] = c;
        }
    }
    out[j] = '\0';
    return out;
}

static json_t *load_json(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = (cap + 4096) * 2;
            char *nb = realloc(buf, cap);
            assert_non_null(nb);
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
    }
    fclose(fp);
    char *quoted = quote_numbers(buf, len);
    free(buf);
    json_error_t err;
    json_t *j = json_loads(quoted, 0, &err);
    if (j == NULL)
        print_error("%s:%d:%d: %s\n", path, err.line, err.column, err.text);
    free(quoted);
    return j;
}

static int get_u64(json_t *o, const char *key, uint64_t *v)
{
    const char *z = json_string_value(json_object_get(o, key));
    if (z == NULL || *z < '0' || *z > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(z, &end, 10);
    if (errno != 0 || end == z || *end != '\0')
        return -1;
    *v = (uint64_t)x;
    return 0;
}

static int get_bool(json_t *o, const char *key, int *v)
{
    json_t *b = json_object_get(o, key);
    if (!json_is_boolean(b))
        return -1;
    *v = json_is_true(b);
    return 0;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 with padding; returns the decoded length or -1. */
static long b64_decode(const char *z, uint8_t *out, size_t cap)
{
    size_t len = strlen(z);
    if (len % 4 != 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            char c = z[i + j];
            if (c == '=' && i + 4 == len && j >= 2) {
                v[j] = 0;
                pad++;
            } else if (pad > 0 || (v[j] = b64_value(c)) < 0) {
                return -1;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        uint8_t bytes[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        for (int j = 0; j < 3 - pad; j++) {
            if (n >= cap)
                return -1;
            out[n++] = bytes[j];
        }
    }
    return (long)n;
}

/*
 * Some vectors put values of other lengths where a hash goes: "" or "WrongLeaf" as a leaf
 * hash, "" as a proof entry, "don't care 1" (12 bytes) as a root. Our API takes exactly
 * 32 bytes, and the two kinds of slot differ:
 *  - a leaf hash or proof entry enters the hash computation; the Go generator marks these
 *    "wrong hash size", and a value of another length cannot be passed to our API at all,
 *    so the vector counts as rejected before the call (*unrepresentable is set);
 *  - a root is only compared (Go's bytes.Equal), so a value of another length becomes a
 *    32-byte stand-in that keeps equality: SHA-256 of a test-only label and the bytes.
 *    Equal placeholders stay equal, different ones stay different, and no stand-in
 *    equals a real tree hash.
 */
typedef struct decode_stats {
    unsigned standins, unrepresentable;
} decode_stats;

static int decode_hash(const char *z, int is_root, uint8_t out[32], decode_stats *st,
                       int *unrepresentable)
{
    uint8_t buf[512];
    long n = b64_decode(z, buf, sizeof buf);
    if (n < 0)
        return -1;
    if (n == 32) {
        memcpy(out, buf, 32);
        return 0;
    }
    if (!is_root) {
        memset(out, 0, 32);
        *unrepresentable = 1;
        return 0;
    }
    static const char label[] = "tradetrail test: not a 32-byte hash";
    tti_sha256((const uint8_t *)label, sizeof label - 1, buf, (size_t)n, NULL, 0, out);
    st->standins++;
    return 0;
}

static int get_hash(json_t *o, const char *key, int is_root, uint8_t out[32], decode_stats *st,
                    int *unrepresentable)
{
    const char *z = json_string_value(json_object_get(o, key));
    if (z == NULL)
        return -1;
    return decode_hash(z, is_root, out, st, unrepresentable);
}

/* "proof": null or an array of base64 hashes; *out is freed by the caller. */
static int get_proof(json_t *o, uint8_t (**out)[32], size_t *n, decode_stats *st,
                     int *unrepresentable)
{
    json_t *a = json_object_get(o, "proof");
    *out = NULL;
    *n = 0;
    if (json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return -1;
    size_t len = json_array_size(a);
    *out = malloc((len ? len : 1) * 32);
    assert_non_null(*out);
    for (size_t i = 0; i < len; i++) {
        const char *z = json_string_value(json_array_get(a, i));
        if (z == NULL || decode_hash(z, 0, (*out)[i], st, unrepresentable) != 0)
            return -1;
    }
    *n = len;
    return 0;
}

/* A uint64 vector value as a client holding it in int64 would pass it: values beyond
 * INT64_MAX wrap to negative (two's complement), which the API must reject. */
static int64_t as_int64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return (int64_t)v;
    return -(int64_t)(UINT64_MAX - v) - 1;
}

/* ---------------------------------------------------------------------------------------
 * Checking the vectors
 * ------------------------------------------------------------------------------------- */

#define MAX_FOLDERS 64

typedef struct walk {
    /* roots.json: eight leaves and the roots of their first N, N = 0..8 */
    uint8_t leaves[8][32];
    uint8_t roots[9][32];
    store *tree; /* the eight leaves */
    /* results */
    unsigned checked, failed;
    unsigned regenerated[4]; /* per kind: inclusion, consistency, subtree incl., cons. */
    decode_stats st;
    char folders[MAX_FOLDERS][128];
    unsigned folder_count[MAX_FOLDERS];
    unsigned n_folders;
} walk;

static void count_folder(walk *w, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    size_t len = slash ? (size_t)(slash - rel) : 0;
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)len, rel);
    for (unsigned i = 0; i < w->n_folders; i++) {
        if (strcmp(w->folders[i], key) == 0) {
            w->folder_count[i]++;
            return;
        }
    }
    assert_true(w->n_folders < MAX_FOLDERS);
    snprintf(w->folders[w->n_folders], sizeof w->folders[0], "%s", key);
    w->folder_count[w->n_folders++] = 1;
}

static int hex_decode(const char *z, uint8_t *out, size_t cap)
{
    size_t len = strlen(z);
    if (len % 2 != 0 || len / 2 > cap)
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = z[2 * i + (size_t)j];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return -1;
        }
        out[i] = (uint8_t)v;
    }
    return (int)(len / 2);
}

static const char *check_roots(walk *w, json_t *o)
{
    json_t *in = json_object_get(o, "leaf_inputs_hex");
    json_t *rs = json_object_get(o, "root_hashes_hex_by_size");
    if (json_array_size(in) != 8 || json_array_size(rs) != 9)
        return "unexpected shape";
    for (size_t i = 0; i < 8; i++) {
        uint8_t data[64];
        const char *z = json_string_value(json_array_get(in, i));
        int n = z ? hex_decode(z, data, sizeof data) : -1;
        if (n < 0)
            return "bad leaf input";
        tt_leaf_hash(data, (size_t)n, w->leaves[i]);
    }
    for (size_t i = 0; i < 9; i++) {
        const char *z = json_string_value(json_array_get(rs, i));
        if (z == NULL || hex_decode(z, w->roots[i], 32) != 32)
            return "bad root";
    }

    /* Every root four ways: the public function, incremental appends, from stored nodes,
     * and the range root. */
    tti_crange r;
    tti_crange_init(&r);
    store *s = store_new(8, (const uint8_t(*)[32])w->leaves);
    for (uint64_t n = 0; n <= 8; n++) {
        uint8_t got[32];
        if (tt_merkle_root((const uint8_t(*)[32])w->leaves, n, got) != TT_OK ||
            memcmp(got, w->roots[n], 32) != 0)
            return "tt_merkle_root differs";
        tti_crange_root(&r, got);
        if (memcmp(got, w->roots[n], 32) != 0)
            return "tti_crange_root differs";
        tti_crange fr;
        store_begin(s, n);
        if (tti_crange_from_fetch(n, store_fetch, s, &fr) != TT_OK)
            return "tti_crange_from_fetch failed";
        tti_crange_root(&fr, got);
        if (memcmp(got, w->roots[n], 32) != 0)
            return "tti_crange_from_fetch root differs";
        if (n > 0 && (tti_merkle_range_root(0, n, store_fetch, s, got) != TT_OK ||
                      memcmp(got, w->roots[n], 32) != 0))
            return "tti_merkle_range_root differs";
        if (s->bad_fetch)
            return "fetched a node outside the tree";
        if (n < 8)
            tti_crange_append(&r, w->leaves[n], NULL, NULL);
    }
    store_free(s);
    return NULL;
}

/* The root of the first n leaves of roots.json, when the vector's tree is that one. */
static int is_known_tree(const walk *w, uint64_t n, const uint8_t root[32])
{
    return n >= 1 && n <= 8 && memcmp(root, w->roots[n], 32) == 0;
}

static const char *check_inclusion(walk *w, json_t *o, int want_err)
{
    uint64_t idx, size;
    uint8_t root[32], leaf[32];
    uint8_t(*proof)[32] = NULL;
    size_t n;
    int unrep = 0;
    const char *why = NULL;
    if (get_u64(o, "leafIdx", &idx) || get_u64(o, "treeSize", &size) ||
        get_hash(o, "root", 1, root, &w->st, &unrep) ||
        get_hash(o, "leafHash", 0, leaf, &w->st, &unrep) ||
        get_proof(o, &proof, &n, &w->st, &unrep)) {
        why = "malformed vector";
        goto out;
    }
    /* A value our API cannot carry is rejected before the call (see decode_hash). */
    w->st.unrepresentable += (unsigned)unrep;
    int rc = unrep ? TT_EINVAL
                   : tt_proof_verify_inclusion(as_int64(idx), as_int64(size), leaf,
                                               (const uint8_t(*)[32])proof, n, root);
    if ((rc == TT_OK) != !want_err) {
        why = want_err ? "accepted a bad proof" : "rejected a good proof";
        goto out;
    }
    /* A good proof from the roots.json tree must be exactly what we generate. */
    if (!want_err && is_known_tree(w, size, root)) {
        uint8_t gen[TTI_MAX_PROOF][32];
        size_t ngen = 0;
        store_begin(w->tree, size);
        if (tti_merkle_inclusion(idx, size, store_fetch, w->tree, gen, &ngen) != TT_OK ||
            !proofs_equal((const uint8_t(*)[32])gen, ngen, (const uint8_t(*)[32])proof, n)) {
            why = "generated proof differs";
            goto out;
        }
        w->regenerated[0]++;
    }
out:
    free(proof);
    return why;
}

static const char *check_consistency(walk *w, json_t *o, int want_err)
{
    uint64_t size1, size2;
    uint8_t root1[32], root2[32];
    uint8_t(*proof)[32] = NULL;
    size_t n;
    int unrep = 0;
    const char *why = NULL;
    if (get_u64(o, "size1", &size1) || get_u64(o, "size2", &size2) ||
        get_hash(o, "root1", 1, root1, &w->st, &unrep) ||
        get_hash(o, "root2", 1, root2, &w->st, &unrep) ||
        get_proof(o, &proof, &n, &w->st, &unrep)) {
        why = "malformed vector";
        goto out;
    }
    /* A value our API cannot carry is rejected before the call (see decode_hash). */
    w->st.unrepresentable += (unsigned)unrep;
    int rc = unrep ? TT_EINVAL
                   : tt_proof_verify_consistency(as_int64(size1), as_int64(size2), root1, root2,
                                                 (const uint8_t(*)[32])proof, n);
    if ((rc == TT_OK) != !want_err) {
        why = want_err ? "accepted a bad proof" : "rejected a good proof";
        goto out;
    }
    if (!want_err && size1 >= 1 && is_known_tree(w, size2, root2)) {
        uint8_t gen[TTI_MAX_PROOF][32];
        size_t ngen = 0;
        store_begin(w->tree, size2);
        if (tti_merkle_consistency(size1, size2, store_fetch, w->tree, gen, &ngen) != TT_OK ||
            !proofs_equal((const uint8_t(*)[32])gen, ngen, (const uint8_t(*)[32])proof, n)) {
            why = "generated proof differs";
            goto out;
        }
        w->regenerated[1]++;
    }
out:
    free(proof);
    return why;
}

static const char *check_subtree_inclusion(walk *w, json_t *o, int want_err)
{
    uint64_t idx, start, end;
    uint8_t root[32], leaf[32];
    uint8_t(*proof)[32] = NULL;
    size_t n;
    int unrep = 0;
    const char *why = NULL;
    if (get_u64(o, "leafIdx", &idx) || get_u64(o, "start", &start) || get_u64(o, "end", &end) ||
        get_hash(o, "root", 1, root, &w->st, &unrep) ||
        get_hash(o, "leafHash", 0, leaf, &w->st, &unrep) ||
        get_proof(o, &proof, &n, &w->st, &unrep)) {
        why = "malformed vector";
        goto out;
    }
    /* A value our API cannot carry is rejected before the call (see decode_hash). */
    w->st.unrepresentable += (unsigned)unrep;
    int rc = unrep ? TT_EINVAL
                   : tti_merkle_verify_subtree_inclusion(idx, start, end, leaf,
                                                         (const uint8_t(*)[32])proof, n, root);
    if ((rc == TT_OK) != !want_err) {
        why = want_err ? "accepted a bad proof" : "rejected a good proof";
        goto out;
    }
    /* A subtree inclusion proof is an RFC 9162 inclusion proof over D[start:end]; the
     * vectors reuse the roots.json leaves as that range. */
    if (!want_err && is_known_tree(w, end - start, root)) {
        uint8_t gen[TTI_MAX_PROOF][32];
        size_t ngen = 0;
        store_begin(w->tree, end - start);
        if (tti_merkle_inclusion(idx - start, end - start, store_fetch, w->tree, gen, &ngen) !=
                TT_OK ||
            !proofs_equal((const uint8_t(*)[32])gen, ngen, (const uint8_t(*)[32])proof, n)) {
            why = "generated proof differs";
            goto out;
        }
        w->regenerated[2]++;
    }
out:
    free(proof);
    return why;
}

static const char *check_subtree_consistency(walk *w, json_t *o, int want_err)
{
    uint64_t start, end, size;
    uint8_t root1[32], root2[32];
    uint8_t(*proof)[32] = NULL;
    size_t n;
    int unrep = 0;
    const char *why = NULL;
    if (get_u64(o, "start", &start) || get_u64(o, "end", &end) || get_u64(o, "size", &size) ||
        get_hash(o, "root1", 1, root1, &w->st, &unrep) ||
        get_hash(o, "root2", 1, root2, &w->st, &unrep) ||
        get_proof(o, &proof, &n, &w->st, &unrep)) {
        why = "malformed vector";
        goto out;
    }
    /* A value our API cannot carry is rejected before the call (see decode_hash). */
    w->st.unrepresentable += (unsigned)unrep;
    int rc = unrep ? TT_EINVAL
                   : tti_merkle_verify_subtree_consistency(start, end, size, root1, root2,
                                                           (const uint8_t(*)[32])proof, n);
    if ((rc == TT_OK) != !want_err) {
        why = want_err ? "accepted a bad proof" : "rejected a good proof";
        goto out;
    }
    /* Cross-check the test's reference generator (draft 4.4.1) on the roots.json tree. */
    if (!want_err && start < end && is_known_tree(w, size, root2)) {
        uint8_t node[32];
        ref_mth((const uint8_t(*)[32])w->leaves, start, end, node);
        uint8_t gen[TTI_MAX_PROOF][32];
        size_t ngen = 0;
        ref_subtree_proof((const uint8_t(*)[32])w->leaves, start, end, size, gen, &ngen);
        if (memcmp(node, root1, 32) != 0 ||
            !proofs_equal((const uint8_t(*)[32])gen, ngen, (const uint8_t(*)[32])proof, n)) {
            why = "reference proof differs";
            goto out;
        }
        w->regenerated[3]++;
    }
out:
    free(proof);
    return why;
}

static void check_file(walk *w, const char *path, const char *rel)
{
    const char *why = NULL;
    json_t *o = load_json(path);
    if (o == NULL) {
        why = "cannot load";
        goto out;
    }
    if (strcmp(rel, "roots.json") == 0) {
        why = check_roots(w, o);
        goto out;
    }
    int want_err;
    if (get_bool(o, "wantErr", &want_err) != 0) {
        why = "no wantErr";
        goto out;
    }
    if (strncmp(rel, "testdata/inclusion/", 19) == 0)
        why = check_inclusion(w, o, want_err);
    else if (strncmp(rel, "testdata/consistency/", 21) == 0)
        why = check_consistency(w, o, want_err);
    else if (strncmp(rel, "testdata/subtreeinclusion/", 26) == 0)
        why = check_subtree_inclusion(w, o, want_err);
    else if (strncmp(rel, "testdata/subtreeconsistency/", 28) == 0)
        why = check_subtree_consistency(w, o, want_err);
    else
        why = "no checker for this folder";
out:
    json_decref(o);
    w->checked++;
    count_folder(w, rel);
    if (why != NULL) {
        w->failed++;
        print_error("%s: %s\n", rel, why);
    }
}

static void walk_dir(walk *w, const char *dir, const char *rel)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[1024], sub[1024];
        int n1 = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int n2 = *rel ? snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name)
                      : snprintf(sub, sizeof sub, "%s", e->d_name);
        assert_true(n1 > 0 && (size_t)n1 < sizeof path && n2 > 0 && (size_t)n2 < sizeof sub);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            walk_dir(w, path, sub);
        } else {
            size_t len = strlen(e->d_name);
            if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
                check_file(w, path, sub);
        }
    }
    closedir(d);
}

/* An independent count of the .json files present (nftw, not the walker above). */
static unsigned g_json_files;

static int count_json(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    size_t len = strlen(path);
    if (flag == FTW_F && len > 5 && strcmp(path + len - 5, ".json") == 0)
        g_json_files++;
    return 0;
}

static void test_vectors(void **state)
{
    (void)state;
    walk *w = calloc(1, sizeof *w);
    assert_non_null(w);

    /* roots.json first: the proof checks regenerate proofs over its leaves. */
    json_t *o = load_json(RFC6962_DIR "/roots.json");
    assert_non_null(o);
    const char *why = check_roots(w, o);
    json_decref(o);
    CHECK(why == NULL, "roots.json: %s\n", why);
    w->tree = store_new(8, (const uint8_t(*)[32])w->leaves);

    walk_dir(w, RFC6962_DIR, "");

    g_json_files = 0;
    assert_int_equal(nftw(RFC6962_DIR, count_json, 16, FTW_PHYS), 0);

    unsigned kinds[4] = {0};
    static const char *const kind_names[4] = {"testdata/inclusion", "testdata/consistency",
                                              "testdata/subtreeinclusion",
                                              "testdata/subtreeconsistency"};
    for (unsigned i = 0; i < w->n_folders; i++) {
        print_message("vectors %-42s %3u files\n", w->folders[i][0] ? w->folders[i] : ".",
                      w->folder_count[i]);
        for (unsigned k = 0; k < 4; k++) {
            size_t len = strlen(kind_names[k]);
            if (strncmp(w->folders[i], kind_names[k], len) == 0 &&
                (w->folders[i][len] == '\0' || w->folders[i][len] == '/'))
                kinds[k] += w->folder_count[i];
        }
    }
    print_message("vectors: %u files checked of %u present (%u inclusion, %u consistency, "
                  "%u subtree inclusion, %u subtree consistency); proofs regenerated "
                  "%u/%u/%u/%u, "
                  "%u roots given 32-byte stand-ins, %u files with a leaf or proof hash "
                  "of another length\n",
                  w->checked, g_json_files, kinds[0], kinds[1], kinds[2], kinds[3],
                  w->regenerated[0], w->regenerated[1], w->regenerated[2], w->regenerated[3],
                  w->st.standins, w->st.unrepresentable);

    assert_int_equal(w->failed, 0);
    assert_int_equal(w->checked, g_json_files);
    assert_true(w->checked >= MIN_VECTOR_FILES);
    for (unsigned k = 0; k < 4; k++)
        CHECK(kinds[k] > 0, "no vectors under %s\n", kind_names[k]);
    for (unsigned k = 0; k < 4; k++)
        CHECK(w->regenerated[k] > 0, "no proof regenerated under %s\n", kind_names[k]);

    store_free(w->tree);
    free(w);
}

/* ---------------------------------------------------------------------------------------
 * Properties
 * ------------------------------------------------------------------------------------- */

#define BIG UINT64_C(4097)

static store *g_tree; /* BIG leaves, built once */

static int setup_tree(void **state)
{
    (void)state;
    g_tree = store_new(BIG, NULL);
    return 0;
}

static int teardown_tree(void **state)
{
    (void)state;
    store_free(g_tree);
    g_tree = NULL;
    return 0;
}

/* Tree sizes the properties run over: every size to 300, then a few larger ones. */
static int next_size(uint64_t *n)
{
    static const uint64_t extra[] = {511, 512, 513, 1000, 1024, 4095, 4096, BIG};
    if (*n < 300) {
        (*n)++;
        return 1;
    }
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        if (extra[i] > *n) {
            *n = extra[i];
            return 1;
        }
    }
    return 0;
}

/* The compact range's callback reported every perfect subtree once, with its hash. */
static void test_crange_callback(void **state)
{
    (void)state;
    store *s = g_tree;
    for (unsigned h = 0; h < 64; h++)
        assert_int_equal(s->count[h], BIG >> h);
    for (unsigned h = 0; h < 64 && (BIG >> h) > 0; h++) {
        /* Every node below height 6, a sample above, against the definition. */
        for (uint64_t i = 0; i < s->count[h]; i += (h < 6 ? 1 : 7)) {
            uint8_t want[32];
            ref_mth((const uint8_t(*)[32])s->leaves, i << h, (i + 1) << h, want);
            CHECK(memcmp(want, s->levels[h][i], 32) == 0, "node (%u, %llu) wrong\n", h,
                  (unsigned long long)i);
        }
    }
    for (uint64_t n = 0; n <= 300; n++) {
        uint8_t want[32];
        ref_mth((const uint8_t(*)[32])s->leaves, 0, n, want);
        CHECK(memcmp(want, s->roots[n], 32) == 0, "root of %llu wrong\n", (unsigned long long)n);
    }
    /* tt_merkle_root agrees too. */
    uint8_t got[32];
    assert_int_equal(tt_merkle_root((const uint8_t(*)[32])s->leaves, BIG, got), TT_OK);
    assert_memory_equal(got, s->roots[BIG], 32);
}

/* Parents recorded on one range (as verify's hasher does) and replayed on another give
 * the same range, nodes and callbacks as hashing them there. */
typedef struct parents_rec {
    uint8_t hashes[4096][32];
    size_t n;
} parents_rec;

static void record_parent(void *ctx, unsigned height, uint64_t index, const uint8_t hash[32])
{
    (void)index;
    parents_rec *p = ctx;
    if (height > 0) {
        assert_true(p->n < 4096);
        memcpy(p->hashes[p->n++], hash, 32);
    }
}

static void test_crange_known(void **state)
{
    (void)state;
    store *s = g_tree;
    static parents_rec rec;
    tti_crange a, b;
    tti_crange_init(&a);
    tti_crange_init(&b);
    for (uint64_t i = 0; i < 3000 && i < BIG; i++) {
        rec.n = 0;
        unsigned need = tti_crange_merges(&b);
        tti_crange_append(&a, s->leaves[i], record_parent, &rec);
        assert_int_equal(rec.n, need);
        tti_crange_append_known(&b, s->leaves[i], (const uint8_t(*)[32])rec.hashes, NULL, NULL);
        assert_int_equal(a.size, b.size);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.hashes, b.hashes, a.n * 32);
    }
    uint8_t ra[32], rb[32];
    tti_crange_root(&a, ra);
    tti_crange_root(&b, rb);
    assert_memory_equal(ra, rb, 32);
}

static void test_crange_from_fetch(void **state)
{
    (void)state;
    store *s = g_tree;
    tti_crange inc;
    tti_crange_init(&inc);
    uint64_t appended = 0;
    uint64_t n = 0;
    do {
        while (appended < n)
            tti_crange_append(&inc, s->leaves[appended++], NULL, NULL);
        tti_crange got;
        memset(&got, 0xaa, sizeof got);
        store_begin(s, n);
        assert_int_equal(tti_crange_from_fetch(n, store_fetch, s, &got), TT_OK);
        assert_int_equal(s->bad_fetch, 0);
        assert_int_equal(s->fetches, (unsigned long)__builtin_popcountll(n));
        assert_true(got.size == n);
        assert_int_equal(got.n, inc.n);
        if (got.n > 0)
            assert_memory_equal(got.hashes, inc.hashes, (size_t)got.n * 32);
        uint8_t root[32];
        tti_crange_root(&got, root);
        assert_memory_equal(root, s->roots[n], 32);

        /* Appending continues from a fetched range as from an incremental one. */
        if (n < BIG) {
            tti_crange a = got, b = inc;
            tti_crange_append(&a, s->leaves[n], NULL, NULL);
            tti_crange_append(&b, s->leaves[n], NULL, NULL);
            tti_crange_root(&a, root);
            assert_memory_equal(root, s->roots[n + 1], 32);
            tti_crange_root(&b, root);
            assert_memory_equal(root, s->roots[n + 1], 32);
        }
    } while (next_size(&n));
}

static void test_range_root(void **state)
{
    (void)state;
    store *s = g_tree;
    for (uint64_t end = 1; end <= 300; end++) {
        for (uint64_t begin = 0; begin < end; begin++) {
            uint8_t got[32], want[32];
            memset(got, 0x55, sizeof got);
            store_begin(s, end);
            int rc = tti_merkle_range_root(begin, end, store_fetch, s, got);
            if (!ref_is_subtree(begin, end)) {
                /* Not made of tree nodes: refused, output untouched. */
                CHECK(rc == TT_EINVAL, "[%llu, %llu) accepted\n", (unsigned long long)begin,
                      (unsigned long long)end);
                assert_int_equal(s->fetches, 0);
                assert_int_equal(got[0], 0x55);
                continue;
            }
            assert_int_equal(rc, TT_OK);
            ref_mth((const uint8_t(*)[32])s->leaves, begin, end, want);
            CHECK(memcmp(got, want, 32) == 0, "[%llu, %llu) wrong\n", (unsigned long long)begin,
                  (unsigned long long)end);
            assert_int_equal(s->bad_fetch, 0);
            assert_int_equal(s->fetches, (unsigned long)__builtin_popcountll(end - begin));
        }
    }
    uint8_t out[32];
    assert_int_equal(tti_merkle_range_root(5, 5, store_fetch, s, out), TT_EINVAL);
    assert_int_equal(tti_merkle_range_root(6, 5, store_fetch, s, out), TT_EINVAL);
}

/* Flip bit `bit` of a 32-byte hash. */
static void flip(uint8_t h[32], unsigned bit)
{
    h[(bit / 8) % 32] ^= (uint8_t)(1u << (bit % 8));
}

/* Everything a forger could change about an inclusion proof must make it fail. */
static void tamper_inclusion(store *s, uint64_t i, uint64_t n, uint8_t (*p)[32], size_t np)
{
    const uint8_t *leaf = s->leaves[i];
    const uint8_t *root = s->roots[n];
    int64_t si = (int64_t)i, sn = (int64_t)n;
    uint8_t x[32];

    for (size_t k = 0; k < np; k++) {
        flip(p[k], (unsigned)(k * 37 + i));
        CHECK(tt_proof_verify_inclusion(si, sn, leaf, (const uint8_t(*)[32])p, np, root) ==
                  TT_ETAMPERED,
              "inclusion %llu/%llu: flipped hash %zu accepted\n", (unsigned long long)i,
              (unsigned long long)n, k);
        flip(p[k], (unsigned)(k * 37 + i));
    }
    memcpy(x, leaf, 32);
    flip(x, (unsigned)i);
    assert_int_equal(tt_proof_verify_inclusion(si, sn, x, (const uint8_t(*)[32])p, np, root),
                     TT_ETAMPERED);
    memcpy(x, root, 32);
    flip(x, (unsigned)n);
    assert_int_equal(tt_proof_verify_inclusion(si, sn, leaf, (const uint8_t(*)[32])p, np, x),
                     TT_ETAMPERED);
    if (np > 0) {
        assert_int_equal(
            tt_proof_verify_inclusion(si, sn, leaf, (const uint8_t(*)[32])p, np - 1, root),
            TT_ETAMPERED);
        assert_int_equal(
            tt_proof_verify_inclusion(si, sn, leaf, (const uint8_t(*)[32])p + 1, np - 1, root),
            TT_ETAMPERED);
    }
    if (np < TTI_MAX_PROOF) {
        memcpy(p[np], root, 32);
        assert_int_equal(
            tt_proof_verify_inclusion(si, sn, leaf, (const uint8_t(*)[32])p, np + 1, root),
            TT_ETAMPERED);
    }

    /* Another index for the same leaf, proof and root: the left/right pattern of a proof
     * names one position, so this always fails. */
    for (int d = -2; d <= 2; d++) {
        int64_t j = si + d;
        if (d == 0 || j < 0 || j >= sn)
            continue;
        int rc = tt_proof_verify_inclusion(j, sn, leaf, (const uint8_t(*)[32])p, np, root);
        CHECK(rc != TT_OK, "inclusion %llu/%llu verified at index %lld\n", (unsigned long long)i,
              (unsigned long long)n, (long long)j);
    }

    /* Another size with that size's true root and leaf: the proof verifies exactly when it
     * is that size's proof too (equal hashes in equal positions), never otherwise. A bare
     * size change with the old root can verify (e.g. index 0 of 3 and of 4 share a
     * proof shape): the size must come from the signed checkpoint. */
    for (int d = -1; d <= 1; d += 2) {
        uint64_t m = n + (uint64_t)(int64_t)d;
        if (m == 0 || m > s->cap || i >= m)
            continue;
        uint8_t honest[TTI_MAX_PROOF][32];
        size_t nh = 0;
        store_begin(s, m);
        assert_int_equal(tti_merkle_inclusion(i, m, store_fetch, s, honest, &nh), TT_OK);
        int same = proofs_equal((const uint8_t(*)[32])honest, nh, (const uint8_t(*)[32])p, np);
        int rc = tt_proof_verify_inclusion(si, (int64_t)m, leaf, (const uint8_t(*)[32])p, np,
                                           s->roots[m]);
        CHECK((rc == TT_OK) == same, "inclusion %llu/%llu at size %llu: rc %d\n",
              (unsigned long long)i, (unsigned long long)n, (unsigned long long)m, rc);
    }
}

static void test_inclusion_proofs(void **state)
{
    (void)state;
    store *s = g_tree;
    unsigned long max_fetches = 0, total = 0;
    uint64_t n = 0;
    while (next_size(&n)) {
        unsigned long bound = 2 * (unsigned long)bit_width(n);
        for (uint64_t i = 0; i < n; i++) {
            uint8_t p[TTI_MAX_PROOF + 1][32];
            size_t np = 99;
            store_begin(s, n);
            assert_int_equal(tti_merkle_inclusion(i, n, store_fetch, s, p, &np), TT_OK);
            assert_int_equal(s->bad_fetch, 0);
            CHECK(s->fetches <= bound && s->fetches <= 2UL * 64,
                  "inclusion %llu/%llu: %lu fetches\n", (unsigned long long)i,
                  (unsigned long long)n, s->fetches);
            if (s->fetches > max_fetches)
                max_fetches = s->fetches;
            CHECK(tt_proof_verify_inclusion((int64_t)i, (int64_t)n, s->leaves[i],
                                            (const uint8_t(*)[32])p, np, s->roots[n]) == TT_OK,
                  "inclusion %llu/%llu rejected\n", (unsigned long long)i, (unsigned long long)n);
            /* The same proof is a subtree consistency proof of [i, i + 1) (draft 4.4.1). */
            assert_int_equal(tti_merkle_verify_subtree_consistency(i, i + 1, n, s->leaves[i],
                                                                   s->roots[n],
                                                                   (const uint8_t(*)[32])p, np),
                             TT_OK);
            total++;
            if (n <= 64 || i < 3 || i + 3 >= n || i % 97 == 0)
                tamper_inclusion(s, i, n, p, np);
        }
    }
    print_message("inclusion: %lu proofs, at most %lu fetches for one\n", total, max_fetches);
}

static void tamper_consistency(store *s, uint64_t m, uint64_t n, uint8_t (*p)[32], size_t np)
{
    const uint8_t *r1 = s->roots[m], *r2 = s->roots[n];
    int64_t sm = (int64_t)m, sn = (int64_t)n;
    uint8_t x[32];

    for (size_t k = 0; k < np; k++) {
        flip(p[k], (unsigned)(k * 29 + m));
        CHECK(tt_proof_verify_consistency(sm, sn, r1, r2, (const uint8_t(*)[32])p, np) ==
                  TT_ETAMPERED,
              "consistency %llu->%llu: flipped hash %zu accepted\n", (unsigned long long)m,
              (unsigned long long)n, k);
        flip(p[k], (unsigned)(k * 29 + m));
    }
    memcpy(x, r1, 32);
    flip(x, (unsigned)m);
    assert_int_equal(tt_proof_verify_consistency(sm, sn, x, r2, (const uint8_t(*)[32])p, np),
                     TT_ETAMPERED);
    memcpy(x, r2, 32);
    flip(x, (unsigned)n);
    assert_int_equal(tt_proof_verify_consistency(sm, sn, r1, x, (const uint8_t(*)[32])p, np),
                     TT_ETAMPERED);
    if (np > 0) {
        assert_int_equal(
            tt_proof_verify_consistency(sm, sn, r1, r2, (const uint8_t(*)[32])p, np - 1),
            TT_ETAMPERED);
        assert_int_equal(
            tt_proof_verify_consistency(sm, sn, r1, r2, (const uint8_t(*)[32])p + 1, np - 1),
            TT_ETAMPERED);
    }
    if (np < TTI_MAX_PROOF) {
        memcpy(p[np], r1, 32);
        assert_int_equal(
            tt_proof_verify_consistency(sm, sn, r1, r2, (const uint8_t(*)[32])p, np + 1),
            TT_ETAMPERED);
    }

    /* Other sizes with their true roots: verifies exactly when it is their proof too. */
    static const int dm[] = {-1, 1, 0, 0}, dn[] = {0, 0, -1, 1};
    for (int k = 0; k < 4; k++) {
        uint64_t m2 = m + (uint64_t)(int64_t)dm[k], n2 = n + (uint64_t)(int64_t)dn[k];
        if (m2 == 0 || m2 > n2 || n2 > s->cap)
            continue;
        uint8_t honest[TTI_MAX_PROOF][32];
        size_t nh = 0;
        store_begin(s, n2);
        assert_int_equal(tti_merkle_consistency(m2, n2, store_fetch, s, honest, &nh), TT_OK);
        int same = proofs_equal((const uint8_t(*)[32])honest, nh, (const uint8_t(*)[32])p, np);
        int rc = tt_proof_verify_consistency((int64_t)m2, (int64_t)n2, s->roots[m2], s->roots[n2],
                                             (const uint8_t(*)[32])p, np);
        CHECK((rc == TT_OK) == same, "consistency %llu->%llu as %llu->%llu: rc %d\n",
              (unsigned long long)m, (unsigned long long)n, (unsigned long long)m2,
              (unsigned long long)n2, rc);
    }
}

static void one_consistency(store *s, uint64_t m, uint64_t n, unsigned long *max_fetches)
{
    uint8_t p[TTI_MAX_PROOF + 1][32];
    size_t np = 99;
    store_begin(s, n);
    assert_int_equal(tti_merkle_consistency(m, n, store_fetch, s, p, &np), TT_OK);
    assert_int_equal(s->bad_fetch, 0);
    CHECK(s->fetches <= 2 * (unsigned long)bit_width(n) + 1 && s->fetches <= 2UL * 64,
          "consistency %llu->%llu: %lu fetches\n", (unsigned long long)m, (unsigned long long)n,
          s->fetches);
    if (s->fetches > *max_fetches)
        *max_fetches = s->fetches;
    CHECK(tt_proof_verify_consistency((int64_t)m, (int64_t)n, s->roots[m], s->roots[n],
                                      (const uint8_t(*)[32])p, np) == TT_OK,
          "consistency %llu->%llu rejected\n", (unsigned long long)m, (unsigned long long)n);
    /* PROOF(m, D_n) = SUBTREE_PROOF(0, m, D_n) (draft 4.4.1). */
    assert_int_equal(tti_merkle_verify_subtree_consistency(0, m, n, s->roots[m], s->roots[n],
                                                           (const uint8_t(*)[32])p, np),
                     TT_OK);
    uint8_t ref[TTI_MAX_PROOF][32];
    size_t nref = 0;
    if (n <= 300) {
        ref_subtree_proof((const uint8_t(*)[32])s->leaves, 0, m, n, ref, &nref);
        assert_true(proofs_equal((const uint8_t(*)[32])ref, nref, (const uint8_t(*)[32])p, np));
    }
    tamper_consistency(s, m, n, p, np);
}

static void test_consistency_proofs(void **state)
{
    (void)state;
    store *s = g_tree;
    unsigned long max_fetches = 0, total = 0;
    for (uint64_t n = 1; n <= 64; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            one_consistency(s, m, n, &max_fetches);
            total++;
        }
    }
    uint64_t n = 64;
    while (next_size(&n)) {
        uint64_t ms[] = {1, 2, 3, n / 3, n / 2, n / 2 + 1, n - 1, n, 64, 65};
        uint64_t p2 = 1;
        while (p2 * 2 <= n)
            p2 *= 2;
        for (size_t k = 0; k < sizeof ms / sizeof ms[0] + 3; k++) {
            uint64_t m = k < sizeof ms / sizeof ms[0]
                             ? ms[k]
                             : p2 - 1 + (k - sizeof ms / sizeof ms[0]); /* 2^j - 1, 2^j, +1 */
            if (m == 0 || m > n)
                continue;
            one_consistency(s, m, n, &max_fetches);
            total++;
        }
    }
    print_message("consistency: %lu proofs, at most %lu fetches for one\n", total, max_fetches);
}

static void test_subtree_proofs(void **state)
{
    (void)state;
    store *s = g_tree;
    unsigned long inclusion = 0, consistency = 0;
    uint8_t empty[32];
    tti_sha256(NULL, 0, NULL, 0, NULL, 0, empty);

    for (uint64_t end = 0; end <= 64; end++) {
        for (uint64_t start = 0; start <= end; start++) {
            if (!ref_is_subtree(start, end)) {
                uint8_t h[32] = {0};
                assert_int_equal(
                    tti_merkle_verify_subtree_consistency(start, end, 64, h, h, NULL, 0),
                    TT_EINVAL);
                if (start < end)
                    assert_int_equal(
                        tti_merkle_verify_subtree_inclusion(start, start, end, h, NULL, 0, h),
                        TT_EINVAL);
                continue;
            }
            uint8_t node[32];
            ref_mth((const uint8_t(*)[32])s->leaves, start, end, node);

            /* Inclusion in the subtree: an RFC 9162 proof over D[start:end]. */
            for (uint64_t idx = start; idx < end; idx++) {
                uint8_t p[TTI_MAX_PROOF][32];
                size_t np = 0;
                store_begin(s, end);
                s->offset_start = start;
                assert_int_equal(
                    tti_merkle_inclusion(idx - start, end - start, store_fetch_shifted, s, p, &np),
                    TT_OK);
                assert_int_equal(s->bad_fetch, 0);
                assert_int_equal(
                    tti_merkle_verify_subtree_inclusion(idx, start, end, s->leaves[idx],
                                                        (const uint8_t(*)[32])p, np, node),
                    TT_OK);
                for (size_t k = 0; k < np; k++) {
                    flip(p[k], (unsigned)(idx + k));
                    assert_int_equal(
                        tti_merkle_verify_subtree_inclusion(idx, start, end, s->leaves[idx],
                                                            (const uint8_t(*)[32])p, np, node),
                        TT_ETAMPERED);
                    flip(p[k], (unsigned)(idx + k));
                }
                if (end - start > 1)
                    assert_int_not_equal(tti_merkle_verify_subtree_inclusion(
                                             idx == start ? idx + 1 : idx - 1, start, end,
                                             s->leaves[idx], (const uint8_t(*)[32])p, np, node),
                                         TT_OK);
                inclusion++;
            }
            if (end > start) {
                assert_int_equal(
                    tti_merkle_verify_subtree_inclusion(end, start, end, node, NULL, 0, node),
                    TT_EINVAL);
                uint8_t got[32];
                store_begin(s, end);
                assert_int_equal(tti_merkle_range_root(start, end, store_fetch, s, got), TT_OK);
                assert_memory_equal(got, node, 32);
            }

            /* Consistency of the subtree with every tree that contains it. */
            for (uint64_t n = end > 0 ? end : 1; n <= 64; n++) {
                uint8_t p[TTI_MAX_PROOF + 1][32];
                size_t np = 0;
                ref_subtree_proof((const uint8_t(*)[32])s->leaves, start, end, n, p, &np);
                CHECK(tti_merkle_verify_subtree_consistency(start, end, n, node, s->roots[n],
                                                            (const uint8_t(*)[32])p, np) == TT_OK,
                      "subtree [%llu, %llu) in %llu rejected\n", (unsigned long long)start,
                      (unsigned long long)end, (unsigned long long)n);
                for (size_t k = 0; k < np; k++) {
                    flip(p[k], (unsigned)(n + k));
                    assert_int_equal(
                        tti_merkle_verify_subtree_consistency(start, end, n, node, s->roots[n],
                                                              (const uint8_t(*)[32])p, np),
                        TT_ETAMPERED);
                    flip(p[k], (unsigned)(n + k));
                }
                uint8_t x[32];
                memcpy(x, node, 32);
                flip(x, (unsigned)n);
                assert_int_equal(tti_merkle_verify_subtree_consistency(
                                     start, end, n, x, s->roots[n], (const uint8_t(*)[32])p, np),
                                 TT_ETAMPERED);
                memcpy(x, s->roots[n], 32);
                flip(x, (unsigned)n);
                /* The empty subtree is consistent with anything; the root is not used. */
                assert_int_equal(tti_merkle_verify_subtree_consistency(start, end, n, node, x,
                                                                       (const uint8_t(*)[32])p, np),
                                 start == end ? TT_OK : TT_ETAMPERED);
                memcpy(p[np], node, 32);
                assert_int_equal(
                    tti_merkle_verify_subtree_consistency(start, end, n, node, s->roots[n],
                                                          (const uint8_t(*)[32])p, np + 1),
                    TT_ETAMPERED);
                if (np > 0)
                    assert_int_equal(
                        tti_merkle_verify_subtree_consistency(start, end, n, node, s->roots[n],
                                                              (const uint8_t(*)[32])p, np - 1),
                        TT_ETAMPERED);
                consistency++;
            }
            /* A tree smaller than the subtree's end cannot contain it. */
            if (end > 0)
                assert_int_equal(
                    tti_merkle_verify_subtree_consistency(start, end, end - 1, node, node, NULL, 0),
                    TT_EINVAL);
        }
    }
    assert_int_equal(tti_merkle_verify_subtree_consistency(3, 3, 5, empty, empty, NULL, 0), TT_OK);
    /* Overflow-prone bounds. */
    uint8_t h[32] = {0};
    assert_int_equal(
        tti_merkle_verify_subtree_inclusion(1, 1, UINT64_C(9223372036854775810), h, NULL, 0, h),
        TT_EINVAL);
    assert_int_not_equal(tti_merkle_verify_subtree_consistency(UINT64_C(1) << 63, UINT64_MAX,
                                                               UINT64_MAX, h, h, NULL, 0),
                         TT_OK);
    assert_int_equal(tti_merkle_verify_subtree_consistency(UINT64_C(1) << 63, UINT64_MAX,
                                                           UINT64_MAX - 1, h, h, NULL, 0),
                     TT_EINVAL);
    print_message("subtrees: %lu inclusion proofs, %lu consistency proofs\n", inclusion,
                  consistency);
}

/* Argument checks, and fetch failures at every point of every generator. */
static void test_errors(void **state)
{
    (void)state;
    store *s = g_tree;
    uint8_t p[TTI_MAX_PROOF][32], h[32] = {0};
    size_t np = 77;

    store_begin(s, 10);
    assert_int_equal(tti_merkle_inclusion(10, 10, store_fetch, s, p, &np), TT_EINVAL);
    assert_int_equal(tti_merkle_inclusion(0, 0, store_fetch, s, p, &np), TT_EINVAL);
    assert_int_equal(tti_merkle_consistency(0, 10, store_fetch, s, p, &np), TT_EINVAL);
    assert_int_equal(tti_merkle_consistency(11, 10, store_fetch, s, p, &np), TT_EINVAL);
    assert_int_equal(np, 77);
    assert_int_equal(s->fetches, 0);

    /* m == n: an empty proof, no fetches. */
    assert_int_equal(tti_merkle_consistency(10, 10, store_fetch, s, p, &np), TT_OK);
    assert_int_equal(np, 0);
    assert_int_equal(s->fetches, 0);

    for (int which = 0; which < 4; which++) {
        for (int k = 1;; k++) {
            memset(p, 0x5a, sizeof p);
            np = 77;
            tti_crange cr;
            memset(&cr, 0x5a, sizeof cr);
            uint8_t root[32];
            memset(root, 0x5a, sizeof root);
            store_begin(s, 3001);
            s->fail_at = k;
            int rc;
            switch (which) {
            case 0:
                rc = tti_merkle_inclusion(1234, 3001, store_fetch, s, p, &np);
                break;
            case 1:
                rc = tti_merkle_consistency(1234, 3001, store_fetch, s, p, &np);
                break;
            case 2:
                rc = tti_crange_from_fetch(3001, store_fetch, s, &cr);
                break;
            default:
                rc = tti_merkle_range_root(2048, 3001, store_fetch, s, root);
                break;
            }
            if (rc == TT_OK) {
                assert_true(s->fetches < (unsigned long)k);
                break;
            }
            /* The fetcher's code comes back and nothing was written. */
            assert_int_equal(rc, TT_EIO);
            assert_int_equal(np, 77);
            assert_int_equal(p[0][0], 0x5a);
            assert_int_equal(cr.n, 0x5a5a5a5a);
            assert_int_equal(root[0], 0x5a);
        }
    }

    /* Public verifiers: impossible sizes and indexes. */
    assert_int_equal(tt_proof_verify_inclusion(-1, 5, h, NULL, 0, h), TT_EINVAL);
    assert_int_equal(tt_proof_verify_inclusion(5, 5, h, NULL, 0, h), TT_EINVAL);
    assert_int_equal(tt_proof_verify_inclusion(0, 0, h, NULL, 0, h), TT_EINVAL);
    assert_int_equal(tt_proof_verify_inclusion(0, -3, h, NULL, 0, h), TT_EINVAL);
    assert_int_equal(tt_proof_verify_inclusion(0, 2, h, NULL, 1, h), TT_EINVAL);
    assert_int_equal(tt_proof_verify_inclusion(0, 1, NULL, NULL, 0, h), TT_EINVAL);
    assert_int_equal(tt_proof_verify_inclusion(0, 1, h, NULL, 0, h), TT_OK);
    assert_int_equal(tt_proof_verify_consistency(0, 0, h, h, NULL, 0), TT_EINVAL);
    assert_int_equal(tt_proof_verify_consistency(0, 5, h, h, NULL, 0), TT_EINVAL);
    assert_int_equal(tt_proof_verify_consistency(6, 5, h, h, NULL, 0), TT_EINVAL);
    assert_int_equal(tt_proof_verify_consistency(-1, 5, h, h, NULL, 0), TT_EINVAL);
    assert_int_equal(tt_proof_verify_consistency(2, 5, h, NULL, NULL, 0), TT_EINVAL);
    assert_int_equal(tt_proof_verify_consistency(2, 5, h, h, NULL, 0), TT_ETAMPERED);
    /* RFC 9162 2.1.4.2 step 1: when first is not a power of two the path's first value is
     * the seed, so an empty path must be refused before it is read. */
    assert_int_equal(tt_proof_verify_consistency(3, 5, h, h, NULL, 0), TT_ETAMPERED);
    assert_int_equal(tt_proof_verify_consistency(5, 5, h, h, NULL, 0), TT_OK);
    assert_int_equal(tt_proof_verify_consistency(5, 5, h, h, (const uint8_t(*)[32])p, 1),
                     TT_ETAMPERED);
    /* A path longer than any tree is rejected, not overrun. */
    uint8_t(*longp)[32] = calloc(200, 32);
    assert_non_null(longp);
    assert_int_equal(
        tt_proof_verify_inclusion(INT64_MAX - 1, INT64_MAX, h, (const uint8_t(*)[32])longp, 200, h),
        TT_ETAMPERED);
    assert_int_equal(tt_proof_verify_consistency(INT64_MAX - 1, INT64_MAX, h, h,
                                                 (const uint8_t(*)[32])longp, 200),
                     TT_ETAMPERED);
    free(longp);

    /* A range of 2^64 - 1 leaves cannot grow: append leaves it as it was. */
    tti_crange full, before;
    memset(&full, 0x33, sizeof full);
    full.size = UINT64_MAX;
    full.n = 64;
    before = full;
    tti_crange_append(&full, h, NULL, NULL);
    assert_memory_equal(&full, &before, sizeof full);

    /* The public hashing helpers. */
    uint8_t empty[32], got[32];
    tti_sha256(NULL, 0, NULL, 0, NULL, 0, empty);
    assert_int_equal(tt_merkle_root(NULL, 0, got), TT_OK);
    assert_memory_equal(got, empty, 32);
    assert_int_equal(tt_merkle_root(NULL, 1, got), TT_EINVAL);
    tt_leaf_hash(NULL, 0, got);
    uint8_t want[32];
    static const uint8_t zero = 0;
    tti_sha256(&zero, 1, NULL, 0, NULL, 0, want);
    assert_memory_equal(got, want, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_crange_callback),
        cmocka_unit_test(test_crange_known),
        cmocka_unit_test(test_crange_from_fetch),
        cmocka_unit_test(test_range_root),
        cmocka_unit_test(test_inclusion_proofs),
        cmocka_unit_test(test_consistency_proofs),
        cmocka_unit_test(test_subtree_proofs),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
