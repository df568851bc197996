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
/*
 * The measuring loops are shared with the benchmark suite
 * (tools/common/measure.c), so that `xfm bench` and bench/run.sh measure
 * alike.
 */
#include "measure.h"

#define SEQ_CHUNK (UINT64_C(1) << 20)

static const unsigned int batch_sizes[] = { 1, 16, 256, 4096 };
#define NR_BATCHES (sizeof(batch_sizes) / sizeof(batch_sizes[0]))

struct result {
	const char *name;
	struct bm_run run;
};

struct bench {
	struct cli *cli;
	xfm_handle *h;
	struct bm_space sp;
	double time;       /* seconds per test */
	struct result res[2 + NR_BATCHES];
};

static void bench_seq(struct bench *b, struct result *res)
{
	uint8_t *buf = malloc(SEQ_CHUNK);

	res->name = "sequential read";
	if (!buf) {
		res->run.err = -ENOMEM;
		return;
	}
	bm_xfm_seq_read(b->h, &b->sp, buf, SEQ_CHUNK, &res->run);
	free(buf);
}

static void bench_map(struct bench *b, struct result *res, unsigned int n)
{
	uint64_t *frames = calloc(n, sizeof(*frames));

	if (!frames) {
		res->run.err = -ENOMEM;
		return;
	}
	bm_frames(&b->sp, frames, n);
	bm_xfm_map(b->h, frames, n, n, false, &res->run);
	free(frames);
}

/* What a test counts: bytes for the sequential read, else operations. */
static uint64_t count(const struct result *r, size_t i)
{
	return i == 0 ? r->run.bytes : r->run.ops;
}

static void print_text(const struct bench *b)
{
	char rate[48], size[32];

	printf("%-22s %14s %8s  %s\n", "TEST", "COUNT", "SECONDS", "RATE");
	for (size_t i = 0; i < 2 + NR_BATCHES; i++) {
		const struct bm_run *r = &b->res[i].run;
		double s = r->secs > 0 ? r->secs : 1e-9;

		if (r->err) {
			printf("%-22s failed: %s\n", b->res[i].name,
			       r->msg[0] ? r->msg : strerror(-r->err));
			continue;
		}
		if (i == 0) {
			fmt_size(size, sizeof(size), (uint64_t)(r->bytes / s));
			snprintf(rate, sizeof(rate), "%s/s", size);
		} else if (i == 1) {
			snprintf(rate, sizeof(rate), "%.0f reads/s",
				 r->ops / s);
		} else {
			snprintf(rate, sizeof(rate),
				 "%.0f maps/s, %.0f frames/s",
				 r->ops / s, r->frames / s);
		}
		printf("%-22s %14" PRIu64 " %8.2f  %s\n", b->res[i].name,
		       count(&b->res[i], i), r->secs, rate);
	}
}

static json_object *json_result(const struct result *res, size_t i,
				const char *unit)
{
	json_object *o = json_object_new_object();
	const struct bm_run *r = &res->run;
	double s = r->secs > 0 ? r->secs : 1e-9;

	if (r->err) {
		json_object_object_add(o, "error", json_object_new_string(
			r->msg[0] ? r->msg : strerror(-r->err)));
		return o;
	}
	json_object_object_add(o, unit, json_u64(count(res, i)));
	json_object_object_add(o, "seconds", json_object_new_double(r->secs));
	json_object_object_add(o, "per_second",
			       json_object_new_double(count(res, i) / s));
	return o;
}

static int print_json(const struct bench *b)
{
	json_object *o = json_object_new_object(), *maps, *m;

	json_object_object_add(o, "sequential_read",
			       json_result(&b->res[0], 0, "bytes"));
	json_object_object_add(o, "random_read",
			       json_result(&b->res[1], 1, "reads"));
	maps = json_object_new_array();
	for (size_t i = 0; i < NR_BATCHES; i++) {
		const struct bm_run *r = &b->res[2 + i].run;

		m = json_result(&b->res[2 + i], 2 + i, "batches");
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
	int rc = bm_space_init(&b->sp, b->h);

	if (rc < 0)
		return cli_lib_err(b->cli, rc, "memory map");
	if (b->sp.total < 8 || !b->sp.frame_size) {
		cli_err(b->cli, "the source has no memory to measure");
		return EXIT_RANGE;
	}
	for (size_t i = 0; i < 2 + NR_BATCHES; i++) {
		b->res[i].run.max_secs = b->time;
		b->res[i].run.stop = &cli_interrupted;
	}
	bench_seq(b, &b->res[0]);
	b->res[1].name = "random 8-byte read";
	bm_xfm_random_read(b->h, &b->sp, 8, 0x9e3779b97f4a7c15ull,
			   &b->res[1].run);
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
	bm_space_free(&b.sp);
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
