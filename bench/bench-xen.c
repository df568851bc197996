// SPDX-License-Identifier: LGPL-2.1-only
/*
 * bench-xen.c - live-guest benchmarks, run in dom0 (bench/lab-payload.sh
 * in the Xen lab): libxfm against Debian's libxenforeignmemory on the
 * same guest, in the same run.
 *
 * usage: bench-xen [--reps N] [--fill] [--small DOMID] [--dir DIR]
 *                  [--before PROGRAM] [--dump-budget SECS]
 *                  [--dropin LIBXENFOREIGNMEMORY.SO.1]
 *                  [--only map64,scale,mapcall,rand8,rand4k,
 *                          dump_parts,dump] DOMID
 *        bench-xen --dump-child DOMID PATH       (internal)
 *        bench-xen --dump-parts DOMID PATH       (internal)
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
#include "privcmd.h"
#include "xen-pv.h"

/* Debian's library by its multiarch path: our drop-in has its SONAME. */
#if defined(__aarch64__)
#define REF_LIB "/usr/lib/aarch64-linux-gnu/libxenforeignmemory.so.1"
#else
#define REF_LIB "/usr/lib/x86_64-linux-gnu/libxenforeignmemory.so.1"
#endif
#define FRAME 4096u
#define MIB (UINT64_C(1) << 20)

struct fmlib {
	void *dl;
	xenforeignmemory_handle *fh;
	__typeof__(xenforeignmemory_open) *open;
	__typeof__(xenforeignmemory_map) *map;
	__typeof__(xenforeignmemory_unmap) *unmap;
	__typeof__(xenforeignmemory_close) *close;
};

/* Debian's library, and our drop-in (--dropin PATH, or none). */
static struct fmlib ref, din;
static const char *dropin;

static unsigned int reps = 3;
static uint32_t domid;
static const char *dir = "/tmp";
/* Another build of this program (libxfm before a change): its dumps are
 * measured too, as the series "xfm_before". */
static const char *before;
/* 0: no `xl dump-core` (--dump-budget 0) */
static double dump_budget = 240;
static unsigned int dump_reps = 3;
static bool first_measure = true;
/* --only LIST: the measures to run (comma-separated), NULL: all. */
static const char *only;

static bool wanted(const char *name)
{
	size_t n = strlen(name);

	for (const char *p = only; p; p = strchr(p, ',') ? strchr(p, ',') + 1
							   : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
	return !only;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-xen: %s: %s (%s)\n", what, strerror(err),
		xfm_last_error());
	exit(1);
}

/*
 * Load a libxenforeignmemory by its path.  The drop-in has the same
 * SONAME as Debian's: dlopen would hand back the one already loaded, so
 * it gets a link-map namespace of its own (dlmopen).
 */
static void lib_load(struct fmlib *L, const char *path, bool own_ns)
{
	L->dl = own_ns ? dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL)
		       : dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!L->dl) {
		fprintf(stderr, "bench-xen: %s\n", dlerror());
		exit(1);
	}
	L->open = (__typeof__(L->open))dlsym(L->dl, "xenforeignmemory_open");
	L->map = (__typeof__(L->map))dlsym(L->dl, "xenforeignmemory_map");
	L->unmap = (__typeof__(L->unmap))dlsym(L->dl, "xenforeignmemory_unmap");
	L->close = (__typeof__(L->close))dlsym(L->dl, "xenforeignmemory_close");
	if (!L->open || !L->map || !L->unmap || !L->close) {
		fprintf(stderr, "bench-xen: %s lacks a symbol\n", path);
		exit(1);
	}
	L->fh = L->open(NULL, 0);
	if (!L->fh)
		die("xenforeignmemory_open", errno);
}

static void ref_load(void)
{
	lib_load(&ref, REF_LIB, false);
	if (dropin)
		lib_load(&din, dropin, true);
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
static void lib_map(struct fmlib *L, const uint64_t *frames, size_t n,
		    size_t batch, bool touch, struct bm_run *run)
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
		p = L->map(L->fh, domid, PROT_READ, batch, arr, err);
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
		L->unmap(L->fh, (void *)p, batch);
		run->ops++;
	} while (!(run->max_ops && run->ops >= run->max_ops) &&
		 !(run->max_secs > 0 && bm_now() - t0 >= run->max_secs));
	run->secs = bm_now() - t0;
	(void)sink;
