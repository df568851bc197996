#!/bin/sh
# Guest virtual memory on live Xen guests (issue 15), in the lab's dom0
# (busybox sh), with the xfm CLI on PATH.  For each guest:
#  - the marker page's virtual address (its console: XFM-MARKER-VA) is
#    translated through the vCPU's own page-table root (Xen's vCPU context)
#    to the physical address the guest read from /proc/self/pagemap, and
#    the page is read by that virtual address (= by its physical address =
#    the expected bytes).  The marker is a user process: its page table is
#    the vCPU's only while it runs, so the guest is asked to make it spin
#    (its control page; one vCPU, SCHED_FIFO, see lab/guest/marker.c) and
#    is paused (xl pause) while the registers are read and used;
#  - init_uts_ns.name.release is read by its kernel virtual address
#    (VMCOREINFO: SYMBOL(init_uts_ns) + OFFSET(uts_namespace.name) + 2*65)
#    through the kernel's own root from VMCOREINFO, and must be the
#    release the guest printed (uname -r, XFM-GUEST-INFO).
# --no-kernel leaves the second part out.  Each xfm run searches guest
# memory for VMCOREINFO: on the arm64 16 KiB dom0 under TCG that took
# 37-79 s while the memory-map probe mapped every frame from 0 (an Arm
# guest's RAM starts at 1 GiB); it now maps one frame per 256 KiB first
# (src/source/frame-probe.c), see the "#" timing lines.
# TAP; exit 0 pass, 1 fail.
kernel=1
case ${1:-} in
    --no-kernel) kernel=0 ;;
    '') ;;
    *) echo "usage: $0 [--no-kernel]" >&2; exit 2 ;;
esac
tmp=$(mktemp -d /tmp/test-vm-xen.XXXXXX)
paused='' release=''

# ok, not_ok, skip, check, tap_done: tests/lib/tap.sh (in dom0, /payload/lib).
. "$(dirname "$0")/../lib/tap.sh"
tap() { if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2"; fi; }
cleanup() {
    [ -n "$paused" ] && xl unpause "$paused" 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# The value of KEY= in the guest's console log (last occurrence).
console_val() {
    tr -d '\r' < "$1" | grep -o "$2 .*" | tail -n 1 | tr ' ' '\n' |
        sed -n "s/^$3=//p" | head -n 1
}

# 8 bytes of guest-physical memory at ADDR as hex (no spaces).
read_u64() {
    xfm read --raw xen:"$1" "$2" 8 2> /dev/null | od -An -v -tx1 | tr -d ' \n'
}

# wait_u64 DOMID ADDR HEX: poll until the u64 at ADDR is HEX (60 s; the
# marker looks every 200 ms).
wait_u64() {
    i=0
    while [ $i -lt 60 ]; do
        sleep 1
        [ "$(read_u64 "$1" "$2")" = "$3" ] && return 0
        i=$((i + 1))
    done
    return 1
}

# Seconds since the last stamp, as a TAP comment (where the time goes).
last=$(date +%s)
stamp() {
    now=$(date +%s)
    echo "# $1: $((now - last)) s"
    last=$now
}

one=0100000000000000 zero=0000000000000000

marker_by_vcpu_root() {
    g=$1 dom=$2 log=$3 pfn=$4 mfile=$5
    va=$(console_val "$log" XFM-MARKER-VA va)
    ctrl=$(console_val "$log" XFM-MARKER-VA ctrl)
    if [ -z "$va" ] || [ -z "$ctrl" ]; then
        not_ok "$g: the guest printed its marker's VA and control page (XFM-MARKER-VA in $log)"
        return
    fi
    pa=$(printf '0x%x' $((pfn * 4096)))
    req=$((ctrl * 4096 + 16)) ack=$((ctrl * 4096 + 24))
    xfm write -q --force-write xen:"$dom" "$req" --hex "$one" && wait_u64 "$dom" "$ack" "$one"
    tap $? "$g: the marker spins on the guest's vCPU (control page pfn $ctrl answered)"
    stamp "$g: spin asked and answered"
    xl pause "xfm-$g" && paused="xfm-$g"
    xfm translate xen:"$dom" "$va" > "$tmp/tr" 2> "$tmp/tr.err"
    root=$(sed -n 's/^root: //p' "$tmp/tr")
    got=$(sed -n "s/^$va -> \(0x[0-9a-f]*\) .*/\1/p" "$tmp/tr")
    case $root in *'(xen-vcpu'*) rc=0 ;; *) rc=1 ;; esac
    tap $rc "$g: the root is the vCPU's, from Xen's vCPU context: $root"
    [ "$got" = "$pa" ]
    tap $? "$g: marker VA $va -> $got through the vCPU root = pagemap's pfn $pfn << 12 ($pa)"
    [ -n "$got" ] || sed 's/^/#   /' "$tmp/tr" "$tmp/tr.err"
    xfm read -q --va -o "$tmp/va.bin" xen:"$dom" "$va" 4096 2> "$tmp/va.err" &&
        xfm read -q -o "$tmp/pa.bin" xen:"$dom" "$pa" 4096 &&
        cmp "$tmp/va.bin" "$tmp/pa.bin"
    tap $? "$g: xfm read --va: 4096 bytes at $va = the 4096 bytes at $pa"
    cmp "$tmp/va.bin" "$mfile"
    tap $? "$g: xfm read --va: the marker page at $va = the expected bytes ($(head -c 15 "$tmp/va.bin"))"
    [ -s "$tmp/va.err" ] && sed 's/^/#   /' "$tmp/va.err"
    stamp "$g: paused, translated, read by VA and PA"
    xl unpause "xfm-$g" && paused=''
    # Released: the spinning marker sees it at once (checked at the end).
    xfm write -q --force-write xen:"$dom" "$req" --hex "$zero"
    release="$release $dom:$ack:$g"
}

