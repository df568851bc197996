/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * test-xen-core-pv.c - xfm_dump(XFM_DUMP_XEN_CORE) of a source that knows
 * its frames' machine frames (a live Xen PV guest; here in-process memory
 * whose frame_to_machine answers frame + MFN_BASE) writes the PV layout
 * crash reads: header magic 0xF00FEBED, a .xen_p2m of (pfn, mfn) pairs
 * with entry i for frame i from 0 to the last frame dumped (frames in the
 * holes: mfn ~0 and no data), placed before .xen_pages.  xfm reads the
 * file back: the source's ranges and bytes exactly, "xen.type" "pv", and
 * its machine frames both ways (for VA translation of PV page tables);
 * dumped again as xen-core, the file gives the same bytes.  A source
 * without machine frames still gets the HVM layout.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "le.h"
#include "mem-source.h"
#include "source-fact.h"

#define NFRAMES 40
#define MFN_BASE UINT64_C(0x65400)

/* Frames 0-9, 12-20 and 30-33 are there: two holes and a tail. */
static uint8_t holes[NFRAMES];
static struct xfm_source_ops pv_ops;
static char dir[] = "/tmp/xfm-test-xen-core-pv.XXXXXX";

static int pv_frame_to_machine(struct xfm_source *s, uint64_t frame,
			       uint64_t *mfn)
{
	(void)s;
	if (frame >= NFRAMES || holes[frame])
		return -ENOENT;
	*mfn = MFN_BASE + frame;
	return 0;
}

static void fill(uint8_t *buf, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 13 + i / 4096 + 1);
}

