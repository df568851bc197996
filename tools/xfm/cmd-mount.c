/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cmd-mount.c - `xfm mount SOURCE DIR`: the source as files (FUSE 3), for
 * tools that read files (crash, drgn, gdb, strings, YARA, Volatility).
 *
 *   DIR/pmem       guest-physical memory; offset = address; holes (sparse,
 *                  SEEK_HOLE/SEEK_DATA) where nothing is populated
 *   DIR/vmcore     an ELF64 core: a PT_NOTE with the guest's VMCOREINFO,
 *                  one PT_LOAD per populated range; the headers are built
 *                  at mount, the data is read from the source on each read
 *   DIR/info.json  geometry, ranges and facts, as `xfm info --json`
 *
 * Files are opened direct_io: every read goes to the source, so a live
 * guest is seen live (no page cache holds old bytes), and a read can be
 * as large as the kernel allows (max_pages).  A read the source cannot
 * serve (a guest that went away) fails with EIO; nothing waits.
 * Read-only unless --force-write (then pmem is writable).  SIGINT,
 * SIGTERM and SIGHUP end the loop and unmount.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define HDR_ALIGN 4096
#define EM_X86_64_ 62
#define EM_AARCH64_ 183

struct mnt {
	xfm_handle *h;
	xfm_range *r;
	int64_t n;
	uint64_t pmem_size;  /* end of the highest range */
	uint64_t populated;  /* bytes in ranges */
	uint8_t *hdr;        /* vmcore headers + note, HDR_ALIGN padded */
	uint64_t hdr_len;
	uint64_t core_size;
	char *info;          /* info.json */
	size_t info_len;
	bool write;
	time_t t0;
	int eio_logged;
};

static struct mnt *M(void)
{
	return fuse_get_context()->private_data;
}

enum file { F_NONE, F_ROOT, F_PMEM, F_VMCORE, F_INFO };

static enum file which(const char *path)
{
	if (!strcmp(path, "/"))
		return F_ROOT;
	if (!strcmp(path, "/pmem"))
		return F_PMEM;
	if (!strcmp(path, "/vmcore"))
		return F_VMCORE;
	if (!strcmp(path, "/info.json"))
		return F_INFO;
	return F_NONE;
}

/* ---- the ELF core view ---------------------------------------------- */

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint16_t machine(xfm_handle *h)
{
	const char *k, *v;

	for (size_t i = 0; xfm_source_info(h, i, &k, &v) == 0; i++)
		if (!strcmp(k, "elf.machine"))
			return (uint16_t)strtoul(v, NULL, 10);
#if defined(__aarch64__)
	return EM_AARCH64_;
#else
	return EM_X86_64_;
#endif
}

/* The guest's VMCOREINFO text (malloc'ed), or NULL when there is none. */
static char *vmcoreinfo(xfm_handle *h, size_t *len)
{
	int64_t n = xfm_vmcoreinfo(h, NULL, 0, NULL);
	char *t;

	if (n < 0)
		return NULL;
	t = malloc((size_t)n + 1);
	if (t && xfm_vmcoreinfo(h, t, (size_t)n + 1, NULL) != n) {
		free(t);
		return NULL;
	}
	*len = (size_t)n;
	return t;
}

/*
 * x86_64: the kernel image's mapping.  Readers (crash, drgn) find the
 * page tables through kernel symbols, i.e. through this mapping, as in
 * the kernel's own /proc/vmcore: va = pa - phys_base + __START_KERNEL_map
 * for KERNEL_IMAGE_SIZE bytes.  phys_base may be negative (KASLR moves the
 * image's virtual and physical addresses independently).
 */
#define START_KERNEL_MAP UINT64_C(0xffffffff80000000)

struct text_map {
	int64_t pb;       /* phys_base */
	uint64_t size;    /* KERNEL_IMAGE_SIZE */
	bool on;
};

static struct text_map text_map(xfm_handle *h, uint16_t mach)
{
	struct text_map t = { .size = UINT64_C(1) << 30 };
	uint64_t v;

