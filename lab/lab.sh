#!/bin/bash
# xfm lab: boots Xen + dom0 under QEMU (TCG), starts guests with known
# memory content, runs a payload command in dom0 and returns its exit status.
# See lab/README.md. Exit codes: the command's own status, or
#   2 usage, 77 cannot run here, 122 host-side build failed,
#   123 VM crashed or ended without a result, 124 timeout,
#   125 lab setup failed in dom0 (toolstack, guest without marker), or a
#       damaged export when the command itself passed.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck disable=SC2034 # LAB_RC_HOST is used by lab_die (common.sh)
LAB_RC_USAGE=2 LAB_RC_SKIP=77 LAB_RC_HOST=122 LAB_RC_CRASH=123 LAB_RC_TIMEOUT=124
LAB_RC_SETUP=125

usage() {
    cat <<'EOF'
usage: lab/lab.sh [--arch x86_64|arm64] [--kernel-page 4k|16k] [--guests "pvh pv"]
                  --payload DIR --run 'CMD' [--timeout SECS] [--guest-timeout SECS]
                  [--out DIR] [--keep] [--xen-loglvl LVL] [--debs DIR]
  --kernel-page P     dom0 kernel page: 4k (default) or, on arm64, 16k
                      (or $XFM_LAB_KERNEL_PAGE)
  --payload DIR       copied into dom0 as /payload (CMD runs there)
  --run CMD           shell command run by dom0's /bin/sh (busybox) in /payload
  --guests LIST       guests to start before CMD: any of "pvh pv" (arm64: "arm"), or ""
                      (default: all of the architecture's types)
  --timeout SECS      limit for CMD (default 120); the whole VM gets SECS+300
  --guest-timeout S   limit for the guests to report their markers (default 120)
  --out DIR           console.log and files sent with lab-export land here
  --keep              keep the run directory ($XFM_LAB_RUN_DIR or $TMPDIR or /tmp)
  --xen-loglvl LVL    Xen log level while CMD runs (default warning; "" = unchanged)
  --debs DIR          unpack DIR's .deb files (dpkg-deb -x) into dom0's root, except
                      -dbgsym, -dev and python3- packages: xfm as users install it
  --retries N         boot again up to N times when the VM fails before CMD
                      starts (default 1, or $XFM_LAB_RETRIES)
Environment: XFM_LAB_DIR (cache, default /var/tmp/xfm-lab), XFM_LAB_RUN_DIR, XFM_LAB_RETRIES,
  XFM_LAB_EXPORT_MB (export disk, default 4096),
  x86_64: XFM_LAB_PIN (1), XFM_LAB_CPU, XFM_LAB_TCG_THREAD (see lab/README.md)
EOF
}

parse_args() {
    LAB_ARCH=x86_64 LAB_GUESTS=default LAB_PAYLOAD='' LAB_RUN_CMD='' LAB_TIMEOUT=120
    LAB_GUEST_TIMEOUT=120 LAB_OUT='' LAB_KEEP=0 LAB_XEN_LOGLVL=warning
    LAB_RETRIES=${XFM_LAB_RETRIES:-1} LAB_KERNEL_PAGE=${XFM_LAB_KERNEL_PAGE:-4k}
    LAB_DEBS=''
    while [ $# -gt 0 ]; do
        case $1 in
            --arch) LAB_ARCH=$2; shift 2 ;;
            --kernel-page) LAB_KERNEL_PAGE=$2; shift 2 ;;
            --guests) LAB_GUESTS=$2; shift 2 ;;
            --payload) LAB_PAYLOAD=$2; shift 2 ;;
            --run) LAB_RUN_CMD=$2; shift 2 ;;
            --timeout) LAB_TIMEOUT=$2; shift 2 ;;
            --guest-timeout) LAB_GUEST_TIMEOUT=$2; shift 2 ;;
            --out) LAB_OUT=$2; shift 2 ;;
            --keep) LAB_KEEP=1; shift ;;
            --xen-loglvl) LAB_XEN_LOGLVL=$2; shift 2 ;;
            --retries) LAB_RETRIES=$2; shift 2 ;;
            --debs) LAB_DEBS=$2; shift 2 ;;
            -h | --help) usage; exit 0 ;;
            *) usage >&2; exit "$LAB_RC_USAGE" ;;
        esac
    done
    local bad=
    [ -d "$LAB_PAYLOAD" ] || bad="--payload DIR is required"
    [ -n "$LAB_RUN_CMD" ] || bad="--run CMD is required"
    [[ $LAB_TIMEOUT =~ ^[0-9]+$ && $LAB_GUEST_TIMEOUT =~ ^[0-9]+$ ]] || bad="timeouts are seconds"
    [[ $LAB_RETRIES =~ ^[0-9]+$ ]] || bad="--retries wants a number"
    [ -z "$LAB_DEBS" ] || compgen -G "$LAB_DEBS/*.deb" > /dev/null ||
        bad="--debs DIR holds no .deb file"
    [[ $LAB_ARCH =~ ^[a-z0-9_]+$ ]] || bad="bad --arch"
    [[ $LAB_KERNEL_PAGE =~ ^(4k|16k)$ ]] || bad="--kernel-page is 4k or 16k"
    [[ $LAB_XEN_LOGLVL =~ ^[a-z]*$ ]] || bad="bad --xen-loglvl"
    if [ -n "$bad" ]; then
        echo "lab.sh: $bad" >&2
        usage >&2
        exit "$LAB_RC_USAGE"
    fi
}

