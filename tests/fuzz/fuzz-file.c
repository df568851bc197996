/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * fuzz-file.c - libFuzzer target for the dump-file parsers: the input is
 * written to a memfd and opened with xfm_open() by its /proc/self/fd path,
 * as a user would open a file.  An input that opens is then used the way
 * the CLI uses it: facts, geometry, the memory map, reads at the start and
 * end of every range and across its edges (with and without zero fill),
 * and small xfm_map()s whose mapped frames are touched.  Opening must
 * fail with -ENOEXEC (corrupt), or succeed; anything else is a finding,
 * and so is any crash or sanitizer report.
 *
 * One source, one binary per format (FUZZ_FORMAT): each target only looks
 * at inputs that start with its format's magic, so libFuzzer spends its
 * time inside that parser.  "raw" takes everything, so it also fuzzes
 * the detection order.  Built twice: with clang -fsanitize=fuzzer by
 * scripts/fuzz.sh, and with the normal compiler plus replay.c by meson.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xfm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RANGES 8
#define MAX_READ   4096

static int memfd = -1;
static char path[64];

static int wanted(const uint8_t *d, size_t n)
{
#if defined(FUZZ_ELF) || defined(FUZZ_XEN_CORE)
	return n >= 4 && memcmp(d, "\177ELF", 4) == 0;
#elif defined(FUZZ_LIME)
	return n >= 4 && memcmp(d, "EMiL", 4) == 0;
#elif defined(FUZZ_KDUMP)
	/* makedumpfile's kdump-compressed file, or its flattened form */
	return (n >= 8 && memcmp(d, "KDUMP   ", 8) == 0) ||
	       (n >= 16 && memcmp(d, "makedumpfile\0\0\0\0", 16) == 0);
#else
	(void)d;
	(void)n;
	return 1;
#endif
}

/* Formats whose pages are decoded when read (kdump: each page's descriptor
 * and compressed data) report a corrupt page then, as -ENOEXEC naming the
 * page; the raw target sees every format. */
#if defined(FUZZ_KDUMP) || defined(FUZZ_RAW)
#define CORRUPT_PAGE(rc) ((rc) == -ENOEXEC)
#else
#define CORRUPT_PAGE(rc) 0
#endif

static void boom(const char *what, int rc)
{
	fprintf(stderr, "fuzz-file: %s: unexpected %d (%s): %s\n", what, rc,
		strerror(rc < 0 ? -rc : rc), xfm_last_error());
	abort();
}

static void read_at(xfm_handle *h, uint64_t addr, uint64_t len,
		    unsigned int flags)
{
	static uint8_t buf[MAX_READ];
	int rc;

	if (len > MAX_READ)
		len = MAX_READ;
	rc = xfm_read(h, addr, buf, len, flags);
	/* Anything but a clean answer about the span is a bug. */
	if (rc && rc != -ENOENT && rc != -ERANGE && rc != -EOVERFLOW &&
	    rc != -EIO && !CORRUPT_PAGE(rc))
		boom("xfm_read", rc);
}

static void map_some(xfm_handle *h, const xfm_geometry *g, uint64_t frame,
		     unsigned int order)
{
	xfm_extent ext[2] = {
		{ .frame = frame, .order = 0 },
		{ .frame = (frame + 1) >> order << order, .order = order },
	};
	volatile const uint8_t *p;
	xfm_mapping *m;
	int rc;

	rc = xfm_map(h, ext, 2, XFM_PROT_READ, NULL, &m);
	if (rc < 0) {
		if (rc != -ENOENT && rc != -EOVERFLOW && rc != -EINVAL &&
		    rc != -EIO && rc != -ENOMEM && !CORRUPT_PAGE(rc))
			boom("xfm_map", rc);
		return;
	}
	p = xfm_map_addr(m);
	/* Touch the first and last byte of every frame that mapped. */
	if (!ext[0].err)
		(void)(p[0] + p[g->frame_size - 1]);
	if (!ext[1].err)
		for (uint64_t i = 0; i < (UINT64_C(1) << order); i++)
			(void)(p[(1 + i) * g->frame_size] +
			       p[(2 + i) * g->frame_size - 1]);
	xfm_unmap(m);
}

static void use(xfm_handle *h)
{
	xfm_range r[MAX_RANGES];
	const char *k, *v;
	xfm_geometry g;
	int64_t n;

	for (size_t i = 0; xfm_source_info(h, i, &k, &v) == 0; i++)
		if (!k || !v)
			boom("xfm_source_info", 0);
	if (xfm_get_geometry(h, &g, sizeof(g)) < 0)
		boom("xfm_get_geometry", -1);
	n = xfm_get_ranges(h, r, MAX_RANGES);
	if (n < 0)
		boom("xfm_get_ranges", (int)n);
	for (int64_t i = 0; i < n && i < MAX_RANGES; i++) {
		uint64_t end = r[i].start + r[i].size;

		if (r[i].size == 0 || r[i].start % g.frame_size ||
		    (i && r[i].start <= r[i - 1].start + r[i - 1].size - 1))
			boom("ranges not sorted, merged and aligned", 0);
		read_at(h, r[i].start, r[i].size, 0);
		read_at(h, end - (r[i].size < 64 ? r[i].size : 64), 64, 0);
		read_at(h, end - 16, 32, XFM_READ_ZERO_FILL);
		if (r[i].start)
			read_at(h, r[i].start - 8, 16, XFM_READ_ZERO_FILL);
		/* Frames of 1 GiB would make every map huge: skip those. */
		if (g.frame_size <= (UINT64_C(1) << 20))
			map_some(h, &g, r[i].start / g.frame_size, i % 3);
	}
	read_at(h, UINT64_MAX - 7, 8, 0);
	read_at(h, (g.max_frame + 1) * g.frame_size, 1, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xfm_handle *h;
	int rc;

	if (!wanted(data, size))
		return -1; /* not worth keeping in the corpus */
	if (memfd < 0) {
		memfd = memfd_create("xfm-fuzz", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0 ||
	    (size && pwrite(memfd, data, size, 0) != (ssize_t)size))
		abort();
	rc = xfm_open(&h, path, XFM_OPEN_QUIET);
	if (rc == 0) {
		use(h);
		xfm_close(h);
	} else if (rc != -ENOEXEC) {
		boom("xfm_open", rc);
	} else if (!strstr(xfm_last_error(), path)) {
		boom("xfm_open: error does not name the file", rc);
	}
	return 0;
}
