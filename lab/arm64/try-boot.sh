#!/bin/bash
# lab/arm64/try-boot.sh -- developer tool: stage Debian's arm64 Xen 4.17, build a dom0
# initramfs, boot Xen + dom0 (4 KiB and/or 16 KiB kernel pages) in qemu-system-aarch64,
# start the toolstack, create a small guest and map its frames with Debian's arm64
# libxenforeignmemory (lab/arm64/maptest.c).
#
# usage: lab/arm64/try-boot.sh [4k|16k|both]     (default: both)
# env:   XFM_ARM64_WORK  work dir (default /var/tmp/xfm-arm64)
#        XFM_ARM64_TIMEOUT  seconds per boot (default 300)
#        XFM_ARM64_TEST_RESOURCE  1 runs Xen's test-resource last in dom0 (default 0)
# Results: $XFM_ARM64_WORK/boot-<page>.log (serial console, each line prefixed with the
# wall-clock seconds since QEMU started) and a summary on stdout.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/arm64.sh
. "$repo/lab/lib/arm64.sh"

pages=${1:-both}
case "$pages" in
    4k | 16k) ;;
    both) pages="4k 16k" ;;
    *) echo "usage: $0 [4k|16k|both]" >&2; exit 2 ;;
esac
work=${XFM_ARM64_WORK:-/var/tmp/xfm-arm64}
tmo=${XFM_ARM64_TIMEOUT:-300}
# 1: also run Xen's test-resource in dom0 last (privcmd MMAP_RESOURCE: on the 16K
# kernel it corrupts dom0 memory, "BUG: Bad page map", and dom0 then hangs)
test_resource=${XFM_ARM64_TEST_RESOURCE:-0}
mkdir -p "$work"
MAGIC=XFM-ARM-GUEST-MAGIC-5a17c0de

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

t_start=$EPOCHREALTIME
arm64_stage "$work/stage" >/dev/null
t_staged=$EPOCHREALTIME
R=$ARM64_ROOT
ML=$R/usr/lib/aarch64-linux-gnu
XB=$R/usr/lib/xen-4.17/bin

# --- the probe program, linked against Debian's arm64 libxenforeignmemory ----------
inc="$work/xen-include"
mkdir -p "$inc"
# host (amd64) libxen-dev headers: same API; only these, not all of /usr/include
ln -sfn /usr/include/xenforeignmemory.h "$inc/xenforeignmemory.h"
ln -sfn /usr/include/xentoollog.h "$inc/xentoollog.h"
ln -sfn /usr/include/xen "$inc/xen"
CC=$(arm64_cc)
timeout 120 "$CC" -O2 -Wall -Wextra -I"$inc" -o "$work/xfm-arm64-maptest" "$here/maptest.c" \
    -L"$ML" -Wl,-rpath-link="$ML" -lxenforeignmemory

