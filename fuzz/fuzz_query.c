/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for tt_query_parse_params, the query string of GET /api/events and
 * /api/stream. The input (up to its first NUL) is a raw query string without the '?'; it is
 * split and decoded as libmicrohttpd does ('&', the first '=', '+' and %XX undone, a bare
 * key has a NULL value). Beyond not crashing: the outcome equals that of a naive model
 * written from the documentation in tradetrail.h (which pairs are refused, with exactly
 * which message, and every field of the query); a failure leaves q and *owner untouched;
 * a success gives a bounded limit, valid times and at most TT_MAX_QUERY_TYPES non-empty
 * types; the pairs in reverse order give the same result; and the query re-encoded as a
 * query string parses back to the same query.
 */
#include "fuzz.h"

#include <stdarg.h>

#include "tradetrail.h"

#define NOW_US INT64_C(1768732260123456)             /* 2026-01-18T10:31:00.123456Z */
#define MIN_US (INT64_C(-62135596800) * 1000000)     /* 0001-01-01T00:00:00Z */
#define MAX_US (INT64_C(253402300800) * 1000000 - 1) /* 9999-12-31T23:59:59.999999Z */
#define MAX_PAIRS 64
#define OWNER_SENTINEL ((void *)0x5a5a)

/* The documented order of evaluation. */
enum {
    P_ENTITY,
    P_ENTITY_ID,
    P_ACTOR,
    P_TEXT,
    P_TYPES,
    P_SINCE,
    P_UNTIL,
    P_AFTER,
    P_ORDER,
    P_LIMIT,
    P_CURSOR,
    P_VIEW,
    P_ARCHIVE,
    N_PARAMS
};
static const char *const names[N_PARAMS] = {
    "entity",    "entity_id", "actor", "q",      "event_type", "since",          "until",
    "after_seq", "order",     "limit", "cursor", "view",       "include_archive"};

/* ---- query strings ---- */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* In place, as MHD_unescape_plus then MHD_http_unescape: a '%' without two hex digits
 * stays. */
static void url_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        if (*r == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
            *w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
            r += 3;
        } else {
            *w++ = *r == '+' ? ' ' : *r;
            r++;
        }
    }
    *w = '\0';
}

/* Split s (modified) into at most MAX_PAIRS pairs, the way MHD_parse_arguments_ does. */
static size_t split_query(char *s, tt_query_param *p)
{
    size_t n = 0;
    while (*s && n < MAX_PAIRS) {
        char *amp = strchr(s, '&');
        if (amp != NULL)
            *amp = '\0';
        char *eq = strchr(s, '=');
        if (eq != NULL)
            *eq = '\0';
        url_decode(s);
        if (eq != NULL)
            url_decode(eq + 1);
        p[n++] = (tt_query_param){.key = s, .value = eq ? eq + 1 : NULL};
        if (amp == NULL)
            break;
        s = amp + 1;
    }
    return n;
}

typedef struct enc {
    char *p;
    size_t len, cap;
} enc;

static void enc_raw(enc *e, const char *s)
{
    size_t n = strlen(s);
    FUZZ_CHECK(e->len + n < e->cap);
    memcpy(e->p + e->len, s, n + 1);
    e->len += n;
}

/* name=value with every byte outside RFC 3986's unreserved set percent-encoded. */
static void enc_param(enc *e, const char *name, const char *value)
{
    char hex[4];
    enc_raw(e, e->len ? "&" : "");
    enc_raw(e, name);
    enc_raw(e, "=");
    for (const unsigned char *v = (const unsigned char *)value; *v; v++) {
        if ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
            strchr("-._~", *v) != NULL) {
            hex[0] = (char)*v;
            hex[1] = '\0';
        } else {
            snprintf(hex, sizeof hex, "%%%02X", *v);
        }
        enc_raw(e, hex);
    }
}

static void enc_int(enc *e, const char *name, const char *prefix, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%s%lld", prefix, (long long)v);
    enc_param(e, name, buf);
}

