/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * core.c - libxenforeignmemory.so.1 on xfm's privcmd layer.
 *
 * Every call keeps the return values, errno values and quirks of Xen
 * 4.17's library, because xl, QEMU and libxenguest depend on them.  What
 * differs is only where Xen's library was wrong: sizes follow the running
 * kernel's page (a map of N frames spans ceil(N / (kpage / 4096)) kernel
 * pages) and calls the kernel would mishandle are refused.
 *
 * Thread safety: after open, a handle is never written to (the fd, page
 * sizes and logger are fixed), and each call works on its own stack data
 * and on ioctls the kernel serialises, so any number of threads may share
 * one handle.  Only close must not race with other calls, as upstream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xentoollog.h>

#include "xenforeignmemory.h"
#include "privcmd.h"
#include "toolcore.h"

#define LOG_CONTEXT "xenforeignmemory"

/* Our frame arrays are handed to the kernel as they are. */
_Static_assert(_Generic((xen_pfn_t)0, xfm_xen_pfn_t : 1, default : 0),
	       "xen_pfn_t must be the privcmd layer's frame type");

struct xenforeignmemory_handle {
	struct xfm_privcmd pc;     /* with privcmd's answer to unknown ioctls */
	xentoollog_logger *logger;
	xentoollog_logger *logger_tofree; /* ours, made for a NULL logger */
	struct xfm_tc_handle tc;   /* registered with libxentoolcore */
};

struct xenforeignmemory_resource_handle {
	domid_t domid;
	unsigned int type;
	unsigned int id;
	unsigned long frame;
	unsigned long nr_frames;
	void *addr;
	int prot;
	int flags;
};

/*
 * The page sizes of this system, for calls that upstream allows without
 * a handle (unmap never looked at it, so callers pass NULL).
 */
static struct xfm_pagesz system_psz(void)
{
	return xfm_pagesz_of(XFM_XEN_PAGE_SIZE);
}

/* Set errno from a negative errno and return upstream's failure value. */
static int fail(int err)
{
	errno = -err;
	return -1;
}

/*
 * libxentoolcore calls this, under its own lock, for every handle when
 * the process restricts itself; it must not call back into toolcore.
 */
static int restrict_cb(struct xfm_tc_handle *ah, domid_t domid)
{
	xenforeignmemory_handle *h = (xenforeignmemory_handle *)
		((char *)ah - offsetof(xenforeignmemory_handle, tc));

	/* Another thread may be opening this handle right now (it is
	 * registered first, as upstream): its fd is published atomically. */
	if (__atomic_load_n(&h->pc.fd, __ATOMIC_ACQUIRE) < 0)
		return 0;
	return xenforeignmemory_restrict(h, domid);
}

/* Undo a half-done open, keeping the errno that made it fail. */
static void open_unwind(xenforeignmemory_handle *h)
{
	int saved = errno;

	xentoolcore__deregister_active_handle(&h->tc);
	xfm_privcmd_close(&h->pc);
	xtl_logger_destroy(h->logger_tofree);
	free(h);
	errno = saved;
}

XFM_EXPORT
xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
					       unsigned open_flags)
{
	xenforeignmemory_handle *h = calloc(1, sizeof(*h));
	struct xfm_privcmd pc = { .fd = -1 };
	int rc;

	(void)open_flags; /* reserved: upstream ignores it too */
	if (!h)
		return NULL;
	h->pc.fd = -1;
	h->logger = logger;
	/* Registered before the device is open, as upstream: the callback
	 * skips a handle without an fd. */
	h->tc.restrict_callback = restrict_cb;
	xentoolcore__register_active_handle(&h->tc);
	if (!h->logger) {
		h->logger_tofree = (xentoollog_logger *)
			xtl_createlogger_stdiostream(stderr, XTL_PROGRESS, 0);
		h->logger = h->logger_tofree;
		if (!h->logger)
			goto err;
	}
	rc = xfm_privcmd_open_compat(&pc);
	if (rc < 0) {
		xtl_log(h->logger, XTL_ERROR, -rc, LOG_CONTEXT,
			"cannot open the privcmd device (/dev/xen/privcmd)");
		errno = -rc;
		goto err;
	}
	/* Seen by restrict_cb() under toolcore's lock: fd last. */
	h->pc.psz = pc.psz;
	h->pc.unimpl_errno = pc.unimpl_errno;
	__atomic_store_n(&h->pc.fd, pc.fd, __ATOMIC_RELEASE);
	return h;
err:
	open_unwind(h);
	return NULL;
}

