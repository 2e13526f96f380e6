/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Backfilling a trading bot's history (SPEC 15, `tradetrail import`): freqtrade's trades and
 * orders tables and hummingbot's TradeFill and Order tables, read read-only through
 * src/store/foreign.h, become entity `trade` events appended in batches. Each event's
 * idempotency key is derived from the bot name and the row's identity, so a second import
 * of the same database writes nothing and a later one adds only what is new.
 * docs/INTEGRATIONS.md has the mapping.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "domain/trade_events.h"
#include "ledger/ledger.h"
#include "store/foreign.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/err.h"

#define BATCH 500
#define LINE_MAX_BYTES (TT_MAX_METADATA + TT_MAX_REASON + 4096)

typedef struct imp {
    tt_ledger *l;
    const tt_import_options *o;
    const char *bot;
    tti_foreign *f;
    tti_buf b;      /* NDJSON lines not yet appended */
    size_t pending; /* lines in b */
    tt_import_report rep;
    int64_t total; /* rows to read, for progress */
    char err[512];
} imp;

/* ---- output ---- */

/* Append the pending lines as one atomic batch, counting new events and repeats. */
static int flush(imp *m)
{
    if (m->pending == 0)
        return TT_OK;
    if (m->b.failed)
        return tti_err(m->err, sizeof m->err, TT_ENOMEM, "out of memory");
    tt_event *events;
    size_t n;
    void *owner;
    int is_batch;
    int rc = tt_events_parse_body(m->b.data, m->b.len, 1, &events, &n, &owner, &is_batch, m->err,
                                  sizeof m->err);
    if (rc != TT_OK)
        return rc;
    tt_append_result *res = calloc(n, sizeof *res);
    if (res == NULL)
        rc = tti_err(m->err, sizeof m->err, TT_ENOMEM, "out of memory");
    else if ((rc = tt_ledger_append_parsed(m->l, events, n, owner, res)) != TT_OK)
        snprintf(m->err, sizeof m->err, "%s", tt_ledger_errmsg(m->l));
    for (size_t i = 0; rc == TT_OK && i < n; i++) {
        m->rep.events++;
        if (res[i].existed)
            m->rep.existing++;
        else
            m->rep.added++;
    }
    free(res);
    tt_events_free_body(events, n, owner);
    tti_buf_reset(&m->b);
    m->pending = 0;
    return rc;
}

/* A row done: report progress and append a full batch. */
static int row_done(imp *m)
{
    m->rep.rows++;
    if (m->o->progress != NULL && m->o->progress(m->o->progress_ctx, m->rep.rows, m->total))
        return tti_err(m->err, sizeof m->err, TT_EMISUSE, "cancelled");
    return m->pending >= BATCH ? flush(m) : TT_OK;
}

/* The idempotency key of a row's event: prefix and the SHA-256 of the bot name and the
 * row's identity parts (NUL-separated, so no two identities run together), which keeps the
 * key within TT_MAX_IDEMPOTENCY_KEY whatever the length of the exchange's ids. */
static void make_key(char out[80], const char *prefix, const char *const *parts, size_t n)
{
    tti_sha256_ctx *c = tti_sha256_new();
    uint8_t h[32] = {0};
    if (c != NULL) {
        for (size_t i = 0; i < n; i++)
            tti_sha256_update(c, parts[i] ? parts[i] : "", strlen(parts[i] ? parts[i] : "") + 1);
        tti_sha256_final(c, h);
    }
    size_t k = (size_t)snprintf(out, 80, "%s:", prefix);
    tti_hex_encode(h, sizeof h, out + k);
}

/* ---- reading rows ---- */

/* A source date as SQLAlchemy stores a DateTime in SQLite ("2026-01-18 10:31:00.123456",
 * naive UTC), or with an offset or a T; TT_TIME_NONE when unreadable (the text stays in
 * metadata). */
