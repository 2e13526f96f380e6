# SPDX-License-Identifier: Apache-2.0
"""The orchestration of bench/run.sh (SPEC 13): run every figure of bench_ledger several
times in interleaved rounds, take the median with min and max, describe the machine, and
write bench/RESULTS.md with the ratios and the SPEC 13 goal table.

Usage: python3 bench/run.py BUILD_DIR (normally through bench/run.sh). Standard library only.

Environment (defaults in brackets; BENCH_SMOKE=1 switches to the smoke defaults after /):
  BENCH_SMOKE=1        seconds-long run, tiny sizes, hooks in the first round only, no goal
                       checks, report in a temporary file that is printed and removed (the
                       ctest bench/smoke)
  BENCH_EVENTS         events per append / raw-SQLite run          [1000000 / 2000]
  BENCH_BATCH          events per transaction                      [10000 / 500]
  BENCH_RUNS           rounds; every figure is measured once a round [3 / 3]
  BENCH_PROOFS         proofs and queries per proof run             [300 / 20]
  BENCH_SECONDS        duration of the SHA-256 and fsync bounds      [2 / 0.2]
  BENCH_SCALE=10m      add the figures SPEC 13 states at 10 million events: build one
                       ledger of BENCH_PROOF_EVENTS events (default 10000000; about 10 minutes
                       more, ~4 GB of memory and ~4 GB of disk) and run the proof /
                       history / search latencies and the server hook on it; its store size
                       is reported as the big_* figures
  BENCH_PROOF_EVENTS   when larger than BENCH_EVENTS, build that large ledger (with or
                       without BENCH_SCALE; a small value tries the 10M path quickly)
  BENCH_WORKDIR        where ledgers and databases are written        [a new dir in $TMPDIR]
  BENCH_OUT            the report                     [bench/RESULTS.md / a temporary file]
  BENCH_KEEP=1         keep the work directory
  BENCH_BUSY_LIMIT     cores other processes may use during a measurement
                       before it is repeated                            [0.5]
  BENCH_RETRIES        repetitions of a measurement taken on a busy machine [1 / 0]
  BENCH_HOOKS=0        do not run bench/measure.d
  Hooks' own knobs: BENCH_HTTP_SECONDS (wrk duration) [10 / 1], BENCH_PG_SECONDS (each
  seed-design run) [10 / 0.5], PG_BINDIR, BENCH_PG_USER (see pg.sh), BENCH_SERVER_SECONDS
  (the server's load before the kill) [10 / 1].

Hooks (bench/measure.d): every executable bench/measure.d/*.sh runs once a round, in name
order, as `HOOK BUILD_DIR WORKDIR` in a session of its own, with BENCH_SMOKE, BENCH_SECONDS
and BENCH_LEDGER (a ledger it may use and modify: the large one when there is one, else the
round's ledger of BENCH_EVENTS events) in its environment. It prints
`figure <name> <value> <unit>` lines, and `info <key> <text>` lines for the machine section
(versions). Exit status 77 means "skipped" and its last stderr line says why. A failing
hook is reported and makes the run exit non-zero once the report is written; its figures
from that round are missing. A hook still running after 900 s gets SIGTERM (its traps stop
what it started), then SIGKILL.
  dashboard.sh  headless Chromium on tradetrail serve on BENCH_LEDGER (SPEC 11, not a SPEC 13
             row): dashboard_first_view_ms and its _cold / _max / _dcl / _api parts,
             dashboard_ledger_events; skipped without node, Chromium or playwright-core
  http.sh    wrk against bench/http_bound and `tradetrail serve`: http_bound, http_append
             (2xx answers/s), http_append_p99 (ms), http_append_cpu_us (server CPU per
             append), http_append_wrk_cpu_us (wrk's CPU per append), http_ndjson
             (acknowledged events/s); a run with a refused request or whose ledger does not
             hold every acknowledged event fails instead
  pg.sh      a PostgreSQL cluster of its own (initdb in WORKDIR, 127.0.0.1, a free port, run
             as postgres or nobody when root) and bench/pg_seed (C, libpq): pg_seed_1,
             pg_seed_16 (events/s) and their _p50 / _p99 (ms); the library's batched append
             on that cluster (bench_ledger append ... postgres://...): pg_append (events/s),
             pg_append_batch_p50 / _p99 (ms); then two `tradetrail serve
             --db postgres://...` on one database of that cluster under wrk:
             pg_http_append (2xx answers/s), pg_http_append_p99, pg_http_append_cpu_us
             (the servers' CPU per append), pg_http_append_pg_cpu_us (PostgreSQL's);
             skipped, saying why, when pg_seed was not built (no libpq) or the server is
             not installed
  server.sh  bench/server_bench.py on BENCH_LEDGER: server_rss_mib, server_hwm_mib,
             server_rss_anon_mib (MiB), server_ledger_events, restart_healthz_s, restart_s (s)
goal_rows() knows these names; a goal whose figures are missing is reported NOT MEASURED
YET, and the 10M goals stay NOT MEASURED YET (10M), showing the smaller size's figures, until
the figures come from a ledger of 10 million events.
"""

import datetime
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SMOKE = os.environ.get("BENCH_SMOKE") == "1"


def env_num(name, default, kind=int):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        sys.exit(f"bench: {name}={raw!r} is not a number")
    if value <= 0:
        sys.exit(f"bench: {name} must be positive")
    return value


N_EVENTS = env_num("BENCH_EVENTS", 2000 if SMOKE else 1_000_000)
BATCH = env_num("BENCH_BATCH", 500 if SMOKE else 10_000)
RUNS = env_num("BENCH_RUNS", 3)
PROOFS = env_num("BENCH_PROOFS", 20 if SMOKE else 300)
SECONDS = env_num("BENCH_SECONDS", 0.2 if SMOKE else 2.0, float)
BIG = 10_000_000  # SPEC 13 states several goals "at 10 million events"

SCALE = os.environ.get("BENCH_SCALE") or ""
if SCALE not in ("", "10m"):
    sys.exit(f"bench: BENCH_SCALE={SCALE!r}: the only scale is 10m")
# BENCH_SCALE=10m is BENCH_PROOF_EVENTS=10000000; BENCH_PROOF_EVENTS still sets the size
# (a small one tries the 10M path quickly).
PROOF_EVENTS = int(os.environ.get("BENCH_PROOF_EVENTS") or (BIG if SCALE else 0))
KEEP = os.environ.get("BENCH_KEEP") == "1"
HOOK_TIMEOUT = 900  # seconds; a hook bounds its own runs well below this

