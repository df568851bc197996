// SPDX-License-Identifier: LGPL-2.1-only
/*
 * bench-xen.c - live-guest benchmarks, run in dom0 (bench/lab-payload.sh
 * in the Xen lab): libxfm against Debian's libxenforeignmemory on the
 * same guest, in the same run.
 *
 * usage: bench-xen [--reps N] [--fill] [--small DOMID] [--dir DIR]
 *                  [--before PROGRAM] [--dump-budget SECS] DOMID
 *        bench-xen --dump-child DOMID PATH       (internal)
 *
 * Prints one JSON document on stdout: every repetition of every measure,
 * as a rate (higher is better).  bench/run.sh turns it into the table.
 * The reference library is dlopen'ed by its full path, so that our own
 * drop-in (same SONAME) can never stand in for it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenforeignmemory.h>

#include "measure.h"

#define REF_LIB "/usr/lib/x86_64-linux-gnu/libxenforeignmemory.so.1"
#define FRAME 4096u
#define MIB (UINT64_C(1) << 20)

static struct {
	void *dl;
	xenforeignmemory_handle *fh;
	__typeof__(xenforeignmemory_open) *open;
	__typeof__(xenforeignmemory_map) *map;
	__typeof__(xenforeignmemory_unmap) *unmap;
	__typeof__(xenforeignmemory_close) *close;
} ref;

static unsigned int reps = 3;
static uint32_t domid;
static const char *dir = "/tmp";
/* Another build of this program (libxfm before a change): its dumps are
 * measured too, as the series "xfm_before". */
static const char *before;
static double dump_budget = 240;
static bool first_measure = true;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-xen: %s: %s (%s)\n", what, strerror(err),
		xfm_last_error());
	exit(1);
}

static void ref_load(void)
{
	ref.dl = dlopen(REF_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!ref.dl) {
		fprintf(stderr, "bench-xen: %s\n", dlerror());
		exit(1);
	}
	ref.open = (__typeof__(ref.open))dlsym(ref.dl, "xenforeignmemory_open");
	ref.map = (__typeof__(ref.map))dlsym(ref.dl, "xenforeignmemory_map");
	ref.unmap = (__typeof__(ref.unmap))dlsym(ref.dl,
						 "xenforeignmemory_unmap");
	ref.close = (__typeof__(ref.close))dlsym(ref.dl,
						 "xenforeignmemory_close");
	if (!ref.open || !ref.map || !ref.unmap || !ref.close) {
		fprintf(stderr, "bench-xen: %s lacks a symbol\n", REF_LIB);
		exit(1);
	}
	ref.fh = ref.open(NULL, 0);
	if (!ref.fh)
		die("xenforeignmemory_open", errno);
}

/* --- JSON output: one object per measure, rates per repetition ---- */

