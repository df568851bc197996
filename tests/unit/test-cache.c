/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Reads, writes and the window cache, against a real memory-backed
 * source (tests/lib/mem-source.h): a memfd mapped frame by frame, with
 * holes, counting its maps and remembering where they went (the core
 * unmaps them: mem_live_maps() asks the kernel which are still there).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "private.h"
#include "mem-source.h"

#define FS MS_FS
#define NFRAMES 1024u /* 4 MiB of "guest" */

static uint8_t pattern(uint64_t addr)
{
	uint64_t x = addr * 0x9E3779B97F4A7C15ull;

	return (uint8_t)(x >> 56);
}

struct fixture {
	xfm_handle *h;
	struct mem_source *m;
	volatile uint8_t hole[NFRAMES];
};

static void fill_pattern(uint8_t *buf, uint64_t len)
{
	for (uint64_t a = 0; a < len; a++)
		buf[a] = pattern(a);
}

static int setup_flags(void **state, unsigned int flags)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->hole[100] = 1;
	fx->hole[513] = 1;
	assert_int_equal(mem_open(NFRAMES, fx->hole, flags, fill_pattern,
				  &fx->m, &fx->h), 0);
	*state = fx;
	return 0;
}

static int setup_ro(void **state)
{
	return setup_flags(state, 0);
}

static int setup_rw(void **state)
{
	return setup_flags(state, XFM_OPEN_WRITE);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	xfm_close(fx->h);
	free(fx);
	return 0;
}

static void expect_pattern(const uint8_t *buf, uint64_t addr, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != pattern(addr + i))
			fail_msg("byte at 0x%llx: got 0x%02x, want 0x%02x",
				 (unsigned long long)(addr + i), buf[i],
				 pattern(addr + i));
}

static void read_any_alignment(void **state)
{
	struct fixture *fx = *state;
	static const uint64_t spans[][2] = {
		{ 0, 1 }, { 4095, 2 }, { 4090, 10 },   /* frame boundary */
		{ 65530, 20 }, /* 64 KiB window boundary */
		{ 1048575, 3 }, /* 1 MiB default window boundary */
		{ 12345, 70000 }, { 8192, 4096 }, { 101 * FS, 300000 },
	};
	uint8_t *buf = malloc(400000);

	assert_non_null(buf);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			assert_int_equal(xfm_set_cache(fx->h, 65536, 4), 0);
		for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
			assert_int_equal(xfm_read(fx->h, spans[i][0], buf,
						  spans[i][1], 0), 0);
			expect_pattern(buf, spans[i][0], spans[i][1]);
		}
	}
	free(buf);
}

/* Every head and tail alignment of the word copy (guest-copy.c), both
 * ways: offsets 0..31 into a frame, lengths 0..300. */
static void copy_every_alignment(void **state)
{
	struct fixture *fx = *state;
	uint8_t buf[320], back[320];

	for (uint64_t off = 0; off < 32; off++) {
		for (uint64_t len = 0; len <= 300; len++) {
			uint64_t a = 7 * FS + off;

			assert_int_equal(xfm_read(fx->h, a, buf, len, 0), 0);
			expect_pattern(buf, a, len);
			for (uint64_t i = 0; i < len; i++)
				buf[i] = (uint8_t)~buf[i];
			assert_int_equal(xfm_write(fx->h, a, buf, len), 0);
			assert_int_equal(xfm_read(fx->h, a, back, len, 0), 0);
			assert_memory_equal(back, buf, len);
			for (uint64_t i = 0; i < len; i++)
				buf[i] = (uint8_t)~buf[i];
			assert_int_equal(xfm_write(fx->h, a, buf, len), 0);
		}
	}
}

/*
 * A guest storing whole words while xfm_read copies them: every aligned
 * word read is one of the two values stored, never half of each (xfm.h
 * promises it for 8-byte words, 4-byte on 32-bit hosts; memcpy's `rep
 * movsb` does not).
 */
struct flipper {
	uintptr_t *words;
	size_t n;
	int passes;
	int stop;
};