# What each figure of bench_ledger means, in the order of the report.
FIGURES = [
    ("append", "durable batched append through the library (tt_ledger_append, BATCH per call)"),
    ("append_batch_p50", "latency of one batch append call (commit included), median"),
    ("append_batch_p99", "latency of one batch append call, p99"),
    ("raw_sqlite", "raw SQLite baseline: same events, seed table, WAL, synchronous=FULL"),
    ("verify", "tt_ledger_verify over the whole ledger, events per second"),
    ("verify_hashes", "SHA-256 computations per second inside verify (2n-1 for n events)"),
    ("sha256", "SHA-256 bound: OpenSSL EVP, 256-byte inputs"),
    ("sha256_65b", "SHA-256 of 65-byte inputs (the size of an interior tree node)"),
    ("verify_s", "time of tt_ledger_verify over the whole ledger"),
    ("verify_leaf_input_bytes", "mean input of a leaf hash: 0x00 and the canonical leaf bytes"),
    ("sha256_leaf", "SHA-256 of this ledger's leaf inputs (a sample, from memory), measured "
                    "right after verify"),
    ("sha256_node", "SHA-256 of 65-byte interior-node inputs, measured right after verify"),
    ("verify_hash_s", "time verify's n leaf and n - 1 node hashes take at the two rates above"),
    ("verify_bound_share", "verify_hash_s / verify_s: verify against the SHA-256 bound for "
                           "the hashes it must compute"),
    ("fsync", "fsync bound: 4 KiB append + fdatasync"),
    ("fsync_p50", "fsync bound latency, median"),
    ("fsync_p99", "fsync bound latency, p99"),
    ("fsync_max", "fsync bound latency, worst"),
    ("proof_p50", "inclusion proof of a random seq in the current tree, median"),
    ("proof_p99", "inclusion proof, p99"),
    ("proof_max", "inclusion proof, worst"),
    ("history_p50", "last 100 events of one entity_id (entity_id filter only), median"),
    ("history_p99", "last 100 events of one entity_id, p99"),
    ("history_max", "last 100 events of one entity_id, worst"),
    ("history_rows", "rows returned per history query"),
    ("history_entity_p50", "last 100 events of one entity_id with entity=... as well, median"),
    ("history_entity_p99", "the same with entity=..., p99"),
    ("history_entity_max", "the same with entity=..., worst"),
    ("history_entity_rows", "rows returned per history query with entity"),
    ("search_p50", "full-text search of one word in reasons, newest 100, median"),
    ("search_p99", "full-text search, p99"),
    ("search_max", "full-text search, worst"),
    ("search_rows", "rows returned per search"),
    ("proof_tree_size", "events in the ledger the proof / query latencies ran on"),
    ("proof_cached_before", "share of that ledger's store in the OS page cache before the "
                            "latency run read it once"),
    ("store_bytes_per_event", "ledger.db size per event (indexes, FTS and tree included)"),
    ("json_bytes_per_event", "JSON per event as GET /api/events/{seq} serves it"),
    ("store_json_ratio", "store size / the events' JSON bytes"),
    ("leaf_bytes_per_event", "canonical leaf bytes per event (the input of its leaf hash)"),
    ("raw_sqlite_bytes_per_event", "raw SQLite database size per row"),
]
REQUIRED = [name for name, _ in FIGURES]
# Figures printed by the hooks of bench/measure.d (not required: a hook may be skipped).
HOOK_FIGURES = [
    ("http_bound", "HTTP bound: libmicrohttpd \"ok\" handler, wrk -t2 -c64, keep-alive "
                   "(a run with any non-2xx answer or socket error fails)"),
    ("http_append", "single-event POST /api/events, 64 keep-alive connections, each "
                    "acknowledged after fsync: 2xx answers per second"),
    ("http_append_p99", "latency of one single-event HTTP append, p99"),
    ("http_append_cpu_us", "server CPU time (user + system, from /proc/PID/stat) over the run "
                           "÷ appends answered 2xx"),
    ("http_append_wrk_cpu_us", "the load generator's CPU time (wrk and its Lua script) per "
                               "append answered 2xx, on the same cores"),
    ("http_ndjson", "NDJSON batches over HTTP: events the 2xx answers acknowledged, per "
                    "second"),
    ("pg_seed_1", "the seed design on PostgreSQL, 1 client: one INSERT per event, each its "
                  "own durable commit"),
    ("pg_seed_1_p50", "the seed design, 1 client: latency of one INSERT and its commit, median"),
    ("pg_seed_1_p99", "the seed design, 1 client: latency of one INSERT, p99"),
    ("pg_seed_16", "the seed design on PostgreSQL, 16 concurrent clients"),
    ("pg_seed_16_p50", "the seed design, 16 clients: latency of one INSERT, median"),
    ("pg_seed_16_p99", "the seed design, 16 clients: latency of one INSERT, p99"),
    ("pg_append", "durable batched append through the library on the seed design's "
                  "PostgreSQL cluster (tt_ledger_append, 10,000 events per call, --db "
                  "postgres://...)"),
    ("pg_append_batch_p50", "the same, latency of one batch append call (commit included), "
                            "median"),
    ("pg_append_batch_p99", "the same, latency of one batch append call, p99"),
    ("pg_http_append", "single-event POST /api/events to two tradetrail serve --db "
                       "postgres://... on one database (the seed design's cluster), 32 "
                       "keep-alive connections each: 2xx answers per second, both together"),
    ("pg_http_append_p99", "the same, latency of one append, p99 (the worse server's)"),
    ("pg_http_append_cpu_us", "the same, both servers' CPU time ÷ appends answered 2xx "
                              "(PostgreSQL's own CPU not included)"),
    ("pg_http_append_pg_cpu_us", "the same, PostgreSQL's CPU time (the postmaster and all "
                                 "its processes) ÷ appends answered 2xx"),
    ("server_rss_mib", "tradetrail serve resident memory (VmRSS) at the end of the load"),
    ("server_hwm_mib", "tradetrail serve peak resident memory (VmHWM) since its start"),
    ("server_rss_anon_mib", "tradetrail serve anonymous resident memory (RssAnon: heap, "
                            "stacks; the rest is mapped files)"),
    ("server_load_rps", "requests per second of the memory load (8 Python clients)"),
    ("server_ledger_events", "events in the ledger tradetrail serve ran on for memory and "
                             "restart"),
    ("restart_healthz_s", "restart after kill -9: from exec to the first 200 of GET /healthz"),
    ("restart_s", "restart after kill -9: from exec to the first authenticated read"),
    ("dashboard_first_view_ms", "dashboard first view (SPEC 11): navigation to the paint of "
                                "the first timeline rows (the page's first-view mark) in headless "
                                "Chromium, page files cached, median of the warm loads"),
    ("dashboard_first_view_max_ms", "the same, worst warm load"),
    ("dashboard_first_view_cold_ms", "the same, first load with an empty cache"),
    ("dashboard_first_view_dcl_ms", "the same, DOMContentLoaded of a warm load, median"),
    ("dashboard_first_view_api_ms", "the same, the first GET /api/events page, median"),
    ("dashboard_first_view_seen_ms", "the same, until the harness saw the row (its polling and "
                                     "round trips included), median"),
    ("dashboard_ledger_events", "events in the ledger the dashboard was timed on"),
    ("big_append", "durable batched append while building the large ledger"),
    ("big_append_batch_p50", "the same, latency of one batch append call, median"),
    ("big_append_batch_p99", "the same, latency of one batch append call, p99"),
    ("big_store_bytes_per_event", "ledger.db size per event of the large ledger"),
    ("big_json_bytes_per_event", "JSON per event of the large ledger"),
    ("big_store_json_ratio", "store size / the events' JSON bytes, large ledger"),
    ("big_leaf_bytes_per_event", "canonical leaf bytes per event, large ledger"),
]


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


