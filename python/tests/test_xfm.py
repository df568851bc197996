# SPDX-License-Identifier: LGPL-2.1-only
"""The Python API over libxfm, on a raw dump and on a live QEMU guest."""
import errno
import os
import signal
import threading

import pytest

import xfm
from conftest import CR3, MIB, VA_BASE, VMCOREINFO, pattern


def test_open_geometry_ranges(raw_dump):
    path, data = raw_dump
    with xfm.open(path) as src:
        assert src.kind == "file"
        assert src.uri == path
        assert src.info["format"] == "raw"
        g = src.geometry
        assert isinstance(g, xfm.Geometry)
        assert g.frame_size == 4096
        assert src.ranges() == [xfm.Range(0, 8 * MIB)]
        assert src.ranges()[0].end == 8 * MIB
        assert src.size() == 8 * MIB
    assert src.closed


def test_read_exact_bytes(raw_dump):
    path, data = raw_dump
    with xfm.open(path) as src:
        assert src.read(0x345678, 12) == b"XFM-MARKER-1"
        # across frame and cache-window boundaries
        assert src.read(0xFFFF9, 2 * MIB + 17) == data[0xFFFF9:0x2FFFF9 + 17]
        assert src.read(0, 0) == b""


def test_readinto_any_buffer(raw_dump):
    path, data = raw_dump
    with xfm.open(path) as src:
        ba = bytearray(5000)
        assert src.readinto(0x1234, ba) == 5000
        assert ba == data[0x1234:0x1234 + 5000]
        mv = memoryview(bytearray(10000))[100:300]
        assert src.readinto(0x40000, mv) == 200
        assert bytes(mv) == data[0x40000:0x40200 - 312]
        import array
        arr = array.array("I", [0] * 16)
        src.readinto(0x8000, arr)
        assert arr.tobytes() == data[0x8000:0x8040]
        with pytest.raises(TypeError):
            src.readinto(0, b"immutable")


def test_errors_carry_errno_and_message(raw_dump, tmp_path):
    path, _ = raw_dump
    with pytest.raises(xfm.AbsentError) as e:
        xfm.open(str(tmp_path / "nope"))
    assert e.value.errno == errno.ENOENT
    assert isinstance(e.value, FileNotFoundError)
    assert isinstance(e.value, xfm.Error) and isinstance(e.value, OSError)
    with xfm.open(path) as src:
        with pytest.raises(xfm.Error) as e:
            src.read(8 * MIB - 4, 8)
        assert e.value.errno == errno.ERANGE
        assert isinstance(e.value, xfm.RangeError)
        assert "address 0x800000 is past the end" in e.value.strerror
        with pytest.raises(xfm.ReadOnlyError) as e:
            src.write(0, b"x")
        assert e.value.errno == errno.EROFS
        assert "read-only" in str(e.value)
    with pytest.raises(ValueError):
        src.read(0, 1)


def test_bad_uri():
    with pytest.raises(xfm.Error) as e:
        xfm.open("xen:notadomain")
    assert e.value.errno in (errno.EINVAL, errno.ENOENT, errno.ENODEV,
                             errno.EACCES, errno.EPERM)


def test_map_memoryview(raw_dump):
    path, data = raw_dump
    src = xfm.open(path)
    mv = src.map(0x200000, 0x300000)
    assert isinstance(mv, memoryview)
    assert mv.readonly and mv.nbytes == 0x300000
    assert mv[0x145678:0x145678 + 12] == b"XFM-MARKER-1"
    assert bytes(mv[:4096]) == data[0x200000:0x201000]
    with pytest.raises(ValueError):
        src.map(0x123, 4096)
    with pytest.raises(BufferError):
        src.close()                 # the view is alive: no unmap under it
    mv.release()
    src.close()
    assert src.closed


def test_search(raw_dump):
    path, data = raw_dump
    with xfm.open(path) as src:
        assert src.search(b"XFM-MARKER-1") == [0x345678]
        pat = data[0x3FFFFE:0x400003]  # straddles a 4 MiB search chunk
        want = []
        i = data.find(pat)
        while i >= 0:
            want.append(i)
            i = data.find(pat, i + 1)
        assert src.search(pat) == want
        assert src.search(b"XFM-MARKER-1", 0x345679) == []
        assert src.search(pat, max=1) == want[:1]
        with pytest.raises(ValueError):
            src.search(b"")


