/* SPDX-License-Identifier: LGPL-2.1-only */
/* file-elf.c - placeholder until the ELF parsers land (issue 5). */
#include "file.h"

int xfm_file_parse_xen_core(struct xfm_file *f)
{
	(void)f;
	return XFM_FILE_NOT_MINE;
}

int xfm_file_parse_elf(struct xfm_file *f)
{
	(void)f;
	return XFM_FILE_NOT_MINE;
}

int xfm_file_parse_lime(struct xfm_file *f)
{
	(void)f;
	return XFM_FILE_NOT_MINE;
}
