/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xen-pv.c - reading a PV guest by its own (pseudo-physical) frame
 * numbers.  A PV guest's frames are machine frames, so a map needs the
 * guest's p2m (pfn -> mfn) table.  No stable interface gives it: this is
 * the ONE file of xfm that uses an unstable Xen interface, the domctl
 * getdomaininfo (for the PV/HVM flag and the shared_info frame), with its
 * interface version checked.  From shared_info, the walk follows the
 * guest's three-level frame list (pfn_to_mfn_frame_list_list), which
 * Linux keeps for save/restore.  Never used by the compat library.
 * Xen's structures are in the host's byte order: little endian on every
 * architecture Xen runs on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "le.h"
#include "privcmd.h"
#include "privcmd-abi.h"
#include "xen-pv.h"

/* Xen 4.17's domctl ABI (xen/include/public/domctl.h, version 0x15). */
#define HC_DOMCTL 36
#define DOMCTL_INTERFACE_VERSION 0x15
#define DOMCTL_GETDOMAININFO 5
#define DOMCTL_GETPAGEFRAMEINFO3 61
#define DOMCTL_SIZE 144
#define DOMCTL_U 16                 /* offset of the union */
#define GDI_DOMAIN (DOMCTL_U + 0)
#define GDI_FLAGS (DOMCTL_U + 4)
#define GDI_TOT_PAGES (DOMCTL_U + 8)
#define GDI_SHR_PAGES (DOMCTL_U + 32)
#define GDI_PAGED_PAGES (DOMCTL_U + 40)
#define GDI_SHARED_INFO (DOMCTL_U + 48)
#define GDI_HANDLE (DOMCTL_U + 76)
#define DOMINF_DYING (1u << 0)
#define DOMINF_HVM_GUEST (1u << 1)

/* x86_64 shared_info: arch.max_pfn and arch.pfn_to_mfn_frame_list_list. */
#define SHINFO_MAX_PFN 3088
#define SHINFO_FLL 3096
#define ENTRIES_PER_FRAME 512       /* 8-byte entries in a 4 KiB frame */
#define INVALID_MFN UINT64_MAX

int xfm_xen_dominfo(struct xfm_privcmd *pc, uint32_t domid,
		    struct xfm_xen_dominfo *info)
{
	/* Xen reads and writes the argument in our address space. */
	uint8_t *d = xfm_privcmd_buf_alloc(4096);
	int rc;

	if (!d)
		return -errno;
	rc = xfm_xen_dominfo_in(pc, domid, d, info);
	xfm_privcmd_buf_free(d, 4096);
	return rc;
}

int xfm_xen_dominfo_in(struct xfm_privcmd *pc, uint32_t domid, uint8_t *d,
		       struct xfm_xen_dominfo *info)
{
	int64_t rc;

	memset(d, 0, DOMCTL_SIZE);
	xfm_put_le32(d, DOMCTL_GETDOMAININFO);
	xfm_put_le32(d + 4, DOMCTL_INTERFACE_VERSION);
	xfm_put_le16(d + 8, (uint16_t)domid);
	rc = xfm_privcmd_hypercall(pc, HC_DOMCTL, (uint64_t)(uintptr_t)d, 0, 0);
	/* Xen 4.17 answers for the next domain up when @domid is gone. */
	if (rc == 0 && xfm_le16(d + GDI_DOMAIN) != (uint16_t)domid)
		rc = -ESRCH;
	if (rc == 0) {
		info->hvm = xfm_le32(d + GDI_FLAGS) & DOMINF_HVM_GUEST;
		info->dying = xfm_le32(d + GDI_FLAGS) & DOMINF_DYING;
		info->tot_pages = xfm_le64(d + GDI_TOT_PAGES);
		info->shr_pages = xfm_le64(d + GDI_SHR_PAGES);
		info->paged_pages = xfm_le64(d + GDI_PAGED_PAGES);
		info->shared_info_mfn = xfm_le64(d + GDI_SHARED_INFO);
		memcpy(info->handle, d + GDI_HANDLE, 16);
	}
	return rc < 0 ? (int)rc : 0;
}

int xfm_xen_pfinfo_init(struct xfm_xen_pfinfo *p)
{
	p->d = xfm_privcmd_buf_alloc(4096);
	p->type = xfm_privcmd_buf_alloc(XFM_PFINFO_MAX * 8);
	if (p->d && p->type)
		return 0;
	xfm_xen_pfinfo_fini(p);
	return -ENOMEM;
}

void xfm_xen_pfinfo_fini(struct xfm_xen_pfinfo *p)
{
	if (p->d)
		xfm_privcmd_buf_free(p->d, 4096);
	if (p->type)
		xfm_privcmd_buf_free(p->type, XFM_PFINFO_MAX * 8);
	p->d = NULL;
	p->type = NULL;
}

int xfm_xen_pfinfo(struct xfm_privcmd *pc, uint32_t domid,
		   struct xfm_xen_pfinfo *p, uint64_t first, size_t n)
{
	int64_t rc;

	/* Xen reads and writes xen_pfn_t: 8 bytes on 64-bit hosts only. */
	if (n > XFM_PFINFO_MAX || sizeof(xfm_xen_pfn_t) != 8)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		p->type[i] = first + i;
	memset(p->d, 0, DOMCTL_SIZE);
	xfm_put_le32(p->d, DOMCTL_GETPAGEFRAMEINFO3);
	xfm_put_le32(p->d + 4, DOMCTL_INTERFACE_VERSION);
	xfm_put_le16(p->d + 8, (uint16_t)domid);
	xfm_put_le64(p->d + DOMCTL_U, n);
	xfm_put_le64(p->d + DOMCTL_U + 8, (uint64_t)(uintptr_t)p->type);
	rc = xfm_privcmd_hypercall(pc, HC_DOMCTL, (uint64_t)(uintptr_t)p->d,
				   0, 0);
	return rc < 0 ? (int)rc : 0;
}

