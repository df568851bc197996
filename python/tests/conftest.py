# SPDX-License-Identifier: LGPL-2.1-only
"""Fixtures: a raw dump with known bytes, and a real QEMU (TCG, stopped,
no OS) whose RAM is a shared file holding known bytes at known addresses."""
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import time

import pytest

MIB = 1 << 20


def pattern(addr: int, size: int) -> bytes:
    """The bytes the fixtures place at guest address addr: a function of
    the address, so any slice can be checked exactly."""
    first, last = addr // 64, (addr + size + 63) // 64
    blocks = b"".join(hashlib.blake2b(i.to_bytes(8, "little"),
                                      digest_size=64).digest()
                      for i in range(first, last))
    return blocks[addr - first * 64:addr - first * 64 + size]


def need(what: str, ok: bool):
    """Skip with a reason, or fail under CI=true (required there)."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (required under CI=true)")
    pytest.skip(what)


VA_BASE = 0xFFFF888000000000
CR3 = 0x10000

VMCOREINFO = (b"OSRELEASE=6.1.0-xfm\nPAGESIZE=4096\n"
              b"SYMBOL(init_task)=ffffffff82a0c940\nKERNELOFFSET=1000000\n"
              b"NUMBER(phys_base)=-2\n")


def vmcoreinfo_note(text: bytes) -> bytes:
    """An ELF note as the kernel builds it: namesz, descsz, type 0,
    "VMCOREINFO\\0" padded to 4, the text."""
    name = b"VMCOREINFO\0\0"
    return (struct.pack("<III", 11, len(text), 0) + name + text)


@pytest.fixture(scope="session")
def raw_dump(tmp_path_factory):
    """An 8 MiB raw dump: pattern everywhere, a marker at 0x345678."""
    path = tmp_path_factory.mktemp("raw") / "mem.raw"
    data = bytearray(pattern(0, 8 * MIB))
    data[0x345678:0x345678 + 12] = b"XFM-MARKER-1"
    note = vmcoreinfo_note(VMCOREINFO)
    data[0x7F0000:0x7F0000 + len(note)] = note
    # x86_64 4-level tables at 0x10000..0x13fff: VA_BASE -> 0x345000
    for table in range(0x10000, 0x14000, 8):
        data[table:table + 8] = bytes(8)
    va = VA_BASE
    idx = [(va >> s) & 511 for s in (39, 30, 21, 12)]
    for level, nxt in enumerate((0x11000, 0x12000, 0x13000, 0x345000)):
        e = 0x10000 + 0x1000 * level + 8 * idx[level]
        data[e:e + 8] = struct.pack("<Q", nxt | 0x3)
    path.write_bytes(bytes(data))
    return str(path), bytes(data)


class Qemu:
    def __init__(self, tmp):
        self.sock = str(tmp / "qmp.sock")
        self.ram = str(tmp / "ram")
        blob = tmp / "blob"
        blob.write_bytes(pattern(0x200000, 2 * MIB))
        self.log = open(tmp / "qemu.log", "wb")
        self.proc = subprocess.Popen(
            ["timeout", "600", "qemu-system-x86_64", "-accel", "tcg",
             "-machine", "pc,memory-backend=ram0", "-m", "64M",
             "-object", f"memory-backend-file,id=ram0,size=64M,"
                        f"mem-path={self.ram},share=on",
             "-display", "none", "-serial", "none", "-monitor", "none",
             "-nodefaults", "-S",
             "-qmp", f"unix:{self.sock},server=on,wait=off",
             "-device", f"loader,file={blob},addr=0x200000"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.log)
        for _ in range(200):
            if self.ready():
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"qemu exited {self.proc.returncode}")
            time.sleep(0.05)
        self.uri = f"qemu:{self.sock}"

    def ready(self):
        if not os.path.exists(self.sock):
            return False
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(self.sock)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def qemu(tmp_path_factory):
    need("qemu-system-x86_64 or timeout(1) not installed",
         shutil.which("qemu-system-x86_64") and shutil.which("timeout"))
    q = Qemu(tmp_path_factory.mktemp("qemu"))
    yield q
    q.stop()
