/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The virtual-address API over a real source (a raw dump file holding
 * x86-64 page tables): xfm_translate, reads and writes across pages that
 * are not contiguous in guest-physical memory, zero fill, the translation
 * cache and xfm_invalidate, many threads at once; tables that hold
 * machine frames (Xen PV) through a source's machine_to_frame.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "private.h"

static char path[64];

/* VA page i (0..7) -> PA 0x100000 + (7 - i) * 4096; VA 8 unmapped;
 * VA 0x200000..0x3fffff -> 2 MiB page at PA 0x400000. */
static uint64_t expect_pa(uint64_t va)
{
	if (va >= 0x200000 && va < 0x400000)
		return 0x400000 + (va - 0x200000);
	return 0x100000 + (7 - va / 4096) * 4096 + va % 4096;
}

static uint8_t pattern(uint64_t pa)
{
	return (uint8_t)(pa * 7 + (pa >> 12));
}

static void put64(int fd, uint64_t pa, uint64_t v)
{
	assert_int_equal(pwrite(fd, &v, 8, (off_t)pa), 8);
}

/* "Machine" frame of guest frame f: f + MACHINE_OFFSET (see pv_ops). */
#define MACHINE_OFFSET 0x1000
#define MA(pa) ((pa) + ((uint64_t)MACHINE_OFFSET << 12))

/* The same mappings as the tables at 0x1000, in tables at guest frames
 * 0x500..0x503 whose entries (and root) are machine addresses; VA page 9
 * maps a machine frame that is none of the guest's. */
static void machine_tables(int fd)
{
	static const uint8_t zero[4 * 4096];

	assert_int_equal(pwrite(fd, zero, sizeof(zero), 0x500000),
			 sizeof(zero));
	put64(fd, 0x500000, MA(0x501000) | 3);
	put64(fd, 0x501000, MA(0x502000) | 3);
	put64(fd, 0x502000, MA(0x503000) | 3);
	put64(fd, 0x502008, MA(0x400000) | 0x83);
	for (int i = 0; i < 8; i++)
		put64(fd, 0x503000 + i * 8,
		      MA(0x100000 + (7 - i) * 4096) | 3);
	put64(fd, 0x503000 + 9 * 8, 0x9999000 | 3);
}

static int make_image(void **state)
{
	static uint8_t buf[0x600000];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/xfm-vm-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (uint64_t pa = 0; pa < sizeof(buf); pa++)
		buf[pa] = pattern(pa);
	memset(buf, 0, 0x5000);
	assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	put64(fd, 0x1000, 0x2000 | 3);
	put64(fd, 0x2000, 0x3000 | 3);
	put64(fd, 0x3000, 0x4000 | 3);
	put64(fd, 0x3008, 0x400000 | 0x83);
	for (int i = 0; i < 8; i++)
		put64(fd, 0x4000 + i * 8, (0x100000 + (7 - i) * 4096) | 3);
	machine_tables(fd);
	close(fd);
	return 0;
}

