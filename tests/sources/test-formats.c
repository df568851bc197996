/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Dump-file formats through xfm_open(): crafted Xen dump-core (PV, HVM),
 * ELF32/ELF64 cores in both byte orders, PN_XNUM, LiME and raw files, and
 * truncated or lying variants of each: exact error codes, and messages
 * that name the file and the offset.  Also zero-copy mapping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "craft.h"
#include "tap.h"
#include "xfm.h"
#include "source-fact.h"

static char path[256];

static const char *file(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", craft_tmpdir(), name);
	return path;
}

/* Every byte of [addr, addr + len) reads back as the crafted pattern. */
static void check_pat(xfm_handle *h, uint64_t addr, uint64_t len)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(xfm_read(h, addr, buf, len, 0), 0);
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != craft_pat(addr + i))
			fail_msg("address 0x%llx: got 0x%02x, want 0x%02x",
				 (unsigned long long)(addr + i), buf[i],
				 craft_pat(addr + i));
	free(buf);
}

static void check_zero(xfm_handle *h, uint64_t addr, uint64_t len)
{
	uint8_t buf[4096];

	assert_true(len <= sizeof(buf));
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(xfm_read(h, addr, buf, len, 0), 0);
	for (uint64_t i = 0; i < len; i++)
		assert_int_equal(buf[i], 0);
}

static void check_ranges(xfm_handle *h, const xfm_range *want, size_t n)
{
	xfm_range r[16];

	assert_int_equal(xfm_get_ranges(h, r, 16), (int64_t)n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r[i].start, want[i].start);
		assert_int_equal(r[i].size, want[i].size);
	}
}

static xfm_handle *open_ok(const struct cbuf *b, const char *name)
{
	xfm_handle *h = NULL;
	int rc;

	cb_write(b, file(name));
	rc = xfm_open(&h, path, 0);
	if (rc)
		fail_msg("%s: %d %s", name, rc, xfm_last_error());
	return h;
}

/* Opening fails with @err and a message holding @file and @needle. */
static void open_bad(const struct cbuf *b, const char *name, int err,
		     const char *needle)
{
	xfm_handle *h = NULL;
	int rc;

	cb_write(b, file(name));
	rc = xfm_open(&h, path, 0);
	if (rc != err || !strstr(xfm_last_error(), path) ||
	    !strstr(xfm_last_error(), needle))
		fail_msg("%s: got %d \"%s\", want %d and \"%s\"", name, rc,
			 xfm_last_error(), err, needle);
	print_message("# %s: %s\n", name, xfm_last_error());
}

/* ------------------------------------------------------------------ */
/* ELF                                                                 */

static const struct craft_load loads[] = {
	{ 0, 0x2000, 0x2000 },
	{ 0x100000, 0x1000, 0x3000 },   /* zero-filled tail of 2 pages */
	{ 0x200000, 0x1000, 0x1000 },
};

static void elf_variant(bool is64, bool be, bool xnum, const char *name,
			const char *cls)
{
	static const xfm_range want[] = {
		{ 0, 0x2000 }, { 0x100000, 0x3000 }, { 0x200000, 0x1000 },
	};
	struct cbuf b = { 0 };
	struct craft_elf lay;
	xfm_handle *h;

	craft_elf(&b, is64, be, loads, 3, xnum, &lay);
	h = open_ok(&b, name);
	assert_string_equal(fact(h, "format"), "elf");
	assert_string_equal(fact(h, "elf.class"), cls);
	assert_string_equal(fact(h, "elf.endian"), be ? "big" : "little");
	assert_string_equal(fact(h, "elf.loads"), "3");
	assert_string_equal(fact(h, "elf.notes"), "2");
	assert_string_equal(fact(h, "elf.producer"), "qemu");
	check_ranges(h, want, 3);
	check_pat(h, 0, 0x2000);
	check_pat(h, 0x100000, 0x1000);
	check_zero(h, 0x101000, 0x1000);
	check_zero(h, 0x102ff0, 0x10);
	check_pat(h, 0x200000, 0x1000);
	assert_int_equal(xfm_read(h, 0x3000, &b, 1, 0), -ENOENT);
	xfm_close(h);
	cb_free(&b);
}

