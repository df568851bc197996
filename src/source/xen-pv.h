/* SPDX-License-Identifier: LGPL-2.1-only */
/* xen-pv.h - PV guests' p2m, behind xen-pv.c (the one unstable use). */
#ifndef XFM_XEN_PV_H
#define XFM_XEN_PV_H

#include "privcmd.h"

struct xfm_xen_dominfo {
	bool hvm;                  /* HVM or PVH: frames are guest frames */
	bool dying;                /* destroyed; kept only by references */
	uint64_t tot_pages;        /* pages the domain owns now */
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
