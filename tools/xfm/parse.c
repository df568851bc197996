/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * parse.c - numbers, ranges and byte patterns from the command line.
 *
 * Numbers: decimal or 0x-hex, then an optional binary suffix k, M, G, T
 * (either case, optionally followed by "iB"): 4096, 0x1000, 4k, 0x10M.
 * Every step is overflow-checked: a value that does not fit in 64 bits
 * is an error, never a silent wrap.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The digits of @s in @base; stops at the first non-digit (*end). */
static int parse_digits(const char *s, unsigned int base, uint64_t *out,
			const char **end, const char **why)
{
	uint64_t v = 0;
	const char *p = s;
	int d;

	for (; (d = hexval((unsigned char)*p)) >= 0 && (unsigned int)d < base;
	     p++) {
		if (v > (UINT64_MAX - (uint64_t)d) / base) {
			*why = "number too large";
			return -1;
		}
		v = v * base + (uint64_t)d;
	}
	if (p == s) {
		*why = "not a number";
		return -1;
	}
	*out = v;
	*end = p;
	return 0;
}

static int suffix_shift(const char *s, unsigned int *shift, const char **why)
{
	static char msg[64];
	static const char letters[] = "kmgt";
	const char *l;

	*shift = 0;
	if (!*s)
		return 0;
	l = strchr(letters, tolower((unsigned char)*s));
	if (l && (!s[1] || !strcmp(s + 1, "iB"))) {
		*shift = 10 * (unsigned int)(l - letters + 1);
		return 0;
	}
	snprintf(msg, sizeof(msg), "unknown suffix '%.16s'", s);
	*why = msg;
	return -1;
}

int parse_u64(const char *s, uint64_t *out, const char **why)
{
	unsigned int base = 10, shift;
	const char *end;
	uint64_t v;

	if (!s || !*s) {
		*why = "missing number";
		return -1;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (parse_digits(s, base, &v, &end, why) < 0)
		return -1;
	if (suffix_shift(end, &shift, why) < 0)
		return -1;
	if (shift && v > (UINT64_MAX >> shift)) {
		*why = "number too large";
		return -1;
	}
	*out = v << shift;
	return 0;
}

int parse_size(const char *s, uint64_t *out, const char **why)
{
	if (parse_u64(s, out, why) < 0)
		return -1;
	if (*out == 0) {
		*why = "size must not be zero";
		return -1;
	}
	return 0;
}

/* Split "A<sep>B" into a copy of A (in @left) and a pointer to B. */
static const char *split(const char *s, const char *sep, char *left,
			 size_t len)
{
	const char *at = strstr(s, sep);

	if (!at)
		return NULL;
	snprintf(left, len, "%.*s", (int)(at - s), s);
	return at + strlen(sep);
}

int parse_range(const char *s, uint64_t *addr, uint64_t *len,
		bool *has_len, const char **why)
{
	char left[128];
	const char *right;
	uint64_t end;

	*has_len = true;
	if ((right = split(s, "..", left, sizeof(left)))) {
		if (parse_u64(left, addr, why) < 0 ||
		    parse_u64(right, &end, why) < 0)
			return -1;
		if (end <= *addr) {
			*why = "END must be above ADDR";
			return -1;
		}
		*len = end - *addr;
		return 0;
	}
	if ((right = split(s, "+", left, sizeof(left)))) {
		if (parse_u64(left, addr, why) < 0 ||
		    parse_size(right, len, why) < 0)
			return -1;
		if (*len > UINT64_MAX - *addr) {
			*why = "range wraps past the end of the address space";
			return -1;
		}
		return 0;
	}
	*has_len = false;
	*len = 0;
	return parse_u64(s, addr, why);
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ':' || c == '-' || c == ',';
}

/* One group of hex digits between separators, appended to @buf. */
static int parse_hex_group(const char **sp, uint8_t *buf, size_t *n,
			   const char **why)
{
	static char msg[48];
	const char *s = *sp;
	int hi, lo;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	do {
		hi = hexval((unsigned char)s[0]);
		lo = hi < 0 ? -1 : hexval((unsigned char)s[1]);
		if (hi < 0 || lo < 0) {
			char bad = hi < 0 ? s[0] : s[1];

			if (!bad || is_sep(bad))
				*why = "odd number of hex digits";
			else {
				snprintf(msg, sizeof(msg),
					 "bad hex digit '%c'", bad);
				*why = msg;
			}
			return -1;
		}
		buf[(*n)++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	} while (*s && !is_sep(*s));
	*sp = s;
	return 0;
}

int parse_hex(const char *s, uint8_t **out, size_t *len, const char **why)
{
	/* Never more bytes than characters: one allocation suffices. */
	uint8_t *buf = malloc(strlen(s) / 2 + 1);
	size_t n = 0;

	if (!buf) {
		*why = "out of memory";
		return -1;
	}
	for (;;) {
		while (is_sep(*s))
			s++;
		if (!*s)
			break;
		if (parse_hex_group(&s, buf, &n, why) < 0) {
			free(buf);
			return -1;
		}
	}
	if (!n) {
		free(buf);
		*why = "empty pattern";
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

int parse_count(const char *s, uint64_t *out, const char **why)
{
	const char *end;

	if (!s || !*s || parse_digits(s, 10, out, &end, why) < 0 || *end ||
	    *out == 0 || *out > INT64_MAX) {
		*why = "not a positive count";
		return -1;
	}
	return 0;
}

int parse_seconds(const char *s, double *out, const char **why)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(*out) || *out <= 0 ||
	    *out > 3600) {
		*why = "not a time in seconds (0 < t <= 3600)";
		return -1;
	}
	return 0;
}
