// SPDX-License-Identifier: Apache-2.0
// The JavaScript client against a real `tradetrail serve` on a free loopback port (the
// server helpers of tests/browser/ttserver.mjs): appends, idempotent retries, no retry on
// a refusal, page iteration, strategies, feedback, offline verification of an event
// against a signed checkpoint, and the buffered sender across a server restart and across
// processes (its spill file). Runs on dist/, which run.sh builds with tsc first.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { cli, tmpdir, Server, BIN } from "../../../tests/browser/ttserver.mjs";
import { Client, BufferedSender, Producer, TradetrailError, VerifyError, verifyCheckpointNote, verifyConsistency, verifyInclusion, leafHash, provenance, withProvenance } from "../dist/index.js";

let dir, data, server, admin, reader, vkey, client;

before(async () => {
  assert.ok(fs.existsSync(BIN), `the tradetrail program is missing (${BIN}; run make build)`);
  dir = tmpdir("tt-js-");
  data = path.join(dir, "data");
  cli(data, ["init"]);
  const tok = (role, name) => JSON.parse(cli(data, ["token", "create", "--role", role, "--name", name, "-o", "json"])).token;
  admin = tok("admin", "js-client");
  reader = tok("read", "js-reader");
  vkey = cli(data, ["key"]).trim();
  server = await new Server(data).start();
  client = new Client({ url: server.url, token: admin, backoffMs: 20 });
});

