/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon of tradetrail serve: libmicrohttpd, per-request state, body collection with
 * the 16 MiB limit, and dispatch over the modules' route tables (server/routes.c) with the
 * authorisation each route needs. The answers are server/answer.c's; no route lives here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "defer.h"
#include "fastpath.h"
#include "http.h"
#include "ledgers.h"
#include "offload.h"
#include "routes.h"
#include "util/codec.h"
#include "util/time.h"
#include "util/thread.h"

/* All request bodies being received at once share 16 full-size bodies (256 MiB): without
 * this bound, clients stalling uploads just under 16 MiB hold 16 MiB each, up to 8 GiB from
 * the 512 connections one address may open (found by tests/e2e/test_hostile.py). A body
 * beyond the budget is discarded as it arrives and its request answered 503. Bodies up to
 * 64 KiB are always taken, so that big uploads cannot lock out ordinary appends (those are
 * bounded by the connection limit: 4096 x 64 KiB). */
#define SRV_BODY_BUDGET ((size_t)SRV_MAX_BODY * 16)
#define SRV_SMALL_BODY ((size_t)64 * 1024)
static atomic_size_t body_bytes;

/* ---- connections waiting for a request (slowloris, SPEC 14, issue 13 item 3) ---- */

/*
 * WARNING: libmicrohttpd 0.9.75 only bounds the idle time of a connection, and a client
 * trickling a header byte every 20 s is never idle: 512 such sockets from 127.0.0.1 (the
 * per-address limit) locked every other local client out. A connection is therefore
 * tracked while it waits for a request (from its accept, or from the end of its previous
 * request, until its request line and headers are complete):
 *  - header_timeout (seconds, default 10) bounds that wait; the sweeper shuts the socket
 *    down after it, and libmicrohttpd then closes the connection;
 *  - at most SRV_MAX_WAITING_PER_IP of them per client address: a new connection beyond
 *    that evicts the address's oldest waiting one, so a normal client from the attacker's
 *    own address still gets in (its request arrives at once and stops it waiting).
 * Requests in progress (streams, slow bodies) are not waiting and are never evicted.
 */
#define SRV_MAX_WAITING_PER_IP 256
/* Workers for the reads that scan the ledger (server/offload.c): a few at a time is what
 * the disk and the cores serve; more would only queue inside SQLite or PostgreSQL. */
#define OFFLOAD_WORKERS 4

typedef struct waiter {
    int fd;
    uint32_t ip; /* IPv4 address in network order */
    int waiting; /* no request in progress and not evicted yet */
    int64_t since_us;
    struct waiter *prev, *next;
} waiter;

static struct {
    pthread_mutex_t m;
    pthread_cond_t wake;
    waiter *head, *tail; /* oldest first */
    int64_t timeout_us;
    int stop;
    pthread_t sweeper;
    int running;
} waiters = {.m = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* With waiters.m held: end the connection's wait by shutting its socket down. The fd is
 * still open: libmicrohttpd closes it only after the NOTIFY_CLOSED callback, which takes
 * waiters.m to unlink the waiter first. */
static void evict(waiter *w)
{
    w->waiting = 0;
    shutdown(w->fd, SHUT_RDWR);
}

static void unlink_waiter(waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        waiters.head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        waiters.tail = w->prev;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    waiter *w = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (w == NULL)
            return;
        pthread_mutex_lock(&waiters.m);
        unlink_waiter(w);
        pthread_mutex_unlock(&waiters.m);
        free(w);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *fdi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ai =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (fdi == NULL || (w = calloc(1, sizeof *w)) == NULL)
        return; /* untracked: the idle timeout still applies */
    w->fd = fdi->connect_fd;
    if (ai != NULL && ai->client_addr != NULL && ai->client_addr->sa_family == AF_INET)
        w->ip = ((const struct sockaddr_in *)ai->client_addr)->sin_addr.s_addr;
    w->waiting = 1;
    w->since_us = tt_time_now_us();
    pthread_mutex_lock(&waiters.m);
    waiter *oldest = NULL;
    int n = 0;
    for (waiter *x = waiters.head; x; x = x->next)
        if (x->waiting && x->ip == w->ip && n++ == 0)
            oldest = x;
    if (n >= SRV_MAX_WAITING_PER_IP)
        evict(oldest);
    w->prev = waiters.tail;
    if (waiters.tail)
        waiters.tail->next = w;
    else
        waiters.head = w;
    waiters.tail = w;
    pthread_mutex_unlock(&waiters.m);
    *socket_context = w;
}

/* A request began (headers complete: waiting 0) or ended (1) on the connection. */
static void set_waiting(struct MHD_Connection *conn, int waiting)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    waiter *w = ci != NULL ? ci->socket_context : NULL;
    if (w == NULL)
        return;
    pthread_mutex_lock(&waiters.m);
    w->waiting = waiting;
    w->since_us = tt_time_now_us();
    pthread_mutex_unlock(&waiters.m);
}

