/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * test-leaks.c - long open/close and map/unmap loops must not grow the
 * process: open file descriptors (/proc/self/fd), mappings (lines of
 * /proc/self/maps) or resident memory (VmRSS).
 *
 * Each loop runs a warm-up first (so that malloc arenas, the dynamic
 * loader and the first cache windows are in place), then measures, runs
 * XFM_LEAK_CYCLES cycles (default 100000), and measures again.  Allowed
 * growth: 0 fds, 0 mapping lines, RSS_SLACK bytes of RSS (malloc may keep
 * a few freed pages).  Under ASan the RSS figure is not checked: its
 * quarantine keeps freed memory on purpose, and LeakSanitizer checks the
 * heap at exit instead.
 *
 * TAP output; the figures are printed as comments.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem-source.h"
#include "tap.h"

#ifdef HAVE_COMPAT
#include <xentoollog.h>
#include "xenforeignmemory.h"
#define HAVE_COMPAT_N 1
#else
#define HAVE_COMPAT_N 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define RSS_SLACK (1024 * 1024)
#define RAW_FRAMES 256 /* 1 MiB raw dump */

/* TAP lines per check_loop(): behaviour, fds, mappings, and RSS (not
 * under ASan, whose quarantine keeps freed memory). */
#ifdef UNDER_ASAN
#define PER_LOOP 3
#else
#define PER_LOOP 4
#endif
static long cycles = 100000;
static char dir[64], raw[96], bad_elf[96];

struct usage {
	long fds, maps, rss_kib;
};

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static long count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static struct usage measure(void)
{
	/* maps first: reading it must not be counted in its own fd. */
	struct usage u = { .maps = count_maps() };

	u.fds = count_fds();
	u.rss_kib = rss_kib();
	return u;
}

static xfm_handle *mem_h;

/*
 * Run @fn for warm-up, then @cycles times between two measurements.  The
 * cache is emptied before each measurement: how many windows it holds at
 * that moment (up to its bound) is not a leak.
 */
static void check_loop(const char *name, bool (*fn)(long i))
{
	struct usage a, b;
	long bad = 0, warm = cycles / 100 + 10;
	bool rss_ok;

	/* measure() itself allocates: let it settle its own memory first. */
	(void)measure();
	for (long i = 0; i < warm; i++)
		bad += !fn(i);
	if (mem_h)
		xfm_invalidate(mem_h, 0, UINT64_MAX);
	a = measure();
	for (long i = 0; i < cycles; i++)
		bad += !fn(i);
	if (mem_h)
		xfm_invalidate(mem_h, 0, UINT64_MAX);
	b = measure();
	printf("# %s: %ld cycles: fds %ld -> %ld, maps %ld -> %ld, "
	       "RSS %ld -> %ld KiB\n", name, cycles, a.fds, b.fds, a.maps,
	       b.maps, a.rss_kib, b.rss_kib);
	tap_ok(bad == 0, "%s: %ld cycles, every call behaved (%ld did not)", name,
	   cycles, bad);
	tap_ok(a.fds >= 0 && b.fds == a.fds, "%s: open fds %ld -> %ld", name,
	   a.fds, b.fds);
	tap_ok(a.maps >= 0 && b.maps == a.maps, "%s: mappings %ld -> %ld", name,
	   a.maps, b.maps);
	rss_ok = a.rss_kib > 0 && b.rss_kib - a.rss_kib <= RSS_SLACK / 1024;
#ifdef UNDER_ASAN
	/* Not a test here: ASan's quarantine keeps freed memory (LeakSanitizer
	 * checks the heap); the plain build checks RSS. */
	printf("# %s: RSS not checked under ASan\n", name);
	(void)rss_ok;
#else
	tap_ok(rss_ok, "%s: RSS %ld -> %ld KiB (slack %d KiB)", name, a.rss_kib,
	   b.rss_kib, RSS_SLACK / 1024);
#endif
}

static uint64_t seed = 88172645463325252ull;

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static xfm_handle *raw_h;

/* Extents of order 0..4 in the file, sometimes one past its end. */
static bool map_cycle(long i)
{
	xfm_extent ext[2];
	unsigned int o = (unsigned int)(rnd() % 5);
	size_t n = 1 + (size_t)(i % 2);
	xfm_mapping *m;
	int rc;

	for (size_t k = 0; k < n; k++) {
		ext[k].order = o;
		ext[k].frame = (rnd() % (RAW_FRAMES >> o)) << o;
	}
	if (i % 10 == 9) {
		/* Wholly outside the file: fails, must leave nothing. */
		ext[0].frame = ext[n - 1].frame = RAW_FRAMES << 4;
		return xfm_map(raw_h, ext, n, XFM_PROT_READ, NULL, &m) ==
		       -ENOENT;
	}
	rc = xfm_map(raw_h, ext, n, XFM_PROT_READ, NULL, &m);
	if (rc != (int)n)
		return false;
	/* Touch the first byte of every extent: the pages are real. */
	if (((volatile uint8_t *)xfm_map_addr(m))[0] != (uint8_t)(ext[0].frame))
		rc = -1;
	return xfm_unmap(m) == 0 && rc >= 0;
}

