/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * arm64.c - VMSAv8-64 stage 1 walks of the EL1&0 regime: both halves
 * (TTBR0 below, TTBR1 above, chosen by VA bit 55), 4/16/64 KiB granules
 * per half, any T0SZ/T1SZ, table/block/page descriptors, FEAT_LPA
 * (52-bit output with 64 KiB) and FEAT_LPA2 (TCR.DS).  Facts from the
 * Arm ARM (D8, "The AArch64 Virtual Memory System Architecture").
 */
#include <errno.h>

#include "walk.h"

#define TCR_EPD0  (UINT64_C(1) << 7)
#define TCR_EPD1  (UINT64_C(1) << 23)
#define TCR_TBI0  (UINT64_C(1) << 37)
#define TCR_TBI1  (UINT64_C(1) << 38)
#define TCR_DS    (UINT64_C(1) << 59)

struct regime {
	uint64_t ttbr;
	unsigned int gs;      /* granule shift: 12, 14, 16 */
	unsigned int insize;  /* VA bits translated: 64 - TxSZ */
	unsigned int oasize;  /* output address bits: TCR.IPS */
	bool ds;              /* LPA2: 52-bit OA with 4/16 KiB */
	bool lpa;             /* 52-bit OA with 64 KiB (FEAT_LPA) */
};

static uint64_t field(uint64_t v, unsigned int lo, unsigned int n)
{
	return (v >> lo) & ((UINT64_C(1) << n) - 1);
}

static uint64_t mask(unsigned int hi, unsigned int lo)
{
	return (hi == 63 ? ~UINT64_C(0) : (UINT64_C(1) << (hi + 1)) - 1) &
	       ~((UINT64_C(1) << lo) - 1);
}

static const unsigned int ips_bits[8] = { 32, 36, 40, 42, 44, 48, 52, 52 };

/* Granule shift from TG0 (@hi false) or TG1 encodings; 0 if reserved. */
static unsigned int granule(uint64_t tg, bool hi)
{
	static const unsigned int tg0[4] = { 12, 16, 14, 0 };
	static const unsigned int tg1[4] = { 0, 14, 12, 16 };

	return hi ? tg1[tg] : tg0[tg];
}

/* Output address held in a descriptor (or TTBR) whose low bits are
 * below @lo. */
static uint64_t out_addr(const struct regime *g, uint64_t d, unsigned int lo)
{
	uint64_t a;

	if (g->ds) {
		/* OA[51:50] in bits 9:8; bits 49..lo in place. */
		a = d & mask(49, lo);
		return a | (field(d, 8, 2) << 50);
	}
	a = d & mask(47, lo);
	if (g->lpa) /* 64 KiB: OA[51:48] in bits 15:12 */
		a |= field(d, 12, 4) << 48;
	return a;
}

static int start_level(const struct regime *g)
{
	unsigned int stride = g->gs - 3;
	unsigned int levels = (g->insize - g->gs + stride - 1) / stride;

	return 4 - (int)levels;
}

/* May a block descriptor appear at @level? */
static bool block_ok(const struct regime *g, int level)
{
	if (level == 2)
		return true;
	if (level == 1)
		return g->gs == 12 || (g->gs == 16 && g->lpa) ||
		       (g->gs == 14 && g->ds);
	if (level == 0)
		return g->gs == 12 && g->ds;
	return false;
}

static int setup(const xfm_vm_root *r, uint64_t va, struct regime *g,
		 xfm_translation *t)
{
	bool hi = field(va, 55, 1);
	uint64_t tcr = r->tcr, top;
	unsigned int txsz = field(tcr, hi ? 16 : 0, 6);
	bool tbi = tcr & (hi ? TCR_TBI1 : TCR_TBI0);
	unsigned int topbit = tbi ? 55 : 63;

	g->ttbr = hi ? r->root1 : r->root;
	g->gs = granule(field(tcr, hi ? 30 : 14, 2), hi);
	if (!g->gs)
		g->gs = 12; /* reserved TGx: treated as 4 KiB (Arm ARM) */
	g->ds = tcr & TCR_DS;
	g->oasize = ips_bits[field(tcr, 32, 3)];
	g->lpa = g->gs == 16 && g->oasize == 52;
	if (g->gs == 16 || !g->ds) {
		g->ds = false;
		if (g->oasize == 52 && g->gs != 16)
			g->oasize = 48;
	}
	/* TxSZ limits (without FEAT_TTST): 16..39, or 12 with 52-bit VAs
	 * (FEAT_LVA for 64 KiB, LPA2 otherwise). */
	if (txsz > 39)
		txsz = 39;
	if (txsz < 16 && !(txsz >= 12 && (g->gs == 16 || g->ds)))
		txsz = 16;
	g->insize = 64 - txsz;
	if (tcr & (hi ? TCR_EPD1 : TCR_EPD0))
		return xfm_vm_unmapped(t, XFM_VM_WALK_DISABLED,
				       start_level(g), 0, 0);
	/* Bits topbit..insize must all equal bit 55 (the half chosen). */
	top = field(va, g->insize, topbit - g->insize + 1);
	if (top != (hi ? mask(topbit - g->insize, 0) : 0))
		return xfm_vm_unmapped(t, XFM_VM_OUTSIDE, start_level(g), 0,
				       0);
	return 0;
}

