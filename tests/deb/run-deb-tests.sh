#!/usr/bin/env bash
# The Debian packages (debian/, docs/packages.md): build, check, install.
#
# usage: tests/deb/run-deb-tests.sh [--no-cross]
#   1. dpkg-buildpackage -us -uc -b (nocheck, -j2) of this tree: build-deb/<arch>/
#      (a symbol gone from a symbols file fails it; new ones are listed)
#   2. the drop-in's symbols file = Debian's libxenforeignmemory.so.1, name@VERS_1.x
#   3. lintian: no error, and no warning that docs/packages.md does not list
#   4. in a fresh Debian 12 root (mmdebstrap, cached in $XFM_LAB_DIR/deb): the
#      packages install with apt, xfm --help, xfm info/read on a raw file, a
#      program run through xfm-run loads our drop-in while the same program
#      run plainly loads Debian's, Debian's library untouched; then purge, and
#      the root's file list equals the one before install
#   5. arm64 packages cross-built (dpkg-buildpackage -a arm64 -Pcross,nocheck,nopython)
#      in a cached build root: build-deb/arm64/, the same files as the native ones
# Prints TAP; exit 0 all passed, 1 a test failed, 77 cannot run here (why on stderr).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cross=1
[ "${1-}" = --no-cross ] && cross=0
# ok, not_ok, skip, tap_done: tests/lib/tap.sh.
. "$top/tests/lib/tap.sh"
show() { sed 's/^/#   /' "$@" | tail -n 30; }
finish() {
	tap_done
	exit
}

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (chroot, apt)"; exit 77; }
arch=$(dpkg --print-architecture)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
out=$top/build-deb/$arch
work=$(mktemp -d "${TMPDIR:-/tmp}/xfm-deb-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$top/scripts/deps.sh" deb >&2

# ---- 1. build
t=$SECONDS
if "$top/scripts/build-debs.sh" --out "$out" \
	>"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b: $(find "$out" -name '*.deb' | wc -l) packages in build-deb/$arch ($((SECONDS - t)) s)"
else
	not_ok "dpkg-buildpackage -us -uc -b (see build-deb/$arch/build.log)"
	show "$work/build.log"
	finish
fi
for d in "$out"/*.deb; do
	echo "# $(basename "$d") $(stat -c %s "$d") bytes, Installed-Size $(dpkg-deb -f "$d" Installed-Size) KiB"
done

# codecs DEB: how many of the four kdump codecs (zlib, lzo, snappy, zstd)
# DEB's libxfm was built with: each is dlopen'ed, so it shows only as the
# names libxfm asks dlsym for, compiled in where its header was found.
codecs() {
	dpkg-deb --fsys-tarfile "$1" | tar -xOf - --wildcards '*/libxfm.so.0.*' | strings |
		grep -c -x -e deflateInit_ -e lzo1x_1_compress -e snappy_compress -e ZSTD_compressCCtx
}
n_=$(codecs "$(ls "$out/libxfm0_"*"_$arch.deb")")
if [ "$n_" = 4 ]; then
	ok "libxfm0 is built with all four kdump codecs (zlib, lzo, snappy, zstd: Build-Depends has their headers)"
else
	not_ok "libxfm0 is built with $n_ of the four kdump codecs (debian/control's Build-Depends)"
fi

mver=$(sed -n "s/^  version : '\(.*\)',\$/\1/p" "$top/meson.build" | head -n 1)
dver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
if [ "$mver" = "$dver" ]; then
	ok "debian/changelog's version $dver is meson's project version"
else
	not_ok "debian/changelog's version '$dver' differs from meson's project version '$mver'"
fi

# Symbols the libraries export that debian/*.symbols does not list yet:
# dpkg-gensymbols gave them this version (right for a new symbol); listed
# so that they get recorded in debian/.
for p in libxfm0 xfm-xenforeignmemory; do
	dpkg-deb --ctrl-tarfile "$(ls "$out/${p}_"*"_$arch.deb")" | tar -xOf - ./symbols |
		sed -n 's/^ \([^ ]*\) .*/\1/p' | sort >"$work/built.$p"
	sed -n 's/^ \([^ ]*\) .*/\1/p' "$top/debian/$p.symbols" | sort >"$work/listed.$p"
	new=$(comm -23 "$work/built.$p" "$work/listed.$p" | paste -sd' ' -)
	[ -z "$new" ] || echo "# $p: symbols not yet in debian/$p.symbols (scripts/deb-symbols.py adds them): $new"