static bool open_cycle(long i)
{
	xfm_handle *h;
	uint8_t b[64];
	bool good;

	if (xfm_open(&h, raw, XFM_OPEN_QUIET) < 0)
		return false;
	good = xfm_read(h, (uint64_t)(i % RAW_FRAMES) * MS_FS + 17, b,
			sizeof(b), 0) == 0 && b[0] == (uint8_t)(i % RAW_FRAMES);
	xfm_close(h);
	return good;
}

static bool failed_open_cycle(long i)
{
	static const char *const uris[] = { raw + 0, bad_elf, "xen:31000",
					    "nope:x", "xen:notanumber" };
	const char *uri = uris[i % 5];
	xfm_handle *h = NULL;
	char missing[128];
	int rc;

	if (i % 5 == 0) {
		snprintf(missing, sizeof(missing), "%s/missing", dir);
		uri = missing;
	}
	rc = xfm_open(&h, uri, XFM_OPEN_QUIET);
	return rc < 0 && !h && *xfm_last_error();
}

static uint8_t mem_hole[1024];

static void fill_mem(uint8_t *buf, uint64_t len)
{
	for (uint64_t a = 0; a < len; a++)
		buf[a] = (uint8_t)(a / MS_FS);
}

/* Reads through the cache (4 windows of 64 KiB: constant eviction). */
static bool cache_cycle(long i)
{
	uint64_t addr = rnd() % (1024 * MS_FS - 100);
	uint8_t b[100];

	if (i % 1000 == 0)
		xfm_invalidate(mem_h, 0, UINT64_MAX);
	if (xfm_read(mem_h, addr, b, sizeof(b), XFM_READ_ZERO_FILL) < 0)
		return false;
	return b[0] == (mem_hole[addr / MS_FS] ? 0 : (uint8_t)(addr / MS_FS));
}

#ifdef HAVE_COMPAT
static xentoollog_logger *quiet_log;

/* Without Xen the open fails (ENOENT); with it, open and close. */
static bool compat_cycle(long i)
{
	xenforeignmemory_handle *fm = xenforeignmemory_open(quiet_log, 0);

	(void)i;
	if (!fm)
		return errno != 0;
	return xenforeignmemory_close(fm) == 0;
}
#endif

static int make_files(void)
{
	uint8_t page[MS_FS];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/xfm-leaks.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(raw, sizeof(raw), "%s/raw.img", dir);
	snprintf(bad_elf, sizeof(bad_elf), "%s/bad.elf", dir);
	fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	for (int f = 0; f < RAW_FRAMES; f++) {
		memset(page, f, sizeof(page));
		if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
			return -1;
	}
	close(fd);
	/* An ELF header that stops after e_ident: a truncated core. */
	fd = open(bad_elf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	memcpy(page, "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\4\0", 18);
	if (write(fd, page, 18) != 18)
		return -1;
	close(fd);
	return 0;
}

static void remove_files(void)
{
	unlink(raw);
	unlink(bad_elf);
	rmdir(dir);
}

int main(void)
{
	const char *env = getenv("XFM_LEAK_CYCLES");

	if (env && atol(env) > 0)
		cycles = atol(env);
	printf("1..%d\n", (4 * 4 + 4 * HAVE_COMPAT_N) * PER_LOOP / 4);
	if (make_files() < 0) {
		printf("Bail out! cannot create test files: %s\n",
		       strerror(errno));
		return 1;
	}
	if (xfm_open(&raw_h, raw, 0) < 0) {
		printf("Bail out! %s\n", xfm_last_error());
		return 1;
	}
	check_loop("xfm_map/xfm_unmap (raw file)", map_cycle);
	xfm_close(raw_h);
	check_loop("xfm_open/xfm_read/xfm_close (raw file)", open_cycle);
	check_loop("failing xfm_open (missing, corrupt, no Xen, bad URI)",
		   failed_open_cycle);
	mem_hole[3] = mem_hole[500] = 1;
	if (mem_handle(1024, mem_hole, 0, fill_mem, &mem_h) < 0 ||
	    xfm_set_cache(mem_h, 64 << 10, 4) < 0) {
		printf("Bail out! %s\n", xfm_last_error());
		return 1;
	}
	check_loop("xfm_read through the window cache", cache_cycle);
	xfm_close(mem_h);
	mem_h = NULL;
#ifdef HAVE_COMPAT
	quiet_log = (xentoollog_logger *)
		xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	{
		long keep = cycles;

		/* Each open opens and closes /dev/xen/privcmd: cheaper
		 * loops suffice to see a per-call leak. */
		cycles = cycles / 10 ? cycles / 10 : 1;
		check_loop("libxenforeignmemory open/close", compat_cycle);
		cycles = keep;
	}
	xtl_logger_destroy(quiet_log);
#endif
	remove_files();
	return tap_failed ? 1 : 0;
}
