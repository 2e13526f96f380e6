#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# valgrind memcheck over the test suites (issue 7; docs/TESTING.md, "valgrind memcheck"): a
# Debug build of its own, every unit program under valgrind, then the end-to-end scripts with
# the tradetrail program (CLI and server) run under memcheck through a wrapper that writes one
# log per process (the wrapper keeps the program's exit codes, which the scripts assert; the
# logs are counted instead). Prints a summary; exits 1 when a program or script fails or any
# log has an error or a leak, 2 on a usage or build error.
#
# Usage: scripts/valgrind.sh [unit|e2e|all] [test_x ...]   (names limit the e2e scripts)
# Environment: VG_BUILD_DIR  build directory (default build-valgrind)
#              VG_LOG_DIR    logs (default $VG_BUILD_DIR/valgrind-logs, emptied first)
#              VG_JOBS       unit programs / e2e scripts run at a time (default 1)
#              TT_SLOW       time factor for the e2e limits (default 25: memcheck runs the
#                            server 20-50 times slower and on one core)
# Word splitting of $units, $scripts and the figures below is intended.
# shellcheck disable=SC2046,SC2086
set -eu

# The load suites measure time, memory and fds of the server: meaningless under memcheck.
EXCLUDED="test_crashloop test_hostile test_diskfull"
excluded_reason() {
    case "$1" in
    test_crashloop) echo "SIGKILLs the server under load against a time limit" ;;
    test_hostile) echo "hundreds of connections against p99 latency, RSS and thread limits" ;;
    test_diskfull) echo "fills a small file system against a time limit per phase" ;;
    esac
}

# ---- internal: one unit program, or one e2e script (run by xargs below) ----

if [ "${1:-}" = "--one-unit" ]; then
    name=$2
    start=$(date +%s)
    rc=0
    (cd "$VG_BUILD" && valgrind --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible --num-callers=30 \
        --log-file="$VG_LOGS/unit/$name.log" "./$name") >"$VG_LOGS/unit/$name.out" 2>&1 || rc=$?
    echo "$rc $(($(date +%s) - start))" >"$VG_LOGS/unit/$name.rc"
    echo "  unit $name: exit $rc, $(($(date +%s) - start)) s"
    exit 0
fi
if [ "${1:-}" = "--one-e2e" ]; then
    name=$2
    dir="$VG_LOGS/e2e/$name"
    mkdir -p "$dir"
    # The wrapper is TT_BIN: every tradetrail process the script starts (CLI commands and
    # servers) runs under memcheck with its own log. exec keeps the pid, so signals sent by
    # the tests reach valgrind, which passes them on.
    cat >"$dir/tradetrail" <<EOF
#!/bin/sh
exec $(command -v valgrind) --leak-check=full --show-leak-kinds=definite,indirect,possible \\
    --errors-for-leak-kinds=definite,indirect,possible --num-callers=30 \\
    --log-file="$dir/tradetrail.%p.log" "$VG_BUILD/tradetrail" "\$@"
EOF
    chmod +x "$dir/tradetrail"
    start=$(date +%s)
    rc=0
    TT_BIN="$dir/tradetrail" TT_BUILD_DIR="$VG_BUILD" TT_SOURCE_DIR="$VG_SRC" TT_SLOW="$TT_SLOW" \
        python3 "$VG_SRC/tests/e2e/$name.py" >"$dir/out.txt" 2>&1 || rc=$?
    echo "$rc $(($(date +%s) - start))" >"$dir/rc"
    echo "  e2e $name: exit $rc, $(($(date +%s) - start)) s"
    exit 0
fi

# ---- build, run, summarise ----

mode=${1:-all}
case "$mode" in
unit | e2e | all) [ $# -gt 0 ] && shift ;;
test_*) mode=all ;;
*)
    echo "usage: $0 [unit|e2e|all] [test_x ...]" >&2
    exit 2
    ;;
esac
command -v valgrind >/dev/null || {
    echo "valgrind.sh: valgrind is not installed" >&2
    exit 2
}

VG_SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/summary.sh
. "$VG_SRC/scripts/summary.sh"
VG_BUILD=${VG_BUILD_DIR:-$VG_SRC/build-valgrind}
VG_LOGS=${VG_LOG_DIR:-$VG_BUILD/valgrind-logs}
JOBS=${VG_JOBS:-1}
TT_SLOW=${TT_SLOW:-25}
export VG_SRC VG_BUILD VG_LOGS TT_SLOW

cmake -S "$VG_SRC" -B "$VG_BUILD" -DCMAKE_BUILD_TYPE=Debug -DTT_SANITIZE=OFF >/dev/null || exit 2
cmake --build "$VG_BUILD" -j "$(nproc)" >/dev/null || exit 2
VG_BUILD=$(cd "$VG_BUILD" && pwd)
export VG_BUILD
rm -rf "$VG_LOGS"
mkdir -p "$VG_LOGS/unit" "$VG_LOGS/e2e"
VG_LOGS=$(cd "$VG_LOGS" && pwd)
export VG_LOGS
t0=$(date +%s)

