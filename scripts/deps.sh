#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs, with apt, only the Debian packages tradetrail needs that are missing.
# Idempotent and quiet when everything is there; called by `make run` and `make check`.
set -eu
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev clang-format libsqlite3-dev libssl-dev \
libjansson-dev libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev libyaml-dev libpq-dev \
python3 python3-yaml sqlite3 wrk postgresql cppcheck $*"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq $missing >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq $missing >/dev/null
fi
