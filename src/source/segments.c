/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * segments.c - guest memory that lies in files (segments.h): the file
 * and QEMU sources' reads, maps and memory map.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "segments.h"

int xfm_segs_add(struct xfm_segs *s, const struct xfm_seg *seg)
{
	struct xfm_seg *last = s->n ? &s->v[s->n - 1] : NULL;

	if (!seg->len)
		return 0;
	if (last && last->fd == seg->fd && last->zero == seg->zero &&
	    last->tag == seg->tag && last->addr + last->len == seg->addr &&
	    (seg->zero || last->off + last->len == seg->off)) {
		last->len += seg->len;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct xfm_seg *v = realloc(s->v, cap * sizeof(*v));

		/* A dump with millions of ranges: say how far it got. */
		if (!v)
			return xfm_fail(-ENOMEM, "%s: out of memory for the "
					"memory map after %zu ranges (at file "
					"offset 0x%llx)", seg->path ? seg->path :
					"source", s->n, (unsigned long long)seg->off);
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *seg;
	return 0;
}

/* Where segment @g's mapping starts: its offset down to a kernel page. */
static uint64_t map_delta(const struct xfm_seg *g)
{
	return g->off % xfm_pagesz_of(1).kpage;
}

void xfm_segs_free(struct xfm_segs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const uint8_t *m = atomic_load(&s->v[i].map);

		if (m && m != MAP_FAILED)
			munmap((void *)(m - map_delta(&s->v[i])),
			       (size_t)(s->v[i].len + map_delta(&s->v[i])));
	}
	free(s->v);
	*s = (struct xfm_segs){ .v = NULL };
}

static int cmp_seg(const void *a, const void *b)
{
	const struct xfm_seg *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

const struct xfm_seg *xfm_segs_sort(struct xfm_segs *s)
{
	/* v is NULL when nothing was found: qsort must not see it. */
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_seg);
	/* Last bytes, not ends: a segment may end at 2^64. */
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i - 1].addr + (s->v[i - 1].len - 1) >= s->v[i].addr)
			return &s->v[i];
	return NULL;
}

uint64_t xfm_segs_zero_below(const struct xfm_segs *s, uint64_t fs,
			     uint64_t end, uint64_t n)
{
	uint64_t done = 0;

	while (done < n) {
		uint64_t top = (end - done) * fs; /* first byte past the run */
		const struct xfm_seg *g = xfm_segs_find(s, top - 1);
		uint64_t whole;

		if (!g || g->addr > top - 1 || !g->zero || top - g->addr <
		    fs)
			break;
		whole = (top - g->addr) / fs;
		whole = whole < n - done ? whole : n - done;
		done += whole;
	}
	return done;
}

uint64_t xfm_segs_max_frame(const struct xfm_segs *s, uint64_t fs)
{
	const struct xfm_seg *last = &s->v[s->n - 1];

	return (last->addr + last->len - 1) / fs;
}

int xfm_segs_ranges(const struct xfm_segs *s, uint64_t fs, xfm_range **out,
		    size_t *n)
{
	xfm_range *r = calloc(s->n ? s->n : 1, sizeof(*r));
	size_t k = 0;

	if (!r)
		return xfm_fail(-ENOMEM, "%s: out of memory for a list of "
				"%zu ranges", s->n && s->v[0].path ?
				s->v[0].path : "source", s->n);
	for (size_t i = 0; i < s->n; i++) {
		uint64_t start = s->v[i].addr / fs * fs;
		uint64_t end = s->v[i].addr + s->v[i].len - 1;

		end = end / fs * fs + fs; /* may be 0 at the top: wraps */
		/* Compare last bytes: r[k - 1] may end at 2^64 (end 0). */
		if (k && (r[k - 1].start + (r[k - 1].size - 1) == UINT64_MAX ||
			  r[k - 1].start + r[k - 1].size >= start)) {
			r[k - 1].size = end - r[k - 1].start;
			continue;
		}
		r[k++] = (xfm_range){ start, end - start };
	}
	*out = r;
	*n = k;
	return 0;
}