static void json_begin_measure(const char *id, const char *unit,
			       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void json_begin_measure(const char *id, const char *unit,
			       const char *fmt, ...)
{
	va_list ap;

	printf("%s\n  \"%s\": {\"unit\": \"%s\", \"params\": {", first_measure ?
	       "" : ",", id, unit);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("}");
	first_measure = false;
}

static void json_series(const char *name, const double *v, unsigned int n)
{
	printf(", \"%s\": [", name);
	for (unsigned int i = 0; i < n; i++)
		printf("%s%.6g", i ? ", " : "", v[i]);
	printf("]");
}

static void json_end_measure(void)
{
	printf("}");
	fflush(stdout);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench-xen: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* --- the reference: Debian's libxenforeignmemory ----------------- */

/* Map @n frames in batches of @batch, touch one byte per frame, unmap. */
static void ref_map(const uint64_t *frames, size_t n, size_t batch,
		    bool touch, struct bm_run *run)
{
	xen_pfn_t *arr = calloc(batch, sizeof(*arr));
	int *err = calloc(batch, sizeof(*err));
	volatile uint8_t sink = 0;
	size_t pos = 0;
	double t0;

	run->ops = run->frames = 0;
	run->err = 0;
	if (!arr || !err) {
		run->err = -ENOMEM;
		goto out;
	}
	t0 = bm_now();
	do {
		const uint8_t *p;

		for (size_t i = 0; i < batch; i++) {
			arr[i] = (xen_pfn_t)frames[pos];
			pos = pos + 1 < n ? pos + 1 : 0;
		}
		p = ref.map(ref.fh, domid, PROT_READ, batch, arr, err);
		if (!p) {
			run->err = -errno;
			break;
		}
		for (size_t i = 0; i < batch; i++)
			if (!err[i]) {
				if (touch)
					sink += p[i * FRAME];
				run->frames++;
			}
		ref.unmap(ref.fh, (void *)p, batch);
		run->ops++;
	} while (!(run->max_ops && run->ops >= run->max_ops) &&
		 !(run->max_secs > 0 && bm_now() - t0 >= run->max_secs));
	run->secs = bm_now() - t0;
	(void)sink;
out:
	free(arr);
	free(err);
}

/* One map + read + unmap per read: how LibVMI-style readers work. */
static void ref_random_read(const struct bm_space *sp, uint64_t len,
			    uint64_t seed, struct bm_run *run)
{
	uint64_t slots = sp->total / len;
	uint8_t buf[4096];
	double t0 = bm_now();

	run->ops = 0;
	run->err = 0;
	do {
		uint64_t a = bm_addr_at(sp, bm_rand(&seed) % slots * len);
		xen_pfn_t f = (xen_pfn_t)(a / FRAME);
		int err = 0;
		uint8_t *p = ref.map(ref.fh, domid, PROT_READ, 1, &f, &err);

		if (!p || err) {
			run->err = p ? -err : -errno;
			break;
		}
		memcpy(buf, p + a % FRAME, len);
		ref.unmap(ref.fh, p, 1);
		run->ops++;
	} while (!(run->max_ops && run->ops >= run->max_ops) &&
		 !(run->max_secs > 0 && bm_now() - t0 >= run->max_secs));
	run->secs = bm_now() - t0;
	__asm__ volatile("" : : "r"(buf) : "memory");
}

static xfm_handle *open_guest(uint32_t id, unsigned int flags)
{
	char uri[32];
	xfm_handle *h;
	int rc;

	snprintf(uri, sizeof(uri), "xen:%" PRIu32, id);
	rc = xfm_open(&h, uri, flags | XFM_OPEN_QUIET);
	if (rc < 0)
		die(uri, -rc);
	return h;
}

static void check(const struct bm_run *r, const char *what)
{
	if (r->err)
		die(what, -r->err);
}

/* --- the measures ------------------------------------------------- */

/* Fill the guest with non-zero bytes so that no dump can skip any. */
static void fill_guest(const struct bm_space *sp)
{
	xfm_handle *h = open_guest(domid, XFM_OPEN_WRITE);
	uint64_t seed = 0x5851f42d4c957f2dull, nfr = sp->total / FRAME;
	uint64_t *frames = malloc(nfr * sizeof(*frames));
	double t0 = bm_now();

	if (!frames)
		die("fill", ENOMEM);
	bm_frames(sp, frames, nfr);
	for (uint64_t i = 0; i < nfr; i += 4096) {
		size_t n = nfr - i < 4096 ? nfr - i : 4096;
		xfm_extent ext[4096];
		xfm_mapping *m;
		uint64_t *w;
		int rc;

		for (size_t k = 0; k < n; k++)
			ext[k] = (xfm_extent){ .frame = frames[i + k] };
		rc = xfm_map(h, ext, n, XFM_PROT_READ | XFM_PROT_WRITE, NULL,
			     &m);
		if (rc < 0)
			die("fill: map", -rc);
		w = xfm_map_addr(m);
		for (uint64_t k = 0; k < n * FRAME / 8; k++)
			w[k] = bm_rand(&seed) | 1;
		xfm_unmap(m);
	}
	free(frames);
	xfm_close(h);
	note("filled %" PRIu64 " MiB in %.2f s", sp->total / MIB,
	     bm_now() - t0);
}

/* Batch map + touch + unmap of 64 MiB (or the guest, if smaller). */
static void measure_map64(xfm_handle *h, const struct bm_space *sp)
{
	size_t n = 16384;
	uint64_t *frames = malloc(n * sizeof(*frames));
	double x[16], r[16];

	if (!frames)
		die("map64", ENOMEM);
	bm_frames(sp, frames, n);
	for (unsigned int i = 0; i < reps; i++) {
		struct bm_run a = { .max_ops = 1 }, b = { .max_ops = 1 };

		/* Alternate which goes first. */
		if (i % 2) {
			ref_map(frames, n, n, true, &b);
			bm_xfm_map(h, frames, n, n, true, &a);
		} else {
			bm_xfm_map(h, frames, n, n, true, &a);
			ref_map(frames, n, n, true, &b);
		}
		check(&a, "map64 xfm");
		check(&b, "map64 ref");
		x[i] = a.frames / a.secs;
		r[i] = b.frames / b.secs;
	}
	json_begin_measure("map64", "frames/s", "\"frames\": %zu, "
			   "\"touch\": true", n);
	json_series("xfm", x, reps);
	json_series("ref", r, reps);
	json_end_measure();
	free(frames);
	note("map64 done");
}

/* Map cost per frame by batch size: frames/s (bench/run.sh shows us). */
static void measure_scaling(xfm_handle *h, const struct bm_space *sp)
{
	static const size_t sizes[] = { 1, 16, 256, 4096, 65536 };
	uint64_t nfr = sp->total / FRAME;
	size_t n = nfr < 65536 ? (size_t)nfr : 65536;
	uint64_t *frames = malloc(n * sizeof(*frames));

	if (!frames)
		die("scaling", ENOMEM);
	bm_frames(sp, frames, n);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t batch = sizes[s] < n ? sizes[s] : n;
		/* At least 1024 frames (or one batch), at most ~0.5 s. */
		uint64_t ops = batch >= 1024 ? 1 : 1024 / batch;
		double x[16], r[16];
		char id[32];

		for (unsigned int i = 0; i < reps; i++) {
			struct bm_run a = { .max_ops = ops, .max_secs = 0.5 };
			struct bm_run b = a;

			if (i % 2) {
				ref_map(frames, n, batch, true, &b);
				bm_xfm_map(h, frames, n, batch, true, &a);
			} else {
				bm_xfm_map(h, frames, n, batch, true, &a);
				ref_map(frames, n, batch, true, &b);
			}
			check(&a, "scaling xfm");
			check(&b, "scaling ref");
			x[i] = a.frames / a.secs;
			r[i] = b.frames / b.secs;
		}
		snprintf(id, sizeof(id), "scale_%zu", sizes[s]);
		json_begin_measure(id, "frames/s", "\"batch\": %zu, "
				   "\"touch\": true", batch);
		json_series("xfm", x, reps);
		json_series("ref", r, reps);
		json_end_measure();
	}
	free(frames);
	note("scaling done");
}

/* Cache windows of 1 MiB covering every address up to the guest's top. */
static uint32_t fit_windows(const struct bm_space *sp)
{
	const xfm_range *last = &sp->r[sp->nr - 1];

	return (uint32_t)((last->start + last->size + MIB - 1) / MIB);
}

static void measure_random(const struct bm_space *sp, uint64_t len,
			   const char *id)
{
	double x[16], f[16], r[16];

	for (unsigned int i = 0; i < reps; i++) {
		uint64_t seed = 0x9e3779b97f4a7c15ull + i;
		struct bm_run a = { .max_ops = 1000000, .max_secs = 2 };
		struct bm_run c = a;
		struct bm_run b = { .max_ops = 100000, .max_secs = 2 };
		xfm_handle *h;

		/* A fresh handle each time: the cold cache is counted. */
		h = open_guest(domid, 0);
		bm_xfm_random_read(h, sp, len, seed, &a);
		xfm_close(h);
		h = open_guest(domid, 0);
		if (xfm_set_cache(h, MIB, fit_windows(sp)) < 0)
			die("xfm_set_cache", EINVAL);
		bm_xfm_random_read(h, sp, len, seed, &c);
		xfm_close(h);
		ref_random_read(sp, len, seed, &b);
		check(&a, id);
		check(&c, id);
		check(&b, id);
		x[i] = a.ops / a.secs;
		f[i] = c.ops / c.secs;
		r[i] = b.ops / b.secs;
	}
	json_begin_measure(id, "reads/s", "\"len\": %" PRIu64 ", \"secs\": 2, "
			   "\"fit_windows\": %" PRIu32, len, fit_windows(sp));
	json_series("xfm", x, reps);
	json_series("xfm_fit", f, reps);
	json_series("ref", r, reps);
	json_end_measure();
	note("%s done", id);
}

/* Run @argv, return its wall-clock seconds and peak RSS (KiB). */
static double run_child(char *const argv[], long *maxrss_kib)
{
	struct rusage ru;
	double t0 = bm_now();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4", errno);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "bench-xen: %s failed (status 0x%x)\n", argv[0],
			status);
		exit(1);
	}
	*maxrss_kib = ru.ru_maxrss;
	note("%s %s: %.2f s, peak RSS %ld KiB", argv[0], argv[1],
	     bm_now() - t0, ru.ru_maxrss);
	return bm_now() - t0;
}

