/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * fuzz-parse.c - libFuzzer target for the CLI's argument parsers
 * (tools/xfm/parse.c): numbers with suffixes, sizes, ranges, hex patterns,
 * counts, seconds.  The first input byte picks the parser; the rest is the
 * argument string.  Besides crashes, it checks what each parser promises:
 * a parsed range never wraps, END > ADDR, a pattern has at least one byte
 * and no more than half the characters, a count is in 1..INT64_MAX, and a
 * failure always says why.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bad(const char *what, const char *s)
{
	fprintf(stderr, "fuzz-parse: %s for '%s'\n", what, s);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	uint64_t a, l;
	uint8_t *pat;
	size_t n;
	bool has;
	double d;
	char *s;
	int rc;

	if (size < 1 || size > 4096)
		return -1;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0:
		rc = parse_u64(s, &a, &why);
		break;
	case 1:
		rc = parse_size(s, &a, &why);
		if (!rc && !a)
			bad("size 0 accepted", s);
		break;
	case 2:
		rc = parse_range(s, &a, &l, &has, &why);
		if (!rc && has && (!l || l - 1 > UINT64_MAX - a))
			bad("empty or wrapping range accepted", s);
		if (!rc && !has && l)
			bad("bare address with a length", s);
		break;
	case 3:
		rc = parse_hex(s, &pat, &n, &why);
		if (!rc) {
			if (!n || n > strlen(s) / 2)
				bad("pattern length out of bounds", s);
			free(pat);
		}
		break;
	case 4:
		rc = parse_count(s, &a, &why);
		if (!rc && (!a || a > INT64_MAX))
			bad("count out of range", s);
		break;
	default:
		rc = parse_seconds(s, &d, &why);
		if (!rc && !(d > 0 && d <= 3600))
			bad("time out of range", s);
		break;
	}
	if (rc && (!why || !*why))
		bad("failure without a reason", s);
	free(s);
	return 0;
}
