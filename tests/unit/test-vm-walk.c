/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Page-table walkers against tables built here, one mode at a time, and
 * checked against a table of expected results worked out by hand from the
 * SDM and the Arm ARM (the literals below are not computed by any code
 * shared with the walkers): x86 32-bit (PSE, PSE-36), PAE, 4-level,
 * 5-level; arm64 4 KiB (39 and 48 bits, TBI, EPD), 16 KiB (47 and 48
 * bits), 64 KiB (42 bits; 52-bit VA with 52-bit PA), 4 KiB LPA2 52-bit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "walk.h"

/* Sparse guest-physical memory: 4 KiB pages created on first write. */
struct page {
	uint64_t pa;
	uint8_t data[4096];
};

static struct page mem[256];
static size_t nr_pages;

static struct page *find_page(uint64_t pa, bool create)
{
	for (size_t i = 0; i < nr_pages; i++)
		if (mem[i].pa == (pa & ~UINT64_C(4095)))
			return &mem[i];
	if (!create)
		return NULL;
	assert_true(nr_pages < 256);
	mem[nr_pages].pa = pa & ~UINT64_C(4095);
	memset(mem[nr_pages].data, 0, 4096);
	return &mem[nr_pages++];
}

static void set64(uint64_t pa, uint64_t v)
{
	memcpy(find_page(pa, true)->data + (pa & 4095), &v, 8);
}

static void set32(uint64_t pa, uint32_t v)
{
	memcpy(find_page(pa, true)->data + (pa & 4095), &v, 4);
}

static int mem_read(void *opaque, uint64_t pa, void *buf, size_t len)
{
	struct page *p = find_page(pa, false);

	(void)opaque;
	if (!p)
		return -ENOENT;
	memcpy(buf, p->data + (pa & 4095), len);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	nr_pages = 0;
	return 0;
}

/* One expected result: mapped (pa, size, level) or not (reason, level,
 * entry_addr). */
struct expect {
	uint64_t va;
	int rc;
	uint64_t pa;
	uint64_t size;
	int level;
	uint32_t reason;
	uint64_t entry_addr;
};

static void check(const xfm_vm_root *r, const struct expect *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		xfm_translation t;
		int rc = xfm_vm_walk(r, e[i].va, mem_read, NULL, &t);

		print_message("# va 0x%llx -> rc %d pa 0x%llx size 0x%llx "
			      "level %d reason %u entry_addr 0x%llx\n",
			      (unsigned long long)e[i].va, rc,
			      (unsigned long long)t.pa,
			      (unsigned long long)t.page_size, (int)t.level,
			      t.reason, (unsigned long long)t.entry_addr);
		assert_int_equal(rc, e[i].rc);
		assert_int_equal(t.va, e[i].va);
		assert_int_equal(t.level, e[i].level);
		assert_int_equal(t.reason, e[i].reason);
		if (rc == 0) {
			assert_int_equal(t.pa, e[i].pa);
			assert_int_equal(t.page_size, e[i].size);
		} else {
			assert_int_equal(t.entry_addr, e[i].entry_addr);
		}
	}
}