static void elf64_le(void **s) { (void)s; elf_variant(true, false, false, "e64le", "ELF64"); }
static void elf64_be(void **s) { (void)s; elf_variant(true, true, false, "e64be", "ELF64"); }
static void elf32_le(void **s) { (void)s; elf_variant(false, false, false, "e32le", "ELF32"); }
static void elf32_be(void **s) { (void)s; elf_variant(false, true, false, "e32be", "ELF32"); }
static void elf64_xnum(void **s) { (void)s; elf_variant(true, false, true, "e64xnum", "ELF64"); }
static void elf32_xnum(void **s) { (void)s; elf_variant(false, false, true, "e32xnum", "ELF32"); }

static void elf_corrupt(void **state)
{
	struct cbuf b = { 0 };
	struct craft_elf lay;
	char want[64];

	(void)state;
	/* header cut short */
	craft_elf(&b, true, false, loads, 3, false, &lay);
	cb_truncate(&b, 40);
	open_bad(&b, "trunc-hdr", -ENOEXEC, "ELF header at offset 0x0");
	cb_free(&b);

	/* bad class byte */
	craft_elf(&b, true, false, loads, 3, false, &lay);
	b.p[4] = 7;
	open_bad(&b, "bad-class", -ENOEXEC, "offset 0x4: ELF class 7");
	cb_free(&b);

	/* program header table past the end: cut inside it */
	craft_elf(&b, true, false, loads, 3, false, &lay);
	cb_truncate(&b, 64 + 56 * 2);
	open_bad(&b, "trunc-phdrs", -ENOEXEC, "offset 0x40: program header "
		 "table of 4 entries");
	cb_free(&b);

	/* lying e_phnum */
	craft_elf(&b, true, false, loads, 3, false, &lay);
	cb_int(&b, 56, 0x4000, 2, false);
	open_bad(&b, "lying-phnum", -ENOEXEC, "program header table of 16384");
	cb_free(&b);

	/* segment data past EOF (file cut in the last segment) */
	craft_elf(&b, true, false, loads, 3, false, &lay);
	cb_truncate(&b, lay.data_off[2] + 100);
	snprintf(want, sizeof(want), "offset 0x%llx: PT_LOAD 3",
		 (unsigned long long)(64 + 3 * 56));
	open_bad(&b, "trunc-data", -ENOEXEC, want);
	cb_free(&b);

	/* file size above memory size */
	craft_elf(&b, true, false, loads, 3, false, &lay);
	cb_int(&b, 64 + 56 + 40, 0x1000, 8, false);
	open_bad(&b, "filesz", -ENOEXEC, "offset 0x78: PT_LOAD 1: file size "
		 "0x2000 is larger");
	cb_free(&b);

	/* address wraps */
	craft_elf(&b, true, false, loads, 3, false, &lay);
	cb_int(&b, 64 + 56 + 24, UINT64_MAX - 0x100, 8, false);
	open_bad(&b, "wrap", -ENOEXEC, "wraps around");
	cb_free(&b);

	/* overlapping segments */
	craft_elf(&b, true, false, loads, 3, false, &lay);
	cb_int(&b, 64 + 2 * 56 + 24, 0x1000, 8, false);
	open_bad(&b, "overlap", -ENOEXEC, "overlap at address 0x1000");
	cb_free(&b);

	/* PN_XNUM but no section header 0 */
	craft_elf(&b, true, false, loads, 3, true, &lay);
	cb_int(&b, 40, 0, 8, false);
	open_bad(&b, "xnum-noshdr", -ENOEXEC, "offset 0x38: e_phnum is PN_XNUM");
	cb_free(&b);

	/* PN_XNUM with a lying count in section 0 */
	craft_elf(&b, true, false, loads, 3, true, &lay);
	cb_int(&b, lay.shoff + 44, 0x7fffffff, 4, false);
	open_bad(&b, "xnum-lying", -ENOEXEC, "program header table of "
		 "2147483647");
	cb_free(&b);

	/* a note that claims more than its segment */
	craft_elf(&b, true, false, loads, 3, false, &lay);
	cb_int(&b, lay.note_off + 4, 0x10000, 4, false);
	snprintf(want, sizeof(want), "offset 0x%llx: note (name 5 bytes, "
		 "descriptor 65536", (unsigned long long)lay.note_off);
	open_bad(&b, "note", -ENOEXEC, want);
	cb_free(&b);

	/* not a core */
	craft_elf(&b, true, false, loads, 3, false, &lay);
	cb_int(&b, 16, 2, 2, false);
	open_bad(&b, "exec", -ENOEXEC, "offset 0x10: an ELF file of type 2");
	cb_free(&b);

	/* bad e_phentsize */
	craft_elf(&b, false, false, loads, 3, false, &lay);
	cb_int(&b, 42, 40, 2, false);
	open_bad(&b, "phentsize", -ENOEXEC, "offset 0x2a: e_phentsize is 40");
	cb_free(&b);
}

