/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xen.c - the live Xen guest source, over the privcmd device layer.
 * Only stable interfaces: the privcmd ioctls, and the xen_version and
 * memory_op hypercalls, which are part of Xen's stable guest ABI.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "frame-probe.h"
#include "privcmd.h"
#include "privcmd-abi.h"
#include "xen-pv.h"
#include "xen-vcpu.h"

/*
 * Frames per probe when discovering which frames exist: 16 MiB of
 * address space at a time, so that what a dump maps stays flat whatever
 * the guest's size (65,536 frames mapped a whole 256 MiB bank at once).
 * On Arm the cost is per frame (the unmap's hypercalls), not per call.
 */
#define PROBE_BATCH 4096
/*
 * Xen on Arm puts a guest's RAM banks, its grant-table frames and its
 * magic pages (console, xenstore) each at a 2 MiB-aligned base of the
 * guest layout (public/arch-arm.h: GUEST_RAM0_BASE 1 GiB, GUEST_GNTTAB_
 * BASE, GUEST_MAGIC_BASE), far apart: probing one frame per 256 KiB first
 * skips the empty gigabyte below RAM and still finds every run (see
 * frame-probe.h for the one kind it may not).  x86 guests have lone
 * special pages anywhere up to max_gpfn: every frame is probed there.
 */
#if defined(__aarch64__) || defined(__arm__)
#define PROBE_STRIDE 64
#else
#define PROBE_STRIDE 0
#endif
/* Frames per map whose list lives on the stack (no allocation). */
#define SMALL_BATCH 64
/* Domain ids at and above this are reserved (DOMID_FIRST_RESERVED). */
#define XEN_DOMID_RESERVED 0x7FF0
/* A frame number no guest has: maps fail for it, per frame. */
#define INVALID_FRAME ((uint64_t)(xfm_xen_pfn_t)~(xfm_xen_pfn_t)0)

struct xen_source {
	struct xfm_source base;
	struct xfm_privcmd pc;
	uint32_t domid;
	uint64_t hyp_page;
	uint32_t origin;
	uint64_t max_gpfn;
	uint64_t *p2m;     /* PV guests: pfn -> mfn; NULL otherwise */
	uint64_t p2m_nr;
	uint8_t uuid[16];  /* the domain's handle, when domctl answered */
	bool have_uuid;
	bool hvm;          /* HVM or PVH (domctl answered) */
	pthread_mutex_t m2p_lock;
	/* The liveness check's hypercall buffer, made once: allocating,
	 * locking and unmapping one per check cost four more system calls
	 * (each a TLB flush under Xen PV) than the domctl itself. */
	pthread_mutex_t hc_lock;
	uint8_t *hc_buf;
	struct xfm_xen_m2p *m2p; /* PV: the p2m inverted, on first use */
	size_t m2p_n;
};

static struct xen_source *to_xen(struct xfm_source *s)
{
	return (struct xen_source *)s;
}

/* memory_op sub-commands that take a domid_t by reference. */
static int64_t memory_op_domid(struct xen_source *x, unsigned int cmd)
{
	uint16_t *arg = xfm_privcmd_buf_alloc(4096);
	int64_t rc;

	if (!arg)
		return -errno;
	*arg = (uint16_t)x->domid;
	rc = xfm_privcmd_hypercall(&x->pc, XFM_HC_MEMORY_OP, cmd,
				   (uint64_t)(uintptr_t)arg, 0);
	xfm_privcmd_buf_free(arg, 4096);
	return rc;
}

static int xen_geometry(struct xfm_source *s, xfm_geometry *g)
{
	struct xen_source *x = to_xen(s);

	g->frame_size = XFM_XEN_PAGE_SIZE;
	g->hyp_page_size = x->hyp_page;
	g->granularities = XFM_XEN_PAGE_SIZE;
	g->max_frame = x->max_gpfn;
	g->origin = x->origin;
	return 0;
}

