/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The CLI's number, range and pattern parser: exact values at the edges
 * of 64 bits, and the exact reason for every refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "cli.h"

static uint64_t num(const char *s)
{
	const char *why = NULL;
	uint64_t v = 0;

	assert_int_equal(parse_u64(s, &v, &why), 0);
	return v;
}

static const char *num_err(const char *s)
{
	const char *why = NULL;
	uint64_t v = 0;

	assert_int_equal(parse_u64(s, &v, &why), -1);
	return why;
}

static void numbers(void **state)
{
	(void)state;
	assert_true(num("0") == 0);
	assert_true(num("4096") == 4096);
	assert_true(num("0x1000") == 4096);
	assert_true(num("0X1f") == 31);
	assert_true(num("4k") == 4096);
	assert_true(num("4K") == 4096);
	assert_true(num("2M") == 2u << 20);
	assert_true(num("1GiB") == UINT64_C(1) << 30);
	assert_true(num("0x10t") == UINT64_C(16) << 40);
	assert_true(num("18446744073709551615") == UINT64_MAX);
	assert_true(num("0xffffffffffffffff") == UINT64_MAX);
	assert_true(num("16777215T") == UINT64_C(16777215) << 40);
}

static void number_errors(void **state)
{
	(void)state;
	assert_string_equal(num_err(""), "missing number");
	assert_string_equal(num_err("0x"), "not a number");
	assert_string_equal(num_err("-1"), "not a number");
	assert_string_equal(num_err(" 1"), "not a number");
	assert_string_equal(num_err("18446744073709551616"), "number too large");
	assert_string_equal(num_err("0x10000000000000000"), "number too large");
	assert_string_equal(num_err("16777216T"), "number too large");
	assert_string_equal(num_err("0x1p"), "unknown suffix 'p'");
	assert_string_equal(num_err("12kb"), "unknown suffix 'kb'");
	assert_string_equal(num_err("1e3"), "unknown suffix 'e3'");
}

static void sizes(void **state)
{
	const char *why;
	uint64_t v;

	(void)state;
	assert_int_equal(parse_size("0", &v, &why), -1);
	assert_string_equal(why, "size must not be zero");
	assert_int_equal(parse_size("1", &v, &why), 0);
	assert_true(v == 1);
}

static void ranges(void **state)
{
	uint64_t a, l;
	const char *why;
	bool has;

	(void)state;
	assert_int_equal(parse_range("0x1000+64", &a, &l, &has, &why), 0);
	assert_true(a == 0x1000 && l == 64 && has);
	assert_int_equal(parse_range("4k..8k", &a, &l, &has, &why), 0);
	assert_true(a == 4096 && l == 4096 && has);
	assert_int_equal(parse_range("0x20", &a, &l, &has, &why), 0);
	assert_true(a == 0x20 && !has);
	assert_int_equal(parse_range("0xffffffffffffff00+0xff", &a, &l, &has,
				     &why), 0);
	assert_true(l == 0xff);
	assert_int_equal(parse_range("0xffffffffffffff00+0x100", &a, &l,
				     &has, &why), -1);
	assert_string_equal(why, "range wraps past the end of the address "
			    "space");
	assert_int_equal(parse_range("8k..4k", &a, &l, &has, &why), -1);
	assert_string_equal(why, "END must be above ADDR");
	assert_int_equal(parse_range("4k..4k", &a, &l, &has, &why), -1);
	assert_int_equal(parse_range("+4", &a, &l, &has, &why), -1);
	assert_string_equal(why, "missing number");
	assert_int_equal(parse_range("1+0", &a, &l, &has, &why), -1);
	assert_string_equal(why, "size must not be zero");
	assert_int_equal(parse_range("1..", &a, &l, &has, &why), -1);
	assert_string_equal(why, "missing number");
}

static void hex_ok(const char *s, const char *want, size_t n)
{
	const char *why = NULL;
	uint8_t *p = NULL;
	size_t len = 0;

	assert_int_equal(parse_hex(s, &p, &len, &why), 0);
	assert_int_equal(len, n);
	assert_memory_equal(p, want, n);
	free(p);
}

static const char *hex_err(const char *s)
{
	const char *why = NULL;
	uint8_t *p = NULL;
	size_t len;

	assert_int_equal(parse_hex(s, &p, &len, &why), -1);
	assert_null(p);
	return why;
}

static void patterns(void **state)
{
	(void)state;
	hex_ok("deadbeef", "\xde\xad\xbe\xef", 4);
	hex_ok("DE AD be ef", "\xde\xad\xbe\xef", 4);
	hex_ok("de:ad:be:ef", "\xde\xad\xbe\xef", 4);
	hex_ok("0xdead 0xbeef", "\xde\xad\xbe\xef", 4);
	hex_ok(" 00 ", "\0", 1);
	assert_string_equal(hex_err(""), "empty pattern");
	assert_string_equal(hex_err(" : "), "empty pattern");
	assert_string_equal(hex_err("abc"), "odd number of hex digits");
	assert_string_equal(hex_err("a bc"), "odd number of hex digits");
	assert_string_equal(hex_err("zz"), "bad hex digit 'z'");
	assert_string_equal(hex_err("0g"), "bad hex digit 'g'");
}

static void counts_and_seconds(void **state)
{
	const char *why;
	uint64_t v;
	double d;

	(void)state;
	assert_int_equal(parse_count("10", &v, &why), 0);
	assert_true(v == 10);
	assert_int_equal(parse_count("0", &v, &why), -1);
	assert_string_equal(why, "not a positive count");
	assert_int_equal(parse_count("1k", &v, &why), -1);
	assert_int_equal(parse_count("9223372036854775808", &v, &why), -1);
	assert_int_equal(parse_seconds("0.25", &d, &why), 0);
	assert_true(d == 0.25);
	assert_int_equal(parse_seconds("0", &d, &why), -1);
	assert_int_equal(parse_seconds("nan", &d, &why), -1);
	assert_int_equal(parse_seconds("1s", &d, &why), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbers),
		cmocka_unit_test(number_errors),
		cmocka_unit_test(sizes),
		cmocka_unit_test(ranges),
		cmocka_unit_test(patterns),
		cmocka_unit_test(counts_and_seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
