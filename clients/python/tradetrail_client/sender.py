# SPDX-License-Identifier: Apache-2.0
"""BufferedSender: hand events to a background thread so a trading loop never waits on
the network, and never lose one silently.

Order and durability rules, and why:
- Events are sent in the order they were submitted. There are two places an unsent event
  can be: the bounded in-memory queue, or the spill file (JSON lines, fsynced). At any
  moment only one of them holds events ("memory mode" or "file mode"): when the server
  is unreachable or the queue is full, the queue is written to the file first and every
  later event goes to the file behind it, so the file alone holds the order. Once the
  worker has replayed the whole file it truncates it and returns to memory mode.
- Every event gets its idempotency key when submitted, before it is ever sent, so sending
  it twice (a lost answer, a batch both in flight and spilled, a replay after a crash)
  writes it once: the server answers a repeated key with the original seq.
- An event the server refuses (4xx other than 401/403/429) cannot succeed by retrying: it
  is written to the rejected file with the server's message and reported through
  on_error, never dropped without a trace. Auth errors are the deployment's problem, not
  the event's: those events are kept and retried like an outage.
- submit() never waits for the network. In file mode it costs one write and one fsync,
  the price of not losing an event when the process dies during an outage."""

import collections
import json
import os
import threading
import time

from .client import ApiError, Client, TransientError, action_event, audit_event, \
    new_idempotency_key

__all__ = ["BufferedSender"]


