#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Server resident memory and restart after kill -9 (SPEC 13): bench/server_bench.py starts
# `tradetrail serve` on a ledger, loads it, reads its memory, kills it with SIGKILL under
# load and times the new process until it serves again. The ledger is $BENCH_LEDGER (set by
# bench/run.py: the BENCH_SCALE=10m / BENCH_PROOF_EVENTS ledger when there is one, else the
# round's ledger); without it a ledger of 20,000 events is built here. The load clients
# share the machine's cores with the server. Usage (from bench/run.py): server.sh BUILD_DIR
# WORKDIR. BENCH_SERVER_SECONDS: duration of the load (default 10; 1 with BENCH_SMOKE=1).
set -eu
build=$1
work=$2
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${BENCH_SERVER_SECONDS:-10}
[ "${BENCH_SMOKE:-0}" = 1 ] && secs=1
[ -x "$build/tradetrail" ] || { echo "$build/tradetrail is not built" >&2; exit 77; }
ledger=${BENCH_LEDGER:-}
if [ -z "$ledger" ]; then
    ledger="$work/server-ledger"
    rm -rf "$ledger"
    "$build/bench_ledger" append 20000 5000 "$ledger" >/dev/null
fi
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
exec "$py" "$here/server_bench.py" "$build/tradetrail" "$ledger" "$work" "$secs"