static int to_prot(unsigned int prot)
{
	return ((prot & XFM_PROT_READ) ? PROT_READ : 0) |
	       ((prot & XFM_PROT_WRITE) ? PROT_WRITE : 0);
}

/* PV guests are mapped by machine frame: translate through the p2m. */
static uint64_t pv_translate(struct xen_source *x, uint64_t pfn)
{
	if (!x->p2m)
		return pfn;
	if (pfn >= x->p2m_nr || !xfm_xen_pv_mfn_valid(x->p2m[pfn]))
		return INVALID_FRAME;
	return x->p2m[pfn];
}

/* Frames with no machine frame are absent, whatever privcmd said. */
static int64_t pv_absent(struct xen_source *x, const uint64_t *frames,
			 size_t n, int *err)
{
	int64_t nfail = 0;

	for (size_t i = 0; i < n; i++) {
		if (pv_translate(x, frames[i]) == INVALID_FRAME)
			err[i] = -ENOENT;
		nfail += err[i] != 0;
	}
	return nfail;
}

/* PV guests (and ABIs whose xen_pfn_t is not uint64_t): privcmd takes a
 * translated copy of the frame list. */
static int64_t map_translated(struct xen_source *x, const uint64_t *frames,
			      size_t n, int prot, void *hint, int *err,
			      void **addr)
{
	xfm_xen_pfn_t small[SMALL_BATCH] = { 0 };
	xfm_xen_pfn_t *arr = n <= SMALL_BATCH ? small : malloc(n * sizeof(*arr));
	int64_t rc;

	if (!arr)
		return xfm_fail(-ENOMEM, "%s: out of memory", x->base.label);
	for (size_t i = 0; i < n; i++) {
		arr[i] = (xfm_xen_pfn_t)pv_translate(x, frames[i]);
		if (!x->p2m && arr[i] != frames[i]) {
			if (arr != small)
				free(arr);
			return xfm_fail(-EOVERFLOW, "%s: frame 0x%llx does not "
					"fit this ABI's xen_pfn_t", x->base.label,
					(unsigned long long)frames[i]);
		}
	}
	rc = xfm_privcmd_map(&x->pc, x->domid, hint, prot, 0, arr, n, err,
			     addr);
	if (rc >= 0 && x->p2m)
		rc = pv_absent(x, frames, n, err);
	if (arr != small)
		free(arr);
	return rc;
}

/* privcmd can take the core's frame list itself: xen_pfn_t is uint64_t. */
#define PFN_IS_U64 _Generic((xfm_xen_pfn_t)0, uint64_t: 1, default: 0)

__attribute__((hot)) static int64_t xen_map(struct xfm_source *s, const uint64_t *frames, size_t n,
		       unsigned int prot, void *hint, int *err, void **addr)
{
	struct xen_source *x = to_xen(s);
	int64_t rc;

	/* HVM and PVH guests on 64-bit hosts: no copy, no pass. */
	if (PFN_IS_U64 && !x->p2m)
		rc = xfm_privcmd_map(&x->pc, x->domid, hint, to_prot(prot), 0,
				     (const xfm_xen_pfn_t *)(const void *)frames,
				     n, err, addr);
	else
		rc = map_translated(x, frames, n, to_prot(prot), hint, err,
				    addr);
	if (rc < 0)
		return xfm_fail((int)rc, "%s: mapping %zu frames from 0x%llx "
				"failed: %s", s->label, n,
				(unsigned long long)frames[0],
				strerror((int)-rc));
	return (int64_t)n - rc;
}

/* Map and unmap a batch of frames: how many exist. */
static int64_t probe_map(void *ctx, const uint64_t *frames, size_t n, int *err)
{
	struct xen_source *x = ctx;
	void *addr;
	int64_t got = xen_map(&x->base, frames, n, XFM_PROT_READ, NULL, err,
			      &addr);

	if (got >= 0)
		xfm_unmap_frames(&x->pc.psz, addr, n);
	return got;
}