/* ------------------------------------------------------------------ */
/* Xen dump-core                                                       */

static const uint64_t pfns[] = { 0, 1, 2, 0x100, UINT64_MAX, 0x101 };

static void xen_variant(bool pv)
{
	static const xfm_range want[] = { { 0, 0x3000 }, { 0x100000, 0x2000 } };
	struct cbuf b = { 0 };
	struct craft_xen lay;
	xfm_geometry g;
	xfm_handle *h;

	craft_xen(&b, pv, pfns, 6, 4096, &lay);
	h = open_ok(&b, pv ? "xen-pv" : "xen-hvm");
	assert_string_equal(fact(h, "format"), "xen-core");
	assert_string_equal(fact(h, "xen.type"), pv ? "pv" : "hvm");
	assert_string_equal(fact(h, "xen.vcpus"), "2");
	assert_string_equal(fact(h, "xen.pages"), "6");
	assert_string_equal(fact(h, "xen.page_size"), "4096");
	assert_string_equal(fact(h, "xen.version"), "4.17.3-pre");
	assert_string_equal(fact(h, "xen.format_version"), "1");
	assert_int_equal(xfm_get_geometry(h, &g, sizeof(g)), 0);
	assert_int_equal(g.frame_size, 4096);
	assert_int_equal(g.max_frame, 0x101);
	assert_int_equal(g.origin, XFM_ORIGIN_FILE);
	check_ranges(h, want, 2);
	check_pat(h, 0, 0x3000);
	check_pat(h, 0x100000, 0x2000);
	xfm_close(h);
	cb_free(&b);
}

static void xen_hvm(void **s) { (void)s; xen_variant(false); }
static void xen_pv(void **s) { (void)s; xen_variant(true); }

static void xen_big_pages(void **state)
{
	static const uint64_t p[] = { 0, 3 };
	struct cbuf b = { 0 };
	struct craft_xen lay;
	xfm_geometry g;
	xfm_handle *h;

	(void)state;
	craft_xen(&b, false, p, 2, 65536, &lay);
	h = open_ok(&b, "xen-64k");
	assert_int_equal(xfm_get_geometry(h, &g, sizeof(g)), 0);
	assert_int_equal(g.frame_size, 65536);
	assert_int_equal(g.max_frame, 3);
	check_pat(h, 0, 65536);
	check_pat(h, 3 * 65536, 65536);
	xfm_close(h);
	cb_free(&b);
}

