/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed checkpoints in the C2SP formats (c2sp.org/signed-note, c2sp.org/tlog-checkpoint),
 * with Ed25519 keys written as golang.org/x/mod/sumdb/note writes them, so that existing
 * transparency-log tools can read our keys and check our checkpoints, and we theirs.
 */
#include "core/note.h"

#include "tradetrail.h"
#include "core/event.h"
#include "util/codec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALG_ED25519 0x01 /* signed-note signature type of Ed25519 */
#define KEY_ID_LEN 4
#define HEX_ID_LEN (2 * KEY_ID_LEN)
#define KEY_RAW_LEN (1 + 32) /* type byte || seed or public key */
#define KEY_B64_LEN 44       /* tti_base64_len(KEY_RAW_LEN) */
#define SIG_RAW_LEN (KEY_ID_LEN + TTI_ED25519_SIG)
#define SIG_B64_LEN 92         /* tti_base64_len(SIG_RAW_LEN) */
#define ROOT_B64_LEN 44        /* tti_base64_len(32) */
#define NOTE_MAX (1024 * 1024) /* bytes; larger notes are refused before any work */
#define NOTE_MAX_SIGS 100      /* signature lines, as golang.org/x/mod/sumdb/note */
#define VKEY_TEXT_MAX 4096     /* a verifier key is < 200 bytes; bounds strnlen */
#define PRIVATE_PREFIX "PRIVATE+KEY+"

/* signed-note: a signature line starts with U+2014 EM DASH and a space. */
static const char sig_prefix[] = "\xe2\x80\x94 ";
#define SIG_PREFIX_LEN (sizeof sig_prefix - 1)

/* ---- names and small text helpers ---------------------------------------------------- */

static int is_ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_ascii_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_ascii_space((*s)[*len - 1]))
        (*len)--;
}

/*
 * signed-note: key names are non-empty and contain neither '+' nor any Unicode space (the
 * White_Space set Go's unicode.IsSpace tests). We also refuse control characters, C0, DEL
 * and C1, so a name is printable. Works on the UTF-8 bytes: once the text is valid UTF-8,
 * the lead bytes compared below cannot be continuation bytes.
 */
static int name_chars_ok(const char *z, size_t n)
{
    if (n == 0 || !tti_utf8_valid(z, n))
        return 0;
    const uint8_t *p = (const uint8_t *)z;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c <= 0x20 || c == 0x7f || c == '+')
            return 0;
        if (c == 0xc2 && p[i + 1] <= 0xa0) /* U+0080..U+00A0: C1, NEL, NO-BREAK SPACE */
            return 0;
        if (c == 0xe1 && p[i + 1] == 0x9a && p[i + 2] == 0x80) /* U+1680 */
            return 0;
        if (c == 0xe2 && p[i + 1] == 0x80 &&
            (p[i + 2] <= 0x8a || p[i + 2] == 0xa8 || p[i + 2] == 0xa9 || p[i + 2] == 0xaf))
            return 0; /* U+2000..U+200A, U+2028, U+2029, U+202F */
        if (c == 0xe2 && p[i + 1] == 0x81 && p[i + 2] == 0x9f) /* U+205F */
            return 0;
        if (c == 0xe3 && p[i + 1] == 0x80 && p[i + 2] == 0x80) /* U+3000 */
            return 0;
    }
    return 1;
}

/* Our own key names must also fit tti_signer.name and tti_verifier.name. */
static int key_name_ok(const char *z, size_t n)
{
    return n <= TTI_KEY_NAME_MAX && name_chars_ok(z, n);
}

/* c2sp.org/signed-note: key ID = SHA-256(key name || 0x0A || 0x01 || public key)[:4]. */
static void key_id(const char *name, size_t n, const uint8_t pub[TTI_ED25519_PUB],
                   uint8_t id[KEY_ID_LEN])
{
    static const uint8_t sep[2] = {'\n', ALG_ED25519};
    uint8_t h[32];
    tti_sha256((const uint8_t *)name, n, sep, sizeof sep, pub, TTI_ED25519_PUB, h);
    memcpy(id, h, KEY_ID_LEN);
}

