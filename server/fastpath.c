/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The append fast path of tradetrail serve: one thread (tt-fastpath) accepts every
 * connection and serves the requests that are plain event appends itself, the way
 * POST /api/events serves them (server/api_events.c), without libmicrohttpd's per-request
 * costs: no thread pool wake-ups, no suspend and resume (two epoll_ctl and an eventfd write
 * per append), no memory pool reset. SPEC 13 asks at most 30 us of server CPU per
 * single-event append; libmicrohttpd alone took about 17 (docs/PERFORMANCE.md).
 *
 * WARNING: it only ever peeks at a request (MSG_PEEK) until it knows it will serve it:
 * a whole plain append (server/fastpath_parse.c) whose token authenticates for appends and
 * whose body parses. Anything else (another endpoint, an error to answer, a partial request
 * after FP_IDLE_US, a connection beyond FP_MAX_CONNS, the server stopping) is handed to
 * libmicrohttpd with its bytes still unread (MHD_add_connection), which then owns the
 * connection with all of server/http.c's limits, and answers as it always did. The only
 * answers written here are an append's: its results, or its failure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "append.h"
#include "fastpath.h"
#include "fastpath_parse.h"
#include "util/thread.h"
#include "util/time.h"

/* Connections this thread holds at once; more go to libmicrohttpd as they are accepted. */
#define FP_MAX_CONNS 1024
/* A connection that has not sent a whole request this long after its last one (or its
 * accept) goes to libmicrohttpd, whose header timeout and per-address limits then apply. */
#define FP_IDLE_US 1000000
#define FP_TICK_MS 100

enum fp_state { FP_IDLE, FP_BUSY, FP_SENDING };

typedef struct fp_conn {
    int fd;
    enum fp_state state;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int64_t since_us;   /* idle since (FP_IDLE) */
    int64_t started_us; /* the request arrived (for the append latency metric) */
    int counted;        /* in srv.active_requests (srv.deferred while FP_BUSY) */
    srv_append a;       /* the append in flight */
    char idem[SRV_FP_IDEM_MAX + 1];
    tti_buf out; /* the answer, sent from out.data + sent */
    size_t sent;
    int close_after; /* the server is stopping: Connection: close */
    int dead;        /* closed or handed over: freed after the current batch of events */
    struct fp_conn *prev, *next, *done_next, *grave_next;
} fp_conn;

static struct {
    srv *s;
    int lfd, ep, efd;
    pthread_t thread;
    int running;
    atomic_int stop;
    atomic_int wake_pending;
    _Atomic(fp_conn *) done; /* appends the committer finished, newest first */
    fp_conn *conns;          /* every connection held */
    fp_conn *graves;         /* let go of during the current batch of events */
    int nconns;
    int accept_paused; /* out of descriptors: the listening socket rests until the next tick */
} F = {.lfd = -1, .ep = -1, .efd = -1};

static char listen_tag, wake_tag; /* epoll data of the listening socket and the eventfd */

/* ---- connections ---- */

/* Never while FP_BUSY: the committer still holds c. WARNING: c is not freed here. One
 * batch of epoll events can hold an event for a connection that an earlier event of the
 * same batch let go of (an answer whose send failed, a next request handed over), so c
 * is only marked dead and freed once the batch is done (free_graves). */
static void unlink_conn(fp_conn *c)
{
    if (c->counted)
        atomic_fetch_sub(&F.s->active_requests, 1);
    epoll_ctl(F.ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->prev)
        c->prev->next = c->next;
    else
        F.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    F.nconns--;
    tti_buf_free(&c->out);
    c->dead = 1;
    c->grave_next = F.graves;
    F.graves = c;
}

static void free_graves(void)
{
    while (F.graves) {
        fp_conn *c = F.graves;
        F.graves = c->grave_next;
        free(c);
    }
}

static void close_conn(fp_conn *c)
{
    close(c->fd);
    unlink_conn(c);
}

/* libmicrohttpd takes the connection, with whatever it has sent still unread. It closes
 * the socket itself when it cannot take it (its connection and per-address limits). */
static void hand_off_fd(int fd, const struct sockaddr_storage *addr, socklen_t len)
{
    atomic_fetch_add(&F.s->fastpath_handoffs, 1);
    MHD_add_connection(F.s->d, fd, (const struct sockaddr *)addr, len);
}

static void hand_off(fp_conn *c)
{
    int fd = c->fd;
    struct sockaddr_storage addr = c->addr;
    socklen_t len = c->addrlen;
    unlink_conn(c);
    hand_off_fd(fd, &addr, len);
}

/* ---- answers ---- */

/* Date as libmicrohttpd writes it (RFC 9110 5.6.7), made once a second. */
static const char *http_date(void)
{
    static time_t last = -1;
    static char text[40];
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    return text;
}

