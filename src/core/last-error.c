/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * last-error.c - the per-thread last-error message of libxfm.so
 * (xfm_last_error), installed as the report hook when the library loads.
 */
#include <stdio.h>

#include "private.h"

#define XFM_ERR_MAX 512

static _Thread_local char last_error[XFM_ERR_MAX];

XFM_EXPORT const char *xfm_last_error(void)
{
	return last_error;
}

static void record(int err, const char *fmt, va_list ap)
{
	(void)err;
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
}

static void clear(void)
{
	last_error[0] = '\0';
}

static const struct xfm_report_hook last_error_hook = { record, clear };

__attribute__((constructor)) static void install(void)
{
	xfm_set_report_hook(&last_error_hook);
}
