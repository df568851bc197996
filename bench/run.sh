#!/bin/bash
# bench/run.sh - the xfm benchmark suite, one command (docs/benchmarks.md).
#
# usage: bench/run.sh [--out FILE] [--build DIR] [--reps N] [--lab-reps N]
#                     [--boots N] [--parallel] [--guest-mb N] [--large-mib N]
#                     [--no-lab] [--no-host] [--arch x86_64|arm64]
#   Builds the benchmarks (meson, in DIR, default build-bench), runs the
#   host-side benchmarks (bench-file), then boots the Xen lab N times
#   (default 3) and runs every live-guest benchmark (bench-xen) in its
#   dom0, --lab-reps (default 5) repetitions per boot.  Writes FILE
#   (default bench/results/<date>-<machine>[-K].json, a new name: result
#   files are never overwritten) and prints the table (bench/report.py).
#   --parallel boots the labs at the same time (each boot's ratios are
#   side by side within it; a loaded host slows both sides alike).
#   --arch arm64 boots the arm64 lab with its 16 KiB dom0 instead (bench-xen
#   cross-built into build-arm64 by lab/arm64/cross-build.sh; Arm's
#   `xl dump-core` writes no RAM: give BENCH_XEN_ARGS="--only dump
#   --dump-budget 0" there); the host part is x86's, so --no-host with it.
# Environment: XFM_LAB_* as for lab/lab.sh; BENCH_DIR (host scratch,
#   default /var/tmp); BENCH_LAB_TIMEOUT (960); BENCH_BEFORE (a bench-xen built
#   from libxfm before a change: its dumps are measured too, "xfm_before");
#   BENCH_XEN_ARGS (more bench-xen options, e.g. "--only dump --dump-budget 0").
# Exit: 0 when every part ran (goals missed are reported, not failures).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

out='' build="$ROOT/build-bench" reps=7 lab_reps=5 boots=3 guest_mb=512
large_mib=1024 lab=1 host=1 parallel=0 arch=x86_64
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --lab-reps) lab_reps=$2; shift 2 ;;
        --boots) boots=$2; shift 2 ;;
        --parallel) parallel=1; shift ;;
        --guest-mb) guest_mb=$2; shift 2 ;;
        --large-mib) large_mib=$2; shift 2 ;;
        --no-lab) lab=0; shift ;;
        --no-host) host=0; shift ;;
        --arch) arch=$2; shift 2 ;;
        -h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

machine=$(hostname -s 2>/dev/null || echo unknown)
if [ -z "$out" ]; then
    out="$HERE/results/$(date +%Y-%m-%d)-$machine.json"
    k=2
    while [ -e "$out" ]; do
        out="$HERE/results/$(date +%Y-%m-%d)-$machine-$k.json"
        k=$((k + 1))
    done
fi
case $arch in
    x86_64 | arm64) ;;
    *) echo "bench/run.sh: --arch '$arch': x86_64 or arm64" >&2; exit 2 ;;
esac
if [ -e "$out" ]; then
    echo "bench/run.sh: $out exists: result files are never overwritten" >&2
    exit 2
fi
mkdir -p "$(dirname "$out")"

say() { echo "bench: $*" >&2; }

# --- build -----------------------------------------------------------
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$ROOT" --buildtype=debugoptimized -Dwerror=true > /dev/null
fi
ninja -C "$build" bench/bench-file bench/bench-xen tools/xfm/xfm \
    src/compat/libxenforeignmemory.so.1.4 > /dev/null

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
        --xfm "$build/tools/xfm/xfm" --dir "${BENCH_DIR:-/var/tmp}" \
        > "$WORK/file.json"
    args+=(--file "$WORK/file.json")
fi

# --- lab: every live measure, in each of --boots boots -----------------
if [ "$lab" = 1 ]; then
    mkdir -p "$WORK/payload"
    lab_build=$build lab_args=(--guests pvh)
    if [ "$arch" = arm64 ]; then
        lab_build=$ROOT/build-arm64
        lab_args=(--arch arm64 --kernel-page 16k --guests arm)
        "$ROOT/lab/arm64/cross-build.sh" "$lab_build" > "$WORK/cross.log" 2>&1 ||
            { tail -n 20 "$WORK/cross.log" >&2; exit 1; }
    fi
    cp "$HERE/lab-payload.sh" "$lab_build/bench/bench-xen" "$WORK/payload/"
    # Our drop-in, measured beside Debian's (bench-xen loads it with
    # dlmopen: both have the same SONAME).
    cp "$lab_build/src/compat/libxenforeignmemory.so.1" \
        "$WORK/payload/xfm-dropin.so.1"
    # BENCH_BEFORE: bench-xen built from libxfm before a change, to
    # measure both in one boot (the dump's "xfm_before" series).
    [ -z "${BENCH_BEFORE:-}" ] || cp "$BENCH_BEFORE" "$WORK/payload/bench-xen-before"
    boot_one() { # N: one boot; its output in lab$N.out, status in rc$N
        local rc=0
        mkdir -p "$WORK/out$1"
        "$ROOT/lab/lab.sh" --payload "$WORK/payload" "${lab_args[@]}" \
            --run "BENCH_GUEST_MB=$guest_mb BENCH_REPS=$lab_reps BENCH_XEN_ARGS='${BENCH_XEN_ARGS:-}' sh ./lab-payload.sh" \
            --timeout "${BENCH_LAB_TIMEOUT:-1800}" --out "$WORK/out$1" \
            > "$WORK/lab$1.out" || rc=$?
        echo "$rc" > "$WORK/rc$1"
    }
    pids=()
    for boot in $(seq 1 "$boots"); do
        say "lab boot $boot/$boots ($arch): live benchmarks (guest up to $guest_mb MiB, $lab_reps repetitions)"
        if [ "$parallel" = 1 ]; then
            boot_one "$boot" &
            pids+=($!)
            sleep 20 # not all at the same second: the image cache lock
        else
            boot_one "$boot"
        fi
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    for boot in $(seq 1 "$boots"); do
        rc=$(cat "$WORK/rc$boot" 2>/dev/null || echo 1)
        if [ "$rc" != 0 ]; then
            say "lab boot $boot failed (status $rc); its output:"
            tail -n 40 "$WORK/lab$boot.out" >&2
        fi
        # Keep the raw output next to the result: what report.py read.
        cp "$WORK/lab$boot.out" "${out%.json}.lab$boot.log"
        args+=(--lab "$WORK/lab$boot.out" --lab-status "$rc")
    done
fi

# The load at the end too: the host is shared.
args+=(--load-end "$(cut -d' ' -f1-3 /proc/loadavg)")
python3 "$HERE/report.py" "${args[@]}"
