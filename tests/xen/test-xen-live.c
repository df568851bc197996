/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * test-xen-live - libxfm's Xen source against a real hypervisor, run in
 * the lab's dom0.  The guest (lab/guest/marker.c) put known bytes at
 * frames it reported; the lab exports them as XFM_GUEST_<TYPE>_* and
 * writes the expected bytes to files.  Usage: test-xen-live [pvh|pv]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "privcmd.h"
#include "privcmd-abi.h"
#include "../lib/tap.h"

#define FS 4096u

struct guest {
	const char *type;
	char uri[32];
	uint32_t domid;
	uint64_t marker_pfn;
	uint8_t marker[FS];
	uint8_t *region;        /* REGION_PAGES * FS expected bytes */
	uint64_t region_pages;
	uint64_t *region_pfn;   /* pfn of region page i */
	char console[256];
};

static const char *fact(const char *type, const char *key)
{
	char name[128];
	const char *v;

	snprintf(name, sizeof(name), "XFM_GUEST_%s_%s", type, key);
	v = getenv(name);
	if (!v) {
		fprintf(stderr, "test-xen-live: %s is not set (run in the lab)\n",
			name);
		exit(2);
	}
	return v;
}

static uint8_t *slurp(const char *path, size_t want)
{
	uint8_t *buf = malloc(want);
	int fd = open(path, O_RDONLY);

	if (!buf || fd < 0 || read(fd, buf, want) != (ssize_t)want) {
		fprintf(stderr, "test-xen-live: cannot read %zu bytes of %s\n",
			want, path);
		exit(2);
	}
	close(fd);
	return buf;
}

/* "0x1234+512,0x5678+512" -> the pfn of each region page, in order. */
static void parse_runs(struct guest *g, const char *runs)
{
	uint64_t k = 0;

	g->region_pfn = calloc(g->region_pages, sizeof(uint64_t));
	while (*runs && k < g->region_pages) {
		char *end;
		uint64_t pfn = strtoull(runs, &end, 0);
		uint64_t n = strtoull(end + 1, &end, 10);

		for (uint64_t i = 0; i < n && k < g->region_pages; i++)
			g->region_pfn[k++] = pfn + i;
		runs = *end ? end + 1 : end;
	}
	if (k != g->region_pages) {
		fprintf(stderr, "test-xen-live: region runs cover %llu of %llu "
			"pages\n", (unsigned long long)k,
			(unsigned long long)g->region_pages);
		exit(2);
	}
}

/* The guest's domid now: xl save/restore (test-dropin.sh) changes it. */
static uint32_t current_domid(const char *type)
{
	char cmd[128], line[32] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "xl domid %s 2>/dev/null", fact(type, "NAME"));
	p = popen(cmd, "r");
	if (p && fgets(line, sizeof(line), p) && line[0] >= '0' &&
	    line[0] <= '9') {
		pclose(p);
		return (uint32_t)strtoul(line, NULL, 10);
	}
	if (p)
		pclose(p);
	return (uint32_t)strtoul(fact(type, "DOMID"), NULL, 0);
}

static void load_guest(struct guest *g, const char *type)
{
	uint8_t *m;

	g->type = type;
	g->domid = current_domid(type);
	snprintf(g->uri, sizeof(g->uri), "xen:%u", g->domid);
	g->marker_pfn = strtoull(fact(type, "MARKER_PFN"), NULL, 0);
	m = slurp(fact(type, "MARKER_FILE"), FS);
	memcpy(g->marker, m, FS);
	free(m);
	g->region_pages = strtoull(fact(type, "REGION_PAGES"), NULL, 0);
	g->region = slurp(fact(type, "REGION_FILE"), g->region_pages * FS);
	parse_runs(g, fact(type, "REGION_PFNS"));
	snprintf(g->console, sizeof(g->console), "%s",
		 fact(type, "CONSOLE_LOG"));
}

