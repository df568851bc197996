/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * privcmd-abi.h - our declarations of Linux's privcmd ioctl ABI
 * (include/uapi/xen/privcmd.h).  Kept here so no kernel or Xen header is
 * needed to build; tests/unit/test-privcmd-abi.c checks every size,
 * offset and number against the installed <xen/sys/privcmd.h>.
 */
#ifndef XFM_PRIVCMD_ABI_H
#define XFM_PRIVCMD_ABI_H

#include <stdint.h>
#include <sys/ioctl.h>

#include "privcmd.h"

struct xfm_pc_hypercall {
	uint64_t op;
	uint64_t arg[5];
};

/* v1: errors come back in the top nibble of arr[i]. */
struct xfm_pc_mmapbatch {
	int num;
	uint16_t dom;
	uint64_t addr;
	xfm_xen_pfn_t *arr;
};

struct xfm_pc_mmapbatch_v2 {
	unsigned int num;
	uint16_t dom;
	uint64_t addr;
	const xfm_xen_pfn_t *arr;
	int *err;
};

struct xfm_pc_mmap_resource {
	uint16_t dom;
	uint32_t type;
	uint32_t id;
	uint32_t idx;
	uint64_t num;
	uint64_t addr;
};

#define XFM_PC_IOC(nr, size) _IOC(_IOC_NONE, 'P', (nr), (size))
#define XFM_IOCTL_HYPERCALL \
	XFM_PC_IOC(0, sizeof(struct xfm_pc_hypercall))
#define XFM_IOCTL_MMAPBATCH \
	XFM_PC_IOC(3, sizeof(struct xfm_pc_mmapbatch))
#define XFM_IOCTL_MMAPBATCH_V2 \
	XFM_PC_IOC(4, sizeof(struct xfm_pc_mmapbatch_v2))
#define XFM_IOCTL_RESTRICT XFM_PC_IOC(6, sizeof(uint16_t))
#define XFM_IOCTL_MMAP_RESOURCE \
	XFM_PC_IOC(7, sizeof(struct xfm_pc_mmap_resource))

#define XFM_PC_V1_ERROR 0xf0000000U
#define XFM_PC_V1_PAGED 0x80000000U

/* Xen hypercall numbers and sub-commands (public ABI, stable). */
#define XFM_HC_MEMORY_OP 12
#define XFM_HC_XEN_VERSION 17
#define XFM_XENVER_VERSION 0
#define XFM_XENVER_PAGESIZE 7
#define XFM_XENMEM_CURRENT_RESERVATION 3
#define XFM_XENMEM_MAXIMUM_RESERVATION 4
#define XFM_XENMEM_MAXIMUM_GPFN 14

#endif /* XFM_PRIVCMD_ABI_H */