	if (mach != EM_X86_64_ ||
	    xfm_vmcoreinfo_number(h, "NUMBER(phys_base)", &v) < 0)
		return t;
	t.pb = (int64_t)v;
	if (xfm_vmcoreinfo_number(h, "NUMBER(KERNEL_IMAGE_SIZE)", &v) == 0 &&
	    v && v <= (UINT64_C(1) << 31))
		t.size = v;
	t.on = true;
	return t;
}

/* The part of range @r (data at file offset @off) the image maps. */
static bool text_part(const struct text_map *t, const xfm_range *r,
		      uint64_t off, uint8_t *ph)
{
	int64_t lo = (int64_t)r->start, hi = (int64_t)(r->start + r->size);

	if (!t->on || r->start + r->size > (uint64_t)INT64_MAX)
		return false;
	if (lo < t->pb)
		lo = t->pb;
	if (hi > t->pb + (int64_t)t->size)
		hi = t->pb + (int64_t)t->size;
	if (lo >= hi)
		return false;
	put32(ph, 1);                            /* PT_LOAD */
	put32(ph + 4, 7);
	put64(ph + 8, off + ((uint64_t)lo - r->start));
	put64(ph + 16, (uint64_t)(lo - t->pb) + START_KERNEL_MAP);
	put64(ph + 24, (uint64_t)lo);
	put64(ph + 32, (uint64_t)(hi - lo));
	put64(ph + 40, (uint64_t)(hi - lo));
	put64(ph + 48, HDR_ALIGN);
	return true;
}

/*
 * ELF header, PT_NOTE (VMCOREINFO, as the kernel's own crash notes are
 * laid out: name "VMCOREINFO", type 0), one PT_LOAD per range with
 * p_paddr = guest-physical and p_vaddr = 0 (as a dump taken without
 * paging), and on x86_64 the kernel image's PT_LOADs, which point into
 * the same data.  Data follows the headers, page aligned, ranges back to
 * back: nothing is copied, every read goes to the source.
 */
static int build_core(struct mnt *m, const char **why)
{
	size_t vlen = 0, nlen, phnum = (size_t)m->n + 1, ntext = 0;
	char *vi = vmcoreinfo(m->h, &vlen);
	uint16_t mach = machine(m->h);
	struct text_map tm = text_map(m->h, mach);
	uint8_t scratch[56];
	uint64_t note_off, off;
	uint8_t *p;

	for (int64_t i = 0; i < m->n; i++)
		ntext += text_part(&tm, &m->r[i], 0, scratch);
	phnum += ntext;
	if (phnum >= 0xffff) {
		*why = "more than 65534 ranges";
		free(vi);
		return -1;
	}
	nlen = vi ? 12 + 12 + ((vlen + 3) & ~(size_t)3) : 0;
	note_off = 64 + 56 * (uint64_t)phnum;
	m->hdr_len = (note_off + nlen + HDR_ALIGN - 1) & ~(uint64_t)(HDR_ALIGN - 1);
	m->hdr = p = calloc(1, m->hdr_len);
	if (!p) {
		*why = "out of memory";
		free(vi);
		return -1;
	}
	memcpy(p, "\177ELF\2\1\1", 7);          /* 64-bit, LE, version 1 */
	put16(p + 16, 4);                        /* ET_CORE */
	put16(p + 18, mach);
	put32(p + 20, 1);
	put64(p + 32, 64);                       /* e_phoff */
	put16(p + 52, 64);                       /* e_ehsize */
	put16(p + 54, 56);                       /* e_phentsize */
	put16(p + 56, (uint16_t)phnum);
	p += 64;
	put32(p, 4);                             /* PT_NOTE */
	put64(p + 8, note_off);
	put64(p + 32, nlen);
	put64(p + 40, nlen);
	put64(p + 48, 4);
	if (vi) {
		uint8_t *np = m->hdr + note_off;

		put32(np, 11);
		put32(np + 4, (uint32_t)vlen);
		memcpy(np + 12, "VMCOREINFO", 11);
		memcpy(np + 24, vi, vlen);
	}
	/* The image's mapping first: readers look for it before RAM. */
	off = m->hdr_len;
	for (int64_t i = 0; i < m->n; i++) {
		if (text_part(&tm, &m->r[i], off, p + 56))
			p += 56;
		off += m->r[i].size;
	}
	off = m->hdr_len;
	for (int64_t i = 0; i < m->n; i++) {
		p += 56;
		put32(p, 1);                     /* PT_LOAD */
		put32(p + 4, 7);                 /* RWX, as the kernel's */
		put64(p + 8, off);
		put64(p + 24, m->r[i].start);    /* p_paddr */
		put64(p + 32, m->r[i].size);
		put64(p + 40, m->r[i].size);
		put64(p + 48, HDR_ALIGN);
		off += m->r[i].size;
	}
	m->core_size = off;
	free(vi);
	return 0;
}

