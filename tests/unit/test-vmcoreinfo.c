/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * VMCOREINFO discovery (src/os/linux.c) through the public API: a note
 * planted at a page start of a raw image is found, its facts and numbers
 * are exact; notes that are misplaced or malformed are not taken; a
 * source without one is a normal answer; an ELF core's own note wins.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "xfm.h"
#include "source-fact.h"

#define MEM (UINT64_C(8) << 20)

static const char text[] =
	"OSRELEASE=6.1.0-57-amd64\n"
	"BUILD-ID=0123456789abcdef\n"
	"PAGESIZE=4096\n"
	"SYMBOL(init_uts_ns)=ffffffff82a14d20\n"
	"SYMBOL(swapper_pg_dir)=ffffffff82a0a000\n"
	"OFFSET(task_struct.tasks)=2256\n"
	"NUMBER(phys_base)=-16777216\n"
	"NUMBER(kimage_voffset)=0xffff800008000000\n"
	"KERNELOFFSET=1e000000\n"
	"CRASHTIME=\n";

static char path[64];

/* An image of MEM bytes of 0xa5 with @n notes {addr, descsz, body}. */
struct note {
	uint64_t addr;
	uint32_t namesz, descsz, type;
	const char *name;
	const char *body;
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* the tests run on little-endian hosts only */
}

static void plant(uint8_t *mem, const struct note *n)
{
	uint8_t *p = mem + n->addr;

	put32(p, n->namesz);
	put32(p + 4, n->descsz);
	put32(p + 8, n->type);
	memset(p + 12, 0, 12);
	memcpy(p + 12, n->name, strlen(n->name));
	memcpy(p + 24, n->body, strlen(n->body));
}

static void write_file(const void *buf, size_t len)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/xfm-vmci-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static xfm_handle *image(const struct note *n, size_t nn)
{
	uint8_t *mem = malloc(MEM);
	xfm_handle *h;

	assert_non_null(mem);
	memset(mem, 0xa5, MEM);
	for (size_t i = 0; i < nn; i++)
		plant(mem, &n[i]);
	write_file(mem, MEM);
	free(mem);
	assert_int_equal(xfm_open(&h, path, 0), 0);
	unlink(path);
	return h;
}

static struct note good(uint64_t addr)
{
	return (struct note){ addr, 11, (uint32_t)strlen(text), 0,
			      "VMCOREINFO", text };
}

