/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /api/stream: Server-Sent Events of new events with the filters of GET /api/events.
 * A stream is pulled by libmicrohttpd only as fast as the client reads (at most one page
 * buffered per subscriber); with nothing to send it suspends its connection, and new
 * appends or the heartbeat tick resume it. `Last-Event-ID` resumes after a seq. New events
 * come from the window the ledger's streams share (sse_feed.c); a stream behind it reads
 * the store itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "routes.h"
#include "util/thread.h"
#include "sse.h"
#include "sse_feed.h"

#define SSE_PAGE 100
#define SSE_HEARTBEAT_US (15 * 1000000LL)
/* How often the tokens of open streams are checked for revocation: a stream is one request
 * that lasts, and "a revoked token gets 401 on its next request" would never reach it. */
#define SSE_TOKEN_CHECK_US (1000000LL)
#define SSE_MAX_SUBSCRIBERS 256
/* New events wake the streams at most this often: under a steady flow of appends each wake
 * sends what arrived since the last, so the streams' cost follows the number of streams,
 * not the append rate (one wake per commit kept every HTTP thread busy resuming 256 streams
 * while a client appended in a loop, and new connections waited). */
#define SSE_COALESCE_NS (20 * 1000 * 1000L)
/* A page stops growing at SSE_PAGE_BYTES, so a subscriber holds about that much at most;
 * the buffer's hard limit leaves room for one more event of the largest size (SPEC 3:
 * 64 KiB of metadata and an 8 KiB reason, up to six bytes per character once escaped). */
#define SSE_PAGE_BYTES ((size_t)256 * 1024)
#define SSE_BUF_MAX ((size_t)1024 * 1024)
/* Test only, read once when the server starts: a smaller hard limit for the page buffer
 * (bytes, 4096 to SSE_BUF_MAX). Events within SPEC 3's limits cannot overflow the real
 * one, so without this no test could reach the path that keeps an event that does not fit
 * for the next page, or ends the stream when it never fits (tests/e2e/test_server_api.py
 * SmallStreamBufferTest). Not a setting: it is not read from the configuration. */

/* One ledger's window and how many subscribers use it (under the hub's lock). */
typedef struct feed_ref {
    srv_feed *f;
    int users;
    struct feed_ref *next;
} feed_ref;

typedef struct sub {
    srv *s;
    tt_ledger *l;   /* the ledger the stream follows (X-Ledger, SPEC 15) */
    srv_feed *feed; /* its shared window, once attached */
    struct MHD_Connection *conn;
    tt_query q;
    void *q_owner; /* the strings of q (tt_query_parse_params) */
    int64_t last_seq;
    int64_t last_write_us;
    tti_buf out;
    size_t sent;
    int suspended;
    int gone;         /* the client closed its end while the stream was suspended */
    int64_t token_id; /* the token that opened it; 0 when none did (no such route yet) */
    int revoked;      /* that token was revoked: the stream ends */
    struct sub *next;
} sub;

struct srv_sse_hub {
    pthread_mutex_t m;
    sub *list;
    int n;
    feed_ref *feeds;
    unsigned long gen; /* bumped by every notification: no wake-up is lost */
    int shutting;
    /* The waker thread (tt-sse-waker) and what it waits for. */
    pthread_cond_t cv;
    pthread_t waker;
    int pending, waker_running, waker_stop;
    size_t buf_max;            /* a subscriber's page buffer limit: SSE_BUF_MAX but in tests */
    int window;                /* the windows' size in events: 0 (SRV_FEED_CAP) but in tests */
    int64_t tokens_checked_us; /* the last revocation check (the ticker's thread only) */
};

static void on_commit(void *ctx, int64_t first_seq, int64_t count);
static void wake(srv *s, int bump, int heartbeat_only);

/* Wake the streams for each notification, at most once per SSE_COALESCE_NS: notifications
 * that arrive meanwhile are served by the next wake. Also keeps the resuming of every stream
 * off the committer's thread, which notifies. */
