#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `make run`: initialise the default data directory if needed and start the product on the
# embedded SQLite store.
set -eu
bin=${1:-build/tradetrail}
"$bin" init
if "$bin" serve --help >/dev/null 2>&1; then
    exec "$bin" serve
fi
# Until the HTTP server lands, show the ledger and how to use it.
"$bin" test
"$bin" stats
echo
echo "Try: $bin log \"restarted the order router\" --source ops"
echo "     $bin show -n 10 ; $bin verify ; $bin checkpoint"
