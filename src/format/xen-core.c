/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xen-core.c - Xen `xl dump-core` files (docs/misc/dump-core-format.txt):
 * an ELF64 core without program headers whose sections, found by name,
 * hold the pages (.xen_pages) and, entry for entry, the guest frame of
 * each page (.xen_pfn for HVM: u64 pfn; .xen_p2m for PV: u64 pfn, u64
 * gmfn).  Facts about the guest come from the "Xen" notes in .note.Xen.
 * The reader takes both layouts; the writer writes the PV one for a
 * source that knows its frames' machine frames (a live Xen PV guest), so
 * that crash can translate the machine frames in the guest's page
 * tables, and the HVM one for every other source.  A PV file in turn
 * answers machine frame <-> guest frame from its .xen_p2m, so that xfm
 * translates guest-virtual addresses through its page tables too.
 */
#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf-io.h"
#include "le.h"

#define NOTE_NONE           0x2000000
#define NOTE_HEADER         0x2000001
#define NOTE_XEN_VERSION    0x2000002
#define NOTE_FORMAT_VERSION 0x2000003

#define MAGIC_PV  UINT64_C(0xF00FEBED)
#define MAGIC_HVM UINT64_C(0xF00FEBEE)

#define HEADER_SIZE   32  /* {magic, nr_vcpus, nr_pages, page_size} */
#define VERSION_EXTRA 16  /* offset of extra_version[16] in the version */
#define INVALID_PFN   UINT64_MAX
#define PFN_BATCH     512
#define VERSION_DESC  1280 /* the version note; ends with u64 pagesize */
#define NSECTIONS     6    /* written: NULL, strtab, notes, prstatus,
				    * pages, pfn */

struct xen_core {
	struct xfm_elf elf;
	struct xfm_elf_shdr notes, pages, table;
	bool have_notes, have_pages, have_pfn, have_p2m;
	struct xfm_elf_shdr pfn, p2m;
	/* from the notes */
	bool have_header;
	uint64_t header_off;
	uint64_t magic, vcpus, nr_pages, page_size;
	char version[64];
	uint64_t format_version;
	bool have_format;
};

/* Read section @s's name (at most @len - 1 bytes) out of .shstrtab. */
static int section_name(struct xfm_file *f, const struct xfm_elf_shdr *strtab,
			const struct xfm_elf_shdr *s, char *name, size_t len)
{
	uint64_t n, off;

	memset(name, 0, len);
	if (s->name >= strtab->size)
		return 0; /* no usable name: not one of ours */
	n = strtab->size - s->name;
	n = n < len - 1 ? n : len - 1;
	off = strtab->off + s->name;
	if (!xfm_file_has(f, off, n))
		return xfm_file_bad(f, strtab->off, ".shstrtab (%llu bytes) "
				    "runs past the end of the file",
				    (unsigned long long)strtab->size);
	return xfm_file_read_at(f, off, name, n, "section name");
}

static void note_section(struct xen_core *x, const char *name,
			 const struct xfm_elf_shdr *s)
{
	if (strcmp(name, ".note.Xen") == 0) {
		x->notes = *s;
		x->have_notes = true;
	} else if (strcmp(name, ".xen_pages") == 0) {
		x->pages = *s;
		x->have_pages = true;
	} else if (strcmp(name, ".xen_pfn") == 0) {
		x->pfn = *s;
		x->have_pfn = true;
	} else if (strcmp(name, ".xen_p2m") == 0) {
		x->p2m = *s;
		x->have_p2m = true;
	}
}