static int mapped(xfm_translation *t, int level, uint64_t d, uint64_t a,
		  uint64_t base, unsigned int shift)
{
	t->reason = XFM_VM_MAPPED;
	t->level = level;
	t->entry = d;
	t->entry_addr = a;
	t->page_size = UINT64_C(1) << shift;
	t->pa = base | (t->va & (t->page_size - 1));
	return 0;
}

static bool too_big(const struct regime *g, uint64_t addr)
{
	return g->oasize < 64 && (addr >> g->oasize) != 0;
}

int xfm_vm_walk_arm64(const xfm_vm_root *r, uint64_t va, xfm_vm_read_fn rd,
		      void *opaque, xfm_translation *t, struct xfm_vm_hint *hint)
{
	struct regime g;
	unsigned int stride;
	uint64_t table;
	int level, rc;

	rc = setup(r, va, &g, t);
	if (rc < 0)
		return rc;
	stride = g.gs - 3;
	level = start_level(&g);
	{
		/* The start table has 2^(insize - its shift) entries and is
		 * aligned to its size, at least 64 bytes; with 52-bit output
		 * addresses TTBR[5:2] hold its bits 51:48. */
		unsigned int shift = g.gs + (3 - level) * stride;
		unsigned int lo = g.insize - shift + 3;

		lo = lo < 6 ? 6 : lo;
		table = g.ttbr & mask(47, lo);
		if (g.ds || g.lpa)
			table |= field(g.ttbr, 2, 4) << 48;
	}
	if (too_big(&g, table))
		return xfm_vm_unmapped(t, XFM_VM_ADDRESS_SIZE, level, g.ttbr,
				       0);
	if (hint && hint->use) {
		level = 3;
		table = hint->start_table;
	}
	for (;; level++) {
		unsigned int shift = g.gs + (3 - level) * stride;
		unsigned int ibits = level == start_level(&g) ?
				     g.insize - shift : stride;
		uint64_t a = table + field(va, shift, ibits) * 8, d, oa;

		rc = rd(opaque, a, &d, 8);
		if (rc < 0) {
			xfm_vm_unmapped(t, XFM_VM_TABLE_UNREADABLE, level, 0,
					a);
			return rc;
		}
		if (!(d & 1))
			return xfm_vm_unmapped(t, XFM_VM_NOT_PRESENT, level, d,
					       a);
		if (level == 3) {
			if (!(d & 2)) /* 0b01 at level 3 is reserved */
				return xfm_vm_unmapped(t, XFM_VM_RESERVED, 3,
						       d, a);
			oa = out_addr(&g, d, g.gs);
			if (too_big(&g, oa))
				return xfm_vm_unmapped(t, XFM_VM_ADDRESS_SIZE,
						       3, d, a);
			if (hint) {
				hint->leaf_ok = true;
				hint->leaf_table = table;
			}
			return mapped(t, 3, d, a, oa, g.gs);
		}
		oa = out_addr(&g, d, d & 2 ? g.gs : shift);
		if (too_big(&g, oa))
			return xfm_vm_unmapped(t, XFM_VM_ADDRESS_SIZE, level,
					       d, a);
		if (d & 2) {
			table = oa;
			continue;
		}
		if (!block_ok(&g, level))
			return xfm_vm_unmapped(t, XFM_VM_RESERVED, level, d,
					       a);
		return mapped(t, level, d, a, oa, shift);
	}
}