/* probe(); @coarse: a superset, cheaply (struct xfm_frame_probe). */
static int probe_how(struct xen_source *x, uint64_t first, uint64_t n,
		     bool coarse, xfm_probe_fn *fn, void *ctx)
{
	struct xfm_frame_probe p = { .map = probe_map, .map_ctx = x,
				     .stride = PROBE_STRIDE, .coarse = coarse,
				     .batch = PROBE_BATCH };
	int rc = 0;

	for (uint64_t i = 0; x->p2m && i < n && rc == 0; i++)
		rc = fn(ctx, first + i, first + i < x->p2m_nr &&
			xfm_xen_pv_mfn_valid(x->p2m[first + i]));
	if (x->p2m)
		return rc;
	return xfm_frame_probe(&p, first, n, fn, ctx);
}

/*
 * Which of frames [first, first + n) exist: a PV guest's p2m says; other
 * guests' frames are mapped in big batches and kept if they mapped.
 * Returns 0 (walked), 1 (@fn stopped it) or a negative errno.
 */
static int probe(struct xen_source *x, uint64_t first, uint64_t n,
		 xfm_probe_fn *fn, void *ctx)
{
	return probe_how(x, first, n, false, fn, ctx);
}

struct range_list {
	xfm_range *r;
	size_t n, cap;
};

