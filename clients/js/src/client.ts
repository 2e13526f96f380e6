// SPDX-License-Identifier: Apache-2.0
// The HTTP client of `tradetrail serve` (docs/API.md, docs/STRATEGIES.md, docs/DOMAIN.md)
// on the global fetch. Appends carry an idempotency key per event, so a retry after a
// timeout or a lost connection never writes an event twice; every failure that may be
// transient (5xx, a network error) is retried with backoff, a refusal (4xx) never is.

import { leafHash, parseVerifierKey, verifyCheckpointNote, verifyConsistency, verifyInclusion, VerifyError, type ConsistencyProof, type InclusionProof, type VerifiedCheckpoint } from "./verify.js";

/** An event as a client sends it (docs/API.md, "The event object"). */
export interface EventInput {
  entity: string;
  entity_id: string;
  event_type: string;
  actor: string;
  old_status?: string | null;
  new_status?: string | null;
  reason?: string | null;
  metadata?: Record<string, unknown> | null;
  occurred_at?: string | null;
  idempotency_key?: string | null;
  /** SPEC 15, both or neither: the sending process's name and its own counter (Producer). */
  producer?: string | null;
  producer_seq?: number | null;
}

/** An event as the ledger returns it. */
export interface LedgerEvent {
  seq: number;
  ts: string;
  entity: string;
  entity_id: string;
  event_type: string;
  actor: string;
  old_status: string | null;
  new_status: string | null;
  reason: string | null;
  metadata: Record<string, unknown> | null;
  occurred_at: string | null;
  idempotency_key: string | null;
  leaf_hash: string;
  principal?: string | null;
  /** Only on events that carry them (SPEC 15). */
  producer?: string;
  producer_seq?: number;
  /** Only in the corrected view: the CORRECTION whose fields are shown. */
  corrected_by?: number;
}

/** What the ledger knows of one producer (GET /api/producers, POST /api/heartbeat). */
export interface ProducerState {
  producer: string;
  last_seq: number;
  last_event: number | null;
  last_seen: string;
  heartbeat_timeout: number | null;
  silent: boolean;
  gaps: number;
  missing: number;
  repeats: number;
  restarts: number;
  silences: number;
}

export interface Appended {
  seq: number;
  ts: string;
  leaf_hash: string;
}

export interface BatchAppended {
  first_seq: number | null;
  count: number;
  seqs: number[];
}

export interface EventPage {
  events: LedgerEvent[];
  next_cursor: string | null;
}

export interface EventFilters {
  entity?: string;
  entity_id?: string;
  event_type?: string | string[];
  actor?: string;
  since?: string;
  until?: string;
  q?: string;
  after_seq?: number;
  limit?: number;
  order?: "asc" | "desc";
  /** "corrected": SPEC 15's corrected view (docs/API.md). */
  view?: "stored" | "corrected";
}

export interface Checkpoint {
  tree_size: number;
  root_hash: string;
  ts: string;
  note: string;
}

export interface ClientOptions {
  /** Base URL of `tradetrail serve`, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Bearer token (`tradetrail token create`). */
  token: string;
  /** Attempts after the first one for a transient failure (default 5). */
  retries?: number;
  /** First backoff in ms, doubled per attempt up to maxBackoffMs (default 100). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Per-attempt timeout in ms (default 10000). */
  timeoutMs?: number;
  /** The fetch to use (default globalThis.fetch), e.g. for a proxy or a test. */
  fetch?: typeof fetch;
  /**
   * The ledger every call works on (SPEC 15 namespaces), sent as the X-Ledger header:
   * e.g. "paper" beside the main ledger; absent or "main" is the main ledger. A name is
   * 1-32 characters a-z, 0-9 and '-', not starting with '-'. The server creates a named
   * ledger on its first write; reading one never written is a 404.
   */
  ledger?: string;
}

/** The name of the main ledger (SPEC 15). */
export const MAIN_LEDGER = "main";
const LEDGER_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** A refusal or failure answered by the server, or a network error (status 0). */
export class TradetrailError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "TradetrailError";
    this.status = status;
    this.code = code;
  }
  /** Whether trying again may succeed: a 5xx or a network error, never a 4xx. */
  get transient(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  headers?: Record<string, string>;
  // Whether an attempt whose outcome is unknown (the connection broke after the request
  // went out) may be repeated: true for reads and for appends with idempotency keys. A
  // 5xx wrote nothing (docs/API.md, "Errors") and a refused connection sent nothing, so
  // those are retried for every request.
  idempotent: boolean;
  text?: boolean;
  /** Overrides the client's retries for this request (the buffered sender keeps its own backoff). */
  retries?: number;
}

