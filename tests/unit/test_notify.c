/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Notifications (SPEC 7): outbox rows are written in the same transaction as the event
 * that triggers them (a failure injected at every step of such an append leaves neither),
 * idempotent repeats queue nothing, the backoff schedule, Discord splitting and the e-mail
 * message text, and a delivery pass against a dead receiver reschedules instead of failing.
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/event.h"
#include "notify/notify.h"
#include "store/notify_store.h"
#include "store/store.h"
#include "tradetrail.h"

/* ---- a store that fails the Nth write-path call ---- */

static long countdown;
static int fired;

static int inject(void)
{
    if (countdown <= 0)
        return TT_OK;
    if (--countdown > 0)
        return TT_OK;
    fired = 1;
    return TT_EIO;
}

static int f_begin_write(tti_store *s)
{
    {
        int rc_ = inject();
        return rc_ ? rc_ : tti_sqlite_ops.begin_write(s);
    }
}
static int f_commit(tti_store *s)
{
    {
        int rc_ = inject();
        return rc_ ? rc_ : tti_sqlite_ops.commit(s);
    }
}
static int f_read_head(tti_store *s, tti_head *h)
{
    {
        int rc_ = inject();
        return rc_ ? rc_ : tti_sqlite_ops.read_head(s, h);
    }
}
static int f_write_head(tti_store *s, const tti_head *h)
{
    {
        int rc_ = inject();
        return rc_ ? rc_ : tti_sqlite_ops.write_head(s, h);
    }
}
static int f_insert_event(tti_store *s, const tt_event *ev)
{
    {
        int rc_ = inject();
        return rc_ ? rc_ : tti_sqlite_ops.insert_event(s, ev);
    }
}
static int f_put_tile(tti_store *s, unsigned level, uint64_t index,
                      const uint8_t (*hashes)[TT_HASH_SIZE], size_t n)
{
    {
        int rc_ = inject();
        return rc_ ? rc_ : tti_sqlite_ops.put_tile(s, level, index, hashes, n);
    }
}
static int f_enqueue(tti_store *s, const tti_outbox_row *row, int64_t next_us)
{
    {
        int rc_ = inject();
        return rc_ ? rc_ : tti_sqlite_ops.notify->enqueue(s, row, next_us);
    }
}

static tti_store_ops fault_ops;
static struct tti_notify_ops fault_notify;

