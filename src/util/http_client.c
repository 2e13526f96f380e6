/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one libcurl transport (STYLE: each third-party library behind one file): every
 * outgoing request — the training sync's HTTP sink, Slack/Discord/generic webhooks, SMTP —
 * goes through tti_http_perform, so timeouts, allowed protocols, signal safety and the rule
 * that a secret URL never reaches a message live in one place.
 */
#include "util/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tradetrail.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_OK;

static void global_init(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct reply {
    char *buf;
    size_t cap, len;
} reply;

/* The answer's body: its start kept when the caller asked for it, the rest dropped. */
static size_t keep_start(char *p, size_t size, size_t n, void *ctx)
{
    reply *r = ctx;
    size_t k = size * n;
    if (r->buf != NULL && r->len + 1 < r->cap) {
        size_t take = r->cap - 1 - r->len < k ? r->cap - 1 - r->len : k;
        memcpy(r->buf + r->len, p, take);
        r->len += take;
        r->buf[r->len] = '\0';
    }
    return k;
}

typedef struct upload {
    const char *data;
    size_t len, off;
} upload;

static size_t read_body(char *buf, size_t size, size_t nitems, void *ctx)
{
    upload *u = ctx;
    size_t room = size * nitems, left = u->len - u->off;
    size_t k = left < room ? left : room;
    memcpy(buf, u->data + u->off, k);
    u->off += k;
    return k;
}

static int list(const char *const *items, size_t n, struct curl_slist **out)
{
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        struct curl_slist *l = curl_slist_append(*out, items[i]);
        if (l == NULL)
            return TT_ENOMEM;
        *out = l;
    }
    return TT_OK;
}

static void smtp_opts(CURL *h, const tti_http_req *req, struct curl_slist *rcpt, upload *u)
{
    /* WARNING: with CURLUSESSL_TRY a man in the middle strips STARTTLS from the relay's
     * EHLO reply and reads the credentials; callers choose TRY only for a local relay. */
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     req->smtp_tls == TTI_HTTP_TLS_OFF   ? (long)CURLUSESSL_NONE
                     : req->smtp_tls == TTI_HTTP_TLS_TRY ? (long)CURLUSESSL_TRY
                                                         : (long)CURLUSESSL_ALL);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, req->mail_from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(h, CURLOPT_READDATA, u);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
}

int tti_http_perform(const tti_http_req *req, tti_http_res *res, char *err, size_t errlen)
{
    const char *what = req->what != NULL ? req->what : "request";
    struct curl_slist *hdr = NULL, *rcpt = NULL;
    int smtp = req->mail_from != NULL, rc = TT_OK;
    memset(res, 0, sizeof *res);
    pthread_once(&once, global_init);
    if (init_rc != CURLE_OK) {
        snprintf(err, errlen, "%s: cannot initialise libcurl: %s", what,
                 curl_easy_strerror(init_rc));
        return TT_ENET;
    }
    CURL *h = curl_easy_init();
    if (h == NULL || list(req->headers, req->n_headers, &hdr) != TT_OK ||
        list(req->rcpt, req->n_rcpt, &rcpt) != TT_OK) {
        snprintf(err, errlen, "%s: out of memory", what);
        rc = TT_ENOMEM;
        goto out;
    }
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : 30000L;
    long connect = req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                   : timeout < 5000            ? timeout
                                               : 5000L;
    upload u = {req->body, req->body != NULL ? req->len : 0, 0};
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, req->protocols);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect);
    reply rep = {req->reply_cap > 0 ? req->reply : NULL, req->reply_cap, 0};
    if (rep.buf != NULL)
        rep.buf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_start);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rep);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tradetrail/" TT_VERSION);
    if (hdr != NULL)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if (smtp) {
        smtp_opts(h, req, rcpt, &u);
    } else if (req->body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    }
    /* No CURLOPT_ERRORBUFFER: its text can quote the URL. curl_easy_strerror names only
     * the kind of failure. */
    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
    if (cc != CURLE_OK) {
        if (smtp)
            snprintf(err, errlen, "%s: %s (SMTP %ld)", what, curl_easy_strerror(cc), res->status);
        else
            snprintf(err, errlen, "%s: %s", what, curl_easy_strerror(cc));
        rc = TT_ENET;
    } else if (!smtp && (res->status < 200 || res->status > 299)) {
        curl_off_t ra = 0;
        if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            res->retry_after = ra > 600 ? 600 : (long)ra;
        snprintf(err, errlen, "%s: HTTP status %ld", what, res->status);
        rc = TT_ENET;
    }
out:
    curl_slist_free_all(hdr);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    return rc;
}