static void *waker(void *arg)
{
    srv *s = arg;
    srv_sse_hub *h = s->hub;
    tti_thread_name("tt-sse-waker");
    pthread_mutex_lock(&h->m);
    while (!h->waker_stop) {
        if (!h->pending) {
            pthread_cond_wait(&h->cv, &h->m);
            continue;
        }
        h->pending = 0;
        pthread_mutex_unlock(&h->m);
        wake(s, 1, 0);
        struct timespec pause = {0, SSE_COALESCE_NS};
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&h->m);
    }
    pthread_mutex_unlock(&h->m);
    return NULL;
}

static void stop_waker(srv_sse_hub *h)
{
    if (!h->waker_running)
        return;
    pthread_mutex_lock(&h->m);
    h->waker_stop = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->m);
    pthread_join(h->waker, NULL);
    h->waker_running = 0;
}

int srv_sse_start(srv *s)
{
    int64_t buf_max = SSE_BUF_MAX, window = 0;
    const char *v = getenv(SSE_TEST_BUF_ENV), *w = getenv(SSE_TEST_WINDOW_ENV);
    if ((v != NULL && tt_parse_int(v, 4096, SSE_BUF_MAX, &buf_max) != TT_OK) ||
        (w != NULL && tt_parse_int(w, 16, SRV_FEED_CAP, &window) != TT_OK))
        return TT_EINVAL;
    srv_sse_hub *h = calloc(1, sizeof *h);
    if (h == NULL)
        return TT_ENOMEM;
    h->buf_max = (size_t)buf_max;
    h->window = (int)window;
    if (pthread_mutex_init(&h->m, NULL) != 0) {
        free(h);
        return TT_ENOMEM;
    }
    if (pthread_cond_init(&h->cv, NULL) != 0) {
        pthread_mutex_destroy(&h->m);
        free(h);
        return TT_ENOMEM;
    }
    s->hub = h;
    int rc = pthread_create(&h->waker, NULL, waker, s) == 0 ? TT_OK : TT_ENOMEM;
    h->waker_running = rc == TT_OK;
    if (rc == TT_OK)
        rc = tt_ledger_on_commit(s->l, on_commit, s);
    if (rc != TT_OK)
        srv_sse_stop(s);
    return rc;
}

void srv_sse_stop(srv *s)
{
    srv_sse_hub *h = s->hub;
    if (h == NULL)
        return;
    tt_ledger_on_commit_remove(s->l, on_commit, s);
    stop_waker(h);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->m);
    free(h);
    s->hub = NULL;
}

/* The window of x's ledger, made for its first subscriber; NULL when out of memory. */
static srv_feed *feed_use(srv *s, tt_ledger *l)
{
    srv_sse_hub *h = s->hub;
    feed_ref *r = h->feeds;
    while (r != NULL && srv_feed_ledger(r->f) != l)
        r = r->next;
    if (r == NULL) {
        if ((r = calloc(1, sizeof *r)) == NULL ||
            (r->f = srv_feed_new(l, &s->stream_reads, h->window)) == NULL) {
            free(r);
            return NULL;
        }
        r->next = h->feeds;
        h->feeds = r;
    }
    r->users++;
    return r->f;
}

/* x leaves its window, which goes with its last subscriber. */
static void feed_unuse(srv_sse_hub *h, srv_feed *f)
{
    for (feed_ref **pp = &h->feeds; *pp; pp = &(*pp)->next)
        if ((*pp)->f == f) {
            feed_ref *r = *pp;
            if (--r->users == 0) {
                *pp = r->next;
                srv_feed_free(r->f);
                free(r);
            }
            return;
        }
}

/* Whether the client of a suspended stream has closed its end. libmicrohttpd does not
 * watch suspended connections, so without this a disconnected client would keep its
 * subscriber slot until the next write to it fails. A stream client sends nothing after
 * its request: a readable end of file (or an error) means it is gone. */