typedef struct fixture {
    char dir[64];
    tt_ledger *l;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tt-notify-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    fault_ops = tti_sqlite_ops;
    fault_notify = *tti_sqlite_ops.notify;
    fault_notify.enqueue = f_enqueue;
    fault_ops.notify = &fault_notify;
    fault_ops.begin_write = f_begin_write;
    fault_ops.commit = f_commit;
    fault_ops.read_head = f_read_head;
    fault_ops.write_head = f_write_head;
    fault_ops.insert_event = f_insert_event;
    fault_ops.put_tile = f_put_tile;
    tti_store_override = &fault_ops;
    countdown = 0;
    tt_open_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = f->dir;
    o.create = 1;
    char err[256];
    assert_int_equal(tt_ledger_open(&o, &f->l, err, sizeof err), TT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    countdown = 0;
    tt_ledger_close(f->l);
    tti_store_override = NULL;
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A port on 127.0.0.1 nobody listens on. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void set_rules(tt_ledger *l, char *url, size_t urllen)
{
    snprintf(url, urllen, "http://127.0.0.1:%d/hook", dead_port());
    tt_notify_config c;
    tt_notify_config_init(&c);
    c.alert_webhook = url;
    c.alert_webhook_format = "discord";
    c.alert_events = "FAILED, maintenance/ACTION";
    c.audit_email = "audit@example.com";
    c.smtp_url = "smtp://127.0.0.1:1";
    c.timeout_ms = 2000;
    assert_int_equal(tt_ledger_set_notify(l, &c), TT_OK);
}

static int64_t pending(tt_ledger *l)
{
    tt_notify_counts c;
    assert_int_equal(tt_notify_counts_get(l, &c), TT_OK);
    return c.pending;
}

static int64_t size_of(tt_ledger *l)
{
    int64_t n;
    uint8_t root[TT_HASH_SIZE];
    assert_int_equal(tt_ledger_head(l, &n, root), TT_OK);
    return n;
}

static int append(tt_ledger *l, const char *entity, const char *type, const char *key)
{
    tt_event ev;
    tt_event_init(&ev);
    ev.entity = entity;
    ev.entity_id = "s1";
    ev.event_type = type;
    ev.actor = "bot";
    ev.reason = "went wrong";
    ev.idempotency_key = key;
    tt_append_result r;
    return tt_ledger_append(l, &ev, 1, &r);
}

static void test_same_transaction(void **state)
{
    fixture *f = *state;
    char url[64];
    set_rules(f->l, url, sizeof url);
    /* Not matching: no rows. Matching by type, and by entity/type: two rows each. */
    assert_int_equal(append(f->l, "strategy", "CREATED", NULL), TT_OK);
    assert_int_equal(pending(f->l), 0);
    assert_int_equal(append(f->l, "strategy", "ACTION", NULL), TT_OK);
    assert_int_equal(pending(f->l), 0);
    int64_t size = size_of(f->l);
    int done = 0;
    for (long n = 1; n < 100 && !done; n++) {
        fired = 0;
        countdown = n;
        int rc = append(f->l, "strategy", "FAILED", NULL);
        countdown = 0;
        if (!fired) {
            assert_int_equal(rc, TT_OK);
            done = 1;
            break;
        }
        assert_int_not_equal(rc, TT_OK);
        assert_int_equal(size_of(f->l), size);
        assert_int_equal(pending(f->l), 0);
    }
    assert_true(done);
    assert_int_equal(size_of(f->l), size + 1);
    assert_int_equal(pending(f->l), 2);
    assert_int_equal(append(f->l, "maintenance", "ACTION", NULL), TT_OK);
    assert_int_equal(pending(f->l), 4);
}

static void test_idempotent_repeat(void **state)
{
    fixture *f = *state;
    char url[64];
    set_rules(f->l, url, sizeof url);
    assert_int_equal(append(f->l, "strategy", "FAILED", "key-1"), TT_OK);
    assert_int_equal(pending(f->l), 2);
    assert_int_equal(append(f->l, "strategy", "FAILED", "key-1"), TT_OK);
    assert_int_equal(pending(f->l), 2);
    assert_int_equal(size_of(f->l), 1);
}

static void test_summary_and_config(void **state)
{
    fixture *f = *state;
    tt_notify_config c;
    tt_notify_config_init(&c);
    assert_int_equal(tt_notify_summary(f->l, &c, NULL, "t\nbody"), TT_EINVAL);
    assert_int_equal(size_of(f->l), 0);
    c.alert_webhook_format = "teams";
    unsigned ch;
    char err[256];
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_EINVAL);
    c.alert_webhook_format = "generic";
    c.alert_events = "strategy/";
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_EINVAL);
    c.alert_events = NULL;
    c.alert_webhook = "http://127.0.0.1:1/x";
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_OK);
    assert_int_equal(ch, 1u << TT_NOTIFY_GENERIC);
    c.audit_email = "a@b";
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_OK);
    assert_int_equal(ch, 1u << TT_NOTIFY_GENERIC); /* e-mail needs smtp_url too */
    c.smtp_url = "smtp://127.0.0.1:1";
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_OK);
    assert_int_equal(ch, (1u << TT_NOTIFY_GENERIC) | (1u << TT_NOTIFY_EMAIL));
    /* The summary and its event in one transaction: a failure leaves neither. */
    for (long n = 1; n < 50; n++) {
        fired = 0;
        countdown = n;
        int rc = tt_notify_summary(f->l, &c, NULL, "Title (2026-01-01)\nline");
        countdown = 0;
        if (!fired) {
            assert_int_equal(rc, TT_OK);
            break;
        }
        assert_int_equal(size_of(f->l), 0);
        assert_int_equal(pending(f->l), 0);
    }
    assert_int_equal(size_of(f->l), 1);
    assert_int_equal(pending(f->l), 2);
    tt_event *ev = NULL;
    assert_int_equal(tt_ledger_get(f->l, 1, &ev), TT_OK);
    assert_string_equal(ev->entity, "notification");
    assert_string_equal(ev->event_type, "QUEUED");
    assert_string_equal(ev->reason, "Title (2026-01-01)");
    tt_event_free(ev);
}

static void test_dead_receiver(void **state)
{
    fixture *f = *state;
    char url[64];
    set_rules(f->l, url, sizeof url);
    assert_int_equal(append(f->l, "strategy", "FAILED", NULL), TT_OK);
    tt_notify_stats st;
    int64_t before = tt_time_now_us();
    assert_int_equal(tt_notify_deliver_due(f->l, 10, &st), TT_OK);
    assert_int_equal(st.attempted, 2);
    assert_int_equal(st.failed, 2);
    assert_int_equal(st.delivered, 0);
    assert_true(st.next_due_us >= before + 700000);
    assert_true(st.next_due_us <= tt_time_now_us() + 1300000);
    /* Nothing due now: a second pass sends nothing. */
    assert_int_equal(tt_notify_deliver_due(f->l, 10, &st), TT_OK);
    assert_int_equal(st.attempted, 0);
    assert_int_equal(pending(f->l), 2);
    tt_notify_counts c;
    assert_int_equal(tt_notify_counts_get(f->l, &c), TT_OK);
    assert_int_equal(c.failed[TT_NOTIFY_DISCORD], 1);
    assert_int_equal(c.failed[TT_NOTIFY_EMAIL], 1);
    assert_int_equal(c.sent[TT_NOTIFY_DISCORD], 0);
}

