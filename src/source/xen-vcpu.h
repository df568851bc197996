/* SPDX-License-Identifier: LGPL-2.1-only */
/* xen-vcpu.h - a live Xen guest's paging root from its vCPU context,
 * behind xen-vcpu.c (Xen's unstable domctl). */
#ifndef XFM_XEN_VCPU_H
#define XFM_XEN_VCPU_H

#include <stdbool.h>

#include "privcmd.h"

/*
 * The root in vCPU @vcpu's registers of domain @domid (@hvm: HVM or PVH,
 * else PV; ignored on Arm), origin XFM_VM_ORIGIN_XEN_VCPU.  -ENODATA the
 * vCPU is down or its paging is off; -EOPNOTSUPP a 32-bit guest or a host
 * architecture without these layouts; -EACCES another domctl version;
 * -EPROTO an unexpected record size; the hypercall's errors.
 */
int xfm_xen_vcpu_root(struct xfm_privcmd *pc, uint32_t domid,
		      unsigned int vcpu, bool hvm, xfm_vm_root *r);

#endif