/* Append a whole range (merged later). */
static int add_range(struct range_list *l, xfm_range r)
{
	if (l->n == l->cap) {
		size_t c = l->cap ? l->cap * 2 : 16;
		xfm_range *p = realloc(l->r, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->r = p;
		l->cap = c;
	}
	l->r[l->n++] = r;
	return 0;
}

/* Append a present frame to a growing, merged range list. */
static int add_frame(void *ctx, uint64_t frame, bool present)
{
	struct range_list *l = ctx;
	xfm_range *last = l->n ? &l->r[l->n - 1] : NULL;
	uint64_t start = frame * XFM_XEN_PAGE_SIZE;

	if (!present)
		return 0;
	if (last && last->start + last->size == start) {
		last->size += XFM_XEN_PAGE_SIZE;
		return 0;
	}
	return add_range(l, (xfm_range){ start, XFM_XEN_PAGE_SIZE });
}

static int probe_failed(struct xfm_source *s, int rc)
{
	return xfm_fail(rc, "%s: probing guest memory: %s", s->label,
			strerror(-rc));
}

/* The frame info of [first, first + cnt) into @l; *found counts pages. */
static int pfinfo_chunk(struct xen_source *x, struct xfm_xen_pfinfo *pi,
			uint64_t first, uint64_t cnt, struct range_list *l,
			uint64_t *found)
{
	int rc = xfm_xen_pfinfo(&x->pc, x->domid, pi, first, (size_t)cnt);

	for (uint64_t i = 0; rc == 0 && i < cnt; i++) {
		uint64_t t = pi->type[i] & XFM_PFINFO_MASK;
		bool own = t != XFM_PFINFO_XTAB && t != XFM_PFINFO_BROKEN;

		*found += own;
		rc = add_frame(l, first + i, own);
	}
	return rc;
}

/* The domain's page count, if nothing makes the frame info unfit. */
static int own_pages(struct xen_source *x, uint64_t *tot)
{
	struct xfm_xen_dominfo di;

	if (xfm_xen_dominfo(&x->pc, x->domid, &di) < 0 || di.shr_pages ||
	    di.paged_pages)
		return -1;
	*tot = di.tot_pages;
	return 0;
}

/*
 * Xen's page-frame info (1024 frames a hypercall, nothing mapped): the
 * guest's own pages.  Asked from both ends inwards, and no further once
 * as many pages were found as Xen says the domain owns (the empty middle
 * of a guest's frame numbers is never asked about), if that count did
 * not change meanwhile.  1: not to be used (no domctl, a restricted
 * handle, a 32-bit host, a PV guest, or pages shared or paged out, which
 * it reports otherwise than mapping would): probe by mapping.
 */
static int pfinfo_pages(struct xen_source *x, uint64_t n,
			struct range_list *l)
{
	struct range_list top = { NULL, 0, 0 };
	struct xfm_xen_pfinfo pi;
	uint64_t lo = 0, hi = n, found = 0, tot = 0, tot2;
	bool stop = true, asked = false;
	int rc;

	if (!x->have_uuid || x->p2m || own_pages(x, &tot) < 0 ||
	    xfm_xen_pfinfo_init(&pi) < 0)
		return 1;
	rc = 0;
	for (bool up = true; lo < hi && rc == 0; up = !up) {
		uint64_t cnt = hi - lo < XFM_PFINFO_MAX ? hi - lo
							 : XFM_PFINFO_MAX;

		if (up) {
			rc = pfinfo_chunk(x, &pi, lo, cnt, l, &found);
			lo += cnt;
		} else {
			rc = pfinfo_chunk(x, &pi, hi - cnt, cnt, &top, &found);
			hi -= cnt;
		}
		asked |= rc == 0;
		if (rc == 0 && stop && found >= tot && lo < hi) {
			/* All found, unless the guest changed meanwhile. */
			if (found == tot && own_pages(x, &tot2) == 0 &&
			    tot2 == tot)
				break;
			stop = false;
		}
	}
	xfm_xen_pfinfo_fini(&pi);
	if (rc < 0 && !asked)
		rc = 1; /* the very first ask failed: not available */
	for (size_t i = 0; rc == 0 && i < top.n; i++)
		rc = add_range(l, top.r[i]);
	free(top.r);
	if (rc == 0)
		l->n = xfm_ranges_normalize(l->r, l->n);
	return rc;
}

/* Gaps among the guest's pages this short are always mapped to see. */
#define NEAR_GAP 64

/*
 * An HVM/PVH guest's frames: its own pages (Xen's page-frame info), and
 * the frames in the gaps among them that map: Xen's own pages the guest
 * placed in its memory map (shared_info, grant table frames: Linux puts
 * them where it took RAM away, a brk page or ballooned pages), which
 * that info does not count as the guest's.  Gaps up to as many frames
 * as the guest has pages (ballooned-out memory, an HVM guest's MMIO hole
 * below its RAM above 4 GiB) are mapped whole; larger ones, the empty
 * space above a guest's RAM, are not: mapping an absent frame costs Linux a
 * hypercall of its own (946,000 of them for a 384 MiB PVH guest, whose
 * last frame is below 4 GiB, where Xen answers the same in ~1,000).
 */
static int ranges_by_pfinfo(struct xen_source *x, uint64_t n,
			    struct range_list *l)
{
	struct range_list gaps = { NULL, 0, 0 };
	uint64_t pages = 0, big;
	int rc = pfinfo_pages(x, n, l);

	if (rc == 0 && l->n == 0)
		rc = 1; /* none of the guest's own: ask by mapping */
	for (size_t i = 0; rc == 0 && i < l->n; i++)
		pages += l->r[i].size / XFM_XEN_PAGE_SIZE;
	big = pages > NEAR_GAP ? pages : NEAR_GAP;
	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		uint64_t first = l->r[i].start / XFM_XEN_PAGE_SIZE;
		uint64_t end = first + l->r[i].size / XFM_XEN_PAGE_SIZE;
		uint64_t next = i + 1 < l->n ? l->r[i + 1].start /
				XFM_XEN_PAGE_SIZE : n;

		if (i == 0 && first > 0 && first <= big)
			rc = probe(x, 0, first, add_frame, &gaps);
		if (rc == 0 && next > end && next - end <= big)
			rc = probe(x, end, next - end, add_frame, &gaps);
	}
	for (size_t i = 0; rc == 0 && i < gaps.n; i++)
		rc = add_range(l, gaps.r[i]);
	free(gaps.r);
	return rc;
}

