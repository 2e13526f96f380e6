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

/* ---- Telegram (SPEC 15) ---- */

#define TG_WINDOW_US 60000000LL /* telegram_per_minute counts over a sliding minute */

/* How many messages the chat (0: the chat, 1: the error chat) got in the last minute, the
 * older ones forgotten; *oldest the time of the oldest one still counted. */
static size_t tg_window(tti_notify *n, int chat, int64_t now, int64_t *oldest)
{
    size_t cap = (size_t)n->tg_per_minute;
    while (n->tg_sent_n[chat] > 0) {
        size_t first = (n->tg_sent_head[chat] + cap - n->tg_sent_n[chat]) % cap;
        *oldest = n->tg_sent_us[chat][first];
        if (*oldest > now - TG_WINDOW_US)
            break;
        n->tg_sent_n[chat]--;
    }
    return n->tg_sent_n[chat];
}

static void tg_note_sent(tti_notify *n, int chat, int64_t t)
{
    size_t cap = (size_t)n->tg_per_minute;
    n->tg_sent_us[chat][n->tg_sent_head[chat]] = t;
    n->tg_sent_head[chat] = (n->tg_sent_head[chat] + 1) % cap;
    if (n->tg_sent_n[chat] < cap)
        n->tg_sent_n[chat]++;
}

/* A Bot API refusal's description ("Bad Request: chat not found"), printable ASCII only. */
static void tg_description(const char *reply, char *err, size_t errlen)
{
    const char *p = strstr(reply, "\"description\":\"");
    size_t len = strlen(err);
    if (p == NULL || len + 3 >= errlen)
        return;
    p += strlen("\"description\":\"");
    char *o = err + len;
    *o++ = ':', *o++ = ' ';
    for (size_t i = 0; p[i] != '\0' && p[i] != '"' && i < 120 && o + 1 < err + errlen; i++)
        *o++ = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
    *o = '\0';
}

/* WARNING: n->tg_url holds the bot token: the transport never names it, and neither does
 * any message here. */
static int tg_post(const tti_notify *n, const char *chat, const char *html, long *retry_after,
                   char *err, size_t errlen)
{
    char *json = NULL, reply[1024] = "";
    if (tti_notify_telegram_json(chat, html, &json) != TT_OK) {
        snprintf(err, errlen, "telegram: out of memory");
        return TT_ENOMEM;
    }
    const char *headers[] = {"Content-Type: application/json"};
    tti_http_req req = {.url = n->tg_url,
                        .protocols = "http,https",
                        .what = "telegram",
                        .headers = headers,
                        .n_headers = 1,
                        .body = json,
                        .len = strlen(json),
                        .timeout_ms = n->timeout_ms,
                        .reply = reply,
                        .reply_cap = sizeof reply};
    tti_http_res res;
    int rc = tti_http_perform(&req, &res, err, errlen);
    if (rc != TT_OK && res.status != 0) {
        /* 429: the Bot API says how long to wait, in its body (and maybe a header). */
        long ra = tti_notify_telegram_retry_after(reply);
        if (ra <= 0)
            ra = res.retry_after;
        if (ra > 0)
            *retry_after = ra;
        tg_description(reply, err, errlen);
    }
    free(json);
    return rc;
}

static const char tg_alarm[] = "\xf0\x9f\x9a\xa8 "; /* U+1F6A8, the error chat's mark */

static int tg_late(const tti_notify *n, const tti_outbox_row *row, int64_t now)
{
    return n->tg_late_after_us >= 0 && now - row->created_us > n->tg_late_after_us;
}

/* The first lines of a message: "delivered late" after an outage, then the subject. */
static void tg_header(tti_buf *b, const tti_notify *n, int channel, const tti_outbox_row *row,
                      int64_t now)
{
    if (tg_late(n, row, now)) {
        char ts[TT_TS_LEN + 1];
        tt_time_format(row->created_us, ts);
        tti_buf_printf(b, "\xe2\x8f\xb0 <b>Delivered late</b>: %lld min after the event (%.19sZ)\n",
                       (long long)((now - row->created_us) / 60000000), ts);
    }
    if (channel == TT_NOTIFY_TELEGRAM_ERRORS)
        tti_buf_adds(b, tg_alarm);
    tti_buf_adds(b, "<b>");
    tti_notify_telegram_escape(b, row->subject, strlen(row->subject));
    tti_buf_adds(b, "</b>\n");
}

/* One row as messages of at most TTI_TELEGRAM_PART_MAX bytes of text each; *parts_done
 * advances as Discord's do, so a retry resumes. */
