# SPDX-License-Identifier: LGPL-2.1-only
# tap.sh - the tests' one TAP helper for shell (bash, dash, busybox sh).
# Source it:  . "$(dirname "$0")/../lib/tap.sh"
#   ok WHAT                   "ok N - WHAT"
#   not_ok WHAT [DIAG...]     "not ok N - WHAT", then "#   DIAG" lines
#   skip WHAT WHY             "ok N - WHAT # SKIP WHY" (a failure under CI=true)
#   check WHAT CMD [ARGS...]  ok if CMD succeeds, else not_ok with its exit
#                             status and the last 15 lines of its output
#   tap_done                  the plan "1..N"; returns 1 if anything failed
# TAP_PREFIX, when set, starts every WHAT (e.g. "16k: " for one lab boot).
# TAP_N and TAP_FAILED count what was printed.
TAP_N=0
TAP_FAILED=0

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - ${TAP_PREFIX:-}$1"
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - ${TAP_PREFIX:-}$1"
	shift
	for tap_l in "$@"; do printf '%s\n' "$tap_l" | sed 's/^/#   /'; done
}

skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - ${TAP_PREFIX:-}$1 # SKIP $2"
}

check() {
	tap_what=$1
	shift
	if tap_out=$("$@" 2>&1); then
		ok "$tap_what"
	else
		tap_rc=$?
		not_ok "$tap_what (exit $tap_rc)" "$(printf '%s\n' "$tap_out" | tail -n 15)"
	fi
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}
