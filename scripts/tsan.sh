#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ThreadSanitizer over the server's threads (issue 7; docs/TESTING.md, "ThreadSanitizer"):
# builds tradetrail with -fsanitize=thread, runs every end-to-end script that starts
# `tradetrail serve` against it, and collects the reports of every process (servers and CLI
# commands) through TSAN_OPTIONS log_path. Prints a summary; exits 1 when a script fails or
# any report exists, 2 on a usage or build error.
#
# Usage: scripts/tsan.sh [test_x ...]   (default: every script below)
# Environment: TSAN_BUILD_DIR  TSan build (default build-tsan); the scripts load
#                              libtradetrail.so through ctypes, which cannot load an
#                              instrumented library, so a plain build of the shared library
#                              goes in $TSAN_BUILD_DIR/plain
#              TSAN_LOG_DIR    reports and script output (default $TSAN_BUILD_DIR/tsan-logs,
#                              emptied first)
#              TT_SLOW         time factor for the e2e limits (default 4)
# TSan's shadow memory is 5-10 times the heap: test_hostile's RSS limits get TT_RSS_FACTOR=4;
# its frames outgrow test_fastpath's 256 KiB thread stacks: TT_STACK_FACTOR=8.
# Word splitting of $scripts and the figures below is intended.
# shellcheck disable=SC2046,SC2086
set -eu

SCRIPTS="test_server_api test_server_malformed test_openapi test_strategy_http
test_domain_http test_jobs test_notify test_hostile test_config test_deploy"

SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/summary.sh
. "$SRC/scripts/summary.sh"
BUILD=${TSAN_BUILD_DIR:-$SRC/build-tsan}
LOGS=${TSAN_LOG_DIR:-$BUILD/tsan-logs}
TT_SLOW=${TT_SLOW:-4}
scripts=${*:-$SCRIPTS}

for s in $scripts; do
    [ -f "$SRC/tests/e2e/$s.py" ] || {
        echo "usage: $0 [test_x ...]: no tests/e2e/$s.py" >&2
        exit 2
    }
done

flags=-fsanitize=thread
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DTT_TESTS=OFF -DTT_SANITIZE=OFF \
    -DCMAKE_C_FLAGS="$flags -fno-omit-frame-pointer" -DCMAKE_EXE_LINKER_FLAGS=$flags \
    -DCMAKE_SHARED_LINKER_FLAGS=$flags >/dev/null || exit 2
cmake --build "$BUILD" -j "$(nproc)" --target tradetrail >/dev/null || exit 2
cmake -S "$SRC" -B "$BUILD/plain" -DCMAKE_BUILD_TYPE=Debug -DTT_TESTS=OFF >/dev/null || exit 2
cmake --build "$BUILD/plain" -j "$(nproc)" --target tradetrail_shared >/dev/null || exit 2
BUILD=$(cd "$BUILD" && pwd)
rm -rf "$LOGS"
mkdir -p "$LOGS"
LOGS=$(cd "$LOGS" && pwd)

t0=$(date +%s)
echo "tsan: $(echo $scripts | wc -w) e2e scripts against $BUILD/tradetrail, TT_SLOW=$TT_SLOW"
for s in $scripts; do
    mkdir -p "$LOGS/$s"
    start=$(date +%s)
    rc=0
    # halt_on_error=0: a race is reported and the run goes on (the process then exits 66,
    # which the scripts see as a failed server stop).
    TT_BIN="$BUILD/tradetrail" TT_BUILD_DIR="$BUILD/plain" TT_SOURCE_DIR="$SRC" \
        TT_SLOW="$TT_SLOW" TT_RSS_FACTOR=4 TT_STACK_FACTOR=8 \
        TSAN_OPTIONS="log_path=$LOGS/$s/tsan halt_on_error=0 second_deadlock_stack=1" \
        python3 "$SRC/tests/e2e/$s.py" >"$LOGS/$s/out.txt" 2>&1 || rc=$?
    echo "$rc $(($(date +%s) - start))" >"$LOGS/$s/rc"
    echo "  $s: exit $rc, $(($(date +%s) - start)) s"
done
t1=$(date +%s)

status=0
echo
echo "==== ThreadSanitizer summary ($(date -u +%Y-%m-%d), TT_SLOW=$TT_SLOW) ===="
n=0 failed=0 tests=0
for s in $scripts; do
    n=$((n + 1))
    run_result "$LOGS/$s/rc" "$LOGS/$s/out.txt"
    tests=$((tests + ${ran:-0}))
    reports=$(cat "$LOGS/$s"/tsan.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer' || true)
    clean=no
    [ "$rc" != 0 ] || [ "$reports" != 0 ] || clean=yes
    verdict $clean "$s: ${ran:-0} tests ${res:-(no result)}, $reports reports, $secs s"
done
total=$(cat "$LOGS"/*/tsan.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer' || true)
echo "tsan: $n scripts, $tests tests, $failed scripts not clean; $total reports; $((t1 - t0)) s"
if [ "$total" != 0 ]; then
    echo "distinct reports (count, TSan summary line):"
    cat "$LOGS"/*/tsan.* | grep '^SUMMARY: ThreadSanitizer' | sort | uniq -c | sort -rn
    status=1
fi
[ "$failed" = 0 ] || status=1
echo "logs: $LOGS"
exit $status
