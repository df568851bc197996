/* SPDX-License-Identifier: LGPL-2.1-only */
/* map.c - mapping extents and resources for the caller. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "private.h"

/* The map path's code together in .text.hot: a map call touches few
 * code pages (each a TLB refill after the ioctl's page-table switch). */
#define XFM_HOT __attribute__((hot))

static int check_prot(xfm_handle *h, unsigned int prot)
{
	if (prot & ~(unsigned int)(XFM_PROT_READ | XFM_PROT_WRITE))
		return xfm_fail(-EINVAL, "%s: unknown protection 0x%x",
				h->src->label, prot);
	if ((prot & XFM_PROT_WRITE) && !(h->src->flags & XFM_OPEN_WRITE))
		return xfm_fail(-EROFS, "%s: handle is read-only (open it "
				"with XFM_OPEN_WRITE to map for writing)",
				h->src->label);
	return 0;
}

/* Frames per call whose lists live on the stack (no allocation). */
#define SMALL_MAP 64

/* Expand extents into a frame list (@small if it fits). */
XFM_HOT static uint64_t *expand(const xfm_extent *ext, size_t n, uint64_t total,
			uint64_t *small)
{
	uint64_t *frames = total <= SMALL_MAP ? small
			   : malloc(total * sizeof(*frames));
	uint64_t k = 0;

	if (!frames)
		return NULL;
	/* Every extent of order 0 (single frames, the common case): one
	 * plain copy, no inner loop. */
	if (total == n) {
		for (size_t i = 0; i < n; i++)
			frames[i] = ext[i].frame;
		return frames;
	}
	for (size_t i = 0; i < n; i++)
		for (uint64_t j = 0; j < (UINT64_C(1) << ext[i].order); j++)
			frames[k++] = ext[i].frame + j;
	return frames;
}

/*
 * An extent's error is the first error among its frames.  When every
 * frame mapped (@all), no frame's error is looked at.
 */
XFM_HOT static size_t collect_errors(xfm_extent *ext, size_t n, const int *err,
			     bool all)
{
	size_t ok = 0, k = 0;

	if (all) {
		for (size_t i = 0; i < n; i++)
			ext[i].err = 0;
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t cnt = UINT64_C(1) << ext[i].order;

		ext[i].err = 0;
		for (uint64_t j = 0; j < cnt; j++, k++)
			if (err[k] && !ext[i].err)
				ext[i].err = err[k];
		ok += ext[i].err == 0;
	}
	return ok;
}

static int first_error(const xfm_extent *ext, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ext[i].err)
			return ext[i].err;
	return -ENOENT;
}

/*
 * A mapping object: the handle's kept one if there is one, else a new
 * one.  Measured in the lab (bench-xen mapcall, a diagnostic build with
 * no allocation): malloc + free were about half of what a single-frame
 * xfm_map costs above the drop-in's call.
 */
XFM_HOT static int new_map(xfm_handle *h, void *addr, uint64_t frames, xfm_mapping **out)
{
	xfm_mapping *m = atomic_exchange_explicit(&h->spare_map, NULL,
						  memory_order_acquire);

	if (!m)
		m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	*m = (xfm_mapping){ .h = h, .addr = addr, .frames = frames,
			    .length = frames * h->psz.frame };
	*out = m;
	return 0;
}

/* Keep @m for the handle's next map if none is kept, else free it. */
XFM_HOT static void put_map(xfm_handle *h, xfm_mapping *m)
{
	xfm_mapping *none = NULL;

	if (!atomic_compare_exchange_strong_explicit(&h->spare_map, &none, m,
						     memory_order_release,
						     memory_order_relaxed))
		free(m);
}

void xfm_map_spare_free(xfm_handle *h)
{
	free(atomic_exchange(&h->spare_map, NULL));
}

