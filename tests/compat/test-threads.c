/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Handles shared between threads: several threads call through one
 * handle while others open and close their own (which registers and
 * deregisters them with libxentoolcore) and xentoolcore_restrict_all()
 * walks the registry.  Runs against a fake /dev/xen/privcmd (a regular
 * file): every call must keep giving the single-threaded answer.
 *
 * Environment: XFM_OUR_LIB.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "compat-lib.h"
#include "fake-privcmd.h"

#define THREADS 8
#define ROUNDS 300

static struct fm_lib lib;
static xenforeignmemory_handle *shared;

/* One thread's work: 0 if every answer was the expected one. */
static void *worker(void *arg)
{
	xen_pfn_t arr[4] = { 1, 2, 3, 4 };
	int err[4];
	long bad = 0;
	size_t sz;

	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		xenforeignmemory_handle *own = lib.open(NULL, 0);

		bad += !own;
		bad += lib.map(shared, 1, PROT_READ, 4, arr, err) != NULL ||
		       errno != ENOTTY;
		bad += lib.restrict_(shared, 1) != -1 || errno != ENOTTY;
		bad += lib.resource_size(shared, 1, 1, 0, &sz) != -1 ||
		       errno != EOPNOTSUPP;
		bad += lib.close(own) != 0;
	}
	return (void *)bad;
}

static int threads_child(void *arg)
{
	pthread_t t[THREADS];
	long bad = 0;

	(void)arg;
	shared = lib.open(NULL, 0);
	if (!shared)
		return 10;
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, NULL))
			return 11;
	for (int i = 0; i < ROUNDS; i++)
		bad += lib.restrict_all(1) != -1 || errno != ENOTTY;
	for (int i = 0; i < THREADS; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad += (long)r;
	}
	bad += lib.close(shared) != 0;
	bad += lib.restrict_all(1) != 0; /* nothing registered any more */
	printf("# %d threads x %d rounds: %ld unexpected answers\n", THREADS,
	       ROUNDS, bad);
	return bad ? 1 : 0;
}

static void shared_handle_many_threads(void **state)
{
	int rc = fake_privcmd_run(FAKE_REGULAR_FILE, threads_child, NULL);

	(void)state;
	if (rc == 77)
		skip(); /* no mount namespaces here (needs root) */
	assert_int_equal(rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shared_handle_many_threads),
	};
	const char *o = getenv("XFM_OUR_LIB");

	if (!o) {
		printf("1..0 # SKIP XFM_OUR_LIB not set\n");
		return 77;
	}
	/* Default namespace: errno and threads are this program's own. */
	memset(&lib, 0, sizeof(lib));
	lib.dl = dlopen(o, RTLD_NOW | RTLD_LOCAL);
	if (!lib.dl) {
		printf("1..0 # Bail out! %s\n", dlerror());
		return 1;
	}
	*(void **)&lib.open = dlsym(lib.dl, "xenforeignmemory_open");
	*(void **)&lib.close = dlsym(lib.dl, "xenforeignmemory_close");
	*(void **)&lib.map = dlsym(lib.dl, "xenforeignmemory_map");
	*(void **)&lib.restrict_ = dlsym(lib.dl, "xenforeignmemory_restrict");
	*(void **)&lib.resource_size = dlsym(lib.dl,
					     "xenforeignmemory_resource_size");
	*(void **)&lib.restrict_all = dlsym(lib.dl, "xentoolcore_restrict_all");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
