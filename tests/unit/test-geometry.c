/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Page geometry and extent arithmetic for every kernel page x frame size
 * combination xfm must handle (4K/16K/64K each), odd counts, orders, and
 * overflow at the edges.  The sizes are parameters: no real 64 KiB kernel
 * is needed to test the 64 KiB case.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "private.h"

#define K4 UINT64_C(4096)
#define K16 UINT64_C(16384)
#define K64 UINT64_C(65536)

static uint64_t bytes_for(uint64_t frame, uint64_t kpage, uint64_t n)
{
	struct xfm_pagesz p = { frame, kpage };
	uint64_t b = 0;

	assert_int_equal(xfm_map_bytes(&p, n, &b), 0);
	return b;
}

static void map_bytes_equal_pages(void **state)
{
	(void)state;
	assert_int_equal(bytes_for(K4, K4, 1), K4);
	assert_int_equal(bytes_for(K4, K4, 7), 7 * K4);
	assert_int_equal(bytes_for(K64, K64, 3), 3 * K64);
	assert_int_equal(bytes_for(K4, K4, 0), 0);
}

static void map_bytes_big_kernel_page(void **state)
{
	(void)state;
	/* 16 KiB kernel: four frames per page. */
	assert_int_equal(bytes_for(K4, K16, 1), K16);
	assert_int_equal(bytes_for(K4, K16, 4), K16);
	assert_int_equal(bytes_for(K4, K16, 5), 2 * K16);
	assert_int_equal(bytes_for(K4, K16, 7), 2 * K16);
	/* 64 KiB kernel: N frames occupy ceil(N/16) pages. */
	assert_int_equal(bytes_for(K4, K64, 1), K64);
	assert_int_equal(bytes_for(K4, K64, 16), K64);
	assert_int_equal(bytes_for(K4, K64, 17), 2 * K64);
	assert_int_equal(bytes_for(K4, K64, 33), 3 * K64);
	assert_int_equal(bytes_for(K16, K64, 5), 2 * K64);
}

static void map_bytes_big_frame(void **state)
{
	(void)state;
	/* A frame larger than the kernel page (e.g. a 64K hypervisor). */
	assert_int_equal(bytes_for(K64, K4, 1), K64);
	assert_int_equal(bytes_for(K64, K4, 3), 3 * K64);
	assert_int_equal(bytes_for(K16, K4, 5), 5 * K16);
}

static void frames_per_kpage(void **state)
{
	struct xfm_pagesz a = { K4, K4 }, b = { K4, K16 }, c = { K4, K64 },
			  d = { K64, K4 };

	(void)state;
	assert_int_equal(xfm_frames_per_kpage(&a), 1);
	assert_int_equal(xfm_frames_per_kpage(&b), 4);
	assert_int_equal(xfm_frames_per_kpage(&c), 16);
	assert_int_equal(xfm_frames_per_kpage(&d), 1);
}

static void map_bytes_overflow(void **state)
{
	struct xfm_pagesz p = { K4, K64 }, q = { K4, K4 };
	uint64_t b;

	(void)state;
	assert_int_equal(xfm_map_bytes(&p, UINT64_MAX, &b), -EOVERFLOW);
	assert_int_equal(xfm_map_bytes(&q, UINT64_MAX / K4 + 1, &b),
			 -EOVERFLOW);
	assert_int_equal(xfm_map_bytes(&q, UINT64_MAX / K4, &b), 0);
	assert_int_equal(b, UINT64_MAX / K4 * K4);
	/* The largest count that still fits with 64K pages. */
	assert_int_equal(xfm_map_bytes(&p, (UINT64_MAX / K64) * 16, &b), 0);
	assert_int_equal(xfm_map_bytes(&p, (UINT64_MAX / K64) * 16 + 1, &b),
			 -EOVERFLOW);
}

