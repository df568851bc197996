/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cmd-search.c - `xfm search SOURCE PATTERN`: every address where the
 * bytes occur, over populated memory only.
 *
 * Memory is read in chunks; the last len-1 bytes of a chunk are kept in
 * front of the next, so that a match straddling two chunks is found, and
 * found once (a match starting in the kept bytes ends past them, so it
 * could not have been seen before).  Ranges are merged, so a match can
 * only straddle chunks of one range: between ranges lies absent memory.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CHUNK (UINT64_C(4) << 20)

struct search {
	struct cli *cli;
	xfm_handle *h;
	const uint8_t *pat;
	size_t plen;
	uint64_t max;        /* stop after this many matches; 0: no limit */
	bool va;             /* --va: the range is guest-virtual */
	uint64_t found;
	json_object *matches; /* --json */
	uint8_t *buf;        /* plen - 1 kept bytes + CHUNK */
	struct progress pg;
	uint64_t done;
};

static bool record(struct search *s, uint64_t addr)
{
	if (s->matches)
		json_object_array_add(s->matches, json_u64(addr));
	else
		printf("0x%" PRIx64 "\n", addr);
	s->found++;
	return s->max && s->found >= s->max;
}

/* Scan @n bytes of s->buf that start at guest address @base. */
static bool scan(struct search *s, uint64_t base, size_t n)
{
	const uint8_t *p = s->buf, *end = s->buf + n, *m;

	while ((size_t)(end - p) >= s->plen &&
	       (m = memmem(p, (size_t)(end - p), s->pat, s->plen))) {
		if (record(s, base + (uint64_t)(m - s->buf)))
			return true;
		p = m + 1; /* overlapping matches count: "aa" in "aaa" is 2 */
	}
	return false;
}

/* Search one range; returns 1 when --max is reached, else 0 or error. */
static int search_range(struct search *s, const xfm_range *r)
{
	uint64_t off = 0;
	size_t keep = 0, tail;
	int rc;

	while (off < r->size) {
		uint64_t n = r->size - off < CHUNK ? r->size - off : CHUNK;

		if (cli_interrupted)
			return -ECANCELED;
		rc = s->va ? xfm_read_va(s->h, r->start + off, s->buf + keep,
					 n, XFM_READ_ZERO_FILL)
			   : xfm_read(s->h, r->start + off, s->buf + keep, n, 0);
		if (rc < 0)
			return rc;
		if (scan(s, r->start + off - keep, keep + (size_t)n))
			return 1;
		off += n;
		s->done += n;
		progress_update(&s->pg, s->done);
		/* Keep the tail that could begin a match in the next chunk. */
		tail = s->plen - 1 < keep + n ? s->plen - 1 : keep + (size_t)n;
		memmove(s->buf, s->buf + keep + n - tail, tail);
		keep = tail;
	}
	return 0;
}

static int search_all(struct search *s, xfm_range *r, int64_t n)
{
	uint64_t total = 0;
	int rc = 0;

	for (int64_t i = 0; i < n; i++)
		total += r[i].size;
	progress_start(&s->pg, s->cli, "search", total);
	for (int64_t i = 0; i < n && rc == 0; i++)
		rc = search_range(s, &r[i]);
	progress_end(&s->pg);
	if (rc == -ECANCELED) {
		cli_err(s->cli, "interrupted after %" PRIu64 " matches",
			s->found);
		return EXIT_INTERRUPTED;
	}
	return rc < 0 ? cli_lib_err(s->cli, rc, NULL) : EXIT_OK;
}

static int print_json(struct search *s, bool truncated)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pattern", json_hex(s->pat, s->plen));
	json_object_object_add(o, "count", json_u64(s->found));
	json_object_object_add(o, "truncated",
			       json_object_new_boolean(truncated));
	json_object_object_add(o, "matches", s->matches);
	s->matches = NULL;
	return json_emit(o) < 0 ? EXIT_RUNTIME : EXIT_OK;
}

struct search_opts {
	bool hex, string, has_range, va;
	const char *root;
	uint64_t max, lo, len;
};

static int run_search(struct cli *cli, xfm_handle *h,
		      const struct search_opts *o, uint8_t *pat, size_t plen)
{
	struct search s = { .cli = cli, .h = h, .pat = pat, .plen = plen,
			    .max = o->max, .va = o->va };
	xfm_range *r = NULL;
	int64_t n;
	int rc;

	if (o->va) {
		/* No memory map of a virtual space: the range, unmapped
		 * pages read as zeros. */
		rc = cli_va_root(cli, h, o->root);
		if (rc)
			return rc;
		r = malloc(sizeof(*r));
		if (!r)
			return EXIT_RUNTIME;
		*r = (xfm_range){ o->lo, o->len };
		n = 1;
	} else {
		n = xfm_get_ranges_alloc(h, o->has_range ? o->lo : 0,
					 o->has_range ? o->len : UINT64_MAX, &r);
	}
	if (n < 0)
		return cli_lib_err(cli, (int)n, "memory map");
	s.buf = malloc(CHUNK + plen);
	if (cli->json)
		s.matches = json_object_new_array();
	if (!s.buf) {
		cli_err(cli, "out of memory");
		rc = EXIT_RUNTIME;
	} else {
		rc = search_all(&s, r, n);
	}
	if (!rc && cli->json)
		rc = print_json(&s, s.max && s.found >= s.max);
	json_object_put(s.matches);
	free(s.buf);
	free(r);
	return rc;
}