static xfm_handle *open_or_bail(const char *uri, unsigned int flags)
{
	xfm_handle *h = NULL;
	int rc = xfm_open(&h, uri, flags);

	if (!tap_ok(rc == 0, "open %s (flags %u): %d %s", uri, flags, rc,
		    xfm_last_error()))
		exit(tap_done());
	return h;
}

static uint64_t sysfs_pagesize(void)
{
	char buf[32] = "";
	uint64_t v = 0;
	FILE *f = fopen("/sys/hypervisor/properties/pagesize", "r");

	if (f && fgets(buf, sizeof(buf), f))
		xfm_parse_sysfs_pagesize(buf, &v);
	if (f)
		fclose(f);
	return v;
}

static void test_type(xfm_handle *h, struct guest *g)
{
	const char *k, *v, *type = "";

	for (size_t i = 0; xfm_source_info(h, i, &k, &v) == 0; i++) {
		tap_diag("fact %s = %s", k, v);
		if (!strcmp(k, "xen.type"))
			type = v;
	}
	/* PVH guests are HVM containers to Xen. */
	tap_ok(!strcmp(type, !strcmp(g->type, "PV") ? "pv" : "hvm"),
	       "%s: domain type from Xen: %s", g->type, type);
}

static void test_geometry(xfm_handle *h)
{
	xfm_geometry g;

	tap_ok(xfm_get_geometry(h, &g, sizeof(g)) == 0, "geometry");
	tap_ok(g.frame_size == FS, "frame size 4096 (got %llu)",
	       (unsigned long long)g.frame_size);
	tap_ok(g.hyp_page_size == sysfs_pagesize() && g.hyp_page_size,
	       "XENVER_pagesize %llu == sysfs %llu",
	       (unsigned long long)g.hyp_page_size,
	       (unsigned long long)sysfs_pagesize());
	tap_ok(g.origin == XFM_ORIGIN_HYPERCALL, "page size from the "
	       "hypercall (origin %u)", g.origin);
	tap_ok(g.kernel_page_size == (uint64_t)sysconf(_SC_PAGESIZE),
	       "kernel page %llu", (unsigned long long)g.kernel_page_size);
	/* The lab knows which dom0 kernel it booted (Arm: 4 or 16 KiB). */
	if (getenv("XFM_EXPECT_KERNEL_PAGE"))
		tap_ok(g.kernel_page_size ==
		       strtoull(getenv("XFM_EXPECT_KERNEL_PAGE"), NULL, 0),
		       "kernel page %llu is the booted kernel's %s",
		       (unsigned long long)g.kernel_page_size,
		       getenv("XFM_EXPECT_KERNEL_PAGE"));
	tap_diag("geometry: frame %llu hyp %llu kernel %llu max_frame 0x%llx",
		 (unsigned long long)g.frame_size,
		 (unsigned long long)g.hyp_page_size,
		 (unsigned long long)g.kernel_page_size,
		 (unsigned long long)g.max_frame);
}

static void test_read_marker(xfm_handle *h, struct guest *g)
{
	uint8_t buf[FS];
	int rc = xfm_read(h, g->marker_pfn * FS, buf, FS, 0);

	tap_ok(rc == 0 && memcmp(buf, g->marker, FS) == 0,
	       "%s: xfm_read of marker frame 0x%llx gives the guest's bytes "
	       "(rc %d, tag '%.16s')", g->type,
	       (unsigned long long)g->marker_pfn, rc, (char *)buf);
	/* Unaligned, crossing into the next frame's first bytes. */
	rc = xfm_read(h, g->marker_pfn * FS + 4000, buf, 96, 0);
	tap_ok(rc == 0 && memcmp(buf, g->marker + 4000, 96) == 0,
	       "%s: unaligned read at marker+4000", g->type);
}

