/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * report.c - how the xfm core's error reports surface in the compat
 * library.
 *
 * libxfm keeps a per-thread message (core/error.c) in thread-local
 * storage.  Xen's libxenforeignmemory reports through the caller's
 * xentoollog logger and errno instead, and its NEEDED list has no
 * dynamic loader: a TLS variable in a shared object would add
 * ld-linux.so (for __tls_get_addr).  Defining the three report functions
 * here keeps the linker from pulling error.c out of the static core;
 * core.c logs what matters through xentoollog itself.
 */
#include <stdarg.h>

#include "private.h"

/* The code is what the compat caller sees (as errno); drop the text. */
int xfm_fail(int err, const char *fmt, ...)
{
	(void)fmt;
	return err;
}

/* Nothing to clear: no per-thread message in this library. */
void xfm_clear_error(void)
{
}

/* Core warnings (guessed page sizes) do not apply to the privcmd layer
 * the compat library uses; stay silent, as Xen's library would. */
void xfm_warn(bool quiet, const char *fmt, ...)
{
	(void)quiet;
	(void)fmt;
}