/* The pattern's bytes: --hex parses, --string (default) is literal. */
static int pattern_bytes(struct cli *cli, const struct search_opts *o,
			 const char *arg, uint8_t **pat, size_t *plen)
{
	const char *why;

	if (o->hex && o->string)
		return cli_usage(cli, "--hex and --string are exclusive");
	if (o->hex) {
		if (parse_hex(arg, pat, plen, &why) < 0)
			return cli_usage(cli, "PATTERN '%s': %s", arg, why);
	} else {
		*plen = strlen(arg);
		if (!*plen)
			return cli_usage(cli, "PATTERN is empty");
		*pat = (uint8_t *)strdup(arg);
	}
	if (*plen > CHUNK) {
		free(*pat);
		return cli_usage(cli, "PATTERN longer than 4 MiB");
	}
	return 0;
}

enum { OPT_HEX = OPT_FIRST_CMD, OPT_STRING, OPT_MAX, OPT_RANGE };

static int search_opt(struct cli *cli, int c, char **argv,
		      struct search_opts *o)
{
	const char *why;
	bool has_len;

	switch (c) {
	case OPT_HEX:
		o->hex = true;
		return -1;
	case OPT_STRING:
		o->string = true;
		return -1;
	case OPT_MAX:
		if (parse_count(optarg, &o->max, &why) < 0)
			return cli_usage(cli, "--max '%s': %s", optarg, why);
		return -1;
	case OPT_RANGE:
		if (parse_range(optarg, &o->lo, &o->len, &has_len, &why) < 0)
			return cli_usage(cli, "--range '%s': %s", optarg, why);
		if (!has_len)
			return cli_usage(cli, "--range '%s': need ADDR+LEN or "
					 "ADDR..END", optarg);
		o->has_range = true;
		return -1;
	default:
		if (cli_va_opt(c, &o->va, &o->root))
			return -1;
		return cli_common_opt(cli, &cmd_search, c, argv);
	}
}

static int search_main(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hex", no_argument, NULL, OPT_HEX },
		{ "string", no_argument, NULL, OPT_STRING },
		{ "max", required_argument, NULL, OPT_MAX },
		{ "range", required_argument, NULL, OPT_RANGE },
		VA_LONGOPTS,
		COMMON_LONGOPTS
	};
	struct search_opts o = { 0 };
	uint8_t *pat = NULL;
	size_t plen;
	xfm_handle *h;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":" COMMON_SHORTOPTS, opts,
				NULL)) != -1)
		if ((rc = search_opt(cli, c, argv, &o)) >= 0)
			return rc;
	if (argc - optind != 2)
		return cli_usage(cli, argc - optind > 2 ? "too many arguments" :
				 "missing SOURCE or PATTERN (see 'xfm help "
				 "search')");
	if (o.va && !o.has_range)
		return cli_usage(cli, "--va needs --range (a virtual span)");
	rc = cli_va_check(cli, o.va, o.root);
	if (rc)
		return rc;
	rc = pattern_bytes(cli, &o, argv[optind + 1], &pat, &plen);
	if (rc)
		return rc;
	rc = cli_open(cli, argv[optind], 0, &h);
	if (!rc) {
		rc = run_search(cli, h, &o, pat, plen);
		xfm_close(h);
	}
	free(pat);
	return rc;
}

const struct command cmd_search = {
	.name = "search",
	.summary = "find every address where a byte pattern occurs",
	.usage =
	"Usage: xfm search [OPTIONS] SOURCE PATTERN\n"
	"\n"
	"Print, one per line, the guest-physical address of every match of\n"
	"PATTERN in populated memory, in ascending order (overlapping matches\n"
	"included).  No match is not an error (exit 0, no output).\n"
	"\n"
	"  --string         PATTERN is literal text (the default)\n"
	"  --hex            PATTERN is hex bytes: \"deadbeef\", \"de ad be ef\"\n"
	"  --max N          stop after N matches\n"
	"  --range R        search only ADDR+LEN or ADDR..END\n"
	"  --va             the --range is guest-virtual (unmapped pages read\n"
	"                   as zeros); matches are virtual addresses\n"
	"  --root ROOT      the page-table root for --va (see 'xfm help\n"
	"                   translate')\n"
	"  --json           {\"pattern\",\"count\",\"truncated\",\"matches\":[...]}\n",
	.run = search_main,
};
