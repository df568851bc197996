#!/bin/bash
# lab/arm64/cross-build.sh -- cross-build xfm for arm64 with meson, against the arm64
# libraries of the lab's staging tree (Debian's arm64 .debs unpacked with dpkg-deb -x,
# never installed on the host).
#
# usage: lab/arm64/cross-build.sh BUILD_DIR [meson setup options...]
#   Stages the tree if needed ($XFM_LAB_DIR/arm64-stage, as lab.sh --arch arm64 does),
#   writes BUILD_DIR.ini, a second meson cross file layered on cross/aarch64-linux-gnu.txt:
#     [binaries]   pkgconfig = the host's pkg-config, confined to the staging tree by
#     [properties] sys_root = <stage>/root, pkg_config_libdir = <stage>/root/usr/lib/
#                  aarch64-linux-gnu/pkgconfig (meson sets PKG_CONFIG_SYSROOT_DIR and
#                  PKG_CONFIG_LIBDIR from them: -I/-L point into the staging tree)
#     c_link_args  -Wl,-rpath-link into the staging tree (libxenstore needs libxentoolcore)
#   then meson setup (once) and ninja: libxfm, the drop-in libxenforeignmemory.so.1
#   (against arm64 libxentoollog/libxentoolcore), the xfm CLI (arm64 json-c, xenstore),
#   tests/xen/test-xen-live and the rest of the tree.
# Exit: 0 built, 77 the arm64 pieces cannot be had here, else the failing step's status.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ $# -ge 1 ] || { sed -n '4,16p' "${BASH_SOURCE[0]}" >&2; exit 2; }
build=$1
shift

# shellcheck source=../lib/arm64.sh
. "$repo/lab/lib/arm64.sh"
arch_setup || { echo "cross-build: cannot stage the arm64 packages" >&2; exit 77; }
for tool in meson ninja pkg-config; do
    command -v "$tool" > /dev/null || { echo "cross-build: $tool is needed" >&2; exit 77; }
done

mkdir -p "$build"
build=$(cd "$build" && pwd)
root=$LAB_SYSROOT
libdir=$root/usr/lib/$ARM64_TRIPLET
cat > "$build.ini.tmp" <<EOF
# Written by lab/arm64/cross-build.sh: the arm64 staging tree as the sysroot of
# pkg-config lookups. Layered on cross/aarch64-linux-gnu.txt.
[binaries]
pkgconfig = 'pkg-config'

[properties]
sys_root = '$root'
pkg_config_libdir = '$libdir/pkgconfig'

[built-in options]
c_link_args = ['-Wl,-rpath-link=$libdir']
EOF
if ! cmp -s "$build.ini.tmp" "$build.ini" 2>/dev/null; then
    mv -f "$build.ini.tmp" "$build.ini"
else
    rm -f "$build.ini.tmp"
fi

# No Python extension: it would need the arm64 Python headers.
if [ ! -f "$build/build.ninja" ]; then
    timeout 600 meson setup "$build" "$repo" --cross-file "$repo/cross/aarch64-linux-gnu.txt" \
        --cross-file "$build.ini" -Dpython=disabled "$@"
elif [ "$(meson introspect --buildoptions "$build" 2>/dev/null |
        python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "python"][0])' 2>/dev/null)" != disabled ]; then
    meson configure "$build" -Dpython=disabled > /dev/null
fi
timeout 1200 ninja -C "$build"
