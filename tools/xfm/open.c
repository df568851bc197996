/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * open.c - SOURCE arguments to libxfm handles.
 *
 * libxfm takes xen:<domid>; people know their guests by name, so
 * xen:<name> is looked up here in xenstore (/local/domain/<id>/name).
 */
#include <errno.h>
#include <inttypes.h>
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

/* The library's warnings, as it printed them itself before callbacks. */
static void cli_warning(void *opaque, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "xfm: warning: %s\n", msg);
}

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
	rc = xfm_open_ex(out, source, flags, cli_warning, NULL);
	if (rc < 0) {
		cli_lib_err(cli, rc, NULL);
		return EXIT_SOURCE;
	}
	return 0;
}

int cli_check_span(struct cli *cli, xfm_handle *h, uint64_t addr,
		   uint64_t len, const char *why)
{
	uint64_t gap = 0;
	int rc = xfm_span_present(h, addr, len, &gap);

	if (rc < 0)
		return cli_lib_err(cli, rc, "memory map");
	if (rc == 1)
		return 0;
	cli_err(cli, "0x%" PRIx64 "+0x%" PRIx64 ": address 0x%" PRIx64
		" is not in the source%s", addr, len, gap, why);
	return EXIT_RANGE;
}
