/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * tap.h - the tests' one TAP helper for C.  Needs only libc (the lab's
 * dom0 runs it too).
 *
 * Plain checks, one process, in order:
 *   tap_ok(cond, fmt, ...)   "ok N - ..." or "not ok N - ..."
 *   tap_skip(fmt, ...)       "ok N # SKIP ..." (a failure under CI=true)
 *   tap_diag(fmt, ...)       "# ..."
 *   tap_done()               the plan "1..N"; returns the exit status
 *
 * A cmocka group: tap_run(run).  cmocka 1.1.5 prints a skipped test as
 * "not ok N # SKIP", which TAP harnesses (meson, scripts/tally.py) take as
 * a failure; the TAP spec says "ok".  So the group runs in a child and its
 * lines are corrected on the way.
 */
#ifndef XFM_TEST_TAP_H
#define XFM_TEST_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused))
static int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	tap_failed += !cond;
	return cond;
}

__attribute__((format(printf, 1, 2), unused))
static void tap_skip(const char *fmt, ...)
{
	va_list ap;

	printf("ok %d # SKIP ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

__attribute__((format(printf, 1, 2), unused))
static void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

__attribute__((unused))
static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

__attribute__((unused))
static int tap_run(int (*run)(void))
{
	char line[4096];
	int fds[2], st;
	pid_t pid;
	FILE *in;

	fflush(stdout);
	if (pipe(fds) < 0 || (pid = fork()) < 0)
		return run();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		_exit(run() ? 1 : 0);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (in && fgets(line, sizeof(line), in)) {
		if (strncmp(line, "not ok ", 7) == 0 && strstr(line, "# SKIP"))
			fputs(line + 4, stdout);
		else
			fputs(line, stdout);
		fflush(stdout);
	}
	if (in)
		fclose(in);
	if (waitpid(pid, &st, 0) < 0)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

#endif