/* The answer's head and body into c->out, as srv_json and srv_queue would queue it. */
static void put_answer(fp_conn *c, unsigned status, const char *body)
{
    c->close_after = atomic_load(&F.s->stopping);
    tti_buf_reset(&c->out);
    tti_buf_printf(&c->out,
                   "HTTP/1.1 %u %s\r\nDate: %s\r\n%sContent-Type: application/json\r\n"
                   "Cache-Control: no-store\r\nContent-Length: %zu\r\n\r\n",
                   status, MHD_get_reason_phrase_for(status), http_date(),
                   c->close_after ? "Connection: close\r\n" : "", strlen(body));
    tti_buf_adds(&c->out, body);
    c->sent = 0;
    if (c->out.failed) {
        /* Never a cut answer: a short one that fits, or none and the connection closed. */
        static const char oom[] =
            "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n"
            "Content-Type: application/json\r\nContent-Length: 55\r\n\r\n"
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        tti_buf_reset(&c->out);
        if (tti_buf_adds(&c->out, oom) != 0)
            tti_buf_reset(&c->out);
        c->close_after = 1;
        status = 500;
    }
    if (status < sizeof F.s->answered / sizeof F.s->answered[0])
        atomic_fetch_add(&F.s->answered[status], 1);
}

/* An append's failure, as srv_fail answers it (the token checked first if it has not
 * been: srv_vouch). */
static void put_failure(fp_conn *c, int rc, const char *msg, int64_t unchecked)
{
    char text[1024];
    snprintf(text, sizeof text, "%s", msg && msg[0] ? msg : tt_strerror(rc));
    unsigned status = srv_vouch(F.s, &unchecked, srv_status_for(rc), text, sizeof text);
    tti_buf body;
    tti_buf_init(&body, 8192);
    srv_error_json(&body, status, text);
    put_answer(c, status, body.failed ? "{}" : body.data);
    tti_buf_free(&body);
}

static void put_results(fp_conn *c)
{
    char *json;
    unsigned status = srv_append_results(F.s, &c->a, c->started_us, &json);
    if (json == NULL) {
        put_failure(c, TT_ENOMEM, "out of memory", 0);
        return;
    }
    put_answer(c, status, json);
    tt_free(json);
}

static void serve(fp_conn *c);

/* Send what is left of the answer. 1 when it is all out and c is idle again (a pipelined
 * request may be waiting already), 0 when c waits for room or is gone. */