/* ---- info.json ------------------------------------------------------ */

static int build_info(struct mnt *m, const char *uri)
{
	json_object *o = json_object_new_object(), *g = json_object_new_object();
	json_object *r = json_object_new_array(), *f = json_object_new_object();
	xfm_geometry geo;
	const char *k, *v, *s;

	xfm_get_geometry(m->h, &geo, sizeof(geo));
	json_object_object_add(o, "source", json_object_new_string(
				       xfm_source_name(m->h)));
	json_object_object_add(o, "uri", json_object_new_string(uri));
	json_object_object_add(g, "frame_size", json_u64(geo.frame_size));
	json_object_object_add(g, "hyp_page_size", json_u64(geo.hyp_page_size));
	json_object_object_add(g, "kernel_page_size",
			       json_u64(geo.kernel_page_size));
	json_object_object_add(g, "max_frame", json_u64(geo.max_frame));
	json_object_object_add(o, "geometry", g);
	for (int64_t i = 0; i < m->n; i++)
		json_object_array_add(r, json_range(m->r[i].start,
						    m->r[i].size));
	json_object_object_add(o, "ranges", r);
	json_object_object_add(o, "populated", json_u64(m->populated));
	for (size_t i = 0; xfm_source_info(m->h, i, &k, &v) == 0; i++)
		json_object_object_add(f, k, json_object_new_string(v));
	json_object_object_add(o, "facts", f);
	json_object_object_add(o, "writable",
			       json_object_new_boolean(m->write));
	json_object_object_add(o, "vmcore_size", json_u64(m->core_size));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	m->info_len = strlen(s) + 1;
	m->info = malloc(m->info_len);
	if (m->info) {
		memcpy(m->info, s, m->info_len - 1);
		m->info[m->info_len - 1] = '\n';
	}
	json_object_put(o);
	return m->info ? 0 : -1;
}

/* ---- reading and writing -------------------------------------------- */

