#!/usr/bin/env bash
# Set up and run every test: the unit, compat, source, CLI, stress, fuzz
# replay and bad-input tests in three builds (warnings as errors;
# ASan+UBSan; TSan for the threaded tests), the core on other ABIs
# (aarch64, i386, musl), then the integration tests on a real Xen 4.17
# in the QEMU lab: x86 (PVH and PV guests), and arm64 with a 4 KiB and a
# 16 KiB-page dom0 kernel.
# Ends with the line "N passed, N failed[, N skipped]"; exits non-zero on
# any failure.
#
# STAGES.  Everything below runs as a stage, declared in one line:
#
#   stage NAME MIN COMMAND [ARGS...]
#
# NAME   a word; the stage's full output goes to build-logs/NAME.log.
# MIN    the least number of results (TAP lines, or meson tests) the stage
#        must produce; fewer is a failure (a stage that silently ran
#        nothing did not pass).  Set it a little under what it produces
#        today, and raise it when you add tests.
# COMMAND prints TAP ("ok N - what", "not ok N - what", "1..0 # SKIP why")
#        and exits 0 when everything passed, 1 when a test failed, 77 when
#        it cannot run on this machine (print why).  A stage that runs
#        `meson test` uses meson_stage (below): its results are the
#        meson test log, copied to $XFM_STAGE_JSON.
#
# scripts/tally.py then counts every stage with these rules:
#  - "ok" passes, "not ok" fails, "ok ... # SKIP why" skips;
#  - "not ok ... # SKIP" is a failure (a skip must not hide a failure);
#  - a stage that exits non-zero without a "not ok" line is a failure
#    (a crash, a timeout, a build error), and so is one with fewer than
#    MIN results;
#  - under CI=true any skip is a failure: what CI cannot run must be
#    installed (scripts/deps.sh) or fail with its reason.
# A failed stage's last 40 log lines are printed here; all logs stay in
# build-logs/ (CI keeps that directory).  To add yours (kdump, python,
# Debian packages, vm, ...): write a script that prints TAP and add one
# `stage` line in the list at the bottom.
#
# Environment: STAGES="ci asan" runs only those stages (a quick local
# loop; never in CI); XFM_TEST_VERBOSE=1 also streams each log here.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
logdir=$top/build-logs

scripts/deps.sh test
rm -rf "$logdir"
mkdir -p "$logdir"
: >"$logdir/stages.tsv"

# stage NAME MIN COMMAND [ARGS...]: run COMMAND, log it, record the result.
stage() {
	local name=$1 min=$2 rc=0 t0=$SECONDS
	shift 2
	if [ -n "${STAGES:-}" ] && [[ " $STAGES " != *" $name "* ]]; then
		return 0
	fi
	echo "== $name: $*"
	if [ "${XFM_TEST_VERBOSE:-0}" = 1 ]; then
		XFM_STAGE_JSON=$logdir/$name.json "$@" 2>&1 |
			tee "$logdir/$name.log" || rc=${PIPESTATUS[0]}
	else
		XFM_STAGE_JSON=$logdir/$name.json "$@" \
			>"$logdir/$name.log" 2>&1 </dev/null || rc=$?
	fi
	printf '%s\t%s\t%s\t%s\n' "$name" "$min" "$rc" $((SECONDS - t0)) \
		>>"$logdir/stages.tsv"
	python3 scripts/tally.py --stage "$logdir" "$name" || {
		echo "-- last 40 lines of build-logs/$name.log:"
		tail -n 40 "$logdir/$name.log"
	}
}

# meson_stage BUILD [MESON-TEST-ARGS...] -- [MESON-SETUP-ARGS...]
# Configure build-BUILD (warnings as errors), build it, run meson test;
# the test log becomes the stage's results.
meson_stage() {
	local dir=$top/build-$1 rc=0
	shift
	local targs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do targs+=("$1"); shift; done
	shift
	# Called on the left of ||, where set -e does not apply: check each.
	# -Dcompat=enabled: a missing libxen-dev fails here, not by a
	# drop-in test suite that silently is not there.
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" --werror -Dcompat=enabled "$@" ||
			return
	else
		meson setup "$dir" --werror -Dcompat=enabled "$@" || return
	fi
	ninja -C "$dir" || return
	meson test -C "$dir" --num-processes 2 --print-errorlogs \
		"${targs[@]}" || rc=$?
	cp "$dir/meson-logs/testlog.json" "$XFM_STAGE_JSON" || return
	cp "$dir/meson-logs/testlog.txt" "${XFM_STAGE_JSON%.json}.testlog.txt"
	return $rc
}

# The stages: NAME, least results, command.
stage ci 340 meson_stage ci -- -Dbuildtype=debugoptimized
stage asan 330 meson_stage asan -- -Dbuildtype=debug \
	-Db_sanitize=address,undefined -Db_lundef=false
stage tsan 20 meson_stage tsan --suite threads -- -Dbuildtype=debug \
	-Db_sanitize=thread -Db_lundef=false
stage python 5 scripts/test-python.sh "$top/build-ci"
stage mount-live 8 tests/mount/test-live-guest.py "$top/build-ci"
# QEMU's own kdump output (dump-guest-memory -z) read by xfm = QEMU's ELF.
stage qemu-kdump 3 tests/vm/test-qemu-kdump.py "$top/build-ci"
stage platforms 25 scripts/test-platforms.sh
# The labs run the programs registered in tests/lab/run-lab-tests.sh; the
# x86 one also a 60 s soak (its JSON: build-logs/lab-out/x86_64/soak.json).
stage lab 100 env XFM_LAB_OUT="$logdir/lab-out" tests/lab/run-lab-tests.sh \
	--build "$top/build-ci" --soak 60
stage deb 15 tests/deb/run-deb-tests.sh
stage arm-lab 150 tests/lab/run-lab-tests.sh --arch arm64 \
	--build "$top/build-arm64"
stage vm-agree 20 tests/vm/run-qemu-agree.sh --build "$top/build-ci"

echo "== summary (full logs: build-logs/)"
python3 scripts/tally.py --summary "$logdir"