static int find_sections(struct xfm_file *f, struct xen_core *x)
{
	struct xfm_elf_shdr strtab, s;
	char name[32];
	int rc;

	if (!x->elf.shstrndx || x->elf.shstrndx >= x->elf.shnum)
		return xfm_file_bad(f, 62, "e_shstrndx %llu is not a section "
				    "(there are %llu)",
				    (unsigned long long)x->elf.shstrndx,
				    (unsigned long long)x->elf.shnum);
	rc = xfm_elf_read_shdr(f, &x->elf, x->elf.shstrndx, &strtab);
	if (rc < 0)
		return rc;
	for (uint64_t i = 1; i < x->elf.shnum; i++) {
		rc = xfm_elf_read_shdr(f, &x->elf, i, &s);
		if (rc < 0)
			return rc;
		rc = section_name(f, &strtab, &s, name, sizeof(name));
		if (rc < 0)
			return rc;
		note_section(x, name, &s);
	}
	return 0;
}

static int read_u64s(struct xfm_file *f, uint64_t off, uint64_t *v, size_t n,
		     const char *what)
{
	uint8_t b[64];
	int rc;

	rc = xfm_file_read_at(f, off, b, n * 8, what);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		v[i] = xfm_le64(b + 8 * i);
	return 0;
}

static int read_header_note(struct xfm_file *f, struct xen_core *x,
			    uint64_t off, uint32_t size)
{
	uint64_t v[4];
	int rc;

	if (size < HEADER_SIZE)
		return xfm_file_bad(f, off, "Xen header note has %u bytes, "
				    "expected %u", size, HEADER_SIZE);
	rc = read_u64s(f, off, v, 4, "Xen header note");
	if (rc < 0)
		return rc;
	if (v[0] != MAGIC_PV && v[0] != MAGIC_HVM)
		return xfm_file_bad(f, off, "Xen header magic 0x%llx is "
				    "neither PV (0x%llx) nor HVM (0x%llx)",
				    (unsigned long long)v[0],
				    (unsigned long long)MAGIC_PV,
				    (unsigned long long)MAGIC_HVM);
	if (!xfm_is_pow2(v[3]) || v[3] < 1024 || v[3] > (UINT64_C(1) << 30))
		return xfm_file_bad(f, off + 24, "Xen page size %llu is not a "
				    "power of two from 1 KiB to 1 GiB",
				    (unsigned long long)v[3]);
	x->have_header = true;
	x->header_off = off;
	x->magic = v[0];
	x->vcpus = v[1];
	x->nr_pages = v[2];
	x->page_size = v[3];
	return 0;
}

