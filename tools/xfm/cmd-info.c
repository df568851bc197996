/* SPDX-License-Identifier: LGPL-2.1-only */
/* cmd-info.c - `xfm info SOURCE`: what the source is and what it holds. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *origin_name(uint32_t origin)
{
	switch (origin) {
	case XFM_ORIGIN_HYPERCALL: return "hypercall";
	case XFM_ORIGIN_SYSFS: return "sysfs";
	case XFM_ORIGIN_DEFAULT: return "default";
	case XFM_ORIGIN_FILE: return "file";
	default: return "unknown";
	}
}

struct info {
	const char *uri;
	xfm_geometry geo;
	xfm_range *ranges;
	int64_t nr;
	uint64_t total;
};

static void print_facts_text(xfm_handle *h)
{
	const char *k, *v;

	for (size_t i = 0; xfm_source_info(h, i, &k, &v) == 0; i++)
		printf("%-16s %s\n", k, v);
}

static void print_granularities(uint64_t mask)
{
	char buf[32];
	const char *sep = "";

	printf("%-16s ", "granularities");
	for (unsigned int b = 0; b < 64; b++) {
		if (!(mask & (UINT64_C(1) << b)))
			continue;
		fmt_size(buf, sizeof(buf), UINT64_C(1) << b);
		printf("%s%s", sep, buf);
		sep = ", ";
	}
	printf("%s\n", *sep ? "" : "none");
}

/*
 * The guest kernel's page (linux.page_size) is neither the source's frame
 * nor this machine's page ("kernel page"): say which it differs from.
 */
static void print_guest_page(xfm_handle *h, const xfm_geometry *g)
{
	const char *k, *v;
	uint64_t gp = 0;

	for (size_t i = 0; xfm_source_info(h, i, &k, &v) == 0; i++)
		if (strcmp(k, "linux.page_size") == 0)
			gp = strtoull(v, NULL, 10);
	if (!gp)
		return;
	printf("%-16s %" PRIu64 " (the guest kernel's, from VMCOREINFO",
	       "guest page", gp);
	if (gp != g->frame_size)
		printf("; not the frame size %" PRIu64, g->frame_size);
	if (gp != g->kernel_page_size)
		printf("; not this machine's page %" PRIu64,
		       g->kernel_page_size);
	printf(")\n");
}

static void print_text(xfm_handle *h, const struct info *in)
{
	char a[32];

	printf("%-16s %s\n", "source", xfm_source_name(h));
	printf("%-16s %s\n", "uri", in->uri);
	print_facts_text(h);
	printf("%-16s %" PRIu64 " (%s)\n", "frame size", in->geo.frame_size,
	       origin_name(in->geo.origin));
	if (in->geo.hyp_page_size)
		printf("%-16s %" PRIu64 "\n", "hypervisor page",
		       in->geo.hyp_page_size);
	else
		printf("%-16s %s\n", "hypervisor page", "none");
	printf("%-16s %" PRIu64 "\n", "kernel page", in->geo.kernel_page_size);
	print_guest_page(h, &in->geo);
	print_granularities(in->geo.granularities);
	printf("%-16s 0x%" PRIx64 "\n", "max frame", in->geo.max_frame);
	printf("%-16s %" PRId64 "\n", "ranges", in->nr);
	for (int64_t i = 0; i < in->nr; i++) {
		fmt_size(a, sizeof(a), in->ranges[i].size);
		printf("  0x%016" PRIx64 "-0x%016" PRIx64 "  %s\n",
		       in->ranges[i].start,
		       in->ranges[i].start + in->ranges[i].size, a);
	}
	fmt_size(a, sizeof(a), in->total);
	printf("%-16s %" PRIu64 " (%s)\n", "total", in->total, a);
}

static json_object *json_granularities(uint64_t mask)
{
	json_object *a = json_object_new_array();

	for (unsigned int b = 0; b < 64; b++)
		if (mask & (UINT64_C(1) << b))
			json_object_array_add(a, json_u64(UINT64_C(1) << b));
	return a;
}

static json_object *json_geometry(const xfm_geometry *g)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "frame_size", json_u64(g->frame_size));
	json_object_object_add(o, "hyp_page_size", json_u64(g->hyp_page_size));
	json_object_object_add(o, "kernel_page_size",
			       json_u64(g->kernel_page_size));
	json_object_object_add(o, "granularities",
			       json_granularities(g->granularities));
	json_object_object_add(o, "max_frame", json_u64(g->max_frame));
	json_object_object_add(o, "origin",
			       json_object_new_string(origin_name(g->origin)));
	return o;
}

static int print_json(xfm_handle *h, const struct info *in)
{
	json_object *o = json_object_new_object(), *facts, *r;
	const char *k, *v;

	json_object_object_add(o, "source",
			       json_object_new_string(xfm_source_name(h)));
	json_object_object_add(o, "uri", json_object_new_string(in->uri));
	facts = json_object_new_object();
	for (size_t i = 0; xfm_source_info(h, i, &k, &v) == 0; i++)
		json_object_object_add(facts, k, json_object_new_string(v));
	json_object_object_add(o, "info", facts);
	json_object_object_add(o, "geometry", json_geometry(&in->geo));
	r = json_object_new_array();
	for (int64_t i = 0; i < in->nr; i++)
		json_object_array_add(r, json_range(in->ranges[i].start,
						    in->ranges[i].size));
	json_object_object_add(o, "ranges", r);
	json_object_object_add(o, "total_size", json_u64(in->total));
	return json_emit(o);
}

static int run_info(struct cli *cli, xfm_handle *h, const char *uri)
{
	struct info in = { .uri = uri };
	int rc;

	rc = xfm_get_geometry(h, &in.geo, sizeof(in.geo));
	if (rc < 0)
		return cli_lib_err(cli, rc, "geometry");
	in.nr = xfm_get_ranges_alloc(h, 0, UINT64_MAX, &in.ranges);
	if (in.nr < 0)
		return cli_lib_err(cli, (int)in.nr, "memory map");
	for (int64_t i = 0; i < in.nr; i++)
		in.total += in.ranges[i].size;
	if (cli->json)
		rc = print_json(h, &in);
	else
		print_text(h, &in);
	free(in.ranges);
	return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}

static int info_main(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS };
	xfm_handle *h;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":" COMMON_SHORTOPTS, opts,
				NULL)) != -1)
		if ((rc = cli_common_opt(cli, &cmd_info, c, argv)) >= 0)
			return rc;
	if (argc - optind != 1)
		return cli_usage(cli, argc - optind ? "too many arguments" :
				 "missing SOURCE (see 'xfm help info')");
	rc = cli_open(cli, argv[optind], 0, &h);
	if (rc)
		return rc;
	rc = run_info(cli, h, argv[optind]);
	xfm_close(h);
	return rc;
}

const struct command cmd_info = {
	.name = "info",
	.summary = "describe a source: format, page geometry, memory ranges",
	.usage =
	"Usage: xfm info [--json] SOURCE\n"
	"\n"
	"Print the source kind, the facts the source reports (format,\n"
	"Xen domain type, ...), the page geometry and where it came from,\n"
	"the populated guest-physical ranges (END exclusive) and their total.\n",
	.run = info_main,
};
