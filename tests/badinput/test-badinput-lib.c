/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * test-badinput-lib.c - the bad-input table (docs/bad-input.md), library
 * rows: each bad call returns its exact negative errno, sets a one-line
 * message naming what (file, frame, address, order), maps or writes
 * nothing, and leaves no file behind.  TAP output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xfm.h"

static int n, failed;
static char dir[64], raw[128];
static xfm_handle *h;

/* row: @got must be @want and the message must contain @sub, one line. */
static void row(const char *name, long got, long want, const char *sub)
{
	const char *msg = xfm_last_error();
	int good = got == want && strstr(msg, sub) && !strchr(msg, '\n');

	printf("%sok %d - %s: %s (%ld), '%s'\n", good ? "" : "not ", ++n,
	       name, strerror((int)-want), want, sub);
	if (!good) {
		printf("#   got %ld (%s): %s\n", got, strerror((int)-got), msg);
		failed++;
	}
}

static long map1(uint64_t frame, uint32_t order, unsigned int prot)
{
	xfm_extent e = { .frame = frame, .order = order };
	xfm_mapping *m = NULL;
	int rc = xfm_map(h, &e, 1, prot, NULL, &m);

	if (rc >= 0) {
		xfm_unmap(m);
		return rc;
	}
	return m ? -9999 : rc; /* a failed map must not hand one out */
}

static int dir_entries(void)
{
	char cmd[128];
	int k = 0;

	snprintf(cmd, sizeof(cmd), "ls -A %s", dir);
	FILE *p = popen(cmd, "r");
	for (int c; p && (c = getc(p)) != EOF;)
		k += c == '\n';
	if (p)
		pclose(p);
	return k;
}

/* Patch @len bytes at @off of file @p. */
static int patch(const char *p, off_t off, const void *v, size_t len)
{
	int fd = open(p, O_WRONLY), rc;

	if (fd < 0)
		return -1;
	rc = pwrite(fd, v, len, off) == (ssize_t)len ? 0 : -1;
	close(fd);
	return rc;
}

/* A kdump of raw.img (xfm's writer, no compression), then one field
 * wrong: the header version (xfm_open fails), page 0's descriptor flags
 * (xfm_read of page 0 fails).  Both errors are the format's: -ENOEXEC. */
static void kdump_rows(void)
{
	char kd[160];
	uint32_t v = 7, hdr[3], incomplete = 0x8;
	uint8_t b[16];
	xfm_handle *k = NULL;
	long rc;
	int fd;

	snprintf(kd, sizeof(kd), "%s/d.kdump", dir);
	if (xfm_dump(h, kd, XFM_DUMP_KDUMP, 0, NULL, NULL) < 0 ||
	    (fd = open(kd, O_RDONLY)) < 0) {
		printf("Bail out! kdump of %s: %s\n", raw, xfm_last_error());
		exit(1);
	}
	/* block_size, sub_hdr_size, bitmap_blocks at 428: descriptors follow
	 * the header block, the sub-header and the bitmaps. */
	rc = pread(fd, hdr, sizeof(hdr), 428);
	close(fd);
	if (rc != sizeof(hdr) ||
	    patch(kd, (off_t)hdr[0] * (1 + hdr[1] + hdr[2]) + 12,
		  &incomplete, 4) < 0) {
		printf("Bail out! cannot patch %s\n", kd);
		exit(1);
	}
	rc = xfm_open(&k, kd, 0);
	if (rc == 0) {
		rc = xfm_read(k, 0, b, sizeof(b), 0);
		xfm_close(k);
	}
	row("xfm_read a kdump page whose descriptor says incomplete", rc,
	    -ENOEXEC, "page 0x0 is marked incomplete");
	if (patch(kd, 8, &v, 4) < 0) {
		printf("Bail out! cannot patch %s\n", kd);
		exit(1);
	}
	k = NULL;
	rc = xfm_open(&k, kd, 0);
	row("xfm_open a kdump of header version 7", rc, -ENOEXEC,
	    "offset 0x8: kdump header version 7 is not 1..6");
	if (rc == 0)
		xfm_close(k);
	unlink(kd);
}