class BufferedSender:
    """BufferedSender(client, spill_path, max_queue=10000, batch_size=500).

    submit(event) / log_action(...) / log_audit(...) return at once. flush(timeout) waits
    until every event submitted so far is acknowledged; close(timeout) flushes and stops
    the thread, leaving anything unsent in the spill file, which the next BufferedSender
    on the same path replays first. on_error(kind, detail) is called from the worker for
    rejected events ("rejected") and for failed attempts ("unreachable", "auth")."""

    def __init__(self, client, spill_path, max_queue=10000, batch_size=500,
                 rejected_path=None, on_error=None, retry_delay=0.2, max_retry_delay=5.0):
        if not isinstance(client, Client):
            raise TypeError("client: need a tradetrail_client.Client")
        self.client = client
        self.spill_path = spill_path
        self.rejected_path = rejected_path or spill_path + ".rejected"
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.on_error = on_error
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.sent = 0       # events the server acknowledged
        self.spilled = 0    # events written to the spill file
        self.rejected = 0   # events the server refused (in rejected_path)
        self._cv = threading.Condition()
        self._queue = collections.deque()
        self._closing = False
        self._submitted = 0  # submit() calls so far; flush() waits for sent+rejected to reach it
        self._done = 0
        # The spill file: opened in append mode; _replay_off is how far the worker has
        # replayed it. A file left by an earlier process is replayed first (file mode).
        self._spill = open(spill_path, "a+b")
        self._replay_off = 0
        pending = self._count_pending_lines()
        self._file_mode = pending > 0
        self._submitted = pending
        self._thread = threading.Thread(target=self._run, name="tradetrail-sender", daemon=True)
        self._thread.start()

    # ---- producer side (the trading loop) ----

    def submit(self, event):
        """Queue one event (a dict of SPEC 3.1 fields); returns its idempotency key."""
        ev = dict(event)
        if not ev.get("idempotency_key"):
            ev["idempotency_key"] = new_idempotency_key()
        # Encode once, here: what can never be sent (a datetime in the metadata, NaN) fails
        # in the caller rather than later in the worker where nobody would see it, and
        # moving a full queue to the spill file is then one write, not thousands of dumps.
        line = json.dumps(ev, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode()
        with self._cv:
            if self._closing:
                raise RuntimeError("BufferedSender is closed")
            self._submitted += 1
            if not self._file_mode and len(self._queue) >= self.max_queue:
                self._to_file_mode()  # queue full: spill rather than block or drop
            if self._file_mode:
                self._write_spill([line])
            else:
                self._queue.append(line)
            self._cv.notify_all()
        return ev["idempotency_key"]

    def log_action(self, message, source=None):
        return self.submit(action_event(message, source))

    def log_audit(self, entity, entity_id, action, actor, payload=None, **fields):
        return self.submit(audit_event(entity, entity_id, action, actor, payload, **fields))

    def pending(self):
        """Events submitted and not yet acknowledged or rejected."""
        with self._cv:
            return self._submitted - self._done

    def flush(self, timeout=None):
        """Wait until everything submitted so far is acknowledged (or rejected); True if
        so, False when the timeout passed first (the events stay queued or spilled)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            target = self._submitted
            self._cv.notify_all()
            while self._done < target:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cv.wait(left if left is not None else 1.0)
            return True

    def close(self, timeout=10.0):
        """flush(timeout), then stop the worker. Events still unsent are in the spill file
        (never only in memory): returns True when nothing was left."""
        ok = self.flush(timeout)
        with self._cv:
            self._closing = True
            if self._queue:
                self._to_file_mode()
            self._cv.notify_all()
        self._thread.join()
        with self._cv:
            self._spill.close()
            return ok and self._submitted == self._done

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- spill file (all called with self._cv held) ----

    def _write_spill(self, events):
        data = b"".join(e + b"\n" for e in events)
        self._spill.seek(0, os.SEEK_END)
        self._spill.write(data)
        self._spill.flush()
        os.fsync(self._spill.fileno())  # an acknowledged submit survives a crash
        self.spilled += len(events)

    def _to_file_mode(self):
        """Move the memory queue (the oldest unsent events) to the file, in order."""
        if self._queue:
            self._write_spill(list(self._queue))
            self._queue.clear()
        self._file_mode = True

    def _count_pending_lines(self):
        """Lines left by an earlier process. A last line without LF is a write cut short
        by a crash (its submit never returned): cut it off, or the next event appended
        would be glued to it and become unreadable."""
        self._spill.seek(0)
        n = good = 0
        for line in self._spill:
            if not line.endswith(b"\n"):
                break
            n += 1
            good += len(line)
        if good != self._spill.seek(0, os.SEEK_END):
            self._spill.truncate(good)
            self._spill.flush()
            os.fsync(self._spill.fileno())
        return n

    def _read_spill(self):
        """Up to batch_size complete lines from the replay offset: (events, ends), ends[i]
        the file offset just after event i. A trailing line without LF (a write cut short
        by a crash) is not an event yet. An unreadable line is set aside as rejected and
        skipped for good (the replay offset moves past it) when it heads the file."""
        self._spill.seek(self._replay_off)
        events, ends, off = [], [], self._replay_off
        while len(events) < self.batch_size:
            line = self._spill.readline()
            if not line.endswith(b"\n"):
                break
            try:
                json.loads(line)
                ev = line.rstrip(b"\n")
            except ValueError:
                if events:
                    break  # deal with it at the head of the next read, so it counts once
                off += len(line)
                self._reject([line.rstrip(b"\n")], "unreadable spill line")
                self._replay_off = off
                continue
            off += len(line)
            events.append(ev)
            ends.append(off)
        return events, ends

    # ---- worker ----

    def _reject(self, events, why):
        with open(self.rejected_path, "ab") as f:
            for e in events:  # encoded events: kept as objects, or as text if unreadable
                try:
                    obj = json.loads(e)
                except ValueError:
                    obj = e.decode("utf-8", "replace")
                f.write(json.dumps({"event": obj, "error": why}, ensure_ascii=False).encode() +
                        b"\n")
            f.flush()
            os.fsync(f.fileno())
        self.rejected += len(events)
        self._done += len(events)
        self._notify("rejected", why)

    def _send(self, events):
        """Deliver events in order: (consumed, acknowledged, reachable). consumed counts the
        leading events that are done with (acknowledged or rejected); reachable is False
        when the server could not take them now, and the rest must be retried later."""
        try:
            self.client.request("POST", "/api/events", b"[" + b",".join(events) + b"]",
                                retries=0)
            return len(events), len(events), True
        except TransientError as e:
            self._notify("unreachable", str(e))
            return 0, 0, False
        except ApiError as e:
            if e.status in (401, 403, 429):
                self._notify("auth" if e.status != 429 else "unreachable", str(e))
                return 0, 0, False
            if len(events) == 1:
                with self._cv:
                    self._reject(events, str(e))
                return 1, 0, True
        # A batch is atomic: one bad event refuses all of them. Find it by sending one by
        # one, in order, so the good ones still go through.
        consumed = acked = 0
        for ev in events:
            c, a, reachable = self._send([ev])
            consumed += c
            acked += a
            if not reachable:
                return consumed, acked, False
        return consumed, acked, True

    def _notify(self, kind, detail):
        if self.on_error:
            try:
                self.on_error(kind, detail)
            except Exception:  # a broken callback must not stop delivery
                pass

    def _run(self):
        delay = self.retry_delay
        while True:
            with self._cv:
                while not self._queue and not self._file_mode and not self._closing:
                    self._cv.wait()
                source = "file" if self._file_mode else "memory"
                if self._file_mode:
                    batch, ends = self._read_spill()
                else:
                    batch = list(self._queue)[:self.batch_size]
                if not batch:
                    if self._file_mode:
                        # Everything in the file is delivered: empty it, back to memory.
                        self._spill.truncate(0)
                        self._spill.flush()
                        os.fsync(self._spill.fileno())
                        self._replay_off = 0
                        self._file_mode = False
                        self._cv.notify_all()
                        continue
                    return  # closing, and nothing left
            try:
                consumed, acked, reachable = self._send(batch)
            except Exception as e:  # a bug must not end delivery: keep the events, retry
                self._notify("error", repr(e))
                consumed, acked, reachable = 0, 0, False
            with self._cv:
                self.sent += acked
                self._done += acked
                if source == "file":
                    if consumed:
                        self._replay_off = ends[consumed - 1]
                elif self._file_mode:
                    # The queue went to the file while this batch was in flight: the batch
                    # heads the file, so skip the part already delivered (counted once).
                    self._replay_off = self._offset_after(consumed)
                else:
                    for _ in range(consumed):
                        self._queue.popleft()
                self._cv.notify_all()
                if reachable:
                    delay = self.retry_delay
                    continue
                # Unreachable: keep the unsent events on disk and wait before trying again.
                if not self._file_mode:
                    self._to_file_mode()
                if self._closing:
                    return
                self._cv.wait(delay)
                delay = min(self.max_retry_delay, delay * 2)

    def _offset_after(self, nlines):
        self._spill.seek(self._replay_off)
        off = self._replay_off
        for _ in range(nlines):
            off += len(self._spill.readline())
        return off
