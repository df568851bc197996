// SPDX-License-Identifier: LGPL-2.1-only
/*
 * host-read.c - the host's small-read measures (bench-file calls them):
 * random 8-byte reads of a file through xfm_read against the machine's
 * limit (mmap + memcpy of the same file, same addresses, same process),
 * cache hits with several threads on one handle, and `xfm search`
 * against `grep -c -a -F`.  Each prints one JSON measure.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host-read.h"
#include "mem-source.h"

#define MIB (UINT64_C(1) << 20)

static void fail(const char *what, int err)
{
	fprintf(stderr, "bench-file: %s: %s (%s)\n", what, strerror(err),
		xfm_last_error());
	exit(1);
}

void host_json_open(const char *id)
{
	static bool first = true;

	printf("%s\n  \"%s\": ", first ? "" : ",", id);
	first = false;
}

static void series(const char *name, const double *v, unsigned int n)
{
	printf(", \"%s\": [", name);
	for (unsigned int i = 0; i < n; i++)
		printf("%s%.6g", i ? ", " : "", v[i]);
	printf("]");
}

/* --- random 8-byte reads: xfm_read, mmap + memcpy, pread ----------- */

/* The limit: the same addresses, copied out of a plain mapping. */
static void mmap_random_read(const uint8_t *map, const struct bm_space *sp,
			     uint64_t len, uint64_t seed, struct bm_run *run)
{
	uint64_t slots = sp->total / len, buf[512];
	double t0 = bm_now();

	run->ops = 0;
	do {
		for (int i = 0; i < 64; i++) {
			uint64_t off = bm_rand(&seed) % slots * len;

			memcpy(buf, map + bm_addr_at(sp, off), len);
			__asm__ volatile("" : : "r"(buf) : "memory");
		}
		run->ops += 64;
	} while (bm_now() - t0 < run->max_secs);
	run->secs = bm_now() - t0;
}

static void pread_random_read(int fd, const struct bm_space *sp,
			      uint64_t len, uint64_t seed, struct bm_run *run)
{
	uint64_t slots = sp->total / len, buf[512];
	double t0 = bm_now();

	run->ops = 0;
	do {
		for (int i = 0; i < 64; i++) {
			uint64_t off = bm_rand(&seed) % slots * len;

			if (pread(fd, buf, len, (off_t)bm_addr_at(sp, off)) !=
			    (ssize_t)len)
				fail("pread", errno ? errno : EIO);
		}
		run->ops += 64;
	} while (bm_now() - t0 < run->max_secs);
	run->secs = bm_now() - t0;
}

