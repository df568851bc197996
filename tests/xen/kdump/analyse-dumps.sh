#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-only
# Host side of the lab's dump check (issue 14): the real analysers on the
# dumps that tests/xen/kdump/dump-guests.sh made of the live lab guests in
# dom0 and exported. Called by tests/lab/run-lab-tests.sh right after the
# x86 boot and after the arm64 16 KiB boot:
#
#   tests/xen/kdump/analyse-dumps.sh --xfm BUILD/tools/xfm/xfm DIR
#
# DIR holds kdump-guests.txt ("TYPE domid=N release=R marker_pid=P
# writer_pid=W", what each guest reported on its console), xfm-guests (the
# lab's facts) and the dumps: pvh.elf, pvh.kdump-zstd and pv.xen-core (x86),
# arm.elf and arm.kdump-zlib (arm64). The guest kernel's debug vmlinux
# comes from scripts/fetch-vmlinux.sh (cached; under CI=true a failed fetch
# is a failure, else a skip). One TAP line per check, each with exact
# assertions:
#  - crash 8.0.2 (`crash -s VMLINUX DUMP -i CMDS`) on pvh.elf,
#    pvh.kdump-zstd and pv.xen-core: `sys` prints RELEASE equal to the
#    guest's release; `list task_struct.tasks -s task_struct.comm,pid -h
#    init_task` finds the tasks named "marker" and their pids are exactly
#    the marker's and the writer's (both marker processes of the guest).
#    The PV guest's page tables hold machine frames: crash translates them
#    through the .xen_p2m table of xfm's PV xen-core (its ELF and kdump
#    would carry the same machine frames, which no analyser translates:
#    docs/kdump.md);
#  - drgn 0.0.22 (drgn-marker.py) on pvh.elf, pvh.kdump-zstd, arm.elf and
#    arm.kdump-zlib (an arm64 kernel read on this x86 host; Debian's crash
#    and makedumpfile are built for x86_64 dumps only): the same release
#    and the same pids;
#  - makedumpfile -c -d 1 on xfm's pvh.elf: xfm reads the result back, its
#    ranges are the ELF's (RAM whole), every byte identical to the ELF's.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
# ok, not_ok, tap_done: tests/lib/tap.sh.
. "$ROOT/tests/lib/tap.sh"
diag() { sed 's/^/#   /'; }

XFM=$ROOT/build-ci/tools/xfm/xfm
while [ $# -gt 1 ]; do
	case $1 in
	--xfm) XFM=$2; shift 2 ;;
	*) break ;;
	esac
done
DIR=${1:?usage: analyse-dumps.sh [--xfm XFM] DIR}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xfm-analyse.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# fact TYPE KEY: a value from kdump-guests.txt.
fact() {
	sed -n "s/^$1 .*[[:space:]]$2=\([^ ]*\).*/\1/p" "$DIR/kdump-guests.txt" | head -n 1
}

