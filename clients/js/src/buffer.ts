// SPDX-License-Identifier: Apache-2.0
// A buffered sender for trading loops: send() returns at once and never waits for the
// network; a background pump delivers events in order, in batches. It never drops an event
// silently: the in-memory queue is bounded, and when it is full or the server cannot be
// reached the queue moves to a local spill file (JSON lines), which is replayed in order
// once the server answers again, also by the next process that opens the same file. Every
// event gets its idempotency key when it is queued, so delivering one twice (a batch
// spilled while it was in flight, a replay after a crash) writes it once. An event the
// server refuses (4xx) goes to `<spill>.rejected` and to onRejected, never nowhere.

import fs from "node:fs";
import { dirname as pathDirname } from "node:path";
import { actionEvent, auditEvent, newIdempotencyKey, TradetrailError, type AuditInput, type Client, type EventInput } from "./client.js";

export interface BufferedSenderOptions {
  /** The spill file (JSON lines); its directory must exist. Replayed first if present. */
  spillPath: string;
  /** Events held in memory before the queue moves to the spill file (default 1000). */
  maxQueue?: number;
  /** Events per POST (default 500), and at most about 4 MiB of them. */
  batchSize?: number;
  /** Backoff between delivery attempts while the server is unreachable (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called for each event the server refused (a 4xx); it is also kept in `<spill>.rejected`. */
  onRejected?: (event: EventInput, error: TradetrailError) => void;
}

export interface SenderStats {
  queued: number;
  delivered: number;
  spilled: number;
  rejected: number;
  pending: number;
}

const MAX_BATCH_BYTES = 4 << 20;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

