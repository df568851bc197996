/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * test-liveness.c - a live source that goes away under the handle (a Xen
 * domain destroyed, or saved and restored): every later call fails with
 * -ESRCH naming the source and frame, the cached windows are unmapped, a
 * dump fails leaving nothing, and XFM_DUMP_KEEP_PARTIAL keeps a marked
 * file.  The source is in-process memory whose alive() answer the test
 * sets; the lab (tests/xen/test-xen-faults.c) does the same with real Xen.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mem-source.h"

#define NFRAMES 16384 /* 64 MiB: four 16 MiB dump steps */

static uint8_t holes[NFRAMES];
static int alive_calls, die_after, map_calls;
static struct xfm_source_ops gone_ops;

/* Gone once more than die_after windows were mapped (whatever the clock). */
static int fake_alive(struct xfm_source *s)
{
	(void)s;
	alive_calls++;
	return map_calls > die_after ? -ESRCH : 0;
}

static int64_t fake_map(struct xfm_source *s, const uint64_t *frames,
			size_t n, unsigned int prot, void *hint, int *err,
			void **addr)
{
	int64_t rc;

	map_calls++;
	rc = ms_map(s, frames, n, prot, hint, err, addr);
	/* Gone: every frame fails, as a dying domain's do. */
	if (rc >= 0 && map_calls > die_after) {
		for (size_t i = 0; i < n; i++)
			err[i] = -EINVAL;
		rc = 0;
	}
	return rc;
}

static void fill(uint8_t *buf, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + i / 4096);
}

static xfm_handle *open_dying(int after)
{
	const char *k, *v;
	xfm_handle *h;

	assert_int_equal(mem_handle(NFRAMES, holes, 0, fill, &h), 0);
	gone_ops = ms_ops;
	gone_ops.alive = fake_alive;
	gone_ops.map = fake_map;
	h->src->ops = &gone_ops;
	die_after = 1 << 30;
	/* The facts (an ELF header asks for them) scan memory once: now. */
	for (size_t i = 0; xfm_source_info(h, i, &k, &v) == 0; i++)
		;
	alive_calls = 0;
	map_calls = 0;
	die_after = after;
	return h;
}

static void reads_fail_once_gone(void **state)
{
	xfm_handle *h = open_dying(1000);
	xfm_extent e = { .frame = 5 };
	xfm_mapping *m = NULL;
	uint8_t b[16];

	(void)state;
	assert_int_equal(xfm_read(h, 0x1000, b, sizeof(b), 0), 0);
	assert_int_equal(b[0], (uint8_t)(0x1000 * 7 + 1));
	assert_int_equal(h->cache.nr, 1);
	die_after = map_calls;
	/* A miss asks the source at once: gone. */
	assert_int_equal(xfm_read(h, 0x200000, b, sizeof(b), 0), -ESRCH);
	assert_string_equal(xfm_last_error(), "mem: frame 0x200: the domain "
			    "is gone (destroyed, or saved and restored under "
			    "another id); reopen it by name");
	assert_int_equal(h->cache.nr, 0); /* windows unmapped at once */
	/* From now on everything fails, without asking the source again. */
	alive_calls = -1000;
	assert_int_equal(xfm_read(h, 0x1000, b, sizeof(b), 0), -ESRCH);
	assert_int_equal(xfm_read(h, 0x1000, b, 1, XFM_READ_ZERO_FILL), -ESRCH);
	assert_int_equal(xfm_get_ranges(h, NULL, 0), -ESRCH);
	assert_int_equal(xfm_map(h, &e, 1, XFM_PROT_READ, NULL, &m), -ESRCH);
	assert_null(m);
	assert_int_equal(xfm_dump(h, "/nonexistent-dir/x", XFM_DUMP_RAW, 0,
				  NULL, NULL), -ESRCH);
	assert_int_equal(alive_calls, -1000);
	assert_int_equal(xfm_close(h), 0);
}

/* A miss whose frames all map does not ask the source (the mapping
 * proves the domain was there): no hypercall per map; one that fails
 * asks at once (above). */
static void whole_map_asks_at_pace(void **state)
{
	xfm_handle *h = open_dying(1 << 30);
	xfm_extent e = { .frame = 7 };
	xfm_mapping *m = NULL;
	uint8_t b[8];

	(void)state;
	assert_int_equal(xfm_read(h, 0x1000, b, sizeof(b), 0), 0);
	alive_calls = 0;
	for (int i = 1; i < 16; i++) {
		e.frame = (uint64_t)i * 256;
		assert_int_equal(xfm_map(h, &e, 1, XFM_PROT_READ, NULL, &m), 1);
		xfm_unmap(m);
		assert_int_equal(xfm_read(h, (uint64_t)i << 20, b, 1, 0), 0);
	}
	/* 30 new mappings; at most a look per 20 ms (a slow machine may
	 * take some), never one per mapping. */
	assert_true(alive_calls < 30);
	xfm_close(h);
}

