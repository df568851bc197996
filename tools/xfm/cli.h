/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * cli.h - the one internal header of the xfm command-line tool.
 *
 * main.c owns the global options and dispatches to one run function per
 * command (cmd-*.c).  parse.c turns arguments into numbers, output.c
 * formats text and JSON, progress.c draws the progress bar, open.c
 * turns a SOURCE argument into an open libxfm handle.
 */
#ifndef XFM_CLI_H
#define XFM_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "xfm.h"

/* Exit codes: documented in docs/xfm.1 (EXIT STATUS); keep them in step. */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,     /* I/O, read or write failure, dump failed */
	EXIT_USAGE = 2,       /* bad command line, bad number or pattern */
	EXIT_SOURCE = 3,      /* the source could not be opened */
	EXIT_RANGE = 4,       /* address not in the source / past its end */
	EXIT_GONE = 5,        /* the live guest went away (destroyed, or
			       * saved and restored under a new id) */
	EXIT_INTERRUPTED = 130, /* SIGINT or SIGTERM; nothing half-written */
};

/* Global state of one run: options that every command honours. */
struct cli {
	bool json;     /* --json: one JSON document on stdout */
	bool quiet;    /* -q: no progress, no chatter, errors only */
	const char *cmd; /* name of the running command, for messages */
};

struct command {
	const char *name;
	const char *alias;    /* another name it answers to, or NULL */
	const char *summary;  /* one line, for `xfm --help` */
	const char *usage;    /* full help text, for `xfm help NAME` */
	int (*run)(struct cli *cli, int argc, char **argv);
};

extern const struct command cmd_info, cmd_read, cmd_write, cmd_search,
	cmd_ranges, cmd_dump, cmd_bench, cmd_translate, cmd_mount, cmd_drgn;

/* --- main.c: option handling shared by every command -------------- */

/* Option values above any character, for long-only options. */
enum { OPT_JSON = 0x100, OPT_FIRST_CMD = 0x110 };

/* Long options every command accepts; end a command's table with it. */
#define COMMON_LONGOPTS                                  \
	{ "json", no_argument, NULL, OPT_JSON },         \
	{ "quiet", no_argument, NULL, 'q' },             \
	{ "help", no_argument, NULL, 'h' },              \
	{ NULL, 0, NULL, 0 }
#define COMMON_SHORTOPTS "qh"

/*
 * Handle an option getopt_long returned that the command did not: the
 * common ones, or an error.  Returns -1 to continue parsing, else the
 * exit code the command must return at once (after --help, EXIT_OK).
 */
int cli_common_opt(struct cli *cli, const struct command *cmd, int c,
		   char **argv);

/* Print a command's help to @f. */
void cli_help(const struct command *cmd, FILE *f);

/* --- output.c ------------------------------------------------------ */

/* "xfm: <cmd>: <why>" on stderr, one line. */
void cli_err(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print a usage error and return EXIT_USAGE. */
int cli_usage(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Map a libxfm error code to an exit code, print xfm_last_error(). */
int cli_lib_err(const struct cli *cli, int rc, const char *what);
/* Exit code for a libxfm error code. */
int cli_exit_code(int rc);

/* "256 KiB", "1.5 GiB", "12 B": exact when a whole multiple. */
void fmt_size(char *buf, size_t len, uint64_t bytes);
/* One hexdump -C line of @n (<= 16) bytes at guest address @addr. */
void hexdump_line(FILE *f, uint64_t addr, const uint8_t *p, size_t n);

/* Print @obj on stdout (pretty on a terminal), drop the reference. */
int json_emit(json_object *obj);
json_object *json_u64(uint64_t v);
json_object *json_range(uint64_t start, uint64_t size);
/* Lowercase hex string of @n bytes, e.g. "deadbeef". */
json_object *json_hex(const uint8_t *p, size_t n);

/* --- parse.c ------------------------------------------------------- */

/*
 * Each returns 0, or -1 with *why set to a fixed English reason such as
 * "number too large" (for "xfm: read: ADDR '0x1q': <why>").
 */
int parse_u64(const char *s, uint64_t *out, const char **why);
int parse_size(const char *s, uint64_t *out, const char **why);
/* "ADDR", "ADDR+LEN" or "ADDR..END" (END exclusive); *has_len is
 * false for a bare ADDR. */
int parse_range(const char *s, uint64_t *addr, uint64_t *len,
		bool *has_len, const char **why);
/* Hex bytes "deadbeef", "de ad be ef", "de:ad:be:ef", "0xdead";
 * *out is malloc()ed. */
int parse_hex(const char *s, uint8_t **out, size_t *len, const char **why);
/* A positive decimal count that fits in int64_t (--max, --count). */
int parse_count(const char *s, uint64_t *out, const char **why);
/* Seconds as a decimal ("0.5", "2"), > 0 and <= 3600. */
int parse_seconds(const char *s, double *out, const char **why);

/* --- open.c -------------------------------------------------------- */

/*
 * Open SOURCE (a libxfm URI, a path, or xen:<name> resolved through
 * xenstore) with @flags.  On failure prints the error and returns the
 * exit code (EXIT_SOURCE); 0 on success.
 */
int cli_open(const struct cli *cli, const char *source, unsigned int flags,
	     xfm_handle **out);

/*
 * Refuse, before any output, a span not all in the source: 0 when it is,
 * else the exit code after printing "ADDR+LEN: address GAP is not in the
 * source<why>" (or the library's error).
 */
int cli_check_span(struct cli *cli, xfm_handle *h, uint64_t addr,
		   uint64_t len, const char *why);

/* --- cmd-translate.c: guest-virtual addresses ----------------------- */

/* Parse a --root value (see `xfm help translate`); 0 or -1 with *why. */
int cli_parse_root(const char *s, xfm_vm_root *r, const char **why);
/* Apply --root @spec (NULL: the handle finds one); 0 or an exit code. */
int cli_va_root(struct cli *cli, xfm_handle *h, const char *spec);

/* --va and --root, for read, write and search (values above any one
 * command's own options). */
enum { OPT_VA = 0x1f0, OPT_VA_ROOT };
#define VA_LONGOPTS                                          \
	{ "va", no_argument, NULL, OPT_VA },                 \
	{ "root", required_argument, NULL, OPT_VA_ROOT }
/* Take @c if it is --va or --root (true), else leave it (false). */
bool cli_va_opt(int c, bool *va, const char **root);
/* "--root needs --va" (EXIT_USAGE) when @root is given without @va. */
int cli_va_check(struct cli *cli, bool va, const char *root);

/* --- progress.c ---------------------------------------------------- */

struct progress {
	bool on;            /* drawing at all (TTY, not -q) */
	const char *label;
	uint64_t total;
	double start;       /* monotonic seconds */
	double last_draw;
	int width;          /* characters last drawn, to clear them */
};

void progress_start(struct progress *p, const struct cli *cli,
		    const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
/* Erase the bar; stderr is left at the start of an empty line. */
void progress_end(struct progress *p);
double now_seconds(void);

/* --- signals (main.c) ---------------------------------------------- */

/* Set by SIGINT/SIGTERM: long loops poll it and clean up. */
extern volatile int cli_interrupted;

#endif /* XFM_CLI_H */