XFM_EXPORT
int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
	int rc = 0;

	if (!fmem)
		return 0;
	xentoolcore__deregister_active_handle(&fmem->tc);
	if (fmem->pc.fd >= 0 && close(fmem->pc.fd) < 0)
		rc = -1;
	xtl_logger_destroy(fmem->logger_tofree);
	free(fmem);
	return rc;
}

/*
 * Without a caller's err[] a single bad frame fails the whole map: the
 * caller could not tell which frames are usable, and touching a bad one
 * would raise SIGBUS.  Report the first failing frame's error.
 */
static void *all_or_nothing(xenforeignmemory_handle *h, void *addr,
			    size_t pages, const int *err)
{
	for (size_t i = 0; i < pages; i++) {
		if (!err[i])
			continue;
		xfm_unmap_frames(&h->pc.psz, addr, pages);
		errno = -err[i];
		return NULL;
	}
	return addr;
}

__attribute__((hot)) XFM_EXPORT
void *xenforeignmemory_map2(xenforeignmemory_handle *fmem, uint32_t dom,
			    void *addr, int prot, int flags, size_t pages,
			    const xen_pfn_t arr[], int err[])
{
	int *own_err = NULL;
	void *ret = NULL;
	int64_t nfail;
	int saved;

	if (!err) {
		if (pages > SIZE_MAX / sizeof(int)) {
			errno = ENOMEM;
			return NULL;
		}
		own_err = malloc(pages * sizeof(int));
		if (!own_err)
			return NULL;
		err = own_err;
	}
	nfail = xfm_privcmd_map(&fmem->pc, dom, addr, prot, flags, arr, pages,
				err, &ret);
	if (nfail < 0) {
		errno = (int)-nfail;
		ret = NULL;
	} else if (own_err && nfail > 0) {
		ret = all_or_nothing(fmem, ret, pages, err);
	}
	saved = errno;
	free(own_err);
	errno = saved;
	return ret;
}

__attribute__((hot)) XFM_EXPORT
void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom,
			   int prot, size_t pages,
			   const xen_pfn_t arr[], int err[])
{
	return xenforeignmemory_map2(fmem, dom, NULL, prot, 0, pages, arr, err);
}

/*
 * Upstream never looks at the handle here, so callers get away with
 * NULL; the size comes from the system, rounded to the kernel page.
 */
__attribute__((hot)) XFM_EXPORT
int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr,
			   size_t pages)
{
	struct xfm_pagesz psz = system_psz();
	int rc;

	(void)fmem;
	rc = xfm_unmap_frames(&psz, addr, pages);
	return rc < 0 ? fail(rc) : 0;
}

XFM_EXPORT
int xenforeignmemory_restrict(xenforeignmemory_handle *fmem, domid_t domid)
{
	int rc = xfm_privcmd_restrict(&fmem->pc, domid);

	return rc < 0 ? fail(rc) : 0;
}

/* Say why a multi-frame resource map is refused on this kernel. */
static int resource_hazard(xenforeignmemory_handle *h, unsigned long nr)
{
	if (!xfm_privcmd_resource_unsafe(&h->pc, nr))
		return 0;
	xtl_log(h->logger, XTL_ERROR, EOPNOTSUPP, LOG_CONTEXT,
		"refusing to map %lu resource frames: the kernel page is %llu "
		"bytes and privcmd maps multi-frame resources wrongly when it "
		"exceeds 4096 (map one frame at a time)", nr,
		(unsigned long long)h->pc.psz.kpage);
	return -EOPNOTSUPP;
}

