/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The compat library under a simulated 16 KiB kernel page (arm64 with
 * CONFIG_ARM64_16K_PAGES): this program's sysconf() answers 16384 for
 * _SC_PAGESIZE and, being exported, is what our library (dlopen'ed into
 * the default namespace) calls.  Checks that unmap rounds N frames up to
 * ceil(N / 4) kernel pages and that a multi-frame map_resource, which
 * privcmd gets wrong on such kernels, is refused before the kernel sees
 * it, with a logged reason, while a one-frame one still goes through.
 *
 * Environment: XFM_OUR_LIB.
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

#define FAKE_KPAGE 16384L

static struct fm_lib lib;

/* The interposer: the library's page-size query lands here. */
__attribute__((visibility("default"))) long sysconf(int name)
{
	static long (*real)(int);

	if (name == _SC_PAGESIZE || name == _SC_PAGE_SIZE)
		return FAKE_KPAGE;
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "sysconf");
	return real ? real(name) : -1;
}

static int is_mapped(void *p)
{
	return msync(p, 1, MS_ASYNC) == 0;
}

/* 5 frames = 20 KiB, which occupies two 16 KiB kernel pages. */
static void unmap_rounds_to_kernel_page(void **state)
{
	char *a = mmap(NULL, 64 * 1024, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(a != MAP_FAILED);
	assert_int_equal(lib.unmap(NULL, a, 5), 0);
	assert_false(is_mapped(a + 20 * 1024));
	assert_false(is_mapped(a + 28 * 1024));
	assert_true(is_mapped(a + 32 * 1024));
	munmap(a, 64 * 1024);
}

/* In the child, with a fake privcmd: 0 when all checks hold. */
static int resource_child(void *arg)
{
	struct cap_logger c;
	xenforeignmemory_handle *h;
	xenforeignmemory_resource_handle *r;
	void *addr = NULL;
	int bad = 0;

	(void)arg;
	cap_init(&c);
	h = lib.open(&c.vt, 0);
	if (!h)
		return 10;
	errno = 0;
	r = lib.map_resource(h, 1, 1, 0, 0, 4, &addr, PROT_READ, MAP_SHARED);
	bad |= r != NULL || errno != EOPNOTSUPP;
	bad |= c.n != 1 || c.errnoval != EOPNOTSUPP || !strstr(c.last, "16384");
	printf("# 4 frames: %s (%s), logged: %s\n", r ? "mapped" : "refused",
	       ename(errno), c.last);
	/* One frame fits one kernel page: handed to the (fake) kernel, whose
	 * "no such ioctl" becomes EOPNOTSUPP, without a refusal message. */
	errno = 0;
	r = lib.map_resource(h, 1, 1, 0, 0, 1, &addr, PROT_READ, MAP_SHARED);
	bad |= r != NULL || errno != EOPNOTSUPP || c.n != 1;
	printf("# 1 frame: %s (%s), messages %d\n", r ? "mapped" : "failed",
	       ename(errno), c.n);
	lib.close(h);
	return bad;
}

static void multi_frame_resource_refused(void **state)
{
	int rc = fake_privcmd_run(FAKE_REGULAR_FILE, resource_child, NULL);

	(void)state;
	if (rc == 77)
		skip(); /* no mount namespaces here (needs root) */
	assert_int_equal(rc, 0);
}

/* dlopen into the default namespace so our sysconf() is seen. */
static int load_default_ns(const char *path)
{
	memset(&lib, 0, sizeof(lib));
	lib.path = path;
	lib.dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib.dl)
		return -1;
	*(void **)&lib.open = dlsym(lib.dl, "xenforeignmemory_open");
	*(void **)&lib.close = dlsym(lib.dl, "xenforeignmemory_close");
	*(void **)&lib.unmap = dlsym(lib.dl, "xenforeignmemory_unmap");
	*(void **)&lib.map_resource = dlsym(lib.dl,
					    "xenforeignmemory_map_resource");
	return lib.open && lib.close && lib.unmap && lib.map_resource ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unmap_rounds_to_kernel_page),
		cmocka_unit_test(multi_frame_resource_refused),
	};
	const char *o = getenv("XFM_OUR_LIB");

	if (!o) {
		printf("1..0 # SKIP XFM_OUR_LIB not set\n");
		return 77;
	}
	if (load_default_ns(o)) {
		printf("1..0 # Bail out! cannot load %s: %s\n", o, dlerror());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
