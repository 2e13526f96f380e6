/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivery of the notification outbox (SPEC 7): Slack, Discord and generic JSON webhooks
 * over HTTP(S), e-mail over SMTP, all through the shared transport (util/http_client.c). A pass
 * claims due rows in a short write transaction (a lease, so two servers on one store never send the
 * same row at once), sends them with no lock held and no transaction open, then records each
 * outcome in its own short transaction: appends are never held up by a receiver.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "ledger/ledger.h"
#include "notify/notify.h"
#include "store/notify_store.h"
#include "util/http_client.h"

/* WARNING: the URL is a secret (a webhook's path is its credential): the transport's
 * messages name the failure, never the URL. */
static int post_json(const tti_notify *n, const char *json, long *retry_after, char *err,
                     size_t errlen)
{
    const char *headers[] = {"Content-Type: application/json"};
    tti_http_req req = {.url = n->webhook,
                        .protocols = "http,https",
                        .what = "webhook",
                        .headers = headers,
                        .n_headers = 1,
                        .body = json,
                        .len = strlen(json),
                        .timeout_ms = n->timeout_ms};
    tti_http_res res;
    int rc = tti_http_perform(&req, &res, err, errlen);
    if (res.retry_after > 0)
        *retry_after = res.retry_after;
    return rc;
}

/* "<addr>" for the SMTP envelope from "addr" or "Name <addr>". */
static void envelope(const char *s, size_t len, char *out, size_t outlen)
{
    const char *lt = memchr(s, '<', len);
    const char *gt = lt != NULL ? memchr(lt, '>', len - (size_t)(lt - s)) : NULL;
    if (lt != NULL && gt != NULL) {
        s = lt + 1;
        len = (size_t)(gt - lt - 1);
    }
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    snprintf(out, outlen, "<%.*s>", (int)(len > 300 ? 300 : len), s);
}

static int send_mail(const tti_notify *n, const tti_outbox_row *row, char *err, size_t errlen)
{
    char from[320], msgid[200];
    envelope(n->smtp_from, strlen(n->smtp_from), from, sizeof from);
    const char *at = strchr(from, '@');
    snprintf(msgid, sizeof msgid, "tradetrail.%lld.%lld@%.*s", (long long)row->id,
             (long long)row->created_us, at != NULL ? (int)(strlen(at + 1) - 1) : 9,
             at != NULL ? at + 1 : "localhost");
    char *msg = NULL;
    if (tti_notify_mail(n->smtp_from, n->email, row->subject, row->body, row->created_us, msgid,
                        &msg) != TT_OK) {
        snprintf(err, errlen, "e-mail: out of memory");
        return TT_ENOMEM;
    }
    /* Recipients: one envelope address per comma-separated entry of audit_email. */
    size_t max = 1;
    for (const char *p = n->email; *p != '\0'; p++)
        max += *p == ',';
    char(*addrs)[320] = calloc(max, sizeof *addrs);
    const char **rcpt = calloc(max, sizeof *rcpt);
    size_t nrcpt = 0;
    int rc = TT_OK;
    if (addrs == NULL || rcpt == NULL) {
        snprintf(err, errlen, "e-mail: out of memory");
        rc = TT_ENOMEM;
        goto out;
    }
    for (const char *p = n->email; *p != '\0' && nrcpt < max;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        envelope(p, len, addrs[nrcpt], sizeof addrs[nrcpt]);
        if (strcmp(addrs[nrcpt], "<>") != 0) {
            rcpt[nrcpt] = addrs[nrcpt];
            nrcpt++;
        }
        p = end != NULL ? end + 1 : p + len;
    }
    if (nrcpt == 0) {
        snprintf(err, errlen, "e-mail: no recipient in audit_email");
        rc = TT_EINVAL;
        goto out;
    }
    tti_http_req req = {.url = n->smtp_url,
                        .protocols = "smtp,smtps",
                        .what = "e-mail",
                        .body = msg,
                        .len = strlen(msg),
                        .timeout_ms = n->timeout_ms,
                        .mail_from = from,
                        .rcpt = rcpt,
                        .n_rcpt = nrcpt,
                        .smtp_tls = n->smtp_tls == TTI_SMTP_TLS_OFF   ? TTI_HTTP_TLS_OFF
                                    : n->smtp_tls == TTI_SMTP_TLS_TRY ? TTI_HTTP_TLS_TRY
                                                                      : TTI_HTTP_TLS_REQUIRED};
    tti_http_res res;
    rc = tti_http_perform(&req, &res, err, errlen);
out:
    free(rcpt);
    free(addrs);
    free(msg);
    return rc;
}

/* Send one row; *parts_done advances over the Discord messages already delivered, so a
 * retry resumes where the last attempt stopped. */
static int deliver_row(const tti_notify *n, const tti_outbox_row *row, int channel, int *parts_done,
                       long *retry_after, char *err, size_t errlen)
{
    if (channel == TT_NOTIFY_EMAIL)
        return send_mail(n, row, err, errlen);
    if (n->webhook_channel != channel) {
        snprintf(err, errlen, "the %s webhook is no longer configured", row->channel);
        return TT_EINVAL;
    }
    char **parts = NULL;
    size_t nparts = 1;
    if (channel == TT_NOTIFY_DISCORD &&
        tti_notify_split(row->body, TT_NOTIFY_DISCORD_MAX, TTI_NOTIFY_DISCORD_MAX_PARTS, &parts,
                         &nparts) != TT_OK) {
        snprintf(err, errlen, "webhook: out of memory");
        return TT_ENOMEM;
    }
    int rc = TT_OK;
    for (size_t i = (size_t)*parts_done; i < nparts && rc == TT_OK; i++) {
        char *json = NULL;
        rc = tti_notify_webhook_json(channel, parts != NULL ? parts[i] : row->body, &json);
        if (rc != TT_OK)
            snprintf(err, errlen, "webhook: out of memory");
        else
            rc = post_json(n, json, retry_after, err, errlen);
        free(json);
        if (rc == TT_OK)
            *parts_done = (int)i + 1;
    }
    tti_notify_parts_free(parts, nparts);
    return rc;
}

