/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/core/note.c: signing keys, verifier keys and signed checkpoint notes.
 * Known answers come from tests/vectors/checkpoint (ours, written by an independent
 * generator, and others': golang.org/x/mod/sumdb/note's examples and real sum.golang.org
 * checkpoints); the rest flips, cuts and rewrites notes and keys and expects refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tradetrail.h"
#include "core/crypto.h"
#include "core/note.h"
#include "util/codec.h"

#define VEC TT_VECTORS_DIR "/checkpoint/"
#define EM_DASH "\xe2\x80\x94"

static const char root_hex[] = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";

/* ---- helpers -------------------------------------------------------------------------- */

/* A whole vector file, NUL-terminated; *len excludes the NUL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    assert_int_equal(ferror(f), 0);
    assert_true(feof(f));
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

/* A vector file holding one line: the line without its newline. */
static char *slurp_line(const char *path)
{
    size_t n;
    char *z = slurp(path, &n);
    assert_true(n > 0 && z[n - 1] == '\n');
    z[n - 1] = '\0';
    assert_null(strchr(z, '\n'));
    return z;
}

static void example_root(uint8_t root[32])
{
    assert_int_equal(tti_hex_decode(root_hex, 64, root, 32), 0);
}

static void load_signer(const char *path, tti_signer *s)
{
    size_t n;
    char *text = slurp(path, &n);
    assert_int_equal(tti_signer_parse_private(text, n, s), TT_OK);
    free(text);
}

static void load_verifier(const char *path, tti_verifier *v)
{
    size_t n;
    char *text = slurp(path, &n);
    assert_int_equal(tti_verifier_parse(text, n, v), TT_OK);
    free(text);
}

/* Sign arbitrary text as a note with one signature line, bypassing the checkpoint
 * formatting of tti_note_sign_checkpoint, to reach the body parser with valid signatures. */
static char *sign_text(const tti_signer *s, const char *text)
{
    size_t ntext = strlen(text);
    uint8_t sig[4 + TTI_ED25519_SIG];
    memcpy(sig, s->key_id, 4);
    assert_int_equal(tti_ed25519_sign(s->seed, (const uint8_t *)text, ntext, sig + 4), 0);
    char b64[93];
    tti_base64_encode(sig, sizeof sig, b64);
    size_t cap = ntext + strlen(s->name) + 200;
    char *note = malloc(cap);
    assert_non_null(note);
    int n = snprintf(note, cap, "%s\n" EM_DASH " %s %s\n", text, s->name, b64);
    assert_true(n > 0 && (size_t)n < cap);
    return note;
}

/* note with the first occurrence of from replaced by to (from must occur). */
static char *replace(const char *note, const char *from, const char *to)
{
    const char *hit = strstr(note, from);
    assert_non_null(hit);
    size_t nnote = strlen(note), nfrom = strlen(from), nto = strlen(to);
    char *z = malloc(nnote - nfrom + nto + 1);
    assert_non_null(z);
    size_t head = (size_t)(hit - note);
    memcpy(z, note, head);
    memcpy(z + head, to, nto);
    memcpy(z + head + nto, hit + nfrom, nnote - head - nfrom + 1);
    return z;
}

static int verify(const char *note, size_t len, const tti_verifier *v)
{
    uint64_t size = 0;
    uint8_t root[32];
    return tti_note_verify_checkpoint(note, len, v, NULL, &size, root);
}

static int verify_z(const char *note, const tti_verifier *v)
{
    return verify(note, strlen(note), v);
}

/* The example signer and a freshly signed example checkpoint. */
typedef struct fixture {
    tti_signer s;
    tti_verifier v;
    char *note;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    load_signer(VEC "example.key", &f->s);
    load_verifier(VEC "example.vkey", &f->v);
    uint8_t root[32];
    example_root(root);
    assert_int_equal(tti_note_sign_checkpoint(&f->s, "example.com/log", 8, root, &f->note), TT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->note);
    tti_cleanse(&f->s, sizeof f->s);
    free(f);
    return 0;
}

/* ---- known answers ---------------------------------------------------------------------- */

