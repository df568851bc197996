/* SPDX-License-Identifier: LGPL-2.1-only */
/* craft.c - small dump files built byte by byte (see craft.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "craft.h"

static void grow(struct cbuf *b, size_t len)
{
	if (len <= b->len)
		return;
	b->p = realloc(b->p, len);
	if (!b->p)
		abort();
	memset(b->p + b->len, 0, len - b->len);
	b->len = len;
}

void cb_put(struct cbuf *b, uint64_t off, const void *src, size_t n)
{
	grow(b, off + n);
	memcpy(b->p + off, src, n);
}

void cb_int(struct cbuf *b, uint64_t off, uint64_t v, int bytes, bool be)
{
	grow(b, off + bytes);
	for (int i = 0; i < bytes; i++)
		b->p[off + (be ? bytes - 1 - i : i)] = (uint8_t)(v >> (8 * i));
}

void cb_pat(struct cbuf *b, uint64_t off, uint64_t addr, uint64_t len)
{
	grow(b, off + len);
	for (uint64_t i = 0; i < len; i++)
		b->p[off + i] = craft_pat(addr + i);
}

void cb_truncate(struct cbuf *b, size_t len)
{
	if (len < b->len)
		b->len = len;
}

void cb_write(const struct cbuf *b, const char *path)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(b->p, 1, b->len, f) != b->len || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

void cb_free(struct cbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

static uint64_t up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Word-sized field: 4 bytes in ELF32, 8 in ELF64. */
static void word(struct cbuf *b, bool is64, bool be, uint64_t off, uint64_t v)
{
	cb_int(b, off, v, is64 ? 8 : 4, be);
}

static uint64_t put_note(struct cbuf *b, bool be, uint64_t off,
			 const char *name, uint32_t type, uint32_t dsz)
{
	uint32_t nsz = (uint32_t)strlen(name) + 1;

	cb_int(b, off, nsz, 4, be);
	cb_int(b, off + 4, dsz, 4, be);
	cb_int(b, off + 8, type, 4, be);
	cb_put(b, off + 12, name, nsz);
	off += 12 + up(nsz, 4);
	for (uint32_t i = 0; i < dsz; i++)
		cb_int(b, off + i, 0xa0 + i, 1, be);
	return off + up(dsz, 4);
}

static void elf_ehdr(struct cbuf *b, bool is64, bool be, uint64_t phnum,
		     uint64_t shoff)
{
	unsigned int d = is64 ? 0 : 12;
	uint8_t id[16] = { 0x7f, 'E', 'L', 'F', is64 ? 2 : 1, be ? 2 : 1, 1 };

	cb_put(b, 0, id, sizeof(id));
	cb_int(b, 16, 4, 2, be);                 /* ET_CORE */
	cb_int(b, 18, is64 ? 62 : 3, 2, be);     /* EM_X86_64 / EM_386 */
	cb_int(b, 20, 1, 4, be);
	word(b, is64, be, is64 ? 32 : 28, is64 ? 64 : 52);
	word(b, is64, be, is64 ? 40 : 32, shoff);
	cb_int(b, 52 - d, is64 ? 64 : 52, 2, be);
	cb_int(b, 54 - d, is64 ? 56 : 32, 2, be);
	cb_int(b, 56 - d, phnum >= 0xffff ? 0xffff : phnum, 2, be);
	cb_int(b, 58 - d, shoff ? (is64 ? 64 : 40) : 0, 2, be);
	cb_int(b, 60 - d, shoff ? 1 : 0, 2, be);
}

static void elf_phdr(struct cbuf *b, bool is64, bool be, uint64_t at,
		     uint32_t type, uint64_t off, uint64_t paddr,
		     uint64_t filesz, uint64_t memsz)
{
	cb_int(b, at, type, 4, be);
	if (is64) {
		cb_int(b, at + 8, off, 8, be);
		cb_int(b, at + 24, paddr, 8, be);
		cb_int(b, at + 32, filesz, 8, be);
		cb_int(b, at + 40, memsz, 8, be);
	} else {
		cb_int(b, at + 4, off, 4, be);
		cb_int(b, at + 12, paddr, 4, be);
		cb_int(b, at + 16, filesz, 4, be);
		cb_int(b, at + 20, memsz, 4, be);
	}
}

void craft_elf(struct cbuf *b, bool is64, bool be, const struct craft_load *l,
	       size_t n, bool xnum, struct craft_elf *out)
{
	uint64_t phsz = is64 ? 56 : 32, phoff = is64 ? 64 : 52;
	uint64_t shoff = xnum ? phoff + (n + 1) * phsz : 0;
	uint64_t note = (xnum ? shoff + (is64 ? 64 : 40) : phoff +
			 (n + 1) * phsz);
	uint64_t end, data;

	memset(out, 0, sizeof(*out));
	elf_ehdr(b, is64, be, xnum ? 0xffff : n + 1, shoff);
	if (xnum) /* section 0: sh_info holds the real e_phnum */
		cb_int(b, shoff + (is64 ? 44 : 28), n + 1, 4, be);
	end = put_note(b, be, note, "CORE", 1, 8);
	end = put_note(b, be, end, "QEMU", 0, 16);
	elf_phdr(b, is64, be, phoff, 4 /* PT_NOTE */, note, 0, end - note, 0);
	data = up(end, 4096);
	for (size_t i = 0; i < n; i++) {
		elf_phdr(b, is64, be, phoff + (i + 1) * phsz, 1 /* PT_LOAD */,
			 data, l[i].paddr, l[i].filesz, l[i].memsz);
		cb_pat(b, data, l[i].paddr, l[i].filesz);
		if (i < sizeof(out->data_off) / sizeof(out->data_off[0]))
			out->data_off[i] = data;
		data = up(data + l[i].filesz, 4096);
	}
	out->phoff = phoff;
	out->shoff = shoff;
	out->note_off = note;
}

