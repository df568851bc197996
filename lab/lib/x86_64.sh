# shellcheck shell=bash
# xfm lab: x86_64 specifics. Everything comes from the host's own Debian
# packages (Xen 4.17 hypervisor, Debian's 6.1 kernel as dom0 and guests).
# See /work/shared/reference/xen-lab.md for why each QEMU/Xen option is here.
# shellcheck disable=SC2034 # variables are used by common.sh and lab.sh

ARCH_PACKAGES=(qemu-system-x86 xen-hypervisor-4.17-amd64 xen-utils-4.17 linux-image-amd64
    busybox-static libxen-dev cpio kmod gcc libc6-dev binutils xz-utils)
ARCH_QEMU=qemu-system-x86_64
ARCH_CC=${CC:-cc}
LAB_SYSROOT=
ARCH_LIB_DIRS=(/usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib64 /lib64
    /usr/lib/xen-4.17/lib/x86_64-linux-gnu)
ARCH_XEN_BIN_DIR=/usr/lib/xen-4.17/bin
ARCH_BUSYBOX=/bin/busybox
ARCH_MODULES=(xen-privcmd xen-evtchn xen-gntdev xen-gntalloc xenfs)
ARCH_EXPORT_MODULES=(virtio_pci virtio_blk)
# Loaded with dlopen (no NEEDED entry: libgcc_s, xfm's kdump codecs) or wanted
# by tests for comparison.
ARCH_EXTRA_LIBS=(libgcc_s.so.1 libxenforeignmemory.so.1 libxencall.so.1 libxendevicemodel.so.1
    libxenevtchn.so.1 libxengnttab.so.1 libxenhypfs.so.1 libxenstore.so.4
    libxentoolcore.so.1 libxentoollog.so.1 libxenctrl.so.4.17 libxenguest.so.4.17
    libxenlight.so.4.17 libz.so.1 liblzo2.so.2 libsnappy.so.1 libzstd.so.1)
ARCH_GUEST_TYPES="pvh pv"

LAB_TCG_THREAD=${XFM_LAB_TCG_THREAD:-multi}
LAB_CPU=${XFM_LAB_CPU:-max,-smap,-fsgsbase}
# One physical CPU per domain (dom0 on 0, xfm-pvh on 1, xfm-pv on 2), so Xen
# never switches between two domains' vCPUs on one CPU: under host load,
# processes in dom0 and the guests crashed now and then with a corrupt FS
# base (TLS) when domains shared CPUs. XFM_LAB_PIN=0 gives the recipe's
# layout (2 CPUs, dom0 on both, no pinning).
LAB_PIN=${XFM_LAB_PIN:-1}
if [ "$LAB_PIN" = 1 ]; then
    LAB_SMP=3 LAB_DOM0_VCPUS="dom0_max_vcpus=1 dom0_vcpus_pin"
else
    LAB_SMP=2 LAB_DOM0_VCPUS="dom0_max_vcpus=2"
fi
XEN_CMDLINE="console=com1 com1=115200,8n1 dom0_mem=1536M,max:1536M $LAB_DOM0_VCPUS"
XEN_CMDLINE+=" loglvl=all guest_loglvl=all noreboot serial_tx_buffer=256k"
# Scrubbing free RAM at boot costs minutes of emulated CPU; nothing here needs it.
XEN_CMDLINE+=" bootscrub=0"
DOM0_CMDLINE="console=hvc0 earlyprintk=xen rdinit=/init"

# Newest Debian kernel that has its modules installed.
arch_kernel_version() {
    local v
    for v in $(printf '%s\n' /boot/vmlinuz-*-amd64 | sed 's|^/boot/vmlinuz-||' | sort -rV); do
        [ -d "/lib/modules/$v" ] && { echo "$v"; return 0; }
    done
    return 1
}

arch_kernel_image() { echo "/boot/vmlinuz-$1"; }

# The guests' kernel as a plain ELF vmlinux: xl would otherwise unpack the
# xz payload of the bzImage in dom0 userspace for every guest, ~10 s each
# under TCG. The payload offset and size are in the bzImage setup header.
arch_guest_kernel() {
    local img=$1 out=$2 setup_sects payload_off
    setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$img")
    [ "$setup_sects" -eq 0 ] && setup_sects=4
    payload_off=$(od -An -tu4 -j $((0x248)) -N4 "$img")
    tail -c +$(((setup_sects + 1) * 512 + payload_off + 1)) "$img" |
        xz -dc --single-stream > "$out"
    [ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ]
}

# Xen's gzipped multiboot ELF; QEMU's -kernel wants it uncompressed.
arch_xen_source() { ls /boot/xen-4.17-amd64.gz; }

arch_build_xen() { gunzip -c "$(arch_xen_source)" > "$1"; }

arch_build_marker() { gcc -static -O2 -Wall -o "$2" "$1"; }

# Extra xl.cfg lines per guest type.
arch_guest_cfg_extra() {
    case $1 in
        # QEMU's emulated SVM cannot give Xen what it needs to emulate the
        # guest's RDTSCP; without this the PVH guest hangs.
        pvh)
            echo 'tsc_mode="native"'
            [ "$LAB_PIN" = 1 ] && echo 'cpus="1"'
            ;;
        pv) [ "$LAB_PIN" = 1 ] && echo 'cpus="2"' ;;
    esac
    return 0
}

# QEMU command line (printed one argument per line). TCG only: /dev/kvm here
# cannot run Xen; -smap off or dom0 faults at its first instructions.
arch_qemu_command() {
    local xen=$1 kernel=$2 initrd=$3
    printf '%s\n' "$ARCH_QEMU" -accel "tcg,thread=$LAB_TCG_THREAD" -cpu "$LAB_CPU" -machine q35 \
        -smp "$LAB_SMP" -m 2560 -nographic -serial stdio -monitor none -no-reboot -net none \
        -kernel "$xen" -append "$XEN_CMDLINE" -initrd "$kernel $DOM0_CMDLINE,$initrd"
}

# The export disk (lab-export's fast path): a raw virtio-blk disk that dom0
# finds by its serial. cache=unsafe: the host reads it only after QEMU exits.
arch_export_disk_args() {
    printf '%s\n' -drive "file=$1,format=raw,if=none,id=xfmexport,cache=unsafe" \
        -device virtio-blk-pci,drive=xfmexport,serial=xfm-export
}
