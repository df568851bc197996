#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-only
"""report.py - the one script behind every benchmark figure in the docs.

  report.py --out FILE --machine JSON [--file HOST.json]
            [--lab LAB-STDOUT --lab-status N]...
      merge what bench/run.sh measured into FILE (refused if FILE exists:
      result files are never overwritten) and print its table.
  report.py --table RESULT.json
      print the markdown table of a committed result file.
  report.py --compare BEFORE.json AFTER.json
      the before/after table of two result files (same rows, two builds).
  report.py --check DOC... / --update DOC...
      every block of DOC between
        <!-- bench-table: bench/results/NAME.json -->
        <!-- /bench-table -->
      must be exactly what --table prints for that file (--check exits 1
      naming the first difference; --update rewrites the blocks).

Cells are median [min-max] over every repetition of every boot; a ratio
is computed per repetition (xfm and reference measured side by side in
the same boot) and then summarised the same way.
"""
import argparse
import json
import os
import re
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stats(v):
    return {"min": min(v), "median": statistics.median(v), "max": max(v),
            "n": len(v)}


def parse_lab(path):
    env, body, inside = None, [], False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("XFM-BENCH-ENV "):
                env = json.loads(line[len("XFM-BENCH-ENV "):])
            elif line == "XFM-BENCH-JSON-BEGIN":
                inside = True
            elif "XFM-BENCH-JSON-END" in line:
                body.append(line[:line.index("XFM-BENCH-JSON-END")])
                inside = False
            elif inside:
                body.append(line)
    data = None
    if body:
        text = "\n".join(body)
        # A run cut short (timeout) leaves the document open: close it.
        for tail in ("", "\n}}", "}\n}}"):
            try:
                data = json.loads(text + tail)
                break
            except json.JSONDecodeError:
                continue
    return env, data


def fmt(v, unit):
    if unit in ("bytes/s", "guest bytes/s"):
        return "%.0f MiB/s" % (v / 2**20)
    if unit == "us/frame":
        return "%.2f µs" % v
    if unit == "s":
        return "%.2f s" % v
    if unit == "KiB":
        return "%.1f MiB" % (v / 1024)
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 1e4:
        return "%.0fk" % (v / 1e3)
    return "%.0f" % v


def cell(v, unit):
    s = stats(v)
    return "%s [%s–%s]" % (fmt(s["median"], unit), fmt(s["min"], unit),
                            fmt(s["max"], unit))


def labs_of(result):
    """Every boot's raw data (old files hold one "lab")."""
    labs = result.get("labs")
    if labs is None:
        labs = [result["lab"]] if result.get("lab") else []
    return [b for b in labs if b and b.get("raw")]


class Table:
    def __init__(self):
        self.rows = []
        self.data = []  # (measure, ratio cell, goal, met)

    def row(self, measure, ref_name, unit, ms, a, b, goal, test,
            inverse=False, scale=1.0):
        """ms: the measure's dict in each boot.  inverse: costs."""
        ms = [m for m in ms if m and m.get(a) and m.get(b)]
        if not ms:
            return
        va = [x for m in ms for x in m[a]]
        vb = [y for m in ms for y in m[b]]
        ratios = []
        for m in ms:
            if len(m[a]) == len(m[b]):
                pairs = list(zip(m[a], m[b]))
            else:
                # Fewer reference runs (xl dump-core): each xfm repetition
                # against that boot's reference median.
                med = statistics.median(m[b])
                pairs = [(x, med) for x in m[a]]
            ratios += [(y / x if inverse else x / (y * scale))
                       for x, y in pairs if x and y]
        r = stats(ratios)
        ok = test(r["median"]) if test else None
        self.data.append((measure, "**%.2f×** [%.2f–%.2f]" % (
            r["median"], r["min"], r["max"]), goal,
            "—" if ok is None else "yes" if ok else "**no**"))
        self.rows.append("| %s | %s | %s | %s | **%.2f×** [%.2f–%.2f] | %s "
                         "| %s |" % (measure, cell(va, unit), ref_name,
                                     cell(vb, unit), r["median"], r["min"],
                                     r["max"], goal, "—" if ok is None else
                                     "yes" if ok else "**no**"))


def ge(g):
    return lambda r: r >= g


