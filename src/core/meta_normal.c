/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metadata already in normal form, shown in one pass. A direct C caller's metadata must be
 * the normaliser's output byte for byte (event.c:check_metadata), and proving that by
 * parsing it with jansson and writing it again cost a third of a library append (callgrind:
 * 27,700 of 92,000 instructions an event). tti_metadata_is_normal() answers yes only for
 * text it can show the normaliser (event_json.c) gives back unchanged: compact; keys and
 * strings of printable ASCII without escapes; no key twice in one object and none that
 * the redaction set names; integers and reals exactly as tti_buf_json_int and
 * tti_buf_json_real write the value they read as. Anything else (escapes, UTF-8,
 * exponents, more digits, many keys, deep nesting) is "not shown" and the full
 * normalisation decides, so no text is judged differently, only sooner.
 */
#include <string.h>

#include "core/event.h"
#include "core/redact.h"

#define FAST_KEYS 32  /* keys of one object compared pairwise; more: not shown */
#define FAST_DEPTH 16 /* nesting levels shown here; deeper: the normaliser decides */

typedef struct fastp {
    const char *p, *end;
    int values;
} fastp;

static int fast_value(fastp *f, int depth);

size_t tti_json_plain_string(const char *p, const char *end)
{
    if (p >= end || *p != '"')
        return 0;
    for (const char *q = p + 1; q < end; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == '"')
            return (size_t)(q + 1 - p);
        if (c < 0x20 || c > 0x7E || c == '\\')
            return 0;
    }
    return 0;
}

/* A string of printable ASCII without escapes: written back as it stands. */
static int fast_string(fastp *f, const char **s, size_t *n)
{
    size_t len = tti_json_plain_string(f->p, f->end);
    if (len == 0)
        return 0;
    *s = f->p + 1;
    *n = len - 2;
    f->p += len;
    return 1;
}

static size_t digits(const char *p, const char *end)
{
    size_t n = 0;
    while (p + n < end && p[n] >= '0' && p[n] <= '9')
        n++;
    return n;
}

/* Significant digits of a real "I.F" without exponent written as tti_buf_json_real writes
 * it, or 0 when it is not written so: the shortest decimal that reads back, no trailing
 * zero but the one of "I.0", plain notation only for a first digit at 10^-4 .. 10^15. */
static size_t real_digits(const char *ip, size_t ni, const char *fp, size_t nf)
{
    if (ip[0] != '0') {
        if (ni > 16)
            return 0;
        if (nf == 1 && fp[0] == '0') {
            while (ni > 1 && ip[ni - 1] == '0')
                ni--;
            return ni;
        }
        return fp[nf - 1] == '0' ? 0 : ni + nf;
    }
    size_t z = 0;
    while (z < nf && fp[z] == '0')
        z++;
    if (z == nf) /* zero: "0.0" (or "-0.0") only */
        return nf == 1 ? 1 : 0;
    return z > 3 || fp[nf - 1] == '0' ? 0 : nf - z;
}

/*
 * A number that reads back as itself. Integers: jansson reads them with strtoll and
 * "%lld" writes them, so "0" or no leading zero, never "-0", at most 18 digits (in range).
 * Reals: any decimal of at most 15 significant digits (DBL_DIG) is the only one of that
 * many digits that reads as its double, so the shortest that reads back is those digits and
 * tti_buf_json_real writes them as they stand when the layout is its own.
 */
static int fast_number(fastp *f)
{
    const char *p = f->p;
    if (p < f->end && *p == '-')
        p++;
    const char *ip = p;
    size_t ni = digits(ip, f->end);
    if (ni == 0 || (ni > 1 && ip[0] == '0'))
        return 0;
    p += ni;
    if (p >= f->end || (*p != '.' && *p != 'e' && *p != 'E')) {
        if (ni > 18 || (ni == 1 && ip[0] == '0' && ip != f->p))
            return 0;
        f->p = p;
        return 1;
    }
    if (*p != '.')
        return 0;
    const char *fp = ++p;
    size_t nf = digits(fp, f->end);
    p += nf;
    if (nf == 0 || (p < f->end && (*p == 'e' || *p == 'E')))
        return 0;
    size_t sig = real_digits(ip, ni, fp, nf);
    if (sig == 0 || sig > 15)
        return 0;
    f->p = p;
    return 1;
}

static int fast_literal(fastp *f, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) != 0)
        return 0;
    f->p += n;
    return 1;
}

/* A member's key and its ':', not one of the n keys before it in its object. */
static int fast_key(fastp *f, const char **keys, size_t *lens, int n)
{
    const char *k;
    size_t kl;
    if (n == FAST_KEYS || !fast_string(f, &k, &kl) || tti_redact_match(k, kl))
        return 0;
    for (int i = 0; i < n; i++)
        /* banned-ok: the metadata's own keys, no secret; jansson refuses a repeated one */
        if (lens[i] == kl && memcmp(keys[i], k, kl) == 0)
            return 0;
    keys[n] = k;
    lens[n] = kl;
    if (f->p >= f->end || *f->p != ':')
        return 0;
    f->p++;
    return 1;
}

/* An object or an array, f->p at its bracket. */
static int fast_container(fastp *f, int depth)
{
    int object = *f->p == '{';
    char close = object ? '}' : ']';
    const char *keys[FAST_KEYS];
    size_t lens[FAST_KEYS];
    if (++f->p < f->end && *f->p == close)
        return f->p++, 1;
    for (int n = 0;; n++) {
        if ((object && !fast_key(f, keys, lens, n)) || !fast_value(f, depth))
            return 0;
        if (f->p < f->end && *f->p == ',')
            f->p++;
        else
            return f->p < f->end && *f->p++ == close;
    }
}

static int fast_value(fastp *f, int depth)
{
    static const char *const words[] = {"true", "false", "null"};
    if (f->p >= f->end || ++f->values > TTI_META_MAX_VALUES)
        return 0;
    char c = *f->p;
    if (c == '{' || c == '[')
        return depth < FAST_DEPTH && fast_container(f, depth + 1);
    if (c == '"') {
        const char *s;
        size_t n;
        return fast_string(f, &s, &n);
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (c == words[i][0])
            return fast_literal(f, words[i]);
    return fast_number(f);
}

size_t tti_metadata_normal_span(const char *s, size_t len)
{
    fastp f = {s, s + len, 0};
    if (s == NULL || len == 0 || s[0] != '{' || !fast_value(&f, 0) || f.p - s > TT_MAX_METADATA)
        return 0;
    return (size_t)(f.p - s);
}

int tti_metadata_is_normal(const char *s, size_t len)
{
    return len > 0 && tti_metadata_normal_span(s, len) == len;
}
