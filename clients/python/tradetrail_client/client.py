# SPDX-License-Identifier: Apache-2.0
"""A synchronous client for the tradetrail HTTP API (docs/API.md), standard library only.

Writes of events are safe to retry: every event gets an idempotency key before its first
attempt (SPEC 3.1), so a retry after a lost answer returns the original seq instead of a
second event. Domain writes (strategies, feedback) have no such key, so they are retried
only when the server certainly did not see them (the connection was refused)."""

import hashlib
import http.client
import json
import os
import random
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid

from . import verify as _verify

__all__ = ["Client", "ApiError", "TransientError", "Producer", "new_idempotency_key",
           "provenance", "with_provenance"]

_EVENT_FIELDS = ("entity", "entity_id", "event_type", "actor", "old_status", "new_status",
                 "reason", "metadata", "occurred_at", "idempotency_key", "producer",
                 "producer_seq")


# SPEC 15: a ledger name, as the server checks it (tt_ledger_name_valid).
_LEDGER_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
MAIN_LEDGER = "main"


class ApiError(Exception):
    """The server answered with an error (SPEC 9): status, code and message."""

    def __init__(self, status, code, message):
        super().__init__("%d %s: %s" % (status, code, message))
        self.status = status
        self.code = code
        self.message = message

    @property
    def transient(self):
        # 5xx: the server could not do it now (unavailable, storage full, internal); the
        # same request may succeed later. 4xx is about the request and never will.
        return self.status >= 500


class TransientError(Exception):
    """The server could not be reached, or kept answering 5xx, for every attempt."""


def new_idempotency_key():
    """A fresh key (128 random bits): unique per event, so a replay is recognised as such
    and two distinct events never collide."""
    return "py-" + uuid.uuid4().hex


def _event(entity, entity_id, event_type, actor, **fields):
    ev = {"entity": entity, "entity_id": entity_id, "event_type": event_type, "actor": actor}
    for k, v in fields.items():
        if v is not None:
            ev[k] = v
    return ev


def action_event(message, source=None):
    """The event POST /api/actions writes (SPEC 6.3, src/domain/actions.c): entity
    maintenance, entity_id and actor the source (default manual), type ACTION, reason the
    message. Built here so it can carry an idempotency key, which /api/actions cannot."""
    if not message:
        raise ValueError("message: must not be empty")
    src = source or "manual"
    return _event("maintenance", src, "ACTION", src, reason=message)


def audit_event(entity, entity_id, action, actor, payload=None, **fields):
    """The seed's logAudit shape: action is the event type, payload the metadata."""
    return _event(entity, entity_id, action, actor, metadata=payload, **fields)


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def provenance(strategy_file=None, config_file=None, repo="."):
    """Run provenance (issue 18, docs/INTEGRATIONS.md "Run provenance"): the git commit
    of repo (git_sha, with git_dirty when the work tree has changes; absent when repo is
    not a git checkout), and the SHA-256 of the strategy and configuration files with their
    names. Returns a dict for metadata["provenance"]."""
    out = {}
    try:
        sha = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        if sha.returncode == 0:
            out["git_sha"] = sha.stdout.strip()
            st = subprocess.run(["git", "-C", repo, "status", "--porcelain"],
                                capture_output=True, text=True, timeout=10)
            out["git_dirty"] = st.returncode == 0 and st.stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        pass
    for key, path in (("strategy", strategy_file), ("config", config_file)):
        if path is not None:
            out[key + "_file"] = os.path.basename(path)
            out[key + "_sha256"] = _sha256_file(path)
    return out


def with_provenance(event, prov):
    """A copy of event whose metadata holds prov under "provenance"."""
    meta = dict(event.get("metadata") or {})
    meta["provenance"] = prov
    return dict(event, metadata=meta)


