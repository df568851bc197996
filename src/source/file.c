/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * file.c - memory dumps on disk.  The format is found from the content,
 * never the name; each format's reader (src/format/) only lists segments
 * (where guest memory lies in the file), which segments.c reads, maps
 * and turns into the memory map.
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
	int rc;

	if (off > f->size || len > f->size - off)
		return xfm_fail(-ENOEXEC, "%s: %s at offset 0x%llx (%llu bytes) "
				"is past the end of the file (%llu bytes): "
				"truncated?", f->base.label, what,
				(unsigned long long)off,
				(unsigned long long)len,
				(unsigned long long)f->size);
	rc = xfm_pread_full(f->fd, buf, len, off);
	if (rc < 0)
		return xfm_fail(rc, "%s: reading %s at offset 0x%llx: %s",
				f->base.label, what, (unsigned long long)off,
				rc == -EIO ? "short read" : strerror(-rc));
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
	struct xfm_seg seg = { .addr = addr, .len = len, .off = off,
			       .fd = f->fd, .zero = zero, .path = f->base.label };

	if (len && addr > UINT64_MAX - (len - 1))
		return xfm_fail(-ENOEXEC, "%s: range 0x%llx + 0x%llx wraps "
				"around", f->base.label,
				(unsigned long long)addr,
				(unsigned long long)len);
	return xfm_segs_add(&f->segs, &seg);
}

