/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * frame-probe.h - which guest frames exist, learnt by mapping them, with
 * as few frames mapped as the guest's layout allows.  The live Xen source
 * uses it; it knows nothing of privcmd (the unit tests drive it with a
 * fake mapper).
 */
#ifndef XFM_FRAME_PROBE_H
#define XFM_FRAME_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Map @n frames (any order, not necessarily contiguous), note each one's
 * outcome in @err (0 mapped, a negative errno not), unmap them.  Returns
 * how many mapped, or a negative errno when the call as a whole failed
 * (-ENOMEM: the engine retries with smaller batches).
 */
typedef int64_t xfm_probe_map_fn(void *ctx, const uint64_t *frames, size_t n,
				 int *err);

/* Called for each frame, in increasing order; non-zero stops the walk. */
typedef int xfm_probe_fn(void *ctx, uint64_t frame, bool present);

struct xfm_frame_probe {
	xfm_probe_map_fn *map;
	void *map_ctx;
	/*
	 * 0: every frame is mapped.  Otherwise the frames at multiples of
	 * @stride are mapped first, and only the chunks of @stride frames
	 * whose first frame, or the next chunk's first frame, exists are
	 * mapped whole (and the partial chunks at both ends); the other
	 * chunks are reported absent.  Exact for every run of frames that
	 * holds a multiple of @stride; a shorter run that holds none is
	 * found only next to one that does.
	 */
	uint64_t stride;
	/* Chunks that would be mapped whole are reported present without
	 * being mapped (a superset of the frames that exist, for searches
	 * that map what they read anyway). */
	bool coarse;
	size_t batch;       /* frames per map call (halved on -ENOMEM) */
	uint64_t mapped;    /* out: frames handed to @map so far */
	uint64_t calls;     /* out: successful map calls so far */
};

/*
 * Walk frames [first, first + n), calling @fn for each.  Returns 0
 * (walked), 1 (@fn stopped it with a positive value) or a negative errno
 * (from @map, from @fn, or -ENOMEM).
 */
int xfm_frame_probe(struct xfm_frame_probe *p, uint64_t first, uint64_t n,
		    xfm_probe_fn *fn, void *ctx);

#endif