done

# ---- 2. the drop-in's symbols file against Debian's library
deb_lib=/usr/lib/$triplet/libxenforeignmemory.so.1
if [ -e "$deb_lib" ]; then
	mkdir -p "$work/empty"
	dpkg-gensymbols -q -pxfm-xenforeignmemory -P"$work/empty" -e"$deb_lib" \
		-v0 -O"$work/debian.symbols" >/dev/null 2>&1 || true
	sed -n 's/^ \([^ ]*\) .*/\1/p' "$work/debian.symbols" | sort >"$work/want"
	sed -n 's/^ \([^ ]*\) .*/\1/p' "$top/debian/xfm-xenforeignmemory.symbols" | sort >"$work/have"
	if [ -s "$work/want" ] && diff -u "$work/want" "$work/have" >"$work/diff"; then
		ok "debian/xfm-xenforeignmemory.symbols: the $(wc -l <"$work/have") name@version pairs of Debian's $deb_lib"
	else
		not_ok "debian/xfm-xenforeignmemory.symbols differs from Debian's $deb_lib"
		show "$work/diff"
	fi
else
	skip "the drop-in's symbols file vs Debian's" "Debian's $deb_lib is not installed"
fi

# ---- 3. lintian
lint() {
	lintian --no-cfg --display-info "$1" >"$work/lintian" 2>&1 || true
	sed 's/^/# lintian: /' "$work/lintian"
	# Every "W: package: tag" must be listed in docs/packages.md's table.
	local e w unlisted=()
	e=$(grep -c '^E: ' "$work/lintian" || true)
	w=$(grep -c '^W: ' "$work/lintian" || true)
	while read -r tag; do
		grep -q "| \`$tag\`" "$top/docs/packages.md" || unlisted+=("$tag")
	done < <(sed -n 's/^W: [^ ]* \([^ ]*\).*/\1/p' "$work/lintian" | sort -u)
	if [ "$e" = 0 ] && [ ${#unlisted[@]} -eq 0 ]; then
		ok "lintian $(basename "$1"): 0 errors, $w warnings (all justified in docs/packages.md)"
	else
		not_ok "lintian $(basename "$1"): $e errors, warnings not in docs/packages.md: ${unlisted[*]:-none}"
	fi
}
lint "$out/xfm_"*"_$arch.changes"

# ---- 4. install, use, purge in a fresh Debian 12 root
pkgs=(libxfm0 libxfm-dev xfm xfm-xenforeignmemory python3-xfm)
debs=()
for p in "${pkgs[@]}"; do
	debs+=("$(ls "$out/${p}_"*"_$arch.deb")")
done
# Debian's packages ours depend on or recommend (and Debian's
# libxenforeignmemory1, to compare with) are in the cached base, so apt
# needs no network here.
mapfile -t deps < <(for d in "${debs[@]}"; do dpkg-deb -f "$d" Depends; dpkg-deb -f "$d" Recommends; done |
	tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:](].*//' |
	grep -v -e '^$' -e '^libxfm0$' -e '^xfm' | sort -u)
root=$work/root
if ! "$top/scripts/deb-root.sh" test "$root" "${deps[@]}" libxenforeignmemory1 >"$work/root.log" 2>&1; then
	rc=$?
	if [ "$rc" = 77 ]; then skip "lintian and install in a Debian 12 root" "no Debian 12 root: $(tail -n 1 "$work/root.log")"; else
		not_ok "making the Debian 12 root (exit $rc)"; show "$work/root.log"; fi
	finish
fi
inroot() { "$top/scripts/deb-root.sh" run "$root" "$@"; }
mkdir -p "$root/tmp/debs"
cp "${debs[@]}" "$root/tmp/debs/"
gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$root/tmp/which-fm" "$top/tests/deb/which-fm.c" \
	-lxenforeignmemory
# A 64 KiB raw "dump": byte i of frame f is (f * 16 + i) & 0xff.
python3 -c 'import sys; sys.stdout.buffer.write(bytes((f * 16 + i) & 0xff for f in range(16) for i in range(4096)))' \
	>"$root/tmp/guest.raw"
snapshot() {
	inroot sh -c 'find / -xdev \( -path /proc -o -path /dev -o -path /tmp \) -prune -o -print' |
		grep -v -E '^/var/(log/(apt|dpkg\.log|alternatives\.log)|cache/(apt|ldconfig)|lib/apt/|lib/dpkg/(status-old|available|triggers/|lock|info/format))' |
		sort >"$1"
	# shellcheck disable=SC2016
	inroot sh -c 'dpkg-query -W -f="\${Package} \${Status}\n"' | sort >"$1.dpkg"
}
snapshot "$work/before"
(cd "$root/usr/lib/$triplet" && sha256sum libxenforeignmemory.so.1*) >"$work/debian-lib.sum"
echo "# transcript: apt-get install /tmp/debs/*.deb in a fresh Debian 12 root"
if inroot sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Use-Pty=0 /tmp/debs/*.deb' \
	>"$work/install" 2>&1; then
	grep -E '^(Setting up|Unpacking|Processing)' "$work/install" | sed 's/^/#   /'
	ok "apt-get install of ${pkgs[*]}"
else
	not_ok "apt-get install of the packages"
	show "$work/install"
	finish
fi
# check DESC EXPECTED CMD...: CMD's stdout equals EXPECTED
check() {
	local d=$1 want=$2 got
	shift 2
	got=$(inroot "$@" 2>"$work/err") || true
	if [ "$got" = "$want" ]; then ok "$d"; else
		not_ok "$d"
		printf 'want: %s\ngot:  %s\n' "$want" "$got" | show
		show "$work/err"
	fi
}
check "xfm --help in the root (first line)" "Usage: xfm [--json] [-q] COMMAND [OPTIONS] SOURCE [ARGS]" \
	sh -c 'xfm --help | head -n 1'
check "xfm info on a 64 KiB raw file: raw, 65536 bytes" \
	"$(printf 'format           raw\ntotal            65536 (64 KiB)')" \
	sh -c 'xfm info /tmp/guest.raw | grep -E "^(format|total) "'
# 0x3ffe: frame 3, byte 0xffe -> (48 + 0xffe) & 0xff = 0x2e; 0x4000: frame 4 -> 0x40.
check "xfm read --raw 0x3ffe 4 on it: the bytes 2e 2f 40 41 (across frames 3 and 4)" "2e2f4041" \
	sh -c 'xfm read --raw /tmp/guest.raw 0x3ffe 4 | od -An -tx1 | tr -d " \n"'
check "python3-xfm: import xfm, the same 4 bytes and the size through the bindings" "2e2f4041 65536" \
	python3 -c 'import xfm; s = xfm.open("/tmp/guest.raw"); print(s.read(0x3ffe, 4).hex(), s.size())'
check "xfm-run: the program loads our drop-in" \
	"library /usr/lib/$triplet/xfm/libxenforeignmemory.so.1" \
	sh -c 'xfm-run /tmp/which-fm | head -n 1'
# shellcheck disable=SC2016
check "without xfm-run the same program loads Debian's library (package libxenforeignmemory1)" \
	"libxenforeignmemory1:$arch: /usr/lib/$triplet/libxenforeignmemory.so.1.4" \
	sh -c 'f=$(readlink -f "$(/tmp/which-fm | sed -n "s/^library //p")"); dpkg -S "$f"'
check "both libraries fail the same way without /dev/xen/privcmd" \
	"open failed: No such file or directory
open failed: No such file or directory" \
	sh -c '/tmp/which-fm | tail -n 1; xfm-run /tmp/which-fm | tail -n 1'
if (cd "$root/usr/lib/$triplet" && sha256sum -c --quiet "$work/debian-lib.sum") >/dev/null 2>&1 &&
	inroot dpkg --verify libxenforeignmemory1 >"$work/verify" 2>&1; then
	ok "Debian's libxenforeignmemory1 untouched (dpkg --verify, same bytes)"
else
	not_ok "Debian's libxenforeignmemory1 changed"; show "$work/verify"
fi
echo "# transcript: apt-get purge"
if inroot env DEBIAN_FRONTEND=noninteractive apt-get purge -y -o Dpkg::Use-Pty=0 "${pkgs[@]}" \
	>"$work/purge" 2>&1; then
	grep -E '^(Removing|Purging|Processing)' "$work/purge" | sed 's/^/#   /'
	ok "apt-get purge of the ${#pkgs[@]} packages"
else
	not_ok "apt-get purge"; show "$work/purge"
fi
snapshot "$work/after"
if diff -u "$work/before" "$work/after" >"$work/files.diff" &&
	diff -u "$work/before.dpkg" "$work/after.dpkg" >>"$work/files.diff"; then
	ok "after purge the root's $(wc -l <"$work/after") files and its package states equal those before install"
else
	not_ok "purge left files or package states behind"; show "$work/files.diff"
fi

# ---- 5. arm64, cross-built
if [ "$cross" = 1 ] && [ "$arch" = amd64 ]; then
	t=$SECONDS
	rc=0
	"$top/scripts/build-debs.sh" --arch arm64 --out "$top/build-deb/arm64" \
		>"$work/cross.log" 2>&1 || rc=$?
	if [ "$rc" = 77 ]; then
		skip "arm64 packages" "the arm64 cross build cannot run: $(tail -n 1 "$work/cross.log")"
	elif [ "$rc" != 0 ]; then
		not_ok "arm64 cross build (exit $rc)"; show "$work/cross.log"
	else
		ok "dpkg-buildpackage -a arm64 -Pcross,nocheck,nopython: $(find "$top/build-deb/arm64" -name '*.deb' | wc -l) packages ($((SECONDS - t)) s)"
		for d in "$top/build-deb/arm64/"*.deb; do
			echo "# $(basename "$d") $(stat -c %s "$d") bytes, Installed-Size $(dpkg-deb -f "$d" Installed-Size) KiB"
		done
		list() { dpkg-deb -c "$1" | awk '{ print $6 }' | sed "s/$2/TRIPLET/" | sort; }
		bad=''
		for p in libxfm0 libxfm-dev xfm xfm-xenforeignmemory; do
			a=$(ls "$top/build-deb/arm64/${p}_"*_arm64.deb)
			n_=$(ls "$out/${p}_"*"_$arch.deb")
			[ "$(list "$a" aarch64-linux-gnu)" = "$(list "$n_" "$triplet")" ] || bad="$bad $p(files)"
			[ "$(dpkg-deb -f "$a" Architecture)" = arm64 ] || bad="$bad $p(arch)"
			# The same libraries: no optional dependency left out of the cross build.
			[ "$(dpkg-deb -f "$a" Depends | sed 's/ ([^)]*)//g')" = \
				"$(dpkg-deb -f "$n_" Depends | sed 's/ ([^)]*)//g')" ] || bad="$bad $p(depends)"
			[ "$(dpkg-deb -f "$a" Recommends)" = "$(dpkg-deb -f "$n_" Recommends)" ] ||
				bad="$bad $p(recommends)"
		done
		# The kdump codecs are dlopen'ed, so no Depends shows them:
		# each is built in only where its header was found.
		n_=$(codecs "$(ls "$top/build-deb/arm64/libxfm0_"*_arm64.deb)")
		[ "$n_" = 4 ] || bad="$bad libxfm0(codecs: $n_ of 4 built in)"
		dpkg-deb -x "$(ls "$top/build-deb/arm64/xfm-xenforeignmemory_"*_arm64.deb)" "$work/arm"
		file -L "$work/arm/usr/lib/aarch64-linux-gnu/xfm/libxenforeignmemory.so.1" | grep -q 'ARM aarch64' ||
			bad="$bad drop-in(not aarch64)"
		if [ -z "$bad" ]; then
			ok "arm64 packages hold the same files and depend on the same packages as the $arch ones, aarch64 ELF"
		else
			not_ok "arm64 packages:$bad"
		fi
		lint "$top/build-deb/arm64/xfm_"*_arm64.changes
	fi
fi
finish
