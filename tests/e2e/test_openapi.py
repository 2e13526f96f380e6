#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks `tradetrail serve` against docs/openapi.yaml, the file the docs ship: it is read
with a small reader for the block-style YAML subset that file uses (and compared with PyYAML
when that is installed). For every path, method and documented status code that can be
provoked, the request is made and the status must be among the documented ones, the
Content-Type one of the documented media types, and the JSON body must validate against the
documented schema: every required field present, no undocumented field where the schema
closes the object (every top-level response object does), types, patterns and enums.
Every documented query and header parameter is accepted with its documented example, and
the request schema's fields are exactly the fields the server accepts. The file describes
every endpoint of SPEC 9 that exists (issue 13: it once covered 10 paths): the strategy,
feedback, action, summary, analytics and cron-secret endpoints are provoked too."""

import json
import os
import re
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttserver as T  # noqa: E402

OPENAPI = os.path.join(T.SOURCE_DIR, "docs", "openapi.yaml")


# ---- a reader for the block-style YAML subset of docs/openapi.yaml -----------------------

class YamlError(ValueError):
    pass


_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def _scalar(text, lineno):
    t = text.strip()
    if t.startswith("'"):
        if len(t) < 2 or not t.endswith("'"):
            raise YamlError("line %d: unterminated single-quoted string" % lineno)
        return t[1:-1].replace("''", "'")
    if t.startswith('"'):
        if len(t) < 2 or not t.endswith('"'):
            raise YamlError("line %d: unterminated double-quoted string" % lineno)
        return json.loads(t)
    if t == "[]":
        return []
    if t == "{}":
        return {}
    if t.startswith("["):
        if not t.endswith("]") or "[" in t[1:] or "{" in t:
            raise YamlError("line %d: only flat flow sequences are supported" % lineno)
        return [_scalar(x, lineno) for x in t[1:-1].split(",")]
    if t[:1] in ("{", "&", "*", "!", "%", "@", "`", "|", ">"):
        raise YamlError("line %d: unsupported YAML: %s" % (lineno, t))
    if " #" in t:
        raise YamlError("line %d: inline comments are not supported" % lineno)
    if t in ("null", "~", ""):
        return None
    if t in ("true", "false"):
        return t == "true"
    if t.lower() in ("yes", "no", "on", "off", "y", "n"):
        raise YamlError("line %d: ambiguous boolean %r: quote it" % (lineno, t))
    if _INT.match(t):
        return int(t)
    if _FLOAT.match(t):
        return float(t)
    return t


def _split_key(text, lineno):
    """'key: rest' -> (key, rest); rest is None when the line is 'key:'."""
    if text[:1] in ("'", '"'):
        q = text[0]
        end = text.find(q, 1)
        while q == "'" and end != -1 and text[end + 1:end + 2] == "'":
            end = text.find(q, end + 2)
        if end == -1:
            raise YamlError("line %d: unterminated key" % lineno)
        key = _scalar(text[:end + 1], lineno)
        rest = text[end + 1:]
        if not (rest == ":" or rest.startswith(": ")):
            return None, None  # a quoted scalar, not a key
        rest = rest[1:]
    else:
        m = re.match(r"^([^:#'\"]+?):(\s|$)", text)
        if not m:
            return None, None
        key, rest = m.group(1), text[m.end(1) + 1:]
    rest = rest.strip()
    return key, (rest if rest else None)


class _Reader:
    def __init__(self, text):
        if "\t" in text:
            raise YamlError("tabs are not supported")
        self.raw = text.split("\n")
        self.lines = []  # [indent, text, lineno, raw index]
        for n, line in enumerate(self.raw):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if s in ("---", "..."):
                raise YamlError("line %d: multiple documents are not supported" % (n + 1))
            self.lines.append([len(line) - len(line.lstrip(" ")), line.strip(), n + 1, n])
        self.i = 0

    def peek(self):
        return self.lines[self.i] if self.i < len(self.lines) else None

    def block(self, indent):
        line = self.peek()
        if line is None or line[0] < indent:
            return None
        if line[1] == "-" or line[1].startswith("- "):
            return self.sequence(line[0])
        return self.mapping(line[0])

    def block_scalar(self, style, parent_indent, raw_index):
        lines, n = [], raw_index + 1
        while n < len(self.raw):
            line = self.raw[n]
            if line.strip() and len(line) - len(line.lstrip(" ")) <= parent_indent:
                break
            lines.append(line)
            n += 1
        while lines and not lines[-1].strip():
            lines.pop()
        while self.peek() is not None and self.peek()[3] < n:
            self.i += 1
        if not lines:
            return ""
        ind = min(len(x) - len(x.lstrip(" ")) for x in lines if x.strip())
        body = [x[ind:] if x.strip() else "" for x in lines]
        if style.startswith("|"):
            text = "\n".join(body)
        else:  # folded: lines join with spaces, blank lines are newlines
            text, prev_blank = "", True
            for x in body:
                if not x:
                    text += "\n"
                    prev_blank = True
                else:
                    text += ("" if prev_blank else " ") + x
                    prev_blank = False
        return text if style.endswith("-") else text + "\n"

    def value_after_key(self, rest, indent, line):
        if rest is None:
            nxt = self.peek()
            if nxt is not None and nxt[0] > indent:
                return self.block(nxt[0])
            if nxt is not None and nxt[0] == indent and (nxt[1] == "-" or
                                                         nxt[1].startswith("- ")):
                return self.sequence(indent)
            return None
        if rest in ("|", "|-", ">", ">-"):
            return self.block_scalar(rest, indent, line[3])
        return _scalar(rest, line[2])

    def mapping(self, indent):
        out = {}
        while True:
            line = self.peek()
            if line is None or line[0] < indent:
                return out
            if line[0] > indent:
                raise YamlError("line %d: unexpected indentation" % line[2])
            if line[1] == "-" or line[1].startswith("- "):
                return out
            key, rest = _split_key(line[1], line[2])
            if key is None:
                raise YamlError("line %d: expected 'key: value'" % line[2])
            if key in out:
                raise YamlError("line %d: duplicate key %r" % (line[2], key))
            self.i += 1
            out[key] = self.value_after_key(rest, indent, line)

    def sequence(self, indent):
        out = []
        while True:
            line = self.peek()
            if line is None or line[0] != indent or not (line[1] == "-" or
                                                         line[1].startswith("- ")):
                if line is not None and line[0] > indent:
                    raise YamlError("line %d: unexpected indentation" % line[2])
                return out
            content = line[1][1:].strip()
            if not content:
                self.i += 1
                out.append(self.block(indent + 1))
                continue
            key, _ = _split_key(content, line[2]) if content[:1] != "[" else (None, None)
            if key is not None:
                # "- key: value": a mapping whose first line is this one, two columns in
                line[0], line[1] = indent + 2, content
                out.append(self.mapping(indent + 2))
            else:
                self.i += 1
                out.append(_scalar(content, line[2]))


def load_yaml(text):
    r = _Reader(text)
    doc = r.block(0)
    if r.peek() is not None:
        raise YamlError("line %d: not read" % r.peek()[2])
    return doc


# ---- a validator for the OpenAPI 3.0 schema subset used --------------------------------

class Doc:
    def __init__(self, doc):
        self.doc = doc

    def resolve(self, obj):
        seen = 0
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            if not ref.startswith("#/"):
                raise AssertionError("external $ref %s" % ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
            obj = node
            seen += 1
            if seen > 20:
                raise AssertionError("$ref loop at %s" % ref)
        return obj

    def errors(self, value, schema, where="$"):
        s = self.resolve(schema)
        if "oneOf" in s:
            ok = [sub for sub in s["oneOf"] if not self.errors(value, sub, where)]
            if len(ok) != 1:
                return ["%s: matches %d of the oneOf schemas" % (where, len(ok))]
            return []
        if value is None:
            return [] if s.get("nullable") else ["%s: null but not nullable" % where]
        t = s.get("type")
        checks = {"object": lambda v: isinstance(v, dict),
                  "array": lambda v: isinstance(v, list),
                  "string": lambda v: isinstance(v, str),
                  "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
                  "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
                  "boolean": lambda v: isinstance(v, bool)}
        if t is not None and not checks[t](value):
            return ["%s: %r is not of type %s" % (where, value, t)]
        errs = []
        if "enum" in s and value not in s["enum"]:
            errs.append("%s: %r not in %s" % (where, value, s["enum"]))
        if "pattern" in s and isinstance(value, str) and not re.search(s["pattern"], value):
            errs.append("%s: %r does not match %s" % (where, value, s["pattern"]))
        if "minimum" in s and isinstance(value, (int, float)) and value < s["minimum"]:
            errs.append("%s: %r < minimum %s" % (where, value, s["minimum"]))
        if "maximum" in s and isinstance(value, (int, float)) and value > s["maximum"]:
            errs.append("%s: %r > maximum %s" % (where, value, s["maximum"]))
        if isinstance(value, str):
            if "minLength" in s and len(value) < s["minLength"]:
                errs.append("%s: shorter than %d" % (where, s["minLength"]))
            if "maxLength" in s and len(value) > s["maxLength"]:
                errs.append("%s: longer than %d" % (where, s["maxLength"]))
        if isinstance(value, dict):
            props = s.get("properties", {})
            for k in s.get("required", []):
                if k not in value:
                    errs.append("%s: required field %r missing" % (where, k))
            extra = s.get("additionalProperties", True)
            for k, v in value.items():
                if k in props:
                    errs += self.errors(v, props[k], "%s.%s" % (where, k))
                elif extra is False:
                    errs.append("%s: undocumented field %r" % (where, k))
                elif isinstance(extra, dict):
                    errs += self.errors(v, extra, "%s.%s" % (where, k))
        if isinstance(value, list):
            if "minItems" in s and len(value) < s["minItems"]:
                errs.append("%s: fewer than %d items" % (where, s["minItems"]))
            if "maxItems" in s and len(value) > s["maxItems"]:
                errs.append("%s: more than %d items" % (where, s["maxItems"]))
            if "items" in s:
                for i, v in enumerate(value):
                    errs += self.errors(v, s["items"], "%s[%d]" % (where, i))
        return errs

    def operations(self):
        for path, item in self.doc["paths"].items():
            for method, op in item.items():
                if method in ("get", "post", "put", "delete", "patch", "head", "options"):
                    yield path, method, op

    def op(self, path, method):
        return self.doc["paths"][path][method]

    def parameters(self, op):
        return [self.resolve(p) for p in op.get("parameters", [])]


def load_doc():
    with open(OPENAPI, encoding="utf-8") as f:
        return load_yaml(f.read())


# Every operation of SPEC 9 that exists, and who may call them ("cron": the X-Cron-Auth
# header instead of a bearer token). Issue 13: the file used to describe 10 paths only.
_STRATEGY_POSTS = ["submit", "activate", "fail", "close", "archive", "delete", "status",
                   "rollback"]
EXPECTED_OPERATIONS = {
    ("/api/strategies", "post"): "ingest",
    ("/api/strategies", "get"): "read",
    ("/api/strategies/swap", "post"): "ingest",
    ("/api/audit-logs/strategies", "get"): "read",
    ("/api/strategies/{id}", "get"): "read",
    ("/api/strategies/{id}/yaml", "put"): "ingest",
    ("/api/strategies/{id}/versions", "get"): "read",
    ("/api/strategies/{id}/versions/{n}", "get"): "read",
    ("/api/strategies/{id}/diff", "get"): "read",
    ("/api/strategies/{id}/audit-log", "get"): "read",
    ("/api/feedback", "post"): "ingest",
    ("/api/feedback", "get"): "read",
    ("/api/actions", "post"): "ingest",
    ("/api/adapters/freqtrade", "post"): "ingest",
    ("/api/heartbeat", "post"): "ingest",
    ("/api/producers", "get"): "read",
    ("/api/summary", "get"): "read",
    ("/api/analytics/{kind}", "get"): "read",
    ("/api/cron/{job}", "post"): "cron",
    ("/api/ai/train", "post"): "cron",
    ("/healthz", "get"): "none",
    ("/metrics", "get"): "none",
    ("/api/events", "post"): "ingest",
    ("/api/events", "get"): "read",
    ("/api/events/{seq}", "get"): "read",
    ("/api/events/{seq}/proof", "get"): "read",
    ("/api/consistency", "get"): "read",
    ("/api/checkpoint", "get"): "read",
    ("/checkpoint", "get"): "read",
    ("/api/stream", "get"): "read",
    ("/api/stats", "get"): "read",
    ("/api/export", "get"): "read",
    ("/api/export/manifest", "get"): "read",
}
EXPECTED_OPERATIONS.update({("/api/strategies/{id}/" + op, "post"): "ingest"
                            for op in _STRATEGY_POSTS})
CRON_SECRET = "oa-cron-s3cret-value"

# Documented statuses this test cannot provoke on a healthy server, and why.
NOT_PROVOKED = {
    ("/api/events", "post", "500"): "an internal failure",
    ("/api/events", "post", "503"): "store locked past the wait, an I/O error, or shutdown",
    ("/api/events", "post", "507"): "disk full",
    ("/api/events", "get", "500"): "an internal failure",
    ("/api/events", "get", "503"): "store locked past the wait or an I/O error",
}


def strategy_body(sid):
    return {"id": sid, "name": "OA RSI", "symbol": "AAPL", "timeframe": "5m",
            "yaml": "name: rsi\nentry: rsi < 30\n", "actor": "oa", "reason": "created"}


def ev(**kw):
    e = {"entity": "order", "entity_id": "o-1", "event_type": "CREATED", "actor": "bot"}
    e.update(kw)
    return e


class YamlReaderTest(unittest.TestCase):
    def test_reader_on_samples(self):
        text = ("a: 1\nb:\n  - x\n  - 'y z'\n  - k: v\n    l: [1, 'two']\nc: |\n  line 1\n\n"
                "  line 2\nd: >\n  folded\n  text\ne: \"q\\\"uote\"\n'200':\n  ok: true\n"
                "f:\n- 1\n- 2\ng: 0.1.0\nh: 1.5\ni: null\nj: []\n")
        self.assertEqual(load_yaml(text), {
            "a": 1, "b": ["x", "y z", {"k": "v", "l": [1, "two"]}],
            "c": "line 1\n\nline 2\n", "d": "folded text\n", "e": 'q"uote',
            "200": {"ok": True}, "f": [1, 2], "g": "0.1.0", "h": 1.5, "i": None, "j": []})
        for bad in ["a: &x 1\n", "a: *x\n", "a: 1 # c\n", "a:\n\tb: 1\n", "a: on\n",
                    "a: 1\na: 2\n", "a: {b: 1}\n"]:
            with self.assertRaises(YamlError, msg=bad):
                load_yaml(bad)

    def test_reader_agrees_with_pyyaml(self):
        try:
            import yaml  # noqa: F401
        except ImportError:
            self.skipTest("PyYAML is not installed")
        with open(OPENAPI, encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(load_yaml(text), yaml.safe_load(text))


class DocumentTest(unittest.TestCase):
    def setUp(self):
        self.d = Doc(load_doc())

    def test_structure(self):
        doc = self.d.doc
        self.assertTrue(str(doc["openapi"]).startswith("3.0"))
        self.assertEqual(doc["components"]["securitySchemes"]["bearer"],
                         {"type": "http", "scheme": "bearer",
                          "description": doc["components"]["securitySchemes"]["bearer"]
                          ["description"]})
        self.assertEqual(doc["security"], [{"bearer": []}])
        ops = {(p, m): op for p, m, op in self.d.operations()}
        self.assertEqual(set(ops), set(EXPECTED_OPERATIONS))
        for (path, method), op in ops.items():
            role = EXPECTED_OPERATIONS[(path, method)]
            self.assertEqual(op.get("x-tradetrail-role"), role, (path, method))
            codes = set(op["responses"])
            for c in codes:
                self.assertRegex(c, r"^[1-5][0-9][0-9]$")
            if role == "none":
                self.assertEqual(op.get("security"), [])
            elif role == "cron":  # X-Cron-Auth, documented as a header parameter
                self.assertEqual(op.get("security"), [])
                self.assertIn("X-Cron-Auth", [p["name"] for p in self.d.parameters(op)])
                self.assertTrue({"401", "403"} <= codes, (path, method))
            else:
                self.assertNotIn("security", op)  # the global bearer requirement
                self.assertTrue({"401", "403"} <= codes, (path, method))
            for c, resp in op["responses"].items():
                resp = self.d.resolve(resp)
                self.assertIn("description", resp)
                if c[0] in "45":
                    schema = resp["content"]["application/json"]["schema"]
                    self.assertEqual(schema, {"$ref": "#/components/schemas/Error"})
            for p in self.d.parameters(op):
                self.assertIn(p["in"], ("query", "header", "path"))
                self.assertIn("example", p, (path, p["name"]))
        # every $ref resolves
        def walk(node):
            if isinstance(node, dict):
                if "$ref" in node:
                    self.d.resolve(node)
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(doc)

    def test_validator_catches_mismatches(self):
        schemas = self.d.doc["components"]["schemas"]
        good = {"seq": 5, "ts": "2026-01-18T10:31:00.123456Z", "leaf_hash": "ab" * 32}
        self.assertEqual(self.d.errors(good, schemas["AppendResult"]), [])
        for bad in [{k: v for k, v in good.items() if k != "ts"}, dict(good, extra=1),
                    dict(good, seq="5"), dict(good, seq=True), dict(good, leaf_hash="AB" * 32),
                    dict(good, ts="2026-01-18T10:31:00Z"), dict(good, seq=0),
                    dict(good, seq=None)]:
            self.assertNotEqual(self.d.errors(bad, schemas["AppendResult"]), [], bad)
        err = {"error": {"code": "not_found", "message": "x"}}
        self.assertEqual(self.d.errors(err, schemas["Error"]), [])
        self.assertNotEqual(self.d.errors({"error": {"code": "nope", "message": "x"}},
                                          schemas["Error"]), [])
        self.assertNotEqual(self.d.errors({"error": {"code": "internal"}}, schemas["Error"]),
                            [])
        one_of = self.d.op("/api/events", "post")["responses"]["201"]["content"][
            "application/json"]["schema"]
        self.assertEqual(self.d.errors(good, one_of), [])
        self.assertEqual(self.d.errors({"first_seq": None, "count": 0, "seqs": [4, 2]}, one_of),
                         [])
        self.assertNotEqual(self.d.errors({"first_seq": None, "count": 0}, one_of), [])
        self.assertNotEqual(self.d.errors(dict(good, count=1), one_of), [])
        page = {"events": [dict(good)], "next_cursor": None}
        self.assertNotEqual(self.d.errors(page, schemas["EventPage"]), [])

    def test_error_schema(self):
        e = self.d.doc["components"]["schemas"]["Error"]
        self.assertEqual(e["required"], ["error"])
        inner = e["properties"]["error"]
        self.assertEqual(inner["required"], ["code", "message"])
        self.assertEqual(set(inner["properties"]["code"]["enum"]), set(T.ERROR_CODES.values()) |
                         {"conflict"})


class ServerAgainstDocTest(T.ServerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d = Doc(load_doc())
        cls.covered = set()
        srv = cls.server
        r = srv.post_events([ev(entity_id="x-%d" % i) for i in range(20)])
        assert r.status == 201, r
        # What the documented examples of the domain endpoints name: strategy oa-s1 (one
        # version) and feedback for oa-s2.
        for sid in ("oa-s1", "oa-s2"):
            r = srv.request("POST", "/api/strategies", body=strategy_body(sid), token="ingest")
            assert r.status == 201, r
        r = srv.request("POST", "/api/feedback", token="ingest", body={
            "strategy_id": "oa-s2", "ai_return": 0.05, "benchmark_return": 0.01,
            "user_id": "u1", "benchmark": "SPY"})
        assert r.status == 201, r

    def check(self, path_t, method, r):
        """r's status is documented for the operation, with a documented media type and a
        body that validates against the documented schema."""
        op = self.d.op(path_t, method)
        code = str(r.status)
        self.assertIn(code, op["responses"], "%s %s answered %r" % (method, path_t, r))
        self.covered.add((path_t, method, code))
        resp = self.d.resolve(op["responses"][code])
        content = resp.get("content")
        if not content:
            return
        ctype = r.headers.get("content-type", "").split(";")[0].strip()
        self.assertIn(ctype, content, "%s %s %s: Content-Type %s" % (method, path_t, code,
                                                                      ctype))
        schema = content[ctype]["schema"]
        if ctype == "application/json":
            body = r.json()
            errs = self.d.errors(body, schema)
            self.assertEqual(errs, [], "%s %s %s: %s" % (method, path_t, code, body))
            # no undocumented top-level field, whatever the schema says
            s = self.d.resolve(schema)
            alts = [self.d.resolve(x) for x in s.get("oneOf", [s])]
            self.assertTrue(any(set(body) <= set(a.get("properties", {})) for a in alts),
                            body)
        else:
            self.assertIsInstance(r.body, bytes)

    def req(self, path_t, method, path, **kw):
        r = self.server.request(method.upper(), path, **kw)
        self.check(path_t, method, r)
        return r

    def stream_status(self, path, token="read", headers=None):
        """Open a stream, read only the status line and headers, close."""
        srv = self.server
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + srv.tokens.get(token, token)
        conn = srv.connection()
        try:
            conn.request("GET", path, headers=h)
            r = conn.getresponse()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            body = b"" if r.status == 200 else r.read()
            return T.Response(r.status, hdrs, body)
        finally:
            conn.close()

    def test_1_provoke_every_documented_status(self):
        srv = self.server
        size = srv.tree_size()
        E, P = "/api/events", "post"
        self.req("/healthz", "get", "/healthz", token=None)
        self.req("/metrics", "get", "/metrics", token=None)
        # POST /api/events
        self.req(E, P, E, body=ev(idempotency_key="oa-1"), token="ingest")
        self.req(E, P, E, body=ev(idempotency_key="oa-1"), token="ingest")
        self.req(E, P, E, body=ev(), headers={"Idempotency-Key": "oa-2"}, token="ingest")
        self.req(E, P, E, body=[ev(idempotency_key="oa-3"), ev()], token="admin")
        self.req(E, P, E, body=[ev(idempotency_key="oa-3")], token="admin")
        self.req(E, P, E, body=T.ndjson([ev(), ev()]), content_type="application/x-ndjson",
                 token="ingest")
        self.req(E, P, E, body="{", content_type="application/json")
        self.req(E, P, E, body=ev(), token=None)
        self.req(E, P, E, body=ev(), token="read")
        self.req(E, P, E, body=[ev()] * 10001)
        self.req(E, P, E, body=json.dumps(ev()), content_type="text/plain")
        # GET /api/events
        self.req(E, "get", E + "?limit=5", token="read")
        self.req(E, "get", E + "?entity=order&order=desc&limit=3", token="admin")
        self.req(E, "get", E + "?limit=0", token="read")
        self.req(E, "get", E, token=None)
        self.req(E, "get", E, token="ingest")
        # one event
        S = "/api/events/{seq}"
        self.req(S, "get", "/api/events/1", token="read")
        self.req(S, "get", "/api/events/0", token="read")
        self.req(S, "get", "/api/events/99999999", token="read")
        self.req(S, "get", "/api/events/1", token=None)
        self.req(S, "get", "/api/events/1", token="ingest")
        # proofs
        PR = "/api/events/{seq}/proof"
        self.req(PR, "get", "/api/events/2/proof", token="read")
        self.req(PR, "get", "/api/events/2/proof?tree_size=3", token="read")
        self.req(PR, "get", "/api/events/2/proof?tree_size=0", token="read")
        self.req(PR, "get", "/api/events/2/proof", token="tt_" + "0" * 64)
        self.req(PR, "get", "/api/events/2/proof", token="ingest")
        C = "/api/consistency"
        self.req(C, "get", C + "?first=2&second=%d" % size, token="read")
        self.req(C, "get", C + "?first=0&second=1", token="read")
        self.req(C, "get", C + "?first=1&second=1", token=None)
        self.req(C, "get", C + "?first=1&second=1", token="ingest")
        for path in ("/api/checkpoint", "/checkpoint", "/api/stats"):
            self.req(path, "get", path, token="read")
            self.req(path, "get", path + "?bogus=1", token="read")
            self.req(path, "get", path, token=None)
            self.req(path, "get", path, token="ingest")
        for path in ("/api/export", "/api/export/manifest"):
            self.req(path, "get", path + "?format=csv", token="read")
            self.req(path, "get", path + "?format=xml", token="read")
            self.req(path, "get", path, token=None)
            self.req(path, "get", path, token="ingest")
        # the stream
        ST = "/api/stream"
        for path, token, headers in [(ST, "read", None), (ST + "?entity=order", "admin", None),
                                     (ST, "read", {"Last-Event-ID": "1"}),
                                     (ST + "?limit=1", "read", None), (ST, None, None),
                                     (ST, "ingest", None)]:
            self.check(ST, "get", self.stream_status(path, token, headers))

    def test_2_stream_503_when_subscribers_run_out(self):
        srv = self.server
        socks = []
        try:
            for _ in range(400):
                s = T.SSEClient(srv.port, "/api/stream", srv.tokens["read"])
                socks.append(s)
                if s.status != 200:
                    break
            last = socks[-1]
            self.assertEqual(last.status, 503, "no limit on stream subscribers")
            n = int(last.headers.get("content-length", "0"))
            body = last.raw
            while len(body) < n:
                body += last.sock.recv(65536)
            self.check("/api/stream", "get", T.Response(503, last.headers, body[:n]))
        finally:
            for s in socks:
                s.close()
        # closed streams are released (within a tick of the server): accepted again
        deadline = time.time() + 10 * T.SLOW
        while True:
            s = T.SSEClient(srv.port, "/api/stream", srv.tokens["read"])
            s.close()
            if s.status == 200 or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(s.status, 200)

    def test_3_metrics_with_a_token(self):
        with T.Server(env={"TRADETRAIL_METRICS_PUBLIC": "false"}) as other:
            other.make_role_tokens()
            for token, status in [(None, 401), ("ingest", 403), ("read", 200), ("admin", 200)]:
                r = other.request("GET", "/metrics", token=token)
                self.assertEqual(r.status, status)
                self.check("/metrics", "get", r)
            self.assertEqual(other.stop(), 0)

    def test_4_documented_parameters_are_accepted(self):
        srv = self.server
        for path_t, method, op in self.d.operations():
            if method != "get":
                continue
            params = self.d.parameters(op)
            path = path_t
            for p in params:  # path parameters take their documented example
                if p["in"] == "path":
                    path = path.replace("{%s}" % p["name"], str(p["example"]))
            required = {p["name"]: p["example"] for p in params
                        if p["in"] == "query" and p.get("required")}
            for p in params:
                if p["in"] == "path":
                    continue
                q = dict(required)
                headers = {}
                if p["in"] == "query":
                    q[p["name"]] = p["example"]
                else:
                    headers[p["name"]] = str(p["example"])
                full = path + ("?" + urllib.parse.urlencode(q) if q else "")
                if path_t == "/api/stream":
                    r = self.stream_status(full, "read", headers)
                else:
                    r = srv.request("GET", full, token="read", headers=headers)
                self.assertEqual(r.status, 200, "%s with %s: %r" % (full, headers, r))
                self.check(path_t, method, r)
            # an undocumented query parameter is refused where parameters are checked
            if op.get("security") != []:
                q = dict(required, undocumented="1")
                full = path + "?" + urllib.parse.urlencode(q)
                r = (self.stream_status(full) if path_t == "/api/stream"
                     else srv.request("GET", full, token="read"))
                self.assertEqual(r.status, 400, full)
        # header parameters of POST /api/events
        op = self.d.op("/api/events", "post")
        for p in self.d.parameters(op):
            r = srv.request("POST", "/api/events", body=ev(entity="hdr"), token="ingest",
                            headers={p["name"]: p["example"]})
            self.assertEqual(r.status, 201, r)
            self.check("/api/events", "post", r)

    def test_5_request_schema_is_what_the_server_accepts(self):
        srv = self.server
        op = self.d.op("/api/events", "post")
        self.assertEqual(set(op["requestBody"]["content"]),
                         {"application/json", "application/x-ndjson"})
        schema = self.d.resolve(self.d.doc["components"]["schemas"]["EventInput"])
        values = {"entity": "order", "entity_id": "o-9", "event_type": "FILLED", "actor": "a",
                  "old_status": "NEW", "new_status": "FILLED", "reason": "why",
                  "metadata": {"k": [1, 2]}, "occurred_at": "2026-01-18T10:31:00Z",
                  "idempotency_key": None, "producer": "oa-bot", "producer_seq": 1}
        self.assertEqual(set(schema["properties"]), set(values))
        base = {k: values[k] for k in schema["required"]}
        pair = ("producer", "producer_seq")  # SPEC 15: both or neither
        for name in schema["properties"]:
            body = dict(base)
            body[name] = values[name] if name != "idempotency_key" else "schema-key"
            if name in pair:
                body.update({k: values[k] for k in pair})
                body["producer_seq"] = pair.index(name) + 1
            self.assertEqual(self.d.errors(body, schema), [])
            r = srv.request("POST", "/api/events", body=body, token="ingest")
            self.assertEqual(r.status, 201, "%s: %r" % (name, r))
            got = srv.get_json("/api/events/%d" % r.json()["seq"])
            self.assertEqual(self.d.errors(got, self.d.doc["components"]["schemas"]["Event"]),
                             [])
            if name in schema["required"]:
                partial = {k: v for k, v in base.items() if k != name}
                self.assertNotEqual(self.d.errors(partial, schema), [])
                self.assertEqual(srv.request("POST", "/api/events", body=partial).status, 400)
        for name in ("seq", "ts", "leaf_hash", "extra"):
            body = dict(base, **{name: 1})
            self.assertNotEqual(self.d.errors(body, schema), [])
            self.assertEqual(srv.request("POST", "/api/events", body=body).status, 400)

    # ---- the domain endpoints (issue 13: the file now describes every endpoint) ----

    def strategy(self, sid, status="DRAFT"):
        """A new strategy brought to status through the API."""
        srv = self.server
        r = srv.request("POST", "/api/strategies", body=strategy_body(sid), token="ingest")
        self.assertEqual(r.status, 201, r)
        steps = {"DRAFT": [], "PENDING": ["submit"], "ACTIVE": ["submit", "activate"],
                 "FAILED": ["fail"], "ARCHIVED": ["fail", "archive"]}[status]
        for op in steps:
            r = srv.request("POST", "/api/strategies/%s/%s" % (sid, op), body={"actor": "oa"},
                            token="ingest")
            self.assertEqual(r.status, 200, r)
        return sid

    def test_6_strategy_endpoints(self):
        srv = self.server
        S, P = "/api/strategies", "post"
        self.req(S, P, S, body=strategy_body("oa-c1"), token="ingest")
        self.req(S, P, S, body=strategy_body("oa-c1"), token="ingest")  # 409
        self.req(S, P, S, body=dict(strategy_body("oa-c2"), name=None), token="ingest")
        self.req(S, P, S, body=strategy_body("oa-c3"), token=None)
        self.req(S, P, S, body=strategy_body("oa-c3"), token="read")
        self.req(S, P, S, body=json.dumps(strategy_body("oa-c3")), content_type="text/plain",
                 token="ingest")
        for path, token in [(S, "read"), (S + "?status=DRAFT&limit=2", "read"),
                            (S + "?bogus=1", "read"), (S, None), (S, "ingest")]:
            self.req(S, "get", path, token=token)
        # the transitions: 200, 400 (unknown field), 401, 403, 404, 409, 415
        ok_from = {"submit": "DRAFT", "activate": "PENDING", "fail": "DRAFT",
                   "close": "ACTIVE", "archive": "FAILED", "delete": "DRAFT",
                   "status": "DRAFT", "rollback": "DRAFT"}
        conflict_from = {"submit": "PENDING", "activate": "DRAFT", "fail": "ACTIVE",
                         "close": "DRAFT", "archive": "DRAFT", "delete": "ACTIVE",
                         "status": "DRAFT", "rollback": "ARCHIVED"}
        extra = {"status": {"status": "PENDING"}, "rollback": {"version": 1}}
        for i, op in enumerate(_STRATEGY_POSTS):
            path_t = S + "/{id}/" + op
            body = dict({"actor": "oa"}, **extra.get(op, {}))
            sid = self.strategy("oa-t%d" % i, ok_from[op])
            self.req(path_t, P, "%s/%s/%s" % (S, sid, op), body=body, token="ingest")
            bad = self.strategy("oa-u%d" % i, conflict_from[op])
            conflict = dict(body, status="DRAFT") if op == "status" else body
            self.req(path_t, P, "%s/%s/%s" % (S, bad, op), body=conflict, token="ingest")
            self.req(path_t, P, "%s/%s/%s" % (S, bad, op), body=dict(body, bogus=1),
                     token="ingest")
            self.req(path_t, P, "%s/nobody/%s" % (S, op), body=body, token="ingest")
            self.req(path_t, P, "%s/%s/%s" % (S, bad, op), body=body, token=None)
            self.req(path_t, P, "%s/%s/%s" % (S, bad, op), body=body, token="read")
            self.req(path_t, P, "%s/%s/%s" % (S, bad, op), body=json.dumps(body),
                     content_type="text/plain", token="ingest")
        # PUT .../yaml
        Y = S + "/{id}/yaml"
        y = {"yaml": "a: 2\n", "actor": "oa", "reason": "edit"}
        sid, arch = self.strategy("oa-y1"), self.strategy("oa-y2", "ARCHIVED")
        self.req(Y, "put", "%s/%s/yaml" % (S, sid), body=y, token="ingest")
        self.req(Y, "put", "%s/%s/yaml" % (S, arch), body=y, token="ingest")
        self.req(Y, "put", "%s/%s/yaml" % (S, sid), body=dict(y, yaml="a: [\n"), token="ingest")
        self.req(Y, "put", "%s/nobody/yaml" % S, body=y, token="ingest")
        self.req(Y, "put", "%s/%s/yaml" % (S, sid), body=y, token=None)
        self.req(Y, "put", "%s/%s/yaml" % (S, sid), body=y, token="read")
        self.req(Y, "put", "%s/%s/yaml" % (S, sid), body=json.dumps(y), content_type="text/plain",
                 token="ingest")
        # swap
        W = S + "/swap"
        old, new = self.strategy("oa-w1", "ACTIVE"), self.strategy("oa-w2", "PENDING")
        sw = {"old_id": old, "new_id": new, "actor": "evaluator", "reason": "better",
              "old_score": 0.1, "new_score": 0.3}
        self.req(W, P, W, body=sw, token="ingest")
        self.req(W, P, W, body=sw, token="ingest")  # old is CLOSED now: 409
        self.req(W, P, W, body=dict(sw, old_id="nobody"), token="ingest")
        self.req(W, P, W, body=dict(sw, bogus=1), token="ingest")
        self.req(W, P, W, body=sw, token=None)
        self.req(W, P, W, body=sw, token="read")
        self.req(W, P, W, body=json.dumps(sw), content_type="text/plain", token="ingest")
        # the reads of one strategy (oa-y1 has versions 1 and 2)
        reads = [(S + "/{id}", "/oa-y1", "/nobody", "/oa-y1?x=1"),
                 (S + "/{id}/versions", "/oa-y1/versions", "/nobody/versions",
                  "/oa-y1/versions?x=1"),
                 (S + "/{id}/versions/{n}", "/oa-y1/versions/2", "/oa-y1/versions/9",
                  "/oa-y1/versions/2?x=1"),
                 (S + "/{id}/diff", "/oa-y1/diff?from=1&to=2", "/oa-y1/diff?from=1&to=9",
                  "/oa-y1/diff?from=1"),
                 (S + "/{id}/audit-log", "/oa-y1/audit-log?limit=2", None,
                  "/oa-y1/audit-log?limit=x"),
                 ("/api/audit-logs/strategies", "", None, "?limit=0")]
        for path_t, good, missing, bad in reads:
            base = "/api/audit-logs/strategies" if path_t.startswith("/api/audit") else S
            for path, token in [(good, "read"), (missing, "read"), (bad, "read"),
                                (good, None), (good, "ingest")]:
                if path is not None:
                    self.req(path_t, "get", base + path, token=token)
        r = self.req(S + "/{id}/diff", "get", S + "/oa-y1/diff?from=1&to=2", token="read",
                     headers={"Accept": "text/x-diff"})
        self.assertTrue(r.body.startswith(b"--- oa-y1/v1\n"), r)

    def test_7_domain_endpoints(self):
        F, A, M = "/api/feedback", "/api/actions", "/api/summary"
        fb = {"strategy_id": "oa-s2", "ai_return": 0.01, "benchmark_return": 0.02,
              "user_id": "u1", "benchmark": "SPY"}
        for path_t, body in [(F, fb), (A, {"message": "restarted", "source": "oa"})]:
            self.req(path_t, "post", path_t, body=body, token="ingest")
            self.req(path_t, "post", path_t, body=dict(body, bogus=1), token="ingest")
            self.req(path_t, "post", path_t, body=body, token=None)
            self.req(path_t, "post", path_t, body=body, token="read")
            self.req(path_t, "post", path_t, body=json.dumps(body), content_type="text/plain",
                     token="ingest")
        for path_t, good, bad in [(F, F + "?strategy_id=oa-s2&limit=5", F + "?outcome=maybe"),
                                  (M, M + "?period=month", M + "?period=year")]:
            for path, token in [(good, "read"), (bad, "read"), (good, None),
                                (good, "ingest")]:
                self.req(path_t, "get", path, token=token)
        r = self.req(M, "get", M + "?period=day", token="read", headers={"Accept": "text/plain"})
        self.assertIn("Daily Audit Summary", r.text)
        K = "/api/analytics/{kind}"
        kinds = self.d.resolve(self.d.parameters(self.d.op(K, "get"))[0])["schema"]["enum"]
        self.assertEqual(len(kinds), 8)
        for kind in kinds:
            self.req(K, "get", "/api/analytics/%s?limit=3" % kind, token="read")
        for path, token in [("/api/analytics/nope", "read"),
                            ("/api/analytics/actors?limit=0", "read"),
                            ("/api/analytics/actors", None), ("/api/analytics/actors", "ingest")]:
            self.req(K, "get", path, token=token)

    def test_7_freqtrade_adapter(self):
        A = "/api/adapters/freqtrade"
        body = {"type": "exit_fill", "bot": "oa-bot", "trade_id": "3", "pair": "ETH/USDT",
                "amount": "0.5", "close_rate": "2400.5", "profit_ratio": "None"}
        schema = self.d.resolve(self.d.doc["components"]["schemas"]["FreqtradeWebhook"])
        self.assertEqual(self.d.errors(body, schema), [])
        self.assertEqual(self.req(A, "post", A, body=body, token="ingest").status, 201)
        self.assertEqual(self.req(A, "post", A, body=body, token="ingest").status, 200)
        self.assertEqual(self.req(A, "post", A, body=dict(body, type="nope"),
                                  token="ingest").status, 400)
        self.req(A, "post", A, body=body, token=None)
        self.req(A, "post", A, body=body, token="read")
        self.req(A, "post", A, body=json.dumps(body), content_type="text/plain", token="ingest")
        big = json.dumps(dict(body, reason="x" * 70000))
        self.assertEqual(self.req(A, "post", A, body=big, content_type="application/json",
                                  token="ingest").status, 413)

    def test_7_producer_endpoints(self):
        H, P = "/api/heartbeat", "/api/producers"
        body = {"producer": "oa-feeder", "heartbeat_timeout": 600}
        self.assertEqual(self.req(H, "post", H, body=body, token="ingest").status, 200)
        self.req(H, "post", H, body=dict(body, bogus=1), token="ingest")
        self.req(H, "post", H, body=body, token=None)
        self.req(H, "post", H, body=body, token="read")
        self.req(H, "post", H, body=json.dumps(body), content_type="text/plain", token="ingest")
        r = self.req(P, "get", P, token="read")
        self.assertIn("oa-feeder", [p["producer"] for p in r.json()["producers"]])
        for path, token in [(P + "?x=1", "read"), (P, None), (P, "ingest")]:
            self.req(P, "get", path, token=token)

    def test_8_cron_endpoints(self):
        C, T_ = "/api/cron/{job}", "/api/ai/train"
        # this class's server has no cron_secret: 403
        self.req(C, "post", "/api/cron/checkpoint", token=None,
                 headers={"X-Cron-Auth": CRON_SECRET})
        self.req(T_, "post", T_, token=None, headers={"X-Cron-Auth": CRON_SECRET})
        sink = os.path.join(self.server.log_dir, "oa-train.jsonl")
        env = {"TRADETRAIL_CRON_SECRET": CRON_SECRET, "TRADETRAIL_FEEDBACK_SINK": "file:" + sink,
               "TRADETRAIL_RETENTION_DAYS": "3650"}
        with T.Server(env=env) as other:
            def call(path_t, path, secret):
                r = other.request("POST", path, token=None,
                                  headers={"X-Cron-Auth": secret} if secret else None)
                self.check(path_t, "post", r)
                return r
            jobs = self.d.resolve(self.d.parameters(self.d.op(C, "post"))[0])["schema"]["enum"]
            for job in jobs:
                self.assertEqual(call(C, "/api/cron/" + job, CRON_SECRET).status, 200, job)
            self.assertEqual(call(C, "/api/cron/nope", CRON_SECRET).status, 404)
            self.assertEqual(call(C, "/api/cron/checkpoint", "wrong").status, 401)
            self.assertEqual(call(C, "/api/cron/checkpoint", None).status, 401)
            self.assertEqual(call(T_, T_, CRON_SECRET).status, 200)
            self.assertEqual(call(T_, T_, "wrong").status, 401)
        # retention without retention_days: refused (400), not run
        with T.Server(env={"TRADETRAIL_CRON_SECRET": CRON_SECRET}) as bare:
            r = bare.request("POST", "/api/cron/retention", token=None,
                             headers={"X-Cron-Auth": CRON_SECRET})
            self.check(C, "post", r)
            self.assertEqual(r.status, 400, r)

    def test_9_every_documented_status_was_provoked(self):
        # runs last (unittest orders test methods by name), after the ones that provoke
        if ("/healthz", "get", "200") not in self.covered:
            self.skipTest("run with the other tests of this class")
        missing = []
        for path, method, op in self.d.operations():
            for code in op["responses"]:
                key = (path, method, code)
                if key not in self.covered and key not in NOT_PROVOKED:
                    missing.append(key)
        self.assertEqual(missing, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
