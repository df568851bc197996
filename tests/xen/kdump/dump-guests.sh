#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-only
# Lab payload program (x86 and arm dom0, busybox sh; issue 14): dumps each
# live lab guest with `xfm dump`, and in each dump xfm must read back the
# guest's marker page and its 4 MiB region exactly (the bytes the guest
# wrote, /run/xfm/TYPE-{marker,region}.bin). Per guest:
#   pvh: ELF and kdump (zstd), both exported;
#   pv:  xen-core (exported) and kdump (zstd, checked here only);
#   arm: ELF and kdump (zlib: the one codec library in the arm64 stage),
#        both exported.
# The PV guest's page tables hold machine frames: of the analysers only
# crash translates them, and only through the p2m table of a PV xen-core
# file (.xen_p2m), which xfm writes for a PV source. Its ELF and kdump
# carry the same machine frames, which crash, drgn and makedumpfile cannot
# translate (docs/kdump.md). Exports go over the export disk (lab-export
# --no-sum: the analysers check the dumps' contents) with kdump-guests.txt,
# one line per guest:
#   TYPE domid=N release=R marker_pid=P writer_pid=W
# (what the guest reported on its console: XFM-GUEST-INFO, XFM-MARKER,
# XFM-WRITER), and the host runs crash, drgn and makedumpfile on them:
# tests/xen/kdump/analyse-dumps.sh, called by tests/lab/run-lab-tests.sh
# after the boot. Dumps are deleted once checked and exported (dom0's /tmp
# is RAM). TAP.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# ok, not_ok, skip, check, tap_done: tests/lib/tap.sh (in dom0, /payload/lib).
. "$(dirname "$0")/../lib/tap.sh"
uptime_s() { cut -d' ' -f1 /proc/uptime; }
secs() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }'; }