static void cache_hit_notices(void **state)
{
	xfm_handle *h = open_dying(1000);
	uint8_t b[8];
	int rc = 0;

	(void)state;
	assert_int_equal(xfm_read(h, 0x1000, b, sizeof(b), 0), 0);
	die_after = 0;
	/* Cache hits look again after 20 ms: loop until one does. */
	for (int i = 0; i < 1000 && rc == 0; i++) {
		rc = xfm_read(h, 0x1000, b, sizeof(b), 0);
		usleep(1000);
	}
	assert_int_equal(rc, -ESRCH);
	assert_int_equal(h->cache.nr, 0);
	xfm_close(h);
}

/* Files in @dir whose name contains @part. */
static int count_files(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strstr(e->d_name, part) != NULL;
	closedir(d);
	return n;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The XFM status note of an ELF dump: PT_NOTE, the first phdr. */
static void read_status(const char *path, uint64_t st[4])
{
	uint8_t ph[56], note[48];
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, ph, sizeof(ph), 64), 56);
	assert_int_equal(ph[0], 4); /* PT_NOTE */
	assert_int_equal(pread(fd, note, sizeof(note), (off_t)le64(ph + 8)), 48);
	assert_memory_equal(note + 12, "XFM", 4);
	assert_int_equal(le64(note + 8) & 0xffffffff, XFM_NOTE_DUMP_STATUS);
	for (int i = 0; i < 4; i++)
		st[i] = le64(note + 16 + 8 * i);
	close(fd);
}

/* An ELF dump into @dir of a source that dies after @after maps (or as
 * @progress says): -ESRCH with @msg in the message, no file left. */
static void dump_gone(const char *dir, int after, xfm_progress_fn progress,
		      const char *msg)
{
	char path[64];
	xfm_handle *h;

	snprintf(path, sizeof(path), "%s/guest.elf", dir);
	h = open_dying(after);
	assert_int_equal(xfm_dump(h, path, XFM_DUMP_ELF, 0, progress, NULL),
			 -ESRCH);
	assert_non_null(strstr(xfm_last_error(), msg));
	assert_int_equal(count_files(dir, "guest"), 0);
	xfm_close(h);
}

static void dump_fails_and_leaves_nothing(void **state)
{
	char dir[] = "/tmp/xfm-liveness.XXXXXX", path[64];
	xfm_handle *h;
	uint64_t st[4];
	struct stat sb;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/guest.elf", dir);
	/* Dies at the 2nd of 4 map steps of a dump (16 MiB, src/core/dump.c):
	 * after 16 MiB. */
	dump_gone(dir, 1, NULL, "guest.elf: reading guest address 0x1000000: "
		  "mem: frame 0x");

	/* Forensics: kept, marked, still -ESRCH. */
	h = open_dying(1);
	assert_int_equal(xfm_dump(h, path, XFM_DUMP_ELF,
				  XFM_DUMP_KEEP_PARTIAL, NULL, NULL), -ESRCH);
	assert_non_null(strstr(xfm_last_error(), "partial dump kept (16777216 "
			       "of 67108864 bytes"));
	assert_int_equal(count_files(dir, ".xfm-"), 0);
	read_status(path, st);
	assert_int_equal(st[0], 16u << 20);
	assert_int_equal(st[1], 64u << 20);
	assert_int_equal(st[2], 0x1000000);
	assert_int_equal(st[3], ESRCH);
	assert_int_equal(stat(path, &sb), 0);
	assert_true((uint64_t)sb.st_size >= 64u << 20); /* whole layout */
	xfm_close(h);
	unlink(path);

	/* A complete dump with the flag says so in its note. */
	h = open_dying(1000);
	assert_int_equal(xfm_dump(h, path, XFM_DUMP_ELF, XFM_DUMP_KEEP_PARTIAL,
				  NULL, NULL), 0);
	read_status(path, st);
	assert_int_equal(st[0], 64u << 20);
	assert_int_equal(st[1], 64u << 20);
	assert_int_equal(st[2], UINT64_MAX);
	assert_int_equal(st[3], 0);
	unlink(path);
	/* Raw and LiME have no place for the mark. */
	assert_int_equal(xfm_dump(h, path, XFM_DUMP_RAW, XFM_DUMP_KEEP_PARTIAL,
				  NULL, NULL), -EINVAL);
	xfm_close(h);
	rmdir(dir);
}

/* The guest goes once every frame was read (`xl destroy` from the
 * progress callback at 100 %, as in the Arm lab, whose memory map ends
 * with RAM): all maps succeeded, yet the dump must not pass as whole. */
static int gone_at_end(void *opaque, uint64_t done, uint64_t total)
{
	(void)opaque;
	if (done == total)
		die_after = 0;
	return 0;
}

static void dump_fails_when_gone_at_the_end(void **state)
{
	char dir[] = "/tmp/xfm-liveness.XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	dump_gone(dir, 1000, gone_at_end, "guest.elf: reading guest address "
		  "0x3fff000: mem: frame 0x3fff: the domain is gone");
	assert_int_equal(map_calls, 4); /* every step mapped */
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_fail_once_gone),
		cmocka_unit_test(whole_map_asks_at_pace),
		cmocka_unit_test(cache_hit_notices),
		cmocka_unit_test(dump_fails_and_leaves_nothing),
		cmocka_unit_test(dump_fails_when_gone_at_the_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