static int64_t source_date(const char *s)
{
    char buf[64];
    int64_t us;
    if (s == NULL || strlen(s) < 19 || strlen(s) > 40)
        return TT_TIME_NONE;
    const char *zone = s + 19;
    while (*zone == '.' || (*zone >= '0' && *zone <= '9'))
        zone++;
    /* naive (no offset): freqtrade stores UTC */
    snprintf(buf, sizeof buf, "%s%s", s, *zone == '\0' ? "Z" : "");
    if (buf[10] == ' ')
        buf[10] = 'T';
    return tt_time_parse_rfc3339(buf, &us) == TT_OK ? us : TT_TIME_NONE;
}

static int64_t ms_time(tti_frows *q, int i)
{
    return tti_foreign_is_null(q, i) ? TT_TIME_NONE : tti_foreign_int(q, i) * 1000;
}

/* Metadata members from columns: text, a number (SQL NULL left out), and hummingbot's
 * SqliteDecimal(6), an integer of millionths (a REAL in databases from before it). */
static void col_str(tti_tev *t, tti_frows *q, int i, const char *name)
{
    tti_tev_str(t, name, tti_foreign_text(q, i));
}

static void col_num(tti_tev *t, tti_frows *q, int i, const char *name)
{
    if (!tti_foreign_is_null(q, i))
        tti_tev_num(t, name, tti_foreign_real(q, i));
}

static void col_dec6(tti_tev *t, tti_frows *q, int i, const char *name)
{
    if (tti_foreign_is_null(q, i))
        return;
    double v =
        tti_foreign_is_int(q, i) ? (double)tti_foreign_int(q, i) / 1e6 : tti_foreign_real(q, i);
    tti_tev_num(t, name, v);
}

/* The select list of columns, NULL for an optional column an older schema lacks; fails
 * naming the first required column (marked with a leading '!') that is missing. */
static int select_list(imp *m, const char *table, const char *alias, const char *const *cols,
                       tti_buf *sql)
{
    for (size_t i = 0; cols[i] != NULL; i++) {
        int required = cols[i][0] == '!';
        const char *name = cols[i] + required;
        if (i > 0)
            tti_buf_adds(sql, ", ");
        if (tti_foreign_has(m->f, table, name))
            tti_buf_printf(sql, "%s.\"%s\"", alias, name);
        else if (required)
            return tti_err(m->err, sizeof m->err, TT_EINVAL,
                           "%s: the table %s has no column %s: not a %s database?", m->o->path,
                           table, name, m->o->source);
        else
            tti_buf_adds(sql, "NULL");
    }
    return TT_OK;
}

static int require_tables(imp *m, const char *a, const char *b)
{
    if (tti_foreign_has(m->f, a, NULL) && tti_foreign_has(m->f, b, NULL))
        return TT_OK;
    return tti_err(m->err, sizeof m->err, TT_EINVAL,
                   "%s has no %s and %s tables: not a %s database", m->o->path, a, b, m->o->source);
}

static int count_rows(imp *m, const char *sql)
{
    tti_frows *q;
    int rc = tti_foreign_query(m->f, sql, &q, m->err, sizeof m->err);
    if (rc == TT_OK && (rc = tti_foreign_next(q, m->err, sizeof m->err)) == TT_OK)
        m->total += tti_foreign_int(q, 0);
    tti_foreign_finish(q);
    return rc;
}

/* Run sql (built in b) and hand each row to fn. */
static int each_row(imp *m, tti_buf *sql, int (*fn)(imp *, tti_frows *))
{
    if (sql->failed)
        return tti_err(m->err, sizeof m->err, TT_ENOMEM, "out of memory");
    tti_frows *q;
    int rc = tti_foreign_query(m->f, sql->data, &q, m->err, sizeof m->err);
    while (rc == TT_OK && (rc = tti_foreign_next(q, m->err, sizeof m->err)) == TT_OK)
        if ((rc = fn(m, q)) == TT_OK)
            rc = row_done(m);
    tti_foreign_finish(q);
    return rc == TT_ENOTFOUND ? TT_OK : rc;
}

/* A query over a source's rows: columns of a table (and of a joined one), the rest of the
 * statement, and what makes an event of each row. */
