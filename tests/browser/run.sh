#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs one of the dashboard's test files under node's test runner (ctest: browser/verify,
# browser/dashboard). Every tool it needs must be there: a missing one fails the test with
# the command that installs it (scripts/deps.sh does all of it), it never skips.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fail() {
    echo "browser tests: $*" >&2
    exit 1
}
command -v node >/dev/null 2>&1 || fail "node is missing (apt-get install nodejs, or make deps)"
if [ "$1" = dashboard.test.mjs ]; then
    [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "Chromium is missing (apt-get install chromium, or make deps)"
    [ -f "$here/node_modules/playwright-core/package.json" ] ||
        fail "playwright-core is missing (cd tests/browser && npm ci, or make deps)"
fi
exec node --test "$here/$1"
