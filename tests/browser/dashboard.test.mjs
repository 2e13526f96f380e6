// SPDX-License-Identifier: Apache-2.0
// The dashboard in a real headless Chromium (SPEC 11, issue 14), against a real
// `tradetrail serve` filled by `tradetrail demo`: sign-in and refused tokens, the timeline
// against the API, each filter and search, the URL round trip, verification on an intact
// and on a tampered store, the strategy tabs and diff, feedback, summary, charts, a live
// event, keyboard-only use, and the headers that keep the page to its own files.
// Screenshots go to build/browser-artifacts (docs/img with TT_DOCS_SCREENSHOTS=1).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { need, makeLedger, Server, launch, cli, ARTIFACTS, SOURCE_DIR, BUILD_DIR } from "./ttserver.mjs";

need();
fs.mkdirSync(ARTIFACTS, { recursive: true });
const T = 15000; // per wait; the whole file runs in well under two minutes

let L, srv, browser, page;
const consoleErrors = [];
const foreign = [];

async function shot(p, name, docs) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await p.screenshot({ path: file });
  if (docs && process.env.TT_DOCS_SCREENSHOTS) fs.copyFileSync(file, path.join(SOURCE_DIR, "docs", "img", `${name}.png`));
}

function watch(p) {
  p.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  p.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
  p.on("request", (r) => {
    if (!r.url().startsWith(srv.url + "/") && !r.url().startsWith("data:")) foreign.push(r.url());
  });
  return p;
}

async function newPage() {
  return watch(await browser.context.newPage());
}

async function signIn(p, token, hash = "#/events") {
  await p.goto(`${srv.url}/${hash}`);
  await p.locator("#token").fill(token);
  await p.locator("#token").press("Enter");
}

const seqs = (p) => p.locator("ol.rows > li").evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));

async function rowsSettled(p) {
  await p.waitForFunction(() => {
    const w = document.querySelector(".list-wrap");
    return w && !w.hasAttribute("aria-busy") && !/Loading/.test(document.querySelector(".list-status").textContent);
  }, null, { timeout: T });
}

// The filter bar's controls look like controls: the Corrected view checkbox keeps a
// checkbox's size beside its name, in a box as high as the text fields (it was drawn as a
// 32 px square stretched across its column), and the Strategy field shows all of its
// placeholder beside the clear button a search field keeps room for.
async function filterControlsFit(p) {
  const m = await p.evaluate(() => {
    const rect = (el) => el.getBoundingClientRect();
    const view = document.getElementById("f-view");
    const s = document.getElementById("f-strategy");
    const cs = getComputedStyle(s);
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = `${cs.fontSize} ${cs.fontFamily}`;
    return {
      box: [rect(view).width, rect(view).height],
      field: rect(view.parentElement).height,
      actor: rect(document.getElementById("f-actor")).height,
      nameLeft: rect(view.labels[0]).left - rect(view).right,
      placeholder: ctx.measureText(s.placeholder).width,
      room: s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight),
    };
  });
  assert.ok(m.box[0] <= 20 && m.box[1] <= 20, `the checkbox is ${m.box.join("x")} px`);
  assert.ok(m.nameLeft >= 0 && m.nameLeft <= 16, "its name is right of it");
  assert.ok(Math.abs(m.field - m.actor) <= 2, `the checkbox's box is ${m.field} px high, a text field ${m.actor} px`);
  assert.ok(m.room - m.placeholder >= 24, `"Name or symbol" needs ${m.placeholder} px of ${m.room} px and the clear button's room`);
}

async function apiSeqs(params) {
  const q = new URLSearchParams({ order: "desc", limit: "100", ...params });
  const r = await srv.api(`/api/events?${q}`, L.read);
  return r.events.map((e) => e.seq);
}

before(async () => {
  L = makeLedger(1500, 3);
  // A strategy with three versions, for the Versions tab and the name search.
  const y = (n) => `name: rsi\nfeatures:\n  rsi:\n    period: 14\nentry: rsi < ${n}\n`;
  cli(L.data, ["strategy", "create", "--id", "aapl-rsi", "--name", "AAPL RSI Strategy", "--symbol", "AAPL", "--timeframe", "5m", "--yaml-file", "-", "--actor", "user123", "--reason", "Initial version"], y(30));
  cli(L.data, ["strategy", "update-yaml", "aapl-rsi", "--yaml-file", "-", "--actor", "user123", "--reason", "Updated RSI threshold from 30 to 35"], y(35));
  cli(L.data, ["strategy", "update-yaml", "aapl-rsi", "--yaml-file", "-", "--actor", "user123", "--reason", "Add an exit"], y(35) + "exit: rsi > 70\n");
  // SPEC 15 corrections among the newest events: a VOID and a CORRECTION.
  cli(L.data, ["append", "--entity", "order", "--id", "o-void", "--type", "FILLED", "--actor", "ft-main", "--reason", "fill to void"]);
  cli(L.data, ["append", "--entity", "order", "--id", "o-fix", "--type", "FILLED", "--actor", "ft-main", "--reason", "fill to correct"]);
  const n = Number(JSON.parse(cli(L.data, ["stats", "-o", "json"])).tree_size);
  cli(L.data, ["append", "--entity", "order", "--id", "o-void", "--type", "VOID", "--actor", "ops", "--meta", JSON.stringify({ corrects: n - 1 })]);
  cli(L.data, ["append", "--entity", "order", "--id", "o-fix", "--type", "CORRECTION", "--actor", "ops", "--reason", "fill corrected", "--meta", JSON.stringify({ corrects: n })]);
  srv = await new Server(L.data).start();
  browser = await launch();
  page = await newPage();
});