static void frame_offsets(void **state)
{
	struct xfm_pagesz p = { K4, K16 };
	uint64_t off;

	(void)state;
	assert_int_equal(xfm_frame_offset(&p, 5, &off), 0);
	assert_int_equal(off, 5 * K4);
	assert_int_equal(xfm_frame_offset(&p, UINT64_MAX / K4 + 1, &off),
			 -EOVERFLOW);
}

static void extents(void **state)
{
	xfm_extent e[] = {
		{ .frame = 0x1000, .order = 0 },
		{ .frame = 0x2000, .order = 9 },  /* 2 MiB */
		{ .frame = 0x40000, .order = 18 }, /* 1 GiB */
		{ .frame = 7, .order = 0 },
	};
	uint64_t n = 0;

	(void)state;
	assert_int_equal(xfm_extent_frames(e, 4, &n), 0);
	assert_int_equal(n, 1 + 512 + 262144 + 1);
	assert_int_equal(xfm_extent_frames(e, 0, &n), 0);
	assert_int_equal(n, 0);
}

static void extents_bad(void **state)
{
	xfm_extent misaligned = { .frame = 0x2001, .order = 1 };
	xfm_extent too_big = { .frame = 0, .order = XFM_MAX_ORDER + 1 };
	xfm_extent top = { .frame = UINT64_MAX, .order = 0 };
	xfm_extent wraps = { .frame = UINT64_MAX & ~UINT64_C(3), .order = 3 };
	xfm_extent many[2] = { { 0, XFM_MAX_ORDER, 0 }, { 0, XFM_MAX_ORDER, 0 } };
	uint64_t n;

	(void)state;
	assert_int_equal(xfm_extent_frames(&misaligned, 1, &n), -EINVAL);
	assert_int_equal(xfm_extent_frames(&too_big, 1, &n), -EINVAL);
	assert_int_equal(xfm_extent_frames(&top, 1, &n), 0);
	assert_int_equal(n, 1);
	/* Not aligned to 2^3 (its low bits are 100), so rejected. */
	assert_int_equal(xfm_extent_frames(&wraps, 1, &n), -EINVAL);
	assert_int_equal(xfm_extent_frames(many, 2, &n), 0);
	assert_int_equal(n, UINT64_C(2) << XFM_MAX_ORDER);
}

static void sysfs_pagesize(void **state)
{
	uint64_t v = 0;

	(void)state;
	/* Linux prints the hypervisor page size in hex, without 0x. */
	assert_int_equal(xfm_parse_sysfs_pagesize("1000\n", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(xfm_parse_sysfs_pagesize("10000", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(xfm_parse_sysfs_pagesize("0x4000\n", &v), 0);
	assert_int_equal(v, 16384);
	assert_int_equal(xfm_parse_sysfs_pagesize("4096\n", &v), -EINVAL);
	assert_int_equal(xfm_parse_sysfs_pagesize("", &v), -EINVAL);
	assert_int_equal(xfm_parse_sysfs_pagesize("zz", &v), -EINVAL);
	assert_int_equal(xfm_parse_sysfs_pagesize("0", &v), -EINVAL);
}

static void pow2_log2(void **state)
{
	(void)state;
	assert_true(xfm_is_pow2(4096));
	assert_false(xfm_is_pow2(0));
	assert_false(xfm_is_pow2(4095));
	assert_int_equal(xfm_log2(4096), 12);
	assert_int_equal(xfm_log2(65536), 16);
	assert_int_equal(xfm_log2(1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_bytes_equal_pages),
		cmocka_unit_test(map_bytes_big_kernel_page),
		cmocka_unit_test(map_bytes_big_frame),
		cmocka_unit_test(frames_per_kpage),
		cmocka_unit_test(map_bytes_overflow),
		cmocka_unit_test(frame_offsets),
		cmocka_unit_test(extents),
		cmocka_unit_test(extents_bad),
		cmocka_unit_test(sysfs_pagesize),
		cmocka_unit_test(pow2_log2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
