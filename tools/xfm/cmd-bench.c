/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cmd-bench.c - `xfm bench SOURCE`: a quick self-measurement.
 *
 * Three numbers tell whether a source is healthy: sequential read
 * bandwidth and random small reads (both through the window cache, as
 * every user sees them), and the raw map+unmap rate by batch size (what
 * the cache amortises: DESIGN.md's performance model).  Each test runs
 * for --time seconds, so the whole bench has a known duration.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SEQ_CHUNK (UINT64_C(1) << 20)

static const unsigned int batch_sizes[] = { 1, 16, 256, 4096 };
#define NR_BATCHES (sizeof(batch_sizes) / sizeof(batch_sizes[0]))

struct result {
	const char *name;
	uint64_t ops;      /* bytes, reads or batches */
	uint64_t frames;   /* map tests: frames mapped in all */
	double secs;
	int err;           /* negative errno, 0 if measured */
	char msg[160];
};

struct bench {
	struct cli *cli;
	xfm_handle *h;
	xfm_range *r;
	int64_t nr;
	uint64_t total;    /* bytes populated */
	uint64_t frame_size;
	double time;       /* seconds per test */
	struct result res[2 + NR_BATCHES];
};

/* Linear offset into the populated bytes -> guest address. */
static uint64_t addr_at(const struct bench *b, uint64_t off)
{
	for (int64_t i = 0; i < b->nr; i++) {
		if (off < b->r[i].size)
			return b->r[i].start + off;
		off -= b->r[i].size;
	}
	return b->r[0].start;
}

static void fail(struct result *res, int err)
{
	res->err = err;
	snprintf(res->msg, sizeof(res->msg), "%s", xfm_last_error());
}

/* Read populated memory in order, wrapping, for b->time seconds. */
static void bench_seq(struct bench *b, struct result *res)
{
	uint8_t *buf = malloc(SEQ_CHUNK);
	double t0 = now_seconds();
	uint64_t off = 0;
	int rc;

	res->name = "sequential read";
	if (!buf) {
		res->err = -ENOMEM;
		return;
	}
	do {
		uint64_t a = addr_at(b, off);
		uint64_t n = b->total - off < SEQ_CHUNK ? b->total - off :
			SEQ_CHUNK;
		int64_t i;

		/* Stay inside the range that holds a. */
		for (i = 0; a >= b->r[i].start + b->r[i].size; i++)
			;
		if (n > b->r[i].start + b->r[i].size - a)
			n = b->r[i].start + b->r[i].size - a;
		rc = xfm_read(b->h, a, buf, n, 0);
		if (rc < 0) {
			fail(res, rc);
			break;
		}
		res->ops += n;
		off = (off + n) % b->total;
		res->secs = now_seconds() - t0;
	} while (res->secs < b->time && !cli_interrupted);
	free(buf);
}

/* xorshift64: reproducible, and far cheaper than what it measures. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void bench_random(struct bench *b, struct result *res)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, v;
	double t0 = now_seconds();
	int rc;

	res->name = "random 8-byte read";
	do {
		/* Check the clock every 1024 reads, not every one. */
		for (int i = 0; i < 1024; i++) {
			uint64_t off = next_rand(&seed) % (b->total - 7);

			off &= ~UINT64_C(7);

			rc = xfm_read(b->h, addr_at(b, off), &v, 8, 0);
			if (rc < 0) {
				fail(res, rc);
				return;
			}
		}
		res->ops += 1024;
		res->secs = now_seconds() - t0;
	} while (res->secs < b->time && !cli_interrupted);
}

/* @n one-frame extents over populated frames, wrapping if need be. */
static void fill_extents(const struct bench *b, xfm_extent *ext, size_t n)
{
	uint64_t frames = b->total / b->frame_size;

	for (size_t i = 0; i < n; i++) {
		uint64_t a = addr_at(b, (i % frames) * b->frame_size);

		ext[i] = (xfm_extent){ .frame = a / b->frame_size };
	}
}

static void bench_map(struct bench *b, struct result *res, unsigned int n)
{
	xfm_extent *ext = calloc(n, sizeof(*ext));
	double t0 = now_seconds();
	xfm_mapping *m;
	int rc;

	if (!ext) {
		res->err = -ENOMEM;
		return;
	}
	do {
		fill_extents(b, ext, n);
		rc = xfm_map(b->h, ext, n, XFM_PROT_READ, NULL, &m);
		if (rc < 0) {
			fail(res, rc);
			break;
		}
		xfm_unmap(m);
		res->ops++;
		res->frames += (uint64_t)rc;
		res->secs = now_seconds() - t0;
	} while (res->secs < b->time && !cli_interrupted);
	free(ext);
}