/* Sort, then refuse overlaps and data that lies past the end of file. */
static int check_segs(struct xfm_file *f)
{
	const struct xfm_seg *bad = xfm_segs_sort(&f->segs);

	if (bad)
		return xfm_fail(-ENOEXEC, "%s: memory ranges overlap at "
				"address 0x%llx", f->base.label,
				(unsigned long long)bad->addr);
	for (size_t i = 0; i < f->segs.n; i++) {
		const struct xfm_seg *s = &f->segs.v[i];

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
	if (!f->segs.n)
		return xfm_fail(-ENOEXEC, "%s: holds no guest memory",
				f->base.label);
	return 0;
}

static int file_geometry(struct xfm_source *s, xfm_geometry *g)
{
	struct xfm_file *f = to_file(s);

	g->frame_size = f->frame_size;
	g->hyp_page_size = 0;
	g->granularities = f->frame_size;
	g->max_frame = xfm_segs_max_frame(&f->segs, f->frame_size);
	g->origin = XFM_ORIGIN_FILE;
	return 0;
}

static int file_ranges(struct xfm_source *s, xfm_range **out, size_t *n)
{
	struct xfm_file *f = to_file(s);

	return xfm_segs_ranges(&f->segs, f->frame_size, out, n);
}

/*
 * Through the format's read_pages: present spans are decoded, absent ones
 * are zeros with XFM_READ_ZERO_FILL, else -ENOENT.
 */
static int decoded_pread(struct xfm_file *f, uint64_t addr, uint8_t *p,
			 uint64_t len, unsigned int flags)
{
	while (len) {
		const struct xfm_seg *sg = xfm_segs_find(&f->segs, addr);
		uint64_t n;
		int rc;

		if (!sg || sg->addr > addr) {
			if (!(flags & XFM_READ_ZERO_FILL))
				return xfm_fail(-ENOENT, "%s: address 0x%llx "
						"(frame 0x%llx) is not in the "
						"dump", f->base.label,
						(unsigned long long)addr,
						(unsigned long long)(addr /
							f->frame_size));
			n = sg && sg->addr - addr < len ? sg->addr - addr : len;
			memset(p, 0, n);
		} else {
			n = sg->len - (addr - sg->addr);
			n = n < len ? n : len;
			rc = f->read_pages(f, addr, p, n);
			if (rc < 0)
				return rc;
		}
		p += n;
		addr += n;
		len -= n;
	}
	return 0;
}

/* Map by decoding each frame into anonymous memory. */
static int64_t decoded_map(struct xfm_file *f, const uint64_t *frames,
			   size_t n, void *hint, int *err, void **addr)
{
	struct xfm_pagesz psz = xfm_pagesz_of(f->frame_size);
	uint64_t fs = f->frame_size, bytes;
	int64_t ok = 0;
	uint8_t *base;

	if (xfm_map_bytes(&psz, n, &bytes) < 0 || bytes > SIZE_MAX)
		return -EOVERFLOW;
	base = mmap(hint, (size_t)bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return xfm_fail(-errno, "%s: mmap: %s", f->base.label,
				strerror(errno));
	for (size_t i = 0; i < n; i++) {
		uint64_t a = frames[i] * fs;
		const struct xfm_seg *sg = xfm_segs_find(&f->segs, a);

		if (frames[i] > UINT64_MAX / fs || !sg || sg->addr > a ||
		    sg->len - (a - sg->addr) < fs)
			err[i] = -ENOENT;
		else
			err[i] = f->read_pages(f, a, base + i * fs, fs);
		ok += !err[i];
	}
	mprotect(base, (size_t)bytes, PROT_READ);
	for (size_t i = 0; i < n; i++)
		if (err[i] && fs % psz.kpage == 0)
			mprotect(base + i * fs, fs, PROT_NONE);
	*addr = base;
	return ok;
}

static __attribute__((noinline)) int file_pread_slow(struct xfm_source *s,
						    uint64_t addr, void *buf,
						    uint64_t len,
						    unsigned int flags)
{
	if (to_file(s)->read_pages)
		return decoded_pread(to_file(s), addr, buf, len, flags);
	return xfm_segs_pread(&to_file(s)->segs, s, "is not in the dump", addr,
			      buf, len, flags);
}

static int file_pread(struct xfm_source *s, uint64_t addr, void *buf,
		      uint64_t len, unsigned int flags)
{
	if (xfm_segs_copy_mapped(&to_file(s)->segs, addr, buf, len))
		return 0;
	return file_pread_slow(s, addr, buf, len, flags);
}

/* Dumps stored as they are: their mapping (decoded formats have none). */
static const void *file_direct(struct xfm_source *s, uint64_t addr,
			       uint64_t len)
{
	if (to_file(s)->read_pages)
		return NULL;
	return xfm_segs_direct(&to_file(s)->segs, addr, len);
}

static uint64_t file_zero_below(struct xfm_source *s, uint64_t end,
				uint64_t n)
{
	return xfm_segs_zero_below(&to_file(s)->segs, s->psz.frame, end, n);
}

/* Zero-copy where the file's pages line up, else copied; read-only. */
static int64_t file_map(struct xfm_source *s, const uint64_t *frames,
			size_t n, unsigned int prot, void *hint, int *err,
			void **addr)
{
	if (prot & XFM_PROT_WRITE)
		return xfm_fail(-EROFS, "%s: dump files are read-only",
				s->label);
	if (to_file(s)->read_pages)
		return decoded_map(to_file(s), frames, n, hint, err, addr);
	return xfm_segs_map(&to_file(s)->segs, s, frames, n, PROT_READ, false,
			    hint, err, addr);
}

static void file_close(struct xfm_source *s)
{
	struct xfm_file *f = to_file(s);

	if (f->free_priv)
		f->free_priv(f);
	if (f->fd >= 0)
		close(f->fd);
	xfm_segs_free(&f->segs);
	xfm_source_fini(s);
	free(f);
}

static int file_vm_root(struct xfm_source *s, unsigned int vcpu,
			xfm_vm_root *root)
{
	struct xfm_file *f = (struct xfm_file *)s;

	if (vcpu != 0 || !f->have_vcpu_root)
		return -ENODATA;
	*root = f->vcpu_root;
	return 0;
}

static int file_machine_to_frame(struct xfm_source *s, uint64_t mfn,
				 uint64_t *frame)
{
	struct xfm_file *f = to_file(s);

	return f->machine_to_frame ? f->machine_to_frame(f, mfn, frame)
				   : -ENOENT;
}

static int file_frame_to_machine(struct xfm_source *s, uint64_t frame,
				 uint64_t *mfn)
{
	struct xfm_file *f = to_file(s);

	return f->frame_to_machine ? f->frame_to_machine(f, frame, mfn)
				   : -ENOENT;
}

static const struct xfm_source_ops file_ops = {
	.name = "file",
	.geometry = file_geometry,
	.ranges = file_ranges,
	.map = file_map,
	.close = file_close,
	.pread = file_pread,
	.direct = file_direct,
	.vm_root = file_vm_root,
	.zero_below = file_zero_below,
	.machine_to_frame = file_machine_to_frame,
	.frame_to_machine = file_frame_to_machine,
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

int xfm_file_open(const char *path, const struct xfm_open_args *a,
		  struct xfm_source **out)
{
	struct xfm_file *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return xfm_fail(-ENOMEM, "%s: out of memory", path);
	f->fd = -1;
	f->frame_size = 4096;
	if (xfm_source_init(&f->base, &file_ops, a, "%s", path) < 0) {
		free(f);
		return xfm_fail(-ENOMEM, "%s: out of memory", path);
	}
	if (a->flags & XFM_OPEN_WRITE) {
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