static void xen_corrupt(void **state)
{
	struct cbuf b = { 0 };
	struct craft_xen lay;
	char want[96];

	(void)state;
	craft_xen(&b, false, pfns, 6, 4096, &lay);
	cb_int(&b, lay.header_desc, 0xdeadbeef, 8, false);
	snprintf(want, sizeof(want), "offset 0x%llx: Xen header magic "
		 "0xdeadbeef", (unsigned long long)lay.header_desc);
	open_bad(&b, "x-magic", -ENOEXEC, want);
	cb_free(&b);

	craft_xen(&b, false, pfns, 6, 4096, &lay);
	cb_int(&b, lay.header_desc + 16, 7, 8, false);   /* nr_pages lies */
	snprintf(want, sizeof(want), "offset 0x%llx: .xen_pages holds 24576 "
		 "bytes but the header says 7 pages",
		 (unsigned long long)lay.pages_off);
	open_bad(&b, "x-nrpages", -ENOEXEC, want);
	cb_free(&b);

	craft_xen(&b, false, pfns, 6, 4096, &lay);
	cb_int(&b, lay.header_desc + 24, 3000, 8, false);
	open_bad(&b, "x-pagesize", -ENOEXEC, "Xen page size 3000");
	cb_free(&b);

	craft_xen(&b, false, pfns, 6, 4096, &lay);
	cb_int(&b, 384 + 32, 5 * 8, 8, false);           /* .xen_pfn size */
	snprintf(want, sizeof(want), "offset 0x%llx: .xen_pfn holds 40 bytes",
		 (unsigned long long)lay.table_off);
	open_bad(&b, "x-pfnsize", -ENOEXEC, want);
	cb_free(&b);

	craft_xen(&b, false, pfns, 6, 4096, &lay);
	cb_truncate(&b, lay.table_off + 8);
	open_bad(&b, "x-trunc", -ENOEXEC, ".xen_pfn (48 bytes) runs past the "
		 "end of the file");
	cb_free(&b);

	craft_xen(&b, false, pfns, 6, 4096, &lay);
	cb_truncate(&b, lay.pages_off + 4096);
	snprintf(want, sizeof(want), "offset 0x%llx: .xen_pages (24576 bytes) "
		 "runs past", (unsigned long long)lay.pages_off);
	open_bad(&b, "x-trunc-pages", -ENOEXEC, want);
	cb_free(&b);

	craft_xen(&b, true, pfns, 6, 4096, &lay);        /* PV: no .xen_p2m */
	cb_put(&b, 384, "\x37", 1);  /* rename the table .xen_pfn+2 */
	open_bad(&b, "x-nop2m", -ENOEXEC, "PV Xen dump-core without a "
		 ".xen_p2m section");
	cb_free(&b);

	craft_xen(&b, false, pfns, 6, 4096, &lay);
	cb_int(&b, lay.table_off + 8, 0, 8, false);      /* pfn 0 twice */
	open_bad(&b, "x-dup", -ENOEXEC, "overlap at address 0x0");
	cb_free(&b);

	craft_xen(&b, false, pfns, 6, 4096, &lay);
	cb_int(&b, lay.table_off + 16, UINT64_C(1) << 60, 8, false);
	snprintf(want, sizeof(want), "offset 0x%llx: frame number "
		 "0x1000000000000000 is too large",
		 (unsigned long long)lay.table_off + 16);
	open_bad(&b, "x-bigpfn", -ENOEXEC, want);
	cb_free(&b);

	craft_xen(&b, false, pfns, 6, 4096, &lay);
	cb_int(&b, 62, 9, 2, false);                     /* e_shstrndx */
	open_bad(&b, "x-shstrndx", -ENOEXEC, "offset 0x3e: e_shstrndx 9");
	cb_free(&b);

	craft_xen(&b, false, pfns, 6, 4096, &lay);
	cb_int(&b, lay.notes_off + 16 + 4, 0x100000, 4, false);
	snprintf(want, sizeof(want), "offset 0x%llx: note (name 4 bytes, "
		 "descriptor 1048576", (unsigned long long)lay.notes_off + 16);
	open_bad(&b, "x-note", -ENOEXEC, want);
	cb_free(&b);

	craft_xen(&b, false, pfns, 6, 4096, &lay);
	cb_int(&b, 40, 0x100000, 8, false);              /* e_shoff */
	open_bad(&b, "x-shoff", -ENOEXEC, "offset 0x100000: section header 0");
	cb_free(&b);
}

/* ------------------------------------------------------------------ */
/* LiME and raw                                                        */

static const uint64_t lranges[][2] = {
	{ 0x1000, 0x2fff }, { 0x10000, 0x10fff }, { 0x100000, 0x100fff },
};

static void lime_ok(void **state)
{
	static const xfm_range want[] = {
		{ 0x1000, 0x2000 }, { 0x10000, 0x1000 }, { 0x100000, 0x1000 },
	};
	struct cbuf b = { 0 };
	xfm_handle *h;

	(void)state;
	craft_lime(&b, lranges, 3);
	h = open_ok(&b, "lime");
	assert_string_equal(fact(h, "format"), "lime");
	assert_string_equal(fact(h, "lime.ranges"), "3");
	check_ranges(h, want, 3);
	check_pat(h, 0x1000, 0x2000);
	check_pat(h, 0x10000, 0x1000);
	check_pat(h, 0x100000, 0x1000);
	assert_int_equal(xfm_read(h, 0, &b, 1, 0), -ENOENT);
	xfm_close(h);
	cb_free(&b);
}

