/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * file.h - the dump-file source, as the formats' readers (src/format/)
 * see it.  A reader only describes where guest memory lies in the file,
 * as segments; mapping, reading and the memory map are done once, in
 * file.c.
 */
#ifndef XFM_FILE_H
#define XFM_FILE_H

#include "segments.h"

struct xfm_file {
	struct xfm_source base;
	int fd;
	uint64_t size;          /* file size, bytes */
	uint64_t frame_size;    /* set by the parser; default 4096 */
	struct xfm_segs segs;   /* where guest memory lies in the file */
	/* vCPU 0's page-table root from the dump's notes (QEMU x86). */
	xfm_vm_root vcpu_root;
	bool have_vcpu_root;
	/*
	 * A format whose pages are not plain bytes of the file (kdump:
	 * compressed pages) sets read_pages; its segments (all "zero") then
	 * only say which addresses exist, and reads and maps go through
	 * read_pages (@addr..@addr+@len, all present).  priv is the format's,
	 * freed by free_priv.  NULL for the other formats.
	 */
	int (*read_pages)(struct xfm_file *f, uint64_t addr, void *buf,
			  uint64_t len);
	void (*free_priv)(struct xfm_file *f);
	void *priv;
	/*
	 * A dump of a guest whose page tables hold machine frames (a Xen PV
	 * guest's xen-core, with its .xen_p2m): the guest frame of a machine
	 * frame and back, -ENOENT when none.  NULL for the other formats
	 * (the source then answers -ENOENT).  Called from any thread.
	 */
	int (*machine_to_frame)(struct xfm_file *f, uint64_t mfn,
				uint64_t *frame);
	int (*frame_to_machine)(struct xfm_file *f, uint64_t frame,
				uint64_t *mfn);
};

/* A format's parser: "this file is not in my format" (format.h). */
#define XFM_FILE_NOT_MINE 1

/* Read exactly @len bytes at @off; -ENOEXEC (with a message naming what)
 * when the file is too short. */
int xfm_file_read_at(struct xfm_file *f, uint64_t off, void *buf,
		     uint64_t len, const char *what);
/* Add a segment (coalesced with the previous one when contiguous). */
int xfm_file_add_seg(struct xfm_file *f, uint64_t addr, uint64_t len,
		     uint64_t off, bool zero);

/* Overflow-checked arithmetic: true when the result does not fit. */
static inline bool xfm_add_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_add_overflow(a, b, r);
}

static inline bool xfm_mul_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}

/* True when [off, off + len) lies inside the file. */
static inline bool xfm_file_has(const struct xfm_file *f, uint64_t off,
				uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

/*
 * Fail with -ENOEXEC and the message "<file>: offset 0x<off>: <what>":
 * every complaint about a dump's content names where it is.
 */
int xfm_file_bad(struct xfm_file *f, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* XFM_FILE_H */
