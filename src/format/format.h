/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * format.h - dump formats: each one is a file of src/format/ with its
 * reader (a parser that lists where guest memory lies in the file, for
 * the file source) and its writer (for xfm_dump()) side by side, and one
 * entry in the table of formats.c.
 */
#ifndef XFM_FORMAT_H
#define XFM_FORMAT_H

#include "dump.h"
#include "file.h"

struct xfm_format {
	const char *name;      /* the "format" fact: "elf", "xen-core" */
	unsigned int dump_id;  /* enum xfm_dump_format; 0: not writable */
	/*
	 * Reader: 0 when the file is in this format and was parsed
	 * (segments added, frame_size set if not 4096), XFM_FILE_NOT_MINE
	 * when it is not (the next format is tried), or a negative errno
	 * (normally -ENOEXEC, message naming file and offset) when it is
	 * this format but corrupt.  NULL: not readable.
	 */
	int (*parse)(struct xfm_file *f);
	/* Writer: lay out the file, stream d->r into it.  NULL: none. */
	int (*write)(struct xfm_dump *d);
	/* The writer carries notes (VMCOREINFO, the source's notes): the
	 * dump prepares them first, a search of a live guest's memory. */
	bool notes;
};

extern const struct xfm_format xfm_format_xen_core, xfm_format_elf,
	xfm_format_lime, xfm_format_raw, xfm_format_kdump,
	xfm_format_kdump_flat;

/* The formats, in detection order (NULL-terminated). */
extern const struct xfm_format *const xfm_formats[];

/* The writable format with dump_id @id, or NULL. */
const struct xfm_format *xfm_format_for_dump(unsigned int id);

#endif /* XFM_FORMAT_H */
