# SPDX-License-Identifier: Apache-2.0
# Shared by scripts/valgrind.sh and scripts/tsan.sh (sourced, not run): reading what one
# test program or e2e script left behind, and printing its line of the summary.
# Word splitting of the rc file's two numbers is intended.
# shellcheck shell=sh disable=SC2046

# run_result RC_FILE [OUT_FILE]: sets rc and secs from RC_FILE ("exit seconds"), and, with
# an e2e script's output, ran (tests run) and res (its OK / FAILED line).
run_result() {
    set -- $(cat "$1") "${2:-}"
    rc=$1 secs=$2
    [ -n "$3" ] || return 0
    ran=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$3" | tail -1)
    res=$(grep -E '^(OK|FAILED)' "$3" | tail -1)
}

# verdict CLEAN LINE: prints "  ok   LINE" when CLEAN is yes, else "  FAIL LINE" and counts
# the failure in $failed.
verdict() {
    if [ "$1" = yes ]; then
        echo "  ok   $2"
    else
        failed=$((failed + 1))
        echo "  FAIL $2"
    fi
}