XFM_HOT XFM_EXPORT int xfm_map(xfm_handle *h, xfm_extent *ext, size_t n,
		       unsigned int prot, void *hint, xfm_mapping **out)
{
	uint64_t total, bytes, *frames = NULL, small_frames[SMALL_MAP];
	int *err = NULL, small_err[SMALL_MAP];
	void *addr = NULL;
	int64_t rc;
	size_t ok;

	if (!h || !ext || !n || !out)
		return xfm_fail(-EINVAL, "xfm_map: bad arguments");
	rc = check_prot(h, prot);
	if (rc < 0)
		return (int)rc;
	rc = xfm_extent_frames(ext, n, &total);
	if (rc < 0)
		return xfm_fail((int)rc, "%s: extents: bad order or misaligned "
				"frame, or total too large", h->src->label);
	if (xfm_map_bytes(&h->psz, total, &bytes) < 0 || bytes > SIZE_MAX ||
	    total > SIZE_MAX / sizeof(*frames))
		return xfm_fail(-EOVERFLOW, "%s: %llu frames do not fit in the "
				"address space", h->src->label,
				(unsigned long long)total);
	/*
	 * Extents wholly past the source's last frame can never map.  When
	 * every extent is, fail now: the frame list of an order-30 extent is
	 * 8 GiB, written in full before the source would say no.
	 */
	for (ok = 0; ok < n && ext[ok].frame > h->geo.max_frame; ok++)
		ext[ok].err = -ENOENT;
	if (ok == n)
		return xfm_fail(-ENOENT, "%s: no extent could be mapped (first: "
				"frame 0x%llx, %s)", h->src->label,
				(unsigned long long)ext[0].frame,
				strerror(ENOENT));
	/* Small maps (single frames, page-table walks) allocate nothing
	 * here: the kernel's work is then the whole cost of the call. */
	frames = expand(ext, n, total, small_frames);
	err = total <= SMALL_MAP ? memset(small_err, 0, sizeof(small_err))
				 : calloc((size_t)total, sizeof(*err));
	if (!frames || !err) {
		rc = xfm_fail(-ENOMEM, "%s: out of memory", h->src->label);
		goto out;
	}
	rc = h->src->ops->map(h->src, frames, (size_t)total, prot, hint, err,
			      &addr);
	if (rc < 0)
		goto out;
	/* Frames of a domain destroyed under us fail: say so, not ENOENT
	 * (asked at once when a frame failed, i.e. fewer than all mapped,
	 * else at the hits' pace). */
	if (xfm_check_alive(h, (uint64_t)rc < total, frames[0]) < 0) {
		xfm_unmap_frames(&h->psz, addr, total);
		rc = -ESRCH;
		goto out;
	}
	ok = collect_errors(ext, n, err, (uint64_t)rc == total);
	if (ok == 0) {
		xfm_unmap_frames(&h->psz, addr, total);
		rc = first_error(ext, n);
		rc = xfm_fail((int)rc, "%s: no extent could be mapped (first: "
			      "frame 0x%llx, %s)", h->src->label,
			      (unsigned long long)ext[0].frame,
			      strerror((int)-rc));
		goto out;
	}
	rc = new_map(h, addr, total, out);
	if (rc < 0) {
		xfm_unmap_frames(&h->psz, addr, total);
		goto out;
	}
	rc = (int64_t)ok;
out:
	if (frames != small_frames)
		free(frames);
	if (err != small_err)
		free(err);
	return rc > INT32_MAX ? INT32_MAX : (int)rc;
}

XFM_EXPORT int xfm_map_resource(xfm_handle *h, unsigned int type,
				unsigned int id, uint64_t frame,
				uint64_t nr_frames, unsigned int prot,
				xfm_mapping **out)
{
	void *addr = NULL;
	uint64_t bytes = 0;
	int rc;

	if (!h || !out || !nr_frames)
		return xfm_fail(-EINVAL, "xfm_map_resource: bad arguments");
	rc = check_prot(h, prot);
	if (rc < 0)
		return rc;
	if (!h->src->ops->map_resource)
		return xfm_fail(-EOPNOTSUPP, "%s: resource mapping is only for "
				"Xen sources", h->src->label);
	rc = h->src->ops->map_resource(h->src, type, id, frame, nr_frames,
				       prot, &addr, &bytes);
	if (rc < 0)
		return rc;
	rc = new_map(h, addr, nr_frames, out);
	if (rc < 0) {
		munmap(addr, (size_t)bytes);
		return rc;
	}
	(*out)->res_bytes = bytes;
	return 0;
}

XFM_HOT XFM_EXPORT void *xfm_map_addr(const xfm_mapping *m)
{
	return m ? m->addr : NULL;
}

XFM_EXPORT uint64_t xfm_map_length(const xfm_mapping *m)
{
	return m ? m->length : 0;
}

XFM_HOT XFM_EXPORT int xfm_unmap(xfm_mapping *m)
{
	int rc;

	if (!m)
		return 0;
	if (m->res_bytes)
		rc = munmap(m->addr, (size_t)m->res_bytes) < 0 ? -errno : 0;
	else
		rc = xfm_unmap_frames(&m->h->psz, m->addr, m->frames);
	put_map(m->h, m);
	return rc;
}