export function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// Whether a fetch failure means the request never reached the server.
function notSent(e: unknown): boolean {
  const code = (e as { cause?: { code?: string } })?.cause?.code;
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EHOSTUNREACH";
}

function withKey(ev: EventInput): EventInput {
  return ev.idempotency_key ? ev : { ...ev, idempotency_key: newIdempotencyKey() };
}

export interface StrategyCreate {
  id?: string;
  name: string;
  symbol: string;
  timeframe: string;
  yaml: string;
  actor: string;
  reason?: string;
}

export interface Who {
  actor: string;
  reason?: string;
}

export interface SwapInput extends Who {
  oldId: string;
  newId: string;
  swapReason?: string;
  oldScore?: number;
  newScore?: number;
}

export interface FeedbackInput {
  strategyId: string;
  aiReturn: number;
  benchmarkReturn: number;
  userId?: string;
  benchmark?: string;
}

export interface AuditInput {
  entity: string;
  entityId: string;
  /** The event type, e.g. RECORD ([A-Z][A-Z0-9_]*). */
  action: string;
  actor: string;
  payload?: Record<string, unknown> | null;
  reason?: string;
  oldStatus?: string;
  newStatus?: string;
  occurredAt?: string;
  idempotencyKey?: string;
}

const enc = encodeURIComponent;

export class Client {
  readonly url: string;
  private readonly token: string;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  /** The named ledger this client works on; undefined for the main ledger. */
  readonly ledger: string | undefined;
  /** Strategy operations (docs/STRATEGIES.md). */
  readonly strategies: Strategies;

  constructor(opts: ClientOptions) {
    if (!opts || !opts.url || !opts.token) throw new TypeError("new Client({url, token}) needs both");
    this.url = opts.url.replace(/\/+$/, "");
    this.token = opts.token;
    this.retries = opts.retries ?? 5;
    this.backoffMs = opts.backoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 2000;
    this.timeoutMs = opts.timeoutMs ?? 10000;
    this.fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    if (opts.ledger !== undefined && !LEDGER_RE.test(opts.ledger)) {
      throw new RangeError(`ledger: 1-32 characters a-z, 0-9 and '-', not starting with '-', got ${JSON.stringify(opts.ledger)}`);
    }
    this.ledger = opts.ledger === MAIN_LEDGER ? undefined : opts.ledger;
    this.strategies = new Strategies(this);
  }