static int ranges_how(struct xfm_source *s, bool coarse, xfm_range **out,
		      size_t *nout)
{
	struct xen_source *x = to_xen(s);
	struct range_list l = { NULL, 0, 0 };
	uint64_t n = x->p2m ? x->p2m_nr : x->max_gpfn + 1;
	/* Without a stride a superset would be every frame: exact then. */
	bool sparse = coarse && PROBE_STRIDE;
	int rc = sparse ? 1 : ranges_by_pfinfo(x, n, &l);

	if (rc == 1) {
		free(l.r);
		l = (struct range_list){ NULL, 0, 0 };
		rc = probe_how(x, 0, n, sparse, add_frame, &l);
	}

	if (rc < 0) {
		free(l.r);
		return probe_failed(s, rc);
	}
	*out = l.r;
	*nout = l.n;
	return 0;
}

/* Which frames exist: every frame up to the guest's last. */
static int xen_ranges(struct xfm_source *s, xfm_range **out, size_t *nout)
{
	return ranges_how(s, false, out, nout);
}

/* On Arm only the samples are mapped: the chunks that hold memory. */
static int xen_likely_ranges(struct xfm_source *s, xfm_range **out,
			     size_t *nout)
{
	return ranges_how(s, true, out, nout);
}

/* Stop at the first absent frame. */
static int find_absent(void *ctx, uint64_t frame, bool present)
{
	if (present)
		return 0;
	*(uint64_t *)ctx = frame;
	return 1;
}

/* Only the frames asked about are probed, never the whole guest. */
static int xen_present(struct xfm_source *s, uint64_t first, uint64_t n,
		       uint64_t *missing)
{
	int rc = probe(to_xen(s), first, n, find_absent, missing);

	if (rc < 0)
		return probe_failed(s, rc);
	return rc == 0;
}

static int xen_restrict(struct xfm_source *s)
{
	struct xen_source *x = to_xen(s);
	int rc = xfm_privcmd_restrict(&x->pc, x->domid);

	if (rc < 0)
		return xfm_fail(rc, "%s: restrict: %s", s->label, strerror(-rc));
	return 0;
}

static int xen_resource_size(struct xfm_source *s, unsigned int type,
			     unsigned int id, uint64_t *size)
{
	struct xen_source *x = to_xen(s);
	uint64_t frames = 0;
	int rc = xfm_privcmd_resource(&x->pc, x->domid, type, id, 0, 0, NULL,
				      &frames);

	if (rc < 0)
		return xfm_fail(rc, "%s: resource type %u id %u: %s", s->label,
				type, id, strerror(-rc));
	*size = frames * XFM_XEN_PAGE_SIZE;
	return 0;
}

static int xen_map_resource(struct xfm_source *s, unsigned int type,
			    unsigned int id, uint64_t frame, uint64_t nr,
			    unsigned int prot, void **addr, uint64_t *bytes)
{
	struct xen_source *x = to_xen(s);
	int rc = xfm_privcmd_map_resource(&x->pc, x->domid, type, id, frame,
					  nr, NULL, to_prot(prot), 0, addr,
					  bytes);

	if (rc == -EOPNOTSUPP && xfm_privcmd_resource_unsafe(&x->pc, nr))
		return xfm_fail(rc, "%s: resource mapping of %llu frames with "
				"a %llu-byte kernel page is unsafe (Linux "
				"privcmd mis-sizes it); map one frame per call",
				s->label, (unsigned long long)nr,
				(unsigned long long)x->pc.psz.kpage);
	if (rc == -EOVERFLOW)
		return xfm_fail(rc, "%s: %llu resource frames are too many",
				s->label, (unsigned long long)nr);
	if (rc < 0)
		return xfm_fail(rc, "%s: mapping resource type %u id %u frames "
				"0x%llx+%llu: %s", s->label, type, id,
				(unsigned long long)frame,
				(unsigned long long)nr, strerror(-rc));
	return 0;
}

/*
 * Still the domain we opened?  Not if Xen no longer has it, has it dying
 * (a zombie kept by mappings), or gave its id to another domain (another
 * UUID).  A save + restore brings the UUID back under a new id: the old
 * id is gone.  Without domctl (another error), the stable memory_op says
 * at least whether the id still exists.
 */
