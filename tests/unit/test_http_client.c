/* SPDX-License-Identifier: Apache-2.0 */
/* The shared outgoing transport (src/util/http_client.c): failures are reported without
 * the URL, which may be a secret (a webhook's path is its credential). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "tradetrail.h"
#include "util/http_client.h"

static void test_refused_names_no_url(void **state)
{
    (void)state;
    const char *headers[] = {"Content-Type: application/json"};
    tti_http_req req = {.url = "http://127.0.0.1:1/hooks/s3cr3t-path",
                        .protocols = "http,https",
                        .what = "webhook",
                        .headers = headers,
                        .n_headers = 1,
                        .body = "{}",
                        .len = 2,
                        .timeout_ms = 2000};
    tti_http_res res;
    char err[256] = "";
    assert_int_equal(tti_http_perform(&req, &res, err, sizeof err), TT_ENET);
    assert_non_null(strstr(err, "webhook: "));
    assert_null(strstr(err, "s3cr3t"));
    assert_null(strstr(err, "127.0.0.1"));
}

static void test_protocol_not_allowed(void **state)
{
    (void)state;
    tti_http_req req = {.url = "file:///etc/passwd", .protocols = "http,https", .what = "sink"};
    tti_http_res res;
    char err[256] = "";
    assert_int_equal(tti_http_perform(&req, &res, err, sizeof err), TT_ENET);
    assert_null(strstr(err, "passwd"));
}

static void test_smtp_refused(void **state)
{
    (void)state;
    const char *rcpt[] = {"<ops@example.org>"};
    tti_http_req req = {.url = "smtp://127.0.0.1:1",
                        .protocols = "smtp,smtps",
                        .what = "e-mail",
                        .body = "Subject: x\r\n\r\nbody\r\n",
                        .len = 20,
                        .timeout_ms = 2000,
                        .mail_from = "<tt@example.org>",
                        .rcpt = rcpt,
                        .n_rcpt = 1,
                        .smtp_tls = TTI_HTTP_TLS_OFF};
    tti_http_res res;
    char err[256] = "";
    assert_int_equal(tti_http_perform(&req, &res, err, sizeof err), TT_ENET);
    assert_non_null(strstr(err, "e-mail: "));
    assert_non_null(strstr(err, "(SMTP 0)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_names_no_url),
        cmocka_unit_test(test_protocol_not_allowed),
        cmocka_unit_test(test_smtp_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
