/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * elf.c - ELF cores.  Reader: QEMU's dump-guest-memory and other
 * producers (ELF32 and ELF64, either byte order); guest memory is the
 * PT_LOAD segments, addressed by p_paddr; a segment whose file size is
 * below its memory size ends in zeros that are not stored.  Writer: an
 * ELF64 core with one PT_LOAD per populated range, as QEMU writes.  Also
 * the ELF header helpers (elf-io.h) shared with the Xen dump-core format.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf-io.h"
#include "le.h"
#include "linux.h"

#define EHDR32_SIZE 52
#define EHDR64_SIZE 64
#define SHDR32_SIZE 40
#define SHDR64_SIZE 64
#define PHDR32_SIZE 32
#define PHDR64_SIZE 56
#define HDR_BATCH 1024 /* program headers per write */

uint16_t xfm_elf_get16(const struct xfm_elf *e, const uint8_t *p)
{
	return e->be ? (uint16_t)(p[0] << 8 | p[1])
		     : (uint16_t)(p[1] << 8 | p[0]);
}

uint32_t xfm_elf_get32(const struct xfm_elf *e, const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[e->be ? 3 - i : i] << (8 * i);
	return v;
}

uint64_t xfm_elf_get64(const struct xfm_elf *e, const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[e->be ? 7 - i : i] << (8 * i);
	return v;
}

/* A word: 4 bytes in ELF32, 8 in ELF64. */
static uint64_t get_word(const struct xfm_elf *e, const uint8_t *p)
{
	return e->is64 ? xfm_elf_get64(e, p) : xfm_elf_get32(e, p);
}

/* A word field: at @off64 in ELF64, at @off32 in ELF32. */
static uint64_t word_at(const struct xfm_elf *e, const uint8_t *b,
			unsigned int off64, unsigned int off32)
{
	return get_word(e, b + (e->is64 ? off64 : off32));
}

/* Is the table of @n entries of @entsize bytes at @off inside the file? */
static int check_table(struct xfm_file *f, const char *what, uint64_t off,
		       uint64_t n, uint64_t entsize)
{
	uint64_t bytes;

	if (xfm_mul_ovf(n, entsize, &bytes) || !xfm_file_has(f, off, bytes))
		return xfm_file_bad(f, off, "%s table of %llu entries of %llu "
				    "bytes runs past the end of the file "
				    "(%llu bytes)", what, (unsigned long long)n,
				    (unsigned long long)entsize,
				    (unsigned long long)f->size);
	return 0;
}

static int read_ident(struct xfm_file *f, struct xfm_elf *e, uint8_t *id)
{
	int rc;

	if (f->size < EI_NIDENT)
		return XFM_FILE_NOT_MINE;
	rc = xfm_file_read_at(f, 0, id, EI_NIDENT, "ELF identification");
	if (rc < 0)
		return rc;
	if (memcmp(id, ELFMAG, SELFMAG) != 0)
		return XFM_FILE_NOT_MINE;
	if (id[EI_CLASS] != ELFCLASS32 && id[EI_CLASS] != ELFCLASS64)
		return xfm_file_bad(f, EI_CLASS, "ELF class %u is neither "
				    "ELF32 nor ELF64", id[EI_CLASS]);
	if (id[EI_DATA] != ELFDATA2LSB && id[EI_DATA] != ELFDATA2MSB)
		return xfm_file_bad(f, EI_DATA, "ELF byte order %u is neither "
				    "little nor big endian", id[EI_DATA]);
	if (id[EI_VERSION] != EV_CURRENT)
		return xfm_file_bad(f, EI_VERSION, "ELF version %u is not 1",
				    id[EI_VERSION]);
	e->is64 = id[EI_CLASS] == ELFCLASS64;
	e->be = id[EI_DATA] == ELFDATA2MSB;
	return 0;
}

