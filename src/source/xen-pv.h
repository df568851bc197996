/* SPDX-License-Identifier: LGPL-2.1-only */
/* xen-pv.h - PV guests' p2m, behind xen-pv.c (the one unstable use). */
#ifndef XFM_XEN_PV_H
#define XFM_XEN_PV_H

#include "privcmd.h"

struct xfm_xen_dominfo {
	bool hvm;                  /* HVM or PVH: frames are guest frames */
	bool dying;                /* destroyed; kept only by references */
	uint64_t tot_pages;        /* pages the domain owns now */
	uint64_t shr_pages;        /* of them shared (memory sharing) */
	uint64_t paged_pages;      /* paged out (mem_paging) */
	uint64_t shared_info_mfn;
	uint8_t handle[16];        /* the domain's UUID (kept across restore) */
};

/*
 * domctl getdomaininfo for exactly @domid.  Xen 4.17 answers for the next
 * domain with a higher id when @domid is gone: that answer is refused
 * with -ESRCH, as is "no domain at or above @domid".  -EACCES on an
 * interface version mismatch.
 */
int xfm_xen_dominfo(struct xfm_privcmd *pc, uint32_t domid,
		    struct xfm_xen_dominfo *info);
/* The same in @buf, 4096 bytes of xfm_privcmd_buf_alloc()'s memory that
 * the caller keeps (no allocation, mlock and unmap per call). */
int xfm_xen_dominfo_in(struct xfm_privcmd *pc, uint32_t domid, uint8_t *buf,
		       struct xfm_xen_dominfo *info);
/*
 * domctl getpageframeinfo3 of frames [first, first + n), n at most
 * XFM_PFINFO_MAX: p->type[i] is frame first + i's type word.  XTAB in its
 * top 4 bits: no page of the guest's there (or one of Xen's own placed
 * there, shared_info or a grant table frame: mapping says which).  The
 * buffers are made once (hypercall-safe memory) by _init.
 */
#define XFM_PFINFO_MAX 1024
#define XFM_PFINFO_XTAB (UINT64_C(0xf) << 28)
#define XFM_PFINFO_BROKEN (UINT64_C(0xd) << 28)
#define XFM_PFINFO_MASK (UINT64_C(0xf) << 28)
struct xfm_xen_pfinfo {
	uint8_t *d;
	uint64_t *type;
};
int xfm_xen_pfinfo_init(struct xfm_xen_pfinfo *p);
void xfm_xen_pfinfo_fini(struct xfm_xen_pfinfo *p);
int xfm_xen_pfinfo(struct xfm_privcmd *pc, uint32_t domid,
		   struct xfm_xen_pfinfo *p, uint64_t first, size_t n);
/* A PV guest's pfn -> mfn table (malloc'd, *nr entries). */
int xfm_xen_pv_p2m(struct xfm_privcmd *pc, uint32_t domid,
		   uint64_t shared_info_mfn, uint64_t **p2m, uint64_t *nr);
bool xfm_xen_pv_mfn_valid(uint64_t mfn);

/* The inverse of a p2m: its valid entries as (mfn, pfn), by mfn. */
struct xfm_xen_m2p {
	uint64_t mfn;
	uint64_t pfn;
};
/* Build it from @p2m (@nr entries): a malloc'd array of *n pairs. */
int xfm_xen_pv_m2p(const uint64_t *p2m, uint64_t nr,
		   struct xfm_xen_m2p **out, size_t *n);
/* The guest frame of @mfn; -ENOENT when none of the guest's. */
int xfm_xen_pv_m2p_find(const struct xfm_xen_m2p *m, size_t n, uint64_t mfn,
			uint64_t *pfn);

#endif
