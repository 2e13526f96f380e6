#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Fails when a C file differs from .clang-format, when a banned function is used, and when
# the product's code (src, cli, server, front) compares a digest or a secret with memcmp:
# those go through tt_hash_equal / tti_ct_equal, whose time does not depend on where the
# inputs differ (STYLE.md). A comment with `banned-ok` and the reason, on the line or the
# line above, allows one use.
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
product=$(echo "$files" | grep -E '^(src|cli|server|front)/' || true)
if [ -n "$product" ] && awk '
    FNR == 1 { prev = "" }
    /(^|[^A-Za-z0-9_])memcmp[ \t]*\(/ && tolower($0) ~ /hash|digest|root|key|token|secret|sig|leaf|nonce|passw/ &&
        $0 !~ /banned-ok/ && prev !~ /banned-ok/ { print FILENAME ":" FNR ": " $0; found = 1 }
    { prev = $0 }
    END { exit !found }' $product; then
    echo "format: memcmp over a digest or secret (above): use tt_hash_equal or tti_ct_equal" >&2
    bad=1
fi
exit $bad