struct step {
    const char *table, *alias;
    const char *const *cols;
    const char *table2, *alias2; /* NULL: no joined table */
    const char *const *cols2;
    const char *tail;
    int (*fn)(imp *, tti_frows *);
};

/* A source: the two tables it must have, how many rows it will read, its queries. */
struct source {
    const char *table_a, *table_b;
    const char *count_sql;
    const struct step *steps;
    size_t nsteps;
};

/* ---- freqtrade: orders, then closed trades ---- */

enum {
    O_PAIR,
    O_ORDER_ID,
    O_SIDE,
    O_STATUS,
    O_TYPE,
    O_OSIDE,
    O_PRICE,
    O_AVG,
    O_AMOUNT,
    O_FILLED,
    O_COST,
    O_DATE,
    O_FILLED_DATE,
    O_UPDATE_DATE,
    O_TRADE,
    T_EXCHANGE,
    T_SHORT,
    T_LEVERAGE,
    T_STAKE_CUR,
    T_STRATEGY,
    T_TAG
};

static const char *const order_cols[] = {"!ft_pair",
                                         "!order_id",
                                         "!ft_order_side",
                                         "!status",
                                         "order_type",
                                         "side",
                                         "price",
                                         "average",
                                         "amount",
                                         "filled",
                                         "cost",
                                         "!order_date",
                                         "order_filled_date",
                                         "order_update_date",
                                         "!ft_trade_id",
                                         NULL};
static const char *const order_trade_cols[] = {
    "exchange", "is_short", "leverage", "stake_currency", "strategy", "enter_tag", NULL};

static int ft_order(imp *m, tti_frows *q)
{
    const char *status = tti_foreign_text(q, O_STATUS);
    const char *side = tti_foreign_text(q, O_SIDE);
    int is_short = tti_foreign_int(q, T_SHORT) != 0;
    int entry = side != NULL && strcmp(side, is_short ? "sell" : "buy") == 0;
    const char *type;
    int64_t when;
    int is_open = status == NULL || strcmp(status, "open") == 0;
    if (status != NULL && strcmp(status, "closed") == 0) {
        type = entry ? "ENTRY_FILL" : "EXIT_FILL";
        when = source_date(tti_foreign_text(q, O_FILLED_DATE));
    } else if (!is_open) { /* canceled, expired, rejected */
        type = entry ? "ENTRY_CANCEL" : "EXIT_CANCEL";
        when = source_date(tti_foreign_text(q, O_UPDATE_DATE));
    } else {
        type = entry ? "ENTRY" : "EXIT";
        when = TT_TIME_NONE;
    }
    if (when == TT_TIME_NONE)
        when = source_date(tti_foreign_text(q, O_DATE));
    const char *pair = tti_foreign_text(q, O_PAIR);
    char trade_id[32], reason[256], key[80];
    snprintf(trade_id, sizeof trade_id, "%lld", (long long)tti_foreign_int(q, O_TRADE));
    snprintf(reason, sizeof reason, "freqtrade %s order %.80s %.40s (%.40s)", side ? side : "",
             tti_foreign_text(q, O_ORDER_ID), pair, status ? status : "open");
    const char *id[] = {m->bot, "order", pair, tti_foreign_text(q, O_ORDER_ID), type};
    make_key(key, "ftimport", id, 5);
    tti_tev t;
    tti_tev_begin(&t, &m->b, "trade", trade_id, type, m->bot, reason, when);
    tti_tev_str(&t, "source", "freqtrade");
    tti_tev_str(&t, "bot", m->bot);
    tti_tev_str(&t, "pair", pair);
    col_str(&t, q, T_EXCHANGE, "exchange");
    tti_tev_str(&t, "direction", is_short ? "short" : "long");
    col_str(&t, q, O_ORDER_ID, "order_id");
    col_str(&t, q, O_TYPE, "order_type");
    col_str(&t, q, O_SIDE, "side");
    col_str(&t, q, O_STATUS, "status");
    col_num(&t, q, O_PRICE, "price");
    col_num(&t, q, O_AMOUNT, "amount");
    if (!is_open) { /* what an open order has filled so far changes: not in its event */
        col_num(&t, q, O_AVG, "average");
        col_num(&t, q, O_FILLED, "filled");
        col_num(&t, q, O_COST, "cost");
    }
    col_num(&t, q, T_LEVERAGE, "leverage");
    col_str(&t, q, T_STAKE_CUR, "stake_currency");
    col_str(&t, q, T_STRATEGY, "strategy");
    col_str(&t, q, T_TAG, "enter_tag");
    col_str(&t, q, O_DATE, "order_date");
    tti_tev_end(&t, key);
    m->pending++;
    return TT_OK;
}

