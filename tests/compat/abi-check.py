#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-only
"""Test 1: our libxenforeignmemory.so.1 against Debian's, read at test time.

Everything compared comes from the two ELF files through readelf (no list
of symbols is typed in here): the defined dynamic symbols with their
version and default-ness, the version definitions and their parent chain,
the SONAME, and NEEDED (ours must be a subset of Debian's).  TAP output;
exit 77 with a reason when Debian's library or readelf is missing.

usage: abi-check.py OUR_LIB [DEBIAN_LIB]
"""
import os
import re
import shutil
import subprocess
import sys

DEBIAN = "/usr/lib/x86_64-linux-gnu/libxenforeignmemory.so.1"


def readelf(args, path):
    return subprocess.run(["readelf", "-W"] + args + [path], check=True,
                          capture_output=True, text=True).stdout


def dyn_symbols(path):
    """{(name, version, default, type, bind)} of defined dynamic symbols."""
    out = set()
    for line in readelf(["--dyn-syms"], path).splitlines():
        f = line.split()
        if len(f) < 8 or not re.match(r"^\d+:$", f[0]) or f[6] == "UND":
            continue
        typ, bind, name = f[3], f[4], f[7]
        if bind == "LOCAL":
            continue
        m = re.match(r"^([^@]+)(@@?)(.*)$", name)
        if not m:
            # Each version node has an ABS symbol of its own name; it is
            # kept (it must match too) but has no version of its own.
            out.add((name, "", None, typ, bind + "/" + f[6]))
            continue
        sym, at, ver = m.groups()
        out.add((sym, ver, at == "@@", typ, bind))
    return out


def version_defs(path):
    """[(name, flags, [parents])] in file order, the BASE entry excluded."""
    text = readelf(["-V"], path)
    sect = text.split(".gnu.version_d'")
    if len(sect) < 2:
        return []
    body = sect[1].split("Version needs section")[0]
    defs = []
    for line in body.splitlines():
        m = re.search(r"Flags: (\S+)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)",
                      line)
        if m:
            defs.append([m.group(2), m.group(1), []])
            continue
        m = re.search(r"Parent \d+: (\S+)", line)
        if m and defs:
            defs[-1][2].append(m.group(1))
    return [tuple([d[0], d[1], tuple(d[2])]) for d in defs
            if d[1] != "BASE"]


def dynamic(path, tag):
    vals = []
    for line in readelf(["-d"], path).splitlines():
        if "(%s)" % tag in line:
            vals.append(re.search(r"\[(.*)\]", line).group(1))
    return vals


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, ok, what, ours=None, theirs=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, what))
        if not ok:
            self.failed += 1
            print("# ours:   %r" % (ours,))
            print("# debian: %r" % (theirs,))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    ignore_san = "--ignore-sanitizer-runtimes" in sys.argv
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    ours = args[0]
    theirs = args[1] if len(args) > 1 else DEBIAN
    if not os.path.exists(theirs):
        print("1..0 # SKIP Debian's %s is absent (apt-get install "
              "libxenforeignmemory1)" % theirs)
        return 77
    if not shutil.which("readelf"):
        print("1..0 # SKIP readelf not found (binutils)")
        return 77

    t = Tap()
    print("1..8")
    a, b = dyn_symbols(ours), dyn_symbols(theirs)
    t.check(a == b, "defined dynamic symbols, versions and @@ are Debian's "
            "(%d symbols)" % len(b), sorted(a - b), sorted(b - a))
    funcs = [s for s in a if s[2] is not None]
    t.check(funcs and all(s[2] for s in funcs), "every exported function "
            "(%d) is a default version (@@)" % len(funcs),
            sorted(s for s in funcs if not s[2]))
    t.check({s[0] for s in a} == {s[0] for s in b},
            "same symbol names", sorted(a), sorted(b))
    va, vb = version_defs(ours), version_defs(theirs)
    t.check(va == vb, "version nodes, flags and parent chain are Debian's "
            "(%s)" % " <- ".join(v[0] for v in vb), va, vb)
    t.check(len(vb) > 0 and all(
        (i == 0 and not v[2]) or (i > 0 and v[2] == (va[i - 1][0],))
        for i, v in enumerate(va)),
        "each version node inherits exactly the previous one", va)
    sa, sb = dynamic(ours, "SONAME"), dynamic(theirs, "SONAME")
    t.check(sa == sb and sa == ["libxenforeignmemory.so.1"],
            "SONAME", sa, sb)
    na, nb = dynamic(ours, "NEEDED"), dynamic(theirs, "NEEDED")
    if ignore_san:
        san = [n for n in na if re.match(r"lib(a|ub|t|l)san\.so", n)]
        print("# sanitizer build: not counting %s" % san)
        na = [n for n in na if n not in san]
    t.check(set(na) <= set(nb), "NEEDED is a subset of Debian's", na, nb)
    ra = dynamic(ours, "RPATH") + dynamic(ours, "RUNPATH")
    t.check(not ra, "no RPATH/RUNPATH (no build-tree path baked in)", ra)
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
