/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * kernel-root.c - the guest kernel's own page-table root, from its
 * VMCOREINFO (so kernel addresses work without any vCPU register).
 */
#include <errno.h>

#include "private.h"

int xfm_vm_kernel_root(xfm_handle *h, xfm_vm_root *root)
{
	(void)h;
	(void)root;
	return -ENODATA;
}
