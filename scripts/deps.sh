#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs, with apt, only the Debian packages tradetrail needs that are missing.
# Idempotent and quiet when everything is there; called by `make run` and `make check`.
set -eu
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev clang-format libsqlite3-dev libssl-dev \
libjansson-dev libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev libyaml-dev libpq-dev libzstd-dev \
python3 python3-yaml sqlite3 wrk postgresql cppcheck dpkg-dev debootstrap zsh $*"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# The dashboard's tests (tests/browser), with TT_DEPS_BROWSER=1 (make check, make test):
# Chromium, and node with npm. Checked by command, not by package: a node from another
# source (NodeSource's bundles npm) must not be replaced.
browser=${TT_DEPS_BROWSER:-0}
if [ "$browser" = 1 ]; then
    [ -x /usr/bin/chromium ] || missing="$missing chromium"
    command -v node >/dev/null 2>&1 || missing="$missing nodejs"
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
if [ -n "$missing" ]; then
    echo "deps: installing$missing" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    if ! $SUDO apt-get install -y -qq $missing >/dev/null 2>&1; then
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq $missing >/dev/null
    fi
fi
# playwright-core as pinned in the lockfile, when it is missing or the lockfile changed.
[ "$browser" = 1 ] || exit 0
dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
    ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.tt-lock"; then
    echo "deps: npm ci in tests/browser" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null &&
        cp package-lock.json node_modules/.tt-lock)
fi
