# shellcheck shell=bash
# shellcheck disable=SC2034 # the ARCH_* variables are used by lab.sh and common.sh
# lab/lib/arm64.sh -- arm64 specifics of the xfm Xen lab.
#
# Sourced by lab/lab.sh (and lab/arm64/cross-build.sh). Safe under
# `set -euo pipefail`: every function returns non-zero on failure and touches no
# caller state except the ARM64_* variables documented below.
#
# Public interface
#   arm64_host_packages            print the amd64 host packages the arm64 lab needs
#   arm64_host_install             apt-get install the missing ones (idempotent)
#   arm64_stage <dir>              build/refresh the arm64 staging tree in <dir>;
#                                  prints KEY=VALUE lines (also written to <dir>/arm64.env)
#                                  and exports them (ARM64_STAGE_DIR, ARM64_ROOT, ARM64_XEN,
#                                  ARM64_KERNEL_4K, ARM64_KVER_4K, ARM64_KERNEL_16K, ARM64_KVER_16K)
#   arm64_load <dir>               export the ARM64_* variables of an existing staging tree
#   arm64_kver <4k|16k>            print the dom0 kernel release of that page size
#   arm64_cc                       print the C compiler for arm64 payloads
#
# Facts used here come from shared/reference/xen-arm-lab.md.

ARM64_TRIPLET=aarch64-linux-gnu
# Guest-loader addresses. 0x48000000 is where QEMU puts the device tree: never use it.
ARM64_DOM0_KERNEL_ADDR=0x49000000
ARM64_DOM0_INITRD_ADDR=0x50000000

arm64__log() { printf 'arm64: %s\n' "$*" >&2; }
arm64__die() { printf 'arm64: error: %s\n' "$*" >&2; return 1; }

arm64_host_packages() {
    printf '%s\n' qemu-system-arm qemu-user gcc-aarch64-linux-gnu \
        binutils-aarch64-linux-gnu libc6-dev-arm64-cross libxen-dev \
        cpio kmod xz-utils gzip file
}

arm64__have_pkg() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

arm64__apt_update() {
    local i
    for i in 1 2 3 4 5; do
        if timeout 600 apt-get -q -o DPkg::Lock::Timeout=300 update >&2; then
            return 0
        fi
        arm64__log "apt-get update failed (try $i), lists locked? retrying"
        sleep 10
    done
    arm64__die "apt-get update failed" || return 1
}

arm64_host_install() {
    local p missing=()
    while read -r p; do
        arm64__have_pkg "$p" || missing+=("$p")
    done < <(arm64_host_packages)
    [ "${#missing[@]}" -eq 0 ] && return 0
    arm64__log "installing host packages: ${missing[*]}"
    if ! timeout 1200 env DEBIAN_FRONTEND=noninteractive apt-get -q -y \
            -o DPkg::Lock::Timeout=600 install --no-install-recommends "${missing[@]}" >&2; then
        arm64__apt_update
        timeout 1200 env DEBIAN_FRONTEND=noninteractive apt-get -q -y \
            -o DPkg::Lock::Timeout=600 install --no-install-recommends "${missing[@]}" >&2
    fi
}

# Candidate version of an arm64 package, empty when apt knows none.
arm64__candidate() {
    arm64__candidates "$1" | awk '{ print $2 }'
}

# First "Depends:" target of a (meta)package's candidate, without the :arm64 suffix.
arm64__first_dep() {
    apt-cache depends --no-recommends --no-suggests "$1:arm64" 2>/dev/null |
        awk '$1 == "Depends:" { sub(/:arm64$/, "", $2); print $2; exit }'
}

# Make sure dpkg knows arm64 and apt has arm64 lists containing the Xen packages.
arm64__ensure_lists() {
    local need=0
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        arm64__log "dpkg --add-architecture arm64"
        dpkg --add-architecture arm64 || return 1
        need=1
    fi
    if [ "$need" -eq 0 ] && [ -z "$(arm64__candidate xen-hypervisor-4.17-arm64)" ]; then
        need=1
    fi
    if [ "$need" -eq 1 ]; then
        arm64__apt_update || return 1
    fi
    [ -n "$(arm64__candidate xen-hypervisor-4.17-arm64)" ] ||
        arm64__die "no arm64 xen-hypervisor-4.17-arm64 in the apt lists" || return 1
}

