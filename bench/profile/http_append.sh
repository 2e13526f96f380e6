#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Profile of the single-event HTTP append (SPEC 13; docs/PERFORMANCE.md): tradetrail serve
# on a fresh ledger under wrk -t2 -c64 with bench/wrk_post_event.lua, as in
# bench/measure.d/http.sh. Prints the server's CPU per acknowledged append (utime + stime
# from /proc/PID/stat), wrk's own CPU per request, context switches and system calls per
# append (perf stat tracepoints), each thread's busy share of a core, then samples the
# server with perf record (cpu-clock, DWARF call graphs) and prints
# bench/profile/categories.py's table.
# Usage: bench/profile/http_append.sh TRADETRAIL_BINARY [SECONDS] [serve options...]
# PROFILE_SAMPLES=FILE keeps the perf script text (for categories.py with other weights).
# PROFILE_LOAD=ndjson loads it as the NDJSON figure does instead (wrk -t2 -c4, 1,000-event
# batches, bench/wrk_post_ndjson.lua): every "per append" figure is then per event.
# PROFILE_PERF=0 stops after the CPU figures (quick paired runs of two binaries).
# PROFILE_TMP=DIR puts the ledger in DIR instead of the default temporary directory, e.g.
# /dev/shm to see what the figures are when fdatasync and the disk cost nothing.
set -eu
bin=$1
secs=${2:-8}
[ $# -ge 2 ] && shift 2 || shift 1
here=$(cd "$(dirname "$0")/.." && pwd)
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 77; }
work=$(mktemp -d ${PROFILE_TMP:+-p $PROFILE_TMP})
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" --data "$work/ledger" serve --listen "127.0.0.1:$port" "$@" >"$work/serve.log" 2>&1 &
pid=$!
i=0
until grep -q '^tradetrail serving' "$work/serve.log"; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "the server did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
    sleep 0.1
done
export TT_TOKEN="$(awk '/admin token/ {print $NF}' "$work/serve.log")"
export TT_WRK_COUNT="$here/wrk_count.lua"
if [ "${PROFILE_LOAD:-single}" = ndjson ]; then
    export TT_BATCH=1000
    conns=4 script=wrk_post_ndjson.lua unit=11 # wrk_result's events field
    per="per request of $TT_BATCH events"
else
    conns=64 script=wrk_post_event.lua unit=3 # wrk_result's ok field
    per="per append"
fi
load() { wrk -t2 -c$conns -d"$1s" -s "$here/$script" "http://127.0.0.1:$port/"; }
load 1 >/dev/null # warm-up: the first requests open the readers and the WAL

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# CPU ticks of each of the server's threads, by name (docs/OPERATIONS.md, "Threads").
thread_ticks() {
    for t in /proc/$pid/task/*; do
        printf '%s %s %s\n' "${t##*/}" "$(cat "$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
    done 2>/dev/null | sort
}
thread_ticks >"$work/threads0"
t0=$(ticks)
out=$(/usr/bin/time -f "wrk_cpu_s %U %S" -o "$work/wrk.time" sh -c \
    "wrk -t2 -c$conns -d${secs}s -s '$here/$script' 'http://127.0.0.1:$port/'")
t1=$(ticks)
thread_ticks >"$work/threads1"
ok=$(echo "$out" | awk -v u=$unit '/^wrk_result/ {print $u}')
cpu_us=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v ok="$ok" 'BEGIN {printf "%.1f", t * 1e6 / hz / ok}')
echo "$out" | awk -v cpu="$cpu_us" -v w="$(awk '{print $2 + $3}' "$work/wrk.time")" -v u=$unit '/^wrk_result/ {
    printf "appends acknowledged: %d (%.0f/s), refused: %d, p99 %.2f ms\n", $u, $u / $13, $5, $17 / 1000
    printf "server CPU per append: %s us; wrk CPU per append: %.1f us\n", cpu, w * 1e6 / $u }'
# Busy share of one core per thread name over the run (threads of one name summed).
join "$work/threads0" "$work/threads1" | awk -v hz="$(getconf CLK_TCK)" -v s="$secs" '
    { busy[$2] += ($5 - $3) / hz / s * 100; n[$2]++ }
    END { printf "server threads, busy share of one core:"
          for (k in busy) if (busy[k] >= 0.5) printf " %s %.0f %%%s", k, busy[k], (n[k] > 1 ? " (" n[k] ")" : "")
          printf "\n" }'

if [ "${PROFILE_PERF:-1}" = 0 ]; then
    exit 0
elif command -v perf >/dev/null; then
    # System calls and context switches per append, over a second load of the same length.
    events=context-switches
    for sc in fdatasync pwrite64 pread64 write sendmsg recvfrom epoll_wait epoll_ctl futex \
        fcntl clock_nanosleep; do
        events="$events,syscalls:sys_enter_$sc"
    done
    load "$secs" >"$work/wrk2.out" &
    wpid=$!
    sleep 1
    perf stat -x, -e "$events" -p "$pid" -o "$work/stat" -- sleep "$((secs - 2))" 2>/dev/null || true
    wait $wpid
    sent=$(awk -F, '$3 == "syscalls:sys_enter_sendmsg" {print $1}' "$work/stat")
    if [ -n "$sent" ] && [ "$sent" -gt 0 ]; then
        echo "$per (one sendmsg per answer):"
        awk -F, -v n="$sent" '$3 ~ /^(syscalls|context)/ && $1 ~ /^[0-9]+$/ {
            sub("syscalls:sys_enter_", "", $3); printf "  %-16s %.2f\n", $3, $1 / n }' "$work/stat"
    fi
    load "$secs" >/dev/null &
    wpid=$!
    sleep 1
    perf record -F 999 --call-graph dwarf,16384 -p "$pid" -o "$work/perf.data" \
        -- sleep "$((secs - 2))" >/dev/null 2>&1
    wait $wpid
    perf script -i "$work/perf.data" 2>/dev/null >"$work/perf.txt"
    [ -n "${PROFILE_SAMPLES:-}" ] && cp "$work/perf.txt" "$PROFILE_SAMPLES"
    python3 "$here/profile/categories.py" "$work/perf.txt" "$cpu_us"
else
    echo "perf is not installed (apt-get install linux-perf): no profile" >&2
fi
