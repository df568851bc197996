/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Test 2: our libxenforeignmemory.so.1 and Debian's in one process (each
 * in its own dlmopen namespace, as both have the same SONAME).  Every
 * scenario runs the same calls on both and writes a transcript of return
 * values, errno and what was logged; the transcripts must be identical.
 * No Xen is needed: the scenarios are those reachable without privcmd,
 * plus fake /dev/xen/privcmd nodes (a regular file, /dev/null, a
 * directory) in a private mount namespace, which also shows that
 * xentoolcore_restrict_all() reaches our handles.
 *
 * Environment: XFM_OUR_LIB, XFM_DEBIAN_LIB (paths of the two libraries).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "compat-lib.h"
#include "fake-privcmd.h"

static struct fm_lib ours, debian;

typedef void scenario_fn(struct fm_lib *l, struct transcript *t);

/* Run @fn on both libraries; 0 when the transcripts agree. */
static int same_on_both(scenario_fn *fn)
{
	static struct transcript a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	fn(&ours, &a);
	fn(&debian, &b);
	printf("# debian:\n");
	for (char *s = b.buf, *e; *s; s = e + 1) {
		e = strchr(s, '\n');
		if (!e)
			break;
		printf("#   %.*s\n", (int)(e - s), s);
	}
	if (strcmp(a.buf, b.buf) == 0)
		return 0;
	printf("# ours differs:\n%s", a.buf);
	return 1;
}

static void open_without_privcmd(struct fm_lib *l, struct transcript *t)
{
	struct cap_logger c;
	xenforeignmemory_handle *h;

	cap_init(&c);
	lib_errno_clear(l);
	h = l->open(&c.vt, 0);
	tr(t, "open(logger, 0) = %s errno=%s logs=%d level=%d errnoval=%s "
	   "context=%s\n", h ? "handle" : "NULL", LERR(l), c.n, c.level,
	   ename(c.errnoval), c.context);
	l->close(h);
	cap_init(&c);
	lib_errno_clear(l);
	h = l->open(&c.vt, ~0u);
	tr(t, "open(logger, ~0) = %s errno=%s logs=%d\n", h ? "handle" : "NULL",
	   LERR(l), c.n);
	l->close(h);
	lib_errno_clear(l);
	h = l->open(NULL, 0);
	tr(t, "open(NULL, 0) = %s errno=%s\n", h ? "handle" : "NULL",
	   LERR(l));
	l->close(h);
}

static void open_without_privcmd_test(void **state)
{
	(void)state;
	if (!access("/dev/xen/privcmd", F_OK) ||
	    !access("/proc/xen/privcmd", F_OK))
		skip(); /* a Xen dom0: covered by the lab tests */
	assert_int_equal(same_on_both(open_without_privcmd), 0);
}

static void close_null(struct fm_lib *l, struct transcript *t)
{
	lib_errno_clear(l);
	tr(t, "close(NULL) = %d errno=%s\n", l->close(NULL), LERR(l));
	lib_errno_clear(l);
	tr(t, "unmap_resource(NULL, NULL) = %d errno=%s\n",
	   l->unmap_resource(NULL, NULL), LERR(l));
}

static void close_null_test(void **state)
{
	(void)state;
	assert_int_equal(same_on_both(close_null), 0);
}

/* Is the page at @p mapped?  msync says ENOMEM for a hole. */
static const char *mapped(void *p)
{
	return msync(p, 1, MS_ASYNC) == 0 ? "mapped" :
	       errno == ENOMEM ? "unmapped" : "?";
}

/* Unmap must work on any mapping (it is munmap), even without a handle. */
static void unmap_plain(struct fm_lib *l, struct transcript *t)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *a = mmap(NULL, 4 * (size_t)pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int rc;

	if (a == MAP_FAILED) {
		tr(t, "mmap failed\n");
		return;
	}
	lib_errno_clear(l);
	rc = l->unmap(NULL, a, (size_t)(2 * pg / 4096));
	tr(t, "unmap(NULL, a, 2 kernel pages) = %d errno=%s: %s %s %s\n", rc,
	   LERR(l), mapped(a), mapped(a + pg), mapped(a + 2 * pg));
	lib_errno_clear(l);
	rc = l->unmap(NULL, a + 2 * pg, 0);
	tr(t, "unmap(NULL, a, 0) = %d errno=%s\n", rc, LERR(l));
	lib_errno_clear(l);
	rc = l->unmap(NULL, a + 1, 1);
	tr(t, "unmap(NULL, a + 1, 1) = %d errno=%s\n", rc, LERR(l));
	munmap(a, 4 * (size_t)pg);
}

static void unmap_plain_test(void **state)
{
	(void)state;
	assert_int_equal(same_on_both(unmap_plain), 0);
}