load_arch() {
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    [ -f "$here/lib/$LAB_ARCH.sh" ] || { echo "lab.sh: no support for $LAB_ARCH" >&2; exit "$LAB_RC_USAGE"; }
    # shellcheck source=lib/common.sh
    . "$here/lib/common.sh"
    # shellcheck source=lib/x86_64.sh
    . "$here/lib/$LAB_ARCH.sh"
    # shellcheck disable=SC2034 # used by common.sh
    LAB_GUEST_TYPES=$ARCH_GUEST_TYPES
    [ "$LAB_GUESTS" != default ] || LAB_GUESTS=$ARCH_GUEST_TYPES
    # An arch with one kernel page size says nothing about it.
    [ -n "${ARCH_VARIANT:-}" ] || [ "$LAB_KERNEL_PAGE" = 4k ] ||
        { echo "lab.sh: --kernel-page $LAB_KERNEL_PAGE not supported on $LAB_ARCH" >&2; exit "$LAB_RC_USAGE"; }
    local g
    for g in $LAB_GUESTS; do
        [[ " $ARCH_GUEST_TYPES " == *" $g "* ]] ||
            { echo "lab.sh: guest type $g not supported on $LAB_ARCH" >&2; exit "$LAB_RC_USAGE"; }
    done
}

ensure_host() {
    lab_ensure_packages "${ARCH_PACKAGES[@]}" || lab_log "warning: package installation failed"
    command -v "$ARCH_QEMU" > /dev/null || { lab_log "skip: $ARCH_QEMU not available"; exit "$LAB_RC_SKIP"; }
    local p
    for p in cpio gzip readelf depmod modprobe timeout setsid; do
        command -v "$p" > /dev/null || { lab_log "skip: $p not available"; exit "$LAB_RC_SKIP"; }
    done
    # Optional arch step that fetches what the host packages do not give (arm64: the
    # staging tree of Debian's arm64 packages).
    if declare -F arch_setup > /dev/null && ! arch_setup; then
        lab_log "skip: cannot set up the $LAB_ARCH pieces (see above)"
        exit "$LAB_RC_SKIP"
    fi
}

