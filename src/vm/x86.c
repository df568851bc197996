/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * x86.c - x86 page-table walks: 32-bit 2-level (with PSE and PSE-36),
 * PAE 3-level, 64-bit 4-level and 5-level (LA57).  Facts from the Intel
 * SDM vol. 3A, chapter 4 (Paging).
 */
#include <errno.h>
#include <string.h>

#include "walk.h"

#define X86_P  (UINT64_C(1) << 0)
#define X86_PS (UINT64_C(1) << 7)
/* Address bits of a 64-bit entry: 51..12 (MAXPHYADDR at most 52). */
#define ADDR_MASK_64 UINT64_C(0x000ffffffffff000)

static uint64_t bits(uint64_t v, unsigned int hi, unsigned int lo)
{
	return (v >> lo) & ((UINT64_C(1) << (hi - lo + 1)) - 1);
}

static int read_entry(xfm_vm_read_fn rd, void *opaque, uint64_t pa,
		      size_t len, int level, xfm_translation *t,
		      uint64_t *entry)
{
	uint32_t e32;
	int rc;

	if (len == 4) {
		rc = rd(opaque, pa, &e32, 4);
		*entry = e32;
	} else {
		rc = rd(opaque, pa, entry, 8);
	}
	if (rc < 0) {
		xfm_vm_unmapped(t, XFM_VM_TABLE_UNREADABLE, level, 0, pa);
		return rc;
	}
	return 0;
}

static int mapped(xfm_translation *t, int level, uint64_t entry,
		  uint64_t entry_addr, uint64_t base, uint64_t size)
{
	t->reason = XFM_VM_MAPPED;
	t->level = level;
	t->entry = entry;
	t->entry_addr = entry_addr;
	t->page_size = size;
	t->pa = base + (t->va & (size - 1));
	return 0;
}

static int walk_32(const xfm_vm_root *r, uint64_t va, xfm_vm_read_fn rd,
		   void *opaque, xfm_translation *t)
{
	uint64_t pde, pte, a;
	int rc;

	if (va > UINT32_MAX)
		return xfm_vm_unmapped(t, XFM_VM_OUTSIDE, 2, 0, 0);
	a = (r->root & UINT64_C(0xfffff000)) + bits(va, 31, 22) * 4;
	rc = read_entry(rd, opaque, a, 4, 2, t, &pde);
	if (rc < 0)
		return rc;
	if (!(pde & X86_P))
		return xfm_vm_unmapped(t, XFM_VM_NOT_PRESENT, 2, pde, a);
	if ((pde & X86_PS) && (r->flags & XFM_VM_X86_PSE)) {
		/* PSE-36: PA bits 39..32 in PDE bits 20..13; bit 21 is
		 * reserved. */
		if (pde & (UINT64_C(1) << 21))
			return xfm_vm_unmapped(t, XFM_VM_RESERVED, 2, pde, a);
		return mapped(t, 2, pde, a,
			      (pde & UINT64_C(0xffc00000)) |
			      (bits(pde, 20, 13) << 32),
			      UINT64_C(1) << 22);
	}
	a = (pde & UINT64_C(0xfffff000)) + bits(va, 21, 12) * 4;
	rc = read_entry(rd, opaque, a, 4, 1, t, &pte);
	if (rc < 0)
		return rc;
	if (!(pte & X86_P))
		return xfm_vm_unmapped(t, XFM_VM_NOT_PRESENT, 1, pte, a);
	return mapped(t, 1, pte, a, pte & UINT64_C(0xfffff000), 4096);
}

/*
 * The levels below the top one are the same in PAE and 64-bit mode:
 * 9 index bits each, 8-byte entries, PS at the PDPT (1 GiB, not in PAE)
 * and the PD (2 MiB).  @table is the next table's address, @level the
 * level it is at.
 */