static int peer_closed(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return 0;
    char b;
    ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Wake every suspended stream; with heartbeat_only, only those due a heartbeat and those
 * whose client has gone (they end). */
static void wake(srv *s, int bump, int heartbeat_only)
{
    srv_sse_hub *h = s->hub;
    int64_t now = tt_time_now_us();
    pthread_mutex_lock(&h->m);
    h->gen += bump;
    for (sub *x = h->list; x; x = x->next) {
        if (x->suspended && heartbeat_only && !h->shutting && peer_closed(x->conn))
            x->gone = 1;
        if (x->suspended &&
            (!heartbeat_only || x->gone || now - x->last_write_us >= SSE_HEARTBEAT_US)) {
            x->suspended = 0;
            MHD_resume_connection(x->conn);
        }
    }
    pthread_mutex_unlock(&h->m);
}

void srv_sse_notify(srv *s)
{
    srv_sse_hub *h = s->hub;
    pthread_mutex_lock(&h->m);
    h->pending = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->m);
}

/* Commit observer: this server's own appends wake the streams as soon as they are durable
 * (the ticker looks for other processes' appends). */
static void on_commit(void *ctx, int64_t first_seq, int64_t count)
{
    (void)first_seq;
    (void)count;
    srv_sse_notify(ctx);
}