static void test_kat_example(void **state)
{
    (void)state;
    tti_signer s;
    load_signer(VEC "example.key", &s);
    assert_string_equal(s.name, "example.com/log");
    for (int i = 0; i < 32; i++)
        assert_int_equal(s.seed[i], i);

    /* Formatting reproduces the committed private and verifier keys byte for byte. */
    char *want = slurp_line(VEC "example.key");
    char *got = NULL;
    assert_int_equal(tti_signer_format_private(&s, &got), TT_OK);
    assert_string_equal(got, want);
    free(got);
    free(want);

    want = slurp_line(VEC "example.vkey");
    assert_int_equal(tti_signer_verifier_key(&s, &got), TT_OK);
    assert_string_equal(got, want);
    free(got);
    free(want);

    /* Signing reproduces the committed note byte for byte. */
    size_t nwant;
    want = slurp(VEC "example-8.note", &nwant);
    uint8_t root[32];
    example_root(root);
    assert_int_equal(tti_note_sign_checkpoint(&s, "example.com/log", 8, root, &got), TT_OK);
    assert_int_equal(strlen(got), nwant);
    assert_memory_equal(got, want, nwant);
    free(got);

    /* And the note verifies, through the internal and the public API. */
    tti_verifier v;
    load_verifier(VEC "example.vkey", &v);
    assert_string_equal(v.name, "example.com/log");
    assert_memory_equal(v.pub, s.pub, 32);
    assert_memory_equal(v.key_id, s.key_id, 4);
    char *origin = NULL;
    uint64_t size = 0;
    uint8_t r[32];
    assert_int_equal(tti_note_verify_checkpoint(want, nwant, &v, &origin, &size, r), TT_OK);
    assert_string_equal(origin, "example.com/log");
    assert_int_equal(size, 8);
    assert_memory_equal(r, root, 32);
    free(origin);

    char *vkey = slurp(VEC "example.vkey", NULL); /* with its newline: trimmed */
    int64_t tree_size = 0;
    origin = NULL;
    memset(r, 0, sizeof r);
    assert_int_equal(tt_checkpoint_verify_note(want, nwant, vkey, &origin, &tree_size, r), TT_OK);
    assert_string_equal(origin, "example.com/log");
    assert_int_equal(tree_size, 8);
    assert_memory_equal(r, root, 32);
    free(origin);
    assert_int_equal(tt_checkpoint_verify_note(want, nwant, vkey, NULL, &tree_size, r), TT_OK);
    free(vkey);
    free(want);
    tti_cleanse(&s, sizeof s);
}

/* golang.org/x/mod/sumdb/note's example key: same key id, same verifier key, and the same
 * signature line as Go's TestSign for the same text. */
static void test_interop_go_keys(void **state)
{
    (void)state;
    tti_signer s;
    load_signer(VEC "peterneumann.key", &s);
    assert_string_equal(s.name, "PeterNeumann");
    assert_memory_equal(s.key_id, "\xc7\x4f\x20\xa3", 4);

    char *want = slurp_line(VEC "peterneumann.vkey");
    char *got = NULL;
    assert_int_equal(tti_signer_verifier_key(&s, &got), TT_OK);
    assert_string_equal(got, want);
    free(got);
    free(want);

    want = slurp_line(VEC "peterneumann.key");
    assert_int_equal(tti_signer_format_private(&s, &got), TT_OK);
    assert_string_equal(got, want);
    free(got);
    free(want);

    static const char text[] = "If you think cryptography is the answer to your problem,\n"
                               "then you don't know what your problem is.\n";
    char *note = slurp(VEC "peterneumann.note", NULL);
    got = sign_text(&s, text);
    /* sign_text writes text, blank line, one signature line: the file's first line. */
    assert_memory_equal(got, note, strlen(got));
    free(got);
    free(note);
    tti_cleanse(&s, sizeof s);
}

/* Go's doubly signed example note. Its text is not a checkpoint, so a verified signature
 * shows as TT_EPARSE (body refused) where a failed one shows as TT_EAUTH. */
static void test_interop_go_note(void **state)
{
    (void)state;
    tti_verifier v;
    load_verifier(VEC "peterneumann.vkey", &v);
    size_t n;
    char *note = slurp(VEC "peterneumann.note", &n);
    assert_int_equal(verify(note, n, &v), TT_EPARSE);

    note[3] ^= 0x01; /* "If you" -> "If zou" */
    assert_int_equal(verify(note, n, &v), TT_EAUTH);
    note[3] ^= 0x01;

    /* EnochRoot's key (from the same tests) verifies its own line only. */
    tti_verifier e;
    static const char enoch[] = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    assert_int_equal(tti_verifier_parse(enoch, strlen(enoch), &e), TT_OK);
    assert_int_equal(verify(note, n, &e), TT_EPARSE);
    char *no_enoch = replace(note, "EnochRoot", "EnochRooT");
    assert_int_equal(verify_z(no_enoch, &e), TT_EAUTH);
    assert_int_equal(verify_z(no_enoch, &v), TT_EPARSE);
    free(no_enoch);
    free(note);
}

/* Real checkpoints of the Go checksum database, a C2SP tlog-checkpoint signer. */
static void test_interop_sumdb(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int64_t size;
        const char *root, *size_line, *bumped_line;
    } cases[] = {
        {VEC "sumdb-31700353.note", 31700353,
         "qINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=", "\n31700353\n", "\n31700354\n"},
        {VEC "sumdb-65209736.note", 65209736,
         "5+uGFjx6xBZG8ip1+wi77v+grwbhhukIrxEUS8PXvRo=", "\n65209736\n", "\n65209737\n"},
    };
    char *vkey = slurp(VEC "sumdb.vkey", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        char *note = slurp(cases[i].file, &n);
        char *origin = NULL;
        int64_t size = 0;
        uint8_t root[32], want[32];
        size_t nwant;
        assert_int_equal(tti_base64_decode(cases[i].root, 44, want, 32, &nwant), 0);
        assert_int_equal(tt_checkpoint_verify_note(note, n, vkey, &origin, &size, root), TT_OK);
        assert_string_equal(origin, "go.sum database tree");
        assert_int_equal(size, cases[i].size);
        assert_memory_equal(root, want, 32);
        free(origin);

        /* One more leaf is a different checkpoint. */
        char *bumped = replace(note, cases[i].size_line, cases[i].bumped_line);
        assert_int_equal(tt_checkpoint_verify_note(bumped, n, vkey, NULL, &size, root), TT_EAUTH);
        free(bumped);
        free(note);
    }
    free(vkey);
}