/* The query as a query string that describes it from a fresh tt_query_init. */
static char *encode(const tt_query *q, size_t cap)
{
    enc e = {.p = malloc(cap), .cap = cap};
    FUZZ_CHECK(e.p != NULL);
    e.p[0] = '\0';
    const char *strs[] = {q->entity, q->entity_id, q->actor, q->text};
    for (int i = P_ENTITY; i < P_TYPES; i++)
        if (strs[i] != NULL)
            enc_param(&e, names[i], strs[i]);
    if (q->n_event_types > 0) {
        enc_raw(&e, e.len ? "&event_type=" : "event_type=");
        for (size_t i = 0; i < q->n_event_types; i++) {
            /* a one-pair string: encode the type alone, then take its value part */
            enc t = {.p = malloc(cap), .cap = cap};
            FUZZ_CHECK(t.p != NULL);
            t.p[0] = '\0';
            enc_param(&t, "", q->event_types[i]);
            enc_raw(&e, i ? "," : "");
            enc_raw(&e, t.p + 1);
            free(t.p);
        }
    }
    char ts[TT_TS_LEN + 1];
    if (q->since_us != TT_TIME_NONE) {
        tt_time_format(q->since_us, ts);
        enc_param(&e, "since", ts);
    }
    if (q->until_us != TT_TIME_NONE) {
        tt_time_format(q->until_us, ts);
        enc_param(&e, "until", ts);
    }
    if (q->after_seq != 0)
        enc_int(&e, "after_seq", "", q->after_seq);
    enc_param(&e, "order", q->order == TT_ORDER_DESC ? "desc" : "asc");
    enc_int(&e, "limit", "", (int64_t)q->limit);
    if (q->before_seq != 0)
        enc_int(&e, "cursor", "c", q->before_seq);
    if (q->view == TT_VIEW_CORRECTED)
        enc_param(&e, "view", "corrected");
    if (q->include_archive)
        enc_param(&e, "include_archive", "1");
    return e.p;
}

/* ---- the model ---- */

/* The documented integer rule: optional C-locale white space, an optional sign, decimal
 * digits up to the end, a value in 0..INT64_MAX ("-0" is 0). Written without strtoll. */
static int model_seq(const char *v, int64_t *out)
{
    const char *p = v;
    while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        p++;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!(*p >= '0' && *p <= '9'))
        return -1;
    uint64_t x = 0;
    int big = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (x > (UINT64_MAX - 9) / 10)
            big = 1;
        else
            x = x * 10 + (uint64_t)(*p - '0');
    }
    if (*p || big || x > (uint64_t)INT64_MAX || (neg && x != 0))
        return -1;
    *out = (int64_t)x;
    return 0;
}

/* The non-empty items between commas. */
static size_t model_types(const char *v, const char **start, size_t *len, size_t max)
{
    size_t n = 0;
    for (const char *p = v; *p;) {
        size_t k = strcspn(p, ",");
        if (k > 0) {
            if (n < max) {
                start[n] = p;
                len[n] = k;
            }
            n++;
        }
        p += k + (p[k] == ',');
    }
    return n;
}

typedef struct model {
    int ok;
    int names_ok; /* the failure (if any) is about a value, not a name */
    int strings;  /* a string parameter (entity .. event_type) has a value */
    char msg[8192];
    tt_query q;
    const char *types[TT_MAX_QUERY_TYPES];
    size_t type_len[TT_MAX_QUERY_TYPES];
} model;

static int refuse(model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(model *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->msg, sizeof m->msg, fmt, ap);
    va_end(ap);
    m->ok = 0;
    return -1;
}