  /** One request with retries; the parsed JSON answer (or text with o.text). */
  async request<T = unknown>(method: string, path: string, o: RequestOptions): Promise<T> {
    let url = this.url + path;
    if (o.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(o.query)) if (v !== undefined && v !== null) q.set(k, String(v));
      const s = q.toString();
      if (s) url += "?" + s;
    }
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, ...(o.headers || {}) };
    if (this.ledger !== undefined) headers["X-Ledger"] = this.ledger;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["Content-Type"] = "application/json";
    }
    for (let attempt = 0; ; attempt++) {
      let err: TradetrailError;
      let retry: boolean;
      try {
        const r = await this.fetchFn(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
        const text = await r.text();
        if (r.ok) return (o.text ? text : text ? JSON.parse(text) : null) as T;
        let code = "http_" + r.status;
        let msg = text;
        try {
          const e = JSON.parse(text).error;
          if (e) ({ code, message: msg } = e);
        } catch {
          /* not the JSON error body (e.g. a proxy's page) */
        }
        err = new TradetrailError(r.status, code, `${method} ${path}: ${r.status} ${msg}`);
        retry = r.status >= 500;
      } catch (e) {
        err = new TradetrailError(0, "network", `${method} ${path}: ${(e as Error).message}${(e as { cause?: Error }).cause ? ": " + (e as { cause: Error }).cause.message : ""}`);
        retry = o.idempotent || notSent(e);
      }
      if (!retry || attempt >= (o.retries ?? this.retries)) throw err;
      const d = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt);
      await sleep(d / 2 + Math.random() * (d / 2));
    }
  }

  // ---- writes ------------------------------------------------------------------------

  /** Append one event; it gets an idempotency key unless it has one, so retries are safe. */
  append(event: EventInput): Promise<Appended> {
    return this.request<Appended>("POST", "/api/events", { body: withKey(event), idempotent: true });
  }

  /** Append events atomically (all or none), each with its own idempotency key. */
  appendBatch(events: EventInput[]): Promise<BatchAppended> {
    return this.request<BatchAppended>("POST", "/api/events", { body: events.map(withKey), idempotent: true });
  }

  /** A maintenance action (SPEC 6.3, seed 001's log_action): entity maintenance, entity_id and actor the source. */
  logAction(message: string, source = "manual"): Promise<Appended> {
    return this.append(actionEvent(message, source));
  }

  /** Seed 002's logAudit: the payload becomes the event's metadata. */
  logAudit(a: AuditInput): Promise<Appended> {
    return this.append(auditEvent(a));
  }

  /** AI feedback (SPEC 6.2): the server computes alpha, reward and outcome and records the event. */
  recordFeedback(
    f: FeedbackInput | string,
    aiReturn?: number,
    benchmarkReturn?: number,
    userId?: string,
    benchmark?: string,
  ): Promise<{ alpha: number; reward: number; outcome: string; seq: number }> {
    const x: FeedbackInput = typeof f === "string" ? { strategyId: f, aiReturn: aiReturn as number, benchmarkReturn: benchmarkReturn as number, userId, benchmark } : f;
    const body: Record<string, unknown> = { strategy_id: x.strategyId, ai_return: x.aiReturn, benchmark_return: x.benchmarkReturn };
    if (x.userId !== undefined) body.user_id = x.userId;
    if (x.benchmark !== undefined) body.benchmark = x.benchmark;
    return this.request("POST", "/api/feedback", { body, idempotent: false });
  }

  listFeedback(filters: { strategy_id?: string; outcome?: string; since?: string; until?: string; limit?: number } = {}): Promise<{ feedback: unknown[]; count: number }> {
    return this.request("GET", "/api/feedback", { query: filters, idempotent: true });
  }

  // ---- completeness per producer (SPEC 15) --------------------------------------------

  /** POST /api/heartbeat: the producer is alive; timeoutS becomes its heartbeat_timeout. */
  heartbeat(producer: string, timeoutS?: number): Promise<ProducerState> {
    const body: Record<string, unknown> = { producer };
    if (timeoutS !== undefined) body.heartbeat_timeout = timeoutS;
    return this.request("POST", "/api/heartbeat", { body, idempotent: true });
  }

  /** GET /api/producers (read role). */
  async producers(): Promise<ProducerState[]> {
    const r = await this.request<{ producers: ProducerState[] }>("GET", "/api/producers", { idempotent: true });
    return r.producers;
  }

  // ---- reads -------------------------------------------------------------------------

  /** One page of GET /api/events. */
  page(filters: EventFilters = {}, cursor?: string): Promise<EventPage> {
    const query: Record<string, string | number | undefined> = { ...filters, event_type: Array.isArray(filters.event_type) ? filters.event_type.join(",") : filters.event_type, cursor };
    return this.request<EventPage>("GET", "/api/events", { query, idempotent: true });
  }

  /** The pages of the events matching the filters, following next_cursor to the end. */
  async *events(filters: EventFilters = {}): AsyncGenerator<LedgerEvent[], void, undefined> {
    let cursor: string | undefined;
    for (;;) {
      const p = await this.page(filters, cursor);
      if (p.events.length) yield p.events;
      if (!p.next_cursor) return;
      cursor = p.next_cursor;
    }
  }

  /** Every matching event, one at a time, over the pages of events(). */
  async *eachEvent(filters: EventFilters = {}): AsyncGenerator<LedgerEvent, void, undefined> {
    for await (const page of this.events(filters)) yield* page;
  }

  /** One event; raw is the JSON text exactly as sent, whose leaf hash verifyEvent recomputes. */
  async event(seq: number): Promise<{ event: LedgerEvent; raw: string }> {
    const raw = await this.request<string>("GET", `/api/events/${seq}`, { idempotent: true, text: true });
    return { event: JSON.parse(raw), raw };
  }

  /** RFC 9162 inclusion proof of event seq in the tree of treeSize (default: current). */
  proof(seq: number, treeSize?: number): Promise<InclusionProof> {
    return this.request<InclusionProof>("GET", `/api/events/${seq}/proof`, { query: { tree_size: treeSize }, idempotent: true });
  }

  consistency(first: number, second: number): Promise<Required<ConsistencyProof>> {
    return this.request("GET", "/api/consistency", { query: { first, second }, idempotent: true });
  }

  /**
   * A checkpoint note signed by the pinned key for this client's ledger: its origin line
   * must be the key's name (main) or the name and "/<ledger>", since every ledger of a
   * store is signed by the same key (SPEC 15). Throws VerifyError otherwise.
   */
  private async ledgerCheckpoint(note: string, verifierKey: string): Promise<VerifiedCheckpoint> {
    const key = await parseVerifierKey(verifierKey);
    const cp = await verifyCheckpointNote(note, key);
    const want = this.ledger === undefined ? key.name : `${key.name}/${this.ledger}`;
    if (cp.origin !== want) throw new VerifyError("origin", `the checkpoint's origin is ${JSON.stringify(cp.origin)}, not ${JSON.stringify(want)}: another ledger's checkpoint`);
    return cp;
  }

  /**
   * That the ledger only grew since a checkpoint note kept earlier: both that note and the
   * latest one must be signed by the pinned key for this client's ledger, and the
   * consistency proof between their sizes must join their roots. Returns the latest
   * checkpoint; throws VerifyError.
   */
  async verifyGrowth(oldNote: string, verifierKey: string): Promise<VerifiedCheckpoint> {
    const old = await this.ledgerCheckpoint(oldNote, verifierKey);
    const now = await this.ledgerCheckpoint((await this.checkpoint()).note, verifierKey);
    if (now.treeSize < old.treeSize) throw new VerifyError("consistency", `the ledger shrank from ${old.treeSize} to ${now.treeSize} events`);
    if (old.treeSize === 0 || now.treeSize === old.treeSize) {
      if (now.treeSize === old.treeSize && now.rootHash !== old.rootHash) throw new VerifyError("consistency", `two different roots for tree size ${now.treeSize}`);
      return now;
    }
    const p = await this.consistency(old.treeSize, now.treeSize);
    if (!(await verifyConsistency(p, old.rootHash, now.rootHash))) {
      throw new VerifyError("consistency", `the tree of size ${old.treeSize} is not a prefix of the tree of size ${now.treeSize}`);
    }
    return now;
  }

  /** The latest signed checkpoint (GET /api/checkpoint). */
  checkpoint(): Promise<Checkpoint> {
    return this.request<Checkpoint>("GET", "/api/checkpoint", { idempotent: true });
  }

  stats(): Promise<Record<string, unknown>> {
    return this.request("GET", "/api/stats", { idempotent: true });
  }

  /**
   * Prove event seq against a checkpoint signed by the pinned verifier key
   * (`tradetrail key`) for this client's ledger: the checkpoint's Ed25519 signature and
   * origin line (ledgerCheckpoint), the event's leaf hash
   * recomputed from its bytes, and the root recomputed from that leaf hash and the
   * inclusion proof, which must equal the checkpoint's root. Throws VerifyError otherwise.
   */
  async verifyEvent(seq: number, verifierKey: string): Promise<{ event: LedgerEvent; checkpoint: VerifiedCheckpoint }> {
    const cp = await this.ledgerCheckpoint((await this.checkpoint()).note, verifierKey);
    if (seq > cp.treeSize) throw new VerifyError("proof", `event ${seq} is not yet in the latest checkpoint (tree size ${cp.treeSize})`);
    const { event, raw } = await this.event(seq);
    const leaf = await leafHash(raw);
    if (leaf !== event.leaf_hash) throw new VerifyError("leaf", `event ${seq}: its bytes hash to ${leaf}, not ${event.leaf_hash}`);
    const p = await this.proof(seq, cp.treeSize);
    if (p.leaf_index !== seq - 1 || p.tree_size !== cp.treeSize) throw new VerifyError("proof", "the proof is for another leaf or tree size");
    if (!(await verifyInclusion(p, cp.rootHash, leaf))) throw new VerifyError("proof", `event ${seq}: the proof does not lead to the checkpoint's root`);
    return { event, checkpoint: cp };
  }
}