#if !defined(__x86_64__)
/* PV guests exist only on x86; the offsets above are x86_64's. */
int xfm_xen_pv_p2m(struct xfm_privcmd *pc, uint32_t domid,
		   uint64_t shared_info_mfn, uint64_t **p2m, uint64_t *nr)
{
	return -EOPNOTSUPP;
}
#else
/* Map @n machine frames read-only and copy them out. */
static int copy_frames(struct xfm_privcmd *pc, uint32_t domid,
		       const xfm_xen_pfn_t *mfn, size_t n, uint8_t *out)
{
	int *err = calloc(n, sizeof(*err));
	void *addr = NULL;
	int64_t rc;

	if (!err)
		return -ENOMEM;
	rc = xfm_privcmd_map(pc, domid, NULL, PROT_READ, 0, mfn, n, err, &addr);
	if (rc > 0)
		rc = -EFAULT; /* some frame of the table did not map */
	if (rc == 0)
		memcpy(out, addr, n * 4096);
	if (rc >= 0 || rc == -EFAULT)
		xfm_unmap_frames(&pc->psz, addr, n);
	free(err);
	return (int)rc;
}

/* Read @n frame numbers from the guest frames listed in @list. */
static int read_level(struct xfm_privcmd *pc, uint32_t domid,
		      const uint64_t *list, size_t frames, uint64_t *out,
		      size_t n)
{
	xfm_xen_pfn_t *mfn = calloc(frames, sizeof(*mfn));
	uint8_t *buf = malloc(frames * 4096);
	int rc = -ENOMEM;

	if (!mfn || !buf)
		goto out;
	for (size_t i = 0; i < frames; i++)
		mfn[i] = (xfm_xen_pfn_t)list[i];
	rc = copy_frames(pc, domid, mfn, frames, buf);
	if (rc == 0)
		memcpy(out, buf, n * sizeof(*out));
out:
	free(mfn);
	free(buf);
	return rc;
}

static size_t div_up(uint64_t a, uint64_t b)
{
	return (size_t)(a / b + (a % b != 0));
}

int xfm_xen_pv_p2m(struct xfm_privcmd *pc, uint32_t domid,
		   uint64_t shared_info_mfn, uint64_t **p2m, uint64_t *nr)
{
	uint8_t shinfo[4096];
	xfm_xen_pfn_t mfn = (xfm_xen_pfn_t)shared_info_mfn;
	uint64_t max_pfn, fll, *l2 = NULL, *l3 = NULL, *table = NULL;
	size_t n2, n3;
	int rc;

	rc = copy_frames(pc, domid, &mfn, 1, shinfo);
	if (rc < 0)
		return rc;
	max_pfn = xfm_le64(shinfo + SHINFO_MAX_PFN);
	fll = xfm_le64(shinfo + SHINFO_FLL);
	if (!max_pfn || !fll ||
	    max_pfn > (uint64_t)ENTRIES_PER_FRAME * ENTRIES_PER_FRAME *
			      ENTRIES_PER_FRAME)
		return -ENOENT; /* the guest has not published its p2m */
	n3 = div_up(max_pfn, ENTRIES_PER_FRAME);     /* p2m frames */
	n2 = div_up(n3, ENTRIES_PER_FRAME);          /* frame-list frames */
	l2 = calloc(n2, sizeof(*l2));
	l3 = calloc(n3, sizeof(*l3));
	table = calloc(n3 * ENTRIES_PER_FRAME, sizeof(*table));
	rc = -ENOMEM;
	if (!l2 || !l3 || !table)
		goto out;
	rc = read_level(pc, domid, &fll, 1, l2, n2);
	if (rc == 0)
		rc = read_level(pc, domid, l2, n2, l3, n3);
	if (rc == 0)
		rc = read_level(pc, domid, l3, n3, table, max_pfn);
out:
	free(l2);
	free(l3);
	if (rc < 0) {
		free(table);
		return rc;
	}
	*p2m = table;
	*nr = max_pfn;
	return 0;
}
#endif

bool xfm_xen_pv_mfn_valid(uint64_t mfn)
{
	/* Linux marks missing entries ~0 (and identity/foreign bits high). */
	return mfn != INVALID_MFN && !(mfn >> 52);
}

static int by_mfn(const void *a, const void *b)
{
	const struct xfm_xen_m2p *x = a, *y = b;

	return x->mfn < y->mfn ? -1 : x->mfn > y->mfn;
}

int xfm_xen_pv_m2p(const uint64_t *p2m, uint64_t nr,
		   struct xfm_xen_m2p **out, size_t *n)
{
	struct xfm_xen_m2p *m = malloc((nr ? nr : 1) * sizeof(*m));
	size_t k = 0;

	if (!m)
		return -ENOMEM;
	for (uint64_t pfn = 0; pfn < nr; pfn++)
		if (xfm_xen_pv_mfn_valid(p2m[pfn]))
			m[k++] = (struct xfm_xen_m2p){ p2m[pfn], pfn };
	qsort(m, k, sizeof(*m), by_mfn);
	*out = m;
	*n = k;
	return 0;
}

int xfm_xen_pv_m2p_find(const struct xfm_xen_m2p *m, size_t n, uint64_t mfn,
			uint64_t *pfn)
{
	struct xfm_xen_m2p key = { mfn, 0 };
	const struct xfm_xen_m2p *hit = bsearch(&key, m, n, sizeof(*m), by_mfn);

	if (!hit)
		return -ENOENT;
	*pfn = hit->pfn;
	return 0;
}
