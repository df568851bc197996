/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * mem-source.h - the tests' one memory-backed fake source: in-process,
 * writable, a memfd holding the "guest", mapped frame by frame with
 * MAP_SHARED, so that every window of the cache sees every write, as with
 * a real guest.  Frames whose hole[] flag is set are holes (-ENOENT); the
 * caller may change the flags while the handle is open.  It counts its
 * maps and remembers where the first MS_WHERE went (mem_live_maps() asks
 * the kernel which are still mapped: the core does the unmapping).
 * No Xen, no QEMU.  Used by the unit (cache, liveness), stress and leak
 * tests.
 */
#ifndef XFM_MEM_SOURCE_H
#define XFM_MEM_SOURCE_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "private.h"

#define MS_FS 4096u
#define MS_WHERE 4096u

struct mem_source {
	struct xfm_source base;
	int fd;
	uint64_t nframes;
	const volatile uint8_t *hole; /* nframes flags, owned by the caller */
	pthread_mutex_t lock;
	unsigned int maps;            /* map calls so far */
	void *where[MS_WHERE];        /* where each map went, in order */
};

static int ms_geometry(struct xfm_source *s, xfm_geometry *g)
{
	struct mem_source *m = (struct mem_source *)s;

	g->frame_size = MS_FS;
	g->granularities = MS_FS;
	g->max_frame = m->nframes - 1;
	g->origin = XFM_ORIGIN_TEST;
	return 0;
}

static int ms_ranges(struct xfm_source *s, xfm_range **out, size_t *n)
{
	struct mem_source *m = (struct mem_source *)s;
	xfm_range *r = calloc(m->nframes, sizeof(*r));
	size_t k = 0;

	if (!r)
		return -ENOMEM;
	for (uint64_t f = 0; f < m->nframes; f++) {
		if (m->hole[f])
			continue;
		if (k && r[k - 1].start + r[k - 1].size == f * MS_FS)
			r[k - 1].size += MS_FS;
		else
			r[k++] = (xfm_range){ f * MS_FS, MS_FS };
	}
	*out = r;
	*n = k;
	return 0;
}

static int64_t ms_map(struct xfm_source *s, const uint64_t *frames, size_t n,
		      unsigned int prot, void *hint, int *err, void **addr)
{
	struct mem_source *m = (struct mem_source *)s;
	int p = PROT_READ | ((prot & XFM_PROT_WRITE) ? PROT_WRITE : 0);
	char *base = mmap(hint, n * MS_FS, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int64_t ok = 0;

	if (base == MAP_FAILED)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		if (frames[i] >= m->nframes || m->hole[frames[i]]) {
			err[i] = -ENOENT;
			continue;
		}
		if (mmap(base + i * MS_FS, MS_FS, p, MAP_SHARED | MAP_FIXED,
			 m->fd, (off_t)(frames[i] * MS_FS)) == MAP_FAILED) {
			int e = -errno;

			munmap(base, n * MS_FS);
			return e;
		}
		err[i] = 0;
		ok++;
	}
	pthread_mutex_lock(&m->lock);
	if (m->maps < MS_WHERE)
		m->where[m->maps] = base;
	m->maps++;
	pthread_mutex_unlock(&m->lock);
	*addr = base;
	return ok;
}

/*
 * How many of the maps made so far are still mapped: mincore() fails
 * with ENOMEM on an unmapped address.  An address mapped again later is
 * one live mapping, counted once.  -1 if more maps were made than
 * remembered.
 */
__attribute__((unused))
static int mem_live_maps(struct mem_source *m)
{
	unsigned char vec[1];
	int n = 0;

	if (m->maps > MS_WHERE)
		return -1;
	for (unsigned int i = 0; i < m->maps; i++) {
		bool again = false;

		for (unsigned int k = i + 1; k < m->maps && !again; k++)
			again = m->where[k] == m->where[i];
		if (!again && mincore(m->where[i], MS_FS, vec) == 0)
			n++;
	}
	return n;
}

static void ms_close(struct xfm_source *s)
{
	struct mem_source *m = (struct mem_source *)s;

	close(m->fd);
	pthread_mutex_destroy(&m->lock);
	xfm_source_fini(s);
	free(m);
}

static const struct xfm_source_ops ms_ops = {
	.name = "mem",
	.geometry = ms_geometry,
	.ranges = ms_ranges,
	.map = ms_map,
	.close = ms_close,
};

/*
 * A handle over @nframes frames of memfd, filled by @fill (may be NULL:
 * zeros); *@src (if not NULL) gets the source, valid until xfm_close().
 * Returns 0 or a negative errno.
 */
static inline int mem_open(uint64_t nframes, const volatile uint8_t *hole,
			   unsigned int flags,
			   void (*fill)(uint8_t *buf, uint64_t len),
			   struct mem_source **src, xfm_handle **out)
{
	struct mem_source *m = calloc(1, sizeof(*m));
	uint8_t *buf;
	int rc;

	if (!m)
		return -ENOMEM;
	m->nframes = nframes;
	m->hole = hole;
	pthread_mutex_init(&m->lock, NULL);
	m->fd = memfd_create("xfm-stress", MFD_CLOEXEC);
	if (m->fd < 0 || ftruncate(m->fd, (off_t)(nframes * MS_FS)) < 0) {
		rc = -errno;
		if (m->fd >= 0)
			close(m->fd);
		free(m);
		return rc;
	}
	if (fill) {
		buf = mmap(NULL, nframes * MS_FS, PROT_READ | PROT_WRITE,
			   MAP_SHARED, m->fd, 0);
		if (buf == MAP_FAILED) {
			rc = -errno;
			close(m->fd);
			free(m);
			return rc;
		}
		fill(buf, nframes * MS_FS);
		munmap(buf, nframes * MS_FS);
	}
	rc = xfm_source_init(&m->base, &ms_ops,
			     &(struct xfm_open_args){ .flags = flags }, "mem");
	if (rc < 0) {
		close(m->fd);
		free(m);
		return rc;
	}
	rc = xfm_handle_from_source(&m->base, out);
	if (rc < 0)
		ms_close(&m->base);
	else if (src)
		*src = m;
	return rc;
}

/* mem_open() when the caller needs only the handle. */
static inline int mem_handle(uint64_t nframes, const volatile uint8_t *hole,
			     unsigned int flags,
			     void (*fill)(uint8_t *buf, uint64_t len),
			     xfm_handle **out)
{
	return mem_open(nframes, hole, flags, fill, NULL, out);
}

#endif
