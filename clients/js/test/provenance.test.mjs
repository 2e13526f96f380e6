// SPDX-License-Identifier: Apache-2.0
// provenance() and withProvenance() (docs/INTEGRATIONS.md "Run provenance"): the git
// commit and dirty flag of a throwaway repository, the files' names and SHA-256 against
// known answers, git's failures left out (not a checkout, git not on PATH), an unreadable
// file rejected, and the same object as the Python client's provenance() for the same
// inputs. No server. Runs on dist/, which run.sh builds with tsc first.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { provenance, withProvenance } from "../dist/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const PYCLIENT = path.resolve(here, "..", "..", "python");
const SHA_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const SHA_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

let dir, repo, strategy, config, plain;

function git(...args) {
  return execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.org", ...args], { encoding: "utf8" }).trim();
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tt-js-prov-"));
  repo = path.join(dir, "repo");
  fs.mkdirSync(path.join(repo, "strategies"), { recursive: true });
  strategy = path.join(repo, "strategies", "RsiCross.py");
  config = path.join(repo, "config.json");
  fs.writeFileSync(strategy, "abc");
  fs.writeFileSync(config, "");
  git("init", "-q");
  git("add", ".");
  git("commit", "-q", "-m", "strategy");
  plain = path.join(dir, "plain"); // not a checkout (and not inside one: dir is in tmp)
  fs.mkdirSync(plain);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

test("the commit, a clean or dirty work tree, and the files' names and SHA-256", async () => {
  const p = await provenance({ strategyFile: strategy, configFile: config, repo });
  assert.deepEqual(p, { git_sha: git("rev-parse", "HEAD"), git_dirty: false, strategy_file: "RsiCross.py", strategy_sha256: SHA_ABC, config_file: "config.json", config_sha256: SHA_EMPTY });
  assert.deepEqual(Object.keys(p), ["git_sha", "git_dirty", "strategy_file", "strategy_sha256", "config_file", "config_sha256"]);
  fs.writeFileSync(path.join(repo, "notes.txt"), "untracked");
  try {
    assert.equal((await provenance({ repo })).git_dirty, true);
  } finally {
    fs.rmSync(path.join(repo, "notes.txt"));
  }
  // only what was asked for
  assert.deepEqual(Object.keys(await provenance({ repo })), ["git_sha", "git_dirty"]);
});

test("git failing leaves its fields out; a file that cannot be read rejects", async () => {
  assert.deepEqual(await provenance({ repo: plain, configFile: config }), { config_file: "config.json", config_sha256: SHA_EMPTY });
  assert.deepEqual(await provenance({ repo: path.join(dir, "nowhere") }), {});
  const saved = process.env.PATH;
  process.env.PATH = plain; // no git there
  try {
    assert.deepEqual(await provenance({ repo, strategyFile: strategy }), { strategy_file: "RsiCross.py", strategy_sha256: SHA_ABC });
  } finally {
    process.env.PATH = saved;
  }
  await assert.rejects(provenance({ repo, strategyFile: path.join(dir, "missing.py") }), { code: "ENOENT" });
  await assert.rejects(provenance({ repo, configFile: plain }), { code: "EISDIR" });
});

test("the same object as the Python client's provenance() for the same inputs", async () => {
  for (const [r, s, c] of [[repo, strategy, config], [plain, null, config], [repo, null, null]]) {
    const py = execFileSync(
      "python3",
      ["-c", "import json, sys; from tradetrail_client import provenance; a = json.loads(sys.argv[1]); print(json.dumps(provenance(strategy_file=a['s'], config_file=a['c'], repo=a['r'])))", JSON.stringify({ r, s, c })],
      { encoding: "utf8", env: { ...process.env, PYTHONPATH: PYCLIENT, PYTHONDONTWRITEBYTECODE: "1" } },
    );
    assert.deepEqual(await provenance({ repo: r, strategyFile: s, configFile: c }), JSON.parse(py), `repo ${r}`);
  }
});

test("withProvenance puts it under metadata.provenance, keeping the rest and the input", () => {
  const prov = { git_sha: "a".repeat(40), git_dirty: false };
  const ev = { entity: "bot", entity_id: "ft-main", event_type: "STARTED", actor: "ft-main", metadata: { k: 1 } };
  const out = withProvenance(ev, prov);
  assert.deepEqual(out, { ...ev, metadata: { k: 1, provenance: prov } });
  assert.deepEqual(ev.metadata, { k: 1 });
  const bare = { entity: "bot", entity_id: "b", event_type: "STARTED", actor: "b" };
  assert.deepEqual(withProvenance(bare, prov).metadata, { provenance: prov });
  assert.deepEqual(withProvenance({ ...bare, metadata: null }, {}).metadata, { provenance: {} });
});
