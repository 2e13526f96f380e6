#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Static analysis of the product's C code (src, cli, server, front) with cppcheck, part of
# `make check`: errors, warnings, portability and performance findings fail the check.
# False positives are suppressed in scripts/cppcheck-suppressions.txt, each with its reason.
set -eu
cd "$(dirname "$0")/.."
dirs=""
for d in src cli server front; do
    [ -d "$d" ] && dirs="$dirs $d"
done
exec cppcheck --quiet --std=c11 -j "${CPPCHECK_JOBS:-2}" \
    --enable=warning,portability,performance --inline-suppr --error-exitcode=1 \
    --suppress=missingIncludeSystem --suppressions-list=scripts/cppcheck-suppressions.txt \
    -D_GNU_SOURCE -DTT_BUILDING_LIBRARY -Iinclude -Isrc -I. -Icli -Iserver \
    --template='{file}:{line}: {severity}: {message} [{id}]' $dirs
