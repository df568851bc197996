/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * main.c - global options, the command table, dispatch.
 *
 *   xfm [--json] [-q] COMMAND [OPTIONS] SOURCE [ARGS]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef XFM_VERSION
#define XFM_VERSION "unknown"
#endif

volatile int cli_interrupted;

static const struct command *const commands[] = {
	&cmd_info, &cmd_read, &cmd_write, &cmd_search,
	&cmd_ranges, &cmd_dump, &cmd_bench, &cmd_translate,
#ifdef HAVE_FUSE3
	&cmd_mount, &cmd_drgn,
#endif
};
#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i]->name, name) ||
		    (commands[i]->alias && !strcmp(commands[i]->alias, name)))
			return commands[i];
	return NULL;
}

static void main_help(FILE *f)
{
	fputs("Usage: xfm [--json] [-q] COMMAND [OPTIONS] SOURCE [ARGS]\n"
	      "       xfm help [COMMAND] | --help | --version\n"
	      "\n"
	      "Map, read and write another machine's memory.\n"
	      "\n"
	      "SOURCE is xen:<domid>, xen:<name>, file:<path>, <path>\n"
	      "or qemu:<qmp-socket>.\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i]->name,
			commands[i]->summary);
	fputs("\n"
	      "Global options:\n"
	      "  --json       print data as one JSON document\n"
	      "  -q, --quiet  no progress bar or messages, only errors\n"
	      "  -h, --help   this help; `xfm help COMMAND` for a command\n"
	      "  --version    print the version\n"
	      "\n"
	      "Exit status: 0 ok, 1 runtime error, 2 usage error, 3 source\n"
	      "could not be opened, 4 address not in the source,\n"
	      "130 interrupted.  See xfm(1).\n", f);
}

void cli_help(const struct command *cmd, FILE *f)
{
	fputs(cmd->usage, f);
	fputs("\nCommon options: --json, -q/--quiet, -h/--help.\n", f);
}

int cli_common_opt(struct cli *cli, const struct command *cmd, int c,
		   char **argv)
{
	switch (c) {
	case OPT_JSON:
		cli->json = true;
		return -1;
	case 'q':
		cli->quiet = true;
		return -1;
	case 'h':
		cli_help(cmd, stdout);
		return EXIT_OK;
	case ':':
		return cli_usage(cli, "option '%s' needs an argument",
				 argv[optind - 1]);
	default:
		/* opterr is 0: getopt printed nothing, say it once here. */
		if (optopt && optopt < 0x100)
			return cli_usage(cli, "unknown option '-%c'", optopt);
		return cli_usage(cli, "unknown option '%s'",
				 argv[optind - 1]);
	}
}

static int help_command(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		main_help(stdout);
		return EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return cli_usage(cli, "unknown command '%s' (see 'xfm --help')",
				 argv[1]);
	cli_help(cmd, stdout);
	return EXIT_OK;
}

static void on_signal(int sig)
{
	(void)sig;
	cli_interrupted = 1;
}

/*
 * Long loops poll cli_interrupted so that temporary files are removed
 * and the terminal line is cleaned; without SA_RESTART a blocked read
 * returns EINTR rather than finishing a huge request first.
 */
static void set_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed pipe (xfm read ... | head) is an EPIPE, not a kill. */
	signal(SIGPIPE, SIG_IGN);
}

enum { OPT_VERSION = OPT_FIRST_CMD };

static const struct option global_opts[] = {
	{ "version", no_argument, NULL, OPT_VERSION },
	COMMON_LONGOPTS
};

static const struct command global_cmd = {
	.name = "xfm", .usage = "",
};

/* Parse options before COMMAND; returns -1 to go on, else exit code. */
static int global_options(struct cli *cli, int argc, char **argv)
{
	int c;

	/* '+': stop at COMMAND, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+:" COMMON_SHORTOPTS,
				global_opts, NULL)) != -1) {
		switch (c) {
		case OPT_VERSION:
			printf("xfm %s\n", XFM_VERSION);
			return EXIT_OK;
		case 'h':
			main_help(stdout);
			return EXIT_OK;
		default:
			c = cli_common_opt(cli, &global_cmd, c, argv);
			if (c >= 0)
				return c;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct cli cli = { .cmd = NULL };
	const struct command *cmd;
	int rc;

	opterr = 0;
	rc = global_options(&cli, argc, argv);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage(&cli, "no command given (see 'xfm --help')");
	argc -= optind;
	argv += optind;
	if (!strcmp(argv[0], "help"))
		return help_command(&cli, argc, argv);
	cmd = find_command(argv[0]);
	if (!cmd)
		return cli_usage(&cli,
				 "unknown command '%s' (see 'xfm --help')",
				 argv[0]);
	cli.cmd = cmd->name;
	set_signals();
	optind = 0; /* glibc: 0 re-initialises getopt for a new vector */
	return cmd->run(&cli, argc, argv);
}