# --- guest initramfs: busybox + an init that idles ---------------------------------
g="$work/guest-root"
rm -rf "$g"
mkdir -p "$g/bin" "$g/proc" "$g/sys" "$g/dev"
cp "$R/bin/busybox" "$g/bin/busybox"
ln -s busybox "$g/bin/sh"
cat >"$g/init" <<EOF
#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
echo "$MAGIC guest up"
while :; do /bin/busybox sleep 10; done
EOF
chmod 755 "$g/init"
(cd "$g" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/guest.cpio.gz"

# --- dom0 initramfs ----------------------------------------------------------------
build_dom0() { # <page> -> prints the initramfs path
    local page=$1 d f n bins=()
    d="$work/dom0-$page"
    rm -rf "$d"
    mkdir -p "$d"/{bin,sbin,etc/xen,proc,sys,dev,tmp,run,guest} \
        "$d"/usr/{bin,sbin} "$d/usr/lib/xen-4.17/bin" "$d/lib/aarch64-linux-gnu"
    cp "$R/bin/busybox" "$d/bin/busybox"
    ln -s busybox "$d/bin/sh"
    for f in xl xenstored xenconsoled xen-init-dom0 test-resource; do
        cp "$XB/$f" "$d/usr/lib/xen-4.17/bin/$f"
        bins+=("$XB/$f")
    done
    cp "$R/usr/bin/xenstore" "$d/usr/bin/xenstore"
    bins+=("$R/usr/bin/xenstore")
    for n in read write ls list rm exists chmod watch; do
        ln -s xenstore "$d/usr/bin/xenstore-$n"
    done
    cp "$R/usr/bin/getconf" "$d/usr/bin/getconf"
    bins+=("$R/usr/bin/getconf")
    cp "$work/xfm-arm64-maptest" "$d/usr/bin/"
    bins+=("$work/xfm-arm64-maptest")
    # every shared object they need, recursively, + ld-linux-aarch64.so.1 + libgcc_s.so.1
    while read -r f; do
        cp -L "$f" "$d/lib/aarch64-linux-gnu/${f##*/}"
    done < <(arm64_needed_libs "${bins[@]}")
    mv "$d/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1" "$d/lib/ld-linux-aarch64.so.1"
    ln -s ../ld-linux-aarch64.so.1 "$d/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"
    arm64_copy_modules "$page" "$d" xen-privcmd xen-evtchn xen-gntdev xen-gntalloc xenfs
    # the guest: always the 4 KiB 6.1 kernel (a domU's page size is its own business)
    cp "$ARM64_KERNEL_4K" "$d/guest/Image"
    cp "$work/guest.cpio.gz" "$d/guest/initrd"
    : >"$d/etc/xen/xl.conf"
    cat >"$d/etc/xen/guest.cfg" <<'EOF'
name = "guest"
kernel = "/guest/Image"
ramdisk = "/guest/initrd"
memory = 128
vcpus = 1
extra = "console=hvc0 rdinit=/init"
EOF
    cat >"$d/init" <<EOF
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/usr/lib/xen-4.17/bin
export LD_LIBRARY_PATH=/lib/aarch64-linux-gnu
say() { echo "XFM-ARM: \$*"; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
say "init uptime=\$(cut -d' ' -f1 /proc/uptime) kver=\$(uname -r)"
for m in xen-privcmd xen-evtchn xen-gntdev xen-gntalloc xenfs; do
    modprobe \$m || say "modprobe \$m failed"
done
mount -t xenfs xenfs /proc/xen
mkdir -p /var/run/xen /var/run/xenstored /var/lib/xen /var/lib/xenstored \
    /var/log/xen/console /var/lock
xenstored --pid-file /var/run/xenstored.pid
xen-init-dom0
xenconsoled --log=guest --log-dir=/var/log/xen/console
say "toolstack up uptime=\$(cut -d' ' -f1 /proc/uptime)"
say "getconf PAGESIZE=\$(getconf PAGESIZE)"
say "sys pagesize=\$(cat /sys/hypervisor/properties/pagesize)"
say "hypervisor=\$(cat /sys/hypervisor/version/major).\$(cat /sys/hypervisor/version/minor)\$(cat /sys/hypervisor/version/extra)"
ls -l /dev/xen
if xl create /etc/xen/guest.cfg; then
    i=0
    while [ \$i -lt 120 ] && ! grep -q "$MAGIC guest up" /var/log/xen/console/guest-guest.log 2>/dev/null; do
        sleep 0.5; i=\$((i+1))
    done
    say "guest up uptime=\$(cut -d' ' -f1 /proc/uptime) (waited \$i half-seconds)"
else
    say "xl create failed rc=\$?"
fi
xl list
domid=\$(xl domid guest 2>/dev/null || echo none)
say "guest domid=\$domid"
if [ "\$domid" != none ]; then
    xfm-arm64-maptest \$domid 0x40000 8 "$MAGIC"
    say "maptest rc=\$?"
fi
if [ "\${XFM_TEST_RESOURCE:-$test_resource}" = 1 ]; then
    # Xen's own acquire_resource test (privcmd MMAP_RESOURCE); last: it may upset dom0
    timeout 60 test-resource >/tmp/tr.out 2>&1; rc=\$?
    tail -n 3 /tmp/tr.out
    say "test-resource rc=\$rc, kernel 'Bad page map' lines: \$(dmesg | grep -c 'Bad page map')"
fi
say "guest console (tail):"
tail -n 5 /var/log/xen/console/guest-guest.log 2>/dev/null
say "dmesg BUG lines: \$(dmesg | grep -c 'BUG')"
say "done uptime=\$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
EOF
    chmod 755 "$d/init"
    (cd "$d" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/dom0-$page.cpio.gz"
    printf '%s\n' "$work/dom0-$page.cpio.gz"
}

summary=()
for page in $pages; do
    t0=$EPOCHREALTIME
    initrd=$(build_dom0 "$page")
    t1=$EPOCHREALTIME
    log="$work/boot-$page.log"
    echo "== booting Xen + $page dom0 ($(arm64_kver "$page")), initramfs $(du -h "$initrd" | cut -f1), log $log"
    qstart=$EPOCHREALTIME
    # prefix each serial line with the wall-clock seconds since QEMU started
    set +e
    # a hung `poweroff -f` (as after test-resource on 16K) costs 15 s, not the timeout
    ARM64_BOOT_DONE='^XFM-ARM: done' ARM64_BOOT_GRACE=15 arm64_boot "$page" "$initrd" "$tmo" 2>&1 |
        perl -MTime::HiRes=time -ne 'BEGIN { $| = 1; $t = time } printf "[%7.2f] %s", time - $t, $_' |
        tee "$log" |
        grep --line-buffered -E 'XFM-ARM|MAPTEST|test-resource|Test |Xen version|Name +ID|^\[[ 0-9.]+\] (guest|Domain-0) |BUG|Could not'
    st=("${PIPESTATUS[@]}")
    set -e
    wall=$(secs "$qstart" "$EPOCHREALTIME")
    summary+=("$page: initramfs build $(secs "$t0" "$t1")s, qemu rc ${st[0]}, boot-to-poweroff ${wall}s")
done
echo "== staging $(secs "$t_start" "$t_staged")s"
printf '== %s\n' "${summary[@]}"
