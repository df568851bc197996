/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * dump.c - write a source's populated memory to a file, in any format of
 * src/format/ that has a writer.  Guest memory is streamed through one
 * bounded buffer, so a dump of any size needs the same few MiB.  The
 * output is built in a temporary file beside the target and renamed over
 * it only once complete and synced: a failed or cancelled dump leaves
 * nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "le.h"
#include "linux.h"

#define CHUNK XFM_DUMP_CHUNK
#define HOLE  (UINT64_C(64) << 10)  /* all-zero blocks this big: a hole */

/* ------------------------------------------------------------------ */
/* Output                                                              */

int xfm_dump_write(struct xfm_dump *d, uint64_t off, const void *p, uint64_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = pwrite(d->fd, c, len > CHUNK ? CHUNK : len,
				   (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			return xfm_fail(-err, "%s: writing at offset 0x%llx: %s",
					d->path, (unsigned long long)off,
					strerror(err));
		}
		c += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	if (off > d->end)
		d->end = off;
	return 0;
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
	return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

/*
 * Write guest data, leaving all-zero blocks as holes: they read back as
 * zeros, and a mostly empty guest then costs neither time nor disk.
 */
static int write_sparse(struct xfm_dump *d, uint64_t off, const uint8_t *p,
			uint64_t len)
{
	uint64_t i = 0, start;
	int rc;

	while (i < len) {
		uint64_t n = len - i < HOLE ? len - i : HOLE;

		if (all_zero(p + i, n)) {
			i += n;
			continue;
		}
		start = i;
		while (i < len && !all_zero(p + i, len - i < HOLE ? len - i
					    : HOLE))
			i += len - i < HOLE ? len - i : HOLE;
		rc = xfm_dump_write(d, off + start, p + start, i - start);
		if (rc < 0)
			return rc;
	}
	if (off + len > d->end)
		d->end = off + len;
	return 0;
}

/* Bytes of a run of guest data written at once: small enough to be
 * still in the CPU's cache when pwrite() copies it. */
#define FLUSH (UINT64_C(1) << 20)

_Static_assert(FLUSH + HOLE <= XFM_DUMP_CHUNK, "a pending run fits d->buf");

/*
 * Write live guest bytes at @p (any length) like write_sparse(), through
 * d->buf: the word copy (guest-copy.c) moves each guest word whole, which
 * the kernel's copy for pwrite() from the mapping would not promise, and
 * tells the all-zero blocks in the same pass.  The run pending a write is
 * contiguous (an all-zero block or FLUSH bytes write it), so it sits at
 * the start of d->buf and is never more than FLUSH + HOLE bytes.
 */
static int copy_sparse(struct xfm_dump *d, uint64_t off, const uint8_t *p,
		       uint64_t len)
{
	uint64_t i = 0, start = 0, pend = 0;
	int rc;

	while (i < len) {
		/* Blocks on the file's HOLE grid, whatever the run's start. */
		uint64_t n = HOLE - (off + i) % HOLE;
		bool data;

		n = n < len - i ? n : len - i;
		data = xfm_guest_load(d->buf + pend, p + i, n);

		if (data && !pend)
			start = i;
		pend += data ? n : 0;
		i += n;
		if (pend && (!data || pend >= FLUSH || i == len)) {
			rc = xfm_dump_write(d, off + start, d->buf, pend);
			if (rc < 0)
				return rc;
			pend = 0;
		}
	}
	if (off + len > d->end)
		d->end = off + len;
	return 0;
}

static int report(struct xfm_dump *d);

int xfm_dump_progress(struct xfm_dump *d, uint64_t bytes)
{
	d->done += bytes;
	return report(d);
}

static int report(struct xfm_dump *d)
{
	if (d->progress && d->progress(d->opaque, d->done, d->total))
		return xfm_fail(-ECANCELED, "%s: dump cancelled at %llu of "
				"%llu bytes", d->path,
				(unsigned long long)d->done,
				(unsigned long long)d->total);
	return 0;
}

static int read_failed(struct xfm_dump *d, int rc, uint64_t addr)
{
	char why[256];

	d->read_err = rc;
	d->fail_addr = addr;
	snprintf(why, sizeof(why), "%s", xfm_last_error());
	return xfm_fail(rc, "%s: reading guest address 0x%llx: %s", d->path,
			(unsigned long long)addr, why);
}

/* Bytes of a live source's memory mapped per step: 4096 frames of 4 KiB,
 * as the batched reference program maps (the fixed cost of a map call,
 * which was ~3 % of a 1024-frame step in the lab, is then < 1 %; the
 * bytes go out through d->buf in runs of at most FLUSH + HOLE, so the
 * step is not bounded by it; tests/unit/test-liveness.c counts steps of
 * this size). */
#define MAP_STEP (UINT64_C(16) << 20)

/* @n more bytes copied: move on, and say so to the progress callback. */
static int advance(struct xfm_dump *d, uint64_t n, uint64_t *addr,
		   uint64_t *off, uint64_t *len)
{
	*addr += n;
	*off += n;
	*len -= n;
	d->done += n;
	return report(d);
}

/*
 * A live source: map MAP_STEP bytes of frames, copy them out word by word
 * (guest-copy.c) and write, unmap.  Not through the cache: a dump reads every frame once,
 * and cached windows would keep the whole guest mapped afterwards (the
 * mapped bytes of a dump stay at one step whatever the guest's size).
 * Frames that fail to map are left as holes (zeros).
 */
static int copy_mapped(struct xfm_dump *d, xfm_extent *ext, uint64_t addr,
		       uint64_t len, uint64_t off)
{
	uint64_t fs = d->frame;

	while (len) {
		uint64_t n = len < MAP_STEP ? len : MAP_STEP, nfr = n / fs;
		xfm_mapping *m = NULL;
		const uint8_t *p;
		int rc;

		for (uint64_t i = 0; i < nfr; i++)
			ext[i] = (xfm_extent){ .frame = addr / fs + i };
		rc = xfm_map(d->h, ext, (size_t)nfr, XFM_PROT_READ, NULL, &m);
		/* Every frame failed (each has its error): all zeros. */
		if (rc < 0 && rc != -ESRCH && ext[0].err)
			rc = 0;
		if (rc < 0)
			return read_failed(d, rc, addr);
		p = m ? xfm_map_addr(m) : NULL;
		for (uint64_t i = 0; i < nfr && m;) {
			uint64_t run = 1;

			while (i + run < nfr && !ext[i].err == !ext[i + run].err)
				run++;
			if (!ext[i].err)
				rc = copy_sparse(d, off + i * fs, p + i * fs,
						 run * fs);
			if (rc < 0)
				break;
			i += run;
		}
		xfm_unmap(m);
		if (rc < 0)
			return rc;
		if (off + n > d->end)
			d->end = off + n;
		rc = advance(d, n, &addr, &off, &len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * Copy guest [addr, addr + len) to file offset @off.  Frames the source
 * lists as populated but cannot fully provide (a dump whose ranges do not
 * end on a frame, a page that vanished from a live guest) are written as
 * zeros, as `xl dump-core` does for pages that disappear mid-dump.
 */
int xfm_dump_copy(struct xfm_dump *d, uint64_t addr, uint64_t len,
		  uint64_t off)
{
	/* Files: large preads (segments.c), no mapping kept either.  A
	 * span of xfm_dump_span() that is virtual or must fail on a hole
	 * goes through xfm_read/xfm_read_va, which know both. */
	if (!d->h->src->ops->pread && !d->va &&
	    (d->read_flags & XFM_READ_ZERO_FILL) && addr % d->frame == 0 &&
	    len % d->frame == 0 && MAP_STEP >= d->frame) {
		xfm_extent *ext = calloc(MAP_STEP / d->frame, sizeof(*ext));
		int rc;

		if (!ext)
			return xfm_fail(-ENOMEM, "%s: out of memory", d->path);
		rc = copy_mapped(d, ext, addr, len, off);
		free(ext);
		return rc;
	}
	while (len) {
		uint64_t n = len < CHUNK ? len : CHUNK;
		int rc = d->va ? xfm_read_va(d->h, addr, d->buf, n,
					     d->read_flags)
			       : xfm_read(d->h, addr, d->buf, n, d->read_flags);

		if (rc < 0)
			return read_failed(d, rc, addr);
		rc = write_sparse(d, off, d->buf, n);
		if (rc == 0)
			rc = advance(d, n, &addr, &off, &len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

size_t xfm_dump_status_note(uint8_t *p)
{
	xfm_put_le32(p, 4);
	xfm_put_le32(p + 4, XFM_DUMP_STATUS_NOTE - 16);
	xfm_put_le32(p + 8, XFM_NOTE_DUMP_STATUS);
	memcpy(p + 12, "XFM", 4);
	memset(p + 16, 0, XFM_DUMP_STATUS_NOTE - 16);
	return XFM_DUMP_STATUS_NOTE;
}

/*
 * Fill the status note: bytes copied, bytes in all, where copying stopped
 * (UINT64_MAX: it did not), the errno that stopped it.  A partial dump
 * keeps its complete size (its layout lists every range) and reads as
 * zeros past the stop.  Returns 0 when the file is to be kept.
 */
static int put_status(struct xfm_dump *d, int rc)
{
	uint8_t p[XFM_DUMP_STATUS_NOTE - 16];
	int wrc;

	xfm_put_le64(p, d->done);
	xfm_put_le64(p + 8, d->total);
	xfm_put_le64(p + 16, rc ? d->fail_addr : UINT64_MAX);
	xfm_put_le64(p + 24, (uint64_t)-rc);
	wrc = xfm_dump_write(d, d->status_off + 16, p, sizeof(p));
	if (wrc == 0 && d->full_end > d->end)
		d->end = d->full_end;
	return wrc;
}

static int kept_partial(struct xfm_dump *d)
{
	char why[256];

	snprintf(why, sizeof(why), "%s", xfm_last_error());
	return xfm_fail(d->read_err, "%s: partial dump kept (%llu of %llu bytes "
			"of guest memory, marked by its XFM status note): %s",
			d->path, (unsigned long long)d->done,
			(unsigned long long)d->total, why);
}

/* The file alignment of guest data: frames can then be mmap'd. */
uint64_t xfm_dump_data_align(const struct xfm_dump *d)
{
	uint64_t a = xfm_map_unit(&d->h->psz);

	return a < 4096 ? 4096 : a;
}

/* ------------------------------------------------------------------ */
/* Temporary file, commit and cleanup                                  */

static int open_tmp(struct xfm_dump *d)
{
	const char *slash = strrchr(d->path, '/');
	int dirlen = slash ? (int)(slash - d->path + 1) : 0;

	if (asprintf(&d->tmp, "%.*s.%s.xfm-XXXXXX", dirlen, d->path,
		     slash ? slash + 1 : d->path) < 0) {
		d->tmp = NULL;
		return xfm_fail(-ENOMEM, "%s: out of memory", d->path);
	}
	/* mkostemp: O_EXCL and mode 0600 until the dump is complete. */
	d->fd = mkostemp(d->tmp, O_CLOEXEC);
	if (d->fd < 0) {
		int err = errno;

		free(d->tmp);
		d->tmp = NULL;
		return xfm_fail(-err, "%s: creating a temporary file beside "
				"it: %s", d->path, strerror(err));
	}
	return 0;
}

static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path + 1))
			  : strdup(".");
	int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Rename the finished file into place; without OVERWRITE never clobber. */
static int commit(struct xfm_dump *d, unsigned int flags)
{
	int rc = 0;

	if (fsync(d->fd) < 0 || fchmod(d->fd, d->mode) < 0)
		return xfm_fail(-errno, "%s: syncing: %s", d->path,
				strerror(errno));
	if (close(d->fd) < 0) {
		d->fd = -1;
		return xfm_fail(-errno, "%s: closing: %s", d->path,
				strerror(errno));
	}
	d->fd = -1;
	if (flags & XFM_DUMP_OVERWRITE)
		rc = rename(d->tmp, d->path);
#ifdef RENAME_NOREPLACE
	else if ((rc = renameat2(AT_FDCWD, d->tmp, AT_FDCWD, d->path,
				 RENAME_NOREPLACE)) < 0 &&
		 (errno == EINVAL || errno == ENOSYS) &&
		 (rc = link(d->tmp, d->path)) == 0)
		unlink(d->tmp); /* file systems without RENAME_NOREPLACE */
#else
	/* C libraries without renameat2() (musl): link() never replaces. */
	else if ((rc = link(d->tmp, d->path)) == 0)
		unlink(d->tmp);
#endif
	if (rc < 0)
		return xfm_fail(-errno, "%s: %s", d->path, errno == EEXIST ?
				"exists (XFM_DUMP_OVERWRITE replaces it)" :
				strerror(errno));
	free(d->tmp);
	d->tmp = NULL;
	sync_dir(d->path);
	return 0;
}

static int load_ranges(struct xfm_dump *d)
{
	int64_t n = xfm_get_ranges(d->h, NULL, 0);
	xfm_geometry g;

	if (n < 0)
		return (int)n;
	if (xfm_get_geometry(d->h, &g, sizeof(g)) < 0)
		return -EINVAL;
	d->frame = g.frame_size;
	d->r = calloc(n ? (size_t)n : 1, sizeof(*d->r));
	if (!d->r)
		return xfm_fail(-ENOMEM, "%s: out of memory", d->path);
	n = xfm_get_ranges(d->h, d->r, (size_t)n);
	if (n < 0)
		return (int)n;
	d->nr = (size_t)n;
	for (size_t i = 0; i < d->nr; i++)
		d->total += d->r[i].size;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Notes: what crash, drgn and makedumpfile need besides memory        */

static size_t align4(size_t v)
{
	return (v + 3) & ~(size_t)3;
}

/* Is there a note named @name in the ELF64 little-endian notes @n? */
static bool has_note(const uint8_t *n, size_t len, const char *name)
{
	size_t nl = strlen(name) + 1, off = 0;

	while (len - off >= 12) {
		uint32_t namesz = xfm_le32(n + off);
		uint32_t descsz = xfm_le32(n + off + 4);
		size_t need = 12 + align4(namesz) + align4(descsz);

		if (need > len - off)
			break;
		if (namesz == nl && memcmp(n + off + 12, name, nl) == 0)
			return true;
		off += need;
	}
	return false;
}

/* Bytes of a note named @name with @descsz bytes of descriptor. */
static size_t note_size(const char *name, size_t descsz)
{
	return 12 + align4(strlen(name) + 1) + align4(descsz);
}

static void put_note(uint8_t *p, const char *name, uint32_t type,
		     const void *desc, size_t descsz)
{
	size_t nl = strlen(name) + 1;

	memset(p, 0, note_size(name, descsz));
	xfm_put_le32(p, (uint32_t)nl);
	xfm_put_le32(p + 4, (uint32_t)descsz);
	xfm_put_le32(p + 8, type);
	memcpy(p + 12, name, nl);
	memcpy(p + 12 + align4(nl), desc, descsz);
}

/*
 * The source's notes, kept, and the guest kernel's VMCOREINFO (from the
 * dump, else found in guest memory) as a note if they lack one: the
 * layout of /proc/vmcore and of QEMU's dumps.  No Linux guest: no note.
 */
static int prepare_notes(struct xfm_dump *d)
{
	const struct xfm_source *s = d->h->src;
	const struct xfm_os *os;
	size_t len = s->notes_len;
	bool add;

	if (xfm_linux_find(d->h, &os) == 0) {
		d->vmcoreinfo = os->text;
		d->vmcoreinfo_len = os->len;
	}
	xfm_clear_error(); /* no Linux guest is not an error */
	add = d->vmcoreinfo && !has_note(s->notes, s->notes_len,
					 XFM_VMCOREINFO_NAME);
	if (add)
		len += note_size(XFM_VMCOREINFO_NAME, d->vmcoreinfo_len);
	if (!len)
		return 0;
	d->notes = malloc(len);
	if (!d->notes)
		return xfm_fail(-ENOMEM, "%s: out of memory", d->path);
	if (s->notes_len)
		memcpy(d->notes, s->notes, s->notes_len);
	if (add)
		put_note(d->notes + s->notes_len, XFM_VMCOREINFO_NAME, 0,
			 d->vmcoreinfo, d->vmcoreinfo_len);
	d->notes_len = len;
	return 0;
}

static int check_args(xfm_handle *h, const char *path, unsigned int format,
		      unsigned int flags)
{
	struct stat st;

	if (!h || !path || !*path)
		return xfm_fail(-EINVAL, "xfm_dump: bad arguments");
	if (!xfm_format_for_dump(format))
		return xfm_fail(-EINVAL, "%s: unknown dump format %u", path,
				format);
	if ((flags & XFM_DUMP_COMPRESS_MASK) && format != XFM_DUMP_KDUMP &&
	    format != XFM_DUMP_KDUMP_FLAT)
		return xfm_fail(-EINVAL, "%s: compression is for kdump dumps "
				"only", path);
	if ((flags & XFM_DUMP_COMPRESS_MASK) > XFM_DUMP_ZSTD)
		return xfm_fail(-EINVAL, "%s: unknown compression 0x%x", path,
				flags & XFM_DUMP_COMPRESS_MASK);
	if (flags & ~(unsigned int)(XFM_DUMP_OVERWRITE | XFM_DUMP_KEEP_PARTIAL |
				    XFM_DUMP_COMPRESS_MASK))
		return xfm_fail(-EINVAL, "%s: unknown dump flags 0x%x", path,
				flags);
	if ((flags & XFM_DUMP_KEEP_PARTIAL) && format != XFM_DUMP_ELF &&
	    format != XFM_DUMP_XEN_CORE)
		return xfm_fail(-EINVAL, "%s: a partial dump is kept only as elf "
				"or xen-core (raw and LiME have no place to "
				"mark it partial)", path);
	/* Fail before copying gigabytes, not at the rename. */
	if (!(flags & XFM_DUMP_OVERWRITE) && lstat(path, &st) == 0)
		return xfm_fail(-EEXIST, "%s: exists (XFM_DUMP_OVERWRITE "
				"replaces it)", path);
	return 0;
}

/*
 * Every frame read: a live guest destroyed while the last step was being
 * copied would still pass as whole, since all its maps had succeeded.
 * Ask once more before the file is kept (liveness.c; files: no-op).
 */
static int still_there(struct xfm_dump *d)
{
	uint64_t last = d->nr ? d->r[d->nr - 1].start + d->r[d->nr - 1].size - 1
			      : 0;
	int rc = xfm_check_alive(d->h, true, last / d->frame);

	return rc < 0 ? read_failed(d, rc, last / d->frame * d->frame) : 0;
}

static int write_format(struct xfm_dump *d, unsigned int format)
{
	int rc = report(d);

	if (rc < 0)
		return rc;
	rc = xfm_format_for_dump(format)->write(d);
	if (rc == 0)
		rc = still_there(d);
	if (d->keep && (rc == 0 || (d->read_err && rc == d->read_err)))
		rc = put_status(d, rc);
	/* Holes are never written: a trailing one needs the file's size. */
	if (rc == 0 && ftruncate(d->fd, (off_t)d->end) < 0)
		rc = xfm_fail(-errno, "%s: extending to %llu bytes: %s",
			      d->path, (unsigned long long)d->end,
			      strerror(errno));
	return rc;
}

/* Write the file through @write and commit it; frees what @d holds. */
static int write_file(struct xfm_dump *d, unsigned int flags,
		      int (*write)(struct xfm_dump *d, const void *arg),
		      const void *arg)
{
	int rc;

	d->buf = malloc(CHUNK);
	if (!d->buf) {
		rc = xfm_fail(-ENOMEM, "%s: out of memory", d->path);
		goto out;
	}
	rc = open_tmp(d);
	if (rc < 0)
		goto out;
	rc = write(d, arg);
	if (rc == 0)
		rc = commit(d, flags);
	/* Kept, but still a failure: the caller must know it is partial. */
	if (rc == 0 && d->read_err)
		rc = kept_partial(d);
out:
	if (d->fd >= 0)
		close(d->fd);
	if (d->tmp)
		unlink(d->tmp);
	free(d->tmp);
	free(d->buf);
	free(d->r);
	free(d->notes);
	return rc;
}

static int write_dump(struct xfm_dump *d, const void *format)
{
	return write_format(d, *(const unsigned int *)format);
}

XFM_EXPORT int xfm_dump(xfm_handle *h, const char *path, unsigned int format,
			unsigned int flags, xfm_progress_fn progress,
			void *opaque)
{
	struct xfm_dump d = { .h = h, .path = path, .fd = -1,
			  .progress = progress, .opaque = opaque,
			  .keep = flags & XFM_DUMP_KEEP_PARTIAL,
			  .read_flags = XFM_READ_ZERO_FILL, .mode = 0644,
			  .flags = flags };
	int rc;

	xfm_clear_error();
	rc = check_args(h, path, format, flags);
	if (rc < 0)
		return rc;
	rc = load_ranges(&d);
	/* Only formats with notes need them: their VMCOREINFO search of a
	 * live guest is a pass over its memory. */
	if (rc == 0 && xfm_format_for_dump(format)->notes)
		rc = prepare_notes(&d);
	if (rc < 0) {
		free(d.r);
		free(d.notes);
		return rc;
	}
	return write_file(&d, flags, write_dump, &format);
}

/* The creation mask, read without changing it (umask() would race with
 * other threads' file creation): Linux reports it since 4.7. */
static unsigned int creation_mask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned int mask = 022;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &mask) == 1)
			break;
	if (f)
		fclose(f);
	return mask;
}

static int write_span(struct xfm_dump *d, const void *arg)
{
	int rc = report(d);

	(void)arg;
	if (rc == 0)
		rc = xfm_dump_copy(d, d->r[0].start, d->r[0].size, 0);
	/* Holes are never written: a trailing one needs the file's size. */
	if (rc == 0 && ftruncate(d->fd, (off_t)d->end) < 0)
		rc = xfm_fail(-errno, "%s: extending to %llu bytes: %s",
			      d->path, (unsigned long long)d->end,
			      strerror(errno));
	return rc;
}

XFM_EXPORT int xfm_dump_span(xfm_handle *h, const char *path, uint64_t addr,
			     uint64_t len, unsigned int flags,
			     xfm_progress_fn progress, void *opaque)
{
	struct xfm_dump d = {
		.h = h, .path = path, .fd = -1, .progress = progress,
		.opaque = opaque, .nr = 1, .total = len,
		.read_flags = (flags & XFM_SPAN_ZERO_FILL) ? XFM_READ_ZERO_FILL
							   : 0,
		.va = flags & XFM_SPAN_VIRTUAL,
		.mode = 0666 & ~creation_mask(),
	};
	unsigned int known = XFM_SPAN_OVERWRITE | XFM_SPAN_ZERO_FILL |
			     XFM_SPAN_VIRTUAL;

	xfm_clear_error();
	if (!h || !path || !*path || !len || len - 1 > UINT64_MAX - addr)
		return xfm_fail(-EINVAL, "xfm_dump_span: bad arguments");
	if (flags & ~known)
		return xfm_fail(-EINVAL, "%s: unknown span flags 0x%x", path,
				flags);
	d.r = malloc(sizeof(*d.r));
	if (!d.r)
		return xfm_fail(-ENOMEM, "%s: out of memory", path);
	d.r[0] = (xfm_range){ addr, len };
	return write_file(&d, flags & XFM_SPAN_OVERWRITE, write_span, NULL);
}