out:
	free(arr);
	free(err);
}

static void ref_map(const uint64_t *frames, size_t n, size_t batch,
		    bool touch, struct bm_run *run)
{
	lib_map(&ref, frames, n, batch, touch, run);
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

/*
 * The same reads through a page cache as LibVMI keeps one: an LRU of
 * LRU_PAGES one-frame mappings (LibVMI's MAX_PAGE_CACHE_SIZE is 512),
 * found by a hash of the frame number.
 */
#define LRU_PAGES 512
#define LRU_SLOTS 2048

struct lru_page {
	uint64_t frame;
	uint8_t *p;
	uint64_t used;
};

struct lru {
	struct lru_page page[LRU_PAGES];
	int16_t slot[LRU_SLOTS]; /* index into page[], -1 empty */
	unsigned int n;
	uint64_t clock;
};

static uint32_t lru_home(uint64_t frame)
{
	return (uint32_t)(frame * 0x9E3779B97F4A7C15ull >> 53) & (LRU_SLOTS - 1);
}

static int lru_find(const struct lru *c, uint64_t frame, uint32_t *at)
{
	uint32_t i = lru_home(frame);

	while (c->slot[i] >= 0) {
		if (c->page[c->slot[i]].frame == frame) {
			*at = i;
			return c->slot[i];
		}
		i = (i + 1) & (LRU_SLOTS - 1);
	}
	*at = i;
	return -1;
}

/* Remove the entry in slot @i (backward shift: no tombstones). */
static void lru_unslot(struct lru *c, uint32_t i)
{
	uint32_t j = i;

	c->slot[i] = -1;
	for (;;) {
		uint32_t h;

		j = (j + 1) & (LRU_SLOTS - 1);
		if (c->slot[j] < 0)
			return;
		h = lru_home(c->page[c->slot[j]].frame);
		if (i <= j ? (h > i && h <= j) : (h > i || h <= j))
			continue;
		c->slot[i] = c->slot[j];
		c->slot[j] = -1;
		i = j;
	}
}

static const uint8_t *lru_get(struct lru *c, uint64_t frame)
{
	uint32_t at;
	int k = lru_find(c, frame, &at);
	xen_pfn_t f = (xen_pfn_t)frame;
	int err = 0;

	if (k < 0) {
		if (c->n < LRU_PAGES) {
			k = (int)c->n++;
		} else {
			k = 0;
			for (int i = 1; i < LRU_PAGES; i++)
				if (c->page[i].used < c->page[k].used)
					k = i;
			lru_find(c, c->page[k].frame, &at);
			lru_unslot(c, at);
			ref.unmap(ref.fh, c->page[k].p, 1);
			lru_find(c, frame, &at);
		}
		c->page[k].p = ref.map(ref.fh, domid, PROT_READ, 1, &f, &err);
		if (!c->page[k].p || err)
			return NULL;
		c->page[k].frame = frame;
		c->slot[at] = (int16_t)k;
	}
	c->page[k].used = ++c->clock;
	return c->page[k].p;
}

static void ref_lru_random_read(const struct bm_space *sp, uint64_t len,
				uint64_t seed, struct bm_run *run)
{
	struct lru *c = calloc(1, sizeof(*c));
	uint64_t slots = sp->total / len;
	uint8_t buf[4096];
	double t0 = bm_now();

	run->ops = 0;
	run->err = 0;
	if (!c) {
		run->err = -ENOMEM;
		return;
	}
	memset(c->slot, 0xff, sizeof(c->slot));
	do {
		uint64_t a = bm_addr_at(sp, bm_rand(&seed) % slots * len);
		const uint8_t *p = lru_get(c, a / FRAME);

		if (!p) {
			run->err = -EFAULT;
			break;
		}
		memcpy(buf, p + a % FRAME, len);
		run->ops++;
	} while (!(run->max_ops && run->ops >= run->max_ops) &&
		 !(run->max_secs > 0 && bm_now() - t0 >= run->max_secs));
	run->secs = bm_now() - t0;
	__asm__ volatile("" : : "r"(buf) : "memory");
	for (unsigned int i = 0; i < c->n; i++)
		ref.unmap(ref.fh, c->page[i].p, 1);
	free(c);
}

/*
 * The limit: every populated frame mapped once with Debian's library
 * (not timed), then plain copies out of that mapping.
 */
static uint8_t *whole_map;

static void ref_whole_map(const struct bm_space *sp)
{
	size_t n = (size_t)(sp->total / FRAME);
	uint64_t *frames = malloc(n * sizeof(*frames));
	xen_pfn_t *arr = malloc(n * sizeof(*arr));
	int *err = calloc(n, sizeof(*err));

	if (!frames || !arr || !err)
		die("whole map", ENOMEM);
	bm_frames(sp, frames, n);
	for (size_t i = 0; i < n; i++)
		arr[i] = (xen_pfn_t)frames[i];
	whole_map = ref.map(ref.fh, domid, PROT_READ, n, arr, err);
	if (!whole_map)
		die("whole map: xenforeignmemory_map", errno);
	for (size_t i = 0; i < n; i++)
		if (err[i])
			die("whole map: frame error", -err[i]);
	free(frames);
	free(arr);
	free(err);
}

static void ref_whole_random_read(const struct bm_space *sp, uint64_t len,
				  uint64_t seed, struct bm_run *run)
{
	uint64_t slots = sp->total / len;
	uint8_t buf[4096];
	double t0 = bm_now();

	run->ops = 0;
	run->err = 0;
	do {
		for (int i = 0; i < 64; i++) {
			uint64_t off = bm_rand(&seed) % slots * len;

			memcpy(buf, whole_map + off, len);
			__asm__ volatile("" : : "r"(buf) : "memory");
		}
		run->ops += 64;
	} while (!(run->max_ops && run->ops >= run->max_ops) &&
		 !(run->max_secs > 0 && bm_now() - t0 >= run->max_secs));
	run->secs = bm_now() - t0;
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
		double x[16], r[16], dn[16];
		char id[32];

		for (unsigned int i = 0; i < reps; i++) {
			/* xfm, Debian's, the drop-in: the order rotates. */
			for (unsigned int k = 0; k < 3; k++) {
				struct bm_run a = { .max_ops = ops,
						    .max_secs = 0.5 };

				switch ((i + k) % 3) {
				case 0:
					bm_xfm_map(h, frames, n, batch, true, &a);
					check(&a, "scaling xfm");
					x[i] = a.frames / a.secs;
					break;
				case 1:
					ref_map(frames, n, batch, true, &a);
					check(&a, "scaling ref");
					r[i] = a.frames / a.secs;
					break;
				default:
					if (!dropin)
						break;
					lib_map(&din, frames, n, batch, true,
						&a);
					check(&a, "scaling drop-in");
					dn[i] = a.frames / a.secs;
				}
			}
		}
		snprintf(id, sizeof(id), "scale_%zu", sizes[s]);
		json_begin_measure(id, "frames/s", "\"batch\": %zu, "
				   "\"touch\": true", batch);
		json_series("xfm", x, reps);
		json_series("ref", r, reps);
		if (dropin)
			json_series("dropin", dn, reps);
		json_end_measure();
	}
	free(frames);
	note("scaling done");
}

