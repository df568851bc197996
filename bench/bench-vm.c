// SPDX-License-Identifier: LGPL-2.1-only
/*
 * bench-vm.c - guest-virtual memory: translations per second and random
 * reads by virtual address against the same reads by physical address.
 *
 * usage: bench-vm [--dir DIR] [--secs S] [--out FILE]
 *        bench-vm --profile N [--dir DIR]
 *
 * Builds a raw image (in --dir, default /dev/shm: tables, a hole, data
 * pages of random bytes) of an
 * x86-64 guest whose VAs 0x7f0000000000.. map, 4 KiB page by page, to a
 * shuffled set of guest-physical frames, for two working sets: 64 MiB
 * (fits the translation cache) and 512 MiB (four times larger than it,
 * within the default window cache).
 * For each, side by side in one run, through the file source:
 *  - translations/s warm: random VAs, translation cache filled first;
 *  - translations/s cold: a new handle translating each page once (up to
 *    65536), every one a full walk; the table frames' windows mapped
 *    before the clock starts;
 *  - random 8-byte reads: xfm_read_va of random VAs against xfm_read of
 *    their physical addresses (the same pages, the same order), the
 *    order of the two alternating over 2*reps rounds.
 * Prints one JSON document (and writes it to --out, via a temp name):
 * every repetition, the medians, the machine (load average at start and
 * end) and the libxfm it ran on (its path: LD_LIBRARY_PATH may point this
 * program at another build's library, for a before/after run).
 * --profile N: no clock, no JSON: N random reads by VA then the same N
 * by PA over the 512 MiB set, for `valgrind --tool=callgrind` (the
 * instructions per call of run_va and run_pa: docs/benchmarks.md).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "xfm.h"

#define VA_BASE UINT64_C(0x7f0000000000)
#define TABLES  UINT64_C(0x1000)          /* PML4, PDPT, PDs, PTs from here */
#define DATA    UINT64_C(0x40000000)      /* data frames from 1 GiB up */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-vm: %s: %s (%s)\n", what, strerror(err),
		xfm_last_error());
	exit(1);
}

static void put(int fd, uint64_t pa, uint64_t v)
{
	if (pwrite(fd, &v, 8, (off_t)pa) != 8)
		die("pwrite", errno);
}

/*
 * The image for @npages 4 KiB pages: page i of the VA range maps to data
 * frame perm[i].  Returns the physical frame numbers in *perm.
 */
