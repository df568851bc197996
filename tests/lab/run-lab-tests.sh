#!/bin/bash
# Runs the lab suite on real Xen 4.17 under QEMU (see lab/README.md): one
# harness for both architectures.  x86_64: one boot with a PVH and a PV
# guest.  arm64: one boot per dom0 kernel page size (4k, 16k) with the "arm"
# guest.  In each dom0, tests/lab/payload/run-tests.sh runs the smoke checks
# and then the programs registered below, in order.
#
# REGISTERING A PAYLOAD PROGRAM: add one line to LAB_PROGRAMS:
#     ARCHES  WHERE:PATH  [ARGS...]
#   ARCHES  x86, arm, arm16k (the 16 KiB dom0 boot only) or both
#   WHERE   build: a program of the meson build (tests/xen/<area>/meson.build
#           builds it; the x86 lab takes it from the host build, the arm64
#           lab from the cross build), or tree: a script of this tree
#   ARGS    words passed to it in dom0 (may use $XFM_GUEST_* etc. only
#           inside the program itself)
# The program runs in dom0 with /payload/bin on PATH (the xfm CLI,
# dropin-compare and every registered program are there), our libraries in
# /payload/lib (libxfm.so.0, libxenforeignmemory.so.1: set LD_LIBRARY_PATH
# to use ours), the guests' facts as XFM_GUEST_* (lab/README.md) and
# XFM_LAB_PAGE (4k or 16k).  It prints TAP; exit 0 pass, 77 skip (say why
# in a "1..0 # SKIP why" line), else fail.
LAB_PROGRAMS='
both  build:tests/xen/test-xen-live
x86   tree:tests/xen/vm/test-vm-xen.sh
arm16k tree:tests/xen/vm/test-vm-xen.sh
x86   tree:tests/xen/test-dropin.sh
x86   tree:tests/xen/test-badinput-xen.sh
x86   build:tests/xen/py/test-mount-xen
arm   tree:tests/xen/arm/run-arm.sh
x86   build:tests/xen/test-xen-faults
arm16k build:tests/xen/test-xen-faults --only dump,cli,reads,dominfo,writer,balloon,limits,restore
x86   tree:tests/xen/kdump/dump-guests.sh
arm16k tree:tests/xen/kdump/dump-guests.sh
'
# On Arm, Xen 4.17 has no save/restore (`xl save` answers "command not
# implemented"): there the faults' restore case checks exactly that, and
# that the guest and the handle carry on.
#
# usage: tests/lab/run-lab-tests.sh [--arch x86_64|arm64] [--build DIR]
#            [--pages "4k 16k"] [--only NAME...] [--soak SECONDS]
#   --arch     default x86_64
#   --build    meson build dir: x86_64 default build-ci; arm64 default
#              build-arm64, configured and built by lab/arm64/cross-build.sh
#              (the test programs).  arm64 dom0 gets xfm from its Debian
#              packages instead (scripts/build-debs.sh --arch arm64, into
#              build-deb/arm64, unpacked into the image: lab.sh --debs): the
#              payload's xfm and libraries are links to the installed files.
#   --pages    arm64 dom0 kernels to boot (default "4k 16k")
#   --only     run only these registered programs (by file name)
#   --soak S   also run the soak (tests/xen/test-xen-soak) for S seconds
#              and put its JSON in XFM_LAB_OUT (default: none in this run)
# Environment: XFM_LAB_TIMEOUT (payload limit per boot, default 1500),
#   XFM_LAB_PROGRAM_TIMEOUT (limit per program in dom0, default 900),
#   XFM_LAB_ENV ("NAME=VALUE ..." set for the programs in dom0, e.g.
#   XFM_FAULTS_ONLY="reads balloon" to run only those parts of the faults),
#   XFM_LAB_OUT (keep console.log and exports there), XFM_LAB_DIR (cache).
# Prints TAP (renumbered over all boots); exit 0 all passed, 1 a test or a
# lab run failed, 77 the lab cannot run here (the reason on stderr).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# ok, not_ok, tap_done: tests/lib/tap.sh.
. "$ROOT/tests/lib/tap.sh"
skip77() { echo "1..0 # SKIP $*"; echo "SKIP: $*" >&2; exit 77; }

