/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * sources.c - the table of sources: xfm_open() tries each URI prefix in
 * turn.  Adding a source is one file of src/source/ with its open
 * function, and one entry here.
 */
#include <stddef.h>

#include "private.h"

const struct xfm_source_type xfm_source_types[] = {
	{ "xen:", "xen:<domid>", xfm_xen_open, false },
	/* A bare path ("dump.elf", "/x", "./x:y") is a file too. */
	{ "file:", "file:<path>", xfm_file_open, true },
	{ "qemu:", "qemu:<socket>", xfm_qemu_open, false },
	{ NULL, NULL, NULL, false },
};
