#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Fails when a C file differs from .clang-format, and when a banned function is used.
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
[ -z "$files" ] && exit 0
bad=0
for f in $files; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "format: $f differs from .clang-format (run clang-format -i $f)" >&2
        bad=1
    fi
done
if grep -nE '\b(sprintf|strcpy|strcat|strtok|atoi|gets)\s*\(' $files | grep -v 'banned-ok'; then
    echo "format: banned function used (above)" >&2
    bad=1
fi
exit $bad