static void test_backoff(void **state)
{
    (void)state;
    /* 1 s doubling, +-25 %, capped at 10 min. */
    int64_t base = 1000000;
    for (int k = 1; k <= 30; k++) {
        int64_t b = base > 600000000 ? 600000000 : base;
        int64_t lo = b - b / 4, hi = b + b / 4 > 600000000 ? 600000000 : b + b / 4;
        assert_int_equal(tti_notify_backoff_us(k, 0), lo);
        for (uint32_t r = 0; r < 1000; r += 97) {
            int64_t d = tti_notify_backoff_us(k, r * 2654435761u);
            assert_true(d >= lo && d <= hi);
        }
        base *= 2;
    }
    assert_int_equal(tti_notify_backoff_us(1, 0), 750000);
    assert_int_equal(tti_notify_backoff_us(2, 0), 1500000);
    assert_int_equal(tti_notify_backoff_us(30, 0), 450000000);
}

static void test_discord_split(void **state)
{
    (void)state;
    char **parts;
    size_t n;
    assert_int_equal(tti_notify_split("short", 2000, 10, &parts, &n), TT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(parts[0], "short");
    tti_notify_parts_free(parts, n);

    /* 300 lines of 20 bytes: split at newlines, nothing lost. */
    char *text = malloc(300 * 20 + 1);
    for (int i = 0; i < 300; i++)
        snprintf(text + i * 20, 21, "line %03d ..........\n", i);
    assert_int_equal(tti_notify_split(text, 2000, 10, &parts, &n), TT_OK);
    assert_int_equal(n, 3);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(parts[i]) <= 2000);
        assert_int_equal(strncmp(parts[i], text + total, strlen(parts[i])), 0);
        total += strlen(parts[i]) + 1;
    }
    assert_int_equal(total - 1, 300 * 20); /* each break dropped one newline */
    tti_notify_parts_free(parts, n);
    free(text);

    /* No newline, multi-byte characters: never cut inside one. */
    size_t len = 3 * 1500;
    text = malloc(len + 1);
    for (size_t i = 0; i < len; i += 3)
        memcpy(text + i, "\xe2\x82\xac", 3); /* U+20AC */
    text[len] = '\0';
    assert_int_equal(tti_notify_split(text, 2000, 10, &parts, &n), TT_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(parts[i]) <= 2000);
        assert_true(tt_utf8_valid(parts[i], strlen(parts[i])));
    }
    tti_notify_parts_free(parts, n);
    free(text);

    /* Too long for 10 parts: the end (a summary's checkpoint note) is kept. */
    len = 100000;
    text = malloc(len + 64);
    memset(text, 'x', len);
    memcpy(text + len - 20, "\n-- checkpoint note\n", 20);
    text[len] = '\0';
    assert_int_equal(tti_notify_split(text, 2000, 10, &parts, &n), TT_OK);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++)
        assert_true(strlen(parts[i]) <= 2000);
    assert_non_null(strstr(parts[9], "trimmed"));
    assert_non_null(strstr(parts[9], "-- checkpoint note\n"));
    tti_notify_parts_free(parts, n);
    free(text);
}

