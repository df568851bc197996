/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * error.c - where the library's reports go.  Errors: xfm_fail() hands the
 * message to the report hook, which libxfm.so sets to the per-thread last
 * error (last-error.c) and the compat library leaves unset (Xen's library
 * reports through errno and its own logger; a thread-local buffer would
 * also pull the dynamic loader into its NEEDED list).  Warnings: to the
 * callback the handle was opened with, never printed here.
 */
#include <stdio.h>

#include "private.h"

static const struct xfm_report_hook *hook;

void xfm_set_report_hook(const struct xfm_report_hook *h)
{
	hook = h;
}

void xfm_clear_error(void)
{
	if (hook)
		hook->clear();
}

int xfm_fail(int err, const char *fmt, ...)
{
	va_list ap;

	if (!hook)
		return err;
	va_start(ap, fmt);
	hook->fail(err, fmt, ap);
	va_end(ap);
	return err;
}

void xfm_warn(const struct xfm_source *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!s->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->warn(s->warn_opaque, msg);
}

/* xfm_open()'s warnings, as before callbacks existed: on stderr. */
void xfm_warn_stderr(void *opaque, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "xfm: warning: %s\n", msg);
}
