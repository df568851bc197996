#!/bin/sh
# In the x86 lab's dom0 (busybox): `xfm mount` of the live PVH guest.
# Run by test-mount-xen (self-extracting: xfm, libfuse3, libjson-c and the
# kernel's fuse.ko unpacked in DIR, with tests/lib/tap.sh).  Prints TAP; exit 0/1, 77 skip.
#   mount-xen.sh DIR
dir=$1
if [ "${2:-}" = --ask-late ]; then
	# Called back by the drgn script below: sh mount-xen.sh DIR --ask-late CTRL
	ASK_LATE=$3
fi
. /run/xfm-guests
export LD_LIBRARY_PATH="$dir:/payload/lib"
X="$dir/xfm"
m=/tmp/xfm-py-mnt
. "$dir/tap.sh"

# fact WORD KEY: KEY=value from the guest console's last line starting WORD.
fact() {
	tr -d '\r' < "$XFM_GUEST_PVH_CONSOLE_LOG" | grep "^$1 " | tail -n 1 |
		tr ' ' '\n' | sed -n "s/^$2=//p"
}

# u32_at ADDR: the little-endian u32 at guest-physical ADDR.
u32_at() {
	# shellcheck disable=SC2046 # four words
	set -- $("$X" -q read --raw "xen:$domid" "$1" 4 | od -An -v -tx1)
	echo $((0x$4$3$2$1))
}

# One drgn program over the live guest (one DWARF index: each costs a
# minute under TCG): walk the task list, run ARGS (which make the guest
# start a process), walk again with the same program.  Prints
# "walk1 N tasks; marker=P ...", ARGS' output, "walk2 ...".
WALKS='
import subprocess, sys
from drgn.helpers.linux.pid import for_each_task
def walk():
    tasks = [(t.comm.string_().decode(), int(t.pid)) for t in for_each_task(prog)]
    return f"{len(tasks)} tasks; " + " ".join(
        f"{c}={p}" for c, p in sorted(tasks) if c in ("marker", "xfm-late"))
print("walk1", walk(), flush=True)
subprocess.run(sys.argv[1:], check=True)
print("walk2", walk(), flush=True)
'

# ask_late CTRL: ask the guest's marker for one more process (u64 at
# CTRL+32 of its control page) and print "late PID" once it answers.
ask_late() {
	n=$(($(u32_at $(($1 + 32))) + 1))
	"$X" -q write --force-write "xen:$domid" $(($1 + 32)) \
		--hex "$(printf '%02x%02x000000000000' $((n & 255)) $((n >> 8 & 255)))" || return 1
	late=0 i=0
	while [ "$late" = 0 ] && [ $i -lt 60 ]; do
		sleep 0.5
		late=$(u32_at $(($1 + 40)))
		i=$((i + 1))
	done
	echo "late $late"
}

# drgn (Debian's, staged in /payload/drgn by tests/xen/py/stage-drgn.sh)
# through `xfm drgn`, which mounts the live guest privately and runs drgn
# on its vmcore: the guest's two marker processes by the pids the guest
# printed, then a process the marker starts when dom0 asks through its
# control page (xfm write), seen by the same drgn program: live memory,
# not a snapshot.
live_drgn() {
	mpid=$(fact XFM-MARKER pid) wpid=$(fact XFM-WRITER pid)
	ctrl=$(($(fact XFM-MARKER-VA ctrl) * 4096))
	if [ "$mpid" -lt "$wpid" ]; then want="marker=$mpid marker=$wpid"
	else want="marker=$wpid marker=$mpid"; fi
	echo "$WALKS" > /tmp/xfm-walks.py
	t0=$(cut -d' ' -f1 /proc/uptime)
	PATH=/payload/drgn/bin:$PATH "$X" -q drgn -s /payload/drgn/vmlinux \
		"xen:$domid" /tmp/xfm-walks.py sh "$0" "$dir" --ask-late "$ctrl" \
		>/tmp/xfm-walks 2>&1
	rc=$?
	secs=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.0f", b - a }')
	w1=$(sed -n 's/^walk1 //p' /tmp/xfm-walks)
	w2=$(sed -n 's/^walk2 //p' /tmp/xfm-walks)
	late=$(sed -n 's/^late //p' /tmp/xfm-walks)
	case "$w1" in
	*"tasks; $want") ok "xfm drgn xen:$domid: the live task list holds the guest's markers: $w1 ($secs s in all)" ;;
	*) not_ok "xfm drgn xen:$domid: the live task list holds $want (exit $rc)" "$(tail -n 15 /tmp/xfm-walks)" ;;
	esac
	case "${late:-0} $w2" in
	"0 "*) not_ok "the guest's marker started no process (control page at $ctrl)" "$(tail -n 15 /tmp/xfm-walks)" ;;
	*" $want xfm-late=$late") ok "a process the guest started afterwards (xfm-late, pid $late) is on the same program's next walk: $w2" ;;
	*) not_ok "the next walk shows the guest's new process xfm-late (pid $late)" "$(tail -n 15 /tmp/xfm-walks)" ;;
	esac
}

# The guest's current id: save/restore in earlier lab programs changes it.
domid=${XFM_GUEST_PVH_DOMID:-}
[ -n "$domid" ] && domid=$(xl domid "${XFM_GUEST_PVH_NAME:-xfm-pvh}" 2>/dev/null || echo "$domid")
if [ -z "$domid" ]; then
	echo "1..0 # SKIP no PVH guest in this lab run"
	exit 77
fi
if [ -n "${ASK_LATE:-}" ]; then
	ask_late "$ASK_LATE"
	exit
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
if [ -x /payload/drgn/bin/drgn ]; then live_drgn
else not_ok "drgn on the live guest: no /payload/drgn (tests/lab/run-lab-tests.sh stages it)"; fi
kill -TERM $pid
wait $pid
rc=$?
check "SIGTERM: xfm mount exits 0 ($rc) and DIR is unmounted" \
	sh -c "[ $rc = 0 ] && ! grep -q ' $m ' /proc/mounts"
tap_done