enum {
    C_ID,
    C_PAIR,
    C_EXCHANGE,
    C_SHORT,
    C_LEVERAGE,
    C_STAKE_CUR,
    C_STRATEGY,
    C_TAG,
    C_OPEN_RATE,
    C_CLOSE_RATE,
    C_AMOUNT,
    C_STAKE,
    C_PROFIT,
    C_PROFIT_ABS,
    C_EXIT_REASON,
    C_OPEN_DATE,
    C_CLOSE_DATE
};

static const char *const trade_cols[] = {"!id",          "!pair",
                                         "exchange",     "is_short",
                                         "leverage",     "stake_currency",
                                         "strategy",     "enter_tag",
                                         "open_rate",    "close_rate",
                                         "amount",       "stake_amount",
                                         "close_profit", "close_profit_abs",
                                         "exit_reason",  "open_date",
                                         "close_date",   NULL};

static int ft_closed(imp *m, tti_frows *q)
{
    char trade_id[32], reason[256], key[80];
    snprintf(trade_id, sizeof trade_id, "%lld", (long long)tti_foreign_int(q, C_ID));
    const char *pair = tti_foreign_text(q, C_PAIR), *why = tti_foreign_text(q, C_EXIT_REASON);
    snprintf(reason, sizeof reason, "freqtrade trade %s %.40s closed%s%.100s", trade_id, pair,
             why ? ": " : "", why ? why : "");
    const char *id[] = {m->bot, "trade", trade_id, "CLOSED"};
    make_key(key, "ftimport", id, 4);
    tti_tev t;
    int is_short = tti_foreign_int(q, C_SHORT) != 0;
    tti_tev_begin(&t, &m->b, "trade", trade_id, "CLOSED", m->bot, reason,
                  source_date(tti_foreign_text(q, C_CLOSE_DATE)));
    tti_tev_str(&t, "source", "freqtrade");
    tti_tev_str(&t, "bot", m->bot);
    tti_tev_str(&t, "pair", pair);
    col_str(&t, q, C_EXCHANGE, "exchange");
    tti_tev_str(&t, "direction", is_short ? "short" : "long");
    col_num(&t, q, C_LEVERAGE, "leverage");
    col_str(&t, q, C_STAKE_CUR, "stake_currency");
    col_str(&t, q, C_STRATEGY, "strategy");
    col_str(&t, q, C_TAG, "enter_tag");
    col_num(&t, q, C_OPEN_RATE, "open_rate");
    col_num(&t, q, C_CLOSE_RATE, "close_rate");
    col_num(&t, q, C_AMOUNT, "amount");
    col_num(&t, q, C_STAKE, "stake_amount");
    col_num(&t, q, C_PROFIT, "close_profit");
    col_num(&t, q, C_PROFIT_ABS, "close_profit_abs");
    col_str(&t, q, C_EXIT_REASON, "exit_reason");
    col_str(&t, q, C_OPEN_DATE, "open_date");
    col_str(&t, q, C_CLOSE_DATE, "close_date");
    tti_tev_end(&t, key);
    m->pending++;
    return TT_OK;
}

static const struct step ft_steps[] = {
    {"orders", "o", order_cols, "trades", "t", order_trade_cols,
     " FROM orders o JOIN trades t ON t.id = o.ft_trade_id ORDER BY o.id", ft_order},
    {"trades", "t", trade_cols, NULL, NULL, NULL,
     " FROM trades t WHERE t.is_open = 0 ORDER BY t.id", ft_closed},
};