/* Fills m: ok and the query, or the message of the first refusal. */
static int run_model(model *m, const tt_query_param *p, size_t n)
{
    const char *v[N_PARAMS] = {NULL};
    int seen[N_PARAMS] = {0};
    tt_query_init(&m->q);
    m->ok = 1;
    m->names_ok = 0;
    m->strings = 0;
    for (size_t i = 0; i < n; i++) {
        int k = -1;
        for (int j = 0; j < N_PARAMS && k < 0; j++)
            if (strcmp(names[j], p[i].key) == 0)
                k = j;
        if (k < 0)
            return refuse(m, "unknown query parameter \"%s\"",
                          tt_utf8_valid(p[i].key, strlen(p[i].key)) ? p[i].key : "?");
        if (seen[k]++)
            return refuse(m, "repeated query parameter \"%s\"", p[i].key);
        v[k] = p[i].value;
    }
    m->names_ok = 1;
    for (int k = P_ENTITY; k <= P_TYPES; k++)
        m->strings |= v[k] != NULL;
    tt_query *q = &m->q;
    q->entity = v[P_ENTITY];
    q->entity_id = v[P_ENTITY_ID];
    q->actor = v[P_ACTOR];
    q->text = v[P_TEXT];
    if (v[P_TYPES] != NULL) {
        q->n_event_types = model_types(v[P_TYPES], m->types, m->type_len, TT_MAX_QUERY_TYPES);
        if (q->n_event_types > TT_MAX_QUERY_TYPES)
            return refuse(m, "event_type: at most %d types", 32);
    }
    if (v[P_SINCE] != NULL && tt_time_parse_expr(v[P_SINCE], NOW_US, &q->since_us) != TT_OK)
        return refuse(m, "%s: not a time (RFC 3339, YYYY-MM-DD, today, -2h)", "since");
    if (v[P_UNTIL] != NULL && tt_time_parse_expr(v[P_UNTIL], NOW_US, &q->until_us) != TT_OK)
        return refuse(m, "%s: not a time (RFC 3339, YYYY-MM-DD, today, -2h)", "until");
    if (v[P_AFTER] != NULL && model_seq(v[P_AFTER], &q->after_seq) != 0)
        return refuse(m, "after_seq: must be a non-negative integer");
    if (v[P_ORDER] != NULL) {
        if (strcmp(v[P_ORDER], "asc") == 0)
            q->order = TT_ORDER_ASC;
        else if (strcmp(v[P_ORDER], "desc") == 0)
            q->order = TT_ORDER_DESC;
        else
            return refuse(m, "order: must be asc or desc");
    }
    int64_t x;
    if (v[P_LIMIT] != NULL) {
        if (model_seq(v[P_LIMIT], &x) != 0 || x < 1 || x > 10000)
            return refuse(m, "limit: must be 1 to 10000");
        q->limit = (size_t)x;
    }
    if (v[P_VIEW] != NULL) { /* SPEC 15 */
        if (strcmp(v[P_VIEW], "stored") == 0)
            q->view = TT_VIEW_STORED;
        else if (strcmp(v[P_VIEW], "corrected") == 0)
            q->view = TT_VIEW_CORRECTED;
        else
            return refuse(m, "view: must be stored or corrected");
    }
    if (v[P_ARCHIVE] != NULL) { /* SPEC 8 */
        if (strcmp(v[P_ARCHIVE], "0") != 0 && strcmp(v[P_ARCHIVE], "1") != 0)
            return refuse(m, "include_archive: must be 0 or 1");
        q->include_archive = v[P_ARCHIVE][0] == '1';
    }
    if (v[P_CURSOR] != NULL) {
        if (v[P_CURSOR][0] != 'c' || model_seq(v[P_CURSOR] + 1, &x) != 0 || x == 0)
            return refuse(m, "cursor: not a cursor this server returned");
        if (q->order == TT_ORDER_DESC)
            q->before_seq = x;
        else if (x > q->after_seq)
            q->after_seq = x;
    }
    return 0;
}

/* ---- checks ---- */

/* The same fields; the event types too unless b is the model's (whose types are not
 * NUL-terminated: check_success compares them). */
static int same_query(const tt_query *a, const tt_query *b, int types)
{
    if (!fuzz_str_eq(a->entity, b->entity) || !fuzz_str_eq(a->entity_id, b->entity_id) ||
        !fuzz_str_eq(a->actor, b->actor) || !fuzz_str_eq(a->text, b->text) ||
        a->n_event_types != b->n_event_types)
        return 0;
    for (size_t i = 0; types && i < a->n_event_types; i++)
        if (strcmp(a->event_types[i], b->event_types[i]) != 0)
            return 0;
    return a->since_us == b->since_us && a->until_us == b->until_us &&
           a->after_seq == b->after_seq && a->before_seq == b->before_seq && a->limit == b->limit &&
           a->order == b->order && a->view == b->view && a->include_archive == b->include_archive;
}

