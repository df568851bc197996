/* SPDX-License-Identifier: LGPL-2.1-only */
/* formats.c - the table of dump formats. */
#include <stddef.h>

#include "format.h"

/*
 * Adding a format: write src/format/NAME.c defining
 *   const struct xfm_format xfm_format_NAME = { "NAME", XFM_DUMP_NAME,
 *                                               parse, write };
 * (either function may be NULL), declare it in format.h, list it here and
 * in src/meson.build.  Nothing else changes: the file source detects it,
 * xfm_dump() writes it.  Order is detection order: a format whose magic
 * is more specific goes before one it could be mistaken for (Xen
 * dump-core is an ELF core), and raw, which accepts anything, goes last.
 */
const struct xfm_format *const xfm_formats[] = {
	&xfm_format_xen_core,
	&xfm_format_elf,
	&xfm_format_lime,
	&xfm_format_kdump,
	&xfm_format_kdump_flat,
	&xfm_format_raw,
	NULL,
};

const struct xfm_format *xfm_format_for_dump(unsigned int id)
{
	for (size_t i = 0; xfm_formats[i]; i++)
		if (id && xfm_formats[i]->dump_id == id &&
		    xfm_formats[i]->write)
			return xfm_formats[i];
	return NULL;
}