static char *put(char *p, const void *src, size_t n)
{
    memcpy(p, src, n);
    return p + n;
}

/* Split s at the first c: *head = s[0..i), s and len advance past c. 0 when c is absent. */
static int split_at(const char **s, size_t *len, char c, const char **head, size_t *nhead)
{
    const char *hit = memchr(*s, c, *len);
    if (hit == NULL)
        return 0;
    *head = *s;
    *nhead = (size_t)(hit - *s);
    *len -= *nhead + 1;
    *s = hit + 1;
    return 1;
}

/*
 * Parse "<name>+<hex key id>+<base64(0x01 || 32 bytes)>", the tail shared by private and
 * verifier keys. The base64 part may itself contain '+', so only the first two split.
 * WARNING: raw receives the seed for a private key; the caller wipes it.
 */
static int parse_key_tail(const char *s, size_t len, const char **name, size_t *nname,
                          uint8_t id[KEY_ID_LEN], uint8_t raw[KEY_RAW_LEN])
{
    const char *hex;
    size_t nhex, nraw;
    if (!split_at(&s, &len, '+', name, nname) || !key_name_ok(*name, *nname))
        return TT_EPARSE;
    if (!split_at(&s, &len, '+', &hex, &nhex) || nhex != HEX_ID_LEN ||
        tti_hex_decode(hex, nhex, id, KEY_ID_LEN) != 0)
        return TT_EPARSE;
    if (tti_base64_decode(s, len, raw, KEY_RAW_LEN, &nraw) != 0 || nraw != KEY_RAW_LEN ||
        raw[0] != ALG_ED25519)
        return TT_EPARSE;
    return TT_OK;
}

/* "<name>+<hex key id>+<base64(0x01 || key)>" after prefix, in a new string. */
static int format_key(const char *prefix, const char *name, const uint8_t id[KEY_ID_LEN],
                      const uint8_t key[32], char **out)
{
    size_t nprefix = strlen(prefix);
    size_t nname = strnlen(name, TTI_KEY_NAME_MAX + 1);
    if (!key_name_ok(name, nname))
        return TT_EINVAL;
    uint8_t raw[KEY_RAW_LEN];
    char b64[KEY_B64_LEN + 1];
    char hex[HEX_ID_LEN + 1];
    raw[0] = ALG_ED25519;
    memcpy(raw + 1, key, 32);
    tti_base64_encode(raw, sizeof raw, b64);
    tti_hex_encode(id, KEY_ID_LEN, hex);
    tti_cleanse(raw, sizeof raw); /* WARNING: may hold a seed */

    int rc = TT_ENOMEM;
    char *z = malloc(nprefix + nname + 1 + HEX_ID_LEN + 1 + KEY_B64_LEN + 1);
    if (z != NULL) {
        char *p = put(z, prefix, nprefix);
        p = put(p, name, nname);
        *p++ = '+';
        p = put(p, hex, HEX_ID_LEN);
        *p++ = '+';
        p = put(p, b64, KEY_B64_LEN);
        *p = '\0';
        *out = z;
        rc = TT_OK;
    }
    tti_cleanse(b64, sizeof b64);
    return rc;
}

/* ---- keys --------------------------------------------------------------------------- */

int tti_signer_generate(const char *name, tti_signer *out)
{
    if (name == NULL || out == NULL)
        return TT_EINVAL;
    size_t n = strnlen(name, TTI_KEY_NAME_MAX + 1);
    if (!key_name_ok(name, n))
        return TT_EINVAL;
    tti_signer s;
    memset(&s, 0, sizeof s);
    memcpy(s.name, name, n);
    int rc = TT_ECRYPTO;
    if (tti_ed25519_keygen(s.seed, s.pub) == 0) {
        key_id(s.name, n, s.pub, s.key_id);
        *out = s;
        rc = TT_OK;
    }
    tti_cleanse(&s, sizeof s);
    return rc;
}

int tti_signer_format_private(const tti_signer *s, char **out)
{
    if (s == NULL || out == NULL)
        return TT_EINVAL;
    return format_key(PRIVATE_PREFIX, s->name, s->key_id, s->seed, out);
}