# crash_check G FILE: sys + list in one crash session, two TAP lines.
crash_check() {
	local g=$1 f=$2 out=$WORK/crash.out rel pids want
	printf '%s\n' sys 'list task_struct.tasks -s task_struct.comm,pid -h init_task' quit \
		>"$WORK/crash.cmds"
	timeout 300 crash -s "$VMLINUX" "$DIR/$f" -i "$WORK/crash.cmds" >"$out" 2>&1 </dev/null
	rel=$(sed -n 's/^ *RELEASE: *\([^ ]*\).*/\1/p' "$out" | head -n 1)
	# the transcript's key lines, for the record
	grep -E '^ *(DUMPFILE|RELEASE|MACHINE|MEMORY):' "$out" | sed "s|^|# crash $f: |"
	if [ "$rel" = "$(fact "$g" release)" ]; then
		ok "crash $f: sys: RELEASE: $rel"
	else
		not_ok "crash $f: sys: RELEASE '$rel', want '$(fact "$g" release)'"
		head -n 20 "$out" | diag
	fi
	# "comm = "marker\000...","  then "pid = N,"
	pids=$(awk '/comm = "marker(\\000)*"/ { m = 1; next }
		m && /pid = / { gsub(/[^0-9]/, "", $3); print $3; m = 0 }' "$out" | sort -n | paste -sd' ')
	want=$(printf '%s\n' "$(fact "$g" marker_pid)" "$(fact "$g" writer_pid)" | sort -n | paste -sd' ')
	if [ -n "$pids" ] && [ "$pids" = "$want" ]; then
		ok "crash $f: list task_struct.tasks -h init_task: comm \"marker\" pids $pids (marker $(fact "$g" marker_pid), writer $(fact "$g" writer_pid))"
	else
		not_ok "crash $f: list: marker pids '$pids', want '$want'"
		grep -E 'comm =|pid =|error|crash:' "$out" | head -n 20 | diag
	fi
}

# drgn_check G FILE [PATH]: FILE in DIR, or at PATH.
drgn_check() {
	local g=$1 f=$2 path=$DIR/$2 out=$WORK/drgn.out rel pids want
	timeout 300 drgn -q -c "$path" -s "$VMLINUX" "$HERE/drgn-marker.py" >"$out" 2>&1 </dev/null
	rel=$(sed -n 's/^release //p' "$out")
	pids=$(sed -n 's/^marker-pids //p' "$out")
	want=$(printf '%s\n' "$(fact "$g" marker_pid)" "$(fact "$g" writer_pid)" | sort -n | paste -sd' ')
	if [ "$rel" = "$(fact "$g" release)" ] && [ -n "$pids" ] && [ "$pids" = "$want" ]; then
		ok "drgn $f: release $rel, init_task.tasks: comm \"marker\" pids $pids"
	else
		not_ok "drgn $f: release '$rel' pids '$pids', want '$(fact "$g" release)' '$want'"
		tail -n 8 "$out" | diag
	fi
}

# ranges FILE: "START END" lines (hex) of xfm's view of FILE.
ranges() {
	"$XFM" ranges --json "$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["ranges"]:
    print("0x%x 0x%x" % (r["start"], r["end"]))'
}

# same_bytes A B: every range of A reads the same from A and from B.
same_bytes() {
	local s e
	while read -r s e; do
		cmp -s <("$XFM" -q read --raw "$1" "$s..$e" 2>/dev/null) \
			<("$XFM" -q read --raw "$2" "$s..$e" 2>/dev/null) ||
			{ echo "bytes differ in $s..$e"; return 1; }
	done < <(ranges "$1")
}

# makedumpfile -c -d 1 on xfm's ELF; xfm reads the result back.
mdf_check() {
	local g=$1 elf=$DIR/$1.elf mdf=$WORK/$1.mdf mem missing
	if ! timeout 300 makedumpfile -c -d 1 "$elf" "$mdf" >"$WORK/mdf.out" 2>&1; then
		not_ok "makedumpfile -c -d 1 $g.elf failed"
		tail -n 5 "$WORK/mdf.out" | diag
		return
	fi
	ranges "$elf" >"$WORK/elf.ranges"
	ranges "$mdf" >"$WORK/mdf.ranges"
	mem=$(($(sed -n "s/^XFM_GUEST_${g^^}_MEMORY_MB=//p" "$DIR/xfm-guests") * 1048576))
	missing=$(comm -23 <(sort "$WORK/mdf.ranges") <(sort "$WORK/elf.ranges") | paste -sd,)
	if [ -n "$missing" ]; then
		not_ok "makedumpfile -c -d 1 $g.elf: ranges not in the ELF: $missing"
	elif ! grep -qx "0x0 $(printf '0x%x' "$mem")" "$WORK/mdf.ranges"; then
		not_ok "makedumpfile -c -d 1 $g.elf: RAM 0..$mem not one range of its output"
		diag <"$WORK/mdf.ranges"
	elif ! why=$(same_bytes "$mdf" "$elf"); then
		not_ok "makedumpfile -c -d 1 $g.elf: xfm reads back: $why"
	else
		ok "makedumpfile -c -d 1 $g.elf ($(stat -c %s "$elf") -> $(stat -c %s "$mdf") bytes): xfm reads back $(wc -l <"$WORK/mdf.ranges") ranges, byte-identical to the ELF's (RAM 0..$(printf '0x%x' "$mem") whole$(comm -13 <(sort "$WORK/mdf.ranges") <(sort "$WORK/elf.ranges") | awk '{ printf "; makedumpfile left out %s..%s", $1, $2 }'))"
	fi
}

# vmlinux_for G: the debug vmlinux of guest G's kernel in $VMLINUX; else
# a failure (CI=true) or a skip of G's checks, and status 1.
vmlinux_for() {
	local g=$1 arch=amd64 rel
	rel=$(fact "$g" release)
	[ "$g" = arm ] && arch=arm64
	if VMLINUX=$("$ROOT/scripts/fetch-vmlinux.sh" --arch "$arch" "$rel" 2>"$WORK/fetch.err"); then
		echo "# $g: vmlinux $VMLINUX"
		return 0
	fi
	if [ "${CI:-}" = true ]; then
		not_ok "scripts/fetch-vmlinux.sh --arch $arch $rel: $(tail -n 1 "$WORK/fetch.err")"
	else
		SKIPPED="$SKIPPED $g"
		echo "# SKIP $g: no debug vmlinux for $rel: $(tail -n 1 "$WORK/fetch.err")"
	fi
	return 1
}

SKIPPED=''
main() {
	if [ ! -s "$DIR/kdump-guests.txt" ]; then
		not_ok "no kdump-guests.txt in $DIR: dump-guests.sh did not export its dumps"
		finish
	fi
	local g tools=drgn
	grep -q '^pvh ' "$DIR/kdump-guests.txt" && tools="crash drgn makedumpfile"
	for t in $tools; do
		command -v "$t" >/dev/null || { not_ok "$t is not installed (scripts/deps.sh)"; finish; }
	done
	echo "# crash $(crash --version 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -n 1)," \
		"drgn $(drgn --version 2>&1 | awk '{ print $2; exit }'), $(makedumpfile -v 2>&1 | head -n 1)"
	for g in $(awk '{ print $1 }' "$DIR/kdump-guests.txt"); do
		vmlinux_for "$g" || continue
		case $g in
		pvh)
			crash_check pvh pvh.elf
			crash_check pvh pvh.kdump-zstd
			drgn_check pvh pvh.elf
			drgn_check pvh pvh.kdump-zstd
			mdf_check pvh ;;
		pv)
			crash_check pv pv.xen-core
			# drgn has no reader for xen-core files: said, not tested
			echo "# drgn pv.xen-core (no xen-core reader in drgn 0.0.22): $(timeout 120 drgn -q \
				-c "$DIR/pv.xen-core" -s "$VMLINUX" "$HERE/drgn-marker.py" 2>&1 </dev/null | tail -n 1)" ;;
		arm)
			drgn_check arm arm.elf
			drgn_check arm arm.kdump-zlib ;;
		*)
			not_ok "kdump-guests.txt: unknown guest type '$g'" ;;
		esac
	done
	if [ "$TAP_N" = 0 ] && [ -n "$SKIPPED" ]; then
		echo "1..0 # SKIP no debug vmlinux for:$SKIPPED"
		exit 77
	fi
	finish
}

finish() {
	tap_done
	exit
}

main
