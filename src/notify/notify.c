/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Notifications (SPEC 7), the part without the network: the ledger's rules (alert_events
 * and channels), the outbox rows written in the same transaction as the event that
 * triggers them (an alert, or the record of a queued summary), the backoff schedule,
 * Discord splitting and the e-mail message text. Delivery is in deliver.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/crypto.h"
#include "core/event.h"
#include "ledger/ledger.h"
#include "notify/notify.h"
#include "store/notify_store.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/err.h"

static const char *const channel_names[TT_NOTIFY_NCHANNELS] = {
    "slack", "discord", "generic", "email", "telegram", "telegram_errors"};

#define TG_BITS (1u << TT_NOTIFY_TELEGRAM | 1u << TT_NOTIFY_TELEGRAM_ERRORS)

const char *tt_notify_channel_name(int channel)
{
    return channel >= 0 && channel < TT_NOTIFY_NCHANNELS ? channel_names[channel] : NULL;
}

int tti_notify_channel_index(const char *name)
{
    for (int i = 0; i < TT_NOTIFY_NCHANNELS; i++)
        if (name != NULL && strcmp(name, channel_names[i]) == 0)
            return i;
    return -1;
}

void tt_notify_config_init(tt_notify_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

static int set(const char *v)
{
    return v != NULL && v[0] != '\0';
}

static int webhook_channel(const tt_notify_config *cfg, char *err, size_t errlen)
{
    const char *f = cfg->alert_webhook_format;
    if (!set(f) || strcmp(f, "slack") == 0)
        return TT_NOTIFY_SLACK;
    if (strcmp(f, "discord") == 0)
        return TT_NOTIFY_DISCORD;
    if (strcmp(f, "generic") == 0)
        return TT_NOTIFY_GENERIC;
    tti_err(err, errlen, TT_EINVAL, "alert_webhook_format: must be slack, discord or generic");
    return -1;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int valid_name(const char *s, size_t n, int upper)
{
    if (n == 0 || n > TT_MAX_EVENT_TYPE)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int ok = upper ? (ch >= 'A' && ch <= 'Z') || (i > 0 && ch >= '0' && ch <= '9') ||
                             (i > 0 && ch == '_')
                       : (ch >= 'a' && ch <= 'z') || (i > 0 && ch >= '0' && ch <= '9') ||
                             (i > 0 && (ch == '_' || ch == '-' || ch == '.'));
        if (!ok)
            return 0;
    }
    return 1;
}

/* SPEC 7: alert_events is "TYPE,entity/TYPE,..." (spaces around items ignored). rules may
 * be NULL to only check. */
static int parse_rules(const char *list, tti_notify_rule *rules, size_t *n, char *err,
                       size_t errlen)
{
    size_t cnt = 0;
    const char *p = list;
    *n = 0;
    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len > 0) {
            const char *slash = memchr(p, '/', len);
            size_t elen = slash != NULL ? (size_t)(slash - p) : 0;
            const char *type = slash != NULL ? slash + 1 : p;
            size_t tlen = len - (size_t)(type - p);
            if ((slash != NULL && !valid_name(p, elen, 0)) || !valid_name(type, tlen, 1))
                return tti_err(err, errlen, TT_EINVAL,
                               "alert_events: \"%.*s\" is not TYPE or entity/TYPE (e.g. "
                               "FAILED,strategy/SWAPPED_OUT)",
                               (int)(len > 80 ? 80 : len), p);
            if (cnt == TTI_NOTIFY_MAX_RULES)
                return tti_err(err, errlen, TT_EINVAL, "alert_events: at most %d entries",
                               TTI_NOTIFY_MAX_RULES);
            if (rules != NULL) {
                rules[cnt].entity = slash != NULL ? dup_n(p, elen) : NULL;
                rules[cnt].type = dup_n(type, tlen);
                if ((slash != NULL && rules[cnt].entity == NULL) || rules[cnt].type == NULL) {
                    free(rules[cnt].entity);
                    free(rules[cnt].type);
                    return tti_err(err, errlen, TT_ENOMEM, "out of memory");
                }
            }
            *n = ++cnt; /* so a caller frees what is built even on a later error */
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return TT_OK;
}

/* Is the host of an smtp:// URL this machine? Only then may the default skip TLS: the
 * message never leaves the host in clear. */
static int local_host(const char *url)
{
    const char *p = url != NULL ? strstr(url, "://") : NULL;
    if (p == NULL)
        return 0;
    p += 3;
    size_t auth = strcspn(p, "/?#");
    const char *at = memchr(p, '@', auth);
    while (at != NULL) { /* the last '@' before the path ends the credentials */
        p = at + 1;
        auth = strcspn(p, "/?#");
        at = memchr(p, '@', auth);
    }
    size_t len = p[0] == '[' ? strcspn(p, "]") + 1 : strcspn(p, ":/?#");
    if (len == 9 && strncasecmp(p, "localhost", 9) == 0)
        return 1;
    if (len == 5 && strncmp(p, "[::1]", 5) == 0)
        return 1;
    if (len < 4 || len > 15 || strncmp(p, "127.", 4) != 0)
        return 0;
    for (size_t i = 4; i < len; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '.'))
            return 0;
    return 1;
}

