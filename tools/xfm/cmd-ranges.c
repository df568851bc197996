/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cmd-ranges.c - `xfm ranges SOURCE` (alias `xfm map`): the populated
 * ranges, merged, with sizes.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>

#include "cli.h"

static void print_text(const xfm_range *r, int64_t n, uint64_t total)
{
	char sz[32];

	printf("%-18s  %-18s  %s\n", "START", "END", "SIZE");
	for (int64_t i = 0; i < n; i++) {
		fmt_size(sz, sizeof(sz), r[i].size);
		printf("0x%016" PRIx64 "  0x%016" PRIx64 "  %s\n", r[i].start,
		       r[i].start + r[i].size, sz);
	}
	fmt_size(sz, sizeof(sz), total);
	printf("%" PRId64 " range%s, %s (%" PRIu64 " bytes)\n", n,
	       n == 1 ? "" : "s", sz, total);
}

static int print_json(const xfm_range *r, int64_t n, uint64_t total)
{
	json_object *o = json_object_new_object();
	json_object *a = json_object_new_array();

	for (int64_t i = 0; i < n; i++)
		json_object_array_add(a, json_range(r[i].start, r[i].size));
	json_object_object_add(o, "ranges", a);
	json_object_object_add(o, "total_size", json_u64(total));
	return json_emit(o) < 0 ? EXIT_RUNTIME : EXIT_OK;
}

static int run_ranges(struct cli *cli, xfm_handle *h)
{
	xfm_range *r;
	int64_t n = xfm_get_ranges_alloc(h, 0, UINT64_MAX, &r);
	uint64_t total = 0;
	int rc = EXIT_OK;

	if (n < 0)
		return cli_lib_err(cli, (int)n, "memory map");
	for (int64_t i = 0; i < n; i++)
		total += r[i].size;
	if (cli->json)
		rc = print_json(r, n, total);
	else
		print_text(r, n, total);
	free(r);
	return rc;
}

static int ranges_main(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS };
	xfm_handle *h;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":" COMMON_SHORTOPTS, opts,
				NULL)) != -1)
		if ((rc = cli_common_opt(cli, &cmd_ranges, c, argv)) >= 0)
			return rc;
	if (argc - optind != 1)
		return cli_usage(cli, argc - optind ? "too many arguments" :
				 "missing SOURCE (see 'xfm help ranges')");
	rc = cli_open(cli, argv[optind], 0, &h);
	if (rc)
		return rc;
	rc = run_ranges(cli, h);
	xfm_close(h);
	return rc;
}

const struct command cmd_ranges = {
	.name = "ranges",
	.alias = "map",
	.summary = "list the populated guest-physical ranges",
	.usage =
	"Usage: xfm ranges [--json] SOURCE\n"
	"\n"
	"List the populated guest-physical ranges, merged and ascending, as\n"
	"START, END (exclusive) and SIZE, then the count and total.\n"
	"`xfm map` is the same command (its former name).\n"
	"  --json           {\"ranges\":[{\"start\",\"end\",\"size\"}],"
	"\"total_size\"}\n",
	.run = ranges_main,
};