static void *flip_words(void *arg)
{
	struct flipper *f = arg;

	for (uintptr_t v = 0; !__atomic_load_n(&f->stop, __ATOMIC_RELAXED);
	     v = ~v) {
		for (size_t i = 0; i < f->n; i++)
			__atomic_store_n(&f->words[i], v, __ATOMIC_RELAXED);
		__atomic_add_fetch(&f->passes, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void words_never_torn(void **state)
{
	struct fixture *fx = *state;
	const uint64_t w = sizeof(uintptr_t);
	struct flipper f = { .n = 2 * FS / sizeof(uintptr_t) };
	uint8_t buf[2 * FS];
	long bad = 0;
	pthread_t t;

	f.words = mmap(NULL, 2 * FS, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fx->m->fd, 3 * FS);
	assert_true(f.words != MAP_FAILED);
	assert_int_equal(pthread_create(&t, NULL, flip_words, &f), 0);
	while (!__atomic_load_n(&f.passes, __ATOMIC_ACQUIRE))
		sched_yield();
	for (int i = 0; i < 20000; i++) {
		uint64_t off = (uint64_t)(i % 24);
		uint64_t len = 2 * FS - off - (uint64_t)(i % 8);

		assert_int_equal(xfm_read(fx->h, 3 * FS + off, buf, len, 0), 0);
		/* Whole guest words only, from the first aligned one. */
		for (uint64_t g = (off + w - 1) & ~(w - 1); g + w <= off + len;
		     g += w) {
			uintptr_t v;

			memcpy(&v, buf + (g - off), w);
			bad += v != 0 && v != UINTPTR_MAX;
		}
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	munmap(f.words, 2 * FS);
	assert_int_equal(bad, 0);
}

/*
 * A raw dump of a live (mapped) source: the bytes are the guest's, its
 * absent frames and all-zero 64 KiB blocks are holes in the file, and a
 * block with one non-zero byte is written.
 */
static void dump_bytes_and_holes(void **state)
{
	struct fixture *fx = *state;
	char out[] = "/tmp/xfm-dump-XXXXXX";
	uint8_t *want = malloc(NFRAMES * FS), *got = malloc(NFRAMES * FS);
	static const uint8_t one = 0x5a;
	struct stat st;
	int fd;

	assert_non_null(want);
	assert_non_null(got);
	/* 256 KiB of zeros at 1 MiB, one byte set in its third block. */
	memset(want, 0, 256 << 10);
	assert_int_equal(xfm_write(fx->h, 1 << 20, want, 256 << 10), 0);
	assert_int_equal(xfm_write(fx->h, (1 << 20) + (130 << 10), &one, 1), 0);
	assert_int_equal(xfm_read(fx->h, 0, want, NFRAMES * FS,
				  XFM_READ_ZERO_FILL), 0);
	fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	unlink(out); /* xfm_dump never replaces a file */
	assert_int_equal(xfm_dump(fx->h, out, XFM_DUMP_RAW, 0, NULL, NULL), 0);
	fd = open(out, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, NFRAMES * FS);
	assert_int_equal(pread(fd, got, NFRAMES * FS, 0), NFRAMES * FS);
	assert_memory_equal(got, want, NFRAMES * FS);
	assert_int_equal(want[(1 << 20) + (130 << 10)], one);
	/* Holes: at least the three zero blocks (the absent frames are
	 * holes too, but a file system may spend a block on its extent
	 * tree). */
	assert_true((uint64_t)st.st_blocks * 512 <= NFRAMES * FS - (192 << 10));
	close(fd);
	unlink(out);
	free(want);
	free(got);
}

static void read_hole(void **state)
{
	struct fixture *fx = *state;
	uint8_t buf[3 * FS];

	/* Frame 100 is absent: the read fails and names it. */
	assert_int_equal(xfm_read(fx->h, 99 * FS, buf, sizeof(buf), 0),
			 -ENOENT);
	assert_non_null(strstr(xfm_last_error(), "frame 0x64"));
	expect_pattern(buf, 99 * FS, FS); /* bytes before the hole */
	/* With zero fill, the hole reads as zeros and the rest is right. */
	memset(buf, 0xAA, sizeof(buf));
	assert_int_equal(xfm_read(fx->h, 99 * FS, buf, sizeof(buf),
				  XFM_READ_ZERO_FILL), 0);
	expect_pattern(buf, 99 * FS, FS);
	for (unsigned int i = FS; i < 2 * FS; i++)
		assert_int_equal(buf[i], 0);
	expect_pattern(buf + 2 * FS, 101 * FS, FS);
}

static void read_bounds(void **state)
{
	struct fixture *fx = *state;
	uint8_t b[8];

	assert_int_equal(xfm_read(fx->h, NFRAMES * FS - 4, b, 4, 0), 0);
	assert_int_equal(xfm_read(fx->h, NFRAMES * FS - 4, b, 8, 0), -ERANGE);
	assert_int_equal(xfm_read(fx->h, UINT64_MAX - 2, b, 8, 0), -EOVERFLOW);
	assert_int_equal(xfm_read(fx->h, 0, b, 0, 0), 0);
	assert_int_equal(xfm_read(fx->h, 0, b, 1, 0x80), -EINVAL);
	assert_int_equal(xfm_read(NULL, 0, b, 1, 0), -EINVAL);
}

static void write_needs_flag(void **state)
{
	struct fixture *fx = *state;
	uint8_t b[4] = { 1, 2, 3, 4 }, back[4];
	xfm_extent e = { .frame = 3 };
	xfm_mapping *m;

	assert_int_equal(xfm_write(fx->h, 0, b, 4), -EROFS);
	assert_non_null(strstr(xfm_last_error(), "read-only"));
	assert_int_equal(xfm_map(fx->h, &e, 1, XFM_PROT_WRITE, NULL, &m),
			 -EROFS);
	assert_int_equal(pread(fx->m->fd, back, 4, 0), 4);
	expect_pattern(back, 0, 4);
}

static void write_read_back(void **state)
{
	struct fixture *fx = *state;
	uint8_t data[10000], back[10000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	/* Across a 64 KiB window and several frames. */
	assert_int_equal(xfm_set_cache(fx->h, 65536, 2), 0);
	assert_int_equal(xfm_write(fx->h, 65536 - 5000, data, sizeof(data)), 0);
	assert_int_equal(pread(fx->m->fd, back, sizeof(back), 65536 - 5000),
			 (ssize_t)sizeof(back));
	assert_memory_equal(back, data, sizeof(data));
	memset(back, 0, sizeof(back));
	assert_int_equal(xfm_read(fx->h, 65536 - 5000, back, sizeof(back), 0),
			 0);
	assert_memory_equal(back, data, sizeof(data));
	/* Writing into a hole fails and names the frame. */
	assert_int_equal(xfm_write(fx->h, 513 * FS + 8, data, 8), -ENOENT);
	assert_non_null(strstr(xfm_last_error(), "frame 0x201"));
}

static void eviction_lru(void **state)
{
	struct fixture *fx = *state;
	uint8_t b;
	unsigned int maps;

	assert_int_equal(xfm_set_cache(fx->h, 65536, 4), 0);
	maps = fx->m->maps;
	for (uint64_t w = 0; w < 10; w++)
		assert_int_equal(xfm_read(fx->h, w * 65536, &b, 1, 0), 0);
	assert_int_equal(fx->m->maps - maps, 10);
	assert_int_equal(fx->h->cache.nr, 4);
	/* Windows 6..9 are cached: no new map. */
	for (uint64_t w = 6; w < 10; w++)
		assert_int_equal(xfm_read(fx->h, w * 65536 + 1, &b, 1, 0), 0);
	assert_int_equal(fx->m->maps - maps, 10);
	/* Window 0 was evicted long ago. */
	assert_int_equal(xfm_read(fx->h, 0, &b, 1, 0), 0);
	assert_int_equal(fx->m->maps - maps, 11);
	/* Touch 7, then load a new one: LRU (6) goes, 7 stays. */
	assert_int_equal(xfm_read(fx->h, 7 * 65536, &b, 1, 0), 0);
	assert_int_equal(xfm_read(fx->h, 12 * 65536, &b, 1, 0), 0);
	assert_int_equal(fx->m->maps - maps, 12);
	assert_int_equal(xfm_read(fx->h, 7 * 65536, &b, 1, 0), 0);
	assert_int_equal(fx->m->maps - maps, 12);
	assert_int_equal(xfm_read(fx->h, 6 * 65536, &b, 1, 0), 0);
	assert_int_equal(fx->m->maps - maps, 13);
	/* Every map but the 4 cached ones has been undone. */
	assert_int_equal(mem_live_maps(fx->m), 4);
}

static void invalidate_range(void **state)
{
	struct fixture *fx = *state;
	uint8_t b[8];

	assert_int_equal(xfm_set_cache(fx->h, 65536, 8), 0);
	assert_int_equal(xfm_read(fx->h, 200 * FS, b, 8, 0), 0);
	/* The frame goes away; the cached window still has it... */
	fx->hole[200] = 1;
	assert_int_equal(xfm_read(fx->h, 200 * FS, b, 8, 0), 0);
	/* ...until that range is invalidated. */
	assert_int_equal(xfm_invalidate(fx->h, 300 * FS, FS), 0);
	assert_int_equal(xfm_read(fx->h, 200 * FS, b, 8, 0), 0);
	assert_int_equal(xfm_invalidate(fx->h, 200 * FS + 5, 1), 0);
	assert_int_equal(xfm_read(fx->h, 200 * FS, b, 8, 0), -ENOENT);
	fx->hole[200] = 0;
	assert_int_equal(xfm_read(fx->h, 200 * FS, b, 8, 0), -ENOENT);
	assert_int_equal(xfm_invalidate(fx->h, 0, UINT64_MAX), 0);
	assert_int_equal(fx->h->cache.nr, 0);
	assert_int_equal(xfm_read(fx->h, 200 * FS, b, 8, 0), 0);
	expect_pattern(b, 200 * FS, 8);
}

static void no_cache(void **state)
{
	struct fixture *fx = *state;
	uint8_t b[100];
	unsigned int maps;

	assert_int_equal(xfm_set_cache(fx->h, 65536, 0), 0);
	maps = fx->m->maps;
	assert_int_equal(xfm_read(fx->h, 65500, b, 100, 0), 0);
	expect_pattern(b, 65500, 100);
	assert_int_equal(fx->m->maps - maps, 2);
	assert_int_equal(mem_live_maps(fx->m), 0);
}

static void bad_cache_config(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(xfm_set_cache(fx->h, 1000, 4), -EINVAL);
	assert_int_equal(xfm_set_cache(fx->h, 2048, 4), -EINVAL);
	assert_int_equal(xfm_set_cache(fx->h, UINT64_C(1) << 40, 4), -EINVAL);
	assert_int_equal(xfm_set_cache(fx->h, 8192, 4), 0);
}

static void map_extents(void **state)
{
	struct fixture *fx = *state;
	xfm_extent e[] = {
		{ .frame = 5, .order = 0 },
		{ .frame = 96, .order = 3 },  /* 96..103 holds hole 100 */
		{ .frame = 256, .order = 8 }, /* 256 frames, 1 MiB */
	};
	xfm_mapping *m = NULL;
	const uint8_t *p;

	assert_int_equal(xfm_map(fx->h, e, 3, XFM_PROT_READ, NULL, &m), 2);
	assert_int_equal(e[0].err, 0);
	assert_int_equal(e[1].err, -ENOENT);
	assert_int_equal(e[2].err, 0);
	assert_int_equal(xfm_map_length(m), (1 + 8 + 256) * FS);
	p = xfm_map_addr(m);
	expect_pattern(p, 5 * FS, FS);
	expect_pattern(p + FS, 96 * FS, 4 * FS); /* frames before the hole */
	expect_pattern(p + 9 * FS, 256 * FS, 256 * FS);
	assert_int_equal(xfm_unmap(m), 0);
	assert_int_equal(xfm_unmap(NULL), 0);
}

static void map_nothing(void **state)
{
	struct fixture *fx = *state;
	xfm_extent e[] = { { .frame = 100 }, { .frame = 513 } };
	xfm_extent bad = { .frame = 3, .order = 1 };
	xfm_mapping *m = NULL;

	assert_int_equal(xfm_map(fx->h, e, 2, XFM_PROT_READ, NULL, &m), -ENOENT);
	assert_null(m);
	assert_int_equal(mem_live_maps(fx->m), 0);
	assert_int_equal(xfm_map(fx->h, &bad, 1, XFM_PROT_READ, NULL, &m),
			 -EINVAL);
	assert_int_equal(xfm_map(fx->h, e, 0, XFM_PROT_READ, NULL, &m), -EINVAL);
	assert_int_equal(xfm_map(fx->h, e, 1, 0x10, NULL, &m), -EINVAL);
}

/* 8 threads reading and writing through one handle, with eviction. */
#define THREADS 8
#define ITERS 500

struct worker {
	struct fixture *fx;
	unsigned int id;
	unsigned int bad;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	uint64_t seed = 0x1234567u + w->id * 7919u;
	/* Each thread owns frames [600 + 40 id, 600 + 40 id + 40) to write. */
	uint64_t own = (600 + 40 * (uint64_t)w->id) * FS;
	uint8_t buf[9000], want[9000];

	for (int i = 0; i < ITERS; i++) {
		uint64_t r = xorshift(&seed);
		uint64_t len = 1 + r % sizeof(buf);
		uint64_t addr = (r >> 20) % (500 * FS - len);

		if (addr / FS <= 100 && (addr + len - 1) / FS >= 100)
			addr = 101 * FS; /* stay clear of the hole */
		if (xfm_read(w->fx->h, addr, buf, len, 0) < 0) {
			w->bad++;
			continue;
		}
		for (uint64_t k = 0; k < len; k++)
			w->bad += buf[k] != pattern(addr + k);
		/* Write a thread-specific pattern into its own area, read back. */
		addr = own + r % (40 * FS - 64);
		for (int k = 0; k < 64; k++)
			want[k] = (uint8_t)(w->id * 31 + i + k);
		if (xfm_write(w->fx->h, addr, want, 64) < 0 ||
		    xfm_read(w->fx->h, addr, buf, 64, 0) < 0 ||
		    memcmp(buf, want, 64))
			w->bad++;
		if (i % 500 == 0)
			xfm_invalidate(w->fx->h, addr, 64);
	}
	return NULL;
}

static void threads_share_handle(void **state)
{
	struct fixture *fx = *state;
	pthread_t t[THREADS];
	struct worker w[THREADS];

	assert_int_equal(xfm_set_cache(fx->h, 65536, 6), 0);
	for (unsigned int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .fx = fx, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (unsigned int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	assert_true(fx->h->cache.nr <= 6);
	/* Hits happened: fewer maps than the 3 accesses per iteration. */
	assert_true(fx->m->maps < THREADS * ITERS * 3);
}

/*
 * A live source (one with a present op, like Xen): a span's presence is
 * asked of the source for that span only, never by loading the whole
 * memory map; once the map is loaded, it answers.
 */
static unsigned int nr_ranges_calls, nr_present_calls;
static uint64_t present_first, present_n;

static int counting_ranges(struct xfm_source *s, xfm_range **out, size_t *n)
{
	nr_ranges_calls++;
	return ms_ranges(s, out, n);
}

static int counting_present(struct xfm_source *s, uint64_t first,
			    uint64_t n, uint64_t *missing)
{
	struct mem_source *m = (struct mem_source *)s;

	nr_present_calls++;
	present_first = first;
	present_n = n;
	for (uint64_t f = first; f < first + n; f++) {
		if (m->hole[f]) {
			*missing = f;
			return 0;
		}
	}
	return 1;
}

static void span_probes_only_the_span(void **state)
{
	struct fixture *fx = *state;
	static struct xfm_source_ops live_ops;
	uint64_t gap = 0;
	uint8_t b[16];

	live_ops = ms_ops;
	live_ops.ranges = counting_ranges;
	live_ops.present = counting_present;
	fx->m->base.ops = &live_ops;
	nr_ranges_calls = nr_present_calls = 0;
	/* 16 bytes: one frame asked about, no memory map loaded. */
	assert_int_equal(xfm_span_present(fx->h, 5 * FS + 8, 16, &gap), 1);
	assert_int_equal(nr_present_calls, 1);
	assert_int_equal(present_first, 5);
	assert_int_equal(present_n, 1);
	assert_int_equal(xfm_read(fx->h, 5 * FS + 8, b, 16, 0), 0);
	/* Across the hole at frame 100: the gap is its first byte. */
	assert_int_equal(xfm_span_present(fx->h, 99 * FS, 3 * FS, &gap), 0);
	assert_int_equal(gap, 100 * FS);
	assert_int_equal(present_first, 99);
	assert_int_equal(present_n, 3);
	assert_int_equal(nr_ranges_calls, 0);
	/* Once the map is loaded, it answers. */
	assert_int_equal(xfm_get_ranges(fx->h, NULL, 0), 3);
	assert_int_equal(nr_ranges_calls, 1);
	assert_int_equal(xfm_span_present(fx->h, 99 * FS + 1, 2 * FS, &gap), 0);
	assert_int_equal(gap, 100 * FS);
	assert_int_equal(nr_present_calls, 2);
	fx->m->base.ops = &ms_ops;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(read_any_alignment, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(span_probes_only_the_span, setup_ro,
						teardown),
		cmocka_unit_test_setup_teardown(copy_every_alignment, setup_rw,
						teardown),
		cmocka_unit_test_setup_teardown(words_never_torn, setup_ro,
						teardown),
		cmocka_unit_test_setup_teardown(dump_bytes_and_holes, setup_rw,
						teardown),
		cmocka_unit_test_setup_teardown(read_hole, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(read_bounds, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(write_needs_flag, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(write_read_back, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(eviction_lru, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(invalidate_range, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(no_cache, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(bad_cache_config, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(map_extents, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(map_nothing, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(threads_share_handle, setup_rw, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