# Everything the cached images are made from; a change rebuilds them.
inputs_hash() {
    {
        echo "$LAB_ARCH $LAB_KVER"
        # Arch settings baked into the image (they may come from the environment).
        for g in $ARCH_GUEST_TYPES; do arch_guest_cfg_extra "$g"; done
        dpkg-query -W "${ARCH_PACKAGES[@]}" 2>/dev/null
        cat "$LAB_DIR/lib/common.sh" "$LAB_DIR/lib/$LAB_ARCH.sh" "$LAB_DIR"/dom0/* "$LAB_DIR"/guest/*
        ls -l --time-style=+%s "$(arch_xen_source)" "$(arch_kernel_image "$LAB_KVER")"
        if declare -F arch_inputs > /dev/null; then arch_inputs; fi
    } | sha256sum | cut -d' ' -f1
}

build_images() {
    local hash
    hash=$(inputs_hash)
    if [ -f "$CACHE/stamp" ] && [ "$(cat "$CACHE/stamp")" = "$hash" ]; then
        lab_log "using cached images in $CACHE"
        return 0
    fi
    lab_log "building images in $CACHE"
    rm -f "$CACHE/stamp"
    local t0=$SECONDS b=$CACHE/build
    rm -rf "$b"
    mkdir -p "$b"
    arch_build_xen "$b/xen.elf"
    arch_build_marker "$LAB_DIR/guest/marker.c" "$b/marker"
    arch_guest_kernel "$(arch_kernel_image "$LAB_KVER")" "$b/vmlinux" ||
        lab_die "cannot unpack the guest kernel"
    lab_build_guest_initrd "$b/guest-root" "$b/marker" "$b/guest-initrd.gz"
    lab_build_dom0_initramfs "$b/dom0-root" "$LAB_KVER" "$b/guest-initrd.gz" "$b/marker" \
        "$b/dom0.cpio.gz"
    lab_build_guest_kernel_cpio "$b/gk-root" "$b/vmlinux" "$b/guest-kernel.cpio"
    # One base image: the kernel unpacks concatenated archives in order.
    : > "$b/base.img"
    lab_append_archive "$b/base.img" "$b/dom0.cpio.gz"
    lab_append_archive "$b/base.img" "$b/guest-kernel.cpio"
    cp "$(arch_kernel_image "$LAB_KVER")" "$b/vmlinuz"
    mv "$b/xen.elf" "$b/vmlinuz" "$b/base.img" "$CACHE/"
    mv "$b/dom0.cpio.gz.list" "$CACHE/base.list"
    rm -rf "$b"
    echo "$hash" > "$CACHE/stamp"
    lab_log "images built in $((SECONDS - t0)) s ($(du -h "$CACHE/base.img" | cut -f1) initramfs)"
}

# Builds under a lock: two lab runs may share one cache.
prepare() {
    CACHE=${XFM_LAB_DIR:-/var/tmp/xfm-lab}/$LAB_ARCH${ARCH_VARIANT:+-$ARCH_VARIANT}
    RUNS=${XFM_LAB_RUN_DIR:-${TMPDIR:-/tmp}}
    mkdir -p "$CACHE" "$RUNS"
    [[ $RUNS != *[,\ ]* ]] || lab_die "XFM_LAB_RUN_DIR/TMPDIR must not contain commas or spaces (QEMU -initrd)"
    LAB_KVER=$(arch_kernel_version) || lab_die "no kernel with modules found"
    exec 9> "$CACHE/lock"
    flock -w 900 9 || lab_die "cache lock busy"
    build_images
    # Runs live outside the cache, so wiping the cache cannot pull the
    # console log from under a running lab.
    RUN=$(mktemp -d "$RUNS/xfm-lab-run.XXXXXX")
    # Copy the base under the lock: a concurrent rebuild replaces it.
    cp "$CACHE/xen.elf" "$CACHE/vmlinuz" "$CACHE/base.list" "$RUN/"
    cp "$CACHE/base.img" "$RUN/initramfs"
    flock -u 9
    exec 9>&-
    lab_build_payload "$RUN/payload-root" "$LAB_PAYLOAD" "$RUN/base.list" "$RUN/payload.cpio.gz"
    rm -rf "$RUN/payload-root"
    # The kernel unpacks concatenated cpio archives in order.
    lab_append_archive "$RUN/initramfs" "$RUN/payload.cpio.gz"
    if [ -n "$LAB_DEBS" ]; then
        build_debs_archive "$RUN/debs-root" "$LAB_DEBS" "$RUN/base.list" "$RUN/debs.cpio.gz"
        rm -rf "$RUN/debs-root"
        lab_append_archive "$RUN/initramfs" "$RUN/debs.cpio.gz"
    fi
}

# --debs: the packages' files at their installed paths (as dpkg-deb -x puts
# them), plus the libraries their ELF files need that the base image lacks.
build_debs_archive() {
    local stage=$1 dir=$2 base_list=$3 out=$4 d f
    rm -rf "$stage"
    mkdir -p "$stage"
    for d in "$dir"/*.deb; do
        case ${d##*/} in *-dbgsym_* | *-dev_* | python3-*) continue ;; esac
        dpkg-deb -x "$d" "$stage" || lab_die "cannot unpack $d"
        lab_log "dom0 gets $(dpkg-deb -f "$d" Package) $(dpkg-deb -f "$d" Version) ($(dpkg-deb -f "$d" Architecture))"
    done
    local -a elves=()
    while IFS= read -r -d '' f; do
        lab_is_elf "$f" && elves+=("$f")
    done < <(find "$stage" -type f -print0)
    if [ "${#elves[@]}" -gt 0 ]; then
        mkdir -p "$stage.extra"
        lab_stage_payload_deps "$stage.extra" "$base_list" "$stage" "${elves[@]}"
        cp -a "$stage.extra/." "$stage/"
        rm -rf "$stage.extra"
    fi
    lab_cpio_gz "$stage" "$out"
}