/* ---- keys --------------------------------------------------------------------------- */

static void test_generate_round_trip(void **state)
{
    (void)state;
    tti_signer a, b, back;
    assert_int_equal(tti_signer_generate("tradetrail/0badc0de", &a), TT_OK);
    assert_int_equal(tti_signer_generate("tradetrail/0badc0de", &b), TT_OK);
    assert_memory_not_equal(a.seed, b.seed, 32);
    assert_memory_not_equal(a.key_id, b.key_id, 4);

    char *priv = NULL, *vkey = NULL;
    assert_int_equal(tti_signer_format_private(&a, &priv), TT_OK);
    assert_int_equal(strncmp(priv, "PRIVATE+KEY+tradetrail/0badc0de+", 32), 0);
    assert_int_equal(tti_signer_parse_private(priv, strlen(priv), &back), TT_OK);
    assert_string_equal(back.name, a.name);
    assert_memory_equal(back.seed, a.seed, 32);
    assert_memory_equal(back.pub, a.pub, 32);
    assert_memory_equal(back.key_id, a.key_id, 4);

    assert_int_equal(tti_signer_verifier_key(&a, &vkey), TT_OK);
    tti_verifier v;
    assert_int_equal(tti_verifier_parse(vkey, strlen(vkey), &v), TT_OK);
    assert_string_equal(v.name, a.name);
    assert_memory_equal(v.pub, a.pub, 32);
    assert_memory_equal(v.key_id, a.key_id, 4);
    /* The verifier key is "<name>+<8 lowercase hex>+<44 base64>". */
    assert_int_equal(strlen(vkey), strlen(a.name) + 1 + 8 + 1 + 44);
    char hex[9];
    tti_hex_encode(a.key_id, 4, hex);
    assert_memory_equal(vkey + strlen(a.name) + 1, hex, 8);
    uint8_t raw[33];
    size_t nraw = 0;
    assert_int_equal(tti_base64_decode(vkey + strlen(a.name) + 10, 44, raw, sizeof raw, &nraw), 0);
    assert_int_equal(nraw, 33);
    assert_int_equal(raw[0], 0x01); /* Ed25519 signature type */
    assert_memory_equal(raw + 1, a.pub, 32);

    /* Surrounding whitespace (a key file's newline) is accepted. */
    char padded[256];
    snprintf(padded, sizeof padded, " \t%s\r\n\n", priv);
    assert_int_equal(tti_signer_parse_private(padded, strlen(padded), &back), TT_OK);
    assert_memory_equal(back.seed, a.seed, 32);
    snprintf(padded, sizeof padded, "\n%s \n", vkey);
    assert_int_equal(tti_verifier_parse(padded, strlen(padded), &v), TT_OK);

    tti_cleanse(priv, strlen(priv));
    free(priv);
    free(vkey);
    tti_cleanse(&a, sizeof a);
    tti_cleanse(&b, sizeof b);
    tti_cleanse(&back, sizeof back);
}

static void test_key_names(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "a+b",
        "a b",
        "a\tb",
        "a\nb",
        "a\rb",
        "\x01",
        "a\x7f",
        "a\xc2\x85", /* NEL */
        "a\xc2\xa0",
        /* NBSP */ "a\xc2\x9b",
        /* C1 */ "a\xe1\x9a\x80",
        "a\xe2\x80\x83",
        /* EM SPACE */ "a\xe2\x80\xa8",
        "a\xe2\x80\xaf",
        "a\xe2\x81\x9f",
        "a\xe3\x80\x80",
        /* IDEOGRAPHIC SPACE */ "\xff",
        "a\xc3",
        "\xed\xa0\x80", /* surrogate */
        "\xc0\xaf",     /* overlong */
    };
    tti_signer s;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tti_signer_generate(bad[i], &s), TT_EINVAL);
    assert_int_equal(tti_signer_generate(NULL, &s), TT_EINVAL);

    char name[TTI_KEY_NAME_MAX + 2];
    memset(name, 'n', sizeof name);
    name[TTI_KEY_NAME_MAX + 1] = '\0';
    assert_int_equal(tti_signer_generate(name, &s), TT_EINVAL);
    name[TTI_KEY_NAME_MAX] = '\0';
    assert_int_equal(tti_signer_generate(name, &s), TT_OK);
    assert_string_equal(s.name, name);

    /* Non-ASCII is fine when it is neither space nor control. */
    static const char *good[] = {"example.com/log", "\xe4\xbe\x8b.example/\xc3\xa9",
                                 "a\xe2\x80\x8b" /* ZERO WIDTH SPACE: not White_Space */,
                                 "~!@#$%^&*()", "A"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(tti_signer_generate(good[i], &s), TT_OK);
        char *vkey = NULL;
        tti_verifier v;
        assert_int_equal(tti_signer_verifier_key(&s, &vkey), TT_OK);
        assert_int_equal(tti_verifier_parse(vkey, strlen(vkey), &v), TT_OK);
        assert_string_equal(v.name, good[i]);
        free(vkey);
    }
    tti_cleanse(&s, sizeof s);
}