static void *sweeper(void *arg)
{
    (void)arg;
    tti_thread_name("tt-sweeper");
    pthread_mutex_lock(&waiters.m);
    while (!waiters.stop) {
        struct timespec until = tti_deadline_ms(100);
        pthread_cond_timedwait(&waiters.wake, &waiters.m, &until);
        int64_t now = tt_time_now_us();
        for (waiter *x = waiters.head; x; x = x->next)
            if (x->waiting && now - x->since_us > waiters.timeout_us)
                evict(x);
    }
    pthread_mutex_unlock(&waiters.m);
    return NULL;
}

static void stop_sweeper(void)
{
    if (!waiters.running)
        return;
    pthread_mutex_lock(&waiters.m);
    waiters.stop = 1;
    pthread_cond_signal(&waiters.wake);
    pthread_mutex_unlock(&waiters.m);
    pthread_join(waiters.sweeper, NULL);
    waiters.running = 0;
}

/* ---- routing and authorisation ---- */

/* Match a path against a pattern: {seq} takes a decimal number (r->seq), {id} one segment
 * of [A-Za-z0-9_.-], at most 64 characters (r->id). */
static int match(const char *pattern, const char *path, srv_req *r)
{
    while (*pattern && *path) {
        if (strncmp(pattern, "{seq}", 5) == 0) {
            const char *end = path;
            int64_t v = 0;
            while (*end >= '0' && *end <= '9' && v < INT64_MAX / 10)
                v = v * 10 + (*end++ - '0');
            if (end == path || (*end != '/' && *end != '\0'))
                return 0;
            r->seq = v;
            path = end;
            pattern += 5;
            continue;
        }
        if (strncmp(pattern, "{id}", 4) == 0) {
            size_t n = strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789_.-");
            if (n == 0 || n >= sizeof r->id || (path[n] != '/' && path[n] != '\0'))
                return 0;
            memcpy(r->id, path, n);
            r->id[n] = '\0';
            path += n;
            pattern += 4;
            continue;
        }
        if (*pattern++ != *path++)
            return 0;
    }
    return *pattern == '\0' && *path == '\0';
}

/* The token of an Authorization header: "Bearer <token>", or HTTP Basic with the token as
 * the password ("Basic base64(<any name>:<token>)"), which is what a client that can only
 * be given a URL sends for http://name:<token>@host/... (freqtrade's webhook, SPEC 15).
 * 0, or -1 when there is none. WARNING: the decoded token is a secret; callers wipe it. */
static int request_token(const char *h, char *out, size_t cap)
{
    if (h == NULL)
        return -1;
    if (strncasecmp(h, "Bearer ", 7) == 0) {
        if (strlen(h + 7) >= cap)
            return -1;
        snprintf(out, cap, "%s", h + 7);
        return 0;
    }
    if (strncasecmp(h, "Basic ", 6) != 0)
        return -1;
    uint8_t raw[256];
    size_t n;
    if (tti_base64_decode(h + 6, strlen(h + 6), raw, sizeof raw - 1, &n) != 0)
        return -1;
    raw[n] = '\0';
    const char *colon = memchr(raw, ':', n);
    int rc = -1;
    if (colon != NULL && strlen(colon + 1) < cap) {
        snprintf(out, cap, "%s", colon + 1);
        rc = 0;
    }
    explicit_bzero(raw, sizeof raw);
    return rc;
}

