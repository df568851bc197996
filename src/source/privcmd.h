/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * privcmd.h - the Linux privcmd device (privcmd.c), shared by the xen
 * source, the PV p2m reader and the compat library.  Frames are
 * xen_pfn_t sized for this ABI.
 */
#ifndef XFM_PRIVCMD_H
#define XFM_PRIVCMD_H

#include "private.h"

#if defined(__aarch64__) || defined(__arm__)
typedef uint64_t xfm_xen_pfn_t;
#else
typedef unsigned long xfm_xen_pfn_t;
#endif

struct xfm_privcmd {
	int fd;
	struct xfm_pagesz psz;  /* frame = 4096, kpage = the kernel's */
	int unimpl_errno;       /* what privcmd gives unknown ioctls */
};

int xfm_privcmd_open(struct xfm_privcmd *pc);
/* As Xen's libraries open it (for src/compat): a failure returns the
 * device's own -errno (-ENOENT with no Xen); pc->unimpl_errno gets the
 * errno privcmd gives unknown ioctls.  -ENOTTY if the device is not
 * privcmd. */
int xfm_privcmd_open_compat(struct xfm_privcmd *pc);
void xfm_privcmd_close(struct xfm_privcmd *pc);
/* A hypercall; returns its (non-negative) result or a negative errno. */
int64_t xfm_privcmd_hypercall(struct xfm_privcmd *pc, uint64_t op,
			      uint64_t a0, uint64_t a1, uint64_t a2);
/*
 * Map @n frames of @dom at a new address (@hint, extra mmap @flags ORed
 * into MAP_SHARED).  err[] per frame (never NULL).  Returns the number of
 * frames that failed (>= 0) with *addr set, or a negative errno (nothing
 * mapped).
 */
int64_t xfm_privcmd_map(struct xfm_privcmd *pc, uint32_t dom, void *hint,
			int prot, int flags, const xfm_xen_pfn_t *arr,
			size_t n, int *err, void **addr);
/* (Undo a map with xfm_unmap_frames(&pc->psz, addr, n).) */
int xfm_privcmd_restrict(struct xfm_privcmd *pc, uint32_t dom);
/* MMAP_RESOURCE.  @addr NULL and @nr 0 with @size_frames non-NULL
 * queries the size (in frames). */
int xfm_privcmd_resource(struct xfm_privcmd *pc, uint32_t dom,
			 unsigned int type, unsigned int id, uint64_t frame,
			 uint64_t nr, void *addr, uint64_t *size_frames);
/*
 * A resource mapping: a privcmd VMA of @nr frames (kernel-page rounded,
 * *bytes; @hint and @flags as for mmap, MAP_SHARED added) filled by the
 * kernel; on failure nothing stays mapped.  -EOPNOTSUPP when the kernel
 * page is larger than the frame and @nr > 1 (unsafe, see below), or when
 * the kernel or Xen lack resource mapping; -EOVERFLOW.
 */
int xfm_privcmd_map_resource(struct xfm_privcmd *pc, uint32_t dom,
			     unsigned int type, unsigned int id,
			     uint64_t frame, uint64_t nr, void *hint,
			     int prot, int flags, void **addr,
			     uint64_t *bytes);
/* Would privcmd mis-size a resource map of @nr frames (and corrupt
 * memory)?  Then xfm_privcmd_map_resource() refuses it. */
bool xfm_privcmd_resource_unsafe(const struct xfm_privcmd *pc, uint64_t nr);
/*
 * A hypercall argument buffer of @len bytes (at most a page) that Xen
 * reads or writes in our address space: zeroed, touched and locked (on
 * Arm, Xen fails with EFAULT on a page never touched).  NULL with errno.
 */
void *xfm_privcmd_buf_alloc(size_t len);
void xfm_privcmd_buf_free(void *p, size_t len);
/* Hypervisor page size: XENVER_pagesize, else sysfs, else 4096. */
uint64_t xfm_privcmd_hyp_pagesize(struct xfm_privcmd *pc, uint32_t *origin);

#endif /* XFM_PRIVCMD_H */