#define MAP(va, pa, size, lvl) { va, 0, pa, size, lvl, XFM_VM_MAPPED, 0 }
#define UNMAPPED(va, why, lvl, ea) { va, -EFAULT, 0, 0, lvl, why, ea }
#define UNREADABLE(va, lvl, ea) \
	{ va, -ENOENT, 0, 0, lvl, XFM_VM_TABLE_UNREADABLE, ea }
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void x86_64_4level(void **state)
{
	xfm_vm_root r = { .mode = XFM_VM_X86_64, .root = 0x1000 | 0x18 };
	static const struct expect e[] = {
		MAP(0x1234, 0x123456234, 0x1000, 1),
		MAP(0x212345, 0x200012345, 0x200000, 2),
		MAP(0x7ffffff8, 0x7ffffff8, 0x40000000, 3),
		MAP(0xffffffff80000000, 0x1000000, 0x200000, 2),
		MAP(0xffffffff80001abc, 0x1001abc, 0x200000, 2),
		MAP(0x600010, 0x800010, 0x200000, 2),  /* PAT bit 12 */
		UNMAPPED(0x3000, XFM_VM_NOT_PRESENT, 1, 0x4018),
		UNMAPPED(0x0000800000000000, XFM_VM_OUTSIDE, 4, 0),
		UNMAPPED(0xffff7fffffffffff, XFM_VM_OUTSIDE, 4, 0),
		UNMAPPED(0x400000, XFM_VM_RESERVED, 2, 0x3010),
		UNMAPPED(0x8000000000, XFM_VM_RESERVED, 4, 0x1008),
		UNMAPPED(0xc0000000, XFM_VM_NOT_PRESENT, 3, 0x2018),
		UNREADABLE(0x80000000, 2, 0x7fff0000),
	};

	(void)state;
	set64(0x1000 + 0 * 8, 0x2000 | 1);
	set64(0x2000 + 0 * 8, 0x3000 | 1 | 2 | 4);
	set64(0x3000 + 0 * 8, 0x4000 | 1);
	set64(0x4000 + 1 * 8, 0x0000000123456000 | 1 | (UINT64_C(1) << 63));
	set64(0x3000 + 1 * 8, 0x200000000 | 1 | 0x80);
	set64(0x2000 + 1 * 8, 0x40000000 | 1 | 0x80);
	set64(0x1000 + 511 * 8, 0x5000 | 1);
	set64(0x5000 + 510 * 8, 0x6000 | 1);
	set64(0x6000 + 0 * 8, 0x1000000 | 1 | 0x80);
	set64(0x3000 + 2 * 8, 0x600000 | 1 | 0x80 | (1 << 13));
	set64(0x1000 + 1 * 8, 0x7000 | 1 | 0x80);
	set64(0x3000 + 3 * 8, 0x800000 | 1 | 0x80 | (1 << 12));
	set64(0x2000 + 2 * 8, 0x7fff0000 | 1);
	check(&r, e, N(e));
}

static void x86_64_5level(void **state)
{
	xfm_vm_root r = { .mode = XFM_VM_X86_64_LA57, .root = 0x10000 };
	static const struct expect e[] = {
		MAP(0x10000c0000123, 0xc0000123, 0x40000000, 3),
		MAP(0xff00000000000042, 0xabcd042, 0x1000, 1),
		UNMAPPED(0x0100000000000000, XFM_VM_OUTSIDE, 5, 0),
		UNMAPPED(0x0000800000000000, XFM_VM_NOT_PRESENT, 5, 0x10000),
		UNMAPPED(0x1008000000000, XFM_VM_NOT_PRESENT, 4, 0x11008),
	};

	(void)state;
	set64(0x10000 + 1 * 8, 0x11000 | 1);
	set64(0x11000 + 0 * 8, 0x12000 | 1);
	set64(0x12000 + 3 * 8, 0xc0000000 | 1 | 0x80);
	/* 0xff00000000000042: PML5 index 0x100, the rest 0. */
	set64(0x10000 + 256 * 8, 0x13000 | 1);
	set64(0x13000, 0x14000 | 1);
	set64(0x14000, 0x15000 | 1);
	set64(0x15000, 0x16000 | 1);
	set64(0x16000, 0xabcd000 | 1);
	check(&r, e, N(e));
}

static void x86_32(void **state)
{
	xfm_vm_root r = { .mode = XFM_VM_X86_32, .root = 0x20000,
			  .flags = XFM_VM_X86_PSE };
	static const struct expect pse[] = {
		MAP(0x5123, 0xabc123, 0x1000, 1),
		MAP(0xc0012345, 0x412345, 0x400000, 2),
		MAP(0xc0400010, 0x300800010, 0x400000, 2),  /* PSE-36 */
		UNMAPPED(0xc0800000, XFM_VM_RESERVED, 2, 0x20c08),
		UNMAPPED(0x6000, XFM_VM_NOT_PRESENT, 1, 0x21018),
		UNMAPPED(0x80000000, XFM_VM_NOT_PRESENT, 2, 0x20800),
		UNMAPPED(0x100000000, XFM_VM_OUTSIDE, 2, 0),
	};
	/* Without CR4.PSE the PS bit is ignored: a page table at 4 MiB. */
	static const struct expect nopse[] = {
		MAP(0x5123, 0xabc123, 0x1000, 1),
		UNREADABLE(0xc0012345, 1, 0x400048),
	};

	(void)state;
	set32(0x20000 + 0 * 4, 0x21000 | 1);
	set32(0x21000 + 5 * 4, 0x00abc000 | 1);
	set32(0x20000 + 768 * 4, 0x00400000 | 1 | 0x80);
	set32(0x20000 + 769 * 4, 0x00800000 | (3 << 13) | 1 | 0x80);
	set32(0x20000 + 770 * 4, 0x00e00000 | 1 | 0x80);
	check(&r, pse, N(pse));
	r.flags = 0;
	check(&r, nopse, N(nopse));
}

