#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# End-to-end tests of the xfm binary on crafted dump files: exact text
# output, JSON values, exit codes, one-line errors, and that -o / dump
# never leave a partial file behind.  TAP on stdout; exit 77 = skipped.
#
# Usage: test-cli.sh path/to/xfm
set -u

XFM=${1:?usage: test-cli.sh XFM}
# The system interpreter: a version manager's shim can cost a second a call.
PY=$(command -v /usr/bin/python3 || command -v python3)
if [ -z "$PY" ]; then
	echo "1..0 # SKIP python3 is needed to craft dumps and parse JSON"
	exit 77
fi

T=$(mktemp -d /tmp/xfm-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
# TAP: ok, not_ok, skip, tap_done (tests/lib/tap.sh).
. "$(dirname "$0")/../lib/tap.sh"

# run ARGS...: xfm's stdout in $OUT (file $T/out), stderr in $ERR, status in $RC
run() {
	"$XFM" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# is GOT WANT NAME
is() {
	if [ "$1" == "$2" ]; then ok "$3"; else
		not_ok "$3" "got:  $(printf %q "$1")" "want: $(printf %q "$2")"
	fi
}

# expect_err RC MESSAGE NAME: exit status and the exact one error line
expect_err() {
	if [ "$RC" == "$1" ] && [ "$ERR" == "$2" ] && [ -z "$OUT" ]; then
		ok "$3"
	else
		not_ok "$3" "rc $RC (want $1)" "stderr: $ERR" "want:   $2" \
			"stdout: ${OUT:0:200}"
	fi
}

# jq_py EXPR: evaluate a Python expression on the JSON in $T/out (as d)
jq_py() {
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$T/out" "$1" 2>&1
}

# --- test data --------------------------------------------------------
# t.raw, 8 MiB: frame f holds "frame <f>" then the byte f % 16, and:
#   "NEEDLE!!" at 0x2ffc  (across the frame 2/3 boundary)
#   "XCHUNKX"  at 0x3ffffd (across the 4 MiB boundary of search's reads)
#   "ababab"   at 0x5100  (overlapping matches)
# t.lime: 0..0x2000 of 'A', 0x10000..0x11000 of 'B', 0x11000..0x12000 'C'.
"$PY" - "$T" <<'EOF'
import struct, sys
t = sys.argv[1]
b = bytearray()
for f in range(2048):
    fr = bytearray([f % 16]) * 4096
    s = b"frame %d" % f
    fr[:len(s)] = s
    b += fr
for addr, s in ((0x2ffc, b"NEEDLE!!"), (0x3ffffd, b"XCHUNKX"),
                (0x5100, b"ababab")):
    b[addr:addr + len(s)] = s
open(t + "/t.raw", "wb").write(b)
with open(t + "/t.lime", "wb") as f:
    for start, data in ((0, b"A" * 8192),
                        (0x10000, b"B" * 4096 + b"C" * 4096)):
        f.write(struct.pack("<IIQQQ", 0x4C694D45, 1, start,
                            start + len(data) - 1, 0))
        f.write(data)
EOF
RAW=$T/t.raw
LIME=$T/t.lime

# --- global behaviour -------------------------------------------------

run --version
[[ $RC == 0 && $OUT =~ ^xfm\ [0-9]+\.[0-9]+\.[0-9]+$ ]] &&
	ok "--version prints the version" || not_ok "--version" "$OUT"

run --help
missing=
for c in info read write search ranges dump bench; do
	grep -q "^  $c " "$T/out" || missing="$missing $c"
done
[[ $RC == 0 && -z $missing ]] && ok "--help lists every command" ||
	not_ok "--help lists every command" "missing:$missing"

run help read
h1=$OUT
run read --help
[[ $RC == 0 && $OUT == "$h1" && $OUT == Usage:\ xfm\ read* ]] &&
	ok "'xfm help read' and 'xfm read --help' print the same help" ||
	not_ok "help read" "$OUT"

run frob
expect_err 2 "xfm: unknown command 'frob' (see 'xfm --help')" \
	"unknown command: exit 2"

run
expect_err 2 "xfm: no command given (see 'xfm --help')" "no command: exit 2"

run help frob
expect_err 2 "xfm: unknown command 'frob' (see 'xfm --help')" \
	"help on an unknown command: exit 2"

# --- info ---------------------------------------------------------------

run info "$RAW"
is "$RC:$(grep -E '^(source|format|frame size|ranges|total) ' "$T/out")" \
"0:source           file
format           raw
frame size       4096 (file)
ranges           1
total            8388608 (8 MiB)" "info: kind, format, geometry origin, total"
is "$(grep '^  0x' "$T/out")" \
	"  0x0000000000000000-0x0000000000800000  8 MiB" "info: the range"

run --json info "$RAW"
is "$(jq_py '(d["source"], d["info"]["format"], d["geometry"]["frame_size"], d["geometry"]["origin"], d["geometry"]["max_frame"], d["ranges"], d["total_size"])')" \
	"('file', 'raw', 4096, 'file', 2047, [{'start': 0, 'end': 8388608, 'size': 8388608}], 8388608)" \
	"info --json: exact values"
j1=$OUT
run info --json "$RAW"
is "$OUT" "$j1" "--json after the command is the same as before it"

# --- ranges (alias: map) ------------------------------------------------

run ranges "$RAW"
is "$RC:$OUT" "0:START               END                 SIZE
0x0000000000000000  0x0000000000800000  8 MiB
1 range, 8 MiB (8388608 bytes)" "ranges: table"
t1=$OUT
run map "$RAW"
is "$RC:$OUT" "0:$t1" "map: the old name of ranges, same output"

run ranges --json "$LIME"
is "$RC:$OUT" '0:{"ranges":[{"start":0,"end":8192,"size":8192},{"start":65536,"end":73728,"size":8192}],"total_size":16384}' \
	"ranges --json: two ranges of a LiME dump"

# --- read ---------------------------------------------------------------

run read "$RAW" 0x2ff8 0x20
is "$RC:$OUT" "0:00002ff8  02 02 02 02 4e 45 45 44  4c 45 21 21 65 20 33 03  |....NEEDLE!!e 3.|
00003008  03 03 03 03 03 03 03 03  03 03 03 03 03 03 03 03  |................|
00003018" "read: hexdump with guest addresses across a frame boundary"

run read "$RAW" 5 3
is "$OUT" "00000005  20 30 00                                          | 0.|
00000008" "read: a partial line is padded like hexdump -C"

if command -v hexdump >/dev/null; then
	run read "$RAW" 0x1ff0 0x3000
	is "$OUT" "$(hexdump -C -s 0x1ff0 -n 0x3000 "$RAW")" \
		"read: identical to hexdump -C, squeezed lines included"
else
	skip "read: identical to hexdump -C" "hexdump not installed"
fi

run read -v "$RAW" 0x1000 0x1000
is "$(wc -l <"$T/out")" 257 "read -v: no '*' squeezing (256 lines + end)"

run read "$RAW" 0x1000+0x40
a=$OUT
run read "$RAW" 0x1000..0x1040
b=$OUT
run read "$RAW" 4k 64
[[ -n $a && $a == "$b" && $a == "$OUT" ]] &&
	ok "read: ADDR+LEN, ADDR..END and ADDR LEN agree" ||
	not_ok "read: range forms" "$a" "$b" "$OUT"

"$XFM" read --raw "$RAW" 0x3ff000 0x3000 >"$T/raw.out"
"$PY" -c 'import sys; sys.stdout.buffer.write(open(sys.argv[1],"rb").read()[0x3ff000:0x402000])' \
	"$RAW" >"$T/raw.want"
cmp -s "$T/raw.out" "$T/raw.want" && ok "read --raw: the exact bytes" ||
	not_ok "read --raw: the exact bytes"

run read --json "$RAW" 0x2ffc 8
is "$(jq_py '(d["address"], d["length"], d["data"])')" \
	"(12284, 8, '4e4545444c452121')" "read --json: address, length, hex data"

run read "$RAW" 0x7ffff0 0x20
expect_err 4 "xfm: read: 0x7ffff0+0x20: address 0x800000 is not in the source (see 'xfm ranges'; --zero-fill reads holes as zeros)" \
	"read: length past the end: exit 4"

run read "$RAW" 0xzz 4
expect_err 2 "xfm: read: ADDR '0xzz': not a number" "read: bad address: exit 2"

run read "$RAW" 0x10000000000000000 4
expect_err 2 "xfm: read: ADDR '0x10000000000000000': number too large" \
	"read: address beyond 64 bits: exit 2"

run read "$RAW" 0xfffffffffffffff0 0x20
expect_err 2 "xfm: read: 0xfffffffffffffff0+0x20: range wraps past the end of the address space" \
	"read: a range that wraps: exit 2"

run read "$RAW" 0 0
expect_err 2 "xfm: read: LEN '0': size must not be zero" "read: zero length: exit 2"

run read "$RAW" 0
expect_err 2 "xfm: read: missing LEN (or use ADDR+LEN)" "read: missing LEN: exit 2"

run read "$T/nope" 0 4
expect_err 3 "xfm: read: $T/nope: No such file or directory" \
	"read: missing file: exit 3"

run read --bogus "$RAW" 0 4
expect_err 2 "xfm: read: unknown option '--bogus'" "unknown option: exit 2"

run read --raw --json "$RAW" 0 4
expect_err 2 "xfm: read: --raw and --json are exclusive" \
	"read: --raw with --json: exit 2"

# Holes: a LiME dump has absent memory between its ranges.
run read "$LIME" 0x1ff0 0x20
expect_err 4 "xfm: read: 0x1ff0+0x20: address 0x2000 is not in the source (see 'xfm ranges'; --zero-fill reads holes as zeros)" \
	"read: across a hole: exit 4, nothing printed"
run read --zero-fill "$LIME" 0x1ff8 0x10
is "$RC:$OUT" "0:00001ff8  41 41 41 41 41 41 41 41  00 00 00 00 00 00 00 00  |AAAAAAAA........|
00002008" "read --zero-fill: holes read as zeros"

# --- read -o: temporary file, then rename -------------------------------

no_temps() { ! ls "$T"/*.xfm-* >/dev/null 2>&1; }

run read -o "$T/page.bin" "$RAW" 0x1000 0x2000
"$PY" -c 'import sys; sys.stdout.buffer.write(open(sys.argv[1],"rb").read()[0x1000:0x3000])' \
	"$RAW" >"$T/page.want"
if [[ $RC == 0 && -z $OUT ]] && cmp -s "$T/page.bin" "$T/page.want" &&
   no_temps; then ok "read -o: the bytes, no temporary left"; else
	not_ok "read -o" "rc $RC" "$ERR"; fi
is "$ERR" "xfm: read: wrote 8192 bytes from 0x1000 to $T/page.bin" \
	"read -o: says what it wrote on stderr"

run -q read -o "$T/page.bin" "$RAW" 0x1000 0x2000
is "$RC:$ERR" "0:" "read -o -q: silent"

run read --json -o "$T/page.bin" "$RAW" 0x1000 0x10
is "$(jq_py '(d["address"], d["length"], d["path"])' | sed "s|$T|T|")" \
	"(4096, 16, 'T/page.bin')" "read -o --json: a summary"

# A write that fails half way (file size limit: EFBIG, SIGXFSZ ignored).
rm -f "$T/big.bin"
(trap '' XFSZ; ulimit -f 64; exec "$XFM" read -o "$T/big.bin" "$RAW" 0 1M) \
	>"$T/out" 2>"$T/err"
RC=$?
ERR=$(cat "$T/err")
if [[ $RC == 1 && ! -e $T/big.bin && $ERR == "xfm: read: $T/big.bin: writing at offset 0x"*": File too large" ]] &&
   no_temps; then ok "read -o: a failure half way leaves no file at all"
else not_ok "read -o: failure half way" "rc $RC" "$ERR" "$(ls "$T")"; fi

echo previous >"$T/keep.bin"
(trap '' XFSZ; ulimit -f 64; exec "$XFM" read -o "$T/keep.bin" "$RAW" 0 1M) \
	>/dev/null 2>&1
[[ $(cat "$T/keep.bin") == previous ]] && no_temps &&
	ok "read -o: a failed read leaves the old file untouched" ||
	not_ok "read -o: old file kept"

run read -o "$T/past.bin" "$RAW" 0x7ff000 0x2000
[[ $RC == 4 && ! -e $T/past.bin ]] && no_temps &&
	ok "read -o past the end: exit 4, no file" || not_ok "read -o past end" "$ERR"

# Interrupted: a 64 GiB sparse raw file cannot be read in 0.5 s.
truncate -s 64G "$T/huge.raw"
timeout --preserve-status -s INT 0.5 "$XFM" read -q -o "$T/huge.bin" "$T/huge.raw" 0 64G \
	>/dev/null 2>"$T/err"
RC=$?
ERR=$(cat "$T/err")
if [[ $RC == 130 && ! -e $T/huge.bin && $ERR == "xfm: read: interrupted at 0x"* ]] &&
   no_temps; then ok "read -o: SIGINT exits 130 and removes the temporary"
else not_ok "read -o: SIGINT" "rc $RC" "$ERR"; fi
timeout --preserve-status -s INT 0.5 "$XFM" dump "$T/huge.raw" "$T/huge.dump" \
	>/dev/null 2>"$T/err"
RC=$?
ERR=$(cat "$T/err")
if [[ $RC == 130 && ! -e $T/huge.dump &&
      $ERR == "xfm: dump: $T/huge.dump: interrupted; nothing written" &&
      $(ls "$T" | grep -c huge) == 1 ]]; then
	ok "dump: SIGINT exits 130 and leaves nothing behind"
else not_ok "dump: SIGINT" "rc $RC" "$ERR" "$(ls "$T")"; fi
rm -f "$T/huge.raw"

# --- search -------------------------------------------------------------

run search "$RAW" NEEDLE
is "$RC:$OUT" "0:0x2ffc" "search: a match across a frame boundary"

run search "$RAW" XCHUNKX
is "$RC:$OUT" "0:0x3ffffd" "search: a match across the 4 MiB read boundary"

run search "$RAW" abab
is "$OUT" $'0x5100\n0x5102' "search: overlapping matches"

run search --hex "$RAW" "4e 45 45 44 4c 45"
is "$RC:$OUT" "0:0x2ffc" "search --hex"

run search --string "$RAW" "frame 1" --max 3
is "$OUT" $'0x1000\n0xa000\n0xb000' "search --max 3"

run search --json "$RAW" "frame 1"
is "$(jq_py '(d["count"], d["truncated"], d["matches"][:2], d["matches"][-1], len(d["matches"]))')" \
	"(1110, False, [4096, 40960], 8187904, 1110)" \
	"search --json: every 'frame 1' (1, 10-19, 100-199, 1000-1999 but 1024)"

run search --json --max 1 "$RAW" NEEDLE
is "$OUT" '{"pattern":"4e4545444c45","count":1,"truncated":true,"matches":[12284]}' \
	"search --json --max: exact document"

run search --json --range 0x3000..8M "$RAW" "frame 1"
is "$(jq_py 'd["count"]')" 1109 "search --range: only inside the range"

run search "$LIME" BC
is "$RC:$OUT" "0:0x10fff" "search: populated ranges of a LiME dump"

run search "$RAW" "no such thing"
is "$RC:$OUT:$ERR" "0::" "search: no match is exit 0, no output"

run search --hex "$RAW" "4e 4"
expect_err 2 "xfm: search: PATTERN '4e 4': odd number of hex digits" \
	"search --hex: bad pattern: exit 2"

run search "$RAW"
expect_err 2 "xfm: search: missing SOURCE or PATTERN (see 'xfm help search')" \
	"search: missing pattern: exit 2"

# --- write --------------------------------------------------------------

run write "$RAW" 0x1000 --hex deadbeef
expect_err 2 "xfm: write: refusing to write guest memory without --force-write" \
	"write without --force-write: exit 2"

run write --force-write "$RAW" 0x1000 --hex deadbeef
expect_err 3 "xfm: write: $RAW: dump files are read-only" \
	"write --force-write on a dump file: exit 3"

run write --force-write "$RAW" 0x1000 --hex de --file "$RAW"
expect_err 2 "xfm: write: give exactly one of --hex and --file" \
	"write: --hex and --file: exit 2"

run write --force-write "$RAW" 0x1000 --hex 'de ad g0'
expect_err 2 "xfm: write: --hex 'de ad g0': bad hex digit 'g'" \
	"write: bad hex: exit 2"

# Writing for real, on a writable source: a live-QEMU source whose QMP
# socket is served by fake-qmp.py over a 1 MiB RAM file of zeros.
HERE=$(cd "$(dirname "$0")" && pwd)
head -c 1M /dev/zero >"$T/ram"
"$PY" "$HERE/fake-qmp.py" "$T/qmp.sock" "$T/ram" 1048576 2>/dev/null &
QMP_PID=$!
trap 'kill $QMP_PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do [ -S "$T/qmp.sock" ] && break; sleep 0.1; done
Q=qemu:$T/qmp.sock
# bytes FILE OFF LEN: those bytes of FILE as hex
bytes() { od -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }

if [ -S "$T/qmp.sock" ]; then
	run write "$Q" 0x1000 --hex deadbeef
	is "$RC:$(bytes "$T/ram" 0x1000 4)" "2:00000000" \
		"write on a writable source without --force-write: exit 2, nothing written"

	run write --force-write "$Q" 0x1000 --hex "de ad be ef"
	is "$RC:$OUT:$(bytes "$T/ram" 0xffe 8)" \
		"0:wrote 4 bytes at 0x1000: de ad be ef:0000deadbeef0000" \
		"write --hex: says what it wrote, and wrote exactly that"

	run read "$Q" 0xff8 0x10
	is "$OUT" "00000ff8  00 00 00 00 00 00 00 00  de ad be ef 00 00 00 00  |................|
00001008" "write: read back through xfm"

	printf 'The quick brown fox jumps' >"$T/data"
	run write --force-write "$Q" 0x2001 --file "$T/data"
	is "$RC:$OUT" "0:wrote 25 bytes at 0x2001: 54 68 65 20 71 75 69 63 6b 20 62 72 6f 77 6e 20 ..." \
		"write --file: long data is shown up to 16 bytes"
	cmp -s <(tail -c +$((0x2001 + 1)) "$T/ram" | head -c 25) "$T/data" &&
		ok "write --file: the file's bytes at the address" ||
		not_ok "write --file: bytes in guest memory"

	run --json write --force-write "$Q" 0xfffff --hex 7f
	is "$RC:$OUT" '0:{"address":1048575,"length":1,"head":"7f"}' \
		"write --json: exact document (last byte of memory)"

	run write --force-write "$Q" 0xffffe --hex 01020304
	expect_err 4 "xfm: write: 0xffffe+0x4: address 0x100000 is not in the source; nothing written" \
		"write past the end: exit 4"
	is "$(bytes "$T/ram" 0xffffe 2)" "007f" "write past the end: nothing written"
else
	for t in 1 2 3 4 5 6 7 8; do
		skip "write on a live-QEMU source" "fake QMP server did not start"
	done
fi

# --- dump ---------------------------------------------------------------

# dump SRC FORMAT: dump, then check the dump reads back the same: the
# same map (but raw, which turns holes into zeros), matches and bytes.
check_dump() {
	local src=$1 fmt=$2 out=$T/dump.$2
	rm -f "$out"
	run dump --format "$fmt" "$src" "$out"
	if [[ $RC != 0 ]]; then
		not_ok "dump --format $fmt of $(basename "$src")" "$ERR"
		return
	fi
	run --json info "$out"
	local got=$(jq_py 'd["info"]["format"]')
	if [[ $got != "$fmt" ]]; then
		not_ok "dump --format $fmt of $(basename "$src") reads back as $fmt" \
			"xfm info reports the format '$got'"
		return
	fi
	"$XFM" ranges --json "$src" >"$T/map.src"
	"$XFM" ranges --json "$out" >"$T/map.dump"
	[[ $fmt == raw ]] && cp "$T/map.src" "$T/map.dump"
	"$XFM" search "$src" XCHUNKX >"$T/s.src" 2>&1
	"$XFM" search "$out" XCHUNKX >"$T/s.dump" 2>&1
	"$XFM" read --zero-fill --raw "$src" 0x1000 0x2000 >"$T/r.src" 2>&1
	"$XFM" read --zero-fill --raw "$out" 0x1000 0x2000 >"$T/r.dump" 2>&1
	if cmp -s "$T/map.src" "$T/map.dump" && cmp -s "$T/s.src" "$T/s.dump" &&
	   cmp -s "$T/r.src" "$T/r.dump" && no_temps; then
		ok "dump --format $fmt of $(basename "$src"): same map, bytes, matches"
	else
		not_ok "dump --format $fmt of $(basename "$src")" \
			"$(cat "$T/map.dump")" "$(head -c 200 "$T/r.dump")"
	fi
}
for fmt in raw elf xen-core lime; do
	check_dump "$RAW" $fmt
	check_dump "$LIME" $fmt
done

run dump "$RAW" "$T/dump.raw"
is "$RC:$(cat "$T/err")" "2:xfm: dump: $T/dump.raw: file exists (use --force to overwrite)" \
	"dump to an existing file: exit 2"

run --json dump --force "$RAW" "$T/dump.raw"
is "$(jq_py '(d["format"], d["bytes"], d["path"] == "'"$T/dump.raw"'")')" \
	"('raw', 8388608, True)" "dump --force --json: format and size"

run dump --force "$RAW" "$T/dump.raw"
[[ $RC == 0 && $ERR != *$'\r'* && $ERR == "xfm: dump: wrote 8 MiB of guest memory to $T/dump.raw (raw) in "*" s" ]] &&
	ok "dump: no progress bar when stderr is not a terminal" ||
	not_ok "dump: no progress bar in a pipe" "$ERR"

run -q dump --force "$RAW" "$T/dump.raw"
is "$RC:$OUT:$ERR" "0::" "dump -q: silent"

run dump --format zip "$RAW" "$T/x"
expect_err 2 "xfm: dump: --format 'zip': not one of raw, elf, xen-core, lime, kdump, kdump-flat" \
	"dump: unknown format: exit 2"

run dump "$RAW" "$T/no/such/dir/x.raw"
[[ $RC == 1 && $ERR == "xfm: dump: $T/no/such/dir/x.raw: "* &&
   $(wc -l <"$T/err") == 1 ]] &&
	ok "dump into a missing directory: exit 1, one line" ||
	not_ok "dump: missing directory" "rc $RC" "$ERR"

# --- bench, names, one-line errors ---------------------------------------

run bench --json --time 0.05 "$RAW"
is "$(jq_py '(d["sequential_read"]["bytes"] > 0, d["random_read"]["reads"] > 0, [m["batch_frames"] for m in d["map_unmap"]], all(m["batches"] > 0 for m in d["map_unmap"]))')" \
	"(True, True, [1, 16, 256, 4096], True)" "bench --json: all six measurements"

run bench --time 0.02 "$RAW"
is "$RC:$(cut -c1-22 "$T/out" | sed 's/ *$//')" "0:TEST
sequential read
random 8-byte read
map+unmap 1 frame
map+unmap 16 frames
map+unmap 256 frames
map+unmap 4096 frames" "bench: the table"

run info xen:no-such-guest-name
[[ $RC == 3 && ( $ERR == "xfm: info: xen:no-such-guest-name: cannot reach xenstore"* ||
   $ERR == "xfm: info: xen:no-such-guest-name: no domain named 'no-such-guest-name'" ) ]] &&
	ok "xen:<name>: exit 3 with a clear reason" || not_ok "xen:<name>" "$ERR"

lines_ok=1
for args in "frob" "read $RAW zz 1" "read $T/nope 0 1" "read $RAW 8M 1" \
	    "write $RAW 0 --hex 00" "search $RAW" "ranges" "dump --format x $RAW y" \
	    "info bogus:1"; do
	"$XFM" $args >/dev/null 2>"$T/err"
	[[ $(wc -l <"$T/err") == 1 && $(cat "$T/err") == "xfm: "* ]] ||
		{ lines_ok=0; echo "# $args: $(cat "$T/err")"; }
done
[[ $lines_ok == 1 ]] && ok "every error is one line starting 'xfm: '" ||
	not_ok "every error is one line"

tap_done
