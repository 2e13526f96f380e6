/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Outgoing requests: the one libcurl transport shared by every caller (the training sync's
 * HTTP sink, notification webhooks and e-mail). Swapping the HTTP library touches only
 * http_client.c.
 */
#ifndef TT_UTIL_HTTP_CLIENT_H
#define TT_UTIL_HTTP_CLIENT_H

#include <stddef.h>

/* How an SMTP transfer uses STARTTLS. */
enum { TTI_HTTP_TLS_REQUIRED = 0, TTI_HTTP_TLS_TRY = 1, TTI_HTTP_TLS_OFF = 2 };

typedef struct tti_http_req {
    /* WARNING: a URL may be a secret (a webhook's path is its credential): it never appears
     * in a message, and neither does libcurl's error buffer, which can quote it. */
    const char *url;
    const char *protocols;      /* allowed schemes, e.g. "http,https" or "smtp,smtps" */
    const char *what;           /* names the request in messages: "webhook", "e-mail" */
    const char *const *headers; /* "Name: value" lines, n_headers of them */
    size_t n_headers;
    const char *body; /* POSTed (HTTP) or uploaded as the message (SMTP); may be NULL */
    size_t len;
    long timeout_ms;         /* the whole transfer; 0: 30 s */
    long connect_timeout_ms; /* 0: the smaller of timeout_ms and 5 s */
    /* SMTP only: the envelope sender, recipients and STARTTLS policy. */
    const char *mail_from;
    const char *const *rcpt;
    size_t n_rcpt;
    int smtp_tls; /* TTI_HTTP_TLS_* */
    /* HTTP only: the start of the answer's body, NUL-terminated, when reply_cap > 0 (the
     * rest is dropped). A Bot API answer says why it refused (retry_after, description). */
    char *reply;
    size_t reply_cap;
} tti_http_req;

typedef struct tti_http_res {
    long status;      /* the HTTP status or last SMTP reply code (0: none) */
    long retry_after; /* seconds from a Retry-After header, 0 when none */
} tti_http_res;

/*
 * Perform one request. TT_OK when the transfer completed and, for HTTP, the status is 2xx;
 * TT_ENET with "<what>: <reason>" in err otherwise (res still filled: a status outside 2xx
 * is reported as "<what>: HTTP status N"); TT_ENOMEM. Thread-safe (libcurl is initialised
 * once per process).
 */
int tti_http_perform(const tti_http_req *req, tti_http_res *res, char *err, size_t errlen);

#endif
