/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * mem-source.h - an in-process, writable memory source for the stress and
 * leak tests: a memfd holding the "guest", mapped frame by frame with
 * MAP_SHARED, so that every window of the cache sees every write, as with
 * a real guest.  Some frames are holes (-ENOENT).  No Xen, no QEMU.
 */
#ifndef XFM_MEM_SOURCE_H
#define XFM_MEM_SOURCE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "private.h"

#define MS_FS 4096u

struct mem_source {
	struct xfm_source base;
	int fd;
	uint64_t nframes;
	const uint8_t *hole; /* nframes flags, owned by the caller */
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
	*addr = base;
	return ok;
}

static void ms_close(struct xfm_source *s)
{
	struct mem_source *m = (struct mem_source *)s;

	close(m->fd);
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
 * zeros).  Returns 0 or a negative errno.
 */
static inline int mem_handle(uint64_t nframes, const uint8_t *hole,
			     unsigned int flags,
			     void (*fill)(uint8_t *buf, uint64_t len),
			     xfm_handle **out)
{
	struct mem_source *m = calloc(1, sizeof(*m));
	uint8_t *buf;
	int rc;

	if (!m)
		return -ENOMEM;
	m->nframes = nframes;
	m->hole = hole;
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
	return rc;
}

#endif
