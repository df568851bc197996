#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# bench/bench-qemu-ram.sh - a QEMU guest's RAM read through a shared
# memory-backend-file against the same reads through the QEMU process,
# side by side in one run: RAM that QEMU maps from a memfd (its
# descriptor reopened through /proc/PID/fd: qemu.ram_access "memfd") and
# anonymous RAM (gpa2hva + process_vm_readv).
#
# usage: bench/bench-qemu-ram.sh [--build DIR] [--reps N] [--out FILE]
#                                [--xfm PATH]
# --xfm: the xfm to measure (default DIR/tools/xfm/xfm): another build's,
# for a before/after run (pvr-floor still comes from DIR).
# Starts three paused (-S) QEMU/TCG guests of 512 MiB: a shared RAM file
# in /dev/shm, memory-backend-memfd, plain RAM; all hold the same 400 MiB
# of random bytes (-device loader).  Runs `xfm bench` (1 MiB sequential
# reads, random 8-byte reads) on each, the order rotating, N times;
# writes every repetition, the medians, the ratios (against the shared
# file), each guest's qemu.ram_access and the load average as JSON (a
# new file: never overwritten).  Each repetition also measures the floor
# of the anonymous-RAM path, bare 8-byte process_vm_readv calls at random
# offsets of the same 400 MiB (bench/pvr-floor.c): xfm makes one such
# call per read there.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
build=$ROOT/build-wt reps=3 xfm=''
out=$ROOT/bench/results/$(date +%Y-%m-%d)-qemu-process.json
kinds="shared memfd process"
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--xfm) xfm=$2; shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--reps N] [--out FILE] [--xfm PATH]" >&2; exit 2 ;;
	esac
done
if [ -e "$out" ]; then
	echo "$0: $out exists: result files are never overwritten" >&2
	exit 2
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
XFM=${xfm:-$build/tools/xfm/xfm}
FLOOR=$build/bench/pvr-floor
W=$(mktemp -d /tmp/xfm-bench-qram.XXXXXX)
RAM=/dev/shm/xfm-bench-qram-$$
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	    wait 2>/dev/null || true; rm -rf "$W" "$RAM"; }
trap cleanup EXIT
head -c 400M /dev/urandom >"$W/blob"
common=(-accel tcg -machine pc -m 512 -display none -nodefaults -S
	-device "loader,file=$W/blob,addr=0x100000")
qemu-system-x86_64 "${common[@]}" -qmp "unix:$W/shared.sock,server=on,wait=off" \
	-object "memory-backend-file,id=ram0,size=512M,mem-path=$RAM,share=on" \
	-machine memory-backend=ram0 & pids+=($!)
qemu-system-x86_64 "${common[@]}" -qmp "unix:$W/memfd.sock,server=on,wait=off" \
	-object "memory-backend-memfd,id=ram0,size=512M" \
	-machine memory-backend=ram0 & pids+=($!)
qemu-system-x86_64 "${common[@]}" -qmp "unix:$W/process.sock,server=on,wait=off" & pids+=($!)
# QEMU answers QMP once the loader has filled RAM.
for s in $kinds; do
	for _ in $(seq 60); do
		"$XFM" --json info "qemu:$W/$s.sock" >"$W/$s.info" 2>/dev/null && break
		sleep 1
	done
done
# QEMU's address of the anonymous guest's loaded bytes, for pvr-floor
hva=$(python3 - "$ROOT/tests/lib" "$W/process.sock" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from qmp import QMP
q = QMP(sys.argv[2])
print(q.hmp("gpa2hva 0x100000").split(" is ")[1].strip())
PY
)
for i in $(seq "$reps"); do
	# rotate the order: each kind first, middle and last in turn
	set -- $kinds
	case $((i % 3)) in
	1) order="$1 $2 $3" ;; 2) order="$2 $3 $1" ;; 0) order="$3 $1 $2" ;;
	esac
	for s in $order; do
		"$XFM" --json bench --time 1 "qemu:$W/$s.sock" >"$W/$s.$i.json"
	done
	"$FLOOR" "${pids[2]}" "$hva" $((400 << 20)) 1 >"$W/floor.$i"
done
python3 - "$W" "$reps" "$out" "$load_start" <<'PY'
import json, statistics, sys, os, datetime
w, reps, out, load_start = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
r = {}
def access(s):
    info = open("%s/%s.info" % (w, s)).read()
    try:
        facts = json.loads(info)
    except ValueError:
        return "?"
    found = {}
    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if isinstance(v, str):
                    found.setdefault(k, v)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(facts)
    # an xfm from before qemu.ram_access: what its other facts say
    if "qemu.ram_access" in found:
        return found["qemu.ram_access"]
    if "process_vm_readv" in found.get("qemu.ram", ""):
        return "process_vm_readv"
    return "mem-path" if "qemu.memdev" in found else "?"
for s in ("shared", "memfd", "process"):
    runs = [json.load(open("%s/%s.%d.json" % (w, s, i))) for i in range(1, reps + 1)]
    seq = [x["sequential_read"]["per_second"] for x in runs]
    rnd = [x["random_read"]["per_second"] for x in runs]
    r[s] = {"ram_access": access(s),
            "seq_bytes_per_s": statistics.median(seq),
            "random_8b_per_s": statistics.median(rnd),
            "seq_reps": seq, "random_8b_reps": rnd}
floor = [float(open("%s/floor.%d" % (w, i)).read()) for i in range(1, reps + 1)]
def ratio(a, k):
    return round(r[a][k] / r["shared"][k], 3)
res = {"benchmark": "qemu-ram-process-vs-shared-file",
       "date": datetime.datetime.utcnow().isoformat() + "Z",
       "guest": "QEMU 7.2 TCG, pc, 512 MiB, paused, 400 MiB random bytes",
       "reps": reps, "shared_file": r["shared"], "memfd": r["memfd"],
       "process": r["process"],
       "ratio_seq": ratio("process", "seq_bytes_per_s"),
       "ratio_random_8b": ratio("process", "random_8b_per_s"),
       "ratio_memfd_seq": ratio("memfd", "seq_bytes_per_s"),
       "ratio_memfd_random_8b": ratio("memfd", "random_8b_per_s"),
       "process_vm_readv_floor_8b_per_s": statistics.median(floor),
       "process_vm_readv_floor_reps": floor,
       "goal": 0.8, "loadavg": load_start.split(),
       "loadavg_end": open("/proc/loadavg").read().split()[:3]}
tmp = out + ".tmp"
json.dump(res, open(tmp, "w"), indent=1)
os.rename(tmp, out)
print(json.dumps(res, indent=1))
PY
