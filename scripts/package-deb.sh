#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A Debian package of tradetrail built with dpkg-deb from an existing build (make build):
# the build is installed under /usr into a staging tree (DESTDIR), man pages are
# compressed as Debian does, DEBIAN/control gets the Depends that dpkg-shlibdeps computes
# from the program and the shared library (plus adduser, which postinst uses), the
# maintainer scripts of deploy/debian go in beside it, and dpkg-deb writes the .deb. One
# binary package holds program, libraries, header and pkg-config file (no -dev split).
# usage: package-deb.sh [BUILD_DIR [OUT_DIR]]   (prints the path of the .deb)
set -eu
build=$(cd "${1:-build}" && pwd)
out=$(mkdir -p "${2:-$build}" && cd "${2:-$build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture; do
    command -v "$tool" >/dev/null || { echo "package-deb: $tool not found (apt-get install dpkg-dev)" >&2; exit 3; }
done
[ -x "$build/tradetrail" ] || { echo "package-deb: $build/tradetrail not built (make build)" >&2; exit 3; }

version=$("$build/tradetrail" --version | awk '{print $2}')
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"

# cmake --install rewrites the build's install_manifest.txt: keep the one of `make install`
# so that `make uninstall` still removes what it installed.
manifest="$build/install_manifest.txt"
[ -f "$manifest" ] && cp "$manifest" "$work/manifest.saved"
DESTDIR="$root" cmake --install "$build" --prefix /usr >/dev/null
if [ -f "$work/manifest.saved" ]; then mv "$work/manifest.saved" "$manifest"; else rm -f "$manifest"; fi

# Debian policy 12.1 and 12.5: compressed man pages, a copyright file.
find "$root/usr/share/man" -name '*.1' -exec gzip -9n {} +
doc="$root/usr/share/doc/tradetrail"
mkdir -p "$doc"
cat >"$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tradetrail

Files: *
Copyright: tradetrail contributors
License: Apache-2.0
 On Debian systems the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
chmod -R u+rwX,go+rX,go-w "$root"

# Depends: the packages that hold the shared libraries the ELF files need (dpkg-shlibdeps
# reads debian/control only for the package's name).
mkdir -p "$work/debian"
printf 'Source: tradetrail\n\nPackage: tradetrail\nArchitecture: any\n' >"$work/debian/control"
lib=$(cd "$root" && find usr/lib -name 'libtradetrail.so.*' -type f | head -n 1)
depends=$(cd "$work" && dpkg-shlibdeps -O -l"$root/$(dirname "$lib")" \
    "root/usr/bin/tradetrail" "root/$lib" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "package-deb: dpkg-shlibdeps found no dependencies" >&2; exit 3; }

mkdir -p "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<CONTROL
Package: tradetrail
Version: $version
Architecture: $arch
Maintainer: tradetrail maintainers <tradetrail@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: adduser (>= 3.134), $depends
Section: admin
Priority: optional
Description: tamper-evident audit ledger for automated trading
 tradetrail stores audit events of trading bots, strategy orchestrators, AI
 feedback loops and maintenance daemons append-only in a Merkle tree (RFC 9162)
 with Ed25519-signed checkpoints, serves them over an HTTP API with a web
 dashboard, and verifies that nothing was changed or removed.
 .
 This package holds the tradetrail program, libtradetrail (shared and static),
 its header and pkg-config file, man pages, bash and zsh completion, systemd
 units and the dashboard's files.
CONTROL
# postinst creates the system user "tradetrail" the units run as and its state directory
# /var/lib/tradetrail (0700); postrm removes them on purge when nothing is left in the
# directory. The units are installed disabled: the operator enables them
# (docs/OPERATIONS.md). postinst uses adduser's --comment, which Debian 12's 3.134 has:
# hence the version in Depends.
install -m 0755 "$src/deploy/debian/postinst" "$src/deploy/debian/postrm" "$root/DEBIAN/"
deb="$out/tradetrail_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