# The fixed part of the staging package list (names without :arm64).
arm64__static_packages() {
    printf '%s\n' \
        xen-hypervisor-4.17-arm64 xen-utils-4.17 xen-utils-common xenstore-utils \
        libxen-dev libxenmisc4.17 libxenstore4 \
        libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 \
        libxengnttab1 libxenhypfs1 libxentoolcore1 libxentoollog1 \
        busybox-static libc-bin libc6 \
        libjson-c5 libjson-c-dev libcmocka0 libcmocka-dev libfuse3-3 \
        libyajl2 libfdt1 zlib1g libncurses6 libncursesw6 libtinfo6 libuuid1 \
        libext2fs2 libcom-err2 libgcc-s1
}

# The arm64 packages of the staging tree, one per line: the fixed list + two kernels.
arm64__stage_packages() {
    local k4 k16
    # The newest 6.1 kernel: the one the linux-image-arm64 metapackage points at.
    k4=$(arm64__first_dep linux-image-arm64)
    # The newest 6.12 16 KiB-page kernel (bookworm-security), via its metapackage.
    k16=$(arm64__first_dep linux-image-6.12-arm64-16k)
    case "$k4" in linux-image-6.1.*-arm64) ;; *) arm64__die "cannot find the 6.1 arm64 kernel (got '$k4')" || return 1 ;; esac
    case "$k16" in linux-image-6.12.*-arm64-16k) ;; *) arm64__die "cannot find the 6.12 arm64-16k kernel (got '$k16')" || return 1 ;; esac
    arm64__static_packages
    printf '%s\n' "${k4}-unsigned" "${k16}-unsigned"
}

# "<pkg> <candidate version>" for each arm64 package named (one apt-cache call).
arm64__candidates() {
    local a=() p
    for p in "$@"; do a+=("$p:arm64"); done
    apt-cache policy "${a[@]}" 2>/dev/null | awk '
        /^[^ ].*:$/ { name = $0; sub(/:arm64:$/, "", name); sub(/:$/, "", name) }
        $1 == "Candidate:" && $2 != "(none)" { print name, $2 }'
}

# Download the given packages into the current directory (skipping .debs already
# there at the candidate version); print the .deb file names.
arm64__download() {
    local -A ver=()
    local p v file missing=() files=() refreshed=0
    while :; do
        ver=()
        while read -r p v; do ver[$p]=$v; done < <(arm64__candidates "$@")
        missing=()
        files=()
        for p in "$@"; do
            v=${ver[$p]:-}
            [ -n "$v" ] || arm64__die "no candidate for $p:arm64" || return 1
            # apt-get download names files <pkg>_<version with ':' as %3a>_<arch>.deb
            file="${p}_${v//:/%3a}_arm64.deb"
            files+=("$file")
            [ -s "$file" ] || missing+=("$p:arm64=$v")
        done
        [ "${#missing[@]}" -gt 0 ] || break
        arm64__log "downloading ${missing[*]}"
        # -o APT::Sandbox::User=root: _apt cannot write into root-owned staging dirs
        if timeout 900 apt-get -q -o APT::Sandbox::User=root download "${missing[@]}" >&2; then
            continue
        fi
        # the mirror may have dropped that version: refresh the lists once, retry
        [ "$refreshed" -eq 0 ] || arm64__die "apt-get download failed: ${missing[*]}" || return 1
        refreshed=1
        arm64__apt_update || return 1
    done
    printf '%s\n' "${files[@]}"
}

# Identifies the arm64 apt lists (names, sizes, mtimes) and the package list asked
# for; empty when there are no arm64 lists.
arm64__lists_key() {
    local f
    f=$(find /var/lib/apt/lists -maxdepth 1 -name '*_binary-arm64_Packages*' \
        -printf '%f %s %T@\n' 2>/dev/null | sort)
    [ -n "$f" ] || return 0
    { printf '%s\n' "$f"; arm64__static_packages; } | md5sum | cut -d' ' -f1
}

