# SPDX-License-Identifier: Apache-2.0
# Shell helpers the HTTP hooks of bench/measure.d share (sourced, POSIX sh): ports, the
# results of bench/wrk_count.lua, the ledger's size, CPU time, and the check that turns a
# run with a refused request or a missing event into a failure instead of a figure. The
# sourcing hook sets `work` (a scratch directory) and `hook` (its name, for messages).

fail() {
    echo "$hook: $*" >&2
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    i=0
    while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && fail "nothing listens on port $1"
        sleep 0.1
    done
}

# The field $2 of wrk_count.lua's result line ("wrk_result ok N failed N ...") in $1.
field() {
    echo "$1" | awk -v k="$2" '/^wrk_result / { for (i = 2; i < NF; i += 2) if ($i == k) print $(i + 1) }'
}

# One result line for several wrk runs at once (their outputs as arguments): counts added,
# the longest duration, the worst p99, the first refusal.
sum_results() {
    for o in "$@"; do echo "$o"; done | awk '/^wrk_result / {
        for (i = 2; i < NF; i += 2) {
            k = $i; v = $(i + 1)
            if (k == "first_failure") { if (why == "") why = v; break }
            if (k == "seconds" || k ~ /_us$/) { if (v > m[k]) m[k] = v } else s[k] += v
        }
    } END {
        printf "wrk_result ok %d failed %d socket_errors %d sent %d events %d seconds %.6f " \
            "p50_us %d p99_us %d max_us %d first_failure %s\n", s["ok"], s["failed"],
            s["socket_errors"], s["sent"], s["events"], m["seconds"], m["p50_us"],
            m["p99_us"], m["max_us"], why }'
}

# The ledger's size (GET /api/stats on port $1 with token $2).
tree_size() {
    python3 - "$1" "$2" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/api/stats",
                             headers={"Authorization": "Bearer " + sys.argv[2]})
print(json.load(urllib.request.urlopen(req, timeout=30))["tree_size"])
PY
}

# A process's CPU time (utime + stime from /proc, in clock ticks).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# CPU seconds of the calling shell's finished children (wrk once it has exited). Call it in
# the hook's shell with its output redirected to a file, not in a command substitution,
# whose subshell has children of its own.
children_cpu() {
    times >"$work/times"
    awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] } print t }' "$work/times"
}

# check NAME OUT SIZE_BEFORE SIZE_AFTER EVENTS_PER_REQUEST: refuses a run with a failed
# request, or whose acknowledged events the ledger does not hold. Requests still in flight
# when wrk stops may have been committed without wrk reading their answers, so the ledger
# may hold up to the events sent, never fewer than the acknowledged ones.
check() {
    ok=$(field "$2" ok)
    [ -n "$ok" ] || fail "$1: no result line from wrk_count.lua: $2"
    failed=$(field "$2" failed)
    socket=$(field "$2" socket_errors)
    acked=$(field "$2" events)
    sent=$(($(field "$2" sent) * $5))
    grown=$(($4 - $3))
    if [ "$failed" -ne 0 ] || [ "$socket" -ne 0 ] || [ "$ok" -eq 0 ]; then
        fail "$1: $ok requests answered 2xx, $failed refused, $socket socket errors" \
            "(first refusal: $(echo "$2" | sed -n 's/.*first_failure //p')): a failed run, not a figure"
    fi
    if [ "$grown" -lt "$acked" ] || [ "$grown" -gt "$sent" ]; then
        fail "$1: the ledger grew by $grown events, but $acked were acknowledged and $sent sent"
    fi
    echo "info ${1}_check $ok requests answered 2xx, none refused; the ledger grew by $grown events for $acked acknowledged ($sent sent)" >&2
}
