/* SPDX-License-Identifier: LGPL-2.1-only */
/* handle.c - opening sources, geometry, memory map, Xen specifics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

#define DEFAULT_WINDOW (UINT64_C(1) << 20)
/* Enough windows to cover the source (random reads then map each window
 * once), within [MIN, MAX]: at most 1 GiB of address space mapped. */
#define MIN_DEFAULT_WINDOWS 64
#define MAX_DEFAULT_WINDOWS 1024

/* "dump.elf", "/x" and "./x:y" are paths; "xen:7" and "foo:bar" are not. */
static bool is_path(const char *uri)
{
	return !strchr(uri, ':') || uri[0] == '/' || uri[0] == '.';
}

static int unknown_uri(const char *uri)
{
	char list[256] = "";
	size_t n = 0;

	for (const struct xfm_source_type *t = xfm_source_types; t->prefix;
	     t++)
		n += (size_t)snprintf(list + n, n < sizeof(list) ?
				      sizeof(list) - n : 0, "%s, ", t->usage);
	if (n >= 2 && n < sizeof(list))
		list[n - 2] = '\0';
	return xfm_fail(-EINVAL, "%s: unknown source (expected %s or a path)",
			uri, list);
}

static int open_source(const char *uri, const struct xfm_open_args *a,
		       struct xfm_source **src)
{
	const struct xfm_source_type *t;

	for (t = xfm_source_types; t->prefix; t++)
		if (!strncmp(uri, t->prefix, strlen(t->prefix)))
			return t->open(uri + strlen(t->prefix), a, src);
	for (t = xfm_source_types; t->prefix && is_path(uri); t++)
		if (t->bare_path)
			return t->open(uri, a, src);
	return unknown_uri(uri);
}

XFM_EXPORT int xfm_open_ex(xfm_handle **out, const char *uri,
			   unsigned int flags, xfm_warn_fn warn, void *opaque)
{
	/* Quiet: no warning reaches anyone, callback or not. */
	struct xfm_open_args a = {
		.flags = flags,
		.warn = (flags & XFM_OPEN_QUIET) ? NULL : warn,
		.warn_opaque = opaque,
	};
	struct xfm_source *src = NULL;
	int rc;

	xfm_clear_error();
	if (!out || !uri || !*uri)
		return xfm_fail(-EINVAL, "xfm_open: no URI given");
	if (flags & ~(unsigned int)(XFM_OPEN_WRITE | XFM_OPEN_QUIET))
		return xfm_fail(-EINVAL, "%s: unknown open flags 0x%x", uri,
				flags);
	rc = open_source(uri, &a, &src);
	if (rc < 0)
		return rc;
	rc = xfm_handle_from_source(src, out);
	if (rc < 0)
		src->ops->close(src);
	return rc;
}

XFM_EXPORT int xfm_open(xfm_handle **out, const char *uri, unsigned int flags)
{
	return xfm_open_ex(out, uri, flags, xfm_warn_stderr, NULL);
}

static uint32_t default_windows(const xfm_handle *h)
{
	uint64_t per = DEFAULT_WINDOW / h->psz.frame;
	uint64_t n = per ? h->geo.max_frame / per + 1 : MIN_DEFAULT_WINDOWS;

	if (n < MIN_DEFAULT_WINDOWS)
		return MIN_DEFAULT_WINDOWS;
	return n > MAX_DEFAULT_WINDOWS ? MAX_DEFAULT_WINDOWS : (uint32_t)n;
}

int xfm_handle_from_source(struct xfm_source *src, xfm_handle **out)
{
	xfm_handle *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return xfm_fail(-ENOMEM, "%s: out of memory", src->label);
	h->src = src;
	rc = src->ops->geometry(src, &h->geo);
	if (rc < 0)
		goto out_free;
	/* The geometry, filled once: the source reported its part. */
	h->psz = xfm_pagesz_of(h->geo.frame_size);
	h->geo.kernel_page_size = h->psz.kpage;
	src->psz = h->psz;
	/* At most 2^64 - 1: max_frame * frame + frame - 1 cannot wrap. */
	h->last_byte = h->geo.max_frame * h->psz.frame + (h->psz.frame - 1);
	h->frame_shift = xfm_log2(h->psz.frame);
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->os_lock, NULL);
	rc = xfm_cache_init(h, DEFAULT_WINDOW, default_windows(h));
	if (rc < 0) {
		pthread_mutex_destroy(&h->lock);
		pthread_mutex_destroy(&h->os_lock);
		goto out_free;
	}
	rc = xfm_vm_new(h);
	if (rc < 0) {
		xfm_cache_fini(h);
		pthread_mutex_destroy(&h->lock);
		goto out_free;
	}
	*out = h;
	return 0;
out_free:
	free(h);
	return rc;
}

XFM_EXPORT int xfm_close(xfm_handle *h)
{
	if (!h)
		return 0;
	xfm_vm_free(h);
	xfm_cache_fini(h);
	xfm_map_spare_free(h);
	free(h->ranges);
	xfm_os_fini(h);
	h->src->ops->close(h->src);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->os_lock);
	free(h);
	return 0;
}

XFM_EXPORT const char *xfm_source_name(const xfm_handle *h)
{
	return h ? h->src->ops->name : "";
}

XFM_EXPORT int xfm_get_geometry(xfm_handle *h, xfm_geometry *g, size_t size)
{
	if (!h || !g || size < sizeof(uint64_t))
		return xfm_fail(-EINVAL, "xfm_get_geometry: bad arguments");
	memcpy(g, &h->geo, size < sizeof(h->geo) ? size : sizeof(h->geo));
	return 0;
}

XFM_EXPORT int xfm_set_cache(xfm_handle *h, uint64_t window_size,
			     uint32_t nr_windows)
{
	int rc;

	if (!h)
		return xfm_fail(-EINVAL, "xfm_set_cache: no handle");
	pthread_mutex_lock(&h->lock);
	rc = xfm_cache_init(h, window_size, nr_windows);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

XFM_EXPORT int xfm_invalidate(xfm_handle *h, uint64_t addr, uint64_t len)
{
	uint64_t first, last;

	if (!h)
		return xfm_fail(-EINVAL, "xfm_invalidate: no handle");
	if (len == 0)
		return 0;
	first = addr / h->psz.frame;
	last = len > UINT64_MAX - addr ? UINT64_MAX / h->psz.frame
				       : (addr + len - 1) / h->psz.frame;
	pthread_mutex_lock(&h->lock);
	xfm_cache_drop(h, first, last);
	h->have_ranges = false;
	pthread_mutex_unlock(&h->lock);
	/* Page tables live in guest memory: any change may move them. */
	xfm_vm_flush(h, true);
	return 0;
}

static int not_supported(xfm_handle *h, const char *what)
{
	return xfm_fail(-EOPNOTSUPP, "%s: %s is only for Xen sources",
			h->src->label, what);
}

XFM_EXPORT int xfm_restrict(xfm_handle *h)
{
	if (!h)
		return xfm_fail(-EINVAL, "xfm_restrict: no handle");
	if (!h->src->ops->restrict_domain)
		return not_supported(h, "restrict");
	return h->src->ops->restrict_domain(h->src);
}

XFM_EXPORT int xfm_resource_size(xfm_handle *h, unsigned int type,
				 unsigned int id, uint64_t *size)
{
	if (!h || !size)
		return xfm_fail(-EINVAL, "xfm_resource_size: bad arguments");
	if (!h->src->ops->resource_size)
		return not_supported(h, "resource mapping");
	return h->src->ops->resource_size(h->src, type, id, size);
}
