/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * dropin-compare - the libxenforeignmemory.so.1 API on a live Arm guest,
 * run in the lab's dom0 once with Debian's library and once with ours
 * (LD_LIBRARY_PATH); run-arm.sh and test-dropin.sh compare the two outputs.
 *
 *   dropin-compare map DOMID RAM_FIRST_FRAME RAM_FRAMES REGION_FRAME
 *     Maps 1, 3, 5 and 7 frames at odd starting frames (guest RAM and the
 *     marker's region), and 7 frames across the end of guest RAM, one
 *     xenforeignmemory_map() call each.  Prints per batch: each frame's err
 *     and, for mapped frames, a 64-bit FNV-1a hash of its 4096 bytes.
 *     Nothing library-specific (addresses) goes to stdout.
 *   dropin-compare resource DOMID
 *     The grant table through xenforeignmemory_map_resource(): with a
 *     kernel page larger than 4096, 2 frames must be refused (NULL,
 *     errno EOPNOTSUPP) and 1 frame must map.  Run it with our library
 *     only: Debian's hands the 2-frame call to the kernel, which corrupts
 *     dom0's memory on a 16 KiB kernel.
 * Exit 0 when every call behaved, 1 otherwise, 2 usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenforeignmemory.h>

#define FRAME 4096u

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void which_lib(void)
{
	Dl_info info;

	if (dladdr((void *)xenforeignmemory_map, &info) && info.dli_fname)
		fprintf(stderr, "# library: %s\n", info.dli_fname);
}

/* One batch; returns 1 when the call itself failed (NULL). */
static int batch(xenforeignmemory_handle *fm, uint32_t dom, uint64_t start,
		 unsigned int n)
{
	xen_pfn_t arr[8];
	int err[8];
	unsigned char *p;
	long kpage = sysconf(_SC_PAGESIZE);

	for (unsigned int i = 0; i < n; i++) {
		arr[i] = (xen_pfn_t)(start + i);
		err[i] = 12345;
	}
	p = xenforeignmemory_map(fm, dom, PROT_READ, n, arr, err);
	printf("batch start=0x%" PRIx64 " n=%u:", start, n);
	if (!p) {
		printf(" map failed errno=%d\n", errno);
		return 1;
	}
	fprintf(stderr, "# batch 0x%" PRIx64 "+%u at %p (addr %% kernel page "
		"= %lu)\n", start, n, (void *)p,
		(unsigned long)((uintptr_t)p % (uintptr_t)kpage));
	for (unsigned int i = 0; i < n; i++) {
		if (err[i])
			printf(" [%u] err=%d", i, err[i]);
		else
			printf(" [%u] err=0 fnv=%016" PRIx64, i,
			       fnv1a(p + (size_t)i * FRAME, FRAME));
	}
	printf("\n");
	return xenforeignmemory_unmap(fm, p, n) != 0;
}

static int do_map(xenforeignmemory_handle *fm, uint32_t dom, uint64_t first,
		  uint64_t frames, uint64_t region)
{
	static const unsigned int counts[] = { 1, 3, 5, 7 };
	int bad = 0;

	for (size_t c = 0; c < 4; c++) {
		/* Odd frames at every offset inside a 16 KiB page: 1, 3, 5->1, 7->3. */
		bad += batch(fm, dom, first + counts[c], counts[c]);
		bad += batch(fm, dom, (region | 1) + 2 * c, counts[c]);
	}
	/* 3 frames of RAM, then 4 past its end. */
	bad += batch(fm, dom, first + frames - 3, 7);
	return bad != 0;
}

struct gnttab_v1 {
	uint16_t flags;
	uint16_t domid;
	uint32_t frame;
};

static int do_resource(xenforeignmemory_handle *fm, uint32_t dom)
{
	xenforeignmemory_resource_handle *r;
	void *addr = NULL;
	long kpage = sysconf(_SC_PAGESIZE);
	int bad = 0;

	if (kpage > (long)FRAME) {
		errno = 0;
		r = xenforeignmemory_map_resource(fm, (domid_t)dom, 1, 0, 0, 2,
						  &addr, PROT_READ, 0);
		printf("resource grant-table 2 frames, kernel page %ld: %s "
		       "errno=%d (%s)\n", kpage, r ? "MAPPED" : "refused",
		       errno, strerror(errno));
		if (r) {
			xenforeignmemory_unmap_resource(fm, r);
			bad = 1;
		} else if (errno != EOPNOTSUPP) {
			bad = 1;
		}
	}
	addr = NULL;
	r = xenforeignmemory_map_resource(fm, (domid_t)dom, 1, 0, 0, 1, &addr,
					  PROT_READ, 0);
	if (!r) {
		printf("resource grant-table 1 frame: failed errno=%d\n", errno);
		return 1;
	}
	{
		const struct gnttab_v1 *gt = addr;

		printf("resource grant-table 1 frame: mapped, entry 1 flags=0x%x "
		       "domid=%u frame=0x%x\n", gt[1].flags, gt[1].domid,
		       gt[1].frame);
		bad |= !(gt[1].flags & 1) || gt[1].frame == 0;
	}
	xenforeignmemory_unmap_resource(fm, r);
	return bad;
}

int main(int argc, char **argv)
{
	xenforeignmemory_handle *fm;
	uint32_t dom;
	int rc;

	if (argc < 3 || ((strcmp(argv[1], "map") || argc != 6) &&
			 (strcmp(argv[1], "resource") || argc != 3))) {
		fprintf(stderr, "usage: dropin-compare map DOMID FIRST FRAMES "
			"REGION | resource DOMID\n");
		return 2;
	}
	dom = (uint32_t)strtoul(argv[2], NULL, 0);
	which_lib();
	fm = xenforeignmemory_open(NULL, 0);
	if (!fm) {
		perror("xenforeignmemory_open");
		return 1;
	}
	if (!strcmp(argv[1], "map"))
		rc = do_map(fm, dom, strtoull(argv[3], NULL, 0),
			    strtoull(argv[4], NULL, 0),
			    strtoull(argv[5], NULL, 0));
	else
		rc = do_resource(fm, dom);
	xenforeignmemory_close(fm);
	return rc;
}
