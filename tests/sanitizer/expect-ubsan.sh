#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-only
# UBSan findings fail: run ub-trigger (a signed overflow on purpose) and
# pass only if it stopped at UBSan's report, with a non-zero exit, and did
# not go on.  TAP.   Usage: expect-ubsan.sh path/to/ub-trigger
bin=${1:?usage: expect-ubsan.sh UB-TRIGGER}
out=$("$bin" 1 2>&1)
rc=$?
echo "1..3"
if [ "$rc" -ne 0 ]; then
	echo "ok 1 - undefined behaviour makes the program fail (exit $rc)"
else
	echo "not ok 1 - undefined behaviour exited 0"
fi
case $out in
*"runtime error: signed integer overflow"*)
	echo "ok 2 - UBSan names the finding (signed integer overflow)" ;;
*)	echo "not ok 2 - no UBSan report"; printf '%s\n' "$out" | sed 's/^/#   /' ;;
esac
case $out in
*"went on"*)
	echo "not ok 3 - the program went on after the finding (recoverable)" ;;
*)	echo "ok 3 - the program stopped at the finding" ;;
esac
