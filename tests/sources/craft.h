/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * craft.h - build small dump files in memory for the source tests:
 * ELF32/ELF64 cores (either byte order, optional PN_XNUM), Xen dump-core
 * (PV and HVM), LiME.  Guest byte at address a is craft_pat(a), so any
 * reader can check what it got.
 */
#ifndef CRAFT_H
#define CRAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cbuf {
	uint8_t *p;
	size_t len;
};

static inline uint8_t craft_pat(uint64_t a)
{
	return (uint8_t)(a ^ (a >> 8) ^ (a >> 16) ^ (a >> 32) ^ 0x5a);
}

void cb_put(struct cbuf *b, uint64_t off, const void *src, size_t n);
/* Store @v in @bytes bytes at @off, little or big endian. */
void cb_int(struct cbuf *b, uint64_t off, uint64_t v, int bytes, bool be);
void cb_pat(struct cbuf *b, uint64_t off, uint64_t addr, uint64_t len);
void cb_truncate(struct cbuf *b, size_t len);
void cb_write(const struct cbuf *b, const char *path);
void cb_free(struct cbuf *b);

struct craft_load {
	uint64_t paddr, filesz, memsz;
};

struct craft_elf {
	uint64_t phoff, shoff, note_off;
	uint64_t data_off[16];
};

/* An ET_CORE with a PT_NOTE ("CORE" and "QEMU" notes) and @n PT_LOADs. */
void craft_elf(struct cbuf *b, bool is64, bool be, const struct craft_load *l,
	       size_t n, bool xnum, struct craft_elf *out);

struct craft_xen {
	uint64_t shoff, notes_off, header_desc, pages_off, table_off;
};

/* A dump-core of @n pages whose frames are @pfns (UINT64_MAX = padding). */
void craft_xen(struct cbuf *b, bool pv, const uint64_t *pfns, size_t n,
	       uint64_t page_size, struct craft_xen *out);

/* LiME: ranges {start, end inclusive}. */
void craft_lime(struct cbuf *b, const uint64_t (*r)[2], size_t n);

/* A temporary directory for the test's files, removed by rm -rf. */
const char *craft_tmpdir(void);
void craft_rmdir(void);

#endif