int xfm_pread_full(int fd, void *buf, uint64_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/*
 * Segment @g's bytes, mapped read-only on first use; NULL if they cannot
 * be (no address space).  MAP_SHARED: a live guest's RAM file shows the
 * guest's writes.  Two threads may race to map it: the first one stays.
 */
static const uint8_t *seg_map(const struct xfm_seg *cg)
{
	struct xfm_seg *g = (struct xfm_seg *)cg; /* map is atomic */
	const uint8_t *m = atomic_load_explicit(&g->map, memory_order_acquire);
	const uint8_t *none = NULL;
	uint64_t delta = map_delta(g);
	void *p = MAP_FAILED;

	if (m)
		return m == MAP_FAILED ? NULL : m;
	if (g->len <= SIZE_MAX - delta)
		p = mmap(NULL, (size_t)(g->len + delta), PROT_READ, MAP_SHARED,
			 g->fd, (off_t)(g->off - delta));
	m = p == MAP_FAILED ? MAP_FAILED : (const uint8_t *)p + delta;
	if (!atomic_compare_exchange_strong(&g->map, &none, m)) {
		if (p != MAP_FAILED)
			munmap(p, (size_t)(g->len + delta));
		m = none;
	}
	return m == MAP_FAILED ? NULL : m;
}

const void *xfm_segs_direct(const struct xfm_segs *s, uint64_t addr,
			    uint64_t len)
{
	const struct xfm_seg *g = xfm_segs_find(s, addr);
	const uint8_t *m;

	if (!g || g->addr > addr || g->zero || len > g->len - (addr - g->addr))
		return NULL;
	m = seg_map(g);
	return m ? m + (addr - g->addr) : NULL;
}

int xfm_segs_pread(const struct xfm_segs *s, const struct xfm_source *src,
		   const char *absent, uint64_t addr, void *buf, uint64_t len,
		   unsigned int flags)
{
	char *p = buf;

	while (len) {
		const struct xfm_seg *g = xfm_segs_find(s, addr);
		const uint8_t *m;
		uint64_t n, off;
		int rc;

		if (!g || g->addr > addr) {
			n = g ? g->addr - addr : len;
			n = n < len ? n : len;
			if (!(flags & XFM_READ_ZERO_FILL))
				return xfm_fail(-ENOENT, "%s: address 0x%llx "
						"(frame 0x%llx) %s", src->label,
						(unsigned long long)addr,
						(unsigned long long)(addr /
							src->psz.frame),
						absent);
			memset(p, 0, n);
		} else {
			n = g->len - (addr - g->addr);
			n = n < len ? n : len;
			off = g->off + (addr - g->addr);
			m = g->zero || (len > XFM_SEGS_SMALL_READ && !s->live) ? NULL
							      : seg_map(g);
			if (m && s->live)
				xfm_guest_load(p, m + (addr - g->addr), n);
			else if (m)
				memcpy(p, m + (addr - g->addr), n);
			rc = g->zero ? (memset(p, 0, n), 0) :
			     m ? 0 : xfm_pread_full(g->fd, p, n, off);
			if (rc < 0)
				return xfm_fail(rc, "%s: reading guest address "
						"0x%llx from %s at offset 0x%llx: "
						"%s", src->label,
						(unsigned long long)addr, g->path,
						(unsigned long long)off,
						rc == -EIO ? "short read"
							   : strerror(-rc));
		}
		p += n;
		addr += n;
		len -= n;
	}
	return 0;
}

/*
 * Fill frames from @i of a mapping at @base: a run within one segment,
 * or one absent frame.  Whole kernel pages that line up with the file
 * are mapped from it; otherwise a private mapping copies, a shared one
 * cannot (-EINVAL).  Returns the number of frames handled (>= 1).
 */
static size_t fill(const struct xfm_segs *s, const struct xfm_pagesz *psz,
		   char *base, const uint64_t *frames, size_t i, size_t n,
		   int prot, bool shared, int *err)
{
	uint64_t fs = psz->frame, kp = psz->kpage;
	uint64_t addr = frames[i] * fs, run = 1, avail, off;
	const struct xfm_seg *g = frames[i] > UINT64_MAX / fs ? NULL
				  : xfm_segs_find(s, addr);
	char *dst = base + i * fs;
	int rc = 0;

	if (!g || g->addr > addr || g->len - (addr - g->addr) < fs) {
		err[i] = -ENOENT;
		return 1;
	}
	avail = (g->len - (addr - g->addr)) / fs;
	while (i + run < n && run < avail && frames[i + run] == frames[i] + run)
		run++;
	off = g->off + (addr - g->addr);
	if (g->zero)
		goto out; /* the private reservation is already zero */
	if ((uintptr_t)dst % kp == 0 && off % kp == 0 && (run * fs) % kp == 0 &&
	    mmap(dst, run * fs, shared ? prot : PROT_READ,
		 (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, g->fd,
		 (off_t)off) != MAP_FAILED)
		goto out;
	if (shared)
		rc = (uintptr_t)dst % kp || off % kp || (run * fs) % kp ?
		     -EINVAL : -errno;
	else if (xfm_pread_full(g->fd, dst, run * fs, off) < 0)
		rc = -EIO;
out:
	for (uint64_t k = 0; k < run; k++)
		err[i + k] = rc;
	return (size_t)run;
}

int64_t xfm_segs_map(const struct xfm_segs *s, const struct xfm_source *src,
		     const uint64_t *frames, size_t n, int prot, bool shared,
		     void *hint, int *err, void **addr)
{
	const struct xfm_pagesz *psz = &src->psz;
	uint64_t bytes;
	int64_t ok = 0;
	char *base;

	if (xfm_map_bytes(psz, n, &bytes) < 0 || bytes > SIZE_MAX)
		return -EOVERFLOW;
	/* Reserve the span: inaccessible (shared), or to copy into. */
	base = mmap(hint, (size_t)bytes, shared ? PROT_NONE :
		    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		    (shared ? MAP_NORESERVE : 0), -1, 0);
	if (base == MAP_FAILED)
		return xfm_fail(-errno, "%s: mmap: %s", src->label,
				strerror(errno));
	for (size_t i = 0; i < n;)
		i += fill(s, psz, base, frames, i, n, prot, shared, err);
	/* Private: read-only, like the file; absent frames inaccessible. */
	if (!shared)
		mprotect(base, (size_t)bytes, PROT_READ);
	for (size_t i = 0; i < n; i++) {
		if (err[i] && !shared)
			mprotect(base + i * psz->frame, psz->frame, PROT_NONE);
		ok += !err[i];
	}
	*addr = base;
	return ok;
}
