#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The JavaScript client's tests (ctest: clients/js): installs the pinned TypeScript from
# package-lock.json when node_modules is missing, compiles src/ to dist/ with tsc, and runs
# test/ under node's test runner against a real `tradetrail serve` (TT_BIN). A missing tool
# fails the test with the command that installs it; it never skips.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fail() {
    echo "clients/js: $*" >&2
    exit 1
}
command -v node >/dev/null 2>&1 || fail "node is missing (apt-get install nodejs, or make deps)"
command -v npm >/dev/null 2>&1 || fail "npm is missing (apt-get install npm, or make deps)"
cd "$here"
if [ ! -x node_modules/.bin/tsc ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null || fail "npm ci failed (is the npm registry reachable?)"
fi
npx --no-install tsc -p tsconfig.json
exec node --test test/