int tti_signer_parse_private(const char *text, size_t len, tti_signer *out)
{
    if (text == NULL || out == NULL)
        return TT_EINVAL;
    trim(&text, &len);
    size_t nprefix = sizeof PRIVATE_PREFIX - 1;
    if (len < nprefix || memcmp(text, PRIVATE_PREFIX, nprefix) != 0)
        return TT_EPARSE;

    const char *name;
    size_t nname;
    uint8_t raw[KEY_RAW_LEN];
    uint8_t id[KEY_ID_LEN];
    tti_signer s;
    memset(&s, 0, sizeof s);
    int rc = parse_key_tail(text + nprefix, len - nprefix, &name, &nname, id, raw);
    if (rc != TT_OK)
        goto out;
    memcpy(s.name, name, nname);
    memcpy(s.seed, raw + 1, TTI_ED25519_SEED);
    if (tti_ed25519_public(s.seed, s.pub) != 0) {
        rc = TT_ECRYPTO;
        goto out;
    }
    /* The file names the key id of the public key; a mismatch means a damaged file. */
    key_id(s.name, nname, s.pub, s.key_id);
    if (!tti_ct_equal(s.key_id, id, KEY_ID_LEN)) {
        rc = TT_EPARSE;
        goto out;
    }
    *out = s;
out:
    tti_cleanse(raw, sizeof raw);
    tti_cleanse(&s, sizeof s);
    return rc;
}

int tti_signer_verifier_key(const tti_signer *s, char **out)
{
    if (s == NULL || out == NULL)
        return TT_EINVAL;
    return format_key("", s->name, s->key_id, s->pub, out);
}

int tti_verifier_parse(const char *text, size_t len, tti_verifier *out)
{
    if (text == NULL || out == NULL)
        return TT_EINVAL;
    trim(&text, &len);
    const char *name;
    size_t nname;
    uint8_t raw[KEY_RAW_LEN];
    tti_verifier v;
    memset(&v, 0, sizeof v);
    int rc = parse_key_tail(text, len, &name, &nname, v.key_id, raw);
    if (rc != TT_OK)
        return rc;
    memcpy(v.name, name, nname);
    memcpy(v.pub, raw + 1, TTI_ED25519_PUB);
    uint8_t id[KEY_ID_LEN];
    key_id(v.name, nname, v.pub, id);
    if (!tti_ct_equal(id, v.key_id, KEY_ID_LEN))
        return TT_EPARSE;
    *out = v;
    return TT_OK;
}

/* ---- notes -------------------------------------------------------------------------- */

int tti_note_sign_checkpoint(const tti_signer *s, const char *origin, uint64_t size,
                             const uint8_t root[32], char **out)
{
    if (s == NULL || origin == NULL || root == NULL || out == NULL)
        return TT_EINVAL;
    size_t nname = strnlen(s->name, TTI_KEY_NAME_MAX + 1);
    if (!key_name_ok(s->name, nname))
        return TT_EINVAL;
    /* tlog-checkpoint: a non-empty origin line; signed-note: UTF-8 without controls. */
    size_t norigin = strnlen(origin, NOTE_MAX + 1);
    if (norigin > NOTE_MAX)
        return TT_ETOOBIG;
    if (norigin == 0 || !tti_utf8_valid(origin, norigin))
        return TT_EINVAL;
    for (size_t i = 0; i < norigin; i++)
        if ((uint8_t)origin[i] < 0x20)
            return TT_EINVAL;

    char dec[24];
    int ndec = snprintf(dec, sizeof dec, "%" PRIu64, size);
    char root_b64[ROOT_B64_LEN + 1];
    tti_base64_encode(root, 32, root_b64);
    size_t nbody = norigin + 1 + (size_t)ndec + 1 + ROOT_B64_LEN + 1;
    size_t total = nbody + 1 + SIG_PREFIX_LEN + nname + 1 + SIG_B64_LEN + 1;
    /* Never sign a note that our own verifier would refuse as too large. */
    if (total > NOTE_MAX)
        return TT_ETOOBIG;

    char *z = malloc(total + 1);
    if (z == NULL)
        return TT_ENOMEM;
    char *p = put(z, origin, norigin);
    *p++ = '\n';
    p = put(p, dec, (size_t)ndec);
    *p++ = '\n';
    p = put(p, root_b64, ROOT_B64_LEN);
    *p++ = '\n';

    /* signed-note: the signature covers the text with its final newline, not the blank
     * line that separates it from the signatures. */
    uint8_t sig[SIG_RAW_LEN];
    memcpy(sig, s->key_id, KEY_ID_LEN);
    if (tti_ed25519_sign(s->seed, (const uint8_t *)z, nbody, sig + KEY_ID_LEN) != 0) {
        free(z);
        return TT_ECRYPTO;
    }
    char sig_b64[SIG_B64_LEN + 1];
    tti_base64_encode(sig, sizeof sig, sig_b64);

    *p++ = '\n';
    p = put(p, sig_prefix, SIG_PREFIX_LEN);
    p = put(p, s->name, nname);
    *p++ = ' ';
    p = put(p, sig_b64, SIG_B64_LEN);
    *p++ = '\n';
    *p = '\0';
    *out = z;
    return TT_OK;
}

