# SPDX-License-Identifier: LGPL-2.1-only
"""xfm: read, map and write another machine's memory from Python.

    import xfm
    with xfm.open("qemu:/run/guest.qmp") as src:      # or "xen:7", "dump.elf"
        src.geometry.frame_size                       # 4096
        src.ranges()                                  # [Range(start, size), ...]
        src.read(0x1000, 64)                          # bytes
        src.readinto(0x1000, bytearray(64))           # any writable buffer
        mv = src.map(0x200000, 0x200000)              # memoryview, no copy
        src.search(b"Linux version")                  # [address, ...]
        src.dump("guest.elf", "elf", progress=print)  # Ctrl-C cancels
        src.vmcoreinfo()                              # (text, paddr) of a Linux guest
        src.vmcoreinfo_number("KERNELOFFSET")
        src.translate(va).pa, src.read_va(va, 64)     # through the guest's page tables

Errors are xfm.Error (an OSError) subclasses carrying errno and libxfm's
one-line message.  Calls release the GIL; a Source may be shared by threads.
"""
from typing import Callable, List, NamedTuple, Optional

from . import _xfm
from ._xfm import (AbsentError, AccessError, CancelledError, Error,
                   FaultError, FormatError, Mapping, NoDeviceError,
                   NoRootError, RangeError, ReadOnlyError, SourceIOError,
                   UnsupportedError)

__all__ = [
    "open", "Source", "Geometry", "Range", "Error", "AbsentError",
    "AccessError", "CancelledError", "FormatError", "NoDeviceError",
    "RangeError", "ReadOnlyError", "SourceIOError", "UnsupportedError",
    "FaultError", "NoRootError", "Mapping", "Translation", "VmRoot",
    "VM_X86_32", "VM_X86_PAE", "VM_X86_64", "VM_X86_64_LA57", "VM_ARM64",
]

# enum xfm_vm_mode
VM_X86_32, VM_X86_PAE, VM_X86_64, VM_X86_64_LA57, VM_ARM64 = 1, 2, 3, 4, 5

__version__ = "0.1.0"


class Geometry(NamedTuple):
    """Page geometry of a source, from the running system (bytes)."""
    frame_size: int
    hyp_page_size: int
    kernel_page_size: int
    granularities: int
    max_frame: int
    origin: int


class Range(NamedTuple):
    """A populated guest-physical range (bytes)."""
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size


class Translation(NamedTuple):
    """Where a guest-virtual address maps (the last entry read)."""
    va: int
    pa: int
    page_size: int
    level: int
    entry: int
    entry_addr: int


class VmRoot(NamedTuple):
    """The page-table root of the virtual-address calls."""
    mode: int
    flags: int
    root: int
    root1: int
    tcr: int
    origin: int
    vcpu: int


class Source(_xfm.Source):
    """A memory source opened by URI (see xfm.open)."""

    @property
    def geometry(self) -> Geometry:  # type: ignore[override]
        return Geometry(**super().geometry)

    def ranges(self) -> List[Range]:  # type: ignore[override]
        return [Range(s, n) for s, n in super().ranges()]

    def translate(self, va: int) -> Translation:  # type: ignore[override]
        return Translation(**super().translate(va))

    def get_vm_root(self) -> VmRoot:  # type: ignore[override]
        return VmRoot(**super().get_vm_root())

    def size(self) -> int:
        """Bytes up to the end of the highest populated range."""
        r = self.ranges()
        return r[-1].end if r else 0

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.kind
        return f"<xfm.Source {self.uri!r} {state}>"


def open(uri: str, write: bool = False, quiet: bool = True) -> Source:
    """Open a memory source: "xen:<domid>", "qemu:<qmp-socket>",
    "file:<path>" or a dump's path.  write=True allows write() and writable
    maps.  Raises an xfm.Error subclass (OSError) on failure."""
    return Source(uri, write=write, quiet=quiet)