main() {
    local arch=x86_64 build='' pages="4k 16k" only='' soak='' page
    while [ $# -gt 0 ]; do
        case $1 in
            --arch) arch=$2; shift 2 ;;
            --build) build=$2; shift 2 ;;
            --pages) pages=$2; shift 2 ;;
            --only) only="$only $2"; shift 2 ;;
            --soak) soak=$2; shift 2 ;;
            -h | --help) sed -n '2,/^set -euo/{/^#/p}' "${BASH_SOURCE[0]}"; exit 0 ;;
            *) echo "usage: $0 [--arch x86_64|arm64] [--build DIR] [--pages LIST] [--only NAME] [--soak SECONDS]" >&2
               exit 2 ;;
        esac
    done
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/xfm-lab-tests.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    case $arch in
        x86_64)
            if [ "$(id -u)" != 0 ] && ! command -v qemu-system-x86_64 > /dev/null; then
                skip77 "not root and qemu-system-x86_64 is missing"
            fi
            build=${build:-$ROOT/build-ci}
            [ -f "$build/build.ninja" ] || { not_ok "no meson build in $build"; finish; }
            assemble "$build" x86 "$only" "$soak"
            boot x86_64 "" "pvh pv"
            host_checks "$build" x86_64 ;;
        arm64)
            [ "$(id -u)" = 0 ] || skip77 "the arm64 lab needs root (apt-get, dpkg --add-architecture)"
            build=${build:-$ROOT/build-arm64}
            cross_build "$build"
            build_debs
            assemble "$build" arm "$only" "$soak"
            for page in $pages; do
                boot arm64 "$page" arm
                # dump-guests.sh runs on the 16 KiB boot (arm16k above)
                if [ "$page" = 16k ]; then host_checks "$ROOT/build-ci" 16k; fi
            done ;;
        *) echo "--arch: x86_64 or arm64" >&2; exit 2 ;;
    esac
    finish
}

finish() {
    tap_done && exit 0
    exit 1
}

