#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-only
# The bad-input row "xen-no-such-domain" (docs/bad-input.md), where it
# means something: in the lab's dom0, on a running Xen.  `xfm info` of a
# domain that does not exist must exit 3 with one error line naming the
# domain, and print nothing on stdout.  (On a host without Xen the row
# is "xen-no-privcmd", tests/badinput.)  Busybox sh; TAP.
xfm=$(command -v xfm || echo /payload/bin/xfm)
want="xen:31000: no such domain"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

echo "1..1"
"$xfm" info xen:31000 >"$tmp/out" 2>"$tmp/err"
rc=$?
lines=$(wc -l <"$tmp/err")
err=$(cat "$tmp/err")
case $err in
"xfm: "*"$want"*) text=1 ;;
*) text=0 ;;
esac
if [ "$rc" = 3 ] && [ "$lines" = 1 ] && [ "$text" = 1 ] && [ ! -s "$tmp/out" ]
then
	echo "ok 1 - xen-no-such-domain: exit 3, '$want'"
	exit 0
fi
echo "not ok 1 - xen-no-such-domain: exit $rc (want 3), $lines stderr lines"
echo "#   xfm: $xfm"
echo "#   stderr: $err"
echo "#   stdout: $(head -c 200 "$tmp/out")"
exit 1