/* Whether the request's token may come from the cache: its route only appends, and to the
 * main ledger, whose store holds the tokens the commit checks. */
static int may_cache(srv_req *r, const srv_route *route)
{
    const char *ledger = srv_header(r, "X-Ledger");
    return route->need == NEED_APPEND && (ledger == NULL || strcmp(ledger, TT_MAIN_LEDGER) == 0);
}

/* Authorise a request for what its route needs; *ok = 0 when an error answer was queued. */
static enum MHD_Result authorise(srv *s, srv_req *r, const srv_route *route, int *ok)
{
    srv_need need = route->need == NEED_APPEND ? NEED_INGEST : route->need;
    *ok = 0;
    tt_set_principal(NULL); /* nothing left over from this thread's previous request */
    tt_set_append_token(0);
    if (need == NEED_METRICS)
        need = s->metrics_public ? NEED_NONE : NEED_READ;
    if (need == NEED_NONE) {
        *ok = 1;
        return MHD_YES;
    }
    const char *cred;
    enum MHD_Result ret;
    if (srv_single_header(r, need == NEED_CRON ? "X-Cron-Auth" : "Authorization", &cred, &ret) != 0)
        return ret;
    if (need == NEED_CRON) {
        switch (tt_cron_authorize(tti_config_value(s->cfg, "cron_secret"), cred)) {
        case TT_OK:
            *ok = 1;
            return MHD_YES;
        case TT_EMISUSE:
            return srv_error(r, 403, "cron endpoints are disabled: no cron_secret is configured");
        default:
            return srv_error(r, 401, "missing or wrong X-Cron-Auth header");
        }
    }
    char token[256];
    if (request_token(cred, token, sizeof token) != 0)
        return srv_error(r, 401, "missing bearer token (Authorization: Bearer <token>)");
    tt_role role;
    char principal[TT_MAX_PRINCIPAL + 1];
    int64_t id = 0;
    int cached = 0;
    int rc = may_cache(r, route)
                 ? tt_token_authenticate_cached(s->l, token, &role, &id, principal, &cached)
                 : tt_token_authenticate(s->l, token, &role, &id, principal);
    explicit_bzero(token, sizeof token);
    if (rc == TT_EAUTH)
        return srv_error(r, 401, "invalid or revoked token");
    if (rc != TT_OK)
        return srv_fail(r, rc, tt_ledger_errmsg(s->l));
    int allowed = role == TT_ROLE_ADMIN || (need == NEED_READ && role == TT_ROLE_READ) ||
                  (need == NEED_INGEST && role == TT_ROLE_INGEST);
    /* Set before any answer: a 403 to a token from the cache checks it first (srv_error). */
    r->token_unchecked = cached ? id : 0;
    if (!allowed)
        return srv_error(r, 403, "the token's role (%s) may not do this", tt_role_name(role));
    /* SPEC 3.1: what this request appends records the token that authenticated it. */
    tt_set_principal(principal);
    snprintf(r->principal, sizeof r->principal, "%s", principal);
    r->token_id = id;
    r->authorised = 1;
    *ok = 1;
    return MHD_YES;
}

/* The route for the request's method and path; *path_known when some route has the path
 * (with another method: 405). HEAD is served by GET routes. */
