/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the append fast path's request recogniser (srv_fp_parse,
 * server/fastpath_parse.c): the bytes any client sends to tradetrail serve first. Beyond
 * not reading outside the input: a request taken is a plain append whose parts lie inside
 * the input (request line, header end, token, key, body of its announced length), no
 * shorter input is taken, and bytes after it (a pipelined request) change nothing.
 */
#include "fuzz.h"

#include "server/fastpath_parse.h"

static const char line[] = "POST /api/events HTTP/1.1\r\n";

static int inside(const char *buf, size_t n, const char *p, size_t len)
{
    return p >= buf && p + len <= buf + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so that ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    srv_fp_req q;
    srv_fp_verdict v = srv_fp_parse(buf, size, &q);
    FUZZ_CHECK(v == SRV_FP_TAKE || v == SRV_FP_WAIT || v == SRV_FP_HANDOFF);
    if (v == SRV_FP_WAIT)
        FUZZ_CHECK(size < SRV_FP_HEAD_MAX + SRV_FP_BODY_MAX);
    if (v == SRV_FP_TAKE) {
        size_t total = q.head_len + q.body_len;
        FUZZ_CHECK(total <= size && q.head_len <= SRV_FP_HEAD_MAX);
        FUZZ_CHECK(q.body_len >= 1 && q.body_len <= SRV_FP_BODY_MAX);
        FUZZ_CHECK(memcmp(buf, line, sizeof line - 1) == 0);
        FUZZ_CHECK(memcmp(buf + q.head_len - 4, "\r\n\r\n", 4) == 0);
        FUZZ_CHECK(q.token_len >= 1 && q.token_len <= SRV_FP_TOKEN_MAX &&
                   inside(buf, q.head_len, q.token, q.token_len));
        FUZZ_CHECK(q.idem == NULL || (q.idem_len >= 1 && q.idem_len <= SRV_FP_IDEM_MAX &&
                                      inside(buf, q.head_len, q.idem, q.idem_len)));
        srv_fp_req q2;
        FUZZ_CHECK(srv_fp_parse(buf, total - 1, &q2) != SRV_FP_TAKE);
        FUZZ_CHECK(srv_fp_parse(buf, total, &q2) == SRV_FP_TAKE && q2.head_len == q.head_len &&
                   q2.body_len == q.body_len);
    }
    free(buf);
    return 0;
}
