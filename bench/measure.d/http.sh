#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# HTTP figures of SPEC 13, measured with wrk on loopback: the HTTP bound (bench/http_bound,
# a libmicrohttpd "ok" handler with tradetrail serve's daemon options), single-event
# appends over 64 keep-alive connections (each acknowledged after its group's fsync), and
# NDJSON batches of 1,000 events. The load generator shares the machine's cores with the
# server. Usage (from bench/run.py): http.sh BUILD_DIR WORKDIR.
set -eu
build=$1
work=$2
here=$(cd "$(dirname "$0")/.." && pwd)
# wrk takes whole seconds; the harness's BENCH_SECONDS (2.0) is for the CPU-bound figures.
secs=${BENCH_HTTP_SECONDS:-10}
[ "${BENCH_SMOKE:-0}" = 1 ] && secs=1
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 77; }
[ -x "$build/http_bound" ] || { echo "$build/http_bound is not built" >&2; exit 77; }
echo "info wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}')"
echo "info libmicrohttpd $(pkg-config --modversion libmicrohttpd 2>/dev/null || echo unknown) (headers at build time)"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    i=0
    while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "nothing listens on port $1" >&2; exit 1; }
        sleep 0.1
    done
}

# The bound.
port=$(free_port)
"$build/http_bound" "$port" 2 &
pid=$!
wait_port "$port"
out=$(wrk -t2 -c64 -d"${secs}s" "http://127.0.0.1:$port/") || { echo "wrk failed" >&2; exit 1; }
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
kill "$pid"
wait "$pid" 2>/dev/null || true
echo "figure http_bound $rps req/s"

# tradetrail serve on a fresh ledger.
data="$work/http-ledger"
rm -rf "$data"
port=$(free_port)
"$build/tradetrail" --data "$data" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
wait_port "$port"
token=$(awk '/admin token/ {print $NF}' "$work/serve.log")
# The server's own CPU time (utime + stime from /proc, in clock ticks) around the run
# gives its CPU cost per request, which bounds the rate on these two cores.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
t0=$(cpu_ticks "$pid")
out=$(TT_TOKEN=$token wrk -t2 -c64 -d"${secs}s" -s "$here/wrk_post_event.lua" \
    "http://127.0.0.1:$port/") || { echo "wrk failed (appends)" >&2; exit 1; }
t1=$(cpu_ticks "$pid")
echo "figure http_append $(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s"
echo "$out" | awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" '
    /^ *[0-9]+ requests in/ { if ($1 > 0) printf "figure http_append_cpu_us %.1f us\n", t * 1e6 / hz / $1 }'
echo "figure http_append_p99 $(echo "$out" | awk '/figure_latency/ {printf "%.3f", $5 / 1000}') ms"
out=$(TT_TOKEN=$token TT_BATCH=1000 wrk -t2 -c4 -d"${secs}s" -s "$here/wrk_post_ndjson.lua" \
    "http://127.0.0.1:$port/") || { echo "wrk failed (NDJSON)" >&2; exit 1; }
echo "figure http_ndjson $(echo "$out" | awk '/figure_events_per_s/ {print $2}') events/s"
kill -TERM "$pid"
wait "$pid" || { echo "tradetrail serve did not stop cleanly" >&2; exit 1; }
"$build/tradetrail" --data "$data" verify >/dev/null
