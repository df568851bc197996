// SPDX-License-Identifier: LGPL-2.1-only
/*
 * which-fm: a client of libxenforeignmemory.so.1 built against Xen's own
 * header and library (libxen-dev), like xl or QEMU.  Prints the file the
 * dynamic loader bound xenforeignmemory_open to, so the package test can
 * tell whether a program runs on Debian's library or on xfm's drop-in
 * (selected with xfm-run), then calls it once: on a machine without
 * /dev/xen/privcmd both libraries fail, and the errno is printed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <xenforeignmemory.h>

int main(void)
{
	Dl_info info;
	xenforeignmemory_handle *fmem;

	if (!dladdr((void *)xenforeignmemory_open, &info) || !info.dli_fname) {
		fprintf(stderr, "which-fm: dladdr found no library\n");
		return 1;
	}
	printf("library %s\n", info.dli_fname);
	fmem = xenforeignmemory_open(NULL, 0);
	if (!fmem) {
		printf("open failed: %s\n", strerror(errno));
		return 0;
	}
	printf("open ok\n");
	xenforeignmemory_close(fmem);
	return 0;
}