static void decode_header(struct xfm_elf *e, const uint8_t *h,
			  uint16_t *phnum, uint16_t *shnum, uint16_t *shstrndx)
{
	/* ELF32 fields sit 12 bytes earlier from e_shoff on (4-byte words). */
	unsigned int d = e->is64 ? 0 : 12;

	e->type = xfm_elf_get16(e, h + 16);
	e->machine = xfm_elf_get16(e, h + 18);
	e->phoff = get_word(e, h + (e->is64 ? 32 : 28));
	e->shoff = get_word(e, h + (e->is64 ? 40 : 32));
	e->phentsize = xfm_elf_get16(e, h + 54 - d);
	*phnum = xfm_elf_get16(e, h + 56 - d);
	e->shentsize = xfm_elf_get16(e, h + 58 - d);
	*shnum = xfm_elf_get16(e, h + 60 - d);
	*shstrndx = xfm_elf_get16(e, h + 62 - d);
}

/* Resolve the escapes that move counts into section header 0. */
static int read_escapes(struct xfm_file *f, struct xfm_elf *e,
			uint16_t phnum, uint16_t shnum, uint16_t shstrndx)
{
	struct xfm_elf_shdr s0 = { 0 };
	int rc;

	e->phnum = phnum;
	e->shnum = shnum;
	e->shstrndx = shstrndx == SHN_XINDEX ? 0 : shstrndx;
	if (!e->shoff) {
		if (phnum == PN_XNUM)
			return xfm_file_bad(f, e->is64 ? 56 : 44, "e_phnum is "
					    "PN_XNUM (0xffff) but there is no "
					    "section header 0 holding the real "
					    "count");
		e->shnum = 0;
		return 0;
	}
	e->shnum = 1; /* so that section 0 itself can be read */
	rc = xfm_elf_read_shdr(f, e, 0, &s0);
	if (rc < 0)
		return rc;
	if (phnum == PN_XNUM)
		e->phnum = s0.info;
	e->shnum = shnum ? shnum : s0.size;
	if (shstrndx == SHN_XINDEX)
		e->shstrndx = s0.link;
	return 0;
}

int xfm_elf_read_header(struct xfm_file *f, struct xfm_elf *e)
{
	uint8_t h[EHDR64_SIZE];
	uint16_t phnum, shnum, shstrndx;
	unsigned int hsz, phsz, shsz;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = read_ident(f, e, h);
	if (rc)
		return rc;
	hsz = e->is64 ? EHDR64_SIZE : EHDR32_SIZE;
	phsz = e->is64 ? PHDR64_SIZE : PHDR32_SIZE;
	shsz = e->is64 ? SHDR64_SIZE : SHDR32_SIZE;
	rc = xfm_file_read_at(f, 0, h, hsz, "ELF header");
	if (rc < 0)
		return rc;
	decode_header(e, h, &phnum, &shnum, &shstrndx);
	if (phnum && e->phentsize != phsz)
		return xfm_file_bad(f, hsz - 10, "e_phentsize is %u, expected "
				    "%u", e->phentsize, phsz);
	if (e->shoff && e->shentsize != shsz)
		return xfm_file_bad(f, hsz - 6, "e_shentsize is %u, expected "
				    "%u", e->shentsize, shsz);
	rc = read_escapes(f, e, phnum, shnum, shstrndx);
	if (rc < 0)
		return rc;
	rc = check_table(f, "program header", e->phoff, e->phnum, phsz);
	if (rc < 0)
		return rc;
	return check_table(f, "section header", e->shoff, e->shnum, shsz);
}

/* Read entry @i of @n entries of @sz bytes in the table at @table. */
static int read_entry(struct xfm_file *f, const char *what, uint64_t table,
		      uint64_t n, uint64_t i, unsigned int sz, uint8_t *b)
{
	uint64_t off;

	if (i >= n || xfm_mul_ovf(i, sz, &off) ||
	    xfm_add_ovf(off, table, &off) || !xfm_file_has(f, off, sz))
		return xfm_file_bad(f, table, "%s %llu is outside the file",
				    what, (unsigned long long)i);
	return xfm_file_read_at(f, off, b, sz, what);
}

