#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# Build libxfm's core and the unit tests (geometry - every kernel page x
# frame size, the simulated 64 KiB kernel page included -, privcmd ABI,
# public API, cache) for other ABIs and C libraries, and run them:
#   aarch64  aarch64-linux-gnu-gcc, run under qemu-aarch64 (qemu-user)
#   i386     gcc -m32 (xen_pfn_t and the privcmd structs are 32-bit there)
#   musl     musl-gcc, static: a minimal C library with no Linux headers
# and check that only src/source/privcmd.c uses Linux-specific
# headers.  Prints TAP ("ok N - aarch64: unit tests"); exit 1 on failure.
#
# Why not `meson setup --cross-file`: the project's meson.build needs
# json-c (CLI), xentoollog (compat) and cmocka found by pkg-config, and
# Debian 12 has no foreign-arch pkg-config for them; the core and the
# unit tests need none of it.  So each platform is compiled here directly
# (the same flags as meson: -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror),
# in build-<platform>/.  The unit tests use ten cmocka macros; cmocka for
# arm64/i386/musl is not installed and installing foreign-arch packages
# on the host is not wanted, so a small TAP-printing stand-in
# (build-<platform>/shim/cmocka.h, written below) runs them unchanged.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
N=0
FAILED=0

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; }
skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }

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
		>/dev/null 2>&1 || echo "# apt-get install failed"
fi

write_shim() { # DIR
	mkdir -p "$1/xen"
	# The Xen public headers are architecture-neutral C (they select
	# the ABI by __aarch64__/__i386__): use the host's copy.
	cp -r /usr/include/xen/. "$1/xen/" 2>/dev/null
	cat >"$1/cmocka.h" <<'EOF'
/* A stand-in for the cmocka calls the unit tests use, printing TAP. */
#ifndef SHIM_CMOCKA_H
#define SHIM_CMOCKA_H
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct CMUnitTest {
	const char *name;
	void (*test_func)(void **state);
	int (*setup_func)(void **state);
	int (*teardown_func)(void **state);
};

static jmp_buf shim_jmp;

#define cmocka_unit_test(f) { #f, f, NULL, NULL }
#define cmocka_unit_test_setup_teardown(f, s, t) { #f, f, s, t }
#define print_message(...) printf(__VA_ARGS__)
#define shim_fail(...) do { printf("# %s:%d: ", __FILE__, __LINE__); \
	printf(__VA_ARGS__); printf("\n"); longjmp(shim_jmp, 1); } while (0)
#define fail_msg(...) shim_fail(__VA_ARGS__)
#define assert_true(c) do { if (!(c)) shim_fail("%s", #c); } while (0)
#define assert_false(c) assert_true(!(c))
#define assert_non_null(p) assert_true((p) != NULL)
#define assert_null(p) assert_true((p) == NULL)
#define assert_int_equal(a, b) do { \
	uintmax_t x_ = (uintmax_t)(a), y_ = (uintmax_t)(b); \
	if (x_ != y_) shim_fail("%s: 0x%jx != 0x%jx", #a, x_, y_); } while (0)
#define assert_string_equal(a, b) do { if (strcmp((a), (b))) \
	shim_fail("\"%s\" != \"%s\"", (a), (b)); } while (0)
#define assert_memory_equal(a, b, n) assert_true(!memcmp((a), (b), (n)))

static inline int shim_run(const struct CMUnitTest *t, size_t n,
			   int (*gs)(void **), int (*gt)(void **))
{
	void *gstate = NULL, *state;
	volatile int failed = 0;

	printf("1..%zu\n", n);
	if (gs && gs(&gstate))
		return 1;
	for (size_t i = 0; i < n; i++) {
		volatile int bad = 0;

		state = gstate;
		fflush(stdout);
		if (setjmp(shim_jmp) == 0) {
			if (t[i].setup_func && t[i].setup_func(&state))
				bad = 1;
			else
				t[i].test_func(&state);
		} else {
			bad = 1;
		}
		if (t[i].teardown_func)
			t[i].teardown_func(&state);
		printf("%sok %zu - %s\n", bad ? "not " : "", i + 1, t[i].name);
		failed += bad;
	}
	if (gt)
		gt(&gstate);
	return failed;
}
#define cmocka_run_group_tests(t, s, d) \
	shim_run(t, sizeof(t) / sizeof((t)[0]), s, d)