static int send_out(fp_conn *c)
{
    while (c->sent < c->out.len) {
        ssize_t w =
            send(c->fd, c->out.data + c->sent, c->out.len - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            /* The client is not reading: wait for room (EPOLLOUT, added only now, since
             * it would wake the loop after every answer). */
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                     .data.ptr = c};
            if (epoll_ctl(F.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
                close_conn(c);
            return 0;
        }
        if (w <= 0) {
            close_conn(c);
            return 0;
        }
        c->sent += (size_t)w;
    }
    if (c->counted) {
        c->counted = 0;
        atomic_fetch_sub(&F.s->active_requests, 1);
    }
    if (c->close_after) {
        close_conn(c);
        return 0;
    }
    c->state = FP_IDLE;
    c->since_us = tt_time_now_us();
    return 1;
}

/* Send the rest of the answer, then look at the next request. Not from serve(): a run of
 * pipelined requests refused at once would recurse a frame per request. */
static void send_rest(fp_conn *c)
{
    if (send_out(c))
        serve(c);
}

/* The committer reported c's group (on the loop thread, from the done stack). */
static void finish(fp_conn *c)
{
    if (c->a.rc == TT_OK)
        put_results(c);
    else
        put_failure(c, c->a.rc, c->a.err, 0); /* the commit checked the token */
    srv_append_clear(&c->a);
    atomic_fetch_sub(&F.s->deferred, 1);
    c->state = FP_SENDING;
    send_rest(c);
}

/* The committer's thread: hand c back to the loop, with one eventfd write per wake-up
 * however many appends a group answers. */
static void on_appended(void *ctx, int rc, const char *msg)
{
    fp_conn *c = ctx;
    srv_append_done(&c->a, rc, msg);
    fp_conn *head = atomic_load(&F.done);
    do
        c->done_next = head;
    while (!atomic_compare_exchange_weak(&F.done, &head, c));
    if (atomic_exchange(&F.wake_pending, 1) == 0) {
        uint64_t one = 1;
        if (write(F.efd, &one, sizeof one) != sizeof one) {
            /* cannot fail: the counter is far from its maximum */
        }
    }
}

/* ---- requests ---- */

/* Authenticate and parse a peeked request as POST /api/events would (server/http.c
 * authorise, server/api_events.c events_post and apply_idem_header). -1 when it would not
 * succeed there: libmicrohttpd then answers it. */
static int prepare(fp_conn *c, const char *buf, const srv_fp_req *q, char *principal,
                   int64_t *unchecked)
{
    char token[SRV_FP_TOKEN_MAX + 1];
    memcpy(token, q->token, q->token_len);
    token[q->token_len] = '\0';
    tt_role role;
    int64_t id = 0;
    int cached = 0;
    int rc = tt_token_authenticate_cached(F.s->l, token, &role, &id, principal, &cached);
    explicit_bzero(token, sizeof token);
    if (rc != TT_OK || (role != TT_ROLE_ADMIN && role != TT_ROLE_INGEST))
        return -1;
    *unchecked = cached ? id : 0;
    char err[512];
    tt_event *events;
    size_t n;
    void *owner;
    int is_batch;
    if (tt_events_parse_body(buf + q->head_len, q->body_len, 0, &events, &n, &owner, &is_batch, err,
                             sizeof err) != TT_OK ||
        srv_append_init(&c->a, events, n, owner, is_batch) != TT_OK)
        return -1;
    if (q->idem == NULL)
        return 0;
    /* As apply_idem_header: the header names a single event's key, the same as its own. */
    memcpy(c->idem, q->idem, q->idem_len);
    c->idem[q->idem_len] = '\0';
    tt_event *ev = &c->a.events[0];
    if (is_batch || (ev->idempotency_key && strcmp(ev->idempotency_key, c->idem) != 0)) {
        srv_append_clear(&c->a);
        return -1;
    }
    ev->idempotency_key = c->idem;
    return 0;
}

/* Queue c's append (counted already); 1 when it was refused at once and its answer is
 * out, so c is idle again and serve() looks at the next request. */
static int submit(fp_conn *c, const char *principal, int64_t unchecked)
{
    c->state = FP_BUSY;
    atomic_fetch_add(&F.s->deferred, 1);
    tt_set_principal(principal);
    tt_set_append_token(unchecked);
    srv_append *a = &c->a;
    int rc =
        tt_ledger_append_parsed_async(F.s->l, a->events, a->n, a->owner, a->res, on_appended, c);
    tt_set_principal(NULL);
    tt_set_append_token(0);
    if (rc == TT_OK)
        return 0;
    /* Refused before it was queued: the token is still unchecked (srv_vouch). */
    put_failure(c, rc, tt_ledger_errmsg(F.s->l), unchecked);
    srv_append_clear(&c->a);
    atomic_fetch_sub(&F.s->deferred, 1);
    c->state = FP_SENDING;
    return send_out(c);
}

/* One look at what an idle connection has sent: serve a plain append, hand anything else
 * over, or wait for more. 1 when c is idle again at once (its append was refused before
 * it was queued, and the answer is out). */
static int serve_one(fp_conn *c)
{
    static char buf[SRV_FP_HEAD_MAX + SRV_FP_BODY_MAX]; /* the loop's thread only */
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        close_conn(c);
        return 0;
    }
    srv_fp_req q;
    srv_fp_verdict v = srv_fp_parse(buf, (size_t)n, &q);
    if (v == SRV_FP_WAIT)
        return 0;
    /* WARNING: counted before `stopping` is read, as server/http.c does. The drain
     * (serve.c) sets stopping and then waits for the count to reach 0: counted after the
     * check, an append taken while it read 0 would be committed but never answered. */
    c->counted = 1;
    atomic_fetch_add(&F.s->active_requests, 1);
    char principal[TT_MAX_PRINCIPAL + 1];
    int64_t unchecked = 0;
    if (v == SRV_FP_HANDOFF || atomic_load(&F.s->stopping) ||
        prepare(c, buf, &q, principal, &unchecked) != 0) {
        hand_off(c); /* uncounts c */
        return 0;
    }
    c->started_us = tt_time_now_us();
    /* Now the request is this path's: take its bytes out of the socket (the ones peeked). */
    size_t len = q.head_len + q.body_len;
    ssize_t got = recv(c->fd, buf, len, MSG_DONTWAIT);
    if (got != (ssize_t)len) {
        srv_append_clear(&c->a);
        close_conn(c);
        return 0;
    }
    atomic_fetch_add(&F.s->fastpath_served, 1);
    return submit(c, principal, unchecked);
}

static void serve(fp_conn *c)
{
    while (serve_one(c))
        continue;
}

/* ---- the loop ---- */

