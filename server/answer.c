/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Answers of tradetrail serve: JSON and text bodies, the SPEC 9 error body, the one table
 * from library codes to HTTP statuses, request headers, and the query-string checks every
 * endpoint runs before it reads a parameter.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "answer.h"

/* ---- statuses ---- */

unsigned srv_status_for(int rc)
{
    switch (rc) {
    case TT_OK:
        return 200;
    case TT_EINVAL:
    case TT_EPARSE:
        return 400;
    case TT_EAUTH:
        return 401;
    case TT_ENOTFOUND:
        return 404;
    case TT_ECONFLICT:
        return 409;
    case TT_ETOOBIG:
        return 413;
    case TT_EBUSY:
    case TT_EIO:
        return 503;
    case TT_ENOSPC:
        return 507;
    default:
        return 500;
    }
}

/* The "code" of the SPEC 9 error body for a status. */
static const char *code_for(unsigned status)
{
    switch (status) {
    case 400:
    case 405:
        return "invalid_argument";
    case 401:
        return "unauthenticated";
    case 403:
        return "permission_denied";
    case 404:
        return "not_found";
    case 409:
        return "conflict";
    case 413:
        return "payload_too_large";
    case 415:
        return "unsupported_media_type";
    case 503:
        return "unavailable";
    case 507:
        return "insufficient_storage";
    default:
        return "internal";
    }
}

/* ---- answers ---- */

enum MHD_Result srv_queue(srv_req *r, unsigned status, struct MHD_Response *resp)
{
    if (resp == NULL)
        return MHD_NO;
    /* shutting down: the client should take its next request to another server */
    if (atomic_load(&r->s->stopping))
        MHD_add_response_header(resp, "Connection", "close");
    if (status < sizeof r->s->answered / sizeof r->s->answered[0])
        atomic_fetch_add(&r->s->answered[status], 1);
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

int srv_is_head(const srv_req *r)
{
    return strcmp(r->method, "HEAD") == 0;
}

/* WARNING: keep-alive framing. libmicrohttpd 0.9.75 ends a chunked answer to HEAD with the
 * last chunk ("0\r\n\r\n") although HEAD has no body (RFC 9110 9.3.2), and a keep-alive
 * client then reads those bytes as the start of the next response (issue 13 item 7). A
 * HEAD of a streamed endpoint therefore gets the GET's headers in HTTP/1.0 framing: no
 * chunks, no length, and the connection closes after the headers. */
enum MHD_Result srv_queue_stream(srv_req *r, unsigned status, struct MHD_Response *resp)
{
    if (resp != NULL && srv_is_head(r))
        MHD_set_response_options(resp, MHD_RF_HTTP_VERSION_1_0_ONLY, MHD_RO_END);
    return srv_queue(r, status, resp);
}

static enum MHD_Result send_copy(srv_req *r, unsigned status, const char *type, const char *data,
                                 size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return srv_queue(r, status, resp);
}

enum MHD_Result srv_json(srv_req *r, unsigned status, const char *json)
{
    return send_copy(r, status, "application/json", json, strlen(json));
}

enum MHD_Result srv_json_take(srv_req *r, unsigned status, char *json)
{
    if (json == NULL)
        return srv_error(r, 500, "out of memory");
    enum MHD_Result ret = srv_json(r, status, json);
    tt_free(json);
    return ret;
}

enum MHD_Result srv_text(srv_req *r, unsigned status, const char *content_type, const char *text)
{
    return send_copy(r, status, content_type, text, strlen(text));
}

unsigned srv_vouch(srv *s, int64_t *unchecked, unsigned status, char *msg, size_t cap)
{
    /* WARNING: SPEC 9, a revoked token stops working at once. A token from the cache is
     * checked when its append commits; an answer without one checks it here, so that the
     * holder of a revoked token learns nothing but 401. */
    if (*unchecked == 0 || status == 401)
        return status;
    int64_t id = *unchecked;
    *unchecked = 0;
    int rc = tt_token_recheck(s->l, id);
    if (rc == TT_EAUTH) {
        snprintf(msg, cap, "invalid or revoked token");
        return 401;
    }
    if (rc != TT_OK) { /* not known to be valid: no other answer */
        snprintf(msg, cap, "cannot check the token now: %s", tt_ledger_errmsg(s->l));
        return 503;
    }
    return status;
}

int srv_error_json(tti_buf *b, unsigned status, const char *msg)
{
    tti_buf_adds(b, "{\"error\":{\"code\":\"");
    tti_buf_adds(b, code_for(status));
    tti_buf_adds(b, "\",\"message\":");
    tti_buf_json_str(b, msg);
    return tti_buf_adds(b, "}}") != 0 || b->failed ? -1 : 0;
}

enum MHD_Result srv_error(srv_req *r, unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    status = srv_vouch(r->s, &r->token_unchecked, status, msg, sizeof msg);
    tti_buf b;
    tti_buf_init(&b, 8192);
    enum MHD_Result ret =
        srv_error_json(&b, status, msg) != 0 ? MHD_NO : srv_json(r, status, b.data);
    tti_buf_free(&b);
    return ret;
}

enum MHD_Result srv_fail(srv_req *r, int rc, const char *msg)
{
    return srv_error(r, srv_status_for(rc), "%s", msg && msg[0] ? msg : tt_strerror(rc));
}

/* ---- headers ---- */

const char *srv_header(srv_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

typedef struct header_count {
    const char *name;
    int n;
} header_count;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    (void)value;
    header_count *c = cls;
    c->n += strcasecmp(key, c->name) == 0;
    return MHD_YES;
}

/* Two copies of a header that names who or what (a token, a key, a ledger) could be read
 * differently by a proxy in front, which may take the last where libmicrohttpd takes the
 * first: refuse, do not pick. */
int srv_single_header(srv_req *r, const char *name, const char **value, enum MHD_Result *answer)
{
    header_count c = {name, 0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &c);
    if (c.n > 1) {
        *answer = srv_error(r, 400, "%s: given %d times; give it once", name, c.n);
        return -1;
    }
    *value = srv_header(r, name);
    return 0;
}

int srv_content_is(srv_req *r, const char *type)
{
    const char *ct = srv_header(r, "Content-Type");
    size_t n = strlen(type);
    return ct != NULL && strcspn(ct, "; \t") == n && strncasecmp(ct, type, n) == 0;
}

int srv_json_body(srv_req *r, enum MHD_Result *answer)
{
    if (!srv_content_is(r, "application/json")) {
        *answer = srv_error(r, 415, "Content-Type must be application/json");
        return -1;
    }
    if (r->body.len == 0) {
        *answer = srv_error(r, 400, "the request body is empty");
        return -1;
    }
    return 0;
}

/* ---- query parameters ---- */

const char *srv_param(srv_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct param_check {
    const char *const *allowed;
    char bad[128];
    int problem; /* 1 unknown, 2 invalid UTF-8, 3 repeated */
    const char *seen[32];
    int n_seen;
} param_check;

static enum MHD_Result check_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    param_check *pc = cls;
    int known = 0;
    for (const char *const *a = pc->allowed; *a && !known; a++)
        known = strcmp(*a, key) == 0;
    int problem = !known ? 1 : (value && !tt_utf8_valid(value, strlen(value))) ? 2 : 0;
    for (int i = 0; i < pc->n_seen && !problem; i++)
        if (strcmp(pc->seen[i], key) == 0)
            problem = 3;
    if (!problem && pc->n_seen < 32)
        pc->seen[pc->n_seen++] = key;
    if (problem) {
        pc->problem = problem;
        snprintf(pc->bad, sizeof pc->bad, "%s", tt_utf8_valid(key, strlen(key)) ? key : "?");
        return MHD_NO;
    }
    return MHD_YES;
}

int srv_check_params(srv_req *r, const char *const *allowed, enum MHD_Result *answer)
{
    param_check pc = {.allowed = allowed};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_one, &pc);
    if (pc.problem == 0)
        return 0;
    static const char *what[] = {"", "unknown query parameter", "invalid UTF-8 in parameter",
                                 "repeated query parameter"};
    *answer = srv_error(r, 400, "%s \"%s\"", what[pc.problem], pc.bad);
    return -1;
}