/* Every call on a handle whose "privcmd" is not privcmd. */
static void fake_calls(struct fm_lib *l, struct transcript *t,
		       xenforeignmemory_handle *h)
{
	xen_pfn_t arr[3] = { 1, 2, 3 };
	int err[3] = { 0 };
	void *p, *addr = NULL;
	xenforeignmemory_resource_handle *r;
	size_t sz = 0;
	int rc;

	lib_errno_clear(l);
	rc = l->restrict_all(3);
	tr(t, "xentoolcore_restrict_all(3) = %d errno=%s\n", rc, LERR(l));
	lib_errno_clear(l);
	rc = l->restrict_(h, 3);
	tr(t, "restrict(h, 3) = %d errno=%s\n", rc, LERR(l));
	lib_errno_clear(l);
	p = l->map(h, 1, PROT_READ, 3, arr, err);
	tr(t, "map(3, err) = %s errno=%s\n", p ? "addr" : "NULL", LERR(l));
	lib_errno_clear(l);
	p = l->map(h, 1, PROT_READ, 3, arr, NULL);
	tr(t, "map(3, NULL) = %s errno=%s\n", p ? "addr" : "NULL",
	   LERR(l));
	lib_errno_clear(l);
	p = l->map2(h, 1, NULL, PROT_READ | PROT_WRITE, MAP_POPULATE, 3, arr,
		    err);
	tr(t, "map2(3, populate) = %s errno=%s\n", p ? "addr" : "NULL",
	   LERR(l));
	lib_errno_clear(l);
	p = l->map(h, 1, PROT_READ, 0, arr, err);
	tr(t, "map(0) = %s errno=%s\n", p ? "addr" : "NULL", LERR(l));
	lib_errno_clear(l);
	rc = l->resource_size(h, 1, 1, 0, &sz);
	tr(t, "resource_size = %d errno=%s size=%zu\n", rc, LERR(l), sz);
	lib_errno_clear(l);
	r = l->map_resource(h, 1, 1, 0, 0, 1, &addr, PROT_READ, MAP_FIXED);
	tr(t, "map_resource(MAP_FIXED) = %s errno=%s\n", r ? "res" : "NULL",
	   LERR(l));
	l->unmap_resource(h, r);
	lib_errno_clear(l);
	r = l->map_resource(h, 1, 1, 0, 0, 1, &addr, PROT_READ, MAP_SHARED);
	tr(t, "map_resource(1 frame) = %s errno=%s addr=%s\n",
	   r ? "res" : "NULL", LERR(l), addr ? "set" : "NULL");
	l->unmap_resource(h, r);
	lib_errno_clear(l);
	r = l->map_resource(h, 1, 1, 0, 0, 0, &addr, PROT_READ, 0);
	tr(t, "map_resource(size query) = %s errno=%s\n", r ? "res" : "NULL",
	   LERR(l));
	l->unmap_resource(h, r);
}


static void fake_session(struct fm_lib *l, struct transcript *t)
{
	struct cap_logger c;
	xenforeignmemory_handle *h;
	int rc;

	cap_init(&c);
	lib_errno_clear(l);
	h = l->open(&c.vt, 0);
	tr(t, "open = %s errno=%s logs=%d errnoval=%s\n", h ? "handle" : "NULL",
	   ename(h ? 0 : lib_errno(l)), c.n, ename(c.errnoval));
	if (!h)
		return;
	fake_calls(l, t, h);
	lib_errno_clear(l);
	rc = l->close(h);
	tr(t, "close = %d errno=%s\n", rc, LERR(l));
	lib_errno_clear(l);
	rc = l->restrict_all(3);
	tr(t, "restrict_all after close = %d errno=%s logs=%d\n", rc,
	   LERR(l), c.n);
}

/* In the child: both libraries, compared; the exit status is the result. */
static int fake_child(void *arg)
{
	(void)arg;
	return same_on_both(fake_session);
}

static void fake_test(enum fake_kind kind)
{
	int rc = fake_privcmd_run(kind, fake_child, NULL);

	if (rc == 77)
		skip(); /* no mount namespaces here (needs root) */
	assert_int_equal(rc, 0);
}

static void fake_regular_file_test(void **state)
{
	(void)state;
	fake_test(FAKE_REGULAR_FILE);
}

static void fake_dev_null_test(void **state)
{
	(void)state;
	fake_test(FAKE_DEV_NULL);
}

static void fake_directory_test(void **state)
{
	(void)state;
	fake_test(FAKE_DIRECTORY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_without_privcmd_test),
		cmocka_unit_test(close_null_test),
		cmocka_unit_test(unmap_plain_test),
		cmocka_unit_test(fake_regular_file_test),
		cmocka_unit_test(fake_dev_null_test),
		cmocka_unit_test(fake_directory_test),
	};
	const char *o = getenv("XFM_OUR_LIB");
	const char *d = getenv("XFM_DEBIAN_LIB");

	if (!o || !d) {
		printf("1..0 # SKIP XFM_OUR_LIB / XFM_DEBIAN_LIB not set\n");
		return 77;
	}
	if (access(d, F_OK)) {
		printf("1..0 # SKIP Debian's %s is absent\n", d);
		return 77;
	}
	if (fm_load(&ours, o) || fm_load(&debian, d)) {
		printf("1..0 # Bail out! cannot load both libraries\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