static void build(const char *path, uint64_t npages, uint64_t **perm)
{
	uint64_t npt = (npages + 511) / 512, npd = (npt + 511) / 512;
	uint64_t pml4 = TABLES, pdpt = pml4 + 4096, pd = pdpt + 4096;
	uint64_t pt = pd + npd * 4096, seed = 0x9e3779b97f4a7c15ull;
	uint64_t *p = malloc(npages * sizeof(*p));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (!p || fd < 0)
		die(path, p ? errno : ENOMEM);
	for (uint64_t i = 0; i < npages; i++)
		p[i] = DATA / 4096 + i;
	for (uint64_t i = npages - 1; i > 0; i--) {
		uint64_t j = rnd(&seed) % (i + 1), t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	/* VA_BASE: PML4 index 254, PDPT index 0 */
	put(fd, pml4 + ((VA_BASE >> 39) & 511) * 8, pdpt | 3);
	for (uint64_t d = 0; d < npd; d++)
		put(fd, pdpt + d * 8, (pd + d * 4096) | 3);
	for (uint64_t t = 0; t < npt; t++)
		put(fd, pd + t * 8, (pt + t * 4096) | 3);
	for (uint64_t i = 0; i < npages; i++)
		put(fd, pt + i * 8, (p[i] * 4096) | 3);
	/* Real data pages (no holes: a hole's first read costs a page
	 * allocation, which is not what is measured here). */
	{
		static uint64_t page[512];

		for (uint64_t i = 0; i < npages; i++) {
			for (int k = 0; k < 512; k++)
				page[k] = rnd(&seed);
			if (pwrite(fd, page, 4096, (off_t)(DATA + i * 4096)) !=
			    4096)
				die("pwrite", errno);
		}
	}
	close(fd);
	*perm = p;
}

#define MAX_REPS 16

struct result {
	double warm, cold, va_reads, pa_reads;
	double va[MAX_REPS], pa[MAX_REPS];  /* every repetition, in order */
};

static double translate_rate(xfm_handle *h, uint64_t npages, double secs)
{
	uint64_t seed = 12345, n = 0;
	xfm_translation t;
	double t0 = now(), t1;

	do {
		for (int k = 0; k < 1024; k++) {
			uint64_t va = VA_BASE + rnd(&seed) % npages * 4096;

			if (xfm_translate(h, va, &t, sizeof(t)) < 0)
				die("xfm_translate", EFAULT);
		}
		n += 1024;
		t1 = now();
	} while (t1 - t0 < secs);
	return (double)n / (t1 - t0);
}

/*
 * Cold: every page translated once, in the shuffled order, on a handle
 * whose translation cache is empty (walks only; the table frames' windows
 * are mapped first, so no mmap is timed).
 */
static double cold_rate(const char *path, const uint64_t *perm,
			uint64_t npages)
{
	const xfm_vm_root root = { .mode = XFM_VM_X86_64, .root = TABLES };
	uint64_t v, n = npages < 65536 ? npages : 65536;
	xfm_translation t;
	xfm_handle *h;
	double t0;

	if (xfm_open(&h, path, 0) < 0 ||
	    xfm_set_vm_root(h, &root, sizeof(root)) < 0)
		die(path, EINVAL);
	for (uint64_t a = TABLES; a < TABLES + 4096 * (3 + npages / 512);
	     a += 4096)
		xfm_read(h, a, &v, 8, 0);
	t0 = now();
	for (uint64_t i = 0; i < n; i++)
		if (xfm_translate(h, VA_BASE + (perm[i] - DATA / 4096) * 4096,
				  &t, sizeof(t)) < 0)
			die("xfm_translate", EFAULT);
	v = (uint64_t)((double)n / (now() - t0));
	xfm_close(h);
	return (double)v;
}

static double read_rate(xfm_handle *h, const uint64_t *perm, uint64_t npages,
			double secs, bool by_va)
{
	uint64_t seed = 777, n = 0, sink = 0, v;
	double t0 = now(), t1;
	int rc;

	do {
		for (int k = 0; k < 1024; k++) {
			uint64_t i = rnd(&seed) % npages;
			uint64_t off = rnd(&seed) % 512 * 8;

			rc = by_va ? xfm_read_va(h, VA_BASE + i * 4096 + off,
						 &v, 8, 0)
				   : xfm_read(h, perm[i] * 4096 + off, &v, 8, 0);
			if (rc < 0)
				die(by_va ? "xfm_read_va" : "xfm_read", -rc);
			sink += v;
		}
		n += 1024;
		t1 = now();
	} while (t1 - t0 < secs);
	if (sink == 1)
		fputc(' ', stderr);
	return (double)n / (t1 - t0);
}

/* --profile: exactly @n reads each way, the same addresses as read_rate. */
static __attribute__((noinline)) uint64_t run_va(xfm_handle *h, uint64_t npages,
						 uint64_t n)
{
	uint64_t seed = 777, sum = 0, v;

	for (uint64_t k = 0; k < n; k++) {
		uint64_t i = rnd(&seed) % npages, off = rnd(&seed) % 512 * 8;

		if (xfm_read_va(h, VA_BASE + i * 4096 + off, &v, 8, 0) < 0)
			die("xfm_read_va", EFAULT);
		sum += v;
	}
	return sum;
}

static __attribute__((noinline)) uint64_t run_pa(xfm_handle *h,
						 const uint64_t *perm,
						 uint64_t npages, uint64_t n)
{
	uint64_t seed = 777, sum = 0, v;

	for (uint64_t k = 0; k < n; k++) {
		uint64_t i = rnd(&seed) % npages, off = rnd(&seed) % 512 * 8;

		if (xfm_read(h, perm[i] * 4096 + off, &v, 8, 0) < 0)
			die("xfm_read", EFAULT);
		sum += v;
	}
	return sum;
}

static int profile(const char *dir, uint64_t n)
{
	const xfm_vm_root root = { .mode = XFM_VM_X86_64, .root = TABLES };
	uint64_t npages = UINT64_C(512) << 8, *perm;
	char path[512];
	xfm_handle *h;

	snprintf(path, sizeof(path), "%s/xfm-bench-vm-%d.img", dir,
		 (int)getpid());
	build(path, npages, &perm);
	if (xfm_open(&h, path, 0) < 0 ||
	    xfm_set_vm_root(h, &root, sizeof(root)) < 0)
		die(path, EINVAL);
	unlink(path);
	printf("%" PRIu64 " %" PRIu64 "\n", run_va(h, npages, n),
	       run_pa(h, perm, npages, n));
	xfm_close(h);
	free(perm);
	return 0;
}

static double median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct result run(const char *dir, uint64_t mib, double secs, int reps)
{
	const xfm_vm_root root = { .mode = XFM_VM_X86_64, .root = TABLES };
	uint64_t npages = mib << 8, *perm;
	double va[MAX_REPS], pa[MAX_REPS];
	struct result r;
	char path[512];
	xfm_handle *h;
	int rc;

	snprintf(path, sizeof(path), "%s/xfm-bench-vm-%d.img", dir,
		 (int)getpid());
	build(path, npages, &perm);
	r.cold = cold_rate(path, perm, npages);
	rc = xfm_open(&h, path, 0);
	if (rc < 0)
		die(path, -rc);
	unlink(path);
	rc = xfm_set_vm_root(h, &root, sizeof(root));
	if (rc < 0)
		die("xfm_set_vm_root", -rc);
	/* warm: every page translated once first */
	read_rate(h, perm, npages, 0.2, true);
	read_rate(h, perm, npages, 0.2, false);
	r.warm = translate_rate(h, npages, secs);
	for (int i = 0; i < reps; i++) {
		if (i % 2) {
			va[i] = read_rate(h, perm, npages, secs, true);
			pa[i] = read_rate(h, perm, npages, secs, false);
		} else {
			pa[i] = read_rate(h, perm, npages, secs, false);
			va[i] = read_rate(h, perm, npages, secs, true);
		}
	}
	memcpy(r.va, va, sizeof(va));
	memcpy(r.pa, pa, sizeof(pa));
	r.va_reads = median(va, reps);
	r.pa_reads = median(pa, reps);
	xfm_close(h);
	free(perm);
	return r;
}

static void loadavg(char *buf, size_t n)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a[3] = { 0, 0, 0 };

	if (f) {
		if (fscanf(f, "%lf %lf %lf", &a[0], &a[1], &a[2]) != 3)
			a[0] = a[1] = a[2] = 0;
		fclose(f);
	}
	snprintf(buf, n, "%.2f %.2f %.2f", a[0], a[1], a[2]);
}

