/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cache.c - a bounded cache of mapped windows, which reads and writes
 * (read-write.c) go through.  Mapping costs hypercalls and TLB flushes;
 * copying is cheap: so windows are big, kept, and shared by threads.
 *
 * A hit takes no lock and makes no system call: the window is found in an
 * open-addressing table indexed by first frame / window size (direct for a
 * guest the cache covers), read with atomic loads, and pinned by a
 * reference count on the window itself, so threads reading different
 * windows share no written cache line.  h->lock serialises only what
 * changes the table: misses (the mapping itself is done outside it),
 * eviction, invalidation and resizing.  A reader racing with such a
 * change may miss a window that is there; it then takes the lock and
 * looks again, so a race costs time, never a wrong byte.
 *
 * Eviction is least-recently-used by a Lamport clock: each thread counts
 * its own uses, catching up with the cache's clock, which moves only on
 * misses.  So one thread's order is exact LRU, a window any thread used
 * after a miss is younger than that miss, and a hit writes no line that
 * hits on other windows read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

#define REF_DEAD (UINT32_C(1) << 31)

/*
 * Initial-exec: no __tls_get_addr, so the drop-in library needs nothing
 * from ld.so that Debian's does not (8 bytes fit glibc's static TLS
 * reserve for dlopen'ed libraries).
 */
static _Thread_local uint64_t lamport
	__attribute__((tls_model("initial-exec")));

static struct xfm_wtab *tab_new(uint64_t window_frames, uint32_t nr)
{
	struct xfm_wtab *t = calloc(1, sizeof(*t));
	uint64_t slots = 8;

	/* At most half full: probes stay short and always end. */
	while (slots < 2 * (uint64_t)nr)
		slots *= 2;
	if (!t)
		return NULL;
	t->slot = calloc(slots, sizeof(*t->slot));
	if (!t->slot) {
		free(t);
		return NULL;
	}
	t->window_frames = window_frames;
	t->shift = xfm_log2(window_frames);
	t->mask = (uint32_t)(slots - 1);
	return t;
}

#define w_first xfm_window_first
#define w_nframes xfm_window_frames

static struct xfm_window *slot_get(struct xfm_wtab *t, uint32_t i)
{
	return atomic_load_explicit(&t->slot[i], memory_order_acquire);
}

static void slot_set(struct xfm_wtab *t, uint32_t i, struct xfm_window *w)
{
	atomic_store_explicit(&t->slot[i], w, memory_order_release);
}

/* The window starting at @first in @t, or NULL (lock-free). */
static struct xfm_window *tab_find(struct xfm_wtab *t, uint64_t first)
{
	uint32_t i = (uint32_t)(first >> t->shift) & t->mask;

	for (uint32_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
		struct xfm_window *w = slot_get(t, i);

		if (!w)
			return NULL;
		if (w_first(w) == first)
			return w;
	}
	return NULL;
}

/* Under h->lock. */
static void tab_insert(struct xfm_wtab *t, struct xfm_window *w)
{
	uint32_t i = (uint32_t)(w_first(w) >> t->shift) & t->mask;

	while (slot_get(t, i))
		i = (i + 1) & t->mask;
	slot_set(t, i, w);
}

/*
 * Under h->lock: take @w out of slot @i and move later entries of its
 * probe run back (no tombstones).  An entry is only ever copied into its
 * new slot before its old slot is cleared, so a lock-free reader sees it
 * at least once or falls back to the lock.
 */