static int has_id(const int64_t *ids, int n, int64_t id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

/* End the streams whose token was revoked since they opened: one read per distinct token,
 * at most once per SSE_TOKEN_CHECK_US, on the ticker's thread. A token that cannot be
 * checked now (the store busy or failing) keeps its streams until a check succeeds. */
static void check_tokens(srv *s)
{
    srv_sse_hub *h = s->hub;
    int64_t now = tt_time_now_us(), ids[SSE_MAX_SUBSCRIBERS];
    if (now - h->tokens_checked_us < SSE_TOKEN_CHECK_US)
        return;
    h->tokens_checked_us = now;
    int n = 0, any = 0;
    pthread_mutex_lock(&h->m);
    for (sub *x = h->list; x && n < SSE_MAX_SUBSCRIBERS; x = x->next)
        if (x->token_id != 0 && !x->gone && !x->revoked && !has_id(ids, n, x->token_id))
            ids[n++] = x->token_id;
    pthread_mutex_unlock(&h->m);
    for (int i = 0; i < n; i++)
        if (tt_token_recheck(s->l, ids[i]) == TT_EAUTH)
            ids[any++] = ids[i];
    if (any == 0)
        return;
    pthread_mutex_lock(&h->m);
    for (sub *x = h->list; x; x = x->next)
        if (has_id(ids, any, x->token_id)) {
            x->revoked = 1;
            if (x->suspended) {
                x->suspended = 0;
                MHD_resume_connection(x->conn);
            }
        }
    pthread_mutex_unlock(&h->m);
}

void srv_sse_heartbeat(srv *s)
{
    check_tokens(s);
    wake(s, 0, 1);
}

void srv_sse_shutdown(srv *s)
{
    pthread_mutex_lock(&s->hub->m);
    s->hub->shutting = 1;
    pthread_mutex_unlock(&s->hub->m);
    stop_waker(s->hub);
    wake(s, 1, 0);
}

/*
 * Format the next page of matching events into x->out (empty on entry) from the store:
 * those after x->last_seq and before `before` (0: no bound). *done is set when the store had no
 * more of them. WARNING: SPEC 14, every event in order or a visible end (issue 13 item 1). last_seq
 * moves past an event only once its whole message is in the buffer: an event that does not fit is
 * left for the next page, and *err is set only when it cannot be formatted at all (the caller then
 * ends the stream with an error, never skips it).
 */
static void fill_store(sub *x, int64_t before, int *done, int *err)
{
    tt_query q = x->q;
    q.after_seq = x->last_seq;
    q.before_seq = before;
    q.limit = SSE_PAGE;
    tt_iter *it;
    *done = 0;
    atomic_fetch_add(&x->s->stream_reads, 1);
    *err = tt_ledger_query(x->l, &q, &it) != TT_OK;
    if (*err)
        return;
    const tt_event *ev;
    int n = 0, rc = TT_OK;
    while (x->out.len < SSE_PAGE_BYTES && (rc = tt_iter_next(it, &ev)) == TT_OK) {
        if (srv_feed_message(&x->out, ev) != 0) { /* retried next page */
            *err = n == 0;
            break;
        }
        x->last_seq = ev->seq;
        n++;
    }
    if (rc != TT_OK && rc != TT_ENOTFOUND)
        *err = n == 0;
    /* The iterator also ends at the page's limit: only a short page read everything. */
    *done = rc == TT_ENOTFOUND && n < SSE_PAGE;
    tt_iter_free(it);
}

/*
 * The next page into x->out (empty on entry): from the shared window when the stream is
 * within it, else, and for an event the window cannot judge or send, from the store. gen:
 * the hub's generation read before. WARNING: x->out empty on return means nothing new
 * matched up to the window's end read under gen or later (the caller then suspends), so
 * every path that only moved last_seq asks the window again; messages in x->out are sent
 * before anything else is read, which keeps fill_store's "cannot fit" meaning "alone".
 */
static void fill(sub *x, unsigned long gen, int *err)
{
    *err = 0;
    for (;;) {
        int64_t upto, was = x->last_seq;
        int unfit, done;
        srv_feed_got got = srv_feed_fill(x->feed, &x->q, gen, &x->out, SSE_PAGE_BYTES, &x->last_seq,
                                         &upto, &unfit);
        if (got == SRV_FEED_SERVED) {
            *err = unfit;
            return;
        }
        if (x->out.len > 0)
            return;
        /* QUERY: up to the window's end; MISS: up to its start, or (0) without a bound. */
        fill_store(x, upto > 0 ? upto + 1 : 0, &done, err);
        if (*err || x->out.len > 0)
            return;
        if (done && x->last_seq < upto) /* none of the rest matched */
            x->last_seq = upto;
        if (x->last_seq == was)
            return;
    }
}

static ssize_t copy_out(sub *x, char *buf, size_t max)
{
    size_t take = x->out.len - x->sent;
    if (take > max)
        take = max;
    memcpy(buf, x->out.data + x->sent, take);
    x->sent += take;
    if (x->sent == x->out.len) {
        tti_buf_reset(&x->out);
        x->sent = 0;
    }
    x->last_write_us = tt_time_now_us();
    return (ssize_t)take;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sub *x = cls;
    srv_sse_hub *h = x->s->hub;
    for (;;) {
        if (x->sent < x->out.len)
            return copy_out(x, buf, max);
        pthread_mutex_lock(&h->m);
        unsigned long gen = h->gen;
        int shutting = h->shutting, gone = x->gone, revoked = x->revoked;
        pthread_mutex_unlock(&h->m);
        if (gone)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (shutting || revoked) /* a revoked token's client reconnects and gets 401 */
            return MHD_CONTENT_READER_END_OF_STREAM;
        int err;
        fill(x, gen, &err);
        if (x->out.len > 0)
            continue;
        if (err)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (tt_time_now_us() - x->last_write_us >= SSE_HEARTBEAT_US) {
            tti_buf_adds(&x->out, ": keepalive\n\n");
            continue;
        }
        /* A client that left while we were busy: end now and free the slot, rather than
         * suspend and wait for a heartbeat tick to notice (which a steady flow of appends
         * could postpone: each one resumes the stream first). */
        if (peer_closed(x->conn))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        pthread_mutex_lock(&h->m);
        int again = h->gen != gen || h->shutting || x->gone || x->revoked;
        if (!again) {
            x->suspended = 1;
            MHD_suspend_connection(x->conn);
        }
        pthread_mutex_unlock(&h->m);
        if (!again)
            return 0; /* resumed by srv_sse_notify or the heartbeat tick */
    }
}

static void sub_free(void *cls)
{
    (void)cls; /* owned by the request; released in srv_sse_release */
}

/* The request's release hook: the subscriber leaves the hub when its request completes. */
static void sse_release(srv_req *r)
{
    sub *x = r->state;
    if (x == NULL)
        return;
    srv_sse_hub *h = x->s->hub;
    pthread_mutex_lock(&h->m);
    for (sub **pp = &h->list; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            h->n--;
            break;
        }
    feed_unuse(h, x->feed);
    pthread_mutex_unlock(&h->m);
    tt_free(x->q_owner);
    tti_buf_free(&x->out);
    free(x);
    r->state = NULL;
    r->release = NULL;
}

static ssize_t head_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    (void)pos;
    (void)buf;
    (void)max;
    return MHD_CONTENT_READER_END_OF_STREAM;
}

