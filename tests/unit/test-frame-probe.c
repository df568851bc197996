/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The frame probe (src/source/frame-probe.c) over a fake live guest: a
 * mapper that knows which frames exist (an Arm-like layout: a grant-table
 * frame, magic pages, RAM from 1 GiB with ballooned holes, a run across a
 * chunk border, a lone page) and counts every frame and call it is asked
 * for.  Asserts the exact runs found and the exact number of frames
 * mapped, worked out by hand below, for the strided and the full walk.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "frame-probe.h"

struct run {
	uint64_t lo, hi; /* frames [lo, hi) */
};

/* Frames that exist (Arm guest layout in 4 KiB frames). */
static const struct run guest[] = {
	{ 0x10005, 0x10006 }, /* a lone page at no multiple of 64 */
	{ 0x30020, 0x30050 }, /* starts mid-chunk, crosses into the next */
	{ 0x38000, 0x38001 }, /* GUEST_GNTTAB_BASE: one grant frame */
	{ 0x39000, 0x39004 }, /* GUEST_MAGIC_BASE: console, xenstore... */
	{ 0x40000, 0x41000 }, /* GUEST_RAM0_BASE ... */
	{ 0x41001, 0x45000 }, /* ... 0x41000 ballooned out ... */
	{ 0x45004, 0x48010 }, /* ... 0x45000-3 too, at a chunk's start */
};
#define END 0x48010 /* max_gpfn + 1 */

struct fake {
	uint64_t frames;  /* asked to map */
	uint64_t calls;
	size_t enomem_above; /* batches bigger than this fail -ENOMEM */
	int fail;            /* non-zero: every call fails with it */
};

static bool exists(uint64_t f)
{
	for (size_t i = 0; i < sizeof(guest) / sizeof(guest[0]); i++)
		if (f >= guest[i].lo && f < guest[i].hi)
			return true;
	return false;
}

static int64_t fake_map(void *ctx, const uint64_t *frames, size_t n, int *err)
{
	struct fake *fk = ctx;
	int64_t ok = 0;

	fk->calls++;
	fk->frames += n;
	if (fk->fail)
		return fk->fail;
	if (fk->enomem_above && n > fk->enomem_above)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		err[i] = exists(frames[i]) ? 0 : -EINVAL;
		ok += !err[i];
	}
	return ok;
}

struct found {
	struct run r[16];
	size_t n;
	uint64_t next; /* the frame the next call must be about */
};

/* Collects runs; checks every frame comes once, in order. */
static int collect(void *ctx, uint64_t frame, bool present)
{
	struct found *fd = ctx;

	assert_int_equal(frame, fd->next);
	fd->next++;
	if (!present)
		return 0;
	if (fd->n && fd->r[fd->n - 1].hi == frame) {
		fd->r[fd->n - 1].hi++;
		return 0;
	}
	assert_true(fd->n < 16);
	fd->r[fd->n++] = (struct run){ frame, frame + 1 };
	return 0;
}

static void assert_runs(const struct found *fd, const struct run *want,
			size_t n)
{
	assert_int_equal(fd->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(fd->r[i].lo, want[i].lo);
		assert_int_equal(fd->r[i].hi, want[i].hi);
	}
}

/*
 * Stride 64 over [0, 0x48010): 0x1200 whole chunks, each sampled, plus
 * the partial last chunk (after a whole one): 4609 samples, one call.
 * Mapped whole: chunks 0xdff-0xe00 (grant), 0xe3f-0xe40 (magic),
 * 0xc00-0xc01 (the crossing run: 0xc00 for its neighbour), 0xfff-0x11ff
 * (RAM and the chunk below it; 0x1040 and 0x1140 have absent first frames
 * but present neighbours), and the partial chunk's 16 frames:
 * 128 + 128 + 128 + 0x201 * 64 + 16 = 33,232 frames, one call.  The lone
 * page's chunk 0x400 and its neighbour 0x401 have absent first frames:
 * not mapped, not found (the documented limit).
 */
static void strided_arm_layout(void **state)
{
	struct fake fk = { 0 };
	struct xfm_frame_probe p = { .map = fake_map, .map_ctx = &fk,
				     .stride = 64, .batch = 65536 };
	struct found fd = { .next = 0 };

	(void)state;
	assert_int_equal(xfm_frame_probe(&p, 0, END, collect, &fd), 0);
	assert_int_equal(fd.next, END);
	assert_runs(&fd, guest + 1, 6);
	assert_int_equal(fk.frames, 4609 + 33232);
	assert_int_equal(p.mapped, 4609 + 33232);
	assert_int_equal(fk.calls, 2);
	assert_int_equal(p.calls, 2);
}

/*
 * Coarse: the same chunks reported present without being mapped (the
 * VMCOREINFO scan's ranges): only the 4609 samples are mapped.
 */
