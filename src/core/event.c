/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event model: validation against the rules of SPEC 3.1, the canonical leaf bytes
 * that the Merkle tree hashes (docs/FORMAT.md), copying, and status names. Everything
 * here is pure and thread-safe; the JSON mapping lives in event_json.c.
 */
#include "core/event.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "util/err.h"

/* Every string member of tt_event in leaf-byte order (docs/FORMAT.md); occurred_at, an
 * integer, goes between metadata and idempotency_key. principal is in version 2 and 3 leaves
 * only, producer (followed by the integer producer_seq) in version 3 leaves only. */
static const size_t str_fields[] = {
    offsetof(tt_event, entity),          offsetof(tt_event, entity_id),
    offsetof(tt_event, event_type),      offsetof(tt_event, actor),
    offsetof(tt_event, old_status),      offsetof(tt_event, new_status),
    offsetof(tt_event, reason),          offsetof(tt_event, metadata),
    offsetof(tt_event, idempotency_key), offsetof(tt_event, principal),
    offsetof(tt_event, producer),
};
#define N_STR_FIELDS (sizeof str_fields / sizeof str_fields[0])
#define N_REQUIRED 4                   /* entity .. actor: written without a presence byte */
#define I_PRINCIPAL (N_STR_FIELDS - 2) /* version 2, 3: always there, no presence byte */
#define I_PRODUCER (N_STR_FIELDS - 1)  /* version 3: always there, then producer_seq */

static const char *get_str(const tt_event *ev, size_t off)
{
    return *(const char *const *)((const char *)ev + off);
}

static void set_str(tt_event *ev, size_t off, const char *s)
{
    *(const char **)((char *)ev + off) = s;
}

void tt_event_init(tt_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->occurred_at_us = TT_TIME_NONE;
}

void tt_free(void *p)
{
    free(p);
}

/* tti_event_clone makes one allocation, so one free() releases struct and strings. */
void tt_event_free(tt_event *ev)
{
    free(ev);
}

/*
 * Offset of the first control character of valid UTF-8 text, or len: C0 (U+0000-U+001F),
 * DEL and C1 (U+0080-U+009F, encoded C2 80..C2 9F). With allow_ws, tab, LF and CR pass.
 */
static size_t find_control(const unsigned char *s, size_t len, int allow_ws, unsigned *cp)
{
    for (size_t i = 0; i < len; i++) {
        unsigned c = s[i];
        if (allow_ws && (c == '\t' || c == '\n' || c == '\r'))
            continue;
        if (c < 0x20 || c == 0x7F) {
            *cp = c;
            return i;
        }
        if (c == 0xC2 && i + 1 < len && s[i + 1] <= 0x9F) {
            *cp = s[i + 1];
            return i;
        }
    }
    return len;
}

/* ---- Validation (SPEC 3.1) ------------------------------------------------------------ */

/* A value as it may appear inside a message: quoted, at most ~40 bytes, with anything
 * unprintable or not UTF-8 shown as \xNN so the message itself stays clean text. */
