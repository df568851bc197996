#!/bin/sh
# run-arm.sh - the Arm drop-in checks, a program of the lab harness
# (tests/lab/run-lab-tests.sh --arch arm64), run in dom0 (busybox ash).
# XFM_LAB_PAGE (4k|16k) says the dom0 kernel's page.  xfm is installed in
# dom0 from its Debian packages (xfm, libxfm0, xfm-xenforeignmemory: the
# drop-in in /usr/lib/aarch64-linux-gnu/xfm, selected with xfm-run); the
# payload has bin/dropin-compare.
# Needs the lab's "arm" guest (XFM_GUEST_ARM_* in the environment).
# Prints TAP lines ("ok N - ...", "# ..."), then "1..N"; exit 1 on a failure.
page=${XFM_LAB_PAGE:-4k}
case $page in
4k | 16k) ;;
*) echo "run-arm.sh: XFM_LAB_PAGE must be 4k or 16k" >&2; exit 2 ;;
esac
P=/payload
ours=/usr/lib/aarch64-linux-gnu/xfm
work=/tmp/arm-tests
mkdir -p "$work"
# ok, not_ok, skip, check, tap_done: tests/lib/tap.sh (in dom0, /payload/lib).
. "$(dirname "$0")/../lib/tap.sh"
TAP_PREFIX="$page: "
# logged_check DESCRIPTION CMD...: check, keeping CMD's output in
# $work/out for the lines after it.
logged_check() {
	d=$1; shift
	if "$@" >"$work/out" 2>&1; then ok "$d"; else
		not_ok "$d (exit $?)"; sed 's/^/#   /' "$work/out" | tail -n 15
	fi
}
with_ours() { xfm-run "$@"; }
cli() { timeout 300 xfm "$@"; }
now() { cut -d' ' -f1 /proc/uptime; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

dom=$XFM_GUEST_ARM_DOMID
name=$XFM_GUEST_ARM_NAME
marker_pfn=$XFM_GUEST_ARM_MARKER_PFN
marker_addr=$(printf '0x%x' $((marker_pfn * 4096)))
region=${XFM_GUEST_ARM_REGION_PFNS%%+*}
ram_first=0x40000 # GUEST_RAM0_BASE >> 12: Xen's fixed Arm guest memory map
ram_frames=$((XFM_GUEST_ARM_MEMORY_MB * 256))
echo "# dom0 $(uname -r), guest $name domid $dom, marker frame $marker_pfn," \
	"region $XFM_GUEST_ARM_REGION_PFNS"

# ---- the drop-in: Debian's arm64 tools on our libxenforeignmemory.so.1
# The packaged files: /usr/bin/xfm (what PATH finds) and xfm-run.
xfm_bin=$(readlink -f "$(command -v xfm)")
if [ "$xfm_bin" = /usr/bin/xfm ] && [ -x /usr/bin/xfm-run ] &&
	[ -f "$ours/libxenforeignmemory.so.1" ]; then
	ok "xfm from the packages: /usr/bin/xfm, /usr/bin/xfm-run, $ours/libxenforeignmemory.so.1"
else
	not_ok "xfm from the packages (xfm is '$xfm_bin'; xfm-run, $ours/libxenforeignmemory.so.1)"
fi
# loaded_from CMD...: the libxenforeignmemory.so.1 that CMD's loader lists.
loaded_from() {
	"$@" 2>/dev/null | sed -n 's/.*libxenforeignmemory.so.1 => \([^ ]*\).*/\1/p'
}
lib=$(loaded_from xfm-run env LD_TRACE_LOADED_OBJECTS=1 "$(command -v xl)")
if [ "$lib" = "$ours/libxenforeignmemory.so.1" ]; then
	ok "xfm-run xl: xl loads our library ($lib)"
else
	not_ok "xfm-run xl: xl loads our library (got '$lib')"
fi
deb=$(loaded_from env LD_TRACE_LOADED_OBJECTS=1 "$(command -v xl)")
case $deb in
"$ours"/* | "") not_ok "xl loads Debian's library without it (got '$deb')" ;;
/lib/* | /usr/lib/*) ok "xl loads Debian's library without it ($deb)" ;;
*) not_ok "xl loads Debian's library without it (got '$deb')" ;;
esac

# 1, 3, 5, 7 frames at odd frames (+ 7 across the end of RAM), each library.
logged_check "dropin-compare with Debian's library" \
	timeout 120 "$P/bin/dropin-compare" map "$dom" "$ram_first" "$ram_frames" "$region"
cp "$work/out" "$work/map-debian"
logged_check "dropin-compare with ours" \
	with_ours timeout 120 "$P/bin/dropin-compare" map "$dom" "$ram_first" "$ram_frames" "$region"
cp "$work/out" "$work/map-ours"
grep '^#' "$work/map-ours" | head -n 3
batches=$(grep -c '^batch' "$work/map-ours")
if [ "$batches" = 9 ] && grep -v '^#' "$work/map-debian" >"$work/a" &&
	grep -v '^#' "$work/map-ours" >"$work/b" && cmp -s "$work/a" "$work/b"; then
	ok "1/3/5/7 frames at odd frames: same bytes and per-frame errs with both libraries ($batches batches)"
else
	not_ok "1/3/5/7 frames at odd frames: same bytes and per-frame errs with both libraries"
	diff "$work/a" "$work/b" 2>&1 | head -n 20 | sed 's/^/#   /'
fi
# Every batch inside RAM maps all its frames; the last has 3 mapped, 4 errors.
if [ "$(grep -c ' err=0 ' "$work/b" 2>/dev/null)" -ge 8 ] &&
	! head -n 8 "$work/b" | grep -q 'err=[^0]' &&
	[ "$(tail -n 1 "$work/b" | grep -o 'err=0 ' | wc -l)" = 3 ] &&
	[ "$(tail -n 1 "$work/b" | grep -o 'err=-[0-9]*' | wc -l)" = 4 ]; then
	ok "in-RAM frames all mapped; across the end of RAM: 3 mapped, 4 errors ($(tail -n 1 "$work/b" | grep -o 'err=-[0-9]*' | sort -u | tr '\n' ' '))"
else
	not_ok "in-RAM frames all mapped; across the end of RAM: 3 mapped, 4 errors"
	sed 's/^/#   /' "$work/b" | cut -c1-200
fi

# Resource mapping through our library (never Debian's with >1 frame on 16K).
logged_check "our xenforeignmemory_map_resource: grant table, 1 frame maps; >1 refused on a 16 KiB kernel" \
	with_ours timeout 60 "$P/bin/dropin-compare" resource "$dom"
sed 's/^/#   /' "$work/out"

# xl dump-core of the paused guest: byte-identical with both libraries.
xl pause "$name"
t=$(now)
logged_check "xl dump-core with Debian's library" timeout 300 xl dump-core "$name" "$work/xl-debian.core"
td=$(secs "$t")
t=$(now)
logged_check "xl dump-core with ours" with_ours timeout 300 xl dump-core "$name" "$work/xl-ours.core"
to=$(secs "$t")
logged_check "the two xl cores are byte-identical ($(wc -c <"$work/xl-ours.core" 2>/dev/null) bytes; ${td} s Debian, ${to} s ours)" \
	cmp "$work/xl-debian.core" "$work/xl-ours.core"
rm -f "$work/xl-debian.core"

# Beat the stock stack: xl's Arm dump-core holds no guest RAM (it looks for
# it at frames 0x80000-0x87fff only); xfm's dump holds all of it.
pattern=$XFM_GUEST_ARM_MARKER_PATTERN
if [ -x "$P/bin/xfm" ]; then
	t=$(now)
	logged_check "xfm dump --format xen-core of the paused guest" \
		cli -q dump --format xen-core "xen:$dom" "$work/xfm.core"
	echo "# xfm dump: $(wc -c <"$work/xfm.core" 2>/dev/null) bytes in $(secs "$t") s"
	logged_check "xfm's core holds the marker page at $marker_addr" \
		sh -c "xfm read --raw '$work/xfm.core' $marker_addr 4096 | cmp - '$XFM_GUEST_ARM_MARKER_FILE'"
	cli search --hex "$work/xfm.core" "$pattern" >"$work/found-xfm" 2>&1
	if grep -qix "$marker_addr" "$work/found-xfm"; then
		ok "the marker's first 32 bytes found at $marker_addr in xfm's core"
	else
		not_ok "the marker's first 32 bytes found at $marker_addr in xfm's core (got: $(head -n 3 "$work/found-xfm" | tr '\n' ' '))"
	fi
	# The file's bytes, not its page table: the marker's tag (also in the
	# guest's kernel command line) is in xfm's core and nowhere in xl's.
	tag=$XFM_GUEST_ARM_MARKER_TAG
	if grep -F -q "$tag" "$work/xfm.core" && ! grep -F -q "$tag" "$work/xl-ours.core"; then
		ok "'$tag' is in xfm's core and nowhere in xl's (stock dump-core on Arm writes no guest RAM)"
	else
		not_ok "'$tag' is in xfm's core and nowhere in xl's"
	fi
	cli search --hex "$work/xl-ours.core" "$pattern" >"$work/found-xl" 2>&1
	echo "# xfm search on xl's core (exit $?): $(head -n 2 "$work/found-xl" | tr '\n' ' ')"
	rm -f "$work/xfm.core"
else
	skip "xfm dump" "the xfm CLI is not in the payload"
fi
rm -f "$work/xl-ours.core"
xl unpause "$name"

# Xen's own resource-mapping test.  On a 16 KiB dom0 Debian's library hands
# its multi-frame maps to the kernel, which remaps num kernel pages for num
# frames and corrupts dom0: there only ours runs it, which refuses those
# maps before the kernel (test-resource then reports failure, cleanly).
tr=/usr/lib/xen-4.17/bin/test-resource
if [ "$page" = 16k ]; then
	with_ours timeout 120 "$tr" >"$work/out" 2>&1
	rc=$?
	if [ "$rc" != 137 ] && [ "$rc" != 124 ] && grep -q -i "not supported\|refus" "$work/out" &&
		[ "$(dmesg | grep -c 'Bad page map')" = 0 ]; then
		ok "Xen's test-resource with ours on a 16 KiB dom0: multi-frame maps refused (exit $rc), no 'Bad page map'"
	else
		not_ok "Xen's test-resource with ours on a 16 KiB dom0 (exit $rc)"
		tail -n 10 "$work/out" | sed 's/^/#   /'
	fi
else
	logged_check "Xen's test-resource with Debian's library" timeout 120 "$tr"
	logged_check "Xen's test-resource with ours" with_ours timeout 120 "$tr"
fi

# Nothing above may have made the kernel complain about its page tables.
bad=$(dmesg | grep -c 'Bad page map')
if [ "$bad" = 0 ]; then ok "no 'BUG: Bad page map' in dom0's dmesg"; else
	not_ok "$bad 'Bad page map' lines in dom0's dmesg"; dmesg | grep -B2 -A5 'Bad page map' | head -n 20 | sed 's/^/#   /'
fi
bugs=$(dmesg | grep -c -E 'BUG:|Oops|Bad rss-counter')
if [ "$bugs" = 0 ]; then ok "no BUG/Oops in dom0's dmesg"; else
	not_ok "$bugs BUG/Oops lines in dom0's dmesg"
fi

tap_done