static const srv_route *find_route(srv_req *r, int *path_known)
{
    *path_known = 0;
    for (const srv_route_table *const *t = srv_route_tables; *t; t++)
        for (size_t i = 0; i < (*t)->n; i++) {
            const srv_route *route = &(*t)->routes[i];
            if (!match(route->pattern, r->url, r))
                continue;
            *path_known = 1;
            if (strcmp(route->method, r->method) == 0 ||
                (strcmp(r->method, "HEAD") == 0 && strcmp(route->method, "GET") == 0))
                return route;
        }
    return NULL;
}

static enum MHD_Result dispatch(srv *s, srv_req *r)
{
    int path_known;
    const srv_route *route = find_route(r, &path_known);
    if (route == NULL)
        return path_known ? srv_error(r, 405, "method %s not allowed here", r->method)
                          : srv_error(r, 404, "no such endpoint");
    if (r->body_too_big == 2)
        return srv_error(r, 503, "too many request bodies in flight; try again later");
    if (r->body_too_big)
        return srv_error(r, 413, "request body larger than %u bytes", SRV_MAX_BODY);
    int ok = 1;
    enum MHD_Result ret = MHD_YES;
    if (r->authorised) /* on its headers (authorise_early); this thread may have served others */
        tt_set_principal(r->principal[0] ? r->principal : NULL);
    else
        ret = authorise(s, r, route, &ok);
    if (!ok)
        return ret;
    /* The commit checks a token from the cache (may_cache: this is the main ledger). */
    tt_set_append_token(r->token_unchecked);
    /* SPEC 15: a ledger's own routes follow X-Ledger; a write may create the ledger. The
     * jobs run on the main ledger, and /healthz, /metrics and the dashboard's files are the
     * server's. */
    int writes = route->need == NEED_INGEST || route->need == NEED_APPEND;
    if ((route->need == NEED_READ || writes) && srv_ledger_select(s, r, writes, &ret) != 0)
        return ret;
    if (route->need == NEED_CRON && srv_header(r, "X-Ledger") != NULL &&
        strcmp(srv_header(r, "X-Ledger"), TT_MAIN_LEDGER) != 0)
        return srv_error(r, 400, "X-Ledger: scheduled jobs run on the main ledger only");
    return route->handle(s, r);
}

/* Whether the request announces a body (Content-Length above 0, or chunked). */
static int announces_body(struct MHD_Connection *conn)
{
    const char *len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding") != NULL ||
           (len != NULL && strspn(len, "0") != strlen(len));
}

/*
 * WARNING: SPEC 14, no real work for an unauthenticated client (issue 13 item 2). A
 * request that announces a body is routed and authorised on its headers, before a byte of
 * the body is read: a refusal (404, 405, 401, 403) is queued at once and libmicrohttpd
 * closes the connection after it instead of reading the body. Before this, 16 stalled
 * unauthenticated 16 MiB uploads held the whole body budget and an authenticated batch got
 * 503. *ok = 1 when the request may go on (its body is then collected as before).
 */
static enum MHD_Result authorise_early(srv *s, srv_req *r, int *ok)
{
    *ok = 1;
    if (!announces_body(r->conn))
        return MHD_YES;
    int path_known;
    const srv_route *route = find_route(r, &path_known);
    if (route == NULL) {
        *ok = 0;
        return path_known ? srv_error(r, 405, "method %s not allowed here", r->method)
                          : srv_error(r, 404, "no such endpoint");
    }
    enum MHD_Result ret = authorise(s, r, route, ok);
    tt_set_principal(NULL); /* set again at dispatch, on whichever callback that is */
    tt_set_append_token(0);
    return ret;
}

/* WARNING: request smuggling. A request whose body length two parsers could read
 * differently (RFC 9112 6.1, 6.3) is refused before its body is read: Content-Length and
 * Transfer-Encoding together, either of them twice, or a transfer coding other than a
 * lone "chunked". libmicrohttpd 0.9.75 accepts all of these (it takes the first
 * Content-Length, or chunked over Content-Length), so a proxy in front that reads the
 * other way could slip a second request past it. Answering on the first callback makes
 * libmicrohttpd close the connection after the answer, so no leftover bytes are parsed. */