int srv_no_params(srv_req *r, enum MHD_Result *answer)
{
    static const char *const none[] = {NULL};
    return srv_check_params(r, none, answer);
}

/* ---- filters and paging (GET /api/events, /api/stream) ---- */

/* The query-string arguments as libmicrohttpd decoded them. srv_check_params has refused
 * unknown and repeated names before, so the library's list of names bounds their number. */
typedef struct arg_list {
    tt_query_param p[32];
    size_t n;
} arg_list;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    arg_list *a = cls;
    if (a->n == sizeof a->p / sizeof a->p[0])
        return MHD_NO;
    a->p[a->n++] = (tt_query_param){.key = key, .value = value};
    return MHD_YES;
}

int srv_parse_filters(srv_req *r, int paging, tt_query *q, void **owner, enum MHD_Result *answer)
{
    /* The names are the library's (tt_query_param_name), so the endpoints and the parser
     * cannot disagree on them. */
    const char *allowed[32];
    size_t n = 0;
    while (n + 1 < sizeof allowed / sizeof allowed[0] &&
           (allowed[n] = tt_query_param_name(n, paging)) != NULL)
        n++;
    allowed[n] = NULL;
    if (srv_check_params(r, allowed, answer) != 0)
        return -1;
    arg_list a = {.n = 0};
    if (MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &a) > (int)a.n) {
        *answer = srv_error(r, 400, "too many query parameters");
        return -1;
    }
    char err[256];
    int rc = tt_query_parse_params(q, a.p, a.n, tt_time_now_us(), owner, err, sizeof err);
    if (rc != TT_OK) {
        *answer = srv_error(r, srv_status_for(rc), "%s", err);
        return -1;
    }
    return 0;
}