static void x86_pae(void **state)
{
	/* CR3 of PAE is 32-byte aligned, not page aligned. */
	xfm_vm_root r = { .mode = XFM_VM_X86_PAE, .root = 0x30020 };
	static const struct expect e[] = {
		MAP(0xc0001008, 0x100005008, 0x1000, 1),
		MAP(0xc0201234, 0x1201234, 0x200000, 2),
		UNMAPPED(0x1000, XFM_VM_RESERVED, 3, 0x30020),
		UNMAPPED(0x40000000, XFM_VM_NOT_PRESENT, 3, 0x30028),
		UNMAPPED(0xc0400000, XFM_VM_NOT_PRESENT, 2, 0x31010),
		UNMAPPED(0x100000000, XFM_VM_OUTSIDE, 3, 0),
	};

	(void)state;
	set64(0x30020 + 3 * 8, 0x31000 | 1);
	set64(0x31000 + 0 * 8, 0x32000 | 1);
	set64(0x32000 + 1 * 8, 0x100005000 | 1);
	set64(0x31000 + 1 * 8, 0x1200000 | 1 | 0x80);
	set64(0x30020 + 0 * 8, 0x33000 | 1 | 2);
	check(&r, e, N(e));
}

/* TCR_EL1 fields */
#define T0SZ(n) ((uint64_t)(n))
#define T1SZ(n) ((uint64_t)(n) << 16)
#define TG0_4K  (UINT64_C(0) << 14)
#define TG0_64K (UINT64_C(1) << 14)
#define TG0_16K (UINT64_C(2) << 14)
#define TG1_16K (UINT64_C(1) << 30)
#define TG1_4K  (UINT64_C(2) << 30)
#define TG1_64K (UINT64_C(3) << 30)
#define IPS(n)  ((uint64_t)(n) << 32)
#define EPD0    (UINT64_C(1) << 7)
#define TBI0    (UINT64_C(1) << 37)
#define DS      (UINT64_C(1) << 59)

