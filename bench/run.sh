#!/bin/bash
# bench/run.sh - the xfm benchmark suite, one command (docs/benchmarks.md).
#
# usage: bench/run.sh [--out FILE] [--build DIR] [--reps N] [--lab-reps N]
#                     [--guest-mb N] [--large-mib N] [--no-lab] [--no-host]
#   Builds the benchmarks (meson, in DIR, default build-bench), runs the
#   host-side file benchmarks (bench-file), then boots the Xen lab once and
#   runs every live-guest benchmark (bench-xen) in its dom0.  Writes
#   FILE (default bench/results/<date>-<machine>.json) and prints the table.
# Environment: XFM_LAB_* as for lab/lab.sh; BENCH_DIR (host scratch,
#   default /var/tmp); BENCH_LAB_TIMEOUT (960); BENCH_BEFORE (a bench-xen built
#   from libxfm before a change: its dumps are measured too, "xfm_before").
# Exit: 0 when every part ran (goals missed are reported, not failures).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

out='' build="$ROOT/build-bench" reps=7 lab_reps=3 guest_mb=512
large_mib=1024 lab=1 host=1
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --lab-reps) lab_reps=$2; shift 2 ;;
        --guest-mb) guest_mb=$2; shift 2 ;;
        --large-mib) large_mib=$2; shift 2 ;;
        --no-lab) lab=0; shift ;;
        --no-host) host=0; shift ;;
        -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

machine=$(hostname -s 2>/dev/null || echo unknown)
[ -n "$out" ] || out="$HERE/results/$(date +%Y-%m-%d)-$machine.json"
mkdir -p "$(dirname "$out")"

say() { echo "bench: $*" >&2; }

# --- build -----------------------------------------------------------
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$ROOT" --buildtype=debugoptimized -Dwerror=true > /dev/null
fi
ninja -C "$build" bench/bench-file bench/bench-xen > /dev/null

WORK=$(mktemp -d "${TMPDIR:-/tmp}/xfm-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
machine_json=$(python3 -c 'import json, sys; print(json.dumps({
    "name": sys.argv[1], "cpu": sys.argv[2], "cores": int(sys.argv[3]),
    "kernel": sys.argv[4], "loadavg": sys.argv[5], "date": sys.argv[6],
    "commit": sys.argv[7]}))' "$machine" "$cpu" "$(nproc)" "$(uname -r)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -Iseconds)" \
    "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)")

args=(--out "$out" --machine "$machine_json")

# --- host: file source and dump memory --------------------------------
if [ "$host" = 1 ]; then
    say "host: file benchmarks (${large_mib} MiB, $reps repetitions)"
    "$build/bench/bench-file" --reps "$reps" --large-mib "$large_mib" \
        --dir "${BENCH_DIR:-/var/tmp}" > "$WORK/file.json"
    args+=(--file "$WORK/file.json")
fi

# --- lab: every live measure in one boot ------------------------------
if [ "$lab" = 1 ]; then
    mkdir -p "$WORK/payload" "$WORK/out"
    cp "$HERE/lab-payload.sh" "$build/bench/bench-xen" "$WORK/payload/"
    # BENCH_BEFORE: bench-xen built from libxfm before a change, to
    # measure both in one boot (the dump's "xfm_before" series).
    [ -z "${BENCH_BEFORE:-}" ] || cp "$BENCH_BEFORE" "$WORK/payload/bench-xen-before"
    say "lab: live benchmarks (PVH guest up to $guest_mb MiB, $lab_reps repetitions)"
    rc=0
    "$ROOT/lab/lab.sh" --payload "$WORK/payload" --guests pvh \
        --run "BENCH_GUEST_MB=$guest_mb BENCH_REPS=$lab_reps sh ./lab-payload.sh" \
        --timeout "${BENCH_LAB_TIMEOUT:-960}" --out "$WORK/out" \
        > "$WORK/lab.out" || rc=$?
    if [ "$rc" != 0 ]; then
        say "lab run failed (status $rc); its output:"
        tail -n 40 "$WORK/lab.out" >&2
    fi
    args+=(--lab "$WORK/lab.out" --lab-status "$rc")
fi

python3 "$HERE/report.py" "${args[@]}"
