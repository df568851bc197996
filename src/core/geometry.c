/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * geometry.c - every page-size computation in one place.  The sizes are
 * parameters, never compile-time constants, so the same code is right for
 * a 4 KiB frame under a 4, 16 or 64 KiB kernel page (and is tested so).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "private.h"

bool xfm_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

uint64_t xfm_frames_per_kpage(const struct xfm_pagesz *p)
{
	return p->kpage > p->frame ? p->kpage / p->frame : 1;
}

unsigned int xfm_log2(uint64_t v)
{
	unsigned int n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

uint64_t xfm_map_unit(const struct xfm_pagesz *p)
{
	return p->frame > p->kpage ? p->frame : p->kpage;
}

int xfm_map_bytes(const struct xfm_pagesz *p, uint64_t nr_frames,
		  uint64_t *bytes)
{
	uint64_t per = xfm_frames_per_kpage(p);
	uint64_t kpages, unit = xfm_map_unit(p);

	/* ceil(nr / per) without overflowing nr + per - 1. */
	kpages = nr_frames / per + (nr_frames % per != 0);
	if (kpages > UINT64_MAX / unit)
		return -EOVERFLOW;
	*bytes = kpages * unit;
	return 0;
}

int xfm_unmap_frames(const struct xfm_pagesz *p, void *addr,
		     uint64_t nr_frames)
{
	uint64_t bytes;

	if (xfm_map_bytes(p, nr_frames, &bytes) < 0 || bytes > SIZE_MAX)
		return -EINVAL;
	return munmap(addr, (size_t)bytes) < 0 ? -errno : 0;
}

int xfm_frame_offset(const struct xfm_pagesz *p, uint64_t i, uint64_t *off)
{
	if (i > UINT64_MAX / p->frame)
		return -EOVERFLOW;
	*off = i * p->frame;
	return 0;
}

int xfm_extent_frames(const xfm_extent *ext, size_t n, uint64_t *frames)
{
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t cnt;

		if (ext[i].order > XFM_MAX_ORDER)
			return -EINVAL;
		cnt = UINT64_C(1) << ext[i].order;
		if (ext[i].frame & (cnt - 1))
			return -EINVAL;
		if (ext[i].frame > UINT64_MAX - (cnt - 1))
			return -EOVERFLOW;
		if (total > UINT64_MAX - cnt)
			return -EOVERFLOW;
		total += cnt;
	}
	*frames = total;
	return 0;
}

/* The one place that asks the kernel for its page size. */
struct xfm_pagesz xfm_pagesz_of(uint64_t frame)
{
	static uint64_t kpage;
	long v;

	if (!kpage) {
		v = sysconf(_SC_PAGESIZE);
		kpage = v > 0 ? (uint64_t)v : 4096;
	}
	return (struct xfm_pagesz){ .frame = frame, .kpage = kpage };
}

int xfm_parse_sysfs_pagesize(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	/* Linux prints it with "%lx": hex, no prefix.  Accept 0x too. */
	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno || end == s)
		return -EINVAL;
	while (*end == '\n' || *end == ' ')
		end++;
	if (*end || !xfm_is_pow2(v))
		return -EINVAL;
	*out = v;
	return 0;
}