static int xen_alive(struct xfm_source *s)
{
	struct xen_source *x = to_xen(s);
	struct xfm_xen_dominfo di;
	int rc = -EACCES;

	if (x->have_uuid) {
		pthread_mutex_lock(&x->hc_lock);
		rc = x->hc_buf ? xfm_xen_dominfo_in(&x->pc, x->domid, x->hc_buf,
						    &di)
			       : xfm_xen_dominfo(&x->pc, x->domid, &di);
		pthread_mutex_unlock(&x->hc_lock);
	}

	if (rc == 0)
		return di.dying || memcmp(di.handle, x->uuid, 16) ? -ESRCH : 0;
	if (rc == -ESRCH)
		return -ESRCH;
	return memory_op_domid(x, XFM_XENMEM_MAXIMUM_GPFN) == -ESRCH ? -ESRCH
								     : 0;
}

/* The root in the vCPU's registers (xen-vcpu.c: Xen's unstable domctl). */
static int xen_vm_root(struct xfm_source *s, unsigned int vcpu,
		       xfm_vm_root *r)
{
	struct xen_source *x = to_xen(s);

	if (!x->have_uuid)
		return -ENODATA; /* no domctl: the type is unknown */
	return xfm_xen_vcpu_root(&x->pc, x->domid, vcpu, x->hvm, r) < 0
		       ? -ENODATA : 0;
}

/* PV roots hold machine frames: back to the guest's through its p2m. */
static int xen_machine_to_frame(struct xfm_source *s, uint64_t mfn,
				uint64_t *frame)
{
	struct xen_source *x = to_xen(s);
	int rc = 0;

	if (!x->p2m)
		return -ENOENT;
	pthread_mutex_lock(&x->m2p_lock);
	if (!x->m2p)
		rc = xfm_xen_pv_m2p(x->p2m, x->p2m_nr, &x->m2p, &x->m2p_n);
	if (rc == 0)
		rc = xfm_xen_pv_m2p_find(x->m2p, x->m2p_n, mfn, frame);
	pthread_mutex_unlock(&x->m2p_lock);
	return rc;
}

static int xen_frame_to_machine(struct xfm_source *s, uint64_t frame,
				uint64_t *mfn)
{
	struct xen_source *x = to_xen(s);

	if (!x->p2m || pv_translate(x, frame) == INVALID_FRAME)
		return -ENOENT;
	*mfn = pv_translate(x, frame);
	return 0;
}

static void xen_close(struct xfm_source *s)
{
	struct xen_source *x = to_xen(s);

	xfm_privcmd_close(&x->pc);
	free(x->p2m);
	free(x->m2p);
	if (x->hc_buf)
		xfm_privcmd_buf_free(x->hc_buf, 4096);
	pthread_mutex_destroy(&x->hc_lock);
	pthread_mutex_destroy(&x->m2p_lock);
	xfm_source_fini(s);
	free(x);
}

static const struct xfm_source_ops xen_ops = {
	.name = "xen",
	.geometry = xen_geometry,
	.ranges = xen_ranges,
	.likely_ranges = xen_likely_ranges,
	.present = xen_present,
	.map = xen_map,
	.close = xen_close,
	.restrict_domain = xen_restrict,
	.resource_size = xen_resource_size,
	.map_resource = xen_map_resource,
	.alive = xen_alive,
	.vm_root = xen_vm_root,
	.machine_to_frame = xen_machine_to_frame,
	.frame_to_machine = xen_frame_to_machine,
};

static int parse_domid(const char *arg, uint32_t *domid)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' ||
	    v >= XEN_DOMID_RESERVED)
		return -EINVAL;
	*domid = (uint32_t)v;
	return 0;
}

