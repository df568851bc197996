/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * file.c - memory dumps on disk.  The format is found from the content,
 * never the name; each format's parser only lists segments (where guest
 * memory lies in the file) and this file does the rest: the memory map,
 * zero-copy mapping by mmap of the file, and plain reads by pread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"

static struct xfm_file *to_file(struct xfm_source *s)
{
	return (struct xfm_file *)s;
}

int xfm_file_read_at(struct xfm_file *f, uint64_t off, void *buf,
		     uint64_t len, const char *what)
{
	char *p = buf;

	if (off > f->size || len > f->size - off)
		return xfm_fail(-ENOEXEC, "%s: %s at offset 0x%llx (%llu bytes) "
				"is past the end of the file (%llu bytes): "
				"truncated?", f->base.label, what,
				(unsigned long long)off,
				(unsigned long long)len,
				(unsigned long long)f->size);
	while (len) {
		ssize_t n = pread(f->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return xfm_fail(n < 0 ? -errno : -EIO, "%s: reading %s "
					"at offset 0x%llx: %s", f->base.label,
					what, (unsigned long long)off,
					n < 0 ? strerror(errno) : "short read");
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int xfm_file_bad(struct xfm_file *f, uint64_t off, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return xfm_fail(-ENOEXEC, "%s: offset 0x%llx: %s", f->base.label,
			(unsigned long long)off, what);
}

int xfm_file_add_seg(struct xfm_file *f, uint64_t addr, uint64_t len,
		     uint64_t off, bool zero)
{
	struct xfm_file_seg *last = f->nsegs ? &f->segs[f->nsegs - 1] : NULL;

	if (!len)
		return 0;
	if (addr > UINT64_MAX - (len - 1))
		return xfm_fail(-ENOEXEC, "%s: range 0x%llx + 0x%llx wraps "
				"around", f->base.label,
				(unsigned long long)addr,
				(unsigned long long)len);
	if (last && last->zero == zero && last->addr + last->len == addr &&
	    (zero || last->off + last->len == off)) {
		last->len += len;
		return 0;
	}
	if (f->nsegs == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct xfm_file_seg *s = realloc(f->segs, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		f->segs = s;
		f->cap = cap;
	}
	f->segs[f->nsegs++] = (struct xfm_file_seg){ addr, len, off, zero };
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct xfm_file_seg *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Sort, then refuse overlaps and data that lies past the end of file. */
static int check_segs(struct xfm_file *f)
{
	/* segs is NULL when a parser found nothing: qsort must not see it. */
	if (f->nsegs > 1)
		qsort(f->segs, f->nsegs, sizeof(*f->segs), cmp_seg);
	for (size_t i = 0; i < f->nsegs; i++) {
		const struct xfm_file_seg *s = &f->segs[i];

		/* Last bytes, not ends: a segment may end at 2^64. */
		if (i && f->segs[i - 1].addr + (f->segs[i - 1].len - 1) >=
			 s->addr)
			return xfm_fail(-ENOEXEC, "%s: memory ranges overlap at "
					"address 0x%llx", f->base.label,
					(unsigned long long)s->addr);
		if (!s->zero && (s->off > f->size || s->len > f->size - s->off))
			return xfm_fail(-ENOEXEC, "%s: range at address 0x%llx "
					"needs file bytes 0x%llx..0x%llx but the "
					"file has %llu: truncated?",
					f->base.label,
					(unsigned long long)s->addr,
					(unsigned long long)s->off,
					(unsigned long long)(s->off + s->len),
					(unsigned long long)f->size);
	}
	if (!f->nsegs)
		return xfm_fail(-ENOEXEC, "%s: holds no guest memory",
				f->base.label);
	return 0;
}

/* The segment holding @addr, or the first one after it, or NULL. */
static const struct xfm_file_seg *find_seg(const struct xfm_file *f,
					   uint64_t addr)
{
	size_t lo = 0, hi = f->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct xfm_file_seg *s = &f->segs[mid];

		if (addr - s->addr < s->len && addr >= s->addr)
			return s;
		if (addr < s->addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < f->nsegs ? &f->segs[lo] : NULL;
}

static int file_geometry(struct xfm_source *s, xfm_geometry *g)
{
	struct xfm_file *f = to_file(s);
	const struct xfm_file_seg *last = &f->segs[f->nsegs - 1];

	g->frame_size = f->frame_size;
	g->hyp_page_size = 0;
	g->granularities = f->frame_size;
	g->max_frame = (last->addr + last->len - 1) / f->frame_size;
	g->origin = XFM_ORIGIN_FILE;
	return 0;
}

static int file_ranges(struct xfm_source *s, xfm_range **out, size_t *n)
{
	struct xfm_file *f = to_file(s);
	xfm_range *r = calloc(f->nsegs, sizeof(*r));
	uint64_t fs = f->frame_size;
	size_t k = 0;

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < f->nsegs; i++) {
		uint64_t start = f->segs[i].addr / fs * fs;
		uint64_t end = f->segs[i].addr + f->segs[i].len - 1;

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

static int file_pread(struct xfm_source *s, uint64_t addr, void *buf,
		      uint64_t len, unsigned int flags)
{
	struct xfm_file *f = to_file(s);
	char *p = buf;

	while (len) {
		const struct xfm_file_seg *sg = find_seg(f, addr);
		uint64_t n;
		int rc;

		if (!sg || sg->addr > addr) {
			uint64_t gap = sg ? sg->addr - addr : len;

			if (!(flags & XFM_READ_ZERO_FILL))
				return xfm_fail(-ENOENT, "%s: address 0x%llx "
						"(frame 0x%llx) is not in the "
						"dump", s->label,
						(unsigned long long)addr,
						(unsigned long long)(addr /
							f->frame_size));
			n = gap < len ? gap : len;
			memset(p, 0, n);
		} else {
			n = sg->len - (addr - sg->addr);
			n = n < len ? n : len;
			if (sg->zero) {
				memset(p, 0, n);
			} else {
				rc = xfm_file_read_at(f, sg->off + (addr -
							sg->addr), p, n,
						      "guest memory");
				if (rc < 0)
					return rc;
			}
		}
		p += n;
		addr += n;
		len -= n;
	}
	return 0;
}

/*
 * Fill frame @i of a mapping: by mmap of the file when whole kernel pages
 * line up with the file, else by copying.  Returns the number of frames
 * handled (>= 1).
 */
static uint64_t fill_frames(struct xfm_file *f, char *base,
			    const uint64_t *frames, size_t i, size_t n,
			    int *err)
{
	uint64_t fs = f->frame_size, kp = f->base.psz.kpage;
	uint64_t addr = frames[i] * fs;
	const struct xfm_file_seg *sg = find_seg(f, addr);
	uint64_t run = 1, avail, off;
	char *dst = base + i * fs;

	if (frames[i] > UINT64_MAX / fs || !sg || sg->addr > addr ||
	    sg->len - (addr - sg->addr) < fs) {
		err[i] = -ENOENT;
		return 1;
	}
	avail = (sg->len - (addr - sg->addr)) / fs;
	while (i + run < n && run < avail && frames[i + run] == frames[i] + run)
		run++;
	err[i] = 0;
	for (uint64_t k = 1; k < run; k++)
		err[i + k] = 0;
	if (sg->zero)
		return run; /* the reservation is already zero */
	off = sg->off + (addr - sg->addr);
	if (((uintptr_t)dst % kp) == 0 && off % kp == 0 &&
	    (run * fs) % kp == 0 &&
	    mmap(dst, run * fs, PROT_READ, MAP_PRIVATE | MAP_FIXED, f->fd,
		 (off_t)off) != MAP_FAILED)
		return run;
	if (xfm_file_read_at(f, off, dst, run * fs, "guest memory") < 0)
		for (uint64_t k = 0; k < run; k++)
			err[i + k] = -EIO;
	return run;
}

static int64_t file_map(struct xfm_source *s, const uint64_t *frames,
			size_t n, unsigned int prot, void *hint, int *err,
			void **addr)
{
	struct xfm_file *f = to_file(s);
	uint64_t bytes;
	int64_t ok = 0;
	char *base;

	if (prot & XFM_PROT_WRITE)
		return xfm_fail(-EROFS, "%s: dump files are read-only",
				s->label);
	if (xfm_map_bytes(&s->psz, n, &bytes) < 0 || bytes > SIZE_MAX)
		return -EOVERFLOW;
	base = mmap(hint, (size_t)bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return xfm_fail(-errno, "%s: mmap: %s", s->label,
				strerror(errno));
	for (size_t i = 0; i < n;)
		i += (size_t)fill_frames(f, base, frames, i, n, err);
	/* Read-only, like the file; absent frames are inaccessible. */
	mprotect(base, (size_t)bytes, PROT_READ);
	for (size_t i = 0; i < n; i++) {
		if (err[i])
			mprotect(base + i * f->frame_size, f->frame_size,
				 PROT_NONE);
		ok += !err[i];
	}
	*addr = base;
	return ok;
}

static void file_close(struct xfm_source *s)
{
	struct xfm_file *f = to_file(s);

	if (f->fd >= 0)
		close(f->fd);
	free(f->segs);
	xfm_source_fini(s);
	free(f);
}

static const struct xfm_source_ops file_ops = {
	.name = "file",
	.geometry = file_geometry,
	.ranges = file_ranges,
	.map = file_map,
	.close = file_close,
	.pread = file_pread,
};

/* The format is found from the content: each reader in table order. */
static int detect(struct xfm_file *f)
{
	for (size_t i = 0; xfm_formats[i]; i++) {
		int rc = xfm_formats[i]->parse ? xfm_formats[i]->parse(f)
					       : XFM_FILE_NOT_MINE;

		if (rc == XFM_FILE_NOT_MINE)
			continue;
		if (rc < 0)
			return rc;
		rc = xfm_source_add_info(&f->base, "format", "%s",
					 xfm_formats[i]->name);
		return rc < 0 ? rc : check_segs(f);
	}
	return -ENOEXEC;
}

static int open_fd(struct xfm_file *f, const char *path)
{
	struct stat st;

	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return xfm_fail(-errno, "%s: %s", path, strerror(errno));
	if (fstat(f->fd, &st) < 0)
		return xfm_fail(-errno, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return xfm_fail(-EISDIR, "%s: is a directory", path);
	f->size = (uint64_t)st.st_size;
	return 0;
}

int xfm_file_open(const char *path, unsigned int flags,
		  struct xfm_source **out)
{
	struct xfm_file *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return xfm_fail(-ENOMEM, "%s: out of memory", path);
	f->fd = -1;
	f->frame_size = 4096;
	if (xfm_source_init(&f->base, &file_ops, flags, "%s", path) < 0) {
		free(f);
		return xfm_fail(-ENOMEM, "%s: out of memory", path);
	}
	if (flags & XFM_OPEN_WRITE) {
		rc = xfm_fail(-EROFS, "%s: dump files are read-only", path);
		goto fail;
	}
	rc = open_fd(f, path);
	if (rc < 0)
		goto fail;
	rc = detect(f);
	if (rc < 0)
		goto fail;
	*out = &f->base;
	return 0;
fail:
	file_close(&f->base);
	return rc;
}
