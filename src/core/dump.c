/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * dump.c - write a source's populated memory to a file: raw, ELF64 core,
 * Xen dump-core or LiME.  Guest memory is streamed through one bounded
 * buffer, so a dump of any size needs the same few MiB.  The output is
 * built in a temporary file beside the target and renamed over it only
 * once complete and synced: a failed or cancelled dump leaves nothing.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "private.h"

#define CHUNK (UINT64_C(4) << 20)   /* bytes copied per read + write */
#define HOLE  (UINT64_C(64) << 10)  /* all-zero blocks this big: a hole */
#define HDR_BATCH 1024              /* headers/table entries per write */

/* Xen dump-core constants (docs/misc/dump-core-format.txt). */
#define XEN_NOTE_NONE           0x2000000
#define XEN_NOTE_HEADER         0x2000001
#define XEN_NOTE_VERSION        0x2000002
#define XEN_NOTE_FORMAT_VERSION 0x2000003
#define XEN_MAGIC_HVM           UINT64_C(0xF00FEBEE)
#define XEN_VERSION_DESC        1280 /* ends with u64 pagesize */
#define XEN_NSECTIONS           6

#define LIME_MAGIC 0x4C694D45u

struct dump {
	xfm_handle *h;
	const char *path;
	char *tmp;
	int fd;
	xfm_range *r;
	size_t nr;
	uint64_t frame;
	uint64_t total, done;    /* guest bytes */
	uint64_t end;            /* file size so far, holes included */
	xfm_progress_fn progress;
	void *opaque;
	uint8_t *buf;
};

/* ------------------------------------------------------------------ */
/* Little-endian stores: dump formats are LE whatever the host is.     */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

static int write_at(struct dump *d, uint64_t off, const void *p, uint64_t len)
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
static int write_sparse(struct dump *d, uint64_t off, const uint8_t *p,
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
		rc = write_at(d, off + start, p + start, i - start);
		if (rc < 0)
			return rc;
	}
	if (off + len > d->end)
		d->end = off + len;
	return 0;
}

static int report(struct dump *d)
{
	if (d->progress && d->progress(d->opaque, d->done, d->total))
		return xfm_fail(-ECANCELED, "%s: dump cancelled at %llu of "
				"%llu bytes", d->path,
				(unsigned long long)d->done,
				(unsigned long long)d->total);
	return 0;
}

/*
 * Copy guest [addr, addr + len) to file offset @off.  Frames the source
 * lists as populated but cannot fully provide (a dump whose ranges do not
 * end on a frame, a page that vanished from a live guest) are written as
 * zeros, as `xl dump-core` does for pages that disappear mid-dump.
 */