int xfm_elf_read_shdr(struct xfm_file *f, const struct xfm_elf *e,
		      uint64_t i, struct xfm_elf_shdr *s)
{
	uint8_t b[SHDR64_SIZE];
	int rc = read_entry(f, "section header", e->shoff, e->shnum, i,
			    e->is64 ? SHDR64_SIZE : SHDR32_SIZE, b);

	if (rc < 0)
		return rc;
	s->name = xfm_elf_get32(e, b);
	s->type = xfm_elf_get32(e, b + 4);
	s->off = word_at(e, b, 24, 16);
	s->size = word_at(e, b, 32, 20);
	s->link = xfm_elf_get32(e, b + (e->is64 ? 40 : 24));
	s->info = xfm_elf_get32(e, b + (e->is64 ? 44 : 28));
	s->entsize = word_at(e, b, 56, 36);
	return 0;
}

int xfm_elf_read_phdr(struct xfm_file *f, const struct xfm_elf *e,
		      uint64_t i, struct xfm_elf_phdr *p)
{
	uint8_t b[PHDR64_SIZE];
	int rc = read_entry(f, "program header", e->phoff, e->phnum, i,
			    e->is64 ? PHDR64_SIZE : PHDR32_SIZE, b);

	if (rc < 0)
		return rc;
	p->type = xfm_elf_get32(e, b);
	p->off = word_at(e, b, 8, 4);
	p->vaddr = word_at(e, b, 16, 8);
	p->paddr = word_at(e, b, 24, 12);
	p->filesz = word_at(e, b, 32, 16);
	p->memsz = word_at(e, b, 40, 20);
	return 0;
}

static uint64_t align4(uint64_t v)
{
	return (v + 3) & ~UINT64_C(3);
}

int xfm_elf_walk_notes(struct xfm_file *f, const struct xfm_elf *e,
		       uint64_t off, uint64_t size, xfm_elf_note_fn fn,
		       void *opaque)
{
	uint64_t end;
	int rc;

	if (xfm_add_ovf(off, size, &end) || !xfm_file_has(f, off, size))
		return xfm_file_bad(f, off, "notes of %llu bytes run past the "
				    "end of the file (%llu bytes)",
				    (unsigned long long)size,
				    (unsigned long long)f->size);
	while (end - off >= 12) {
		uint8_t hdr[12];
		char name[64] = "";
		uint64_t namesz, descsz, need, desc;

		rc = xfm_file_read_at(f, off, hdr, sizeof(hdr), "note header");
		if (rc < 0)
			return rc;
		namesz = xfm_elf_get32(e, hdr);
		descsz = xfm_elf_get32(e, hdr + 4);
		need = 12 + align4(namesz) + align4(descsz);
		if (need > end - off)
			return xfm_file_bad(f, off, "note (name %llu bytes, "
					    "descriptor %llu bytes) runs past "
					    "the end of its notes area at "
					    "0x%llx", (unsigned long long)namesz,
					    (unsigned long long)descsz,
					    (unsigned long long)end);
		rc = xfm_file_read_at(f, off + 12, name, namesz < 63 ? namesz
				      : 63, "note name");
		if (rc < 0)
			return rc;
		desc = off + 12 + align4(namesz);
		rc = fn(f, opaque, xfm_elf_get32(e, hdr + 8), name, desc,
			(uint32_t)descsz);
		if (rc < 0)
			return rc;
		off += need;
	}
	return 0;
}

/*
 * The ELF machine of the dump: the source's, if it said, else ours.  A
 * source's own fact: asking xfm_source_info() would search a live
 * guest's memory for its OS first (a pass over the guest).
 */