static void tab_remove(struct xfm_wtab *t, uint32_t i)
{
	uint32_t j = i;

	slot_set(t, i, NULL);
	for (;;) {
		struct xfm_window *e;
		uint32_t home;

		j = (j + 1) & t->mask;
		e = slot_get(t, j);
		if (!e)
			return;
		home = (uint32_t)(w_first(e) >> t->shift) & t->mask;
		/* e stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		slot_set(t, i, e);
		slot_set(t, j, NULL);
		i = j;
	}
}

/* Pin @w unless it is dead or recycled (count 0): lock-free. */
static bool ref_get(struct xfm_window *w)
{
	uint32_t r = atomic_load_explicit(&w->ref, memory_order_relaxed);

	do {
		if (r == 0 || (r & REF_DEAD))
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&w->ref, &r, r + 1,
			memory_order_acquire, memory_order_relaxed));
	return true;
}

/* Drop one reference; true when it was the last of a dead window. */
static bool ref_put(struct xfm_window *w)
{
	return atomic_fetch_sub_explicit(&w->ref, 1, memory_order_acq_rel) ==
	       (REF_DEAD | 1);
}

static void window_unmap(xfm_handle *h, struct xfm_window *w)
{
	/* Its own size: xfm_set_cache() may have changed the cache's. */
	if (w->addr)
		xfm_unmap_frames(&h->psz, w->addr, w_nframes(w));
	w->addr = NULL;
}

/* Under h->lock: a dead, unmapped window goes back to the free list. */
static void window_recycle(xfm_handle *h, struct xfm_window *w)
{
	w->next = h->cache.free;
	h->cache.free = w;
}

/* Under h->lock: @w (in slot @i) leaves the table. */
static void remove_slot(xfm_handle *h, struct xfm_wtab *t, uint32_t i)
{
	struct xfm_window *w = slot_get(t, i);

	tab_remove(t, i);
	h->cache.nr--;
	atomic_fetch_or_explicit(&w->ref, REF_DEAD, memory_order_relaxed);
	if (ref_put(w)) { /* no reader: unmap now */
		window_unmap(h, w);
		window_recycle(h, w);
	}
}

static struct xfm_wtab *cur_tab(xfm_handle *h)
{
	return atomic_load_explicit(&h->cache.tab, memory_order_acquire);
}

void xfm_cache_drop(xfm_handle *h, uint64_t first, uint64_t last)
{
	struct xfm_wtab *t = cur_tab(h);

	if (!t)
		return;
	/*
	 * Removal moves later entries back into slot i, so i is looked at
	 * again; entries only move into slots at or after i along their
	 * run, so none is skipped.
	 */
	for (uint32_t i = 0; i <= t->mask && h->cache.nr;) {
		struct xfm_window *w = slot_get(t, i);

		if (w && w_first(w) <= last &&
		    w_first(w) + w_nframes(w) - 1 >= first)
			remove_slot(h, t, i);
		else
			i++;
	}
}

int xfm_cache_init(xfm_handle *h, uint64_t window_size, uint32_t nr)
{
	struct xfm_cache *c = &h->cache;
	uint64_t unit = xfm_map_unit(&h->psz);
	struct xfm_wtab *t, *old = cur_tab(h);

	if (!xfm_is_pow2(window_size) || window_size < unit ||
	    window_size / h->psz.frame > (UINT64_C(1) << 24))
		return xfm_fail(-EINVAL, "%s: cache window of %llu bytes: must "
				"be a power of two from %llu to 2^24 frames",
				h->src->label, (unsigned long long)window_size,
				(unsigned long long)unit);
	t = tab_new(window_size / h->psz.frame, nr);
	if (!t)
		return xfm_fail(-ENOMEM, "%s: out of memory", h->src->label);
	xfm_cache_drop(h, 0, UINT64_MAX);
	/* Readers may still be looking at the old table: keep it. */
	t->retired = old;
	c->nr_max = nr;
	atomic_store_explicit(&c->tab, t, memory_order_release);
	return 0;
}

void xfm_cache_fini(xfm_handle *h)
{
	struct xfm_wtab *t = cur_tab(h);
	struct xfm_window *w;

	xfm_cache_drop(h, 0, UINT64_MAX);
	while (t) {
		struct xfm_wtab *next = t->retired;

		free(t->slot);
		free(t);
		t = next;
	}
	atomic_store_explicit(&h->cache.tab, NULL, memory_order_relaxed);
	while ((w = h->cache.free)) {
		h->cache.free = w->next;
		free(w->err);
		free(w);
	}
	h->cache.nr_max = 0;
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

/*
 * Map a window of @wf frames from @first into @w (a struct off the free
 * list, or new) without holding the lock: mapping is slow.
 */
static int window_map(xfm_handle *h, struct xfm_window *w, uint64_t first,
		      uint64_t wf)
{
	unsigned int prot = XFM_PROT_READ;
	size_t n = window_len(h, first, wf);
	uint64_t *frames;
	int64_t rc;

	if (n > w->err_cap) {
		int *err = realloc(w->err, n * sizeof(*err));

		if (!err)
			return xfm_fail(-ENOMEM, "%s: out of memory",
					h->src->label);
		w->err = err;
		w->err_cap = n;
	}
	frames = malloc(n * sizeof(*frames));
	if (!frames)
		return xfm_fail(-ENOMEM, "%s: out of memory", h->src->label);
	for (size_t i = 0; i < n; i++)
		frames[i] = first + i;
	if (h->src->flags & XFM_OPEN_WRITE)
		prot |= XFM_PROT_WRITE;
	memset(w->err, 0, n * sizeof(*w->err));
	rc = h->src->ops->map(h->src, frames, n, prot, NULL, w->err, &w->addr);
	free(frames);
	if (rc < 0) {
		w->addr = NULL;
		return (int)rc;
	}
	atomic_store_explicit(&w->first, first, memory_order_relaxed);
	atomic_store_explicit(&w->nframes, n, memory_order_relaxed);
	return 0;
}

/* Under h->lock: make room for one more window (LRU by miss clock). */
static void evict_one(xfm_handle *h, struct xfm_wtab *t)
{
	uint32_t victim = UINT32_MAX;
	uint64_t oldest = UINT64_MAX;

	if (h->cache.nr < h->cache.nr_max)
		return;
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct xfm_window *w = slot_get(t, i);
		uint64_t u;

		if (!w)
			continue;
		u = atomic_load_explicit(&w->last_use, memory_order_relaxed);
		if (u < oldest) {
			oldest = u;
			victim = i;
		}
	}
	if (victim != UINT32_MAX)
		remove_slot(h, t, victim);
}

/*
 * A window could not be mapped for lack of address space or mappings
 * (RLIMIT_AS, vm.max_map_count): unmap the least recently used one and
 * keep the cache at the size that fits.  False when none is left.
 */
static bool give_back_one(xfm_handle *h, struct xfm_wtab *t)
{
	bool ok;

	pthread_mutex_lock(&h->lock);
	ok = h->cache.nr > 0 && t == cur_tab(h);
	if (ok) {
		h->cache.nr_max = h->cache.nr;
		evict_one(h, t);
		if (h->cache.nr_max > 1)
			h->cache.nr_max--;
	}
	pthread_mutex_unlock(&h->lock);
	return ok;
}

static void touch(xfm_handle *h, struct xfm_window *w)
{
	uint64_t now = atomic_load_explicit(&h->cache.clock,
					    memory_order_relaxed);

	if (lamport < now)
		lamport = now;
	atomic_store_explicit(&w->last_use, ++lamport, memory_order_relaxed);
}

/* The hit path: no lock, no system call.  NULL on a miss. */
static struct xfm_window *window_hit(xfm_handle *h, uint64_t frame)
{
	struct xfm_wtab *t = cur_tab(h);
	struct xfm_window *w;

	if (!t)
		return NULL;
	w = tab_find(t, frame >> t->shift << t->shift);
	if (!w || !ref_get(w))
		return NULL;
	/* Recycled for other frames between the find and the pin? */
	if (frame - w_first(w) >= w_nframes(w)) {
		if (ref_put(w)) {
			window_unmap(h, w);
			pthread_mutex_lock(&h->lock);
			window_recycle(h, w);
			pthread_mutex_unlock(&h->lock);
		}
		return NULL;
	}
	touch(h, w);
	return w;
}

void xfm_window_put(xfm_handle *h, struct xfm_window *w)
{
	if (!ref_put(w))
		return;
	window_unmap(h, w);
	pthread_mutex_lock(&h->lock);
	window_recycle(h, w);
	pthread_mutex_unlock(&h->lock);
}

/* The window's frames: -ESRCH when one was refused so (Xen no longer
 * knows the domain), 1 when another failed, 0 when all mapped. */
static int window_errors(struct xfm_window *w)
{
	int any = 0;

	for (uint64_t i = 0; i < w_nframes(w); i++) {
		if (w->err[i] == -ESRCH)
			return -ESRCH;
		any |= w->err[i] != 0;
	}
	return any;
}

/* Under h->lock: a window struct to map into. */
static struct xfm_window *window_alloc(xfm_handle *h)
{
	struct xfm_window *w = h->cache.free;

	if (w) {
		h->cache.free = w->next;
		w->next = NULL;
		return w;
	}
	return calloc(1, sizeof(*w));
}

/*
 * Get a pinned window holding @frame.  A miss maps outside the lock and
 * checks again before the new window joins the table: another thread
 * may have mapped it meanwhile, or xfm_set_cache() changed the table.
 */
int xfm_window_get(xfm_handle *h, uint64_t frame, struct xfm_window **out)
{
	struct xfm_window *w, *mine;
	struct xfm_wtab *t;
	uint64_t first;
	int rc;

	w = window_hit(h, frame);
	if (w) {
		*out = w;
		return 0;
	}
	pthread_mutex_lock(&h->lock);
	t = cur_tab(h);
	first = frame >> t->shift << t->shift;
	w = tab_find(t, first);
	if (w && ref_get(w)) { /* in the table: alive */
		pthread_mutex_unlock(&h->lock);
		touch(h, w);
		*out = w;
		return 0;
	}
	h->cache.misses++;
	mine = window_alloc(h);
	pthread_mutex_unlock(&h->lock);
	if (!mine)
		return xfm_fail(-ENOMEM, "%s: out of memory", h->src->label);

	rc = window_map(h, mine, first, t->window_frames);
	while (rc == -ENOMEM && give_back_one(h, t))
		rc = window_map(h, mine, first, t->window_frames);
	if (rc == -ENOMEM)
		rc = xfm_fail(-ENOMEM, "%s: frame 0x%llx: cannot map a window "
			      "of %llu bytes and none is left to give back "
			      "(address space or mapping limit: RLIMIT_AS, "
			      "vm.max_map_count)", h->src->label,
			      (unsigned long long)frame,
			      (unsigned long long)(t->window_frames *
						   h->psz.frame));
	else if (rc == -ESRCH)
		rc = xfm_source_gone(h, frame);
	/* Mapped before the domain went?  Frames of a dying one fail: ask
	 * at once then, else at the hits' pace (liveness.c). */
	else if (rc == 0 && (rc = window_errors(mine)) == -ESRCH)
		rc = xfm_source_gone(h, frame);
	else if (rc >= 0)
		rc = xfm_check_alive(h, rc == 1, frame);
	if (rc < 0)
		window_unmap(h, mine);
	pthread_mutex_lock(&h->lock);
	if (rc < 0) {
		window_recycle(h, mine);
		pthread_mutex_unlock(&h->lock);
		return rc;
	}
	w = t == cur_tab(h) ? tab_find(t, first) : NULL;
	if (w) {
		/* Mapped by another thread meanwhile: use that one. */
		ref_get(w);
		window_unmap(h, mine);
		window_recycle(h, mine);
	} else if (t == cur_tab(h) && h->cache.nr_max) {
		uint64_t now = atomic_load_explicit(&h->cache.clock,
						    memory_order_relaxed);

		evict_one(h, t);
		w = mine;
		lamport = (lamport > now ? lamport : now) + 1;
		atomic_store_explicit(&h->cache.clock, lamport,
				      memory_order_relaxed);
		atomic_store_explicit(&w->last_use, lamport,
				      memory_order_relaxed);
		/* The table's reference and ours, published last. */
		atomic_store_explicit(&w->ref, 2, memory_order_release);
		tab_insert(t, w);
		h->cache.nr++;
	} else {
		/* No cache, or resized while mapping: a private window. */
		w = mine;
		atomic_store_explicit(&w->ref, REF_DEAD | 1,
				      memory_order_release);
	}
	pthread_mutex_unlock(&h->lock);
	*out = w;
	return 0;
}

