#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# xfm's page-table walks against QEMU's own gva2gpa in real Debian guests:
# x86-64 with 4-level and with 5-level paging (-cpu max, LA57), arm64 with
# the 4 KiB and the 16 KiB kernel (the lab's, staged by lab/lib/arm64.sh),
# COUNT random addresses each (tests/vm/qemu-agree.py).  One TAP stream;
# per-guest JSON in BUILD/vm-agree/.  Exit 77 when it cannot run here.
#
# Usage: run-qemu-agree.sh [--build DIR] [--count N] [GUEST...]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build-ci
COUNT=10000
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift 2 ;;
	--count) COUNT=$2; shift 2 ;;
	*) break ;;
	esac
done
GUESTS=${*:-x86_64-4level x86_64-la57 arm64-4k arm64-16k}
XFM=$BUILD/tools/xfm/xfm
LAB=${XFM_LAB_DIR:-/var/tmp/xfm-lab}

skip77() { echo "1..0 # SKIP $*"; exit 77; }
for t in qemu-system-x86_64 qemu-system-aarch64 gcc aarch64-linux-gnu-gcc python3; do
	command -v "$t" >/dev/null || skip77 "$t is not installed (scripts/deps.sh)"
done
[ -x "$XFM" ] || skip77 "no xfm binary at $XFM (build first)"
KX=$(printf '%s\n' /boot/vmlinuz-*-amd64 | sort -rV | head -n1)
[ -f "$KX" ] || skip77 "no Debian amd64 kernel in /boot (linux-image-amd64)"

WORK=$(mktemp -d /tmp/xfm-vm-agree.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
OUT=$BUILD/vm-agree
mkdir -p "$OUT"
CFLAGS="-static -nostdlib -ffreestanding -fno-stack-protector -O2"
# shellcheck disable=SC2086
gcc $CFLAGS -o "$WORK/init-x86_64" "$ROOT/tests/vm/guest-init.c" &&
	aarch64-linux-gnu-gcc $CFLAGS -o "$WORK/init-aarch64" \
		"$ROOT/tests/vm/guest-init.c" || { echo "not ok 1 - build the guest init"; exit 1; }

arm64_kernels() {
	# shellcheck source=../../lab/lib/arm64.sh
	. "$ROOT/lab/lib/arm64.sh"
	arm64_load "$LAB/arm64-stage" 2>/dev/null ||
		arm64_stage "$LAB/arm64-stage" >/dev/null || return 1
}

# ok, not_ok, tap_done: tests/lib/tap.sh.
. "$ROOT/tests/lib/tap.sh"
for g in $GUESTS; do
	case $g in
	x86_64-*) k=$KX; init=$WORK/init-x86_64 ;;
	arm64-*)
		if [ -z "${ARM64_KERNEL_4K:-}" ] && ! arm64_kernels; then
			not_ok "$g: the arm64 kernels could not be staged"
			continue
		fi
		if [ "$g" = arm64-4k ]; then k=$ARM64_KERNEL_4K; else k=$ARM64_KERNEL_16K; fi
		init=$WORK/init-aarch64 ;;
	*) echo "unknown guest $g" >&2; exit 2 ;;
	esac
	rel=$(basename "$k" | sed 's/^vmlinuz-//')
	t0=$SECONDS
	timeout 600 python3 "$ROOT/tests/vm/qemu-agree.py" --xfm "$XFM" \
		--init "$init" --guest "$g" --kernel "$k" --release "$rel" \
		--count "$COUNT" --json "$OUT/$g.json" >"$WORK/$g.tap" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"not ok "*) not_ok "${line#* - }" ;;
		"ok "*) ok "${line#* - }" ;;
		1..*) ;;
		*) echo "$line" ;;
		esac
	done <"$WORK/$g.tap"
	echo "# $g: $((SECONDS - t0)) s (exit $rc)"
	if [ $rc != 0 ] && ! grep -q "^not ok" "$WORK/$g.tap"; then
		not_ok "$g: qemu-agree.py exit $rc"
	fi
done
tap_done
