/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cache.c - a bounded LRU cache of mapped windows, which reads and writes
 * (read-write.c) go through.  Mapping costs hypercalls and TLB flushes;
 * copying is cheap: so windows are big, kept, and shared by threads.
 *
 * Locking: h->lock guards the window table.  A reader takes a reference
 * (users++) under the lock and copies without it; a window invalidated
 * while in use is taken out of the table, marked stale, and unmapped by
 * its last user.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

int xfm_cache_init(xfm_handle *h, uint64_t window_size, uint32_t nr)
{
	struct xfm_cache *c = &h->cache;
	uint64_t unit = xfm_map_unit(&h->psz);

	if (!xfm_is_pow2(window_size) || window_size < unit ||
	    window_size / h->psz.frame > (UINT64_C(1) << 24))
		return xfm_fail(-EINVAL, "%s: cache window of %llu bytes: must "
				"be a power of two from %llu to 2^24 frames",
				h->src->label, (unsigned long long)window_size,
				(unsigned long long)unit);
	memset(c, 0, sizeof(*c));
	c->window_frames = window_size / h->psz.frame;
	c->nr_max = nr;
	if (nr) {
		c->win = calloc(nr, sizeof(struct xfm_window *));
		if (!c->win)
			return xfm_fail(-ENOMEM, "%s: out of memory",
					h->src->label);
	}
	return 0;
}

/* Frames in the window of @wf frames from @first, cut at max_frame. */
static size_t window_len(xfm_handle *h, uint64_t first, uint64_t wf)
{
	uint64_t n = wf;

	if (first > h->geo.max_frame)
		return 0;
	if (h->geo.max_frame - first < n - 1)
		n = h->geo.max_frame - first + 1;
	return (size_t)n;
}

static void window_free(xfm_handle *h, struct xfm_window *w)
{
	/* Its own size: xfm_set_cache() may have changed the cache's. */
	if (w->addr)
		xfm_unmap_frames(&h->psz, w->addr, w->nframes);
	free(w->err);
	free(w);
}

/* Remove slot @i from the table; the window is freed or left to users. */
static void remove_slot(xfm_handle *h, uint32_t i)
{
	struct xfm_window **s = h->cache.win;
	struct xfm_window *w = s[i];

	s[i] = s[--h->cache.nr];
	if (w->users)
		w->stale = true;
	else
		window_free(h, w);
}

void xfm_cache_drop(xfm_handle *h, uint64_t first, uint64_t last)
{
	struct xfm_window **s = h->cache.win;

	for (uint32_t i = 0; i < h->cache.nr;) {
		struct xfm_window *w = s[i];
		uint64_t wlast = w->first + w->nframes - 1;

		if (w->first <= last && wlast >= first)
			remove_slot(h, i);
		else
			i++;
	}
}

void xfm_cache_fini(xfm_handle *h)
{
	xfm_cache_drop(h, 0, UINT64_MAX);
	free(h->cache.win);
	h->cache.win = NULL;
	h->cache.nr_max = 0;
}

static struct xfm_window *lookup(xfm_handle *h, uint64_t first)
{
	struct xfm_window **s = h->cache.win;

	for (uint32_t i = 0; i < h->cache.nr; i++)
		if (s[i]->first == first)
			return s[i];
	return NULL;
}

/* Map a window of @wf frames without holding the lock (mapping is slow). */
static int window_map(xfm_handle *h, uint64_t first, uint64_t wf,
		      struct xfm_window **out)
{
	struct xfm_window *w = calloc(1, sizeof(*w));
	uint64_t *frames = NULL;
	unsigned int prot = XFM_PROT_READ;
	size_t n;
	int64_t rc = -ENOMEM;

	if (!w)
		goto fail;
	w->first = first;
	n = window_len(h, first, wf);
	w->nframes = n;
	w->err = calloc(n, sizeof(*w->err));
	frames = malloc(n * sizeof(*frames));
	if (!w->err || !frames)
		goto fail;
	for (size_t i = 0; i < n; i++)
		frames[i] = first + i;
	if (h->src->flags & XFM_OPEN_WRITE)
		prot |= XFM_PROT_WRITE;
	rc = h->src->ops->map(h->src, frames, n, prot, NULL, w->err, &w->addr);
	if (rc < 0) {
		w->addr = NULL;
		goto fail;
	}
	free(frames);
	*out = w;
	return 0;
fail:
	free(frames);
	if (w)
		free(w->err);
	free(w);
	if (rc == -ENOMEM)
		return xfm_fail(-ENOMEM, "%s: out of memory", h->src->label);
	return (int)rc;
}

/* Make room for one more window; false if every window is in use. */
static bool evict_one(xfm_handle *h)
{
	struct xfm_window **s = h->cache.win;
	uint32_t victim = UINT32_MAX;

	if (h->cache.nr < h->cache.nr_max)
		return true;
	for (uint32_t i = 0; i < h->cache.nr; i++)
		if (!s[i]->users && (victim == UINT32_MAX ||
				     s[i]->last_use < s[victim]->last_use))
			victim = i;
	if (victim == UINT32_MAX)
		return false;
	remove_slot(h, victim);
	return true;
}

/* A frame refused with ESRCH: Xen no longer knows the domain. */
static bool window_gone(const struct xfm_window *w)
{
	for (uint64_t i = 0; i < w->nframes; i++)
		if (w->err[i] == -ESRCH)
			return true;
	return false;
}

/*
 * Get a referenced window holding @frame.  The window size is read under
 * the lock, and checked again before the new window joins the table: a
 * concurrent xfm_set_cache() may change it while we map.
 */
int xfm_window_get(xfm_handle *h, uint64_t frame, struct xfm_window **out)
{
	struct xfm_window *w, *mine = NULL;
	uint64_t wf, first;
	int rc;

	pthread_mutex_lock(&h->lock);
	wf = h->cache.window_frames;
	first = frame / wf * wf;
	w = lookup(h, first);
	if (w) {
		h->cache.hits++;
		goto found;
	}
	h->cache.misses++;
	pthread_mutex_unlock(&h->lock);

	rc = window_map(h, first, wf, &mine);
	if (rc == -ESRCH)
		return xfm_source_gone(h, frame);
	if (rc < 0)
		return rc;
	/* Mapped before the domain went? Frames of a dying one fail. */
	rc = window_gone(mine) ? xfm_source_gone(h, frame)
			       : xfm_check_alive(h, true, frame);
	if (rc < 0) {
		window_free(h, mine);
		return rc;
	}

	pthread_mutex_lock(&h->lock);
	/* another thread may have mapped it too */
	w = wf == h->cache.window_frames ? lookup(h, first) : NULL;
	if (w) {
		window_free(h, mine);
	} else if (wf == h->cache.window_frames && h->cache.nr_max &&
		   evict_one(h)) {
		w = mine;
		h->cache.win[h->cache.nr++] = w;
	} else {
		/* No room: a private window, unmapped when released. */
		w = mine;
		w->stale = true;
	}
found:
	w->users++;
	w->last_use = ++h->cache.clock;
	pthread_mutex_unlock(&h->lock);
	*out = w;
	return 0;
}

void xfm_window_put(xfm_handle *h, struct xfm_window *w)
{
	bool free_it;

	pthread_mutex_lock(&h->lock);
	free_it = --w->users == 0 && w->stale;
	pthread_mutex_unlock(&h->lock);
	if (free_it)
		window_free(h, w);
}
