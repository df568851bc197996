/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * ranges.c - the memory map: which guest-physical bytes exist.  The
 * library's answer is the truth callers use (sorted, merged), so none of
 * them recomputes it; a span's presence on a live guest is asked of the
 * source for that span only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

static int cmp_range(const void *a, const void *b)
{
	const xfm_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Last byte of a range (a range may end at 2^64). */
static uint64_t last_byte(const xfm_range *r)
{
	return r->start + (r->size - 1);
}

size_t xfm_ranges_normalize(xfm_range *r, size_t n)
{
	size_t k = 0;

	if (n > 1)
		qsort(r, n, sizeof(*r), cmp_range);
	for (size_t i = 0; i < n; i++) {
		if (!r[i].size)
			continue;
		if (k && (last_byte(&r[k - 1]) == UINT64_MAX ||
			  last_byte(&r[k - 1]) + 1 >= r[i].start)) {
			if (last_byte(&r[i]) > last_byte(&r[k - 1]))
				r[k - 1].size = last_byte(&r[i]) -
						r[k - 1].start + 1;
			continue;
		}
		r[k++] = r[i];
	}
	return k;
}

/* Called with h->lock held. */
static int load_ranges(xfm_handle *h)
{
	xfm_range *r = NULL;
	size_t n = 0;
	int rc;

	if (h->have_ranges)
		return 0;
	rc = h->src->ops->ranges(h->src, &r, &n);
	if (rc < 0)
		return rc;
	n = xfm_ranges_normalize(r, n);
	free(h->ranges);
	h->ranges = r;
	h->nr_ranges = n;
	h->have_ranges = true;
	return 0;
}

/*
 * The memory map, loaded if need be, with h->lock held on success (the
 * caller reads h->ranges, then unlocks).
 */
static int lock_ranges(xfm_handle *h)
{
	bool fresh;
	int rc;

	rc = xfm_check_alive(h, false, UINT64_MAX);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&h->lock);
	fresh = !h->have_ranges;
	rc = load_ranges(h);
	pthread_mutex_unlock(&h->lock);
	/* A probe that raced with a destroy lists a part of the guest. */
	if (rc == 0 && fresh)
		rc = xfm_check_alive(h, true, UINT64_MAX);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&h->lock);
	rc = h->have_ranges ? 0 : load_ranges(h);
	if (rc < 0)
		pthread_mutex_unlock(&h->lock);
	return rc;
}

XFM_EXPORT int64_t xfm_get_ranges(xfm_handle *h, xfm_range *ranges, size_t max)
{
	size_t n;
	int64_t rc;

	if (!h || (max && !ranges))
		return xfm_fail(-EINVAL, "xfm_get_ranges: bad arguments");
	rc = lock_ranges(h);
	if (rc < 0)
		return rc;
	n = h->nr_ranges < max ? h->nr_ranges : max;
	if (n)
		memcpy(ranges, h->ranges, n * sizeof(*ranges));
	rc = (int64_t)h->nr_ranges;
	pthread_mutex_unlock(&h->lock);
	return rc;
}


/* The part of [@addr, @addr + @len) (clipped at 2^64) in each range. */
XFM_EXPORT int64_t xfm_get_ranges_alloc(xfm_handle *h, uint64_t addr,
					uint64_t len, xfm_range **out)
{
	uint64_t last = len > UINT64_MAX - addr ? UINT64_MAX : addr + len - 1;
	xfm_range *r;
	size_t k = 0, nr;
	int rc;

	if (!h || !out)
		return xfm_fail(-EINVAL, "xfm_get_ranges_alloc: bad arguments");
	*out = NULL;
	if (!len)
		return 0;
	rc = lock_ranges(h);
	if (rc < 0)
		return rc;
	nr = h->nr_ranges;
	r = calloc(nr ? nr : 1, sizeof(*r));
	for (size_t i = 0; r && i < nr; i++) {
		uint64_t s = h->ranges[i].start, e = last_byte(&h->ranges[i]);

		s = s > addr ? s : addr;
		e = e < last ? e : last;
		if (s <= e)
			r[k++] = (xfm_range){ s, e - s + 1 };
	}
	pthread_mutex_unlock(&h->lock);
	if (!r)
		return xfm_fail(-ENOMEM, "%s: out of memory for a list of %zu "
				"ranges", h->src->label, nr);
	if (!k)
		free(r);
	*out = k ? r : NULL;
	return (int64_t)k;
}

/* From the memory map: the first byte of [addr, last] in no range. */
static uint64_t first_gap(const xfm_handle *h, uint64_t addr, uint64_t last,
			  bool *all)
{
	for (size_t i = 0; i < h->nr_ranges; i++) {
		const xfm_range *r = &h->ranges[i];

		if (last_byte(r) < addr)
			continue;
		if (r->start > addr)
			break;
		if (last_byte(r) >= last) {
			*all = true;
			return 0;
		}
		addr = last_byte(r) + 1;
	}
	*all = false;
	return addr;
}

XFM_EXPORT int xfm_span_present(xfm_handle *h, uint64_t addr, uint64_t len,
				uint64_t *gap)
{
	uint64_t fs, last, missing = 0, g;
	bool all = false;
	int rc;

	if (!h || !gap)
		return xfm_fail(-EINVAL, "xfm_span_present: bad arguments");
	if (!len)
		return 1;
	if (len - 1 > UINT64_MAX - addr)
		return xfm_fail(-EOVERFLOW, "%s: address 0x%llx + length 0x%llx "
				"wraps around", h->src->label,
				(unsigned long long)addr,
				(unsigned long long)len);
	fs = h->psz.frame;
	last = addr + (len - 1);
	if (last / fs > h->geo.max_frame) {
		/* Past the source's end: absent there, if not before. */
		missing = h->geo.max_frame + 1;
		last = missing * fs - 1;
		if (addr > last) {
			*gap = addr;
			return 0;
		}
	}
	pthread_mutex_lock(&h->lock);
	all = h->have_ranges || !h->src->ops->present;
	pthread_mutex_unlock(&h->lock);
	if (all) {
		rc = lock_ranges(h);
		if (rc < 0)
			return rc;
		g = first_gap(h, addr, last, &all);
		pthread_mutex_unlock(&h->lock);
	} else {
		/* A live guest: probe the span's frames, not the guest. */
		rc = h->src->ops->present(h->src, addr / fs, last / fs - addr / fs
					  + 1, &g);
		if (rc < 0)
			return rc;
		all = rc == 1;
		g = g * fs > addr ? g * fs : addr;
	}
	if (all && missing) {
		all = false;
		g = missing * fs;
	}
	*gap = g;
	return all;
}
