/* SPDX-License-Identifier: LGPL-2.1-only */
/* output.c - error lines, sizes, hexdump lines and JSON on stdout. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void vreport(const struct cli *cli, const char *fmt, va_list ap)
{
	/* Build the whole line first: one write, never interleaved. */
	char line[1024];
	int n;

	if (cli->cmd)
		n = snprintf(line, sizeof(line), "xfm: %s: ", cli->cmd);
	else
		n = snprintf(line, sizeof(line), "xfm: ");
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void cli_err(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cli, fmt, ap);
	va_end(ap);
}

int cli_usage(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cli, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

int cli_exit_code(int rc)
{
	switch (rc) {
	case -ENOENT:
	case -ERANGE:
	case -EOVERFLOW:
		return EXIT_RANGE;
	case -ECANCELED:
		return EXIT_INTERRUPTED;
	case -ESRCH:
		return EXIT_GONE;
	default:
		return EXIT_RUNTIME;
	}
}

int cli_lib_err(const struct cli *cli, int rc, const char *what)
{
	const char *msg = xfm_last_error();

	if (!*msg)
		msg = strerror(-rc);
	if (what)
		cli_err(cli, "%s: %s", what, msg);
	else
		cli_err(cli, "%s", msg);
	return cli_exit_code(rc);
}

void fmt_size(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB",
					     "TiB", "PiB", "EiB" };
	unsigned int u = 0;

	while (u < 6 && bytes >= (UINT64_C(1024) << (10 * u)))
		u++;
	if (u == 0) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return;
	}
	/* Whole multiples print exactly ("256 KiB"), others to 0.1. */
	if (!(bytes & ((UINT64_C(1) << (10 * u)) - 1))) {
		snprintf(buf, len, "%" PRIu64 " %s", bytes >> (10 * u),
			 units[u]);
		return;
	}
	snprintf(buf, len, "%.1f %s", (double)bytes / (double)(UINT64_C(1)
		 << (10 * u)), units[u]);
}

/* Same layout as `hexdump -C`, with the guest address as offset. */
void hexdump_line(FILE *f, uint64_t addr, const uint8_t *p, size_t n)
{
	char line[128];
	size_t pos;

	pos = (size_t)snprintf(line, sizeof(line), "%08" PRIx64 " ", addr);
	for (size_t i = 0; i < 16; i++) {
		if (i == 8)
			line[pos++] = ' ';
		if (i < n)
			pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
						" %02x", p[i]);
		else
			pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
						"   ");
	}
	pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "  |");
	for (size_t i = 0; i < n; i++)
		line[pos++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	line[pos++] = '|';
	line[pos++] = '\n';
	fwrite(line, 1, pos, f);
}

int json_emit(json_object *obj)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE | (isatty(STDOUT_FILENO) ?
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
		JSON_C_TO_STRING_PLAIN);
	const char *s = json_object_to_json_string_ext(obj, flags);
	int rc = s && printf("%s\n", s) >= 0 ? 0 : -EIO;

	json_object_put(obj);
	return rc;
}

json_object *json_u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

json_object *json_range(uint64_t start, uint64_t size)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "start", json_u64(start));
	json_object_object_add(o, "end", json_u64(start + size));
	json_object_object_add(o, "size", json_u64(size));
	return o;
}

json_object *json_hex(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	json_object *o;
	char *s = malloc(2 * n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	o = json_object_new_string_len(s, (int)(2 * n));
	free(s);
	return o;
}
