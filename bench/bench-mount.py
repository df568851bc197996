#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-only
"""Sequential read of a mounted DIR/pmem vs `xfm read --raw` of the same
range, side by side in one run (interleaved repetitions, medians).

  bench/bench-mount.py [--build DIR] [--mib N] [--reps N] [--bs BYTES]
                       [--out FILE]

Source: a live QEMU (TCG, stopped, no OS) whose N MiB of RAM is a shared
file filled with random bytes; `xfm mount` serves it.  The mount is read
with --bs sized reads (default 1 MiB: FUSE direct_io passes them as large
requests), the CLI reads the same range to /dev/null.  Goal: pmem >= 0.5x
the CLI.  Writes a JSON result (bench/results/<date>-mount[-N].json unless
--out; never overwrites) and prints the row.
"""
import argparse
import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def result_path(out):
    if out:
        return out
    base = os.path.join(HERE, "results",
                        datetime.date.today().isoformat() + "-mount")
    p, k = base + ".json", 1
    while os.path.exists(p):
        k += 1
        p = f"{base}-{k}.json"
    return p


def start_qemu(tmp, mib):
    ram = os.path.join(tmp, "ram")
    with open(ram, "wb") as f:
        chunk = os.urandom(1 << 20)
        for i in range(mib):
            f.write(chunk[i % 4096:] + chunk[:i % 4096])
    sock = os.path.join(tmp, "qmp.sock")
    p = subprocess.Popen(
        ["timeout", "3600", "qemu-system-x86_64", "-accel", "tcg",
         "-machine", "pc,memory-backend=ram0", "-m", f"{mib}M",
         "-object", f"memory-backend-file,id=ram0,size={mib}M,"
                    f"mem-path={ram},share=on",
         "-display", "none", "-serial", "none", "-monitor", "none",
         "-nodefaults", "-S", "-qmp", f"unix:{sock},server=on,wait=off"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.close()
            return p, "qemu:" + sock
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise RuntimeError("qemu did not start")


START = 1 << 20   # below 1 MiB a stopped PC has ROM holes


def timed_cli(cli, uri, size):
    with open(os.devnull, "wb") as null:
        t = time.monotonic()
        subprocess.run([cli, "read", "--raw", uri, hex(START), str(size)],
                       stdout=null, check=True)
        return time.monotonic() - t


def timed_pmem(path, size, bs):
    buf = bytearray(bs)
    t = time.monotonic()
    with open(path, "rb", buffering=0) as f:
        f.seek(START)
        done = 0
        while done < size:
            n = f.readinto(buf)
            if not n:
                raise EOFError(f"{path}: short at {done}")
            done += n
    return time.monotonic() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--bs", type=int, default=1 << 20)
    ap.add_argument("--out")
    a = ap.parse_args()
    cli = os.path.join(a.build, "tools", "xfm", "xfm")
    size = (a.mib << 20) - START
    tmp = tempfile.mkdtemp(prefix="xfm-bench-mount.", dir="/var/tmp")
    qemu, uri = start_qemu(tmp, a.mib)
    mnt = os.path.join(tmp, "mnt")
    os.mkdir(mnt)
    m = subprocess.Popen([cli, "mount", "-q", uri, mnt])
    try:
        while not os.path.exists(os.path.join(mnt, "pmem")):
            if m.poll() is not None:
                raise RuntimeError("xfm mount failed")
            time.sleep(0.02)
        pmem = os.path.join(mnt, "pmem")
        timed_cli(cli, uri, size)          # warm both paths once
        timed_pmem(pmem, size, a.bs)
        cli_t, pmem_t = [], []
        for i in range(a.reps):            # interleaved: same conditions
            if i % 2:
                pmem_t.append(timed_pmem(pmem, size, a.bs))
                cli_t.append(timed_cli(cli, uri, size))
            else:
                cli_t.append(timed_cli(cli, uri, size))
                pmem_t.append(timed_pmem(pmem, size, a.bs))
    finally:
        m.terminate()
        m.wait()
        qemu.terminate()
        qemu.wait()
        os.unlink(os.path.join(tmp, "ram"))
        os.rmdir(mnt)
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    mib = size / (1 << 20)
    cli_mibs = mib / statistics.median(cli_t)
    pmem_mibs = mib / statistics.median(pmem_t)
    ratio = pmem_mibs / cli_mibs
    res = {
        "benchmark": "mount-pmem-sequential",
        "date": datetime.datetime.utcnow().isoformat(timespec="seconds") + "Z",
        "host": platform.node(), "kernel": platform.release(),
        "source": "qemu (TCG, stopped; shared RAM file, random bytes)",
        "range": [START, size], "bytes": size, "read_size": a.bs, "reps": a.reps,
        "xfm_read_s": cli_t, "pmem_read_s": pmem_t,
        "xfm_read_mib_s": round(cli_mibs, 1),
        "pmem_mib_s": round(pmem_mibs, 1),
        "ratio_pmem_vs_xfm_read": round(ratio, 3),
        "goal": 0.5, "goal_met": ratio >= 0.5,
    }
    out = result_path(a.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmpf = out + ".tmp"
    with open(tmpf, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    os.rename(tmpf, out)
    print(f"mount pmem sequential read, {a.mib} MiB, {a.bs >> 10} KiB reads: "
          f"pmem {pmem_mibs:.0f} MiB/s vs xfm read {cli_mibs:.0f} MiB/s = "
          f"{ratio:.2f}x (goal >= 0.5x: {'met' if ratio >= 0.5 else 'MISSED'})")
    print(f"result: {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