#endif
EOF
}

# build PLATFORM CC RUNNER [CFLAGS...]: core + unit tests, then run them.
build() {
	local plat=$1 cc=$2 runner=$3
	shift 3
	local out=$top/build-$plat log=$top/build-$plat/build.log
	local flags=(-std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror
		-Wno-unused-parameter -Iinclude -Isrc/core -Isrc/source -Isrc/format -Isrc/util
		-I"$out/shim" "$@")
	rm -rf "$out"
	mkdir -p "$out/obj"
	write_shim "$out/shim"
	: >"$log"
	if ! command -v "$cc" >/dev/null; then
		skip "$plat: build" "no $cc"
		skip "$plat: unit tests" "no $cc"
		return
	fi
	local objs=() bad=0 tests="geometry privcmd-abi public-api cache"
	# The privcmd ABI test compares with the kernel's <xen/sys/privcmd.h>,
	# which needs kernel headers: a minimal C library has none.
	[ "$plat" = musl ] && tests="geometry public-api cache"
	for c in src/core/*.c src/format/*.c src/source/*.c src/util/*.c; do
		local o=$out/obj/$(basename "${c%.c}").o
		"$cc" "${flags[@]}" -c "$c" -o "$o" >>"$log" 2>&1 || bad=1
		objs+=("$o")
	done
	for t in $tests; do
		"$cc" "${flags[@]}" "tests/unit/test-$t.c" "${objs[@]}" \
			-lpthread -o "$out/test-$t" >>"$log" 2>&1 || bad=1
	done
	if [ $bad = 0 ]; then
		ok "$plat: core and unit tests build with -Werror ($cc $*)"
	else
		not_ok "$plat: build (see $log)"
		sed 's/^/#   /' "$log" | head -20
		return
	fi
	for t in $tests; do
		local res
		res=$(cd "$out" && timeout 300 $runner "./test-$t" 2>&1)
		local rc=$? pass fail
		pass=$(grep -c '^ok ' <<<"$res")
		fail=$(grep -c '^not ok ' <<<"$res")
		if [ $rc = 0 ] && [ "$fail" = 0 ] && [ "$pass" -gt 0 ]; then
			ok "$plat: unit test $t ($pass passed)"
		else
			not_ok "$plat: unit test $t (rc $rc, $pass passed, $fail failed)"
			grep -E '^(not ok|#)' <<<"$res" | head -10 | sed 's/^/#   /'
		fi
	done
}

build aarch64 aarch64-linux-gnu-gcc "qemu-aarch64 -L /usr/aarch64-linux-gnu"
# This kernel may lack IA32 emulation: run i386 binaries in qemu-i386.
build i386 gcc qemu-i386 -m32 -idirafter /usr/include/x86_64-linux-gnu
# Static: the binaries then need no musl loader at run time.
build musl musl-gcc "" -static

# Only the privcmd file may use Linux (or Xen) headers: musl-gcc has no
# kernel headers at all, so the musl build above already proves it for
# every file it compiled; this names any offender directly.
offenders=$(grep -lE '^#include <(linux|asm|xen)/' src/core/*.c src/core/*.h \
	src/source/*.c src/source/*.h | grep -v 'src/source/privcmd.c')
if [ -z "$offenders" ]; then
	ok "portability: only src/source/privcmd.c may include <linux/...>, <asm/...>, <xen/...> (none else does)"
else
	not_ok "portability: Linux/Xen headers included by: $offenders"
fi
echo "1..$N"
exit $((FAILED > 0))