static void found_in_memory(void **state)
{
	struct note n = good(0x123000);
	xfm_handle *h = image(&n, 1);
	char buf[1024];
	uint64_t pa = 0, v;

	(void)state;
	assert_int_equal(xfm_vmcoreinfo(h, NULL, 0, NULL),
			 (int64_t)strlen(text));
	assert_int_equal(xfm_vmcoreinfo(h, buf, sizeof(buf), &pa),
			 (int64_t)strlen(text));
	assert_string_equal(buf, text);
	assert_int_equal(pa, 0x123000);
	/* A short buffer gets a NUL-terminated prefix and the full length. */
	assert_int_equal(xfm_vmcoreinfo(h, buf, 10, NULL),
			 (int64_t)strlen(text));
	assert_string_equal(buf, "OSRELEASE");

	assert_string_equal(fact(h, "linux.osrelease"), "6.1.0-57-amd64");
	assert_string_equal(fact(h, "linux.page_size"), "4096");
	assert_string_equal(fact(h, "linux.kaslr_offset"), "0x1e000000");
	assert_string_equal(fact(h, "linux.vmcoreinfo_addr"), "0x123000");
	assert_string_equal(fact(h, "linux.vmcoreinfo_source"), "memory");
	assert_string_equal(fact(h, "format"), "raw");

	assert_int_equal(xfm_vmcoreinfo_number(h, "SYMBOL(swapper_pg_dir)",
					       &v), 0);
	assert_int_equal(v, UINT64_C(0xffffffff82a0a000));
	assert_int_equal(xfm_vmcoreinfo_number(h, "KERNELOFFSET", &v), 0);
	assert_int_equal(v, 0x1e000000);
	assert_int_equal(xfm_vmcoreinfo_number(h, "PAGESIZE", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(xfm_vmcoreinfo_number(h, "OFFSET(task_struct.tasks)",
					       &v), 0);
	assert_int_equal(v, 2256);
	assert_int_equal(xfm_vmcoreinfo_number(h, "NUMBER(phys_base)", &v), 0);
	assert_int_equal(v, (uint64_t)-16777216);
	assert_int_equal(xfm_vmcoreinfo_number(h, "NUMBER(kimage_voffset)",
					       &v), 0);
	assert_int_equal(v, UINT64_C(0xffff800008000000));
	assert_int_equal(xfm_vmcoreinfo_number(h, "OSRELEASE", &v), -EINVAL);
	assert_int_equal(xfm_vmcoreinfo_number(h, "CRASHTIME", &v), -EINVAL);
	assert_int_equal(xfm_vmcoreinfo_number(h, "SYMBOL(nothing)", &v),
			 -ENOENT);
	assert_non_null(strstr(xfm_last_error(), "VMCOREINFO has no "
			       "SYMBOL(nothing)"));
	/* A key is a whole name: a prefix does not match. */
	assert_int_equal(xfm_vmcoreinfo_number(h, "SYMBOL(init_uts", &v),
			 -ENOENT);
	assert_int_equal(xfm_vmcoreinfo_number(h, "", &v), -EINVAL);
	assert_int_equal(xfm_vmcoreinfo(NULL, NULL, 0, NULL), -EINVAL);
	assert_int_equal(xfm_vmcoreinfo(h, NULL, 5, NULL), -EINVAL);
	xfm_close(h);
}

static void no_linux_is_normal(void **state)
{
	xfm_handle *h = image(NULL, 0);
	const char *k, *v;
	size_t n = 0;

	(void)state;
	xfm_vmcoreinfo_number(h, "x", NULL); /* sets a message */
	for (; xfm_source_info(h, n, &k, &v) == 0; n++)
		assert_null(strstr(k, "linux."));
	/* The search did not replace the caller's last message. */
	assert_string_equal(xfm_last_error(),
			    "xfm_vmcoreinfo_number: bad arguments");
	assert_int_equal(n, 1); /* "format" only */
	assert_int_equal(xfm_vmcoreinfo(h, NULL, 0, NULL), -ENOENT);
	assert_non_null(strstr(xfm_last_error(), "no Linux VMCOREINFO"));
	xfm_close(h);
}

/* Each of these is not the kernel's note and must not be taken. */
static void malformed_not_taken(void **state)
{
	char bad_char[sizeof(text)], no_pagesize[] = "OSRELEASE=6.1\nX=1\n";
	struct note bad[] = {
		good(0x200008),                               /* not a page start */
		{ 0x201000, 11, (uint32_t)strlen(text), 1, "VMCOREINFO", text },
		{ 0x202000, 10, (uint32_t)strlen(text), 0, "VMCOREINFO", text },
		{ 0x203000, 11, (uint32_t)strlen(text), 0, "VMCOREINFX", text },
		{ 0x204000, 11, 0, 0, "VMCOREINFO", text },   /* empty */
		{ 0x205000, 11, 65537, 0, "VMCOREINFO", text }, /* too long */
		{ 0x206000, 11, 40, 0, "VMCOREINFO", text },  /* cut mid-line */
		{ 0x207000, 11, (uint32_t)strlen(text), 0, "VMCOREINFO",
		  bad_char },
		{ 0x208000, 11, (uint32_t)strlen(no_pagesize), 0,
		  "VMCOREINFO", no_pagesize },
		{ 0x209000, 11, (uint32_t)strlen(text) - 10, 0, "VMCOREINFO",
		  text + 10 },                                /* no OSRELEASE */
		/* At the very end: its text would run past the memory. */
		{ MEM - 4096, 11, 8192, 0, "VMCOREINFO", text },
	};
	xfm_handle *h;

	(void)state;
	memcpy(bad_char, text, sizeof(text));
	bad_char[30] = '\x01';
	h = image(bad, sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(xfm_vmcoreinfo(h, NULL, 0, NULL), -ENOENT);
	assert_string_equal(fact(h, "linux.osrelease"), "(none)");
	xfm_close(h);
}

/* Decoys above a good note (searched first, top down) are skipped. */
static void decoys_then_good(void **state)
{
	struct note n[] = {
		{ 0x700000, 11, 40, 0, "VMCOREINFO", text },
		{ 0x6ff000, 11, 65537, 0, "VMCOREINFO", text },
		good(0x10000),
	};
	xfm_handle *h = image(n, 3);
	uint64_t pa;

	(void)state;
	assert_int_equal(xfm_vmcoreinfo(h, NULL, 0, &pa),
			 (int64_t)strlen(text));
	assert_int_equal(pa, 0x10000);
	xfm_close(h);
}

/* An ELF64 core with one PT_NOTE (a VMCOREINFO note) and one PT_LOAD. */
/* An x86-64 ELF core header at @f, @phnum program headers at 64. */
static void elf_core_header(uint8_t *f, uint8_t phnum)
{
	memcpy(f, "\177ELF\2\1\1", 7);
	f[16] = 4;        /* ET_CORE */
	f[18] = 62;       /* EM_X86_64 */
	f[20] = 1;
	f[32] = 64;       /* e_phoff */
	f[52] = 64;       /* e_ehsize */
	f[54] = 56;       /* e_phentsize */
	f[56] = phnum;    /* e_phnum */
}

static void from_elf_note(void **state)
{
	const char *other = "OSRELEASE=5.10.0-other\nPAGESIZE=16384\n";
	size_t tl = strlen(other), nsz = 24 + ((tl + 3) & ~(size_t)3);
	size_t data = 0x1000, len = data + 0x10000;
	uint8_t *f = calloc(1, len);
	struct note n = good(data + 0x4000 - data); /* also in memory */
	xfm_handle *h;
	char buf[256];
	uint64_t pa = 0;

	(void)state;
	assert_non_null(f);
	elf_core_header(f, 2);
	/* PT_NOTE at 0x200 */
	put32(f + 64, 4);
	f[64 + 8] = 0x00; f[64 + 9] = 0x02;
	f[64 + 32] = (uint8_t)nsz;
	f[64 + 40] = (uint8_t)nsz;
	/* PT_LOAD: paddr 0, 64 KiB at file offset 0x1000 */
	put32(f + 120, 1);
	f[120 + 9] = 0x10;
	f[120 + 34] = 0x01; /* filesz 0x10000 */
	f[120 + 42] = 0x01; /* memsz 0x10000 */
	plant(f + 0x200 - 0, &(struct note){ 0, 11, (uint32_t)tl, 0,
					     "VMCOREINFO", other });
	plant(f + data, &n); /* memory's note at paddr 0x4000 */
	write_file(f, len);
	free(f);
	assert_int_equal(xfm_open(&h, path, 0), 0);
	unlink(path);
	assert_int_equal(xfm_vmcoreinfo(h, buf, sizeof(buf), &pa),
			 (int64_t)tl);
	assert_string_equal(buf, other);
	assert_int_equal(pa, UINT64_MAX);
	assert_string_equal(fact(h, "format"), "elf");
	assert_string_equal(fact(h, "linux.osrelease"), "5.10.0-other");
	assert_string_equal(fact(h, "linux.page_size"), "16384");
	assert_string_equal(fact(h, "linux.vmcoreinfo_source"), "dump");
	assert_string_equal(fact(h, "linux.vmcoreinfo_addr"), "(none)");
	assert_string_equal(fact(h, "linux.kaslr_offset"), "(none)");
	xfm_close(h);
}

/*
 * A dump's present but unstored bytes (p_memsz beyond p_filesz: zeros)
 * are skipped by the search, not mapped page by page: the note in the
 * 64 KiB stored below a 1 TiB unstored tail is found (before, this took
 * hours; the fuzzer's timeout input in tests/fuzz/crashes/elf).
 */
static void unstored_tail_skipped(void **state)
{
	size_t data = 0x1000, len = data + 0x10000;
	uint8_t *f = calloc(1, len);
	struct note n = good(0x4000);
	xfm_handle *h;
	uint64_t pa = 0;

	(void)state;
	assert_non_null(f);
	elf_core_header(f, 1);
	/* PT_LOAD: paddr 0, 64 KiB stored at 0x1000, 1 TiB in memory */
	put32(f + 64, 1);
	f[64 + 9] = 0x10;
	f[64 + 34] = 0x01; /* filesz 0x10000 */
	f[64 + 45] = 0x01; /* memsz 0x10000000000 */
	plant(f + data, &n);
	write_file(f, len);
	free(f);
	assert_int_equal(xfm_open(&h, path, 0), 0);
	unlink(path);
	assert_int_equal(xfm_get_ranges(h, NULL, 0), 1);
	assert_int_equal(xfm_vmcoreinfo(h, NULL, 0, &pa),
			 (int64_t)strlen(text));
	assert_int_equal(pa, 0x4000);
	assert_string_equal(fact(h, "linux.vmcoreinfo_source"), "memory");
	xfm_close(h);
}

/* Count the notes named @name in an ELF file, with readelf. */
static int readelf_notes(const char *file, const char *name)
{
	char cmd[512];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "readelf -nW '%s' | grep -c '^ *%s '",
		 file, name);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

/* An ELF dump carries the note found in memory; read back, it is the
 * dump's own; dumped again, it is not doubled. */
static void elf_dump_carries_note(void **state)
{
	struct note n = good(0x123000);
	xfm_handle *h = image(&n, 1), *e;
	char out[64], out2[80], buf[1024];
	uint64_t pa = 0;

	(void)state;
	snprintf(out, sizeof(out), "/tmp/xfm-vmci-XXXXXX");
	close(mkstemp(out));
	assert_int_equal(xfm_dump(h, out, XFM_DUMP_ELF, XFM_DUMP_OVERWRITE,
				  NULL, NULL), 0);
	xfm_close(h);
	assert_int_equal(readelf_notes(out, "VMCOREINFO"), 1);
	/* The kernel image's mapping: phys_base -16 MiB puts physical 0 at
	 * __START_KERNEL_map + 16 MiB; it aliases the RAM PT_LOAD. */
	snprintf(buf, sizeof(buf), "readelf -lW '%s' | grep -q 'LOAD  *0x001000 "
		 "0xffffffff81000000 0x0000000000000000 0x800000 0x800000'",
		 out);
	assert_int_equal(system(buf), 0);
	assert_int_equal(xfm_open(&e, out, 0), 0);
	assert_string_equal(fact(e, "elf.notes"), "1");
	assert_string_equal(fact(e, "elf.loads"), "2");
	assert_int_equal(xfm_get_ranges(e, NULL, 0), 1);
	assert_int_equal(xfm_vmcoreinfo(e, buf, sizeof(buf), &pa),
			 (int64_t)strlen(text));
	assert_string_equal(buf, text);
	assert_int_equal(pa, UINT64_MAX);
	assert_string_equal(fact(e, "linux.vmcoreinfo_source"), "dump");
	snprintf(out2, sizeof(out2), "%s.2", out);
	assert_int_equal(xfm_dump(e, out2, XFM_DUMP_ELF, XFM_DUMP_OVERWRITE,
				  NULL, NULL), 0);
	xfm_close(e);
	assert_int_equal(readelf_notes(out2, "VMCOREINFO"), 1);
	unlink(out);
	unlink(out2);
}

/* kdump, every codec and the flattened form: the bytes come back, the
 * header names the system, VMCOREINFO travels in the sub-header. */
static void kdump_round_trip(void **state)
{
	static const unsigned int codec[] = { 0, XFM_DUMP_ZLIB, XFM_DUMP_LZO,
					      XFM_DUMP_SNAPPY, XFM_DUMP_ZSTD };
	struct note n = good(0x123000);
	xfm_handle *h = image(&n, 1), *k;
	uint8_t *a = malloc(MEM), *b = malloc(MEM);
	char out[64];
	uint64_t pa;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(xfm_read(h, 0, a, MEM, 0), 0);
	for (int flat = 0; flat < 2; flat++) {
		for (size_t i = 0; i < sizeof(codec) / sizeof(codec[0]); i++) {
			int rc;

			snprintf(out, sizeof(out), "/tmp/xfm-vmci-XXXXXX");
			close(mkstemp(out));
			rc = xfm_dump(h, out, flat ? XFM_DUMP_KDUMP_FLAT :
				      XFM_DUMP_KDUMP,
				      XFM_DUMP_OVERWRITE | codec[i], NULL, NULL);
#ifdef XFM_TEST_CORE_ONLY
			/* The platform builds run on hosts without the
			 * foreign architecture's compression libraries: a
			 * codec that cannot load fails exactly so. */
			if (codec[i] && rc == -EOPNOTSUPP) {
				unlink(out);
				continue;
			}
#endif
			assert_int_equal(rc, 0);
			assert_int_equal(xfm_open(&k, out, 0), 0);
			unlink(out);
			assert_string_equal(fact(k, "format"), "kdump");
			assert_string_equal(fact(k, "kdump.flattened"),
					    flat ? "yes" : "no");
			assert_string_equal(fact(k, "kdump.release"),
					    "6.1.0-57-amd64");
			assert_int_equal(xfm_get_ranges(k, NULL, 0), 1);
			memset(b, 0x11, MEM);
			assert_int_equal(xfm_read(k, 0, b, MEM, 0), 0);
			assert_memory_equal(a, b, MEM);
			assert_int_equal(xfm_vmcoreinfo(k, NULL, 0, &pa),
					 (int64_t)strlen(text));
			assert_int_equal(pa, UINT64_MAX);
			xfm_close(k);
		}
	}
	assert_int_equal(xfm_dump(h, "/tmp/x", XFM_DUMP_ELF, XFM_DUMP_ZLIB,
				  NULL, NULL), -EINVAL);
	free(a);
	free(b);
	xfm_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(found_in_memory),
		cmocka_unit_test(no_linux_is_normal),
		cmocka_unit_test(malformed_not_taken),
		cmocka_unit_test(decoys_then_good),
		cmocka_unit_test(from_elf_note),
		cmocka_unit_test(unstored_tail_skipped),
		cmocka_unit_test(elf_dump_carries_note),
		cmocka_unit_test(kdump_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
