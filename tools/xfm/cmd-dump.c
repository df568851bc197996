/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cmd-dump.c - `xfm dump SOURCE OUT --format F`: all populated memory to
 * a file, through xfm_dump() (which writes a temporary file and renames
 * it only when complete).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* A --format or --compress word and the library value it stands for. */
struct named {
	const char *name;
	unsigned int value;
};

static const struct named formats[] = {
	{ "raw", XFM_DUMP_RAW },
	{ "elf", XFM_DUMP_ELF },
	{ "xen-core", XFM_DUMP_XEN_CORE },
	{ "lime", XFM_DUMP_LIME },
	{ "kdump", XFM_DUMP_KDUMP },
	{ "kdump-flat", XFM_DUMP_KDUMP_FLAT },
};

static const struct named codecs[] = {
	{ "none", 0 },
	{ "zlib", XFM_DUMP_ZLIB },
	{ "lzo", XFM_DUMP_LZO },
	{ "snappy", XFM_DUMP_SNAPPY },
	{ "zstd", XFM_DUMP_ZSTD },
};

/* *@value of @name in @t[0..n); -1 when it is none of them. */
static int value_of(const struct named *t, size_t n, const char *name,
		    unsigned int *value)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(t[i].name, name)) {
			*value = t[i].value;
			return 0;
		}
	}
	return -1;
}

/* Called by xfm_dump(); a non-zero return cancels the dump. */
static int on_progress(void *opaque, uint64_t done, uint64_t total)
{
	struct progress *pg = opaque;

	pg->total = total;
	progress_update(pg, done);
	return cli_interrupted;
}

struct dump_opts {
	const char *format_name;
	unsigned int format, flags;
	bool compress;
};

static void report(const struct cli *cli, const char *out,
		   const struct dump_opts *o, uint64_t bytes, double secs)
{
	json_object *obj;
	char sz[32];

	if (cli->json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "path",
				       json_object_new_string(out));
		json_object_object_add(obj, "format",
				       json_object_new_string(o->format_name));
		json_object_object_add(obj, "bytes", json_u64(bytes));
		json_object_object_add(obj, "seconds",
				       json_object_new_double(secs));
		json_emit(obj);
	} else if (!cli->quiet) {
		fmt_size(sz, sizeof(sz), bytes);
		fprintf(stderr, "xfm: dump: wrote %s of guest memory to %s "
			"(%s) in %.1f s\n", sz, out, o->format_name, secs);
	}
}

static int run_dump(struct cli *cli, xfm_handle *h, const char *out,
		    const struct dump_opts *o)
{
	struct progress pg;
	int rc;

	/* xfm_dump() tells the total with its first progress call. */
	progress_start(&pg, cli, "dump", 0);
	rc = xfm_dump(h, out, o->format, o->flags, on_progress, &pg);
	progress_end(&pg);
	/* A signal may surface as -EINTR from a write: same meaning. */
	if (rc == -ECANCELED || (rc < 0 && cli_interrupted)) {
		cli_err(cli, "%s: interrupted; nothing written", out);
		return EXIT_INTERRUPTED;
	}
	if (rc < 0) {
		/* The message names OUT or the frame; any failure here,
		 * even -ENOENT for a missing directory, is a runtime one,
		 * but for a guest that went away (-ESRCH: EXIT_GONE). */
		cli_lib_err(cli, rc, NULL);
		return rc == -ESRCH ? EXIT_GONE : EXIT_RUNTIME;
	}
	report(cli, out, o, pg.total, now_seconds() - pg.start);
	return EXIT_OK;
}

enum { OPT_FORMAT = OPT_FIRST_CMD, OPT_FORCE, OPT_KEEP_PARTIAL,
       OPT_COMPRESS };

static int dump_opt(struct cli *cli, int c, char **argv, struct dump_opts *o)
{
	switch (c) {
	case OPT_FORMAT:
	case 'f':
		if (value_of(formats, sizeof(formats) / sizeof(formats[0]), optarg,
			     &o->format) < 0)
			return cli_usage(cli, "--format '%s': not one of raw, "
					 "elf, xen-core, lime, kdump, "
					 "kdump-flat", optarg);
		o->format_name = optarg;
		return -1;
	case OPT_FORCE:
		o->flags |= XFM_DUMP_OVERWRITE;
		return -1;
	case OPT_KEEP_PARTIAL:
		o->flags |= XFM_DUMP_KEEP_PARTIAL;
		return -1;
	case OPT_COMPRESS: {
		unsigned int flag;

		if (value_of(codecs, sizeof(codecs) / sizeof(codecs[0]), optarg,
			     &flag) < 0)
			return cli_usage(cli, "--compress '%s': not one of "
					 "none, zlib, lzo, snappy, zstd",
					 optarg);
		o->flags = (o->flags & ~(unsigned int)XFM_DUMP_COMPRESS_MASK) |
			   flag;
		o->compress = true;
		return -1;
	}
	default:
		return cli_common_opt(cli, &cmd_dump, c, argv);
	}
}

static int dump_main(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "keep-partial", no_argument, NULL, OPT_KEEP_PARTIAL },
		{ "compress", required_argument, NULL, OPT_COMPRESS },
		COMMON_LONGOPTS
	};
	struct dump_opts o = { "raw", XFM_DUMP_RAW, 0, false };
	const char *out;
	xfm_handle *h;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":f:" COMMON_SHORTOPTS, opts,
				NULL)) != -1)
		if ((rc = dump_opt(cli, c, argv, &o)) >= 0)
			return rc;
	if (argc - optind != 2)
		return cli_usage(cli, argc - optind > 2 ? "too many arguments" :
				 "missing SOURCE or OUT (see 'xfm help dump')");
	out = argv[optind + 1];
	if (o.compress && o.format != XFM_DUMP_KDUMP &&
	    o.format != XFM_DUMP_KDUMP_FLAT)
		return cli_usage(cli, "--compress is for --format kdump or "
				 "kdump-flat");
	/* Refuse before reading gigabytes; xfm_dump checks again. */
	if (!(o.flags & XFM_DUMP_OVERWRITE) && access(out, F_OK) == 0)
		return cli_usage(cli, "%s: file exists (use --force to "
				 "overwrite)", out);
	rc = cli_open(cli, argv[optind], 0, &h);
	if (rc)
		return rc;
	rc = run_dump(cli, h, out, &o);
	xfm_close(h);
	return rc;
}

const struct command cmd_dump = {
	.name = "dump",
	.summary = "write all populated memory to a dump file",
	.usage =
	"Usage: xfm dump [OPTIONS] SOURCE OUT\n"
	"\n"
	"Write every populated range of SOURCE to OUT.  OUT appears only when\n"
	"complete (temporary file, then rename); on failure or Ctrl-C nothing\n"
	"is left behind.  A progress bar is drawn when stderr is a terminal.\n"
	"\n"
	"  -f, --format F   raw (default; file offset = address), elf (QEMU\n"
	"                   style ELF core), xen-core (xl dump-core), lime,\n"
	"                   kdump (makedumpfile's compressed format, what\n"
	"                   crash and drgn read), kdump-flat (its flattened\n"
	"                   form, as makedumpfile -F writes)\n"
	"  --compress C     kdump pages: none (default), zlib, lzo, snappy,\n"
	"                   zstd\n"
	"  --force          overwrite OUT if it exists\n"
	"  --keep-partial   if the guest goes away mid-dump, keep what was\n"
	"                   read (elf, xen-core; marked by an XFM status note)\n"
	"                   and still exit 5\n"
	"  --json           {\"path\",\"format\",\"bytes\",\"seconds\"}\n",
	.run = dump_main,
};