/* Index of the first range ending after @a (m->n if none). */
static int64_t range_at(const struct mnt *m, uint64_t a)
{
	int64_t lo = 0, hi = m->n;

	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;

		if (m->r[mid].start + m->r[mid].size <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int source_eio(struct mnt *m, int rc)
{
	/* One line per mount, not per read: a dead guest fails every read. */
	if (!__atomic_exchange_n(&m->eio_logged, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "xfm: mount: %s (reads now fail with EIO)\n",
			xfm_last_error());
	return rc == -EROFS ? -EROFS : -EIO;
}

/* pmem: ranges read from the source, holes as zeros. */
static int pmem_rw(struct mnt *m, uint8_t *buf, uint64_t off, uint64_t len,
		   bool wr)
{
	uint64_t pos = off, end;
	int64_t i;

	if (off >= m->pmem_size)
		return 0;
	end = off + len < m->pmem_size ? off + len : m->pmem_size;
	for (i = range_at(m, pos); pos < end;) {
		uint64_t rs = i < m->n ? m->r[i].start : end;
		uint64_t re = i < m->n ? rs + m->r[i].size : end;
		uint64_t n;
		int rc;

		if (pos < rs) { /* a hole */
			n = (rs < end ? rs : end) - pos;
			if (wr)
				return pos > off ? (int)(pos - off) : -ENXIO;
			memset(buf + (pos - off), 0, n);
		} else {
			n = (re < end ? re : end) - pos;
			rc = wr ? xfm_write(m->h, pos, buf + (pos - off), n) :
				xfm_read(m->h, pos, buf + (pos - off), n, 0);
			if (rc < 0)
				return source_eio(m, rc);
			i++;
		}
		pos += n;
	}
	return (int)(end - off);
}

/* vmcore: headers from memory, then the ranges back to back. */
static int core_read(struct mnt *m, uint8_t *buf, uint64_t off, uint64_t len)
{
	uint64_t pos = off, end, seg = m->hdr_len;
	int64_t i = 0;

	if (off >= m->core_size)
		return 0;
	end = off + len < m->core_size ? off + len : m->core_size;
	if (pos < m->hdr_len) {
		uint64_t n = (m->hdr_len < end ? m->hdr_len : end) - pos;

		memcpy(buf, m->hdr + pos, n);
		pos += n;
	}
	for (; pos < end && i < m->n; seg += m->r[i++].size) {
		uint64_t se = seg + m->r[i].size, n;
		int rc;

		if (pos >= se)
			continue;
		n = (se < end ? se : end) - pos;
		rc = xfm_read(m->h, m->r[i].start + (pos - seg),
			      buf + (pos - off), n, 0);
		if (rc < 0)
			return source_eio(m, rc);
		pos += n;
	}
	return (int)(end - off);
}

/* ---- FUSE operations ------------------------------------------------ */

static int op_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	struct mnt *m = M();
	enum file f = which(path);

	memset(st, 0, sizeof(*st));
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atime = st->st_mtime = st->st_ctime = m->t0;
	st->st_nlink = 1;
	st->st_blksize = 1 << 20;
	switch (f) {
	case F_ROOT:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		return 0;
	case F_PMEM:
		st->st_mode = S_IFREG | (m->write ? 0644 : 0444);
		st->st_size = (off_t)m->pmem_size;
		st->st_blocks = (blkcnt_t)(m->populated / 512);
		return 0;
	case F_VMCORE:
		st->st_mode = S_IFREG | 0444;
		st->st_size = (off_t)m->core_size;
		st->st_blocks = (blkcnt_t)(m->core_size / 512);
		return 0;
	case F_INFO:
		st->st_mode = S_IFREG | 0444;
		st->st_size = (off_t)m->info_len;
		st->st_blocks = (blkcnt_t)((m->info_len + 511) / 512);
		return 0;
	default:
		return -ENOENT;
	}
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags fl)
{
	if (which(path) != F_ROOT)
		return -ENOTDIR;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "pmem", NULL, 0, 0);
	fill(buf, "vmcore", NULL, 0, 0);
	fill(buf, "info.json", NULL, 0, 0);
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	enum file f = which(path);
	bool wr = (fi->flags & O_ACCMODE) != O_RDONLY;

	if (f == F_NONE)
		return -ENOENT;
	if (f == F_ROOT)
		return -EISDIR;
	if (wr && (f != F_PMEM || !M()->write))
		return -EROFS;
	/* Live memory: no page cache, every read asks the source. */
	fi->direct_io = f != F_INFO;
	fi->keep_cache = f == F_INFO;
	fi->fh = (uint64_t)f;
	return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct mnt *m = M();

	if (off < 0)
		return -EINVAL;
	switch ((enum file)fi->fh) {
	case F_PMEM:
		return pmem_rw(m, (uint8_t *)buf, (uint64_t)off, size, false);
	case F_VMCORE:
		return core_read(m, (uint8_t *)buf, (uint64_t)off, size);
	case F_INFO:
		if ((uint64_t)off >= m->info_len)
			return 0;
		if (size > m->info_len - (uint64_t)off)
			size = m->info_len - (uint64_t)off;
		memcpy(buf, m->info + off, size);
		return (int)size;
	default:
		return -EBADF;
	}
}

static int op_write(const char *path, const char *buf, size_t size,
		    off_t off, struct fuse_file_info *fi)
{
	struct mnt *m = M();

	if ((enum file)fi->fh != F_PMEM || !m->write)
		return -EROFS;
	if (off < 0 || (uint64_t)off + size > m->pmem_size)
		return -ENOSPC;
	return pmem_rw(m, (uint8_t *)buf, (uint64_t)off, size, true);
}

/* SEEK_DATA / SEEK_HOLE: pmem's holes are the gaps between ranges. */
static off_t op_lseek(const char *path, off_t off, int whence,
		      struct fuse_file_info *fi)
{
	struct mnt *m = M();
	uint64_t size = (enum file)fi->fh == F_PMEM ? m->pmem_size :
		(enum file)fi->fh == F_VMCORE ? m->core_size : m->info_len;
	uint64_t a = (uint64_t)off;
	int64_t i;

	if (off < 0)
		return -EINVAL;
	if (a >= size)
		return -ENXIO;
	if ((enum file)fi->fh != F_PMEM)
		return whence == SEEK_DATA ? off :
			whence == SEEK_HOLE ? (off_t)size : -EINVAL;
	i = range_at(m, a);
	if (whence == SEEK_DATA) {
		if (i >= m->n)
			return -ENXIO;
		return (off_t)(a > m->r[i].start ? a : m->r[i].start);
	}
	if (whence == SEEK_HOLE) {
		if (i >= m->n || a < m->r[i].start)
			return off;
		return (off_t)(m->r[i].start + m->r[i].size);
	}
	return -EINVAL;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* Large requests: libfuse asks the kernel for max_pages from these. */
	conn->max_write = 1 << 20;
	conn->max_readahead = 1 << 20;
	cfg->direct_io = 0;
	cfg->kernel_cache = 0;
	cfg->attr_timeout = 3600; /* the files' sizes are fixed at mount */
	cfg->entry_timeout = 3600;
	return fuse_get_context()->private_data;
}

static const struct fuse_operations ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readdir = op_readdir,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.lseek = op_lseek,
};