static void cpu_model(char *buf, size_t n)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, n, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			snprintf(buf, n, "%s", c + 2);
			buf[strcspn(buf, "\n\"")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
}

/* The libxfm this process runs on. */
static const char *library(void)
{
	static char path[4096];
	Dl_info info;

	if (!dladdr((void *)xfm_read, &info) || !info.dli_fname)
		return "unknown";
	if (!realpath(info.dli_fname, path))
		snprintf(path, sizeof(path), "%s", info.dli_fname);
	return path;
}

static void print_reps(FILE *f, const char *key, const double *v, int n)
{
	fprintf(f, "\"%s\": [", key);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%.0f", i ? ", " : "", v[i]);
	fprintf(f, "]");
}

int main(int argc, char **argv)
{
	const char *dir = "/dev/shm", *out = NULL;
	static const uint64_t sets[] = { 64, 512 };
	double secs = 0.5;
	uint64_t prof = 0;
	int reps = 6;
	FILE *f = stdout;
	char tmp[600], load[64], cpu[128];
	struct result res[2];
	struct utsname u;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--dir"))
			dir = argv[i + 1];
		else if (!strcmp(argv[i], "--secs"))
			secs = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
		else if (!strcmp(argv[i], "--profile"))
			prof = strtoull(argv[i + 1], NULL, 0);
	}
	if (prof)
		return profile(dir, prof);
	if (out && access(out, F_OK) == 0) {
		fprintf(stderr, "bench-vm: %s exists: result files are never "
			"overwritten\n", out);
		return 2;
	}
	loadavg(load, sizeof(load));
	cpu_model(cpu, sizeof(cpu));
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	/* Measure first, write after: the file is complete or absent. */
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		res[i] = run(dir, sets[i], secs, reps);
	if (out) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", out);
		f = fopen(tmp, "w");
		if (!f)
			die(tmp, errno);
	}
	fprintf(f, "{\n  \"benchmark\": \"vm-translate\",\n"
		"  \"source\": \"raw file in %s, x86-64 4-level tables, 4 KiB "
		"pages to shuffled frames\",\n  \"secs_per_run\": %.2f,\n"
		"  \"read_reps\": %d,\n  \"goal_va_vs_pa\": 0.5,\n"
		"  \"library\": \"%s\",\n"
		"  \"machine\": { \"cpu\": \"%s\", \"cores\": %ld, "
		"\"kernel\": \"%s\", \"loadavg\": \"%s\", ", dir, secs, reps,
		library(), cpu, sysconf(_SC_NPROCESSORS_ONLN), u.release, load);
	loadavg(load, sizeof(load));
	fprintf(f, "\"loadavg_end\": \"%s\" },\n  \"sets\": [\n", load);
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		const struct result *r = &res[i];

		fprintf(f, "    { \"working_set_mib\": %" PRIu64 ", "
			"\"translations_per_s_warm\": %.0f, "
			"\"translations_per_s_cold\": %.0f, "
			"\"reads_8b_per_s_by_va\": %.0f, "
			"\"reads_8b_per_s_by_pa\": %.0f, "
			"\"ratio_va_vs_pa\": %.3f,\n      ", sets[i], r->warm,
			r->cold, r->va_reads, r->pa_reads,
			r->va_reads / r->pa_reads);
		print_reps(f, "reads_by_va", r->va, reps);
		fprintf(f, ",\n      ");
		print_reps(f, "reads_by_pa", r->pa, reps);
		fprintf(f, " }%s\n",
			i + 1 < sizeof(sets) / sizeof(sets[0]) ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (out) {
		fclose(f);
		if (rename(tmp, out) < 0)
			die(out, errno);
	}
	return 0;
}
