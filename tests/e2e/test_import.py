#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end test of `tradetrail import freqtrade|hummingbot DB` (SPEC 15): databases are
built with the schemas those projects create (the CREATE TABLE statements below are what
SQLAlchemy emits for SQLite from their models: freqtrade/persistence/trade_model.py, Trade
and Order, at freqtrade 0009b987e44f; hummingbot/model/order.py at 2c99a9307afd and
trade_fill.py at 12d17c7c3688, with hummingbot's SqliteDecimal(6) storing millionths as
integers) and a few rows; each is imported twice, and the second import must add nothing;
a later state of the same database adds only what is new. Bad inputs exit 1 or 2."""

import json
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402

FREQTRADE_SCHEMA = """
CREATE TABLE trades (
    id INTEGER NOT NULL,
    exchange VARCHAR(25) NOT NULL,
    pair VARCHAR(25) NOT NULL,
    base_currency VARCHAR(25),
    stake_currency VARCHAR(25),
    is_open BOOLEAN NOT NULL,
    fee_open FLOAT NOT NULL,
    fee_open_cost FLOAT,
    fee_open_currency VARCHAR(25),
    fee_close FLOAT NOT NULL,
    fee_close_cost FLOAT,
    fee_close_currency VARCHAR(25),
    open_rate FLOAT,
    open_rate_requested FLOAT,
    open_trade_value FLOAT,
    close_rate FLOAT,
    close_rate_requested FLOAT,
    close_profit FLOAT,
    close_profit_abs FLOAT,
    stake_amount FLOAT NOT NULL,
    amount FLOAT,
    amount_requested FLOAT,
    open_date DATETIME NOT NULL,
    close_date DATETIME,
    open_order_id VARCHAR(255),
    stop_loss FLOAT,
    stop_loss_pct FLOAT,
    initial_stop_loss FLOAT,
    initial_stop_loss_pct FLOAT,
    stoploss_order_id VARCHAR(255),
    stoploss_last_update DATETIME,
    max_rate FLOAT,
    min_rate FLOAT,
    exit_reason VARCHAR(100),
    exit_order_status VARCHAR(100),
    strategy VARCHAR(100),
    enter_tag VARCHAR(100),
    timeframe INTEGER,
    trading_mode VARCHAR(7),
    leverage FLOAT,
    is_short BOOLEAN NOT NULL,
    liquidation_price FLOAT,
    interest_rate FLOAT NOT NULL,
    funding_fees FLOAT,
    PRIMARY KEY (id)
);
CREATE INDEX ix_trades_pair ON trades (pair);
CREATE INDEX ix_trades_is_open ON trades (is_open);
CREATE INDEX ix_trades_stoploss_order_id ON trades (stoploss_order_id);
CREATE TABLE orders (
    id INTEGER NOT NULL,
    ft_trade_id INTEGER,
    ft_order_side VARCHAR(25) NOT NULL,
    ft_pair VARCHAR(25) NOT NULL,
    ft_is_open BOOLEAN NOT NULL,
    order_id VARCHAR(255) NOT NULL,
    status VARCHAR(255),
    symbol VARCHAR(25),
    order_type VARCHAR(50),
    side VARCHAR(25),
    price FLOAT,
    average FLOAT,
    amount FLOAT,
    filled FLOAT,
    remaining FLOAT,
    cost FLOAT,
    order_date DATETIME,
    order_filled_date DATETIME,
    order_update_date DATETIME,
    ft_fee_base FLOAT,
    PRIMARY KEY (id),
    CONSTRAINT _order_pair_order_id UNIQUE (ft_pair, order_id),
    FOREIGN KEY(ft_trade_id) REFERENCES trades (id)
);
CREATE INDEX ix_orders_ft_trade_id ON orders (ft_trade_id);
CREATE INDEX ix_orders_ft_is_open ON orders (ft_is_open);
CREATE INDEX ix_orders_order_id ON orders (order_id);
"""

HUMMINGBOT_SCHEMA = """
CREATE TABLE "Order" (
    id TEXT NOT NULL,
    config_file_path TEXT NOT NULL,
    strategy TEXT NOT NULL,
    market TEXT NOT NULL,
    symbol TEXT NOT NULL,
    base_asset TEXT NOT NULL,
    quote_asset TEXT NOT NULL,
    creation_timestamp BIGINT NOT NULL,
    order_type TEXT NOT NULL,
    amount BIGINT NOT NULL,
    leverage INTEGER NOT NULL,
    price BIGINT NOT NULL,
    last_status TEXT NOT NULL,
    last_update_timestamp BIGINT NOT NULL,
    exchange_order_id TEXT,
    position TEXT,
    PRIMARY KEY (id)
);
CREATE INDEX o_config_timestamp_index ON "Order" (config_file_path, creation_timestamp);
CREATE INDEX o_market_trading_pair_timestamp_index ON "Order" (market, symbol, creation_timestamp);
CREATE INDEX o_market_base_asset_timestamp_index ON "Order" (market, base_asset, creation_timestamp);
CREATE INDEX o_market_quote_asset_timestamp_index ON "Order" (market, quote_asset, creation_timestamp);
CREATE TABLE "TradeFill" (
    config_file_path TEXT NOT NULL,
    strategy TEXT NOT NULL,
    market TEXT NOT NULL,
    symbol TEXT NOT NULL,
    base_asset TEXT NOT NULL,
    quote_asset TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    order_id TEXT NOT NULL,
    trade_type TEXT NOT NULL,
    order_type TEXT NOT NULL,
    price BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    leverage INTEGER NOT NULL,
    trade_fee JSON NOT NULL,
    trade_fee_in_quote BIGINT,
    exchange_trade_id TEXT NOT NULL,
    position TEXT,
    PRIMARY KEY (market, order_id, exchange_trade_id),
    FOREIGN KEY(order_id) REFERENCES "Order" (id)
);
CREATE INDEX tf_config_timestamp_index ON "TradeFill" (config_file_path, timestamp);
CREATE INDEX tf_market_trading_pair_timestamp_index ON "TradeFill" (market, symbol, timestamp);
CREATE INDEX tf_market_base_asset_timestamp_index ON "TradeFill" (market, base_asset, timestamp);
CREATE INDEX tf_market_quote_asset_timestamp_index ON "TradeFill" (market, quote_asset, timestamp);
"""

TRADE_COLS = ("id, exchange, pair, base_currency, stake_currency, is_open, fee_open, fee_close, "
              "open_rate, close_rate, close_profit, close_profit_abs, stake_amount, amount, "
              "open_date, close_date, exit_reason, strategy, enter_tag, timeframe, "
              "trading_mode, leverage, is_short, interest_rate")
ORDER_COLS = ("id, ft_trade_id, ft_order_side, ft_pair, ft_is_open, order_id, status, symbol, "
              "order_type, side, price, average, amount, filled, remaining, cost, order_date, "
              "order_filled_date, order_update_date")


def freqtrade_db(path):
    """Two trades as freqtrade stores them: 1 long BTC/USDT, entered and exited by ROI;
    2 short ETH/USDT, one entry order cancelled, one filled, a stoploss order open."""
    db = sqlite3.connect(path)
    db.executescript(FREQTRADE_SCHEMA)
    db.executemany("INSERT INTO trades (%s) VALUES (%s)" % (TRADE_COLS, ",".join("?" * 24)), [
        (1, "binance", "BTC/USDT", "BTC", "USDT", 0, 0.001, 0.001, 42000.5, 42630.0, 0.013,
         1.3, 100.0, 0.00238, "2026-01-18 10:31:00.123456", "2026-01-19 08:00:00.000000",
         "roi", "SampleStrategy", "rsi_cross", 5, "SPOT", 1.0, 0, 0.0),
        (2, "binance", "ETH/USDT:USDT", "ETH", "USDT", 1, 0.0005, 0.0005, 2400.0, None, None,
         None, 50.0, 0.0625, "2026-01-20 12:00:00.000000", None, None, "SampleStrategy",
         "short_signal", 5, "FUTURES", 3.0, 1, 0.0)])
    db.executemany("INSERT INTO orders (%s) VALUES (%s)" % (ORDER_COLS, ",".join("?" * 19)), [
        (1, 1, "buy", "BTC/USDT", 0, "x-1001", "closed", "BTC/USDT", "limit", "buy", 42000.5,
         42000.5, 0.00238, 0.00238, 0.0, 99.961, "2026-01-18 10:31:00.123456",
         "2026-01-18 10:31:05.000000", "2026-01-18 10:31:05.000000"),
        (2, 1, "sell", "BTC/USDT", 0, "x-1002", "closed", "BTC/USDT", "limit", "sell", 42630.0,
         42630.0, 0.00238, 0.00238, 0.0, 101.4594, "2026-01-19 07:59:00.000000",
         "2026-01-19 08:00:00.000000", "2026-01-19 08:00:00.000000"),
        (3, 2, "sell", "ETH/USDT:USDT", 0, "x-2001", "canceled", "ETH/USDT:USDT", "limit",
         "sell", 2410.0, None, 0.0625, 0.0, 0.0625, 0.0, "2026-01-20 11:50:00.000000", None,
         "2026-01-20 11:59:00.000000"),
        (4, 2, "sell", "ETH/USDT:USDT", 0, "x-2002", "closed", "ETH/USDT:USDT", "market",
         "sell", None, 2400.0, 0.0625, 0.0625, 0.0, 150.0, "2026-01-20 12:00:00.000000",
         "2026-01-20 12:00:01.000000", "2026-01-20 12:00:01.000000"),
        (5, 2, "stoploss", "ETH/USDT:USDT", 1, "x-2003", "open", "ETH/USDT:USDT", "stop_loss",
         "buy", 2520.0, None, 0.0625, 0.0, 0.0625, None, "2026-01-20 12:00:02.000000", None,
         None)])
    db.commit()
    db.close()


def hummingbot_db(path):
    """Two orders and three fills (one order filled in two parts), prices and amounts in
    millionths as SqliteDecimal(6) stores them."""
    db = sqlite3.connect(path)
    db.executescript(HUMMINGBOT_SCHEMA)
    cfg, strat = "conf_pure_mm_1.yml", "pure_market_making"
    db.executemany('INSERT INTO "Order" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)', [
        ("buy-BTC-USDT-1768732260000001", cfg, strat, "binance", "BTC-USDT", "BTC", "USDT",
         1768732260000, "LIMIT", 2000000, 1, 42000500000, "OrderFilled", 1768732270000,
         "8389765", "NIL"),
        ("sell-BTC-USDT-1768732300000002", cfg, strat, "binance", "BTC-USDT", "BTC", "USDT",
         1768732300000, "LIMIT", 1000000, 1, 42100000000, "OrderFilled", 1768732310000,
         "8389766", "NIL")])
    fee = json.dumps({"percent": "0.001", "percent_token": None, "flat_fees": []})
    db.executemany('INSERT INTO "TradeFill" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)', [
        (cfg, strat, "binance", "BTC-USDT", "BTC", "USDT", 1768732265000,
         "buy-BTC-USDT-1768732260000001", "BUY", "LIMIT", 42000500000, 1500000, 1, fee,
         63000750, "T-1", "NIL"),
        (cfg, strat, "binance", "BTC-USDT", "BTC", "USDT", 1768732268000,
         "buy-BTC-USDT-1768732260000001", "BUY", "LIMIT", 42000500000, 500000, 1, fee,
         21000250, "T-2", "NIL"),
        (cfg, strat, "binance", "BTC-USDT", "BTC", "USDT", 1768732305000,
         "sell-BTC-USDT-1768732300000002", "SELL", "LIMIT", 42100000000, 1000000, 1, fee,
         42100000, "T-3", "NIL")])
    db.commit()
    db.close()


class ImportTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tt-import-")
        self.data = os.path.join(self.dir, "data")
        T.cli_ok(self.data, ["init"])

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_import(self, source, path, *extra):
        out = T.cli_ok(self.data, ["import", source, path, "-o", "json"] + list(extra))
        return json.loads(out)

    def trade_events(self):
        return [e for e in T.show_all(self.data) if e["entity"] == "trade"]

    def test_freqtrade(self):
        db = os.path.join(self.dir, "tradesv3.sqlite")
        freqtrade_db(db)
        first = self.run_import("freqtrade", db, "--bot", "ft-main")
        self.assertEqual(first, {"source": "freqtrade", "rows": 6, "events": 6, "added": 6,
                                 "existing": 0})
        evs = self.trade_events()
        self.assertEqual([(e["entity_id"], e["event_type"]) for e in evs],
                         [("1", "ENTRY_FILL"), ("1", "EXIT_FILL"), ("2", "ENTRY_CANCEL"),
                          ("2", "ENTRY_FILL"), ("2", "EXIT"), ("1", "CLOSED")])
        for e in evs:
            self.assertEqual(e["actor"], "ft-main")
            self.assertTrue(e["idempotency_key"].startswith("ftimport:"), e)
            self.assertEqual(e["metadata"]["source"], "freqtrade")
        entry, exit_fill, cancel, short_fill, stop, closed = evs
        self.assertEqual(entry["occurred_at"], "2026-01-18T10:31:05.000000Z")
        m = entry["metadata"]
        self.assertEqual((m["pair"], m["exchange"], m["direction"], m["order_id"], m["side"],
                          m["status"], m["price"], m["amount"], m["filled"], m["cost"],
                          m["stake_currency"], m["strategy"], m["enter_tag"], m["leverage"]),
                         ("BTC/USDT", "binance", "long", "x-1001", "buy", "closed", 42000.5,
                          0.00238, 0.00238, 99.961, "USDT", "SampleStrategy", "rsi_cross",
                          1.0))
        self.assertEqual(exit_fill["metadata"]["average"], 42630.0)
        self.assertEqual(cancel["occurred_at"], "2026-01-20T11:59:00.000000Z")
        self.assertEqual(cancel["metadata"]["direction"], "short")
        self.assertEqual(short_fill["metadata"]["leverage"], 3.0)
        self.assertNotIn("price", short_fill["metadata"])  # NULL in the source
        self.assertEqual(stop["occurred_at"], "2026-01-20T12:00:02.000000Z")
        self.assertNotIn("filled", stop["metadata"])  # an open order's fill changes
        self.assertEqual(closed["occurred_at"], "2026-01-19T08:00:00.000000Z")
        c = closed["metadata"]
        self.assertEqual((c["open_rate"], c["close_rate"], c["close_profit"],
                          c["close_profit_abs"], c["exit_reason"], c["stake_amount"]),
                         (42000.5, 42630.0, 0.013, 1.3, "roi", 100.0))
        self.assertEqual(closed["reason"], "freqtrade trade 1 BTC/USDT closed: roi")

        # Importing the same database again adds nothing.
        size = len(T.show_all(self.data))
        again = self.run_import("freqtrade", db, "--bot", "ft-main")
        self.assertEqual((again["rows"], again["added"], again["existing"]), (6, 0, 6))
        self.assertEqual(len(T.show_all(self.data)), size)

        # Later the stoploss fills and trade 2 closes: only those two are new.
        con = sqlite3.connect(db)
        con.execute("UPDATE orders SET status = 'closed', ft_is_open = 0, filled = 0.0625, "
                    "average = 2520.0, order_filled_date = '2026-01-21 09:00:00.000000' "
                    "WHERE id = 5")
        con.execute("UPDATE trades SET is_open = 0, close_rate = 2520.0, close_profit = -0.15, "
                    "close_profit_abs = -7.5, exit_reason = 'stoploss_on_exchange', "
                    "close_date = '2026-01-21 09:00:00.000000' WHERE id = 2")
        con.commit()
        con.close()
        later = self.run_import("freqtrade", db, "--bot", "ft-main")
        self.assertEqual((later["rows"], later["added"], later["existing"]), (7, 2, 5))
        new = self.trade_events()[-2:]
        self.assertEqual([(e["entity_id"], e["event_type"]) for e in new],
                         [("2", "EXIT_FILL"), ("2", "CLOSED")])
        self.assertEqual(new[1]["metadata"]["exit_reason"], "stoploss_on_exchange")
        # Another bot's database with the same trade ids is other events.
        other = self.run_import("freqtrade", db, "--bot", "ft-second")
        self.assertEqual(other["added"], 7)
        T.cli_ok(self.data, ["verify"])

    def test_hummingbot(self):
        db = os.path.join(self.dir, "conf_pure_mm_1.sqlite")
        hummingbot_db(db)
        first = self.run_import("hummingbot", db)
        self.assertEqual(first, {"source": "hummingbot", "rows": 5, "events": 5, "added": 5,
                                 "existing": 0})
        evs = self.trade_events()
        buy, sell = "buy-BTC-USDT-1768732260000001", "sell-BTC-USDT-1768732300000002"
        self.assertEqual([(e["entity_id"], e["event_type"]) for e in evs],
                         [(buy, "ORDER_CREATED"), (sell, "ORDER_CREATED"), (buy, "FILL"),
                          (buy, "FILL"), (sell, "FILL")])
        order, fill = evs[0], evs[2]
        self.assertEqual(order["actor"], "hummingbot")
        self.assertEqual(order["occurred_at"], "2026-01-18T10:31:00.000000Z")
        m = order["metadata"]
        self.assertEqual((m["market"], m["symbol"], m["price"], m["amount"], m["leverage"],
                          m["exchange_order_id"], m["strategy"], m["config_file_path"]),
                         ("binance", "BTC-USDT", 42000.5, 2.0, 1.0, "8389765",
                          "pure_market_making", "conf_pure_mm_1.yml"))
        f = fill["metadata"]
        self.assertEqual(fill["occurred_at"], "2026-01-18T10:31:05.000000Z")
        self.assertEqual((f["trade_type"], f["amount"], f["price"], f["trade_fee_in_quote"],
                          f["exchange_trade_id"], json.loads(f["trade_fee"])["percent"]),
                         ("BUY", 1.5, 42000.5, 63.00075, "T-1", "0.001"))
        again = self.run_import("hummingbot", db)
        self.assertEqual((again["added"], again["existing"]), (0, 5))
        self.assertEqual(len(self.trade_events()), 5)
        T.cli_ok(self.data, ["verify"])

    def test_many_rows_in_batches(self):
        # 1,201 orders and as many fills: several atomic batches of 500, and the batch
        # boundary in the middle of each table.
        db = os.path.join(self.dir, "many.sqlite")
        con = sqlite3.connect(db)
        con.executescript(HUMMINGBOT_SCHEMA)
        n = 1201
        con.executemany('INSERT INTO "Order" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)', [
            ("o-%d" % i, "c.yml", "pmm", "binance", "BTC-USDT", "BTC", "USDT",
             1768732260000 + i, "LIMIT", 1000000, 1, 42000000000, "OrderFilled",
             1768732270000, "x-%d" % i, "NIL") for i in range(n)])
        con.executemany('INSERT INTO "TradeFill" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)', [
            ("c.yml", "pmm", "binance", "BTC-USDT", "BTC", "USDT", 1768732265000 + i,
             "o-%d" % i, "BUY", "LIMIT", 42000000000, 1000000, 1, "{}", 42000000, "T-%d" % i,
             "NIL") for i in range(n)])
        con.commit()
        con.close()
        first = self.run_import("hummingbot", db)
        self.assertEqual((first["rows"], first["added"], first["existing"]), (2 * n, 2 * n, 0))
        again = self.run_import("hummingbot", db)
        self.assertEqual((again["added"], again["existing"]), (0, 2 * n))
        stats = json.loads(T.cli_ok(self.data, ["stats", "-o", "json"]))
        self.assertEqual(stats["by_entity"]["trade"], 2 * n)
        T.cli_ok(self.data, ["verify"])

    def test_bad_inputs(self):
        ft = os.path.join(self.dir, "ft.sqlite")
        hb = os.path.join(self.dir, "hb.sqlite")
        freqtrade_db(ft)
        hummingbot_db(hb)
        text = os.path.join(self.dir, "notes.txt")
        with open(text, "w") as f:
            f.write("not a database, just some text that is long enough " * 20)
        cases = [
            (["import", "freqtrade", hb], 1, "no trades and orders tables"),
            (["import", "hummingbot", ft], 1, "no TradeFill and Order tables"),
            (["import", "freqtrade", text], 1, "SQLite database"),
            (["import", "freqtrade", os.path.join(self.dir, "missing.sqlite")], 1, "SQLite"),
            (["import", "zipline", ft], 2, "unknown source"),
            (["import", "freqtrade"], 2, "expected a source"),
            (["import", "freqtrade", ft, "--bot", "x" * 65], 1, "bot name"),
        ]
        for args, code, words in cases:
            p = T.cli(self.data, args)
            self.assertEqual(p.returncode, code, (args, p.stderr))
            self.assertIn(words, p.stderr, args)
        self.assertEqual(self.trade_events(), [])
        helptext = T.cli_ok(self.data, ["import", "--help"])
        self.assertIn("twice adds nothing", helptext.replace("\n", " "))
        self.assertIn("--bot NAME", helptext)


if __name__ == "__main__":
    unittest.main()