int tti_notify_smtp_tls(const char *setting, const char *url)
{
    if (!set(setting))
        return local_host(url) ? TTI_SMTP_TLS_TRY : TTI_SMTP_TLS_REQUIRED;
    if (strcmp(setting, "required") == 0)
        return TTI_SMTP_TLS_REQUIRED;
    if (strcmp(setting, "try") == 0)
        return TTI_SMTP_TLS_TRY;
    if (strcmp(setting, "off") == 0)
        return TTI_SMTP_TLS_OFF;
    return -1;
}

/* SPEC 15: the Telegram settings, and its channels into *ch: the chat when a token and a
 * chat id are set, the error chat when an error chat id is set too. */
static int telegram_check(const tt_notify_config *cfg, unsigned *ch, char *err, size_t errlen)
{
    size_t n;
    int rc = parse_rules(cfg->telegram_events, NULL, &n, err, errlen);
    if (rc == TT_OK)
        rc = parse_rules(cfg->telegram_error_events, NULL, &n, err, errlen);
    if (rc != TT_OK)
        return rc;
    if (cfg->telegram_per_minute < 0 || cfg->telegram_per_minute > TTI_TELEGRAM_MAX_PER_MINUTE)
        return tti_err(err, errlen, TT_EINVAL,
                       "telegram_per_minute: must be an integer from 1 to %d",
                       TTI_TELEGRAM_MAX_PER_MINUTE);
    if (cfg->telegram_late_after_s < -1)
        return tti_err(err, errlen, TT_EINVAL,
                       "telegram_late_after: must be a number of seconds, or -1 for never");
    const char *api = cfg->telegram_api;
    if (set(api) && strncmp(api, "https://", 8) != 0 && strncmp(api, "http://", 7) != 0)
        return tti_err(err, errlen, TT_EINVAL, "telegram_api: must be an http:// or https:// URL");
    const char *tok = cfg->telegram_bot_token;
    if (set(tok) && (strlen(tok) > 256 || strpbrk(tok, "/?#@ \t\r\n") != NULL))
        /* WARNING: the message never quotes the token. */
        return tti_err(err, errlen, TT_EINVAL,
                       "telegram_bot_token: not a bot token (BotFather gives 123456:ABC-...)");
    if (set(tok) != (set(cfg->telegram_chat_id) || set(cfg->telegram_error_chat_id)))
        return tti_err(err, errlen, TT_EINVAL,
                       set(tok) ? "telegram_chat_id: must be set with telegram_bot_token"
                                : "telegram_bot_token: must be set with telegram_chat_id");
    if (set(tok) && set(cfg->telegram_chat_id))
        *ch |= 1u << TT_NOTIFY_TELEGRAM;
    if (set(tok) && set(cfg->telegram_error_chat_id))
        *ch |= 1u << TT_NOTIFY_TELEGRAM_ERRORS;
    return TT_OK;
}

int tt_notify_channels(const tt_notify_config *cfg, unsigned *out, char *err, size_t errlen)
{
    if (cfg == NULL || out == NULL)
        return tti_err(err, errlen, TT_EMISUSE, "tt_notify_channels: NULL argument");
    unsigned ch = 0;
    int wc = webhook_channel(cfg, err, errlen);
    if (wc < 0)
        return TT_EINVAL;
    if (tti_notify_smtp_tls(cfg->smtp_tls, cfg->smtp_url) < 0)
        return tti_err(err, errlen, TT_EINVAL, "smtp_tls: must be required, try or off");
    if (set(cfg->alert_webhook))
        ch |= 1u << wc;
    if (set(cfg->audit_email) && set(cfg->smtp_url))
        ch |= 1u << TT_NOTIFY_EMAIL;
    size_t n;
    int rc = parse_rules(cfg->alert_events, NULL, &n, err, errlen);
    if (rc == TT_OK)
        rc = telegram_check(cfg, &ch, err, errlen);
    if (rc != TT_OK)
        return rc;
    *out = ch;
    return TT_OK;
}

