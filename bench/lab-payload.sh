#!/bin/sh
# Runs in the Xen lab's dom0 (busybox sh) from /payload, started by
# bench/run.sh: creates a paused guest "xfm-bench" (x86: PVH) as large as the
# lab's memory allows (at most $BENCH_GUEST_MB, default 512), then runs
# bench-xen on it (and the lab's 128 MiB xfm-pvh for the RSS figure);
# BENCH_XEN_ARGS: more bench-xen options (e.g. --only dump --dump-budget 0).
# Prints XFM-BENCH-ENV (dom0 facts) and the JSON between XFM-BENCH-JSON-BEGIN
# and XFM-BENCH-JSON-END.
want=${BENCH_GUEST_MB:-512}
reps=${BENCH_REPS:-3}
. /run/xfm-guests

free_mb=$(xl info free_memory 2>/dev/null)
avail_mb=$(( $(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) / 1024 ))
mem=$want
# Leave Xen 64 MiB.  dom0 has no disk: a whole dump must fit in its RAM
# with room to spare (512 MiB of 773 available thrashed for 10 minutes).
[ $((free_mb - 64)) -lt "$mem" ] && mem=$((free_mb - 64))
[ $((avail_mb - 352)) -lt "$mem" ] && mem=$((avail_mb - 352))
mem=$((mem / 64 * 64))
if [ "$mem" -lt 128 ]; then
    echo "bench: not enough memory for a guest (xen free ${free_mb} MiB, dom0 available ${avail_mb} MiB)"
    exit 1
fi

# x86: a PVH guest on its own CPU (the lab's layout).  Arm: xl's one
# guest type there, no type= line (as the lab's own arm guest).
x86=
[ "$(uname -m)" = x86_64 ] && x86='type="pvh"
cpus="2"
tsc_mode="native"'
cat > /run/xfm-bench.cfg <<CFG
name="xfm-bench"
kernel="/lab/guest/vmlinux"
ramdisk="/lab/guest/initrd.gz"
memory=$mem
vcpus=1
extra="console=hvc0 rdinit=/init quiet"
$x86
CFG
# Paused and never started: its memory is all populated at creation,
# and a dump compares best on a paused guest.
if ! xl create -p /run/xfm-bench.cfg > /run/xfm-bench-create.log 2>&1; then
    cat /run/xfm-bench-create.log
    exit 1
fi
domid=$(xl domid xfm-bench)

cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
xenver=$(xl info | sed -n 's/^xen_version *: //p')
echo "XFM-BENCH-ENV {\"kernel\": \"$(uname -r)\", \"cpu\": \"$cpu\", \"cpus\": $(grep -c ^processor /proc/cpuinfo), \"xen\": \"$xenver\", \"guest_mb\": $mem, \"guest_mb_wanted\": $want, \"xen_free_mb\": $free_mb, \"dom0_available_mb\": $avail_mb}"

# dom0's root is a tmpfs capped at half its RAM: dumps go to one of their own.
mkdir -p /bench
mount -t tmpfs -o "size=$((mem + 64))m" tmpfs /bench || exit 1

rc=0
before=
[ -x ./bench-xen-before ] && before="--before ./bench-xen-before"
[ -f ./xfm-dropin.so.1 ] && before="$before --dropin $PWD/xfm-dropin.so.1"
# Stop in time to print what was measured (lab.sh kills the payload at
# its --timeout, and the JSON with it).
limit=
command -v timeout > /dev/null && limit="timeout ${BENCH_XEN_TIMEOUT:-1500}"
# shellcheck disable=SC2086
$limit ./bench-xen --reps "$reps" $before ${BENCH_XEN_ARGS:-} --fill --small "${XFM_GUEST_PVH_DOMID:-${XFM_GUEST_ARM_DOMID:-0}}" --dir /bench \
    "$domid" > /tmp/bench-xen.json || rc=$?
echo "XFM-BENCH-JSON-BEGIN"
cat /tmp/bench-xen.json
echo
echo "XFM-BENCH-JSON-END"
xl destroy xfm-bench > /dev/null 2>&1
exit "$rc"
