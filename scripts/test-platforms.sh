#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# Build libxfm's core and its unit tests for other ABIs and C libraries
# through meson's cross files, and run them:
#   aarch64  cross/aarch64-linux-gnu.txt, run under qemu-aarch64
#   i386     cross/i386.txt (gcc -m32; xen_pfn_t and the privcmd structs
#            are 32-bit there), run under qemu-i386
#   musl     cross/musl.txt (musl-gcc, static): a minimal C library with
#            no Linux headers
# with -Dcore_only=true (only the core and tests/unit, which need nothing
# but libc; the foreign json-c/libxen/cmocka are not installed - the unit
# tests then use tests/lib/cmocka-tap) in build-<platform>/.  Each
# platform must run every tests/unit/test-*.c (musl: all but privcmd-abi,
# which compares with the kernel's <xen/sys/privcmd.h>).  Then checks that
# only src/source/privcmd.c uses Linux-specific headers.
# TAP ("ok N - aarch64: unit test cache (12 passed)"); exit 1 on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
. tests/lib/tap.sh

# Debian packages, installed only when missing.
need=()
# Not gcc-multilib: Debian 12 makes it conflict with gcc-aarch64-linux-gnu
# (apt would remove the cross compiler); -m32 only needs these two.
for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
	lib32gcc-12-dev libc6-dev-i386 musl-tools libxen-dev; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "# installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" \
		>/dev/null 2>&1 || echo "# apt-get install ${need[*]} failed"
fi

all_tests=$(cd tests/unit && ls test-*.c | sed 's/^test-//; s/\.c$//')

# platform NAME CROSS-FILE COMPILER [MESON-ARGS...]
platform() {
	local plat=$1 cross=$2 cc=$3 dir=$top/build-$1
	shift 3
	local log=$dir.log want=$all_tests
	[ "$plat" = musl ] && want=$(grep -vx privcmd-abi <<<"$want")
	if ! command -v "$cc" >/dev/null; then
		echo "ok - $plat: build # SKIP no $cc (see the packages above)"
		return
	fi
	rm -rf "$dir"
	if meson setup "$dir" --cross-file "$cross" --werror \
		-Dbuildtype=debugoptimized -Dcore_only=true -Dcompat=disabled \
		"$@" >"$log" 2>&1 && ninja -C "$dir" >>"$log" 2>&1; then
		echo "ok - $plat: core and unit tests build with -Werror ($cross)"
	else
		echo "not ok - $plat: build ($cross; see $log)"
		grep -E 'error|ERROR' "$log" | head -20 | sed 's/^/#   /'
		return
	fi
	meson test -C "$dir" --num-processes 2 >>"$log" 2>&1
	python3 - "$dir/meson-logs/testlog.json" "$plat" $want <<'EOF'
import json, re, sys
path, plat, want = sys.argv[1], sys.argv[2], sys.argv[3:]
got = {}
for line in open(path):
    d = json.loads(line)
    out = d.get('stdout') or ''
    p = len(re.findall(r'^ok\b', out, re.M))
    f = len(re.findall(r'^not ok\b', out, re.M))
    got[d['name'].split(' / ')[-1]] = (d['result'], p, f, out)
for name in want:
    res, p, f, out = got.pop(name, ('not run', 0, 0, ''))
    good = res == 'OK' and f == 0 and p > 0
    print(f'{"" if good else "not "}ok - {plat}: unit test {name} '
          f'({res}, {p} passed, {f} failed)')
    if not good:
        for l in out.splitlines():
            if l.startswith(('not ok', '#')):
                print('#   ' + l)
for name in got:
    print(f'ok - {plat}: unit test {name} ({got[name][0]}; not required)')
EOF
}

while read -r line; do
	case $line in
	"not ok"*) not_ok "${line#not ok - }" ;;
	ok*) ok "${line#ok - }" ;;
	*) echo "$line" ;;
	esac
done < <(
	# The Xen public headers are architecture-neutral C (they select the
	# ABI by __aarch64__): the host's copy, after the cross sysroot's.
	platform aarch64 cross/aarch64-linux-gnu.txt aarch64-linux-gnu-gcc \
		-Dc_args=-idirafter/usr/include
	platform i386 cross/i386.txt gcc
	platform musl cross/musl.txt musl-gcc
)

# Only the privcmd file may use Linux (or Xen) headers: musl-gcc has no
# kernel headers at all, so the musl build above already proves it for
# every file it compiled; this names any offender directly.
offenders=$(grep -lE '^#include <(linux|asm|xen)/' src/*/*.c src/*/*.h |
	grep -v -e '^src/source/privcmd.c$' -e '^src/compat/')
if [ -z "$offenders" ]; then
	ok "portability: only src/source/privcmd.c (and the drop-in) include <linux/...>, <asm/...>, <xen/...>"
else
	not_ok "portability: Linux/Xen headers included by: $offenders"
fi
tap_done