# setup_step WHAT CMD...: a host step before the boots (30 min at most).
# Exit 77 means it cannot run here: the whole lab is skipped (skip77
# fails under CI=true in scripts/test.sh); another failure ends the run.
setup_step() {
    local what=$1 rc=0 t0=$SECONDS log
    shift
    log=$WORK/setup-${1##*/}.log
    timeout 1800 "$@" > "$log" 2>&1 || rc=$?
    if [ "$rc" = 77 ]; then
        tail -n 5 "$log" >&2
        skip77 "$what cannot be made here"
    elif [ "$rc" != 0 ]; then
        not_ok "$what (${*#"$ROOT/"}, exit $rc)" "$(tail -n 25 "$log")"
        finish
    fi
    SETUP_SECS=$((SECONDS - t0))
}

cross_build() {
    setup_step "the arm64 cross build" "$ROOT/lab/arm64/cross-build.sh" "$1"
    ok "arm64 cross build ($SETUP_SECS s)"
}

# The arm64 Debian packages (reused when built from the same tree, as the
# deb stage of scripts/test.sh does first).
DEBS=''
build_debs() {
    DEBS=$ROOT/build-deb/arm64
    setup_step "the arm64 Debian packages" \
        "$ROOT/scripts/build-debs.sh" --arch arm64 --out "$DEBS"
    ok "arm64 Debian packages for dom0: $(find "$DEBS" -maxdepth 1 -name '*.deb' ! -name '*-dbgsym_*' ! -name '*-dev_*' -printf '%f ')($SETUP_SECS s)"
}

# Payload: run-tests.sh, programs (the list), bin/ (programs, xfm,
# dropin-compare), lib/ (libxfm.so.0, libxenforeignmemory.so.1).
assemble() {
    local build=$1 arch=$2 only=$3 soak=$4 p=$WORK/payload arches where path args f
    mkdir -p "$p/bin" "$p/lib"
    cp "$HERE/payload/run-tests.sh" "$p/"
    # The one shell TAP helper; dom0's scripts source ../lib/tap.sh.
    cp "$ROOT/tests/lib/tap.sh" "$p/lib/"
    : > "$p/programs"
    while read -r arches where args; do
        [ -n "$arches" ] || continue
        [ "$arches" = both ] || [ "$arches" = "$arch" ] || [ "$arches" = "${arch}16k" ] || continue
        path=${where#*:}
        f=${path##*/}
        [ -z "$only" ] || [[ " $only " == *" $f "* ]] || continue
        case $where in
            build:*) cp "$build/$path" "$p/bin/" || { not_ok "$f is not built in $build"; continue; } ;;
            tree:*) cp "$ROOT/$path" "$p/bin/" ;;
        esac
        # A program for the 16 KiB boot only: run-tests.sh skips it on 4k.
        [ "$arches" = arm16k ] && args="--only-page 16k${args:+ $args}"
        echo "$f $args" >> "$p/programs"
    done <<< "$LAB_PROGRAMS"
    # test-mount-xen runs drgn in dom0 when /payload/drgn holds it.
    if grep -q '^test-mount-xen' "$p/programs"; then
        "$ROOT/tests/xen/py/stage-drgn.sh" "$p/drgn" > "$WORK/stage-drgn.log" 2>&1 ||
            not_ok "drgn for dom0 (tests/xen/py/stage-drgn.sh)" "$(tail -n 5 "$WORK/stage-drgn.log")"
    fi
    if [ -n "$soak" ]; then
        cp "$build/tests/xen/test-xen-soak" "$p/bin/"
        echo "test-xen-soak --seconds $soak --export soak.json" >> "$p/programs"
    fi
    # Helpers other programs call (test-dropin.sh uses test-xen-live's modes).
    cp "$build/tests/xen/test-xen-live" "$p/bin/"
    if [ -n "$DEBS" ]; then
        # Installed from the packages: the payload's names point there.
        if [ -x "$build/tests/xen/dropin-compare" ]; then
            cp "$build/tests/xen/dropin-compare" "$p/bin/"
        fi
        ln -s /usr/bin/xfm "$p/bin/xfm"
        ln -s /usr/lib/aarch64-linux-gnu/libxfm.so.0 "$p/lib/libxfm.so.0"
        ln -s /usr/lib/aarch64-linux-gnu/xfm/libxenforeignmemory.so.1 "$p/lib/libxenforeignmemory.so.1"
        return 0
    fi
    # The CLI, runnable from PATH: a wrapper gives it its libxfm.so.0.
    if [ -x "$build/tools/xfm/xfm" ]; then
        mkdir -p "$p/lib/xfm"
        cp "$build/tools/xfm/xfm" "$p/lib/xfm/"
        cp -L "$build/src/libxfm.so.0" "$p/lib/xfm/"
        printf '#!/bin/sh\nLD_LIBRARY_PATH=/payload/lib/xfm exec /payload/lib/xfm/xfm "$@"\n' > "$p/bin/xfm"
        chmod +x "$p/bin/xfm"
    fi
    [ -x "$build/tests/xen/dropin-compare" ] && cp "$build/tests/xen/dropin-compare" "$p/bin/"
    cp -L "$build/src/libxfm.so.0" "$p/lib/"
    cp -L "$build/src/compat/libxenforeignmemory.so.1" "$p/lib/"
}

# host_checks BUILD TAG: host-side checks of what a boot's programs exported
# (tests/xen/kdump/analyse-dumps.sh after dump-guests.sh: crash, drgn and
# makedumpfile on the live guests' dumps), renumbered into our TAP. The
# dumps are deleted when the checks pass (XFM_LAB_OUT is kept by CI). The
# host's xfm is BUILD's: on arm64 build-ci's (the arm64 build is a cross
# build), as scripts/test.sh builds it before the lab stages.
host_checks() {
    local build=$1 tag=$2 out rc=0 line
    grep -q '^dump-guests.sh' "$WORK/payload/programs" || return 0
    out=${XFM_LAB_OUT:+$XFM_LAB_OUT/$tag}
    out=${out:-$WORK/out-$tag}
    echo "# host: tests/xen/kdump/analyse-dumps.sh $out"
    "$ROOT/tests/xen/kdump/analyse-dumps.sh" --xfm "$build/tools/xfm/xfm" "$out" \
        > "$WORK/analyse-$tag" 2>&1 || rc=$?
    while IFS= read -r line; do
        case $line in
            "ok "*) ok "$tag: host: ${line#* - }" ;;
            "not ok "*) not_ok "$tag: host: ${line#* - }" ;;
            "1..0 # SKIP"*) skip "$tag: host: analyse-dumps.sh" "${line#1..0 # SKIP }" ;;
            "#"*) echo "$line" ;;
        esac
    done < "$WORK/analyse-$tag"
    case $rc in
        0) rm -f "$out"/*.elf "$out"/*.kdump-zstd "$out"/*.xen-core ;;
        77) ;;
        *) grep -q '^not ok' "$WORK/analyse-$tag" || not_ok "$tag: host: analyse-dumps.sh exit $rc" ;;
    esac
}

# boot ARCH PAGE GUESTS: one lab run; its TAP lines renumbered into ours.
boot() {
    local arch=$1 page=$2 guests=$3 out rc=0 t0=$SECONDS line tag
    tag=${page:-$arch}
    out=${XFM_LAB_OUT:+$XFM_LAB_OUT/$tag}
    out=${out:-$WORK/out-$tag}
    mkdir -p "$out"
    echo "# booting the $arch lab${page:+ ($page dom0)}"
    "$ROOT/lab/lab.sh" --arch "$arch" ${page:+--kernel-page "$page"} --guests "$guests" \
        --payload "$WORK/payload" ${DEBS:+--debs "$DEBS"} \
        --run "${XFM_LAB_ENV:-} XFM_LAB_PAGE=${page:-4k} XFM_LAB_PROGRAM_TIMEOUT=${XFM_LAB_PROGRAM_TIMEOUT:-900} sh ./run-tests.sh" \
        --timeout "${XFM_LAB_TIMEOUT:-1500}" --guest-timeout 300 --out "$out" \
        > "$WORK/tap-$tag" 2> "$WORK/lab-$tag.log" || rc=$?
    [ "$rc" = 77 ] && { tail -n 5 "$WORK/lab-$tag.log" >&2; skip77 "the $arch lab cannot run here"; }
    while IFS= read -r line; do
        case $line in
            "ok "*) ok "$tag: ${line#* - }" ;;
            "not ok "*) not_ok "$tag: ${line#* - }" ;;
            "#"*) echo "$line" ;;
        esac
    done < "$WORK/tap-$tag"
    # The smoke checks exported /run/xfm-guests: it must arrive intact.
    if [ "$rc" = 0 ] && ! grep -q '^XFM_GUESTS=' "$out/xfm-guests" 2>/dev/null; then
        not_ok "$tag: host did not receive the exported /run/xfm-guests"
    elif [ "$rc" = 0 ]; then
        ok "$tag: lab run and its suite passed ($((SECONDS - t0)) s, $(grep -o 'VM [0-9]*s' "$WORK/lab-$tag.log" | tail -n 1))"
    else
        not_ok "$tag: lab run exit $rc ($((SECONDS - t0)) s; 1 = a test failed, 123 crash, 124 timeout/hang, 125 setup)"
        grep -v '^lab: FACT' "$WORK/lab-$tag.log" | tail -n 30 | sed 's/^/#   /'
    fi
}

main "$@"