static void test_map_marker(xfm_handle *h, struct guest *g)
{
	xfm_extent e[2] = { { .frame = g->marker_pfn },
			    { .frame = 0x7f00000 } }; /* 127 GiB: no RAM */
	xfm_mapping *m = NULL;
	int rc = xfm_map(h, e, 2, XFM_PROT_READ, NULL, &m);

	tap_ok(rc == 1 && e[0].err == 0 && e[1].err < 0,
	       "%s: map marker + absent frame: %d mapped, errs %d %d",
	       g->type, rc, e[0].err, e[1].err);
	if (rc == 1)
		tap_ok(memcmp(xfm_map_addr(m), g->marker, FS) == 0,
		       "%s: mapped marker bytes match", g->type);
	xfm_unmap(m);
}

/* Split a run of frames into naturally aligned power-of-two extents. */
static size_t run_extents(uint64_t pfn, uint64_t n, xfm_extent *e, size_t max)
{
	size_t k = 0;

	while (n && k < max) {
		uint32_t order = 0;

		while (order < 20 && !(pfn & ((UINT64_C(2) << order) - 1)) &&
		       (UINT64_C(2) << order) <= n)
			order++;
		e[k++] = (xfm_extent){ .frame = pfn, .order = order };
		pfn += UINT64_C(1) << order;
		n -= UINT64_C(1) << order;
	}
	return k;
}

static void test_region_orders(xfm_handle *h, struct guest *g)
{
	xfm_extent e[4096];
	size_t n = 0, max_order = 0;
	uint64_t i = 0, bad = 0;
	xfm_mapping *m = NULL;
	int rc;

	/* Runs of consecutive pfns in the region, as ordered extents. */
	while (i < g->region_pages && n < 4096) {
		uint64_t len = 1;

		while (i + len < g->region_pages &&
		       g->region_pfn[i + len] == g->region_pfn[i] + len)
			len++;
		n += run_extents(g->region_pfn[i], len, e + n, 4096 - n);
		i += len;
	}
	for (size_t k = 0; k < n; k++)
		max_order = e[k].order > max_order ? e[k].order : max_order;
	rc = xfm_map(h, e, n, XFM_PROT_READ, NULL, &m);
	tap_ok(rc == (int)n, "%s: region as %zu extents (max order %zu) in "
	       "one map: %d ok", g->type, n, max_order, rc);
	if (rc > 0)
		bad = (uint64_t)memcmp(xfm_map_addr(m), g->region,
				       g->region_pages * FS);
	tap_ok(rc > 0 && bad == 0 && xfm_map_length(m) == g->region_pages * FS,
	       "%s: the 4 MiB region reads back exactly through the extents",
	       g->type);
	xfm_unmap(m);
}

/*
 * Batches of odd sizes starting at an odd frame: n region pages from the
 * first one whose frame is odd, one order-0 extent each, one xfm_map call.
 * With a 16 KiB kernel page such batches start and end inside a kernel page.
 * Then one batch mixing orders: 2^1 + 2^0 + 2^2 frames of the region's
 * first naturally aligned run of 8.
 */
