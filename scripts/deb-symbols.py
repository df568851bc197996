#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-only
"""Add to debian/libxfm0.symbols every symbol of src/libxfm.map it lacks.

A new symbol gets the version of debian/changelog (the first package that
has it); symbols already listed keep theirs.  With --check, change nothing
and exit 1 when symbols are missing (or listed but gone from the map).

usage: scripts/deb-symbols.py [--check]
"""
import re
import subprocess
import sys
from pathlib import Path

top = Path(__file__).resolve().parent.parent
MAP = top / "src/libxfm.map"
SYMBOLS = top / "debian/libxfm0.symbols"


def map_symbols():
    """{"name@NODE"} of the version script, the nodes themselves included."""
    out = set()
    text = re.sub(r"/\*.*?\*/", "", MAP.read_text(), flags=re.S)
    for node, body in re.findall(r"(XFM_[0-9.]+)\s*\{(.*?)\}", text, re.S):
        out.add(f"{node}@{node}")
        for sym in re.findall(r"\b(xfm_\w+)\s*;", body.split("local:")[0]):
            out.add(f"{sym}@{node}")
    return out


def main():
    check = sys.argv[1:] == ["--check"]
    lines = SYMBOLS.read_text().splitlines()
    head = [l for l in lines if not l.startswith(" ")]
    have = {l.split()[0]: l for l in lines if l.startswith(" ")}
    want = map_symbols()
    missing = sorted(want - set(have))
    gone = sorted(set(have) - want)
    if check:
        for s in missing:
            print(f"debian/libxfm0.symbols lacks {s}")
        for s in gone:
            print(f"debian/libxfm0.symbols lists {s}, not in src/libxfm.map")
        return 1 if missing or gone else 0
    version = subprocess.run(
        ["dpkg-parsechangelog", "-l", str(top / "debian/changelog"),
         "-S", "Version"], check=True, capture_output=True,
        text=True).stdout.strip()
    for s in missing:
        have[s] = f" {s} {version}"
        print(f"added {s} {version}")
    body = [have[k] for k in sorted(have)]
    SYMBOLS.write_text("\n".join(head + body) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
