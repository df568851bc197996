/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * compat-lib.h - a libxenforeignmemory loaded by path into a namespace of
 * its own (dlmopen), so ours and Debian's (same SONAME) can sit in one
 * process; and a xentoollog logger that records what a library logs.
 */
#ifndef XFM_TEST_COMPAT_LIB_H
#define XFM_TEST_COMPAT_LIB_H

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <xentoollog.h>
#include "xenforeignmemory.h"

struct fm_lib {
	const char *path;
	void *dl;
	xenforeignmemory_handle *(*open)(struct xentoollog_logger *, unsigned);
	int (*close)(xenforeignmemory_handle *);
	void *(*map)(xenforeignmemory_handle *, uint32_t, int, size_t,
		     const xen_pfn_t *, int *);
	void *(*map2)(xenforeignmemory_handle *, uint32_t, void *, int, int,
		      size_t, const xen_pfn_t *, int *);
	int (*unmap)(xenforeignmemory_handle *, void *, size_t);
	int (*restrict_)(xenforeignmemory_handle *, domid_t);
	xenforeignmemory_resource_handle *(*map_resource)(
		xenforeignmemory_handle *, domid_t, unsigned int, unsigned int,
		unsigned long, unsigned long, void **, int, int);
	int (*unmap_resource)(xenforeignmemory_handle *,
			      xenforeignmemory_resource_handle *);
	int (*resource_size)(xenforeignmemory_handle *, domid_t, unsigned int,
			     unsigned int, size_t *);
	/* From the same namespace's libxentoolcore. */
	int (*restrict_all)(domid_t);
	/* The namespace has its own libc, hence its own errno. */
	int *(*errno_location)(void);
};

/* errno as the library set it (not this namespace's). */
static inline int lib_errno(struct fm_lib *l)
{
	return *l->errno_location();
}

static inline void lib_errno_clear(struct fm_lib *l)
{
	*l->errno_location() = 0;
}

/* Look up @name at its Xen version, so a wrong version node fails too. */
static inline void *fm_sym(struct fm_lib *l, const char *name,
			   const char *ver)
{
	void *p = ver ? dlvsym(l->dl, name, ver) : dlsym(l->dl, name);

	if (!p)
		fprintf(stderr, "# %s: no %s@%s\n", l->path, name,
			ver ? ver : "");
	return p;
}

/* Load @path in a fresh link-map namespace; 0 or -1. */
static inline int fm_load(struct fm_lib *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	l->path = path;
	l->dl = dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL);
	if (!l->dl) {
		fprintf(stderr, "# dlmopen %s: %s\n", path, dlerror());
		return -1;
	}
	*(void **)&l->open = fm_sym(l, "xenforeignmemory_open", "VERS_1.0");
	*(void **)&l->close = fm_sym(l, "xenforeignmemory_close", "VERS_1.0");
	*(void **)&l->map = fm_sym(l, "xenforeignmemory_map", "VERS_1.0");
	*(void **)&l->unmap = fm_sym(l, "xenforeignmemory_unmap", "VERS_1.0");
	*(void **)&l->restrict_ = fm_sym(l, "xenforeignmemory_restrict",
					 "VERS_1.1");
	*(void **)&l->map2 = fm_sym(l, "xenforeignmemory_map2", "VERS_1.2");
	*(void **)&l->map_resource = fm_sym(l, "xenforeignmemory_map_resource",
					    "VERS_1.3");
	*(void **)&l->unmap_resource = fm_sym(l,
		"xenforeignmemory_unmap_resource", "VERS_1.3");
	*(void **)&l->resource_size = fm_sym(l,
		"xenforeignmemory_resource_size", "VERS_1.4");
	*(void **)&l->restrict_all = fm_sym(l, "xentoolcore_restrict_all",
					    NULL);
	*(void **)&l->errno_location = fm_sym(l, "__errno_location", NULL);
	return l->errno_location && l->open && l->close && l->map &&
	       l->unmap && l->restrict_ && l->map2 && l->map_resource &&
	       l->unmap_resource && l->resource_size && l->restrict_all ? 0 : -1;
}

/* A logger that remembers the count and the last message's details. */
struct cap_logger {
	struct xentoollog_logger vt;
	int n;
	int level;
	int errnoval;
	char context[32];
	char last[512];
};

static inline void cap_vmessage(struct xentoollog_logger *lg,
				xentoollog_level level, int errnoval,
				const char *context, const char *fmt,
				va_list ap)
{
	struct cap_logger *c = (struct cap_logger *)lg;

	c->n++;
	c->level = (int)level;
	c->errnoval = errnoval;
	snprintf(c->context, sizeof(c->context), "%s", context ? context : "");
	vsnprintf(c->last, sizeof(c->last), fmt, ap);
}

static inline void cap_destroy(struct xentoollog_logger *lg)
{
	(void)lg;
}

static inline void cap_init(struct cap_logger *c)
{
	memset(c, 0, sizeof(*c));
	c->vt.vmessage = cap_vmessage;
	c->vt.destroy = cap_destroy;
}

/* A transcript: one line per call, compared between the libraries. */
struct transcript {
	char buf[8192];
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static inline void tr(struct transcript *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len >= sizeof(t->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n;
}

/* "ENOENT", or "0" for no error: stable across glibc versions. */
static inline const char *ename(int e)
{
	const char *s = e ? strerrorname_np(e) : "0";

	return s ? s : "?";
}

/* The library's errno, by name, for a transcript line. */
#define LERR(l) ename(lib_errno(l))

#endif /* XFM_TEST_COMPAT_LIB_H */