/**
 * Numbers a process's events (SPEC 15): stamp(ev) returns a copy with producer, the next
 * producer_seq (1, 2, 3 ... from start) and its idempotency key, so appending the stamped
 * event again after a failure is a retry, never a REPEAT. A new Producer after a restart
 * starts at 1 again, which the ledger records as a RESTART.
 */
export class Producer {
  private next: number;
  constructor(readonly name: string, start = 1) {
    if (!name || name.length > 64) throw new RangeError("producer: 1 to 64 characters");
    this.next = start;
  }
  stamp(ev: EventInput): EventInput {
    return { ...ev, producer: this.name, producer_seq: this.next++, idempotency_key: ev.idempotency_key || newIdempotencyKey() };
  }
}

export function actionEvent(message: string, source = "manual"): EventInput {
  return { entity: "maintenance", entity_id: source, event_type: "ACTION", actor: source, reason: message };
}

export function auditEvent(a: AuditInput): EventInput {
  const ev: EventInput = { entity: a.entity, entity_id: String(a.entityId), event_type: a.action, actor: a.actor, metadata: a.payload ?? null };
  if (a.reason !== undefined) ev.reason = a.reason;
  if (a.oldStatus !== undefined) ev.old_status = a.oldStatus;
  if (a.newStatus !== undefined) ev.new_status = a.newStatus;
  if (a.occurredAt !== undefined) ev.occurred_at = a.occurredAt;
  if (a.idempotencyKey !== undefined) ev.idempotency_key = a.idempotencyKey;
  return ev;
}

