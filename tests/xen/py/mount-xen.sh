#!/bin/sh
# In the x86 lab's dom0 (busybox): `xfm mount` of the live PVH guest.
# Run by test-mount-xen (self-extracting: xfm, libfuse3, libjson-c and the
# kernel's fuse.ko unpacked in DIR, with tests/lib/tap.sh).  Prints TAP; exit 0/1, 77 skip.
#   mount-xen.sh DIR
dir=$1
. /run/xfm-guests
export LD_LIBRARY_PATH="$dir:/payload/lib"
X="$dir/xfm"
m=/tmp/xfm-py-mnt
. "$dir/tap.sh"

# The guest's current id: save/restore in earlier lab programs changes it.
domid=${XFM_GUEST_PVH_DOMID:-}
[ -n "$domid" ] && domid=$(xl domid "${XFM_GUEST_PVH_NAME:-xfm-pvh}" 2>/dev/null || echo "$domid")
if [ -z "$domid" ]; then
	echo "1..0 # SKIP no PVH guest in this lab run"
	exit 77
fi
if [ ! -e /dev/fuse ]; then
	insmod "$dir/fuse.ko" 2>/dev/null
	[ -e /dev/fuse ] || mknod /dev/fuse c 10 229
fi
check "FUSE in dom0 (/dev/fuse, fuse.ko of the guest kernel)" test -e /dev/fuse

mkdir -p "$m"
"$X" mount -q "xen:$domid" "$m" &
pid=$!
i=0
while [ ! -e "$m/info.json" ] && [ $i -lt 300 ]; do
	kill -0 $pid 2>/dev/null || break
	sleep 0.2
	i=$((i + 1))
done
check "xfm mount xen:$domid DIR: pmem, vmcore, info.json" \
	test -e "$m/pmem" -a -e "$m/vmcore" -a -e "$m/info.json"

pfn=$((XFM_GUEST_PVH_MARKER_PFN))
check "DIR/pmem at the marker frame ($XFM_GUEST_PVH_MARKER_PFN) holds the marker page" \
	sh -c "dd if='$m/pmem' bs=4096 skip=$pfn count=1 2>/dev/null |
		cmp - '$XFM_GUEST_PVH_MARKER_FILE'"
# The marker's region (static, mlocked): its first run of frames.  Other
# memory changes between two reads of a running guest.
run=${XFM_GUEST_PVH_REGION_PFNS%% *}
rstart=$((${run%+*})) rcount=$((${run#*+}))
"$X" -q read --raw "xen:$domid" $((rstart * 4096)) $((rcount * 4096)) \
	>/tmp/xfm-py-raw
check "cmp of DIR/pmem (region run $run) with xfm read --raw" \
	sh -c "dd if='$m/pmem' bs=4096 skip=$rstart count=$rcount 2>/dev/null |
		cmp - /tmp/xfm-py-raw"
banner=$(strings "$m/pmem" | grep -m1 '^Linux version ')
check "strings DIR/pmem finds the kernel banner: ${banner%%(*}" \
	test -n "$banner"
check "DIR/vmcore: ELF core whose note is the guest's VMCOREINFO" \
	sh -c "dd if='$m/vmcore' bs=65536 count=1 2>/dev/null | strings |
		grep -q '^OSRELEASE='"
check "DIR/info.json names the guest kernel (linux.osrelease)" \
	grep -q '"linux.osrelease"' "$m/info.json"
check "DIR/pmem is read-only without --force-write" \
	sh -c "! (echo x >> '$m/pmem') 2>/dev/null"
kill -TERM $pid
wait $pid
rc=$?
check "SIGTERM: xfm mount exits 0 ($rc) and DIR is unmounted" \
	sh -c "[ $rc = 0 ] && ! grep -q ' $m ' /proc/mounts"
tap_done
