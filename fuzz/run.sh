#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang in a separate build directory (if needed) and runs
# each for SECONDS on a temporary copy of its committed corpus, after replaying its
# regression inputs; prints executions per target and fails if any target finds a crash.
#
#   fuzz/run.sh [--no-build] [-j N] SECONDS [TARGET...]   fuzz each target for SECONDS
#   fuzz/run.sh [--no-build] --replay [TARGET...]          only replay corpora, regressions
#
# -j N fuzzes N targets at a time (default 1); make check uses -j 2 15, make fuzz 300.
# TARGET is fuzz_<name> or <name>; default all. TT_FUZZ_BUILD_DIR (default build-fuzz)
# names the build directory. Crashing inputs are kept in $TT_FUZZ_BUILD_DIR/artifacts/.
# With TT_FUZZ_KEEP=DIR the grown corpora are kept in DIR/<name> (to merge into fuzz/corpus
# or to measure coverage) instead of being deleted.
set -eu
cd "$(dirname "$0")/.."
build=${TT_FUZZ_BUILD_DIR:-build-fuzz}

usage() {
    echo "usage: fuzz/run.sh [--no-build] [-j N] SECONDS|--replay [TARGET...]" >&2
    exit 2
}

do_build=1
seconds=
jobs=1
while [ $# -gt 0 ]; do
    case $1 in
    --no-build) do_build=0 ;;
    --replay) seconds=0 ;;
    -j)
        [ $# -gt 1 ] || usage
        jobs=$2
        shift
        ;;
    -*) usage ;;
    *) break ;;
    esac
    shift
done
if [ -z "$seconds" ]; then
    [ $# -gt 0 ] || usage
    seconds=$1
    shift
    case $seconds in '' | *[!0-9]* | 0) usage ;; esac
fi
case $jobs in '' | *[!0-9]* | 0) usage ;; esac

targets=
for t in "${@:-}"; do
    [ -n "$t" ] || continue
    targets="$targets fuzz_${t#fuzz_}"
done
if [ -z "$targets" ]; then
    for src in fuzz/fuzz_*.c; do
        t=${src#fuzz/}
        targets="$targets ${t%.c}"
    done
fi

if [ "$do_build" = 1 ]; then
    cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DTT_FUZZ=ON -DTT_TESTS=OFF >/dev/null
    if ! cmake --build "$build" --target fuzz_all -j "$(nproc)" >"$build/fuzz-build.log" 2>&1; then
        cat "$build/fuzz-build.log" >&2
        grep -q 'fuzz_all' "$build/Makefile" 2>/dev/null ||
            echo "run.sh: no fuzz_all target: is fuzz/fuzz.cmake included (TT_FUZZ)?" >&2
        exit 1
    fi
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
for t in $targets; do
    [ -x "$build/fuzz/$t" ] || { echo "run.sh: $build/fuzz/$t not built" >&2; exit 1; }
done

row() {
    printf '%-22s %8s %12s %9s %6s %6s  %s\n' "$@"
}

# One target: its table row goes to $work/T.row; on failure $work/T.fail holds the report.
run_one() {
    t=$1
    name=${t#fuzz_}
    bin=$build/fuzz/$t
    log=$work/$t.log
    art=$build/artifacts/$name
    mkdir -p "$art"

    # Every committed input first, once each: corpus seeds and fixed-bug reproducers.
    files=$(find "fuzz/corpus/$name" "fuzz/regressions/$name" -type f 2>/dev/null | sort)
    # shellcheck disable=SC2086 # file names are ours, without spaces
    if [ -n "$files" ] && ! "$bin" -artifact_prefix="$art/" $files >"$log" 2>&1; then
        row "$t" - - - - - "FAIL (replay)" >"$work/$t.row"
        tail -n 40 "$log" >"$work/$t.fail"
        return
    fi
    if [ "$seconds" = 0 ]; then
        row "$t" - "$(echo "$files" | grep -c .)" - - - "ok (replay)" >"$work/$t.row"
        return
    fi

    corpus=$work/corpus-$name
    mkdir -p "$corpus"
    if [ -d "fuzz/corpus/$name" ]; then cp -R "fuzz/corpus/$name/." "$corpus/"; fi
    dict=
    if [ -f "fuzz/dict/$name.dict" ]; then dict="-dict=fuzz/dict/$name.dict"; fi
    rc=0
    # shellcheck disable=SC2086 # $dict is one word or none
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/" $dict "$corpus" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    units=$(find "$corpus" -type f | wc -l)
    result=ok
    [ "$rc" = 0 ] || result="FAIL (exit $rc)"
    row "$t" "$seconds" "${execs:--}" "${rate:--}" "${cov:--}" "$units" "$result" >"$work/$t.row"
    if [ -n "${TT_FUZZ_KEEP:-}" ]; then
        mkdir -p "$TT_FUZZ_KEEP"
        rm -rf "${TT_FUZZ_KEEP:?}/$name"
        mv "$corpus" "$TT_FUZZ_KEEP/$name"
    fi
    if [ "$rc" != 0 ]; then
        {
            grep -E 'ERROR|invariant failed|runtime error|SUMMARY|Test unit written' "$log" || true
            tail -n 40 "$log"
        } >"$work/$t.fail"
    fi
}

# -j N: N lanes, each running every Nth target in turn.
lane=0
while [ "$lane" -lt "$jobs" ]; do
    (
        i=0
        for t in $targets; do
            [ $((i % jobs)) = "$lane" ] && run_one "$t"
            i=$((i + 1))
        done
    ) &
    lane=$((lane + 1))
done
wait

failed=
row target seconds executions exec/s cov corpus result
for t in $targets; do
    cat "$work/$t.row"
    if [ -f "$work/$t.fail" ]; then
        echo "---- $t" >&2
        cat "$work/$t.fail" >&2
        failed="$failed $t"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed (inputs in $build/artifacts/; reproduce with" \
        "$build/fuzz/<target> <file>)" >&2
    exit 1
fi
