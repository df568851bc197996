/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Test 3: a client written against Xen's header, as xl or QEMU are.  It
 * is built with Debian's /usr/include/xenforeignmemory.h and linked with
 * Debian's library; debian-client.sh runs it on Debian's library and on
 * ours (LD_LIBRARY_PATH) and compares.  header-check.sh also compiles
 * this file, unchanged, against our header.
 *
 * Output: "lib <file>" (where xenforeignmemory_open was bound, by dladdr),
 * then one line per call with its result and errno.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenforeignmemory.h>

/* Take every function's address: each must bind at its version. */
static void *const all_nine[] = {
	(void *)xenforeignmemory_open,
	(void *)xenforeignmemory_close,
	(void *)xenforeignmemory_map,
	(void *)xenforeignmemory_unmap,
	(void *)xenforeignmemory_restrict,
	(void *)xenforeignmemory_map2,
	(void *)xenforeignmemory_map_resource,
	(void *)xenforeignmemory_unmap_resource,
	(void *)xenforeignmemory_resource_size,
};

/* The library file every one of the nine resolved into, or "mixed". */
static const char *bound_file(char *buf, size_t len)
{
	Dl_info first, di;

	if (!dladdr(all_nine[0], &first) || !first.dli_fname)
		return "?";
	for (size_t i = 1; i < sizeof(all_nine) / sizeof(all_nine[0]); i++)
		if (!dladdr(all_nine[i], &di) ||
		    di.dli_fbase != first.dli_fbase)
			return "mixed";
	if (!realpath(first.dli_fname, buf))
		snprintf(buf, len, "%s", first.dli_fname);
	return buf;
}

static const char *en(int e)
{
	return e ? strerrorname_np(e) : "0";
}

int main(void)
{
	char path[PATH_MAX];
	long pg = sysconf(_SC_PAGESIZE);
	xenforeignmemory_handle *h;
	char *a;
	int rc, e;

	printf("lib %s\n", bound_file(path, sizeof(path)));
	errno = 0;
	rc = xenforeignmemory_close(NULL);
	printf("close(NULL) = %d errno=%s\n", rc, en(errno));
	if (access("/dev/xen/privcmd", F_OK) &&
	    access("/proc/xen/privcmd", F_OK)) {
		errno = 0;
		h = xenforeignmemory_open(NULL, 0);
		printf("open(NULL, 0) = %s errno=%s\n", h ? "handle" : "NULL",
		       en(errno));
		xenforeignmemory_close(h);
	}
	a = mmap(NULL, 2 * (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	errno = 0;
	rc = xenforeignmemory_unmap(NULL, a, (size_t)pg / 4096);
	e = errno;
	printf("unmap(anonymous page) = %d errno=%s then %s\n", rc, en(e),
	       msync(a, 1, MS_ASYNC) ? en(errno) : "still mapped");
	errno = 0;
	rc = xenforeignmemory_unmap(NULL, a + pg, 0);
	printf("unmap(0 pages) = %d errno=%s\n", rc, en(errno));
	munmap(a + pg, (size_t)pg);
	errno = 0;
	rc = xenforeignmemory_unmap_resource(NULL, NULL);
	printf("unmap_resource(NULL) = %d errno=%s\n", rc, en(errno));
	return 0;
}
