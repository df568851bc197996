/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The public API on this machine, through xfm_open(): URIs, error codes
 * and messages, and a raw dump file read both by copy and by mapping.
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

static char raw_path[64];

static int make_raw(void **state)
{
	uint8_t buf[4096];
	int fd;

	(void)state;
	snprintf(raw_path, sizeof(raw_path), "/tmp/xfm-raw-XXXXXX");
	fd = mkstemp(raw_path);
	assert_true(fd >= 0);
	for (int f = 0; f < 64; f++) {
		memset(buf, f, sizeof(buf));
		snprintf((char *)buf, 32, "frame %d", f);
		assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	}
	close(fd);
	return 0;
}

static int remove_raw(void **state)
{
	(void)state;
	unlink(raw_path);
	return 0;
}

static void bad_uris(void **state)
{
	xfm_handle *h = (xfm_handle *)1;

	(void)state;
	assert_int_equal(xfm_open(&h, "", 0), -EINVAL);
	assert_int_equal(xfm_open(NULL, "x", 0), -EINVAL);
	assert_int_equal(xfm_open(&h, "bogus:1", 0), -EINVAL);
	assert_non_null(strstr(xfm_last_error(), "bogus:1"));
	assert_int_equal(xfm_open(&h, "xen:abc", 0), -EINVAL);
	assert_string_equal(xfm_last_error(), "xen:abc: not a domain id");
	assert_int_equal(xfm_open(&h, "xen:-1", 0), -EINVAL);
	assert_int_equal(xfm_open(&h, "xen:32752", 0), -EINVAL);
	assert_int_equal(xfm_open(&h, "/no/such/file", 0), -ENOENT);
	assert_non_null(strstr(xfm_last_error(), "/no/such/file"));
	assert_int_equal(xfm_open(&h, "/tmp", 0), -EISDIR);
	assert_int_equal(xfm_open(&h, raw_path, 0x100), -EINVAL);
	assert_int_equal(xfm_close(NULL), 0);
}

static void count_warning(void *opaque, const char *msg)
{
	(void)msg;
	++*(int *)opaque;
}

/* xfm_open_ex: the same opens and errors; a file source has nothing to
 * warn about, and the callback is not called. */
static void open_ex(void **state)
{
	xfm_handle *h = NULL;
	int warnings = 0;

	(void)state;
	assert_int_equal(xfm_open_ex(&h, "bogus:1", 0, count_warning,
				     &warnings), -EINVAL);
	assert_string_equal(xfm_last_error(), "bogus:1: unknown source "
			    "(expected xen:<domid>, file:<path>, qemu:<socket> "
			    "or a path)");
	assert_int_equal(xfm_open_ex(&h, raw_path, 0x100, NULL, NULL),
			 -EINVAL);
	assert_int_equal(xfm_open_ex(&h, raw_path, 0, count_warning,
				     &warnings), 0);
	assert_int_equal(xfm_close(h), 0);
	assert_int_equal(warnings, 0);
}

static void xen_without_xen(void **state)
{
	xfm_handle *h = NULL;
	int rc;

	(void)state;
	if (access("/dev/xen/privcmd", F_OK) == 0) {
		/* A real dom0: domain 31000 does not exist. */
		assert_int_equal(xfm_open(&h, "xen:31000", 0), -ENOENT);
		assert_non_null(strstr(xfm_last_error(), "no such domain"));
		return;
	}
	rc = xfm_open(&h, "xen:1", 0);
	assert_int_equal(rc, -ENODEV);
	assert_non_null(strstr(xfm_last_error(), "xen:1"));
	assert_non_null(strstr(xfm_last_error(), "privcmd"));
}

static void raw_file(void **state)
{
	xfm_handle *h = NULL;
	xfm_geometry g;
	xfm_range r[4];
	char buf[16];
	const char *k, *v;

	(void)state;
	assert_int_equal(xfm_open(&h, raw_path, XFM_OPEN_QUIET), 0);
	assert_string_equal(xfm_source_name(h), "file");
	assert_int_equal(xfm_source_info(h, 0, &k, &v), 0);
	assert_string_equal(k, "format");
	assert_string_equal(v, "raw");
	assert_int_equal(xfm_source_info(h, 1, &k, &v), -ENOENT);
	assert_int_equal(xfm_get_geometry(h, &g, sizeof(g)), 0);
	assert_int_equal(g.frame_size, 4096);
	assert_int_equal(g.kernel_page_size, sysconf(_SC_PAGESIZE));
	assert_int_equal(g.max_frame, 63);
	assert_int_equal(g.origin, XFM_ORIGIN_FILE);
	assert_int_equal(xfm_get_ranges(h, r, 4), 1);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].size, 64 * 4096);
	assert_int_equal(xfm_read(h, 7 * 4096, buf, 8, 0), 0);
	assert_memory_equal(buf, "frame 7", 8);
	assert_int_equal(xfm_read(h, 64 * 4096, buf, 1, 0), -ERANGE);
	assert_int_equal(xfm_write(h, 0, buf, 1), -EROFS);
	assert_int_equal(xfm_restrict(h), -EOPNOTSUPP);
	assert_int_equal(xfm_close(h), 0);
	assert_int_equal(xfm_open(&h, raw_path, XFM_OPEN_WRITE), -EROFS);
}

static void raw_file_map(void **state)
{
	xfm_handle *h = NULL;
	xfm_extent e[] = { { .frame = 9 }, { .frame = 32, .order = 4 },
			   { .frame = 64 } };
	xfm_mapping *m = NULL;
	const char *p;

	(void)state;
	assert_int_equal(xfm_open(&h, raw_path, 0), 0);
	assert_int_equal(xfm_map(h, e, 3, XFM_PROT_READ, NULL, &m), 2);
	assert_int_equal(e[2].err, -ENOENT);
	p = xfm_map_addr(m);
	assert_string_equal(p, "frame 9");
	assert_string_equal(p + 4096, "frame 32");
	assert_string_equal(p + 16 * 4096, "frame 47");
	assert_int_equal((unsigned char)p[16 * 4096 + 4095], 47);
	assert_int_equal(xfm_unmap(m), 0);
	assert_int_equal(xfm_close(h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_uris),
		cmocka_unit_test(open_ex),
		cmocka_unit_test(xen_without_xen),
		cmocka_unit_test(raw_file),
		cmocka_unit_test(raw_file_map),
	};

	return cmocka_run_group_tests(tests, make_raw, remove_raw);
}