static void free_rules(tti_notify_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rules[i].entity);
        free(rules[i].type);
    }
}

void tti_notify_free(tti_notify *n)
{
    if (n == NULL)
        return;
    free(n->webhook);
    free(n->email);
    free(n->smtp_url);
    free(n->smtp_from);
    free(n->title);
    free(n->tg_chat);
    free(n->tg_error_chat);
    if (n->tg_token != NULL)
        tti_cleanse(n->tg_token, strlen(n->tg_token));
    if (n->tg_url != NULL)
        tti_cleanse(n->tg_url, strlen(n->tg_url));
    free(n->tg_token);
    free(n->tg_url);
    free_rules(n->rules, n->n_rules);
    free_rules(n->tg_rules, n->n_tg_rules);
    free_rules(n->tg_error_rules, n->n_tg_error_rules);
    free(n);
}

/* The name under which notify registers its transaction hook with the ledger. */
static const char hook_name[] = "notify";

tti_notify *tti_notify_get(tt_ledger *l)
{
    return tti_ledger_hook_ctx(l, hook_name);
}

static void free_ctx(void *ctx)
{
    tti_notify_free(ctx);
}

static int on_event(void *ctx, tt_ledger *l, tti_store *w, const tt_event *ev);

static int dup_opt(const char *v, const char *def, char **out)
{
    *out = NULL;
    if (!set(v))
        v = def;
    if (v == NULL)
        return 0;
    *out = strdup(v);
    return *out == NULL ? -1 : 0;
}

/* The Telegram part of the settings (checked by tt_notify_channels already). */
static int telegram_setup(tti_notify *n, const tt_notify_config *cfg)
{
    char err[256];
    n->tg_per_minute = cfg->telegram_per_minute > 0 ? cfg->telegram_per_minute : 20;
    n->tg_late_after_us = cfg->telegram_late_after_s < 0 ? -1
                          : cfg->telegram_late_after_s == 0
                              ? 300 * 1000000LL
                              : cfg->telegram_late_after_s * 1000000LL;
    n->tg_rules_default = !set(cfg->telegram_events);
    if (!(n->channels & TG_BITS))
        return 0;
    const char *api = set(cfg->telegram_api) ? cfg->telegram_api : "https://api.telegram.org";
    size_t alen = strlen(api);
    while (alen > 0 && api[alen - 1] == '/')
        alen--;
    tti_buf url;
    tti_buf_init(&url, 4096);
    tti_buf_printf(&url, "%.*s/bot%s/sendMessage", (int)alen, api, cfg->telegram_bot_token);
    n->tg_url = url.failed ? NULL : tti_buf_take(&url);
    tti_buf_free(&url);
    if (n->tg_url == NULL || dup_opt(cfg->telegram_bot_token, NULL, &n->tg_token) != 0 ||
        dup_opt(cfg->telegram_chat_id, NULL, &n->tg_chat) != 0 ||
        dup_opt(cfg->telegram_error_chat_id, NULL, &n->tg_error_chat) != 0 ||
        parse_rules(cfg->telegram_events, n->tg_rules, &n->n_tg_rules, err, sizeof err) != TT_OK ||
        parse_rules(set(cfg->telegram_error_events) ? cfg->telegram_error_events
                                                    : TTI_TELEGRAM_ERROR_EVENTS_DEFAULT,
                    n->tg_error_rules, &n->n_tg_error_rules, err, sizeof err) != TT_OK)
        return -1;
    return 0;
}

