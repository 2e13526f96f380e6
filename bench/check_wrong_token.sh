#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The ctest bench/http_wrong_token: bench/measure.d/http.sh loading tradetrail serve with a
# token the server refuses must fail (exit 1, saying the run failed) and print no append
# figure, so that 401s can never be reported as a rate. Usage: check_wrong_token.sh BUILD_DIR.
set -u
here=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
BENCH_SMOKE=1 BENCH_HTTP_TOKEN=tt_0000000000000000000000000000000000000000000000000000000000000000 \
    "$here/measure.d/http.sh" "$1" "$work" >"$work/out" 2>"$work/err"
rc=$?
cat "$work/out" "$work/err"
if [ "$rc" -ne 1 ]; then
    echo "FAIL: http.sh exited $rc with a wrong token; expected 1 (a failed run)" >&2
    exit 1
fi
if grep -Eq '^figure http_(append|ndjson)' "$work/out"; then
    echo "FAIL: http.sh printed an append figure for a run of refused requests" >&2
    exit 1
fi
if ! grep -q '401' "$work/err" || ! grep -q 'a failed run' "$work/err"; then
    echo "FAIL: http.sh did not say the run failed on 401 answers" >&2
    exit 1
fi
echo "ok: a wrong token fails the measurement"