arm64__write_env() {
    local dir=$1 root=$2 xen k4 k16 kv4 kv16
    xen="$root/boot/xen-4.17-arm64"
    [ -f "$xen" ] || xen=$(printf '%s\n' "$root"/boot/xen-*-arm64 | sort -V | tail -n1)
    [ -f "$xen" ] || arm64__die "no Xen image in $root/boot" || return 1
    kv4=$(cd "$root/lib/modules" && printf '%s\n' 6.1.*-arm64 | grep -v '\*' | sort -V | tail -n1)
    kv16=$(cd "$root/lib/modules" && printf '%s\n' 6.12.*-arm64-16k | grep -v '\*' | sort -V | tail -n1)
    [ -n "$kv4" ] || arm64__die "no 6.1 arm64 modules in $root/lib/modules" || return 1
    [ -n "$kv16" ] || arm64__die "no 6.12 arm64-16k modules in $root/lib/modules" || return 1
    k4="$root/boot/vmlinuz-$kv4"
    k16="$root/boot/vmlinuz-$kv16"
    [ -f "$k4" ] || arm64__die "missing $k4" || return 1
    [ -f "$k16" ] || arm64__die "missing $k16" || return 1
    {
        printf 'ARM64_STAGE_DIR=%q\n' "$dir"
        printf 'ARM64_ROOT=%q\n' "$root"
        printf 'ARM64_XEN=%q\n' "$xen"
        printf 'ARM64_KERNEL_4K=%q\n' "$k4"
        printf 'ARM64_KVER_4K=%q\n' "$kv4"
        printf 'ARM64_KERNEL_16K=%q\n' "$k16"
        printf 'ARM64_KVER_16K=%q\n' "$kv16"
    } >"$dir/arm64.env.tmp" || return 1
    mv -f "$dir/arm64.env.tmp" "$dir/arm64.env"
}

arm64_load() {
    local dir=${1:-${ARM64_STAGE_DIR:-}}
    [ -n "$dir" ] && [ -f "$dir/arm64.env" ] ||
        arm64__die "no staging tree at '${dir}' (run arm64_stage first)" || return 1
    # shellcheck disable=SC1091
    . "$dir/arm64.env"
    export ARM64_STAGE_DIR ARM64_ROOT ARM64_XEN ARM64_KERNEL_4K ARM64_KVER_4K \
        ARM64_KERNEL_16K ARM64_KVER_16K
}

arm64_stage() {
    [ "$#" -eq 1 ] || arm64__die "usage: arm64_stage <dir>" || return 1
    local dir root debs pkgs f want have kv
    mkdir -p "$1" || return 1
    dir=$(cd "$1" && pwd) || return 1
    root="$dir/root"
    debs="$dir/debs"
    mkdir -p "$debs" || return 1

    arm64_host_install || return 1

    # Fast path: nothing to do when the tree was built from the apt lists as they are now.
    local key
    key=$(arm64__lists_key)
    if [ -n "$key" ] && [ -d "$root" ] && [ -f "$dir/arm64.env" ] &&
        [ "$key" = "$(cat "$dir/.listskey" 2>/dev/null || true)" ]; then
        arm64__log "staging tree $root is up to date (apt lists unchanged)"
        arm64_load "$dir" || return 1
        cat "$dir/arm64.env"
        return 0
    fi

    arm64__ensure_lists || return 1
    pkgs=$(arm64__stage_packages) || return 1

    # Download (cached per exact version) and remember the exact set of .debs.
    # shellcheck disable=SC2086
    want=$(cd "$debs" && arm64__download $pkgs) || return 1
    want=$(printf '%s\n' "$want" | sort)
    have=$(cat "$dir/.unpacked" 2>/dev/null || true)

    if [ "$want" != "$have" ] || [ ! -d "$root" ]; then
        arm64__log "unpacking $(printf '%s\n' "$want" | wc -l) packages into $root"
        rm -rf "$root.new" && mkdir -p "$root.new" || return 1
        while read -r f; do
            dpkg-deb -x "$debs/$f" "$root.new" || return 1
        done <<<"$want"
        # 6.12 ships .ko.xz: decompress so that any modprobe (busybox's too) can load them
        find "$root.new/lib/modules" -name '*.ko.xz' -print0 | xargs -0 -r xz -d -f || return 1
        for kv in "$root.new"/lib/modules/*/; do
            kv=${kv%/}
            depmod -b "$root.new" "${kv##*/}" || return 1
        done
        rm -rf "$root" && mv "$root.new" "$root" || return 1
        printf '%s\n' "$want" >"$dir/.unpacked" || return 1
    else
        arm64__log "staging tree $root is up to date"
    fi

    arm64__write_env "$dir" "$root" || return 1
    arm64__lists_key >"$dir/.listskey" || return 1
    arm64_load "$dir" || return 1
    cat "$dir/arm64.env"
}