static void test_odd_batches(xfm_handle *h, struct guest *g)
{
	static const unsigned int counts[] = { 1, 3, 5, 7 };
	xfm_extent e[8];
	xfm_mapping *m = NULL;
	uint64_t i = 0;
	int rc;

	while (i + 8 < g->region_pages && !(g->region_pfn[i] & 1))
		i++;
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		unsigned int n = counts[c], errs = 0;

		for (unsigned int k = 0; k < n; k++)
			e[k] = (xfm_extent){ .frame = g->region_pfn[i + k] };
		rc = xfm_map(h, e, n, XFM_PROT_READ, NULL, &m);
		for (unsigned int k = 0; k < n; k++)
			errs += e[k].err != 0;
		tap_ok(rc == (int)n && errs == 0 &&
		       xfm_map_length(m) == n * FS &&
		       !memcmp(xfm_map_addr(m), g->region + i * FS, n * FS),
		       "%s: %u frames from odd frame 0x%llx in one batch: %d "
		       "mapped, %u errors, bytes match", g->type, n,
		       (unsigned long long)e[0].frame, rc, errs);
		xfm_unmap(m);
		m = NULL;
	}
	for (i = 0; i + 8 <= g->region_pages; i++)
		if (!(g->region_pfn[i] & 7) &&
		    g->region_pfn[i + 7] == g->region_pfn[i] + 7)
			break;
	if (i + 8 > g->region_pages) {
		tap_skip("%s: no aligned run of 8 frames in the region",
			 g->type);
		return;
	}
	e[0] = (xfm_extent){ .frame = g->region_pfn[i], .order = 1 };
	e[1] = (xfm_extent){ .frame = g->region_pfn[i] + 3 };
	e[2] = (xfm_extent){ .frame = g->region_pfn[i] + 4, .order = 2 };
	rc = xfm_map(h, e, 3, XFM_PROT_READ, NULL, &m);
	tap_ok(rc == 3 && xfm_map_length(m) == 7 * FS &&
	       !memcmp(xfm_map_addr(m), g->region + i * FS, 2 * FS) &&
	       !memcmp((char *)xfm_map_addr(m) + 2 * FS,
		       g->region + (i + 3) * FS, 5 * FS),
	       "%s: orders 1, 0, 2 at 0x%llx, 0x%llx, 0x%llx in one batch: "
	       "%d mapped, bytes match", g->type,
	       (unsigned long long)e[0].frame, (unsigned long long)e[1].frame,
	       (unsigned long long)e[2].frame, rc);
	xfm_unmap(m);
}

/*
 * Reads and a write that straddle a 16 KiB boundary of guest-physical
 * memory (frame 4k+3 -> 4k+4): with a 16 KiB kernel page each side lies
 * in another kernel page of the mapping; through a small cache, each side
 * comes from another cache window.  The write is undone.
 */
static void test_cache_boundary(struct guest *g)
{
	xfm_handle *h, *rw;
	uint8_t buf[256], pat[64], back[64];
	uint64_t i, addr;
	int rc;

	for (i = 0; i + 1 < g->region_pages; i++)
		if ((g->region_pfn[i] & 3) == 3 &&
		    g->region_pfn[i + 1] == g->region_pfn[i] + 1)
			break;
	if (i + 1 >= g->region_pages) {
		tap_skip("%s: no 16 KiB boundary between two region frames",
			 g->type);
		return;
	}
	addr = (g->region_pfn[i] + 1) * FS; /* 16 KiB aligned */
	h = open_or_bail(g->uri, 0);
	xfm_set_cache(h, 16384, 2);
	rc = xfm_read(h, addr - 128, buf, sizeof(buf), 0);
	tap_ok(rc == 0 && !memcmp(buf, g->region + (i + 1) * FS - 128, 256),
	       "%s: cached read of 256 bytes across the 16 KiB boundary at "
	       "0x%llx (16 KiB x 2 cache): %d", g->type,
	       (unsigned long long)addr, rc);
	xfm_close(h);

	for (size_t k = 0; k < sizeof(pat); k++)
		pat[k] = (uint8_t)(0xa5 ^ k);
	rw = open_or_bail(g->uri, XFM_OPEN_WRITE);
	xfm_set_cache(rw, 16384, 2);
	rc = xfm_write(rw, addr - 32, pat, sizeof(pat));
	tap_ok(rc == 0, "%s: write 64 bytes across the 16 KiB boundary: %d %s",
	       g->type, rc, rc ? xfm_last_error() : "");
	h = open_or_bail(g->uri, 0);
	rc = xfm_read(h, addr - 32, back, sizeof(back), 0);
	tap_ok(rc == 0 && !memcmp(back, pat, sizeof(pat)),
	       "%s: a fresh handle reads the written bytes back", g->type);
	xfm_close(h);
	rc = xfm_write(rw, addr - 32, g->region + (i + 1) * FS - 32, 64);
	h = open_or_bail(g->uri, 0);
	if (xfm_read(h, addr - 32, back, sizeof(back), 0) < 0)
		rc = -EIO;
	tap_ok(rc == 0 && !memcmp(back, g->region + (i + 1) * FS - 32, 64),
	       "%s: original bytes restored", g->type);
	xfm_close(h);
	xfm_close(rw);
}

