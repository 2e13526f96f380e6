/* SPDX-License-Identifier: Apache-2.0 */
/* Recognising a plain event append in the bytes a connection has sent (server/fastpath.c). */
#ifndef TT_SERVER_FASTPATH_PARSE_H
#define TT_SERVER_FASTPATH_PARSE_H

#include <stddef.h>

/* Well within what libmicrohttpd takes: its connection memory (16 KiB, server/http.c) holds
 * the head and a record per header line, and a head that outgrows it gets 431 there. */
#define SRV_FP_HEAD_MAX (8 * 1024)
#define SRV_FP_HEADERS_MAX 64
#define SRV_FP_BODY_MAX (64 * 1024)
#define SRV_FP_TOKEN_MAX 255
#define SRV_FP_IDEM_MAX 255

typedef enum srv_fp_verdict {
    SRV_FP_TAKE,    /* a whole plain append: serve it */
    SRV_FP_WAIT,    /* the start of one: wait for the rest */
    SRV_FP_HANDOFF, /* anything else: libmicrohttpd serves it */
} srv_fp_verdict;

/* What a plain append carries; pointers into the parsed bytes, not NUL-terminated. */
typedef struct srv_fp_req {
    size_t head_len, body_len; /* the request is head_len + body_len bytes */
    const char *token;         /* of "Authorization: Bearer <token>" */
    size_t token_len;
    const char *idem; /* the Idempotency-Key header, or NULL */
    size_t idem_len;
} srv_fp_req;

/*
 * Whether buf[0..n) starts with a plain POST /api/events: request line exactly
 * "POST /api/events HTTP/1.1", well-formed header lines (a token name, a value of visible
 * ASCII, spaces and tabs), one Content-Length of 1 to SRV_FP_BODY_MAX bytes, one bearer
 * token, one Content-Type of application/json (parameters allowed), at most one
 * Idempotency-Key, and Connection only as keep-alive. Transfer-Encoding, X-Ledger, Expect,
 * Upgrade, a header given twice, a value with trailing whitespace, a head over
 * SRV_FP_HEAD_MAX bytes or SRV_FP_HEADERS_MAX header lines, and everything not listed here
 * hand the request over.
 */
srv_fp_verdict srv_fp_parse(const char *buf, size_t n, srv_fp_req *out);

#endif
