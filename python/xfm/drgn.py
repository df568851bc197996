# SPDX-License-Identifier: LGPL-2.1-only
"""drgn on a live xfm source.

    import xfm.drgn
    prog = xfm.drgn.program("qemu:/run/guest.qmp", vmlinux="vmlinux")
    from drgn.helpers.linux.pid import for_each_task
    [t.comm.string_() for t in for_each_task(prog)]   # live, every time
    xfm.drgn.close(prog)                              # or at exit

Where drgn can take a custom memory source together with the kernel's
VMCOREINFO (drgn >= 0.0.26: Program(vmcoreinfo=...) and
add_memory_segment), xfm's source is plugged in directly.  Older drgn
(Debian 12 has 0.0.22) only reads core files: the source is then mounted
(`xfm mount`, FUSE) on a private directory and drgn opens its live
vmcore; the mount ends with close(prog) or at interpreter exit.
"""
import atexit
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any, Dict, List, Optional

import xfm

_mounts: Dict[int, "Mount"] = {}
_sources: Dict[int, "xfm.Source"] = {}


def drgn_version() -> tuple:
    import drgn
    parts = []
    for p in drgn.__version__.split("+")[0].split("."):
        parts.append(int(p) if p.isdigit() else 0)
    return tuple(parts)


def has_custom_source() -> bool:
    """Does this drgn take a memory source plus VMCOREINFO (no core file)?"""
    import inspect
    import drgn
    try:
        sig = inspect.signature(drgn.Program)
        return "vmcoreinfo" in sig.parameters
    except (TypeError, ValueError):
        return drgn_version() >= (0, 0, 26)


def xfm_cli() -> str:
    """The xfm CLI: $XFM_CLI, else on PATH."""
    cli = os.environ.get("XFM_CLI") or shutil.which("xfm")
    if not cli:
        raise FileNotFoundError("the xfm CLI is not on PATH (set XFM_CLI)")
    return cli


class Mount:
    """`xfm mount SOURCE DIR` in the foreground of a child process."""

    def __init__(self, uri: str, write: bool = False, timeout: float = 60):
        self.dir = tempfile.mkdtemp(prefix="xfm-mount.")
        args = [xfm_cli(), "mount", "-q"] + (["--force-write"] if write
                                             else []) + [uri, self.dir]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        end = time.monotonic() + timeout
        while not os.path.exists(os.path.join(self.dir, "vmcore")):
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")
                os.rmdir(self.dir)
                raise xfm.Error(5, f"xfm mount {uri}: {err.strip()}")
            if time.monotonic() > end:
                self.close()
                raise TimeoutError(f"xfm mount {uri}: not mounted in "
                                   f"{timeout}s")
            time.sleep(0.02)

    @property
    def vmcore(self) -> str:
        return os.path.join(self.dir, "vmcore")

    @property
    def pmem(self) -> str:
        return os.path.join(self.dir, "pmem")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()   # SIGTERM: xfm mount unmounts
            self.proc.wait()
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)

    def __enter__(self) -> "Mount":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def default_vmlinux(release: str) -> Optional[str]:
    for p in (f"/var/tmp/xfm-lab/vmlinux/{release}/vmlinux",
              f"/usr/lib/debug/boot/vmlinux-{release}",
              f"/usr/lib/debug/lib/modules/{release}/vmlinux"):
        if os.access(p, os.R_OK):
            return p
    return None


def _load_symbols(prog: Any, vmlinux: Optional[str],
                  release: Optional[str]) -> None:
    paths: List[str] = []
    if vmlinux is None and release:
        vmlinux = default_vmlinux(release)
    if vmlinux:
        paths.append(vmlinux)
    # Also drgn's standard search (for modules, or with no vmlinux given).
    prog.load_debug_info(paths, default=not paths)


def _custom_program(uri: str) -> Any:
    """drgn >= 0.0.26: the source itself, no mount (not exercised here:
    Debian 12's drgn is 0.0.22)."""
    import drgn
    src = xfm.open(uri)
    text, _ = src.vmcoreinfo()
    prog = drgn.Program(vmcoreinfo=text)

    def reader(address: int, count: int, offset: int,
               physical: bool) -> bytes:
        return src.read(offset, count)

    for r in src.ranges():
        prog.add_memory_segment(r.start, r.size, reader, physical=True)
    _sources[id(prog)] = src
    return prog


def program(uri: str, vmlinux: Optional[str] = None,
            use_custom_source: Optional[bool] = None) -> Any:
    """A drgn.Program over the live source at uri, with the guest kernel's
    symbols from vmlinux (default: the release's debug vmlinux in
    /var/tmp/xfm-lab/vmlinux/ or /usr/lib/debug, else drgn's search)."""
    import drgn
    if use_custom_source is None:
        use_custom_source = has_custom_source()
    if use_custom_source:
        prog = _custom_program(uri)
        release = _sources[id(prog)].info.get("linux.osrelease")
    else:
        m = Mount(uri)
        try:
            prog = drgn.program_from_core_dump(m.vmcore)
        except Exception:
            m.close()
            raise
        _mounts[id(prog)] = m
        with open(os.path.join(m.dir, "info.json")) as f:
            import json
            release = json.load(f)["facts"].get("linux.osrelease")
    try:
        _load_symbols(prog, vmlinux, release)
    except drgn.MissingDebugInfoError:
        pass    # modules without debug info: the kernel's is what matters
    return prog


def close(prog: Any) -> None:
    """End the mount (or close the source) behind a program()."""
    m = _mounts.pop(id(prog), None)
    if m:
        m.close()
    s = _sources.pop(id(prog), None)
    if s:
        s.close()


@atexit.register
def _close_all() -> None:
    for m in list(_mounts.values()):
        m.close()
    _mounts.clear()
