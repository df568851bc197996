/* SPDX-License-Identifier: LGPL-2.1-only */
/* json.c - the small JSON reader of json.h (RFC 8259 values). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAX_DEPTH 32

struct parser {
	const char *p, *end;
	int depth;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool eat(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static int hex4(struct parser *ps, uint32_t *v)
{
	*v = 0;
	if (ps->end - ps->p < 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		char c = *ps->p++;

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	return 0;
}

/* Append code point @cp as UTF-8; NUL is refused (strings are C strings). */
static int put_utf8(char **o, uint32_t cp)
{
	char *q = *o;

	if (cp == 0)
		return -EINVAL;
	if (cp < 0x80) {
		*q++ = (char)cp;
	} else if (cp < 0x800) {
		*q++ = (char)(0xc0 | cp >> 6);
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*q++ = (char)(0xe0 | cp >> 12);
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*q++ = (char)(0xf0 | cp >> 18);
		*q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = q;
	return 0;
}

static int unicode_escape(struct parser *ps, char **o)
{
	uint32_t cp, lo;

	if (hex4(ps, &cp) < 0)
		return -EINVAL;
	if (cp >= 0xd800 && cp < 0xdc00) {
		if (!eat(ps, "\\u") || hex4(ps, &lo) < 0 || lo < 0xdc00 ||
		    lo > 0xdfff)
			return -EINVAL;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xdc00 && cp < 0xe000) {
		return -EINVAL;
	}
	return put_utf8(o, cp);
}

static int escape(struct parser *ps, char **o)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;

	if (ps->p >= ps->end)
		return -EINVAL;
	if (*ps->p == 'u') {
		ps->p++;
		return unicode_escape(ps, o);
	}
	k = strchr(from, *ps->p);
	if (!k || !*ps->p)
		return -EINVAL;
	*(*o)++ = to[k - from];
	ps->p++;
	return 0;
}

/* A string at ps->p (just after the opening quote). */
static int parse_string(struct parser *ps, char **out)
{
	/* Decoded text is never longer than the source. */
	const char *close = ps->p;
	char *s, *o;
	int rc;

	while (close < ps->end && *close != '"')
		close += *close == '\\' ? 2 : 1;
	if (close >= ps->end)
		return -EINVAL;
	s = malloc((size_t)(close - ps->p) + 1);
	if (!s)
		return -ENOMEM;
	o = s;
	while (*ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p++;

		rc = 0;
		if (c == '\\')
			rc = escape(ps, &o);
		else if (c < 0x20)
			rc = -EINVAL;
		else
			*o++ = (char)c;
		if (rc < 0 || ps->p > close) {
			free(s);
			return rc < 0 ? rc : -EINVAL;
		}
	}
	ps->p++;
	*o = '\0';
	*out = s;
	return 0;
}

static int parse_number(struct parser *ps, struct xfm_json *j)
{
	const char *start = ps->p;
	bool digits_only = true;
	uint64_t v = 0;

	if (ps->p < ps->end && *ps->p == '-') {
		digits_only = false;
		ps->p++;
	}
	while (ps->p < ps->end && strchr("0123456789.eE+-", *ps->p)) {
		char c = *ps->p++;

		if (c < '0' || c > '9') {
			digits_only = false;
		} else if (digits_only) {
			if (v > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
				digits_only = false; /* too big to be exact */
			else
				v = v * 10 + (uint64_t)(c - '0');
		}
	}
	if (ps->p == start || (ps->p - start == 1 && *start == '-'))
		return -EINVAL;
	j->type = XFM_JSON_NUMBER;
	j->is_uint = digits_only;
	j->uint = digits_only ? v : 0;
	return 0;
}

static int parse_value(struct parser *ps, struct xfm_json **out);

/* Elements of an array or members of an object, up to @close. */
static int parse_items(struct parser *ps, struct xfm_json *j, char close)
{
	struct xfm_json **tail = &j->child;
	char *key = NULL;
	int rc;

	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if (close == '}') {
			if (ps->p >= ps->end || *ps->p++ != '"')
				return -EINVAL;
			rc = parse_string(ps, &key);
			if (rc < 0)
				return rc;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p++ != ':') {
				free(key);
				return -EINVAL;
			}
		}
		rc = parse_value(ps, tail);
		if (rc < 0) {
			free(key);
			return rc;
		}
		(*tail)->key = key;
		key = NULL;
		tail = &(*tail)->next;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return -EINVAL;
		if (*ps->p == close) {
			ps->p++;
			return 0;
		}
		if (*ps->p++ != ',')
			return -EINVAL;
	}
}

static int parse_value(struct parser *ps, struct xfm_json **out)
{
	struct xfm_json *j = calloc(1, sizeof(*j));
	int rc = 0;

	if (!j)
		return -ENOMEM;
	*out = j;
	skip_ws(ps);
	if (ps->p >= ps->end)
		return -EINVAL;
	if (eat(ps, "null")) {
		j->type = XFM_JSON_NULL;
	} else if (eat(ps, "true") || eat(ps, "false")) {
		j->type = XFM_JSON_BOOL;
		j->boolean = ps->p[-1] == 'e' && ps->p[-2] == 'u';
	} else if (*ps->p == '"') {
		ps->p++;
		j->type = XFM_JSON_STRING;
		rc = parse_string(ps, &j->str);
	} else if (*ps->p == '[' || *ps->p == '{') {
		char open = *ps->p++;

		if (++ps->depth > MAX_DEPTH)
			return -EINVAL;
		j->type = open == '[' ? XFM_JSON_ARRAY : XFM_JSON_OBJECT;
		rc = parse_items(ps, j, open == '[' ? ']' : '}');
		ps->depth--;
	} else {
		rc = parse_number(ps, j);
	}
	return rc;
}

int xfm_json_parse(const char *text, size_t len, struct xfm_json **out)
{
	struct parser ps = { text, text + len, 0 };
	struct xfm_json *j = NULL;
	int rc = parse_value(&ps, &j);

	skip_ws(&ps);
	if (rc == 0 && ps.p != ps.end)
		rc = -EINVAL;
	if (rc < 0) {
		xfm_json_free(j);
		return rc;
	}
	*out = j;
	return 0;
}

void xfm_json_free(struct xfm_json *j)
{
	while (j) {
		struct xfm_json *next = j->next;

		xfm_json_free(j->child);
		free(j->key);
		free(j->str);
		free(j);
		j = next;
	}
}

const struct xfm_json *xfm_json_get(const struct xfm_json *j, const char *key)
{
	if (!j || j->type != XFM_JSON_OBJECT)
		return NULL;
	for (j = j->child; j; j = j->next)
		if (j->key && strcmp(j->key, key) == 0)
			return j;
	return NULL;
}

const char *xfm_json_str(const struct xfm_json *j, const char *key)
{
	j = xfm_json_get(j, key);
	return j && j->type == XFM_JSON_STRING ? j->str : NULL;
}
