/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xen-vcpu.c - the paging root in a live Xen guest's vCPU registers.
 * No stable interface gives a vCPU's registers: this file alone uses
 * Xen's domctl for them (like xen-pv.c for the p2m), with its interface
 * version checked (Xen answers -EACCES to another version):
 *   PVH/HVM (x86): XEN_DOMCTL_gethvmcontext_partial, the CPU save record
 *                  (struct hvm_hw_cpu): CR0, CR3, CR4, EFER;
 *   PV (x86-64):   XEN_DOMCTL_getvcpucontext, ctrlreg[3]: the kernel's
 *                  top table as a MACHINE frame (PV tables hold machine
 *                  frames), so the root says XFM_VM_MACHINE_FRAMES;
 *   Arm (arm64):   XEN_DOMCTL_getvcpucontext: SCTLR, TCR (ttbcr), TTBR0,
 *                  TTBR1 of the vCPU.
 * Layouts: Xen 4.17's public headers (domctl.h version 0x15,
 * arch-x86/hvm/save.h, arch-x86/xen.h, arch-arm.h), checked against
 * sizeof/offsetof of those headers for both architectures.  Xen's
 * structures are little endian.  A running guest's registers are those
 * of the moment: callers that need the current process's root pause it.
 */
#include <errno.h>
#include <string.h>

#include "le.h"
#include "privcmd.h"
#include "xen-vcpu.h"

#define HC_DOMCTL 36
#define DOMCTL_INTERFACE_VERSION 0x15
#define DOMCTL_SIZE 144
#define DOMCTL_U 16                     /* offset of the union */
#define DOMCTL_GETVCPUCONTEXT 13
#define DOMCTL_GET_ADDRESS_SIZE 36
#define DOMCTL_GETHVMCONTEXT_PARTIAL 55
/* xen_domctl_vcpucontext: vcpu (u32), ctxt (64-bit handle at 8). */
#define VC_VCPU (DOMCTL_U + 0)
#define VC_CTXT (DOMCTL_U + 8)
/* xen_domctl_hvmcontext_partial: type, instance, bufsz, buffer. */
#define HP_TYPE (DOMCTL_U + 0)
#define HP_INSTANCE (DOMCTL_U + 4)
#define HP_BUFSZ (DOMCTL_U + 8)
#define HP_BUFFER (DOMCTL_U + 16)

/* struct hvm_hw_cpu (HVM_SAVE_CODE(CPU) = 2), 1032 bytes. */
#define HVM_SAVE_CPU 2
#define CPU_SIZE 1032
#define CPU_CR0 656
#define CPU_CR3 672
#define CPU_CR4 680
#define CPU_EFER 992

/* x86-64 struct vcpu_guest_context, 5168 bytes. */
#define X86_VGC_SIZE 5168
#define X86_VGC_FLAGS 512
#define X86_VGC_CTRLREG 4984             /* unsigned long ctrlreg[8] */
#define X86_VGCF_ONLINE (1u << 5)

/* arm struct vcpu_guest_context, 352 bytes. */
#define ARM_VGC_SIZE 352
#define ARM_VGC_FLAGS 0
#define ARM_VGC_CPSR 264
#define ARM_VGC_SCTLR 320
#define ARM_VGC_TCR 328
#define ARM_VGC_TTBR0 336
#define ARM_VGC_TTBR1 344
#define ARM_VGCF_ONLINE (1u << 0)
#define ARM_PSR_AARCH32 0x10u
#define ARM_SCTLR_M 1u

#define X86_CR0_PG (UINT64_C(1) << 31)
#define X86_CR4_PSE (UINT64_C(1) << 4)
#define X86_CR4_PAE (UINT64_C(1) << 5)
#define X86_CR4_LA57 (UINT64_C(1) << 12)
#define X86_EFER_LMA (UINT64_C(1) << 10)

#if defined(__x86_64__) || defined(__aarch64__)
/* One domctl: @d is a locked buffer with the union filled in. */
static int domctl(struct xfm_privcmd *pc, uint8_t *d, uint32_t cmd,
		  uint32_t domid)
{
	xfm_put_le32(d, cmd);
	xfm_put_le32(d + 4, DOMCTL_INTERFACE_VERSION);
	xfm_put_le16(d + 8, (uint16_t)domid);
	return (int)xfm_privcmd_hypercall(pc, HC_DOMCTL,
					  (uint64_t)(uintptr_t)d, 0, 0);
}

/* getvcpucontext into @ctx (@len bytes, locked). */
static int vcpu_context(struct xfm_privcmd *pc, uint32_t domid,
			unsigned int vcpu, uint8_t *ctx)
{
	uint8_t *d = xfm_privcmd_buf_alloc(4096);
	int rc;

	if (!d)
		return -errno;
	xfm_put_le32(d + VC_VCPU, vcpu);
	xfm_put_le64(d + VC_CTXT, (uint64_t)(uintptr_t)ctx);
	rc = domctl(pc, d, DOMCTL_GETVCPUCONTEXT, domid);
	xfm_privcmd_buf_free(d, 4096);
	return rc;
}

#endif

#if defined(__x86_64__)
/* x86 paging mode from CR0, CR4, EFER (SDM vol. 3A, 4.1). */
static int x86_mode(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer,
		    xfm_vm_root *r)
{
	if (!(cr0 & X86_CR0_PG))
		return -ENODATA; /* paging off */
	if (efer & X86_EFER_LMA)
		r->mode = cr4 & X86_CR4_LA57 ? XFM_VM_X86_64_LA57
					     : XFM_VM_X86_64;
	else if (cr4 & X86_CR4_PAE)
		r->mode = XFM_VM_X86_PAE;
	else
		r->mode = XFM_VM_X86_32;
	if (r->mode == XFM_VM_X86_32 && (cr4 & X86_CR4_PSE))
		r->flags = XFM_VM_X86_PSE;
	r->root = cr3;
	return 0;
}

