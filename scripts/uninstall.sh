#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Remove what `make install` installed: every file listed in CMake's install_manifest.txt
# (installed paths, without DESTDIR: the same DESTDIR must be given again), then the directories of our own that are left
# empty (share/tradetrail/web, share/doc/tradetrail). Shared directories such as bin/ or
# lib/pkgconfig stay even when empty: other packages own them too.
# usage: [DESTDIR=DIR] uninstall.sh BUILD_DIR
set -eu
destdir="${DESTDIR:-}"
manifest="${1:?usage: uninstall.sh BUILD_DIR}/install_manifest.txt"
if [ ! -f "$manifest" ]; then
    echo "uninstall: $manifest not found (nothing installed from this build)" >&2
    exit 1
fi
n=0
while IFS= read -r f || [ -n "$f" ]; do
    [ -n "$f" ] || continue
    f="$destdir$f"
    if [ -e "$f" ] || [ -L "$f" ]; then
        rm -f -- "$f"
        n=$((n + 1))
    fi
done <"$manifest"
# Our directories: every ancestor of a removed file up to a directory named tradetrail,
# deepest first so that a parent is tried after its children are gone.
while IFS= read -r f || [ -n "$f" ]; do
    case "$f" in */tradetrail/*) ;; *) continue ;; esac
    d=$(dirname -- "$destdir$f")
    while :; do
        echo "$d"
        case "$d" in */tradetrail) break ;; esac
        d=$(dirname -- "$d")
    done
done <"$manifest" | sort -ru | while IFS= read -r d; do
    rmdir -- "$d" 2>/dev/null || true
done
echo "uninstall: removed $n files listed in $manifest"
