# SPDX-License-Identifier: Apache-2.0
"""The orchestration of bench/run.sh (SPEC 13): run every figure of bench_ledger several
times in interleaved rounds, take the median with min and max, describe the machine, and
write bench/RESULTS.md with the ratios and the SPEC 13 goal table.

Usage: python3 bench/run.py BUILD_DIR (normally through bench/run.sh). Standard library only.

Environment (defaults in brackets; BENCH_SMOKE=1 switches to the smoke defaults after /):
  BENCH_SMOKE=1        seconds-long run, tiny sizes, no goal checks, report in a temporary
                       file that is printed and removed (the ctest bench/smoke)
  BENCH_EVENTS         events per append / raw-SQLite run          [1000000 / 2000]
  BENCH_BATCH          events per transaction                      [10000 / 500]
  BENCH_RUNS           rounds; every figure is measured once a round [3 / 3]
  BENCH_PROOFS         proofs and queries per proof run             [300 / 20]
  BENCH_SECONDS        duration of the SHA-256 and fsync bounds      [2 / 0.2]
  BENCH_PROOF_EVENTS   when larger than BENCH_EVENTS, build one ledger of this size and
                       run the proof / query latencies on it (10000000 for the 10M goals)
  BENCH_WORKDIR        where ledgers and databases are written        [a new dir in $TMPDIR]
  BENCH_OUT            the report                     [bench/RESULTS.md / a temporary file]
  BENCH_KEEP=1         keep the work directory
  BENCH_BUSY_LIMIT     cores other processes may use during a measurement
                       before it is repeated                            [0.5]
  BENCH_RETRIES        repetitions of a measurement taken on a busy machine [1 / 0]
  BENCH_HOOKS=0        do not run bench/measure.d

Hooks for the figures measured later (HTTP bound, HTTP appends, NDJSON, the seed design on
PostgreSQL, server memory, restart): every executable bench/measure.d/*.sh runs once a round
as `HOOK BUILD_DIR WORKDIR` with BENCH_SMOKE and BENCH_SECONDS in its environment and prints
`figure <name> <value> <unit>` lines; exit status 77 means "skipped" and its last stderr
line says why. A failing hook is reported and makes the run exit non-zero once the report
is written; its figures from that round are missing. goal_rows() knows the names of the
hook figures: http_bound, http_append (requests/s), http_append_p99 (ms), http_ndjson
(events/s), pg_seed_1, pg_seed_16 (events/s), server_rss_mib, restart_s; a goal whose
figures are missing is reported NOT MEASURED YET.
"""

import datetime
import os
import platform
import resource
import shutil
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
PROOF_EVENTS = int(os.environ.get("BENCH_PROOF_EVENTS") or 0)
KEEP = os.environ.get("BENCH_KEEP") == "1"