after(async () => {
  if (browser) await browser.context.close();
  if (srv) await srv.stop();
  if (L) fs.rmSync(L.dir, { recursive: true, force: true });
  if (browser) fs.rmSync(browser.userDataDir, { recursive: true, force: true });
});

test("the page is served with its content types, caching and a CSP that allows only its own files", async () => {
  const r = await fetch(`${srv.url}/`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(r.headers.get("cache-control"), "no-cache");
  const csp = r.headers.get("content-security-policy");
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self';/);
  assert.match(csp, /style-src 'self';/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/);
  const html = await r.text();
  assert.doesNotMatch(html, /https?:\/\/|<style|<script>|style=/i, "no external URL, no inline script or style");
  const js = html.match(/\/assets\/\d+\/app\.js/)[0];
  const a = await fetch(srv.url + js);
  assert.equal(a.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(a.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const css = await fetch(srv.url + js.replace("app.js", "app.css"));
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  const etag = r.headers.get("etag");
  assert.equal((await fetch(`${srv.url}/`, { headers: { "If-None-Match": etag } })).status, 304);
  assert.equal((await fetch(`${srv.url}/assets/1/app.js`)).headers.get("cache-control"), "no-cache", "an old version is not cached");
  assert.equal((await fetch(`${srv.url}/assets/1/nothing.js`)).status, 404);
  // No web file refers to another origin.
  for (const f of fs.readdirSync(path.join(SOURCE_DIR, "web"))) {
    const text = fs.readFileSync(path.join(SOURCE_DIR, "web", f), "utf8");
    assert.doesNotMatch(text, /(src|href|url)\s*[=(]\s*["']?https?:/i, f);
  }
});

test("sign-in: a wrong, a revoked and an ingest token get a clear screen; a read token gets in", async () => {
  await signIn(page, "tt_" + "0".repeat(64));
  await page.locator("#signin-error").getByText("This token was refused").waitFor({ timeout: T });
  await signIn(page, L.revoked);
  await page.locator("#signin-error").getByText("This token was refused").waitFor({ timeout: T });
  assert.match(await page.locator("#signin-error").textContent(), /revoked/);
  await signIn(page, L.ingest);
  await page.locator("#signin-error").getByText("may not read").waitFor({ timeout: T });
  await shot(page, "signin-refused");
  await signIn(page, L.read);
  await page.locator("ol.rows > li").first().waitFor({ timeout: T });
  assert.ok(!page.url().includes(L.read), "the token is never in the URL");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("tradetrail.token")), L.read);
  assert.equal(await page.evaluate(() => localStorage.length === 0 || !Object.values(localStorage).some((v) => v.startsWith("tt_"))), true);
});

test("the timeline shows the newest events first, and more on scrolling", async () => {
  await rowsSettled(page);
  const shown = await seqs(page);
  assert.deepEqual(shown.slice(0, 100), await apiSeqs({}));
  assert.equal(new Set(shown).size, shown.length, "no event twice");
  // Colours by type: a CREATED row is blue, the legend names each family.
  const created = page.locator("ol.rows > li.k-created").first();
  assert.equal(await created.evaluate((e) => getComputedStyle(e.querySelector(".badge")).color), "rgb(29, 78, 216)");
  for (const w of ["Created", "Activated", "Closed", "Swapped", "Failed", "Other"]) await page.locator(".legend").getByText(w).first().waitFor();
  await page.locator(".list-wrap").evaluate((w) => (w.scrollTop = w.scrollHeight));
  await page.waitForFunction(() => document.querySelectorAll("ol.rows > li").length >= 200, null, { timeout: T });
  const more = await seqs(page);
  const want = (await srv.api(`/api/events?order=desc&limit=200`, L.read)).events.map((e) => e.seq);
  assert.deepEqual(more.slice(0, 200), want);
});

// Wait until the URL holds every parameter (the page updates it as it starts loading),
// then until the rows are in, and compare them with the API's answer.
async function expectRows(params, check) {
  await page.waitForFunction((want) => {
    const got = new URLSearchParams(location.hash.split("?")[1] || "");
    return Object.entries(want).every(([k, v]) => got.get(k) === v);
  }, params, { timeout: T });
  await rowsSettled(page);
  const shown = await seqs(page);
  const want = await apiSeqs(params);
  const why = `${JSON.stringify(params)} at ${page.url()}: ${await page.locator(".list-status").textContent()}`;
  assert.deepEqual(shown.slice(0, want.length), want, why);
  assert.ok(want.length > 0, `the demo ledger has events for ${JSON.stringify(params)}`);
  if (check) await check();
}

test("each filter and search narrows the timeline as the API does, and lives in the URL", async () => {
  await page.selectOption("#f-entity", "ai_feedback");
  await expectRows({ entity: "ai_feedback" });
  assert.match(page.url(), /entity=ai_feedback/);
  const subjects = await page.locator("ol.rows .subject").allTextContents();
  assert.ok(subjects.every((s) => s.startsWith("ai_feedback/")));
  await page.getByRole("button", { name: /Remove filter entity/ }).click();

  await page.locator("#f-types summary").click();
  await page.check("#t-ACTIVATED");
  await page.check("#t-FAILED");
  await expectRows({ event_type: "ACTIVATED,FAILED" });
  assert.match(decodeURIComponent(page.url()), /event_type=ACTIVATED,FAILED/);
  const badges = await page.locator("ol.rows .badge").allTextContents();
  assert.ok(badges.every((b) => /ACTIVATED|FAILED/.test(b)));
  await page.locator("#f-types summary").click();

  await page.getByRole("button", { name: /Remove filter type/ }).click();
  await page.fill("#f-actor", "evaluator");
  await expectRows({ actor: "evaluator" });
  const actors = await page.locator("ol.rows .actor").allTextContents();
  assert.ok(actors.every((a) => a.startsWith("evaluator")));
  await page.getByRole("button", { name: /Remove filter actor/ }).click();
  await rowsSettled(page);
  // Identifiers filter on click: an actor, then a maintenance source.
  await page.locator("ol.rows button.who", { hasText: /^self-heal-job$/ }).first().click();
  await expectRows({ actor: "self-heal-job" });
  await page.getByRole("button", { name: /Remove filter actor/ }).click();
  await page.locator("ol.rows button.subject", { hasText: "maintenance/" }).first().click();
  const [ent, id] = (await page.locator(".chips").textContent()).match(/entity: (\w+)[\s\S]*id: (\S+)/).slice(1);
  await expectRows({ entity: ent, entity_id: id });
  await page.getByRole("button", { name: "Clear all" }).click();
  await rowsSettled(page);

  await page.fill("#f-q", "Grafana");
  await expectRows({ q: "Grafana" });
  const reasons = await page.locator("ol.rows .reason").allTextContents();
  assert.ok(reasons.every((r) => /grafana/i.test(r)));
  assert.match(page.url(), /q=Grafana/);
  await page.fill("#f-q", "");

  // A time range: events between two seqs' timestamps, as the API counts them.
  const evs = (await srv.api(`/api/events?order=asc&limit=1000`, L.read)).events;
  // Milliseconds, as a datetime-local input writes them (no trailing zeros).
  const ms = (ts) => ts.slice(0, 23).replace(/\.?0+$/, "");
  const since = ms(evs[200].ts);
  const until = ms(evs[700].ts);
  await page.selectOption("#f-range", "custom");
  await page.fill("#f-since", since);
  await page.fill("#f-until", until);
  await page.locator("#f-until").dispatchEvent("change");
  await expectRows({ since: `${since}Z`, until: `${until}Z` });
  await page.getByRole("button", { name: /Remove filter since/ }).click();
  await rowsSettled(page);

  // A strategy's name: its own events only.
  await page.fill("#f-strategy", "AAPL RSI");
  await page.waitForFunction(() => location.hash.includes("strategy=AAPL"), null, { timeout: T });
  await rowsSettled(page);
  assert.deepEqual(await seqs(page), await apiSeqs({ entity: "strategy", entity_id: "aapl-rsi" }));
  // A symbol shared by several strategies: the merge of all their events.
  const spy = (await srv.api(`/api/strategies?symbol=SPY&include_deleted=true&limit=100`, L.read)).strategies.map((s) => s.id);
  assert.ok(spy.length > 1, "the demo has several SPY strategies");
  await page.fill("#f-strategy", "SPY");
  await page.waitForFunction(() => location.hash.includes("strategy=SPY"), null, { timeout: T });
  await rowsSettled(page);
  const shown = await page.locator("ol.rows > li").evaluateAll((els) => els.map((e) => [Number(e.dataset.seq), e.querySelector(".subject").textContent]));
  let all = [];
  for (const id of spy) all.push(...(await srv.api(`/api/events?entity=strategy&entity_id=${id}&limit=100&order=desc`, L.read)).events.map((e) => e.seq));
  all = all.sort((a, b) => b - a).slice(0, 100);
  assert.deepEqual(shown.map(([s]) => s), all);
  assert.ok(shown.every(([, sub]) => spy.includes(sub.replace("strategy/", ""))));
  await shot(page, "timeline-filtered");
  await page.getByRole("button", { name: /Remove filter strategy/ }).click();
  await rowsSettled(page);

  // SPEC 15: the corrected view, as the API gives it.
  await filterControlsFit(page);
  await page.check("#f-view");
  await expectRows({ view: "corrected" });
  const texts = await page.locator("ol.rows > li").allTextContents();
  assert.ok(!texts.some((t) => /o-void|VOID|CORRECTION/.test(t)), "voided events and corrections are hidden");
  assert.ok(texts.some((t) => /fill corrected/.test(t)), "the correction's reason is shown");
  await page.getByRole("button", { name: /Remove filter view/ }).click();
  await rowsSettled(page);
  assert.equal(await page.isChecked("#f-view"), false);
});

test("the URL round-trips: a shared link opens the same view after sign-in, Back restores the last one", async () => {
  await page.fill("#f-strategy", "");
  await page.selectOption("#f-entity", "strategy");
  await rowsSettled(page);
  await page.fill("#f-q", "activated");
  await page.locator("#f-q").press("Enter");
  await page.waitForFunction(() => location.hash.includes("q=activated"), null, { timeout: T });
  await rowsSettled(page);
  const url = page.url();
  const first = await seqs(page);
  const p2 = await newPage();
  await p2.goto(url);
  await p2.locator("#token").fill(L.read);
  await p2.locator("#token").press("Enter");
  await p2.locator("ol.rows > li").first().waitFor({ timeout: T });
  await rowsSettled(p2);
  assert.equal(await p2.inputValue("#f-entity"), "strategy");
  assert.equal(await p2.inputValue("#f-q"), "activated");
  assert.deepEqual(await seqs(p2), first);
  await p2.close();
  await page.goBack();
  await page.waitForFunction(() => !location.hash.includes("q=activated"), null, { timeout: T });
  await rowsSettled(page);
  assert.equal(await page.inputValue("#f-q"), "");
  assert.equal(await page.inputValue("#f-entity"), "strategy");
  await page.goto(`${srv.url}/#/events`);
  await rowsSettled(page);
});

test("the detail panel shows every field and says verified after checking the proof and the signature", async () => {
  // Pin the key through the settings dialog, as a user pastes it.
  await page.click("#btn-settings");
  await page.fill("#vkey", L.vkey);
  await page.click("#vkey-save");
  await page.locator("#vkey-state").getByText("Pinned:").waitFor({ timeout: T });
  await page.getByRole("button", { name: "Close", exact: true }).click();
  const target = (await srv.api(`/api/events?entity=strategy&event_type=SWAPPED_IN&order=desc&limit=1`, L.read)).events[0];
  await page.goto(`${srv.url}/#/events?seq=${target.seq}`);
  await page.locator("#verdict.good").waitFor({ timeout: T });
  const verdict = await page.locator("#verdict").textContent();
  assert.match(verdict, new RegExp(`Verified: event #${target.seq} is in the ledger signed at size \\d+`));
  assert.equal(await page.locator("#checks li.ok").count(), 7);
  const dd = await page.locator(".kv").first().textContent();
  for (const k of ["seq", "ts", "entity", "entity_id", "event_type", "actor", "old_status", "new_status", "reason", "occurred_at", "idempotency_key", "leaf_hash"]) assert.ok(dd.includes(k), k);
  assert.ok(dd.includes(target.leaf_hash));
  for (const k of Object.keys(target)) if (k !== "metadata") assert.ok(dd.includes(k), `field ${k} shown`);
  const meta = await page.locator("pre.json").textContent();
  assert.deepEqual(JSON.parse(meta), target.metadata);
  assert.ok(meta.includes("\n  "), "pretty-printed");
  await shot(page, "dashboard-timeline", true);
  // A second visit checks consistency with the checkpoint kept by the first.
  await srv.api("/api/events", L.ingest, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ entity: "order", entity_id: "o-9", event_type: "CREATED", actor: "bot-7" }) });
  await page.waitForTimeout(500);
  await page.click("#reverify");
  await page.locator("#verdict.good").waitFor({ timeout: T });
  assert.match(await page.locator('#checks li[data-step="consistency"]').textContent(), /Extends the kept checkpoint|Same checkpoint/);
});

test("a key other than the ledger's fails at the signature step", async () => {
  const other = path.join(L.dir, "other");
  cli(other, ["init"]);
  const wrong = cli(other, ["key"]).trim();
  await page.evaluate((k) => localStorage.setItem("tradetrail.verifier_key", k), wrong);
  await page.click("#reverify");
  await page.locator("#verdict.bad").waitFor({ timeout: T });
  assert.match(await page.locator("#verdict").textContent(), /Checkpoint signature \(Ed25519\) valid/);
  assert.equal(await page.locator("#checks").getAttribute("data-failed"), "signature");
  await page.evaluate((k) => localStorage.setItem("tradetrail.verifier_key", k), L.vkey);
});

test("a browser without Ed25519 in WebCrypto: the signature step says not checked, and the verdict does not say verified", async () => {
  // As an older browser: importKey and verify refuse the Ed25519 algorithm, nothing else.
  const p = await newPage();
  await p.addInitScript(() => {
    const subtle = globalThis.crypto && globalThis.crypto.subtle;
    if (!subtle) return;
    const ed = (alg) => /^ed25519$/i.test(typeof alg === "string" ? alg : alg && alg.name);
    const refuse = () => Promise.reject(new DOMException("Unrecognized name.", "NotSupportedError"));
    const importKey = subtle.importKey.bind(subtle);
    const verify = subtle.verify.bind(subtle);
    subtle.importKey = (format, key, alg, ...rest) => (ed(alg) ? refuse() : importKey(format, key, alg, ...rest));
    subtle.verify = (alg, ...rest) => (ed(alg) ? refuse() : verify(alg, ...rest));
  });
  const target = (await srv.api(`/api/events?entity=strategy&order=desc&limit=1`, L.read)).events[0];
  await p.goto(`${srv.url}/`);
  await p.evaluate((k) => localStorage.setItem("tradetrail.verifier_key", k), L.vkey);
  await signIn(p, L.read, `#/events?seq=${target.seq}`);
  await p.locator("#verdict.partial").waitFor({ timeout: T });
  const verdict = await p.locator("#verdict").textContent();
  assert.match(verdict, /^Partly verified: .*the signature could not be checked in this browser/);
  assert.doesNotMatch(verdict, /^Verified/);
  assert.equal(await p.locator("#verdict.good").count(), 0);
  const sig = p.locator('#checks li[data-step="signature"]');
  assert.equal(await sig.getAttribute("class"), "check warn");
  assert.equal(await sig.locator(".state").textContent(), "not checked");
  assert.match(await sig.locator(".why").textContent(), /^Not checked: this browser's WebCrypto has no Ed25519\. .*tradetrail verify --since-checkpoint/);
  // The other steps still ran and passed; none failed.
  assert.equal(await p.locator("#checks li.ok").count(), 6);
  assert.equal(await p.locator("#checks li.fail").count(), 0);
  assert.equal(await p.locator("#checks").getAttribute("data-failed"), null);
  await shot(p, "no-ed25519");
  await p.close();
});

test("the strategy page: overview, versions with a diff between any two, audit log; tabs by keyboard", async () => {
  await page.goto(`${srv.url}/#/strategies`);
  await page.locator("#st-table tbody tr").nth(10).waitFor({ timeout: T });
  const all = await srv.api("/api/strategies?include_deleted=true&limit=10000", L.read);
  assert.equal(await page.locator("#st-table tbody tr").count(), Math.min(1000, all.count));
  await page.fill("#st-text", "AAPL RSI");
  await page.waitForFunction(() => document.querySelectorAll("#st-table tbody tr").length === 1, null, { timeout: T });
  await page.getByRole("link", { name: "AAPL RSI Strategy" }).click();
  await page.locator("#sp-title").getByText("AAPL RSI Strategy").waitFor({ timeout: T });
  assert.match(page.url(), /#\/strategy\/aapl-rsi\/overview$/);
  assert.equal(await page.title(), "Strategy aapl-rsi \u00b7 tradetrail");
  assert.match(await page.locator("#panel-overview").textContent(), /DRAFT[\s\S]*AAPL[\s\S]*5m[\s\S]*v3/);
  await page.focus("#tab-overview");
  await page.keyboard.press("ArrowRight");
  await page.waitForFunction(() => location.hash.startsWith("#/strategy/aapl-rsi/versions"), null, { timeout: T });
  assert.equal(await page.locator("#tab-versions").getAttribute("aria-selected"), "true");
  await page.locator("#versions-table tbody tr").nth(2).waitFor({ timeout: T });
  assert.equal(await page.locator("#versions-table tbody tr").count(), 3);
  await page.check('input[name=from][value="1"]');
  await page.check('input[name=to][value="3"]');
  await page.click("#btn-diff");
  await page.locator("#diff .dl.add").getByText("+exit: rsi > 70").waitFor({ timeout: T });
  const diff = await page.locator("#diff").textContent();
  assert.match(diff, /-entry: rsi < 30/);
  assert.match(diff, /\+entry: rsi < 35/);
  assert.match(page.url(), /versions\?from=1&to=3/);
  await shot(page, "dashboard-strategy", true);
  await page.click("#tab-audit");
  await page.locator("#panel-audit ol.rows > li").nth(2).waitFor({ timeout: T });
  const shown = await page.locator("#panel-audit ol.rows > li").evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(shown, await apiSeqs({ entity: "strategy", entity_id: "aapl-rsi" }));
  // Reload keeps the tab.
  await page.reload();
  await page.locator("#tab-audit[aria-selected=true]").waitFor({ timeout: T });
});

test("the AI feedback table and its outcome filter", async () => {
  await page.goto(`${srv.url}/#/feedback`);
  await page.locator("#fb-table tbody tr").first().waitFor({ timeout: T });
  const all = await srv.api("/api/feedback?limit=200", L.read);
  assert.equal(await page.locator("#fb-table tbody tr").count(), all.count);
  await page.selectOption("#fb-outcome", "positive");
  await page.waitForFunction(() => location.hash.includes("outcome=positive"), null, { timeout: T });
  const pos = await srv.api("/api/feedback?limit=200&outcome=positive", L.read);
  await page.waitForFunction((n) => document.querySelectorAll("#fb-table tbody tr").length === n, pos.count, { timeout: T });
  const outcomes = await page.locator("#fb-table tbody tr").evaluateAll((els) => els.map((e) => e.dataset.outcome));
  assert.ok(outcomes.length > 0 && outcomes.every((o) => o === "positive"));
});

test("the summary of a chosen date", async () => {
  const today = new Date().toISOString().slice(0, 10);
  await page.goto(`${srv.url}/#/summary?period=day&date=${today}`);
  await page.locator("#sum-text").waitFor({ timeout: T });
  const s = await srv.api(`/api/summary?period=day&date=${today}`, L.read);
  assert.equal((await page.locator('[data-stat="total"] .v').textContent()).replace(/,/g, ""), String(s.total));
  assert.match(await page.locator("#sum-text").textContent(), new RegExp(`Daily Audit Summary \\(${today}\\)`));
  await page.locator("#sum-note-check.good").waitFor({ timeout: T }); // the key was pinned above
  await page.fill("#sum-date", "2020-01-02");
  await page.locator("#sum-date").dispatchEvent("change");
  await page.locator("#sum-text").getByText("(2020-01-02)").waitFor({ timeout: T });
  assert.equal(await page.locator('[data-stat="total"] .v').textContent(), "0");
  assert.match(page.url(), /date=2020-01-02/);
});

test("the charts draw the API's counts", async () => {
  await page.goto(`${srv.url}/#/analytics`);
  await page.locator("#chart-counts rect.bar").first().waitFor({ timeout: T });
  const counts = await srv.api("/api/analytics/event-counts", L.read);
  const bars = await page.locator("#chart-counts rect.bar").evaluateAll((els) => els.map((e) => [e.dataset.label, Number(e.dataset.value)]));
  assert.deepEqual(bars, counts.rows.map((r) => [r.event_type, r.count]));
  const heat = await srv.api("/api/analytics/swaps-heatmap", L.read);
  const cells = await page.locator("#chart-heat rect.cell").evaluateAll((els) => els.reduce((a, e) => a + Number(e.dataset.value), 0));
  assert.equal(cells, heat.rows.reduce((a, r) => a + r.total, 0));
  assert.equal(await page.locator("#chart-heat rect.cell").count(), 7 * 24);
  const actors = await srv.api("/api/analytics/actors", L.read);
  const segs = await page.locator("#chart-manual rect.seg").evaluateAll((els) => els.map((e) => Number(e.dataset.value)));
  assert.equal(segs[0] + segs[1], actors.rows.reduce((a, r) => a + r.count, 0));
  assert.equal(segs[1], actors.rows.filter((r) => r.kind === "automated").reduce((a, r) => a + r.count, 0));
  await shot(page, "dashboard-analytics");
});

test("a live event appears without reload, and the stream resumes after the server restarts", async () => {
  await page.goto(`${srv.url}/#/events`);
  await rowsSettled(page);
  await page.locator("#live-chip[data-state=live]").waitFor({ timeout: T });
  const post = (id) => srv.api("/api/events", L.ingest, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ entity: "order", entity_id: id, event_type: "CREATED", actor: "bot-7", reason: `live ${id}` }) });
  const a = await post("o-live-1");
  await page.locator(`ol.rows > li[data-seq="${a.seq}"]`).waitFor({ timeout: T });
  assert.equal((await seqs(page))[0], a.seq);
  // Restart on the same port: the page reconnects by itself and resumes after its last seq.
  await srv.stop();
  await page.locator("#live-chip[data-state=reconnecting]").waitFor({ timeout: T });
  await srv.start(srv.port);
  const b = await post("o-live-2");
  await page.locator(`ol.rows > li[data-seq="${b.seq}"]`).waitFor({ timeout: 40000 });
  await page.locator("#live-chip[data-state=live]").waitFor({ timeout: T });
  // Paused (p), new events wait and are counted; p again shows them.
  await page.locator("body").press("p");
  await page.locator("#live-chip[data-state=paused]").waitFor({ timeout: T });
  const c = await post("o-live-3");
  await page.locator("#live-chip").getByText("Paused (1 new)").waitFor({ timeout: T });
  assert.equal(await page.locator(`ol.rows > li[data-seq="${c.seq}"]`).count(), 0);
  await page.locator("body").press("p");
  await page.locator(`ol.rows > li[data-seq="${c.seq}"]`).waitFor({ timeout: T });
});