static double file_bytes(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? 0 : (double)st.st_size;
}

static int dump_checked = -1; /* 1: a dump matched the guest, 0: not */

/* Compare 256 random frames of the (paused) guest with the dump. */
static void check_dump(uint32_t id, const char *path)
{
	xfm_handle *g = open_guest(id, 0), *f;
	struct bm_space sp;
	uint64_t seed = 0x243f6a8885a308d3ull;
	uint8_t a[FRAME], b[FRAME];
	int rc = xfm_open(&f, path, XFM_OPEN_QUIET);

	if (rc < 0)
		die(path, -rc);
	rc = bm_space_init(&sp, g);
	if (rc < 0 || !sp.total)
		die("memory map", rc < 0 ? -rc : ENOENT);
	dump_checked = 1;
	for (int i = 0; i < 256; i++) {
		uint64_t addr = bm_addr_at(&sp, bm_rand(&seed) %
					   (sp.total / FRAME) * FRAME);

		if (xfm_read(g, addr, a, FRAME, 0) < 0 ||
		    xfm_read(f, addr, b, FRAME, 0) < 0 ||
		    memcmp(a, b, FRAME)) {
			note("dump differs from the guest at 0x%" PRIx64, addr);
			dump_checked = 0;
			break;
		}
	}
	bm_space_free(&sp);
	xfm_close(f);
	xfm_close(g);
}

