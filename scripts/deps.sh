#!/usr/bin/env bash
# Install the Debian 12 packages a task needs, only those missing.
#   scripts/deps.sh build|test|deb|demo|bench
set -euo pipefail

build=(gcc meson ninja-build pkg-config libxen-dev libcmocka-dev
       libjson-c-dev python3 python3-dev libfuse3-dev
       zlib1g-dev liblzo2-dev libsnappy-dev libzstd-dev)
lab=(qemu-system-x86 xen-hypervisor-4.17-amd64 xen-utils-4.17
     linux-image-amd64 busybox-static cpio kmod)
# g++: the C++ header checks; bsdextrautils: hexdump (the CLI's hexdump
# is compared with it); xen-utils-4.17 (above): Xen's readnotes.
# qemu-system-arm, gcc-aarch64-linux-gnu: the vm-agree stage's arm64
# guests and their init (tests/vm/).
tests=(qemu-system-x86 qemu-system-arm gcc-aarch64-linux-gnu qemu-utils gdb
       binutils python3-pytest python3-mesonpy
       python3-pip patchelf g++ bsdextrautils fuse3 crash python3-drgn
       makedumpfile)
# Debian packages of xfm (tests/deb): build, check, a Debian 12 root to install in.
deb=(debhelper dpkg-dev dh-python lintian mmdebstrap file)

case "${1:-build}" in
build) want=("${build[@]}") ;;
test) want=("${build[@]}" "${lab[@]}" "${tests[@]}" "${deb[@]}") ;;
deb) want=("${build[@]}" "${deb[@]}") ;;
demo | bench) want=("${build[@]}" "${lab[@]}") ;;
*) echo "usage: $0 build|test|deb|demo|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "xfm: missing packages: ${missing[*]} (run as root to install)" >&2
	exit 1
fi
echo "xfm: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
