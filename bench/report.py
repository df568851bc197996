#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-only
"""report.py - merge the benchmark outputs into one JSON file and print
the markdown table (bench/run.sh calls it).

usage: report.py --out FILE --machine JSON [--file FILE.json]
                 [--lab LAB-STDOUT] [--lab-status N]
"""
import argparse
import json
import statistics
import sys


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


def summarise(m, a="xfm", b="ref"):
    """Stats of both series and of the paired ratios a/b."""
    out = {k: stats(v) for k, v in m.items() if isinstance(v, list)}
    if a in m and b in m:
        out["ratio_" + a + "_" + b] = stats(
            [x / y for x, y in zip(m[a], m[b]) if y])
    return out


def fmt_rate(v, unit):
    if unit == "bytes/s" or unit == "guest bytes/s":
        return "%.0f MiB/s" % (v / 2**20)
    if unit == "us/frame":
        return "%.2f µs" % v
    if unit == "KiB":
        return "%.1f MiB" % (v / 1024)
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 1e4:
        return "%.0fk" % (v / 1e3)
    return "%.0f" % v


def cell(s, unit):
    return "%s [%s–%s]" % (fmt_rate(s["median"], unit),
                            fmt_rate(s["min"], unit), fmt_rate(s["max"], unit))


def ratio_cell(s):
    return "**%.2f×** [%.2f–%.2f]" % (s["median"], s["min"], s["max"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--file")
    ap.add_argument("--lab")
    ap.add_argument("--lab-status", type=int)
    args = ap.parse_args()

    result = {"machine": json.loads(args.machine), "host": None, "lab": None}
    result["machine"]["host_rows_under_qemu"] = False
    rows = []

    def row(measure, ref_name, unit, m, a, b, goal, test, inverse=False):
        """inverse: the series are costs (lower is better)."""
        if not m or not m.get(a) or not m.get(b):
            return
        sa, sb = stats(m[a]), stats(m[b])
        if len(m[a]) == len(m[b]):
            pairs = [(x, y) for x, y in zip(m[a], m[b]) if x and y]
        else:
            # Fewer reference runs (xl dump-core): each xfm repetition
            # against the reference's median.
            pairs = [(x, sb["median"]) for x in m[a] if x]
        r = stats([(y / x) if inverse else (x / y) for x, y in pairs])
        ok = test(r["median"]) if test else None
        rows.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            measure, cell(sa, unit), ref_name, cell(sb, unit), ratio_cell(r),
            goal, "—" if ok is None else "yes" if ok else "**no**"))

    if args.file:
        with open(args.file) as f:
            fd = json.load(f)
        result["host"] = {"raw": fd, "summary": {
            k: summarise(v) for k, v in fd["measures"].items()}}
    if args.lab:
        env, data = parse_lab(args.lab)
        result["lab"] = {
            "env": env, "status": args.lab_status, "raw": data,
            "under_qemu_tcg": True,
            "note": "Xen lab (lab/lab.sh) under QEMU TCG: absolute times "
                    "mean little, the ratios are the result. The lab has "
                    "no guest memory option; bench/lab-payload.sh creates "
                    "its own paused PVH guest, as large as dom0 can dump "
                    "into RAM (guest_mb vs guest_mb_wanted)."}
        if data:
            result["lab"]["summary"] = {
                k: summarise(v) for k, v in data["measures"].items()}
            s = result["lab"]["summary"]
            for k in ("rand8", "rand4k"):
                m = data["measures"][k]
                s[k]["ratio_xfm_fit_ref"] = stats(
                    [x / y for x, y in zip(m["xfm_fit"], m["ref"])])

    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    # --- the table ---------------------------------------------------
    ge = lambda g: (lambda r: r >= g)
    lab = result["lab"]["raw"] if result["lab"] else None
    if lab:
        lm = lab["measures"]
        for k in ("map64", "rand8", "rand4k", "dump", "dump_rss"):
            if k not in lm:
                rows.append("| %s | (not measured: the lab run ended "
                            "first) | | | | | |" % k)
        gmib = lab["guest"]["bytes"] // 2**20
        row("batch map + touch + unmap, 64 MiB (16384 frames), frames/s",
            "Debian libxenforeignmemory", "frames/s", lm.get("map64"), "xfm",
            "ref", "≥ 1.0×", ge(1.0))
        row("random 8-byte reads over %d MiB guest, reads/s (default cache)"
            % gmib, "one map+read+unmap per read (Debian lib)", "reads/s",
            lm.get("rand8"), "xfm", "ref", "≥ 30×", ge(30))
        row("random 8-byte reads, cache sized to the guest",
            "same", "reads/s", lm.get("rand8"), "xfm_fit", "ref", "≥ 30×",
            ge(30))
        row("random 4 KiB reads over %d MiB guest, reads/s (default cache)"
            % gmib, "one map+read+unmap per read (Debian lib)", "reads/s",
            lm.get("rand4k"), "xfm", "ref", "≥ 10×", ge(10))
        row("random 4 KiB reads, cache sized to the guest", "same",
            "reads/s", lm.get("rand4k"), "xfm_fit", "ref", "≥ 10×", ge(10))
        row("dump %d MiB paused guest (xen-core), guest bytes/s" % gmib,
            "`xl dump-core`", "guest bytes/s", lm.get("dump"), "xfm", "ref",
            "≥ 3× faster", ge(3))
        if "xfm_before" in (lm.get("dump") or {}):
            row("dump, libxfm before the direct-map dump commit",
                "`xl dump-core`", "guest bytes/s", lm.get("dump"), "xfm_before",
                "ref", "≥ 3× faster", ge(3))
    if result["host"]:
        hm = result["host"]["raw"]["measures"]
        sq = hm["seqread"]
        row("sequential read of a %d MiB ELF dump, 1 MiB xfm_read chunks"
            % (sq["params"]["memory_bytes"] // 2**20),
            "`pread` loop, same file and chunk, warm", "bytes/s", sq,
            "xfm", "ref", "≥ 0.9×", ge(0.9))
        fr = hm["file_dump_rss"]
        p = fr["params"]
        row("peak RSS of xfm_dump (host, ELF): %d MiB source vs %d MiB "
            "(ratio = small/large RSS)" % (p["large_bytes"] // 2**20,
                                           p["small_bytes"] // 2**20),
            "%d MiB source" % (p["small_bytes"] // 2**20), "KiB", fr,
            "large", "small", "bounded (≈ 1×)", lambda r: r >= 0.8,
            inverse=True)
    if lab:
        dr = lm.get("dump_rss") or {"params": {"large_bytes": 0,
                                                "small_bytes": 0}}
        p = dr["params"]
        row("peak RSS of xfm_dump (lab, live guests): %d MiB vs %d MiB "
            "(ratio = small/large RSS)" % (p["large_bytes"] // 2**20,
                                           p["small_bytes"] // 2**20),
            "%d MiB guest" % (p["small_bytes"] // 2**20), "KiB", dr,
            "large", "small", "bounded (≈ 1×)", lambda r: r >= 0.8,
            inverse=True)
        d = lm.get("dump")
        row("peak RSS while dumping the guest: xl dump-core / xfm",
            "`xl dump-core`", "KiB", d, "xfm_rss_kib", "ref_rss_kib",
            "—", None, inverse=True)
        for b in (1, 16, 256, 4096, 65536):
            m = lm.get("scale_%d" % b)
            if not m:
                continue
            us = {k: [1e6 / v for v in m[k]] for k in ("xfm", "ref")}
            row("map+touch+unmap cost per frame, batch %d" % b,
                "Debian lib, same batch", "us/frame", us, "xfm", "ref",
                "the curve", None, inverse=True)

    mc = result["machine"]
    print()
    print("Machine: %s, %s cores, kernel %s%s." % (
        mc.get("cpu"), mc.get("cores"), mc.get("kernel"),
        ", load average %s at start" % mc["loadavg"] if "loadavg" in mc
        else ""))
    if lab:
        env = result["lab"]["env"] or {}
        print("Live rows: Xen %s lab under QEMU TCG (absolute times mean "
              "little; the ratios are the result), dom0 kernel %s, PVH "
              "guest of %d MiB (wanted %s), %d repetitions." % (
                  env.get("xen"), env.get("kernel"), gmib,
                  env.get("guest_mb_wanted"), lab["reps"]))
        if result["lab"]["status"]:
            print("**The lab run ended with status %s: its rows are those "
                  "measured before that.**" % result["lab"]["status"])
    if result["host"]:
        print("Host rows: on the host itself, %d repetitions." %
              result["host"]["raw"]["reps"])
    print("Cells: median [min–max] over the repetitions; ratio = xfm / "
          "reference per repetition (for costs: reference / xfm), so > 1 "
          "is better for xfm.")
    print()
    print("| measure | xfm | reference | reference value | ratio | goal "
          "| met |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    print()
    print("JSON: %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