/* ---- the command ---------------------------------------------------- */

struct mount_opts {
	bool write, background, debug;
	bool keep_sigint; /* xfm drgn: Ctrl-C belongs to drgn, not the mount */
	int ready_fd;     /* xfm drgn: written to once mounted, or -1 */
};

static int setup(struct cli *cli, struct mnt *m, const char *uri)
{
	const char *why = NULL;

	m->n = xfm_get_ranges_alloc(m->h, 0, UINT64_MAX, &m->r);
	if (m->n < 0)
		return cli_lib_err(cli, (int)m->n, "memory map");
	for (int64_t i = 0; i < m->n; i++)
		m->populated += m->r[i].size;
	m->pmem_size = m->n ? m->r[m->n - 1].start + m->r[m->n - 1].size : 0;
	if (build_core(m, &why) < 0) {
		cli_err(cli, "%s: vmcore: %s", uri, why);
		return EXIT_RUNTIME;
	}
	if (build_info(m, uri) < 0) {
		cli_err(cli, "out of memory");
		return EXIT_RUNTIME;
	}
	m->t0 = time(NULL);
	return EXIT_OK;
}

static int serve(struct cli *cli, struct mnt *m, const char *dir,
		 const struct mount_opts *o)
{
	char *argv[] = { "xfm", "-o", "fsname=xfm,subtype=xfm,default_permissions",
			 o->debug ? "-d" : NULL, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(o->debug ? 4 : 3, argv);
	struct fuse *f = fuse_new(&args, &ops, sizeof(ops), m);
	int rc = EXIT_RUNTIME;

	if (!f) {
		cli_err(cli, "%s: cannot start FUSE", dir);
		return EXIT_RUNTIME;
	}
	if (fuse_mount(f, dir) != 0) {
		cli_err(cli, "%s: mount failed (is /dev/fuse there, is DIR an "
			"empty directory?)", dir);
		goto out;
	}
	/*
	 * libfuse installs its handlers only over SIG_DFL: drop the CLI's
	 * own (and a shell's SIG_IGN for background jobs), so that SIGINT,
	 * SIGTERM and SIGHUP always end the loop and unmount.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
		cli_err(cli, "%s: cannot set signal handlers", dir);
		goto unmount;
	}
	if (o->keep_sigint)
		signal(SIGINT, SIG_IGN);
	if (o->ready_fd >= 0) {
		if (write(o->ready_fd, "m", 1) != 1)
			goto signals;
		close(o->ready_fd);
	}
	if (!cli->quiet)
		fprintf(stderr, "xfm: mount: %s on %s: pmem %" PRIu64
			" bytes (%" PRIu64 " populated), vmcore %" PRIu64
			" bytes%s%s\n", xfm_source_name(m->h), dir,
			m->pmem_size, m->populated, m->core_size,
			m->write ? ", writable" : "",
			o->background ? "" : "; Ctrl-C unmounts");
	if (o->background && fuse_daemonize(0) != 0) {
		cli_err(cli, "cannot go to the background");
		goto signals;
	}
	/* Multi-threaded: libxfm handles are thread-safe, reads overlap. */
	/* > 0: the signal that ended it, the way a mount is meant to end. */
	rc = fuse_loop_mt(f, 0) < 0 ? EXIT_RUNTIME : EXIT_OK;
signals:
	fuse_remove_signal_handlers(fuse_get_session(f));
unmount:
	fuse_unmount(f);
out:
	fuse_destroy(f);
	fuse_opt_free_args(&args);
	return rc;
}

static int run_mount(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force-write", no_argument, NULL, 'W' },
		{ "background", no_argument, NULL, 'b' },
		{ "fuse-debug", no_argument, NULL, 'D' },
		COMMON_LONGOPTS
	};
	struct mount_opts o = { .ready_fd = -1 };
	struct mnt m = { 0 };
	int c, rc;

	while ((c = getopt_long(argc, argv, "b" COMMON_SHORTOPTS, longopts,
				NULL)) != -1) {
		switch (c) {
		case 'W': o.write = true; break;
		case 'b': o.background = true; break;
		case 'D': o.debug = true; break;
		default:
			rc = cli_common_opt(cli, &cmd_mount, c, argv);
			if (rc >= 0)
				return rc;
		}
	}
	if (argc - optind != 2)
		return cli_usage(cli, "expected SOURCE DIR");
	m.write = o.write;
	rc = cli_open(cli, argv[optind], XFM_OPEN_QUIET |
		      (o.write ? XFM_OPEN_WRITE : 0), &m.h);
	if (rc)
		return rc;
	rc = setup(cli, &m, argv[optind]);
	if (rc == EXIT_OK)
		rc = serve(cli, &m, argv[optind + 1], &o);
	free(m.hdr);
	free(m.info);
	free(m.r);
	xfm_close(m.h);
	return rc;
}

