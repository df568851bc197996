/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Our privcmd declarations (src/source/privcmd-abi.h) against the
 * installed kernel ABI header, on this build's word size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <cmocka.h>

#include <xen/xen.h>
#include <xen/sys/privcmd.h>

#include "privcmd-abi.h"

#define SAME_FIELD(ours, theirs, f)                                        \
	do {                                                               \
		assert_int_equal(offsetof(ours, f), offsetof(theirs, f));  \
		assert_int_equal(sizeof(((ours *)0)->f),                   \
				 sizeof(((theirs *)0)->f));                \
	} while (0)

static void hypercall(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct xfm_pc_hypercall),
			 sizeof(privcmd_hypercall_t));
	SAME_FIELD(struct xfm_pc_hypercall, privcmd_hypercall_t, op);
	SAME_FIELD(struct xfm_pc_hypercall, privcmd_hypercall_t, arg);
	assert_int_equal(XFM_IOCTL_HYPERCALL, IOCTL_PRIVCMD_HYPERCALL);
}

static void mmapbatch_v1(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct xfm_pc_mmapbatch),
			 sizeof(privcmd_mmapbatch_t));
	SAME_FIELD(struct xfm_pc_mmapbatch, privcmd_mmapbatch_t, num);
	SAME_FIELD(struct xfm_pc_mmapbatch, privcmd_mmapbatch_t, dom);
	SAME_FIELD(struct xfm_pc_mmapbatch, privcmd_mmapbatch_t, addr);
	SAME_FIELD(struct xfm_pc_mmapbatch, privcmd_mmapbatch_t, arr);
	assert_int_equal(sizeof(xfm_xen_pfn_t), sizeof(xen_pfn_t));
	assert_int_equal(XFM_IOCTL_MMAPBATCH, IOCTL_PRIVCMD_MMAPBATCH);
	assert_int_equal(XFM_PC_V1_ERROR, PRIVCMD_MMAPBATCH_MFN_ERROR);
	assert_int_equal(XFM_PC_V1_PAGED, PRIVCMD_MMAPBATCH_PAGED_ERROR);
}

static void mmapbatch_v2(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct xfm_pc_mmapbatch_v2),
			 sizeof(privcmd_mmapbatch_v2_t));
	SAME_FIELD(struct xfm_pc_mmapbatch_v2, privcmd_mmapbatch_v2_t, num);
	SAME_FIELD(struct xfm_pc_mmapbatch_v2, privcmd_mmapbatch_v2_t, dom);
	SAME_FIELD(struct xfm_pc_mmapbatch_v2, privcmd_mmapbatch_v2_t, addr);
	SAME_FIELD(struct xfm_pc_mmapbatch_v2, privcmd_mmapbatch_v2_t, arr);
	SAME_FIELD(struct xfm_pc_mmapbatch_v2, privcmd_mmapbatch_v2_t, err);
	assert_int_equal(XFM_IOCTL_MMAPBATCH_V2, IOCTL_PRIVCMD_MMAPBATCH_V2);
}

static void mmap_resource(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct xfm_pc_mmap_resource),
			 sizeof(privcmd_mmap_resource_t));
	SAME_FIELD(struct xfm_pc_mmap_resource, privcmd_mmap_resource_t, dom);
	SAME_FIELD(struct xfm_pc_mmap_resource, privcmd_mmap_resource_t, type);
	SAME_FIELD(struct xfm_pc_mmap_resource, privcmd_mmap_resource_t, id);
	SAME_FIELD(struct xfm_pc_mmap_resource, privcmd_mmap_resource_t, idx);
	SAME_FIELD(struct xfm_pc_mmap_resource, privcmd_mmap_resource_t, num);
	SAME_FIELD(struct xfm_pc_mmap_resource, privcmd_mmap_resource_t, addr);
	assert_int_equal(XFM_IOCTL_MMAP_RESOURCE, IOCTL_PRIVCMD_MMAP_RESOURCE);
	assert_int_equal(XFM_IOCTL_RESTRICT, IOCTL_PRIVCMD_RESTRICT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hypercall),
		cmocka_unit_test(mmapbatch_v1),
		cmocka_unit_test(mmapbatch_v2),
		cmocka_unit_test(mmap_resource),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