HZ = os.sysconf("SC_CLK_TCK")
BUSY_LIMIT = env_num("BENCH_BUSY_LIMIT", 0.5, float)
RETRIES = int(os.environ.get("BENCH_RETRIES") or (0 if SMOKE else 1))
INTERFERENCE = []  # (label, cores used by everything else while it ran)


def cpu_busy_s():
    """CPU seconds the machine's processes have used (user, nice, system) since boot.
    Interrupt and steal time are left out: in a VM a process's own disk flushes show up
    there, so they would count the fsync bound's own work as interference."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (v[0] + v[1] + v[2]) / HZ


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_figures(argv, label, timeout, fresh=None):
    """Run one measurement and return its figures as {name: (value, unit)}. While it runs,
    the CPU time the rest of the machine uses is measured; above BENCH_BUSY_LIMIT cores the
    measurement is repeated (BENCH_RETRIES times) and the quietest attempt kept. fresh: a
    path to remove before each attempt."""
    best = None
    for attempt in range(RETRIES + 1):
        if fresh and os.path.isdir(fresh):
            shutil.rmtree(fresh)
        # The previous step's dirty pages are written back now, not during this one (the
        # suspected cause of 50-70 ms history outliers in rounds 2 and 3 of one 10M run,
        # which a quiet rerun of the same queries did not show).
        os.sync()
        t0, b0, c0 = time.monotonic(), cpu_busy_s(), children_cpu_s()
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            sys.exit(f"bench: {label} did not finish in {timeout:.0f} s")
        wall = max(time.monotonic() - t0, 1e-6)
        other = max(0.0, (cpu_busy_s() - b0 - (children_cpu_s() - c0)) / wall)
        if p.returncode != 0:
            sys.stderr.write(p.stderr)
            sys.exit(f"bench: {label} failed (exit {p.returncode})")
        out = {}
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] == "figure":
                out[parts[1]] = (float(parts[2]), parts[3])
        log(f"{label}: {wall:.1f} s, other processes {other:.2f} cores")
        if best is None or other < best[0]:
            best = (other, out)
        if other <= BUSY_LIMIT:
            break
        if attempt < RETRIES:
            log(f"{label}: the machine is busy, measuring again")
    INTERFERENCE.append((label, best[0]))
    return best[1]


class Figures:
    def __init__(self):
        self.values = {}  # name -> [values]
        self.units = {}

    def add(self, figs, prefix=""):
        for name, (value, unit) in figs.items():
            self.values.setdefault(prefix + name, []).append(value)
            self.units[prefix + name] = unit

    def median(self, name):
        v = self.values.get(name)
        return statistics.median(v) if v else None

    def has(self, *names):
        return all(n in self.values for n in names)


HOOK_FAILURES = []  # (hook, what went wrong): reported, and the run exits non-zero
HOOK_INFO = {}  # key -> value of the hooks' `info` lines, for the machine section


def run_hook(argv, env, timeout):
    """Run a hook in a session of its own; on timeout SIGTERM the whole group (so that its
    traps stop the servers it started), then SIGKILL. Returns (status, stdout, stderr) or
    None on timeout."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 30)):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass  # the group is gone; reap the hook below
            try:
                p.communicate(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        return None


def run_hooks(build, work, figs, skipped, tag, ledger):
    """Run every executable bench/measure.d/*.sh once; ledger: the ledger the server hook
    runs on (BENCH_LEDGER)."""
    hook_dir = os.path.join(HERE, "measure.d")
    if not os.path.isdir(hook_dir) or os.environ.get("BENCH_HOOKS") == "0":
        return
    for name in sorted(os.listdir(hook_dir)):
        path = os.path.join(hook_dir, name)
        if not (name.endswith(".sh") and os.access(path, os.X_OK)):
            continue
        env = dict(os.environ, BENCH_SMOKE="1" if SMOKE else "0", BENCH_SECONDS=str(SECONDS),
                   BENCH_LEDGER=ledger)
        t0 = time.monotonic()
        got = run_hook([path, build, work], env, HOOK_TIMEOUT)
        if got is None:
            HOOK_FAILURES.append((name, f"{tag}: did not finish in {HOOK_TIMEOUT} s"))
            continue
        returncode, stdout, stderr = got
        lines = stderr.strip().splitlines()
        if returncode == 77:
            skipped[name] = lines[-1] if lines else "skipped"
            continue
        if returncode != 0:
            # A hook's failure costs its own figures, not the whole run's.
            sys.stderr.write(stderr)
            HOOK_FAILURES.append((name, f"{tag}: exit {returncode}: "
                                        f"{lines[-1] if lines else 'no message'}"))
            continue
        got = {}
        for line in stdout.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "info":
                HOOK_INFO[parts[1]] = line.split(None, 2)[2]
            elif parts and parts[0] == "figure":
                try:
                    if len(parts) != 4:
                        raise ValueError
                    got[parts[1]] = (float(parts[2]), parts[3])
                except ValueError:
                    HOOK_FAILURES.append((name, f"{tag}: malformed line {line!r}"))
        figs.add(got)
        log(f"{tag}: hook {name}: {time.monotonic() - t0:.1f} s")


def measure(build, work):
    exe = os.path.join(build, "bench_ledger")
    figs = Figures()
    skipped = {}
    # Generous limits: only a hung run should hit them.
    slow = 120 + N_EVENTS / 2000
    big_ledger = None
    if PROOF_EVENTS > N_EVENTS:
        big_ledger = os.path.join(work, "ledger-big")
        log(f"building a ledger of {PROOF_EVENTS} events for the latency figures")
        figs.add(run_figures([exe, "append", str(PROOF_EVENTS), str(BATCH), big_ledger],
                             f"append {PROOF_EVENTS}", 600 + PROOF_EVENTS / 1000,
                             fresh=big_ledger), "big_")
    for r in range(1, RUNS + 1):
        tag = f"round {r}/{RUNS}"
        ledger = os.path.join(work, f"ledger-{r}")
        raw = os.path.join(work, f"raw-{r}.db")
        figs.add(run_figures([exe, "append", str(N_EVENTS), str(BATCH), ledger],
                             f"{tag}: append {N_EVENTS} x {BATCH}", slow, fresh=ledger))
        figs.add(run_figures([exe, "raw-sqlite", str(N_EVENTS), str(BATCH), raw],
                             f"{tag}: raw-sqlite {N_EVENTS} x {BATCH}", slow))
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(raw + suffix):
                os.unlink(raw + suffix)
        figs.add(run_figures([exe, "verify", ledger, str(SECONDS)], f"{tag}: verify",
                             slow + 3 * SECONDS))
        figs.add(run_figures([exe, "proof", big_ledger or ledger, str(PROOFS)],
                             f"{tag}: proof {PROOFS}", slow + PROOFS + (PROOF_EVENTS / 20000)))
        figs.add(run_figures([exe, "sha256", str(SECONDS)], f"{tag}: sha256", 60 + 3 * SECONDS))
        figs.add(run_figures([exe, "fsync", work, str(SECONDS)], f"{tag}: fsync",
                             60 + 3 * SECONDS))
        # The server hook runs on the large ledger when there is one, else on this round's.
        # A smoke run checks that the hooks work, once: they take seconds each.
        if r == 1 or not SMOKE:
            run_hooks(build, work, figs, skipped, tag, big_ledger or ledger)
        shutil.rmtree(ledger)
    missing = [n for n in REQUIRED if n not in figs.values]
    if missing:
        sys.exit(f"bench: bench_ledger did not print: {' '.join(missing)}")
    return figs, skipped


# ---------------------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------------------


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def cmd(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return p.stdout.strip() if p.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def interference_summary():
    if not INTERFERENCE:
        return "—"
    v = [o for _, o in INTERFERENCE]
    label, worst = max(INTERFERENCE, key=lambda x: x[1])
    retry = (f"a measurement above {BUSY_LIMIT:g} cores is repeated up to {RETRIES} "
             f"time(s) and the quietest attempt kept" if RETRIES else "no repetition")
    return f"median {statistics.median(v):.2f} cores, max {worst:.2f} ({label}); {retry}"


def machine(build, work, load_start):
    cpuinfo = read("/proc/cpuinfo")
    model, flags = "unknown", set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == "unknown":
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    features = [f for f in ("sha_ni", "avx2", "aes") if f in flags]
    mem_kib = 0
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    df = cmd(["df", "-hT", work]).splitlines()
    disk = "unknown"
    source = ""
    if len(df) >= 2:
        f = df[1].split()
        source = f[0]
        disk = f"{f[0]} ({f[1]}, {f[2]}, mounted on {f[6]})"
        for line in read("/proc/mounts").splitlines():
            m = line.split()
            if len(m) >= 4 and m[1] == f[6]:
                disk += f", options {m[3]}"
    block = ""
    if source.startswith("/dev/"):
        block = cmd(["lsblk", "-ndo", "NAME,SIZE,ROTA,TYPE,MODEL", source])
    virt = cmd(["systemd-detect-virt"]) or "unknown"
    info = {}
    for line in cmd([os.path.join(build, "bench_ledger"), "info"]).splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0] == "info":
            info[parts[1]] = parts[2]
    cache = read(os.path.join(build, "CMakeCache.txt"))
    build_type = ""
    for line in cache.splitlines():
        if line.startswith("CMAKE_BUILD_TYPE:"):
            build_type = line.split("=", 1)[1]
    commit = cmd(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]) or "unknown"
    if cmd(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"]):
        commit += " (with uncommitted changes)"
    rows = [
        ("CPU", model + (f" ({', '.join(features)})" if features else "")),
        ("cores", f"{cores} usable ({os.cpu_count()} online)"),
        ("memory", f"{mem_kib / 1048576:.1f} GiB"),
        ("virtualisation", virt),
        ("load average (1 min) at start / end of the run",
         f"{load_start:.2f} / {os.getloadavg()[0]:.2f}"),
        ("CPU used by other processes during the measurements",
         interference_summary()),
        ("work directory disk", disk),
    ]
    if block:
        rows.append(("block device (name size rotational type model)", block))
    rows += [
        ("kernel", " ".join(platform.uname()[0:3:2]) + " " + platform.machine()),
        ("SQLite (linked)", info.get("sqlite", "unknown")),
        ("OpenSSL (linked)", info.get("openssl", "unknown")),
        ("compiler", f"GCC-compatible {info.get('compiler', 'unknown')}, "
                     f"CMAKE_BUILD_TYPE={build_type or 'unset'}"),
        ("tradetrail", f"{info.get('tradetrail', '?')}, commit {commit}"),
        ("Python (harness)", platform.python_version()),
    ]
    # Versions the hooks report (`info KEY VALUE` lines), e.g. the PostgreSQL server.
    labels = {"postgresql_server": "PostgreSQL server (the seed-design baseline)",
              "wrk": "wrk (HTTP load generator)", "libmicrohttpd": "libmicrohttpd"}
    for key, value in sorted(HOOK_INFO.items()):
        rows.append((labels.get(key, key.replace("_", " ")), value))
    return rows


# ---------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------


def fmt(value):
    if value is None:
        return "—"
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def pct(value):
    return "—" if value is None else f"{value:.0%}"


def times(value):
    return "—" if value is None else f"{value:.2f} ×"


def fmt_events(n):
    return f"{n / 1e6:g} million" if n >= 1_000_000 else f"{n:,}"


def ratio(figs, a, b):
    """The median of the per-round ratios a/b when both figures come from every round (the
    two sides of a pair then share whatever else the machine was doing), else the ratio of
    the medians."""
    va, vb = figs.values.get(a), figs.values.get(b)
    if not va or not vb:
        return None
    if len(va) == len(vb) and all(vb):
        return statistics.median(x / y for x, y in zip(va, vb))
    y = statistics.median(vb)
    return statistics.median(va) / y if y else None


def ratio_range(figs, a, b):
    va, vb = figs.values.get(a), figs.values.get(b)
    if not va or not vb or len(va) != len(vb) or not all(vb):
        return ""
    r = [x / y for x, y in zip(va, vb)]
    return f" (rounds: {', '.join(f'{x:.2f}' for x in r)})"


def why_missed(w, figs):
    """What stands between each missed goal and its target, from the figures of this run
    and what profiling showed (the text names no figure it does not compute)."""
    notes = []
    cpu = figs.median("http_append_cpu_us")
    a = ratio(figs, "http_append", "http_bound")
    p99 = figs.median("http_append_p99")
    if (a is not None and a < 0.5) or (cpu is not None and cpu > 30) or (p99 or 0) > 10:
        text = (f"- **HTTP appends** reach {pct(a)} of the bound. The bound's handler parses "
                "nothing, checks no token and stores nothing; an append is parsed (JSON), "
                "authorised, validated, queued for its group commit, written to the WAL with "
                "its index, full-text and tree pages, fsynced, and answered.")
        if cpu:
            wrk = figs.median("http_append_wrk_cpu_us") or 0
            text += (f" The server spent {fmt(cpu)} µs of CPU per append in this run (the "
                     f"goal is 30) and wrk {fmt(wrk)} µs per request, so the two cores they "
                     f"share allow at most {fmt(2e6 / (cpu + wrk))} appends/s even with a "
                     "free disk; half the bound needs "
                     f"{fmt(figs.median('http_bound') / 2)}/s. Where that CPU goes, what was "
                     "changed and what is left: docs/PERFORMANCE.md (bench/profile/"
                     "http_append.sh reproduces its profile).")
        notes.append(text)
    # (figure, baseline or None when the figure is itself the ratio, goal, explanation): a
    # ratio under its goal gets its explanation.
    ratio_notes = [
        ("verify_bound_share", None, 0.5,
         lambda r: f"- **verify** hashes at {r:.0%} of the bound. Besides the hashes it "
                   "reads every event back through SQLite and writes each leaf's canonical "
                   "bytes (one thread, while a second hashes), compares the stored tiles "
                   "and replays every producer's states; beside that walk, on a third "
                   "thread and a second connection, it checks the full-text index against "
                   "the reasons (every reason cut into words again, and about ten index "
                   "entries per event read through fts5vocab), which takes longer than the "
                   "walk. docs/PERFORMANCE.md, \"Verify\", has the split and what is left."),
        ("http_ndjson", "append", 0.7,
         lambda r: f"- **NDJSON over HTTP** reaches {r:.0%} of the library's rate: each line "
                   "is parsed as JSON and its metadata normalised on the server's threads "
                   "while the committer writes the previous batches, and the load generator "
                   "builds its 1,000-event bodies on the same two cores."),
        ("pg_http_append", "pg_seed_16", 3,
         lambda r: f"- **Two servers on PostgreSQL** reach {r:.2f} × the seed design at 16 "
                   "clients: the two servers, PostgreSQL and two wrk processes share two "
                   "cores; per append the servers spent "
                   f"{fmt(figs.median('pg_http_append_cpu_us'))} µs of CPU and PostgreSQL "
                   f"{fmt(figs.median('pg_http_append_pg_cpu_us'))} µs. Where that goes: "
                   "docs/PERFORMANCE.md, \"Two servers on PostgreSQL\"."),
        ("append", "raw_sqlite", 1.5,
         lambda r: f"- **Batched append** is {r:.2f} × raw SQLite: the per-subject history "
                   "index (about one dirty page per subject per transaction) and the "
                   "full-text index are the costs the baseline's text indexes share only in "
                   "part; run-to-run noise on this disk is large (see the rounds)."),
    ]
    for figure, baseline, goal, explain in ratio_notes:
        r = figs.median(figure) if baseline is None else ratio(figs, figure, baseline)
        if r is not None and r < goal:
            notes.append(explain(r))
    if notes:
        w("## Why the missed goals are missed\n")
        for n in notes:
            w(n)
        w("")


def goal_rows(figs):
    """(figure, goal, measured, status) for every row of the SPEC 13 goal table."""
    rows = []
    tree = figs.median("proof_tree_size") or 0
    at_big = tree >= BIG

    def status(ok):
        return "**MET**" if ok else "**MISSED**"

    r = ratio(figs, "append", "raw_sqlite")
    rows.append(("durable batched append through the library, with leaf hashes, tree nodes "
                 "and every index the queries need", "≥ 1.5 × raw SQLite",
                 f"{fmt(figs.median('append'))} events/s vs {fmt(figs.median('raw_sqlite'))} "
                 f"rows/s: {r:.2f} ×{ratio_range(figs, 'append', 'raw_sqlite')}",
                 status(r >= 1.5)))

    # Three conditions; each is judged as soon as its figures exist.
    parts, oks, missing = [], [], []
    a = ratio(figs, "http_append", "http_bound")
    if a is not None:
        parts.append(f"{fmt(figs.median('http_append'))} req/s = {a:.0%} of the bound "
                     f"({fmt(figs.median('http_bound'))} req/s)")
        oks.append(a >= 0.5)
    else:
        missing.append("HTTP appends and bound")
    cpu = figs.median("http_append_cpu_us")
    if cpu is not None:
        parts.append(f"server CPU {fmt(cpu)} µs per append")
        oks.append(cpu <= 30)
    else:
        missing.append("server CPU per append")
    p99 = figs.median("http_append_p99")
    if p99 is not None:
        parts.append(f"p99 {fmt(p99)} ms")
        oks.append(p99 <= 10)
    else:
        missing.append("p99")
    if not all(oks):
        verdict = "**MISSED**"
    elif missing:
        verdict = "NOT MEASURED YET (" + ", ".join(missing) + ")"
    else:
        verdict = "**MET**"
    b = ratio(figs, "http_append", "pg_seed_16")
    if b is not None:  # SPEC 13 names it as a reading of the goal, not as a condition
        parts.append(f"({b:.1f} × the seed design at 16 clients, "
                     f"{fmt(figs.median('pg_seed_16'))} events/s)")
    rows.append(("single-event appends over HTTP, 64 keep-alive connections, each "
                 "acknowledged after fsync",
                 "≥ 50 % of the HTTP bound; server CPU per append ≤ 30 µs; p99 ≤ 10 ms",
                 "; ".join(parts) or "needs the HTTP harness", verdict))

    title = "the same with `--db postgres://…`, two servers on one database"
    goal = "≥ 3 × the seed design at 16 clients on the same PostgreSQL"
    r = ratio(figs, "pg_http_append", "pg_seed_16")
    if r is not None:
        rows.append((title, goal, f"{fmt(figs.median('pg_http_append'))} req/s vs "
                     f"{fmt(figs.median('pg_seed_16'))} events/s: {r:.2f} ×"
                     f"{ratio_range(figs, 'pg_http_append', 'pg_seed_16')}; p99 "
                     f"{fmt(figs.median('pg_http_append_p99'))} ms, servers' CPU "
                     f"{fmt(figs.median('pg_http_append_cpu_us'))} µs and PostgreSQL's "
                     f"{fmt(figs.median('pg_http_append_pg_cpu_us'))} µs per append",
                     status(r >= 3)))
    else:
        rows.append((title, goal, "needs the hook bench/measure.d/pg.sh with PostgreSQL, "
                     "libpq and wrk (the hook line below says why it did not run)",
                     "NOT MEASURED"))

    if figs.has("http_ndjson"):
        a = ratio(figs, "http_ndjson", "append")
        rows.append(("NDJSON batches over HTTP", "≥ 70 % of the library's batched rate",
                     f"{fmt(figs.median('http_ndjson'))} events/s = {a:.0%} of "
                     f"{fmt(figs.median('append'))}", status(a >= 0.7)))
    else:
        rows.append(("NDJSON batches over HTTP", "≥ 70 % of the library's batched rate",
                     "needs the HTTP harness", "NOT MEASURED YET"))

    r = figs.median("verify_bound_share")
    rows.append(("`verify`", "≥ 50 % of the SHA-256 bound for the hashes it must compute",
                 f"its hashes take {fmt(figs.median('verify_hash_s'))} s at the rates "
                 f"measured for their sizes (leaves {fmt(figs.median('sha256_leaf'))}/s, "
                 f"nodes {fmt(figs.median('sha256_node'))}/s); verify took "
                 f"{fmt(figs.median('verify_s'))} s: {r:.0%}", status(r >= 0.5)))

    def at10m(title, goal, figures, limit):
        measured = ", ".join(f"{name.replace('_', ' ')} {fmt(figs.median(name))} µs"
                             for name in figures)
        worst = max(figs.median(name) for name in figures)
        if at_big:
            rows.append((title, goal, f"{measured} at {fmt_events(int(tree))} events",
                         status(worst <= limit)))
        else:
            verdict = "within" if worst <= limit else "already over"
            rows.append((title, goal, f"{measured} at {fmt_events(int(tree))} events "
                         f"({verdict} the limit there)", "NOT MEASURED YET (10M)"))

    at10m("inclusion proof; one strategy's last 100 events", "p99 ≤ 1 ms at 10 million events",
          ["proof_p99", "history_p99", "history_entity_p99"], 1000)
    at10m("full-text search on reasons", "p99 ≤ 20 ms at 10 million events", ["search_p99"],
          20000)

    # Server memory and restart: judged on the ledger the server hook ran on.
    n_server = figs.median("server_ledger_events") or 0
    server_big = n_server >= BIG

    def server_row(title, goal, figure_names, measured, limit):
        if not figs.has(*figure_names):
            rows.append((title, goal, "needs the server hook (bench/measure.d/server.sh)",
                         "NOT MEASURED YET"))
            return
        ok = figs.median(figure_names[0]) <= limit
        where = f" at {fmt_events(int(n_server))} events"
        if server_big:
            rows.append((title, goal, measured + where, status(ok)))
        else:
            verdict = "within" if ok else "already over"
            rows.append((title, goal, f"{measured}{where} ({verdict} the limit there)",
                         "NOT MEASURED YET (10M)"))

    server_row("server resident memory", "≤ 64 MiB at 10 million events",
               ["server_rss_mib", "server_hwm_mib"],
               f"{fmt(figs.median('server_rss_mib'))} MiB at the end of the load (peak "
               f"{fmt(figs.median('server_hwm_mib'))} MiB)", 64)

    r = figs.median("store_json_ratio")
    measured = (f"{fmt(figs.median('store_bytes_per_event'))} B/event ÷ "
                f"{fmt(figs.median('json_bytes_per_event'))} B/event = {r:.2f} × "
                f"(at {fmt_events(N_EVENTS)} events)")
    big_r = figs.median("big_store_json_ratio")
    if big_r is not None:
        measured = (f"{fmt(figs.median('big_store_bytes_per_event'))} B/event ÷ "
                    f"{fmt(figs.median('big_json_bytes_per_event'))} B/event = {big_r:.2f} × "
                    f"at {fmt_events(PROOF_EVENTS)} events; {r:.2f} × at "
                    f"{fmt_events(N_EVENTS)}")
        r = max(r, big_r)
    rows.append(("store size", "≤ 1.5 × the events' JSON bytes, indexes and tree included",
                 measured, status(r <= 1.5)))

    server_row("restart after `kill -9` at 10 million events",
               "serving again in ≤ 1 s (no full replay)", ["restart_s"],
               f"{fmt(figs.median('restart_s'))} s to the first authenticated read "
               f"({fmt(figs.median('restart_healthz_s'))} s to /healthz)", 1)

    # SPEC 11 (issue 14): the dashboard's first view, judged on its worst load, warm or cold.
    title, goal = ("dashboard first view on loopback (SPEC 11)",
                   "≤ 1 s at 10 million events")
    if not figs.has("dashboard_first_view_ms", "dashboard_first_view_cold_ms"):
        rows.append((title, goal, "needs the dashboard hook (bench/measure.d/dashboard.sh)",
                     "NOT MEASURED YET"))
    else:
        n_dash = figs.median("dashboard_ledger_events") or 0
        worst = max(figs.median("dashboard_first_view_max_ms") or 0,
                    figs.median("dashboard_first_view_cold_ms"))
        measured = (f"{fmt(figs.median('dashboard_first_view_ms'))} ms warm (median), "
                    f"{fmt(figs.median('dashboard_first_view_cold_ms'))} ms cold, worst "
                    f"{fmt(worst)} ms at {fmt_events(int(n_dash))} events")
        if n_dash >= BIG:
            rows.append((title, goal, measured, status(worst <= 1000)))
        else:
            verdict = "within" if worst <= 1000 else "already over"
            rows.append((title, goal, f"{measured} ({verdict} the limit there)",
                         "NOT MEASURED YET (10M)"))
    return rows


def report(figs, skipped, mach, started, elapsed):
    out = []
    w = out.append
    title = "tradetrail benchmark results" + (" (SMOKE RUN: tiny sizes, not figures)" if SMOKE
                                              else "")
    w(f"# {title}\n")
    took = f"{elapsed / 60:.1f} minutes" if elapsed >= 120 else f"{elapsed:.0f} s"
    w(f"Written by `bench/run.sh` (`make bench`) on {started:%Y-%m-%d %H:%M UTC}; the run "
      f"took {took}. Do not edit by hand: rerun `make bench`. SPEC 13 defines the figures "
      "and goals; the harness is documented at the top of `bench/run.py`.\n")
    busy = [(label, o) for label, o in INTERFERENCE if o > BUSY_LIMIT]
    if busy:
        where = ("; ".join(f"{label} ({o:.2f})" for label, o in busy) if len(busy) <= 4 else
                 f"{len(busy)} of the {len(INTERFERENCE)} measurements (median "
                 f"{statistics.median(o for _, o in busy):.2f} cores)")
        w(f"**Warning: the machine was not idle.** Other processes used more than "
          f"{BUSY_LIMIT:g} cores during {where}. Figures from those measurements are noisy "
          "(usually low); rerun on a quiet machine for comparable figures.\n")
    w("## Machine\n")
    w("| | |\n| --- | --- |")
    for k, v in mach:
        w(f"| {k} | {v} |")
    w("")
    w("## Workload\n")
    w(f"- {fmt_events(N_EVENTS)} generated events per append and raw-SQLite run, "
      f"{BATCH:,} per transaction (one `tt_ledger_append` call per batch); "
      f"{RUNS} rounds, each measuring every figure once on a fresh ledger / database, so "
      "every figure below is the median of "
      f"{RUNS} runs with the smallest and largest.")
    w("- The events (a fixed-seed generator, identical for the library and the baseline): "
      "1,000 subjects (70 % strategies with cuid-like ids, then orders, AI feedback records, "
      "maintenance jobs) picked uniformly, 10 event types, 20 actors, old/new status on 60 % "
      "of events, reasons of 40–120 characters of words, metadata objects of about 60–100 bytes; "
      "no idempotency keys, no occurred_at. The library also signs one checkpoint after the "
      "timed appends (untimed), so verify checks one signature.")
    w("- Raw SQLite: table `strategy_audit_log(id TEXT PRIMARY KEY, entity, entity_id, "
      "event_type, old_status, new_status, actor, reason, metadata, ts)` with text columns, "
      "indexes on (entity_id, ts), (event_type), (actor); ids are time-ordered cuids and ts an "
      "RFC 3339 text made per row, as the seed does; WAL, synchronous=FULL.")
    cached = figs.values.get("proof_cached_before") or []
    w(f"- Latencies: {PROOFS} calls of each kind per run after 20 untimed warm-up calls, in "
      f"one process on a ledger of {fmt_events(int(figs.median('proof_tree_size') or 0))} "
      "events; every inclusion proof is checked against the head. A latency row's median, "
      "min and max are over the runs' percentiles. Each run first reads the store's files "
      "once, so that the queries time a ledger in the OS page cache, as a serving one is, and "
      "not the disk: a host may page out file pages left idle (the VM of 2026-12-07 did after "
      "a minute), and the large ledger sits idle through the other figures. Share of the "
      "store cached before that read, per run: " + (", ".join(f"{v:.0f} %" for v in cached) or "not printed") + ".")
    w(f"- Bounds: SHA-256 and fsync run for {SECONDS:g} s each per run.")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if any(figs.has(n) for n in ("http_bound", "http_append", "http_ndjson")):
        secs = os.environ.get("BENCH_HTTP_SECONDS") or ("1" if SMOKE else "10")
        w(f"- HTTP (hook `bench/measure.d/http.sh`): wrk on loopback for {secs} s per figure, "
          "`-t2 -c64` for the bound and the single-event appends, 4 connections of 1,000-event "
          f"NDJSON batches. **The load generator and the server share this machine's {cores} "
          "cores** (there is no separate client machine), so every HTTP figure, the bound "
          "included, is lower than a server alone on these cores would reach. The append "
          "figures count 2xx answers only (bench/wrk_count.lua counts every answer by "
          "status); a run with any refused request or socket error, or whose ledger did not "
          "grow by at least the acknowledged events and at most the events sent, fails the "
          "hook instead of giving a rate. Server CPU per append is the server process's "
          "utime + stime (/proc/PID/stat) over the run ÷ appends answered 2xx.")
    if figs.has("pg_seed_1") or figs.has("pg_seed_16"):
        pg = HOOK_INFO.get("postgresql_server", "")
        secs = os.environ.get("BENCH_PG_SECONDS") or ("0.5" if SMOKE else "10")
        w(f"- The seed design (hook `bench/measure.d/pg.sh`): PostgreSQL {pg} started by the "
          "bench in its work directory (initdb, 127.0.0.1 only, default settings with "
          "`fsync`, `synchronous_commit` and `full_page_writes` on) and stopped afterwards; "
          "`bench/pg_seed` (C, libpq) inserts the same generated events into the same "
          "`strategy_audit_log` table as the raw-SQLite baseline (text columns, the same "
          "three indexes, cuid ids, RFC 3339 text ts), one INSERT per event in autocommit, "
          "so every event is its own durable commit. 1 client, then 16 (a thread and a "
          "connection each, prepared statement, connected before the clock starts), "
          f"{secs} s each on a fresh table; the clients share the {cores} cores with the "
          "server.")
    if figs.has("pg_append"):
        n_pg = os.environ.get("BENCH_PG_EVENTS") or ("20000" if SMOKE else "200000")
        w(f"- The library on PostgreSQL (the same hook, on the same cluster after the seed "
          f"design): `bench_ledger append` of {int(n_pg):,} events of the same generator, "
          "10,000 per `tt_ledger_append` call, into a new ledger on `--db postgres://…` "
          "(a schema of its own); the run fails unless the ledger then holds every event.")
    if figs.has("pg_http_append"):
        secs = os.environ.get("BENCH_HTTP_SECONDS") or ("1" if SMOKE else "10")
        w("- Two servers on PostgreSQL (the same hook, on the same cluster after the seed "
          "design): two `tradetrail serve --db postgres://…` processes on one schema and "
          "one data directory (the signing key), each loaded by its own wrk `-t1 -c32` "
          f"with single-event appends for {secs} s (64 keep-alive connections in all); 2xx "
          "answers only, and the ledger must have grown by at least the acknowledged "
          "events, as for the SQLite figures. The servers, PostgreSQL and both wrk share "
          f"the {cores} cores.")
    if figs.has("server_rss_mib") or figs.has("restart_s"):
        n_server = int(figs.median("server_ledger_events") or 0)
        which = ("the large ledger built for BENCH_SCALE=10m / BENCH_PROOF_EVENTS"
                 if PROOF_EVENTS > N_EVENTS else "each round's ledger, after its figures")
        secs = os.environ.get("BENCH_SERVER_SECONDS") or ("1" if SMOKE else "10")
        w(f"- Server memory and restart (hook `bench/measure.d/server.sh`): `tradetrail serve` "
          f"on {which} ({fmt_events(n_server)} events), loaded for {secs} s by 8 keep-alive "
          "Python clients on the same cores (inclusion proofs and reads of random seqs, one "
          "entity's newest 100 events, one-word searches, a tenth single-event appends); "
          "memory is read from /proc/PID/status at the end of the load, then the server is "
          "killed with SIGKILL while the clients are still sending and a new process is "
          "started on the same ledger and port. `restart_s` runs from its fork + exec to "
          "the first authenticated read, which must show every append acknowledged before "
          "the kill. The file cache is warm: a process crash, not a reboot.")
    w("")

    w("## Figures\n")
    w(f"| figure | median | min | max | unit | what |\n| --- | ---: | ---: | ---: | --- | --- |")
    described = dict(FIGURES + HOOK_FIGURES)
    names = [n for n, _ in FIGURES + HOOK_FIGURES] + sorted(
        n for n in figs.values if n not in described)
    for name in names:
        v = figs.values.get(name)
        if not v:
            continue
        w(f"| `{name}` | {fmt(statistics.median(v))} | {fmt(min(v))} | {fmt(max(v))} | "
          f"{figs.units[name]} | {described.get(name, '')} |")
    w("")

    w("## Ratios\n")
    w("Ratios of two figures measured in every round are the median of the per-round "
      "ratios (each round runs both sides back to back).\n")
    w("| ratio | value | SPEC 13 goal |\n| --- | ---: | --- |")
    w(f"| library batched append ÷ raw SQLite | {times(ratio(figs, 'append', 'raw_sqlite'))}"
      f"{ratio_range(figs, 'append', 'raw_sqlite')} | ≥ 1.5 × |")
    w("| verify: the time its hashes take at the SHA-256 rates for their sizes ÷ verify's "
      f"time | {pct(figs.median('verify_bound_share'))} | ≥ 50 % |")
    w(f"| store size ÷ the events' JSON bytes | {times(figs.median('store_json_ratio'))} "
      "| ≤ 1.5 × |")
    if figs.has("big_store_json_ratio"):
        w(f"| the same at {fmt_events(PROOF_EVENTS)} events | "
          f"{times(figs.median('big_store_json_ratio'))} | ≤ 1.5 × |")
    if figs.has("http_append", "http_bound"):
        w(f"| HTTP single-event appends ÷ HTTP bound | "
          f"{pct(ratio(figs, 'http_append', 'http_bound'))}"
          f"{ratio_range(figs, 'http_append', 'http_bound')} | ≥ 50 % |")
    if figs.has("http_append", "pg_seed_16"):
        w(f"| HTTP single-event appends ÷ the seed design at 16 clients | "
          f"{times(ratio(figs, 'http_append', 'pg_seed_16'))}"
          f"{ratio_range(figs, 'http_append', 'pg_seed_16')} | — (half the bound is about 4 × "
          "it, SPEC 13) |")
    if figs.has("pg_http_append", "pg_seed_16"):
        w(f"| two servers on PostgreSQL, single-event appends ÷ the seed design at 16 "
          f"clients | {times(ratio(figs, 'pg_http_append', 'pg_seed_16'))}"
          f"{ratio_range(figs, 'pg_http_append', 'pg_seed_16')} | ≥ 3 × |")
    if figs.has("append", "pg_seed_16"):
        w(f"| library batched append ÷ the seed design at 16 clients | "
          f"{times(ratio(figs, 'append', 'pg_seed_16'))} | — |")
    if figs.has("pg_append", "pg_seed_16"):
        w(f"| library batched append on PostgreSQL ÷ the seed design at 16 clients (the same "
          f"cluster) | {times(ratio(figs, 'pg_append', 'pg_seed_16'))}"
          f"{ratio_range(figs, 'pg_append', 'pg_seed_16')} | — |")
    if figs.has("pg_append", "append"):
        w(f"| library batched append: PostgreSQL ÷ SQLite | "
          f"{times(ratio(figs, 'pg_append', 'append'))} | — |")
    if figs.has("pg_seed_16", "pg_seed_1"):
        w(f"| the seed design: 16 clients ÷ 1 client | "
          f"{times(ratio(figs, 'pg_seed_16', 'pg_seed_1'))} | — |")
    w("| store size ÷ raw SQLite database size | "
      f"{times(ratio(figs, 'store_bytes_per_event', 'raw_sqlite_bytes_per_event'))} | — |")
    b = figs.median("fsync")
    a = figs.median("append")
    if a and b:
        w(f"| batches committed per second ÷ fsync bound | "
          f"{a / BATCH / b:.2%} | — (one commit per {BATCH:,} events) |")
    w("")
    w("Verify recomputes, for n events, n leaf hashes (SHA-256 of 0x00 ‖ the leaf bytes, "
      f"{fmt(figs.median('verify_leaf_input_bytes'))} input bytes on average here) "
      "and n − 1 interior nodes (65 input bytes each), so `verify_hashes` counts 2n − 1. "
      "Its goal is judged on time, not on a count of hashes: right after each verify, "
      "in the same process, OpenSSL hashes a sample of the ledger's own leaf inputs "
      f"(`sha256_leaf`, {fmt(figs.median('sha256_leaf'))}/s) and 65-byte nodes "
      f"(`sha256_node`, {fmt(figs.median('sha256_node'))}/s); n leaves and n − 1 nodes at "
      f"those rates take `verify_hash_s` ({fmt(figs.median('verify_hash_s'))} s), and "
      f"verify took `verify_s` ({fmt(figs.median('verify_s'))} s). Counting the nodes "
      "against the 256-byte bound would flatter verify: a node is two SHA-256 blocks, a "
      "leaf five. Verify also reads every event back from the store and compares the "
      "stored tree tiles; that work is inside its time.\n")

    w("## SPEC 13 goals\n")
    if SMOKE:
        w("Smoke run: goals are not checked.\n")
    else:
        w("| figure | goal | measured | status |\n| --- | --- | --- | --- |")
        for row in goal_rows(figs):
            w("| " + " | ".join(row) + " |")
        w("")
    if not SMOKE:
        why_missed(w, figs)
    unmeasured = []
    u = unmeasured.append
    http = [n for n in ("http_bound", "http_append", "http_append_p99", "http_ndjson")
            if not figs.has(n)]
    if http:
        u("- HTTP figures " + ", ".join(f"`{n}`" for n in http) + " (the HTTP bound, "
          "single-event appends over HTTP, NDJSON batches): printed by the hook "
          "`bench/measure.d/http.sh`, which did not run or did not print them.")
    if not figs.has("pg_seed_1", "pg_seed_16"):
        u("- **The seed design on PostgreSQL** (one INSERT per event, 1 and 16 clients): "
          "the hook `bench/measure.d/pg.sh` did not print `pg_seed_1` and `pg_seed_16` "
          "(the hook line below says why).")
    if not figs.has("server_rss_mib", "restart_s"):
        u("- **Server memory and restart after `kill -9`**: the hook "
          "`bench/measure.d/server.sh` did not print `server_rss_mib` and `restart_s`.")
    tree = int(figs.median("proof_tree_size") or 0)
    n_server = int(figs.median("server_ledger_events") or 0)
    if tree < BIG or n_server < BIG:
        u("- **Figures at 10 million events** (proof, history and search p99, server memory, "
          f"restart after `kill -9`, store size): the latencies above are at "
          f"{fmt_events(tree)} events"
          + (f", memory and restart at {fmt_events(n_server)}" if n_server else "")
          + ". `BENCH_SCALE=10m make bench` builds a 10-million-event ledger once (about 10 "
          "minutes more; about 4 GB of memory for the generated events and 4 GB of disk) "
          "and measures all of them on it.")
    for name, why in sorted(skipped.items()):
        u(f"- hook `{name}` skipped: {why}")
    for name, why in HOOK_FAILURES:
        u(f"- **hook `{name}` failed** ({why}): its figures from that round are missing")
    if unmeasured:
        w("## Not measured yet\n")
        for line in unmeasured:
            w(line)
    w("")
    w("## Every run\n")
    w("Each figure of each round, in round order, for a reader who wants more than the "
      "median. Other processes' CPU use during each measurement, in cores: "
      + ", ".join(f"{label} {o:.2f}" for label, o in INTERFERENCE) + ".\n")
    w("| figure | runs |\n| --- | --- |")
    for name in names:
        if figs.values.get(name):
            w(f"| `{name}` | {', '.join(f'{x:.6g}' for x in figs.values[name])} |")
    w("")
    return "\n".join(out)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: run.py BUILD_DIR")
    build = os.path.abspath(sys.argv[1])
    if not os.access(os.path.join(build, "bench_ledger"), os.X_OK):
        sys.exit(f"bench: no {build}/bench_ledger (build the bench_ledger target)")
    work = os.environ.get("BENCH_WORKDIR")
    made_work = False
    if work:
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="tt-bench-")
        made_work = True
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()[0]
    t0 = time.monotonic()
    big = (f"a ledger of {PROOF_EVENTS} events for the large figures, "
           if PROOF_EVENTS > N_EVENTS else "")
    log(f"{'smoke run' if SMOKE else 'full run'}: {N_EVENTS} events x {BATCH}, {RUNS} rounds, "
        f"{big}work directory {work}")
    try:
        figs, skipped = measure(build, work)
        text = report(figs, skipped, machine(build, work, load_start), started, time.monotonic() - t0)
        out = os.environ.get("BENCH_OUT")
        if not out:
            out = (os.path.join(work, "RESULTS-smoke.md") if SMOKE
                   else os.path.join(HERE, "RESULTS.md"))
        with open(out + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(out + ".tmp", out)
        if SMOKE:
            print(text)
        log(f"wrote {out}")
        if HOOK_FAILURES:
            sys.exit(f"bench: {len(HOOK_FAILURES)} hook run(s) failed (see the report)")
    finally:
        if made_work and not KEEP:
            shutil.rmtree(work, ignore_errors=True)
        elif KEEP:
            log(f"kept {work}")


if __name__ == "__main__":
    main()