// An event written to a spill or rejected file is on disk when the call returns (file
// fsynced; the directory too when the file is new), as with the Python client: the buffer
// promises a crash loses nothing that send() accepted.
function appendDurably(path: string, text: string): void {
  const created = !fs.existsSync(path);
  const fd = fs.openSync(path, "a");
  try {
    const buf = Buffer.from(text, "utf8");
    for (let at = 0; at < buf.length; ) at += fs.writeSync(fd, buf, at, buf.length - at);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  if (created) syncDir(path);
}

function truncateDurably(path: string, size: number): void {
  const fd = fs.openSync(path, "r+");
  try {
    fs.ftruncateSync(fd, size);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncDir(file: string): void {
  const fd = fs.openSync(pathDirname(file), "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class BufferedSender {
  private readonly c: Client;
  private readonly spillPath: string;
  readonly rejectedPath: string;
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly onRejected?: (event: EventInput, error: TradetrailError) => void;
  // Pending events are the spill file from spillOffset on, then q: while the file holds
  // anything, send() appends to the file, so the order of send() calls is kept.
  private q: EventInput[] = [];
  private spillOffset = 0;
  private spillSize = 0;
  private spillCount = 0; // events in the file after spillOffset (counted for stats)
  private running = false;
  private scheduled = false;
  private closed = false;
  private waiters: (() => void)[] = [];
  private s = { queued: 0, delivered: 0, spilled: 0, rejected: 0 };

  constructor(client: Client, opts: BufferedSenderOptions) {
    this.c = client;
    this.spillPath = opts.spillPath;
    this.rejectedPath = opts.spillPath + ".rejected";
    this.maxQueue = Math.max(1, opts.maxQueue ?? 1000);
    this.batchSize = Math.max(1, opts.batchSize ?? 500);
    this.minBackoff = opts.minBackoffMs ?? 100;
    this.maxBackoff = opts.maxBackoffMs ?? 5000;
    this.onRejected = opts.onRejected;
    newIdempotencyKey(); // the first UUID initialises node's entropy pool: not in send()
    try {
      const text = fs.readFileSync(this.spillPath, "utf8");
      // A line cut short by a crash mid-write is not an event: it is cut off the file, so
      // the next event is not glued to it, and kept in the rejected file, not dropped.
      const end = text.lastIndexOf("\n") + 1;
      if (end < text.length) {
        appendDurably(this.rejectedPath, JSON.stringify({ partial: text.slice(end), error: "cut short in the spill file" }) + "\n");
        truncateDurably(this.spillPath, Buffer.byteLength(text.slice(0, end)));
      }
      this.spillSize = Buffer.byteLength(text.slice(0, end));
      this.spillCount = text.slice(0, end).split("\n").length - 1;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    if (this.spillSize > 0) this.kick();
  }

  /** Queue one event; returns at once. Throws only after close() or for a non-object. */
  send(event: EventInput): void {
    if (this.closed) throw new Error("BufferedSender: send() after close()");
    if (!event || typeof event !== "object") throw new TypeError("an event is an object");
    const ev = event.idempotency_key ? { ...event } : { ...event, idempotency_key: newIdempotencyKey() };
    this.s.queued++;
    if (this.spillSize > this.spillOffset) {
      this.spill([ev]);
    } else {
      this.q.push(ev);
      if (this.q.length >= this.maxQueue) this.spillQueue();
    }
    this.kick();
  }

  logAction(message: string, source = "manual"): void {
    this.send(actionEvent(message, source));
  }

  logAudit(a: AuditInput): void {
    this.send(auditEvent(a));
  }

  /** Events not yet acknowledged by the server (memory and spill file). */
  get pending(): number {
    return this.q.length + this.spillCount;
  }

  stats(): SenderStats {
    return { ...this.s, pending: this.pending };
  }

  /** Resolves once everything queued so far is delivered; rejects after timeoutMs. */
  flush(timeoutMs = 30000): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    this.kick();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`BufferedSender: ${this.pending} events still pending after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /**
   * Deliver what can be delivered within timeoutMs, then stop; whatever is left is in the
   * spill file (never only in memory) for the next sender on that file. Returns the
   * number of events left there.
   */
  async close(timeoutMs = 5000): Promise<number> {
    try {
      await this.flush(timeoutMs);
    } catch {
      /* what is left goes to the file below */
    }
    this.closed = true;
    if (this.q.length) this.spillQueue();
    return this.pending;
  }

  private spill(evs: EventInput[]): void {
    const text = evs.map((e) => JSON.stringify(e) + "\n").join("");
    appendDurably(this.spillPath, text);
    this.spillSize += Buffer.byteLength(text);
    this.spillCount += evs.length;
    this.s.spilled += evs.length;
  }

  private spillQueue(): void {
    const q = this.q;
    this.q = [];
    this.spill(q);
  }

  // The pump starts on a later turn of the event loop, never inside send(): building a
  // batch and starting a request (the first one loads the HTTP stack) is not the caller's.
  private kick(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.running) void this.pump();
    });
  }

  // The next batch: from the spill file while it holds anything, else from memory.
  private readSpill(): { events: EventInput[]; bytes: number } {
    const fd = fs.openSync(this.spillPath, "r");
    try {
      const want = Math.min(this.spillSize - this.spillOffset, MAX_BATCH_BYTES);
      const buf = Buffer.alloc(want);
      const n = fs.readSync(fd, buf, 0, want, this.spillOffset);
      const text = buf.subarray(0, n).toString("utf8");
      const events: EventInput[] = [];
      let bytes = 0;
      let at = 0;
      while (events.length < this.batchSize) {
        const nl = text.indexOf("\n", at);
        if (nl < 0) break;
        const line = text.slice(at, nl);
        events.push(JSON.parse(line));
        bytes += Buffer.byteLength(line) + 1;
        at = nl + 1;
      }
      if (events.length === 0) {
        // One event larger than a read: take it alone.
        const all = fs.readFileSync(this.spillPath).subarray(this.spillOffset);
        const nl = all.indexOf(0x0a);
        events.push(JSON.parse(all.subarray(0, nl).toString("utf8")));
        bytes = nl + 1;
      }
      return { events, bytes };
    } finally {
      fs.closeSync(fd);
    }
  }

  private async deliver(events: EventInput[]): Promise<void> {
    try {
      await this.c.request("POST", "/api/events", { body: events, idempotent: true, retries: 0 });
    } catch (e) {
      if (!(e instanceof TradetrailError) || e.transient) throw e;
      // A batch is all or nothing: find the refused events one by one and keep the rest.
      for (const ev of events) {
        try {
          await this.c.request("POST", "/api/events", { body: ev, idempotent: true, retries: 0 });
        } catch (e1) {
          if (!(e1 instanceof TradetrailError) || e1.transient) throw e1;
          this.s.rejected++;
          appendDurably(this.rejectedPath, JSON.stringify({ event: ev, status: e1.status, error: e1.message }) + "\n");
          try {
            this.onRejected?.(ev, e1);
          } catch {
            /* the caller's callback must not stop the pump */
          }
        }
      }
    }
  }

  private async pump(): Promise<void> {
    this.running = true;
    let backoff = this.minBackoff;
    try {
      while (this.pending > 0) {
        const fromSpill = this.spillSize > this.spillOffset;
        let batch: EventInput[];
        let bytes = 0;
        if (fromSpill) {
          ({ events: batch, bytes } = this.readSpill());
        } else {
          batch = [];
          let size = 0;
          for (const ev of this.q) {
            if (batch.length >= this.batchSize || (batch.length && size > MAX_BATCH_BYTES)) break;
            batch.push(ev);
            size += JSON.stringify(ev).length;
          }
        }
        try {
          await this.deliver(batch);
        } catch {
          // Unreachable or failing: keep everything on disk, not only in memory, and wait.
          if (this.q.length) this.spillQueue();
          if (this.closed) return;
          await sleep(backoff);
          backoff = Math.min(this.maxBackoff, backoff * 2);
          continue;
        }
        backoff = this.minBackoff;
        this.s.delivered += batch.length;
        if (fromSpill) {
          this.spillOffset += bytes;
          this.spillCount -= batch.length;
          if (this.spillOffset >= this.spillSize) {
            fs.rmSync(this.spillPath, { force: true });
            this.spillOffset = this.spillSize = this.spillCount = 0;
          }
        } else if (this.q[0] === batch[0]) {
          this.q.splice(0, batch.length);
        }
        // else the queue moved to the spill file meanwhile; replaying the batch from
        // there is harmless (same idempotency keys).
      }
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    } finally {
      this.running = false;
    }
  }
}
