/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cmd-read.c - `xfm read SOURCE ADDR LEN`: a hexdump (as `hexdump -C`,
 * offsets are guest-physical addresses), raw bytes, a file, or JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* Bytes per xfm_read: large enough to amortise, small for progress. */
#define CHUNK (UINT64_C(1) << 20)
/* --json carries the bytes as hex in memory: keep that bounded. */
#define JSON_MAX (UINT64_C(16) << 20)

enum sink { SINK_HEXDUMP, SINK_RAW, SINK_FILE, SINK_JSON };

struct read_opts {
	enum sink sink;
	const char *out;    /* -o */
	unsigned int flags; /* XFM_READ_* */
	bool no_squeeze;    /* -v */
	bool va;            /* --va: ADDR is guest-virtual */
	const char *root;   /* --root */
	uint64_t addr, len;
};

/* hexdump -C state carried across chunks: the last full line shown. */
struct hexdump {
	uint8_t prev[16];
	bool have_prev, starred;
};

static void hexdump_chunk(struct hexdump *hd, bool squeeze, uint64_t addr,
			  const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n; off += 16) {
		size_t k = n - off < 16 ? n - off : 16;

		/* Like hexdump -C: a run of repeated lines becomes "*". */
		if (squeeze && k == 16 && hd->have_prev &&
		    !memcmp(hd->prev, p + off, 16)) {
			if (!hd->starred)
				fputs("*\n", stdout);
			hd->starred = true;
			continue;
		}
		hexdump_line(stdout, addr + off, p + off, k);
		memcpy(hd->prev, p + off, k);
		hd->have_prev = k == 16;
		hd->starred = false;
	}
}

/* Write all of @p to @fd, retrying short writes. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR && !cli_interrupted)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

struct reader {
	struct cli *cli;
	xfm_handle *h;
	const struct read_opts *o;
	int fd;            /* SINK_RAW, SINK_FILE */
	uint8_t *json_buf; /* SINK_JSON: everything, at once */
	struct hexdump hd;
};

static int emit(struct reader *r, uint64_t addr, const uint8_t *p, size_t n)
{
	int rc;

	switch (r->o->sink) {
	case SINK_HEXDUMP:
		hexdump_chunk(&r->hd, !r->o->no_squeeze, addr, p, n);
		if (!ferror(stdout))
			return 0;
		/* `xfm read ... | head` is not worth an error line. */
		if (errno != EPIPE)
			cli_err(r->cli, "stdout: %s", strerror(errno));
		return -EIO;
	case SINK_JSON:
		memcpy(r->json_buf + (addr - r->o->addr), p, n);
		return 0;
	default:
		rc = write_all(r->fd, p, n);
		if (rc < 0)
			cli_err(r->cli, "%s: %s", r->o->out ? r->o->out :
				"stdout", strerror(-rc));
		return rc;
	}
}

/* Copy the span chunk by chunk into the sink; returns an exit code. */
static int copy_span(struct reader *r)
{
	const struct read_opts *o = r->o;
	uint8_t *buf = malloc(CHUNK);
	struct progress pg;
	uint64_t done = 0;
	int rc = 0;

	if (!buf) {
		cli_err(r->cli, "out of memory");
		return EXIT_RUNTIME;
	}
	progress_start(&pg, r->cli, "read", o->len);
	if (o->sink == SINK_HEXDUMP || o->sink == SINK_JSON)
		pg.on = false; /* the output is on the terminal */
	while (done < o->len && !rc) {
		uint64_t n = o->len - done < CHUNK ? o->len - done : CHUNK;

		if (cli_interrupted) {
			rc = -ECANCELED;
			break;
		}
		rc = o->va ? xfm_read_va(r->h, o->addr + done, buf, n, o->flags)
			   : xfm_read(r->h, o->addr + done, buf, n, o->flags);
		if (rc < 0) {
			progress_end(&pg);
			rc = cli_lib_err(r->cli, rc, NULL);
			break;
		}
		if (emit(r, o->addr + done, buf, (size_t)n) < 0)
			rc = EXIT_RUNTIME;
		done += n;
		progress_update(&pg, done);
	}
	progress_end(&pg);
	free(buf);
	if (rc == -ECANCELED) {
		cli_err(r->cli, "interrupted at 0x%" PRIx64, o->addr + done);
		return EXIT_INTERRUPTED;
	}
	return rc;
}

/* The hexdump ends, like hexdump -C, with the address after the data. */
static int finish_hexdump(const struct read_opts *o)
{
	printf("%08" PRIx64 "\n", o->addr + o->len);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}