static const char *quote(const char *s, char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = strlen(s), ok = tti_utf8_bad(s, len), o = 0;
    buf[o++] = '"';
    for (size_t i = 0; i < len && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        int lead = (c & 0xC0) != 0x80;
        if (o > 40 && (lead || i >= ok)) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7F || c == '"' || c == '\\' || (c >= 0x80 && i >= ok)) {
            buf[o++] = '\\', buf[o++] = 'x';
            buf[o++] = hex[c >> 4], buf[o++] = hex[c & 15];
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

enum rule_kind {
    RULE_LOWER,    /* [a-z][a-z0-9_]{0,max-1} */
    RULE_UPPER,    /* [A-Z][A-Z0-9_]{0,max-1} */
    RULE_TEXT,     /* 1..max code points of UTF-8, no control characters */
    RULE_REASON,   /* 0..max bytes of UTF-8, no control characters but \t \n \r */
    RULE_METADATA, /* normalised JSON object text of 1..max bytes */
};

typedef struct field_rule {
    const char *name;
    size_t off;
    int required;
    enum rule_kind kind;
    size_t max;
} field_rule;

static const field_rule rules[] = {
    {"entity", offsetof(tt_event, entity), 1, RULE_LOWER, TT_MAX_ENTITY},
    {"entity_id", offsetof(tt_event, entity_id), 1, RULE_TEXT, TT_MAX_ENTITY_ID},
    {"event_type", offsetof(tt_event, event_type), 1, RULE_UPPER, TT_MAX_EVENT_TYPE},
    {"actor", offsetof(tt_event, actor), 1, RULE_TEXT, TT_MAX_ACTOR},
    {"old_status", offsetof(tt_event, old_status), 0, RULE_TEXT, TT_MAX_STATUS},
    {"new_status", offsetof(tt_event, new_status), 0, RULE_TEXT, TT_MAX_STATUS},
    {"reason", offsetof(tt_event, reason), 0, RULE_REASON, TT_MAX_REASON},
    {"metadata", offsetof(tt_event, metadata), 0, RULE_METADATA, TT_MAX_METADATA},
    {"idempotency_key", offsetof(tt_event, idempotency_key), 0, RULE_TEXT, TT_MAX_IDEMPOTENCY_KEY},
    {"producer", offsetof(tt_event, producer), 0, RULE_TEXT, TT_MAX_PRODUCER},
};

static int name_char(char c, int upper, int first)
{
    char lo = upper ? 'A' : 'a', hi = upper ? 'Z' : 'z';
    if (c >= lo && c <= hi)
        return 1;
    return !first && ((c >= '0' && c <= '9') || c == '_');
}

static int check_name(const field_rule *r, const char *s, size_t len, char *err, size_t errlen)
{
    char q[64];
    if (len > r->max)
        return tti_err(err, errlen, TT_EINVAL, "%s: longer than %zu characters (got %zu)", r->name,
                       r->max, len);
    int upper = r->kind == RULE_UPPER;
    for (size_t i = 0; i < len; i++)
        if (!name_char(s[i], upper, i == 0))
            return tti_err(err, errlen, TT_EINVAL, "%s: must match %s{0,%zu} (got %s)", r->name,
                           upper ? "[A-Z][A-Z0-9_]" : "[a-z][a-z0-9_]", r->max - 1,
                           quote(s, q, sizeof q));
    return TT_OK;
}

static int check_utf8(const field_rule *r, const char *s, size_t len, char *err, size_t errlen)
{
    size_t bad = tti_utf8_bad(s, len);
    if (bad != len)
        return tti_err(err, errlen, TT_EINVAL, "%s: invalid UTF-8 at byte %zu", r->name, bad);
    return TT_OK;
}

static int check_control(const field_rule *r, const char *s, size_t len, char *err, size_t errlen)
{
    unsigned cp = 0;
    size_t at = find_control((const unsigned char *)s, len, r->kind == RULE_REASON, &cp);
    if (at != len)
        return tti_err(err, errlen, TT_EINVAL, "%s: control character U+%04X at byte %zu", r->name,
                       cp, at);
    return TT_OK;
}

static int check_text(const field_rule *r, const char *s, size_t len, char *err, size_t errlen)
{
    /* A code point takes at most 4 bytes: reject what cannot fit before looking further. */
    if (len > 4 * r->max)
        return tti_err(err, errlen, TT_EINVAL, "%s: longer than %zu characters", r->name, r->max);
    int rc = check_utf8(r, s, len, err, errlen);
    if (rc != TT_OK)
        return rc;
    size_t n = tti_utf8_count(s, len);
    if (n > r->max)
        return tti_err(err, errlen, TT_EINVAL, "%s: longer than %zu characters (got %zu)", r->name,
                       r->max, n);
    return check_control(r, s, len, err, errlen);
}

static int check_reason(const field_rule *r, const char *s, size_t len, char *err, size_t errlen)
{
    if (len > r->max)
        return tti_err(err, errlen, TT_EINVAL, "%s: longer than %zu bytes (got %zu)", r->name,
                       r->max, len);
    int rc = check_utf8(r, s, len, err, errlen);
    return rc != TT_OK ? rc : check_control(r, s, len, err, errlen);
}

/*
 * Metadata is stored exactly as the normaliser writes it (SPEC 3.1: an object, no duplicate
 * keys; docs/FORMAT.md section 3). Text the event parser has just normalised needs only its
 * size checked; anything else, from a direct C caller, is normalised again and must come
 * out byte for byte the same.
 */
static int check_metadata(const field_rule *r, const char *s, size_t len, unsigned flags, char *err,
                          size_t errlen)
{
    if (len > r->max)
        return tti_err(err, errlen, TT_EINVAL, "%s: larger than %zu bytes (got %zu)", r->name,
                       r->max, len);
    if ((flags & TTI_CHECK_META_NORMAL) || tti_metadata_is_normal(s, len))
        return TT_OK;
    char *norm = NULL;
    int rc = tti_metadata_normalize(s, len, &norm, err, errlen);
    if (rc == TT_EPARSE)
        rc = TT_EINVAL; /* for a tt_event, text that does not parse is an invalid value */
    if (rc == TT_OK && strcmp(norm, s) != 0) {
        /* Normal but for redaction (SPEC 15): refused rather than stored with the secret. */
        char *plain = NULL;
        int redacted =
            tti_metadata_renormalize(s, len, &plain, NULL, 0) == TT_OK && strcmp(plain, s) == 0;
        free(plain);
        rc = tti_err(err, errlen, TT_EINVAL,
                     redacted ? "%s: holds a key of redact_keys (pass it through "
                                "tt_metadata_normalize first, which redacts it)"
                              : "%s: not in normalised form (pass it through "
                                "tt_metadata_normalize first)",
                     r->name);
    }
    free(norm);
    return rc;
}

static int check_field(const field_rule *r, const char *s, unsigned flags, char *err, size_t errlen)
{
    if (s == NULL)
        return r->required ? tti_err(err, errlen, TT_EINVAL, "%s: required", r->name) : TT_OK;
    size_t len = strlen(s);
    /* An empty optional value would be a third state besides absent and present; only a
     * reason may be empty (docs/FORMAT.md). */
    if (len == 0 && r->kind != RULE_REASON)
        return tti_err(err, errlen, TT_EINVAL, "%s: must not be empty%s", r->name,
                       r->required ? "" : " (omit it or use null)");
    switch (r->kind) {
    case RULE_LOWER:
    case RULE_UPPER:
        return check_name(r, s, len, err, errlen);
    case RULE_TEXT:
        return check_text(r, s, len, err, errlen);
    case RULE_REASON:
        return check_reason(r, s, len, err, errlen);
    case RULE_METADATA:
        return check_metadata(r, s, len, flags, err, errlen);
    }
    return TT_OK;
}

/* The one check of SPEC 3.1 for every path into the ledger; with checked, only the
 * members that differ from it. */
static int check_event(const tt_event *ev, const tt_event *checked, unsigned flags, char *err,
                       size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (ev == NULL)
        return tti_err(err, errlen, TT_EMISUSE, "event: NULL");
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const char *v = get_str(ev, rules[i].off);
        if (checked != NULL && v == get_str(checked, rules[i].off))
            continue;
        int rc = check_field(&rules[i], v, flags, err, errlen);
        if (rc != TT_OK)
            return rc;
    }
    if (checked != NULL && ev->producer == checked->producer &&
        ev->producer_seq == checked->producer_seq)
        return TT_OK;
    /* SPEC 15: a producer's counter means nothing without its name, and counts from 1. */
    if (ev->producer != NULL && ev->producer_seq < 1)
        return tti_err(err, errlen, TT_EINVAL, "producer_seq: required with producer, >= 1");
    if (ev->producer == NULL && ev->producer_seq != 0)
        return tti_err(err, errlen, TT_EINVAL, "producer_seq: needs producer");
    return TT_OK;
}

int tti_event_check(const tt_event *ev, unsigned flags, char *err, size_t errlen)
{
    return check_event(ev, NULL, flags, err, errlen);
}

int tti_event_check_changes(const tt_event *ev, const tt_event *checked, char *err, size_t errlen)
{
    return check_event(ev, checked, 0, err, errlen);
}

int tt_event_validate(const tt_event *ev, char *err, size_t errlen)
{
    return tti_event_check(ev, 0, err, errlen);
}

/* A principal as the ledger records it: 1..TT_MAX_PRINCIPAL bytes of UTF-8 text without
 * control characters (SPEC 3.1). */
int tti_principal_check(const char *p, char *err, size_t errlen)
{
    static const field_rule rule = {"principal", 0, 1, RULE_TEXT, TT_MAX_PRINCIPAL};
    size_t len = p != NULL ? strlen(p) : 0;
    if (len == 0 || len > TT_MAX_PRINCIPAL)
        return tti_err(err, errlen, TT_EINVAL, "principal: must be 1-%d bytes", TT_MAX_PRINCIPAL);
    return check_text(&rule, p, len, err, errlen);
}

/* ---- Leaf bytes (docs/FORMAT.md, SPEC 4) ----------------------------------------------- */

/* Size of the leaf bytes, with each string's length in lens[]. TT_EINVAL when a required
 * field is missing, TT_ETOOBIG when a length does not fit its u32 prefix. */
static int leaf_measure(const tt_event *ev, size_t lens[N_STR_FIELDS], size_t *total)
{
    size_t n = 1 + 8 + 8 + 1; /* version, seq, ts, occurred_at presence */
    if (ev->occurred_at_us != TT_TIME_NONE)
        n += 8;
    int v3 = ev->producer != NULL;
    for (size_t i = 0; i < N_STR_FIELDS; i++) {
        const char *s = get_str(ev, str_fields[i]);
        if (s == NULL && i < N_REQUIRED)
            return TT_EINVAL;
        lens[i] = s != NULL ? strlen(s) : 0;
        if (lens[i] > UINT32_MAX)
            return TT_ETOOBIG;
        /* Each string is < 4 GiB, so only a 32-bit size_t could overflow here. A version 3
         * leaf always has a principal (empty when NULL) and producer_seq after producer. */
        size_t add = (i >= N_REQUIRED && i < I_PRINCIPAL) + (s != NULL ? 4 + lens[i] : 0);
        if (i == I_PRINCIPAL && s == NULL && v3)
            add = 4;
        if (i == I_PRODUCER && s != NULL)
            add += 8;
        if (add > SIZE_MAX - n)
            return TT_ETOOBIG;
        n += add;
    }
    *total = n;
    return TT_OK;
}

static uint8_t *put_be(uint8_t *p, uint64_t v, int nbytes)
{
    for (int i = nbytes - 1; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put_str(uint8_t *p, const char *s, size_t len)
{
    p = put_be(p, len, 4);
    memcpy(p, s, len);
    return p + len;
}

/* Write the leaf bytes measured by leaf_measure() into p. An event with a producer (SPEC 15)
 * is a version 3 leaf; otherwise one with a principal is a version 2 leaf, and one without
 * (appended before principals were recorded) keeps the version 1 bytes it was hashed with. */
static void leaf_write(const tt_event *ev, const size_t lens[N_STR_FIELDS], uint8_t *p)
{
    int v3 = ev->producer != NULL;
    *p++ = v3 ? TTI_LEAF_VERSION_3 : ev->principal != NULL ? TTI_LEAF_VERSION : TTI_LEAF_VERSION_1;
    p = put_be(p, (uint64_t)ev->seq, 8);
    p = put_be(p, (uint64_t)ev->ts_us, 8);
    for (size_t i = 0; i < N_STR_FIELDS; i++) {
        const char *s = get_str(ev, str_fields[i]);
        /* occurred_at sits between metadata and idempotency_key. */
        if (str_fields[i] == offsetof(tt_event, idempotency_key)) {
            *p++ = ev->occurred_at_us != TT_TIME_NONE;
            if (ev->occurred_at_us != TT_TIME_NONE)
                p = put_be(p, (uint64_t)ev->occurred_at_us, 8);
        }
        if (i >= N_REQUIRED && i < I_PRINCIPAL)
            *p++ = s != NULL;
        if (s != NULL)
            p = put_str(p, s, lens[i]);
        else if (i == I_PRINCIPAL && v3)
            p = put_be(p, 0, 4);
    }
    if (v3)
        put_be(p, (uint64_t)ev->producer_seq, 8);
}

int tti_event_leaf_encode(const tt_event *ev, uint8_t *buf, size_t cap, size_t *len)
{
    size_t lens[N_STR_FIELDS];
    *len = 0;
    int rc = leaf_measure(ev, lens, len);
    if (rc != TT_OK)
        return rc;
    if (*len > cap)
        return TT_ETOOBIG;
    leaf_write(ev, lens, buf);
    return TT_OK;
}

int tt_event_leaf_bytes(const tt_event *ev, uint8_t **out, size_t *outlen)
{
    size_t total;
    if (ev == NULL || out == NULL || outlen == NULL)
        return TT_EMISUSE;
    /* Measured first: with no room, only a failed measure leaves total at 0. */
    int rc = tti_event_leaf_encode(ev, NULL, 0, &total);
    if (rc != TT_ETOOBIG || total == 0)
        return rc;
    uint8_t *buf = malloc(total);
    if (buf == NULL)
        return TT_ENOMEM;
    if ((rc = tti_event_leaf_encode(ev, buf, total, &total)) != TT_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = total;
    return TT_OK;
}

int tt_event_leaf_hash(const tt_event *ev, uint8_t out[TT_HASH_SIZE])
{
    /* Appends and verify hash every event: typical events fit on the stack. */
    uint8_t stack[2048], *buf = stack;
    size_t total;
    if (ev == NULL || out == NULL)
        return TT_EMISUSE;
    int rc = tti_event_leaf_encode(ev, stack, sizeof stack, &total);
    if (rc == TT_ETOOBIG && total > sizeof stack) {
        if ((buf = malloc(total)) == NULL)
            return TT_ENOMEM;
        rc = tti_event_leaf_encode(ev, buf, total, &total);
    }
    if (rc == TT_OK)
        tti_hash_leaf(buf, total, out); /* RFC 9162 2.1.1: SHA-256(0x00 || leaf bytes) */
    if (buf != stack)
        free(buf);
    return rc;
}

/* ---- Reading leaf bytes back ------------------------------------------------------------
 * Archive segments (SPEC 8) keep only the leaf bytes; every field of the event is in them,
 * so an archived event is served by decoding its leaf. The strings are copied into one
 * block after the event, as tti_event_clone does, with a NUL after each. */

static int get_be(const uint8_t **p, const uint8_t *end, int nbytes, uint64_t *v)
{
    if (end - *p < nbytes)
        return -1;
    *v = 0;
    for (int i = 0; i < nbytes; i++)
        *v = *v << 8 | *(*p)++;
    return 0;
}

int tti_event_leaf_decode(const uint8_t *leaf, size_t len, tt_event **out)
{
    const uint8_t *p = leaf, *end = leaf + len;
    if (len < 1 || (leaf[0] != TTI_LEAF_VERSION && leaf[0] != TTI_LEAF_VERSION_1 &&
                    leaf[0] != TTI_LEAF_VERSION_3))
        return TT_EPARSE;
    int ver = *p++;
    /* Strings are no longer than the leaf, so one block of len bytes plus NULs holds them. */
    size_t n_nuls = N_STR_FIELDS;
    tt_event *ev = malloc(sizeof *ev + len + n_nuls);
    if (ev == NULL)
        return TT_ENOMEM;
    tt_event_init(ev);
    char *dst = (char *)(ev + 1);
    uint64_t seq, ts, occ, n;
    if (get_be(&p, end, 8, &seq) != 0 || get_be(&p, end, 8, &ts) != 0)
        goto bad;
    ev->seq = (int64_t)seq;
    ev->ts_us = (int64_t)ts;
    for (size_t i = 0; i < N_STR_FIELDS; i++) {
        if (str_fields[i] == offsetof(tt_event, idempotency_key)) {
            if (p == end || *p > 1)
                goto bad;
            if (*p++ == 1) {
                /* TT_TIME_NONE is "absent", which has its own byte: as a value it would
                 * encode back as absence, so these leaf bytes could not be the event's. */
                if (get_be(&p, end, 8, &occ) != 0 || (int64_t)occ == TT_TIME_NONE)
                    goto bad;
                ev->occurred_at_us = (int64_t)occ;
            }
        }
        /* version 1 ends before the principal, version 2 after it, version 3 adds the
         * producer (its principal always written, empty when there was none) */
        if ((i >= I_PRINCIPAL && ver == TTI_LEAF_VERSION_1) ||
            (i > I_PRINCIPAL && ver == TTI_LEAF_VERSION))
            break;
        if (i >= N_REQUIRED && i < I_PRINCIPAL) {
            if (p == end || *p > 1)
                goto bad;
            if (*p++ == 0)
                continue;
        }
        if (get_be(&p, end, 4, &n) != 0 || (uint64_t)(end - p) < n || memchr(p, 0, n) != NULL)
            goto bad;
        memcpy(dst, p, n);
        dst[n] = '\0';
        if (n > 0 || i != I_PRINCIPAL || ver != TTI_LEAF_VERSION_3)
            set_str(ev, str_fields[i], dst);
        dst += n + 1;
        p += n;
    }
    if (ver == TTI_LEAF_VERSION_3) {
        uint64_t pseq;
        if (get_be(&p, end, 8, &pseq) != 0)
            goto bad;
        ev->producer_seq = (int64_t)pseq;
    }
    if (p != end)
        goto bad;
    tti_hash_leaf(leaf, len, ev->leaf_hash);
    *out = ev;
    return TT_OK;
bad:
    free(ev);
    return TT_EPARSE;
}

/* ---- Copying --------------------------------------------------------------------------- */

int tti_event_clone(const tt_event *in, tt_event **out)
{
    size_t lens[N_STR_FIELDS], total = sizeof(tt_event);
    for (size_t i = 0; i < N_STR_FIELDS; i++) {
        const char *s = get_str(in, str_fields[i]);
        lens[i] = s != NULL ? strlen(s) : 0;
        if (s != NULL && lens[i] + 1 > SIZE_MAX - total)
            return TT_ENOMEM;
        total += s != NULL ? lens[i] + 1 : 0;
    }
    tt_event *copy = malloc(total);
    if (copy == NULL)
        return TT_ENOMEM;
    *copy = *in;
    char *p = (char *)(copy + 1);
    for (size_t i = 0; i < N_STR_FIELDS; i++) {
        const char *s = get_str(in, str_fields[i]);
        if (s == NULL)
            continue;
        memcpy(p, s, lens[i] + 1);
        set_str(copy, str_fields[i], p);
        p += lens[i] + 1;
    }
    *out = copy;
    return TT_OK;
}

/* ---- Status names ---------------------------------------------------------------------- */

const char *tt_strerror(int rc)
{
    /* Indexed by value, so a code added to tradetrail.h without a name shows as "TT_E?". */
    static const char *const names[] = {
        [TT_OK] = "TT_OK",
        [TT_ENOMEM] = "TT_ENOMEM",
        [TT_EINVAL] = "TT_EINVAL",
        [TT_EMISUSE] = "TT_EMISUSE",
        [TT_EIO] = "TT_EIO",
        [TT_EDB] = "TT_EDB",
        [TT_ECRYPTO] = "TT_ECRYPTO",
        [TT_EPARSE] = "TT_EPARSE",
        [TT_ENET] = "TT_ENET",
        [TT_ETOOBIG] = "TT_ETOOBIG",
        [TT_ECONFLICT] = "TT_ECONFLICT",
        [TT_ENOTFOUND] = "TT_ENOTFOUND",
        [TT_EAUTH] = "TT_EAUTH",
        [TT_ENOSPC] = "TT_ENOSPC",
        [TT_ETAMPERED] = "TT_ETAMPERED",
        [TT_EBUSY] = "TT_EBUSY",
    };
    if (rc < 0 || (size_t)rc >= sizeof names / sizeof names[0] || names[rc] == NULL)
        return "TT_E?";
    return names[rc];
}