static void test_region_cache(xfm_handle *h, struct guest *g)
{
	uint64_t bad = 0;
	uint8_t buf[FS];

	xfm_set_cache(h, 65536, 8);
	for (uint64_t i = 0; i < g->region_pages; i++) {
		/* A span crossing from this page into the next byte range. */
		if (xfm_read(h, g->region_pfn[i] * FS, buf, FS, 0) < 0 ||
		    memcmp(buf, g->region + i * FS, FS))
			bad++;
	}
	tap_ok(bad == 0, "%s: all %llu region pages read through a 64 KiB x 8 "
	       "cache (%llu bad)", g->type,
	       (unsigned long long)g->region_pages, (unsigned long long)bad);
	xfm_set_cache(h, 1u << 20, 64);
}

static void test_memory_map(xfm_handle *h, struct guest *g, uint64_t mb,
			    xfm_range *first)
{
	xfm_range r[64];
	uint64_t total = 0;
	int64_t nr = xfm_get_ranges(h, r, 64), big = 0;

	for (int64_t i = 0; i < nr && i < 64; i++) {
		total += r[i].size;
		if (r[i].size > r[big].size)
			big = i;
		tap_diag("range 0x%llx..0x%llx (%llu KiB)",
			 (unsigned long long)r[i].start,
			 (unsigned long long)(r[i].start + r[i].size),
			 (unsigned long long)r[i].size >> 10);
	}
	tap_ok(nr > 0 && total >= (mb << 20) * 9 / 10 &&
	       total <= (mb << 20) + (4u << 20),
	       "%s: memory map: %lld ranges, %llu KiB populated (guest has "
	       "%llu MiB)", g->type, (long long)nr,
	       (unsigned long long)total >> 10, (unsigned long long)mb);
	/* The RAM: the largest range (Arm has small magic-page ranges first). */
	*first = nr > 0 ? r[big] : (xfm_range){ 0, 0 };
}

/* The guest's largest RAM range (frame 0x40000.. on Arm) in one map. */
static void test_whole_guest(xfm_handle *h, struct guest *g)
{
	uint64_t mb = strtoull(fact(g->type, "MEMORY_MB"), NULL, 0);
	uint64_t base, n, off;
	xfm_range ram;
	xfm_extent *e;
	struct timespec t0, t1;
	xfm_mapping *m = NULL;
	int rc;

	test_memory_map(h, g, mb, &ram);
	base = ram.start / FS;
	n = ram.size / FS;
	e = calloc(n ? n : 1, sizeof(*e));
	for (uint64_t i = 0; i < n; i++)
		e[i].frame = base + i;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = n ? xfm_map(h, e, n, XFM_PROT_READ, NULL, &m) : -ENOENT;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	tap_ok(rc == (int)n, "%s: one batched map of frames 0x%llx..0x%llx: "
	       "%d mapped in %.3f s", g->type, (unsigned long long)base,
	       (unsigned long long)(base + n - 1), rc,
	       (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	off = (g->marker_pfn - base) * FS;
	if (rc > 0 && g->marker_pfn >= base && g->marker_pfn < base + n)
		tap_ok(memcmp((char *)xfm_map_addr(m) + off, g->marker,
			      FS) == 0, "%s: marker found at its offset in the "
		       "whole-RAM map", g->type);
	xfm_unmap(m);
	free(e);
}

/* Wait for the guest to report that its marker's first bytes changed. */
static int guest_saw(struct guest *g, const char *hex, int seconds)
{
	char line[512];

	for (int t = 0; t < seconds * 5; t++) {
		FILE *f = fopen(g->console, "r");

		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, "XFM-MARKER-CHANGED") &&
			    strstr(line, hex)) {
				fclose(f);
				return 1;
			}
		if (f)
			fclose(f);
		usleep(200000);
	}
	return 0;
}

