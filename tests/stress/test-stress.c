/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * test-stress.c - 8 threads read, write, invalidate and resize the cache
 * through ONE handle for a bounded time (XFM_STRESS_SECONDS, default 3),
 * and every byte read is checked against a model.
 *
 * The model: thread t owns the block of frames [t * BLK, (t + 1) * BLK)
 * and is the only writer there.  Every frame has a version; the byte at
 * address a in version v is val(a, v) = mix(a) + v (mod 256).  A writer
 * bumps started[f], writes whole frames (in two unaligned xfm_write calls,
 * so writes cross frame and window boundaries at odd places), then sets
 * done[f].  A reader of its own block knows the exact version; a reader of
 * anyone's block loads done[] before and started[] after its copy, and each
 * byte's version must lie between the two (a seqlock's reasoning: a byte
 * can be newer than when the read began, never older, never garbage).
 * Frames HOLE_A.. are absent: reads across them must fail with -ENOENT
 * naming the frame, or read zeros with XFM_READ_ZERO_FILL.
 *
 * TAP output.  Runs in the "stress" and "threads" suites (the latter so
 * that the TSan build runs it).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem-source.h"

#define NT 8
#define BLK 128u                   /* frames per thread */
#define NFRAMES (NT * BLK)         /* 4 MiB of guest */
#define MAXREAD (256u << 10)

static uint8_t hole[NFRAMES];
static _Atomic uint32_t started[NFRAMES], done[NFRAMES];
static atomic_bool stop;
static atomic_uint_fast64_t bytes_checked, nreads, nwrites, ninval, nresize;
static atomic_int failures;
static xfm_handle *H;

static uint8_t mix(uint64_t a)
{
	uint64_t x = a * 0x9E3779B97F4A7C15ull;

	return (uint8_t)(x >> 56);
}

static uint8_t val(uint64_t a, uint32_t v)
{
	return (uint8_t)(mix(a) + v);
}

static void fill0(uint8_t *buf, uint64_t len)
{
	for (uint64_t a = 0; a < len; a++)
		buf[a] = val(a, 0);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...)
{
	va_list ap;

	/* Report the first few; the count says how many there were. */
	if (atomic_fetch_add(&failures, 1) >= 10)
		return;
	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

/* Write frames [f0, f0 + k) of our own block with their next version. */
static void do_write(uint64_t *seed, unsigned int t, uint8_t *buf)
{
	uint64_t f0 = t * BLK + rnd(seed) % BLK, k = 1 + rnd(seed) % 8;
	uint64_t addr, len, split;
	uint32_t v[8];

	if (f0 + k > (t + 1) * BLK)
		k = (t + 1) * BLK - f0;
	for (uint64_t i = 0; i < k; i++)
		if (hole[f0 + i])
			k = i; /* stop before a hole */
	if (!k)
		return;
	addr = f0 * MS_FS;
	len = k * MS_FS;
	for (uint64_t i = 0; i < k; i++) {
		v[i] = atomic_load(&started[f0 + i]) + 1;
		atomic_store_explicit(&started[f0 + i], v[i],
				      memory_order_relaxed);
	}
	/* Publish started[] before any byte of the new version. */
	atomic_thread_fence(memory_order_seq_cst);
	for (uint64_t i = 0; i < len; i++)
		buf[i] = val(addr + i, v[i / MS_FS]);
	split = 1 + rnd(seed) % (len - 1);
	if (xfm_write(H, addr, buf, split) < 0 ||
	    xfm_write(H, addr + split, buf + split, len - split) < 0)
		failf("write 0x%" PRIx64 "+0x%" PRIx64 ": %s", addr, len,
		      xfm_last_error());
	for (uint64_t i = 0; i < k; i++)
		atomic_store_explicit(&done[f0 + i], v[i],
				      memory_order_release);
	atomic_fetch_add(&nwrites, 1);
}

/*
 * Check @n bytes read at @addr: version between lo[] and hi[] per frame
 * (exact when lo == hi), zeros in holes when @zero_fill.
 */
static void check(uint64_t addr, const uint8_t *buf, uint64_t n,
		  const uint32_t *lo, const uint32_t *hi, bool zero_fill)
{
	uint64_t f0 = addr / MS_FS;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t a = addr + i, fi = a / MS_FS - f0;
		uint32_t span = hi[fi] - lo[fi];
		uint8_t d = (uint8_t)(buf[i] - mix(a));

		if (hole[a / MS_FS]) {
			if (!zero_fill || buf[i])
				failf("hole byte 0x%" PRIx64 " = 0x%02x", a,
				      buf[i]);
			continue;
		}
		if (span < 255 && (uint8_t)(d - (uint8_t)lo[fi]) > span) {
			failf("byte 0x%" PRIx64 ": version %u (mod 256), "
			      "expected %u..%u", a, d, lo[fi], hi[fi]);
			return;
		}
	}
	atomic_fetch_add(&bytes_checked, n);
}