/* The memory map as the library answers it: spans and clipped lists. */
static void span_and_alloc(void **state)
{
	struct cbuf b = { 0 };
	xfm_range *r = NULL;
	uint64_t gap = 0;
	xfm_handle *h;

	(void)state;
	craft_lime(&b, lranges, 3);
	h = open_ok(&b, "lime-span");
	assert_int_equal(xfm_span_present(h, 0x1000, 0x2000, &gap), 1);
	assert_int_equal(xfm_span_present(h, 0x2ff0, 0x20, &gap), 0);
	assert_int_equal(gap, 0x3000);
	assert_int_equal(xfm_span_present(h, 0x800, 0x1000, &gap), 0);
	assert_int_equal(gap, 0x800);
	/* Past the last frame: absent from there. */
	assert_int_equal(xfm_span_present(h, 0x100800, 0x1000, &gap), 0);
	assert_int_equal(gap, 0x101000);
	assert_int_equal(xfm_span_present(h, 0x200000, 16, &gap), 0);
	assert_int_equal(gap, 0x200000);
	assert_int_equal(xfm_span_present(h, 5, 0, &gap), 1);
	assert_int_equal(xfm_span_present(h, UINT64_MAX, 2, &gap),
			 -EOVERFLOW);
	assert_int_equal(xfm_get_ranges_alloc(h, 0, UINT64_MAX, &r), 3);
	assert_int_equal(r[0].start, 0x1000);
	assert_int_equal(r[0].size, 0x2000);
	assert_int_equal(r[2].start, 0x100000);
	free(r);
	/* Clipped to [0x2800, 0x10800): two pieces. */
	assert_int_equal(xfm_get_ranges_alloc(h, 0x2800, 0xe000, &r), 2);
	assert_int_equal(r[0].start, 0x2800);
	assert_int_equal(r[0].size, 0x800);
	assert_int_equal(r[1].start, 0x10000);
	assert_int_equal(r[1].size, 0x800);
	free(r);
	assert_int_equal(xfm_get_ranges_alloc(h, 0x4000, 0x1000, &r), 0);
	assert_null(r);
	xfm_close(h);
	cb_free(&b);
}

/* xfm_dump_span: the bytes as they are, committed only when complete. */
static void dump_span(void **state)
{
	struct cbuf b = { 0 };
	char out[300];
	uint8_t got[0x2010];
	xfm_handle *h;
	FILE *f;

	(void)state;
	craft_lime(&b, lranges, 3);
	h = open_ok(&b, "lime-dspan");
	snprintf(out, sizeof(out), "%s/span.bin", craft_tmpdir());
	assert_int_equal(xfm_dump_span(h, out, 0x1000, 0x2000, 0, NULL, NULL),
			 0);
	f = fopen(out, "rb");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, sizeof(got), f), 0x2000);
	fclose(f);
	for (size_t i = 0; i < 0x2000; i++)
		assert_int_equal(got[i], craft_pat(0x1000 + i));
	/* Exists: refused without OVERWRITE, replaced with it. */
	assert_int_equal(xfm_dump_span(h, out, 0x1000, 16, 0, NULL, NULL),
			 -EEXIST);
	/* A hole fails the span and the old file stays... */
	assert_int_equal(xfm_dump_span(h, out, 0x2ff0, 0x20,
				       XFM_SPAN_OVERWRITE, NULL, NULL),
			 -ENOENT);
	f = fopen(out, "rb");
	assert_int_equal(fread(got, 1, sizeof(got), f), 0x2000);
	fclose(f);
	/* ...unless it reads as zeros. */
	assert_int_equal(xfm_dump_span(h, out, 0x2ff0, 0x20, XFM_SPAN_OVERWRITE
				       | XFM_SPAN_ZERO_FILL, NULL, NULL), 0);
	f = fopen(out, "rb");
	assert_int_equal(fread(got, 1, sizeof(got), f), 0x20);
	fclose(f);
	for (size_t i = 0; i < 0x10; i++)
		assert_int_equal(got[i], craft_pat(0x2ff0 + i));
	for (size_t i = 0x10; i < 0x20; i++)
		assert_int_equal(got[i], 0);
	assert_int_equal(xfm_dump_span(h, out, 0, 0, 0, NULL, NULL), -EINVAL);
	unlink(out);
	xfm_close(h);
	cb_free(&b);
}

