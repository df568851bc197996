/* SPDX-License-Identifier: LGPL-2.1-only */
/* measure.c - measuring loops shared by the benchmarks and `xfm bench`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "measure.h"

double bm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int bm_space_init(struct bm_space *sp, xfm_handle *h)
{
	xfm_geometry g;
	int64_t n;
	int rc;

	memset(sp, 0, sizeof(*sp));
	rc = xfm_get_geometry(h, &g, sizeof(g));
	if (rc < 0)
		return rc;
	sp->frame_size = g.frame_size;
	n = xfm_get_ranges_alloc(h, 0, UINT64_MAX, &sp->r);
	if (n < 0)
		return (int)n;
	sp->nr = (size_t)n;
	for (size_t i = 0; i < sp->nr; i++)
		sp->total += sp->r[i].size;
	return 0;
}

void bm_space_free(struct bm_space *sp)
{
	free(sp->r);
	sp->r = NULL;
	sp->nr = 0;
}

uint64_t bm_addr_at(const struct bm_space *sp, uint64_t off)
{
	for (size_t i = 0; i < sp->nr; i++) {
		if (off < sp->r[i].size)
			return sp->r[i].start + off;
		off -= sp->r[i].size;
	}
	return sp->r[0].start;
}

uint64_t bm_range_left(const struct bm_space *sp, uint64_t addr)
{
	for (size_t i = 0; i < sp->nr; i++)
		if (addr >= sp->r[i].start &&
		    addr - sp->r[i].start < sp->r[i].size)
			return sp->r[i].start + sp->r[i].size - addr;
	return 0;
}

void bm_frames(const struct bm_space *sp, uint64_t *frames, size_t n)
{
	uint64_t nr = sp->total / sp->frame_size;

	for (size_t i = 0; i < n; i++)
		frames[i] = bm_addr_at(sp, (i % nr) * sp->frame_size) /
			    sp->frame_size;
}

static bool run_done(const struct bm_run *run, double t0)
{
	if (run->stop && *run->stop)
		return true;
	if (run->max_ops && run->ops >= run->max_ops)
		return true;
	return run->max_secs > 0 && bm_now() - t0 >= run->max_secs;
}

static void run_fail(struct bm_run *run, int err)
{
	run->err = err;
	snprintf(run->msg, sizeof(run->msg), "%s", xfm_last_error());
}

static void run_start(struct bm_run *run)
{
	run->ops = run->bytes = run->frames = 0;
	run->secs = 0;
	run->err = 0;
	run->msg[0] = 0;
}

void bm_xfm_map(xfm_handle *h, const uint64_t *frames, size_t n,
		size_t batch, bool touch, struct bm_run *run)
{
	xfm_extent *ext = calloc(batch, sizeof(*ext));
	volatile uint8_t sink = 0;
	size_t pos = 0;
	double t0;

	run_start(run);
	if (!ext) {
		run->err = -ENOMEM;
		return;
	}
	t0 = bm_now();
	do {
		xfm_mapping *m;
		const uint8_t *p;
		uint64_t fsz;
		int rc;

		for (size_t i = 0; i < batch; i++) {
			ext[i] = (xfm_extent){ .frame = frames[pos] };
			pos = pos + 1 < n ? pos + 1 : 0;
		}
		rc = xfm_map(h, ext, batch, XFM_PROT_READ, NULL, &m);
		if (rc < 0) {
			run_fail(run, rc);
			break;
		}
		if (touch) {
			p = xfm_map_addr(m);
			fsz = xfm_map_length(m) / batch;
			for (size_t i = 0; i < batch; i++)
				if (!ext[i].err)
					sink += p[i * fsz];
		}
		xfm_unmap(m);
		run->ops++;
		run->frames += (uint64_t)rc;
	} while (!run_done(run, t0));
	run->secs = bm_now() - t0;
	(void)sink;
	free(ext);
}

void bm_xfm_random_read(xfm_handle *h, const struct bm_space *sp,
			uint64_t len, uint64_t seed, struct bm_run *run)
{
	uint8_t stack[4096], *buf = len <= sizeof(stack) ? stack :
				     malloc(len);
	uint64_t slots = sp->total / len;
	double t0;

	run_start(run);
	if (!buf || !slots) {
		run->err = buf ? -ERANGE : -ENOMEM;
		goto out;
	}
	t0 = bm_now();
	do {
		/* Check the clock every 64 reads, not every one. */
		for (int i = 0; i < 64; i++) {
			uint64_t off = bm_rand(&seed) % slots * len;
			int rc = xfm_read(h, bm_addr_at(sp, off), buf, len, 0);

			if (rc < 0) {
				run_fail(run, rc);
				goto done;
			}
		}
		run->ops += 64;
		run->bytes += 64 * len;
	} while (!run_done(run, t0));
done:
	run->secs = bm_now() - t0;
out:
	if (buf != stack)
		free(buf);
}

void bm_xfm_seq_read(xfm_handle *h, const struct bm_space *sp, void *buf,
		     uint64_t chunk, struct bm_run *run)
{
	uint64_t off = 0;
	double t0;

	run_start(run);
	t0 = bm_now();
	do {
		uint64_t a = bm_addr_at(sp, off);
		uint64_t n = bm_range_left(sp, a);
		int rc;

		if (n > chunk)
			n = chunk;
		rc = xfm_read(h, a, buf, n, 0);
		if (rc < 0) {
			run_fail(run, rc);
			break;
		}
		run->ops++;
		run->bytes += n;
		off = (off + n) % sp->total;
	} while (!run_done(run, t0));
	run->secs = bm_now() - t0;
}