static void check_success(const tt_query *q, const model *m, void *owner)
{
    FUZZ_CHECK(m->ok);
    FUZZ_CHECK(q->limit >= 1 && q->limit <= TT_MAX_QUERY_LIMIT);
    FUZZ_CHECK(q->order == TT_ORDER_ASC || q->order == TT_ORDER_DESC);
    FUZZ_CHECK(q->after_seq >= 0 && q->before_seq >= 0);
    FUZZ_CHECK(q->before_seq == 0 || q->order == TT_ORDER_DESC);
    FUZZ_CHECK(q->since_us == TT_TIME_NONE || (q->since_us >= MIN_US && q->since_us <= MAX_US));
    FUZZ_CHECK(q->until_us == TT_TIME_NONE || (q->until_us >= MIN_US && q->until_us <= MAX_US));
    FUZZ_CHECK(q->n_event_types <= TT_MAX_QUERY_TYPES);
    for (size_t i = 0; i < q->n_event_types; i++) {
        FUZZ_CHECK(q->event_types[i][0] != '\0' && strchr(q->event_types[i], ',') == NULL);
        FUZZ_CHECK(strlen(q->event_types[i]) == m->type_len[i]);
        FUZZ_CHECK(memcmp(q->event_types[i], m->types[i], m->type_len[i]) == 0);
        /* copies, not pointers into the caller's strings */
        FUZZ_CHECK(q->event_types[i] != m->types[i]);
    }
    FUZZ_CHECK(m->strings ? owner != NULL : owner == NULL);
    FUZZ_CHECK(q->entity == NULL || q->entity != m->q.entity);
    FUZZ_CHECK(same_query(q, &m->q, 0));
}

static int parse(tt_query *q, const tt_query_param *p, size_t n, void **owner, char *err,
                 size_t errlen)
{
    tt_query_init(q);
    *owner = OWNER_SENTINEL;
    memset(err, 0, errlen);
    tt_query before = *q;
    int rc = tt_query_parse_params(q, p, n, NOW_US, owner, err, errlen);
    if (rc != TT_OK) {
        FUZZ_CHECK(rc == TT_EINVAL);
        FUZZ_CHECK(memcmp(q, &before, sizeof *q) == 0);
        FUZZ_CHECK(*owner == OWNER_SENTINEL);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strdup(data, size);
    tt_query_param p[MAX_PAIRS], rev[MAX_PAIRS];
    size_t n = split_query(s, p);
    static model m; /* large message buffer: not on the stack */
    static char err[8192];
    run_model(&m, p, n);

    tt_query q;
    void *owner;
    int rc = parse(&q, p, n, &owner, err, sizeof err);
    if (rc != TT_OK) {
        FUZZ_CHECK_ERRMSG(err);
        FUZZ_CHECK(!m.ok);
        if (strlen(m.msg) < sizeof err - 1)
            FUZZ_CHECK(strcmp(err, m.msg) == 0);
    } else {
        check_success(&q, &m, owner);
    }

    /* The pairs in reverse order: the same outcome (the value checks run in a fixed order;
     * only which bad name is named first may differ). */
    for (size_t i = 0; i < n; i++)
        rev[i] = p[n - 1 - i];
    tt_query r;
    void *rowner;
    static char rerr[8192];
    int rrc = parse(&r, rev, n, &rowner, rerr, sizeof rerr);
    FUZZ_CHECK(rrc == rc);
    if (rc != TT_OK && m.names_ok)
        FUZZ_CHECK(strcmp(rerr, err) == 0);
    if (rc == TT_OK) {
        FUZZ_CHECK(same_query(&r, &q, 1));
        tt_free(rowner);

        /* Re-encoded, decoded, parsed: the same query. */
        char *text = encode(&q, size * 3 + 512);
        tt_query_param p2[MAX_PAIRS];
        size_t n2 = split_query(text, p2);
        tt_query q2;
        void *owner2;
        char err2[256];
        int rc2 = parse(&q2, p2, n2, &owner2, err2, sizeof err2);
        FUZZ_CHECK(rc2 == TT_OK);
        FUZZ_CHECK(same_query(&q2, &q, 1));
        tt_free(owner2);
        free(text);
        tt_free(owner);
    }
    free(s);
    return 0;
}