arm64__page() {
    case "${1:-}" in
        4k | 4K) echo 4K ;;
        16k | 16K) echo 16K ;;
        *) arm64__die "kernel page must be 4k or 16k, got '${1:-}'" || return 1 ;;
    esac
}

arm64_kver() {
    local p v
    p=$(arm64__page "${1:-}") || return 1
    [ -n "${ARM64_STAGE_DIR:-}" ] && [ -z "${ARM64_XEN:-}" ] && { arm64_load || return 1; }
    v="ARM64_KVER_$p"
    [ -n "${!v:-}" ] || arm64__die "$v unset (run arm64_stage or arm64_load)" || return 1
    printf '%s\n' "${!v}"
}

arm64_cc() {
    printf '%s\n' "${ARM64_TRIPLET}-gcc"
}

# ================================================================ lab.sh interface
# `lab/lab.sh --arch arm64 [--kernel-page 4k|16k]` sources this file; lab.sh and
# common.sh use the ARCH_* variables and arch_* functions below (see lab/README.md,
# "Adding an architecture"). The arm64 pieces come from the staging tree built by
# arm64_stage in $XFM_LAB_DIR/arm64-stage (arch_setup, under a lock): LAB_SYSROOT is
# its root, so the dom0 image is staged from arm64 files only. The dom0 kernel is the
# 6.1 4 KiB one or the 6.12 16 KiB one (LAB_KERNEL_PAGE, from --kernel-page or
# $XFM_LAB_KERNEL_PAGE); the guest always runs the 4 KiB kernel. One guest type: "arm"
# (xl's default on Arm, an auto-translated PVH-like domain; no type= line).

LAB_ARM64_STAGE=${XFM_LAB_DIR:-/var/tmp/xfm-lab}/arm64-stage
ARM64_LAB_PAGE=$(arm64__page "${LAB_KERNEL_PAGE:-4k}") || exit "${LAB_RC_USAGE:-2}"
# Each dom0 kernel gets its own image cache ($XFM_LAB_DIR/arm64-4k, arm64-16k).
ARCH_VARIANT=${ARM64_LAB_PAGE,,}
mapfile -t ARCH_PACKAGES < <(arm64_host_packages)
ARCH_QEMU='qemu-system-aarch64'
ARCH_CC=$(arm64_cc)
LAB_SYSROOT=$LAB_ARM64_STAGE/root
ARCH_LIB_DIRS=("$LAB_SYSROOT/lib/$ARM64_TRIPLET" "$LAB_SYSROOT/usr/lib/$ARM64_TRIPLET"
    "$LAB_SYSROOT/usr/lib/xen-4.17/lib/$ARM64_TRIPLET" "$LAB_SYSROOT/lib" "$LAB_SYSROOT/usr/lib")
ARCH_XEN_BIN_DIR=/usr/lib/xen-4.17/bin
ARCH_BUSYBOX=$LAB_SYSROOT/bin/busybox
ARCH_MODULES=(xen-privcmd xen-evtchn xen-gntdev xen-gntalloc xenfs)
# The export disk is a virtio-mmio device: both kernels have these as modules.
ARCH_EXPORT_MODULES=(virtio_mmio virtio_blk)
ARCH_EXTRA_LIBS=(libgcc_s.so.1 libxenforeignmemory.so.1 libxencall.so.1 libxendevicemodel.so.1
    libxenevtchn.so.1 libxengnttab.so.1 libxenhypfs.so.1 libxenstore.so.4
    libxentoolcore.so.1 libxentoollog.so.1 libxenctrl.so.4.17 libxenguest.so.4.17
    libxenlight.so.4.17 libz.so.1)
