/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * source.c - SOURCE arguments to libxfm handles, and the memory map.
 *
 * libxfm takes xen:<domid>; people know their guests by name, so
 * xen:<name> is looked up here in xenstore (/local/domain/<id>/name).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifdef HAVE_XENSTORE
#include <xenstore.h>
#endif

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

#ifdef HAVE_XENSTORE
/* The domid whose name is @name, or -1 (errno: ENOENT, or an xs error). */
static long domid_of_name(struct xs_handle *xs, const char *name)
{
	unsigned int n = 0, len;
	char **ids = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	long found = -1;
	char path[64];

	if (!ids)
		return -1;
	for (unsigned int i = 0; i < n && found < 0; i++) {
		char *v;

		snprintf(path, sizeof(path), "/local/domain/%s/name", ids[i]);
		v = xs_read(xs, XBT_NULL, path, &len);
		if (v && !strcmp(v, name) && all_digits(ids[i]))
			found = strtol(ids[i], NULL, 10);
		free(v);
	}
	free(ids);
	if (found < 0)
		errno = ENOENT;
	return found;
}

static int resolve_name(const struct cli *cli, const char *source,
			char *uri, size_t len)
{
	const char *name = source + 4;
	struct xs_handle *xs = xs_open(0);
	long id;

	if (!xs) {
		cli_err(cli, "%s: cannot reach xenstore to look up the domain "
			"name: %s", source, strerror(errno));
		return EXIT_SOURCE;
	}
	id = domid_of_name(xs, name);
	if (id < 0) {
		int err = errno;

		xs_close(xs);
		if (err == ENOENT)
			cli_err(cli, "%s: no domain named '%s'", source, name);
		else
			cli_err(cli, "%s: reading xenstore: %s", source,
				strerror(err));
		return EXIT_SOURCE;
	}
	xs_close(xs);
	snprintf(uri, len, "xen:%ld", id);
	return 0;
}
#else
static int resolve_name(const struct cli *cli, const char *source,
			char *uri, size_t len)
{
	(void)uri;
	(void)len;
	cli_err(cli, "%s: cannot look up domain names: xfm was built "
		"without libxenstore (use xen:<domid>)", source);
	return EXIT_SOURCE;
}
#endif

int cli_open(const struct cli *cli, const char *source, unsigned int flags,
	     xfm_handle **out)
{
	char uri[32];
	int rc;

	if (cli->quiet)
		flags |= XFM_OPEN_QUIET;
	if (!strncmp(source, "xen:", 4) && source[4] &&
	    !all_digits(source + 4)) {
		rc = resolve_name(cli, source, uri, sizeof(uri));
		if (rc)
			return rc;
		source = uri;
	}
	rc = xfm_open(out, source, flags);
	if (rc < 0) {
		cli_lib_err(cli, rc, NULL);
		return EXIT_SOURCE;
	}
	return 0;
}

/* Merge touching ranges: the library does, but the CLI must not rely
 * on every source getting it right to print a correct map. */
static int64_t merge(xfm_range *r, int64_t n)
{
	int64_t o = 0;

	for (int64_t i = 0; i < n; i++) {
		if (o && r[o - 1].start + r[o - 1].size == r[i].start)
			r[o - 1].size += r[i].size;
		else
			r[o++] = r[i];
	}
	return o;
}

int64_t cli_ranges(xfm_handle *h, xfm_range **out)
{
	int64_t n = xfm_get_ranges(h, NULL, 0), m;
	xfm_range *r;

	*out = NULL;
	if (n <= 0)
		return n;
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return -ENOMEM;
	m = xfm_get_ranges(h, r, (size_t)n);
	if (m < 0) {
		free(r);
		return m;
	}
	*out = r;
	return merge(r, m < n ? m : n);
}

bool ranges_cover(const xfm_range *r, int64_t n, uint64_t addr, uint64_t len,
		  uint64_t *gap)
{
	uint64_t end = addr + len;

	for (int64_t i = 0; i < n && addr < end; i++) {
		uint64_t rend = r[i].start + r[i].size;

		if (rend <= addr)
			continue;
		if (r[i].start > addr)
			break;
		addr = rend;
	}
	*gap = addr;
	return addr >= end;
}

int cli_span_covered(struct cli *cli, xfm_handle *h, uint64_t addr,
		     uint64_t len, bool *covered, uint64_t *gap)
{
	xfm_range *ranges;
	int64_t n = cli_ranges(h, &ranges);

	if (n < 0)
		return cli_lib_err(cli, (int)n, "memory map");
	*covered = ranges_cover(ranges, n, addr, len, gap);
	free(ranges);
	return 0;
}
