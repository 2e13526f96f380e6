/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request recogniser of the append fast path (server/fastpath.c). It is strict on
 * purpose: whatever it is not sure of is handed over, unread, to libmicrohttpd, whose
 * answers (errors, framing checks, limits) then stay the only ones. So it only has to be
 * right about what it takes, never about what it refuses. No libmicrohttpd here, so the
 * fuzzer (fuzz/fuzz_fastpath.c) builds it alone.
 */
#include <string.h>
#include <strings.h>

#include "fastpath_parse.h"

static const char request_line[] = "POST /api/events HTTP/1.1\r\n";

/* RFC 9110 5.6.2 token characters. */
static int tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_name(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* The headers this path reads, each at most once. */
typedef struct seen {
    const char *length, *auth, *type, *idem, *conn;
    size_t length_n, auth_n, type_n, idem_n, conn_n;
} seen;

static int take(const char **slot, size_t *slot_n, const char *v, size_t n)
{
    if (*slot != NULL)
        return -1;
    *slot = v;
    *slot_n = n;
    return 0;
}

/* One header line p[0..len) (without its CRLF). 0, or -1 to hand the request over. */
static int header(const char *p, size_t len, seen *h)
{
    size_t k = 0;
    while (k < len && tchar((unsigned char)p[k]))
        k++;
    if (k == 0 || k >= len || p[k] != ':')
        return -1;
    const char *v = p + k + 1, *end = p + len;
    for (const char *x = v; x < end; x++)
        if ((unsigned char)*x < 0x20 ? *x != '\t' : (unsigned char)*x >= 0x7F)
            return -1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    /* libmicrohttpd 0.9.75 keeps trailing whitespace in a value ("Bearer T " is not T, an
     * Idempotency-Key "K " not K): trimming it here would answer such a request otherwise
     * than the other path, and store another key for a retry that takes that path. */
    if (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        return -1;
    size_t vn = (size_t)(end - v);
    if (is_name(p, k, "Content-Length"))
        return take(&h->length, &h->length_n, v, vn);
    if (is_name(p, k, "Authorization"))
        return take(&h->auth, &h->auth_n, v, vn);
    if (is_name(p, k, "Content-Type"))
        return take(&h->type, &h->type_n, v, vn);
    if (is_name(p, k, "Idempotency-Key"))
        return take(&h->idem, &h->idem_n, v, vn);
    if (is_name(p, k, "Connection"))
        return take(&h->conn, &h->conn_n, v, vn);
    if (is_name(p, k, "Transfer-Encoding") || is_name(p, k, "X-Ledger") ||
        is_name(p, k, "Expect") || is_name(p, k, "Upgrade") || is_name(p, k, "Content-Encoding"))
        return -1;
    return 0;
}

/* A Content-Length of 1..SRV_FP_BODY_MAX in plain digits. */
static int body_length(const char *v, size_t n, size_t *out)
{
    size_t len = 0;
    if (n == 0 || n > 6)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        len = len * 10 + (size_t)(v[i] - '0');
    }
    if (len == 0 || len > SRV_FP_BODY_MAX)
        return -1;
    *out = len;
    return 0;
}

/* The headers a plain append must have, as server/http.c and server/api_events.c read
 * them: a bearer token, JSON (srv_content_is), keep-alive or nothing. */
static int plain(const seen *h, srv_fp_req *out)
{
    static const char json[] = "application/json";
    if (h->length == NULL || h->auth == NULL || h->type == NULL ||
        body_length(h->length, h->length_n, &out->body_len) != 0)
        return -1;
    if (h->auth_n <= 7 || strncasecmp(h->auth, "Bearer ", 7) != 0 ||
        h->auth_n - 7 > SRV_FP_TOKEN_MAX || memchr(h->auth + 7, ' ', h->auth_n - 7) != NULL ||
        memchr(h->auth + 7, '\t', h->auth_n - 7) != NULL)
        return -1;
    size_t t = 0;
    while (t < h->type_n && h->type[t] != ';' && h->type[t] != ' ' && h->type[t] != '\t')
        t++;
    if (t != sizeof json - 1 || strncasecmp(h->type, json, t) != 0)
        return -1;
    if (h->conn != NULL && !is_name(h->conn, h->conn_n, "keep-alive"))
        return -1;
    if (h->idem != NULL && (h->idem_n == 0 || h->idem_n > SRV_FP_IDEM_MAX))
        return -1;
    out->token = h->auth + 7;
    out->token_len = h->auth_n - 7;
    out->idem = h->idem;
    out->idem_len = h->idem_n;
    return 0;
}

srv_fp_verdict srv_fp_parse(const char *buf, size_t n, srv_fp_req *out)
{
    size_t line = sizeof request_line - 1;
    memset(out, 0, sizeof *out);
    if (n < line)
        return memcmp(buf, request_line, n) == 0 ? SRV_FP_WAIT : SRV_FP_HANDOFF;
    if (memcmp(buf, request_line, line) != 0)
        return SRV_FP_HANDOFF;
    seen h;
    memset(&h, 0, sizeof h);
    size_t at = line, scan = n < SRV_FP_HEAD_MAX ? n : SRV_FP_HEAD_MAX;
    for (int lines = 0;; lines++) {
        const char *cr = memchr(buf + at, '\r', scan - at);
        if (cr == NULL || (size_t)(cr - buf) + 1 >= scan)
            return n >= SRV_FP_HEAD_MAX ? SRV_FP_HANDOFF : SRV_FP_WAIT;
        size_t len = (size_t)(cr - (buf + at));
        if (cr[1] != '\n') /* the line's other bytes are checked by header() */
            return SRV_FP_HANDOFF;
        if (len == 0) {
            at += 2;
            break;
        }
        if (lines == SRV_FP_HEADERS_MAX || header(buf + at, len, &h) != 0)
            return SRV_FP_HANDOFF;
        at += len + 2;
    }
    if (plain(&h, out) != 0)
        return SRV_FP_HANDOFF;
    out->head_len = at;
    return at + out->body_len <= n ? SRV_FP_TAKE : SRV_FP_WAIT;
}