/* PVH/HVM: the CPU save record of @vcpu. */
static int hvm_root(struct xfm_privcmd *pc, uint32_t domid,
		    unsigned int vcpu, xfm_vm_root *r)
{
	uint8_t *d = xfm_privcmd_buf_alloc(4096);
	uint8_t *cpu = xfm_privcmd_buf_alloc(4096);
	int rc = -ENOMEM;

	if (!d || !cpu)
		goto out;
	xfm_put_le32(d + HP_TYPE, HVM_SAVE_CPU);
	xfm_put_le32(d + HP_INSTANCE, vcpu);
	xfm_put_le64(d + HP_BUFSZ, CPU_SIZE);
	xfm_put_le64(d + HP_BUFFER, (uint64_t)(uintptr_t)cpu);
	rc = domctl(pc, d, DOMCTL_GETHVMCONTEXT_PARTIAL, domid);
	/* Xen writes back the record's length: another one is another
	 * layout. */
	if (rc == 0 && xfm_le64(d + HP_BUFSZ) != CPU_SIZE)
		rc = -EPROTO;
	if (rc == 0)
		rc = x86_mode(xfm_le64(cpu + CPU_CR0), xfm_le64(cpu + CPU_CR3),
			      xfm_le64(cpu + CPU_CR4), xfm_le64(cpu + CPU_EFER),
			      r);
out:
	if (d)
		xfm_privcmd_buf_free(d, 4096);
	if (cpu)
		xfm_privcmd_buf_free(cpu, 4096);
	return rc;
}

/* PV: 64-bit guests only (a 32-bit one gets Xen's compat layout). */
static int pv_root(struct xfm_privcmd *pc, uint32_t domid, unsigned int vcpu,
		   xfm_vm_root *r)
{
	uint8_t *d = xfm_privcmd_buf_alloc(4096);
	uint8_t *ctx = xfm_privcmd_buf_alloc(2 * 4096);
	int rc = -ENOMEM;

	if (!d || !ctx)
		goto out;
	rc = domctl(pc, d, DOMCTL_GET_ADDRESS_SIZE, domid);
	if (rc == 0 && xfm_le32(d + DOMCTL_U) != 64)
		rc = -EOPNOTSUPP;
	if (rc == 0)
		rc = vcpu_context(pc, domid, vcpu, ctx);
	if (rc == 0 && !(xfm_le64(ctx + X86_VGC_FLAGS) & X86_VGCF_ONLINE))
		rc = -ENODATA;
	if (rc == 0) {
		/* xen_pfn_to_cr3() of x86-64: the frame shifted by 12. */
		r->mode = XFM_VM_X86_64;
		r->flags = XFM_VM_MACHINE_FRAMES;
		r->root = xfm_le64(ctx + X86_VGC_CTRLREG + 3 * 8);
	}
out:
	if (d)
		xfm_privcmd_buf_free(d, 4096);
	if (ctx)
		xfm_privcmd_buf_free(ctx, 2 * 4096);
	return rc;
}

#endif

#if defined(__aarch64__)
/* Arm: an AArch64 vCPU with its MMU on. */
static int arm_root(struct xfm_privcmd *pc, uint32_t domid, unsigned int vcpu,
		    xfm_vm_root *r)
{
	uint8_t *ctx = xfm_privcmd_buf_alloc(4096);
	int rc;

	if (!ctx)
		return -errno;
	rc = vcpu_context(pc, domid, vcpu, ctx);
	if (rc == 0 && (!(xfm_le32(ctx + ARM_VGC_FLAGS) & ARM_VGCF_ONLINE) ||
			!(xfm_le64(ctx + ARM_VGC_SCTLR) & ARM_SCTLR_M)))
		rc = -ENODATA;
	if (rc == 0 && (xfm_le32(ctx + ARM_VGC_CPSR) & ARM_PSR_AARCH32))
		rc = -EOPNOTSUPP;
	if (rc == 0) {
		r->mode = XFM_VM_ARM64;
		r->root = xfm_le64(ctx + ARM_VGC_TTBR0);
		r->root1 = xfm_le64(ctx + ARM_VGC_TTBR1);
		r->tcr = xfm_le64(ctx + ARM_VGC_TCR);
	}
	xfm_privcmd_buf_free(ctx, 4096);
	return rc;
}

#endif

int xfm_xen_vcpu_root(struct xfm_privcmd *pc, uint32_t domid,
		      unsigned int vcpu, bool hvm, xfm_vm_root *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
#if defined(__x86_64__)
	rc = hvm ? hvm_root(pc, domid, vcpu, r) : pv_root(pc, domid, vcpu, r);
#elif defined(__aarch64__)
	(void)hvm; /* every Arm guest is auto-translated */
	rc = arm_root(pc, domid, vcpu, r);
#else
	(void)pc; (void)domid; (void)vcpu; (void)hvm;
	rc = -EOPNOTSUPP; /* the layouts above are x86-64's and arm64's */
#endif
	if (rc < 0)
		return rc;
	r->origin = XFM_VM_ORIGIN_XEN_VCPU;
	r->vcpu = vcpu;
	return 0;
}
