// SPDX-License-Identifier: Apache-2.0
// Helpers of the browser tests, as tests/e2e/ttserver.py for the Python suites: a data
// directory filled by `tradetrail demo`, tokens made through the CLI, `tradetrail serve` on
// a free loopback port, HTTP requests from node, and headless Chromium (Debian's, at
// /usr/bin/chromium, or CHROMIUM) through playwright-core. A missing tool is an error,
// never a skip.
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.TT_SOURCE_DIR || path.resolve(here, "..", "..");
export const BUILD_DIR = process.env.TT_BUILD_DIR || path.join(SOURCE_DIR, "build");
export const BIN = process.env.TT_BIN || path.join(BUILD_DIR, "tradetrail");
export const ARTIFACTS = process.env.TT_BROWSER_ARTIFACTS || path.join(BUILD_DIR, "browser-artifacts");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

export function need() {
  const missing = [];
  if (!fs.existsSync(BIN)) missing.push(`the tradetrail program (${BIN}; run make build)`);
  if (!fs.existsSync(CHROMIUM)) missing.push(`Chromium (${CHROMIUM}; apt-get install chromium, or make deps)`);
  if (!fs.existsSync(path.join(here, "node_modules", "playwright-core"))) {
    missing.push("playwright-core (cd tests/browser && npm ci, or make deps)");
  }
  if (missing.length) throw new Error(`the browser tests cannot run without: ${missing.join("; ")}`);
}

export function cli(data, args, input) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TRADETRAIL_")));
  return execFileSync(BIN, ["--data", data, ...args], { env, input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function tmpdir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// A ledger filled by `tradetrail demo`, a read, an ingest and a revoked token, and the
// verifier key.
export function makeLedger(events, seed) {
  const dir = tmpdir("tt-browser-");
  const data = path.join(dir, "data");
  cli(data, ["init"]);
  cli(data, ["demo", "--events", String(events), "--seed", String(seed || 1)]);
  const tok = (role, name) => JSON.parse(cli(data, ["token", "create", "--role", role, "--name", name, "-o", "json"]));
  const read = tok("read", "dashboard").token;
  const ingest = tok("ingest", "bot").token;
  const revoked = tok("read", "old-dashboard");
  cli(data, ["token", "revoke", String(revoked.id)]);
  const vkey = cli(data, ["key"]).trim();
  return { dir, data, read, ingest, revoked: revoked.token, vkey };
}

export class Server {
  constructor(data, bin) {
    this.data = data;
    this.bin = bin || BIN;
    this.proc = null;
    this.port = 0;
    this.log = "";
  }

  async start(port) {
    this.port = port || (await freePort());
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TRADETRAIL_")));
    this.proc = spawn(this.bin, ["--data", this.data, "serve", "--listen", `127.0.0.1:${this.port}`, "--checkpoint-interval", "0.2"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc.stdout.on("data", (b) => (this.log += b));
    this.proc.stderr.on("data", (b) => (this.log += b));
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`tradetrail serve exited ${this.proc.exitCode}\n${this.log}`);
      try {
        const r = await fetch(`${this.url}/healthz`);
        if (r.ok) return this;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`tradetrail serve did not become healthy\n${this.log}`);
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const done = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 15000);
    await done;
    clearTimeout(t);
  }

  async api(p, token, opts = {}) {
    const r = await fetch(this.url + p, { ...opts, headers: { Authorization: `Bearer ${token}`, ...(opts.headers || {}) } });
    const text = await r.text();
    if (!r.ok) throw new Error(`${opts.method || "GET"} ${p}: ${r.status} ${text}`);
    return opts.raw ? text : JSON.parse(text);
  }
}

export async function launch() {
  const { chromium } = await import("playwright-core");
  const userDataDir = tmpdir("tt-chromium-");
  // A persistent context gives the fresh --user-data-dir the brief asks for; headless,
  // without GPU, QUIC or any background traffic, so nothing leaves the loopback.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 860 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return { context, userDataDir };
}