int tt_ledger_set_notify(tt_ledger *l, const tt_notify_config *cfg)
{
    if (l == NULL)
        return tti_fail(TT_EMISUSE, "tt_ledger_set_notify: NULL ledger");
    tti_notify *n = NULL;
    if (cfg != NULL) {
        char err[256];
        unsigned ch;
        int rc = tt_notify_channels(cfg, &ch, err, sizeof err);
        if (rc != TT_OK)
            return tti_fail(rc, "%s", err);
        if (l->ops->notify == NULL || l->ops->notify->enqueue == NULL)
            return tti_fail(TT_EINVAL, "the %s store has no notification outbox", l->ops->name);
        if ((n = calloc(1, sizeof *n)) == NULL)
            return tti_fail(TT_ENOMEM, "out of memory");
        n->channels = ch;
        n->webhook_channel = webhook_channel(cfg, err, sizeof err);
        n->smtp_tls = tti_notify_smtp_tls(cfg->smtp_tls, cfg->smtp_url);
        n->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
        if (dup_opt(cfg->alert_webhook, NULL, &n->webhook) != 0 ||
            dup_opt(cfg->audit_email, NULL, &n->email) != 0 ||
            dup_opt(cfg->smtp_url, NULL, &n->smtp_url) != 0 ||
            dup_opt(cfg->smtp_from, "tradetrail@localhost", &n->smtp_from) != 0 ||
            dup_opt(cfg->summary_title, "tradetrail", &n->title) != 0 ||
            parse_rules(cfg->alert_events, n->rules, &n->n_rules, err, sizeof err) != TT_OK ||
            telegram_setup(n, cfg) != 0) {
            tti_notify_free(n);
            return tti_fail(TT_ENOMEM, "out of memory");
        }
    }
    /* Counters carry over (tt_ledger_set_notify must not race with delivery, which alone
     * changes them). The ledger swaps the hook under its write lock and frees the old one. */
    tti_notify *old = tti_notify_get(l);
    if (old != NULL && n != NULL)
        for (int i = 0; i < TT_NOTIFY_NCHANNELS; i++) {
            atomic_store(&n->sent[i], atomic_load(&old->sent[i]));
            atomic_store(&n->failed[i], atomic_load(&old->failed[i]));
        }
    int rc = tti_ledger_set_hook(l, hook_name, n != NULL ? on_event : NULL, n, free_ctx);
    if (rc != TT_OK)
        tti_notify_free(n);
    return rc;
}

static int rule_match(const tti_notify_rule *rules, size_t n, const tt_event *ev)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rules[i].type, ev->event_type) == 0 &&
            (rules[i].entity == NULL || strcmp(rules[i].entity, ev->entity) == 0))
            return 1;
    return 0;
}

/* The channels an event notifies: alert_events for the webhook and e-mail; for Telegram
 * (SPEC 15) telegram_events (alert_events when unset) and telegram_error_events, the latter
 * to the error chat when there is one. */
static unsigned event_channels(const tti_notify *n, const tt_event *ev)
{
    /* SPEC 15: a producer gone silent is always an alert, whatever alert_events lists. */
    int alert = (strcmp(ev->entity, "producer") == 0 && strcmp(ev->event_type, "SILENT") == 0) ||
                rule_match(n->rules, n->n_rules, ev);
    unsigned ch = alert ? n->channels & ~TG_BITS : 0;
    if (!(n->channels & TG_BITS))
        return ch;
    int error = rule_match(n->tg_error_rules, n->n_tg_error_rules, ev);
    int wanted =
        error || (n->tg_rules_default ? alert : rule_match(n->tg_rules, n->n_tg_rules, ev));
    if (!wanted)
        return ch;
    if (error && (n->channels & (1u << TT_NOTIFY_TELEGRAM_ERRORS)))
        return ch | 1u << TT_NOTIFY_TELEGRAM_ERRORS;
    return ch | (n->channels & (1u << TT_NOTIFY_TELEGRAM));
}

/* The event in the `-o short` layout of SPEC 10. */
static void event_text(tti_buf *b, const tt_event *ev)
{
    char ts[TT_TS_LEN + 1];
    tt_time_format(ev->ts_us, ts);
    tti_buf_printf(b, "[%s] %s %s %s/%s", ts, ev->actor, ev->event_type, ev->entity, ev->entity_id);
    if (ev->old_status != NULL || ev->new_status != NULL)
        tti_buf_printf(b, " (%s \xe2\x86\x92 %s)", ev->old_status ? ev->old_status : "-",
                       ev->new_status ? ev->new_status : "-");
    tti_buf_printf(b, "\nseq %lld", (long long)ev->seq);
    if (ev->reason != NULL && ev->reason[0] != '\0')
        tti_buf_printf(b, "\n  Reason: %s", ev->reason);
    tti_buf_adds(b, "\n");
}