/* Every proper substring and every one-byte change of a key text must be refused, as in
 * golang.org/x/mod/sumdb/note's TestNewSigner and TestNewVerifier. */
static void mangle_all(const char *key, int private)
{
    size_t n = strlen(key);
    char *b = malloc(n + 1);
    assert_non_null(b);
    tti_signer s;
    tti_verifier v;
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i + 1; j <= n; j++) {
            if (i == 0 && j == n)
                continue;
            int rc = private ? tti_signer_parse_private(key + i, j - i, &s)
                             : tti_verifier_parse(key + i, j - i, &v);
            if (rc == TT_OK)
                fail_msg("accepted substring [%zu, %zu) of %s", i, j, key);
        }
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(b, key, n + 1);
        b[i]++;
        int rc = private ? tti_signer_parse_private(b, n, &s) : tti_verifier_parse(b, n, &v);
        if (rc == TT_OK)
            fail_msg("accepted %s", b);
    }
    free(b);
}

static void test_private_key_rejects(void **state)
{
    (void)state;
    char *peter = slurp_line(VEC "peterneumann.key");
    char *example = slurp_line(VEC "example.key");
    mangle_all(peter, 1);
    mangle_all(example, 1);

    static const char *bad[] = {
        /* not a private key */
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "private+key+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY++c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        /* key id of another key, or too short/long */
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+0c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        /* the name of another key */
        "PRIVATE+KEY+PeterNeuman+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        /* signature type 0x02 instead of 0x01 */
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        /* 32 bytes without the type byte; 34 bytes */
        "PRIVATE+KEY+PeterNeumann+c74f20a3+gQoUAtUUbI2E8kQzMPVAgOv5juF9nHT2JS/F1ccoMXM=",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFzAA==",
        /* unpadded, whitespace inside */
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1 QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "",
        "   ",
    };
    tti_signer s;
    memset(&s, 0x5a, sizeof s);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tti_signer_parse_private(bad[i], strlen(bad[i]), &s), TT_EPARSE);
    /* Nothing was written into s by any failure. */
    for (size_t i = 0; i < sizeof s; i++)
        assert_int_equal(((uint8_t *)&s)[i], 0x5a);
    assert_int_equal(tti_signer_parse_private(NULL, 0, &s), TT_EINVAL);
    free(peter);
    free(example);
}

static void test_verifier_key_rejects(void **state)
{
    (void)state;
    char *peter = slurp_line(VEC "peterneumann.vkey");
    char *example = slurp_line(VEC "example.vkey");
    char *sumdb = slurp_line(VEC "sumdb.vkey");
    mangle_all(peter, 0);
    mangle_all(example, 0);
    mangle_all(sumdb, 0);

    static const char *bad[] = {
        /* from golang.org/x/mod/sumdb/note TestNewVerifier: wrong key length and unknown
         * algorithm, each with a key id that matches its bytes */
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        /* a private key is not a verifier key */
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW+",
        /* two keys on two lines */
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n"
         "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        "",
    };
    tti_verifier v;
    memset(&v, 0x5a, sizeof v);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tti_verifier_parse(bad[i], strlen(bad[i]), &v), TT_EPARSE);
    for (size_t i = 0; i < sizeof v; i++)
        assert_int_equal(((uint8_t *)&v)[i], 0x5a);

    /* Go parses the key id as a number, so upper case hex is the same key. */
    static const char upper[] =
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    assert_int_equal(tti_verifier_parse(upper, strlen(upper), &v), TT_OK);
    free(peter);
    free(example);
    free(sumdb);
}

/* ---- signing and verifying ----------------------------------------------------------- */

static void test_sign_verify(void **state)
{
    fixture *f = *state;
    char *origin = NULL;
    uint64_t size = 0;
    uint8_t root[32], want[32];
    example_root(want);
    assert_int_equal(
        tti_note_verify_checkpoint(f->note, strlen(f->note), &f->v, &origin, &size, root), TT_OK);
    assert_string_equal(origin, "example.com/log");
    assert_int_equal(size, 8);
    assert_memory_equal(root, want, 32);
    free(origin);

    /* A fresh key, the empty tree and the largest sizes. */
    tti_signer s;
    assert_int_equal(tti_signer_generate("example.org/other", &s), TT_OK);
    char *vkey = NULL;
    assert_int_equal(tti_signer_verifier_key(&s, &vkey), TT_OK);
    static const uint64_t sizes[] = {0, 1, 10, INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *note = NULL;
        assert_int_equal(tti_note_sign_checkpoint(&s, "tradetrail/any origin \xe2\x9c\x93",
                                                  sizes[i], want, &note),
                         TT_OK);
        tti_verifier v;
        assert_int_equal(tti_verifier_parse(vkey, strlen(vkey), &v), TT_OK);
        size = 12345;
        assert_int_equal(tti_note_verify_checkpoint(note, strlen(note), &v, NULL, &size, root),
                         TT_OK);
        assert_true(size == sizes[i]);
        /* Another key, even under the same name, does not verify it. */
        assert_int_equal(verify_z(note, &f->v), TT_EAUTH);

        int64_t tree_size = -1;
        int rc = tt_checkpoint_verify_note(note, strlen(note), vkey, NULL, &tree_size, root);
        if (sizes[i] <= INT64_MAX) {
            assert_int_equal(rc, TT_OK);
            assert_int_equal(tree_size, (int64_t)sizes[i]);
        } else {
            assert_int_equal(rc, TT_EPARSE); /* beyond the API's int64_t */
            assert_int_equal(tree_size, -1);
        }
        free(note);
    }
    free(vkey);
    tti_cleanse(&s, sizeof s);
}

