#!/bin/bash
# Runs lab tests in a real Xen 4.17 dom0 under QEMU (see lab/README.md).
#
# usage: tests/lab/run-lab-tests.sh [--build DIR] [TEST_PROGRAM...]
#   Always runs the lab smoke checks (payload/run-tests.sh). Each
#   TEST_PROGRAM, and every executable in DIR/tests/lab/ when --build is
#   given, is copied to /payload/tests and run in dom0 (exit 0 = pass,
#   77 = skip, else fail). Shared libraries (*.so*) found in DIR go to
#   /payload/lib; LD_LIBRARY_PATH is not set for the programs.
# Environment: XFM_LAB_TIMEOUT (default 300), XFM_LAB_GUESTS (default
#   "pvh pv"), XFM_LAB_OUT (keep console.log and exports there).
# Exit: 0 all passed, 1 a test failed, 77 the lab cannot run here, other
#   non-zero = lab failure (lab.sh's codes: 123 crash, 124 timeout, 125 setup).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

main() {
    local build='' arg
    local -a programs=()
    while [ $# -gt 0 ]; do
        arg=$1
        shift
        case $arg in
            --build) build=$1; shift ;;
            -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
            *) programs+=("$arg") ;;
        esac
    done
    if [ "$(id -u)" != 0 ] && ! command -v qemu-system-x86_64 > /dev/null; then
        echo "SKIP: not root and qemu-system-x86_64 is missing" >&2
        exit 77
    fi

    WORK=$(mktemp -d "${TMPDIR:-/tmp}/xfm-lab-tests.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    assemble "$build" "${programs[@]}"

    local out=${XFM_LAB_OUT:-$WORK/out} rc=0
    mkdir -p "$out"
    "$ROOT/lab/lab.sh" --payload "$WORK/payload" --run 'sh ./run-tests.sh' \
        --guests "${XFM_LAB_GUESTS-pvh pv}" --timeout "${XFM_LAB_TIMEOUT:-300}" \
        --out "$out" || rc=$?
    if [ "$rc" = 77 ]; then
        echo "SKIP: the lab cannot run on this machine (see above)" >&2
        exit 77
    fi
    # The smoke payload exported /run/xfm-guests: check it came out intact.
    if [ "$rc" = 0 ] && ! grep -q '^XFM_GUESTS=' "$out/xfm-guests" 2>/dev/null; then
        echo "not ok - host did not receive the exported /run/xfm-guests" >&2
        rc=1
    fi
    exit "$rc"
}

# Payload layout: /payload/run-tests.sh, /payload/tests/*, /payload/lib/*.
assemble() {
    local build=$1 f
    shift
    mkdir -p "$WORK/payload/tests" "$WORK/payload/lib"
    cp "$HERE/payload/run-tests.sh" "$WORK/payload/"
    for f in "$@"; do cp "$f" "$WORK/payload/tests/"; done
    [ -n "$build" ] || return 0
    [ -d "$build" ] || { echo "no such build directory: $build" >&2; exit 2; }
    if [ -d "$build/tests/lab" ]; then
        find "$build/tests/lab" -maxdepth 1 -type f -perm -u+x -exec cp {} "$WORK/payload/tests/" \;
    fi
    find "$build" -maxdepth 3 -type f -name '*.so*' -exec cp {} "$WORK/payload/lib/" \;
}

main "$@"