/*
 * xfm_get_ranges of a live guest against the probe it used before: map
 * every frame up to the guest's last in batches of 65536 and keep those
 * that mapped (an absent frame costs Linux a hypercall of its own).
 * Both timed, in turns; every frame on which they disagree is counted
 * (and the first few named on stderr).
 */
static void measure_ranges(void)
{
	double nw[16], pr[16], nnew = 0, npr = 0, only_pr = 0, only_new = 0;
	enum { BATCH = 65536 };
	xfm_xen_pfn_t *arr = malloc(BATCH * sizeof(*arr));
	int *err = malloc(BATCH * sizeof(*err));
	struct xfm_privcmd pc;
	xfm_geometry g;

	if (!arr || !err || xfm_privcmd_open(&pc) < 0)
		die("ranges: privcmd", errno);
	for (unsigned int i = 0; i < reps; i++) {
		xfm_handle *h = open_guest(domid, 0);
		double t0 = bm_now();
		int64_t nr = xfm_get_ranges(h, NULL, 0);
		xfm_range *r = calloc(nr > 0 ? (size_t)nr : 1, sizeof(*r));
		size_t k = 0;

		if (nr < 0 || !r || xfm_get_ranges(h, r, (size_t)nr) != nr)
			die("ranges", EIO);
		nw[i] = bm_now() - t0;
		if (xfm_get_geometry(h, &g, sizeof(g)) < 0)
			die("geometry", EIO);
		nnew = npr = only_pr = only_new = 0;
		for (int64_t j = 0; j < nr; j++)
			nnew += (double)(r[j].size / FRAME);
		t0 = bm_now();
		for (uint64_t f = 0; f <= g.max_frame; f += BATCH) {
			size_t n = g.max_frame + 1 - f < BATCH ?
				   (size_t)(g.max_frame + 1 - f) : BATCH;
			void *addr;
			int64_t rc;

			for (size_t c = 0; c < n; c++)
				arr[c] = (xfm_xen_pfn_t)(f + c);
			rc = xfm_privcmd_map(&pc, domid, NULL, PROT_READ, 0, arr,
					     n, err, &addr);
			if (rc < 0)
				die("ranges: map probe", (int)-rc);
			munmap(addr, n * FRAME);
			for (size_t c = 0; c < n; c++) {
				uint64_t a = (f + c) * FRAME;
				bool in, there = !err[c];

				while (k < (size_t)nr &&
				       r[k].start + r[k].size <= a)
					k++;
				in = k < (size_t)nr && r[k].start <= a;
				npr += there;
				only_pr += there && !in;
				only_new += in && !there;
				if (in != there && only_pr + only_new <= 8)
					note("frame 0x%" PRIx64 ": map probe %d, "
					     "xfm_get_ranges %d", f + c, there,
					     in);
			}
		}
		pr[i] = bm_now() - t0;
		free(r);
		xfm_close(h);
	}
	xfm_privcmd_close(&pc);
	free(arr);
	free(err);
	json_begin_measure("ranges", "s", "\"max_frame\": %" PRIu64
			   ", \"xfm_frames\": %.0f, \"probe_frames\": %.0f, "
			   "\"only_probe\": %.0f, \"only_xfm\": %.0f",
			   g.max_frame, nnew, npr, only_pr, only_new);
	json_series("xfm_s", nw, reps);
	json_series("probe_s", pr, reps);
	json_end_measure();
	note("ranges: xfm_get_ranges %.2f s (%.0f frames), map probe %.2f s "
	     "(%.0f frames), only probe %.0f, only xfm %.0f", nw[0], nnew,
	     pr[0], npr, only_pr, only_new);
}

