#!/bin/sh
# test-dropin.sh - Debian's own Xen tools on our libxenforeignmemory.so.1,
# side by side with Debian's library, in the lab's dom0.  TAP output.
#   test-dropin.sh [OUR_LIB_DIR]   (default /payload/lib)
# Needs the lab's guests (XFM_GUEST_* in the environment).
libdir=${1:-/payload/lib}
here=$(cd "$(dirname "$0")" && pwd)
n=0 failed=0
work=/tmp/dropin
mkdir -p "$work/lib"

# The loader looks libraries up by SONAME: give ours that name.
ours=$work/lib
for f in "$libdir"/libxenforeignmemory.so.1*; do
	[ -e "$f" ] && ln -sf "$f" "$ours/libxenforeignmemory.so.1"
done

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION CMD...
	d=$1; shift
	if "$@" >"$work/out" 2>&1; then ok "$d"; else
		not_ok "$d"; sed 's/^/#   /' "$work/out" | tail -n 15
	fi
}
with_ours() { LD_LIBRARY_PATH=$ours "$@"; }

# Which libxenforeignmemory does a program load?  Ask the dynamic loader.
loaded_from() {
	LD_TRACE_LOADED_OBJECTS=1 "$@" 2>/dev/null |
		sed -n 's/.*libxenforeignmemory.so.1 => \([^ ]*\).*/\1/p'
}

xl_path=$(command -v xl)
lib=$(with_ours loaded_from "$xl_path")
if [ "$lib" = "$ours/libxenforeignmemory.so.1" ]; then
	ok "xl loads our library with LD_LIBRARY_PATH ($lib)"
else
	not_ok "xl loads our library with LD_LIBRARY_PATH (got '$lib')"
fi
lib=$(loaded_from "$xl_path")
case $lib in
"$ours"/*|"") not_ok "xl loads Debian's library without it (got '$lib')" ;;
*) ok "xl loads Debian's library without it ($lib)" ;;
esac

# xl dump-core of a paused guest: the same bytes with either library.
# Only the PV guest: for an HVM/PVH guest xl maps every frame up to the
# highest one (0xfefff: a million single-frame maps, minutes under TCG).
for g in $XFM_GUESTS; do
	[ "$g" = pv ] || continue
	name=xfm-$g
	xl pause "$name"
	check "$g: xl dump-core with Debian's library" \
		xl dump-core "$name" "$work/$g-debian.core"
	check "$g: xl dump-core with ours" \
		with_ours xl dump-core "$name" "$work/$g-ours.core"
	# Xen may update a paused guest's shared_info (event bits) between
	# two dumps: byte-identical, or identical in every other section.
	if cmp -s "$work/$g-debian.core" "$work/$g-ours.core"; then
		ok "$g: the two cores are byte-identical"
	else
		check "$g: the two cores are identical but for .xen_shared_info" \
			"$here/test-xen-live" --same-core "$work/$g-debian.core" \
			"$work/$g-ours.core"
	fi
	size=$(wc -c <"$work/$g-ours.core")
	echo "# $g core: $size bytes"
	rm -f "$work/$g-debian.core" "$work/$g-ours.core"
	xl unpause "$name"
done

# xl save + xl restore through our library: the guest comes back running
# with its memory intact (the marker page holds the same bytes).
save_restore() {
	g=$1 name=xfm-$1
	eval pfn=\$XFM_GUEST_$(echo "$g" | tr a-z A-Z)_MARKER_PFN
	eval ref=\$XFM_GUEST_$(echo "$g" | tr a-z A-Z)_MARKER_FILE
	check "$g: xl save with ours" with_ours xl save "$name" "$work/$g.save"
	check "$g: xl restore with ours" with_ours xl restore "$work/$g.save"
	rm -f "$work/$g.save"
	domid=$(xl domid "$name" 2>/dev/null)
	check "$g: restored guest is running (domid $domid)" \
		sh -c "xl list '$name' | grep -q '$name'"
	check "$g: marker page intact after restore" \
		"$here/test-xen-live" --check-frame "xen:$domid" "$pfn" "$ref"
}
for g in $XFM_GUESTS; do save_restore "$g"; done

# Xen's own resource-mapping test, with each library.
tr=/usr/lib/xen-4.17/bin/test-resource
if [ -x "$tr" ]; then
	check "Xen's test-resource with Debian's library" "$tr"
	check "Xen's test-resource with ours" with_ours "$tr"
else
	n=$((n + 1)); echo "ok $n # SKIP test-resource not in dom0"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
