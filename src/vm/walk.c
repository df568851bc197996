/* SPDX-License-Identifier: LGPL-2.1-only */
/* walk.c - the walkers' common entry. */
#include <errno.h>
#include <string.h>

#include "walk.h"

int xfm_vm_walk_hint(const xfm_vm_root *root, uint64_t va, xfm_vm_read_fn rd,
		     void *opaque, xfm_translation *t, struct xfm_vm_hint *hint)
{
	memset(t, 0, sizeof(*t));
	t->va = va;
	if (hint)
		hint->leaf_ok = false;
	switch (root->mode) {
	case XFM_VM_X86_32:
	case XFM_VM_X86_PAE:
	case XFM_VM_X86_64:
	case XFM_VM_X86_64_LA57:
		return xfm_vm_walk_x86(root, va, rd, opaque, t, hint);
	case XFM_VM_ARM64:
		return xfm_vm_walk_arm64(root, va, rd, opaque, t, hint);
	}
	return -EINVAL;
}

int xfm_vm_walk(const xfm_vm_root *root, uint64_t va, xfm_vm_read_fn rd,
		void *opaque, xfm_translation *t)
{
	return xfm_vm_walk_hint(root, va, rd, opaque, t, NULL);
}

unsigned int xfm_vm_leaf_span_shift(const xfm_vm_root *root, uint64_t va)
{
	uint64_t tg;
	unsigned int gs;

	switch (root->mode) {
	case XFM_VM_X86_64:
	case XFM_VM_X86_64_LA57:
		return 21;
	case XFM_VM_ARM64:
		if ((va >> 55) & 1) {
			tg = (root->tcr >> 30) & 3;
			gs = tg == 1 ? 14 : tg == 3 ? 16 : 12;
		} else {
			tg = (root->tcr >> 14) & 3;
			gs = tg == 2 ? 14 : tg == 1 ? 16 : 12;
		}
		return gs + gs - 3;
	}
	return 0;
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
