#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# bench/bench-qemu-ram.sh - a QEMU guest's RAM read through a shared
# memory-backend-file against the same reads through the QEMU process
# (anonymous RAM: gpa2hva + process_vm_readv), side by side in one run.
#
# usage: bench/bench-qemu-ram.sh [--build DIR] [--reps N] [--out FILE]
# Starts two paused (-S) QEMU/TCG guests of 512 MiB, one with a shared
# RAM file in /dev/shm and one with plain RAM, both holding the same
# 400 MiB of random bytes (-device loader), and runs `xfm bench` (1 MiB
# sequential reads, random 8-byte reads) on each, alternating, N times;
# writes the medians and the ratios (process / shared file) as JSON.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
build=$ROOT/build-wt reps=3
out=$ROOT/bench/results/$(date +%Y-%m-%d)-qemu-process.json
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--reps N] [--out FILE]" >&2; exit 2 ;;
	esac
done
XFM=$build/tools/xfm/xfm
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
qemu-system-x86_64 "${common[@]}" -qmp "unix:$W/process.sock,server=on,wait=off" & pids+=($!)
# QEMU answers QMP once the loader has filled RAM.
for s in shared process; do
	for _ in $(seq 60); do
		"$XFM" info "qemu:$W/$s.sock" >/dev/null 2>&1 && break
		sleep 1
	done
done
for i in $(seq "$reps"); do
	order="shared process"; [ $((i % 2)) = 0 ] && order="process shared"
	for s in $order; do
		"$XFM" --json bench --time 1 "qemu:$W/$s.sock" >"$W/$s.$i.json"
	done
done
python3 - "$W" "$reps" "$out" <<'PY'
import json, statistics, sys, os, datetime
w, reps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = {}
for s in ("shared", "process"):
    runs = [json.load(open("%s/%s.%d.json" % (w, s, i))) for i in range(1, reps + 1)]
    r[s] = {"seq_bytes_per_s": statistics.median(x["sequential_read"]["per_second"] for x in runs),
            "random_8b_per_s": statistics.median(x["random_read"]["per_second"] for x in runs)}
res = {"benchmark": "qemu-ram-process-vs-shared-file",
       "date": datetime.datetime.utcnow().isoformat() + "Z",
       "guest": "QEMU 7.2 TCG, pc, 512 MiB, paused, 400 MiB random bytes",
       "reps": reps, "shared_file": r["shared"], "process": r["process"],
       "ratio_seq": round(r["process"]["seq_bytes_per_s"] / r["shared"]["seq_bytes_per_s"], 3),
       "ratio_random_8b": round(r["process"]["random_8b_per_s"] / r["shared"]["random_8b_per_s"], 3),
       "goal": 0.8, "loadavg": open("/proc/loadavg").read().split()[:3]}
tmp = out + ".tmp"
json.dump(res, open(tmp, "w"), indent=1)
os.rename(tmp, out)
print(json.dumps(res, indent=1))
PY
