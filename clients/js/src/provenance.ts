// SPDX-License-Identifier: Apache-2.0
// Run provenance (issue 18; docs/INTEGRATIONS.md "Run provenance"): which code made a
// decision, recorded under an event's metadata.provenance. The same fields and the same
// failures as the Python client's provenance() and with_provenance(): the git commit of a
// repository (left out when git is missing, too slow, or the folder is not a checkout) and
// the SHA-256 of the strategy and configuration files (a file that cannot be read throws).
// Node only: node:child_process runs git, node:crypto and node:fs hash the files.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import type { EventInput } from "./client.js";

/** metadata.provenance (docs/INTEGRATIONS.md): any member may be missing. */
export interface Provenance {
  /** The commit of the repository (git rev-parse HEAD). */
  git_sha?: string;
  /** Whether its work tree has changes (git status --porcelain prints anything). */
  git_dirty?: boolean;
  /** The strategy file's name (without its folder) and the SHA-256 of its bytes, lowercase hex. */
  strategy_file?: string;
  strategy_sha256?: string;
  config_file?: string;
  config_sha256?: string;
}

export interface ProvenanceOptions {
  strategyFile?: string;
  configFile?: string;
  /** The repository whose commit is recorded (default: the current directory). */
  repo?: string;
}

const GIT_TIMEOUT_MS = 10000;

// git's exit status and output, or null when it could not be run or took too long (the
// Python client's OSError and SubprocessError, which it ignores).
function git(repo: string, args: string[]): Promise<{ status: number; stdout: string } | null> {
  return new Promise((resolve) => {
    execFile("git", ["-C", repo, ...args], { timeout: GIT_TIMEOUT_MS, maxBuffer: 1 << 26, encoding: "utf8" }, (err, stdout) => {
      if (!err) return resolve({ status: 0, stdout });
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
      // A number is git's own exit status; anything else (ENOENT, a timeout's kill, output
      // over maxBuffer) means git did not run to its end.
      resolve(typeof e.code === "number" && !e.killed ? { status: e.code, stdout } : null);
    });
  });
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => h.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

/**
 * The run's provenance for metadata.provenance: git_sha (and git_dirty) of repo when git
 * runs there, and the name and SHA-256 of each file given. Rejects when a file given cannot
 * be read; git failing only leaves its fields out.
 */
export async function provenance(o: ProvenanceOptions = {}): Promise<Provenance> {
  const out: Provenance = {};
  const repo = o.repo ?? ".";
  const sha = await git(repo, ["rev-parse", "HEAD"]);
  if (sha !== null && sha.status === 0) {
    out.git_sha = sha.stdout.trim();
    const st = await git(repo, ["status", "--porcelain"]);
    if (st !== null) out.git_dirty = st.status === 0 && st.stdout.trim() !== "";
  }
  if (o.strategyFile != null) {
    out.strategy_file = basename(o.strategyFile);
    out.strategy_sha256 = await sha256File(o.strategyFile);
  }
  if (o.configFile != null) {
    out.config_file = basename(o.configFile);
    out.config_sha256 = await sha256File(o.configFile);
  }
  return out;
}

/** A copy of the event whose metadata holds prov under "provenance" (the rest kept). */
export function withProvenance<T extends EventInput>(event: T, prov: Provenance): T {
  return { ...event, metadata: { ...(event.metadata ?? {}), provenance: prov } };
}