function who(w: Who): Record<string, string> {
  const b: Record<string, string> = { actor: w.actor };
  if (w.reason !== undefined) b.reason = w.reason;
  return b;
}

/**
 * The strategy lifecycle (docs/STRATEGIES.md). A transition the lifecycle refuses is a
 * TradetrailError with status 409; transitions are not repeated after a broken connection
 * (a repeat would be refused as a conflict), only after a 5xx or a refused connection.
 */
export class Strategies {
  constructor(private readonly c: Client) {}

  private post(path: string, body: unknown): Promise<any> {
    return this.c.request("POST", path, { body, idempotent: false });
  }

  create(s: StrategyCreate): Promise<any> {
    return this.post("/api/strategies", s);
  }
  submit(id: string, w: Who): Promise<any> {
    return this.post(`/api/strategies/${enc(id)}/submit`, who(w));
  }
  activate(id: string, w: Who): Promise<any> {
    return this.post(`/api/strategies/${enc(id)}/activate`, who(w));
  }
  fail(id: string, w: Who): Promise<any> {
    return this.post(`/api/strategies/${enc(id)}/fail`, who(w));
  }
  close(id: string, w: Who): Promise<any> {
    return this.post(`/api/strategies/${enc(id)}/close`, who(w));
  }
  archive(id: string, w: Who): Promise<any> {
    return this.post(`/api/strategies/${enc(id)}/archive`, who(w));
  }
  delete(id: string, w: Who): Promise<any> {
    return this.post(`/api/strategies/${enc(id)}/delete`, who(w));
  }
  setStatus(id: string, status: string, w: Who): Promise<any> {
    return this.post(`/api/strategies/${enc(id)}/status`, { status, ...who(w) });
  }
  updateYaml(id: string, yaml: string, w: Who): Promise<any> {
    return this.c.request("PUT", `/api/strategies/${enc(id)}/yaml`, { body: { yaml, ...who(w) }, idempotent: false });
  }
  rollback(id: string, version: number, w: Who): Promise<any> {
    return this.post(`/api/strategies/${enc(id)}/rollback`, { version, ...who(w) });
  }
  swap(s: SwapInput): Promise<any> {
    const b: Record<string, unknown> = { old_id: s.oldId, new_id: s.newId, ...who(s) };
    if (s.swapReason !== undefined) b.swap_reason = s.swapReason;
    if (s.oldScore !== undefined) b.old_score = s.oldScore;
    if (s.newScore !== undefined) b.new_score = s.newScore;
    return this.post("/api/strategies/swap", b);
  }
  get(id: string): Promise<any> {
    return this.c.request("GET", `/api/strategies/${enc(id)}`, { idempotent: true });
  }
  list(filters: { status?: string; symbol?: string; include_deleted?: boolean; limit?: number } = {}): Promise<any> {
    return this.c.request("GET", "/api/strategies", { query: filters, idempotent: true });
  }
  versions(id: string): Promise<any> {
    return this.c.request("GET", `/api/strategies/${enc(id)}/versions`, { idempotent: true });
  }
  version(id: string, n: number): Promise<any> {
    return this.c.request("GET", `/api/strategies/${enc(id)}/versions/${n}`, { idempotent: true });
  }
  diff(id: string, from: number, to: number): Promise<any> {
    return this.c.request("GET", `/api/strategies/${enc(id)}/diff`, { query: { from, to }, idempotent: true });
  }
  auditLog(id: string, limit?: number): Promise<any> {
    return this.c.request("GET", `/api/strategies/${enc(id)}/audit-log`, { query: { limit }, idempotent: true });
  }
}