/* "4.17.3-pre" from {int64 major, int64 minor, char extra[16], ...}. */
static int read_version_note(struct xfm_file *f, struct xen_core *x,
			     uint64_t off, uint32_t size)
{
	char extra[VERSION_EXTRA + 1] = "";
	uint64_t v[2];
	int rc;

	if (size < VERSION_EXTRA + sizeof(extra) - 1)
		return 0; /* too short to say anything: not fatal */
	rc = read_u64s(f, off, v, 2, "Xen version note");
	if (rc < 0)
		return rc;
	rc = xfm_file_read_at(f, off + VERSION_EXTRA, extra, VERSION_EXTRA,
			      "Xen version note");
	if (rc < 0)
		return rc;
	for (char *p = extra; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	if (v[0] > 1000 || v[1] > 1000)
		return 0; /* not a plausible version: leave it out */
	snprintf(x->version, sizeof(x->version), "%llu.%llu%s",
		 (unsigned long long)v[0], (unsigned long long)v[1], extra);
	return 0;
}

static int on_note(struct xfm_file *f, void *opaque, uint32_t type,
		   const char *name, uint64_t off, uint32_t size)
{
	struct xen_core *x = opaque;
	int rc;

	if (strcmp(name, "Xen") != 0)
		return 0;
	switch (type) {
	case NOTE_HEADER:
		return read_header_note(f, x, off, size);
	case NOTE_XEN_VERSION:
		return read_version_note(f, x, off, size);
	case NOTE_FORMAT_VERSION:
		if (size < 8)
			return xfm_file_bad(f, off, "Xen format version note "
					    "has %u bytes, expected 8", size);
		rc = read_u64s(f, off, &x->format_version, 1,
			       "Xen format version note");
		x->have_format = rc == 0;
		return rc;
	default:
		return 0;
	}
}

/* Check the page and frame-table sections against the header. */
static int check_tables(struct xfm_file *f, struct xen_core *x, bool pv,
			uint64_t entsize)
{
	const struct xfm_elf_shdr *t = pv ? &x->p2m : &x->pfn;
	const char *tname = pv ? ".xen_p2m" : ".xen_pfn";
	uint64_t bytes;

	if (xfm_mul_ovf(x->nr_pages, x->page_size, &bytes) ||
	    x->pages.size != bytes)
		return xfm_file_bad(f, x->pages.off, ".xen_pages holds %llu "
				    "bytes but the header says %llu pages of "
				    "%llu bytes",
				    (unsigned long long)x->pages.size,
				    (unsigned long long)x->nr_pages,
				    (unsigned long long)x->page_size);
	if (!xfm_file_has(f, x->pages.off, x->pages.size))
		return xfm_file_bad(f, x->pages.off, ".xen_pages (%llu bytes) "
				    "runs past the end of the file (%llu "
				    "bytes): truncated?",
				    (unsigned long long)x->pages.size,
				    (unsigned long long)f->size);
	if (t->size % entsize || t->size / entsize != x->nr_pages)
		return xfm_file_bad(f, t->off, "%s holds %llu bytes, not %llu "
				    "entries of %llu bytes as the header says",
				    tname, (unsigned long long)t->size,
				    (unsigned long long)x->nr_pages,
				    (unsigned long long)entsize);
	if (!xfm_file_has(f, t->off, t->size))
		return xfm_file_bad(f, t->off, "%s (%llu bytes) runs past the "
				    "end of the file (%llu bytes): truncated?",
				    tname, (unsigned long long)t->size,
				    (unsigned long long)f->size);
	x->table = *t;
	return 0;
}

static int add_page(struct xfm_file *f, const struct xen_core *x,
		    uint64_t i, uint64_t pfn, uint64_t where)
{
	if (pfn == INVALID_PFN)
		return 0; /* padding written for pages that vanished */
	if (pfn > UINT64_MAX / x->page_size)
		return xfm_file_bad(f, where, "frame number 0x%llx is too "
				    "large for %llu-byte pages",
				    (unsigned long long)pfn,
				    (unsigned long long)x->page_size);
	return xfm_file_add_seg(f, pfn * x->page_size, x->page_size,
				x->pages.off + i * x->page_size, false);
}

/* Turn every table entry into a page segment, in batches. */
static int add_pages(struct xfm_file *f, const struct xen_core *x,
		     uint64_t entsize)
{
	uint64_t n = entsize / 8, buf[PFN_BATCH];
	uint64_t per = PFN_BATCH / n;
	int rc;

	for (uint64_t i = 0; i < x->nr_pages; i += per) {
		uint64_t cnt = x->nr_pages - i < per ? x->nr_pages - i : per;
		uint64_t off = x->table.off + i * entsize;

		rc = xfm_file_read_at(f, off, buf, cnt * entsize,
				      "Xen frame table");
		if (rc < 0)
			return rc;
		for (uint64_t k = 0; k < cnt; k++) {
			/* The file is little endian; the host may not be. */
			uint64_t pfn = xfm_le64((uint8_t *)&buf[k * n]);

			/* PV: a frame with no machine frame (xfm writes
			 * them to keep entry i for frame i) is not there. */
			if (n == 2 && xfm_le64((uint8_t *)&buf[k * n + 1]) ==
					      INVALID_PFN)
				continue;
			rc = add_page(f, x, i + k, pfn, off + k * entsize);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/*
 * A PV dump's .xen_p2m, for VA translation through the guest's page
 * tables (machine frames): read from the file on first use, kept as two
 * sorted arrays of (mfn, pfn) pairs, one by machine frame, one by guest
 * frame.  16 bytes per frame each: a dump that is never translated pays
 * nothing.
 */
struct xfm_xen_pair {
	uint64_t mfn, pfn;
};

struct pv_map {
	pthread_mutex_t lock;
	bool loaded;
	int err;
	uint64_t off, n;              /* the table in the file */
	struct xfm_xen_pair *by_mfn, *by_pfn;
	size_t nvalid;
};

static int cmp_mfn(const void *a, const void *b)
{
	const struct xfm_xen_pair *x = a, *y = b;

	return x->mfn < y->mfn ? -1 : x->mfn > y->mfn;
}

static int cmp_pfn(const void *a, const void *b)
{
	const struct xfm_xen_pair *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

static int pv_load(struct xfm_file *f, struct pv_map *m)
{
	uint64_t buf[PFN_BATCH];
	int rc;

	m->by_mfn = malloc((m->n ? m->n : 1) * sizeof(*m->by_mfn));
	m->by_pfn = malloc((m->n ? m->n : 1) * sizeof(*m->by_pfn));
	if (!m->by_mfn || !m->by_pfn)
		return -ENOMEM;
	for (uint64_t i = 0; i < m->n; i += PFN_BATCH / 2) {
		uint64_t cnt = m->n - i < PFN_BATCH / 2 ? m->n - i
							 : PFN_BATCH / 2;

		rc = xfm_file_read_at(f, m->off + i * 16, buf, cnt * 16,
				      "Xen frame table");
		if (rc < 0)
			return rc;
		for (uint64_t k = 0; k < cnt; k++) {
			uint64_t pfn = xfm_le64((uint8_t *)&buf[2 * k]);
			uint64_t mfn = xfm_le64((uint8_t *)&buf[2 * k + 1]);

			if (pfn != INVALID_PFN && mfn != INVALID_PFN)
				m->by_mfn[m->nvalid++] =
					(struct xfm_xen_pair){ mfn, pfn };
		}
	}
	memcpy(m->by_pfn, m->by_mfn, m->nvalid * sizeof(*m->by_pfn));
	qsort(m->by_mfn, m->nvalid, sizeof(*m->by_mfn), cmp_mfn);
	qsort(m->by_pfn, m->nvalid, sizeof(*m->by_pfn), cmp_pfn);
	return 0;
}

/* The pair whose @key (mfn or pfn) is @v, loading the table first. */
static int pv_find(struct xfm_file *f, bool by_mfn, uint64_t v,
		   struct xfm_xen_pair *out)
{
	struct pv_map *m = f->priv;
	struct xfm_xen_pair key = { v, v }, *hit;

	pthread_mutex_lock(&m->lock);
	if (!m->loaded) {
		m->err = pv_load(f, m);
		m->loaded = true;
	}
	pthread_mutex_unlock(&m->lock);
	if (m->err < 0)
		return m->err;
	hit = bsearch(&key, by_mfn ? m->by_mfn : m->by_pfn, m->nvalid,
		      sizeof(key), by_mfn ? cmp_mfn : cmp_pfn);
	if (!hit)
		return -ENOENT;
	*out = *hit;
	return 0;
}

static int pv_machine_to_frame(struct xfm_file *f, uint64_t mfn,
			       uint64_t *frame)
{
	struct xfm_xen_pair p;
	int rc = pv_find(f, true, mfn, &p);

	if (rc == 0)
		*frame = p.pfn;
	return rc;
}

static int pv_frame_to_machine(struct xfm_file *f, uint64_t frame,
			       uint64_t *mfn)
{
	struct xfm_xen_pair p;
	int rc = pv_find(f, false, frame, &p);

	if (rc == 0)
		*mfn = p.mfn;
	return rc;
}

static void pv_free(struct xfm_file *f)
{
	struct pv_map *m = f->priv;

	pthread_mutex_destroy(&m->lock);
	free(m->by_mfn);
	free(m->by_pfn);
	free(m);
	f->priv = NULL;
}

/* A PV dump of 4 KiB frames: its machine frames, for the page tables. */
static int pv_translation(struct xfm_file *f, const struct xen_core *x)
{
	struct pv_map *m;

	if (x->page_size != 4096)
		return 0;  /* PV guests are x86: not one of theirs */
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->off = x->table.off;
	m->n = x->nr_pages;
	f->priv = m;
	f->free_priv = pv_free;
	f->machine_to_frame = pv_machine_to_frame;
	f->frame_to_machine = pv_frame_to_machine;
	return 0;
}

static int add_facts(struct xfm_file *f, const struct xen_core *x, bool pv)
{
	struct xfm_source *s = &f->base;

	if (xfm_source_add_info(s, "xen.type", "%s", pv ? "pv" : "hvm") < 0 ||
	    xfm_source_add_info(s, "xen.vcpus", "%llu",
				(unsigned long long)x->vcpus) < 0 ||
	    xfm_source_add_info(s, "xen.pages", "%llu",
				(unsigned long long)x->nr_pages) < 0 ||
	    xfm_source_add_info(s, "xen.page_size", "%llu",
				(unsigned long long)x->page_size) < 0 ||
	    xfm_source_add_info(s, "elf.machine", "%u", x->elf.machine) < 0)
		return -ENOMEM;
	if (x->version[0] &&
	    xfm_source_add_info(s, "xen.version", "%s", x->version) < 0)
		return -ENOMEM;
	if (x->have_format &&
	    xfm_source_add_info(s, "xen.format_version", "%llu",
				(unsigned long long)x->format_version) < 0)
		return -ENOMEM;
	return 0;
}

static int parse_body(struct xfm_file *f, struct xen_core *x)
{
	bool pv;
	uint64_t entsize;
	int rc;

	if (!x->have_notes)
		return xfm_file_bad(f, x->elf.shoff, "Xen dump-core without a "
				    ".note.Xen section");
	rc = xfm_elf_walk_notes(f, &x->elf, x->notes.off, x->notes.size,
				on_note, x);
	if (rc < 0)
		return rc;
	if (!x->have_header)
		return xfm_file_bad(f, x->notes.off, ".note.Xen has no Xen "
				    "header note (type 0x%x)", NOTE_HEADER);
	if (!x->have_pages)
		return xfm_file_bad(f, x->elf.shoff, "Xen dump-core without a "
				    ".xen_pages section");
	pv = x->magic == MAGIC_PV;
	if (pv ? !x->have_p2m : !x->have_pfn)
		return xfm_file_bad(f, x->elf.shoff, "%s Xen dump-core without "
				    "a %s section", pv ? "PV" : "HVM",
				    pv ? ".xen_p2m" : ".xen_pfn");
	entsize = pv ? 16 : 8;
	rc = check_tables(f, x, pv, entsize);
	if (rc < 0)
		return rc;
	rc = add_pages(f, x, entsize);
	if (rc < 0)
		return rc;
	f->frame_size = x->page_size;
	if (pv) {
		rc = pv_translation(f, x);
		if (rc < 0)
			return rc;
	}
	return add_facts(f, x, pv);
}

static int parse_xen_core(struct xfm_file *f)
{
	struct xen_core x = { 0 };
	int rc;

	rc = xfm_elf_read_header(f, &x.elf);
	if (rc)
		return rc;
	/* Only an ELF64 LE core without program headers can be one. */
	if (!x.elf.is64 || x.elf.be || x.elf.type != ET_CORE ||
	    x.elf.phnum || !x.elf.shnum)
		return XFM_FILE_NOT_MINE;
	rc = find_sections(f, &x);
	if (rc < 0)
		return rc;
	if (!x.have_notes && !x.have_pages)
		return XFM_FILE_NOT_MINE;
	return parse_body(f, &x);
}

/* ------------------------------------------------------------------ */
/* The writer: page size = the source's frame size.  HVM layout, or PV  */
/* for a source that knows its frames' machine frames (a Xen PV guest). */

/* A "Xen" note of @dsz bytes of descriptor; returns its length. */
static size_t xen_note(uint8_t *p, uint32_t type, uint32_t dsz)
{
	xfm_put_le32(p, 4);
	xfm_put_le32(p + 4, dsz);
	xfm_put_le32(p + 8, type);
	memcpy(p + 12, "Xen", 4);
	memset(p + 16, 0, dsz);
	return 16 + ((dsz + 3) & ~3u);
}

static size_t xen_notes(struct xfm_dump *d, uint8_t *p, uint64_t nr_pages,
			bool pv)
{
	size_t n = 0;

	n += xen_note(p + n, NOTE_NONE, 0);
	n += xen_note(p + n, NOTE_HEADER, 32);
	xfm_put_le64(p + n - 32, pv ? MAGIC_PV : MAGIC_HVM);
	xfm_put_le64(p + n - 24, 0);            /* no vCPU contexts saved */
	xfm_put_le64(p + n - 16, nr_pages);
	xfm_put_le64(p + n - 8, d->frame);
	n += xen_note(p + n, NOTE_XEN_VERSION, VERSION_DESC);
	xfm_put_le64(p + n - 8, d->frame);      /* the version's last field */
	n += xen_note(p + n, NOTE_FORMAT_VERSION, 8);
	xfm_put_le64(p + n - 8, 1);
	return n;
}

/* Table entries are gathered in d->buf and written a chunk at a time. */
struct table_out {
	struct xfm_dump *d;
	uint64_t off;
	size_t k;       /* bytes in d->buf */
};

static int table_put(struct table_out *t, uint64_t v)
{
	int rc;

	xfm_put_le64(t->d->buf + t->k, v);
	t->k += 8;
	if (t->k < XFM_DUMP_CHUNK)
		return 0;
	rc = xfm_dump_write(t->d, t->off, t->d->buf, t->k);
	t->off += t->k;
	t->k = 0;
	return rc;
}

static int table_flush(struct table_out *t)
{
	return t->k ? xfm_dump_write(t->d, t->off, t->d->buf, t->k) : 0;
}

/* The .xen_pfn table: every frame of every range, in order. */
static int xen_pfns(struct xfm_dump *d, uint64_t off)
{
	struct table_out t = { d, off, 0 };
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < d->nr; i++) {
		uint64_t first = d->r[i].start / d->frame;
		uint64_t cnt = d->r[i].size / d->frame;

		for (uint64_t j = 0; rc == 0 && j < cnt; j++)
			rc = table_put(&t, first + j);
	}
	return rc ? rc : table_flush(&t);
}

/*
 * The .xen_p2m table of a PV guest: (pfn, machine frame) for EVERY frame
 * from 0 to the last one dumped, entry i for frame i.  crash 8.0.2 reads
 * the table as the guest's p2m array, indexed by frame (kernel.c,
 * read_xc_p2m), to turn the machine frames in the guest's page tables
 * back into guest frames.  A frame between the ranges gets machine frame
 * ~0 (INVALID_MFN) and a hole in .xen_pages: the reader skips it.
 */
static int xen_p2m(struct xfm_dump *d, uint64_t off, uint64_t nr_pages)
{
	const struct xfm_source *s = d->h->src;
	struct table_out t = { d, off, 0 };
	size_t r = 0;
	int rc = 0;

	for (uint64_t pfn = 0; rc == 0 && pfn < nr_pages; pfn++) {
		uint64_t mfn = INVALID_PFN;

		while (r < d->nr && pfn * d->frame >= d->r[r].start +
							d->r[r].size)
			r++;
		if (r < d->nr && pfn * d->frame >= d->r[r].start &&
		    s->ops->frame_to_machine((struct xfm_source *)s, pfn,
					     &mfn) < 0)
			mfn = INVALID_PFN;
		rc = table_put(&t, pfn);
		if (rc == 0)
			rc = table_put(&t, mfn);
	}
	return rc ? rc : table_flush(&t);
}

/* Does the source map its frames by machine frame (a Xen PV guest)? */
static bool source_is_pv(const struct xfm_dump *d)
{
	struct xfm_source *s = d->h->src;
	uint64_t mfn;

	return d->nr && d->frame == 4096 && s->ops->frame_to_machine &&
	       s->ops->frame_to_machine(s, d->r[0].start / d->frame,
					&mfn) == 0;
}

static const char xen_strtab[] =
	"\0.shstrtab\0.note.Xen\0.xen_prstatus\0.xen_pages\0.xen_pfn";
static const char xen_strtab_pv[] =
	"\0.shstrtab\0.note.Xen\0.xen_prstatus\0.xen_pages\0.xen_p2m";

/*
 * HVM: headers, .xen_pages, then .xen_pfn (one entry per dumped frame).
 * PV: headers, .xen_p2m, then .xen_pages (one entry per frame from 0, see
 * xen_p2m()): crash searches the p2m past its end for a machine frame it
 * cannot find (up to nr_pages * 4 KiB from its start), which then stays
 * inside the pages instead of running off the end of the file.
 */
static int write_xen_core(struct xfm_dump *d)
{
	bool pv = source_is_pv(d);
	const char *tab = pv ? xen_strtab_pv : xen_strtab;
	uint64_t last = d->nr ? d->r[d->nr - 1].start + d->r[d->nr - 1].size
			      : 0;
	uint64_t nr_pages = pv ? last / d->frame : d->total / d->frame;
	uint64_t entsize = pv ? 16 : 8;
	uint64_t strtab = 64 + NSECTIONS * 64, notes, prstatus, pages;
	uint64_t table, off;
	uint8_t *b = d->buf;
	size_t nlen;
	int rc;

	memset(b, 0, strtab + sizeof(xen_strtab) + 2048);
	memcpy(b + strtab, tab, sizeof(xen_strtab));
	notes = xfm_align_up(strtab + sizeof(xen_strtab), 8);
	nlen = xen_notes(d, b + notes, nr_pages, pv);
	if (d->keep) { /* XFM_DUMP_KEEP_PARTIAL: after Xen's own notes */
		d->status_off = notes + nlen;
		nlen += xfm_dump_status_note(b + notes + nlen);
	}
	prstatus = notes + nlen;
	if (pv) {
		table = xfm_align_up(prstatus, 8);
		pages = xfm_align_up(table + nr_pages * entsize,
				     xfm_dump_data_align(d));
		d->full_end = pages + nr_pages * d->frame;
	} else {
		pages = xfm_align_up(prstatus, xfm_dump_data_align(d));
		table = pages + d->total;
		d->full_end = table + nr_pages * entsize;
	}
	xfm_elf_put_ehdr(b, d->h, 0, 64, NSECTIONS, 1);
	xfm_elf_put_shdr(b + 64, 0, SHT_NULL, 0, 0, 0, 0, 0);
	xfm_elf_put_shdr(b + 128, 1, SHT_STRTAB, strtab, sizeof(xen_strtab), 0,
			 1, 0);
	xfm_elf_put_shdr(b + 192, 11, SHT_NOTE, notes, nlen, 0, 4, 0);
	xfm_elf_put_shdr(b + 256, 21, SHT_PROGBITS, prstatus, 0, 0, 8, 0);
	xfm_elf_put_shdr(b + 320, 35, SHT_PROGBITS, pages,
			 nr_pages * d->frame, 0, d->frame, d->frame);
	xfm_elf_put_shdr(b + 384, 46, SHT_PROGBITS, table, nr_pages * entsize,
			 0, 8, entsize);
	rc = xfm_dump_write(d, 0, b, prstatus);
	if (rc < 0)
		return rc;
	rc = pv ? xen_p2m(d, table, nr_pages) : xen_pfns(d, table);
	off = pages;
	for (size_t i = 0; rc == 0 && i < d->nr; i++) {
		if (pv)
			off = pages + d->r[i].start;
		rc = xfm_dump_copy(d, d->r[i].start, d->r[i].size, off);
		off += d->r[i].size;
	}
	return rc;
}


const struct xfm_format xfm_format_xen_core = {
	.name = "xen-core",
	.dump_id = XFM_DUMP_XEN_CORE,
	.parse = parse_xen_core,
	.write = write_xen_core,
};
