/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * measure.h - the measuring loops shared by the benchmark programs
 * (bench/bench-xen.c, bench/bench-file.c) and `xfm bench`.
 *
 * Every loop runs until it has done @max_ops operations or spent
 * @max_secs seconds (0 = no limit), whichever comes first, and reports
 * what it did in a struct bm_run.  Only libxfm's public API is used.
 */
#ifndef XFM_BENCH_MEASURE_H
#define XFM_BENCH_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfm.h"

struct bm_run {
	uint64_t max_ops;   /* in: stop after this many operations (0: none) */
	double max_secs;    /* in: stop after this long (0: no limit) */
	volatile int *stop; /* in: stop when *stop becomes non-zero (or NULL) */
	uint64_t ops;       /* out: operations done (reads, maps, chunks) */
	uint64_t bytes;     /* out: bytes read */
	uint64_t frames;    /* out: frames mapped */
	double secs;        /* out: wall-clock seconds */
	int err;            /* out: 0, or the negative errno that stopped it */
	char msg[160];      /* out: xfm_last_error() when err is set */
};

/* The populated bytes of a source, seen as one linear space. */
struct bm_space {
	xfm_range *r;
	size_t nr;
	uint64_t total;      /* bytes populated */
	uint64_t frame_size;
};

/* Monotonic clock, seconds. */
double bm_now(void);

/* xorshift64: reproducible, and far cheaper than what it measures. */
static inline uint64_t bm_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Fill @sp from the handle's memory map (free with bm_space_free); a
 * source with no memory gives total 0, which callers must check.
 */
int bm_space_init(struct bm_space *sp, xfm_handle *h);
void bm_space_free(struct bm_space *sp);

/* Linear offset into the populated bytes -> guest-physical address. */
uint64_t bm_addr_at(const struct bm_space *sp, uint64_t off);

/* Bytes from @addr to the end of the range holding it. */
uint64_t bm_range_left(const struct bm_space *sp, uint64_t addr);

/* The first @n populated frames (wrapping when there are fewer). */
void bm_frames(const struct bm_space *sp, uint64_t *frames, size_t n);

/*
 * Map @frames[0..n) with xfm_map in batches of @batch one-frame extents,
 * touch one byte per frame when @touch, unmap; repeat from the start
 * until @run says stop.  One op = one batch.
 */
void bm_xfm_map(xfm_handle *h, const uint64_t *frames, size_t n,
		size_t batch, bool touch, struct bm_run *run);

/*
 * Random reads of @len bytes (aligned to @len, a power of two) anywhere
 * in the populated space, through xfm_read (the window cache).
 */
void bm_xfm_random_read(xfm_handle *h, const struct bm_space *sp,
			uint64_t len, uint64_t seed, struct bm_run *run);

/* Sequential reads in @chunk-byte pieces, wrapping at the end. */
void bm_xfm_seq_read(xfm_handle *h, const struct bm_space *sp, void *buf,
		     uint64_t chunk, struct bm_run *run);

#endif /* XFM_BENCH_MEASURE_H */
