/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The training sync's http(s):// sink (SPEC 6.2): one POST per batch, through the shared
 * transport (util/http_client.c) that notifications use too.
 */
#include <stdio.h>

#include "jobs/sink.h"
#include "tradetrail.h"
#include "util/http_client.h"

int tti_http_sink_post(const char *url, const char *batch_id, const char *body, size_t len,
                       long timeout_ms, char *err, size_t errlen)
{
    char idem[160];
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", batch_id);
    const char *headers[] = {"Content-Type: application/json", idem};
    tti_http_req req = {.url = url,
                        .protocols = "http,https",
                        .what = "POST to the training sink",
                        .headers = headers,
                        .n_headers = 2,
                        .body = body,
                        .len = len,
                        .timeout_ms = timeout_ms > 0 ? timeout_ms : 30000L,
                        .connect_timeout_ms = 10000L};
    tti_http_res res;
    return tti_http_perform(&req, &res, err, errlen);
}