/* One call of each mapper: map @batch frames, touch each, unmap; secs. */
static double call_lib(struct fmlib *L, const xen_pfn_t *arr, int *err,
		       size_t batch)
{
	volatile uint8_t sink = 0;
	double t0 = bm_now();
	const uint8_t *p = L->map(L->fh, domid, PROT_READ, batch, arr, err);

	if (!p)
		die("mapcall: xenforeignmemory_map", errno);
	for (size_t i = 0; i < batch; i++)
		sink += p[i * FRAME];
	L->unmap(L->fh, (void *)p, batch);
	(void)sink;
	return bm_now() - t0;
}

static double call_xfm(xfm_handle *h, xfm_extent *ext, size_t batch)
{
	volatile uint8_t sink = 0;
	double t0 = bm_now();
	xfm_mapping *m;
	const uint8_t *p;
	int rc = xfm_map(h, ext, batch, XFM_PROT_READ, NULL, &m);

	if (rc < 0)
		die("mapcall: xfm_map", -rc);
	p = xfm_map_addr(m);
	for (size_t i = 0; i < batch; i++)
		sink += p[i * FRAME];
	xfm_unmap(m);
	(void)sink;
	return bm_now() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* This thread's user and system CPU time so far, in µs. */
static void cpu_us(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	*user = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec;
	*sys = ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

/*
 * The cost of one map call, robust to a loaded host: single calls of
 * xfm, Debian's library and the drop-in in turns (the order rotating),
 * the same frames, and each one's MEDIAN call time per repetition (a
 * burst of other work slows a few calls, not the median).  frames/s.
 * Beside it, where each mapper's time goes: the user and system CPU
 * time of its calls (getrusage around each call, outside the timed
 * part; the kernel samples them at its tick, so only the sums over all
 * calls of a repetition mean something), µs per call.
 */
static void measure_mapcall(xfm_handle *h, const struct bm_space *sp)
{
	static const size_t sizes[] = { 1, 16, 256 };
	enum { CALLS = 201 };
	size_t n = 4096;
	uint64_t *frames = malloc(n * sizeof(*frames));
	double *t[3];

	for (int k = 0; k < 3; k++)
		t[k] = malloc(CALLS * sizeof(double));
	if (!frames || !t[0] || !t[1] || !t[2])
		die("mapcall", ENOMEM);
	bm_frames(sp, frames, n);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t batch = sizes[s];
		double x[16], r[16], dn[16], cu[3][16], cs[3][16];
		xen_pfn_t arr[256];
		xfm_extent ext[256];
		int err[256];
		char id[32];

		for (unsigned int i = 0; i < reps; i++) {
			for (int k = 0; k < 3; k++)
				cu[k][i] = cs[k][i] = 0;
			for (unsigned int c = 0; c < CALLS; c++) {
				size_t at = (c * batch) % (n - batch);

				for (size_t f = 0; f < batch; f++) {
					arr[f] = (xen_pfn_t)frames[at + f];
					ext[f] = (xfm_extent){ .frame =
							       frames[at + f] };
				}
				for (unsigned int k = 0; k < 3; k++) {
					unsigned int who = (c + k) % 3;
					double u0, s0, u1, s1;

					cpu_us(&u0, &s0);
					switch (who) {
					case 0:
						t[0][c] = call_xfm(h, ext, batch);
						break;
					case 1:
						t[1][c] = call_lib(&ref, arr, err,
								   batch);
						break;
					default:
						t[2][c] = dropin ?
							  call_lib(&din, arr, err,
								   batch) : 1;
					}
					cpu_us(&u1, &s1);
					cu[who][i] += (u1 - u0) / CALLS;
					cs[who][i] += (s1 - s0) / CALLS;
				}
			}
			x[i] = batch / median(t[0], CALLS);
			r[i] = batch / median(t[1], CALLS);
			dn[i] = batch / median(t[2], CALLS);
		}
		snprintf(id, sizeof(id), "mapcall_%zu", batch);
		json_begin_measure(id, "frames/s", "\"batch\": %zu, \"calls\": "
				   "%d, \"touch\": true, \"what\": \"median "
				   "single-call time, calls in turns\"", batch,
				   CALLS);
		json_series("xfm", x, reps);
		json_series("ref", r, reps);
		if (dropin)
			json_series("dropin", dn, reps);
		json_series("xfm_user_us", cu[0], reps);
		json_series("xfm_sys_us", cs[0], reps);
		json_series("ref_user_us", cu[1], reps);
		json_series("ref_sys_us", cs[1], reps);
		if (dropin) {
			json_series("dropin_user_us", cu[2], reps);
			json_series("dropin_sys_us", cs[2], reps);
		}
		json_end_measure();
	}
	for (int k = 0; k < 3; k++)
		free(t[k]);
	free(frames);
	note("mapcall done");
}

/* One byte of every MiB of the guest: the default cache maps it all. */
static void warm_windows(xfm_handle *h, const struct bm_space *sp)
{
	uint8_t b;

	for (uint64_t off = 0; off < sp->total; off += MIB)
		if (xfm_read(h, bm_addr_at(sp, off), &b, 1, 0) < 0)
			die("warm", EIO);
}

/*
 * Random reads: xfm (a fresh handle each repetition, cold cache counted),
 * Debian's library one map per read, the same behind a LibVMI-style LRU
 * of one-frame mappings, and the limit (the guest mapped once, memcpy).
 * The order rotates, so each reader goes first once in four.
 */
static void measure_random(const struct bm_space *sp, uint64_t len,
			   const char *id)
{
	double x[16], xw[16], r[16], l[16], w[16];

	for (unsigned int i = 0; i < reps; i++) {
		uint64_t seed = 0x9e3779b97f4a7c15ull + i;

		for (unsigned int k = 0; k < 4; k++) {
			struct bm_run a = { .max_ops = 10000000, .max_secs = 2 };
			xfm_handle *h;

			switch ((i + k) % 4) {
			case 0:
				h = open_guest(domid, 0);
				bm_xfm_random_read(h, sp, len, seed, &a);
				check(&a, id);
				x[i] = a.ops / a.secs;
				/*
				 * Then warm, as the whole-map reference is
				 * (its one map is not timed): every window
				 * mapped once, untimed, and 2 s more.
				 */
				warm_windows(h, sp);
				a = (struct bm_run){ .max_ops = 10000000,
						     .max_secs = 2 };
				bm_xfm_random_read(h, sp, len, seed + 1, &a);
				check(&a, id);
				xw[i] = a.ops / a.secs;
				xfm_close(h);
				break;
			case 1:
				ref_random_read(sp, len, seed, &a);
				check(&a, id);
				r[i] = a.ops / a.secs;
				break;
			case 2:
				ref_lru_random_read(sp, len, seed, &a);
				check(&a, id);
				l[i] = a.ops / a.secs;
				break;
			default:
				ref_whole_random_read(sp, len, seed, &a);
				w[i] = a.ops / a.secs;
			}
		}
	}
	json_begin_measure(id, "reads/s", "\"len\": %" PRIu64 ", \"secs\": 2, "
			   "\"lru_pages\": %d", len, LRU_PAGES);
	json_series("xfm", x, reps);
	json_series("xfm_warm", xw, reps);
	json_series("ref", r, reps);
	json_series("ref_lru", l, reps);
	json_series("ref_whole", w, reps);
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

/*
 * The best a program can do with Debian's library: map 4096 frames,
 * write them to a file in the same directory, unmap; the whole guest.
 * Returns seconds.
 */
static double ref_dump(const struct bm_space *sp, const char *path)
{
	size_t nfr = (size_t)(sp->total / FRAME), batch = 4096;
	uint64_t *frames = malloc(nfr * sizeof(*frames));
	xen_pfn_t arr[4096];
	int err[4096], fd;
	double t0 = bm_now();

	if (!frames)
		die("ref dump", ENOMEM);
	bm_frames(sp, frames, nfr);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(path, errno);
	for (size_t i = 0; i < nfr; i += batch) {
		size_t n = nfr - i < batch ? nfr - i : batch;
		uint8_t *p;

		for (size_t k = 0; k < n; k++)
			arr[k] = (xen_pfn_t)frames[i + k];
		p = ref.map(ref.fh, domid, PROT_READ, n, arr, err);
		if (!p)
			die("ref dump: map", errno);
		for (size_t done = 0; done < n * FRAME;) {
			ssize_t w = write(fd, p + done, n * FRAME - done);

			if (w <= 0)
				die("ref dump: write", w < 0 ? errno : EIO);
			done += (size_t)w;
		}
		ref.unmap(ref.fh, p, n);
	}
	if (close(fd) < 0)
		die("ref dump: close", errno);
	t0 = bm_now() - t0;
	unlink(path);
	free(frames);
	return t0;
}

/* The dump child's peak mapped KiB above its start (from PATH.vm). */
static double read_vm(const char *path)
{
	char vm[600];
	long peak = -1, base = 0;
	FILE *f;

	snprintf(vm, sizeof(vm), "%s.vm", path);
	f = fopen(vm, "r");
	if (!f || fscanf(f, "%ld %ld", &peak, &base) != 2)
		die("dump child: VmPeak", EIO);
	fclose(f);
	unlink(vm);
	return (double)(peak - base);
}

static void measure_dump(const struct bm_space *sp, uint32_t small,
			 const struct bm_space *small_sp)
{
	char path[512], d[16];
	char *xl[] = { "xl", "dump-core", d, path, NULL };
	double x[16], r[16], xr[16], rr[16], bf[16], b[16], xv[16];
	double xs[16], sr[16], sv[16], bytes = 0;
	unsigned int n, nxl = 0;
	long rss;

	snprintf(d, sizeof(d), "%" PRIu32, domid);
	snprintf(path, sizeof(path), "%s/bench-dump.core", dir);
	for (n = 0; n < dump_reps; n++) {
		char *old[] = { (char *)before, "--dump-child", d, path, NULL };

		/* xfm and the batched reference, the order alternating. */
		if (n % 2)
			b[n] = sp->total / ref_dump(sp, path);
		x[n] = sp->total / dump_xfm(domid, path, &rss);
		xr[n] = (double)rss;
		xv[n] = read_vm(path);
		if (n % 2 == 0)
			b[n] = sp->total / ref_dump(sp, path);
		if (before) {
			bf[n] = sp->total / run_child(old, &rss);
			unlink(path);
		}
		if (small) {
			xs[n] = small_sp->total / dump_xfm(small, path, &rss);
			sr[n] = (double)rss;
			sv[n] = read_vm(path);
		}
	}
	json_begin_measure("dump", "guest bytes/s", "\"guest_bytes\": %" PRIu64
			   ", \"small_guest_bytes\": %" PRIu64 ", \"format\": "
			   "\"xen-core\", \"xfm_dump_matches_guest\": %s, "
			   "\"ref_batched\": \"4096-frame maps + write, "
			   "same directory\"", sp->total,
			   small ? small_sp->total : 0,
			   dump_checked > 0 ? "true" : "false");
	json_series("xfm_large_for_batched", x, n);
	json_series("ref_batched", b, n);
	if (small)
		json_series("xfm_small", xs, n);
	if (before)
		json_series("xfm_before", bf, n);
	json_series("xfm_rss_kib", small ? sr : xr, n);
	json_series("xfm_mapped_kib", xv, n);
	json_end_measure();
	if (small) {
		json_begin_measure("dump_rss", "KiB", "\"small_bytes\": %"
				   PRIu64 ", \"large_bytes\": %" PRIu64,
				   small_sp->total, sp->total);
		json_series("small", sr, n);
		json_series("large", xr, n);
		json_end_measure();
		json_begin_measure("dump_mapped", "KiB", "\"small_bytes\": %"
				   PRIu64 ", \"large_bytes\": %" PRIu64
				   ", \"what\": \"VmPeak - VmSize before "
				   "xfm_open\"", small_sp->total, sp->total);
		json_series("small", sv, n);
		json_series("large", xv, n);
		json_end_measure();
	}
	note("dump done");
	/*
	 * `xl dump-core` takes minutes under TCG (335 s for 384 MiB on an
	 * idle host): once per boot, last (the rows above are printed even
	 * if it runs out of time), of the small guest when there is one,
	 * against xfm's dumps of that guest.
	 */
	if (dump_budget <= 0)
		return;
	if (small)
		snprintf(d, sizeof(d), "%" PRIu32, small);
	{
		double s = run_child(xl, &rss);

		bytes = file_bytes(path);
		unlink(path);
		r[nxl] = (small ? small_sp->total : sp->total) / s;
		rr[nxl++] = (double)rss;
	}
	json_begin_measure("dump_xl", "guest bytes/s", "\"guest_bytes\": %"
			   PRIu64 ", \"xl_file_bytes\": %.0f",
			   small ? small_sp->total : sp->total, bytes);
	json_series("xfm", small ? xs : x, n);
	json_series("ref", r, nxl);
	json_series("xfm_rss_kib", small ? sr : xr, n);
	json_series("ref_rss_kib", rr, nxl);
	json_end_measure();
}

/* "VmPeak:" or "VmSize:" of this process, KiB. */
static long status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

static int dump_child(const char *id, const char *path)
{
	long base = status_kib("VmSize:");
	char uri[32], vm[600];
	xfm_handle *h;
	FILE *f;
	int rc;

	snprintf(uri, sizeof(uri), "xen:%s", id);
	rc = xfm_open(&h, uri, XFM_OPEN_QUIET);
	if (rc < 0)
		die(uri, -rc);
	rc = xfm_dump(h, path, XFM_DUMP_XEN_CORE, XFM_DUMP_OVERWRITE, NULL,
		      NULL);
	if (rc < 0)
		die("xfm_dump", -rc);
	/* Peak mapped address space: privcmd mappings are not in RSS. */
	snprintf(vm, sizeof(vm), "%s.vm", path);
	f = fopen(vm, "w");
	if (!f || fprintf(f, "%ld %ld\n", status_kib("VmPeak:"), base) < 0 ||
	    fclose(f) != 0)
		die(vm, errno);
	xfm_close(h);
	return 0;
}

/*
 * Where a dump's time goes: the same xfm_dump, its phases run one by
 * one first (each caches its result in the handle, so the dump then
 * does only the rest).  Prints "open ranges info dump" seconds.
 */
static int dump_parts_child(const char *id, const char *path)
{
	const char *k, *v;
	char uri[32];
	xfm_handle *h;
	double t[5];
	int rc;

	snprintf(uri, sizeof(uri), "xen:%s", id);
	t[0] = bm_now();
	rc = xfm_open(&h, uri, XFM_OPEN_QUIET);
	if (rc < 0)
		die(uri, -rc);
	t[1] = bm_now();
	if (xfm_get_ranges(h, NULL, 0) < 0)
		die("xfm_get_ranges", EIO);
	t[2] = bm_now();
	/* Past the source's own facts: the guest OS facts (VMCOREINFO). */
	for (size_t i = 0; xfm_source_info(h, i, &k, &v) == 0; i++)
		;
	t[3] = bm_now();
	rc = xfm_dump(h, path, XFM_DUMP_XEN_CORE, XFM_DUMP_OVERWRITE, NULL,
		      NULL);
	if (rc < 0)
		die("xfm_dump", -rc);
	t[4] = bm_now();
	xfm_close(h);
	printf("%.6f %.6f %.6f %.6f\n", t[1] - t[0], t[2] - t[1], t[3] - t[2],
	       t[4] - t[3]);
	return 0;
}

/* One dump in phases (dump_parts_child), beside one reference dump. */
static void measure_dump_parts(const struct bm_space *sp)
{
	char path[512], d[16], cmd[1200];
	double o[16], g[16], in[16], du[16], r[16];
	unsigned int n;

	snprintf(d, sizeof(d), "%" PRIu32, domid);
	snprintf(path, sizeof(path), "%s/bench-parts.core", dir);
	char self[256];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (sl <= 0)
		die("readlink /proc/self/exe", errno);
	self[sl] = '\0';
	/* popen's shell: /proc/self/exe would be the shell itself. */
	snprintf(cmd, sizeof(cmd), "%s --dump-parts %s %s", self, d, path);
	for (n = 0; n < dump_reps; n++) {
		FILE *f;

		r[n] = ref_dump(sp, path);
		f = popen(cmd, "r");
		if (!f || fscanf(f, "%lf %lf %lf %lf", &o[n], &g[n], &in[n],
				 &du[n]) != 4 || pclose(f) != 0)
			die("dump parts child", EIO);
		unlink(path);
		note("dump parts: open %.2f s, ranges %.2f s, info %.2f s, "
		     "dump %.2f s; reference dump %.2f s", o[n], g[n], in[n],
		     du[n], r[n]);
	}
	json_begin_measure("dump_parts", "s", "\"guest_bytes\": %" PRIu64
			   ", \"format\": \"xen-core\", \"what\": "
			   "\"xfm_open, xfm_get_ranges, xfm_source_info (all), "
			   "then xfm_dump, one process; ref = 4096-frame "
			   "batched dump\"", sp->total);
	json_series("open_s", o, n);
	json_series("ranges_s", g, n);
	json_series("info_s", in, n);
	json_series("dump_s", du, n);
	json_series("ref_s", r, n);
	json_end_measure();
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
	if (argc == 4 && !strcmp(argv[1], "--dump-parts"))
		return dump_parts_child(argv[2], argv[3]);
	for (i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--reps") && i + 2 < argc)
			reps = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--small") && i + 2 < argc)
			small = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 2 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--dump-budget") && i + 2 < argc)
			dump_budget = atof(argv[++i]);
		else if (!strcmp(argv[i], "--dump-reps") && i + 2 < argc)
			dump_reps = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--before") && i + 2 < argc)
			before = argv[++i];
		else if (!strcmp(argv[i], "--dropin") && i + 2 < argc)
			dropin = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 2 < argc)
			only = argv[++i];
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
	if (wanted("ranges"))
		measure_ranges();
	if (wanted("map64"))
		measure_map64(h, &sp);
	if (wanted("scale"))
		measure_scaling(h, &sp);
	if (wanted("mapcall"))
		measure_mapcall(h, &sp);
	xfm_close(h);
	if (wanted("rand8") || wanted("rand4k"))
		ref_whole_map(&sp);
	if (wanted("rand8"))
		measure_random(&sp, 8, "rand8");
	if (wanted("rand4k"))
		measure_random(&sp, 4096, "rand4k");
	if (wanted("dump_parts"))
		measure_dump_parts(&sp);
	if (wanted("dump"))
		measure_dump(&sp, small, &small_sp);
	printf("\n}}\n");
	bm_space_free(&sp);
	bm_space_free(&small_sp);
	ref.close(ref.fh);
	if (dropin)
		din.close(din.fh);
	return 0;
}