void host_rand_read(const char *raw, unsigned int reps)
{
	double x[16], m[16], p[16];
	volatile uint8_t sink = 0;
	struct bm_space sp;
	struct stat st;
	xfm_handle *h;
	uint8_t *map, b;
	int fd, rc;

	rc = xfm_open(&h, raw, XFM_OPEN_QUIET);
	if (rc < 0)
		fail(raw, -rc);
	rc = bm_space_init(&sp, h);
	if (rc < 0 || !sp.total)
		fail("memory map", rc < 0 ? -rc : ENOENT);
	fd = open(raw, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		fail(raw, errno);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		fail("mmap", errno);
	/* Warm both: every page in the page cache and in both page tables. */
	for (uint64_t a = 0; a < sp.total; a += 4096) {
		sink += map[bm_addr_at(&sp, a)];
		if (xfm_read(h, bm_addr_at(&sp, a), &b, 1, 0) < 0)
			fail("xfm_read", EIO);
	}
	for (unsigned int r = 0; r < reps; r++) {
		uint64_t seed = 0x9e3779b97f4a7c15ull + r;

		/* Rotate the order: each reader goes first once in three. */
		for (unsigned int k = 0; k < 3; k++) {
			struct bm_run run = { .max_secs = 1 };

			switch ((r + k) % 3) {
			case 0:
				bm_xfm_random_read(h, &sp, 8, seed, &run);
				if (run.err)
					fail("xfm_read", -run.err);
				x[r] = run.ops / run.secs;
				break;
			case 1:
				mmap_random_read(map, &sp, 8, seed, &run);
				m[r] = run.ops / run.secs;
				break;
			default:
				pread_random_read(fd, &sp, 8, seed, &run);
				p[r] = run.ops / run.secs;
			}
		}
	}
	host_json_open("rand8_file");
	printf("{\"unit\": \"reads/s\", \"params\": "
	       "{\"file_bytes\": %lld, \"len\": 8, \"secs\": 1, \"format\": "
	       "\"raw\"}", (long long)st.st_size);
	series("xfm", x, reps);
	series("ref", m, reps);
	series("pread", p, reps);
	printf("}");
	fflush(stdout);
	munmap(map, (size_t)st.st_size);
	close(fd);
	bm_space_free(&sp);
	xfm_close(h);
	(void)sink;
}

/* --- cache hits from several threads ------------------------------ */

#define T_FRAMES 65536u   /* 256 MiB in-process "guest" */
#define T_MAX 16

struct reader {
	pthread_t t;
	xfm_handle *h;
	const struct bm_space *sp;
	uint64_t seed;
	volatile int *stop;
	struct bm_run run;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->run = (struct bm_run){ .stop = r->stop };
	bm_xfm_random_read(r->h, r->sp, 8, r->seed, &r->run);
	return NULL;
}

/* Total hit rate of @n threads reading for @secs seconds. */
static double hit_rate(xfm_handle *h, const struct bm_space *sp,
		       unsigned int n, double secs, uint64_t seed)
{
	struct reader rd[T_MAX];
	volatile int stop = 0;
	double rate = 0;

	for (unsigned int i = 0; i < n; i++) {
		rd[i] = (struct reader){ .h = h, .sp = sp, .stop = &stop,
					 .seed = seed + 7919 * i };
		if (pthread_create(&rd[i].t, NULL, reader_main, &rd[i]))
			fail("pthread_create", EAGAIN);
	}
	usleep((useconds_t)(secs * 1e6));
	stop = 1;
	for (unsigned int i = 0; i < n; i++) {
		pthread_join(rd[i].t, NULL);
		if (rd[i].run.err)
			fail("threads: xfm_read", -rd[i].run.err);
		rate += rd[i].run.ops / rd[i].run.secs;
	}
	return rate;
}

struct misser {
	xfm_handle *h;
	volatile int *stop;
	uint64_t misses;
};

#define MISSER_WINDOWS 16 /* the misser's windows: the first 16 MiB */

/* Miss on purpose: drop a window, read from it (a map and an unmap). */
static void *misser_main(void *arg)
{
	struct misser *m = arg;
	uint8_t b;

	while (!*m->stop) {
		uint64_t a = (m->misses % MISSER_WINDOWS) * MIB;

		xfm_invalidate(m->h, a, 1);
		if (xfm_read(m->h, a, &b, 1, 0) < 0)
			fail("misser: xfm_read", EIO);
		m->misses++;
	}
	return NULL;
}

void host_threads(unsigned int reps)
{
	static uint8_t hole[T_FRAMES];
	unsigned int ncpu = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	double rate[T_MAX + 1][16], alone[16], missed[16], misses[16];
	struct bm_space sp, hits;
	xfm_range hit_range;
	xfm_handle *h;
	uint8_t b;
	int rc;

	if (ncpu > T_MAX)
		ncpu = T_MAX;
	rc = mem_handle(T_FRAMES, hole, 0, NULL, &h);
	if (rc < 0)
		fail("memory source", -rc);
	rc = xfm_set_cache(h, MIB, T_FRAMES * MS_FS / MIB);
	if (rc >= 0)
		rc = bm_space_init(&sp, h);
	if (rc < 0)
		fail("cache", -rc);
	for (uint64_t a = 0; a < sp.total; a += MIB)
		if (xfm_read(h, a, &b, 1, 0) < 0)
			fail("warm", EIO);
	/* Beside the misser, hits read only the windows it leaves alone:
	 * else the hitter misses too, and the measure says nothing of
	 * whether a miss stalls other threads' hits. */
	hit_range = (xfm_range){ MISSER_WINDOWS * MIB,
				 sp.total - MISSER_WINDOWS * MIB };
	hits = (struct bm_space){ .r = &hit_range, .nr = 1,
				  .total = hit_range.size,
				  .frame_size = sp.frame_size };
	for (unsigned int r = 0; r < reps; r++) {
		/* Up and down: 1..n then n..1 on odd repetitions. */
		for (unsigned int k = 1; k <= ncpu; k++) {
			unsigned int n = r % 2 ? ncpu + 1 - k : k;

			rate[n][r] = hit_rate(h, &sp, n, 1, 0x9e3779b97f4a7c15ull + r);
		}
		{
			struct misser m = { .h = h };
			volatile int stop = 0;
			pthread_t t;

			alone[r] = hit_rate(h, &hits, 1, 1, 0x2545f4914f6cdd1dull + r);
			m.stop = &stop;
			if (pthread_create(&t, NULL, misser_main, &m))
				fail("pthread_create", EAGAIN);
			missed[r] = hit_rate(h, &hits, 1, 1, 0x2545f4914f6cdd1dull + r);
			stop = 1;
			pthread_join(t, NULL);
			misses[r] = (double)m.misses;
		}
	}
	host_json_open("threads");
	printf("{\"unit\": \"reads/s\", \"params\": "
	       "{\"source\": \"memfd, cache path\", \"bytes\": %llu, "
	       "\"window\": %llu, \"windows\": %llu, \"cpus\": %u, "
	       "\"secs\": 1, \"misser_windows\": %u, "
	       "\"hits_beside_misser\": \"other windows\"}",
	       (unsigned long long)sp.total, (unsigned long long)MIB,
	       (unsigned long long)(T_FRAMES * MS_FS / MIB), ncpu,
	       MISSER_WINDOWS);
	for (unsigned int n = 1; n <= ncpu; n++) {
		char name[16];

		snprintf(name, sizeof(name), "t%u", n);
		series(name, rate[n], reps);
	}
	series("hits_alone", alone, reps);
	series("hits_with_misser", missed, reps);
	series("misser_misses_per_s", misses, reps);
	printf("}");
	fflush(stdout);
	bm_space_free(&sp);
	xfm_close(h);
}

/* --- search: xfm search against grep -c -a -F ------------------------ */

#define NEEDLE "xfm-bench-needle-5a17"

/* Run @cmd (a shell line), return its wall-clock seconds. */
static double timed(const char *cmd)
{
	double t0 = bm_now();
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) > 1) {
		fprintf(stderr, "bench-file: '%s' failed (0x%x)\n", cmd, st);
		exit(1);
	}
	return bm_now() - t0;
}

