#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# A dump with a million ranges under a small address-space limit
# (RLIMIT_AS, `ulimit -v`): xfm says which file ran out of memory and how
# far it got, in one line, with a non-zero exit; never a crash.  Without
# the limit the same file opens whole.  TAP on stdout.
#
# Not in the sanitizer builds (tests/cli/meson.build): ASan reserves
# terabytes of shadow address space and cannot start under RLIMIT_AS.
#
# Usage: test-limits.sh path/to/xfm
set -u
XFM=${1:?usage: test-limits.sh XFM}
PY=$(command -v /usr/bin/python3 || command -v python3)
T=$(mktemp -d /tmp/xfm-limits.XXXXXX)
trap 'rm -rf "$T"' EXIT
# ok, not_ok, tap_done: tests/lib/tap.sh.
. "$(dirname "$0")/../lib/tap.sh"

RANGES=1048576
# lime FILE N: a LiME file of N one-byte ranges, 8 KiB apart (none merge).
lime() {
	"$PY" - "$1" "$2" <<'EOF'
import struct, sys
hdr = struct.Struct("<IIQQQ")
out = bytearray()
for i in range(int(sys.argv[2])):
    out += hdr.pack(0x4C694D45, 1, i * 8192, i * 8192, 0) + b"\xab"
open(sys.argv[1], "wb").write(out)
EOF
}

# info_under KIB FILE: `xfm info FILE` with at most KIB KiB of address
# space; status in RC, stderr in ERR.
info_under() {
	(ulimit -v "$1" && exec "$XFM" info "$2") >/dev/null 2>"$T/err"
	RC=$?
	ERR=$(cat "$T/err")
}

lime "$T/one.lime" 1
lime "$T/many.lime" $RANGES

# The least address space xfm needs for a one-range dump, to within
# 1 MiB: the limit below is that plus 16 MiB, less than the million
# ranges' tables (about 80 MiB), so the failure is the tables' and not
# the program's start.
lo=1024 hi=1048576
info_under $hi "$T/one.lime"
if [ $RC != 0 ]; then
	not_ok "xfm info of a one-range LiME under ulimit -v $hi" "$ERR"
	tap_done
	exit
fi
while [ $((hi - lo)) -gt 1024 ]; do
	mid=$(((lo + hi) / 2))
	info_under $mid "$T/one.lime"
	if [ $RC = 0 ]; then hi=$mid; else lo=$mid; fi
done
ok "a one-range LiME opens with $hi KiB of address space"

limit=$((hi + 16384))
info_under $limit "$T/many.lime"
want="^xfm: info: (memory map: )?$T/many.lime: out of memory for (the memory map after [0-9]+ ranges \(at file offset 0x[0-9a-f]+\)|a list of $RANGES ranges)\$"
if [ $RC != 0 ] && [ $RC -lt 128 ] && [ "$(wc -l <"$T/err")" = 1 ] &&
	[[ $ERR =~ $want ]]; then
	ok "$RANGES ranges under ulimit -v $limit: exit $RC, one line naming the file and the count ($ERR)"
else
	not_ok "$RANGES ranges under ulimit -v $limit: a one-line error naming the file and the count" \
		"exit $RC" "stderr: $ERR"
fi

"$XFM" info "$T/many.lime" >"$T/out" 2>"$T/err"
RC=$?
if [ $RC = 0 ] && grep -q "^lime.ranges  *$RANGES\$" "$T/out" &&
	grep -q '^total  *4294967296 ' "$T/out"; then
	ok "without the limit: all $RANGES ranges, 4 GiB of frames"
else
	not_ok "without the limit the file opens whole" "exit $RC" \
		"$(grep -E '^(lime.ranges|total)' "$T/out")" "$(cat "$T/err")"
fi
tap_done