static uint16_t elf_machine(xfm_handle *h)
{
	char v[32];

	if (xfm_source_fact(h, "elf.machine", v, sizeof(v)) == 0)
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

void xfm_elf_put_ehdr(uint8_t *e, xfm_handle *h, uint64_t phnum,
		      uint64_t shoff, uint16_t shnum, uint16_t shstrndx)
{
	memset(e, 0, 64);
	memcpy(e, ELFMAG, SELFMAG);
	e[EI_CLASS] = ELFCLASS64;
	e[EI_DATA] = ELFDATA2LSB;
	e[EI_VERSION] = EV_CURRENT;
	xfm_put_le16(e + 16, ET_CORE);
	xfm_put_le16(e + 18, elf_machine(h));
	xfm_put_le32(e + 20, EV_CURRENT);
	xfm_put_le64(e + 32, phnum ? 64 : 0);
	xfm_put_le64(e + 40, shoff);
	xfm_put_le16(e + 52, 64);
	xfm_put_le16(e + 54, phnum ? 56 : 0);
	xfm_put_le16(e + 56, phnum >= PN_XNUM ? PN_XNUM : (uint16_t)phnum);
	xfm_put_le16(e + 58, shnum ? 64 : 0);
	xfm_put_le16(e + 60, shnum);
	xfm_put_le16(e + 62, shstrndx);
}

void xfm_elf_put_shdr(uint8_t *s, uint32_t name, uint32_t type, uint64_t off,
		      uint64_t size, uint32_t info, uint64_t align,
		      uint64_t entsize)
{
	memset(s, 0, 64);
	xfm_put_le32(s, name);
	xfm_put_le32(s + 4, type);
	xfm_put_le64(s + 24, off);
	xfm_put_le64(s + 32, size);
	xfm_put_le32(s + 44, info);
	xfm_put_le64(s + 48, align);
	xfm_put_le64(s + 56, entsize);
}

/* ------------------------------------------------------------------ */
/* The generic ELF core parser                                         */

struct elf_counts {
	uint64_t loads;
	uint64_t notes;
	bool qemu;      /* QEMU writes "QEMU" notes with each CPU's state */
	const struct xfm_elf *e;
};

/*
 * vCPU 0's paging root from QEMU's first "QEMU" note (x86: QEMUCPUState,
 * QEMU's target/i386/arch_dump.c: version, size, 16 GPRs, rip, rflags,
 * 10 segments of 24 bytes, then cr[0..4] at byte 392).  EFER is not in
 * it: an x86-64 core with CR0.PG and CR4.PAE is taken as long mode.
 */
#define QEMU_CPU_CR0 392
static int keep_qemu_root(struct xfm_file *f, const struct xfm_elf *e,
			  uint64_t off, uint32_t size)
{
	uint64_t cr[5];
	xfm_vm_root *r = &f->vcpu_root;

	if (f->have_vcpu_root || e->machine != 62 /* EM_X86_64 */ ||
	    size < QEMU_CPU_CR0 + sizeof(cr))
		return 0;
	if (xfm_file_read_at(f, off + QEMU_CPU_CR0, cr, sizeof(cr),
			     "QEMU CPU note") < 0)
		return 0;
	if (!(cr[0] & (UINT64_C(1) << 31)))
		return 0; /* paging off */
	if (cr[4] & (UINT64_C(1) << 5))
		r->mode = cr[4] & (UINT64_C(1) << 12) ? XFM_VM_X86_64_LA57
						       : XFM_VM_X86_64;
	else
		r->mode = XFM_VM_X86_32;
	if (r->mode == XFM_VM_X86_32 && (cr[4] & (UINT64_C(1) << 4)))
		r->flags = XFM_VM_X86_PSE;
	r->root = cr[3];
	r->origin = XFM_VM_ORIGIN_DUMP_NOTE;
	f->have_vcpu_root = true;
	return 0;
}

/* The dump's own VMCOREINFO (QEMU with -device vmcoreinfo, kdump's
 * /proc/vmcore, xfm): reported instead of searching guest memory. */
static int keep_vmcoreinfo(struct xfm_file *f, uint64_t off, uint32_t size)
{
	char *t;
	int rc;

	if (!size || size > XFM_VMCOREINFO_MAX)
		return 0; /* not the kernel's: ignored, memory is searched */
	t = malloc(size);
	if (!t)
		return -ENOMEM;
	rc = xfm_file_read_at(f, off, t, size, "VMCOREINFO note");
	if (rc < 0) {
		free(t);
		return rc;
	}
	f->base.vmcoreinfo = t;
	f->base.vmcoreinfo_len = size;
	return 0;
}

static int count_note(struct xfm_file *f, void *opaque, uint32_t type,
		      const char *name, uint64_t desc_off, uint32_t desc_size)
{
	struct elf_counts *c = opaque;

	(void)type;
	c->notes++;
	if (strcmp(name, "QEMU") == 0) {
		c->qemu = true;
		return keep_qemu_root(f, c->e, desc_off, desc_size);
	}
	if (strcmp(name, "VMCOREINFO") == 0 && !f->base.vmcoreinfo)
		return keep_vmcoreinfo(f, desc_off, desc_size);
	return 0;
}

/*
 * Keep a PT_NOTE's bytes (already walked, so well formed) for dumps made
 * from this file: PRSTATUS and QEMU CPU state are what debuggers read the
 * registers from.  Only from little-endian ELF64, the layout we write.
 */
#define MAX_NOTES (UINT64_C(64) << 20)

static int keep_notes(struct xfm_file *f, const struct xfm_elf_phdr *p)
{
	struct xfm_source *s = &f->base;
	uint8_t *n;

	uint8_t first[16];

	if (!p->filesz || p->filesz > MAX_NOTES - s->notes_len)
		return 0;
	/* A partial dump's status note describes that file, not this one. */
	if (p->filesz >= 16 && xfm_file_read_at(f, p->off, first, 16,
						"notes") == 0 &&
	    xfm_le32(first) == 4 && memcmp(first + 12, "XFM", 4) == 0)
		return 0;
	n = realloc(s->notes, s->notes_len + p->filesz);
	if (!n)
		return -ENOMEM;
	s->notes = n;
	s->notes_len += p->filesz;
	return xfm_file_read_at(f, p->off, n + s->notes_len - p->filesz,
				p->filesz, "notes");
}

static int add_load(struct xfm_file *f, const struct xfm_elf *e, uint64_t i,
		    const struct xfm_elf_phdr *p)
{
	uint64_t where = e->phoff + i * (e->is64 ? PHDR64_SIZE : PHDR32_SIZE);
	uint64_t last;
	int rc;

	if (p->filesz > p->memsz)
		return xfm_file_bad(f, where, "PT_LOAD %llu: file size 0x%llx "
				    "is larger than its memory size 0x%llx",
				    (unsigned long long)i,
				    (unsigned long long)p->filesz,
				    (unsigned long long)p->memsz);
	if (!xfm_file_has(f, p->off, p->filesz))
		return xfm_file_bad(f, where, "PT_LOAD %llu: data at 0x%llx "
				    "(0x%llx bytes) runs past the end of the "
				    "file (%llu bytes)", (unsigned long long)i,
				    (unsigned long long)p->off,
				    (unsigned long long)p->filesz,
				    (unsigned long long)f->size);
	if (p->memsz && xfm_add_ovf(p->paddr, p->memsz - 1, &last))
		return xfm_file_bad(f, where, "PT_LOAD %llu: address 0x%llx + "
				    "0x%llx wraps around",
				    (unsigned long long)i,
				    (unsigned long long)p->paddr,
				    (unsigned long long)p->memsz);
	rc = xfm_file_add_seg(f, p->paddr, p->filesz, p->off, false);
	if (rc < 0)
		return rc;
	return xfm_file_add_seg(f, p->paddr + p->filesz,
				p->memsz - p->filesz, 0, true);
}

struct load {
	struct xfm_elf_phdr p;
	uint64_t i;
};

static int cmp_load(const void *a, const void *b)
{
	const struct load *x = a, *y = b;

	if (x->p.paddr != y->p.paddr)
		return x->p.paddr < y->p.paddr ? -1 : 1;
	if (x->p.memsz != y->p.memsz)
		return x->p.memsz > y->p.memsz ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * Is @a an alias of @c: its memory wholly inside @c's and its data the
 * same bytes of the file (the kernel image's mapping in /proc/vmcore and
 * in xfm's own dumps of Linux guests)?
 */
static bool is_alias(const struct xfm_elf_phdr *a, const struct xfm_elf_phdr *c)
{
	uint64_t d = a->paddr - c->paddr;

	return a->paddr >= c->paddr && d < c->memsz &&
	       a->memsz <= c->memsz - d && a->filesz <= a->memsz &&
	       d <= c->filesz && a->filesz <= c->filesz - d &&
	       a->off == c->off + d;
}

/* Add the PT_LOADs, skipping aliases; other overlaps stay an error
 * (file.c). */
static int add_loads(struct xfm_file *f, const struct xfm_elf *e,
		     struct load *l, size_t n)
{
	const struct xfm_elf_phdr *cont = NULL; /* kept load reaching highest */
	int rc;

	if (n > 1)
		qsort(l, n, sizeof(*l), cmp_load);
	for (size_t k = 0; k < n; k++) {
		if (cont && l[k].p.memsz && is_alias(&l[k].p, cont))
			continue;
		rc = add_load(f, e, l[k].i, &l[k].p);
		if (rc < 0)
			return rc;
		if (l[k].p.memsz && (!cont || l[k].p.paddr + l[k].p.memsz >
				     cont->paddr + cont->memsz))
			cont = &l[k].p;
	}
	return 0;
}

static int walk_phdrs(struct xfm_file *f, const struct xfm_elf *e,
		      struct elf_counts *c)
{
	struct load *l = NULL;
	struct xfm_elf_phdr p;
	size_t n = 0, cap = 0;
	int rc = 0;

	for (uint64_t i = 0; i < e->phnum && rc == 0; i++) {
		rc = xfm_elf_read_phdr(f, e, i, &p);
		if (rc < 0)
			break;
		if (p.type == PT_LOAD) {
			if (n == cap) {
				struct load *nl;

				cap = cap ? cap * 2 : 64;
				nl = realloc(l, cap * sizeof(*l));
				if (!nl) {
					rc = -ENOMEM;
					break;
				}
				l = nl;
			}
			l[n++] = (struct load){ p, i };
			c->loads++;
		} else if (p.type == PT_NOTE) {
			rc = xfm_elf_walk_notes(f, e, p.off, p.filesz,
						count_note, c);
			if (rc == 0 && e->is64 && !e->be)
				rc = keep_notes(f, &p);
		}
	}
	if (rc == 0)
		rc = add_loads(f, e, l, n);
	free(l);
	return rc;
}

static int add_facts(struct xfm_file *f, const struct xfm_elf *e,
		     const struct elf_counts *c)
{
	struct xfm_source *s = &f->base;

	if (xfm_source_add_info(s, "elf.class", "%s", e->is64 ? "ELF64"
				: "ELF32") < 0 ||
	    xfm_source_add_info(s, "elf.endian", "%s", e->be ? "big"
				: "little") < 0 ||
	    xfm_source_add_info(s, "elf.machine", "%u", e->machine) < 0 ||
	    xfm_source_add_info(s, "elf.loads", "%llu",
				(unsigned long long)c->loads) < 0 ||
	    xfm_source_add_info(s, "elf.notes", "%llu",
				(unsigned long long)c->notes) < 0)
		return -ENOMEM;
	if (c->qemu && xfm_source_add_info(s, "elf.producer", "qemu") < 0)
		return -ENOMEM;
	return 0;
}

static int parse_elf(struct xfm_file *f)
{
	struct elf_counts c = { 0 };
	struct xfm_elf e;
	int rc;

	c.e = &e;
	rc = xfm_elf_read_header(f, &e);
	if (rc)
		return rc;
	if (e.type != ET_CORE)
		return xfm_file_bad(f, 16, "an ELF file of type %u, not a core "
				    "dump (ET_CORE)", e.type);
	if (!e.phnum)
		return xfm_file_bad(f, e.is64 ? 56 : 44, "ELF core without "
				    "program headers (and not a Xen "
				    "dump-core): no memory in it");
	rc = walk_phdrs(f, &e, &c);
	if (rc < 0)
		return rc;
	if (!c.loads)
		return xfm_file_bad(f, e.phoff, "ELF core without PT_LOAD "
				    "segments: no memory in it");
	return add_facts(f, &e, &c);
}

/* ------------------------------------------------------------------ */
/* The writer                                                          */

/* Program headers @first.. (after the PT_NOTEs): one PT_LOAD per range,
 * written in batches. */
static int elf_phdrs(struct xfm_dump *d, uint64_t data, uint64_t first)
{
	uint64_t off = data, a = xfm_dump_data_align(d);
	int rc;

	for (size_t i = 0; i < d->nr; i += HDR_BATCH) {
		size_t n = d->nr - i < HDR_BATCH ? d->nr - i : HDR_BATCH;

		memset(d->buf, 0, n * 56);
		for (size_t k = 0; k < n; k++) {
			const xfm_range *r = &d->r[i + k];
			uint8_t *p = d->buf + k * 56;

			xfm_put_le32(p, PT_LOAD);
			xfm_put_le32(p + 4, PF_R | PF_W | PF_X);
			xfm_put_le64(p + 8, off);
			xfm_put_le64(p + 16, r->start);  /* identity: debuggers */
			xfm_put_le64(p + 24, r->start);
			xfm_put_le64(p + 32, r->size);
			xfm_put_le64(p + 40, r->size);
			xfm_put_le64(p + 48, a);
			off = xfm_align_up(off + r->size, a);
		}
		rc = xfm_dump_write(d, 64 + (first + i) * 56, d->buf, n * 56);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* XFM_DUMP_KEEP_PARTIAL: the status note at @off, its PT_NOTE first. */
static int elf_status_phdr(struct xfm_dump *d, uint64_t off)
{
	uint8_t p[56], n[XFM_DUMP_STATUS_NOTE];
	int rc = xfm_dump_write(d, off, n, xfm_dump_status_note(n));

	if (rc < 0)
		return rc;
	memset(p, 0, sizeof(p));
	xfm_put_le32(p, PT_NOTE);
	xfm_put_le32(p + 4, PF_R);
	xfm_put_le64(p + 8, off);
	xfm_put_le64(p + 32, XFM_DUMP_STATUS_NOTE);
	xfm_put_le64(p + 48, 4);
	d->status_off = off;
	return xfm_dump_write(d, 64, p, sizeof(p));
}

/* The notes' PT_NOTE (program header @i) and the notes at @off. */
static int elf_notes(struct xfm_dump *d, uint64_t i, uint64_t off)
{
	uint8_t p[56] = { 0 };
	int rc;

	xfm_put_le32(p, PT_NOTE);
	xfm_put_le64(p + 8, off);
	xfm_put_le64(p + 32, d->notes_len);
	xfm_put_le64(p + 40, d->notes_len);
	xfm_put_le64(p + 48, 4);
	rc = xfm_dump_write(d, 64 + i * 56, p, sizeof(p));
	return rc ? rc : xfm_dump_write(d, off, d->notes, d->notes_len);
}

/*
 * The part of range @i (data at file offset @off) that the kernel image
 * mapping @m covers, as a PT_LOAD at @p (NULL: only count).  Returns 1
 * when there is one.
 */
static int image_part(const struct xfm_image_map *m, const xfm_range *r,
		      uint64_t off, uint8_t *p)
{
	/* Signed: x86_64's phys_base may be "negative" (KASLR). */
	int64_t pa = (int64_t)m->pa, lo, hi;

	if (r->start + r->size > (uint64_t)INT64_MAX ||
	    m->size > (uint64_t)INT64_MAX / 2)
		return 0;
	lo = (int64_t)r->start > pa ? (int64_t)r->start : pa;
	hi = (int64_t)(r->start + r->size);
	if (hi > pa + (int64_t)m->size)
		hi = pa + (int64_t)m->size;
	if (lo >= hi)
		return 0;
	if (!p)
		return 1;
	memset(p, 0, 56);
	xfm_put_le32(p, PT_LOAD);
	xfm_put_le32(p + 4, PF_R | PF_W | PF_X);
	xfm_put_le64(p + 8, off + ((uint64_t)lo - r->start));
	xfm_put_le64(p + 16, m->va + (uint64_t)(lo - pa));
	xfm_put_le64(p + 24, (uint64_t)lo);
	xfm_put_le64(p + 32, (uint64_t)(hi - lo));
	xfm_put_le64(p + 40, (uint64_t)(hi - lo));
	xfm_put_le64(p + 48, 4096);
	return 1;
}

/* The kernel image's PT_LOADs (program headers @first..), or count them. */
static uint64_t image_phdrs(struct xfm_dump *d, uint64_t data, uint64_t first,
			    bool write, int *rc)
{
	struct xfm_image_map m;
	uint64_t off = data, a = xfm_dump_data_align(d), k = 0;
	uint8_t p[56];

	if (!d->vmcoreinfo || !xfm_linux_image_map(d->vmcoreinfo,
						   d->vmcoreinfo_len, &m))
		return 0;
	for (size_t i = 0; i < d->nr && *rc == 0; i++) {
		if (image_part(&m, &d->r[i], off, write ? p : NULL)) {
			if (write)
				*rc = xfm_dump_write(d, 64 + (first + k) * 56,
						     p, 56);
			k++;
		}
		off = xfm_align_up(off + d->r[i].size, a);
	}
	return k;
}

/*
 * Layout: ELF header, program headers (the status PT_NOTE of
 * XFM_DUMP_KEEP_PARTIAL, the notes' PT_NOTE when there are notes, the
 * kernel image's PT_LOADs for a Linux guest, then one PT_LOAD per range),
 * section 0 when PN_XNUM, the status note, the notes, then the data, each
 * range aligned so that it can be mapped.  The image's PT_LOADs alias the
 * ranges' data, as in /proc/vmcore.
 */
static int write_elf(struct xfm_dump *d)
{
	uint64_t nnote = d->notes_len ? 1 : 0, a = xfm_dump_data_align(d);
	int irc = 0;
	uint64_t nimg = image_phdrs(d, 0, 0, false, &irc);
	uint64_t phnum = d->nr + d->keep + nnote + nimg;
	uint64_t shoff = 0, data, off, note, notes;
	uint8_t hdr[64], sh0[64];
	bool xnum = phnum >= PN_XNUM;
	int rc;

	/* Too many segments for e_phnum: the count goes in section 0. */
	if (xnum)
		shoff = 64 + phnum * 56;
	note = 64 + phnum * 56 + (xnum ? 64 : 0);
	notes = note + (d->keep ? XFM_DUMP_STATUS_NOTE : 0);
	data = xfm_align_up(notes + d->notes_len, a);
	xfm_elf_put_ehdr(hdr, d->h, phnum, shoff, xnum ? 1 : 0, 0);
	rc = xfm_dump_write(d, 0, hdr, sizeof(hdr));
	if (rc == 0 && d->keep)
		rc = elf_status_phdr(d, note);
	if (rc == 0 && xnum) {
		xfm_elf_put_shdr(sh0, 0, SHT_NULL, 0, 0, (uint32_t)phnum, 0, 0);
		rc = phnum > UINT32_MAX ? xfm_fail(-EFBIG, "%s: %llu ranges "
				"are too many for an ELF core", d->path,
				(unsigned long long)phnum)
				: xfm_dump_write(d, shoff, sh0, sizeof(sh0));
	}
	if (rc == 0 && nnote)
		rc = elf_notes(d, d->keep, notes);
	if (rc == 0)
		image_phdrs(d, data, d->keep + nnote, true, &rc);
	if (rc == 0)
		rc = elf_phdrs(d, data, d->keep + nnote + nimg);
	off = data;
	for (size_t i = 0; i < d->nr; i++)
		off = xfm_align_up(off + d->r[i].size, a);
	d->full_end = off;
	off = data;
	for (size_t i = 0; rc == 0 && i < d->nr; i++) {
		rc = xfm_dump_copy(d, d->r[i].start, d->r[i].size, off);
		off = xfm_align_up(off + d->r[i].size, a);
	}
	return rc;
}

const struct xfm_format xfm_format_elf = {
	.name = "elf",
	.dump_id = XFM_DUMP_ELF,
	.parse = parse_elf,
	.write = write_elf,
	.notes = true,
};
