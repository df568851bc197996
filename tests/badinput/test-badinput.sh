#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# The bad-input table (docs/bad-input.md), CLI rows: for each bad input,
# `xfm` must print exactly one error line naming what and where, exit with
# the exact status of docs/xfm.1 (1 runtime, 2 usage, 3 cannot open the
# source, 4 address not in the source, 130 interrupted), not crash, print
# nothing on stdout, and leave no output or temporary file behind.
# TAP on stdout.  Rows that need root (tmpfs mounts, running as nobody)
# are skipped with the reason when not root.
#
# Usage: test-badinput.sh path/to/xfm
set -u

XFM=${1:?usage: test-badinput.sh XFM}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=$(command -v /usr/bin/python3 || command -v python3)
if [ -z "$PY" ]; then
	echo "1..0 # SKIP python3 is needed to craft the bad files"
	exit 77
fi

T=$(mktemp -d /tmp/xfm-badinput.XXXXXX)
O=$T/out   # every output goes here; it must stay empty
MNT=()
cleanup() {
	for m in "${MNT[@]}"; do umount "$m" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$O" "$T/bad"
chmod 755 "$T" "$T/bad"   # readable by nobody, for the permission rows
"$PY" "$HERE/craft-bad.py" "$T/bad" || { echo "Bail out! craft-bad.py"; exit 1; }
B=$T/bad
# TAP: ok, not_ok, skip, tap_done (tests/lib/tap.sh).
. "$HERE/../lib/tap.sh"

# row NAME RC SUBSTRING CMD...: run CMD, check status, the one error line
# (starts "xfm: ", contains SUBSTRING), empty stdout, nothing left in $O.
row() {
	local name=$1 want=$2 sub=$3
	shift 3
	"$@" >"$T/stdout" 2>"$T/stderr"
	local rc=$? err lines left
	err=$(cat "$T/stderr")
	lines=$(wc -l <"$T/stderr")
	left=$(ls -A "$O")
	if [ "$rc" = "$want" ] && [ "$lines" = 1 ] && [[ $err == "xfm: "* ]] &&
	   [[ $err == *"$sub"* ]] && [ ! -s "$T/stdout" ] && [ -z "$left" ]; then
		ok "$name: exit $want, '$sub'"
	else
		not_ok "$name" "rc $rc (want $want), $lines stderr lines" \
			"stderr: $err" "want substring: $sub" \
			"stdout: $(head -c 200 "$T/stdout")" "left behind: $left"
	fi
	rm -rf "${O:?}"/* "$O"/.[!.]* 2>/dev/null
}



# --- ELF cores ------------------------------------------------------------
row elf-trunc-header 3 "$B/elf-trunc-header: ELF header at offset 0x0" \
	"$XFM" info "$B/elf-trunc-header"
row elf-bad-class 3 "offset 0x4: ELF class 3" "$XFM" info "$B/elf-bad-class"
row elf-bad-byteorder 3 "offset 0x5: ELF byte order 0" \
	"$XFM" info "$B/elf-bad-byteorder"
row elf-bad-version 3 "offset 0x6: ELF version 2" "$XFM" info "$B/elf-bad-version"
row elf-not-core 3 "offset 0x10: an ELF file of type 2, not a core" \
	"$XFM" info "$B/elf-not-core"
row elf-bad-phentsize 3 "e_phentsize is 32, expected 56" \
	"$XFM" info "$B/elf-bad-phentsize"
row elf-phnum-lies 3 "offset 0x40: program header table of 60000 entries" \
	"$XFM" info "$B/elf-phnum-lies"
row elf-phoff-past-eof 3 "offset 0x10000000000: program header table" \
	"$XFM" info "$B/elf-phoff-past-eof"
row elf-load-past-eof 3 "offset 0x40: PT_LOAD 0: data at 0x100000" \
	"$XFM" info "$B/elf-load-past-eof"
row elf-filesz-gt-memsz 3 "PT_LOAD 0: file size 0x2000 is larger than its memory size 0x1000" \
	"$XFM" info "$B/elf-filesz-gt-memsz"
row elf-load-wraps 3 "PT_LOAD 0: address 0xfffffffffffff000 + 0x2000 wraps" \
	"$XFM" info "$B/elf-load-wraps"
row elf-overlap 3 "memory ranges overlap at address 0x1000" \
	"$XFM" info "$B/elf-overlap"
row elf-no-load 3 "ELF core without PT_LOAD segments" "$XFM" info "$B/elf-no-load"
row elf-note-past-eof 3 "offset 0x1000: notes of 65536 bytes run past the end of the file (4096 bytes)" \
	"$XFM" info "$B/elf-note-past-eof"
row elf-xnum-no-shdr 3 "e_phnum is PN_XNUM (0xffff) but there is no section header 0" \
	"$XFM" info "$B/elf-xnum-no-shdr"
row elf-truncated-data 3 "PT_LOAD 0: data at 0x1000 (0x2000 bytes) runs past the end of the file (6144 bytes)" \
	"$XFM" info "$B/elf-truncated-data"

# --- Xen dump-core --------------------------------------------------------
row xen-no-note 3 "Xen dump-core without a .note.Xen section" \
	"$XFM" info "$B/xen-no-note"
row xen-bad-magic 3 "offset 0x110: Xen header magic 0x12345678" \
	"$XFM" info "$B/xen-bad-magic"
row xen-bad-pagesize 3 "offset 0x128: Xen page size 3000 is not a power of two" \
	"$XFM" info "$B/xen-bad-pagesize"
row xen-nr-pages-lies 3 "offset 0x1000: .xen_pages holds 12288 bytes but the header says 1000 pages" \
	"$XFM" info "$B/xen-nr-pages-lies"
row xen-pfn-table-short 3 "offset 0x200: .xen_pfn holds 16 bytes, not 3 entries" \
	"$XFM" info "$B/xen-pfn-table-short"
row xen-truncated-pages 3 "offset 0x1000: .xen_pages (12288 bytes) runs past the end of the file (8192 bytes)" \
	"$XFM" info "$B/xen-truncated-pages"
row xen-bad-shstrndx 3 "offset 0x3e: e_shstrndx 9 is not a section (there are 5)" \
	"$XFM" info "$B/xen-bad-shstrndx"
row xen-pfn-too-large 3 "offset 0x208: frame number 0x10000000000000 is too large for 4096-byte pages" \
	"$XFM" info "$B/xen-pfn-too-large"
row xen-duplicate-pfn 3 "memory ranges overlap at address 0x1000" \
	"$XFM" info "$B/xen-duplicate-pfn"

# --- LiME -----------------------------------------------------------------
row lime-trunc-header 3 "offset 0x0: LiME header truncated: 20 of 32 bytes left" \
	"$XFM" info "$B/lime-trunc-header"
row lime-bad-version 3 "offset 0x4: LiME version 2" "$XFM" info "$B/lime-bad-version"
row lime-end-before-start 3 "offset 0x10: LiME range ends (0xfff) before it starts (0x2000)" \
	"$XFM" info "$B/lime-end-before-start"
row lime-unsorted 3 "offset 0x1028: LiME range at 0x0 overlaps or precedes the previous one" \
	"$XFM" info "$B/lime-unsorted"
row lime-overlap 3 "offset 0x2028: LiME range at 0x1000 overlaps or precedes" \
	"$XFM" info "$B/lime-overlap"
row lime-size-lies 3 "offset 0x1020: LiME range 0x2000-0xffffff needs 16769024 bytes but only 100 remain" \
	"$XFM" info "$B/lime-size-lies"
row lime-bad-second-magic 3 "offset 0x1020: bad LiME magic 0x00001234" \
	"$XFM" info "$B/lime-bad-second-magic"
row lime-whole-space 3 "offset 0x8: LiME range covers all of the 64-bit address space" \
	"$XFM" info "$B/lime-whole-space"

# --- opening sources ------------------------------------------------------
row empty-file 3 "$B/empty: empty file" "$XFM" info "$B/empty"
row missing-file 3 "$T/nothing: No such file or directory" "$XFM" info "$T/nothing"
row directory 3 "$B: is a directory" "$XFM" info "$B"
row unknown-scheme 3 "nope:x: unknown source" "$XFM" info nope:x
# With Xen running, "xen:31000: no such domain" is the lab's row
# (xen-no-such-domain); here there is no Xen to ask.
row xen-no-privcmd 3 "xen:31000: cannot open /dev/xen/privcmd" "$XFM" info xen:31000
row xen-bad-domid 3 "xen:99999999999: not a domain id" "$XFM" info xen:99999999999
row qemu-no-socket 3 "qemu:$T/no.sock: no such socket" "$XFM" info "qemu:$T/no.sock"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	cp "$B/lime-good" "$B/secret" && chmod 600 "$B/secret"
	# nobody may not reach the build tree (a checkout under a 0700
	# directory): run a copy of xfm and its own libraries from $T/bin.
	mkdir -p "$T/bin" && cp "$XFM" "$T/bin/xfm"
	for l in $(ldd "$XFM" | awk '$3 ~ /^\// { print $3 }' |
		grep -v -e '^/lib' -e '^/usr/'); do
		cp "$l" "$T/bin/"
	done
	chmod -R a+rX "$T/bin"
	row permission-denied 3 "$B/secret: Permission denied" \
		env LD_LIBRARY_PATH="$T/bin" setpriv --reuid=nobody \
		--regid=nogroup --clear-groups "$T/bin/xfm" info "$B/secret"
else
	skip permission-denied "needs root to run xfm as nobody"
fi

# --- addresses, sizes, ranges, patterns ------------------------------------
row read-past-end 4 "address 0x3000 is not in the source" \
	"$XFM" read "$B/lime-good" 0x2000 0x2000
row read-far-past-end 4 "0x7000000000" "$XFM" read "$B/lime-good" 0x7000000000 16
row read-in-hole 4 "0x1000" "$XFM" read "$B/lime-good" 0x800 0x1000
row read-wraps 2 "range wraps past the end of the address space" \
	"$XFM" read "$B/lime-good" 0xfffffffffffff000+0x2000
row read-bad-number 2 "ADDR '0x1q'" "$XFM" read "$B/lime-good" 0x1q 16
row read-huge-number 2 "number too large" "$XFM" read "$B/lime-good" 18446744073709551616 1
row read-zero-len 2 "size must not be zero" "$XFM" read "$B/lime-good" 0 0
row read-end-below 2 "END must be above ADDR" "$XFM" read "$B/lime-good" 0x2000..0x1000
row search-bad-hex 2 "bad hex digit 'g'" "$XFM" search --hex "$B/lime-good" 'de:gh'
row search-odd-hex 2 "odd number of hex digits" "$XFM" search --hex "$B/lime-good" 'abc'
row search-bad-range 2 "END must be above ADDR" \
	"$XFM" search --range 0x10..0x5 "$B/lime-good" abc
row write-no-force 2 "--force-write" "$XFM" write "$B/lime-good" 0 --hex 00
row write-dump-file 3 "dump files are read-only" \
	"$XFM" write --force-write "$B/lime-good" 0 --hex 00
row dump-bad-format 2 "--format 'zip'" "$XFM" dump --format zip "$B/lime-good" "$O/d"
row unknown-option 2 "unknown option '--frobnicate'" "$XFM" info --frobnicate "$B/lime-good"

# --- outputs: nothing partial left behind ----------------------------------
touch "$T/exists"
row dump-exists 2 "$T/exists: file exists (use --force to overwrite)" \
	"$XFM" dump "$B/lime-good" "$T/exists"
row dump-missing-dir 1 "$O/no/dir/d.raw" "$XFM" dump "$B/lime-good" "$O/no/dir/d.raw"
row read-o-missing-dir 1 "$O/no/dir/r.bin" "$XFM" read -o "$O/no/dir/r.bin" "$B/lime-good" 0 16
row dump-corrupt-source 3 "offset 0x4: LiME version 2" \
	"$XFM" dump "$B/lime-bad-version" "$O/d.raw"

# A read-only directory: root ignores mode bits, so mount one read-only.
if [ "$(id -u)" = 0 ] && mkdir -p "$T/ro" &&
   mount -t tmpfs -o ro,size=64k xfm-badinput "$T/ro" 2>/dev/null; then
	MNT+=("$T/ro")
	row dump-readonly-dir 1 "$T/ro/d.raw" "$XFM" dump "$B/lime-good" "$T/ro/d.raw"
	row read-o-readonly-dir 1 "$T/ro/r.bin" \
		"$XFM" read -o "$T/ro/r.bin" "$B/lime-good" 0 16
	[ -z "$(ls -A "$T/ro")" ] && ok "read-only dir: still empty" ||
		not_ok "read-only dir: still empty" "$(ls -A "$T/ro")"
else
	skip dump-readonly-dir "needs root to mount a read-only tmpfs"
	skip read-o-readonly-dir "needs root to mount a read-only tmpfs"
	skip "read-only dir: still empty" "needs root"
fi

# Disk full during a dump: a 256 KiB tmpfs, a 2 MiB source of data.
"$PY" -c "import sys; open(sys.argv[1],'wb').write(bytes((i*13+1)&255 for i in range(2<<20)))" \
	"$T/data.raw"
if [ "$(id -u)" = 0 ] && mkdir -p "$T/full" &&
   mount -t tmpfs -o size=256k xfm-badinput "$T/full" 2>/dev/null; then
	MNT+=("$T/full")
	for f in raw elf lime xen-core; do
		row "dump-disk-full-$f" 1 "No space left on device" \
			"$XFM" dump -q --format "$f" "$T/data.raw" "$T/full/d.$f"
	done
	[ -z "$(ls -A "$T/full")" ] && ok "disk full: nothing left on the full disk" ||
		not_ok "disk full: nothing left" "$(ls -A "$T/full")"
else
	for f in raw elf lime xen-core; do
		skip "dump-disk-full-$f" "needs root to mount a small tmpfs"
	done
	skip "disk full: nothing left on the full disk" "needs root"
fi

# SIGINT during a dump that cannot finish in 0.5 s (64 GiB, sparse).
truncate -s 64G "$T/huge.raw"
row dump-sigint 130 "$O/huge.dump: interrupted; nothing written" \
	timeout --preserve-status -s INT 0.5 "$XFM" dump -q "$T/huge.raw" "$O/huge.dump"
rm -f "$T/huge.raw"

# --- kdump-compressed and its flattened form ------------------------------
# Header fields are checked when the file opens (exit 3); a page's
# descriptor and data when the page is read (exit 1, the page named).
row kdump-bad-version 3 "offset 0x8: kdump header version 7 is not 1..6" \
	"$XFM" info "$B/kdump-bad-version"
row kdump-bad-blocksize 3 "offset 0x1ac: kdump block size 3000 is not a power of two from 512 B to 1 MiB" \
	"$XFM" info "$B/kdump-bad-blocksize"
row kdump-no-sub-header 3 "offset 0x1b0: kdump sub-header of 0 blocks" \
	"$XFM" info "$B/kdump-no-sub-header"
row kdump-bitmap-odd 3 "offset 0x1b4: kdump bitmap of 3 blocks is not two equal halves" \
	"$XFM" info "$B/kdump-bitmap-odd"
row kdump-mapnr-too-big 3 "offset 0x1060: kdump max_mapnr 1099511627776 does not fit its bitmap of 4096 bytes" \
	"$XFM" info "$B/kdump-mapnr-too-big"
row kdump-bitmap-past-eof 3 "offset 0x1b4: kdump bitmap (1 bytes at offset 0x80002000) runs past the end of the dump (28987 bytes)" \
	"$XFM" info "$B/kdump-bitmap-past-eof"
row kdump-vmcoreinfo-too-big 3 "offset 0x1028: kdump VMCOREINFO of 1073741824 bytes (at most 65536)" \
	"$XFM" info "$B/kdump-vmcoreinfo-too-big"
row kdump-vmcoreinfo-past-eof 3 "VMCOREINFO at offset 0x100000000 (34 bytes) is past the end of the file (28987 bytes)" \
	"$XFM" info "$B/kdump-vmcoreinfo-past-eof"
row kdump-notes-too-big 3 "offset 0x1038: kdump notes of 1099511627776 bytes (at most 64 MiB)" \
	"$XFM" info "$B/kdump-notes-too-big"
row kdump-descs-past-eof 3 "offset 0x4000: kdump page descriptors (3 dumped pages, 24 bytes each) run past the end of the dump (16424 bytes)" \
	"$XFM" info "$B/kdump-descs-past-eof"
row kdump-desc-size-zero 1 "offset 0x4000: page 0x0: stored size 0 for a 4096-byte page" \
	"$XFM" read "$B/kdump-desc-size-zero" 0 16
row kdump-desc-size-short 1 "offset 0x4000: page 0x0: stored size 100 for a 4096-byte page" \
	"$XFM" read "$B/kdump-desc-size-short" 0 16
row kdump-desc-size-large 1 "offset 0x4018: page 0x1: stored size 4097 for a 4096-byte page" \
	"$XFM" read "$B/kdump-desc-size-large" 0x1000 16
row kdump-desc-bad-flags 1 "offset 0x4030: page 0x3: compression flags 0x6" \
	"$XFM" read "$B/kdump-desc-bad-flags" 0x3000 16
row kdump-desc-incomplete 1 "offset 0x4000: page 0x0 is marked incomplete" \
	"$XFM" read "$B/kdump-desc-incomplete" 0 16
row kdump-data-past-eof 1 "page data at offset 0x10000000000 (4096 bytes) is past the end of the file (28987 bytes)" \
	"$XFM" read "$B/kdump-data-past-eof" 0 16
row kdump-bad-zlib 1 "offset 0x6000: page 0x1: zlib data (42 bytes) does not decompress to 4096 bytes" \
	"$XFM" read "$B/kdump-bad-zlib" 0x1000 16
row kdump-zlib-short 1 "offset 0x6000: page 0x1: zlib data (296 bytes) does not decompress to 4096 bytes" \
	"$XFM" read "$B/kdump-zlib-short" 0x1000 16
row kdump-flat-record-past-eof 3 "offset 0x1000: flattened record (offset 0x0, 28987 bytes) is corrupt or runs past the end of the file" \
	"$XFM" info "$B/kdump-flat-record-past-eof"
row kdump-flat-negative 3 "offset 0x1000: flattened record (offset 0xfffffffffffff000, 8192 bytes) is corrupt" \
	"$XFM" info "$B/kdump-flat-negative"
row kdump-flat-overlap 3 "offset 0x3010: flattened records overlap at offset 0x1000" \
	"$XFM" info "$B/kdump-flat-overlap"
row kdump-flat-hole 3 "flattened dump has no data for kdump bitmap at offset 0x3000" \
	"$XFM" info "$B/kdump-flat-hole"
row kdump-flat-not-kdump 3 "offset 0x0: flattened dump does not hold a KDUMP header (a DISKDUMP or other format?)" \
	"$XFM" info "$B/kdump-flat-not-kdump"
tap_done