static void test_sign_rejects(void **state)
{
    fixture *f = *state;
    uint8_t root[32] = {0};
    char *note = (char *)"untouched";
    static const char *bad_origins[] = {"", "a\nb", "a\tb", "tail\n", "\xff", "a\xc3"};
    for (size_t i = 0; i < sizeof bad_origins / sizeof bad_origins[0]; i++)
        assert_int_equal(tti_note_sign_checkpoint(&f->s, bad_origins[i], 1, root, &note),
                         TT_EINVAL);
    assert_int_equal(tti_note_sign_checkpoint(&f->s, NULL, 1, root, &note), TT_EINVAL);
    assert_string_equal(note, "untouched");

    /* An origin that would make the note larger than any verifier accepts. */
    size_t n = 1024 * 1024;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'o', n);
    big[n] = '\0';
    assert_int_equal(tti_note_sign_checkpoint(&f->s, big, 1, root, &note), TT_ETOOBIG);
    free(big);
    assert_string_equal(note, "untouched");
}

/* Flipping any bit of the note, anywhere, must never leave a note that verifies. */
static void test_every_bit_flip(void **state)
{
    fixture *f = *state;
    size_t n = strlen(f->note);
    char *m = malloc(n);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(m, f->note, n);
            m[i] ^= (char)(1 << bit);
            int rc = verify(m, n, &f->v);
            if (rc != TT_EAUTH && rc != TT_EPARSE)
                fail_msg("byte %zu bit %d: rc %d", i, bit, rc);
        }
    }
    free(m);
}

static void expect(const char *note, const tti_verifier *v, int want)
{
    int rc = verify_z(note, v);
    if (rc != want)
        fail_msg("rc %d, want %d for note:\n%s", rc, want, note);
}

static void expect_replaced(const fixture *f, const char *from, const char *to, int want)
{
    char *m = replace(f->note, from, to);
    expect(m, &f->v, want);
    free(m);
}

static void test_tampered_fields(void **state)
{
    fixture *f = *state;
    /* origin, size, root: each a different checkpoint than the one signed */
    expect_replaced(f, "example.com/log\n", "example.com/loh\n", TT_EAUTH);
    expect_replaced(f, "example.com/log\n", "Example.com/log\n", TT_EAUTH);
    expect_replaced(f, "\n8\n", "\n9\n", TT_EAUTH);
    expect_replaced(f, "\n8\n", "\n80\n", TT_EAUTH);
    expect_replaced(f, "XcnaeacG", "XcnaeacH", TT_EAUTH);
    expect_replaced(f, "7/RgQyg=", "7/RgQyk=", TT_EAUTH);
    /* an extension line added after signing */
    expect_replaced(f, "Qyg=\n", "Qyg=\nextra\n", TT_EAUTH);
    /* the signature: a changed byte past the key id, or a changed key id (the line is then
     * someone else's and ours is missing) */
    char *line = strstr(f->note, EM_DASH " example.com/log ");
    assert_non_null(line);
    char *sig = line + strlen(EM_DASH " example.com/log ");
    char *m = strdup(f->note);
    assert_non_null(m);
    size_t at = (size_t)(sig - f->note);
    m[at + 40] = m[at + 40] == 'A' ? 'B' : 'A';
    expect(m, &f->v, TT_EAUTH);
    memcpy(m, f->note, strlen(f->note));
    m[at] = m[at] == 'A' ? 'B' : 'A'; /* first 6 bits of the key id */
    expect(m, &f->v, TT_EAUTH);
    free(m);
    /* the name on the signature line */
    expect_replaced(f, EM_DASH " example.com/log ", EM_DASH " example.com/lo9 ", TT_EAUTH);
    expect_replaced(f, EM_DASH " example.com/log ", EM_DASH " example.com/log/ ", TT_EAUTH);
}