int main(void)
{
	uint8_t page[4096] = { 1 }, b[16];
	xfm_handle *h2 = NULL;
	char path[160];
	long rc;
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/xfm-badlib.XXXXXX");
	snprintf(raw, sizeof(raw), "%s/raw.img", mkdtemp(dir));
	fd = open(raw, O_WRONLY | O_CREAT, 0600);
	for (int i = 0; i < 256; i++) /* 1 MiB */
		if (write(fd, page, sizeof(page)) != sizeof(page))
			return 1;
	close(fd);
	if (xfm_open(&h, raw, 0) < 0) {
		printf("Bail out! %s\n", xfm_last_error());
		return 1;
	}

	/* xfm_map: orders, alignment, frames past the end and past 2^64 */
	row("xfm_map order XFM_MAX_ORDER + 1", map1(0, XFM_MAX_ORDER + 1,
	    XFM_PROT_READ), -EINVAL, "bad order");
	row("xfm_map order 64", map1(0, 64, XFM_PROT_READ), -EINVAL,
	    "bad order");
	row("xfm_map misaligned frame for its order", map1(3, 2,
	    XFM_PROT_READ), -EINVAL, "misaligned");
	row("xfm_map frame past the end of the dump", map1(0x100000, 0,
	    XFM_PROT_READ), -ENOENT, "frame 0x100000");
	row("xfm_map frame past the 64-bit address width",
	    map1(UINT64_C(1) << 52, 0, XFM_PROT_READ), -ENOENT,
	    "frame 0x10000000000000");
	row("xfm_map huge order far past the end", map1(UINT64_C(1) << 40,
	    XFM_MAX_ORDER, XFM_PROT_READ), -ENOENT, "frame 0x10000000000");
	row("xfm_map for writing on a read-only handle", map1(0, 0,
	    XFM_PROT_WRITE), -EROFS, "read-only");
	row("xfm_map unknown protection bits", map1(0, 0, 0x80), -EINVAL,
	    "unknown protection");
	{
		xfm_extent e[2] = { { .frame = UINT64_MAX - 1, .order = 1 },
				    { .frame = 0, .order = XFM_MAX_ORDER } };
		xfm_mapping *m;

		row("xfm_map extent wrapping past frame 2^64-1",
		    xfm_map(h, e, 1, XFM_PROT_READ, NULL, &m), -ENOENT,
		    "frame 0xfffffffffffffffe");
	}

	/* xfm_read / xfm_write */
	row("xfm_read past the end", xfm_read(h, 0x100000, b, 1, 0), -ERANGE,
	    "address 0x100000 is past the end");
	row("xfm_read wrapping the address space",
	    xfm_read(h, UINT64_MAX - 3, b, 8, 0), -EOVERFLOW, "wraps around");
	row("xfm_read unknown flags", xfm_read(h, 0, b, 1, 0x40), -EINVAL,
	    "unknown read flags");
	row("xfm_write on a read-only handle", xfm_write(h, 0, b, 1), -EROFS,
	    "read-only");
	row("xfm_set_cache window not a power of two",
	    xfm_set_cache(h, 3 << 20, 4), -EINVAL, "power of two");
	row("xfm_get_geometry size below 8", xfm_get_geometry(h, NULL, 4),
	    -EINVAL, "bad arguments");
	{
		xfm_mapping *m;

		row("xfm_map_resource on a dump",
		    xfm_map_resource(h, 0, 0, 0, 1, XFM_PROT_READ, &m),
		    -EOPNOTSUPP, "only for Xen sources");
	}

	/* xfm_open */
	row("xfm_open a dump for writing", xfm_open(&h2, raw, XFM_OPEN_WRITE),
	    -EROFS, "dump files are read-only");
	row("xfm_open unknown flags", xfm_open(&h2, raw, 0x100), -EINVAL,
	    "unknown open flags");
	/* With Xen running this is the lab's row (tests/xen/test-xen-live.c:
	 * -ENOENT, "xen:31000: no such domain"); here there is no Xen. */
	if (access("/dev/xen/privcmd", F_OK) == 0)
		printf("Bail out! /dev/xen/privcmd exists: this host test "
		       "needs a machine without Xen\n");
	row("xfm_open xen:31000 without Xen", xfm_open(&h2, "xen:31000", 0),
	    -ENODEV, "xen:31000: cannot open /dev/xen/privcmd");
	row("xfm_open empty URI", xfm_open(&h2, "", 0), -EINVAL, "no URI");

	/* xfm_dump: nothing left behind */
	snprintf(path, sizeof(path), "%s/raw.img", dir);
	row("xfm_dump over an existing file", xfm_dump(h, path, XFM_DUMP_RAW,
	    0, NULL, NULL), -EEXIST, path);
	snprintf(path, sizeof(path), "%s/d.bin", dir);
	row("xfm_dump unknown format", xfm_dump(h, path, 99, 0, NULL, NULL),
	    -EINVAL, "format");
	snprintf(path, sizeof(path), "%s/no/such/d.bin", dir);
	row("xfm_dump into a missing directory", xfm_dump(h, path,
	    XFM_DUMP_ELF, 0, NULL, NULL), -ENOENT, "no/such");
	rc = dir_entries();
	printf("%sok %d - xfm_dump failures left nothing (%ld entries, the "
	       "input only)\n", rc == 1 ? "" : "not ", ++n, rc);
	failed += rc != 1;
	kdump_rows();

	xfm_close(h);
	unlink(raw);
	rmdir(dir);
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
