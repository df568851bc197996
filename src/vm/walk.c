/* SPDX-License-Identifier: LGPL-2.1-only */
/* walk.c - the walkers' common entry. */
#include <errno.h>
#include <string.h>

#include "walk.h"

int xfm_vm_walk(const xfm_vm_root *root, uint64_t va, xfm_vm_read_fn rd,
		void *opaque, xfm_translation *t)
{
	memset(t, 0, sizeof(*t));
	t->va = va;
	switch (root->mode) {
	case XFM_VM_X86_32:
	case XFM_VM_X86_PAE:
	case XFM_VM_X86_64:
	case XFM_VM_X86_64_LA57:
		return xfm_vm_walk_x86(root, va, rd, opaque, t);
	case XFM_VM_ARM64:
		return xfm_vm_walk_arm64(root, va, rd, opaque, t);
	}
	return -EINVAL;
}

uint64_t xfm_vm_min_page(const xfm_vm_root *root)
{
	/* arm64: the smaller of the two halves' granules (TG0 4 KiB is
	 * 0b00, TG1 4 KiB is 0b10); a cache keyed by it is right for
	 * both. */
	if (root->mode == XFM_VM_ARM64) {
		uint64_t tg0 = (root->tcr >> 14) & 3, tg1 = (root->tcr >> 30) & 3;
		uint64_t s0 = tg0 == 1 ? 65536 : tg0 == 2 ? 16384 : 4096;
		uint64_t s1 = tg1 == 3 ? 65536 : tg1 == 1 ? 16384 : 4096;

		return s0 < s1 ? s0 : s1;
	}
	return 4096;
}