def host_rows(t, hm):
    if "rand8_file" in hm:
        m = hm["rand8_file"]
        mib = m["params"]["file_bytes"] // 2**20
        t.row("random 8-byte xfm_read of a %d MiB raw file, reads/s" % mib,
              "`mmap` + `memcpy`, same file and addresses", "reads/s", [m],
              "xfm", "ref", "≥ 0.5×", ge(0.5))
        t.row("random 8-byte xfm_read, against a `pread` per read",
              "`pread` loop", "reads/s", [m], "xfm", "pread", "—", None)
    if "threads" in hm:
        m = hm["threads"]
        for n in range(2, m["params"]["cpus"] + 1):
            t.row("cache hits, %d threads on one handle (ratio = rate / "
                  "(%d × 1 thread))" % (n, n), "1 thread", "reads/s", [m],
                  "t%d" % n, "t1", "≥ 0.8×", ge(0.8), scale=n)
        # Before 2026-11-30-host-2 the hitter read the misser's windows
        # too, so it missed itself: that older figure measured its own
        # misses.  Only the newer form has a goal.
        other = m["params"].get("hits_beside_misser") == "other windows"
        t.row("cache hits of one thread while another misses (ratio = "
              "with / without)%s" % (", on windows the misser leaves alone"
                                     if other else ""),
              "the same thread alone", "reads/s", [m],
              "hits_with_misser", "hits_alone", "≥ 0.8×" if other else "—",
              ge(0.8) if other else None)
    if "search" in hm:
        m = hm["search"]
        t.row("`xfm search` of a %d MiB raw file, bytes/s" %
              (m["params"]["file_bytes"] // 2**20),
              "`grep -c -a -F`, same file and pattern", "bytes/s", [m],
              "xfm", "ref", "≥ 0.5×", ge(0.5))
    if "seqread" in hm:
        m = hm["seqread"]
        t.row("sequential read of a %d MiB ELF dump, 1 MiB xfm_read chunks"
              % (m["params"]["memory_bytes"] // 2**20),
              "`pread` loop, same file and chunk, warm", "bytes/s", [m],
              "xfm", "ref", "≥ 0.9×", ge(0.9))
    for k, what in (("file_dump_rss", "peak RSS"),
                    ("file_dump_mapped", "peak mapped bytes")):
        if k not in hm:
            continue
        m = hm[k]
        p = m["params"]
        t.row("%s of xfm_dump (host, ELF): %d MiB source vs %d MiB (ratio = "
              "small/large)" % (what, p["large_bytes"] // 2**20,
                                p["small_bytes"] // 2**20),
              "%d MiB source" % (p["small_bytes"] // 2**20), "KiB", [m],
              "large", "small", "bounded (≈ 1×)", ge(0.8), inverse=True)


def lab_rows(t, labs):
    lm = [b["raw"]["measures"] for b in labs]
    get = lambda k: [m.get(k) for m in lm]
    gmib = labs[0]["raw"]["guest"]["bytes"] // 2**20
    t.row("batch map + touch + unmap, 64 MiB (16384 frames), frames/s",
          "Debian libxenforeignmemory", "frames/s", get("map64"), "xfm",
          "ref", "≥ 1.0×", ge(1.0))
    for k, size, goal in (("rand8", "8-byte", 30), ("rand4k", "4 KiB", 10)):
        t.row("random %s reads over %d MiB guest, reads/s" % (size, gmib),
              "one map+read+unmap per read (Debian lib)", "reads/s", get(k),
              "xfm", "ref", "≥ %d×" % goal, ge(goal))
        t.row("random %s reads, against an LRU of 512 one-frame maps" %
              size, "LibVMI-style page cache (Debian lib)", "reads/s",
              get(k), "xfm", "ref_lru", "—", None)
        t.row("random %s reads, warm cache, against the guest mapped once"
              % size, "whole guest mapped once, untimed (Debian lib) + "
              "`memcpy`", "reads/s", get(k), "xfm_warm", "ref_whole",
              "≥ 0.5×", ge(0.5))
        t.row("random %s reads, cold cache counted, against the guest "
              "mapped once" % size, "same", "reads/s", get(k), "xfm",
              "ref_whole", "—", None)
        # Files of before this round: the cache sized by hand.
        t.row("random %s reads, cache sized to the guest" % size, "same",
              "reads/s", get(k), "xfm_fit", "ref", "≥ %d×" % goal,
              ge(goal))
    dumps = [m for m in get("dump") if m]
    xls = [m for m in get("dump_xl") if m]
    if xls:
        xl_mib = xls[0]["params"]["guest_bytes"] // 2**20
    else:  # files of before this round: the big guest, in "dump"
        xls, xl_mib = dumps, gmib
    t.row("dump %d MiB guest (xen-core), guest bytes/s" % xl_mib,
          "`xl dump-core`", "guest bytes/s", xls, "xfm", "ref",
          "≥ 10×", ge(10))
    t.row("dump %d MiB paused guest, against the best program on Debian's "
          "library" % gmib, "4096-frame maps + `write`, same tmpfs",
          "guest bytes/s", dumps, "xfm_large_for_batched", "ref_batched",
          "≥ 0.9×", ge(0.9))
    t.row("dump %d MiB paused guest, this build against the build before "
          "(same boot)" % gmib, "libxfm before the change", "guest bytes/s",
          dumps, "xfm_large_for_batched", "xfm_before", "—", None)
    t.row("xfm_get_ranges of the live guest, seconds (ratio = the map "
          "probe / xfm)", "map every frame up to the last, 65536 a batch",
          "s", [m for m in get("ranges") if m], "xfm_s", "probe_s", "—",
          None, inverse=True)
    parts = [m for m in get("dump_parts") if m]
    for k, what in (("ranges_s", "xfm_get_ranges"),
                    ("info_s", "xfm_source_info (VMCOREINFO search)"),
                    ("dump_s", "xfm_dump after both")):
        t.row("dump phase: %s, seconds (ratio = reference dump / phase)"
              % what, "whole 4096-frame batched dump", "s", parts, k,
              "ref_s", "—", None, inverse=True)
    for k, what in (("dump_rss", "peak RSS"),
                    ("dump_mapped", "peak mapped bytes")):
        ms = [m for m in get(k) if m]
        if not ms:
            continue
        p = ms[0]["params"]
        t.row("%s of xfm_dump (lab, live guests): %d MiB vs %d MiB (ratio = "
              "small/large)" % (what, p["large_bytes"] // 2**20,
                                p["small_bytes"] // 2**20),
              "%d MiB guest" % (p["small_bytes"] // 2**20), "KiB", ms,
              "large", "small", "bounded (≈ 1×)", ge(0.8), inverse=True)
    t.row("peak RSS while dumping the guest: xl dump-core / xfm",
          "`xl dump-core`", "KiB", [m for m in get("dump_xl") if m] or
          get("dump"), "xfm_rss_kib", "ref_rss_kib", "—", None,
          inverse=True)
    for b in (1, 16, 256):
        ms = [m for m in get("mapcall_%d" % b) if m]
        us = [{k: [1e6 / v for v in m[k]] for k in ("xfm", "ref", "dropin")
               if k in m} for m in ms]
        t.row("one map call (median of 201 calls in turns), cost per frame, "
              "batch %d" % b, "Debian lib, same batch", "us/frame", us,
              "xfm", "ref", "≥ 1.0×", ge(1.0), inverse=True)
        t.row("… the drop-in's xenforeignmemory_map, one call, batch %d" % b,
              "Debian lib, same batch", "us/frame", us, "dropin", "ref",
              "≥ 1.0×", ge(1.0), inverse=True)
    for b in (1, 16, 256, 4096, 65536):
        ms = [m for m in get("scale_%d" % b) if m]
        us = [{k: [1e6 / v for v in m[k]] for k in ("xfm", "ref", "dropin")
               if k in m} for m in ms]
        t.row("map+touch+unmap cost per frame, batch %d" % b,
              "Debian lib, same batch", "us/frame", us, "xfm", "ref",
              "≥ 1.0×", ge(1.0), inverse=True)
        t.row("… the drop-in's xenforeignmemory_map, batch %d" % b,
              "Debian lib, same batch", "us/frame", us, "dropin", "ref",
              "≥ 1.0×", ge(1.0), inverse=True)


def mount_table(r, name):
    """bench/bench-mount.py's result: DIR/pmem vs xfm read, one row."""
    t = Table()
    m = {"pmem": [r["bytes"] / s for s in r["pmem_read_s"]],
         "xfm": [r["bytes"] / s for s in r["xfm_read_s"]]}
    t.row("sequential read of `DIR/pmem` of `xfm mount`, %d MiB, %d KiB "
          "reads" % (r["bytes"] // 2**20, r["read_size"] // 1024),
          "`xfm read --raw` of the same range", "bytes/s", [m], "pmem",
          "xfm", "≥ %s×" % r["goal"], ge(r["goal"]))
    return "\n".join([
        "Host %s, kernel %s, %s; %d runs, interleaved." % (
            r["host"], r["kernel"], r["source"], r["reps"]),
        "", "| measure | xfm mount | reference | reference value | ratio "
        "| goal | met |", "|---|---|---|---|---|---|---|"] + t.rows +
        ["", "Every run: `%s`." % name]) + "\n"


def kdump_table(r, name):
    """bench/bench-kdump.py's result: ELF -> kdump, xfm vs makedumpfile,
    one row per codec (rates of the ELF's bytes; each repetition ran the
    two tools one after the other)."""
    t = Table()
    mib = r["elf"]["bytes"] // 2**20
    flag = {"zlib": "-c ", "lzo": "-l ", "none": ""}
    sizes = []
    for row in r["rows"]:
        c = row["codec"]
        m = {k: [r["elf"]["bytes"] / s for s in row[k]["seconds"]]
             for k in ("xfm", "makedumpfile")}
        t.row("%d MiB ELF -> kdump, %s, dump level %d, ELF bytes/s" % (
            mib, c, r["dump_level"]),
            "`makedumpfile %s-d %d`" % (flag.get(c, "?"), r["dump_level"]),
            "bytes/s", [m], "xfm", "makedumpfile", "≥ 1.0×", ge(1.0))
        sizes.append("%s %d / %d bytes (%.3f)" % (
            c, row["xfm"]["bytes"], row["makedumpfile"]["bytes"],
            row["size_ratio"]))
    mc = r["machine"]
    return "\n".join([
        "Host %s, %d cores, load average %s at start; %s; the ELF: %s "
        "bytes; %d repetitions, the two tools alternating." % (
            mc.get("host"), mc.get("cpus"),
            " ".join("%.2f" % x for x in mc.get("loadavg_start", [])),
            r["makedumpfile"], r["elf"]["bytes"], r["reps"]),
        "Output sizes, xfm / makedumpfile (goal: within 5 %%): %s." %
        "; ".join(sizes),
        "", "| measure | xfm | reference | reference value | ratio "
        "| goal | met |", "|---|---|---|---|---|---|---|"] + t.rows +
        ["", "Every repetition: `%s`." % name]) + "\n"


def vm_rows(t, r):
    """bench/bench-vm's reads by virtual address against the same reads
    by physical address, one row per working set (files with every
    repetition: reads_by_va/reads_by_pa)."""
    for s in r["sets"]:
        m = {"va": s.get("reads_by_va"), "pa": s.get("reads_by_pa")}
        t.row("random 8-byte reads by VA (`xfm_read_va`), %d MiB working "
              "set, reads/s" % s["working_set_mib"],
              "`xfm_read` of the same physical addresses", "reads/s", [m],
              "va", "pa", "≥ %s×" % r["goal_va_vs_pa"],
              ge(r["goal_va_vs_pa"]))


def vm_table(r, name):
    t = Table()
    vm_rows(t, r)
    mc = r["machine"]
    tr = "; ".join("%d MiB: %s warm, %s cold" % (
        s["working_set_mib"], fmt(s["translations_per_s_warm"], ""),
        fmt(s["translations_per_s_cold"], "")) for s in r["sets"])
    return "\n".join([
        "Machine: %s, %s cores, kernel %s, load average %s at start, %s "
        "at end; libxfm `%s`." % (mc["cpu"], mc["cores"], mc["kernel"],
                                  mc["loadavg"], mc["loadavg_end"],
                                  r["library"]),
        "Source: %s; %d repetitions of %.2f s per side, the two sides "
        "alternating.  Translations/s (`xfm_translate`, one run): %s." % (
            r["source"], r["read_reps"], r["secs_per_run"], tr),
        "", "| measure | xfm | reference | reference value | ratio "
        "| goal | met |", "|---|---|---|---|---|---|---|"] + t.rows +
        ["", "Every repetition: `%s`." % name]) + "\n"


def qemu_rows(t, r):
    """bench/bench-qemu-ram.sh's guests read through the QEMU process
    (RAM in a memfd, anonymous RAM) against a shared RAM file, side by
    side in each repetition (files with every repetition)."""
    sh = r["shared_file"]
    ref = "the same reads, shared RAM file (`mem-path`)"
    guests = {"memfd": "guest RAM in `memory-backend-memfd`",
              "process": "anonymous guest RAM (plain `-m`)"}
    for kind in ("memfd", "process"):
        g = r[kind]
        how = guests[kind]
        t.row("random 8-byte reads, %s, reads/s" % how, ref, "reads/s",
              [{"a": g["random_8b_reps"], "b": sh["random_8b_reps"]}],
              "a", "b", "≥ %s×" % r["goal"], ge(r["goal"]))
        t.row("sequential 1 MiB reads, %s" % how, ref, "bytes/s",
              [{"a": g["seq_reps"], "b": sh["seq_reps"]}],
              "a", "b", "≥ %s×" % r["goal"], ge(r["goal"]))
    t.row("bare 8-byte `process_vm_readv` calls at random offsets "
          "(no xfm), reads/s", ref + ", random 8-byte reads", "reads/s",
          [{"a": r["process_vm_readv_floor_reps"],
            "b": sh["random_8b_reps"]}], "a", "b", "—", None)


def qemu_table(r, name):
    t = Table()
    qemu_rows(t, r)
    return "\n".join([
        "%s; %d repetitions of `xfm bench --time 1` per guest, the order "
        "rotating; load average %s at start, %s at end." % (
            r["guest"], r["reps"], " ".join(r["loadavg"]),
            " ".join(r["loadavg_end"])),
        "How xfm read each guest (`qemu.ram_access`): shared file `%s`, "
        "memfd `%s`, plain `%s`." % (r["shared_file"]["ram_access"],
                                     r["memfd"]["ram_access"],
                                     r["process"]["ram_access"]),
        "", "| measure | xfm | reference | reference value | ratio "
        "| goal | met |", "|---|---|---|---|---|---|---|"] + t.rows +
        ["", "Every repetition: `%s`." % name]) + "\n"


def table(result, name):
    """The markdown of a result file: the same text for the same file."""
    if result.get("benchmark") == "qemu-ram-process-vs-shared-file":
        return qemu_table(result, name)
    if result.get("benchmark") == "mount-pmem-sequential":
        return mount_table(result, name)
    if result.get("benchmark") == "vm-translate":
        return vm_table(result, name)
    if result.get("benchmark") == "kdump":
        return kdump_table(result, name)
    t = Table()
    labs = labs_of(result)
    if labs:
        lab_rows(t, labs)
    if result.get("host"):
        host_rows(t, result["host"]["raw"]["measures"])
    out = []
    mc = result["machine"]
    out.append("Machine: %s, %s cores, kernel %s%s%s." % (
        mc.get("cpu"), mc.get("cores"), mc.get("kernel"),
        ", load average %s at start" % mc["loadavg"] if "loadavg" in mc
        else "", ", %s at end" % mc["loadavg_end"] if "loadavg_end" in mc
        else ""))
    if labs:
        env = labs[0].get("env") or {}
        reps = sum(b["raw"]["reps"] for b in labs)
        out.append("Live rows: Xen %s lab under QEMU TCG (absolute times "
                   "mean little; the ratios are the result), dom0 kernel "
                   "%s, %s guest of %d MiB (wanted %s), %d boot(s), %d "
                   "repetitions in all." % (
                       env.get("xen"), env.get("kernel"),
                       "Arm" if "arm64" in str(env.get("kernel")) else "PVH",
                       labs[0]["raw"]["guest"]["bytes"] // 2**20,
                       env.get("guest_mb_wanted"), len(labs), reps))
        bad = [str(b.get("status")) for b in labs if b.get("status")]
        if bad:
            out.append("**%d boot(s) ended with a non-zero status (%s): "
                       "their rows are those measured before that.**" %
                       (len(bad), ", ".join(bad)))
    if result.get("host"):
        out.append("Host rows: on the host itself, %d repetitions." %
                   result["host"]["raw"]["reps"])
    out.append("Cells: median [min–max] over every repetition; ratio = "
               "xfm / reference per repetition (for costs: reference / "
               "xfm), so > 1 is better for xfm.")
    out.append("")
    out.append("| measure | xfm | reference | reference value | ratio | "
               "goal | met |")
    out.append("|---|---|---|---|---|---|---|")
    out += t.rows
    out.append("")
    out.append("Every repetition: `%s`." % name)
    return "\n".join(out) + "\n"


def rows_of(result):
    t = Table()
    if result.get("benchmark") == "vm-translate":
        vm_rows(t, result)
        return t.data
    if result.get("benchmark") == "qemu-ram-process-vs-shared-file":
        qemu_rows(t, result)
        return t.data
    labs = labs_of(result)
    if labs:
        lab_rows(t, labs)
    if result.get("host"):
        host_rows(t, result["host"]["raw"]["measures"])
    return t.data


def compare(before, after):
    """Before/after: the ratio of each row in two result files."""
    with open(os.path.join(ROOT, before)) as f:
        b = {m: (r, g, ok) for m, r, g, ok in rows_of(json.load(f))}
    with open(os.path.join(ROOT, after)) as f:
        a = rows_of(json.load(f))
    out = ["| measure | before: ratio | met | after: ratio | met | goal |",
           "|---|---|---|---|---|---|"]
    for m, r, g, ok in a:
        rb, _, okb = b.get(m, ("(not measured)", g, "—"))
        out.append("| %s | %s | %s | %s | %s | %s |" % (m, rb, okb, r, ok,
                                                         g))
    out.append("")
    out.append("Before: `%s`; after: `%s`." % (before, after))
    return "\n".join(out) + "\n"


def table_of_file(name):
    if " " in name:  # "BEFORE.json AFTER.json": a before/after table
        return compare(*name.split(" ", 1))
    with open(os.path.join(ROOT, name)) as f:
        return table(json.load(f), name)


BLOCK = re.compile(r"(<!-- bench-table: (\S+(?: \S+)?) -->\n)(.*?)"
                   r"(<!-- /bench-table -->)", re.S)


def docs(paths, update):
    bad = 0
    for path in paths:
        with open(path) as f:
            text = f.read()
        blocks = BLOCK.findall(text)
        if not blocks:
            print("report.py: %s: no bench-table block" % path)
            bad += 1

        def regen(m):
            return m.group(1) + table_of_file(m.group(2)) + m.group(4)
        new = BLOCK.sub(regen, text)
        if new == text:
            print("ok - %s: %d table(s) match their result files" %
                  (path, len(blocks)))
            continue
        if update:
            with open(path, "w") as f:
                f.write(new)
            print("report.py: %s: updated" % path)
            continue
        for (_, name, old, _) in blocks:
            want = table_of_file(name)
            if old != want:
                a, b = old.splitlines(), want.splitlines()
                for i in range(max(len(a), len(b))):
                    x = a[i] if i < len(a) else "(nothing)"
                    y = b[i] if i < len(b) else "(nothing)"
                    if x != y:
                        print("not ok - %s: table of %s, line %d:\n"
                              "#   document: %s\n#   report.py: %s" %
                              (path, name, i + 1, x, y))
                        break
        bad += 1
    return 1 if bad else 0


def merge(args):
    if os.path.exists(args.out):
        print("report.py: %s exists: result files are never overwritten"
              % args.out, file=sys.stderr)
        return 1
    result = {"machine": json.loads(args.machine), "host": None, "labs": []}
    if args.load_end:
        result["machine"]["loadavg_end"] = args.load_end
    if args.file:
        with open(args.file) as f:
            result["host"] = {"raw": json.load(f)}
    status = args.lab_status or []
    for i, path in enumerate(args.lab or []):
        env, data = parse_lab(path)
        result["labs"].append({
            "env": env, "status": status[i] if i < len(status) else None,
            "raw": data, "under_qemu_tcg": True})
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.rename(tmp, args.out)
    name = os.path.relpath(os.path.abspath(args.out), ROOT)
    print(table(result, name))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--machine")
    ap.add_argument("--file")
    ap.add_argument("--load-end")
    ap.add_argument("--lab", action="append")
    ap.add_argument("--lab-status", type=int, action="append")
    ap.add_argument("--table")
    ap.add_argument("--compare", nargs=2)
    ap.add_argument("--check", nargs="+")
    ap.add_argument("--update", nargs="+")
    args = ap.parse_args()
    if args.compare:
        sys.stdout.write(compare(*args.compare))
        return 0
    if args.table:
        sys.stdout.write(table_of_file(args.table))
        return 0
    if args.check or args.update:
        return docs(args.check or args.update, bool(args.update))
    if not args.out or not args.machine:
        ap.error("--out and --machine, or --table, or --check/--update")
    return merge(args)


if __name__ == "__main__":
    sys.exit(main())
