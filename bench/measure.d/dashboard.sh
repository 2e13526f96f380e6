#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The dashboard's first view (SPEC 11: at most 1 s on loopback on a ledger of 10 million
# events): `tradetrail serve` on $BENCH_LEDGER (the BENCH_SCALE=10m ledger when there is
# one, else the round's ledger; without it a ledger of 20,000 events is built here), and
# bench/dashboard_first_view.mjs in headless Chromium, which times navigation to the first
# timeline row. Skipped (77) without node, Chromium or tests/browser's npm packages.
# Usage (from bench/run.py): dashboard.sh BUILD_DIR WORKDIR.
set -eu
build=$1
work=$2
here=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$build/tradetrail" ] || { echo "$build/tradetrail is not built" >&2; exit 77; }
command -v node >/dev/null || { echo "node is not installed (make deps)" >&2; exit 77; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "chromium is not installed (make deps)" >&2; exit 77; }
[ -d "$here/../tests/browser/node_modules/playwright-core" ] ||
    { echo "playwright-core is not installed (make deps)" >&2; exit 77; }
loads=7
[ "${BENCH_SMOKE:-0}" = 1 ] && loads=2
ledger=${BENCH_LEDGER:-}
if [ -z "$ledger" ]; then
    ledger="$work/dashboard-ledger"
    rm -rf "$ledger"
    "$build/bench_ledger" append 20000 5000 "$ledger" >/dev/null
fi
token=$("$build/tradetrail" --data "$ledger" token create --role read --name bench-dashboard -o json |
    sed 's/.*"token":"\([^"]*\)".*/\1/')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$build/tradetrail" --data "$ledger" serve --listen "127.0.0.1:$port" >"$work/dashboard-serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
i=0
while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 300 ] && { echo "dashboard.sh: the server did not start" >&2; exit 1; }
    sleep 0.1
done
echo "info chromium $(${CHROMIUM:-/usr/bin/chromium} --version 2>/dev/null | awk '{print $2}')"
node "$here/dashboard_first_view.mjs" "http://127.0.0.1:$port" "$token" "$loads"
echo "figure dashboard_ledger_events $("$build/tradetrail" --data "$ledger" stats -o json |
    sed 's/.*"tree_size":\([0-9]*\).*/\1/') events"
