#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-only
"""The mounted view and drgn on a live Linux guest (QEMU, TCG, on the host):
a busybox guest whose marker process is named "xfm-marker".  Prints TAP.

  test-live-guest.py BUILD-DIR [VMLINUX]

- strings/grep -a on DIR/pmem find the kernel banner; cmp of a range of
  DIR/pmem with `xfm read --raw`
- crash (the debug vmlinux) opens DIR/vmcore: `sys`, and the marker found by
  walking the task list with `list`
- `drgn -c DIR/vmcore` walks the live task list and finds the marker
- xfm.drgn.program(uri): a process started in the guest afterwards shows up
  on the next walk (live, not a snapshot)
- `xfm drgn SOURCE SCRIPT`
VMLINUX defaults to scripts/fetch-vmlinux.sh's (downloaded once, cached).
Exit 0 all passed, 1 a failure, 77 cannot run here (why printed).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
top = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, os.path.join(top, "tests", "lib"))
from linux_guest import LinuxGuest, missing  # noqa: E402
from tap import Tap  # noqa: E402

build = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(build, "python"))
xfm_cli = os.path.join(build, "tools", "xfm", "xfm")
os.environ["XFM_CLI"] = xfm_cli
t = Tap()
tap = t.ok
skip_all = Tap.skip_all


TASKS = """
from drgn.helpers.linux.pid import for_each_task
names = sorted(t.comm.string_().decode() for t in for_each_task(prog))
print(len(names), "tasks:", " ".join(n for n in names if n.startswith("xfm-")
                                     or n in ("swapper/0", "kthreadd", "sh")))
