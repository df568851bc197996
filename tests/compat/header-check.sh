#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-only
# Tests 4 and 5: the public headers compile on their own, strictly, in C
# and C++; a program written for Xen's header compiles unchanged with
# ours; ours and Debian's declare the same things.  include/xfm.h gets the
# same treatment here (next to the compat header's checks it mirrors).
# usage: header-check.sh SOURCE_ROOT "C COMPILER COMMAND" [C++ COMPILER]
root=$1 cc=$2 cxx=$3
compat=$root/include/compat
debian_h=/usr/include/xenforeignmemory.h
strict="-Wall -Wextra -pedantic -Werror"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# TAP: check (one line; the output on failure), skip, tap_done.
. "$root/tests/lib/tap.sh"

# A translation unit holding only "#include <HEADER>".
only() { printf '#include <%s>\n' "$1" >"$tmp/only.$2"; echo "$tmp/only.$2"; }

# --- ours: include/compat/xenforeignmemory.h ---
check "xenforeignmemory.h alone: C99 $strict" \
	$cc -std=c99 $strict -I"$compat" -fsyntax-only "$(only xenforeignmemory.h c)"
check "xenforeignmemory.h alone: C11 $strict" \
	$cc -std=c11 $strict -I"$compat" -fsyntax-only "$(only xenforeignmemory.h c)"
if [ -n "$cxx" ]; then
	check "xenforeignmemory.h alone: C++11 $strict" \
		$cxx -std=c++11 $strict -I"$compat" -fsyntax-only \
		"$(only xenforeignmemory.h cc)"
else
	skip "xenforeignmemory.h alone: C++" "no C++ compiler"
fi
# Neither xenctrl.h nor __XEN_TOOLS__ comes with it.
cat >"$tmp/stable.c" <<'X'
#include <xenforeignmemory.h>
#if defined(__XEN_TOOLS__) || defined(XENCTRL_H) || defined(XC_PAGE_SHIFT)
#error an unstable Xen tools header was pulled in
#endif
X
check "xenforeignmemory.h pulls in no unstable Xen header" \
	$cc -std=c11 $strict -I"$compat" -fsyntax-only "$tmp/stable.c"

if [ -r "$debian_h" ]; then
	# The client written for Xen's header, unchanged, on ours; -M proves
	# which header was read.
	check "debian-client.c compiles unchanged with our header first" \
		$cc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$compat" \
		-c "$root/tests/compat/debian-client.c" -o "$tmp/client.o"
	check "... and that build read our header, not Debian's" \
		sh -c "$cc -D_GNU_SOURCE -I'$compat' -M \
		'$root/tests/compat/debian-client.c' | tr ' ' '\n' |
		grep -qx '$compat/xenforeignmemory.h' &&
		! $cc -D_GNU_SOURCE -I'$compat' -M \
		'$root/tests/compat/debian-client.c' | grep -q '$debian_h'"
	# Both headers in one unit (the shared guard undefined in between):
	# any prototype or typedef that differs is a hard error.
	for order in ours-first debian-first; do
		if [ $order = ours-first ]; then
			a="$compat/xenforeignmemory.h" b=$debian_h
		else
			a=$debian_h b="$compat/xenforeignmemory.h"
		fi
		printf '#include "%s"\n#undef XENFOREIGNMEMORY_H\n#include "%s"\n' \
			"$a" "$b" >"$tmp/both.c"
		check "same declarations as Debian's header ($order)" \
			$cc -std=c11 $strict -fsyntax-only "$tmp/both.c"
	done
	# The check above must be able to fail: a changed prototype is caught.
	sed 's/size_t pages);/long pages);/' "$compat/xenforeignmemory.h" \
		>"$tmp/changed.h"
	printf '#include "%s"\n#undef XENFOREIGNMEMORY_H\n#include "%s"\n' \
		"$tmp/changed.h" "$debian_h" >"$tmp/both.c"
	check "a changed prototype is detected (control)" \
		sh -c "! $cc -std=c11 -fsyntax-only '$tmp/both.c'"
else
	for i in 1 2 3 4 5; do
		skip "comparison with Debian's header" "$debian_h absent"
	done
fi

# --- include/xfm.h ---
check "xfm.h alone: C99 $strict" \
	$cc -std=c99 $strict -I"$root/include" -fsyntax-only "$(only xfm.h c)"
check "xfm.h alone: C11 $strict" \
	$cc -std=c11 $strict -I"$root/include" -fsyntax-only "$(only xfm.h c)"
if [ -n "$cxx" ]; then
	check "xfm.h alone: C++11 $strict" \
		$cxx -std=c++11 $strict -I"$root/include" -fsyntax-only \
		"$(only xfm.h cc)"
else
	skip "xfm.h alone: C++" "no C++ compiler"
fi
tap_done
