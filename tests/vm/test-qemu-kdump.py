#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-only
"""xfm reads QEMU's own kdump output (issue 14).  Prints TAP.

  test-qemu-kdump.py BUILD-DIR

A Debian kernel guest under QEMU (tests/lib/linux_guest.py, 128 MiB,
TCG) is paused (QMP "stop"), then QEMU dumps it with dump-guest-memory,
once as ELF and once in every kdump format this QEMU offers
(query-dump-guest-memory-capability: Debian's QEMU 7.2 offers kdump-zlib
only, built without lzo and snappy; it writes makedumpfile's flattened
form).  For each kdump file:
xfm recognises it, its ranges are exactly the ELF's, and every byte xfm
reads from it equals what xfm reads from the ELF (the guest stayed
paused, so both hold the same memory).  Exit 0 all passed, 1 a failure,
77 cannot run here (why printed; under CI=true that is a failure of the
stage, see scripts/test.sh).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(here), "lib"))
from linux_guest import LinuxGuest, missing  # noqa: E402
from qmp import QMP  # noqa: E402
from tap import Tap  # noqa: E402

xfm = os.path.join(os.path.abspath(sys.argv[1]), "tools", "xfm", "xfm")
t = Tap()
tap = t.ok


def ranges(path):
    r = subprocess.run([xfm, "ranges", "--json", path], capture_output=True,
                       text=True)
    if r.returncode:
        raise RuntimeError(f"xfm ranges {path}: {r.stderr.strip()}")
    return [(x["start"], x["end"]) for x in json.loads(r.stdout)["ranges"]]


def read(path, start, end):
    r = subprocess.run([xfm, "-q", "read", "--raw", path,
                        f"{start:#x}..{end:#x}"], capture_output=True)
    if r.returncode:
        raise RuntimeError(f"xfm read {path} {start:#x}..{end:#x}: "
                           f"{r.stderr.decode().strip()}")
    return r.stdout


def facts(path):
    r = subprocess.run([xfm, "info", "--json", path], capture_output=True,
                       text=True)
    if r.returncode:
        raise RuntimeError(f"xfm info {path}: {r.stderr.strip()}")
    return json.loads(r.stdout)["info"]


def check(elf, path, fmt, elf_ranges):
    i = facts(path)
    seen = (i.get("format"), i.get("kdump.compression"))
    if seen != ("kdump", fmt[len("kdump-"):]):
        tap(False, f"{fmt}: xfm sees format {seen[0]}, compression "
            f"{seen[1]}", json.dumps(i))
        return
    got = ranges(path)
    if got != elf_ranges:
        tap(False, f"{fmt}: xfm's ranges of QEMU's kdump are the ELF's",
            f"kdump {[(hex(a), hex(b)) for a, b in got]}\n"
            f"elf   {[(hex(a), hex(b)) for a, b in elf_ranges]}")
        return
    for a, b in got:
        x, y = read(path, a, b), read(elf, a, b)
        if x != y:
            i = next(i for i in range(len(x)) if x[i] != y[i])
            tap(False, f"{fmt}: bytes equal the ELF's",
                f"first difference at {a + i:#x}")
            return
    total = sum(b - a for a, b in got)
    tap(True, f"dump-guest-memory -f {fmt} ({os.path.getsize(path)} bytes; "
        f"xfm: kdump, {seen[1]}, flattened {i.get('kdump.flattened')}, "
        f"release '{i.get('kdump.release')}'): {len(got)} ranges, {total} "
        "bytes, byte-identical to QEMU's ELF of the paused guest")


def main():
    why = missing()
    if why:
        Tap.skip_all(why)
    tmp = tempfile.mkdtemp(prefix="xfm-qemu-kdump.")
    g = LinuxGuest(os.path.join(tmp, "guest"), mem_mb=128)
    try:
        t0 = time.monotonic()
        g.start()
        tap(True, f"guest {g.release} booted in "
            f"{time.monotonic() - t0:.0f} s")
        q = QMP(g.qmp)
        caps = q.cmd("query-dump-guest-memory-capability")["formats"]
        kdumps = [f for f in caps if f.startswith("kdump-")]
        tap("kdump-zlib" in kdumps,
            f"QEMU offers {', '.join(caps)}", "")
        q.cmd("stop")
        elf = os.path.join(tmp, "qemu.elf")
        q.cmd("dump-guest-memory", paging=False, protocol="file:" + elf)
        files = {}
        for f in kdumps:
            files[f] = os.path.join(tmp, f)
            q.cmd("dump-guest-memory", paging=False,
                  protocol="file:" + files[f], format=f)
        q.close()
        g.stop()
        er = ranges(elf)
        for f, path in files.items():
            try:
                check(elf, path, f, er)
            except RuntimeError as e:
                tap(False, f"{f}: {e}")
    finally:
        g.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash of the harness is a failure with why
        tap(False, f"harness: {type(e).__name__}: {e}")
    sys.exit(t.done())