static int remove_image(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* Dump files are read-only: writes go through this small source, the
 * same image file mapped shared. */
#define IMAGE_FRAMES (0x600000 / 4096)

struct rw_source {
	struct xfm_source base;
	int fd;
	uint8_t *whole;  /* rw_direct_ops: the image mapped shared */
};

static int rw_geometry(struct xfm_source *s, xfm_geometry *g)
{
	(void)s;
	g->frame_size = 4096;
	g->granularities = 4096;
	g->max_frame = IMAGE_FRAMES - 1;
	g->origin = XFM_ORIGIN_TEST;
	return 0;
}

static int rw_ranges(struct xfm_source *s, xfm_range **out, size_t *n)
{
	(void)s;
	*out = malloc(sizeof(**out));
	(*out)->start = 0;
	(*out)->size = IMAGE_FRAMES * 4096;
	*n = 1;
	return 0;
}

static int64_t rw_map(struct xfm_source *s, const uint64_t *frames, size_t n,
		      unsigned int prot, void *hint, int *err, void **addr)
{
	struct rw_source *r = (struct rw_source *)s;
	char *base = mmap(hint, n * 4096, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int64_t ok = 0;

	(void)prot;
	if (base == MAP_FAILED)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		err[i] = -ENOENT;
		if (frames[i] >= IMAGE_FRAMES)
			continue;
		if (mmap(base + i * 4096, 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, r->fd,
			 (off_t)(frames[i] * 4096)) == MAP_FAILED)
			return -errno;
		err[i] = 0;
		ok++;
	}
	*addr = base;
	return ok;
}

static void rw_close(struct xfm_source *s)
{
	close(((struct rw_source *)s)->fd);
	xfm_source_fini(s);
	free(s);
}

static const struct xfm_source_ops rw_ops = {
	.name = "rw", .geometry = rw_geometry, .ranges = rw_ranges,
	.map = rw_map, .close = rw_close,
};

/* The same, with the image in this process (direct()), as a RAM file of
 * a live QEMU guest is: page-table entries are read in place. */
static const void *rw_direct(struct xfm_source *s, uint64_t addr,
			     uint64_t len)
{
	struct rw_source *r = (struct rw_source *)s;

	if (addr > IMAGE_FRAMES * 4096 || len > IMAGE_FRAMES * 4096 - addr)
		return NULL;
	return r->whole + addr;
}

static void rw_direct_close(struct xfm_source *s)
{
	munmap(((struct rw_source *)s)->whole, IMAGE_FRAMES * 4096);
	rw_close(s);
}

static const struct xfm_source_ops rw_direct_ops = {
	.name = "rw-direct", .geometry = rw_geometry, .ranges = rw_ranges,
	.map = rw_map, .close = rw_direct_close, .direct = rw_direct,
};

static int pv_machine_to_frame(struct xfm_source *s, uint64_t mfn,
			       uint64_t *frame)
{
	(void)s;
	if (mfn < MACHINE_OFFSET || mfn - MACHINE_OFFSET >= IMAGE_FRAMES)
		return -ENOENT;
	*frame = mfn - MACHINE_OFFSET;
	return 0;
}

static const struct xfm_source_ops pv_ops = {
	.name = "pv", .geometry = rw_geometry, .ranges = rw_ranges,
	.map = rw_map, .close = rw_close,
	.machine_to_frame = pv_machine_to_frame,
};

static const xfm_vm_root root = { .mode = XFM_VM_X86_64, .root = 0x1000 };

static xfm_handle *open_rw(unsigned int flags, bool direct)
{
	struct rw_source *r;
	xfm_handle *h;

	if (flags & XFM_OPEN_WRITE) {
		r = calloc(1, sizeof(*r));
		assert_non_null(r);
		r->fd = open(path, O_RDWR);
		assert_true(r->fd >= 0);
		if (direct) {
			r->whole = mmap(NULL, IMAGE_FRAMES * 4096, PROT_READ,
					MAP_SHARED, r->fd, 0);
			assert_true(r->whole != MAP_FAILED);
		}
		assert_int_equal(xfm_source_init(&r->base, direct ?
						 &rw_direct_ops : &rw_ops,
						 &(struct xfm_open_args){ .flags = flags },
						 "rw"), 0);
		assert_int_equal(xfm_handle_from_source(&r->base, &h), 0);
	} else {
		assert_int_equal(xfm_open(&h, path, flags), 0);
	}
	assert_int_equal(xfm_set_vm_root(h, &root, sizeof(root)), 0);
	return h;
}

static xfm_handle *open_image(unsigned int flags)
{
	return open_rw(flags, false);
}

static void machine_frames(void **state)
{
	xfm_vm_root r = { .mode = XFM_VM_X86_64, .root = MA(0x500000),
			  .flags = XFM_VM_MACHINE_FRAMES };
	struct rw_source *src = calloc(1, sizeof(*src));
	uint8_t buf[8192], want[8192];
	xfm_translation t;
	xfm_handle *h;

	(void)state;
	assert_non_null(src);
	src->fd = open(path, O_RDWR);
	assert_true(src->fd >= 0);
	assert_int_equal(xfm_source_init(&src->base, &pv_ops,
					 &(struct xfm_open_args){ 0 }, "pv"),
			 0);
	assert_int_equal(xfm_handle_from_source(&src->base, &h), 0);
	r.mode = XFM_VM_ARM64;
	assert_int_equal(xfm_set_vm_root(h, &r, sizeof(r)), -EINVAL);
	r.mode = XFM_VM_X86_64;
	assert_int_equal(xfm_set_vm_root(h, &r, sizeof(r)), 0);
	assert_int_equal(xfm_translate(h, 0x1234, &t, sizeof(t)), 0);
	assert_int_equal(t.pa, 0x106234);
	assert_int_equal(t.page_size, 4096);
	assert_int_equal(t.level, 1);
	assert_int_equal(t.entry, MA(0x106000) | 3);
	assert_int_equal(t.entry_addr, MA(0x503008));
	/* a machine 2 MiB page: one 4 KiB frame per translation */
	assert_int_equal(xfm_translate(h, 0x2fffff, &t, sizeof(t)), 0);
	assert_int_equal(t.pa, 0x4fffff);
	assert_int_equal(t.page_size, 4096);
	assert_int_equal(xfm_translate(h, 0x9000, &t, sizeof(t)), -EFAULT);
	assert_int_equal(t.reason, XFM_VM_NOT_GUEST_FRAME);
	assert_int_equal(t.entry, 0x9999003);
	assert_non_null(strstr(xfm_last_error(), "machine frame not the "
			       "guest's"));
	assert_int_equal(xfm_translate(h, 0x8000, &t, sizeof(t)), -EFAULT);
	assert_int_equal(t.reason, XFM_VM_NOT_PRESENT);
	assert_int_equal(t.entry_addr, MA(0x503040));
	assert_int_equal(xfm_read_va(h, 0x1800, buf, sizeof(buf), 0), 0);
	/* (by PA: write_and_invalidate changed some of the pattern) */
	for (uint64_t i = 0; i < sizeof(want); i++)
		assert_int_equal(xfm_read(h, expect_pa(0x1800 + i), &want[i],
					  1, 0), 0);
	assert_memory_equal(buf, want, sizeof(want));
	xfm_close(h);

	/* A source without machine frames cannot walk such a root. */
	assert_int_equal(xfm_open(&h, path, 0), 0);
	assert_int_equal(xfm_set_vm_root(h, &r, sizeof(r)), 0);
	assert_int_equal(xfm_translate(h, 0x1234, &t, sizeof(t)), -EFAULT);
	assert_int_equal(t.reason, XFM_VM_TABLE_UNREADABLE);
	assert_int_equal(t.entry_addr, MA(0x500000));
	xfm_close(h);
}

static void no_root(void **state)
{
	xfm_translation t;
	xfm_vm_root r;
	xfm_handle *h;

	(void)state;
	assert_int_equal(xfm_open(&h, path, 0), 0);
	assert_int_equal(xfm_translate(h, 0x1000, &t, sizeof(t)), -ENODATA);
	assert_non_null(strstr(xfm_last_error(), "no page-table root"));
	assert_int_equal(xfm_get_vm_root(h, &r, sizeof(r)), -ENODATA);
	r = root;
	r.mode = 42;
	assert_int_equal(xfm_set_vm_root(h, &r, sizeof(r)), -EINVAL);
	assert_int_equal(xfm_set_vm_root(h, &root, sizeof(root) - 1),
			 -EINVAL);
	assert_int_equal(xfm_set_vm_root(h, &root, sizeof(root)), 0);
	assert_int_equal(xfm_get_vm_root(h, &r, sizeof(r)), 0);
	assert_int_equal(r.origin, XFM_VM_ORIGIN_CALLER);
	assert_int_equal(r.root, 0x1000);
	xfm_close(h);
}

static void translate(void **state)
{
	xfm_handle *h = open_image(0);
	xfm_translation t;

	(void)state;
	assert_int_equal(xfm_translate(h, 0x1234, &t, sizeof(t)), 0);
	assert_int_equal(t.pa, 0x106234);
	assert_int_equal(t.page_size, 4096);
	assert_int_equal(t.level, 1);
	assert_int_equal(t.entry_addr, 0x4008);
	/* again, from the cache: the same answer */
	assert_int_equal(xfm_translate(h, 0x1238, &t, sizeof(t)), 0);
	assert_int_equal(t.pa, 0x106238);
	assert_int_equal(t.entry, 0x106003);
	assert_int_equal(xfm_translate(h, 0x2fffff, &t, sizeof(t)), 0);
	assert_int_equal(t.pa, 0x4fffff);
	assert_int_equal(t.page_size, 0x200000);
	assert_int_equal(xfm_translate(h, 0x8000, &t, sizeof(t)), -EFAULT);
	assert_int_equal(t.reason, XFM_VM_NOT_PRESENT);
	assert_int_equal(t.level, 1);
	assert_int_equal(t.entry_addr, 0x4040);
	assert_non_null(strstr(xfm_last_error(),
			       "VA 0x8000 not mapped: level 1 entry 0x0 at "
			       "0x4040: not present"));
	assert_int_equal(xfm_translate(h, 0x800000000000, &t, sizeof(t)),
			 -EFAULT);
	assert_int_equal(t.reason, XFM_VM_OUTSIDE);
	xfm_close(h);
}

static void read_across_pages(void **state)
{
	static uint8_t buf[0x8000], want[0x8000];
	xfm_handle *h = open_image(0);

	(void)state;
	for (uint64_t va = 0xff0; va < 0xff0 + 0x7010; va++)
		want[va - 0xff0] = pattern(expect_pa(va));
	assert_int_equal(xfm_read_va(h, 0xff0, buf, 0x7010, 0), 0);
	assert_memory_equal(buf, want, 0x7010);
	/* into the unmapped page 8: fails, or reads zeros when asked */
	assert_int_equal(xfm_read_va(h, 0x7ff8, buf, 16, 0), -EFAULT);
	assert_non_null(strstr(xfm_last_error(), "VA 0x8000 not mapped"));
	memset(buf, 0xaa, 16);
	assert_int_equal(xfm_read_va(h, 0x7ff8, buf, 16, XFM_READ_ZERO_FILL),
			 0);
	assert_memory_equal(buf, want + 0x7ff8 - 0xff0, 8);
	for (int i = 8; i < 16; i++)
		assert_int_equal(buf[i], 0);
	/* a 2 MiB page, read across its end into nothing */
	assert_int_equal(xfm_read_va(h, 0x3ffffc, buf, 4, 0), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(buf[i], pattern(0x5ffffc + i));
	assert_int_equal(xfm_read_va(h, 0x3ffffc, buf, 8, 0), -EFAULT);
	assert_int_equal(xfm_read_va(h, UINT64_MAX, buf, 2, 0), -EOVERFLOW);
	xfm_close(h);
}

static void write_and_invalidate(void **state)
{
	uint8_t in[32], out[32];
	xfm_handle *h = open_image(XFM_OPEN_WRITE);
	xfm_translation t;
	uint64_t pte;

	(void)state;
	for (int i = 0; i < 32; i++)
		in[i] = (uint8_t)(0xc0 + i);
	/* VA 0x1ff0..0x200f: PA 0x106ff0.. and 0x105000.. */
	assert_int_equal(xfm_write_va(h, 0x1ff0, in, 32), 0);
	assert_int_equal(xfm_read(h, 0x106ff0, out, 16, 0), 0);
	assert_memory_equal(out, in, 16);
	assert_int_equal(xfm_read(h, 0x105000, out, 16, 0), 0);
	assert_memory_equal(out, in + 16, 16);
	/* all or nothing: a span reaching an unmapped page writes nothing */
	assert_int_equal(xfm_write_va(h, 0x7ff0, in, 32), -EFAULT);
	assert_int_equal(xfm_read(h, 0x100ff0, out, 16, 0), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(out[i], pattern(0x100ff0 + i));
	/* remap VA page 0 to PA 0x180000: cached until invalidated */
	assert_int_equal(xfm_translate(h, 0x10, &t, sizeof(t)), 0);
	assert_int_equal(t.pa, 0x107010);
	pte = 0x180000 | 3;
	assert_int_equal(xfm_write(h, 0x4000, &pte, 8), 0);
	assert_int_equal(xfm_translate(h, 0x10, &t, sizeof(t)), 0);
	assert_int_equal(t.pa, 0x107010);
	assert_int_equal(xfm_invalidate(h, 0, UINT64_MAX), 0);
	assert_int_equal(xfm_translate(h, 0x10, &t, sizeof(t)), 0);
	assert_int_equal(t.pa, 0x180010);
	pte = 0x107000 | 3;
	assert_int_equal(xfm_write(h, 0x4000, &pte, 8), 0);
	xfm_close(h);
	/* without XFM_OPEN_WRITE */
	h = open_image(0);
	assert_int_equal(xfm_write_va(h, 0x1ff0, in, 32), -EROFS);
	xfm_close(h);
}

struct worker {
	xfm_handle *h;
	unsigned int seed;
	int bad;
};

static void *translate_many(void *arg)
{
	struct worker *w = arg;
	xfm_translation t;

	for (int i = 0; i < 20000; i++) {
		uint64_t va = (uint64_t)rand_r(&w->seed) % 0x8000;

		if (i & 1)
			va = 0x200000 + (uint64_t)rand_r(&w->seed) % 0x200000;
		if (xfm_translate(w->h, va, &t, sizeof(t)) != 0 ||
		    t.pa != expect_pa(va))
			w->bad++;
	}
	return NULL;
}

static void threads(void **state)
{
	xfm_handle *h = open_image(0);
	struct worker w[4];
	pthread_t tid[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .h = h, .seed = (unsigned int)i + 1 };
		assert_int_equal(pthread_create(&tid[i], NULL, translate_many,
						&w[i]), 0);
	}
	for (int i = 0; i < 200; i++)
		xfm_invalidate(h, 0x4000, 8);
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	xfm_close(h);
}

/*
 * xfm_invalidate() against walks running meanwhile: workers translate
 * VA 0x10 (and its neighbours) all the time, so their walks race with
 * every change; after each change and invalidation the main thread must
 * see the new mapping, never one a worker stored from before it.  The
 * change is the page-table entry (a source read through its windows:
 * the translation cache holds it) or, with the tables in this process
 * (direct()), the page-directory entry, whose table the paging-structure
 * cache holds.
 */
struct racer {
	xfm_handle *h;
	atomic_int *stop;
	int bad;
	atomic_long n;
};

/* Let the workers translate a while: any translation stored from before
 * the invalidation is then in the cache for the main thread to find. */
static void let_run(struct racer *w, int nw)
{
	long before = 0, now;

	for (int i = 0; i < nw; i++)
		before += atomic_load(&w[i].n);
	for (int spins = 0; spins < 100000; spins++) {
		now = 0;
		for (int i = 0; i < nw; i++)
			now += atomic_load(&w[i].n);
		if (now - before >= 64)
			return;
		sched_yield();
	}
}

static void *race_translate(void *arg)
{
	struct racer *w = arg;
	xfm_translation t;

	while (!atomic_load(w->stop)) {
		for (uint64_t va = 0x10; va < 0x8000; va += 0x1000) {
			if (xfm_translate(w->h, va, &t, sizeof(t)) != 0)
				w->bad++;
			atomic_fetch_add(&w->n, 1);
		}
	}
	return NULL;
}

static void race(bool direct)
{
	/* direct: PD entry 0 -> PT 0x4000 (VA 0x10 at 0x107010) or PT
	 * 0x6000 (at 0x180010); else PT entry 0 -> 0x107000 or 0x180000 */
	xfm_handle *h = open_rw(XFM_OPEN_WRITE, direct);
	uint64_t ent = direct ? 0x3000 : 0x4000, pt2[8];
	uint64_t old = direct ? 0x4000 | 3 : 0x107000 | 3;
	uint64_t new = direct ? 0x6000 | 3 : 0x180000 | 3;
	atomic_int stop = 0;
	struct racer w[3];
	pthread_t tid[3];
	xfm_translation t;
	int wrong = 0;

	for (int i = 0; i < 8; i++)
		pt2[i] = (0x180000 + (uint64_t)i * 4096) | 3;
	assert_int_equal(xfm_write(h, 0x6000, pt2, sizeof(pt2)), 0);
	for (int i = 0; i < 3; i++) {
		w[i] = (struct racer){ .h = h, .stop = &stop, .n = 0 };
		assert_int_equal(pthread_create(&tid[i], NULL, race_translate,
						&w[i]), 0);
	}
	for (int i = 0; i < 400; i++) {
		uint64_t e = i % 2 ? new : old;
		uint64_t want = i % 2 ? 0x180010 : 0x107010;

		assert_int_equal(xfm_write(h, ent, &e, 8), 0);
		assert_int_equal(xfm_invalidate(h, 0, UINT64_MAX), 0);
		let_run(w, 3);
		assert_int_equal(xfm_translate(h, 0x10, &t, sizeof(t)), 0);
		wrong += t.pa != want;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(w[i].bad, 0);
		assert_true(atomic_load(&w[i].n) > 0);
	}
	assert_int_equal(wrong, 0);
	assert_int_equal(xfm_write(h, ent, &old, 8), 0);
	xfm_close(h);
}

static void invalidate_races(void **state)
{
	(void)state;
	race(false);
}

static void invalidate_races_direct(void **state)
{
	(void)state;
	race(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_root),
		cmocka_unit_test(translate),
		cmocka_unit_test(read_across_pages),
		cmocka_unit_test(write_and_invalidate),
		cmocka_unit_test(threads),
		cmocka_unit_test(invalidate_races),
		cmocka_unit_test(invalidate_races_direct),
		cmocka_unit_test(machine_frames),
	};

	return cmocka_run_group_tests(tests, make_image, remove_image);
}