after(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Every event whose metadata.run is the given run, in seq order.
async function byRun(run) {
  const out = [];
  for await (const ev of client.eachEvent({ entity: "bot", entity_id: run, limit: 1000 })) out.push(ev);
  return out;
}

test("logAction, logAudit, append and appendBatch write the events the server returns", async () => {
  const a = await client.logAction("restarted grafana", "auto_repair");
  const ev = (await client.event(a.seq)).event;
  assert.deepEqual([ev.entity, ev.entity_id, ev.event_type, ev.actor, ev.reason], ["maintenance", "auto_repair", "ACTION", "auto_repair", "restarted grafana"]);
  assert.match(ev.idempotency_key, /^[0-9a-f-]{36}$/);

  const b = await client.logAudit({ entity: "ai_feedback", entityId: 17, action: "RECORD", actor: "u1", payload: { strategyId: "s1", alpha: 0.02 } });
  const eb = (await client.event(b.seq)).event;
  assert.deepEqual([eb.entity, eb.entity_id, eb.event_type, eb.actor], ["ai_feedback", "17", "RECORD", "u1"]);
  assert.deepEqual(eb.metadata, { strategyId: "s1", alpha: 0.02 });

  const batch = await client.appendBatch([
    { entity: "order", entity_id: "o-1", event_type: "CREATED", actor: "bot" },
    { entity: "order", entity_id: "o-1", event_type: "FILLED", actor: "bot" },
  ]);
  assert.equal(batch.count, 2);
  assert.deepEqual(batch.seqs, [batch.first_seq, batch.first_seq + 1]);
});

test("a retried event keeps its key and is written once; a 5xx is retried, a 4xx is not", async () => {
  const ev = { entity: "order", entity_id: "o-2", event_type: "CREATED", actor: "bot", idempotency_key: "o-2-created" };
  const first = await client.append(ev);
  const again = await client.append(ev);
  assert.equal(again.seq, first.seq);

  // A fetch that fails twice (503, then a broken connection) before passing through.
  const calls = [];
  let n = 0;
  const flaky = async (url, init) => {
    calls.push(JSON.parse(init.body).idempotency_key);
    n++;
    if (n === 1) return new Response('{"error":{"code":"unavailable","message":"busy"}}', { status: 503 });
    if (n === 2) {
      await fetch(url, init); // delivered, but the answer is lost
      throw new TypeError("fetch failed");
    }
    return fetch(url, init);
  };
  const c = new Client({ url: server.url, token: admin, fetch: flaky, backoffMs: 5 });
  const r = await c.append({ entity: "order", entity_id: "o-3", event_type: "CREATED", actor: "bot" });
  assert.equal(calls.length, 3);
  assert.equal(new Set(calls).size, 1, "every attempt carried the same idempotency key");
  const written = [];
  for await (const e of client.eachEvent({ entity: "order", entity_id: "o-3" })) written.push(e.seq);
  assert.deepEqual(written, [r.seq], "the lost answer did not write the event twice");

  let tries = 0;
  const counting = (url, init) => {
    tries++;
    return fetch(url, init);
  };
  const c2 = new Client({ url: server.url, token: admin, fetch: counting, backoffMs: 5 });
  await assert.rejects(c2.append({ entity: "order", entity_id: "", event_type: "CREATED", actor: "bot" }), (e) => e instanceof TradetrailError && e.status === 400 && e.code === "invalid_argument");
  assert.equal(tries, 1, "a 400 is not retried");
  const ro = new Client({ url: server.url, token: reader });
  await assert.rejects(ro.logAction("x"), (e) => e.status === 403 && !e.transient);
});

test("events() iterates pages by next_cursor with filters", async () => {
  await client.appendBatch(Array.from({ length: 25 }, (_, i) => ({ entity: "bot", entity_id: "pages", event_type: "TICK", actor: "bot", metadata: { i } })));
  const pages = [];
  for await (const page of client.events({ entity: "bot", entity_id: "pages", limit: 10 })) pages.push(page.map((e) => e.metadata.i));
  assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
  assert.deepEqual(pages.flat(), Array.from({ length: 25 }, (_, i) => i));
  const desc = [];
  for await (const e of client.eachEvent({ entity: "bot", entity_id: "pages", order: "desc", limit: 7 })) desc.push(e.metadata.i);
  assert.deepEqual(desc, Array.from({ length: 25 }, (_, i) => 24 - i));
});

test("an event verifies offline against a checkpoint signed by the pinned key", async () => {
  const a = await client.logAction("checked offline", "verify");
  let res;
  for (let i = 0; i < 100; i++) {
    try {
      res = await client.verifyEvent(a.seq, vkey);
      break;
    } catch (e) {
      if (!(e instanceof VerifyError && /not yet in the latest checkpoint/.test(e.message))) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.ok(res, "the checkpoint came to cover the event");
  assert.equal(res.event.seq, a.seq);
  assert.ok(res.checkpoint.treeSize >= a.seq);

  const cp = await client.checkpoint();
  const v = await verifyCheckpointNote(cp.note, vkey);
  assert.equal(v.rootHash, cp.root_hash);
  assert.equal(v.treeSize, cp.tree_size);
  const p = await client.proof(a.seq, v.treeSize);
  assert.equal(await verifyInclusion(p, v.rootHash), true);
  assert.equal(await leafHash((await client.event(a.seq)).raw), p.leaf_hash);

  // Tampering anywhere is caught.
  const flip = (h) => (h[0] === "0" ? "1" : "0") + h.slice(1);
  assert.equal(await verifyInclusion({ ...p, leaf_hash: flip(p.leaf_hash) }, v.rootHash), false);
  if (p.hashes.length) assert.equal(await verifyInclusion({ ...p, hashes: [flip(p.hashes[0]), ...p.hashes.slice(1)] }, v.rootHash), false);
  assert.equal(await verifyInclusion({ ...p, tree_size: p.tree_size + 1 }, v.rootHash), false);
  const lines = cp.note.split("\n");
  lines[1] = String(cp.tree_size + 1);
  await assert.rejects(verifyCheckpointNote(lines.join("\n"), vkey), (e) => e instanceof VerifyError && e.code === "signature");
  const other = path.join(dir, "other");
  cli(other, ["init"]);
  await assert.rejects(verifyCheckpointNote(cp.note, cli(other, ["key"]).trim()), (e) => e instanceof VerifyError);
  const raw = (await client.event(a.seq)).raw.replace("checked offline", "checked offlinE");
  assert.notEqual(await leafHash(raw), p.leaf_hash);

  // The ledger only grew since the note kept above: a consistency proof joins the roots.
  await client.appendBatch(Array.from({ length: 5 }, (_, i) => ({ entity: "bot", entity_id: "grow", event_type: "TICK", actor: "bot", metadata: { i } })));
  let later;
  for (let i = 0; i < 100 && !(later && later.treeSize > v.treeSize); i++) {
    await new Promise((r) => setTimeout(r, 100));
    later = await client.verifyGrowth(cp.note, vkey);
  }
  assert.ok(later.treeSize > v.treeSize, "a later checkpoint came");
  const c = await client.consistency(v.treeSize, later.treeSize);
  assert.equal(await verifyConsistency(c, v.rootHash, later.rootHash), true);
  assert.equal(await verifyConsistency(c, flip(v.rootHash), later.rootHash), false);
  assert.equal(await verifyConsistency(c, v.rootHash, flip(later.rootHash)), false);
  if (c.hashes.length) assert.equal(await verifyConsistency({ ...c, hashes: [flip(c.hashes[0]), ...c.hashes.slice(1)] }, v.rootHash, later.rootHash), false);
});

test("Producer numbers events; a gap is recorded; heartbeat, producers, a version 3 leaf verifies, and the corrected view", async () => {
  const p = new Producer("js-bot");
  const ev = () => ({ entity: "order", entity_id: "js-1", event_type: "FILLED", actor: "js-bot" });
  const first = p.stamp(ev());
  assert.deepEqual([first.producer, first.producer_seq], ["js-bot", 1]);
  await client.append(first);
  await client.append(first); // a retry: same key, nothing written, no REPEAT
  p.stamp(ev()); // lost
  const third = await client.append(p.stamp(ev()));
  const st = await client.heartbeat("js-bot", 600);
  assert.equal(st.heartbeat_timeout, 600);
  const mine = (await client.producers()).find((x) => x.producer === "js-bot");
  assert.deepEqual([mine.last_seq, mine.gaps, mine.repeats], [3, 1, 0]);
  const gap = (await client.page({ entity: "producer", entity_id: "js-bot" })).events;
  assert.deepEqual(gap.map((e) => e.event_type), ["GAP"]);
  const { raw } = await client.event(third.seq);
  assert.equal(await leafHash(raw), JSON.parse(raw).leaf_hash);
  await client.append({ entity: "order", entity_id: "js-1", event_type: "VOID", actor: "ops", metadata: { corrects: third.seq } });
  const shown = (await client.page({ entity: "order", entity_id: "js-1", view: "corrected" })).events.map((e) => e.seq);
  assert.ok(!shown.includes(third.seq));
});

test("strategy operations and feedback", async () => {
  const s = client.strategies;
  const who = { actor: "orchestrator", reason: "test" };
  const c = await s.create({ id: "js-s1", name: "Mean reversion", symbol: "BTCUSDT", timeframe: "1h", yaml: "a: 1\n", actor: "orchestrator" });
  assert.equal(c.strategy.status, "DRAFT");
  assert.equal((await s.submit("js-s1", who)).strategy.status, "PENDING");
  await s.updateYaml("js-s1", "a: 2\n", who);
  const vs = await s.versions("js-s1");
  assert.equal(vs.count, 2);
  assert.match((await s.diff("js-s1", 1, 2)).diff, /-a: 1/);
  assert.equal((await s.rollback("js-s1", 1, who)).version, 3);
  assert.equal((await s.activate("js-s1", who)).strategy.status, "ACTIVE");
  await s.create({ id: "js-s2", name: "Breakout", symbol: "BTCUSDT", timeframe: "1h", yaml: "b: 1\n", actor: "orchestrator" });
  await s.submit("js-s2", who);
  const sw = await s.swap({ oldId: "js-s1", newId: "js-s2", actor: "evaluator", swapReason: "better", oldScore: 0.1, newScore: 0.9 });
  assert.deepEqual([sw.old.status, sw.new.status], ["CLOSED", "ACTIVE"]);
  await assert.rejects(s.activate("js-s1", who), (e) => e.status === 409);
  await s.archive("js-s1", who);
  await s.create({ id: "js-s3", name: "Dud", symbol: "ETHUSDT", timeframe: "1d", yaml: "c: 1\n", actor: "orchestrator" });
  await s.fail("js-s3", who);
  await s.delete("js-s3", who);
  assert.equal((await s.get("js-s3")).deleted, true);
  await s.close("js-s2", who);
  const ids = (await s.list()).strategies.map((x) => x.id);
  assert.ok(ids.includes("js-s1") && ids.includes("js-s2") && !ids.includes("js-s3"));

  const f = await client.recordFeedback({ strategyId: "js-s2", aiReturn: 0.05, benchmarkReturn: 0.01, userId: "u1", benchmark: "BTC" });
  assert.equal(f.outcome, "positive");
  const g = await client.recordFeedback("js-s2", 0.0, 0.02, "u1", "BTC");
  assert.equal(g.outcome, "negative");
  assert.equal((await client.listFeedback({ strategy_id: "js-s2" })).count, 2);
});

test("the buffered sender never blocks, and delivers every event once, in order, across a server restart", async () => {
  const spill = path.join(dir, "restart.spill");
  const sender = new BufferedSender(client, { spillPath: spill, maxQueue: 50, batchSize: 20, minBackoffMs: 20, maxBackoffMs: 200 });
  const N = 400;
  let slowest = 0;
  const port = server.port;
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    sender.send({ entity: "bot", entity_id: "restart", event_type: "TICK", actor: "bot", metadata: { i } });
    slowest = Math.max(slowest, performance.now() - t0);
    if (i === 100) await server.stop();
    if (i === 300) await server.start(port);
    if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(sender.stats().spilled > 0, "the queue spilled while the server was down");
  await sender.flush(20000);
  assert.equal(fs.existsSync(spill), false, "the spill file is gone once replayed");
  const got = (await byRun("restart")).map((e) => e.metadata.i);
  assert.deepEqual(got, Array.from({ length: N }, (_, i) => i), "every event once, in order");
  // send() does no network I/O; its slowest call is the one that moves the queue (50
  // events) to the spill file, a synchronous local append. Generous for a loaded machine.
  assert.ok(slowest < 250, `send() took ${slowest.toFixed(1)} ms at most`);
  await sender.close();
});

test("events spilled by one sender are replayed in order by the next; refused ones are kept aside", async () => {
  const spill = path.join(dir, "process.spill");
  const port = server.port;
  await server.stop();
  const s1 = new BufferedSender(client, { spillPath: spill, minBackoffMs: 20 });
  for (let i = 0; i < 30; i++) s1.send({ entity: "bot", entity_id: "handover", event_type: "TICK", actor: "bot", metadata: { i } });
  s1.send({ entity: "bot", entity_id: "handover", event_type: "bad type", actor: "bot" });
  s1.send({ entity: "bot", entity_id: "handover", event_type: "TICK", actor: "bot", metadata: { i: 30 } });
  assert.equal(await s1.close(300), 32, "all 32 events are left in the spill file");
  assert.equal(fs.readFileSync(spill, "utf8").trim().split("\n").length, 32);
  await server.start(port);
  const refused = [];
  const s2 = new BufferedSender(client, { spillPath: spill, onRejected: (ev, e) => refused.push([ev.event_type, e.status]) });
  await s2.flush(20000);
  assert.deepEqual((await byRun("handover")).map((e) => e.metadata.i), Array.from({ length: 31 }, (_, i) => i));
  assert.deepEqual(refused, [["bad type", 400]]);
  assert.match(fs.readFileSync(s2.rejectedPath, "utf8"), /bad type/);
  await s2.close();
});

test("verifier keys whose base64 holds '+' or '/' parse; a note signed by such a key verifies", async () => {
  const { subtle } = globalThis.crypto;
  const name = "example.org/log";
  for (let n = 0; n < 200; n++) {
    const kp = await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const pub = new Uint8Array(await subtle.exportKey("raw", kp.publicKey));
    const b64 = Buffer.from(Uint8Array.of(1, ...pub)).toString("base64");
    if (!b64.includes("+")) continue;
    const id = new Uint8Array(await subtle.digest("SHA-256", Uint8Array.of(...Buffer.from(name), 0x0a, 1, ...pub))).slice(0, 4);
    const key = `${name}+${Buffer.from(id).toString("hex")}+${b64}`;
    const text = `${name}\n7\n${Buffer.alloc(32, 9).toString("base64")}\n`;
    const sig = new Uint8Array(await subtle.sign({ name: "Ed25519" }, kp.privateKey, Buffer.from(text)));
    const note = `${text}\n\u2014 ${name} ${Buffer.from([...id, ...sig]).toString("base64")}\n`;
    const v = await verifyCheckpointNote(note, key);
    assert.deepEqual(v, { origin: name, treeSize: 7, rootHash: "09".repeat(32) });
    await assert.rejects(verifyCheckpointNote(note.replace("\n7\n", "\n8\n"), key), (e) => e.code === "signature");
    return;
  }
  assert.fail("no key with '+' in 200 tries");
});

test("a spill file cut short by a crash replays its whole lines, and the next event is not glued to the cut one", async () => {
  const spill = path.join(dir, "crashed.spill");
  const line = (i) => JSON.stringify({ entity: "bot", entity_id: "crashed", event_type: "TICK", actor: "bot", metadata: { i }, idempotency_key: `crashed-${i}` }) + "\n";
  fs.writeFileSync(spill, line(0) + line(1) + line(2).slice(0, 25));
  const s = new BufferedSender(client, { spillPath: spill });
  s.send({ entity: "bot", entity_id: "crashed", event_type: "TICK", actor: "bot", metadata: { i: 3 } });
  await s.flush(20000);
  assert.deepEqual((await byRun("crashed")).map((e) => e.metadata.i), [0, 1, 3]);
  assert.match(fs.readFileSync(s.rejectedPath, "utf8"), /cut short/, "the cut line is kept aside");
  await s.close();
});

test("a client with ledger 'paper' works on that ledger only (X-Ledger), and so does its buffered sender", async () => {
  const paper = new Client({ url: server.url, token: admin, backoffMs: 5, ledger: "paper" });
  const paperReader = new Client({ url: server.url, token: reader, ledger: "paper" });
  assert.equal(paper.ledger, "paper");
  // never written: the server has no such ledger yet
  await assert.rejects(paperReader.page(), (e) => e instanceof TradetrailError && e.status === 404 && e.code === "not_found");
  const a = await paper.append({ entity: "order", entity_id: "js-paper", event_type: "FILLED", actor: "bot" });
  assert.equal(a.seq, 1, "a named ledger has its own seqs");
  await paper.logAction("into paper", "js-paper");
  const m = await client.append({ entity: "order", entity_id: "js-main", event_type: "FILLED", actor: "bot" });
  const s = new BufferedSender(paper, { spillPath: path.join(dir, "paper.spill") });
  s.send({ entity: "order", entity_id: "js-paper", event_type: "TICK", actor: "bot" });
  await s.flush(20000);
  await s.close();

  const got = [];
  for await (const e of paperReader.eachEvent()) got.push([e.seq, e.entity_id, e.event_type]);
  assert.deepEqual(got, [[1, "js-paper", "FILLED"], [2, "js-paper", "ACTION"], [3, "js-paper", "TICK"]]);
  const inMain = [];
  for await (const e of client.eachEvent({ entity_id: "js-paper" })) inMain.push(e.seq);
  assert.deepEqual(inMain, [], "the main ledger does not see paper's events");
  const mainOnly = [];
  for await (const e of new Client({ url: server.url, token: reader, ledger: "main" }).eachEvent({ entity_id: "js-main" })) mainOnly.push(e.seq);
  assert.deepEqual(mainOnly, [m.seq]);

  // paper's event verifies against paper's checkpoint ("<key name>/paper"), not main's
  let res;
  for (let i = 0; i < 100 && !res; i++) {
    try {
      res = await paperReader.verifyEvent(3, vkey);
    } catch (e) {
      if (!(e instanceof VerifyError && /not yet in the latest checkpoint/.test(e.message))) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.ok(res, "a checkpoint of paper came to cover seq 3");
  assert.equal(res.checkpoint.origin, `${vkey.split("+")[0]}/paper`);
  const confused = new Client({ url: server.url, token: reader, ledger: "paper" });
  confused.checkpoint = () => client.checkpoint(); // a server answering with main's checkpoint
  await assert.rejects(confused.verifyEvent(1, vkey), (e) => e instanceof VerifyError && e.code === "origin");
  await assert.rejects(client.verifyGrowth((await paperReader.checkpoint()).note, vkey), (e) => e instanceof VerifyError && e.code === "origin");

  for (const bad of ["Paper", "", "-x", "a".repeat(33), "pa_per"]) {
    assert.throws(() => new Client({ url: server.url, token: reader, ledger: bad }), RangeError, JSON.stringify(bad));
  }
});

test("withProvenance(event, await provenance(...)) is stored in metadata.provenance", async () => {
  const strategy = path.join(dir, "Strategy.py");
  fs.writeFileSync(strategy, "abc");
  const prov = await provenance({ strategyFile: strategy, repo: dir });
  assert.deepEqual(prov, { strategy_file: "Strategy.py", strategy_sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" });
  const a = await client.append(withProvenance({ entity: "bot", entity_id: "js-prov", event_type: "STARTED", actor: "bot", metadata: { k: 1 } }, prov));
  assert.deepEqual((await client.event(a.seq)).event.metadata, { k: 1, provenance: prov });
});
