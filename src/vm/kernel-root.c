/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * kernel-root.c - the guest kernel's own page-table root, from its
 * VMCOREINFO, so that kernel addresses work without any vCPU register.
 *
 * Linux puts SYMBOL(swapper_pg_dir) in every VMCOREINFO (on x86-64 it is
 * init_top_pgt); the value is the running (KASLR-relocated) virtual
 * address of the kernel's top-level table, inside the kernel image.
 *  - x86-64: image VA - __START_KERNEL_map (0xffffffff80000000) +
 *    NUMBER(phys_base) is its physical address; NUMBER(pgtable_l5_enabled)
 *    says 4 or 5 levels.  A Xen PV kernel's tables hold machine frames:
 *    its root becomes the machine frame of that table (the source's
 *    p2m) with XFM_VM_MACHINE_FRAMES.
 *  - arm64: image VA - NUMBER(kimage_voffset); it is TTBR1.  The TCR is
 *    rebuilt from PAGESIZE (TG1), NUMBER(TCR_EL1_T1SZ) or
 *    NUMBER(VA_BITS) (T1SZ); 52-bit VAs with 4/16 KiB pages are LPA2
 *    (TCR.DS).  The lower half (user space) is not covered: EPD0.
 */
#include <errno.h>

#include "private.h"

#define X86_START_KERNEL_MAP UINT64_C(0xffffffff80000000)

static int number(xfm_handle *h, const char *key, uint64_t *v)
{
	return xfm_vmcoreinfo_number(h, key, v);
}

static int x86_root(xfm_handle *h, uint64_t pgd, uint64_t phys_base,
		    xfm_vm_root *r)
{
	uint64_t l5 = 0, mfn;

	if (pgd < X86_START_KERNEL_MAP)
		return -ENODATA;
	number(h, "NUMBER(pgtable_l5_enabled)", &l5);
	r->mode = l5 ? XFM_VM_X86_64_LA57 : XFM_VM_X86_64;
	r->root = pgd - X86_START_KERNEL_MAP + phys_base;
	if (h->src->ops->frame_to_machine &&
	    h->src->ops->frame_to_machine(h->src, r->root >> 12, &mfn) == 0) {
		r->root = mfn << 12 | (r->root & 0xfff);
		r->flags |= XFM_VM_MACHINE_FRAMES;
	}
	return 0;
}

static int arm64_root(xfm_handle *h, uint64_t pgd, uint64_t voff,
		      xfm_vm_root *r)
{
	uint64_t page, t1sz = 0, va_bits = 0, tg1;

	if (number(h, "PAGESIZE", &page) < 0)
		return -ENODATA;
	if (number(h, "NUMBER(TCR_EL1_T1SZ)", &t1sz) < 0 || !t1sz) {
		if (number(h, "NUMBER(VA_BITS)", &va_bits) < 0)
			return -ENODATA;
		t1sz = 64 - va_bits;
	}
	switch (page) {
	case 4096:
		tg1 = 2;
		break;
	case 16384:
		tg1 = 1;
		break;
	case 65536:
		tg1 = 3;
		break;
	default:
		return -ENODATA;
	}
	r->mode = XFM_VM_ARM64;
	r->root1 = pgd - voff;
	/* T1SZ, EPD0, TG1, IPS: 52 bits (only used with 64 KiB, where
	 * descriptor bits 15:12 are zero unless the kernel uses them). */
	r->tcr = (t1sz << 16) | (UINT64_C(1) << 7) | (tg1 << 30) |
		 (UINT64_C(6) << 32);
	if (t1sz < 16 && page != 65536)
		r->tcr |= UINT64_C(1) << 59; /* DS: LPA2 */
	return 0;
}

int xfm_vm_kernel_root(xfm_handle *h, xfm_vm_root *r)
{
	uint64_t pgd, v;
	int rc = -ENODATA;

	if (number(h, "SYMBOL(swapper_pg_dir)", &pgd) < 0 &&
	    number(h, "SYMBOL(init_top_pgt)", &pgd) < 0)
		goto out;
	if (number(h, "NUMBER(kimage_voffset)", &v) == 0)
		rc = arm64_root(h, pgd, v, r);
	else if (number(h, "NUMBER(phys_base)", &v) == 0)
		rc = x86_root(h, pgd, v, r);
out:
	xfm_clear_error();
	if (rc == 0)
		r->origin = XFM_VM_ORIGIN_VMCOREINFO;
	return rc;
}