static void test_malformed_notes(void **state)
{
    fixture *f = *state;
    size_t n = strlen(f->note);
    /* missing trailing newline; missing blank line; nothing after the blank line */
    expect_replaced(f, "=\n\n" EM_DASH, "=\n" EM_DASH, TT_EPARSE);
    char *m = strdup(f->note);
    assert_non_null(m);
    assert_int_equal(verify(m, n - 1, &f->v), TT_EPARSE);
    char *blank = strstr(m, "\n\n");
    assert_int_equal(verify(m, (size_t)(blank - m) + 2, &f->v), TT_EPARSE);
    assert_int_equal(verify(m, (size_t)(blank - m) + 1, &f->v), TT_EPARSE);
    assert_int_equal(verify(m, 0, &f->v), TT_EPARSE);
    free(m);
    /* wrong dash: hyphen, EN DASH, two hyphens, no space after it */
    expect_replaced(f, EM_DASH " ", "- ", TT_EPARSE);
    expect_replaced(f, EM_DASH " ", "\xe2\x80\x93 ", TT_EPARSE);
    expect_replaced(f, EM_DASH " ", "-- ", TT_EPARSE);
    expect_replaced(f, EM_DASH " ", EM_DASH, TT_EPARSE);
    expect_replaced(f, EM_DASH " ", EM_DASH "  ", TT_EPARSE);
    /* bad base64 in the signature: foreign character, missing padding, whitespace */
    expect_replaced(f, "Ewg=\n", "Ewg!\n", TT_EPARSE);
    expect_replaced(f, "Ewg=\n", "Ewg\n", TT_EPARSE);
    expect_replaced(f, "Ewg=\n", "Ewg= \n", TT_EPARSE);
    expect_replaced(f, "Ewg=\n", "Ewg=\r\n", TT_EPARSE);
    expect_replaced(f, "1FXFIQgh", "1FXF IQgh", TT_EPARSE);
    expect_replaced(f, "Ewg=\n", "Ewh=\n", TT_EPARSE); /* non-canonical */
    /* a signature line without a signature, or too short to hold a key id */
    expect_replaced(f, " 1FXF", "", TT_EPARSE);
    expect_replaced(f, "Ewg=\n", "Ewg=\n" EM_DASH " other\n", TT_EPARSE);
    expect_replaced(f, "Ewg=\n", "Ewg=\n" EM_DASH " other \n", TT_EPARSE);
    expect_replaced(f, "Ewg=\n", "Ewg=\n" EM_DASH " other AAAA\n", TT_EPARSE);
    expect_replaced(f, "Ewg=\n", "Ewg=\n" EM_DASH "  AAAAAAA=\n", TT_EPARSE);
    expect_replaced(f, "Ewg=\n", "Ewg=\n" EM_DASH " a+b AAAAAAA=\n", TT_EPARSE);
    /* anything else after the signatures */
    expect_replaced(f, "Ewg=\n", "Ewg=\nUnexpected line.\n", TT_EPARSE);
    expect_replaced(f, "Ewg=\n", "Ewg=\n\n", TT_EPARSE);
    /* control characters, NUL and invalid UTF-8 anywhere */
    expect_replaced(f, "example.com/log\n8", "example.com/log\r\n8", TT_EPARSE);
    expect_replaced(f, "example.com/log\n8", "example.com/\tlog\n8", TT_EPARSE);
    expect_replaced(f, "example.com/log\n8",
                    "\xff"
                    "example.com/log\n8",
                    TT_EPARSE);
    expect_replaced(f, "example.com/log\n8", "example.com/log\xc3\n8", TT_EPARSE);
    m = strdup(f->note);
    assert_non_null(m);
    m[3] = '\0';
    assert_int_equal(verify(m, n, &f->v), TT_EPARSE);
    free(m);
}

/* golang.org/x/mod/sumdb/note TestOpen's malformed messages, on Go's example note. */
static void test_go_bad_messages(void **state)
{
    (void)state;
    tti_verifier v;
    load_verifier(VEC "peterneumann.vkey", &v);
    static const char text[] = "If you think cryptography is the answer to your problem,\n"
                               "then you don't know what your problem is.\n";
    static const char sig[] = EM_DASH " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcEl"
                                      "ZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    expect(buf, &v, TT_EPARSE);
    snprintf(buf, sizeof buf, "%s\n", text);
    expect(buf, &v, TT_EPARSE);
    snprintf(buf, sizeof buf, "%s\n%.*s", text, (int)strlen(sig) - 1, sig);
    expect(buf, &v, TT_EPARSE);
    snprintf(buf, sizeof buf, "\x01%s\n%s", text, sig);
    expect(buf, &v, TT_EPARSE);
    snprintf(buf, sizeof buf, "\xff%s\n%s", text, sig);
    expect(buf, &v, TT_EPARSE);
    snprintf(buf, sizeof buf,
             "%s\n" EM_DASH " Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFY"
             "C2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
             text);
    expect(buf, &v, TT_EPARSE);
    snprintf(buf, sizeof buf, "%s\n%sUnexpected line.\n", text, sig);
    expect(buf, &v, TT_EPARSE);
    /* Go's "invalid signature": ABCD inserted in the base64 keeps it decodable. */
    snprintf(buf, sizeof buf, "%s\n%.60sABCD%s", text, sig, sig + 60);
    expect(buf, &v, TT_EAUTH);
    /* The well-formed one: verified, then refused as a checkpoint. */
    snprintf(buf, sizeof buf, "%s\n%s", text, sig);
    expect(buf, &v, TT_EPARSE);
}

/* Unknown keys' signatures are ignored (signed-note): witnesses, rotated keys, keys that
 * share our name or our key id but not both. */