static int finish_json(struct reader *r)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "address", json_u64(r->o->addr));
	json_object_object_add(obj, "length", json_u64(r->o->len));
	json_object_object_add(obj, "data",
			       json_hex(r->json_buf, (size_t)r->o->len));
	return json_emit(obj) < 0 ? EXIT_RUNTIME : EXIT_OK;
}

/* A summary for -o, in the output mode asked for. */
static void report_file(const struct cli *cli, const struct read_opts *o)
{
	json_object *obj;

	if (cli->json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "address", json_u64(o->addr));
		json_object_object_add(obj, "length", json_u64(o->len));
		json_object_object_add(obj, "path",
				       json_object_new_string(o->out));
		json_emit(obj);
	} else if (!cli->quiet) {
		fprintf(stderr, "xfm: read: wrote %" PRIu64 " bytes from "
			"0x%" PRIx64 " to %s\n", o->len, o->addr, o->out);
	}
}

struct file_progress {
	struct progress pg;
	uint64_t done;
};

/* Called by xfm_dump_span(); a non-zero return cancels the read. */
static int on_progress(void *opaque, uint64_t done, uint64_t total)
{
	struct file_progress *fp = opaque;

	(void)total;
	fp->done = done;
	progress_update(&fp->pg, done);
	return cli_interrupted;
}

/*
 * -o FILE: the library writes a temporary file beside FILE and renames
 * it over FILE only once complete, so no failure leaves a partial FILE.
 */
static int read_to_file(struct reader *r)
{
	const struct read_opts *o = r->o;
	unsigned int flags = XFM_SPAN_OVERWRITE |
		((o->flags & XFM_READ_ZERO_FILL) ? XFM_SPAN_ZERO_FILL : 0) |
		(o->va ? XFM_SPAN_VIRTUAL : 0);
	struct file_progress fp = { .done = 0 };
	int rc;

	progress_start(&fp.pg, r->cli, "read", o->len);
	rc = xfm_dump_span(r->h, o->out, o->addr, o->len, flags, on_progress,
			   &fp);
	progress_end(&fp.pg);
	if (rc == -ECANCELED || (rc < 0 && cli_interrupted)) {
		cli_err(r->cli, "interrupted at 0x%" PRIx64, o->addr + fp.done);
		return EXIT_INTERRUPTED;
	}
	/* The span was checked: a failure now is the output's (even
	 * -ENOENT, a missing directory) or the source's own trouble. */
	if (rc < 0) {
		rc = cli_lib_err(r->cli, rc, NULL);
		return rc == EXIT_RANGE ? EXIT_RUNTIME : rc;
	}
	report_file(r->cli, o);
	return EXIT_OK;
}

static int do_read(struct cli *cli, xfm_handle *h, const struct read_opts *o)
{
	struct reader r = { .cli = cli, .h = h, .o = o, .fd = STDOUT_FILENO };
	int rc;

	switch (o->sink) {
	case SINK_FILE:
		return read_to_file(&r);
	case SINK_JSON:
		r.json_buf = malloc((size_t)o->len);
		if (!r.json_buf) {
			cli_err(cli, "out of memory");
			return EXIT_RUNTIME;
		}
		rc = copy_span(&r);
		if (!rc)
			rc = finish_json(&r);
		free(r.json_buf);
		return rc;
	case SINK_HEXDUMP:
		rc = copy_span(&r);
		return rc ? rc : finish_hexdump(o);
	default:
		return copy_span(&r);
	}
}

/* Refuse, before any output, a span that is not all in the source
 * (only the span is looked at: a live guest is not probed whole). */
static int check_span(struct cli *cli, xfm_handle *h,
		      const struct read_opts *o)
{
	if (o->flags & XFM_READ_ZERO_FILL)
		return 0;
	return cli_check_span(cli, h, o->addr, o->len, " (see 'xfm ranges'; "
			      "--zero-fill reads holes as zeros)");
}

static int read_args(struct cli *cli, int argc, char **argv,
		     struct read_opts *o)
{
	const char *why;
	bool has_len;