static double dump_xfm(uint32_t id, const char *path, long *rss)
{
	char d[16], *argv[] = { "/proc/self/exe", "--dump-child", d,
				(char *)path, NULL };
	double s;

	snprintf(d, sizeof(d), "%" PRIu32, id);
	s = run_child(argv, rss);
	if (dump_checked < 0)
		check_dump(id, path);
	unlink(path);
	return s;
}

static void measure_dump(const struct bm_space *sp, uint32_t small,
			 const struct bm_space *small_sp)
{
	char path[512], d[16];
	char *xl[] = { "xl", "dump-core", d, path, NULL };
	double x[16], r[16], xr[16], rr[16], bf[16], bytes = 0, t0 = bm_now();
	unsigned int n, nxl = 0;
	long rss;

	snprintf(d, sizeof(d), "%" PRIu32, domid);
	snprintf(path, sizeof(path), "%s/bench-dump.core", dir);
	/*
	 * `xl dump-core` takes minutes under TCG (335 s for 384 MiB), ours
	 * seconds: xfm gets every repetition, xl one, and more only while
	 * the budget of dump_budget seconds lasts.
	 */
	for (n = 0; n < reps; n++) {
		char *old[] = { (char *)before, "--dump-child", d, path, NULL };

		x[n] = sp->total / dump_xfm(domid, path, &rss);
		xr[n] = (double)rss;
		if (before) {
			bf[n] = sp->total / run_child(old, &rss);
			unlink(path);
		}
		if (n == 0 || bm_now() - t0 < dump_budget) {
			double s = run_child(xl, &rss);

			bytes = file_bytes(path);
			unlink(path);
			r[nxl] = sp->total / s;
			rr[nxl++] = (double)rss;
		}
	}
	json_begin_measure("dump", "guest bytes/s", "\"guest_bytes\": %" PRIu64
			   ", \"xl_file_bytes\": %.0f, \"format\": "
			   "\"xen-core\", \"xfm_dump_matches_guest\": %s",
			   sp->total, bytes, dump_checked > 0 ? "true" : "false");
	json_series("xfm", x, n);
	json_series("ref", r, nxl);
	if (before)
		json_series("xfm_before", bf, n);
	json_series("xfm_rss_kib", xr, n);
	json_series("ref_rss_kib", rr, nxl);
	json_end_measure();
	note("dump done");

	if (!small)
		return;
	for (unsigned int i = 0; i < n; i++) {
		dump_xfm(small, path, &rss);
		x[i] = (double)rss;
	}
	json_begin_measure("dump_rss", "KiB", "\"small_bytes\": %" PRIu64
			   ", \"large_bytes\": %" PRIu64, small_sp->total,
			   sp->total);
	json_series("small", x, n);
	json_series("large", xr, n);
	json_end_measure();
}