"""


def walk(prog):
    from drgn.helpers.linux.pid import for_each_task
    return sorted(t.comm.string_().decode() for t in for_each_task(prog))


def main():
    why = missing()
    if why:
        skip_all(why)
    for tool in ("fusermount3", "drgn", "crash"):
        if not shutil.which(tool):
            skip_all(f"{tool} not installed")
    if not os.path.exists("/dev/fuse"):
        skip_all("no /dev/fuse")
    if subprocess.run([xfm_cli, "help", "mount"],
                      capture_output=True).returncode:
        skip_all("xfm built without FUSE 3")
    vmlinux = sys.argv[2] if len(sys.argv) > 2 else None
    tmp = tempfile.mkdtemp(prefix="xfm-live.")
    g = LinuxGuest(os.path.join(tmp, "guest"))
    if not vmlinux:
        r = subprocess.run([os.path.join(top, "scripts", "fetch-vmlinux.sh"),
                            g.release], capture_output=True, text=True)
        if r.returncode:
            tap(False, "debug vmlinux (scripts/fetch-vmlinux.sh)", r.stderr)
            return
        vmlinux = r.stdout.strip()
    t0 = time.monotonic()
    g.start()
    tap(True, f"guest {g.release} booted in {time.monotonic() - t0:.0f} s, "
        f"marker process running", g.run("ps | grep '[x]fm-marker'"))
    import xfm.drgn
    m = xfm.drgn.Mount(g.uri)
    try:
        checks(g, m, vmlinux, tmp)
    finally:
        m.close()
        g.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def checks(g, m, vmlinux, tmp):
    import xfm.drgn
    pmem, core = m.pmem, m.vmcore
    st = os.stat(pmem)
    s = subprocess.run(f"strings -n 20 '{pmem}' | grep -m1 '^Linux version "
                       f"{g.release}'", shell=True, capture_output=True,
                       text=True)
    tap(s.returncode == 0, "strings DIR/pmem finds the kernel banner",
        s.stdout[:160])
    s = subprocess.run(["grep", "-a", "-c", f"Linux version {g.release}",
                        pmem], capture_output=True, text=True)
    tap(s.returncode == 0 and int(s.stdout) >= 1,
        "grep -a on DIR/pmem finds the banner", f"{s.stdout.strip()} lines")
    # cmp: 1 MiB of the kernel's read-only data, from the banner's page
    # (memory a running kernel writes would differ between two reads)
    import xfm
    with xfm.open(g.uri) as src:
        hits = src.search(f"Linux version {g.release}".encode(), max=1)
    start = hits[0] & ~0xFFF if hits else 0x1000000
    raw = os.path.join(tmp, "raw")
    with open(raw, "wb") as f:
        subprocess.run([xfm_cli, "-q", "read", "--raw", g.uri, hex(start),
                        "0x100000"], stdout=f, check=True)
    c = subprocess.run(["cmp", "-i", f"{start}:0", "-n", str(0x100000),
                        pmem, raw], capture_output=True, text=True)
    tap(bool(hits) and c.returncode == 0,
        f"cmp of DIR/pmem {start:#x}+1MiB (the banner's page on) with xfm "
        "read --raw", c.stdout + c.stderr)
    # crash
    script = ("sys\nlist task_struct.tasks -s task_struct.comm,pid "
              "-h init_task\nquit\n")
    r = subprocess.run(["timeout", "600", "crash", "-s", "--kaslr=auto",
                        vmlinux, core], input=script, capture_output=True,
                       text=True)
    out = r.stdout
    rel = re.search(r"RELEASE: (\S+)", out)
    marker = re.search(r'comm = "xfm-marker.*?\n\s*pid = (\d+)', out)
    tap(bool(rel and rel.group(1) == g.release and marker),
        "crash VMLINUX DIR/vmcore: sys, and the marker by walking the task "
        "list (list task_struct.tasks)",
        "\n".join(l for l in out.splitlines()
                  if re.search(r"KERNEL:|DUMPFILE:|RELEASE:|TASKS|MEMORY:",
                               l)) +
        (f"\nlist: comm = \"xfm-marker\" pid = {marker.group(1)}"
         if marker else "\n" + out[-800:] + r.stderr[-400:]))
    # drgn -c DIR/vmcore
    sp = os.path.join(tmp, "tasks.py")
    with open(sp, "w") as f:
        f.write(TASKS)
    d = subprocess.run(["drgn", "-q", "-c", core, "-s", vmlinux, sp],
                       capture_output=True, text=True)
    tap(d.returncode == 0 and "xfm-marker" in d.stdout,
        "drgn -c DIR/vmcore walks the live task list and finds the marker",
        d.stdout + d.stderr[-400:])
    # xfm.drgn.program: live
    prog = xfm.drgn.program(g.uri, vmlinux=vmlinux)
    before = walk(prog)
    g.run("sh -c 'echo -n xfm-late > /proc/self/comm; "
          "while :; do sleep 3600; done' &")
    time.sleep(1)
    after = walk(prog)
    tap("xfm-marker" in before and "xfm-late" not in before and
        "xfm-late" in after,
        "xfm.drgn.program(uri): a process started in the guest appears on "
        "the next walk",
        f"walk 1: {len(before)} tasks, xfm-marker "
        f"{'found' if 'xfm-marker' in before else 'MISSING'}, xfm-late "
        f"{'present' if 'xfm-late' in before else 'absent'}\n"
        f"(guest: sh -c 'echo -n xfm-late > /proc/self/comm; ...' &)\n"
        f"walk 2: {len(after)} tasks, xfm-late "
        f"{'present' if 'xfm-late' in after else 'ABSENT'}")
    xfm.drgn.close(prog)
    # xfm drgn CLI
    x = subprocess.run([xfm_cli, "drgn", "-s", vmlinux, g.uri, sp],
                       capture_output=True, text=True)
    tap(x.returncode == 0 and "xfm-late" in x.stdout and
        "xfm-marker" in x.stdout, "xfm drgn SOURCE SCRIPT: both processes",
        x.stdout + x.stderr[-400:])


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash of the harness is a failure with why
        tap(False, f"live guest harness: {type(e).__name__}: {e}")
    sys.exit(t.done())