static int start_seq(srv *s, srv_req *r, int64_t *out, enum MHD_Result *answer)
{
    (void)s;
    const char *v = srv_header(r, "Last-Event-ID");
    if (v == NULL)
        v = srv_param(r, "after_seq");
    if (v != NULL) {
        if (tt_parse_int(v, 0, INT64_MAX, out) != TT_OK) {
            *answer = srv_error(r, 400, "Last-Event-ID / after_seq: must be a seq");
            return -1;
        }
        return 0;
    }
    uint8_t root[TT_HASH_SIZE];
    int rc = tt_ledger_head(r->l, out, root); /* only new events by default */
    if (rc != TT_OK)
        *answer = srv_fail(r, rc, tt_ledger_errmsg(r->l));
    return rc == TT_OK ? 0 : -1;
}

/* Subscribers that still count against the limit (called with the hub full). Those whose
 * client has gone are marked first, suspended or not: a suspended one is resumed, a running
 * one sees the mark on its next read; either ends and frees itself at once. So a slot comes
 * back as soon as its client disconnects, not a heartbeat tick later. */
static int live_subscribers(srv_sse_hub *h)
{
    int n = 0;
    for (sub *y = h->list; y; y = y->next) {
        if (!y->gone && peer_closed(y->conn)) {
            y->gone = 1;
            if (y->suspended) {
                y->suspended = 0;
                MHD_resume_connection(y->conn);
            }
        }
        n += !y->gone;
    }
    return n;
}

/* 1: x is in the hub; 0: refused (full or stopping); -1: out of memory. */
static int attach(srv *s, sub *x)
{
    srv_sse_hub *h = s->hub;
    pthread_mutex_lock(&h->m);
    int ok =
        !h->shutting && (h->n < SSE_MAX_SUBSCRIBERS || live_subscribers(h) < SSE_MAX_SUBSCRIBERS);
    if (ok && (x->feed = feed_use(s, x->l)) == NULL)
        ok = -1;
    if (ok > 0) {
        x->next = h->list;
        h->list = x;
        h->n++;
    }
    pthread_mutex_unlock(&h->m);
    return ok;
}

static enum MHD_Result stream(srv *s, srv_req *r)
{
    enum MHD_Result answer = MHD_NO;
    sub *x = calloc(1, sizeof *x);
    if (x == NULL)
        return srv_error(r, 500, "out of memory");
    x->s = s;
    x->l = r->l;
    x->token_id = r->token_id;
    x->conn = r->conn;
    x->last_write_us = tt_time_now_us();
    tti_buf_init(&x->out, s->hub->buf_max);
    tt_query_init(&x->q);
    if (srv_parse_filters(r, 0, &x->q, &x->q_owner, &answer) != 0 ||
        start_seq(s, r, &x->last_seq, &answer) != 0) {
        tt_free(x->q_owner);
        free(x);
        return answer;
    }
    /* Where the stream starts is last_seq alone (Last-Event-ID before after_seq): left in
     * the filter, after_seq would also hide what a resume from before it asked for. */
    x->q.after_seq = 0;
    if (srv_is_head(r)) { /* the headers a GET would get; no subscriber, no body */
        tt_free(x->q_owner);
        free(x);
        struct MHD_Response *resp =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, head_read, NULL, NULL);
        if (resp == NULL)
            return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        return srv_queue_stream(r, 200, resp);
    }
    int attached = attach(s, x);
    if (attached <= 0) {
        tt_free(x->q_owner);
        free(x);
        return attached < 0 ? srv_error(r, 500, "out of memory")
                            : srv_error(r, 503, "too many stream subscribers; try again later");
    }
    r->state = x;
    r->release = sse_release;
    if (tti_buf_adds(&x->out, ": tradetrail event stream\nretry: 2000\n\n") != 0)
        return srv_error(r, 500, "out of memory"); /* sse_release frees x */
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, x, sub_free);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return srv_queue_stream(r, 200, resp);
}

static const srv_route routes[] = {
    {"GET", "/api/stream", NEED_READ, stream},
};

SRV_ROUTE_TABLE(srv_stream_routes, routes);
