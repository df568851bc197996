/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * dump.h - what a dump format's writer (src/format/) gets from dump.c:
 * the ranges to write, positioned output, and streaming of guest memory
 * into the file.  dump.c owns the temporary file and the atomic commit;
 * a writer only lays out its headers and says where each range goes.
 */
#ifndef XFM_DUMP_H
#define XFM_DUMP_H

#include "private.h"

#define XFM_DUMP_CHUNK (UINT64_C(4) << 20) /* bytes per read + write */

struct xfm_dump {
	xfm_handle *h;
	const char *path;        /* the target, for messages */
	char *tmp;
	int fd;
	xfm_range *r;            /* the populated ranges, merged, ascending */
	size_t nr;
	uint64_t frame;          /* the source's frame size */
	uint64_t total, done;    /* guest bytes */
	uint64_t end;            /* file size so far, holes included */
	xfm_progress_fn progress;
	void *opaque;
	uint8_t *buf;            /* XFM_DUMP_CHUNK bytes of scratch space */
	/* XFM_DUMP_KEEP_PARTIAL: the writer places the status note (from
	 * xfm_dump_status_note) and sets status_off and full_end. */
	bool keep;
	uint64_t status_off;     /* file offset of the status note */
	uint64_t full_end;       /* file size of a complete dump */
	int read_err;            /* the source's error that stopped it */
	uint64_t fail_addr;      /* and where */
	unsigned int read_flags; /* for xfm_read: XFM_READ_ZERO_FILL */
	bool va;                 /* xfm_dump_span of guest-virtual memory */
	unsigned int mode;       /* of the finished file */
	unsigned int flags;      /* xfm_dump()'s (kdump: the compression) */
	/* What the analysers need besides memory (dump.c prepares it):
	 * the guest kernel's VMCOREINFO text (NULL when none found), and
	 * the ELF notes to write: the source's own, plus a VMCOREINFO note
	 * when the source had none (little-endian ELF64 layout). */
	const char *vmcoreinfo;
	size_t vmcoreinfo_len;
	uint8_t *notes;
	size_t notes_len;
};

/* Bytes of the status note of XFM_DUMP_KEEP_PARTIAL (see xfm.h). */
#define XFM_DUMP_STATUS_NOTE 48
/* Its header and a zeroed descriptor at @p; returns its length. */
size_t xfm_dump_status_note(uint8_t *p);

/* Count @bytes of guest memory done and report progress (-ECANCELED). */
int xfm_dump_progress(struct xfm_dump *d, uint64_t bytes);
/* Write @len bytes at file offset @off. */
int xfm_dump_write(struct xfm_dump *d, uint64_t off, const void *p,
		   uint64_t len);
/*
 * Stream guest [addr, addr + len) to file offset @off, all-zero blocks
 * left as holes, reporting progress.  Uses d->buf.
 */
int xfm_dump_copy(struct xfm_dump *d, uint64_t addr, uint64_t len,
		  uint64_t off);
/* File alignment of guest data, so that frames can be mmap'd back. */
uint64_t xfm_dump_data_align(const struct xfm_dump *d);

static inline uint64_t xfm_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

#endif /* XFM_DUMP_H */
