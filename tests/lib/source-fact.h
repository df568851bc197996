/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * source-fact.h - a source's fact by key, for the tests.
 */
#ifndef XFM_TEST_SOURCE_FACT_H
#define XFM_TEST_SOURCE_FACT_H

#include <string.h>

#include "xfm.h"

/* The value of @h's fact @key (xfm_source_info), or "(none)" when the
 * source has no such fact: a string that prints and compares. */
static inline const char *fact(xfm_handle *h, const char *key)
{
	const char *k, *v;

	for (size_t i = 0; xfm_source_info(h, i, &k, &v) == 0; i++)
		if (strcmp(k, key) == 0)
			return v;
	return "(none)";
}

#endif