/* ---- xfm drgn: drgn over the mounted live vmcore -------------------- */

/*
 * drgn before 0.1.0 (Debian 12 has 0.0.22) has no way to plug in a memory
 * source with a kernel's VMCOREINFO; a core file it can open is the
 * common ground.  So: mount the source on a private directory (a child
 * process serves it), run `drgn -c DIR/vmcore`, unmount when it exits.
 * The Python module's xfm.drgn.program() uses drgn's own custom-source
 * API where drgn has it.
 */
static const char *default_vmlinux(xfm_handle *h, char *buf, size_t len)
{
	static const char *const fmt[] = {
		"/var/tmp/xfm-lab/vmlinux/%s/vmlinux", /* scripts/fetch-vmlinux.sh */
		"/usr/lib/debug/boot/vmlinux-%s",
		"/usr/lib/debug/lib/modules/%s/vmlinux",
	};
	const char *k, *v, *rel = NULL;

	for (size_t i = 0; xfm_source_info(h, i, &k, &v) == 0; i++)
		if (!strcmp(k, "linux.osrelease"))
			rel = v;
	for (size_t i = 0; rel && i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		snprintf(buf, len, fmt[i], rel);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Serve @m on @dir in a child; returns its pid once mounted, or -1. */
static pid_t mount_child(struct cli *cli, struct mnt *m, const char *dir)
{
	struct mount_opts o = { .keep_sigint = true };
	int fds[2];
	char c;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		o.ready_fd = fds[1];
		_exit(serve(cli, m, dir, &o));
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &c, 1) != 1) {
		close(fds[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	close(fds[0]);
	return pid;
}

static int run_drgn_on(struct cli *cli, const char *core, const char *vmlinux,
		       int argc, char **argv)
{
	char **a = calloc((size_t)argc + 8, sizeof(*a));
	int n = 0, st;
	pid_t pid;

	if (!a)
		return EXIT_RUNTIME;
	a[n++] = "drgn";
	a[n++] = "-c";
	a[n++] = (char *)core;
	if (vmlinux) {
		a[n++] = "-s";
		a[n++] = (char *)vmlinux;
	}
	for (int i = 0; i < argc; i++)
		a[n++] = argv[i];
	pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		execvp(a[0], a);
		fprintf(stderr, "xfm: drgn: cannot run drgn: %s (apt-get "
			"install python3-drgn)\n", strerror(errno));
		_exit(127);
	}
	free(a);
	if (pid < 0)
		return EXIT_RUNTIME;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return EXIT_RUNTIME;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_drgn(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "symbols", required_argument, NULL, 's' },
		COMMON_LONGOPTS
	};
	char dir[] = "/tmp/xfm-drgn.XXXXXX", core[64], vbuf[512];
	const char *vmlinux = NULL;
	struct mnt m = { 0 };
	pid_t server;
	int c, rc;

	/* "+": options after SOURCE belong to the script. */
	while ((c = getopt_long(argc, argv, "+s:" COMMON_SHORTOPTS, longopts,
				NULL)) != -1) {
		switch (c) {
		case 's': vmlinux = optarg; break;
		default:
			rc = cli_common_opt(cli, &cmd_drgn, c, argv);
			if (rc >= 0)
				return rc;
		}
	}
	if (argc - optind < 1)
		return cli_usage(cli, "expected SOURCE [SCRIPT [ARGS...]]");
	rc = cli_open(cli, argv[optind], XFM_OPEN_QUIET, &m.h);
	if (rc)
		return rc;
	rc = setup(cli, &m, argv[optind]);
	if (rc)
		goto out;
	if (!vmlinux)
		vmlinux = default_vmlinux(m.h, vbuf, sizeof(vbuf));
	if (!mkdtemp(dir)) {
		cli_err(cli, "%s: %s", dir, strerror(errno));
		rc = EXIT_RUNTIME;
		goto out;
	}
	cli->quiet = true;
	server = mount_child(cli, &m, dir);
	if (server < 0) {
		cli_err(cli, "%s: could not mount the source", dir);
		rc = EXIT_RUNTIME;
	} else {
		snprintf(core, sizeof(core), "%s/vmcore", dir);
		signal(SIGINT, SIG_IGN); /* drgn's own Ctrl-C */
		rc = run_drgn_on(cli, core, vmlinux, argc - optind - 1,
				 argv + optind + 1);
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	rmdir(dir);
out:
	free(m.hdr);
	free(m.info);
	free(m.r);
	xfm_close(m.h);
	return rc;
}

const struct command cmd_drgn = {
	.name = "drgn",
	.summary = "drgn on the source's live kernel (over a private mount)",
	.usage =
	"xfm drgn [-s VMLINUX] SOURCE [SCRIPT [ARGS...]]\n"
	"\n"
	"Run drgn (interactive, or SCRIPT) with the source as its core: the\n"
	"source is mounted on a private directory (see `xfm mount`) and drgn\n"
	"opens its vmcore, so every read is live.  VMLINUX defaults to the\n"
	"guest release's debug vmlinux in /var/tmp/xfm-lab/vmlinux/RELEASE/\n"
	"(scripts/fetch-vmlinux.sh) or /usr/lib/debug; else drgn searches.\n"
	"Exit status: drgn's.\n"
	"\n"
	"  -s, --symbols VMLINUX   the guest kernel's debug vmlinux\n",
	.run = run_drgn,
};

const struct command cmd_mount = {
	.name = "mount",
	.summary = "the source as files: DIR/pmem, DIR/vmcore, DIR/info.json",
	.usage =
	"xfm mount [--force-write] [-b] SOURCE DIR\n"
	"\n"
	"Mount SOURCE on DIR (FUSE) until SIGINT/SIGTERM (or fusermount3 -u):\n"
	"  DIR/pmem       guest-physical memory, offset = address; holes\n"
	"                 (SEEK_HOLE/SEEK_DATA) where nothing is populated\n"
	"  DIR/vmcore     an ELF core with the guest's VMCOREINFO note, for\n"
	"                 crash and drgn (built on the fly; reads are live)\n"
	"  DIR/info.json  geometry, ranges, facts\n"
	"Reads of a source that fails (a guest gone) return EIO.\n"
	"\n"
	"  --force-write     pmem is writable (writes go into the guest)\n"
	"  -b, --background  return once mounted\n"
	"  --fuse-debug      libfuse's debug output\n",
	.run = run_mount,
};