static void coarse_superset(void **state)
{
	static const struct run want[] = {
		{ 0x30000, 0x30080 }, /* chunks 0xc00-0xc01 */
		{ 0x37fc0, 0x38040 }, /* 0xdff-0xe00 */
		{ 0x38fc0, 0x39040 }, /* 0xe3f-0xe40 */
		{ 0x3ffc0, END },     /* 0xfff-0x11ff, the partial 0x1200 */
	};
	struct fake fk = { 0 };
	struct xfm_frame_probe p = { .map = fake_map, .map_ctx = &fk,
				     .stride = 64, .coarse = true,
				     .batch = 65536 };
	struct found fd = { .next = 0 };

	(void)state;
	assert_int_equal(xfm_frame_probe(&p, 0, END, collect, &fd), 0);
	assert_int_equal(fd.next, END);
	assert_runs(&fd, want, 4);
	assert_int_equal(fk.frames, 4609);
	assert_int_equal(fk.calls, 1);
}

/* No stride: every frame once, in batches of 65,536; everything found. */
static void full_walk(void **state)
{
	struct fake fk = { 0 };
	struct xfm_frame_probe p = { .map = fake_map, .map_ctx = &fk,
				     .batch = 65536 };
	struct found fd = { .next = 0 };

	(void)state;
	assert_int_equal(xfm_frame_probe(&p, 0, END, collect, &fd), 0);
	assert_int_equal(fd.next, END);
	assert_runs(&fd, guest, 7);
	assert_int_equal(fk.frames, END);
	assert_int_equal(fk.calls, 5); /* 0x48010 = 4 * 0x10000 + 0x8010 */
}

/*
 * Batches above 1000 frames fail -ENOMEM: the first call (the 4609
 * samples) fails at batch 65536, 32768, 16384 and 8192 (4609 frames
 * each), then at 4096, 2048 and 1024: 7 failed calls, and from there on
 * everything goes in 512s.  Same runs.
 */
static void enomem_halves(void **state)
{
	struct fake fk = { .enomem_above = 1000 };
	struct xfm_frame_probe p = { .map = fake_map, .map_ctx = &fk,
				     .stride = 64, .batch = 65536 };
	struct found fd = { .next = 0 };

	(void)state;
	assert_int_equal(xfm_frame_probe(&p, 0, END, collect, &fd), 0);
	assert_runs(&fd, guest + 1, 6);
	assert_int_equal(p.batch, 512);
	/* Samples: 4609 = 9 * 512 + 1 -> 10 calls; refined 33232 =
	 * 64 * 512 + 464 -> 65 calls. */
	assert_int_equal(p.calls, 10 + 65);
	assert_int_equal(fk.calls, 7 + 10 + 65);
	/* The failed tries: 4 * 4609 + 4096 + 2048 + 1024 = 25604. */
	assert_int_equal(fk.frames, 25604 + 4609 + 33232);
}

/* Stop at the first absent frame (xfm_source present()). */
static int first_absent(void *ctx, uint64_t frame, bool present)
{
	if (present)
		return 0;
	*(uint64_t *)ctx = frame;
	return 1;
}

/*
 * A few frames in one chunk: no samples, just those frames.  A RAM span
 * from an unaligned frame: the ballooned 0x41000 is the first absent one.
 */
static void present_spans(void **state)
{
	struct fake fk = { 0 };
	struct xfm_frame_probe p = { .map = fake_map, .map_ctx = &fk,
				     .stride = 64, .batch = 65536 };
	uint64_t missing = 0;

	(void)state;
	assert_int_equal(xfm_frame_probe(&p, 0x41c82, 2, first_absent,
					 &missing), 0);
	assert_int_equal(fk.frames, 2);
	assert_int_equal(fk.calls, 1);

	fk = (struct fake){ 0 };
	assert_int_equal(xfm_frame_probe(&p, 0x40010, 0x2000, first_absent,
					 &missing), 1);
	assert_int_equal(missing, 0x41000);
	/* [0x40010, 0x42010): partial chunks at both ends, 0x7f whole
	 * ones sampled and the partial last one after a whole one: 128
	 * samples; then all 0x2000 frames (every chunk has a present first
	 * frame or neighbour). */
	assert_int_equal(fk.frames, 128 + 0x2000);
	assert_int_equal(fk.calls, 2);

	/* The lone page's span: its chunk has no present first frame. */
	fk = (struct fake){ 0 };
	assert_int_equal(xfm_frame_probe(&p, 0x10000, 0x80, first_absent,
					 &missing), 1);
	assert_int_equal(missing, 0x10000);
	/* Samples 0x10000, 0x10040 and the next chunk's 0x10080; nothing
	 * mapped whole. */
	assert_int_equal(fk.frames, 3);
	assert_int_equal(fk.calls, 1);
}

static void errors(void **state)
{
	struct fake fk = { .fail = -EIO };
	struct xfm_frame_probe p = { .map = fake_map, .map_ctx = &fk,
				     .stride = 64, .batch = 65536 };
	struct found fd = { .next = 0 };

	(void)state;
	assert_int_equal(xfm_frame_probe(&p, 0, END, collect, &fd), -EIO);
	assert_int_equal(fd.next, 0);
	assert_int_equal(xfm_frame_probe(&p, 5, 0, collect, &fd), 0);
	assert_int_equal(fk.calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strided_arm_layout),
		cmocka_unit_test(coarse_superset),
		cmocka_unit_test(full_walk),
		cmocka_unit_test(enomem_halves),
		cmocka_unit_test(present_spans),
		cmocka_unit_test(errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