test("keyboard only: sign in, move through events, open one, close it, search, change view", async () => {
  const p = await newPage();
  await p.goto(`${srv.url}/`);
  await p.keyboard.type(L.read); // the token field has focus
  await p.keyboard.press("Enter");
  await p.locator("ol.rows > li").first().waitFor({ timeout: T });
  await rowsSettled(p);
  await p.keyboard.press("j");
  await p.keyboard.press("j");
  const second = (await seqs(p))[1];
  assert.equal(await p.evaluate(() => document.activeElement.closest("li").dataset.seq), String(second));
  await p.keyboard.press("Enter");
  await p.locator("#drawer:not([hidden]) #verdict").waitFor({ timeout: T });
  assert.match(p.url(), new RegExp(`seq=${second}`));
  await p.keyboard.press("Escape");
  await p.locator("#drawer[hidden]").waitFor({ state: "attached", timeout: T });
  assert.equal(await p.evaluate(() => document.activeElement.closest("li").dataset.seq), String(second), "focus returns to the row");
  await p.keyboard.press("/");
  assert.equal(await p.evaluate(() => document.activeElement.id), "f-q");
  await p.keyboard.type("Grafana");
  await p.keyboard.press("Enter");
  await p.waitForFunction(() => location.hash.includes("q=Grafana"), null, { timeout: T });
  await p.keyboard.press("Escape"); // leaves the field, so keys are shortcuts again
  await p.keyboard.press("g");
  await p.keyboard.press("s");
  await p.waitForFunction(() => location.hash.startsWith("#/strategies"), null, { timeout: T });
  // The strategies view replaces the timeline once its module has loaded (lazily).
  await p.locator("#st-title").waitFor({ timeout: T });
  // Every control reached by Tab has a name (a hidden one is not reached).
  const unnamed = await p.evaluate(() => [...document.querySelectorAll("input, select, button, textarea")].filter((e) => !e.closest("[hidden]") && !e.labels?.length && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby") && !e.textContent.trim() && e.type !== "hidden").map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
  await p.close();
});

// WCAG 2.1 contrast of every visible text in the timeline, the legend, the header and the
// detail panel, against the colour actually behind it (tints composited), light and dark.
async function lowContrast(p) {
  return p.evaluate(() => {
    const parse = (c) => {
      let m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(c);
      if (m) return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
      m = /^color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)(?: \/ ([\d.]+))?\)$/.exec(c);
      if (m) return [m[1] * 255, m[2] * 255, m[3] * 255, m[4] === undefined ? 1 : +m[4]];
      return null;
    };
    const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
    const bg = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c[3] > 0) layers.push(c);
        if (c && c[3] === 1) break;
      }
      let acc = [255, 255, 255, 1];
      for (const l of layers.reverse()) acc = over(l, acc);
      return acc;
    };
    const lum = (c) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
    };
    const bad = [];
    const els = document.querySelectorAll(".top *, .legend li, ol.rows > li:nth-child(-n+30) *, .drawer *, .filters label, .chips *");
    for (const el of els) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      const r = el.getBoundingClientRect();
      if (!own || r.width === 0 || r.height === 0) continue;
      const under = bg(el);
      const fg = over(parse(getComputedStyle(el).color), under);
      const [a, b] = [lum(fg), lum(under)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      if (ratio < 4.5) bad.push(`${el.className || el.tagName} "${el.textContent.trim().slice(0, 20)}" ${ratio.toFixed(2)}`);
    }
    return bad;
  });
}

