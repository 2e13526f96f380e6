/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The training sync's http(s):// sink (SPEC 6.2): one POST per batch with libcurl. Kept
 * in its own file so the transport can be swapped for the notification work's HTTP
 * helper without touching the sync logic.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "jobs/sink.h"
#include "tradetrail.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The answer's body is not needed: drop it. */
static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

int tti_http_sink_post(const char *url, const char *batch_id, const char *body, size_t len,
                       long timeout_ms, char *err, size_t errlen)
{
    pthread_once(&once, global_init);
    if (global_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(global_rc));
        return TT_ENET;
    }
    CURL *h = curl_easy_init();
    if (h == NULL) {
        snprintf(err, errlen, "libcurl: cannot create a handle");
        return TT_ENET;
    }
    char idem[128];
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", batch_id);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = hdr ? curl_slist_append(hdr, idem) : NULL;
    int rc = TT_ENET;
    char ebuf[CURL_ERROR_SIZE] = "";
    if (h2 == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    hdr = h2;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    CURLcode c = curl_easy_perform(h);
    if (c != CURLE_OK) {
        snprintf(err, errlen, "POST to the training sink failed: %s",
                 ebuf[0] ? ebuf : curl_easy_strerror(c));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        snprintf(err, errlen, "the training sink answered HTTP %ld", status);
        goto out;
    }
    rc = TT_OK;
out:
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return rc;
}
