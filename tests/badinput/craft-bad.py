#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-only
"""Write the bad dump files of the bad-input table into DIR, one per row:
each is a small valid file (ELF core, Xen dump-core, LiME, kdump) with exactly one
thing wrong.  Usage: craft-bad.py DIR"""
import struct
import sys
import zlib

D = sys.argv[1]
PAT = bytes((i * 7 + 3) & 0xff for i in range(4096))


def put(name, data):
    with open(f'{D}/{name}', 'wb') as f:
        f.write(data)


# --- ELF64 little-endian core: PT_LOADs at file offset 0x1000 on --------
def elf(loads, *, cls=2, data=1, ver=1, etype=4, phentsize=56, phnum=None,
        phoff=64, shoff=0, pad=True):
    ident = b'\x7fELF' + bytes([cls, data, ver]) + bytes(9)
    n = len(loads) if phnum is None else phnum
    h = ident + struct.pack('<HHIQQQIHHHHHH', etype, 62, 1, 0, phoff, shoff,
                            0, 64, phentsize, n, 64, 0, 0)
    ph = b''
    body = b''
    off = 0x1000
    for ld in loads:
        typ, paddr, filesz, memsz = ld[:4]
        o = ld[4] if len(ld) > 4 else off
        ph += struct.pack('<IIQQQQQQ', typ, 4, o, paddr, paddr, filesz,
                          memsz, 4096)
        if len(ld) <= 4:
            body += (PAT * (filesz // 4096 + 1))[:filesz]
            off += filesz
    out = bytearray(h + ph)
    out += bytes(0x1000 - len(out))
    if pad:
        out += body
    return bytes(out)


LOAD, NOTE = 1, 4
good = [(LOAD, 0, 0x2000, 0x2000)]
put('elf-good', elf(good))
put('elf-trunc-header', elf(good)[:40])
put('elf-bad-class', elf(good, cls=3))
put('elf-bad-byteorder', elf(good, data=0))
put('elf-bad-version', elf(good, ver=2))
put('elf-not-core', elf(good, etype=2))
put('elf-bad-phentsize', elf(good, phentsize=32))
put('elf-phnum-lies', elf(good, phnum=60000))
put('elf-phoff-past-eof', elf(good, phoff=1 << 40))
put('elf-load-past-eof', elf([(LOAD, 0, 0x2000, 0x2000, 0x100000)]))
put('elf-filesz-gt-memsz', elf([(LOAD, 0, 0x2000, 0x1000)]))
put('elf-load-wraps', elf([(LOAD, 0xfffffffffffff000, 0x2000, 0x2000)]))
put('elf-overlap', elf([(LOAD, 0, 0x2000, 0x2000),
                        (LOAD, 0x1000, 0x1000, 0x1000)]))
put('elf-no-load', elf([(NOTE, 0, 0, 0, 0x1000)], pad=False))
put('elf-note-past-eof', elf([(NOTE, 0, 0x10000, 0x10000, 0x1000),
                              (LOAD, 0, 0x1000, 0x1000, 0x1000)],
                             pad=False))
put('elf-xnum-no-shdr', elf(good, phnum=0xffff))
put('elf-truncated-data', elf(good)[:0x1800])


# --- Xen dump-core (HVM): .shstrtab, .note.Xen, .xen_pages, .xen_pfn -----
# shdr_at: put the section header table there (before the pages) instead
# of at the end, so that cutting the file cuts only page data.
def xen(pfns, *, magic=0xF00FEBEE, page=4096, nr=None, strndx=1,
        pfn_bytes=None, cut=None, notes=True, shdr_at=None):
    n = len(pfns)
    nr = n if nr is None else nr
    names = b'\0.shstrtab\0.note.Xen\0.xen_pages\0.xen_pfn\0'
    note = struct.pack('<III', 4, 32, 0x2000001) + b'Xen\0' + \
        struct.pack('<QQQQ', magic, 1, nr, page)
    pfn = b''.join(struct.pack('<Q', p) for p in pfns)
    if pfn_bytes is not None:
        pfn = pfn[:pfn_bytes]
    pages_off = 4096
    pages = (PAT * (page // 4096 + 1))[:page] * n
    shoff = pages_off + len(pages) if shdr_at is None else shdr_at
    out = bytearray(struct.pack('<16sHHIQQQIHHHHHH',
                                b'\x7fELF\x02\x01\x01' + bytes(9), 4, 62,
                                1, 0, 0, shoff, 0, 64, 0, 0, 64, 5, strndx))
    out += bytes(64 - len(out))
    layout = [(0, 0, 0, 0), (1, 3, 64, len(names))]
    out[64:64 + len(names)] = names
    out += bytes(256 - len(out))
    out += note if notes else bytes(len(note))
    out += bytes(512 - len(out))
    out += pfn
    layout += [(11 if notes else 0, 7, 256, len(note)),
               (21, 1, pages_off, len(pages)), (32, 1, 512, len(pfn))]
    shdrs = b''.join(struct.pack('<IIQQQQIIQQ', name, typ, 0, 0, off, size,
                                 0, 0, 8, 0)
                     for name, typ, off, size in layout)
    if shdr_at is not None:
        out += bytes(shdr_at - len(out))
        out += shdrs
    out += bytes(pages_off - len(out))
    out += pages
    if shdr_at is None:
        out += shdrs
    return bytes(out[:cut] if cut else out)


put('xen-good', xen([0, 1, 5]))
put('xen-no-note', xen([0, 1, 5], notes=False))
put('xen-bad-magic', xen([0, 1, 5], magic=0x12345678))
put('xen-bad-pagesize', xen([0, 1, 5], page=3000))
put('xen-nr-pages-lies', xen([0, 1, 5], nr=1000))
put('xen-pfn-table-short', xen([0, 1, 5], pfn_bytes=16))
# Headers, notes and frame table intact; the file ends after 1 of 3 pages.
put('xen-truncated-pages', xen([0, 1, 5], shdr_at=1024, cut=4096 + 4096))
put('xen-bad-shstrndx', xen([0, 1, 5], strndx=9))
put('xen-pfn-too-large', xen([0, 0x10000000000000, 5]))
put('xen-duplicate-pfn', xen([0, 1, 1]))


# --- LiME ------------------------------------------------------------------
def lime(ranges, *, magic=0x4C694D45, ver=1, data=True):
    out = b''
    for r in ranges:
        s, e = r[:2]
        m = r[2] if len(r) > 2 else magic
        out += struct.pack('<IIQQQ', m, ver, s, e, 0)
        if data:
            out += (PAT * ((e - s + 1) // 4096 + 1))[:e - s + 1]
    return out


put('lime-good', lime([(0, 0xfff), (0x2000, 0x2fff)]))
put('lime-trunc-header', lime([(0, 0xfff)])[:20])
put('lime-bad-version', lime([(0, 0xfff)], ver=2))
put('lime-end-before-start', lime([(0x2000, 0xfff)], data=False))
put('lime-unsorted', lime([(0x2000, 0x2fff), (0, 0xfff)]))
put('lime-overlap', lime([(0, 0x1fff), (0x1000, 0x2fff)]))
put('lime-size-lies', lime([(0, 0xfff)]) +
    lime([(0x2000, 0xffffff)], data=False) + PAT[:100])
put('lime-bad-second-magic', lime([(0, 0xfff), (0x2000, 0x2fff, 0x1234)]))
put('lime-whole-space', lime([(0, 0xffffffffffffffff)], data=False))
put('empty', b'')


# --- kdump-compressed (makedumpfile's KDUMP v6) and its flattened form -----
# A good file: 4 KiB blocks, 4 pages (max_mapnr), pages 0, 1, 3 dumped:
# page 0 stored as is, page 1 zlib, page 3 as is.  Blocks: 0 header,
# 1 sub-header (+ VMCOREINFO), 2-3 bitmaps, 4 descriptors, 5.. data.
# Each keyword changes one field; cut= truncates the file.
def kdump(*, ver=6, bs=4096, sub_blocks=1, bitmap_blocks=2, mapnr=4,
          mapnr64=None, vi_off=None, vi_len=None, note_len=0, descs=None,
          zdata=None, cut=None):
    uts = b''.join(s.ljust(65, b'\0') for s in
                   (b'Linux', b'bad', b'6.1.0-bad', b'#1', b'x86_64', b''))
    h = b'KDUMP   ' + struct.pack('<i', ver) + uts
    h += bytes(408 - len(h)) + bytes(16)
    h += struct.pack('<IiiIIIIIIi', 0x1, bs, sub_blocks, bitmap_blocks,
                     mapnr, 0, 0, 0, 0, 1)
    vi = b'OSRELEASE=6.1.0-bad\nPAGESIZE=4096\n'
    vi_off = 4096 + 104 if vi_off is None else vi_off
    vi_len = len(vi) if vi_len is None else vi_len
    sub = struct.pack('<QiiQQQQQQQQQQQ', 0, 1, 0, 0, 0, vi_off, vi_len,
                      0, note_len, 0, 0, 0, 0,
                      mapnr if mapnr64 is None else mapnr64) + vi
    bm1 = bytes([0x0f]) + bytes(4095)
    bm2 = bytes([0x0b]) + bytes(4095)
    page0 = PAT
    page1 = zlib.compress(PAT[::-1]) if zdata is None else zdata
    page3 = PAT[::-1]
    d0 = 5 * 4096
    std = [(d0, 4096, 0), (d0 + 4096, len(page1), 0x1),
           (d0 + 4096 + len(page1), 4096, 0)]
    pd = b''.join(struct.pack('<QIIQ', o, s, f, 0)
                  for o, s, f in (descs or std))
    out = h.ljust(4096, b'\0') + sub.ljust(4096, b'\0') + bm1 + bm2 + \
        pd.ljust(4096, b'\0') + page0 + page1 + page3
    return out[:cut] if cut else out


# The flattened form of FILE: a 4 KiB "makedumpfile" header, {offset, size}
# big-endian records, {-1, -1}; recs = [(offset, size)] of FILE, in order.
def flat(data, recs=None, *, end=True):
    out = b'makedumpfile'.ljust(16, b'\0') + struct.pack('>qq', 1, 1)
    out = out.ljust(4096, b'\0')
    for off, size in recs or [(0, len(data))]:
        out += struct.pack('>qq', off, size) + data[off:off + size]
    if end:
        out += struct.pack('>qq', -1, -1)
    return out


K = kdump()
put('kdump-good', K)
put('kdump-bad-version', kdump(ver=7))
put('kdump-bad-blocksize', kdump(bs=3000))
put('kdump-no-sub-header', kdump(sub_blocks=0))
put('kdump-bitmap-odd', kdump(bitmap_blocks=3))
put('kdump-mapnr-too-big', kdump(mapnr64=1 << 40))
put('kdump-bitmap-past-eof', kdump(bitmap_blocks=1 << 20))
put('kdump-vmcoreinfo-too-big', kdump(vi_len=1 << 30))
put('kdump-vmcoreinfo-past-eof', kdump(vi_off=1 << 32))
put('kdump-notes-too-big', kdump(note_len=1 << 40))
put('kdump-descs-past-eof', kdump(cut=4 * 4096 + 40))
put('kdump-desc-size-zero', kdump(descs=[(5 * 4096, 0, 0)] * 3))
put('kdump-desc-size-short', kdump(descs=[(5 * 4096, 100, 0)] * 3))
put('kdump-desc-size-large', kdump(descs=[(5 * 4096, 4097, 0x1)] * 3))
put('kdump-desc-bad-flags', kdump(descs=[(5 * 4096, 100, 0x6)] * 3))
put('kdump-desc-incomplete', kdump(descs=[(5 * 4096, 4096, 0x8)] * 3))
put('kdump-data-past-eof', kdump(descs=[(1 << 40, 4096, 0)] * 3))
put('kdump-bad-zlib', kdump(zdata=b'\x78\x9c' + bytes(40)))
put('kdump-zlib-short', kdump(zdata=zlib.compress(PAT[:2048])))
put('kdump-flat-good', flat(K))
put('kdump-flat-record-past-eof', flat(K)[:4096 + 16 + 100])
put('kdump-flat-overlap', flat(K, [(0, 8192), (4096, 8192),
                                   (12288, len(K) - 12288)]))
put('kdump-flat-not-kdump', flat(b'DISKDUMP' + K[8:]))
put('kdump-flat-hole', flat(K, [(0, 12288), (16384, len(K) - 16384)]))
put('kdump-flat-negative', flat(K, [(-4096, 8192)]))