/*
 * c2sp.org/tlog-checkpoint: origin, decimal size, base64 root, then optional non-empty
 * extension lines, which we do not interpret. text ends with '\n' (the caller checked).
 */
static int parse_checkpoint(const char *text, size_t len, const char **origin, size_t *norigin,
                            uint64_t *size, uint8_t root[32])
{
    const char *line;
    size_t n;
    if (!split_at(&text, &len, '\n', origin, norigin) || *norigin == 0)
        return TT_EPARSE;

    /* ASCII decimal, no leading zeroes unless the tree is empty. */
    if (!split_at(&text, &len, '\n', &line, &n) || n == 0 || (n > 1 && line[0] == '0'))
        return TT_EPARSE;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (line[i] < '0' || line[i] > '9')
            return TT_EPARSE;
        unsigned d = (unsigned)(line[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return TT_EPARSE;
        v = v * 10 + d;
    }

    uint8_t r[32];
    size_t nr;
    if (!split_at(&text, &len, '\n', &line, &n) ||
        tti_base64_decode(line, n, r, sizeof r, &nr) != 0 || nr != sizeof r)
        return TT_EPARSE;

    while (len > 0) {
        if (!split_at(&text, &len, '\n', &line, &n) || n == 0)
            return TT_EPARSE;
    }
    *size = v;
    memcpy(root, r, sizeof r);
    return TT_OK;
}

int tti_note_verify_checkpoint(const char *note, size_t len, const tti_verifier *v, char **origin,
                               uint64_t *size, uint8_t root[32])
{
    if (note == NULL || v == NULL || size == NULL || root == NULL)
        return TT_EINVAL;
    if (len > NOTE_MAX)
        return TT_ETOOBIG;
    /* signed-note: valid UTF-8 without ASCII control characters other than newline. A
     * NUL is refused here too, so the text is also a safe C string. */
    if (!tti_utf8_valid(note, len))
        return TT_EPARSE;
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)note[i] < 0x20 && note[i] != '\n')
            return TT_EPARSE;

    /* signed-note: the text ends at the LAST blank line; it may contain empty lines. */
    size_t split = len;
    for (size_t i = len; i >= 2; i--) {
        if (note[i - 2] == '\n' && note[i - 1] == '\n') {
            split = i - 2;
            break;
        }
    }
    if (split == len)
        return TT_EPARSE;
    const char *text = note;
    size_t ntext = split + 1; /* with its final newline */
    const char *sigs = note + split + 2;
    size_t nsigs = len - split - 2;
    if (nsigs == 0 || sigs[nsigs - 1] != '\n')
        return TT_EPARSE;

    /* Decoded signatures are never longer than their line; one buffer serves them all.
     * Other keys' signatures (e.g. post-quantum ones) may be far longer than ours. */
    size_t rawcap = nsigs / 4 * 3 + 1;
    uint8_t *raw = malloc(rawcap);
    if (raw == NULL)
        return TT_ENOMEM;
    int rc = TT_EPARSE;
    int nlines = 0, good = 0, bad = 0;
    uint8_t seen[SIG_RAW_LEN]; /* the signature line of ours that verified */
    size_t vname = strnlen(v->name, TTI_KEY_NAME_MAX + 1);
    while (nsigs > 0) {
        const char *line, *name;
        size_t nline, nname, nraw;
        /* Always found, as sigs ends in '\n'; checked anyway for the compiler's sake. */
        if (!split_at(&sigs, &nsigs, '\n', &line, &nline) || ++nlines > NOTE_MAX_SIGS)
            goto out;
        /* banned-ok: sig_prefix is the fixed public "— " that opens a line, not a digest */
        if (nline < SIG_PREFIX_LEN || memcmp(line, sig_prefix, SIG_PREFIX_LEN) != 0)
            goto out;
        line += SIG_PREFIX_LEN;
        nline -= SIG_PREFIX_LEN;
        /* "<name> <base64>": the name has no space, so the first space ends it; a space
         * inside the base64 makes it undecodable. */
        if (!split_at(&line, &nline, ' ', &name, &nname) || !name_chars_ok(name, nname))
            goto out;
        if (nline == 0 || tti_base64_decode(line, nline, raw, rawcap, &nraw) != 0 ||
            nraw <= KEY_ID_LEN)
            goto out;
        /* signed-note: a signature is ours only when both name and key id match; others
         * (witnesses, rotated keys) are ignored. Every one of ours must verify. */
        if (nname != vname || memcmp(name, v->name, nname) != 0 ||
            !tti_ct_equal(raw, v->key_id, KEY_ID_LEN))
            continue;
        /* Bound the work to a couple of verifications of a text of up to NOTE_MAX bytes:
         * one failure decides, and copies of a verified line need no second look. */
        if (bad || (good && nraw == SIG_RAW_LEN && tti_ct_equal(raw, seen, SIG_RAW_LEN)))
            continue;
        if (nraw == SIG_RAW_LEN &&
            tti_ed25519_verify(v->pub, (const uint8_t *)text, ntext, raw + KEY_ID_LEN) == 0) {
            good = 1;
            memcpy(seen, raw, SIG_RAW_LEN);
        } else {
            bad = 1;
        }
    }
    if (bad || !good) {
        rc = TT_EAUTH;
        goto out;
    }

    /* Only text under a verified signature is read (signed-note: unverified text MUST
     * be ignored). */
    const char *o;
    size_t no;
    uint64_t sz;
    uint8_t r[32];
    if ((rc = parse_checkpoint(text, ntext, &o, &no, &sz, r)) != TT_OK)
        goto out;
    if (origin != NULL) {
        char *copy = malloc(no + 1);
        if (copy == NULL) {
            rc = TT_ENOMEM;
            goto out;
        }
        memcpy(copy, o, no);
        copy[no] = '\0';
        *origin = copy;
    }
    *size = sz;
    memcpy(root, r, sizeof r);
    rc = TT_OK;
out:
    free(raw);
    return rc;
}

TT_EXPORT int tt_checkpoint_verify_note(const char *note, size_t len, const char *verifier_key,
                                        char **origin, int64_t *tree_size,
                                        uint8_t root[TT_HASH_SIZE])
{
    if (verifier_key == NULL || tree_size == NULL || root == NULL)
        return TT_EINVAL;
    tti_verifier v;
    int rc = tti_verifier_parse(verifier_key, strnlen(verifier_key, VKEY_TEXT_MAX), &v);
    if (rc != TT_OK)
        return rc;
    char *o = NULL;
    uint64_t size;
    uint8_t r[TT_HASH_SIZE];
    rc = tti_note_verify_checkpoint(note, len, &v, origin != NULL ? &o : NULL, &size, r);
    if (rc != TT_OK)
        return rc;
    /* The public API counts in int64_t; a larger size cannot come from any real log. */
    if (size > INT64_MAX) {
        free(o);
        return TT_EPARSE;
    }
    if (origin != NULL)
        *origin = o;
    *tree_size = (int64_t)size;
    memcpy(root, r, sizeof r);
    return TT_OK;
}
