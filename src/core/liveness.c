/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * liveness.c - noticing that a live source went away under the handle.
 *
 * A destroyed Xen domain keeps the pages dom0 still maps (it lingers as a
 * "dying" zombie until they are unmapped), so cached windows would go on
 * answering with its last bytes, and new maps fail frame by frame, which
 * a zero-filling reader would turn into zeros.  Neither may pass for the
 * guest.  So the core asks the source "are you still the one I opened?"
 * after every new mapping in which a frame failed, and otherwise (new
 * mappings that all succeeded, cache hits) at most every CHECK_NS: a
 * mapping that succeeded whole was of a domain that was there, and the
 * one case it misses, the domain id reused by a new domain, takes far
 * longer than CHECK_NS to happen (a domain is built in ~100 ms).  Once
 * the answer is no, the handle is marked gone for good, its windows are
 * unmapped (letting Xen free the domain) and every later call fails with
 * -ESRCH.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "private.h"

/* Cache hits look again at most this often (ns). */
#define CHECK_NS (UINT64_C(20) * 1000 * 1000)

static uint64_t coarse_ns(void)
{
	struct timespec ts;

#ifdef CLOCK_MONOTONIC_COARSE
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
	clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int gone_error(xfm_handle *h, int err, uint64_t frame)
{
	if (frame == UINT64_MAX)
		return xfm_fail(err, "%s: the domain is gone (destroyed, or "
				"saved and restored under another id); reopen "
				"it by name", h->src->label);
	return xfm_fail(err, "%s: frame 0x%llx: the domain is gone "
			"(destroyed, or saved and restored under another id); "
			"reopen it by name", h->src->label,
			(unsigned long long)frame);
}

/* Mark the handle gone and unmap its windows (users unmap on release). */
static void mark_gone(xfm_handle *h, int err)
{
	int none = 0;

	if (!atomic_compare_exchange_strong(&h->gone, &none, err))
		return;
	pthread_mutex_lock(&h->lock);
	xfm_cache_drop(h, 0, UINT64_MAX);
	pthread_mutex_unlock(&h->lock);
}

int xfm_source_gone(xfm_handle *h, uint64_t frame)
{
	mark_gone(h, -ESRCH);
	return gone_error(h, atomic_load(&h->gone), frame);
}

int xfm_check_alive(xfm_handle *h, bool now, uint64_t frame)
{
	uint64_t t, last;
	int err = atomic_load(&h->gone);

	if (err)
		return gone_error(h, err, frame);
	if (!h->src->ops->alive)
		return 0;
	if (!now) {
		t = coarse_ns();
		last = atomic_load(&h->alive_checked);
		/* One thread looks; the others go on. */
		if (t - last < CHECK_NS ||
		    !atomic_compare_exchange_strong(&h->alive_checked, &last, t))
			return 0;
	}
	err = h->src->ops->alive(h->src);
	if (err == 0)
		return 0;
	mark_gone(h, err);
	return gone_error(h, atomic_load(&h->gone), frame);
}