static void lime_corrupt(void **state)
{
	uint64_t second = 32 + 0x2000, third = second + 32 + 0x1000;
	struct cbuf b = { 0 };
	char want[96];

	(void)state;
	craft_lime(&b, lranges, 3);
	cb_int(&b, second, 0x12345678, 4, false);
	snprintf(want, sizeof(want), "offset 0x%llx: bad LiME magic 0x12345678",
		 (unsigned long long)second);
	open_bad(&b, "l-magic", -ENOEXEC, want);
	cb_free(&b);

	craft_lime(&b, lranges, 3);
	cb_int(&b, second + 16, 0xfff, 8, false);        /* end < start */
	snprintf(want, sizeof(want), "offset 0x%llx: LiME range ends (0xfff)",
		 (unsigned long long)second + 16);
	open_bad(&b, "l-endstart", -ENOEXEC, want);
	cb_free(&b);

	craft_lime(&b, lranges, 3);
	cb_int(&b, third + 16, 0x1100fff, 8, false);     /* lying size */
	snprintf(want, sizeof(want), "offset 0x%llx: LiME range "
		 "0x100000-0x1100fff needs", (unsigned long long)third);
	open_bad(&b, "l-size", -ENOEXEC, want);
	cb_free(&b);

	craft_lime(&b, lranges, 3);
	cb_int(&b, third + 8, 0x10800, 8, false);        /* overlaps #2 */
	cb_int(&b, third + 16, 0x117ff, 8, false);
	snprintf(want, sizeof(want), "offset 0x%llx: LiME range at 0x10800 "
		 "overlaps", (unsigned long long)third + 8);
	open_bad(&b, "l-overlap", -ENOEXEC, want);
	cb_free(&b);

	craft_lime(&b, lranges, 3);
	cb_int(&b, second + 4, 2, 4, false);
	open_bad(&b, "l-version", -ENOEXEC, "LiME version 2");
	cb_free(&b);

	craft_lime(&b, lranges, 3);
	cb_int(&b, b.len + 9, 0, 1, false);              /* 10 stray bytes */
	snprintf(want, sizeof(want), "offset 0x%llx: LiME header truncated",
		 (unsigned long long)(third + 32 + 0x1000));
	open_bad(&b, "l-trunc", -ENOEXEC, want);
	cb_free(&b);

	craft_lime(&b, lranges, 1);
	cb_truncate(&b, 20);
	open_bad(&b, "l-short", -ENOEXEC, "offset 0x0: LiME header truncated");
	cb_free(&b);
}

static void raw_ok(void **state)
{
	struct cbuf b = { 0 };
	xfm_range want = { 0, 0x3000 };
	xfm_handle *h;

	(void)state;
	cb_pat(&b, 0, 0, 0x3000);
	h = open_ok(&b, "raw");
	assert_string_equal(fact(h, "format"), "raw");
	check_ranges(h, &want, 1);
	check_pat(h, 0, 0x3000);
	xfm_close(h);
	cb_free(&b);
	/* A file too short to be anything else is raw, not an error. */
	cb_put(&b, 0, "EMi", 3);
	h = open_ok(&b, "tiny");
	assert_string_equal(fact(h, "format"), "raw");
	xfm_close(h);
	cb_free(&b);
}

/* ------------------------------------------------------------------ */
/* Zero-copy: a mapping of a dump is the file's pages                   */

static bool mapped_from(const void *addr, const char *file_path)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
		    (uintptr_t)addr >= lo && (uintptr_t)addr < hi)
			found = strstr(line, file_path) != NULL;
	}
	if (f)
		fclose(f);
	return found;
}

static void zero_copy(void **state)
{
	struct cbuf b = { 0 };
	struct craft_elf lay;
	xfm_extent ext[2] = { { 0x100, 0, 0 }, { 0, 1, 0 } };
	xfm_mapping *m;
	xfm_handle *h;
	uint8_t *p;

	(void)state;
	craft_elf(&b, true, false, loads, 3, false, &lay);
	h = open_ok(&b, "zc.elf");
	assert_int_equal(xfm_map(h, ext, 2, XFM_PROT_READ, NULL, &m), 2);
	p = xfm_map_addr(m);
	assert_int_equal(xfm_map_length(m), 3 * 4096);
	assert_memory_equal(p, b.p + lay.data_off[1], 4096);
	assert_memory_equal(p + 4096, b.p + lay.data_off[0], 8192);
	assert_true(mapped_from(p, path));
	assert_true(mapped_from(p + 4096, path));
	xfm_unmap(m);
	/* the zero tail maps too, as zeros, and a hole fails per extent */
	ext[0] = (xfm_extent){ 0x101, 0, 0 };
	ext[1] = (xfm_extent){ 0x103, 0, 0 };
	assert_int_equal(xfm_map(h, ext, 2, XFM_PROT_READ, NULL, &m), 1);
	assert_int_equal(ext[0].err, 0);
	assert_int_equal(ext[1].err, -ENOENT);
	p = xfm_map_addr(m);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(p[i], 0);
	xfm_unmap(m);
	xfm_close(h);
	cb_free(&b);
}

