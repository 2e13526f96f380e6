#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check that docs/ARCHITECTURE.md's table "SPEC rule -> file:function" still matches the
code: every `path:name` it cites must be a function (or a table or string) defined in
that file. Run by hand or by `make docs-check`; a renamed or moved function fails here
until the table says where it went.

Usage: scripts/check-arch-table.py [DOC]   (default docs/ARCHITECTURE.md)
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def defined(path, name):
    """True when path defines name: a function, or an initialised variable."""
    try:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return False
    func = re.compile(r"^[A-Za-z_][^;\n]*?[\s\*]" + re.escape(name) + r"\([^;]*$", re.M)
    var = re.compile(r"^[A-Za-z_][\w\s\*]*?\b" + re.escape(name) + r"\s*(\[[^\]]*\])*\s*=", re.M)
    return bool(func.search(text) or var.search(text))


def main():
    doc = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "ARCHITECTURE.md")
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    start = text.find("## SPEC rule")
    if start < 0:
        print(f"check-arch-table: {doc} has no 'SPEC rule' table", file=sys.stderr)
        return 1
    bad = 0
    cited = 0
    for line in text[start:].splitlines():
        if not line.startswith("|"):
            continue
        for path, name in re.findall(r"`([\w./-]+\.c):(\w+)`", line):
            cited += 1
            if not defined(path, name):
                print(f"check-arch-table: {path}:{name} cited in {os.path.basename(doc)} "
                      f"is not defined there", file=sys.stderr)
                bad = 1
    if cited == 0:
        print("check-arch-table: the table cites no file:function", file=sys.stderr)
        return 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