static int enqueue_all(tt_ledger *l, tti_store *w, unsigned channels, int64_t seq,
                       const char *subject, const char *text, const char *generic)
{
    int64_t now = tt_time_now_us();
    for (int c = 0; c < TT_NOTIFY_NCHANNELS; c++) {
        if (!(channels & (1u << c)))
            continue;
        tti_outbox_row row = {.channel = (char *)channel_names[c],
                              .seq = seq,
                              .subject = (char *)subject,
                              .body = (char *)(c == TT_NOTIFY_GENERIC ? generic : text),
                              .created_us = now};
        int rc = l->ops->notify->enqueue(w, &row, now);
        if (rc != TT_OK)
            return tti_store_fail(l, w, rc);
    }
    return TT_OK;
}

/* The ledger's transaction hook (tti_tx_hook), for each newly written event. */
static int on_event(void *ctx, tt_ledger *l, tti_store *w, const tt_event *ev)
{
    tti_notify *n = ctx;
    unsigned channels = n != NULL ? event_channels(n, ev) : 0;
    if (channels == 0)
        return TT_OK;
    tti_buf text, subject, generic;
    tti_buf_init(&text, 1 << 20);
    tti_buf_init(&subject, 1024);
    tti_buf_init(&generic, 1 << 20);
    event_text(&text, ev);
    tti_buf_printf(&subject, "[%s] %s %s/%.100s", n->title, ev->event_type, ev->entity,
                   ev->entity_id);
    char *json = NULL;
    if (channels & (1u << TT_NOTIFY_GENERIC)) {
        json = tt_event_to_json(ev);
        tti_buf_adds(&generic, "{\"kind\":\"alert\",\"title\":");
        tti_buf_json_str(&generic, subject.data);
        tti_buf_adds(&generic, ",\"text\":");
        tti_buf_json_str(&generic, text.data);
        tti_buf_adds(&generic, ",\"event\":");
        tti_buf_adds(&generic, json != NULL ? json : "null");
        tti_buf_adds(&generic, "}");
    }
    int rc;
    if (text.failed || subject.failed || generic.failed ||
        ((channels & (1u << TT_NOTIFY_GENERIC)) && json == NULL))
        rc = tti_fail(TT_ENOMEM, "out of memory building a notification");
    else
        rc = enqueue_all(l, w, channels, ev->seq, subject.data, text.data, generic.data);
    tt_free(json);
    tti_buf_free(&text);
    tti_buf_free(&subject);
    tti_buf_free(&generic);
    return rc;
}

/* ---- the daily summary ---- */

typedef struct summary_ctx {
    unsigned channels;
    const char *subject, *text, *generic_head; /* generic_head: JSON up to the seq */
} summary_ctx;

static int summary_after(void *ctx, tt_ledger *l, tti_store *w, const tt_append_result *res,
                         size_t n)
{
    summary_ctx *sc = ctx;
    if (n != 1)
        return tti_fail(TT_EMISUSE, "summary notification: one event expected");
    tti_buf g;
    tti_buf_init(&g, 64u << 20);
    tti_buf_printf(&g, "%s,\"seq\":%lld}", sc->generic_head, (long long)res[0].seq);
    int rc = g.failed ? tti_fail(TT_ENOMEM, "out of memory")
                      : enqueue_all(l, w, sc->channels, res[0].seq, sc->subject, sc->text, g.data);
    tti_buf_free(&g);
    return rc;
}

