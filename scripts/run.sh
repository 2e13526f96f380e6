#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `make run`: initialise the default data directory if needed and start the product on the
# embedded SQLite store.
set -eu
bin=${1:-build/tradetrail}
# serve initialises the default data directory on first start and prints an admin token.
exec "$bin" serve
