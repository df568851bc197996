# SPDX-License-Identifier: LGPL-2.1-only
"""`xfm mount`: pmem (sparse, SEEK_HOLE/SEEK_DATA), vmcore (ELF with the
VMCOREINFO note), info.json; read-only unless --force-write; SIGINT and
SIGTERM unmount.  A LiME dump with three ranges and gaps between them."""
import errno
import json
import os
import shutil
import signal
import struct
import subprocess
import time

import pytest

from conftest import MIB, VMCOREINFO, need, pattern, vmcoreinfo_note

RANGES = [(0, MIB), (3 * MIB, MIB), (8 * MIB, 0x1000)]
MNT_MARK = 3 * MIB + 0x10


def cli():
    return os.environ.get("XFM_CLI") or shutil.which("xfm")


@pytest.fixture(scope="module")
def lime(tmp_path_factory):
    """A LiME dump: {magic, version 1, start, end inclusive, 0} + data."""
    path = tmp_path_factory.mktemp("lime") / "mem.lime"
    mem = {}
    with open(path, "wb") as f:
        for start, size in RANGES:
            data = bytearray(pattern(start, size))
            if start <= MNT_MARK < start + size:
                o = MNT_MARK - start
                data[o:o + 14] = b"Linux version "
            if start == 0:
                note = vmcoreinfo_note(VMCOREINFO)
                data[0x80000:0x80000 + len(note)] = note
            f.write(struct.pack("<IIQQQ", 0x4C694D45, 1, start,
                                start + size - 1, 0))
            f.write(data)
            mem[start] = bytes(data)
    return str(path), mem


def mounted(d):
    return os.path.exists(os.path.join(d, "info.json"))


class Mount:
    def __init__(self, source, d, *extra):
        self.dir = str(d)
        self.proc = subprocess.Popen([cli(), "mount", "-q", *extra, source,
                                      self.dir], stderr=subprocess.PIPE)
        for _ in range(500):
            if mounted(self.dir):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode())
            time.sleep(0.01)
        raise TimeoutError("not mounted")

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=30)
        return rc


@pytest.fixture
def fuse_ok():
    need("/dev/fuse or fusermount3 missing (fuse3)",
         os.path.exists("/dev/fuse") and shutil.which("fusermount3"))
    need("xfm built without FUSE 3 (libfuse3-dev)",
         subprocess.run([cli(), "help", "mount"],
                        capture_output=True).returncode == 0)


def test_pmem_vmcore_info(lime, tmp_path, fuse_ok):
    path, mem = lime
    m = Mount(path, tmp_path)
    try:
        d = m.dir
        assert sorted(os.listdir(d)) == ["info.json", "pmem", "vmcore"]
        st = os.stat(os.path.join(d, "pmem"))
        assert st.st_size == 8 * MIB + 0x1000
        assert st.st_blocks * 512 == 2 * MIB + 0x1000   # sparse
        assert st.st_mode & 0o777 == 0o444
        with open(os.path.join(d, "pmem"), "rb") as f:
            assert f.read(MIB) == mem[0]
            f.seek(MIB)
            assert f.read(2 * MIB) == bytes(2 * MIB)          # a hole
            f.seek(3 * MIB - 5)                               # straddles
            assert f.read(10) == bytes(5) + mem[3 * MIB][:5]
            f.seek(8 * MIB)
            assert f.read() == mem[8 * MIB]
            fd = f.fileno()
            assert os.lseek(fd, 0, os.SEEK_HOLE) == MIB
            assert os.lseek(fd, MIB + 7, os.SEEK_DATA) == 3 * MIB
            assert os.lseek(fd, 3 * MIB + 9, os.SEEK_DATA) == 3 * MIB + 9
            assert os.lseek(fd, 3 * MIB, os.SEEK_HOLE) == 4 * MIB
            assert os.lseek(fd, 5 * MIB, os.SEEK_HOLE) == 5 * MIB
            with pytest.raises(OSError) as e:
                os.lseek(fd, 8 * MIB + 0x1000, os.SEEK_DATA)
            assert e.value.errno == errno.ENXIO
        # grep -a finds the bytes at their address; cmp with xfm read --raw
        out = subprocess.run(["grep", "-c", "-a", "Linux version ",
                              os.path.join(d, "pmem")], capture_output=True)
        assert out.stdout == b"1\n"
        raw = subprocess.run([cli(), "read", "--raw", path,
                              hex(3 * MIB), hex(MIB)],
                             capture_output=True, check=True).stdout
        cmp = subprocess.run(["cmp", "-i", f"{3 * MIB}:0", "-n", str(MIB),
                              os.path.join(d, "pmem"), "-"], input=raw)
        assert cmp.returncode == 0
        # info.json: geometry, ranges, facts
        info = json.load(open(os.path.join(d, "info.json")))
        assert [(r["start"], r["size"]) for r in info["ranges"]] == RANGES
        assert info["geometry"]["frame_size"] == 4096
        assert info["facts"]["format"] == "lime"
        assert info["facts"]["linux.osrelease"] == "6.1.0-xfm"
        assert info["writable"] is False
        # vmcore: ELF64 core, PT_NOTE VMCOREINFO, PT_LOAD per range
        with open(os.path.join(d, "vmcore"), "rb") as f:
            core = f.read()
        assert core[:4] == b"\x7fELF" and core[16] == 4
        phoff, = struct.unpack_from("<Q", core, 32)
        phnum, = struct.unpack_from("<H", core, 56)
        phs = [struct.unpack_from("<IIQQQQQQ", core, phoff + 56 * i)
               for i in range(phnum)]
        note = [p for p in phs if p[0] == 4][0]
        n = core[note[2]:note[2] + note[5]]
        namesz, descsz, typ = struct.unpack_from("<III", n)
        assert (namesz, typ, n[12:22]) == (11, 0, b"VMCOREINFO")
        assert n[24:24 + descsz] == VMCOREINFO
        loads = [p for p in phs if p[0] == 1 and p[3] == 0]
        assert [(p[4], p[5]) for p in loads] == RANGES
        for p in loads:
            assert core[p[2]:p[2] + p[5]] == mem[p[4]]
        # read-only
        with pytest.raises(OSError) as e:
            open(os.path.join(d, "pmem"), "r+b")
        assert e.value.errno in (errno.EROFS, errno.EACCES)
    finally:
        rc = m.stop(signal.SIGINT)
    assert rc == 0
    assert not mounted(m.dir)