static int tg_send_row(tti_notify *n, const tti_outbox_row *row, int channel, int *parts_done,
                       long *retry_after, char *err, size_t errlen)
{
    char **parts = NULL;
    size_t nparts = 0;
    if (tti_notify_split(row->body, TTI_TELEGRAM_PART_MAX, TTI_TELEGRAM_MAX_PARTS, &parts,
                         &nparts) != TT_OK) {
        snprintf(err, errlen, "telegram: out of memory");
        return TT_ENOMEM;
    }
    int chat = channel == TT_NOTIFY_TELEGRAM_ERRORS;
    const char *chat_id = chat ? n->tg_error_chat : n->tg_chat;
    int rc = TT_OK;
    for (size_t i = (size_t)*parts_done; i < nparts && rc == TT_OK; i++) {
        tti_buf b;
        tti_buf_init(&b, 64 * 1024);
        int64_t now = tt_time_now_us();
        if (i == 0)
            tg_header(&b, n, channel, row, now);
        else
            tti_buf_printf(&b, "<i>(%zu/%zu)</i>\n", i + 1, nparts);
        tti_notify_telegram_escape(&b, parts[i], strlen(parts[i]));
        if (b.failed) {
            snprintf(err, errlen, "telegram: out of memory");
            rc = TT_ENOMEM;
        } else {
            rc = tg_post(n, chat_id, b.data, retry_after, err, errlen);
        }
        tti_buf_free(&b);
        if (rc == TT_OK) {
            *parts_done = (int)i + 1;
            tg_note_sent(n, chat, now);
        }
    }
    tti_notify_parts_free(parts, nparts);
    return rc;
}

/* The rows held back by the rate limit, as one message: a line per notification while the
 * text stays well under Telegram's 4096 characters, then how many more. */
static int tg_send_digest(tti_notify *n, int channel, tti_outbox_row *const *rows, size_t k,
                          long *retry_after, char *err, size_t errlen)
{
    int chat = channel == TT_NOTIFY_TELEGRAM_ERRORS;
    int64_t now = tt_time_now_us();
    tti_buf b;
    tti_buf_init(&b, 64 * 1024);
    tti_buf_printf(&b,
                   "%s<b>Digest: %zu notifications</b> held back by the limit of %ld messages "
                   "a minute\n",
                   chat ? tg_alarm : "", k, n->tg_per_minute);
    size_t shown = 0;
    for (; shown < k && b.len < 3400; shown++) {
        const tti_outbox_row *r = rows[shown];
        tti_buf_printf(&b, "\xe2\x80\xa2 seq %lld ", (long long)r->seq);
        tti_notify_telegram_escape(&b, r->subject,
                                   strlen(r->subject) > 200 ? 200 : strlen(r->subject));
        tti_buf_adds(&b, tg_late(n, r, now) ? " <i>(delivered late)</i>\n" : "\n");
    }
    if (shown < k)
        tti_buf_printf(&b, "\xe2\x80\xa6 and %zu more (tradetrail show)\n", k - shown);
    int rc;
    if (b.failed) {
        snprintf(err, errlen, "telegram: out of memory");
        rc = TT_ENOMEM;
    } else {
        rc = tg_post(n, chat ? n->tg_error_chat : n->tg_chat, b.data, retry_after, err, errlen);
    }
    tti_buf_free(&b);
    if (rc == TT_OK)
        tg_note_sent(n, chat, now);
    return rc;
}

/* Send one row; *parts_done advances over the Discord messages already delivered, so a
 * retry resumes where the last attempt stopped. */
