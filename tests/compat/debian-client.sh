#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-only
# Test 3: debian-client (built with Debian's header and library) run on
# Debian's library and then on ours through LD_LIBRARY_PATH.  It must
# bind all nine functions to our file, at Xen's version nodes, and print
# the same results.  usage: debian-client.sh CLIENT OUR_LIB_DIR DEBIAN_LIB
client=$1 ourdir=$2 debian=$3
ours=$(realpath "$ourdir/libxenforeignmemory.so.1")
theirs=$(realpath "$debian")
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib/tap.sh"
# expect WHAT EXPR FILE: ok if EXPR holds, else not_ok showing FILE.
expect() { if eval "$2"; then ok "$1"; else not_ok "$1" "$(cat "$3")"; fi; }

env -u LD_LIBRARY_PATH "$client" >"$tmp/debian.out" 2>"$tmp/debian.err"
rc=$?
expect "runs on Debian's library" '[ $rc -eq 0 ]' "$tmp/debian.err"
expect "bound to Debian's file without LD_LIBRARY_PATH" \
	'grep -qx "lib $theirs" "$tmp/debian.out"' "$tmp/debian.out"

LD_LIBRARY_PATH=$ourdir LD_BIND_NOW=1 LD_DEBUG=bindings \
	LD_DEBUG_OUTPUT=$tmp/bind "$client" >"$tmp/ours.out" 2>"$tmp/ours.err"
rc=$?
expect "runs on our library" '[ $rc -eq 0 ]' "$tmp/ours.err"
expect "dladdr: all nine functions are in our file" \
	'grep -qx "lib $ours" "$tmp/ours.out"' "$tmp/ours.out"

# ld.so's own record: "binding file <client> [0] to <lib> [0]: normal
# symbol `xenforeignmemory_open' [VERS_1.0]", one per function.
cat "$tmp"/bind.* 2>/dev/null | grep "binding file $client " |
	grep "xenforeignmemory_" >"$tmp/bindings"
want=$(nm -D --defined-only --with-symbol-versions "$theirs" |
	awk '$2 == "T" { split($3, s, "@@"); print s[1] " [" s[2] "]" }' |
	sort)
got=$(sed -n "s|.* to \(.*\) \[0\]: normal symbol \`\(.*\)' \[\(.*\)\]|\1 \2 [\3]|p" \
	"$tmp/bindings" | while read -r lib sym ver; do
		[ "$(realpath "$lib")" = "$ours" ] && echo "$sym $ver"
	done | sort -u)
echo "$want" >"$tmp/want"
echo "$got" >"$tmp/got"
expect "LD_DEBUG=bindings: each of Debian's symbols bound to ours at its version" \
	'[ -n "$want" ] && [ "$want" = "$got" ]' "$tmp/bindings"

grep -v '^lib ' "$tmp/debian.out" >"$tmp/d"
grep -v '^lib ' "$tmp/ours.out" >"$tmp/o"
diff -u "$tmp/d" "$tmp/o" >"$tmp/diff"
rc=$?
expect "same results and errno on both ($(wc -l <"$tmp/d") calls)" \
	'[ $rc -eq 0 ]' "$tmp/diff"
tap_done
