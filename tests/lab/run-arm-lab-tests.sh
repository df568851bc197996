#!/bin/bash
# Runs the xfm integration suite on arm64 Xen 4.17 under QEMU, once with a 4 KiB
# and once with a 16 KiB dom0 kernel (one boot each; see lab/README.md, docs/arm.md).
#
# usage: tests/lab/run-arm-lab-tests.sh [--build DIR] [--pages "4k 16k"]
#   --build DIR   arm64 meson build dir (default build-arm64 at the top of the tree),
#                 configured and built by lab/arm64/cross-build.sh (incremental)
#   --pages LIST  dom0 kernels to boot (default "4k 16k")
# In each dom0 (tests/xen/arm/run-arm.sh): test-xen-live on the "arm" guest, the
# drop-in (Debian's tools and a comparison program on our libxenforeignmemory.so.1
# vs Debian's), xl dump-core vs xfm dump, and dmesg checks.
# Environment: XFM_LAB_DIR (cache, see lab/README.md), XFM_LAB_OUT (keep console
#   logs there), XFM_ARM_TIMEOUT (payload limit per boot, default 900 s).
# Prints TAP; exit 0 all passed, 1 a test or a lab run failed, 77 the lab cannot
# run here (with the reason on stderr).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=0 FAILED=0

ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
skip77() { echo "1..0 # SKIP $*"; echo "SKIP: $*" >&2; exit 77; }

main() {
    local build=$ROOT/build-arm64 pages="4k 16k" rc page
    while [ $# -gt 0 ]; do
        case $1 in
            --build) build=$2; shift 2 ;;
            --pages) pages=$2; shift 2 ;;
            -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
            *) echo "usage: $0 [--build DIR] [--pages \"4k 16k\"]" >&2; exit 2 ;;
        esac
    done
    [ "$(id -u)" = 0 ] || skip77 "the arm64 lab needs root (apt-get, dpkg --add-architecture)"
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/xfm-arm-tests.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    local t0=$SECONDS
    rc=0
    timeout 1800 "$ROOT/lab/arm64/cross-build.sh" "$build" > "$WORK/build.log" 2>&1 || rc=$?
    if [ "$rc" = 77 ]; then
        tail -n 5 "$WORK/build.log" >&2
        skip77 "the arm64 packages or tools cannot be had here"
    elif [ "$rc" != 0 ]; then
        not_ok "arm64 cross build (lab/arm64/cross-build.sh $build, exit $rc)"
        tail -n 25 "$WORK/build.log" | sed 's/^/#   /'
        finish
    fi
    ok "arm64 cross build: libxfm, libxenforeignmemory.so.1, xfm, test-xen-live ($((SECONDS - t0)) s)"
    assemble "$build"
    for page in $pages; do
        run_page "$page"
    done
    finish
}

finish() {
    echo "1..$N"
    [ "$FAILED" -eq 0 ] && exit 0
    exit 1
}

# Payload: run-arm.sh, bin/{test-xen-live,dropin-compare,xfm},
# lib/xfm/libxfm.so.0 (CLI only), lib/compat/libxenforeignmemory.so.1 (ours).
assemble() {
    local build=$1 p=$WORK/payload root
    mkdir -p "$p/bin" "$p/lib/xfm" "$p/lib/compat"
    cp "$ROOT/tests/xen/arm/run-arm.sh" "$p/"
    cp "$build/tests/xen/test-xen-live" "$p/bin/"
    [ -x "$build/tools/xfm/xfm" ] && cp "$build/tools/xfm/xfm" "$p/bin/"
    cp -L "$build/src/libxfm.so.0" "$p/lib/xfm/"
    cp -L "$build/src/compat/libxenforeignmemory.so.1" "$p/lib/compat/"
    # Linked against Debian's arm64 library from the staging tree; at run time
    # LD_LIBRARY_PATH picks ours or not.
    root=${XFM_LAB_DIR:-/var/tmp/xfm-lab}/arm64-stage/root
    aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -idirafter "$root/usr/include" \
        -o "$p/bin/dropin-compare" "$ROOT/tests/xen/arm/dropin-compare.c" \
        -L"$root/usr/lib/aarch64-linux-gnu" -Wl,-rpath-link="$root/usr/lib/aarch64-linux-gnu" \
        -lxenforeignmemory
}

# One boot: the payload's TAP lines are renumbered into ours.
run_page() {
    local page=$1 out rc=0 t0=$SECONDS line
    out=${XFM_LAB_OUT:+$XFM_LAB_OUT/$page}
    out=${out:-$WORK/out-$page}
    mkdir -p "$out"
    echo "# booting the $page dom0"
    "$ROOT/lab/lab.sh" --arch arm64 --kernel-page "$page" --guests arm \
        --payload "$WORK/payload" --run "sh ./run-arm.sh $page" \
        --timeout "${XFM_ARM_TIMEOUT:-900}" --guest-timeout 300 --out "$out" \
        > "$WORK/tap-$page" 2> "$WORK/lab-$page.log" || rc=$?
    [ "$rc" = 77 ] && { tail -n 5 "$WORK/lab-$page.log" >&2; skip77 "the arm64 lab cannot run here"; }
    while IFS= read -r line; do
        case $line in
            "ok "*) ok "${line#* - }" ;;
            "not ok "*) not_ok "${line#* - }" ;;
            "#"*) echo "$line" ;;
        esac
    done < "$WORK/tap-$page"
    if [ "$rc" = 0 ]; then
        ok "$page: lab run and its suite passed ($((SECONDS - t0)) s, $(grep -o 'VM [0-9]*s' "$WORK/lab-$page.log" | tail -n 1))"
    else
        not_ok "$page: lab run exit $rc ($((SECONDS - t0)) s; 1 = a test failed, 123 crash, 124 timeout/hang, 125 setup)"
        grep -v '^lab: FACT' "$WORK/lab-$page.log" | tail -n 30 | sed 's/^/#   /'
    fi
}

main "$@"
