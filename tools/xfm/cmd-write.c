/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cmd-write.c - `xfm write --force-write SOURCE ADDR (--hex H | --file F)`.
 *
 * Writing into a running guest can crash it: nothing is opened for
 * writing unless --force-write is on the command line.
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

#define CHUNK (UINT64_C(1) << 20)
/* Bytes shown back in "wrote ...": enough to recognise, not a dump. */
#define ECHO_BYTES 16

struct write_opts {
	uint64_t addr, len;
	uint8_t *hex;      /* --hex: the bytes */
	const char *file;  /* --file */
	bool va;           /* --va: ADDR is guest-virtual */
	const char *root;  /* --root */
	int fd;
	uint8_t echo[ECHO_BYTES];
};

/* Fill @buf with the next @n bytes to write, from --hex or --file. */
static int next_bytes(const struct cli *cli, struct write_opts *o,
		      uint64_t done, uint8_t *buf, size_t n)
{
	ssize_t r;

	if (o->hex) {
		memcpy(buf, o->hex + done, n);
		return 0;
	}
	r = pread(o->fd, buf, n, (off_t)done);
	if (r == (ssize_t)n)
		return 0;
	cli_err(cli, "%s: %s", o->file, r < 0 ? strerror(errno) :
		"file shrank while being read");
	return -1;
}

static int write_span(struct cli *cli, xfm_handle *h, struct write_opts *o)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t done = 0;
	int rc = 0;

	if (!buf) {
		cli_err(cli, "out of memory");
		return EXIT_RUNTIME;
	}
	while (done < o->len && !rc) {
		uint64_t left = o->len - done;
		size_t n = (size_t)(left < CHUNK ? left : CHUNK);

		if (next_bytes(cli, o, done, buf, n) < 0) {
			rc = EXIT_RUNTIME;
			break;
		}
		if (!done)
			memcpy(o->echo, buf, n < ECHO_BYTES ? n : ECHO_BYTES);
		rc = o->va ? xfm_write_va(h, o->addr + done, buf, n)
			   : xfm_write(h, o->addr + done, buf, n);
		if (rc < 0)
			rc = cli_lib_err(cli, rc, NULL);
		done += n;
	}
	free(buf);
	return rc;
}

static void report(const struct cli *cli, const struct write_opts *o)
{
	size_t n = o->len < ECHO_BYTES ? (size_t)o->len : ECHO_BYTES;
	json_object *obj;

	if (cli->json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "address", json_u64(o->addr));
		json_object_object_add(obj, "length", json_u64(o->len));
		json_object_object_add(obj, "head", json_hex(o->echo, n));
		json_emit(obj);
		return;
	}
	if (cli->quiet)
		return;
	printf("wrote %" PRIu64 " bytes at 0x%" PRIx64 ":", o->len, o->addr);
	for (size_t i = 0; i < n; i++)
		printf(" %02x", o->echo[i]);
	printf("%s\n", o->len > n ? " ..." : "");
}

static int open_data_file(struct cli *cli, struct write_opts *o)
{
	struct stat st;

	o->fd = open(o->file, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0 || fstat(o->fd, &st) < 0) {
		cli_err(cli, "%s: %s", o->file, strerror(errno));
		return EXIT_RUNTIME;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		cli_err(cli, "%s: %s", o->file, S_ISREG(st.st_mode) ?
			"empty file" : "not a regular file");
		return EXIT_USAGE;
	}
	o->len = (uint64_t)st.st_size;
	return 0;
}

static int write_args(struct cli *cli, int argc, char **argv,
		      struct write_opts *o, bool force)
{
	const char *why;

	if (argc != 2)
		return cli_usage(cli, argc < 2 ?
				 "missing SOURCE or ADDR (see 'xfm help write')" :
				 "too many arguments");
	if (parse_u64(argv[1], &o->addr, &why) < 0)
		return cli_usage(cli, "ADDR '%s': %s", argv[1], why);
	if (!o->hex == !o->file)
		return cli_usage(cli, "give exactly one of --hex and --file");
	if (!force)
		return cli_usage(cli, "refusing to write guest memory without "
				 "--force-write");
	if (o->file)
		return open_data_file(cli, o);
	return 0;
}

static int run_write(struct cli *cli, const char *source, struct write_opts *o)
{
	xfm_handle *h;
	int rc;

	if (o->len > UINT64_MAX - o->addr)
		return cli_usage(cli, "range wraps past the end of the "
				 "address space");
	rc = cli_open(cli, source, XFM_OPEN_WRITE, &h);
	if (rc)
		return rc;
	rc = cli_va_check(cli, o->va, o->root);
	if (!rc)
		rc = o->va ? cli_va_root(cli, h, o->root)
			   : cli_check_span(cli, h, o->addr, o->len,
					    "; nothing written");
	if (!rc)
		rc = write_span(cli, h, o);
	if (!rc)
		report(cli, o);
	xfm_close(h);
	return rc;
}

enum { OPT_HEX = OPT_FIRST_CMD, OPT_FILE, OPT_FORCE };

/* One option; -1 to go on, else the exit code to return at once. */
static int write_opt(struct cli *cli, int c, char **argv,
		     struct write_opts *o, bool *force)
{
	const char *why;
	size_t n;

	switch (c) {
	case OPT_HEX:
		if (o->hex)
			return cli_usage(cli, "--hex given twice");
		if (parse_hex(optarg, &o->hex, &n, &why) < 0)
			return cli_usage(cli, "--hex '%s': %s", optarg, why);
		o->len = n;
		return -1;
	case OPT_FILE:
		o->file = optarg;
		return -1;
	case OPT_FORCE:
		*force = true;
		return -1;
	default:
		if (cli_va_opt(c, &o->va, &o->root))
			return -1;
		return cli_common_opt(cli, &cmd_write, c, argv);
	}
}

static int write_main(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hex", required_argument, NULL, OPT_HEX },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "force-write", no_argument, NULL, OPT_FORCE },
		VA_LONGOPTS,
		COMMON_LONGOPTS
	};
	struct write_opts o = { .fd = -1 };
	bool force = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":" COMMON_SHORTOPTS, opts,
				NULL)) != -1)
		if ((rc = write_opt(cli, c, argv, &o, &force)) >= 0)
			goto out;
	rc = write_args(cli, argc - optind, argv + optind, &o, force);
	if (!rc)
		rc = run_write(cli, argv[optind], &o);
out:
	free(o.hex);
	if (o.fd >= 0)
		close(o.fd);
	return rc;
}

const struct command cmd_write = {
	.name = "write",
	.summary = "write bytes into guest memory (needs --force-write)",
	.usage =
	"Usage: xfm write --force-write SOURCE ADDR --hex HEX\n"
	"       xfm write --force-write SOURCE ADDR --file FILE\n"
	"\n"
	"Write bytes at guest-physical ADDR: the bytes of HEX (\"deadbeef\",\n"
	"\"de ad be ef\", \"de:ad:be:ef\") or the whole of FILE.  Writing into a\n"
	"running guest can corrupt or crash it: without --force-write\n"
	"nothing is written (exit 2).  Dump files are read-only.\n"
	"\n"
	"  --hex HEX        the bytes to write\n"
	"  --file FILE      write the contents of FILE\n"
	"  --force-write    really write\n"
	"  --va             ADDR is guest-virtual (every page of the span is\n"
	"                   translated before anything is written)\n"
	"  --root ROOT      the page-table root for --va (see 'xfm help\n"
	"                   translate')\n",
	.run = write_main,
};