static int deliver_row(tti_notify *n, const tti_outbox_row *row, int channel, int *parts_done,
                       long *retry_after, char *err, size_t errlen)
{
    if (channel == TT_NOTIFY_EMAIL)
        return send_mail(n, row, err, errlen);
    if (channel == TT_NOTIFY_TELEGRAM || channel == TT_NOTIFY_TELEGRAM_ERRORS)
        return tg_send_row(n, row, channel, parts_done, retry_after, err, errlen);
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

/* The wait after a failed attempt: the backoff, or longer when the receiver said so
 * (Retry-After); Telegram's retry_after (a 429) is exactly how long its flood control
 * wants, so it replaces the backoff rather than adding to it. */
static int64_t retry_delay(int channel, int failures, long retry_after)
{
    uint32_t rnd = 0;
    tti_random((uint8_t *)&rnd, sizeof rnd);
    int64_t delay = tti_notify_backoff_us(failures, rnd);
    int tg = channel == TT_NOTIFY_TELEGRAM || channel == TT_NOTIFY_TELEGRAM_ERRORS;
    if (retry_after > 0 && (tg || (int64_t)retry_after * 1000000 > delay))
        delay = (int64_t)retry_after * 1000000;
    return delay;
}

/* Telegram's rate limit (SPEC 15) before row i goes out: with the chat's minute full, the
 * row waits for a free slot (*held, not an attempt); with one slot left and more waiting,
 * every due row of the chat (those of this pass and up to TTI_TELEGRAM_DIGEST_MAX more) goes
 * out folded into one digest message (*held: done here). */
static int tg_throttle(tt_ledger *l, tti_notify *n, tti_outbox_row *rows, size_t cnt, size_t i,
                       char *folded, tt_notify_stats *st, unsigned *down, int64_t *down_next,
                       int *held)
{
    int c = tti_notify_channel_index(rows[i].channel), chat = c == TT_NOTIFY_TELEGRAM_ERRORS;
    int64_t now = tt_time_now_us(), oldest = now;
    size_t used = tg_window(n, chat, now, &oldest);
    *held = 0;
    if (used >= (size_t)n->tg_per_minute) {
        *held = 1;
        *down |= 1u << c;
        down_next[c] = oldest + TG_WINDOW_US;
        return record(l, rows[i].id, 0, rows[i].attempts, rows[i].parts_done, down_next[c], NULL);
    }
    if (used + 1 < (size_t)n->tg_per_minute)
        return TT_OK;
    tti_outbox_row **group = calloc(TTI_TELEGRAM_DIGEST_MAX + cnt, sizeof *group);
    tti_outbox_row *extra = NULL;
    size_t k = 0, nextra = 0;
    if (group == NULL)
        return tti_fail(TT_ENOMEM, "out of memory");
    for (size_t j = i; j < cnt; j++)
        if (!folded[j] && strcmp(rows[j].channel, rows[i].channel) == 0)
            group[k++] = &rows[j];
    int rc = claim(l, 1u << c, now, TTI_TELEGRAM_DIGEST_MAX, &extra, &nextra);
    for (size_t j = 0; rc == TT_OK && j < nextra; j++)
        group[k++] = &extra[j];
    if (rc == TT_OK && k > 1) {
        *held = 1;
        long retry_after = 0;
        char err[256] = "";
        st->attempted++;
        int drc = tg_send_digest(n, c, group, k, &retry_after, err, sizeof err);
        int64_t t = tt_time_now_us(), delay = 0;
        if (drc == TT_OK) {
            st->delivered++;
            atomic_fetch_add(&n->sent[c], 1);
        } else {
            st->failed++;
            atomic_fetch_add(&n->failed[c], 1);
            delay = retry_delay(c, group[0]->attempts + 1, retry_after);
            *down |= 1u << c;
            down_next[c] = t + delay;
        }
        /* Each folded row is delivered with the digest, or waits for the next attempt. */
        for (size_t j = 0; rc == TT_OK && j < k; j++) {
            tti_outbox_row *r = group[j];
            rc = drc == TT_OK ? record(l, r->id, t, r->attempts, r->parts_done, t, NULL)
                              : record(l, r->id, 0, r->attempts + 1, r->parts_done, t + delay, err);
        }
        for (size_t j = i; j < cnt; j++)
            if (strcmp(rows[j].channel, rows[i].channel) == 0)
                folded[j] = 1;
    }
    tti_outbox_rows_free(extra, nextra);
    free(group);
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
    char *folded = rc == TT_OK && cnt > 0 ? calloc(cnt, 1) : NULL; /* rows a digest took */
    if (rc == TT_OK && cnt > 0 && folded == NULL)
        rc = tti_fail(TT_ENOMEM, "out of memory");
    for (size_t i = 0; rc == TT_OK && i < cnt; i++) {
        tti_outbox_row *row = &rows[i];
        int c = tti_notify_channel_index(row->channel);
        if (c < 0 || folded[i])
            continue;
        if (down & (1u << c)) {
            rc = record(l, row->id, 0, row->attempts, row->parts_done, down_next[c], NULL);
            continue;
        }
        if (c == TT_NOTIFY_TELEGRAM || c == TT_NOTIFY_TELEGRAM_ERRORS) {
            int held = 0;
            rc = tg_throttle(l, n, rows, cnt, i, folded, &st, &down, down_next, &held);
            if (rc != TT_OK || held)
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
        int64_t delay = retry_delay(c, row->attempts + 1, retry_after);
        down |= 1u << c;
        down_next[c] = t + delay;
        rc = record(l, row->id, 0, row->attempts + 1, parts, t + delay, err);
    }
    free(folded);
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