static void arm64_4k(void **state)
{
	xfm_vm_root r = {
		.mode = XFM_VM_ARM64,
		.root = 0x40000 | (UINT64_C(0x12) << 48) | 1, /* ASID, CnP */
		.root1 = 0x41000,
		.tcr = T0SZ(16) | T1SZ(16) | TG0_4K | TG1_4K | IPS(5),
	};
	static const struct expect e[] = {
		MAP(0x40000123, 0x80000123, 0x40000000, 1),
		MAP(0x400005, 0x600005, 0x200000, 2),
		MAP(0x3abc, 0x12345abc, 0x1000, 3),
		MAP(0xffff800000012345, 0x40012345, 0x200000, 2),
		UNMAPPED(0x4000, XFM_VM_RESERVED, 3, 0x44020),
		UNMAPPED(0x5000, XFM_VM_NOT_PRESENT, 3, 0x44028),
		UNMAPPED(0x0001000000000000, XFM_VM_OUTSIDE, 0, 0),
		UNMAPPED(0xfffe800000000000, XFM_VM_OUTSIDE, 0, 0),
		UNMAPPED(0x5600000000003abc, XFM_VM_OUTSIDE, 0, 0),
		UNMAPPED(0x8000000000, XFM_VM_RESERVED, 0, 0x40008),
		UNMAPPED(0xffff000000000000, XFM_VM_NOT_PRESENT, 0, 0x41000),
		MAP(0x80000000, 0x100000000, 0x40000000, 1),
	};
	/* the same tables with a 32-bit IPS: that block is beyond it */
	static const struct expect ips32[] = {
		MAP(0x40000123, 0x80000123, 0x40000000, 1),
		UNMAPPED(0x80000000, XFM_VM_ADDRESS_SIZE, 1, 0x42010),
	};
	static const struct expect tbi[] = {
		MAP(0x5600000000003abc, 0x12345abc, 0x1000, 3),
	};
	static const struct expect epd[] = {
		UNMAPPED(0x3abc, XFM_VM_WALK_DISABLED, 0, 0),
		MAP(0xffff800000012345, 0x40012345, 0x200000, 2),
	};

	(void)state;
	set64(0x40000 + 0 * 8, 0x42000 | 3);
	set64(0x42000 + 1 * 8, 0x80000000 | 1 | (UINT64_C(1) << 10));
	set64(0x42000 + 0 * 8, 0x43000 | 3);
	set64(0x43000 + 2 * 8, 0x00600000 | 1);
	set64(0x43000 + 0 * 8, 0x44000 | 3);
	set64(0x44000 + 3 * 8, 0x12345000 | 3 | (UINT64_C(1) << 54));
	set64(0x44000 + 4 * 8, 0x12346000 | 1);
	set64(0x41000 + 256 * 8, 0x45000 | 3);
	set64(0x45000 + 0 * 8, 0x46000 | 3);
	set64(0x46000 + 0 * 8, 0x40000000 | 1);
	set64(0x40000 + 1 * 8, 0x8000000000 | 1);
	set64(0x42000 + 2 * 8, UINT64_C(0x100000000) | 1);
	check(&r, e, N(e));
	r.tcr &= ~IPS(7);
	check(&r, ips32, N(ips32));
	r.tcr |= IPS(5);
	r.tcr |= TBI0;
	check(&r, tbi, N(tbi));
	r.tcr |= EPD0;
	check(&r, epd, N(epd));
}

static void arm64_4k_39bit(void **state)
{
	xfm_vm_root r = {
		.mode = XFM_VM_ARM64, .root = 0x50000,
		.tcr = T0SZ(25) | T1SZ(25) | TG0_4K | TG1_4K | IPS(2),
	};
	static const struct expect e[] = {
		MAP(0x40000010, 0xc0000010, 0x40000000, 1),
		UNMAPPED(0x8000000000, XFM_VM_OUTSIDE, 1, 0),
		UNMAPPED(0x7fc0000000, XFM_VM_NOT_PRESENT, 1, 0x50ff8),
	};

	(void)state;
	set64(0x50000 + 1 * 8, 0xc0000000 | 1);
	check(&r, e, N(e));
}

static void arm64_16k(void **state)
{
	xfm_vm_root r = {
		.mode = XFM_VM_ARM64, .root = 0x70000, .root1 = 0x60000,
		.tcr = T0SZ(16) | T1SZ(17) | TG0_16K | TG1_16K | IPS(5),
	};
	static const struct expect e[] = {
		/* TTBR1, 47 bits: starts at level 1 (2048 entries) */
		MAP(0xffff800002123456, 0x2123456, 0x2000000, 2),
		MAP(0xffff800000009ff0, 0x9abcdff0, 0x4000, 3),
		UNMAPPED(0xffff000000000000, XFM_VM_OUTSIDE, 1, 0),
		UNMAPPED(0xffffc00000000000, XFM_VM_NOT_PRESENT, 1, 0x62000),
		/* TTBR0, 48 bits: level 0 has 2 entries */
		MAP(0x800000000100, 0x11110100, 0x4000, 3),
		UNMAPPED(0x801000000000, XFM_VM_RESERVED, 1, 0x74008),
		UNMAPPED(0x100, XFM_VM_NOT_PRESENT, 0, 0x70000),
	};

	(void)state;
	set64(0x62000, 0); /* the rest of the 16 KiB level-1 table */
	set64(0x60000 + 0 * 8, 0x64000 | 3);
	set64(0x64000 + 1 * 8, 0x2000000 | 1);
	set64(0x64000 + 0 * 8, 0x68000 | 3);
	set64(0x68000 + 2 * 8, 0x9abcc000 | 3);
	set64(0x70000 + 1 * 8, 0x74000 | 3);
	set64(0x74000 + 0 * 8, 0x78000 | 3);
	set64(0x78000 + 0 * 8, 0x7c000 | 3);
	set64(0x7c000 + 0 * 8, 0x11110000 | 3);
	set64(0x74000 + 1 * 8, 0x1000000000 | 1);
	check(&r, e, N(e));
}