# KEY's value in the VMCOREINFO text in file $1.
vmcoreinfo_val() {
    tr '\000' '\n' < "$1" | sed -n "s/^$2=//p" | head -n 1
}

uts_release_by_kernel_va() {
    g=$1 dom=$2 log=$3
    want=$(console_val "$log" XFM-GUEST-INFO kernel)
    vi=$(xfm info xen:"$dom" 2> "$tmp/i.err" | awk '$1 == "linux.vmcoreinfo_addr" { print $2 }')
    [ -s "$tmp/i.err" ] && sed 's/^/#   /' "$tmp/i.err"
    stamp "$g: xfm info (VMCOREINFO found at ${vi:-?})"
    xfm read --raw xen:"$dom" "$vi" 4096 > "$tmp/vmcoreinfo" 2> /dev/null
    sym=$(vmcoreinfo_val "$tmp/vmcoreinfo" 'SYMBOL(init_uts_ns)')
    off=$(vmcoreinfo_val "$tmp/vmcoreinfo" 'OFFSET(uts_namespace.name)')
    if [ -z "$vi" ] || [ ${#sym} != 16 ] || [ -z "$want" ]; then
        not_ok "$g: VMCOREINFO (at '$vi') gives SYMBOL(init_uts_ns) ('$sym'), the console the release ('$want')"
        return
    fi
    # Shell arithmetic is signed 64-bit: add to the low 32 bits only.
    lo=$((0x${sym#????????} + ${off:-0} + 2 * 65))
    if [ $lo -ge 4294967296 ]; then
        not_ok "$g: init_uts_ns release address crosses 4 GiB: not handled here"
        return
    fi
    va=$(printf '0x%s%08x' "${sym%????????}" "$lo")
    # --root kernel: the root from VMCOREINFO or an error, never another.
    rel=$(xfm read --va --root kernel --raw xen:"$dom" "$va" 65 2> "$tmp/k.err" | tr -d '\000')
    [ "$rel" = "$want" ]
    tap $? "$g: init_uts_ns.name.release read by kernel VA $va through the root from VMCOREINFO (--root kernel): '$rel' = uname -r '$want'"
    [ -s "$tmp/k.err" ] && sed 's/^/#   /' "$tmp/k.err"
    stamp "$g: init_uts_ns read by VA"
}

for g in $XFM_GUESTS; do
    p=XFM_GUEST_$(echo "$g" | tr '[:lower:]' '[:upper:]')
    eval "log=\${${p}_CONSOLE_LOG:-} pfn=\${${p}_MARKER_PFN:-} mfile=\${${p}_MARKER_FILE:-}"
    # The domid now: a save and restore before us gives it another.
    dom=$(xl domid "xfm-$g" 2> /dev/null)
    if [ -z "$dom" ] || [ -z "$log" ] || [ -z "$pfn" ]; then
        not_ok "$g: the lab gives its domid ('$dom'), console log and marker pfn"
        continue
    fi
    marker_by_vcpu_root "$g" "$dom" "$log" "$pfn" "$mfile"
    if [ "$kernel" = 1 ]; then
        uts_release_by_kernel_va "$g" "$dom" "$log"
    else
        echo "# $g: init_uts_ns by kernel VA left out (--no-kernel)"
    fi
done
for r in $release; do
    dom=${r%%:*} rest=${r#*:}
    [ "$(read_u64 "$dom" "${rest%%:*}")" = "$zero" ] || wait_u64 "$dom" "${rest%%:*}" "$zero"
    tap $? "${rest#*:}: the marker stopped spinning when released"
done
stamp "released"
tap_done