# marker_bytes FILE PFN RUNS OUT: the marker page, then the region's frames
# in order ("0xSTART+COUNT,..."), read from dump FILE by xfm. Runs within
# 128 MiB of each other come from one xfm read of their span (absent frames
# as zeros), cut with dd: one xfm process per dump, not one per run.
marker_bytes() {
	rm -f "$tmp/span"
	xfm -q read --raw "$1" "$(($2 * 4096))+4096" >"$4" || return 1
	lo='' hi=0
	for run in $(echo "$3" | tr ',' ' '); do
		start=$((${run%+*})) count=$((${run#*+}))
		if [ -z "$lo" ] || [ "$start" -lt "$lo" ]; then lo=$start; fi
		if [ $((start + count)) -gt "$hi" ]; then hi=$((start + count)); fi
	done
	if [ -n "$lo" ] && [ $((hi - lo)) -le 32768 ]; then
		xfm -q read --raw --zero-fill "$1" "$((lo * 4096))..$((hi * 4096))" \
			>"$tmp/span" || return 1
	fi
	for run in $(echo "$3" | tr ',' ' '); do
		start=$((${run%+*})) count=$((${run#*+}))
		if [ -s "$tmp/span" ]; then
			dd if="$tmp/span" bs=4096 skip=$((start - lo)) count="$count" \
				2>/dev/null >>"$4" || return 1
		else
			xfm -q read --raw "$1" "$((start * 4096))+$((count * 4096))" >>"$4" ||
				return 1
		fi
	done
	rm -f "$tmp/span"
}

# va_check FILE: xfm's own translation through a PV dump's page tables,
# which hold machine frames: the marker page's address in the kernel's
# direct map (0xffff888000000000 + guest address: PV kernels have no KASLR)
# must translate, with the kernel's root from VMCOREINFO and the dump's
# .xen_p2m, to the marker page's guest address.
va_check() {
	va=$(printf '0xffff888%09x' $((pfn * 4096)))
	want=$(printf '0x%x' $((pfn * 4096)))
	out=$(xfm -q translate --root kernel "$1" "$va" 2>&1)
	if echo "$out" | grep -q "^$va -> $want "; then
		ok "xfm translate --root kernel $(basename "$1") $va: $(echo "$out" | grep -- ' -> ') (the marker page, through the PV page tables and .xen_p2m)"
	else
		not_ok "xfm translate --root kernel $(basename "$1") $va: want $want, got: $(echo "$out" | tr '\n' ' ')"
	fi
}

# dump G DOMID FORMAT NAME EXPORT [ARGS]: one xfm dump, checked, then
# exported (EXPORT=1) and removed.
dump() {
	g=$1 domid=$2 fmt=$3 name=$4 export=$5
	shift 5
	t0=$(uptime_s)
	if ! xfm -q dump -f "$fmt" "$@" "xen:$domid" "$tmp/$name" 2>"$tmp/err"; then
		not_ok "xfm dump -f $fmt${*:+ $*} xen:$domid ($g): $(head -n 1 "$tmp/err")"
		return
	fi
	took=$(secs "$t0")
	size=$(wc -c <"$tmp/$name")
	if ! marker_bytes "$tmp/$name" "$pfn" "$runs" "$tmp/got" 2>"$tmp/err"; then
		not_ok "xfm read $name (xfm-$g): $(head -n 1 "$tmp/err")"
	elif cmp -s "$tmp/got" "$tmp/want"; then
		ok "xfm dump -f $fmt${*:+ $*} of xfm-$g: $name, $size bytes in $took s; its marker page and $pages region pages read back exactly"
	else
		not_ok "xfm dump -f $fmt${*:+ $*} of xfm-$g: $name: marker page or region differs from what the guest wrote"
	fi
	[ "$fmt" = xen-core ] && va_check "$tmp/$name"
	if [ "$export" = 1 ]; then
		t0=$(uptime_s)
		if lab-export --no-sum "$tmp/$name" "$name" 2>"$tmp/err"; then
			ok "lab-export $name ($size bytes) in $(secs "$t0") s"
		else
			not_ok "lab-export $name: $(head -n 1 "$tmp/err")"
		fi
	fi
	rm -f "$tmp/$name"
}

: >"$tmp/kdump-guests.txt"
for g in $XFM_GUESTS; do
	G=$(echo "$g" | tr '[:lower:]' '[:upper:]')
	log='' pfn='' runs='' pages='' mfile='' rfile=''
	eval "log=\${XFM_GUEST_${G}_CONSOLE_LOG:-}"
	eval "pfn=\${XFM_GUEST_${G}_MARKER_PFN:-} runs=\${XFM_GUEST_${G}_REGION_PFNS:-}"
	eval "pages=\${XFM_GUEST_${G}_REGION_PAGES:-} mfile=\${XFM_GUEST_${G}_MARKER_FILE:-}"
	eval "rfile=\${XFM_GUEST_${G}_REGION_FILE:-}"
	# Programs before this one save and restore the guests (new domids):
	# the current domid is the name's.
	domid=$(xl domid "xfm-$g" 2>/dev/null)
	con=$(tr -d '\r' <"$log")
	release=$(echo "$con" | sed -n 's/^XFM-GUEST-INFO kernel=\([^ ]*\).*/\1/p' | head -n 1)
	mpid=$(echo "$con" | sed -n 's/^XFM-MARKER pfn=.* pid=\([0-9]*\).*/\1/p' | head -n 1)
	wpid=$(echo "$con" | sed -n 's/^XFM-WRITER ctrl=.* pid=\([0-9]*\).*/\1/p' | head -n 1)
	if [ -z "$domid" ] || [ -z "$release" ] || [ -z "$mpid" ] || [ -z "$wpid" ] ||
		[ -z "$pfn" ] || [ -z "$runs" ]; then
		not_ok "xfm-$g: console facts (domid '$domid' release '$release' pids '$mpid' '$wpid')"
		continue
	fi
	ok "xfm-$g reported release $release, marker pid $mpid, writer pid $wpid"
	echo "$g domid=$domid release=$release marker_pid=$mpid writer_pid=$wpid" \
		>>"$tmp/kdump-guests.txt"
	cat "$mfile" "$rfile" >"$tmp/want"
	t1=$(uptime_s)
	if [ "$g" = pv ]; then
		dump "$g" "$domid" xen-core "$g.xen-core" 1
		dump "$g" "$domid" kdump "$g.kdump-zstd" 0 --compress zstd
	elif [ "$g" = arm ]; then
		dump "$g" "$domid" elf "$g.elf" 1
		dump "$g" "$domid" kdump "$g.kdump-zlib" 1 --compress zlib
	else
		dump "$g" "$domid" elf "$g.elf" 1
		dump "$g" "$domid" kdump "$g.kdump-zstd" 1 --compress zstd
	fi
	echo "# xfm-$g: dumps, checks and exports took $(secs "$t1") s"
done
if lab-export "$tmp/kdump-guests.txt"; then
	ok "exported kdump-guests.txt"
else
	not_ok "lab-export kdump-guests.txt"
fi
tap_done
