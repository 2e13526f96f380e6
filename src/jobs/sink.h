/* SPDX-License-Identifier: Apache-2.0 */
/* The training sync's HTTP sink (src/jobs/http_sink.c, over util/http_client.c). */
#ifndef TT_JOBS_SINK_H
#define TT_JOBS_SINK_H

#include <stddef.h>

/* POST body (application/json) to url with header Idempotency-Key: batch_id; TT_OK on a
 * 2xx answer, TT_ENET with a message in err otherwise. Thread-safe. */
int tti_http_sink_post(const char *url, const char *batch_id, const char *body, size_t len,
                       long timeout_ms, char *err, size_t errlen);

#endif