/* No address and no frames is upstream's size query: nothing is mapped. */
static int resource_size_query(xenforeignmemory_handle *h,
			       xenforeignmemory_resource_handle *r)
{
	uint64_t n = 0;
	int rc = xfm_privcmd_resource(&h->pc, r->domid, r->type, r->id,
				      r->frame, 0, NULL, &n);

	if (rc < 0)
		return rc;
	r->nr_frames = (unsigned long)n;
	return 0;
}

/* Map the resource, or answer upstream's size query. */
static int resource_map(xenforeignmemory_handle *h,
			xenforeignmemory_resource_handle *r)
{
	uint64_t bytes;
	int rc;

	if (!r->addr && !r->nr_frames)
		return resource_size_query(h, r);
	rc = resource_hazard(h, r->nr_frames);
	if (rc < 0)
		return rc;
	rc = xfm_privcmd_map_resource(&h->pc, r->domid, r->type, r->id,
				      r->frame, r->nr_frames, r->addr, r->prot,
				      r->flags, &r->addr, &bytes);
	return rc == -EOVERFLOW ? -ENOMEM : rc;
}

XFM_EXPORT
xenforeignmemory_resource_handle *xenforeignmemory_map_resource(
	xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
	unsigned int id, unsigned long frame, unsigned long nr_frames,
	void **paddr, int prot, int flags)
{
	xenforeignmemory_resource_handle *r;
	int rc;

	/* Only the POSIX sharing flags: anything else is the caller's bug. */
	if (flags & ~(MAP_SHARED | MAP_PRIVATE)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	*r = (xenforeignmemory_resource_handle){
		.domid = domid, .type = type, .id = id, .frame = frame,
		.nr_frames = nr_frames, .addr = *paddr, .prot = prot,
		.flags = flags,
	};
	rc = resource_map(fmem, r);
	if (rc < 0) {
		free(r);
		errno = -rc;
		return NULL;
	}
	*paddr = r->addr;
	return r;
}

/*
 * A handle from a size query (nr_frames 0, no address) maps nothing;
 * upstream would munmap(NULL, size), which succeeds when size > 0 and
 * fails with EINVAL when it is 0.  Give the same answers without
 * touching address 0.
 */
static int resource_unmap(xenforeignmemory_resource_handle *r)
{
	struct xfm_pagesz p = system_psz();
	uint64_t bytes;

	if (xfm_map_bytes(&p, r->nr_frames, &bytes) < 0 || bytes > SIZE_MAX)
		return fail(-EINVAL);
	if (!r->addr)
		return bytes ? 0 : fail(-EINVAL);
	return munmap(r->addr, (size_t)bytes);
}

XFM_EXPORT
int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
				    xenforeignmemory_resource_handle *fres)
{
	int rc, saved;

	(void)fmem;
	if (!fres)
		return 0;
	rc = resource_unmap(fres);
	saved = errno;
	free(fres);
	errno = saved;
	return rc;
}

XFM_EXPORT
int xenforeignmemory_resource_size(xenforeignmemory_handle *fmem,
				   domid_t domid, unsigned int type,
				   unsigned int id, size_t *size)
{
	xenforeignmemory_resource_handle r = {
		.domid = domid, .type = type, .id = id,
	};
	uint64_t bytes;
	int rc = resource_size_query(fmem, &r);

	if (rc < 0)
		return fail(rc);
	/* Xen frames, not kernel pages: the size of the resource itself. */
	if (xfm_frame_offset(&fmem->pc.psz, r.nr_frames, &bytes) < 0 ||
	    bytes > SIZE_MAX)
		return fail(-EOVERFLOW);
	*size = (size_t)bytes;
	return 0;
}
