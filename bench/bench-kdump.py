#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-only
"""ELF dump -> kdump-compressed: xfm against makedumpfile, side by side in
one run, for every compression both have (issue 14).

  bench/bench-kdump.py [--build DIR] [--mib N] [--reps N] [--elf FILE]
                       [--out FILE]

The ELF: a Debian kernel guest under QEMU (tests/lib/linux_guest.py, N
MiB, default 1024) whose page cache holds a mix the way a used machine's
memory does: a quarter of RAM of random bytes (incompressible), an eighth
of copies of the guest's own busybox binary (compressible), the rest what
the kernel left (mostly zero pages).  `xfm dump -f elf` of the live guest
writes it (with the VMCOREINFO note makedumpfile needs); --elf FILE uses
an existing ELF dump instead.  Then, per codec, --reps rounds (default 3),
the two tools alternating within a round, each from the same ELF and at
the same dump level (1: zero pages share one descriptor, as xfm writes):
  makedumpfile -c|-l -d 1 ELF OUT    (Debian's 1.7.2: zlib and lzo; its
                                      snappy and zstd are disabled)
  xfm dump -f kdump --compress zlib|lzo ELF OUT   (both cores)
  and "none": makedumpfile -d 1 against xfm --compress none.
Each output must open in xfm (`xfm info`).  Goals: xfm throughput >= 1.0x
makedumpfile's (medians), output size within 5 %.  Writes a JSON result
(bench/results/<date>-kdump[-N].json unless --out; never overwrites) and
prints the rows.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

CODECS = [("zlib", ["-c"]), ("lzo", ["-l"]), ("none", [])]


def result_path(out):
    if out:
        return out
    base = os.path.join(HERE, "results",
                        datetime.date.today().isoformat() + "-kdump")
    p, k = base + ".json", 1
    while os.path.exists(p):
        k += 1
        p = f"{base}-{k}.json"
    return p


def make_elf(xfm, tmp, mib):
    from linux_guest import LinuxGuest, missing
    why = missing()
    if why:
        sys.exit(f"bench-kdump: cannot boot a guest: {why}")
    g = LinuxGuest(os.path.join(tmp, "guest"), mem_mb=mib)
    g.start()
    try:
        g.run(f"dd if=/dev/urandom of=/random bs=1M count={mib // 4} "
              "2>/dev/null", timeout=900)
        g.run(f"n=0; while [ $n -lt {mib // 8} ]; do cat /bin/busybox; "
              "n=$((n + 2)); done > /text", timeout=900)
        elf = os.path.join(tmp, "guest.elf")
        subprocess.run([xfm, "-q", "dump", "-f", "elf", g.uri, elf],
                       check=True)
    finally:
        g.stop()
    return elf


def timed(cmd):
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.monotonic() - t0
    if r.returncode:
        sys.exit(f"bench-kdump: {' '.join(cmd)}: exit {r.returncode}: "
                 f"{(r.stderr or r.stdout).strip()[-400:]}")
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-ci"))
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--elf")
    ap.add_argument("--out")
    a = ap.parse_args()
    xfm = os.path.join(os.path.abspath(a.build), "tools", "xfm", "xfm")
    out = result_path(a.out)
    if os.path.exists(out):
        sys.exit(f"bench-kdump: {out} exists: result files are never "
                 "overwritten")
    tmp = tempfile.mkdtemp(prefix="xfm-bench-kdump.",
                           dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    try:
        elf = a.elf or make_elf(xfm, tmp, a.mib)
        elf_bytes = os.path.getsize(elf)
        rows = []
        for codec, flags in CODECS:
            t = {"makedumpfile": [], "xfm": []}
            size = {}
            for r in range(a.reps):
                order = ["makedumpfile", "xfm"] if r % 2 == 0 else \
                    ["xfm", "makedumpfile"]
                for tool in order:
                    o = os.path.join(tmp, f"out-{tool}")
                    if os.path.exists(o):
                        os.unlink(o)
                    if tool == "xfm":
                        cmd = [xfm, "-q", "dump", "-f", "kdump",
                               "--compress", codec, elf, o]
                    else:
                        cmd = ["makedumpfile", *flags, "-d", "1", elf, o]
                    t[tool].append(timed(cmd))
                    size[tool] = os.path.getsize(o)
                    if subprocess.run([xfm, "info", o],
                                      capture_output=True).returncode:
                        sys.exit(f"bench-kdump: xfm cannot open {tool}'s "
                                 f"{codec} output")
                    os.unlink(o)
            med = {k: statistics.median(v) for k, v in t.items()}
            row = {
                "codec": codec,
                "makedumpfile": {"seconds": t["makedumpfile"],
                                 "median_s": med["makedumpfile"],
                                 "bytes": size["makedumpfile"],
                                 "mib_s": elf_bytes / 2**20 /
                                 med["makedumpfile"]},
                "xfm": {"seconds": t["xfm"], "median_s": med["xfm"],
                        "bytes": size["xfm"],
                        "mib_s": elf_bytes / 2**20 / med["xfm"]},
                "throughput_ratio": med["makedumpfile"] / med["xfm"],
                "size_ratio": size["xfm"] / size["makedumpfile"],
            }
            row["goal_throughput_met"] = row["throughput_ratio"] >= 1.0
            row["goal_size_met"] = abs(row["size_ratio"] - 1) <= 0.05
            rows.append(row)
            print(f"{codec:5} makedumpfile {med['makedumpfile']:7.2f} s "
                  f"{size['makedumpfile']:>11} B | xfm {med['xfm']:7.2f} s "
                  f"{size['xfm']:>11} B | throughput x"
                  f"{row['throughput_ratio']:.2f}, size x"
                  f"{row['size_ratio']:.3f}", flush=True)
        mdf = subprocess.run(["makedumpfile", "-v"], capture_output=True,
                             text=True).stdout.splitlines()[0]
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                                 "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        res = {
            "benchmark": "kdump",
            "date": datetime.datetime.now(datetime.timezone.utc)
            .isoformat(timespec="seconds"),
            "commit": commit,
            "machine": {"host": platform.node(), "cpus": os.cpu_count(),
                        "loadavg_start": os.getloadavg()},
            "makedumpfile": mdf,
            "elf": {"bytes": elf_bytes, "from": a.elf or
                    f"xfm dump -f elf of a live {a.mib} MiB QEMU guest"},
            "dump_level": 1,
            "reps": a.reps,
            "rows": rows,
        }
        with open(out + ".tmp", "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        os.rename(out + ".tmp", out)
        print(f"written {out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
