/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cmocka-tap/cmocka.h - a stand-in for the cmocka calls the unit tests
 * use, printing TAP.  Used where cmocka is not installed: the platform
 * builds (aarch64, i386, musl; scripts/test-platforms.sh), whose foreign
 * libraries Debian does not install on the host.  tests/unit/meson.build
 * picks it when dependency('cmocka') is not found in a core-only build.
 */
#ifndef XFM_CMOCKA_TAP_H
#define XFM_CMOCKA_TAP_H
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

static jmp_buf tap_jmp;

#define cmocka_unit_test(f) { #f, f, NULL, NULL }
#define cmocka_unit_test_setup(f, s) { #f, f, s, NULL }
#define cmocka_unit_test_setup_teardown(f, s, t) { #f, f, s, t }
#define print_message(...) printf(__VA_ARGS__)
#define tap_fail(...) do { printf("# %s:%d: ", __FILE__, __LINE__); \
	printf(__VA_ARGS__); printf("\n"); longjmp(tap_jmp, 1); } while (0)
#define fail_msg(...) tap_fail(__VA_ARGS__)
#define assert_true(c) do { if (!(c)) tap_fail("%s", #c); } while (0)
#define assert_false(c) assert_true(!(c))
#define assert_non_null(p) assert_true((p) != NULL)
#define assert_null(p) assert_true((p) == NULL)
#define assert_int_equal(a, b) do { \
	uintmax_t x_ = (uintmax_t)(a), y_ = (uintmax_t)(b); \
	if (x_ != y_) tap_fail("%s: 0x%jx != 0x%jx", #a, x_, y_); } while (0)
#define assert_string_equal(a, b) do { if (strcmp((a), (b))) \
	tap_fail("\"%s\" != \"%s\"", (a), (b)); } while (0)
#define assert_memory_equal(a, b, n) assert_true(!memcmp((a), (b), (n)))

static inline int cmocka_tap_run(const struct CMUnitTest *t, size_t n,
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
		if (setjmp(tap_jmp) == 0) {
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
	cmocka_tap_run(t, sizeof(t) / sizeof((t)[0]), s, d)
#endif