static void shdr(struct cbuf *b, uint64_t at, uint32_t name, uint32_t type,
		 uint64_t off, uint64_t size, uint64_t entsize)
{
	cb_int(b, at, name, 4, false);
	cb_int(b, at + 4, type, 4, false);
	cb_int(b, at + 24, off, 8, false);
	cb_int(b, at + 32, size, 8, false);
	cb_int(b, at + 56, entsize, 8, false);
}

static uint64_t xen_note(struct cbuf *b, uint64_t off, uint32_t type,
			 uint32_t dsz)
{
	cb_int(b, off, 4, 4, false);
	cb_int(b, off + 4, dsz, 4, false);
	cb_int(b, off + 8, type, 4, false);
	cb_put(b, off + 12, "Xen", 4);
	cb_int(b, off + 16 + dsz - 1, 0, 1, false);
	return off + 16;
}

void craft_xen(struct cbuf *b, bool pv, const uint64_t *pfns, size_t n,
	       uint64_t ps, struct craft_xen *out)
{
	static const char strtab[] = "\0.shstrtab\0.note.Xen\0.xen_prstatus"
				     "\0.xen_pages\0.xen_p2m\0.xen_pfn";
	uint64_t st = 64 + 6 * 64, notes, d, pages, table, esz = pv ? 16 : 8;
	uint8_t id[16] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };

	cb_put(b, 0, id, sizeof(id));
	cb_int(b, 16, 4, 2, false);
	cb_int(b, 18, 62, 2, false);
	cb_int(b, 20, 1, 4, false);
	cb_int(b, 40, 64, 8, false);
	cb_int(b, 52, 64, 2, false);
	cb_int(b, 58, 64, 2, false);
	cb_int(b, 60, 6, 2, false);
	cb_int(b, 62, 1, 2, false);
	cb_put(b, st, strtab, sizeof(strtab));
	notes = up(st + sizeof(strtab), 8);
	d = xen_note(b, notes, 0x2000000, 0);
	d = xen_note(b, d, 0x2000001, 32);
	out->header_desc = d;
	cb_int(b, d, pv ? 0xF00FEBED : 0xF00FEBEE, 8, false);
	cb_int(b, d + 8, 2, 8, false);
	cb_int(b, d + 16, n, 8, false);
	cb_int(b, d + 24, ps, 8, false);
	d = xen_note(b, d + 32, 0x2000002, 1280);
	cb_int(b, d, 4, 8, false);
	cb_int(b, d + 8, 17, 8, false);
	cb_put(b, d + 16, ".3-pre", 7);
	cb_int(b, d + 1272, ps, 8, false);
	d = xen_note(b, d + 1280, 0x2000003, 8);
	cb_int(b, d, 1, 8, false);
	d += 8;
	pages = up(d, ps);
	for (size_t i = 0; i < n; i++) {
		if (pfns[i] == UINT64_MAX)
			cb_int(b, pages + i * ps + ps - 1, 0, 1, false);
		else
			cb_pat(b, pages + i * ps, pfns[i] * ps, ps);
	}
	table = pages + n * ps;
	for (size_t i = 0; i < n; i++) {
		cb_int(b, table + i * esz, pfns[i], 8, false);
		if (pv)
			cb_int(b, table + i * esz + 8, pfns[i] + 0x1000, 8,
			       false);
	}
	shdr(b, 128, 1, 3, st, sizeof(strtab), 0);
	shdr(b, 192, 11, 7, notes, d - notes, 0);
	shdr(b, 256, 21, 1, d, 0, 0);
	shdr(b, 320, 35, 1, pages, n * ps, ps);
	shdr(b, 384, pv ? 46 : 55, 1, table, n * esz, esz);
	out->shoff = 64;
	out->notes_off = notes;
	out->pages_off = pages;
	out->table_off = table;
}

void craft_lime(struct cbuf *b, const uint64_t (*r)[2], size_t n)
{
	uint64_t off = b->len;

	for (size_t i = 0; i < n; i++) {
		uint64_t len = r[i][1] - r[i][0] + 1;

		cb_int(b, off, 0x4C694D45, 4, false);
		cb_int(b, off + 4, 1, 4, false);
		cb_int(b, off + 8, r[i][0], 8, false);
		cb_int(b, off + 16, r[i][1], 8, false);
		cb_int(b, off + 24, 0, 8, false);
		cb_pat(b, off + 32, r[i][0], len);
		off += 32 + len;
	}
}

static char tmpdir[64];

const char *craft_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/xfm-src-XXXXXX");
		if (!mkdtemp(tmpdir))
			abort();
	}
	return tmpdir;
}

void craft_rmdir(void)
{
	char cmd[128];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", tmpdir);
	tmpdir[0] = 0;
}
