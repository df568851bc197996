#!/bin/sh
# demo-guest.sh [DOMAIN] - show xfm's main job on a live Xen guest.  Runs
# in dom0: the lab's (started by scripts/demo.sh) or a real one.  POSIX sh:
# the lab's dom0 has only busybox.
set -eu
xfm=${XFM:-xfm}
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }
run() { step "$1" "xfm $2"; shift; eval "$xfm $1"; }

dom=${1:-${XFM_GUEST_PVH_DOMID:-}}
if [ -z "$dom" ]; then
	# A real dom0: the first guest xl lists.
	dom=$(xl list | awk 'NR > 2 { print $2; exit }')
fi
[ -n "$dom" ] || { echo "demo: no running guest found (xl list)" >&2; exit 1; }
src=xen:$dom
name=$(xl domname "$dom" 2>/dev/null || echo "?")
echo "Guest: domain $dom ($name)"

run "The guest's page geometry and memory, from the running system" "info $src"
run "Populated guest-physical ranges (found with batched maps)" "map $src"

if [ -n "${XFM_GUEST_PVH_MARKER_TAG:-}" ]; then
	tag=$XFM_GUEST_PVH_MARKER_TAG
	want=$(printf '0x%x' $((XFM_GUEST_PVH_MARKER_PFN * 4096)))
	echo
	echo "The lab's guest put a marker page at $want (frame $XFM_GUEST_PVH_MARKER_PFN);"
	echo "xfm finds it by content alone:"
else
	tag="Linux version"
fi
run "Search all of guest memory" "-q search --max 8 $src '$tag'"
addr=$($xfm -q --json search --max 64 "$src" "$tag" |
	sed -n 's/.*"matches":\[\([0-9]*\).*/\1/p')
if [ -n "${want:-}" ]; then
	$xfm -q --json search --max 64 "$src" "$tag" | grep -q "[[,]$((want))[],]" &&
		addr=$((want))
fi
[ -n "$addr" ] || { echo "demo: '$tag' not found" >&2; exit 1; }
hex=$(printf '0x%x' "$addr")
run "Read it (hexdump, guest-physical addresses)" "read $src $hex 96"

out=/tmp/xfm-demo-$dom.elf
rm -f "$out"
run "Dump the whole guest to an ELF core (temp file, renamed when complete)" \
	"dump $src $out --format elf"
ls -l "$out"
run "The dump is a source too: the same bytes at the same address" \
	"read $out $hex 32"
run "Quick self-measure" "bench --time 0.2 $src"
rm -f "$out"
echo
echo "demo: done"