static xfm_handle *open_mem(bool pv)
{
	struct mem_source *m;
	xfm_handle *h;

	for (int f = 0; f < NFRAMES; f++)
		holes[f] = (f >= 10 && f < 12) || (f > 20 && f < 30) || f > 33;
	assert_int_equal(mem_open(NFRAMES, holes, 0, fill, &m, &h), 0);
	if (pv) {
		pv_ops = ms_ops;
		pv_ops.frame_to_machine = pv_frame_to_machine;
		h->src->ops = &pv_ops;
	}
	return h;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* Section @name of the ELF in @b: its offset and size. */
static void section(const uint8_t *b, const char *name, uint64_t *off,
		    uint64_t *size)
{
	uint64_t shoff = xfm_le64(b + 40), stroff;
	unsigned int shnum = xfm_le16(b + 60), str = xfm_le16(b + 62);

	stroff = xfm_le64(b + shoff + str * 64 + 24);
	for (unsigned int i = 1; i < shnum; i++) {
		const uint8_t *s = b + shoff + i * 64;

		if (strcmp((const char *)b + stroff + xfm_le32(s), name))
			continue;
		*off = xfm_le64(s + 24);
		*size = xfm_le64(s + 32);
		return;
	}
	fail_msg("no section %s", name);
}

/* @out has the ranges of @src and every byte of them. */
static void same_memory(xfm_handle *src, xfm_handle *out)
{
	xfm_range a[8], b[8];
	int64_t na = xfm_get_ranges(src, a, 8);
	uint8_t x[4096], y[4096];

	assert_int_equal(na, 3);
	assert_int_equal(xfm_get_ranges(out, b, 8), na);
	assert_memory_equal(a, b, (size_t)na * sizeof(*a));
	for (int64_t i = 0; i < na; i++)
		for (uint64_t o = 0; o < a[i].size; o += 4096) {
			assert_int_equal(xfm_read(src, a[i].start + o, x,
						  4096, 0), 0);
			assert_int_equal(xfm_read(out, a[i].start + o, y,
						  4096, 0), 0);
			assert_memory_equal(x, y, 4096);
		}
}

static void pv_layout(void **state)
{
	char path[64], path2[64];
	uint8_t *b2;
	size_t len2;
	xfm_handle *h = open_mem(true), *out;
	uint64_t p2m, p2m_size, pages, pages_size, notes, notes_size;
	uint8_t *b;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/pv.core", dir);
	assert_int_equal(xfm_dump(h, path, XFM_DUMP_XEN_CORE, 0, NULL, NULL),
			 0);
	b = slurp(path, &len);
	section(b, ".xen_p2m", &p2m, &p2m_size);
	section(b, ".xen_pages", &pages, &pages_size);
	section(b, ".note.Xen", &notes, &notes_size);
	/* frames 0..33: 34 entries of 16 bytes, 34 pages, p2m first */
	assert_int_equal(p2m_size, 34 * 16);
	assert_int_equal(pages_size, 34 * 4096);
	assert_true(p2m + p2m_size <= pages);
	assert_int_equal(pages % 4096, 0);
	assert_int_equal(len, pages + pages_size);
	/* the header note (after the empty "none" note): PV, 0 vCPUs, 34
	 * pages of 4096 bytes */
	assert_int_equal(xfm_le32(b + notes + 16 + 8), 0x2000001);
	assert_int_equal(xfm_le64(b + notes + 32), 0xF00FEBED);
	assert_int_equal(xfm_le64(b + notes + 40), 0);
	assert_int_equal(xfm_le64(b + notes + 48), 34);
	assert_int_equal(xfm_le64(b + notes + 56), 4096);
	for (uint64_t i = 0; i < 34; i++) {
		uint64_t want = holes[i] ? UINT64_MAX : MFN_BASE + i;

		assert_int_equal(xfm_le64(b + p2m + 16 * i), i);
		assert_int_equal(xfm_le64(b + p2m + 16 * i + 8), want);
	}
	/* frame 12's bytes at page index 12 */
	assert_int_equal(b[pages + 12 * 4096], (uint8_t)(12 * 4096 * 13 +
							 12 + 1));
	free(b);
	assert_int_equal(xfm_open(&out, path, 0), 0);
	assert_string_equal(fact(out, "format"), "xen-core");
	assert_string_equal(fact(out, "xen.type"), "pv");
	assert_string_equal(fact(out, "xen.pages"), "34");
	same_memory(h, out);
	/* the file knows the machine frames too (VA translation of PV page
	 * tables, and a PV xen-core again when converted) */
	{
		struct xfm_source *s = out->src;
		uint64_t v;

		assert_int_equal(s->ops->machine_to_frame(s, MFN_BASE + 12, &v),
				 0);
		assert_int_equal(v, 12);
		assert_int_equal(s->ops->frame_to_machine(s, 33, &v), 0);
		assert_int_equal(v, MFN_BASE + 33);
		assert_int_equal(s->ops->frame_to_machine(s, 10, &v), -ENOENT);
		assert_int_equal(s->ops->machine_to_frame(s, MFN_BASE + 10, &v),
				 -ENOENT);
		assert_int_equal(s->ops->frame_to_machine(s, 34, &v), -ENOENT);
	}
	snprintf(path2, sizeof(path2), "%s/pv2.core", dir);
	assert_int_equal(xfm_dump(out, path2, XFM_DUMP_XEN_CORE, 0, NULL,
				  NULL), 0);
	b = slurp(path, &len);
	b2 = slurp(path2, &len2);
	assert_int_equal(len, len2);
	/* re-dumped from the file: the same bytes */
	assert_memory_equal(b, b2, len);
	free(b);
	free(b2);
	unlink(path2);
	xfm_close(out);
	xfm_close(h);
	unlink(path);
}

static void hvm_layout_without_machine_frames(void **state)
{
	char path[64];
	xfm_handle *h = open_mem(false), *out;
	uint64_t pfn, pfn_size, pages, pages_size;
	uint8_t *b;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/hvm.core", dir);
	assert_int_equal(xfm_dump(h, path, XFM_DUMP_XEN_CORE, 0, NULL, NULL),
			 0);
	b = slurp(path, &len);
	section(b, ".xen_pfn", &pfn, &pfn_size);
	section(b, ".xen_pages", &pages, &pages_size);
	/* 23 frames dumped, one 8-byte pfn each, after the pages */
	assert_int_equal(pfn_size, 23 * 8);
	assert_int_equal(pages_size, 23 * 4096);
	assert_int_equal(pfn, pages + pages_size);
	assert_int_equal(xfm_le64(b + pfn + 10 * 8), 12);
	free(b);
	assert_int_equal(xfm_open(&out, path, 0), 0);
	assert_string_equal(fact(out, "xen.type"), "hvm");
	same_memory(h, out);
	xfm_close(out);
	xfm_close(h);
	unlink(path);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pv_layout),
		cmocka_unit_test(hvm_layout_without_machine_frames),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