/* ------------------------------------------------------------------ */
/* Mutations: damaged files open (as something) or fail with -ENOEXEC, */
/* and whatever opens can be read and mapped: never a crash.           */

static uint64_t rng = 0x9e3779b97f4a7c15;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void read_everything(xfm_handle *h)
{
	xfm_range r[64];
	int64_t n = xfm_get_ranges(h, r, 64);
	uint8_t *buf = malloc(1 << 16);

	for (int64_t i = 0; i < n && i < 64; i++) {
		uint64_t len = r[i].size < (1 << 16) ? r[i].size : (1 << 16);
		xfm_extent e = { r[i].start / 4096, 0, 0 };
		xfm_mapping *m;

		xfm_read(h, r[i].start, buf, len, XFM_READ_ZERO_FILL);
		if (xfm_map(h, &e, 1, XFM_PROT_READ, NULL, &m) > 0) {
			volatile uint8_t x = *(uint8_t *)xfm_map_addr(m);

			(void)x;
			xfm_unmap(m);
		}
	}
	free(buf);
}

static void mutate_and_open(const struct cbuf *orig, const char *name)
{
	struct cbuf b = { 0 };
	xfm_handle *h;
	int rc, opened = 0;

	for (int k = 0; k < 400; k++) {
		cb_put(&b, 0, orig->p, orig->len);
		b.len = orig->len;
		for (int j = 0, n = 1 + next_rand() % 4; j < n; j++) {
			/* mostly the headers, where the numbers are */
			size_t span = next_rand() % 4 ? 2048 : b.len;
			size_t at = next_rand() % (span < b.len ? span : b.len);

			b.p[at] = (uint8_t)next_rand();
		}
		if (next_rand() % 8 == 0)
			cb_truncate(&b, next_rand() % b.len);
		cb_write(&b, file(name));
		rc = xfm_open(&h, path, 0);
		if (rc && rc != -ENOEXEC)
			fail_msg("%s #%d: %d %s", name, k, rc, xfm_last_error());
		if (rc)
			continue;
		opened++;
		read_everything(h);
		xfm_close(h);
	}
	print_message("# %s: %d of 400 mutants opened\n", name, opened);
	cb_free(&b);
}

static void mutations(void **state)
{
	struct cbuf b = { 0 };
	struct craft_elf le;
	struct craft_xen lx;

	(void)state;
	craft_elf(&b, true, false, loads, 3, false, &le);
	mutate_and_open(&b, "m-elf64");
	cb_free(&b);
	craft_elf(&b, false, true, loads, 3, true, &le);
	mutate_and_open(&b, "m-elf32be-xnum");
	cb_free(&b);
	craft_xen(&b, false, pfns, 6, 4096, &lx);
	mutate_and_open(&b, "m-xen-hvm");
	cb_free(&b);
	craft_xen(&b, true, pfns, 6, 4096, &lx);
	mutate_and_open(&b, "m-xen-pv");
	cb_free(&b);
	craft_lime(&b, lranges, 3);
	mutate_and_open(&b, "m-lime");
	cb_free(&b);
}

static int teardown(void **state)
{
	(void)state;
	craft_rmdir();
	return 0;
}

static int run_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(elf64_le),
		cmocka_unit_test(elf64_be),
		cmocka_unit_test(elf32_le),
		cmocka_unit_test(elf32_be),
		cmocka_unit_test(elf64_xnum),
		cmocka_unit_test(elf32_xnum),
		cmocka_unit_test(elf_corrupt),
		cmocka_unit_test(xen_hvm),
		cmocka_unit_test(xen_pv),
		cmocka_unit_test(xen_big_pages),
		cmocka_unit_test(xen_corrupt),
		cmocka_unit_test(lime_ok),
		cmocka_unit_test(span_and_alloc),
		cmocka_unit_test(dump_span),
		cmocka_unit_test(lime_corrupt),
		cmocka_unit_test(raw_ok),
		cmocka_unit_test(zero_copy),
		cmocka_unit_test(mutations),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}

int main(void)
{
	return tap_run(run_group);
}