static int dump_child(const char *id, const char *path)
{
	xfm_handle *h;
	char uri[32];
	int rc;

	snprintf(uri, sizeof(uri), "xen:%s", id);
	rc = xfm_open(&h, uri, XFM_OPEN_QUIET);
	if (rc < 0)
		die(uri, -rc);
	rc = xfm_dump(h, path, XFM_DUMP_XEN_CORE, XFM_DUMP_OVERWRITE, NULL,
		      NULL);
	if (rc < 0)
		die("xfm_dump", -rc);
	xfm_close(h);
	return 0;
}

int main(int argc, char **argv)
{
	struct bm_space sp, small_sp = { 0 };
	uint32_t small = 0;
	bool fill = false;
	xfm_handle *h;
	int i, rc;

	if (argc == 4 && !strcmp(argv[1], "--dump-child"))
		return dump_child(argv[2], argv[3]);
	for (i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--reps") && i + 2 < argc)
			reps = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--small") && i + 2 < argc)
			small = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 2 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--dump-budget") && i + 2 < argc)
			dump_budget = atof(argv[++i]);
		else if (!strcmp(argv[i], "--before") && i + 2 < argc)
			before = argv[++i];
		else if (!strcmp(argv[i], "--fill"))
			fill = true;
		else
			break;
	}
	if (i != argc - 1 || reps < 1 || reps > 16) {
		fprintf(stderr, "usage: bench-xen [--reps N] [--fill] "
			"[--small DOMID] [--dir DIR] [--before PROGRAM]\n"
			"                 [--dump-budget SECS] DOMID\n");
		return 2;
	}
	domid = (uint32_t)atoi(argv[i]);
	ref_load();
	h = open_guest(domid, 0);
	rc = bm_space_init(&sp, h);
	if (rc < 0)
		die("memory map", -rc);
	if (small) {
		xfm_handle *hs = open_guest(small, 0);

		rc = bm_space_init(&small_sp, hs);
		if (rc < 0)
			die("memory map (small guest)", -rc);
		xfm_close(hs);
	}
	if (fill)
		fill_guest(&sp);

	printf("{\"guest\": {\"domid\": %" PRIu32 ", \"bytes\": %" PRIu64
	       ", \"ranges\": %zu, \"filled\": %s}, \"reps\": %u, "
	       "\"measures\": {", domid, sp.total, sp.nr,
	       fill ? "true" : "false", reps);
	measure_map64(h, &sp);
	measure_scaling(h, &sp);
	xfm_close(h);
	measure_random(&sp, 8, "rand8");
	measure_random(&sp, 4096, "rand4k");
	measure_dump(&sp, small, &small_sp);
	printf("\n}}\n");
	bm_space_free(&sp);
	bm_space_free(&small_sp);
	ref.close(ref.fh);
	return 0;
}