static uint64_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	uint64_t n = 0;
	int c;

	if (!f)
		fail(path, errno);
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

void host_search(const char *raw, const char *xfm, const char *tmp,
		 unsigned int reps)
{
	char cx[1536], cg[1536], out[600], gout[600];
	double x[16], g[16];
	uint64_t seed = 0x853c49e6748fea9bull, planted = 1000, found;
	struct stat st;
	int fd = open(raw, O_RDWR);

	if (fd < 0 || fstat(fd, &st) < 0)
		fail(raw, errno);
	/* Distinct places, 64 bytes apart at least: no overlapping needles. */
	for (uint64_t i = 0; i < planted; i++) {
		uint64_t slot = (uint64_t)st.st_size / planted;
		off_t off = (off_t)(i * slot + bm_rand(&seed) % (slot - 64));

		if (pwrite(fd, NEEDLE, strlen(NEEDLE), off) !=
		    (ssize_t)strlen(NEEDLE))
			fail("pwrite", errno ? errno : EIO);
	}
	close(fd);
	snprintf(out, sizeof(out), "%s/xfm-bench-search.out", tmp);
	snprintf(cx, sizeof(cx), "'%s' search '%s' %s > '%s'", xfm, raw,
		 NEEDLE, out);
	/* Not to /dev/null: GNU grep then stops at the first match. */
	snprintf(gout, sizeof(gout), "%s/xfm-bench-search.grep", tmp);
	snprintf(cg, sizeof(cg), "grep -c -a -F %s '%s' > '%s'", NEEDLE, raw,
		 gout);
	timed(cx); /* warm: page cache, and the count checked */
	found = count_lines(out);
	if (found < planted) {
		fprintf(stderr, "bench-file: xfm search found %" PRIu64
			" of %" PRIu64 " needles\n", found, planted);
		exit(1);
	}
	timed(cg);
	for (unsigned int r = 0; r < reps; r++) {
		if (r % 2) {
			g[r] = (double)st.st_size / timed(cg);
			x[r] = (double)st.st_size / timed(cx);
		} else {
			x[r] = (double)st.st_size / timed(cx);
			g[r] = (double)st.st_size / timed(cg);
		}
	}
	unlink(out);
	host_json_open("search");
	printf("{\"unit\": \"bytes/s\", \"params\": "
	       "{\"file_bytes\": %lld, \"pattern\": \"%s\", \"planted\": %"
	       PRIu64 ", \"found\": %" PRIu64 "}", (long long)st.st_size,
	       NEEDLE, planted, found);
	series("xfm", x, reps);
	series("ref", g, reps);
	printf("}");
	fflush(stdout);
}