static int walk_64_from(uint64_t table, int level, bool pae, uint64_t va,
			xfm_vm_read_fn rd, void *opaque, xfm_translation *t,
			struct xfm_vm_hint *hint)
{
	for (; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		uint64_t a = table + bits(va, shift + 8, shift) * 8, e;
		int rc = read_entry(rd, opaque, a, 8, level, t, &e);

		if (rc < 0)
			return rc;
		if (!(e & X86_P))
			return xfm_vm_unmapped(t, XFM_VM_NOT_PRESENT, level,
					       e, a);
		if (level == 1) {
			if (hint) {
				hint->leaf_ok = true;
				hint->leaf_table = table;
			}
			return mapped(t, 1, e, a, e & ADDR_MASK_64, 4096);
		}
		if (!(e & X86_PS)) {
			table = e & ADDR_MASK_64;
			continue;
		}
		/* PS is reserved in a PML4E/PML5E, and in a PAE PDPTE. */
		if (level > 3 || (level == 3 && pae))
			return xfm_vm_unmapped(t, XFM_VM_RESERVED, level, e,
					       a);
		/* Bits 12..shift-1 hold PAT and reserved bits. */
		if (bits(e, shift - 1, 13))
			return xfm_vm_unmapped(t, XFM_VM_RESERVED, level, e,
					       a);
		return mapped(t, level, e, a,
			      e & ADDR_MASK_64 & ~((UINT64_C(1) << shift) - 1),
			      UINT64_C(1) << shift);
	}
	return -EINVAL;
}

static int walk_pae(const xfm_vm_root *r, uint64_t va, xfm_vm_read_fn rd,
		    void *opaque, xfm_translation *t)
{
	uint64_t a, e;
	int rc;

	if (va > UINT32_MAX)
		return xfm_vm_unmapped(t, XFM_VM_OUTSIDE, 3, 0, 0);
	/* CR3 bits 31..5: the 32-byte aligned PDPT. */
	a = (r->root & UINT64_C(0xffffffe0)) + bits(va, 31, 30) * 8;
	rc = read_entry(rd, opaque, a, 8, 3, t, &e);
	if (rc < 0)
		return rc;
	if (!(e & X86_P))
		return xfm_vm_unmapped(t, XFM_VM_NOT_PRESENT, 3, e, a);
	/* PDPTE bits 2:1 and 8:5 are reserved (loaded with CR3). */
	if (e & UINT64_C(0x1e6))
		return xfm_vm_unmapped(t, XFM_VM_RESERVED, 3, e, a);
	return walk_64_from(e & ADDR_MASK_64, 2, true, va, rd, opaque, t,
			    NULL);
}

static int walk_long(const xfm_vm_root *r, uint64_t va, xfm_vm_read_fn rd,
		     void *opaque, xfm_translation *t, struct xfm_vm_hint *hint)
{
	int levels = r->mode == XFM_VM_X86_64_LA57 ? 5 : 4;
	unsigned int top = 12 + 9 * levels - 1; /* 47 or 56 */
	int64_t sext = (int64_t)va >> top;

	if (sext != 0 && sext != -1)
		return xfm_vm_unmapped(t, XFM_VM_OUTSIDE, levels, 0, 0);
	if (hint && hint->use)
		return walk_64_from(hint->start_table, 1, false, va, rd, opaque,
				    t, hint);
	return walk_64_from(r->root & ADDR_MASK_64, levels, false, va, rd,
			    opaque, t, hint);
}

int xfm_vm_walk_x86(const xfm_vm_root *r, uint64_t va, xfm_vm_read_fn rd,
		    void *opaque, xfm_translation *t, struct xfm_vm_hint *hint)
{
	switch (r->mode) {
	case XFM_VM_X86_32:
		return walk_32(r, va, rd, opaque, t);
	case XFM_VM_X86_PAE:
		return walk_pae(r, va, rd, opaque, t);
	case XFM_VM_X86_64:
	case XFM_VM_X86_64_LA57:
		return walk_long(r, va, rd, opaque, t, hint);
	}
	return -EINVAL;
}
