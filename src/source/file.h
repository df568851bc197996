/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * file.h - shared by the dump-file formats.  A format's parser only
 * describes where guest memory lies in the file, as segments; mapping,
 * reading and the memory map are done once, in file.c.
 */
#ifndef XFM_FILE_H
#define XFM_FILE_H

#include "private.h"

struct xfm_file_seg {
	uint64_t addr;  /* guest-physical start, bytes */
	uint64_t len;   /* bytes */
	uint64_t off;   /* file offset of addr (unused when zero) */
	bool zero;      /* present but not stored: reads as zeros */
};

struct xfm_file {
	struct xfm_source base;
	int fd;
	uint64_t size;          /* file size, bytes */
	uint64_t frame_size;    /* set by the parser; default 4096 */
	struct xfm_file_seg *segs;
	size_t nsegs, cap;
};

/*
 * A format parser returns 0 when the file is in this format and was
 * parsed (segments added, frame_size set if not 4096), XFM_FILE_NOT_MINE
 * when the content is not this format (the next parser is tried), or a
 * negative errno (normally -ENOEXEC) when it is this format but corrupt,
 * after xfm_fail() named the file and the offset.
 */
#define XFM_FILE_NOT_MINE 1

typedef int (*xfm_file_parser)(struct xfm_file *f);

int xfm_file_parse_xen_core(struct xfm_file *f);
int xfm_file_parse_elf(struct xfm_file *f);
int xfm_file_parse_lime(struct xfm_file *f);

/* Read exactly @len bytes at @off; -ENOEXEC (with a message naming what)
 * when the file is too short. */
int xfm_file_read_at(struct xfm_file *f, uint64_t off, void *buf,
		     uint64_t len, const char *what);
/* Add a segment (coalesced with the previous one when contiguous). */
int xfm_file_add_seg(struct xfm_file *f, uint64_t addr, uint64_t len,
		     uint64_t off, bool zero);

#endif /* XFM_FILE_H */
