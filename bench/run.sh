#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The benchmark harness of SPEC 13: `bench/run.sh BUILD_DIR` runs every figure of
# BUILD_DIR/bench_ledger several times and writes bench/RESULTS.md. With BENCH_SMOKE=1 it is
# a seconds-long run with tiny sizes and no goal checks, reported in a temporary file (the
# ctest bench/smoke). The orchestration lives in bench/run.py; its header lists the knobs.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: bench/run.sh BUILD_DIR" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
if [ ! -x "$build/bench_ledger" ]; then
    if ! cmake --build "$build" --target bench_ledger >&2; then
        echo "bench: $build/bench_ledger is missing and cannot be built;" \
            "is bench/bench.cmake included from CMakeLists.txt?" >&2
        exit 1
    fi
fi
# The system interpreter when there is one: the harness needs only the standard library.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
exec "$py" "$here/run.py" "$build"