BIG = 10_000_000  # SPEC 13 states several goals "at 10 million events"

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
    ("store_bytes_per_event", "ledger.db size per event (indexes, FTS and tree included)"),
    ("json_bytes_per_event", "JSON per event as GET /api/events/{seq} serves it"),
    ("store_json_ratio", "store size / the events' JSON bytes"),
    ("leaf_bytes_per_event", "canonical leaf bytes per event (the input of its leaf hash)"),
    ("raw_sqlite_bytes_per_event", "raw SQLite database size per row"),
]
REQUIRED = [name for name, _ in FIGURES]
# Figures printed by the hooks of bench/measure.d (not required: a hook may be skipped).
HOOK_FIGURES = [
    ("http_bound", "HTTP bound: libmicrohttpd \"ok\" handler, wrk -t2 -c64, keep-alive"),
    ("http_append", "single-event POST /api/events, 64 keep-alive connections, each "
                    "acknowledged after fsync"),
    ("http_append_p99", "latency of one single-event HTTP append, p99"),
    ("http_ndjson", "NDJSON batches over HTTP, events per second"),
    ("pg_seed_1", "the seed design on PostgreSQL, 1 client"),
    ("pg_seed_16", "the seed design on PostgreSQL, 16 clients"),
    ("server_rss_mib", "tradetrail serve resident memory"),
    ("restart_s", "restart after kill -9 until serving again"),
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


def run_hooks(build, work, figs, skipped, tag):
    hook_dir = os.path.join(HERE, "measure.d")
    if not os.path.isdir(hook_dir) or os.environ.get("BENCH_HOOKS") == "0":
        return
    for name in sorted(os.listdir(hook_dir)):
        path = os.path.join(hook_dir, name)
        if not (name.endswith(".sh") and os.access(path, os.X_OK)):
            continue
        env = dict(os.environ, BENCH_SMOKE="1" if SMOKE else "0", BENCH_SECONDS=str(SECONDS))
        t0 = time.monotonic()
        try:
            p = subprocess.run([path, build, work], capture_output=True, text=True, env=env,
                               timeout=600)
        except subprocess.TimeoutExpired:
            HOOK_FAILURES.append((name, f"{tag}: did not finish in 600 s"))
            continue
        lines = p.stderr.strip().splitlines()
        if p.returncode == 77:
            skipped[name] = lines[-1] if lines else "skipped"
            continue
        if p.returncode != 0:
            # A hook's failure costs its own figures, not the whole run's.
            sys.stderr.write(p.stderr)
            HOOK_FAILURES.append((name, f"{tag}: exit {p.returncode}: "
                                        f"{lines[-1] if lines else 'no message'}"))
            continue
        got = {}
        for line in p.stdout.splitlines():
            parts = line.split()
            if parts and parts[0] == "figure":
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
        figs.add(run_figures([exe, "verify", ledger], f"{tag}: verify", slow))
        figs.add(run_figures([exe, "proof", big_ledger or ledger, str(PROOFS)],
                             f"{tag}: proof {PROOFS}", slow + PROOFS))
        shutil.rmtree(ledger)
        figs.add(run_figures([exe, "sha256", str(SECONDS)], f"{tag}: sha256", 60 + 3 * SECONDS))
        figs.add(run_figures([exe, "fsync", work, str(SECONDS)], f"{tag}: fsync",
                             60 + 3 * SECONDS))
        run_hooks(build, work, figs, skipped, tag)
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
    b = ratio(figs, "http_append", "pg_seed_16")
    if b is not None:
        parts.append(f"{b:.1f} × the seed design at 16 clients")
        oks.append(b >= 8)
    else:
        missing.append("the seed design on PostgreSQL")
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
    rows.append(("single-event appends over HTTP, 64 keep-alive connections, each "
                 "acknowledged after fsync",
                 "≥ 50 % of the HTTP bound and ≥ 8 × the seed design at 16 clients; "
                 "p99 ≤ 10 ms", "; ".join(parts) or "needs the HTTP harness", verdict))

    if figs.has("http_ndjson"):
        a = ratio(figs, "http_ndjson", "append")
        rows.append(("NDJSON batches over HTTP", "≥ 70 % of the library's batched rate",
                     f"{fmt(figs.median('http_ndjson'))} events/s = {a:.0%} of "
                     f"{fmt(figs.median('append'))}", status(a >= 0.7)))
    else:
        rows.append(("NDJSON batches over HTTP", "≥ 70 % of the library's batched rate",
                     "needs the HTTP harness", "NOT MEASURED YET"))

    r = ratio(figs, "verify_hashes", "sha256")
    rows.append(("`verify`", "≥ 50 % of the SHA-256 bound for the hashes it must compute",
                 f"{fmt(figs.median('verify_hashes'))} hashes/s vs "
                 f"{fmt(figs.median('sha256'))}: {r:.0%}", status(r >= 0.5)))

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

    if figs.has("server_rss_mib") and at_big:
        v = figs.median("server_rss_mib")
        rows.append(("server resident memory", "≤ 64 MiB at 10 million events",
                     f"{fmt(v)} MiB", status(v <= 64)))
    else:
        rows.append(("server resident memory", "≤ 64 MiB at 10 million events",
                     "needs the server harness", "NOT MEASURED YET"))

    r = figs.median("store_json_ratio")
    rows.append(("store size", "≤ 1.5 × the events' JSON bytes, indexes and tree included",
                 f"{fmt(figs.median('store_bytes_per_event'))} B/event ÷ "
                 f"{fmt(figs.median('json_bytes_per_event'))} B/event = {r:.2f} × "
                 f"(at {fmt_events(N_EVENTS)} events)", status(r <= 1.5)))

    if figs.has("restart_s") and at_big:
        v = figs.median("restart_s")
        rows.append(("restart after `kill -9` at 10 million events", "serving again in ≤ 1 s",
                     f"{fmt(v)} s", status(v <= 1)))
    else:
        rows.append(("restart after `kill -9` at 10 million events",
                     "serving again in ≤ 1 s (no full replay)", "needs the server harness",
                     "NOT MEASURED YET"))
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
    w(f"- Latencies: {PROOFS} calls of each kind per run after 20 untimed warm-up calls, in "
      f"one process on a ledger of {fmt_events(int(figs.median('proof_tree_size') or 0))} "
      "events; every inclusion proof is checked against the head. A latency row's median, "
      "min and max are over the runs' percentiles.")
    w(f"- Bounds: SHA-256 and fsync run for {SECONDS:g} s each per run.\n")

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
    w(f"| verify hashes ÷ SHA-256 bound | {pct(ratio(figs, 'verify_hashes', 'sha256'))} "
      "| ≥ 50 % |")
    w("| verify events ÷ SHA-256 bound (about 2 hashes per event) | "
      f"{pct(ratio(figs, 'verify', 'sha256'))} | — |")
    w(f"| store size ÷ the events' JSON bytes | {times(figs.median('store_json_ratio'))} "
      "| ≤ 1.5 × |")
    w("| store size ÷ raw SQLite database size | "
      f"{times(ratio(figs, 'store_bytes_per_event', 'raw_sqlite_bytes_per_event'))} | — |")
    b = figs.median("fsync")
    a = figs.median("append")
    if a and b:
        w(f"| batches committed per second ÷ fsync bound | "
          f"{a / BATCH / b:.2%} | — (one commit per {BATCH:,} events) |")
    w("")
    w("Verify recomputes, for n events, n leaf hashes (SHA-256 of 0x00 ‖ the leaf bytes, "
      f"{fmt((figs.median('leaf_bytes_per_event') or 0) + 1)} input bytes on average here) "
      "and n − 1 interior nodes (65 input bytes each), so `verify_hashes` counts 2n − 1. The "
      "bound is measured on 256-byte inputs as SPEC 13 says; `sha256_65b` gives the rate for "
      "node-sized inputs. Verify also reads every event back from the store and compares "
      "the stored tree tiles; that work is inside its figure too.\n")

    w("## SPEC 13 goals\n")
    if SMOKE:
        w("Smoke run: goals are not checked.\n")
    else:
        w("| figure | goal | measured | status |\n| --- | --- | --- | --- |")
        for row in goal_rows(figs):
            w("| " + " | ".join(row) + " |")
        w("")
    w("## Not measured yet\n")
    http = [n for n in ("http_bound", "http_append", "http_append_p99", "http_ndjson")
            if not figs.has(n)]
    if http:
        w("- HTTP figures " + ", ".join(f"`{n}`" for n in http) + " (the HTTP bound, "
          "single-event appends over HTTP, NDJSON batches): printed by the hook "
          "`bench/measure.d/http.sh`, which did not run or did not print them.")
    if not figs.has("pg_seed_1", "pg_seed_16"):
        w("- **The seed design on PostgreSQL** (one INSERT per event, 1 and 16 clients): "
          "needs a PostgreSQL hook (figures `pg_seed_1`, `pg_seed_16`).")
    w("- **Figures at 10 million events** (proof, history and search p99, server memory, "
      "restart after `kill -9`): the latencies above are at "
      f"{fmt_events(int(figs.median('proof_tree_size') or 0))} events; "
      "`BENCH_PROOF_EVENTS=10000000` builds a 10M ledger for them (about 10 minutes more); "
      "memory and restart need the server harness (figures `server_rss_mib`, `restart_s`).")
    for name, why in sorted(skipped.items()):
        w(f"- hook `{name}` skipped: {why}")
    for name, why in HOOK_FAILURES:
        w(f"- **hook `{name}` failed** ({why}): its figures from that round are missing")
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
    log(f"{'smoke run' if SMOKE else 'full run'}: {N_EVENTS} events x {BATCH}, {RUNS} rounds, "
        f"work directory {work}")
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
