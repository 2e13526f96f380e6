/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the notifications (SPEC 7) shared by src/notify and the unit tests: the ledger's
 * notification rules, the outbox rows an alert event makes, the backoff schedule, Discord splitting
 * and the e-mail message text.
 */
#ifndef TT_NOTIFY_NOTIFY_H
#define TT_NOTIFY_NOTIFY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "tradetrail.h"
#include "util/buf.h"

#define TTI_NOTIFY_BACKOFF_FIRST_US 1000000LL /* first retry after about 1 s */
#define TTI_NOTIFY_BACKOFF_MAX_US 600000000LL /* doubling up to 10 min */
#define TTI_NOTIFY_LEASE_US 600000000LL       /* a claimed row returns after 10 min */
#define TTI_NOTIFY_DISCORD_MAX_PARTS 10       /* Discord messages per notification */
#define TTI_NOTIFY_MAX_RULES 64
#define TTI_TELEGRAM_MAX_PER_MINUTE 1000
#define TTI_TELEGRAM_PART_MAX 3500 /* bytes of ledger text per message, before escaping */
#define TTI_TELEGRAM_MAX_PARTS 10
#define TTI_TELEGRAM_DIGEST_MAX 500 /* rows one digest folds */
#define TTI_TELEGRAM_ERROR_EVENTS_DEFAULT "FAILED,ERROR,SILENT,GAP"

typedef struct tti_notify_rule {
    char *entity; /* NULL: any entity */
    char *type;
} tti_notify_rule;

/* The ledger's notification settings (tt_ledger_set_notify), owned copies. */
typedef struct tti_notify {
    char *webhook, *email, *smtp_url, *smtp_from, *title;
    int webhook_channel; /* TT_NOTIFY_SLACK, _DISCORD or _GENERIC; -1 without a webhook */
    int smtp_tls;        /* TTI_SMTP_TLS_* */
    long timeout_ms;
    unsigned channels;
    tti_notify_rule rules[TTI_NOTIFY_MAX_RULES];
    size_t n_rules;
    atomic_llong sent[TT_NOTIFY_NCHANNELS], failed[TT_NOTIFY_NCHANNELS];
    /* Telegram (SPEC 15). WARNING: tg_token is a secret; tg_url holds it too. */
    char *tg_token, *tg_chat, *tg_error_chat, *tg_url; /* tg_url: <api>/bot<token>/sendMessage */
    tti_notify_rule tg_rules[TTI_NOTIFY_MAX_RULES], tg_error_rules[TTI_NOTIFY_MAX_RULES];
    size_t n_tg_rules, n_tg_error_rules;
    int tg_rules_default; /* telegram_events unset: alert_events decide */
    long tg_per_minute;
    int64_t tg_late_after_us; /* < 0: never marked late */
    /* The throttle (delivery thread only): when each of the last tg_per_minute messages of
     * each chat went out, a ring per chat. */
    int64_t tg_sent_us[2][TTI_TELEGRAM_MAX_PER_MINUTE];
    size_t tg_sent_head[2], tg_sent_n[2];
} tti_notify;

void tti_notify_free(tti_notify *n);

/* How SMTP uses STARTTLS (tt_notify_config.smtp_tls). */
#define TTI_SMTP_TLS_REQUIRED 0
#define TTI_SMTP_TLS_TRY 1
#define TTI_SMTP_TLS_OFF 2

/* The STARTTLS mode for a setting ("required", "try", "off"; NULL or "" for the default,
 * which depends on url's host: "try" for localhost, 127.0.0.0/8 and ::1, else "required").
 * -1 for any other setting. */
int tti_notify_smtp_tls(const char *setting, const char *url);

/* The ledger's notification settings, or NULL when none are set. tt_ledger_set_notify
 * installs them as the ledger's "notify" transaction hook, which writes one outbox row per
 * configured channel, inside the event's transaction, for each new event matching
 * alert_events. WARNING: valid until tt_ledger_set_notify is called again. */
tti_notify *tti_notify_get(tt_ledger *l);

/* Delay before the next attempt after `failures` failed ones (>= 1): 1 s doubling, capped
 * at 10 min, spread by +-25 % with rnd. */
int64_t tti_notify_backoff_us(int failures, uint32_t rnd);

/* Split text into Discord messages of at most max bytes (so at most max characters),
 * breaking after a newline where possible and never inside a UTF-8 sequence; beyond
 * max_parts the last part holds the text's end (the checkpoint note of a summary) after a
 * "[… trimmed …]" line. *parts (each malloc'ed, and the array) freed with
 * tti_notify_parts_free. */
int tti_notify_split(const char *text, size_t max, size_t max_parts, char ***parts, size_t *n);
void tti_notify_parts_free(char **parts, size_t n);

/* An RFC 5322 message (CRLF line ends, Date, From, To, Subject as RFC 2047 encoded words
 * when not ASCII, Message-ID, MIME headers, body lines of at most 998 bytes). *out
 * malloc'ed. */
int tti_notify_mail(const char *from, const char *to, const char *subject, const char *body,
                    int64_t date_us, const char *message_id, char **out);

/* The JSON body of one webhook message for a channel (Slack text with &, <, > escaped as
 * entities, Discord content with mentions off, or the generic body as stored). *out
 * malloc'ed. */
int tti_notify_webhook_json(int channel, const char *text, char **out);

/* Text for Telegram's parse_mode HTML: &, < and > as entities (the Bot API's rule; quotes
 * need none outside attributes). Appended to b. */
void tti_notify_telegram_escape(tti_buf *b, const char *s, size_t len);

/* The sendMessage body {"chat_id","text","parse_mode":"HTML",...}; *out malloc'ed. */
int tti_notify_telegram_json(const char *chat_id, const char *html, char **out);

/* Telegram's "retry_after" (parameters of a 429 answer) in a reply body, 0 when absent. */
long tti_notify_telegram_retry_after(const char *reply);

/* Channel index of a name, -1 when unknown. */
int tti_notify_channel_index(const char *name);

#endif
