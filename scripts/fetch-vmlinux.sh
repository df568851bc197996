#!/usr/bin/env bash
# Fetch the debug vmlinux of a Debian kernel once and cache it: what crash
# and drgn need to read the lab guests' dumps.
#
#   scripts/fetch-vmlinux.sh [--arch amd64|arm64] [KERNEL-RELEASE]
#
# Prints the path of the cached vmlinux on stdout (diagnostics on stderr).
# KERNEL-RELEASE defaults to the lab guests' kernel: amd64, the newest
# /boot/vmlinuz-*-amd64 with modules (as lab/lib/x86_64.sh picks it);
# arm64, the 4 KiB 6.1 kernel of the arm64 staging tree (lab/lib/arm64.sh).
#
# The package linux-image-<release>-dbg (800+ MB) is downloaded with
# `apt-get download`, only its vmlinux is extracted, and the .deb is
# deleted.  Cache: $XFM_LAB_DIR/vmlinux/<release>/vmlinux (XFM_LAB_DIR
# defaults to /var/tmp/xfm-lab, the lab's cache), shared by concurrent
# callers under a lock; a vmlinux is only put there complete (rename).
#
# Exit status: 0 ok, 1 failure (message on stderr), 2 usage.
set -euo pipefail

arch=amd64
kver=
while [ $# -gt 0 ]; do
	case $1 in
	--arch) arch=${2:-}; shift 2 ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fetch-vmlinux: unknown option $1" >&2; exit 2 ;;
	*) kver=$1; shift ;;
	esac
done
case $arch in
amd64 | arm64) ;;
*) echo "fetch-vmlinux: --arch must be amd64 or arm64" >&2; exit 2 ;;
esac

die() { echo "fetch-vmlinux: $*" >&2; exit 1; }

lab_dir=${XFM_LAB_DIR:-/var/tmp/xfm-lab}

default_kver() {
	local v env
	if [ "$arch" = amd64 ]; then
		for v in $(printf '%s\n' /boot/vmlinuz-*-amd64 |
			   sed 's|^/boot/vmlinuz-||' | sort -rV); do
			[ -d "/lib/modules/$v" ] && { echo "$v"; return 0; }
		done
		return 1
	fi
	env=$lab_dir/arm64-stage/arm64.env
	if [ -f "$env" ]; then
		sed -n 's/^ARM64_KVER_4K=//p' "$env"
		return 0
	fi
	# No staging tree yet: the kernel linux-image-arm64 points at.
	apt-cache depends --no-recommends "linux-image-arm64:arm64" 2>/dev/null |
		awk '$1 == "Depends:" { sub(/:arm64$/, "", $2);
			sub(/^linux-image-/, "", $2); print $2; exit }'
}

[ -n "$kver" ] || kver=$(default_kver) || true
[ -n "$kver" ] || die "cannot tell which kernel: give KERNEL-RELEASE"
case $kver in
*/* | *..*) die "bad kernel release '$kver'" ;;
esac

dest=$lab_dir/vmlinux/$kver
out=$dest/vmlinux
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$dest"
exec 9>"$dest/lock"
flock 9
if [ -s "$out" ]; then # another caller fetched it meanwhile
	echo "$out"
	exit 0
fi

pkg=linux-image-$kver-dbg
[ "$arch" = arm64 ] && pkg=$pkg:arm64
if [ "$arch" = arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
	echo "fetch-vmlinux: dpkg --add-architecture arm64" >&2
	dpkg --add-architecture arm64
	apt-get -q -o DPkg::Lock::Timeout=600 update >&2
fi

tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetch-vmlinux: downloading $pkg (about 800 MB, once)" >&2
if ! (cd "$tmp" && timeout 1800 apt-get -q -o APT::Sandbox::User=root \
	download "$pkg" >&2); then
	# The mirror may have moved on: refresh the lists once and retry.
	apt-get -q -o DPkg::Lock::Timeout=600 update >&2 || true
	(cd "$tmp" && timeout 1800 apt-get -q -o APT::Sandbox::User=root \
		download "$pkg" >&2) || die "apt-get download $pkg failed"
fi
deb=$(ls "$tmp"/*.deb)
member=./usr/lib/debug/boot/vmlinux-$kver
echo "fetch-vmlinux: extracting $member" >&2
dpkg-deb --fsys-tarfile "$deb" | tar -xO -f - "$member" > "$tmp/vmlinux" ||
	die "no $member in $deb"
[ "$(head -c 4 "$tmp/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] ||
	die "$member is not an ELF file"
dpkg-deb -f "$deb" Version > "$dest/version"
mv "$tmp/vmlinux" "$out"
echo "$out"