static const struct source ft_source = {
    "trades", "orders",
    "SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM trades WHERE is_open = 0)",
    ft_steps, 2};

/* ---- hummingbot: orders, then fills ---- */

enum {
    H_ID,
    H_CONFIG,
    H_STRATEGY,
    H_MARKET,
    H_SYMBOL,
    H_BASE,
    H_QUOTE,
    H_TIME,
    H_TYPE,
    H_AMOUNT,
    H_PRICE,
    H_LEVERAGE,
    H_POSITION,
    H_X1,
    H_X2,
    H_X3,
    H_X4
};

static const char *const hb_order_cols[] = {
    "!id",         "config_file_path",    "strategy",   "!market", "symbol", "base_asset",
    "quote_asset", "!creation_timestamp", "order_type", "amount",  "price",  "leverage",
    "position",    "exchange_order_id",   NULL};
static const char *const hb_fill_cols[] = {"!order_id",
                                           "config_file_path",
                                           "strategy",
                                           "!market",
                                           "symbol",
                                           "base_asset",
                                           "quote_asset",
                                           "!timestamp",
                                           "order_type",
                                           "amount",
                                           "price",
                                           "leverage",
                                           "position",
                                           "!exchange_trade_id",
                                           "trade_type",
                                           "trade_fee",
                                           "trade_fee_in_quote",
                                           NULL};

/* What orders and fills share. */
static void hb_common(imp *m, tti_tev *t, tti_frows *q)
{
    tti_tev_str(t, "source", "hummingbot");
    tti_tev_str(t, "bot", m->bot);
    col_str(t, q, H_STRATEGY, "strategy");
    col_str(t, q, H_MARKET, "market");
    col_str(t, q, H_SYMBOL, "symbol");
    col_str(t, q, H_BASE, "base_asset");
    col_str(t, q, H_QUOTE, "quote_asset");
    col_str(t, q, H_TYPE, "order_type");
    col_dec6(t, q, H_PRICE, "price");
    col_dec6(t, q, H_AMOUNT, "amount");
    col_num(t, q, H_LEVERAGE, "leverage");
    col_str(t, q, H_POSITION, "position");
    col_str(t, q, H_CONFIG, "config_file_path");
}

static int hb_order(imp *m, tti_frows *q)
{
    const char *id = tti_foreign_text(q, H_ID), *symbol = tti_foreign_text(q, H_SYMBOL);
    char reason[256], key[80];
    snprintf(reason, sizeof reason, "hummingbot order %.80s created on %.40s %.40s", id,
             tti_foreign_text(q, H_MARKET), symbol ? symbol : "");
    const char *parts[] = {m->bot, "order", id};
    make_key(key, "hbimport", parts, 3);
    tti_tev t;
    tti_tev_begin(&t, &m->b, "trade", id, "ORDER_CREATED", m->bot, reason, ms_time(q, H_TIME));
    hb_common(m, &t, q);
    col_str(&t, q, H_X1, "exchange_order_id");
    tti_tev_end(&t, key);
    m->pending++;
    return TT_OK;
}

static int hb_fill(imp *m, tti_frows *q)
{
    const char *id = tti_foreign_text(q, H_ID), *side = tti_foreign_text(q, H_X2);
    char reason[256], key[80];
    snprintf(reason, sizeof reason, "hummingbot fill %.40s of %.80s on %.40s", side ? side : "", id,
             tti_foreign_text(q, H_MARKET));
    const char *parts[] = {m->bot, "fill", tti_foreign_text(q, H_MARKET), id,
                           tti_foreign_text(q, H_X1)};
    make_key(key, "hbimport", parts, 5);
    tti_tev t;
    tti_tev_begin(&t, &m->b, "trade", id, "FILL", m->bot, reason, ms_time(q, H_TIME));
    hb_common(m, &t, q);
    col_str(&t, q, H_X1, "exchange_trade_id");
    col_str(&t, q, H_X2, "trade_type");
    col_str(&t, q, H_X3, "trade_fee");
    col_dec6(&t, q, H_X4, "trade_fee_in_quote");
    tti_tev_end(&t, key);
    m->pending++;
    return TT_OK;
}