typedef struct framing {
    int n_length, n_coding;
    const char *coding;
} framing;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    framing *f = cls;
    if (strcasecmp(key, "Content-Length") == 0)
        f->n_length++;
    else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->n_coding++;
        f->coding = value;
    }
    return MHD_YES;
}

static const char *framing_problem(struct MHD_Connection *conn)
{
    framing f = {0, 0, NULL};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.n_length > 0 && f.n_coding > 0)
        return "Content-Length and Transfer-Encoding together";
    if (f.n_length > 1)
        return "more than one Content-Length";
    if (f.n_coding > 1)
        return "more than one Transfer-Encoding";
    if (f.n_coding == 1 && (f.coding == NULL || strcasecmp(f.coding, "chunked") != 0))
        return "unsupported Transfer-Encoding (only chunked)";
    return NULL;
}

/* Percent-decoding of the path and the query (MHD_OPTION_UNESCAPE_CALLBACK), as
 * libmicrohttpd's own but for %00: decoded, a NUL would cut the string short, so that
 * /api/events%00.json reached POST /api/events. It becomes 0xFF instead, a byte that is
 * never UTF-8: the path then matches no route (404) and a query value fails the UTF-8
 * check (400). */
static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static size_t unescape(void *cls, struct MHD_Connection *conn, char *str)
{
    (void)cls;
    (void)conn;
    char *w = str;
    for (const char *p = str; *p; p++) {
        int hi, lo;
        if (*p == '%' && (hi = hex_digit(p[1])) >= 0 && (lo = hex_digit(p[2])) >= 0) {
            int c = hi * 16 + lo;
            *w++ = (char)(c == 0 ? 0xFF : c);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return (size_t)(w - str);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    srv *s = cls;
    srv_req *r = *con_cls;
    if (r == NULL) {
        /* Answer on a later callback: with 0.9.75 answering on the first one closes
         * keep-alive connections. */
        r = calloc(1, sizeof *r);
        if (r == NULL)
            return MHD_NO;
        r->s = s;
        r->l = s->l;
        r->conn = conn;
        r->url = url;
        r->method = method;
        r->started_us = tt_time_now_us();
        set_waiting(conn, 0);
        tti_buf_init(&r->body, SRV_MAX_BODY);
        *con_cls = r;
        /* Counted before the stopping flag is read, as drain() sets the flag before it
         * reads the count: a request is either waited for or refused. A refusal is
         * answered at once, which also closes the connection. */
        atomic_fetch_add(&s->active_requests, 1);
        r->counted = 1;
        if (atomic_load(&s->stopping)) {
            r->counted = 0;
            atomic_fetch_sub(&s->active_requests, 1);
            return srv_error(r, 503, "the server is shutting down");
        }
        const char *bad = framing_problem(conn);
        if (bad)
            return srv_error(r, 400, "request framing: %s", bad);
        int ok;
        enum MHD_Result ret = authorise_early(s, r, &ok);
        return ok ? MHD_YES : ret;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (!r->body_too_big) {
            int over = atomic_fetch_add(&body_bytes, n) + n > SRV_BODY_BUDGET &&
                       r->body.len + n > SRV_SMALL_BODY;
            if (over || tti_buf_add(&r->body, upload_data, n) != 0) {
                /* keep reading and discarding, then answer 503 or 413 */
                r->body_too_big = over ? 2 : 1;
                atomic_fetch_sub(&body_bytes, r->body.len + n);
                tti_buf_free(&r->body);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (srv_deferred(r))
        return srv_defer_finish(s, r);
    if (atomic_load(&s->stopping))
        return srv_error(r, 503, "the server is shutting down");
    return dispatch(s, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    srv *s = cls;
    srv_req *r = *con_cls;
    set_waiting(conn, 1); /* for the next request on a keep-alive connection */
    if (r == NULL)
        return;
    if (r->release != NULL)
        r->release(r);
    srv_defer_release(s, r);
    atomic_fetch_sub(&body_bytes, r->body.len);
    tti_buf_free(&r->body);
    int counted = r->counted;
    free(r);
    *con_cls = NULL;
    if (counted)
        atomic_fetch_sub(&s->active_requests, 1);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, char *err, size_t errlen)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    size_t hlen = colon ? (size_t)(colon - listen) : 0;
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (colon == NULL || hlen == 0 || hlen >= sizeof host || *end != '\0' || port < 0 ||
        port > 65535) {
        snprintf(err, errlen, "--listen must be ADDR:PORT with an IPv4 address (got \"%s\")",
                 listen);
        return -1;
    }
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &sa->sin_addr) !=
        1) {
        snprintf(err, errlen, "--listen: \"%s\" is not an IPv4 address", host);
        return -1;
    }
    return 0;
}

/* The listening socket, as libmicrohttpd made it before (SO_REUSEADDR), non-blocking for
 * the fast path's accept loop. -1 with errno. */
static int listen_socket(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (const struct sockaddr *)sa, sizeof *sa) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int srv_start(srv *s, const char *listen, unsigned threads, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (parse_listen(listen, &sa, err, errlen) != 0)
        return TT_EINVAL;
    double timeout;
    int rc = tti_config_double(s->cfg, "header_timeout", 0.1, 3600, &timeout, err, errlen);
    if (rc != TT_OK)
        return rc;
    waiters.timeout_us = (int64_t)(timeout * 1e6);
    waiters.stop = 0;
    if (pthread_create(&waiters.sweeper, NULL, sweeper, NULL) != 0) {
        snprintf(err, errlen, "cannot start a thread");
        return TT_ENOMEM;
    }
    waiters.running = 1;
    if (srv_offload_start(OFFLOAD_WORKERS) != 0) {
        snprintf(err, errlen, "cannot start a thread");
        stop_sweeper();
        return TT_ENOMEM;
    }
    int lfd = listen_socket(&sa);
    if (lfd < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(errno));
        srv_offload_stop();
        stop_sweeper();
        return TT_EIO;
    }
    /* The fast path accepts every connection and hands libmicrohttpd the ones it does not
     * serve (server/fastpath.c). */
    s->d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
            MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC,
        0, NULL, NULL, on_request, s, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        NULL, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        /* An idle or stalled connection is closed after 60 s. A client trickling one byte
         * a second (slowloris) is never idle, so the timeout alone does not bound it: */
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        /* the daemon holds at most 4096 connections (file descriptors: the systemd unit
         * sets LimitNOFILE=65536), and one client address at most 512 of them, so that a
         * single source holding connections open cannot lock the other clients out (found
         * by tests/e2e/test_hostile.py: without it one address filled all 4096 slots and
         * new clients waited in the listen backlog). 512 leaves room for the 256 streams
         * plus requests when every client comes through one reverse proxy. */
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)512,
        /* Request line and headers: 16 KiB per connection, larger ones get 431 / 414.
         * libmicrohttpd zeroes a connection's whole pool after every request: at 64 KiB
         * that memset was 7 % of the server's CPU under single-event appends, and 16 KiB
         * measured about 8 us less server CPU per append (docs/PERFORMANCE.md). The price
         * is a smaller send buffer for long streamed answers (16 KiB writes). */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024), MHD_OPTION_END);
    if (s->d == NULL || srv_fastpath_start(s, lfd) != 0) {
        snprintf(err, errlen, "cannot serve on %s: %s", listen, strerror(errno));
        if (s->d != NULL)
            MHD_stop_daemon(s->d);
        s->d = NULL;
        close(lfd);
        srv_offload_stop();
        stop_sweeper();
        return TT_EIO;
    }
    return TT_OK;
}

void srv_stop(srv *s)
{
    srv_fastpath_stop(); /* first: it hands connections to the daemon */
    if (s->d != NULL) {
        MHD_stop_daemon(s->d);
        s->d = NULL;
    }
    srv_offload_stop();
    stop_sweeper();
}