test("contrast: every text of the timeline and the detail panel is at least 4.5:1, light and dark", async () => {
  const target = (await srv.api(`/api/events?event_type=FAILED&order=desc&limit=1`, L.read)).events[0];
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(`${srv.url}/#/events?seq=${target.seq}`);
    await page.locator("#verdict.good").waitFor({ timeout: T });
    await page.waitForTimeout(1300); // the fresh-row highlight is over
    assert.deepEqual(await lowContrast(page), [], scheme);
  }
  await shot(page, "dark-timeline");
  await page.emulateMedia({ colorScheme: "light" });
});

test("phone width: the timeline and a verified detail fit a 390 px screen", async () => {
  const p = await newPage();
  await p.setViewportSize({ width: 390, height: 800 });
  await signIn(p, L.read);
  await p.locator("ol.rows > li").first().waitFor({ timeout: T });
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, "no horizontal scrolling");
  // The filters fold behind one button; opened, they are all there.
  assert.equal(await p.locator("#f-entity").isVisible(), false);
  await p.click(".filters-toggle");
  await p.locator("#f-entity").waitFor({ timeout: T });
  assert.equal(await p.locator(".filters-toggle").getAttribute("aria-expanded"), "true");
  await filterControlsFit(p);
  await p.click(".filters-toggle");
  await shot(p, "phone-timeline", true);
  await p.locator("ol.rows > li a.open").first().click();
  await p.locator("#verdict.good").waitFor({ timeout: T });
  await shot(p, "phone-detail", true);
  await p.close();
});

