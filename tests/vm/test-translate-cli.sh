#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# `xfm translate` and --va on read/search, end to end, on a raw image that
# holds x86-64 page tables built here: exact output lines, JSON fields,
# exit codes.  TAP on stdout.
#
# Usage: test-translate-cli.sh path/to/xfm
set -u
XFM=${1:?usage: test-translate-cli.sh XFM}
PY=$(command -v /usr/bin/python3 || command -v python3)
T=$(mktemp -d /tmp/xfm-vm-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
# ok, not_ok WHAT [DIAG...], tap_done: tests/lib/tap.sh.
. "$(dirname "$0")/../lib/tap.sh"
run() { "$XFM" "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out")
	ERR=$(cat "$T/err"); }
expect() { # NAME RC OUT
	if [ "$RC" = "$2" ] && [ "$OUT" = "$3" ]; then ok "$1"
	else not_ok "$1" "rc $RC (want $2)" "out: $OUT" "want: $3" "err: $ERR"
	fi
}

# 4 MiB image: CR3 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000;
# VA page i (0..3) -> PA 0x10000 + (3 - i) * 0x1000, filled with "page<i>";
# VA 0x200000 -> a 2 MiB page at PA 0x200000.
"$PY" - "$T/img" <<'PYEOF'
import struct, sys
img = bytearray(4 << 20)
def put(pa, v): img[pa:pa + 8] = struct.pack('<Q', v)
put(0x1000, 0x2003); put(0x2000, 0x3003); put(0x3000, 0x4003)
put(0x3008, 0x200000 | 0x83)
for i in range(4):
    pa = 0x10000 + (3 - i) * 0x1000
    put(0x4000 + i * 8, pa | 3)
    img[pa:pa + 0x1000] = (b'page%d-' % i) * (0x1000 // 6) + b'....'
img[0x200000 + 0x123:0x200000 + 0x12e] = b'needle-here'
open(sys.argv[1], 'wb').write(img)
PYEOF
IMG=$T/img
R=x86_64:0x1000

run translate --root $R "$IMG" 0x1234 0x200123 0x4000
expect "translate: text, mapped and not" 4 "root: x86_64 0x1000 (given)
0x1234 -> 0x12234 (4 KiB page, level 1)
0x200123 -> 0x200123 (2 MiB page, level 2)
0x4000 -> not mapped (not present: level 1 entry 0x0 at 0x4020)"

run translate --root $R "$IMG" 0x1000 0x3fff
expect "translate: all mapped, exit 0" 0 "root: x86_64 0x1000 (given)
0x1000 -> 0x12000 (4 KiB page, level 1)
0x3fff -> 0x10fff (4 KiB page, level 1)"

printf '0x0\n0x800000000000\n' >"$T/vas"
run --json translate --root $R "$IMG" - <"$T/vas"
got=$(printf '%s' "$OUT" | "$PY" -c 'import json,sys; d=json.load(sys.stdin)
t=d["translations"]; print(d["root"]["mode"], d["root"]["origin"], len(t),
t[0]["pa"], t[0]["page_size"], t[1]["mapped"], t[1]["reason"])')
[ "$RC" = 4 ] && [ "$got" = "x86_64 given 2 77824 4096 False outside the address space" ] &&
	ok "translate --json from stdin" || not_ok "translate --json from stdin" "$RC $got"

run translate "$IMG" 0x1000
[ "$RC" = 1 ] && [[ "$ERR" == *"no page-table root"* ]] &&
	ok "translate without a root: one-line error" || not_ok "no root" "$RC $ERR"

run translate --root bogus:1 "$IMG" 0x1000
[ "$RC" = 2 ] && [[ "$ERR" == *"unknown mode"* ]] &&
	ok "--root with a bad mode: usage error" || not_ok "bad root" "$RC $ERR"

run translate --root arm64:1,2 "$IMG" 0x1000
[ "$RC" = 2 ] && [[ "$ERR" == *"TTBR0,TTBR1,TCR"* ]] &&
	ok "--root arm64 needs three values" || not_ok "arm64 root" "$RC $ERR"

# read --va across the pages 0..1 boundary: PA 0x12ffc.. then 0x11000..
want=$(dd if="$IMG" bs=1 skip=$((0x12ffc)) count=4 2>/dev/null; dd if="$IMG" bs=1 skip=$((0x11000)) count=4 2>/dev/null)
run read --va --root $R --raw "$IMG" 0xffc 8
[ "$RC" = 0 ] && [ "$OUT" = "$want" ] && ok "read --va: bytes from both physical pages" ||
	not_ok "read --va bytes" "'$OUT' want '$want'"

run read --va --root $R --raw "$IMG" 0x3ffc 8
[ "$RC" = 1 ] && [[ "$ERR" == *"VA 0x4000 not mapped"* ]] &&
	ok "read --va into an unmapped page fails naming the VA" || not_ok "read --va unmapped" "$RC $ERR"

run read --root $R "$IMG" 0 8
[ "$RC" = 2 ] && ok "read --root without --va: usage error" || not_ok "read --root" "$RC"

run search --va --root $R --range 0x200000+0x1000 "$IMG" needle
expect "search --va: match at its virtual address" 0 "0x200123"

run search --va --root $R "$IMG" needle
[ "$RC" = 2 ] && ok "search --va needs --range" || not_ok "search --va no range" "$RC"

run write --va --root $R "$IMG" 0x1000 --hex 00 --force-write
[ "$RC" = 3 ] || [ "$RC" = 1 ] && [[ "$ERR" == *"read-only"* ]] &&
	ok "write --va on a dump: read-only" || not_ok "write --va ro" "$RC $ERR"

tap_done