static void test_other_signatures(void **state)
{
    fixture *f = *state;
    uint8_t junk[68];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 31 + 7);
    char b64[93];
    tti_base64_encode(junk, sizeof junk, b64);
    char other[256];
    snprintf(other, sizeof other, EM_DASH " witness.example/w1 %s\n", b64);

    char *sep = strstr(f->note, "\n\n" EM_DASH);
    assert_non_null(sep);
    size_t head = (size_t)(sep - f->note) + 2;
    char buf[4096];
    /* before and after ours */
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)head, f->note, other, f->note + head);
    expect(buf, &f->v, TT_OK);
    snprintf(buf, sizeof buf, "%s%s", f->note, other);
    expect(buf, &f->v, TT_OK);

    /* our name with another key id: ignored */
    snprintf(other, sizeof other, EM_DASH " example.com/log %s\n", b64);
    snprintf(buf, sizeof buf, "%s%s", f->note, other);
    expect(buf, &f->v, TT_OK);
    /* our key id under another name: ignored */
    memcpy(junk, f->v.key_id, 4);
    tti_base64_encode(junk, sizeof junk, b64);
    snprintf(other, sizeof other, EM_DASH " example.com/other %s\n", b64);
    snprintf(buf, sizeof buf, "%s%s", f->note, other);
    expect(buf, &f->v, TT_OK);
    /* our name and key id with a bad signature: refused even next to a good one */
    snprintf(other, sizeof other, EM_DASH " example.com/log %s\n", b64);
    snprintf(buf, sizeof buf, "%s%s", f->note, other);
    expect(buf, &f->v, TT_EAUTH);
    /* ... also when the bad one comes first */
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)head, f->note, other, f->note + head);
    expect(buf, &f->v, TT_EAUTH);
    /* ... and with the wrong length for Ed25519 */
    tti_base64_encode(junk, 8, b64);
    snprintf(other, sizeof other, EM_DASH " example.com/log %s\n", b64);
    snprintf(buf, sizeof buf, "%s%s", f->note, other);
    expect(buf, &f->v, TT_EAUTH);
    /* only others' signatures */
    snprintf(buf, sizeof buf, "%.*s" EM_DASH " witness.example/w1 %s\n", (int)head, f->note, b64);
    expect(buf, &f->v, TT_EAUTH);
    /* a longer (e.g. post-quantum) signature from someone else */
    uint8_t pq[2420];
    memset(pq, 0x42, sizeof pq);
    char pq64[3300];
    tti_base64_encode(pq, sizeof pq, pq64);
    char *big = malloc(strlen(f->note) + sizeof pq64 + 64);
    assert_non_null(big);
    int k = snprintf(big, strlen(f->note) + sizeof pq64 + 64, "%s" EM_DASH " pq.example %s\n",
                     f->note, pq64);
    assert_true(k > 0);
    expect(big, &f->v, TT_OK);
    free(big);
    /* the same signature twice, or 100 times, is fine */
    snprintf(buf, sizeof buf, "%s%s", f->note, f->note + head);
    expect(buf, &f->v, TT_OK);
    size_t nline = strlen(f->note + head);
    big = malloc(head + 100 * nline + 1);
    assert_non_null(big);
    memcpy(big, f->note, head);
    for (size_t i = 0; i < 100; i++)
        memcpy(big + head + i * nline, f->note + head, nline + 1);
    expect(big, &f->v, TT_OK);
    free(big);
}

static void test_signature_count_and_size(void **state)
{
    fixture *f = *state;
    char *sep = strstr(f->note, "\n\n" EM_DASH);
    assert_non_null(sep);
    size_t head = (size_t)(sep - f->note) + 2;
    const char *ours = f->note + head;
    char other[160];
    snprintf(other, sizeof other, EM_DASH " witness.example/w1 AAAAAAAAAAAAAAAAAAAAAAAA\n");

    size_t cap = strlen(f->note) + 101 * strlen(other) + 1;
    char *buf = malloc(cap);
    assert_non_null(buf);
    /* 100 signature lines are accepted, 101 are not (as in golang.org/x/mod). */
    memcpy(buf, f->note, head);
    size_t at = head;
    for (int i = 0; i < 99; i++) {
        memcpy(buf + at, other, strlen(other));
        at += strlen(other);
    }
    memcpy(buf + at, ours, strlen(ours) + 1);
    expect(buf, &f->v, TT_OK);
    memcpy(buf + at, other, strlen(other));
    at += strlen(other);
    memcpy(buf + at, ours, strlen(ours) + 1);
    expect(buf, &f->v, TT_EPARSE);
    free(buf);

    /* Over 1 MiB is refused before it is read; exactly 1 MiB is read. */
    size_t big = 1024 * 1024;
    buf = malloc(big + 2);
    assert_non_null(buf);
    memset(buf, 'x', big + 1);
    size_t nnote = strlen(f->note);
    memcpy(buf + big + 1 - nnote, f->note, nnote);
    assert_int_equal(verify(buf, big + 1, &f->v), TT_ETOOBIG);
    assert_int_equal(verify(buf + 1, big, &f->v), TT_EAUTH); /* "xxx…example.com/log" */
    free(buf);
}