static void test_write(struct guest *g)
{
	static const char msg[16] = "XFM-WROTE-IT-01";
	char hex[33];
	uint8_t back[16];
	xfm_handle *ro = open_or_bail(g->uri, 0), *rw;
	int rc;

	rc = xfm_write(ro, g->marker_pfn * FS, msg, 16);
	tap_ok(rc == -EROFS, "%s: write on a read-only handle: %d", g->type,
	       rc);
	xfm_close(ro);
	rw = open_or_bail(g->uri, XFM_OPEN_WRITE);
	rc = xfm_write(rw, g->marker_pfn * FS, msg, 16);
	tap_ok(rc == 0, "%s: xfm_write 16 bytes into the marker: %d %s",
	       g->type, rc, rc ? xfm_last_error() : "");
	rc = xfm_read(rw, g->marker_pfn * FS, back, 16, 0);
	tap_ok(rc == 0 && memcmp(back, msg, 16) == 0, "%s: read back",
	       g->type);
	for (int i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", (uint8_t)msg[i]);
	tap_ok(guest_saw(g, hex, 10), "%s: the guest itself saw the write "
	       "(XFM-MARKER-CHANGED %s...)", g->type, hex);
	/* Put the tag back so later tests see the original bytes. */
	xfm_write(rw, g->marker_pfn * FS, g->marker, 16);
	xfm_close(rw);
}

static void test_restrict(struct guest *g, uint32_t other)
{
	xfm_handle *h = open_or_bail(g->uri, 0);
	struct xfm_privcmd pc;
	xfm_xen_pfn_t pfn = 0;
	int err = 0, rc;
	uint8_t buf[16];
	void *addr = NULL;

	rc = xfm_restrict(h);
	tap_ok(rc == 0, "%s: restrict the handle to domain %u: %d", g->type,
	       g->domid, rc);
	rc = xfm_read(h, g->marker_pfn * FS, buf, 16, 0);
	tap_ok(rc == 0 && memcmp(buf, g->marker, 16) == 0,
	       "%s: reads still work after restrict", g->type);
	xfm_close(h);

	/* On the device layer: another domain and hypercalls get EPERM. */
	if (xfm_privcmd_open(&pc) < 0) {
		tap_ok(0, "privcmd open");
		return;
	}
	rc = xfm_privcmd_restrict(&pc, g->domid);
	tap_ok(rc == 0, "privcmd restrict to %u", g->domid);
	rc = (int)xfm_privcmd_map(&pc, other, NULL, 1, 0, &pfn, 1, &err,
				  &addr);
	tap_ok(rc == -EPERM || (rc == 1 && err == -EPERM),
	       "mapping domain %u after restrict: rc %d err %d (EPERM)", other,
	       rc, err);
	if (rc >= 0)
		xfm_unmap_frames(&pc.psz, addr, 1);
	rc = (int)xfm_privcmd_hypercall(&pc, XFM_HC_XEN_VERSION, 0, 0, 0);
	tap_ok(rc == -EPERM, "hypercall after restrict: %d (EPERM)", rc);
	xfm_privcmd_close(&pc);
}

struct gnttab_v1 {
	uint16_t flags;
	uint16_t domid;
	uint32_t frame;
};

static void test_grant_table(struct guest *g)
{
	xfm_handle *h = open_or_bail(g->uri, 0);
	uint64_t size = 0;
	xfm_mapping *m = NULL;
	const struct gnttab_v1 *gt;
	int rc = xfm_resource_size(h, XFM_RESOURCE_GRANT_TABLE, 0, &size);
	uint64_t kpage = (uint64_t)sysconf(_SC_PAGESIZE);

	tap_ok(rc == 0 && size >= FS && size % FS == 0,
	       "%s: grant table resource size %llu bytes (rc %d)", g->type,
	       (unsigned long long)size, rc);
	if (kpage > FS) {
		/*
		 * privcmd would remap nr kernel pages for nr frames: libxfm
		 * refuses more than one frame before the kernel sees it.
		 */
		rc = xfm_map_resource(h, XFM_RESOURCE_GRANT_TABLE, 0, 0, 2,
				      XFM_PROT_READ, &m);
		tap_ok(rc == -EOPNOTSUPP && m == NULL &&
		       strstr(xfm_last_error(), "one frame per call"),
		       "%s: 2-frame resource map refused with a %llu-byte "
		       "kernel page: %d '%s'", g->type,
		       (unsigned long long)kpage, rc,
		       xfm_last_error());
	}
	rc = xfm_map_resource(h, XFM_RESOURCE_GRANT_TABLE, 0, 0,
			      kpage > FS ? 1 : size / FS,
			      XFM_PROT_READ, &m);
	tap_ok(rc == 0, "%s: map_resource grant table: %d %s", g->type, rc,
	       rc ? xfm_last_error() : "");
	if (rc == 0) {
		/* The toolstack seeds entry 1 for xenstore, granted to dom0. */
		gt = xfm_map_addr(m);
		tap_ok((gt[1].flags & 1) && gt[1].domid == 0 && gt[1].frame,
		       "%s: grant entry 1 (xenstore): flags 0x%x domid %u "
		       "frame 0x%x", g->type, gt[1].flags, gt[1].domid,
		       gt[1].frame);
		xfm_unmap(m);
	}
	xfm_close(h);
}

static void test_no_domain(void)
{
	xfm_handle *h = NULL;
	int rc = xfm_open(&h, "xen:31000", 0);

	tap_ok(rc == -ENOENT &&
	       strstr(xfm_last_error(), "xen:31000: no such domain"),
	       "xen:31000 (no such domain): %d '%s'", rc, xfm_last_error());
}

/* --check-frame URI PFN FILE: exit 0 when the frame holds FILE's bytes. */
static int check_frame(const char *uri, const char *pfn, const char *path)
{
	uint8_t *want = slurp(path, FS), got[FS];
	xfm_handle *h = NULL;
	int rc = xfm_open(&h, uri, XFM_OPEN_QUIET);

	if (rc == 0)
		rc = xfm_read(h, strtoull(pfn, NULL, 0) * FS, got, FS, 0);
	xfm_close(h);
	if (rc < 0) {
		fprintf(stderr, "test-xen-live: %s\n", xfm_last_error());
		return 1;
	}
	if (memcmp(want, got, FS)) {
		fprintf(stderr, "test-xen-live: %s frame %s differs from %s\n",
			uri, pfn, path);
		return 1;
	}
	return 0;
}

static void test_guest(const char *type)
{
	struct guest *g = calloc(1, sizeof(*g));
	char up[8] = "";
	xfm_handle *h;

	for (size_t i = 0; i < sizeof(up) - 1 && type[i]; i++)
		up[i] = (char)(type[i] >= 'a' ? type[i] - 32 : type[i]);
	load_guest(g, up);
	tap_diag("guest %s: domid %u marker pfn 0x%llx region %llu pages",
		 up, g->domid, (unsigned long long)g->marker_pfn,
		 (unsigned long long)g->region_pages);
	h = open_or_bail(g->uri, 0);
	test_type(h, g);
	test_geometry(h);
	test_read_marker(h, g);
	test_map_marker(h, g);
	test_region_orders(h, g);
	test_odd_batches(h, g);
	test_region_cache(h, g);
	test_whole_guest(h, g);
	xfm_close(h);
	test_cache_boundary(g);
	test_write(g);
	test_grant_table(g);
	test_restrict(g, 0);
	free(g->region);
	free(g->region_pfn);
	free(g);
}


/*
 * --same-core A B: exit 0 when two Xen dump-core files hold the same
 * sections, byte for byte, except .xen_shared_info: Xen keeps updating a
 * paused guest's shared_info (event-channel bits, time), so two dumps
 * taken one after the other may differ there whatever library made them.
 */
struct core {
	uint8_t *data;
	size_t size;
};

static int load_core(const char *path, struct core *c)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < 64)
		return -1;
	c->size = (size_t)st.st_size;
	c->data = malloc(c->size);
	if (!c->data || read(fd, c->data, c->size) != (ssize_t)c->size)
		return -1;
	close(fd);
	return 0;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static int same_core(const char *pa, const char *pb)
{
	struct core a, b;
	uint64_t shoff;
	uint16_t shnum, shstrndx;
	const uint8_t *strtab;
	int differ = 0;

	if (load_core(pa, &a) || load_core(pb, &b) || a.size != b.size ||
	    memcmp(a.data, b.data, 64)) {
		fprintf(stderr, "same-core: %s and %s differ in size or ELF "
			"header\n", pa, pb);
		return 1;
	}
	shoff = rd64(a.data + 0x28);
	shnum = rd16(a.data + 0x3c);
	shstrndx = rd16(a.data + 0x3e);
	if (shoff > a.size || shnum > (a.size - shoff) / 64 ||
	    shstrndx >= shnum)
		return 1;
	strtab = a.data + rd64(a.data + shoff + 64 * shstrndx + 0x18);
	for (uint16_t i = 0; i < shnum; i++) {
		const uint8_t *sh = a.data + shoff + 64 * (uint64_t)i;
		uint32_t name_off;
		const char *name;
		uint64_t off = rd64(sh + 0x18), len = rd64(sh + 0x20);

		memcpy(&name_off, sh, 4);
		name = (const char *)strtab + name_off;
		if (off > a.size || len > a.size - off ||
		    strtab + name_off >= a.data + a.size)
			return 1;
		if (!strcmp(name, ".xen_shared_info"))
			continue;
		if (memcmp(a.data + off, b.data + off, len)) {
			fprintf(stderr, "same-core: section %s differs\n", name);
			differ = 1;
		}
	}
	/* The section headers themselves. */
	if (memcmp(a.data + shoff, b.data + shoff, 64 * (size_t)shnum))
		differ = 1;
	return differ;
}