def test_dump_progress_and_cancel(raw_dump, tmp_path):
    path, data = raw_dump
    out = tmp_path / "out.raw"
    seen = []
    with xfm.open(path) as src:
        src.dump(out, "raw", progress=lambda d, t: seen.append((d, t)))
        assert out.read_bytes() == data
        assert seen and seen[-1] == (8 * MIB, 8 * MIB)
        with pytest.raises(xfm.Error) as e:
            src.dump(out, "raw")
        assert e.value.errno == errno.EEXIST
        elf = tmp_path / "out.elf"
        src.dump(str(elf), "elf")
    with xfm.open(str(elf)) as e2:
        assert e2.info["format"] != "raw"
        assert e2.read(0x345678, 12) == b"XFM-MARKER-1"

    # The callable's true result cancels: nothing left behind.
    cancelled = tmp_path / "c.raw"
    with xfm.open(path) as src:
        with pytest.raises(xfm.CancelledError) as e:
            src.dump(cancelled, "raw", progress=lambda d, t: True)
        assert e.value.errno == errno.ECANCELED
        # An exception in the callable propagates as raised.
        with pytest.raises(ZeroDivisionError):
            src.dump(cancelled, "raw", progress=lambda d, t: 1 / 0)
        # Ctrl-C: SIGINT during the dump raises KeyboardInterrupt.
        def interrupt(d, t):
            os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            src.dump(cancelled, "raw", progress=interrupt)
        with pytest.raises(ValueError):
            src.dump(cancelled, "tar")
    assert not cancelled.exists()
    assert [p.name for p in tmp_path.iterdir() if "xfm-" in p.name] == []


def test_threads_share_a_source(raw_dump):
    path, data = raw_dump
    src = xfm.open(path)
    src.set_cache(1 << 20, 2)   # few windows: threads evict each other's
    errors = []

    def worker(k):
        try:
            for i in range(200):
                a = (k * 104729 + i * 7919 * 13) % (8 * MIB - 70000)
                if src.read(a, 65536 + k) != data[a:a + 65536 + k]:
                    errors.append((k, a))
        except Exception as e:      # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    src.close()


def test_close_waits_for_readers(raw_dump):
    path, _ = raw_dump
    src = xfm.open(path)
    src.set_cache(1 << 20, 0)   # every read maps and unmaps: slow
    stop = threading.Event()
    errors = []

    def reader():
        while not stop.is_set():
            try:
                src.read(0, 4 * MIB)
            except ValueError:      # closed: the expected end
                return
            except Exception as e:  # pragma: no cover
                errors.append(e)
                return

    ts = [threading.Thread(target=reader) for _ in range(3)]
    for t in ts:
        t.start()
    src.close()
    stop.set()
    for t in ts:
        t.join()
    assert errors == [] and src.closed


def test_live_qemu_read_write_map(qemu):
    with xfm.open(qemu.uri, write=True) as src:
        assert src.kind == "qemu"
        assert src.read(0x200000, 2 * MIB) == pattern(0x200000, 2 * MIB)
        assert src.search(pattern(0x2FF000, 32)) == [0x2FF000]
        src.write(0x300000 + 100, b"hello from python")
        # The RAM file itself (what QEMU runs on) holds the bytes.
        with open(qemu.ram, "rb") as f:
            f.seek(0x300000 + 100)
            assert f.read(17) == b"hello from python"
        mv = src.map(0x300000, 0x1000, write=True)
        assert not mv.readonly
        assert mv[100:117] == b"hello from python"
        mv[0:4] = b"MAPW"
        mv.release()
        src.invalidate()
        assert src.read(0x300000, 4) == b"MAPW"
    with xfm.open(qemu.uri) as ro:
        with pytest.raises(xfm.ReadOnlyError):
            ro.map(0x300000, 0x1000, write=True)


def test_vmcoreinfo(raw_dump):
    path, _ = raw_dump
    with xfm.open(path) as src:
        text, paddr = src.vmcoreinfo()
        assert text == VMCOREINFO.decode()
        assert paddr == 0x7F0000
        assert src.vmcoreinfo_number("SYMBOL(init_task)") == 0xFFFFFFFF82A0C940
        assert src.vmcoreinfo_number("KERNELOFFSET") == 0x1000000
        assert src.vmcoreinfo_number("NUMBER(phys_base)") == 2**64 - 2
        assert src.info["linux.osrelease"] == "6.1.0-xfm"
        with pytest.raises(xfm.AbsentError) as e:
            src.vmcoreinfo_number("SYMBOL(nope)")
        assert "SYMBOL(nope)" in str(e.value)
        with pytest.raises(xfm.Error) as e:
            src.vmcoreinfo_number("OSRELEASE")
        assert e.value.errno == errno.EINVAL


def test_virtual_addresses(raw_dump):
    path, data = raw_dump
    with xfm.open(path) as src:
        src.set_vm_root(xfm.VM_X86_64, CR3)
        r = src.get_vm_root()
        assert (r.mode, r.root) == (xfm.VM_X86_64, CR3)
        t = src.translate(VA_BASE + 0x678)
        assert isinstance(t, xfm.Translation)
        assert (t.pa, t.page_size, t.level) == (0x345678, 4096, 1)
        assert src.read_va(VA_BASE + 0x678, 12) == b"XFM-MARKER-1"
        with pytest.raises(xfm.FaultError) as e:
            src.read_va(VA_BASE + 0x1000, 4)
        assert e.value.errno == errno.EFAULT
        assert "0xffff888000001000" in str(e.value)
        assert src.read_va(VA_BASE + 0xFFC, 8, zero_fill=True) == \
            data[0x345FFC:0x346000] + bytes(4)
        with pytest.raises(xfm.ReadOnlyError):
            src.write_va(VA_BASE, b"x")
