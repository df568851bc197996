/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * elf-io.h - ELF headers read out of an untrusted dump file and written
 * into a new one, shared by the ELF core format (elf.c) and the Xen
 * dump-core format (xen-core.c).  Every number read comes from the file:
 * each is checked before it is used.
 */
#ifndef XFM_ELF_IO_H
#define XFM_ELF_IO_H

#include "format.h"

/* The ELF file header, decoded (either class, either byte order). */
struct xfm_elf {
	bool is64;
	bool be;
	uint16_t type;
	uint16_t machine;
	uint64_t phoff;
	uint64_t shoff;
	uint64_t phnum;      /* after the PN_XNUM escape */
	uint64_t shnum;      /* after the "0 = in section 0" escape */
	uint64_t shstrndx;   /* after the SHN_XINDEX escape */
	uint16_t phentsize;
	uint16_t shentsize;
};

struct xfm_elf_shdr {
	uint32_t name;
	uint32_t type;
	uint64_t off;
	uint64_t size;
	uint32_t link;
	uint32_t info;
	uint64_t entsize;
};

struct xfm_elf_phdr {
	uint32_t type;
	uint64_t off;
	uint64_t vaddr;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
};

/* Little/big endian loads from a byte buffer. */
uint16_t xfm_elf_get16(const struct xfm_elf *e, const uint8_t *p);
uint32_t xfm_elf_get32(const struct xfm_elf *e, const uint8_t *p);
uint64_t xfm_elf_get64(const struct xfm_elf *e, const uint8_t *p);

/*
 * Decode the file header.  XFM_FILE_NOT_MINE when the file does not start
 * with the ELF magic; -ENOEXEC (message names file and offset) when it
 * does but the header or a table it points to is truncated or corrupt.
 */
int xfm_elf_read_header(struct xfm_file *f, struct xfm_elf *e);
int xfm_elf_read_shdr(struct xfm_file *f, const struct xfm_elf *e,
		      uint64_t i, struct xfm_elf_shdr *s);
int xfm_elf_read_phdr(struct xfm_file *f, const struct xfm_elf *e,
		      uint64_t i, struct xfm_elf_phdr *p);

/*
 * Walk the notes in [off, off + size) of the file.  @fn gets each note's
 * type, its name (NUL-terminated, at most 63 bytes kept) and where its
 * descriptor lies; a negative return stops the walk and is returned.
 * Notes are 4-byte aligned, as Linux, QEMU and Xen write them.
 */
typedef int (*xfm_elf_note_fn)(struct xfm_file *f, void *opaque,
			       uint32_t type, const char *name,
			       uint64_t desc_off, uint32_t desc_size);
int xfm_elf_walk_notes(struct xfm_file *f, const struct xfm_elf *e,
		       uint64_t off, uint64_t size, xfm_elf_note_fn fn,
		       void *opaque);

/*
 * Writers: an ELF64 little-endian ET_CORE file header (64 bytes at @e;
 * e_machine from the source's "elf.machine" fact, else this host's) and
 * a section header (64 bytes at @s).  Past PN_XNUM program headers,
 * e_phnum is PN_XNUM and the caller puts the count in section 0.
 */
void xfm_elf_put_ehdr(uint8_t *e, xfm_handle *h, uint64_t phnum,
		      uint64_t shoff, uint16_t shnum, uint16_t shstrndx);
void xfm_elf_put_shdr(uint8_t *s, uint32_t name, uint32_t type, uint64_t off,
		      uint64_t size, uint32_t info, uint64_t align,
		      uint64_t entsize);

#endif /* XFM_ELF_IO_H */
