/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * json.h - a small JSON reader for the few QMP replies the live QEMU
 * source needs.  It builds a tree; strings are decoded to UTF-8 and
 * NUL-terminated; integers are kept exactly (QMP sizes exceed 2^53).
 * Nesting is limited, so hostile input cannot exhaust the stack.
 */
#ifndef XFM_JSON_H
#define XFM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xfm_json_type {
	XFM_JSON_NULL,
	XFM_JSON_BOOL,
	XFM_JSON_NUMBER,
	XFM_JSON_STRING,
	XFM_JSON_ARRAY,
	XFM_JSON_OBJECT,
};

struct xfm_json {
	enum xfm_json_type type;
	char *key;               /* member name, inside an object */
	char *str;               /* STRING: decoded text */
	bool boolean;            /* BOOL */
	bool is_uint;            /* NUMBER: a non-negative integer */
	uint64_t uint;           /* NUMBER with is_uint */
	struct xfm_json *child;  /* ARRAY, OBJECT: first element */
	struct xfm_json *next;   /* next sibling */
};

/* Parse @len bytes; -EINVAL on bad syntax, -ENOMEM.  One value only. */
int xfm_json_parse(const char *text, size_t len, struct xfm_json **out);
void xfm_json_free(struct xfm_json *j);
/* Member @key of an object, or NULL (also when @j is not an object). */
const struct xfm_json *xfm_json_get(const struct xfm_json *j,
				    const char *key);
/* The string member @key, or NULL. */
const char *xfm_json_str(const struct xfm_json *j, const char *key);

#endif /* XFM_JSON_H */