/*
 * --diff-offsets A B: the byte offsets (decimal, one per line, at most
 * 100000) where two files of the same size differ; exit 2 when the sizes
 * differ or a file cannot be read.  (busybox cmp -l is byte by byte: far
 * too slow for 128 MiB cores under TCG.)
 */
static int diff_offsets(const char *pa, const char *pb)
{
	struct core a, b;
	size_t shown = 0;

	if (load_core(pa, &a) || load_core(pb, &b) || a.size != b.size) {
		fprintf(stderr, "diff-offsets: %s and %s differ in size or "
			"cannot be read\n", pa, pb);
		return 2;
	}
	for (size_t i = 0; i < a.size && shown < 100000; i += 8) {
		size_t n = a.size - i < 8 ? a.size - i : 8;

		if (!memcmp(a.data + i, b.data + i, n))
			continue;
		for (size_t k = i; k < i + n; k++)
			if (a.data[k] != b.data[k] && shown++ < 100000)
				printf("%zu\n", k);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *guests = getenv("XFM_GUESTS");
	char list[64], *save = NULL;

	if (argc == 5 && !strcmp(argv[1], "--check-frame"))
		return check_frame(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "--same-core"))
		return same_core(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "--diff-offsets"))
		return diff_offsets(argv[2], argv[3]);
	if (argc > 1)
		guests = argv[1];
	if (!guests || !*guests) {
		printf("1..0 # SKIP no lab guests (XFM_GUESTS unset)\n");
		return 77;
	}
	snprintf(list, sizeof(list), "%s", guests);
	for (char *t = strtok_r(list, " ", &save); t;
	     t = strtok_r(NULL, " ", &save))
		test_guest(t);
	test_no_domain();
	return tap_done();
}