test("a token revoked while the page is open sends it back to sign-in, saying so", async () => {
  const t = JSON.parse(cli(L.data, ["token", "create", "--role", "read", "--name", "short-lived", "-o", "json"]));
  const p = await newPage();
  await signIn(p, t.token);
  await p.locator("ol.rows > li").first().waitFor({ timeout: T });
  cli(L.data, ["token", "revoke", String(t.id)]);
  await p.click('.nav a[data-view="feedback"]');
  await p.locator("#signin-error").getByText("This token was refused").waitFor({ timeout: T });
  assert.equal(await p.evaluate(() => sessionStorage.getItem("tradetrail.token")), null, "the refused token is forgotten");
  await p.close();
});

// cmake --install rewrites the build's install_manifest.txt: put back the one of
// `make install` (or none), so that `make uninstall` still removes what it installed.
function installKeepingManifest(prefix) {
  const manifest = path.join(BUILD_DIR, "install_manifest.txt");
  const saved = fs.existsSync(manifest) ? fs.readFileSync(manifest) : null;
  try {
    execFileSync("cmake", ["--install", BUILD_DIR, "--prefix", prefix], { stdio: "ignore" });
  } finally {
    if (saved === null) fs.rmSync(manifest, { force: true });
    else fs.writeFileSync(manifest, saved);
  }
  return { manifest, saved };
}