ARCH_GUEST_TYPES="arm"

# Builds (or checks) the staging tree, under a lock shared by concurrent labs. Called by
# lab.sh once the host packages are there; failure means the lab cannot run here (no
# arm64 packages reachable): lab.sh exits 77.
arch_setup() {
    local rc=0
    mkdir -p "$LAB_ARM64_STAGE" || return 1
    exec 8> "$LAB_ARM64_STAGE.lock"
    flock -w 1800 8 || { arm64__log "staging lock busy"; return 1; }
    arm64_stage "$LAB_ARM64_STAGE" > /dev/null || rc=1
    flock -u 8
    exec 8>&-
    [ "$rc" = 0 ] || return 1
    arm64_load "$LAB_ARM64_STAGE"
}

# What the cached images are made of besides lab files: the exact staged packages.
arch_inputs() {
    echo "kernel page $ARM64_LAB_PAGE"
    cat "$LAB_ARM64_STAGE/.unpacked"
}

arch_kernel_version() { arm64_kver "$ARM64_LAB_PAGE"; }

arch_kernel_image() { echo "$LAB_SYSROOT/boot/vmlinuz-$1"; }

# The guest runs the 4 KiB 6.1 kernel whatever dom0 runs: its frames are then Xen's
# 4 KiB frames, and the marker's pagemap frame numbers are guest frame numbers. Debian's
# arm64 vmlinuz is a raw Image, which xl loads as it is.
arch_guest_kernel() {
    cp "$ARM64_KERNEL_4K" "$2" &&
        [ "$(od -An -c -j 56 -N 4 "$2" | tr -d ' ')" = 'ARMd' ]
}

arch_xen_source() { echo "$ARM64_XEN"; }

arch_build_xen() { cp "$ARM64_XEN" "$1"; }

arch_build_marker() { "$ARCH_CC" -static -O2 -Wall -o "$2" "$1"; }

# Nothing beyond lab/dom0/init's lines: Arm guests need kernel, ramdisk, memory, extra.
arch_guest_cfg_extra() { return 0; }

# The export disk (lab-export's fast path): virtio-blk on one of the virt machine's
# virtio-mmio transports, which are in the device tree Xen hands on to dom0 (Xen uses
# none of them). dom0 finds it by its serial. cache=unsafe: the host reads it only after
# QEMU exits.
arch_export_disk_args() {
    printf '%s\n' -drive "file=$1,format=raw,if=none,id=xfmexport,cache=unsafe" \
        -device virtio-blk-device,drive=xfmexport,serial=xfm-export
}

# The recipe of shared/reference/xen-arm-lab.md; cortex-a76 has the 16K granule. Modules
# never at 0x48000000 (QEMU's device tree).
arch_qemu_command() {
    local xen=$1 kernel=$2 initrd=$3
    printf '%s\n' "$ARCH_QEMU" -machine virt,virtualization=on,gic-version=3 \
        -cpu cortex-a76 -accel "tcg,thread=${XFM_LAB_TCG_THREAD:-multi}" -smp 2 -m 2048 \
        -nographic -serial stdio -monitor none -no-reboot -net none \
        -kernel "$xen" \
        -append "console=dtuart dtuart=/pl011@9000000 dom0_mem=1024M,max:1024M dom0_max_vcpus=2 loglvl=all guest_loglvl=all noreboot bootscrub=0 serial_tx_buffer=256k" \
        -device "guest-loader,addr=$ARM64_DOM0_KERNEL_ADDR,kernel=$kernel,bootargs=console=hvc0 earlycon=xen earlyprintk=xen rdinit=/init" \
        -device "guest-loader,addr=$ARM64_DOM0_INITRD_ADDR,initrd=$initrd"
}