static int copy_range(struct dump *d, uint64_t addr, uint64_t len,
		      uint64_t off)
{
	while (len) {
		uint64_t n = len < CHUNK ? len : CHUNK;
		int rc = xfm_read(d->h, addr, d->buf, n, XFM_READ_ZERO_FILL);

		if (rc < 0) {
			char why[256];

			snprintf(why, sizeof(why), "%s", xfm_last_error());
			return xfm_fail(rc, "%s: reading guest address 0x%llx: "
					"%s", d->path, (unsigned long long)addr,
					why);
		}
		rc = write_sparse(d, off, d->buf, n);
		if (rc < 0)
			return rc;
		addr += n;
		off += n;
		len -= n;
		d->done += n;
		rc = report(d);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The ELF machine of the dump: the source's, if it said, else ours. */
static uint16_t elf_machine(struct dump *d)
{
	const char *k, *v;

	for (size_t i = 0; xfm_source_info(d->h, i, &k, &v) == 0; i++)
		if (strcmp(k, "elf.machine") == 0)
			return (uint16_t)strtoul(v, NULL, 10);
#if defined(__x86_64__)
	return EM_X86_64;
#elif defined(__i386__)
	return EM_386;
#elif defined(__aarch64__)
	return EM_AARCH64;
#elif defined(__arm__)
	return EM_ARM;
#else
	return EM_NONE;
#endif
}

static void elf_header(struct dump *d, uint8_t *e, uint64_t phnum,
		       uint64_t shoff, uint16_t shnum, uint16_t shstrndx)
{
	memset(e, 0, 64);
	memcpy(e, ELFMAG, SELFMAG);
	e[EI_CLASS] = ELFCLASS64;
	e[EI_DATA] = ELFDATA2LSB;
	e[EI_VERSION] = EV_CURRENT;
	put16(e + 16, ET_CORE);
	put16(e + 18, elf_machine(d));
	put32(e + 20, EV_CURRENT);
	put64(e + 32, phnum ? 64 : 0);
	put64(e + 40, shoff);
	put16(e + 52, 64);
	put16(e + 54, phnum ? 56 : 0);
	put16(e + 56, phnum >= PN_XNUM ? PN_XNUM : (uint16_t)phnum);
	put16(e + 58, shnum ? 64 : 0);
	put16(e + 60, shnum);
	put16(e + 62, shstrndx);
}

static void section(uint8_t *s, uint32_t name, uint32_t type, uint64_t off,
		    uint64_t size, uint32_t info, uint64_t align,
		    uint64_t entsize)
{
	memset(s, 0, 64);
	put32(s, name);
	put32(s + 4, type);
	put64(s + 24, off);
	put64(s + 32, size);
	put32(s + 44, info);
	put64(s + 48, align);
	put64(s + 56, entsize);
}

/* The file alignment of guest data: frames can then be mmap'd. */
static uint64_t data_align(struct dump *d)
{
	uint64_t a = d->frame;

	if (a < xfm_kernel_page_size())
		a = xfm_kernel_page_size();
	return a < 4096 ? 4096 : a;
}

/* ------------------------------------------------------------------ */
/* Formats                                                             */

static int write_raw(struct dump *d)
{
	int rc;

	for (size_t i = 0; i < d->nr; i++) {
		rc = copy_range(d, d->r[i].start, d->r[i].size, d->r[i].start);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Program headers, one PT_LOAD per range, written in batches. */
static int elf_phdrs(struct dump *d, uint64_t data)
{
	uint64_t off = data, a = data_align(d);
	int rc;

	for (size_t i = 0; i < d->nr; i += HDR_BATCH) {
		size_t n = d->nr - i < HDR_BATCH ? d->nr - i : HDR_BATCH;

		memset(d->buf, 0, n * 56);
		for (size_t k = 0; k < n; k++) {
			const xfm_range *r = &d->r[i + k];
			uint8_t *p = d->buf + k * 56;

			put32(p, PT_LOAD);
			put32(p + 4, PF_R | PF_W | PF_X);
			put64(p + 8, off);
			put64(p + 16, r->start);  /* identity: debuggers */
			put64(p + 24, r->start);
			put64(p + 32, r->size);
			put64(p + 40, r->size);
			put64(p + 48, a);
			off = align_up(off + r->size, a);
		}
		rc = write_at(d, 64 + i * 56, d->buf, n * 56);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int write_elf(struct dump *d)
{
	uint64_t phnum = d->nr, a = data_align(d);
	uint64_t shoff = 0, data, off;
	uint8_t hdr[64], sh0[64];
	bool xnum = phnum >= PN_XNUM;
	int rc;

	/* Too many segments for e_phnum: the count goes in section 0. */
	if (xnum)
		shoff = 64 + phnum * 56;
	data = align_up(64 + phnum * 56 + (xnum ? 64 : 0), a);
	elf_header(d, hdr, phnum, shoff, xnum ? 1 : 0, 0);
	rc = write_at(d, 0, hdr, sizeof(hdr));
	if (rc == 0 && xnum) {
		section(sh0, 0, SHT_NULL, 0, 0, (uint32_t)phnum, 0, 0);
		rc = phnum > UINT32_MAX ? xfm_fail(-EFBIG, "%s: %llu ranges "
				"are too many for an ELF core", d->path,
				(unsigned long long)phnum)
				: write_at(d, shoff, sh0, sizeof(sh0));
	}
	if (rc == 0)
		rc = elf_phdrs(d, data);
	off = data;
	for (size_t i = 0; rc == 0 && i < d->nr; i++) {
		rc = copy_range(d, d->r[i].start, d->r[i].size, off);
		off = align_up(off + d->r[i].size, a);
	}
	return rc;
}

static int write_lime(struct dump *d)
{
	uint64_t off = 0;
	uint8_t hdr[32];
	int rc;

	for (size_t i = 0; i < d->nr; i++) {
		memset(hdr, 0, sizeof(hdr));
		put32(hdr, LIME_MAGIC);
		put32(hdr + 4, 1);
		put64(hdr + 8, d->r[i].start);
		put64(hdr + 16, d->r[i].start + d->r[i].size - 1);
		rc = write_at(d, off, hdr, sizeof(hdr));
		if (rc < 0)
			return rc;
		rc = copy_range(d, d->r[i].start, d->r[i].size, off + 32);
		if (rc < 0)
			return rc;
		off += 32 + d->r[i].size;
	}
	return 0;
}

/* A "Xen" note of @dsz bytes of descriptor; returns its length. */
static size_t xen_note(uint8_t *p, uint32_t type, uint32_t dsz)
{
	put32(p, 4);
	put32(p + 4, dsz);
	put32(p + 8, type);
	memcpy(p + 12, "Xen", 4);
	memset(p + 16, 0, dsz);
	return 16 + ((dsz + 3) & ~3u);
}

static size_t xen_notes(struct dump *d, uint8_t *p, uint64_t nr_pages)
{
	size_t n = 0;

	n += xen_note(p + n, XEN_NOTE_NONE, 0);
	n += xen_note(p + n, XEN_NOTE_HEADER, 32);
	put64(p + n - 32, XEN_MAGIC_HVM);
	put64(p + n - 24, 0);            /* no vCPU contexts saved */
	put64(p + n - 16, nr_pages);
	put64(p + n - 8, d->frame);
	n += xen_note(p + n, XEN_NOTE_VERSION, XEN_VERSION_DESC);
	put64(p + n - 8, d->frame);      /* the version's last field */
	n += xen_note(p + n, XEN_NOTE_FORMAT_VERSION, 8);
	put64(p + n - 8, 1);
	return n;
}

/* The .xen_pfn table: every frame of every range, in order. */
static int xen_pfns(struct dump *d, uint64_t off)
{
	size_t k = 0;
	int rc;

	for (size_t i = 0; i < d->nr; i++) {
		uint64_t first = d->r[i].start / d->frame;
		uint64_t cnt = d->r[i].size / d->frame;

		for (uint64_t j = 0; j < cnt; j++) {
			put64(d->buf + 8 * k++, first + j);
			if (k < CHUNK / 8)
				continue;
			rc = write_at(d, off, d->buf, 8 * k);
			if (rc < 0)
				return rc;
			off += 8 * k;
			k = 0;
		}
	}
	return k ? write_at(d, off, d->buf, 8 * k) : 0;
}

static const char xen_strtab[] =
	"\0.shstrtab\0.note.Xen\0.xen_prstatus\0.xen_pages\0.xen_pfn";

static int write_xen_core(struct dump *d)
{
	uint64_t nr_pages = d->total / d->frame;
	uint64_t strtab = 64 + XEN_NSECTIONS * 64, notes, prstatus, pages;
	uint64_t pfn, off;
	uint8_t *b = d->buf;
	size_t nlen;
	int rc;

	memset(b, 0, strtab + sizeof(xen_strtab) + 2048);
	memcpy(b + strtab, xen_strtab, sizeof(xen_strtab));
	notes = align_up(strtab + sizeof(xen_strtab), 8);
	nlen = xen_notes(d, b + notes, nr_pages);
	prstatus = notes + nlen;
	pages = align_up(prstatus, data_align(d));
	pfn = pages + d->total;
	elf_header(d, b, 0, 64, XEN_NSECTIONS, 1);
	section(b + 64, 0, SHT_NULL, 0, 0, 0, 0, 0);
	section(b + 128, 1, SHT_STRTAB, strtab, sizeof(xen_strtab), 0, 1, 0);
	section(b + 192, 11, SHT_NOTE, notes, nlen, 0, 4, 0);
	section(b + 256, 21, SHT_PROGBITS, prstatus, 0, 0, 8, 0);
	section(b + 320, 35, SHT_PROGBITS, pages, d->total, 0, d->frame,
		d->frame);
	section(b + 384, 46, SHT_PROGBITS, pfn, nr_pages * 8, 0, 8, 8);
	rc = write_at(d, 0, b, prstatus);
	if (rc < 0)
		return rc;
	rc = xen_pfns(d, pfn);
	off = pages;
	for (size_t i = 0; rc == 0 && i < d->nr; i++) {
		rc = copy_range(d, d->r[i].start, d->r[i].size, off);
		off += d->r[i].size;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Temporary file, commit and cleanup                                  */

static int open_tmp(struct dump *d)
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
static int commit(struct dump *d, unsigned int flags)
{
	int rc = 0;

	if (fsync(d->fd) < 0 || fchmod(d->fd, 0644) < 0)
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

static int load_ranges(struct dump *d)
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

static int check_args(xfm_handle *h, const char *path, unsigned int format,
		      unsigned int flags)
{
	struct stat st;

	if (!h || !path || !*path)
		return xfm_fail(-EINVAL, "xfm_dump: bad arguments");
	if (format < XFM_DUMP_RAW || format > XFM_DUMP_LIME)
		return xfm_fail(-EINVAL, "%s: unknown dump format %u", path,
				format);
	if (flags & ~(unsigned int)XFM_DUMP_OVERWRITE)
		return xfm_fail(-EINVAL, "%s: unknown dump flags 0x%x", path,
				flags);
	/* Fail before copying gigabytes, not at the rename. */
	if (!(flags & XFM_DUMP_OVERWRITE) && lstat(path, &st) == 0)
		return xfm_fail(-EEXIST, "%s: exists (XFM_DUMP_OVERWRITE "
				"replaces it)", path);
	return 0;
}

static int write_format(struct dump *d, unsigned int format)
{
	int rc = report(d);

	if (rc < 0)
		return rc;
	switch (format) {
	case XFM_DUMP_RAW:
		rc = write_raw(d);
		break;
	case XFM_DUMP_ELF:
		rc = write_elf(d);
		break;
	case XFM_DUMP_XEN_CORE:
		rc = write_xen_core(d);
		break;
	default:
		rc = write_lime(d);
		break;
	}
	/* Holes are never written: a trailing one needs the file's size. */
	if (rc == 0 && ftruncate(d->fd, (off_t)d->end) < 0)
		rc = xfm_fail(-errno, "%s: extending to %llu bytes: %s",
			      d->path, (unsigned long long)d->end,
			      strerror(errno));
	return rc;
}

XFM_EXPORT int xfm_dump(xfm_handle *h, const char *path, unsigned int format,
			unsigned int flags, xfm_progress_fn progress,
			void *opaque)
{
	struct dump d = { .h = h, .path = path, .fd = -1,
			  .progress = progress, .opaque = opaque };
	int rc;

	xfm_clear_error();
	rc = check_args(h, path, format, flags);
	if (rc < 0)
		return rc;
	rc = load_ranges(&d);
	if (rc < 0)
		goto out;
	d.buf = malloc(CHUNK);
	if (!d.buf) {
		rc = xfm_fail(-ENOMEM, "%s: out of memory", path);
		goto out;
	}
	rc = open_tmp(&d);
	if (rc < 0)
		goto out;
	rc = write_format(&d, format);
	if (rc == 0)
		rc = commit(&d, flags);
out:
	if (d.fd >= 0)
		close(d.fd);
	if (d.tmp)
		unlink(d.tmp);
	free(d.tmp);
	free(d.buf);
	free(d.r);
	return rc;
}