static void arm64_64k(void **state)
{
	xfm_vm_root r = {
		.mode = XFM_VM_ARM64, .root = 0x80000,
		.root1 = 0xa0000 | (1 << 2),  /* BADDR[51:48] = 1 */
		.tcr = T0SZ(22) | T1SZ(12) | TG0_64K | TG1_64K | IPS(6),
	};
	static const struct expect e[] = {
		/* TTBR0, 42 bits: starts at level 2 (8192 entries) */
		MAP(0x2005fedc, 0x12345fedc, 0x10000, 3),
		MAP(0x41234567, 0x61234567, 0x20000000, 2),
		UNMAPPED(0x40000000000, XFM_VM_OUTSIDE, 2, 0),
		/* TTBR1, 52 bits, 52-bit output addresses */
		MAP(0xfff0000000000abc, 0x3000020000abc, 0x20000000, 2),
		MAP(0xfff0040000000123, 0x40000000123, 0x40000000000, 1),
		UNMAPPED(0xffe0000000000000, XFM_VM_OUTSIDE, 1, 0),
		UNMAPPED(0xfff0080000000000, XFM_VM_NOT_PRESENT, 1,
			 0x10000000a0010),
	};

	(void)state;
	set64(0x80000 + 1 * 8, 0x90000 | 3);
	set64(0x90000 + 5 * 8, 0x123450000 | 3);
	set64(0x80000 + 2 * 8, 0x60000000 | 1);
	set64(0x10000000a0000 + 0 * 8, 0xb0000 | (2 << 12) | 3);
	set64(0x20000000b0000 + 0 * 8, 0x20000000 | (3 << 12) | 1);
	set64(0x10000000a0000 + 1 * 8, 0x40000000000 | 1);
	check(&r, e, N(e));
}

static void arm64_4k_lpa2(void **state)
{
	xfm_vm_root r = {
		.mode = XFM_VM_ARM64, .root1 = 0xc0000,
		.tcr = T0SZ(12) | T1SZ(12) | TG0_4K | TG1_4K | IPS(6) | DS,
	};
	static const struct expect e[] = {
		/* level -1 has 16 entries; a 512 GiB block at level 0 */
		MAP(0xfff0000000001234, 0x4008000001234, 0x8000000000, 0),
		UNMAPPED(0xfff1000000000000, XFM_VM_NOT_PRESENT, -1, 0xc0008),
	};

	(void)state;
	set64(0xc0000 + 0 * 8, 0xc1000 | 3);
	set64(0xc1000 + 0 * 8, 0x8000000000 | (1 << 8) | 1);
	check(&r, e, N(e));
}

static void bad_root(void **state)
{
	xfm_vm_root r = { .mode = 99 };
	xfm_translation t;

	(void)state;
	assert_int_equal(xfm_vm_walk(&r, 0, mem_read, NULL, &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(x86_64_4level, reset),
		cmocka_unit_test_setup(x86_64_5level, reset),
		cmocka_unit_test_setup(x86_32, reset),
		cmocka_unit_test_setup(x86_pae, reset),
		cmocka_unit_test_setup(arm64_4k, reset),
		cmocka_unit_test_setup(arm64_4k_39bit, reset),
		cmocka_unit_test_setup(arm64_16k, reset),
		cmocka_unit_test_setup(arm64_64k, reset),
		cmocka_unit_test_setup(arm64_4k_lpa2, reset),
		cmocka_unit_test(bad_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
