#!/usr/bin/env bash
# The main job, shown: build xfm, then map, search, read and dump a live
# Xen guest with the xfm CLI.  On a real dom0 it works on the host's
# guests; elsewhere it boots the project's Xen lab (real Xen 4.17 and a
# Debian dom0 under QEMU) with a guest holding a known marker page.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh demo
[ -d build-demo ] || meson setup build-demo -Dbuildtype=release >/dev/null
ninja -C build-demo >/dev/null

if [ -c /dev/xen/privcmd ]; then
	echo "demo: this is a Xen dom0: using its own guests"
	XFM=$PWD/build-demo/tools/xfm/xfm exec sh scripts/demo-guest.sh "$@"
fi

echo "demo: no Xen here: booting the lab (Xen 4.17 + dom0 + a PVH guest" \
     "under QEMU, about a minute)"
payload=$(mktemp -d /tmp/xfm-demo.XXXXXX)
trap 'rm -rf "$payload"' EXIT
mkdir -p "$payload/bin" "$payload/lib"
cp build-demo/tools/xfm/xfm "$payload/bin/"
cp -L build-demo/src/libxfm.so.0 "$payload/lib/"
cp scripts/demo-guest.sh "$payload/"
lab/lab.sh --guests pvh --payload "$payload" --timeout 600 \
	--run 'LD_LIBRARY_PATH=/payload/lib sh ./demo-guest.sh'