	if (argc < 2)
		return cli_usage(cli, argc ? "missing ADDR" :
				 "missing SOURCE (see 'xfm help read')");
	if (parse_range(argv[1], &o->addr, &o->len, &has_len, &why) < 0)
		return cli_usage(cli, "ADDR '%s': %s", argv[1], why);
	if (has_len && argc > 2)
		return cli_usage(cli, "LEN given twice ('%s' and '%s')",
				 argv[1], argv[2]);
	if (!has_len && argc < 3)
		return cli_usage(cli, "missing LEN (or use ADDR+LEN)");
	if (argc > 3 || (has_len && argc > 2))
		return cli_usage(cli, "too many arguments");
	if (!has_len && parse_size(argv[2], &o->len, &why) < 0)
		return cli_usage(cli, "LEN '%s': %s", argv[2], why);
	if (o->len > UINT64_MAX - o->addr)
		return cli_usage(cli, "0x%" PRIx64 "+0x%" PRIx64 ": range "
				 "wraps past the end of the address space",
				 o->addr, o->len);
	return 0;
}

/* Pick the sink from the flags; refuse the combinations that clash. */
static int choose_sink(struct cli *cli, bool raw, struct read_opts *o)
{
	if (raw && o->out)
		return cli_usage(cli, "--raw and -o are exclusive");
	if (raw && cli->json)
		return cli_usage(cli, "--raw and --json are exclusive");
	if (o->out)
		o->sink = SINK_FILE;
	else if (raw)
		o->sink = SINK_RAW;
	else if (cli->json)
		o->sink = SINK_JSON;
	if (o->sink == SINK_RAW && isatty(STDOUT_FILENO))
		return cli_usage(cli, "refusing to write raw bytes to a "
				 "terminal (redirect, or use -o FILE)");
	if (o->sink == SINK_JSON && o->len > JSON_MAX)
		return cli_usage(cli, "--json reads at most 16 MiB (use -o)");
	return 0;
}

enum { OPT_RAW = OPT_FIRST_CMD, OPT_ZERO };

static int read_main(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "raw", no_argument, NULL, OPT_RAW },
		{ "output", required_argument, NULL, 'o' },
		{ "zero-fill", no_argument, NULL, OPT_ZERO },
		{ "no-squeeze", no_argument, NULL, 'v' },
		VA_LONGOPTS,
		COMMON_LONGOPTS
	};
	struct read_opts o = { .sink = SINK_HEXDUMP };
	bool raw = false;
	xfm_handle *h;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":o:v" COMMON_SHORTOPTS, opts,
				NULL)) != -1) {
		if (c == OPT_RAW)
			raw = true;
		else if (c == 'o')
			o.out = optarg;
		else if (c == OPT_ZERO)
			o.flags |= XFM_READ_ZERO_FILL;
		else if (c == 'v')
			o.no_squeeze = true;
		else if (cli_va_opt(c, &o.va, &o.root))
			continue;
		else if ((rc = cli_common_opt(cli, &cmd_read, c, argv)) >= 0)
			return rc;
	}
	rc = read_args(cli, argc - optind, argv + optind, &o);
	if (!rc)
		rc = choose_sink(cli, raw, &o);
	if (rc)
		return rc;
	rc = cli_open(cli, argv[optind], 0, &h);
	if (rc)
		return rc;
	rc = cli_va_check(cli, o.va, o.root);
	if (!rc)
		rc = o.va ? cli_va_root(cli, h, o.root) : check_span(cli, h, &o);
	if (!rc)
		rc = do_read(cli, h, &o);
	xfm_close(h);
	return rc;
}

const struct command cmd_read = {
	.name = "read",
	.summary = "read guest memory: hexdump, raw bytes or a file",
	.usage =
	"Usage: xfm read [OPTIONS] SOURCE ADDR LEN\n"
	"       xfm read [OPTIONS] SOURCE ADDR+LEN | ADDR..END\n"
	"\n"
	"Read LEN bytes of guest-physical memory at ADDR.  Numbers are\n"
	"decimal or 0x-hex with an optional k/M/G/T suffix; END is exclusive.\n"
	"Default output is `hexdump -C` style with guest addresses.\n"
	"\n"
	"  --raw            raw bytes to stdout (not to a terminal)\n"
	"  -o, --output F   write the bytes to F (via a temporary file,\n"
	"                   renamed only when complete)\n"
	"  --zero-fill      read absent frames as zeros instead of failing\n"
	"  -v, --no-squeeze print repeated lines instead of '*'\n"
	"  --va             ADDR is guest-virtual (through the page tables;\n"
	"                   --zero-fill also reads unmapped pages as zeros)\n"
	"  --root ROOT      the page-table root for --va (see 'xfm help\n"
	"                   translate'; default: the vCPU's or the kernel's)\n"
	"  --json           {\"address\",\"length\",\"data\": hex} (<= 16 MiB)\n",
	.run = read_main,
};