/* Ask Xen for the guest's size; this also proves the domain exists. */
static int query_domain(struct xen_source *x)
{
	int64_t rc = memory_op_domid(x, XFM_XENMEM_MAXIMUM_GPFN);

	if (rc == -ESRCH)
		return xfm_fail(-ENOENT, "%s: no such domain", x->base.label);
	if (rc < 0)
		return xfm_fail((int)rc, "%s: cannot query the domain's size: "
				"%s", x->base.label, strerror((int)-rc));
	x->max_gpfn = (uint64_t)rc;
	return xfm_source_add_info(&x->base, "xen.domid", "%u", x->domid);
}

/*
 * HVM/PVH guests are mapped by their own frame numbers; PV guests by
 * machine frame, through their p2m (xen-pv.c).  If the (unstable) domctl
 * cannot answer, frames are passed through as given, and said so.
 */
static int query_type(struct xen_source *x)
{
	struct xfm_xen_dominfo di;
	int rc = xfm_xen_dominfo(&x->pc, x->domid, &di);

	if (rc < 0) {
		xfm_warn(&x->base, "%s: domain type unknown (domctl: %s): "
			 "frames are used as given", x->base.label,
			 strerror(-rc));
		return xfm_source_add_info(&x->base, "xen.type", "unknown");
	}
	memcpy(x->uuid, di.handle, sizeof(x->uuid));
	x->have_uuid = true;
	x->hvm = di.hvm;
	if (di.hvm)
		return xfm_source_add_info(&x->base, "xen.type", "hvm");
	rc = xfm_xen_pv_p2m(&x->pc, x->domid, di.shared_info_mfn, &x->p2m,
			    &x->p2m_nr);
	if (rc < 0)
		return xfm_fail(rc, "%s: PV guest: cannot read its p2m table "
				"(%s)", x->base.label, strerror(-rc));
	x->max_gpfn = x->p2m_nr - 1;
	rc = xfm_source_add_info(&x->base, "xen.type", "pv");
	if (rc == 0)
		rc = xfm_source_add_info(&x->base, "xen.p2m", "guest frame list "
					 "via domctl getdomaininfo");
	return rc;
}

int xfm_xen_open(const char *arg, const struct xfm_open_args *a,
		 struct xfm_source **out)
{
	struct xen_source *x;
	int rc;

	x = calloc(1, sizeof(*x));
	if (!x)
		return xfm_fail(-ENOMEM, "xen:%s: out of memory", arg);
	x->pc.fd = -1;
	pthread_mutex_init(&x->m2p_lock, NULL);
	pthread_mutex_init(&x->hc_lock, NULL);
	x->hc_buf = xfm_privcmd_buf_alloc(4096); /* NULL: one per check */
	if (xfm_source_init(&x->base, &xen_ops, a, "xen:%s", arg) < 0) {
		free(x);
		return xfm_fail(-ENOMEM, "xen:%s: out of memory", arg);
	}
	rc = parse_domid(arg, &x->domid);
	if (rc < 0) {
		rc = xfm_fail(rc, "xen:%s: not a domain id", arg);
		goto fail;
	}
	rc = xfm_privcmd_open(&x->pc);
	if (rc < 0) {
		rc = xfm_fail(rc, "%s: cannot open /dev/xen/privcmd: %s "
			      "(is this a Xen dom0 with xen-privcmd loaded?)",
			      x->base.label, strerror(-rc));
		goto fail;
	}
	/* Before any restrict: afterwards hypercalls fail with EPERM. */
	x->hyp_page = xfm_privcmd_hyp_pagesize(&x->pc, &x->origin);
	if (x->origin == XFM_ORIGIN_DEFAULT)
		xfm_warn(&x->base, "%s: hypervisor page size unknown "
			 "(XENVER_pagesize and sysfs unavailable); assuming "
			 "4096", x->base.label);
	rc = query_domain(x);
	if (rc < 0)
		goto fail;
	rc = query_type(x);
	if (rc < 0)
		goto fail;
	*out = &x->base;
	return 0;
fail:
	xen_close(&x->base);
	return rc;
}