/* Bodies that are not checkpoints, under valid signatures: the parser's own refusals. */
static void test_checkpoint_body(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *body;
        int rc;
        uint64_t size;
    } cases[] = {
        {"o\n0\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_OK, 0},
        {"o\n18446744073709551615\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_OK,
         UINT64_MAX},
        /* extension lines are allowed and ignored, but not empty ones */
        {"o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\next one\n\xe2\x9c\x93\n", TT_OK, 8},
        {"o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\next\n", TT_EPARSE, 0},
        {"o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\next\n\n", TT_EPARSE, 0},
        /* origin */
        {"\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_EPARSE, 0},
        /* size: leading zeroes, signs, spaces, hex, empty, overflow */
        {"o\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_EPARSE, 0},
        {"o\n00\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_EPARSE, 0},
        {"o\n+8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_EPARSE, 0},
        {"o\n-8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_EPARSE, 0},
        {"o\n 8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_EPARSE, 0},
        {"o\n8 \nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_EPARSE, 0},
        {"o\n0x8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_EPARSE, 0},
        {"o\n\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_EPARSE, 0},
        {"o\n18446744073709551616\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_EPARSE, 0},
        {"o\n99999999999999999999\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", TT_EPARSE, 0},
        /* root: 31 and 33 bytes, non-canonical, unpadded, missing, hex */
        {"o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQw==\n", TT_EPARSE, 0},
        {"o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyi/\n", TT_EPARSE, 0},
        {"o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n", TT_EPARSE, 0},
        {"o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg\n", TT_EPARSE, 0},
        {"o\n8\n", TT_EPARSE, 0},
        {"o\n8\n\n", TT_EPARSE, 0},
        {"o\n", TT_EPARSE, 0},
        {"o\n8\n5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328\n", TT_EPARSE, 0},
    };
    uint8_t want[32];
    example_root(want);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *note = sign_text(&f->s, cases[i].body);
        uint64_t size = 12345;
        uint8_t r[32];
        char *origin = NULL;
        int rc = tti_note_verify_checkpoint(note, strlen(note), &f->v, &origin, &size, r);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
        if (rc == TT_OK) {
            assert_true(size == cases[i].size);
            assert_memory_equal(r, want, 32);
            assert_string_equal(origin, "o");
            free(origin);
        } else {
            assert_true(size == 12345); /* untouched */
            assert_null(origin);
        }
        free(note);
    }
}

static void test_outputs_untouched_on_failure(void **state)
{
    fixture *f = *state;
    char *m = replace(f->note, "\n8\n", "\n9\n");
    char *origin = (char *)"sentinel";
    uint64_t size = 777;
    uint8_t root[32];
    memset(root, 0x5a, sizeof root);
    assert_int_equal(tti_note_verify_checkpoint(m, strlen(m), &f->v, &origin, &size, root),
                     TT_EAUTH);
    assert_string_equal(origin, "sentinel");
    assert_int_equal(size, 777);
    for (int i = 0; i < 32; i++)
        assert_int_equal(root[i], 0x5a);
    free(m);
}

static void test_public_api(void **state)
{
    fixture *f = *state;
    char *vkey = slurp_line(VEC "example.vkey");
    size_t n = strlen(f->note);
    int64_t size = -1;
    uint8_t root[32];
    char *origin = NULL;
    assert_int_equal(tt_checkpoint_verify_note(f->note, n, vkey, &origin, &size, root), TT_OK);
    assert_string_equal(origin, "example.com/log");
    free(origin);

    /* a malformed verifier key is a parse error; another valid key an auth failure */
    assert_int_equal(tt_checkpoint_verify_note(f->note, n, "example.com/log", NULL, &size, root),
                     TT_EPARSE);
    char *peter = slurp_line(VEC "peterneumann.vkey");
    assert_int_equal(tt_checkpoint_verify_note(f->note, n, peter, NULL, &size, root), TT_EAUTH);
    free(peter);
    vkey[strlen(vkey) - 1] ^= 0x01;
    assert_int_equal(tt_checkpoint_verify_note(f->note, n, vkey, NULL, &size, root), TT_EPARSE);
    vkey[strlen(vkey) - 1] ^= 0x01;

    assert_int_equal(tt_checkpoint_verify_note(NULL, 0, vkey, NULL, &size, root), TT_EINVAL);
    assert_int_equal(tt_checkpoint_verify_note(f->note, n, NULL, NULL, &size, root), TT_EINVAL);
    assert_int_equal(tt_checkpoint_verify_note(f->note, n, vkey, NULL, NULL, root), TT_EINVAL);
    assert_int_equal(tt_checkpoint_verify_note(f->note, n, vkey, NULL, &size, NULL), TT_EINVAL);
    free(vkey);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_example),
        cmocka_unit_test(test_interop_go_keys),
        cmocka_unit_test(test_interop_go_note),
        cmocka_unit_test(test_interop_sumdb),
        cmocka_unit_test(test_generate_round_trip),
        cmocka_unit_test(test_key_names),
        cmocka_unit_test(test_private_key_rejects),
        cmocka_unit_test(test_verifier_key_rejects),
        cmocka_unit_test_setup_teardown(test_sign_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_bit_flip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_notes, setup, teardown),
        cmocka_unit_test(test_go_bad_messages),
        cmocka_unit_test_setup_teardown(test_other_signatures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_count_and_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outputs_untouched_on_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_api, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
