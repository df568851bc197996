/* SPDX-License-Identifier: LGPL-2.1-only */
/* error.c - the per-thread last-error message. */
#include <stdio.h>

#include "private.h"

#define XFM_ERR_MAX 512

static _Thread_local char last_error[XFM_ERR_MAX];

XFM_EXPORT const char *xfm_last_error(void)
{
	return last_error;
}

void xfm_clear_error(void)
{
	last_error[0] = '\0';
}

int xfm_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

void xfm_warn(bool quiet, const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	fputs("xfm: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