class Producer:
    """Completeness per producer (SPEC 15): Producer("ft-main").stamp(event) returns a copy
    of the event with producer and the next producer_seq (1, 2, 3 ... from start; a new
    Producer after a restart starts at 1 again, which the ledger records as a RESTART).
    The copy also gets its idempotency key now, so appending it again after a failure is a
    retry the ledger recognises, never a REPEAT. Safe to share between threads."""

    def __init__(self, name, start=1):
        if not name or len(name) > 64:
            raise ValueError("producer: 1 to 64 characters")
        self.name = name
        self._next = start
        self._lock = threading.Lock()

    def stamp(self, event):
        with self._lock:
            seq = self._next
            self._next += 1
        ev = dict(event, producer=self.name, producer_seq=seq)
        if not ev.get("idempotency_key"):
            ev["idempotency_key"] = new_idempotency_key()
        return ev


class Client:
    """Client(url, token): url like http://127.0.0.1:8080, token a bearer token of the
    role the calls need (ingest to write, read to query). Safe to share between threads:
    each call opens its own connection and keeps no state between calls.

    retries: extra attempts after a transient failure; backoff: first delay in seconds,
    doubled per attempt (with jitter, capped at max_backoff).

    ledger: the ledger every call works on (SPEC 15 namespaces), sent as the X-Ledger
    header: e.g. "paper" beside the main ledger; None or "main" is the main ledger. The
    server creates a named ledger on its first write; reading one that was never written
    is ApiError 404."""

    def __init__(self, url, token, timeout=10.0, retries=4, backoff=0.2, max_backoff=5.0,
                 ledger=None):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("url: need http(s)://host[:port], got %r" % url)
        if ledger is not None and not _LEDGER_RE.fullmatch(ledger):
            raise ValueError("ledger: 1-32 characters a-z, 0-9 and '-', not starting with "
                             "'-', got %r" % ledger)
        self._https = u.scheme == "https"
        self._host = u.hostname
        self._port = u.port or (443 if self._https else 80)
        self._prefix = u.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.ledger = None if ledger == MAIN_LEDGER else ledger

    # ---- transport ----

    def _once(self, method, path, body):
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self.timeout)
        try:
            headers = {"Accept": "application/json"}
            if self.token:
                headers["Authorization"] = "Bearer " + self.token
            if self.ledger is not None:
                headers["X-Ledger"] = self.ledger
            data = None
            if isinstance(body, bytes):
                data = body  # already JSON (the BufferedSender encodes each event once)
            elif body is not None:
                data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            if data is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, self._prefix + path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
        finally:
            conn.close()
        ctype = r.getheader("Content-Type", "")
        if r.status >= 400:
            code, msg = "http_%d" % r.status, raw.decode("utf-8", "replace")[:500]
            try:
                err = json.loads(raw)["error"]
                code, msg = err["code"], err["message"]
            except (ValueError, KeyError, TypeError):
                pass
            raise ApiError(r.status, code, msg)
        if ctype.startswith("application/json"):
            return json.loads(raw)
        return raw.decode("utf-8")

    def request(self, method, path, body=None, params=None, idempotent=True, retries=None):
        """One API call with retries; returns the decoded JSON (or text). idempotent=False
        limits retries to refused connections, where the request cannot have been seen."""
        if params:
            q = {k: v for k, v in params.items() if v is not None}
            if q:
                path += "?" + urllib.parse.urlencode(q)
        attempts = 1 + (self.retries if retries is None else retries)
        last = None
        for attempt in range(attempts):
            if attempt:
                delay = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
                time.sleep(delay * (0.5 + random.random() / 2))  # jitter: no thundering herd
            try:
                return self._once(method, path, body)
            except ApiError as e:
                if not e.transient or not idempotent:
                    raise
                last = e
            except ConnectionRefusedError as e:
                last = e  # nothing was sent: always safe to retry
            except (OSError, http.client.HTTPException, socket.timeout) as e:
                if not idempotent:
                    raise TransientError("%s %s: %s (not retried: the request may have "
                                         "been applied)" % (method, path, e)) from e
                last = e
        raise TransientError("%s %s failed after %d attempts: %s" % (method, path, attempts,
                                                                     last)) from last

    # ---- events ----

    @staticmethod
    def _keyed(event):
        unknown = set(event) - set(_EVENT_FIELDS)
        if unknown:
            raise ValueError("unknown event field(s): %s" % ", ".join(sorted(unknown)))
        ev = dict(event)
        if not ev.get("idempotency_key"):
            ev["idempotency_key"] = new_idempotency_key()
        return ev

    def append(self, event):
        """Append one event (a dict of SPEC 3.1 fields); an idempotency key is added when
        missing. Returns {"seq","ts","leaf_hash"}."""
        return self.request("POST", "/api/events", self._keyed(event))

    def append_batch(self, events):
        """Append events as one atomic batch; each gets a key when missing. Returns
        {"first_seq","count","seqs"} (seqs: each input event's seq, in order)."""
        return self.request("POST", "/api/events", [self._keyed(e) for e in events])

    def log_action(self, message, source=None):
        """The seed's log_action (SPEC 6.3). Returns {"seq","ts","leaf_hash"}."""
        return self.append(action_event(message, source))

    def log_audit(self, entity, entity_id, action, actor, payload=None, **fields):
        """The seed's logAudit: action becomes event_type, payload the metadata; extra
        fields (old_status, new_status, reason, occurred_at) pass through."""
        return self.append(audit_event(entity, entity_id, action, actor, payload, **fields))

    def event(self, seq):
        return self.request("GET", "/api/events/%d" % seq)

    def heartbeat(self, producer, timeout=None):
        """POST /api/heartbeat (SPEC 15): producer is alive; timeout (seconds) becomes its
        heartbeat_timeout. Returns the producer's state."""
        body = {"producer": producer}
        if timeout is not None:
            body["heartbeat_timeout"] = int(timeout)
        return self.request("POST", "/api/heartbeat", body)

    def producers(self):
        """GET /api/producers: every producer with its counter, gaps, repeats, restarts
        and silences."""
        return self.request("GET", "/api/producers")["producers"]

    def events(self, **filters):
        """Iterate over every event matching the filters of GET /api/events (entity,
        entity_id, event_type, actor, since, until, q, after_seq, limit as page size,
        order, view="corrected" for SPEC 15's corrected view), following next_cursor page
        by page."""
        params = dict(filters)
        if isinstance(params.get("event_type"), (list, tuple)):
            params["event_type"] = ",".join(params["event_type"])
        while True:
            page = self.request("GET", "/api/events", params=params)
            yield from page["events"]
            if page.get("next_cursor") is None:
                return
            params["cursor"] = page["next_cursor"]

    def proof(self, seq, tree_size=None):
        return self.request("GET", "/api/events/%d/proof" % seq,
                            params={"tree_size": tree_size})

    def consistency(self, first, second):
        return self.request("GET", "/api/consistency", params={"first": first,
                                                                "second": second})

    def checkpoint(self):
        return self.request("GET", "/api/checkpoint")

    def stats(self):
        return self.request("GET", "/api/stats")

    def verify_event(self, seq, vkey):
        """Fetch event seq, its proof and the latest checkpoint, and check offline that the
        event's fields hash to its leaf, the leaf is in the tree, and the tree's root is the
        one the pinned verifier key signed for this client's ledger (the checkpoint's origin
        line is the key's name, "/<ledger>" after it for a named ledger: every ledger of a
        store is signed by the same key). Returns the checkpoint's tree size; raises
        verify.VerificationError when anything does not match."""
        ev = self.event(seq)
        lh = _verify.leaf_hash(ev)
        if lh != ev["leaf_hash"]:
            raise _verify.VerificationError("event %d: fields hash to %s, not %s" %
                                            (seq, lh, ev["leaf_hash"]))
        cp = self.checkpoint()
        origin, size, root = _verify.verify_note(cp["note"], vkey)
        want = vkey.strip().split("+", 1)[0] + ("/" + self.ledger if self.ledger else "")
        if origin != want:
            raise _verify.VerificationError("the checkpoint's origin is %r, not %r: another "
                                            "ledger's checkpoint" % (origin, want))
        if size < seq:
            raise _verify.VerificationError("checkpoint of size %d predates event %d" %
                                            (size, seq))
        p = self.proof(seq, tree_size=size)
        _verify.verify_inclusion(p["leaf_index"], size, lh, p["hashes"], root)
        return size

    # ---- domain (SPEC 6) ----

    def record_feedback(self, strategy_id, ai_return, benchmark_return, user_id, benchmark):
        """SPEC 6.2; returns {"alpha","reward","outcome","seq"}."""
        return self.request("POST", "/api/feedback", {
            "strategy_id": strategy_id, "ai_return": ai_return,
            "benchmark_return": benchmark_return, "user_id": user_id, "benchmark": benchmark},
            idempotent=False)

    def feedback(self, **filters):
        return self.request("GET", "/api/feedback", params=filters)

    def create_strategy(self, name, symbol, timeframe, yaml, actor, reason=None, id=None):
        body = {"name": name, "symbol": symbol, "timeframe": timeframe, "yaml": yaml,
                "actor": actor}
        if reason is not None:
            body["reason"] = reason
        if id is not None:
            body["id"] = id
        return self.request("POST", "/api/strategies", body, idempotent=False)

    def _transition(self, op, sid, actor, reason, **extra):
        body = {"actor": actor}
        if reason is not None:
            body["reason"] = reason
        body.update(extra)
        return self.request("POST", "/api/strategies/%s/%s" % (_q(sid), op), body,
                            idempotent=False)

    def submit_strategy(self, sid, actor, reason=None):
        return self._transition("submit", sid, actor, reason)

    def activate_strategy(self, sid, actor, reason=None):
        return self._transition("activate", sid, actor, reason)

    def fail_strategy(self, sid, actor, reason=None):
        return self._transition("fail", sid, actor, reason)

    def close_strategy(self, sid, actor, reason=None):
        return self._transition("close", sid, actor, reason)

    def archive_strategy(self, sid, actor, reason=None):
        return self._transition("archive", sid, actor, reason)

    def delete_strategy(self, sid, actor, reason=None):
        return self._transition("delete", sid, actor, reason)

    def rollback_strategy(self, sid, version, actor, reason=None):
        return self._transition("rollback", sid, actor, reason, version=version)

    def update_strategy_yaml(self, sid, yaml, actor, reason):
        return self.request("PUT", "/api/strategies/%s/yaml" % _q(sid),
                            {"yaml": yaml, "actor": actor, "reason": reason}, idempotent=False)

    def swap_strategies(self, old_id, new_id, actor, reason, old_score=None, new_score=None):
        body = {"old_id": old_id, "new_id": new_id, "actor": actor, "reason": reason}
        if old_score is not None:
            body["old_score"] = old_score
        if new_score is not None:
            body["new_score"] = new_score
        return self.request("POST", "/api/strategies/swap", body, idempotent=False)

    def strategy(self, sid):
        return self.request("GET", "/api/strategies/%s" % _q(sid))

    def strategies(self, **filters):
        """GET /api/strategies (filters status, symbol, include_deleted, limit)."""
        if isinstance(filters.get("include_deleted"), bool):
            filters["include_deleted"] = "true" if filters["include_deleted"] else "false"
        return self.request("GET", "/api/strategies", params=filters)

    def strategy_versions(self, sid, number=None):
        path = "/api/strategies/%s/versions" % _q(sid)
        if number is not None:
            path += "/%d" % number
        return self.request("GET", path)

    def strategy_diff(self, sid, from_version, to_version):
        return self.request("GET", "/api/strategies/%s/diff" % _q(sid),
                            params={"from": from_version, "to": to_version})


def _q(s):
    return urllib.parse.quote(str(s), safe="")