test("make install: the installed program serves the installed files", async () => {
  const prefix = path.join(L.dir, "prefix");
  const { manifest, saved } = installKeepingManifest(prefix);
  if (saved === null) assert.equal(fs.existsSync(manifest), false, "no install_manifest.txt left behind");
  else assert.ok(fs.readFileSync(manifest).equals(saved), "install_manifest.txt is the one of make install");
  const web = path.join(prefix, "share", "tradetrail", "web");
  for (const f of fs.readdirSync(path.join(SOURCE_DIR, "web"))) assert.ok(fs.existsSync(path.join(web, f)), f);
  // Mark the installed page, then check that the installed program serves it.
  fs.appendFileSync(path.join(web, "index.html"), "<!-- installed copy -->\n");
  const other = new Server(path.join(L.dir, "installed-data"), path.join(prefix, "bin", "tradetrail"));
  await other.start();
  try {
    assert.match(await (await fetch(`${other.url}/`)).text(), /installed copy/);
  } finally {
    await other.stop();
  }
});

test("a tampered store: the detail panel names the failing step", async () => {
  // The attacker holds the database file: drops the append-only trigger, rewrites a
  // reason, and overwrites one stored tree hash (leaf 0 of tile 0).
  const db = path.join(L.data, "ledger.db");
  const sql = "DROP TRIGGER IF EXISTS events_no_update; UPDATE events SET reason = 'nothing to see' WHERE seq = 20; " +
    "UPDATE tiles SET hashes = zeroblob(32) || substr(hashes, 33) WHERE id = 0;";
  execFileSync("sqlite3", [db, sql]);
  await page.goto(`${srv.url}/#/events?seq=20`);
  await page.locator("#verdict.bad").waitFor({ timeout: T });
  assert.equal(await page.locator("#checks").getAttribute("data-failed"), "leaf");
  assert.match(await page.locator("#verdict").textContent(), /Leaf hash recomputed from the fields/);
  await shot(page, "tampered-leaf");
  // Seq 2's audit path starts with leaf 0's hash, now wrong: the root does not match.
  await page.goto(`${srv.url}/#/events?seq=2`);
  await page.locator("#verdict.bad").waitFor({ timeout: T });
  assert.equal(await page.locator("#checks").getAttribute("data-failed"), "root");
  assert.match(await page.locator("#verdict").textContent(), /Root recomputed/);
  await shot(page, "tampered-root");
});

test("nothing was fetched from another origin and the page logged no CSP violation or script error", () => {
  assert.deepEqual(foreign, []);
  const bad = consoleErrors.filter((e) => /Content Security Policy|pageerror|Uncaught/i.test(e));
  assert.deepEqual(bad, []);
});
