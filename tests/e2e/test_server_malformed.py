#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A corpus of malformed requests against `tradetrail serve` (issue 3, SPEC 3.1, 9, 14):
each must be answered 4xx with the SPEC 9 error body {"error":{"code","message"}} whose code
matches the status, and must write nothing (the tree size is unchanged). SQL-looking filter
values are plain values: 200 with no results, nothing dropped, the ledger still verifies.
Requests http.client refuses to send go over raw sockets."""

import json
import os
import re
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402
from ttserver import ServerCase  # noqa: E402

J = "application/json"
ND = "application/x-ndjson"
SIZE = 400  # SPEC 3: a field over its limit is invalid (400); 413 is for a body or batch


def ev(**kw):
    e = {"entity": "order", "entity_id": "o-1", "event_type": "CREATED", "actor": "bot"}
    e.update(kw)
    return e


def js(obj):
    return json.dumps(obj).encode()


GOOD = js(ev())
GOOD_TEXT = GOOD.decode()
PREFIX = b'{"entity":"order","event_type":"CREATED","actor":"bot","entity_id":'


def post(name, body, status=400, ctype=J, headers=None, token="admin"):
    return dict(name=name, method="POST", path="/api/events", body=body, ctype=ctype,
                headers=headers or {}, token=token, status=status)


def get(name, path, status=400, token="read", headers=None):
    return dict(name=name, method="GET", path=path, body=None, ctype=None,
                headers=headers or {}, token=token, status=status)


def method(name, verb, path, status=405, body=None, ctype=None):
    return dict(name=name, method=verb, path=path, body=body, ctype=ctype, headers={},
                token="admin", status=status)


def raw(name, data, status, json_body=True):
    return dict(name=name, raw=data, status=status, json_body=json_body)


CASES = [
    # ---- bad JSON ----
    post("open brace only", b"{"),
    post("truncated object", GOOD[:-10]),
    post("truncated string", b'{"entity":"ord'),
    post("missing comma", b'{"entity":"order" "entity_id":"o-1"}'),
    post("single quotes", b"{'entity':'order'}"),
    post("trailing comma", GOOD[:-1] + b",}"),
    post("bare null", b"null"),
    post("bare string", b'"an event"'),
    post("bare number", b"42"),
    post("bare true", b"true"),
    post("trailing garbage", GOOD + b"x"),
    post("two objects", GOOD + GOOD),
    post("NaN in metadata", GOOD[:-1] + b',"metadata":{"x":NaN}}'),
    post("comment", b"/* hi */" + GOOD),
    post("unescaped newline in string", PREFIX + b'"a\nb"}'),
    post("bad escape", PREFIX + b'"a\\qb"}'),
    post("array not closed", b"[" + GOOD),
    # ---- bad UTF-8 and bad characters ----
    post("invalid byte 0xff", PREFIX + b'"\xff\xfe"}'),
    post("overlong encoding", PREFIX + b'"\xc0\xaf"}'),
    post("truncated multibyte", PREFIX + b'"ab\xe2\x82"}'),
    post("encoded surrogate", PREFIX + b'"\xed\xa0\x80"}'),
    post("lone surrogate escape", PREFIX + b'"\\ud800"}'),
    post("NUL escape", PREFIX + b'"a\\u0000b"}'),
    post("bad UTF-8 in reason", GOOD[:-1] + b',"reason":"caf\xe9"}'),
    post("bad UTF-8 in metadata key", GOOD[:-1] + b',"metadata":{"\xff":1}}'),
    post("control character in entity_id", js(ev(entity_id="a\x01b"))),
    post("newline in actor", js(ev(actor="a\nb"))),
    # ---- unknown and server-assigned fields ----
    post("unknown field", js(ev(foo=1))),
    post("client seq", js(ev(seq=1))),
    post("client ts", js(ev(ts="2026-01-18T10:31:00.123456Z"))),
    post("client leaf_hash", js(ev(leaf_hash="00" * 32))),
    post("field name case", js(dict(ev(), Entity="order"))),
    # ---- wrong types ----
    post("entity is a number", js(ev(entity=5))),
    post("reason is an object", js(ev(reason={"why": "x"}))),
    post("metadata is an array", js(ev(metadata=[1, 2]))),
    post("metadata is a string", js(ev(metadata="{}"))),
    post("entity_id is null", js(ev(entity_id=None))),
    post("actor is a boolean", js(ev(actor=True))),
    post("occurred_at is a number", js(ev(occurred_at=1700000000))),
    post("idempotency_key is a number", js(ev(idempotency_key=7))),
    post("event_type is an array", js(ev(event_type=["A"]))),
    # ---- missing or invalid values ----
    post("missing actor", js({k: v for k, v in ev().items() if k != "actor"})),
    post("missing entity", js({k: v for k, v in ev().items() if k != "entity"})),
    post("empty object", b"{}"),
    post("empty entity_id", js(ev(entity_id=""))),
    post("entity upper case", js(ev(entity="Order"))),
    post("entity starts with a digit", js(ev(entity="1order"))),
    post("event_type lower case", js(ev(event_type="created"))),
    post("occurred_at not a time", js(ev(occurred_at="yesterday"))),
    post("duplicate top-level key", b'{"entity":"order",' + GOOD[1:]),
    post("duplicate metadata key", GOOD[:-1] + b',"metadata":{"a":1,"a":2}}'),
    # ---- oversized fields and bodies ----
    post("entity_id 129 characters", js(ev(entity_id="x" * 129)), SIZE),
    post("entity 65 characters", js(ev(entity="x" * 65)), SIZE),
    post("event_type 65 characters", js(ev(event_type="X" * 65)), SIZE),
    post("actor 129 characters", js(ev(actor="x" * 129)), SIZE),
    post("old_status 65 characters", js(ev(old_status="x" * 65)), SIZE),
    post("reason 8193 bytes", js(ev(reason="x" * 8193)), SIZE),
    post("reason 8192 bytes of 2-byte characters plus one", js(ev(reason="é" * 4096 + "x")),
         SIZE),
    post("metadata over 64 KiB", js(ev(metadata={"blob": "x" * 65536})), SIZE),
    post("idempotency_key 129 characters", js(ev(idempotency_key="k" * 129)), SIZE),
    post("body over 16 MiB", GOOD[:-1] + b',"reason":"' + b"x" * (16 * 1024 * 1024) + b'"}',
         413),
    post("NDJSON body over 16 MiB", (GOOD + b"\n") * (16 * 1024 * 1024 // len(GOOD) + 10), 413,
         ctype=ND),
    post("batch of 10,001 events", js([ev()] * 10001), 413),
    post("NDJSON batch of 10,001 events", T.ndjson([ev()] * 10001).encode(), 413, ctype=ND),
    # ---- body forms ----
    post("empty body", b""),
    post("whitespace body", b"  \n "),
    post("empty array", b"[]"),
    post("array of numbers", b"[1,2,3]"),
    post("array of arrays", js([[ev()]])),
    post("array with null", b"[" + GOOD + b",null]"),
    post("array with one bad event", js([ev(), ev(entity_id=""), ev()])),
    post("NDJSON with one bad line", (T.ndjson([ev()] * 5) + "{oops}\n" +
                                      T.ndjson([ev()] * 5)).encode(), ctype=ND),
    post("NDJSON with one invalid event", (T.ndjson([ev()] * 3 + [ev(actor="")] +
                                                    [ev()])).encode(), ctype=ND),
    post("NDJSON blank lines only", b"\n\n\n", ctype=ND),
    post("NDJSON line is an array", b"[" + GOOD + b"]\n", ctype=ND),
    post("NDJSON two events on one line", GOOD + GOOD + b"\n", ctype=ND),
    # ---- content types ----
    post("text/plain", GOOD, 415, ctype="text/plain"),
    post("no Content-Type", GOOD, 415, ctype=None),
    post("application/xml", GOOD, 415, ctype="application/xml"),
    post("form encoded", GOOD, 415, ctype="application/x-www-form-urlencoded"),
    post("application/jsonx", GOOD, 415, ctype="application/jsonx"),
    post("empty Content-Type", GOOD, 415, ctype=""),
    # ---- methods ----
    method("PUT /api/events", "PUT", "/api/events", body=GOOD, ctype=J),
    method("DELETE /api/events", "DELETE", "/api/events"),
    method("PATCH /api/events", "PATCH", "/api/events", body=GOOD, ctype=J),
    method("DELETE /api/events/1", "DELETE", "/api/events/1"),
    method("PUT /api/events/1", "PUT", "/api/events/1", body=GOOD, ctype=J),
    method("POST /api/events/1", "POST", "/api/events/1", body=GOOD, ctype=J),
    method("POST /api/checkpoint", "POST", "/api/checkpoint", body=b"{}", ctype=J),
    method("DELETE /api/stream", "DELETE", "/api/stream"),
    method("POST /healthz", "POST", "/healthz", body=b"{}", ctype=J),
    # ---- absurd limits, cursors, times ----
    get("limit=0", "/api/events?limit=0"),
    get("limit=-1", "/api/events?limit=-1"),
    get("limit=10001", "/api/events?limit=10001"),
    get("limit=1e9", "/api/events?limit=1e9"),
    get("limit=abc", "/api/events?limit=abc"),
    get("limit empty", "/api/events?limit="),
    get("limit huge", "/api/events?limit=99999999999999999999999"),
    get("limit 1.5", "/api/events?limit=1.5"),
    get("cursor garbage", "/api/events?cursor=zz"),
    get("cursor c0", "/api/events?cursor=c0"),
    get("cursor negative", "/api/events?cursor=c-5"),
    get("cursor SQL", "/api/events?cursor=" + urllib.parse.quote("' OR 1=1 --")),
    get("cursor empty", "/api/events?cursor="),
    get("cursor overflow", "/api/events?cursor=c99999999999999999999999"),
    get("since not a time", "/api/events?since=bogus"),
    get("until impossible date", "/api/events?until=2026-13-45T99:00:00Z"),
    get("since empty", "/api/events?since="),
    get("after_seq negative", "/api/events?after_seq=-1"),
    get("after_seq text", "/api/events?after_seq=abc"),
    get("after_seq fraction", "/api/events?after_seq=1.5"),
    get("unknown query parameter", "/api/events?foo=1"),
    get("repeated query parameter", "/api/events?limit=1&limit=2"),
    get("order sideways", "/api/events?order=sideways"),
    get("33 event types", "/api/events?event_type=" + ",".join("T%d" % i for i in range(33))),
    get("bad UTF-8 in filter", "/api/events?entity_id=%ff%fe"),
    get("stream with limit", "/api/stream?limit=5"),
    get("stream bad Last-Event-ID", "/api/stream", headers={"Last-Event-ID": "abc"}),
    # ---- proofs, consistency, other endpoints ----
    get("proof tree_size=0", "/api/events/1/proof?tree_size=0"),
    get("proof tree_size=abc", "/api/events/1/proof?tree_size=abc"),
    get("proof seq beyond tree_size", "/api/events/5/proof?tree_size=4"),
    get("proof tree_size beyond tree", "/api/events/1/proof?tree_size=99999999"),
    get("proof unknown parameter", "/api/events/1/proof?size=1"),
    get("consistency first=0", "/api/consistency?first=0&second=1"),
    get("consistency first>second", "/api/consistency?first=3&second=2"),
    get("consistency second>size", "/api/consistency?first=1&second=99999999"),
    get("consistency missing second", "/api/consistency?first=1"),
    get("consistency no parameters", "/api/consistency"),
    get("consistency first=abc", "/api/consistency?first=abc&second=2"),
    get("checkpoint unknown parameter", "/api/checkpoint?size=1"),
    get("stats unknown parameter", "/api/stats?x=1"),
    get("event by seq with a parameter", "/api/events/1?x=1"),
    # ---- paths ----
    get("path traversal", "/api/events/../../etc/passwd", 404),
    get("seq with letters", "/api/events/1abc", 404),
    get("negative seq", "/api/events/-1", 404),
    get("seq overflow", "/api/events/99999999999999999999", 404),
    get("seq zero", "/api/events/0", (400, 404)),
    get("seq beyond tree", "/api/events/99999999", 404),
    get("trailing slash", "/api/events/", 404),
    get("double slash", "/api/events//1", 404),
    get("extra segment", "/api/events/1/proof/extra", 404),
    get("encoded path traversal", "/api/events/%2e%2e/%2e%2e/etc/passwd", 404),
    get("unknown endpoint", "/api/nothing", 404),
    get("upper-case path", "/API/EVENTS", 404),
    # ---- idempotency keys ----
    post("Idempotency-Key on a JSON array batch", js([ev(), ev()]),
         headers={"Idempotency-Key": "k-batch"}),
    post("Idempotency-Key on an NDJSON batch", T.ndjson([ev()]).encode(), ctype=ND,
         headers={"Idempotency-Key": "k-batch-nd"}),
    post("Idempotency-Key differs from the body", js(ev(idempotency_key="k-a")),
         headers={"Idempotency-Key": "k-b"}),
    post("Idempotency-Key too long", GOOD, SIZE, headers={"Idempotency-Key": "k" * 129}),
    # ---- authorisation comes first ----
    post("bad JSON without a token", b"{", 401, token=None),
    post("bad JSON with a read token", b"{", 403, token="read"),
    # A huge body without a token is refused on its headers (issue 13 item 2): as a raw
    # case below, since the server closes without reading the body a client is sending.
]

RAW = [
    # Issue 13 item 2: 401 on the headers alone; not a byte of the 17 MiB is ever sent.
    raw("huge body without a token", b"POST /api/events HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 17825792\r\n\r\n", 401),
    raw("huge body with a read token", b"POST /api/events HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer {read}\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1048576\r\n\r\n", 403),
    raw("chunked body to an unknown path", b"POST /api/nothing HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n", 404),
    raw("bad UTF-8 in the path", b"GET /api/events/\xff\xfe HTTP/1.1\r\nHost: x\r\n"
        b"Connection: close\r\n\r\n", 404),
    raw("bad UTF-8 bytes in the query", b"GET /api/events?entity=\xff HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer {read}\r\nConnection: close\r\n\r\n", 400),
    raw("bad UTF-8 in the token", b"GET /api/stats HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer tt_\xff\xfe\r\nConnection: close\r\n\r\n", 401),
    raw("chunked body with bad JSON", b"POST /api/events HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer {admin}\r\nConnection: close\r\n\r\n"
        b"5\r\n{\"ent\r\n0\r\n\r\n", 400),
    raw("chunked body over 16 MiB", b"POST /api/events HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer {admin}\r\nConnection: close\r\n\r\n" +
        (b"100000\r\n" + b"x" * 0x100000 + b"\r\n") * 17 + b"0\r\n\r\n", 413),
    # libmicrohttpd answers a header block over its per-connection memory itself (431, an
    # HTML body) before any handler runs: a 4xx, but not the JSON error body.
    raw("100 KB header", b"GET /api/stats HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 +
        b"\r\nAuthorization: Bearer {read}\r\nConnection: close\r\n\r\n", 431,
        json_body=False),
    raw("huge Authorization header", b"GET /api/stats HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer " + b"a" * 100000 + b"\r\nConnection: close\r\n\r\n", 431,
        json_body=False),
]


def slug(name):
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


class MalformedTest(ServerCase):
    """Every case: 4xx, the error body with the code of the status, nothing written."""

    def size(self):
        return self.server.get_json("/api/stats", token="read")["tree_size"]

    def send(self, c):
        srv = self.server
        headers = dict(c["headers"])
        if c["ctype"] is not None:
            headers["Content-Type"] = c["ctype"]
        token = c["token"]
        if token is not None:
            headers["Authorization"] = "Bearer " + srv.tokens[token]
        conn = srv.connection()
        try:
            conn.putrequest(c["method"], c["path"], skip_accept_encoding=True)
            body = c["body"]
            if body is not None:
                headers["Content-Length"] = str(len(body))
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders(body)
            r = conn.getresponse()
            return T.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def check(self, c):
        before = self.size()
        if "raw" in c:
            data = c["raw"].replace(b"{read}", self.server.tokens["read"].encode()).replace(
                b"{admin}", self.server.tokens["admin"].encode())
            status, body = self.server.raw(data)
            r = T.Response(status, {"content-type": "application/json"}, body)
        else:
            r = self.send(c)
        expect = c["status"] if isinstance(c["status"], tuple) else (c["status"],)
        self.assertIn(r.status, expect, "%s: %r" % (c["name"], r))
        self.assertTrue(400 <= r.status < 500)
        if c.get("json_body", True):
            self.assertError(r, r.status, c["name"])
        self.assertEqual(self.size(), before, "%s wrote something" % c["name"])

    def test_corpus_size(self):
        self.assertGreaterEqual(len(CASES) + len(RAW), 50)

    def test_sql_looking_filter_values(self):
        before = self.size()
        ok = self.server.post_events(ev(entity="sqlcheck", reason="it's fine"))
        self.assertEqual(ok.status, 201)
        values = ["' OR 1=1 --", '"; DROP TABLE events; --', "1; DELETE FROM events",
                  "' UNION SELECT * FROM tokens --", "%", "_", "*", "\\", "') OR ('1'='1",
                  '" OR ""="', "NEAR(a b)", "reason:x", "a OR b", "-a", "^x"]
        for v in values:
            for name in ["entity", "entity_id", "event_type", "actor", "q"]:
                path = "/api/events?" + urllib.parse.urlencode({name: v, "limit": 10000})
                r = self.server.request("GET", path, token="read")
                self.assertEqual(r.status, 200, "%s=%r: %r" % (name, v, r))
                got = r.json()
                self.assertEqual(got["next_cursor"], None)
                if name == "q":
                    # full text: words only; the punctuation must not be syntax
                    for e in got["events"]:
                        self.assertEqual(e["entity"], "sqlcheck", (v, e))
                else:
                    self.assertEqual(got["events"], [], "%s=%r" % (name, v))
        self.assertEqual(self.size(), before + 1)
        self.assertEqual(len(self.server.get_json("/api/events?limit=10000")["events"]),
                         before + 1)
        p = T.cli(self.server.data, ["verify"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_blank_search_and_type_list(self):
        # not errors either: whitespace-only text search and empty list items
        for path in ["/api/events?q=%20", "/api/events?event_type=A,,B",
                     "/api/events?entity_id=%20"]:
            r = self.server.request("GET", path, token="read")
            self.assertIn(r.status, (200, 400), "%s: %r" % (path, r))
            if r.status == 400:
                self.assertError(r, 400)

    def test_server_still_serves_after_the_corpus(self):
        r = self.server.post_events(ev(entity="after"))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.server.get_json("/api/events/%d" % r.json()["seq"])["entity"],
                         "after")


def _make(case):
    def test(self):
        self.check(case)
    test.__doc__ = case["name"]
    return test


for _i, _case in enumerate(CASES + RAW):
    setattr(MalformedTest, "test_case_%03d_%s" % (_i, slug(_case["name"])), _make(_case))


if __name__ == "__main__":
    unittest.main(verbosity=1)