int tt_notify_summary(tt_ledger *l, const tt_notify_config *cfg, const char *title,
                      const char *text)
{
    if (l == NULL || cfg == NULL || text == NULL)
        return tti_fail(TT_EMISUSE, "tt_notify_summary: NULL argument");
    if (!tti_utf8_valid(text, strlen(text)) ||
        (title != NULL && !tti_utf8_valid(title, strlen(title))))
        return tti_fail(TT_EINVAL, "summary: not valid UTF-8");
    char err[256];
    unsigned ch;
    int rc = tt_notify_channels(cfg, &ch, err, sizeof err);
    if (rc != TT_OK)
        return tti_fail(rc, "%s", err);
    ch &= ~(1u << TT_NOTIFY_TELEGRAM_ERRORS); /* a summary is not an error */
    if (ch == 0)
        return tti_fail(TT_EINVAL, "no notification channel is configured (set alert_webhook, "
                                   "audit_email and smtp_url, or telegram_bot_token and "
                                   "telegram_chat_id)");
    if (l->ops->notify == NULL || l->ops->notify->enqueue == NULL)
        return tti_fail(TT_EINVAL, "the %s store has no notification outbox", l->ops->name);
    if (title == NULL || title[0] == '\0') {
        const char *nl = strchr(text, '\n');
        title = NULL;
        if (nl != NULL && nl != text && (size_t)(nl - text) < 200) {
            /* The summary's own first line (the seed's title with the date). */
            char *first = dup_n(text, (size_t)(nl - text));
            if (first == NULL)
                return tti_fail(TT_ENOMEM, "out of memory");
            rc = tt_notify_summary(l, cfg, first, text);
            free(first);
            return rc;
        }
        title = set(cfg->summary_title) ? cfg->summary_title : "tradetrail summary";
    }
    tti_buf meta, head;
    tti_buf_init(&meta, 256);
    tti_buf_init(&head, 64u << 20);
    tti_buf_adds(&meta, "{\"channels\":[");
    int first = 1;
    for (int c = 0; c < TT_NOTIFY_NCHANNELS; c++)
        if (ch & (1u << c)) {
            tti_buf_printf(&meta, "%s\"%s\"", first ? "" : ",", channel_names[c]);
            first = 0;
        }
    tti_buf_adds(&meta, "]}");
    tti_buf_adds(&head, "{\"kind\":\"summary\",\"title\":");
    tti_buf_json_str(&head, title);
    tti_buf_adds(&head, ",\"text\":");
    tti_buf_json_str(&head, text);
    char *norm = NULL;
    if (meta.failed || head.failed) {
        rc = tti_fail(TT_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = tti_metadata_normalize(meta.data, meta.len, &norm, err, sizeof err)) != TT_OK) {
        rc = tti_fail(rc, "%s", err);
        goto out;
    }
    char reason[TT_MAX_REASON];
    snprintf(reason, sizeof reason, "%.*s", 1000, title);
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = "notification";
    ev.entity_id = "summary";
    ev.event_type = "QUEUED";
    ev.actor = "tradetrail";
    ev.reason = reason;
    ev.metadata = norm;
    summary_ctx sc = {.channels = ch, .subject = title, .text = text, .generic_head = head.data};
    tti_tx_hooks hooks = {.before = NULL, .after = summary_after};
    tt_append_result res;
    rc = tti_ledger_append_tx(l, &ev, 1, &hooks, &sc, &res);
out:
    tt_free(norm);
    tti_buf_free(&meta);
    tti_buf_free(&head);
    return rc;
}

int tt_notify_counts_get(tt_ledger *l, tt_notify_counts *out)
{
    if (l == NULL || out == NULL)
        return tti_fail(TT_EMISUSE, "tt_notify_counts_get: NULL argument");
    tt_notify_counts c;
    memset(&c, 0, sizeof c);
    if (l->ops->notify != NULL && l->ops->notify->pending != NULL) {
        tti_store *r;
        int rc = tti_reader_get(l, &r);
        if (rc != TT_OK)
            return rc;
        rc = l->ops->notify->pending(r, &c.pending);
        if (rc != TT_OK)
            rc = tti_store_fail(l, r, rc);
        tti_reader_put(l, r);
        if (rc != TT_OK)
            return rc;
    }
    /* WARNING: the rules may be freed by tt_ledger_set_notify, which must not race with
     * this (the server sets the rules once, before its threads start). */
    tti_notify *n = tti_notify_get(l);
    if (n != NULL)
        for (int i = 0; i < TT_NOTIFY_NCHANNELS; i++) {
            c.sent[i] = atomic_load(&n->sent[i]);
            c.failed[i] = atomic_load(&n->failed[i]);
        }
    *out = c;
    return TT_OK;
}

/* ---- backoff, Discord parts, e-mail text ---- */

int64_t tti_notify_backoff_us(int failures, uint32_t rnd)
{
    int64_t base = TTI_NOTIFY_BACKOFF_FIRST_US;
    for (int i = 1; i < failures && base < TTI_NOTIFY_BACKOFF_MAX_US; i++)
        base *= 2;
    if (base > TTI_NOTIFY_BACKOFF_MAX_US)
        base = TTI_NOTIFY_BACKOFF_MAX_US;
    int64_t spread = base / 4;
    int64_t d = base - spread + (int64_t)(rnd % (uint64_t)(2 * spread + 1));
    return d > TTI_NOTIFY_BACKOFF_MAX_US ? TTI_NOTIFY_BACKOFF_MAX_US : d;
}