static void do_read(uint64_t *seed, unsigned int t, uint8_t *buf)
{
	bool own = rnd(seed) % 2, zf = rnd(seed) % 2;
	uint64_t base = own ? t * BLK * MS_FS : 0;
	uint64_t room = own ? BLK * MS_FS : NFRAMES * MS_FS;
	uint64_t off = rnd(seed) % room, len, addr, f0, nf, good;
	uint32_t lo[MAXREAD / MS_FS + 2], hi[MAXREAD / MS_FS + 2];
	int rc;

	len = 1 + rnd(seed) % (rnd(seed) % 4 ? 9000 : MAXREAD);
	if (len > room - off)
		len = room - off;
	addr = base + off;
	f0 = addr / MS_FS;
	nf = (addr + len - 1) / MS_FS - f0 + 1;
	for (uint64_t i = 0; i < nf; i++)
		lo[i] = atomic_load_explicit(&done[f0 + i],
					     memory_order_acquire);
	rc = xfm_read(H, addr, buf, len, zf ? XFM_READ_ZERO_FILL : 0);
	/* No byte read may be newer than started[] loaded after it. */
	atomic_thread_fence(memory_order_seq_cst);
	for (uint64_t i = 0; i < nf; i++)
		hi[i] = atomic_load_explicit(&started[f0 + i],
					     memory_order_relaxed);
	good = len;
	if (rc == -ENOENT && !zf) {
		/* Must be a hole, named; the bytes before it are valid. */
		uint64_t i = 0;

		while (i < nf && !hole[f0 + i])
			i++;
		if (i == nf) {
			failf("read 0x%" PRIx64 "+0x%" PRIx64 ": ENOENT without "
			      "a hole: %s", addr, len, xfm_last_error());
			return;
		}
		if (!strstr(xfm_last_error(), "frame 0x"))
			failf("hole error does not name the frame: %s",
			      xfm_last_error());
		good = i ? (f0 + i) * MS_FS - addr : 0;
	} else if (rc < 0) {
		failf("read 0x%" PRIx64 "+0x%" PRIx64 ": %s", addr, len,
		      xfm_last_error());
		return;
	} else {
		for (uint64_t i = 0; i < nf && !zf; i++)
			if (hole[f0 + i])
				failf("read over hole frame 0x%" PRIx64
				      " succeeded", f0 + i);
	}
	check(addr, buf, good, lo, hi, zf);
	atomic_fetch_add(&nreads, 1);
}

static void do_invalidate(uint64_t *seed)
{
	static const uint64_t windows[] = { 16 << 10, 64 << 10, 256 << 10,
					    1 << 20 };
	static const uint32_t counts[] = { 0, 1, 2, 4, 16, 64 };
	uint64_t r = rnd(seed) % 100;

	if (r < 2) {
		if (xfm_set_cache(H, windows[rnd(seed) % 4],
				  counts[rnd(seed) % 6]) < 0)
			failf("set_cache: %s", xfm_last_error());
		atomic_fetch_add(&nresize, 1);
	} else if (r < 10) {
		xfm_invalidate(H, 0, UINT64_MAX);
	} else {
		xfm_invalidate(H, rnd(seed) % (NFRAMES * MS_FS),
			       1 + rnd(seed) % (1 << 20));
	}
	if (r % 16 == 0 && xfm_get_ranges(H, NULL, 0) != 3)
		failf("memory map: %s", xfm_last_error());
	atomic_fetch_add(&ninval, 1);
}