static void accept_all(void)
{
    for (;;) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept4(F.lfd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
            /* The connection stays in the backlog, and the socket ready: without a pause
             * the loop would spin on it. */
            epoll_ctl(F.ep, EPOLL_CTL_DEL, F.lfd, NULL);
            F.accept_paused = 1;
            return;
        }
        if (fd < 0)
            return; /* EAGAIN, or a connection the client already gave up */
        fp_conn *c = NULL;
        if (F.nconns >= FP_MAX_CONNS || atomic_load(&F.s->stopping) ||
            (c = calloc(1, sizeof *c)) == NULL) {
            hand_off_fd(fd, &addr, len);
            continue;
        }
        c->fd = fd;
        c->addr = addr;
        c->addrlen = len;
        c->since_us = tt_time_now_us();
        tti_buf_init(&c->out, (size_t)4 << 20);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (epoll_ctl(F.ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            tti_buf_free(&c->out);
            free(c);
            hand_off_fd(fd, &addr, len);
            continue;
        }
        c->next = F.conns;
        if (F.conns)
            F.conns->prev = c;
        F.conns = c;
        F.nconns++;
        serve(c);
    }
}

static void take_done(void)
{
    uint64_t count;
    if (read(F.efd, &count, sizeof count) != sizeof count) {
        /* nothing to read: another wake-up took it */
    }
    /* Cleared before the stack is taken: a completion pushed after this writes again. */
    atomic_store(&F.wake_pending, 0);
    fp_conn *c = atomic_exchange(&F.done, NULL);
    while (c) {
        fp_conn *next = c->done_next;
        finish(c);
        c = next;
    }
}

/* Idle connections past FP_IDLE_US go to libmicrohttpd (its header timeout applies). */
static void sweep(int64_t now)
{
    fp_conn *next;
    for (fp_conn *c = F.conns; c; c = next) {
        next = c->next;
        if (c->state == FP_IDLE && now - c->since_us > FP_IDLE_US)
            hand_off(c);
    }
}

static void on_ready(fp_conn *c)
{
    if (c->dead)
        return;
    if (c->state == FP_SENDING)
        send_rest(c);
    else if (c->state == FP_IDLE)
        serve(c);
    /* FP_BUSY: the answer's send looks for the next request */
}

static void *loop(void *arg)
{
    (void)arg;
    tti_thread_name("tt-fastpath");
    struct epoll_event evs[64];
    int64_t last_sweep = tt_time_now_us();
    while (!atomic_load(&F.stop)) {
        int n = epoll_wait(F.ep, evs, 64, FP_TICK_MS);
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &listen_tag)
                accept_all();
            else if (p == &wake_tag)
                take_done();
            else
                on_ready(p);
        }
        free_graves();
        int64_t now = tt_time_now_us();
        if (now - last_sweep >= FP_TICK_MS * 1000) {
            sweep(now);
            last_sweep = now;
            struct epoll_event le = {.events = EPOLLIN, .data.ptr = &listen_tag};
            if (F.accept_paused && epoll_ctl(F.ep, EPOLL_CTL_ADD, F.lfd, &le) == 0)
                F.accept_paused = 0;
        }
    }
    /* srv_stop runs after the drain, which waits for every append in flight; one still
     * busy (a stop without the drain) is left to its committer rather than freed. */
    fp_conn *next;
    for (fp_conn *c = F.conns; c; c = next) {
        next = c->next;
        if (c->state != FP_BUSY)
            close_conn(c);
    }
    free_graves();
    return NULL;
}

int srv_fastpath_start(srv *s, int listen_fd)
{
    F.s = s;
    F.lfd = listen_fd;
    F.ep = epoll_create1(EPOLL_CLOEXEC);
    F.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = &listen_tag};
    struct epoll_event we = {.events = EPOLLIN, .data.ptr = &wake_tag};
    atomic_store(&F.stop, 0);
    if (F.ep < 0 || F.efd < 0 || epoll_ctl(F.ep, EPOLL_CTL_ADD, listen_fd, &le) != 0 ||
        epoll_ctl(F.ep, EPOLL_CTL_ADD, F.efd, &we) != 0 ||
        pthread_create(&F.thread, NULL, loop, NULL) != 0) {
        int e = errno;
        if (F.ep >= 0)
            close(F.ep);
        if (F.efd >= 0)
            close(F.efd);
        F.ep = F.efd = -1;
        errno = e;
        return -1;
    }
    F.running = 1;
    return 0;
}

void srv_fastpath_stop(void)
{
    if (!F.running)
        return;
    atomic_store(&F.stop, 1);
    uint64_t one = 1;
    if (write(F.efd, &one, sizeof one) != sizeof one) {
        /* the loop wakes within FP_TICK_MS anyway */
    }
    pthread_join(F.thread, NULL);
    F.running = 0;
    close(F.ep);
    close(F.efd);
    close(F.lfd);
    F.ep = F.efd = F.lfd = -1;
}