# shellcheck disable=SC2317 # invoked by trap
cleanup() {
    local rc=$?
    if [ -n "${QEMU_PID:-}" ]; then
        kill -KILL -- "-$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    [ -n "${TAIL_PID:-}" ] && kill "$TAIL_PID" 2>/dev/null
    if [ -n "${RUN:-}" ] && [ -d "$RUN" ]; then
        if [ "$LAB_KEEP" = 1 ]; then lab_log "kept $RUN"; else rm -rf "$RUN"; fi
    fi
    exit "$rc"
}

# Polls the console for the end of the run. Sets VM_END to exit, crash or
# timeout; kills QEMU early on a panic (with noreboot QEMU would sit there).
watch_vm() {
    local log=$1 deadline=$((SECONDS + VM_TIMEOUT)) grace=
    VM_END=
    while kill -0 "$QEMU_PID" 2>/dev/null; do
        if [ -z "$grace" ] && grep -qE '^XFM-LAB-(EXIT|FAIL) ' "$log"; then
            VM_END='exit' grace=$((SECONDS + 15))
        elif [ -z "$grace" ] && grep -qE 'Kernel panic - not syncing|Panic on CPU|Manual reset required' "$log"; then
            VM_END=crash grace=$((SECONDS + 2))
        fi
        if [ -n "$grace" ] && [ "$SECONDS" -ge "$grace" ]; then break; fi
        if [ "$SECONDS" -ge "$deadline" ]; then VM_END=timeout; break; fi
        sleep 0.25
    done
    kill -KILL -- "-$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
    QEMU_PID=
    # A QEMU that died (or timed out in timeout(1)) by itself: look at the log.
    if [ -z "$VM_END" ]; then
        VM_END=crash
        if grep -qE '^XFM-LAB-(EXIT|FAIL) ' "$log"; then VM_END='exit'; fi
    fi
}