static const struct step hb_steps[] = {
    {"Order", "o", hb_order_cols, NULL, NULL, NULL,
     " FROM \"Order\" o ORDER BY o.creation_timestamp, o.id", hb_order},
    {"TradeFill", "f", hb_fill_cols, NULL, NULL, NULL,
     " FROM \"TradeFill\" f ORDER BY f.timestamp, f.order_id, f.exchange_trade_id", hb_fill},
};

static const struct source hb_source = {
    "TradeFill", "Order",
    "SELECT (SELECT count(*) FROM \"Order\") + (SELECT count(*) FROM \"TradeFill\")", hb_steps, 2};

/* Check the tables, count the rows, then run each step's query over its rows. */
static int run_source(imp *m, const struct source *src)
{
    int rc = require_tables(m, src->table_a, src->table_b);
    if (rc == TT_OK)
        rc = count_rows(m, src->count_sql);
    tti_buf sql;
    tti_buf_init(&sql, 1 << 16);
    for (size_t i = 0; i < src->nsteps && rc == TT_OK; i++) {
        const struct step *st = &src->steps[i];
        tti_buf_reset(&sql);
        tti_buf_adds(&sql, "SELECT ");
        rc = select_list(m, st->table, st->alias, st->cols, &sql);
        if (rc == TT_OK && st->table2 != NULL) {
            tti_buf_adds(&sql, ", ");
            rc = select_list(m, st->table2, st->alias2, st->cols2, &sql);
        }
        tti_buf_adds(&sql, st->tail);
        if (rc == TT_OK)
            rc = each_row(m, &sql, st->fn);
    }
    tti_buf_free(&sql);
    return rc;
}

/* ---- the run ---- */

int tt_import_run(tt_ledger *l, const tt_import_options *o, tt_import_report *out)
{
    if (l == NULL || o == NULL || o->source == NULL || o->path == NULL || out == NULL)
        return tti_fail(TT_EMISUSE, "tt_import_run: missing argument");
    const struct source *src = strcmp(o->source, "freqtrade") == 0    ? &ft_source
                               : strcmp(o->source, "hummingbot") == 0 ? &hb_source
                                                                      : NULL;
    if (src == NULL)
        return tti_fail(TT_EINVAL, "unknown import source \"%.40s\" (freqtrade, hummingbot)",
                        o->source);
    imp m = {.l = l, .o = o, .bot = o->bot != NULL ? o->bot : o->source};
    if (m.bot[0] == '\0' || strlen(m.bot) > 64)
        return tti_fail(TT_EINVAL, "the bot name must be 1 to 64 characters");
    int rc = tti_foreign_open(o->path, &m.f, m.err, sizeof m.err);
    tti_buf_init(&m.b, (size_t)(BATCH + 1) * LINE_MAX_BYTES);
    if (rc == TT_OK)
        rc = run_source(&m, src);
    if (rc == TT_OK)
        rc = flush(&m);
    tti_buf_free(&m.b);
    tti_foreign_close(m.f);
    if (rc != TT_OK)
        return tti_fail(rc, "%s", m.err);
    *out = m.rep;
    return TT_OK;
}

char *tt_import_report_to_json(const char *source, const tt_import_report *r)
{
    tti_buf b;
    tti_buf_init(&b, 4096);
    tti_buf_adds(&b, "{\"source\":");
    tti_buf_json_str(&b, source);
    tti_buf_printf(&b, ",\"rows\":%lld,\"events\":%lld,\"added\":%lld,\"existing\":%lld}",
                   (long long)r->rows, (long long)r->events, (long long)r->added,
                   (long long)r->existing);
    if (b.failed) {
        tti_buf_free(&b);
        return NULL;
    }
    return tti_buf_take(&b);
}