static void *worker(void *arg)
{
	unsigned int t = (unsigned int)(uintptr_t)arg;
	uint64_t seed = 0x1234567ull * (t + 1);
	uint8_t *buf = malloc(MAXREAD + 8 * MS_FS);

	if (!buf) {
		failf("out of memory");
		return NULL;
	}
	while (!atomic_load(&stop)) {
		uint64_t r = rnd(&seed) % 100;

		if (r < 40)
			do_write(&seed, t, buf);
		else if (r < 95)
			do_read(&seed, t, buf);
		else
			do_invalidate(&seed);
	}
	free(buf);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Quiescent: every byte must be exactly its frame's last version. */
static int final_check(void)
{
	uint8_t *buf = malloc(NFRAMES * MS_FS);
	int bad = 0;

	if (!buf)
		return 1;
	if (xfm_read(H, 0, buf, NFRAMES * MS_FS, XFM_READ_ZERO_FILL) < 0) {
		printf("# final read: %s\n", xfm_last_error());
		free(buf);
		return 1;
	}
	for (uint64_t a = 0; a < NFRAMES * MS_FS; a++) {
		uint64_t f = a / MS_FS;
		uint8_t want = hole[f] ? 0 : val(a, atomic_load(&done[f]));

		if (buf[a] != want && bad++ < 5)
			printf("# final: byte 0x%" PRIx64 " = 0x%02x, want "
			       "0x%02x\n", a, buf[a], want);
	}
	atomic_fetch_add(&bytes_checked, NFRAMES * MS_FS);
	free(buf);
	return bad;
}

int main(void)
{
	const char *env = getenv("XFM_STRESS_SECONDS");
	double secs = env ? atof(env) : 3.0, t0;
	pthread_t th[NT];
	int rc;

	printf("1..3\n");
	hole[200] = hole[201] = hole[700] = 1; /* blocks 1 and 5 */
	rc = mem_handle(NFRAMES, hole, XFM_OPEN_WRITE, fill0, &H);
	if (rc < 0) {
		printf("not ok 1 - open a memory source # %s\n",
		       xfm_last_error());
		return 1;
	}
	xfm_set_cache(H, 64 << 10, 8); /* small: constant eviction */
	t0 = now();
	for (unsigned int t = 0; t < NT; t++)
		pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t);
	/* Meanwhile resize the cache under the workers' feet, 20 times a
	 * second: they also do it now and then, but slow (sanitized) runs
	 * might not get there. */
	for (unsigned int i = 0; now() - t0 < secs &&
	     atomic_load(&failures) == 0; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		if (xfm_set_cache(H, (UINT64_C(16) << 10) << (i % 7),
				  i % 5 * 4) < 0)
			failf("set_cache: %s", xfm_last_error());
		atomic_fetch_add(&nresize, 1);
	}
	atomic_store(&stop, true);
	for (unsigned int t = 0; t < NT; t++)
		pthread_join(th[t], NULL);
	printf("# %d threads, %.1f s: %" PRIuFAST64 " reads, %" PRIuFAST64
	       " writes, %" PRIuFAST64 " invalidations (%" PRIuFAST64
	       " cache resizes), %" PRIuFAST64 " bytes checked\n", NT,
	       now() - t0, atomic_load(&nreads), atomic_load(&nwrites),
	       atomic_load(&ninval), atomic_load(&nresize),
	       atomic_load(&bytes_checked));
	printf("%sok 1 - %d threads on one handle: every byte read matches "
	       "the model (%d mismatches)\n", failures ? "not " : "", NT,
	       atomic_load(&failures));
	rc = final_check();
	printf("%sok 2 - afterwards all %u frames hold exactly their last "
	       "version\n", rc ? "not " : "", NFRAMES);
	rc = atomic_load(&nreads) && atomic_load(&nwrites) &&
	     atomic_load(&nresize);
	printf("%sok 3 - every kind of operation ran (reads, writes, "
	       "invalidations, cache resizes)\n", rc ? "" : "not ");
	xfm_close(H);
	return failures || !rc ? 1 : 0;
}
