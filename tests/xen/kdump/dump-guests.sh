#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-only
# Lab payload program (x86 dom0, busybox sh; issue 14): dumps each live lab
# guest with `xfm dump` as ELF and as kdump (zstd). In each dump xfm must
# read back the guest's marker page and its 4 MiB region exactly (the
# bytes the guest wrote, /run/xfm/TYPE-{marker,region}.bin). The PVH
# guest's dumps are then exported (lab-export, the export disk) with
# kdump-guests.txt, one line per guest:
#   TYPE domid=N release=R marker_pid=P writer_pid=W
# (what the guest reported on its console: XFM-GUEST-INFO, XFM-MARKER,
# XFM-WRITER), and the host runs crash, drgn and makedumpfile on them:
# tests/xen/kdump/analyse-dumps.sh, called by tests/lab/run-lab-tests.sh
# after the x86 boot. The PV guest's dumps stay here: its page tables hold
# machine frames, which crash 8.0.2 translates only in xl dump-core files
# with a p2m table, and drgn and makedumpfile not at all. Dumps are deleted
# once checked and exported (dom0's /tmp is RAM). TAP.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
secs() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }'; }

# marker_bytes FILE PFN RUNS OUT: the marker page, then the region's frames
# in order ("0xSTART+COUNT,..."), read from dump FILE by xfm.
marker_bytes() {
	xfm -q read --raw "$1" "$(($2 * 4096))+4096" >"$4" || return 1
	for run in $(echo "$3" | tr ',' ' '); do
		start=${run%+*} count=${run#*+}
		xfm -q read --raw "$1" "$((start * 4096))+$((count * 4096))" >>"$4" || return 1
	done
}

# dump G DOMID FORMAT NAME [ARGS]: one xfm dump, checked, then exported
# (PVH) and removed.
dump() {
	g=$1 domid=$2 fmt=$3 name=$4
	shift 4
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
	if [ "$g" = pvh ]; then
		t0=$(uptime_s)
		if lab-export "$tmp/$name" "$name" 2>"$tmp/err"; then
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
	dump "$g" "$domid" elf "$g.elf"
	dump "$g" "$domid" kdump "$g.kdump-zstd" --compress zstd
done
if lab-export "$tmp/kdump-guests.txt"; then
	ok "exported kdump-guests.txt"
else
	not_ok "lab-export kdump-guests.txt"
fi
echo "1..$n"
[ "$failed" = 0 ]