static void test_mail_message(void **state)
{
    (void)state;
    char *body = malloc(3000);
    memset(body, 'y', 2999);
    body[2999] = '\0';
    body[10] = '\n';
    char *msg = NULL;
    /* 2026-01-18T10:31:00Z is a Sunday. */
    assert_int_equal(tti_notify_mail("tradetrail@example.com", "a@example.com, b@example.com",
                                     "Daily \xe2\x80\x93 summary\r\nBcc: evil@example.com", body,
                                     1768732260000000LL, "tradetrail.1.2@example.com", &msg),
                     TT_OK);
    assert_non_null(strstr(msg, "Date: Sun, 18 Jan 2026 10:31:00 +0000\r\n"));
    assert_non_null(strstr(msg, "\r\nFrom: tradetrail@example.com\r\n"));
    assert_non_null(strstr(msg, "\r\nTo: a@example.com, b@example.com\r\n"));
    assert_non_null(strstr(msg, "\r\nSubject: =?UTF-8?B?"));
    assert_null(strstr(msg, "\r\nBcc:"));
    assert_non_null(strstr(msg, "\r\nMessage-ID: <tradetrail.1.2@example.com>\r\n"));
    assert_non_null(strstr(msg, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(msg, "Content-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(msg, "\r\n\r\nyyyyyyyyyy\r\n"));
    /* CRLF only, and no line longer than 998 bytes. */
    size_t col = 0;
    for (const char *p = msg; *p; p++) {
        if (*p == '\n') {
            assert_true(p > msg && p[-1] == '\r');
            col = 0;
        } else {
            assert_true(++col <= 999);
        }
    }
    free(msg);
    free(body);
    /* Plain ASCII subjects stay readable. */
    assert_int_equal(tti_notify_mail("f@x", "t@x", "Hello", "b", 0, "m@x", &msg), TT_OK);
    assert_non_null(strstr(msg, "\r\nSubject: Hello\r\n"));
    assert_non_null(strstr(msg, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    free(msg);
}

/* Issue 13 item 9: STARTTLS is required unless the relay is on this host or the setting
 * says otherwise; any other setting is refused. */
static void test_smtp_tls(void **state)
{
    (void)state;
    struct {
        const char *setting, *url;
        int want;
    } cases[] = {
        {NULL, "smtp://mail.example.com:587", TTI_SMTP_TLS_REQUIRED},
        {"", "smtp://user:pw@mail.example.com", TTI_SMTP_TLS_REQUIRED},
        {NULL, "smtp://localhost:25", TTI_SMTP_TLS_TRY},
        {NULL, "smtp://LocalHost", TTI_SMTP_TLS_TRY},
        {NULL, "smtp://127.0.0.1:2525/", TTI_SMTP_TLS_TRY},
        {NULL, "smtp://u:p@127.1.2.3:25", TTI_SMTP_TLS_TRY},
        {NULL, "smtp://[::1]:25", TTI_SMTP_TLS_TRY},
        {NULL, "smtp://localhost.evil.example:25", TTI_SMTP_TLS_REQUIRED},
        {NULL, "smtp://127.0.0.1.evil.example", TTI_SMTP_TLS_REQUIRED},
        {NULL, "smtp://localhost@mail.example.com", TTI_SMTP_TLS_REQUIRED},
        {NULL, "smtp://a@b@mail.example.com", TTI_SMTP_TLS_REQUIRED},
        {NULL, NULL, TTI_SMTP_TLS_REQUIRED},
        {"try", "smtp://mail.example.com", TTI_SMTP_TLS_TRY},
        {"off", "smtp://mail.example.com", TTI_SMTP_TLS_OFF},
        {"required", "smtp://localhost", TTI_SMTP_TLS_REQUIRED},
        {"yes", "smtp://localhost", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (tti_notify_smtp_tls(cases[i].setting, cases[i].url) != cases[i].want)
            fail_msg("case %zu (%s, %s): got %d, want %d", i,
                     cases[i].setting ? cases[i].setting : "(unset)",
                     cases[i].url ? cases[i].url : "(none)",
                     tti_notify_smtp_tls(cases[i].setting, cases[i].url), cases[i].want);
    tt_notify_config c;
    tt_notify_config_init(&c);
    c.smtp_tls = "maybe";
    unsigned ch;
    char err[128];
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_EINVAL);
    assert_string_equal(err, "smtp_tls: must be required, try or off");
}

static void test_webhook_json(void **state)
{
    (void)state;
    char *j = NULL;
    assert_int_equal(tti_notify_webhook_json(TT_NOTIFY_SLACK, "a\"b\n", &j), TT_OK);
    assert_string_equal(j, "{\"text\":\"a\\\"b\\n\"}");
    free(j);
    /* Issue 13 item 8: no mention or disguised link reaches Slack from ledger text. */
    assert_int_equal(tti_notify_webhook_json(
                         TT_NOTIFY_SLACK, "<!channel> see <https://evil.example|docs> & more", &j),
                     TT_OK);
    assert_string_equal(j, "{\"text\":\"&lt;!channel&gt; see &lt;https://evil.example|docs&gt; "
                           "&amp; more\"}");
    free(j);
    assert_int_equal(tti_notify_webhook_json(TT_NOTIFY_DISCORD, "hi @everyone", &j), TT_OK);
    assert_string_equal(j, "{\"content\":\"hi @everyone\",\"allowed_mentions\":{\"parse\":[]}}");
    free(j);
}

/* Telegram (SPEC 15): HTML escaping for parse_mode HTML, the sendMessage body, and the
 * retry_after of a 429 answer. */
static void test_telegram_text(void **state)
{
    (void)state;
    tti_buf b;
    tti_buf_init(&b, 1024);
    static const char in[] = "<b>x</b> & \"q\" <a href=\"t.me\">";
    tti_notify_telegram_escape(&b, in, strlen(in));
    assert_false(b.failed);
    assert_string_equal(b.data, "&lt;b&gt;x&lt;/b&gt; &amp; \"q\" &lt;a href=\"t.me\"&gt;");
    char *json = NULL;
    assert_int_equal(tti_notify_telegram_json("-100123", b.data, &json), TT_OK);
    assert_string_equal(json, "{\"chat_id\":\"-100123\",\"text\":\"&lt;b&gt;x&lt;/b&gt; &amp; "
                              "\\\"q\\\" &lt;a href=\\\"t.me\\\"&gt;\",\"parse_mode\":\"HTML\","
                              "\"disable_web_page_preview\":true}");
    free(json);
    tti_buf_free(&b);
    assert_int_equal(tti_notify_telegram_retry_after("{\"ok\":false,\"error_code\":429,"
                                                     "\"parameters\":{\"retry_after\": 17}}"),
                     17);
    assert_int_equal(tti_notify_telegram_retry_after("{\"ok\":false}"), 0);
    assert_int_equal(tti_notify_telegram_retry_after(NULL), 0);
    assert_int_equal(tti_notify_telegram_retry_after("{\"retry_after\":99999999}"), 3600);
}

/* Which events reach which chat: telegram_events switches, the error chat, the checks. */
static void test_telegram_routing(void **state)
{
    fixture *f = *state;
    char api[64], err[256];
    snprintf(api, sizeof api, "http://127.0.0.1:%d", dead_port());
    tt_notify_config c;
    tt_notify_config_init(&c);
    c.telegram_bot_token = "1:tok";
    c.telegram_chat_id = "-1";
    c.telegram_api = api;
    c.telegram_events = "FILLED";
    unsigned ch = 0;
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_OK);
    assert_int_equal(ch, 1u << TT_NOTIFY_TELEGRAM);
    assert_int_equal(tt_ledger_set_notify(f->l, &c), TT_OK);
    assert_int_equal(append(f->l, "order", "CREATED", NULL), TT_OK);
    assert_int_equal(pending(f->l), 0);
    assert_int_equal(append(f->l, "order", "FILLED", NULL), TT_OK);
    assert_int_equal(pending(f->l), 1);
    assert_int_equal(append(f->l, "job", "FAILED", NULL), TT_OK); /* an error: the chat */
    assert_int_equal(pending(f->l), 2);
    c.telegram_error_chat_id = "-2";
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_OK);
    assert_int_equal(ch, 1u << TT_NOTIFY_TELEGRAM | 1u << TT_NOTIFY_TELEGRAM_ERRORS);
    assert_int_equal(tt_ledger_set_notify(f->l, &c), TT_OK);
    assert_int_equal(append(f->l, "job", "FAILED", NULL), TT_OK);
    assert_int_equal(pending(f->l), 3);
    tt_notify_stats st;
    assert_int_equal(tt_notify_deliver_due(f->l, 10, &st), TT_OK);
    assert_int_equal(st.attempted, 2); /* one per chat: a failed chat holds its other rows */
    tt_notify_counts n;
    assert_int_equal(tt_notify_counts_get(f->l, &n), TT_OK);
    assert_int_equal(n.failed[TT_NOTIFY_TELEGRAM], 1);
    assert_int_equal(n.failed[TT_NOTIFY_TELEGRAM_ERRORS], 1);
    /* Refused settings, never quoting the token. */
    c.telegram_chat_id = NULL;
    c.telegram_error_chat_id = NULL;
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_EINVAL);
    c.telegram_chat_id = "-1";
    c.telegram_bot_token = "1:zzq/../x";
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_EINVAL);
    assert_null(strstr(err, "zzq"));
    c.telegram_bot_token = "1:tok";
    c.telegram_per_minute = 1001;
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_EINVAL);
    c.telegram_per_minute = 0;
    c.telegram_api = "ftp://x";
    assert_int_equal(tt_notify_channels(&c, &ch, err, sizeof err), TT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_repeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_and_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_receiver, setup, teardown),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_discord_split),
        cmocka_unit_test(test_mail_message),
        cmocka_unit_test(test_webhook_json),
        cmocka_unit_test(test_smtp_tls),
        cmocka_unit_test(test_telegram_text),
        cmocka_unit_test_setup_teardown(test_telegram_routing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
