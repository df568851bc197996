#!/usr/bin/env bash
# Build xfm's Debian packages from this tree (debian/, docs/packages.md).
#
# usage: scripts/build-debs.sh [--arch amd64|arm64] [--out DIR] [--check]
#   --arch   the host architecture of the packages (default: this machine's).
#            Another architecture is cross-built (dpkg-buildpackage -a ARCH
#            -Pcross,nocheck,nopython) inside a Debian 12 build root cached as a
#            tarball in $XFM_LAB_DIR/deb (default /var/tmp/xfm-lab/deb):
#            libxen-dev is not Multi-Arch: same, so libxen-dev:arm64 cannot
#            be installed on the host beside the native one.
#   --out    where the .deb and .changes files go (default build-deb/ARCH)
#   --check  run the test suite during the build (native only; default nocheck:
#            scripts/test.sh runs the tests on its own builds)
# The tree (tracked and untracked-but-not-ignored files) is copied to a
# temporary directory and built there, so nothing is written beside it.
# When DIR already holds packages built from the same files, they are kept.
# Exit: 0 built (or up to date), 2 usage, 77 cannot build here (why on
# stderr), other: the failing step's status.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
arch='' out='' check=0
while [ $# -gt 0 ]; do
	case $1 in
	--arch) arch=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--check) check=1; shift ;;
	-h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--arch ARCH] [--out DIR] [--check]" >&2; exit 2 ;;
	esac
done
native=$(dpkg --print-architecture)
arch=${arch:-$native}
out=${out:-$top/build-deb/$arch}

log() { printf 'build-debs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit "${2:-1}"; }

# The files the packages are built from, NUL-separated, sorted.
source_files() {
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$top" ls-files -z --cached --others --exclude-standard |
			sort -z | while IFS= read -r -d '' f; do
				[ -e "$top/$f" ] && printf '%s\0' "$f"
			done
	else
		(cd "$top" && find . -path './build*' -prune -o -path './.git' -prune \
			-o -type f -printf '%P\0' | sort -z)
	fi
}

# An id of the files' names, modes and contents (and of the build options).
source_id() {
	{
		echo "arch=$arch check=$check"
		(cd "$top" && source_files | xargs -0 sha256sum --)
	} | sha256sum | cut -d' ' -f1
}

version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
id=$(source_id)
if [ -f "$out/source.id" ] && [ "$(cat "$out/source.id")" = "$id" ] &&
	ls "$out"/*.deb >/dev/null 2>&1; then
	log "$out: packages of this tree are up to date"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/xfm-debs.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/xfm-$version
mkdir -p "$src"
(cd "$top" && source_files | tar --null -T - -cf -) | tar -C "$src" -xf -

jobs=-j2
if [ "$arch" = "$native" ]; then
	if [ "$check" = 1 ]; then
		export DEB_BUILD_OPTIONS="parallel=2"
		profiles=()
	else
		export DEB_BUILD_OPTIONS="nocheck parallel=2"
		profiles=(-Pnocheck)
	fi
	log "building $arch packages of xfm $version in $src"
	(cd "$src" && dpkg-buildpackage -us -uc -b "$jobs" "${profiles[@]}") \
		>"$work/build.log" 2>&1 || {
		rc=$?
		tail -n 40 "$work/build.log" >&2
		die "dpkg-buildpackage failed (exit $rc)" "$rc"
	}
else
	"$top/scripts/deb-root.sh" cross "$arch" "$work/root" ||
		exit $?
	log "cross-building $arch packages of xfm $version"
	mkdir -p "$work/root/build"
	mv "$src" "$work/root/build/"
	"$top/scripts/deb-root.sh" run "$work/root" sh -c \
		"cd /build/xfm-$version && DEB_BUILD_OPTIONS='nocheck parallel=2' \
		dpkg-buildpackage -us -uc -b -a$arch -Pcross,nocheck,nopython $jobs" \
		>"$work/build.log" 2>&1 || {
		rc=$?
		tail -n 40 "$work/build.log" >&2
		die "cross dpkg-buildpackage failed (exit $rc)" "$rc"
	}
	work_out=$work/root/build
	mv "$work_out"/*.deb "$work_out"/*.changes "$work_out"/*.buildinfo "$work/"
fi

mkdir -p "$out"
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo "$out/source.id"
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out/"
cp "$work/build.log" "$out/build.log"
echo "$id" >"$out/source.id"
log "$out: $(cd "$out" && echo ./*.deb)"
