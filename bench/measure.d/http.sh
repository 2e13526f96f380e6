#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# HTTP figures of SPEC 13, measured with wrk on loopback: the HTTP bound (bench/http_bound,
# a libmicrohttpd "ok" handler with tradetrail serve's event loop and connection memory, two
# threads), single-event appends over 64 keep-alive connections (each acknowledged after
# its group's fsync), and NDJSON batches of 1,000 events. The load generator shares the
# machine's cores with the server. Usage (from bench/run.py): http.sh BUILD_DIR WORKDIR.
#
# A figure counts 2xx answers only (bench/wrk_count.lua counts every answer by status), and
# the ledger must have grown by at least the events those answers acknowledged and by no
# more than the events sent: a run with any refused request, socket error or missing event
# fails the hook (exit 1) instead of printing a rate. BENCH_HTTP_TOKEN replaces the admin
# token (the ctest bench/http_wrong_token checks that a wrong one fails the run).
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
export TT_WRK_COUNT="$here/wrk_count.lua"

pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

hook=http.sh
. "$here/wrk_lib.sh"

# The bound: no Lua script (it would cost wrk time the bound is meant to leave to the
# server), so its failures are read from wrk's own summary lines.
port=$(free_port)
"$build/http_bound" "$port" 2 &
pid=$!
wait_port "$port"
out=$(wrk -t2 -c64 -d"${secs}s" "http://127.0.0.1:$port/") || fail "wrk failed (bound)"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
if echo "$out" | grep -Eq 'Non-2xx|Socket errors'; then
    fail "the HTTP bound had failed requests: $(echo "$out" | grep -E 'Non-2xx|Socket errors' | tr '\n' ' ')"
fi
echo "figure http_bound $(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s"

# tradetrail serve on a fresh ledger.
data="$work/http-ledger"
rm -rf "$data"
port=$(free_port)
"$build/tradetrail" --data "$data" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
wait_port "$port"
admin=$(awk '/admin token/ {print $NF}' "$work/serve.log")
token=${BENCH_HTTP_TOKEN:-$admin}

# Single-event appends.
s0=$(tree_size "$port" "$admin")
t0=$(cpu_ticks "$pid")
children_cpu >"$work/w0"
out=$(TT_TOKEN=$token wrk -t2 -c64 -d"${secs}s" -s "$here/wrk_post_event.lua" \
    "http://127.0.0.1:$port/") || fail "wrk failed (appends)"
children_cpu >"$work/w1"
t1=$(cpu_ticks "$pid")
s1=$(tree_size "$port" "$admin")
check http_append "$out" "$s0" "$s1" 1
ok=$(field "$out" ok)
seconds=$(field "$out" seconds)
awk -v ok="$ok" -v s="$seconds" -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" \
    -v p99="$(field "$out" p99_us)" -v w="$(cat "$work/w0")" -v w1="$(cat "$work/w1")" 'BEGIN {
    printf "figure http_append %.1f req/s\n", ok / s
    printf "figure http_append_cpu_us %.1f us\n", t * 1e6 / hz / ok
    printf "figure http_append_wrk_cpu_us %.1f us\n", (w1 - w) * 1e6 / ok
    printf "figure http_append_p99 %.3f ms\n", p99 / 1000 }'

# NDJSON batches: the figure is the events the 2xx answers acknowledged.
s0=$(tree_size "$port" "$admin")
out=$(TT_TOKEN=$token TT_BATCH=1000 wrk -t2 -c4 -d"${secs}s" -s "$here/wrk_post_ndjson.lua" \
    "http://127.0.0.1:$port/") || fail "wrk failed (NDJSON)"
s1=$(tree_size "$port" "$admin")
check http_ndjson "$out" "$s0" "$s1" 1000
awk -v e="$(field "$out" events)" -v s="$(field "$out" seconds)" \
    'BEGIN { printf "figure http_ndjson %.0f events/s\n", e / s }'
kill -TERM "$pid"
wait "$pid" || { pid=; fail "tradetrail serve did not stop cleanly"; }
pid=
"$build/tradetrail" --data "$data" verify >/dev/null