/* One short write transaction on the ledger's write connection. */
static int record(tt_ledger *l, int64_t id, int64_t delivered_us, int attempts, int parts_done,
                  int64_t next_us, const char *error)
{
    pthread_mutex_lock(&l->wlock);
    int rc = l->ops->begin_write(l->w);
    if (rc == TT_OK)
        rc = l->ops->notify->update(l->w, id, delivered_us, attempts, parts_done, next_us, error);
    if (rc == TT_OK)
        rc = l->ops->commit(l->w);
    if (rc != TT_OK) {
        rc = tti_store_fail(l, l->w, rc);
        l->ops->rollback(l->w);
    }
    pthread_mutex_unlock(&l->wlock);
    return rc;
}

static int claim(tt_ledger *l, unsigned channels, int64_t now, int max, tti_outbox_row **rows,
                 size_t *n)
{
    pthread_mutex_lock(&l->wlock);
    int rc = l->ops->begin_write(l->w);
    if (rc == TT_OK)
        rc = l->ops->notify->claim(l->w, channels, now, now + TTI_NOTIFY_LEASE_US, max, rows, n);
    if (rc == TT_OK && (rc = l->ops->commit(l->w)) != TT_OK) {
        tti_outbox_rows_free(*rows, *n);
        *rows = NULL;
    }
    if (rc != TT_OK) {
        rc = tti_store_fail(l, l->w, rc);
        l->ops->rollback(l->w);
    }
    pthread_mutex_unlock(&l->wlock);
    return rc;
}

static int next_due(tt_ledger *l, unsigned channels, int64_t *next)
{
    tti_store *r;
    int rc = tti_reader_get(l, &r);
    if (rc != TT_OK)
        return rc;
    rc = l->ops->notify->next_due(r, channels, next);
    if (rc != TT_OK && rc != TT_ENOTFOUND)
        rc = tti_store_fail(l, r, rc);
    tti_reader_put(l, r);
    return rc;
}

int tt_notify_deliver_due(tt_ledger *l, int max, tt_notify_stats *out)
{
    if (l == NULL)
        return tti_fail(TT_EMISUSE, "tt_notify_deliver_due: NULL ledger");
    if (max < 1 || max > 1000)
        return tti_fail(TT_EINVAL, "tt_notify_deliver_due: max must be 1..1000");
    tt_notify_stats st = {0, 0, 0, TT_TIME_NONE};
    tti_notify *n = tti_notify_get(l);
    if (n == NULL || n->channels == 0 || l->ops->notify == NULL) {
        if (out != NULL)
            *out = st;
        return TT_OK;
    }
    int64_t now = tt_time_now_us(), next = 0;
    int rc = next_due(l, n->channels, &next);
    tti_outbox_row *rows = NULL;
    size_t cnt = 0;
    if (rc == TT_OK && next <= now)
        rc = claim(l, n->channels, now, max, &rows, &cnt);
    unsigned down = 0; /* channels that failed in this pass: the rest of theirs wait too */
    int64_t down_next[TT_NOTIFY_NCHANNELS] = {0};
    for (size_t i = 0; rc == TT_OK && i < cnt; i++) {
        tti_outbox_row *row = &rows[i];
        int c = tti_notify_channel_index(row->channel);
        if (c < 0)
            continue;
        if (down & (1u << c)) {
            rc = record(l, row->id, 0, row->attempts, row->parts_done, down_next[c], NULL);
            continue;
        }
        st.attempted++;
        int parts = row->parts_done;
        long retry_after = 0;
        char err[256] = "";
        int drc = deliver_row(n, row, c, &parts, &retry_after, err, sizeof err);
        int64_t t = tt_time_now_us();
        if (drc == TT_OK) {
            st.delivered++;
            atomic_fetch_add(&n->sent[c], 1);
            rc = record(l, row->id, t, row->attempts, parts, t, NULL);
            continue;
        }
        st.failed++;
        atomic_fetch_add(&n->failed[c], 1);
        uint32_t rnd = 0;
        tti_random((uint8_t *)&rnd, sizeof rnd);
        int64_t delay = tti_notify_backoff_us(row->attempts + 1, rnd);
        if ((int64_t)retry_after * 1000000 > delay)
            delay = (int64_t)retry_after * 1000000;
        down |= 1u << c;
        down_next[c] = t + delay;
        rc = record(l, row->id, 0, row->attempts + 1, parts, t + delay, err);
    }
    tti_outbox_rows_free(rows, cnt);
    if (rc == TT_OK || rc == TT_ENOTFOUND)
        rc = next_due(l, n->channels, &st.next_due_us);
    if (rc == TT_ENOTFOUND) {
        st.next_due_us = TT_TIME_NONE;
        rc = TT_OK;
    }
    if (rc == TT_OK && out != NULL)
        *out = st;
    return rc;
}
