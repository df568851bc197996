#!/usr/bin/env bash
# Debian 12 roots for building and testing xfm's packages, made with
# mmdebstrap from Debian's archive and cached as tarballs in
# $XFM_LAB_DIR/deb (default /var/tmp/xfm-lab/deb, shared and locked like the
# lab's images), so a run downloads nothing once the cache is warm.
#
# usage: scripts/deb-root.sh cross ARCH DIR   a build root (amd64 + ARCH) holding
#                                             debian/control's build dependencies for
#                                             dpkg-buildpackage -a ARCH -Pcross,nocheck,nopython
#        scripts/deb-root.sh test DIR PKG...  a minimal root (variant apt) with PKG...
#                                             (Debian's packages our .debs depend on)
#        scripts/deb-root.sh run DIR CMD...   run CMD chrooted in DIR, in private mount
#                                             and pid namespaces with /proc mounted
# A tarball is named by a hash of what it holds; older ones of the same kind
# are removed when a new one is made. Mirror: $XFM_DEB_MIRROR (default
# http://deb.debian.org/debian, with bookworm-updates and bookworm-security).
# Exit: 0 ok, 2 usage, 77 cannot be done here (not root, no mmdebstrap, no
# archive), else the failing step's status.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${XFM_LAB_DIR:-/var/tmp/xfm-lab}/deb
mirror=${XFM_DEB_MIRROR:-http://deb.debian.org/debian}
security=${XFM_DEB_SECURITY:-${mirror%/debian}/debian-security}

log() { printf 'deb-root: %s\n' "$*" >&2; }
usage() { sed -n '7,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

need_root() {
	[ "$(id -u)" = 0 ] || { log "needs root (chroot, mmdebstrap)"; exit 77; }
}

sources() {
	cat <<SRC
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
}

# make_tarball KIND KEY MMDEBSTRAP-ARGS...: print the cached tarball's path,
# making it first when missing.
make_tarball() {
	local kind=$1 key=$2 tar
	shift 2
	tar=$cache/bookworm-$kind-$key.tar
	mkdir -p "$cache"
	exec 9>"$cache/.lock"
	flock 9
	if [ ! -s "$tar" ]; then
		command -v mmdebstrap >/dev/null ||
			"$top/scripts/deps.sh" deb >&2 || { log "mmdebstrap missing"; exit 77; }
		sources >"$cache/.sources.$$.sources"
		log "making $tar (downloads from $mirror)"
		if ! timeout 1800 mmdebstrap --quiet --mode=root "$@" bookworm \
			"$tar.tmp.tar" "$cache/.sources.$$.sources" >&2; then
			rm -f "$tar.tmp.tar" "$cache/.sources.$$.sources"
			log "mmdebstrap failed: Debian's archive unreachable?"
			exit 77
		fi
		rm -f "$cache/.sources.$$.sources"
		mv "$tar.tmp.tar" "$tar"
		find "$cache" -maxdepth 1 -name "bookworm-$kind-*.tar" ! -name "${tar##*/}" -delete
	fi
	flock -u 9
	echo "$tar"
}

unpack() {
	local tar=$1 dir=$2
	mkdir -p "$dir"
	tar -C "$dir" -xf "$tar"
}

cmd_cross() {
	local arch=$1 dir=$2 key tar hook
	need_root
	# Named by the build dependencies (and the profiles they are read with).
	key=$( { echo "v1 $arch $mirror cross,nocheck,nopython"
		sed -n '/^Build-Depends/,/^[^ ]/p' "$top/debian/control"; } | sha256sum | cut -c1-16)
	# apt-get build-dep on debian/control, for the host architecture ARCH.
	# ($1 is the root, for mmdebstrap's hook shell.)
	# shellcheck disable=SC2016
	hook=$(printf 'mkdir -p "$1/tmp/xfm-src/debian" && cp %q %q "$1/tmp/xfm-src/debian/" && chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends build-dep --host-architecture %q -Pcross,nocheck,nopython /tmp/xfm-src && rm -rf "$1/tmp/xfm-src"' \
		"$top/debian/control" "$top/debian/changelog" "$arch")
	# No manuals, docs or translations in a build root: smaller, and man-db's
	# trigger has nothing to index.
	tar=$(make_tarball "cross-$arch" "$key" --variant=buildd \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--architectures="$(dpkg --print-architecture),$arch" \
		--include="crossbuild-essential-$arch" --customize-hook="$hook")
	unpack "$tar" "$dir"
}

cmd_test() {
	local dir=$1 key tar list
	shift
	need_root
	list=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
	key=$(echo "v1 $mirror $list" | sha256sum | cut -c1-16)
	tar=$(make_tarball test "$key" --variant=apt ${list:+--include="$list"})
	unpack "$tar" "$dir"
}

cmd_run() {
	local dir=$1
	shift
	need_root
	unshare --mount --pid --fork --mount-proc="$dir/proc" \
		chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LC_ALL=C.UTF-8 "$@"
}

[ $# -ge 1 ] || usage
case $1 in
cross) [ $# -eq 3 ] || usage; cmd_cross "$2" "$3" ;;
test) [ $# -ge 2 ] || usage; shift; cmd_test "$@" ;;
run) [ $# -ge 3 ] || usage; shift; cmd_run "$@" ;;
*) usage ;;
esac
