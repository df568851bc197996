/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * raw.c - raw memory images: file offset = guest-physical address.  Any
 * file is one, so it is detected last; written, holes stay sparse.
 */
#include <errno.h>

#include "format.h"

static int parse_raw(struct xfm_file *f)
{
	if (f->size == 0)
		return xfm_fail(-ENOEXEC, "%s: empty file", f->base.label);
	return xfm_file_add_seg(f, 0, f->size, 0, false);
}

static int write_raw(struct xfm_dump *d)
{
	int rc;

	for (size_t i = 0; i < d->nr; i++) {
		rc = xfm_dump_copy(d, d->r[i].start, d->r[i].size, d->r[i].start);
		if (rc < 0)
			return rc;
	}
	return 0;
}

const struct xfm_format xfm_format_raw = {
	.name = "raw",
	.dump_id = XFM_DUMP_RAW,
	.parse = parse_raw,
	.write = write_raw,
};