void tti_notify_parts_free(char **parts, size_t n)
{
    if (parts == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
    free(parts);
}

/* Length of the next piece of s (len bytes left) of at most max bytes; *skip is 1 when
 * the piece ends at a newline that is dropped. */
static size_t piece(const char *s, size_t len, size_t max, size_t *skip)
{
    *skip = 0;
    if (len <= max)
        return len;
    for (size_t i = max; i > max / 2; i--)
        if (s[i] == '\n') {
            *skip = 1;
            return i;
        }
    size_t i = max;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) /* not inside a UTF-8 sequence */
        i--;
    return i > 0 ? i : max;
}

int tti_notify_split(const char *text, size_t max, size_t max_parts, char ***parts, size_t *n)
{
    static const char marker[] = "[\xe2\x80\xa6 trimmed \xe2\x80\xa6]\n";
    if (max < 2 * sizeof marker || max_parts < 2)
        return TT_EINVAL;
    size_t len = strlen(text);
    char **arr = calloc(max_parts, sizeof *arr);
    if (arr == NULL)
        return TT_ENOMEM;
    size_t cnt = 0, off = 0;
    if (len == 0 && (arr[cnt++] = strdup("(empty)")) == NULL)
        goto nomem;
    while (off < len) {
        size_t skip, k = piece(text + off, len - off, max, &skip);
        if (cnt == max_parts - 1 && off + k + skip < len) {
            /* Too long: keep the end (a summary's checkpoint note) after a marker. */
            size_t room = max - (sizeof marker - 1), start = len - room;
            while (start < len && ((unsigned char)text[start] & 0xC0) == 0x80)
                start++;
            const char *nl = memchr(text + start, '\n', len - start);
            if (nl != NULL && (size_t)(nl - text) < len - room / 2)
                start = (size_t)(nl - text) + 1;
            size_t tail = len - start;
            char *p = malloc(sizeof marker + tail);
            if (p == NULL)
                goto nomem;
            memcpy(p, marker, sizeof marker - 1);
            memcpy(p + sizeof marker - 1, text + start, tail);
            p[sizeof marker - 1 + tail] = '\0';
            arr[cnt++] = p;
            break;
        }
        if ((arr[cnt++] = dup_n(text + off, k)) == NULL)
            goto nomem;
        off += k + skip;
    }
    *parts = arr;
    *n = cnt;
    return TT_OK;
nomem:
    tti_notify_parts_free(arr, max_parts);
    return TT_ENOMEM;
}

/* RFC 5322 3.3 date-time, always UTC. */
static void mail_date(int64_t us, char out[40])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A header value on one line: control characters (CR, LF: header injection) become
 * spaces. */
static void header_text(tti_buf *b, const char *s, size_t max)
{
    for (size_t i = 0; i < max && s[i] != '\0'; i++)
        tti_buf_add(b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? " " : &s[i], 1);
}

/* RFC 2047 encoded words (B encoding) for a subject that is not plain ASCII, folded so
 * every line stays short (RFC 5322 2.1.1). */
static void header_subject(tti_buf *b, const char *s)
{
    size_t len = strlen(s);
    if (len > 400)
        len = 400;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
        len--;
    int ascii = 1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80 || (unsigned char)s[i] < 0x20)
            ascii = 0;
    if (ascii) {
        header_text(b, s, len);
        return;
    }
    size_t off = 0;
    while (off < len) {
        size_t k = len - off > 45 ? 45 : len - off;
        while (off + k < len && k > 0 && ((unsigned char)s[off + k] & 0xC0) == 0x80)
            k--;
        char enc[64];
        tti_base64_encode((const uint8_t *)s + off, k, enc);
        tti_buf_printf(b, "%s=?UTF-8?B?%s?=", off > 0 ? "\r\n " : "", enc);
        off += k;
    }
}