static void print_text(const struct bench *b)
{
	char rate[48], size[32];

	printf("%-22s %14s %8s  %s\n", "TEST", "COUNT", "SECONDS", "RATE");
	for (size_t i = 0; i < 2 + NR_BATCHES; i++) {
		const struct result *r = &b->res[i];
		double s = r->secs > 0 ? r->secs : 1e-9;

		if (r->err) {
			printf("%-22s failed: %s\n", r->name,
			       r->msg[0] ? r->msg : strerror(-r->err));
			continue;
		}
		if (i == 0) {
			fmt_size(size, sizeof(size), (uint64_t)(r->ops / s));
			snprintf(rate, sizeof(rate), "%s/s", size);
		} else if (i == 1) {
			snprintf(rate, sizeof(rate), "%.0f reads/s",
				 r->ops / s);
		} else {
			snprintf(rate, sizeof(rate),
				 "%.0f maps/s, %.0f frames/s",
				 r->ops / s, r->frames / s);
		}
		printf("%-22s %14" PRIu64 " %8.2f  %s\n", r->name, r->ops,
		       r->secs, rate);
	}
}

static json_object *json_result(const struct result *r, const char *unit)
{
	json_object *o = json_object_new_object();
	double s = r->secs > 0 ? r->secs : 1e-9;

	if (r->err) {
		json_object_object_add(o, "error", json_object_new_string(
			r->msg[0] ? r->msg : strerror(-r->err)));
		return o;
	}
	json_object_object_add(o, unit, json_u64(r->ops));
	json_object_object_add(o, "seconds", json_object_new_double(r->secs));
	json_object_object_add(o, "per_second",
			       json_object_new_double(r->ops / s));
	return o;
}

static int print_json(const struct bench *b)
{
	json_object *o = json_object_new_object(), *maps, *m;

	json_object_object_add(o, "sequential_read",
			       json_result(&b->res[0], "bytes"));
	json_object_object_add(o, "random_read",
			       json_result(&b->res[1], "reads"));
	maps = json_object_new_array();
	for (size_t i = 0; i < NR_BATCHES; i++) {
		const struct result *r = &b->res[2 + i];

		m = json_result(r, "batches");
		json_object_object_add(m, "batch_frames",
				       json_u64(batch_sizes[i]));
		if (!r->err)
			json_object_object_add(m, "frames_per_second",
				json_object_new_double(r->frames /
				(r->secs > 0 ? r->secs : 1e-9)));
		json_object_array_add(maps, m);
	}
	json_object_object_add(o, "map_unmap", maps);
	return json_emit(o) < 0 ? EXIT_RUNTIME : EXIT_OK;
}

static int run_bench(struct bench *b)
{
	static const char *const names[] = { "map+unmap 1 frame",
		"map+unmap 16 frames", "map+unmap 256 frames",
		"map+unmap 4096 frames" };
	xfm_geometry g;
	int rc = xfm_get_geometry(b->h, &g, sizeof(g));

	if (rc < 0)
		return cli_lib_err(b->cli, rc, "geometry");
	b->frame_size = g.frame_size;
	b->nr = cli_ranges(b->h, &b->r);
	if (b->nr < 0)
		return cli_lib_err(b->cli, (int)b->nr, "memory map");
	for (int64_t i = 0; i < b->nr; i++)
		b->total += b->r[i].size;
	if (b->total < 8 || !b->frame_size) {
		cli_err(b->cli, "the source has no memory to measure");
		return EXIT_RANGE;
	}
	bench_seq(b, &b->res[0]);
	bench_random(b, &b->res[1]);
	for (size_t i = 0; i < NR_BATCHES; i++) {
		b->res[2 + i].name = names[i];
		bench_map(b, &b->res[2 + i], batch_sizes[i]);
	}
	if (cli_interrupted) {
		cli_err(b->cli, "interrupted");
		return EXIT_INTERRUPTED;
	}
	if (b->cli->json)
		return print_json(b);
	print_text(b);
	return EXIT_OK;
}

enum { OPT_TIME = OPT_FIRST_CMD };

static int bench_main(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, OPT_TIME },
		COMMON_LONGOPTS
	};
	struct bench b = { .cli = cli, .time = 0.5 };
	const char *why;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":" COMMON_SHORTOPTS, opts,
				NULL)) != -1) {
		if (c == OPT_TIME) {
			if (parse_seconds(optarg, &b.time, &why) < 0)
				return cli_usage(cli, "--time '%s': %s",
						 optarg, why);
		} else {
			rc = cli_common_opt(cli, &cmd_bench, c, argv);
			if (rc >= 0)
				return rc;
		}
	}
	if (argc - optind != 1)
		return cli_usage(cli, argc - optind ? "too many arguments" :
				 "missing SOURCE (see 'xfm help bench')");
	rc = cli_open(cli, argv[optind], 0, &b.h);
	if (rc)
		return rc;
	rc = run_bench(&b);
	free(b.r);
	xfm_close(b.h);
	return rc;
}

const struct command cmd_bench = {
	.name = "bench",
	.summary = "measure read throughput and map/unmap rates",
	.usage =
	"Usage: xfm bench [--time SECONDS] [--json] SOURCE\n"
	"\n"
	"Measure, for SECONDS each (default 0.5): sequential reads in 1 MiB\n"
	"chunks and random 8-byte reads, both through the window cache, then\n"
	"xfm_map+xfm_unmap of batches of 1, 16, 256 and 4096 frames (populated\n"
	"frames, repeated when the source has fewer).  Reads only.\n"
	"\n"
	"  --time SECONDS   duration of each of the six tests\n",
	.run = bench_main,
};