units=""
if [ "$mode" != e2e ]; then
    for f in "$VG_SRC"/tests/unit/test_*.c; do
        units="$units $(basename "$f" .c)"
    done
    echo "valgrind: $(echo $units | wc -w) unit programs, $JOBS at a time"
    echo $units | tr ' ' '\n' | xargs -P "$JOBS" -I{} "$0" --one-unit {}
fi
t1=$(date +%s)

scripts=""
if [ "$mode" != unit ]; then
    if [ $# -gt 0 ]; then
        scripts="$*"
    else
        for f in "$VG_SRC"/tests/e2e/test_*.py; do
            n=$(basename "$f" .py)
            case " $EXCLUDED " in *" $n "*) continue ;; esac
            scripts="$scripts $n"
        done
    fi
    echo "valgrind: $(echo $scripts | wc -w) e2e scripts, $JOBS at a time, TT_SLOW=$TT_SLOW"
    echo $scripts | tr ' ' '\n' | xargs -P "$JOBS" -I{} "$0" --one-e2e {}
fi
t2=$(date +%s)

# Figures of a set of memcheck logs: "logs complete errors leakrecords leakbytes". A log
# without an ERROR SUMMARY belongs to a process killed with SIGKILL (some tests do that).
# A leak record counts as one error too (--errors-for-leak-kinds): errors here are the rest.
log_figures() {
    awk '
        FNR == 1 { logs++ }
        /ERROR SUMMARY:/ { complete++; for (i = 1; i <= NF; i++) if ($i == "SUMMARY:") e += $(i + 1) }
        /are (definitely|indirectly|possibly) lost in loss record/ {
            leaks++
            b = $2; gsub(/,/, "", b); bytes += b   # "==pid== 24 (16 direct, 8 indirect) bytes"
        }
        END { printf "%d %d %d %d %d\n", logs, complete, e - leaks, leaks, bytes }
    ' "$@" /dev/null
}

status=0
echo
echo "==== valgrind summary ($(date -u +%Y-%m-%d), TT_SLOW=$TT_SLOW) ===="
if [ -n "$units" ]; then
    n=0 failed=0 tests=0 tfailed=0
    for u in $units; do
        n=$((n + 1))
        run_result "$VG_LOGS/unit/$u.rc"
        p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$VG_LOGS/unit/$u.out" | tail -1)
        f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$VG_LOGS/unit/$u.out" | tail -1)
        tests=$((tests + ${p:-0} + ${f:-0}))
        tfailed=$((tfailed + ${f:-0}))
        set -- $(log_figures "$VG_LOGS/unit/$u.log")
        clean=no
        [ "$rc" != 0 ] || [ "$3" != 0 ] || [ "$4" != 0 ] || clean=yes
        verdict $clean "$u: exit $rc, ${p:-0} passed, ${f:-0} failed, $3 errors, $4 leaks, $secs s"
    done
    set -- $(log_figures "$VG_LOGS"/unit/*.log)
    echo "unit: $n programs, $tests tests ($tfailed failed), $failed programs not clean;" \
        "$3 errors, $4 leaks ($5 bytes); $((t1 - t0)) s"
    [ "$failed" = 0 ] || status=1
fi
if [ -n "$scripts" ]; then
    n=0 failed=0 tests=0
    for s in $scripts; do
        n=$((n + 1))
        run_result "$VG_LOGS/e2e/$s/rc" "$VG_LOGS/e2e/$s/out.txt"
        tests=$((tests + ${ran:-0}))
        set -- $(log_figures "$VG_LOGS/e2e/$s"/tradetrail.*.log)
        clean=no
        [ "$rc" != 0 ] || [ "$3" != 0 ] || [ "$4" != 0 ] || clean=yes
        verdict $clean "$s: ${ran:-0} tests ${res:-(no result)}, $1 processes ($(($1 - $2)) killed), $3 errors, $4 leaks, $secs s"
    done
    set -- $(log_figures "$VG_LOGS"/e2e/*/tradetrail.*.log)
    echo "e2e: $n scripts, $tests tests, $failed scripts not clean; $1 tradetrail processes" \
        "($(($1 - $2)) killed before their summary), $3 errors, $4 leaks ($5 bytes); $((t2 - t1)) s"
    for x in $EXCLUDED; do
        case " $scripts " in *" $x "*) ;; *) echo "  not run: $x ($(excluded_reason "$x"))" ;; esac
    done
    [ "$failed" = 0 ] || status=1
fi
echo "logs: $VG_LOGS   (grep -l 'definitely lost\\|Invalid\\|uninitialised' for the reports)"
exit $status