run_vm() {
    local log=$RUN/console.log t0=$SECONDS
    local -a cmd
    mapfile -t cmd < <(arch_qemu_command "$RUN/xen.elf" "$RUN/vmlinuz" "$RUN/initramfs")
    # The export disk: sparse, empty for every boot (dom0's lab-export writes
    # files to it; lab_extract_exports reads them after the VM is gone).
    rm -f "$RUN/export.img"
    if declare -F arch_export_disk_args > /dev/null; then
        truncate -s "${XFM_LAB_EXPORT_MB:-4096}M" "$RUN/export.img"
        mapfile -t -O "${#cmd[@]}" cmd < <(arch_export_disk_args "$RUN/export.img")
    fi
    VM_TIMEOUT=$((LAB_TIMEOUT + LAB_GUEST_TIMEOUT + 180))
    : > "$log"
    # Own session (setsid) so cleanup can kill QEMU's whole process group;
    # timeout -s KILL as the last line of defence should this script die.
    setsid timeout -s KILL "$((VM_TIMEOUT + 30))" "${cmd[@]}" < /dev/null > "$log" 2> "$RUN/qemu.err" &
    QEMU_PID=$!
    lab_log "booting Xen + dom0 ($LAB_ARCH${ARCH_VARIANT:+ $ARCH_VARIANT}, guests: ${LAB_GUESTS:-none}, limit ${VM_TIMEOUT}s)"
    tail -s 0.2 -n +1 -f --pid="$QEMU_PID" "$log" | lab_console_passthrough &
    TAIL_PID=$!
    watch_vm "$log"
    wait "$TAIL_PID" 2>/dev/null || true
    TAIL_PID=
    VM_SECONDS=$((SECONDS - t0))
}

show_tail() {
    lab_log "$1; last 40 console lines:"
    lab_console_text "$RUN/console.log" | tail -n 40 >&2
    [ -s "$RUN/qemu.err" ] && { lab_log "qemu stderr:"; tail -n 10 "$RUN/qemu.err" >&2; }
    return 0
}

# Maps what the console says to the exit status of lab.sh.
result() {
    local log=$RUN/console.log exit_rc fail
    fail=$(lab_console_marker "$log" XFM-LAB-FAIL)
    exit_rc=$(lab_console_marker "$log" XFM-LAB-EXIT)
    if [ -n "$fail" ]; then
        show_tail "dom0 setup failed: $fail"
        return "$LAB_RC_SETUP"
    elif [ -n "$(lab_console_marker "$log" XFM-LAB-TIMEOUT)" ]; then
        show_tail "payload command timed out after ${LAB_TIMEOUT}s"
        return "$LAB_RC_TIMEOUT"
    elif [[ $exit_rc =~ ^[0-9]+$ ]]; then
        return "$exit_rc"
    elif [ "$VM_END" = timeout ]; then
        show_tail "VM hung: no result within ${VM_TIMEOUT}s"
        return "$LAB_RC_TIMEOUT"
    fi
    show_tail "VM crashed or stopped without a result"
    return "$LAB_RC_CRASH"
}

finish() {
    local rc=0 out=${LAB_OUT:-$RUN/out}
    result || rc=$?
    if ! lab_extract_exports "$RUN/console.log" "$out" "$RUN/export.img" && [ "$rc" = 0 ]; then
        rc=$LAB_RC_SETUP
    fi
    [ -n "$LAB_OUT" ] && cp "$RUN"/console*.log "$LAB_OUT/"
    lab_log "done: exit $rc, VM ${VM_SECONDS}s, total ${SECONDS}s"
    return "$rc"
}

# True when the VM failed before the payload started: nothing the payload
# did can have caused it, so another boot is safe.
failed_before_payload() {
    [ "$1" -ge "$LAB_RC_CRASH" ] && [ "$1" -le "$LAB_RC_SETUP" ] &&
        ! grep -q '^XFM-LAB-PAYLOAD-BEGIN' "$RUN/console.log"
}

main() {
    parse_args "$@"
    load_arch
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    ensure_host
    prepare
    local rc attempt=1
    while :; do
        rc=0
        run_vm
        result > /dev/null 2>&1 || rc=$?
        if [ "$attempt" -le "$LAB_RETRIES" ] && failed_before_payload "$rc"; then
            mv "$RUN/console.log" "$RUN/console.failed-$attempt.log"
            lab_log "VM failed before the payload started (exit $rc); booting again" \
                "(retry $attempt of $LAB_RETRIES, log kept as console.failed-$attempt.log)"
            attempt=$((attempt + 1))
            continue
        fi
        break
    done
    rc=0
    finish || rc=$?
    exit "$rc"
}

main "$@"