def test_sigterm_unmounts(lime, tmp_path, fuse_ok):
    m = Mount(lime[0], tmp_path)
    assert m.stop(signal.SIGTERM) == 0
    assert not mounted(m.dir)
    with open("/proc/mounts") as f:
        assert m.dir not in f.read()


def test_force_write_live_qemu(qemu, tmp_path, fuse_ok):
    m = Mount(qemu.uri, tmp_path, "--force-write")
    try:
        p = os.path.join(m.dir, "pmem")
        assert os.stat(p).st_mode & 0o777 == 0o644
        with open(p, "r+b", buffering=0) as f:
            f.seek(0x500000)
            assert f.write(b"written through the mount") == 25
        with open(qemu.ram, "rb") as f:
            f.seek(0x500000)
            assert f.read(25) == b"written through the mount"
        with pytest.raises(OSError) as e:
            open(os.path.join(m.dir, "vmcore"), "r+b")
        assert e.value.errno in (errno.EROFS, errno.EACCES)
    finally:
        assert m.stop() == 0


def test_bad_dir(lime, tmp_path, fuse_ok):
    r = subprocess.run([cli(), "mount", lime[0], str(tmp_path / "nodir")],
                       capture_output=True)
    assert r.returncode != 0
    assert b"nodir" in r.stderr


def test_vanished_guest_eio(tmp_path, fuse_ok):
    """A QEMU without shared RAM is read through its process: once it is
    gone, reads of the mount fail with EIO at once (no hang)."""
    need("qemu-system-x86_64 not installed",
         shutil.which("qemu-system-x86_64"))
    sock = str(tmp_path / "qmp.sock")
    q = subprocess.Popen(
        ["qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-m", "64M",
         "-display", "none", "-serial", "none", "-monitor", "none",
         "-nodefaults", "-S", "-qmp", f"unix:{sock},server=on,wait=off"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        time.sleep(0.2)
        os.mkdir(tmp_path / "m")
        m = Mount("qemu:" + sock, tmp_path / "m")
        try:
            p = os.path.join(m.dir, "pmem")
            with open(p, "rb", buffering=0) as f:
                f.seek(0x100000)
                assert len(f.read(4096)) == 4096
                q.kill()
                q.wait()
                f.seek(0x200000)
                t = time.monotonic()
                with pytest.raises(OSError) as e:
                    f.read(1 << 20)
                assert e.value.errno == errno.EIO
                assert time.monotonic() - t < 30
        finally:
            assert m.stop() == 0
    finally:
        if q.poll() is None:
            q.kill()
            q.wait()
