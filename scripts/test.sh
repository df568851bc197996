#!/usr/bin/env bash
# Set up and run every test: the unit, compat, source, CLI, stress, fuzz
# replay and bad-input tests in three builds (warnings as errors;
# ASan+UBSan; TSan for the threaded tests), the core on other ABIs
# (aarch64, i386, musl), then the integration tests on a real Xen 4.17
# in the QEMU lab: x86 (PVH and PV guests), and arm64 with a 4 KiB and a
# 16 KiB-page dom0 kernel.
# Ends with the line "N passed, N failed[, N skipped]".
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

scripts/deps.sh test
results=$(mktemp -d /tmp/xfm-results.XXXXXX)
trap 'rm -rf "$results"' EXIT
logs=()

# build NAME SUITE-ARGS -- MESON-SETUP-ARGS
build_and_test() {
	local name=$1 dir=$top/build-$1
	shift
	local suites=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do suites+=("$1"); shift; done
	shift
	echo "== build-$name: $*"
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" --werror "$@" >/dev/null
	else
		meson setup "$dir" --werror "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
	meson test -C "$dir" --num-processes 2 --print-errorlogs \
		"${suites[@]}" || true
	cp "$dir/meson-logs/testlog.json" "$results/$name.json"
	logs+=("$name=$results/$name.json")
}

build_and_test ci -- -Dbuildtype=debugoptimized
build_and_test asan -- -Dbuildtype=debug -Db_sanitize=address,undefined \
	-Db_lundef=false
build_and_test tsan --suite threads -- -Dbuildtype=debug \
	-Db_sanitize=thread -Db_lundef=false

echo "== other ABIs and C libraries (aarch64, i386, musl)"
scripts/test-platforms.sh | tee "$results/platforms.tap" || true
logs+=("platforms=$results/platforms.tap")

echo "== Xen lab: real Xen 4.17, dom0 and guests under QEMU"
rc=0
tests/lab/run-lab-tests.sh --build "$top/build-ci" \
	"$top/build-ci/tests/xen/test-xen-live" tests/xen/test-dropin.sh \
	2>&1 | tee "$results/lab.tap" || rc=${PIPESTATUS[0]}
case $rc in
0 | 1) ;; # the TAP lines say what passed and failed
77) echo "ok - Xen lab # SKIP the lab cannot run on this machine" \
	>>"$results/lab.tap" ;;
*) echo "not ok - Xen lab run failed (exit $rc: 123 crash, 124 timeout," \
	"125 setup)" >>"$results/lab.tap" ;;
esac
logs+=("lab=$results/lab.tap")

echo "== Xen lab on arm64: 4 KiB and 16 KiB dom0 kernels under QEMU"
rc=0
tests/lab/run-arm-lab-tests.sh --build "$top/build-arm64" \
	2>&1 | tee "$results/arm-lab.tap" || rc=${PIPESTATUS[0]}
case $rc in
0 | 1) ;; # the TAP lines say what passed and failed
77) echo "ok - arm64 Xen lab # SKIP the lab cannot run on this machine" \
	>>"$results/arm-lab.tap" ;;
*) echo "not ok - arm64 Xen lab run failed (exit $rc)" \
	>>"$results/arm-lab.tap" ;;
esac
logs+=("arm-lab=$results/arm-lab.tap")

echo "== summary"
python3 scripts/tally.py "${logs[@]}"
