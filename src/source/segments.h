/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * segments.h - guest memory that lies in files: address -> (fd, offset).
 * The file source (a dump) and the QEMU source (the guest's RAM files)
 * only discover their segments; finding, reading, mapping and the memory
 * map are done here, once.  A segment is a plain (fd, offset, length):
 * it can be served by pread or by mmap alike.
 */
#ifndef XFM_SEGMENTS_H
#define XFM_SEGMENTS_H

#include <string.h>
#include <sys/mman.h>

#include "private.h"

struct xfm_seg {
	uint64_t addr;     /* guest-physical start, bytes */
	uint64_t len;      /* bytes */
	uint64_t off;      /* file offset of addr */
	int fd;            /* the file holding it */
	bool zero;         /* present but not stored: reads as zeros */
	uint32_t tag;      /* the source's own number (QEMU: its backend) */
	const char *path;  /* the file, for messages */
	/* Small reads: the segment's file bytes mapped read-only at the
	 * first one (NULL before, MAP_FAILED when it could not be). */
	_Atomic(const uint8_t *) map;
};

struct xfm_segs {
	struct xfm_seg *v;
	size_t n, cap;
	/* The files are a running guest's RAM: reads of any size copy from
	 * the mapping with xfm_guest_load(), never by pread, whose kernel
	 * copy may split a word the guest stores meanwhile. */
	bool live;
};

/* Append a segment, coalesced with the last one when it continues it
 * (same file and tag, contiguous in both).  -ENOMEM. */
int xfm_segs_add(struct xfm_segs *s, const struct xfm_seg *seg);
void xfm_segs_free(struct xfm_segs *s);
/* Sort by address; the first segment that overlaps the one before it,
 * or NULL when none does. */
const struct xfm_seg *xfm_segs_sort(struct xfm_segs *s);
/* The segment holding @addr, or NULL; *@next: the index of the first
 * segment after @addr.  Inline: every small read of a dump starts here. */
static inline const struct xfm_seg *xfm_segs_holding(const struct xfm_segs *s,
						     uint64_t addr,
						     size_t *next)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct xfm_seg *g = &s->v[mid];

		if (addr < g->addr)
			hi = mid;
		else if (addr - g->addr < g->len)
			return g;
		else
			lo = mid + 1;
	}
	*next = lo;
	return NULL;
}

/* The segment holding @addr, or the first one after it, or NULL. */
static inline const struct xfm_seg *xfm_segs_find(const struct xfm_segs *s,
						  uint64_t addr)
{
	size_t next;
	const struct xfm_seg *g = xfm_segs_holding(s, addr, &next);

	return g ? g : next < s->n ? &s->v[next] : NULL;
}
/* How many frames of @fs bytes just below frame @end (end - 1, end - 2,
 * ..., at most @n) lie wholly in zero segments (present, not stored). */
uint64_t xfm_segs_zero_below(const struct xfm_segs *s, uint64_t fs,
			     uint64_t end, uint64_t n);
/* Highest frame of @fs bytes holding segment bytes (s->n > 0). */
uint64_t xfm_segs_max_frame(const struct xfm_segs *s, uint64_t fs);
/* The frames holding segment bytes as merged, ascending byte ranges (a
 * malloc'd array); a range ending at 2^64 is fine.  -ENOMEM. */
int xfm_segs_ranges(const struct xfm_segs *s, uint64_t fs, xfm_range **out,
		    size_t *n);

/* Read exactly @len bytes at @off of @fd (EINTR and short reads
 * retried): 0, or a negative errno (-EIO at end of file). */
int xfm_pread_full(int fd, void *buf, uint64_t len, uint64_t off);

/* Reads up to this size copy from the segment's mapping. */
#define XFM_SEGS_SMALL_READ (UINT64_C(64) << 10)

/*
 * The hot path of small reads from a dump (inline: a call and a frame
 * per read cost more than the copy).  When one segment whose bytes are
 * already mapped holds all of [addr, addr + len), copy them and return
 * true; false sends the caller to xfm_segs_pread() (first use, holes,
 * zero or live segments, large reads).
 */
static inline bool xfm_segs_copy_mapped(const struct xfm_segs *s,
					uint64_t addr, void *buf, uint64_t len)
{
	size_t next;
	const struct xfm_seg *g = xfm_segs_holding(s, addr, &next);
	const uint8_t *m;

	if (!g || s->live || len > XFM_SEGS_SMALL_READ ||
	    len > g->len - (addr - g->addr))
		return false;
	m = atomic_load_explicit(&g->map, memory_order_acquire);
	if (!m || m == MAP_FAILED)
		return false;
	m += addr - g->addr;
	/* 8 to 16 bytes (a pointer, a page-table entry): two
	 * overlapping loads, not a call to memcpy. */
	if (len >= 8 && len <= 16) {
		uint64_t a, b;

		memcpy(&a, m, 8);
		memcpy(&b, m + len - 8, 8);
		memcpy(buf, &a, 8);
		memcpy((uint8_t *)buf + len - 8, &b, 8);
	} else {
		memcpy(buf, m, len);
	}
	return true;
}

/*
 * Where [addr, addr + len) lies in the mapping of one segment that holds
 * it all (mapped now if it was not), or NULL (no such segment, a zero
 * segment, or no mapping).  Valid until xfm_segs_free().
 */
const void *xfm_segs_direct(const struct xfm_segs *s, uint64_t addr,
			    uint64_t len);

/*
 * Copy guest [addr, addr + len) into @buf.  Bytes in no segment are
 * zeros with XFM_READ_ZERO_FILL, else -ENOENT "<label>: address A (frame
 * F) <absent>".  Read errors name the file and the offset.  Reads up to
 * 64 KiB copy from a mapping of the segment (no system call); larger ones
 * use pread (amortised, and they do not grow the reader's RSS), except
 * for live segments (s->live), read from the mapping whatever the size.
 */
int xfm_segs_pread(const struct xfm_segs *s, const struct xfm_source *src,
		   const char *absent, uint64_t addr, void *buf, uint64_t len,
		   unsigned int flags);

/*
 * The source's map(): frames[0..n) mapped contiguously at a new address
 * (near @hint).  @shared: MAP_SHARED with @prot (PROT_*), so writes
 * reach the file both ways; a run the kernel page does not line up with
 * then fails with -EINVAL per frame.  Otherwise MAP_PRIVATE read-only,
 * copied by pread where pages do not line up.  Frames in no segment (or
 * only partly in one) get -ENOENT and stay inaccessible.  Returns the
 * number of frames mapped, or a negative errno (nothing mapped).
 */
int64_t xfm_segs_map(const struct xfm_segs *s, const struct xfm_source *src,
		     const uint64_t *frames, size_t n, int prot, bool shared,
		     void *hint, int *err, void **addr);

#endif /* XFM_SEGMENTS_H */