int tti_notify_mail(const char *from, const char *to, const char *subject, const char *body,
                    int64_t date_us, const char *message_id, char **out)
{
    char date[40];
    mail_date(date_us, date);
    tti_buf b;
    tti_buf_init(&b, 64u << 20);
    tti_buf_printf(&b, "Date: %s\r\nFrom: ", date);
    header_text(&b, from, 256);
    tti_buf_adds(&b, "\r\nTo: ");
    header_text(&b, to, 1024);
    tti_buf_adds(&b, "\r\nSubject: ");
    header_subject(&b, subject);
    tti_buf_adds(&b, "\r\nMessage-ID: <");
    header_text(&b, message_id, 200);
    tti_buf_adds(&b, ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n");
    /* Body: LF or CRLF line ends become CRLF; a line longer than 998 bytes (RFC 5322
     * 2.1.1) is broken at a UTF-8 boundary. libcurl dot-stuffs lines starting with ".". */
    size_t col = 0;
    for (const char *p = body; *p != '\0'; p++) {
        if (*p == '\r' && p[1] == '\n')
            continue;
        if (*p == '\n' || *p == '\r') {
            tti_buf_adds(&b, "\r\n");
            col = 0;
            continue;
        }
        if (col >= 990 && ((unsigned char)*p & 0xC0) != 0x80) {
            tti_buf_adds(&b, "\r\n");
            col = 0;
        }
        tti_buf_add(&b, p, 1);
        col++;
    }
    if (col > 0)
        tti_buf_adds(&b, "\r\n");
    if (b.failed) {
        tti_buf_free(&b);
        return TT_ENOMEM;
    }
    *out = tti_buf_take(&b);
    return TT_OK;
}

int tti_notify_webhook_json(int channel, const char *text, char **out)
{
    if (channel == TT_NOTIFY_GENERIC) {
        *out = strdup(text);
        return *out == NULL ? TT_ENOMEM : TT_OK;
    }
    tti_buf b;
    tti_buf_init(&b, 64u << 20);
    if (channel == TT_NOTIFY_DISCORD) {
        /* No @everyone or role pings from ledger text. */
        tti_buf_adds(&b, "{\"content\":");
        tti_buf_json_str(&b, text);
        tti_buf_adds(&b, ",\"allowed_mentions\":{\"parse\":[]}}");
    } else {
        /* WARNING: Slack reads <!channel>, <@U…> and <url|label> in `text` as mentions and
         * links; ledger text must stay text, so & < > become entities (Slack's "Escaping
         * text" rule; SPEC 14). */
        tti_buf esc;
        tti_buf_init(&esc, 64u << 20);
        for (const char *p = text; *p != '\0'; p++) {
            const char *ent = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
            if (ent != NULL)
                tti_buf_adds(&esc, ent);
            else
                tti_buf_add(&esc, p, 1);
        }
        char *escaped = esc.failed ? NULL : tti_buf_take(&esc);
        if (escaped == NULL) {
            tti_buf_free(&esc);
            tti_buf_free(&b);
            return TT_ENOMEM;
        }
        tti_buf_adds(&b, "{\"text\":");
        tti_buf_json_str(&b, escaped);
        tti_buf_adds(&b, "}");
        free(escaped);
    }
    if (b.failed) {
        tti_buf_free(&b);
        return TT_ENOMEM;
    }
    *out = tti_buf_take(&b);
    return TT_OK;
}

/* ---- Telegram (SPEC 15) ---- */

void tti_notify_telegram_escape(tti_buf *b, const char *s, size_t len)
{
    /* WARNING: parse_mode HTML reads tags in the text; ledger text must stay text. */
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *ent = s[i] == '&'   ? "&amp;"
                          : s[i] == '<' ? "&lt;"
                          : s[i] == '>' ? "&gt;"
                                        : NULL;
        if (ent == NULL)
            continue;
        tti_buf_add(b, s + start, i - start);
        tti_buf_adds(b, ent);
        start = i + 1;
    }
    tti_buf_add(b, s + start, len - start);
}

int tti_notify_telegram_json(const char *chat_id, const char *html, char **out)
{
    tti_buf b;
    tti_buf_init(&b, 1 << 20);
    tti_buf_adds(&b, "{\"chat_id\":");
    tti_buf_json_str(&b, chat_id);
    tti_buf_adds(&b, ",\"text\":");
    tti_buf_json_str(&b, html);
    tti_buf_adds(&b, ",\"parse_mode\":\"HTML\",\"disable_web_page_preview\":true}");
    if (b.failed) {
        tti_buf_free(&b);
        return TT_ENOMEM;
    }
    *out = tti_buf_take(&b);
    return TT_OK;
}

long tti_notify_telegram_retry_after(const char *reply)
{
    /* {"ok":false,"error_code":429,"description":"...","parameters":{"retry_after":N}} */
    const char *p = reply != NULL ? strstr(reply, "\"retry_after\"") : NULL;
    if (p == NULL)
        return 0;
    p += strlen("\"retry_after\"");
    while (*p == ' ' || *p == ':')
        p++;
    long v = 0;
    for (int i = 0; i < 7 && *p >= '0' && *p <= '9'; i++, p++)
        v = v * 10 + (*p - '0');
    return v > 3600 ? 3600 : v;
}
