/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivery of the notification outbox (SPEC 7) with libcurl, the only libcurl user: Slack,
 * Discord and generic JSON webhooks over HTTP(S), e-mail over SMTP. A pass claims due rows
 * in a short write transaction (a lease, so two servers on one store never send the same
 * row at once), sends them with no lock held and no transaction open, then records each
 * outcome in its own short transaction: appends are never held up by a receiver.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "ledger/ledger.h"
#include "notify/notify.h"
#include "store/notify_store.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

static void common_opts(CURL *h, const tti_notify *n)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, n->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, n->timeout_ms < 5000 ? n->timeout_ms : 5000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
}

/* WARNING: the URL is a secret (a webhook's path is its credential): errors name the
 * failure, never the URL, and libcurl's error buffer (which may name it) is not used. */
static int post_json(const tti_notify *n, const char *json, long *retry_after, char *err,
                     size_t errlen)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (h == NULL || hdr == NULL) {
        curl_easy_cleanup(h);
        curl_slist_free_all(hdr);
        snprintf(err, errlen, "webhook: out of memory");
        return TT_ENOMEM;
    }
    common_opts(h, n);
    curl_easy_setopt(h, CURLOPT_URL, n->webhook);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tradetrail/" TT_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_off_t ra = 0;
    int rc = TT_OK;
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "webhook: %s", curl_easy_strerror(cc));
        rc = TT_ENET;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status < 200 || status > 299) {
            snprintf(err, errlen, "webhook: HTTP status %ld", status);
            if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
                *retry_after = ra > 600 ? 600 : (long)ra;
            rc = TT_ENET;
        }
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return rc;
}

typedef struct upload {
    const char *data;
    size_t len, off;
} upload;

static size_t read_msg(char *buf, size_t size, size_t nitems, void *ctx)
{
    upload *u = ctx;
    size_t room = size * nitems, left = u->len - u->off;
    size_t k = left < room ? left : room;
    memcpy(buf, u->data + u->off, k);
    u->off += k;
    return k;
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
    struct curl_slist *rcpt = NULL;
    int rc = TT_OK;
    for (const char *p = n->email; *p != '\0' && rc == TT_OK;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char addr[320];
        envelope(p, len, addr, sizeof addr);
        if (strcmp(addr, "<>") != 0) {
            struct curl_slist *r2 = curl_slist_append(rcpt, addr);
            if (r2 == NULL)
                rc = TT_ENOMEM;
            else
                rcpt = r2;
        }
        p = end != NULL ? end + 1 : p + len;
    }
    CURL *h = curl_easy_init();
    if (h == NULL || rc != TT_OK || rcpt == NULL) {
        snprintf(err, errlen,
                 rcpt == NULL && rc == TT_OK ? "e-mail: no recipient in audit_email"
                                             : "e-mail: out of memory");
        rc = rcpt == NULL && rc == TT_OK ? TT_EINVAL : TT_ENOMEM;
        goto out;
    }
    upload u = {msg, strlen(msg), 0};
    common_opts(h, n);
    curl_easy_setopt(h, CURLOPT_URL, n->smtp_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* WARNING: with CURLUSESSL_TRY a man in the middle strips STARTTLS from the relay's
     * EHLO reply and reads the credentials; only a relay on this host gets that default. */
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     n->smtp_tls == TTI_SMTP_TLS_OFF   ? (long)CURLUSESSL_NONE
                     : n->smtp_tls == TTI_SMTP_TLS_TRY ? (long)CURLUSESSL_TRY
                                                       : (long)CURLUSESSL_ALL);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_msg);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        snprintf(err, errlen, "e-mail: %s (SMTP %ld)", curl_easy_strerror(cc), code);
        rc = TT_ENET;
    }
out:
    curl_easy_cleanup(h);
    curl_slist_free_all(rcpt);
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
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK)
        return tti_fail(TT_ENET, "cannot initialise libcurl");
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
