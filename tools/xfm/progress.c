/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * progress.c - one self-erasing status line on stderr:
 *
 *   dump  42% [=========>             ] 1.6 GiB/4.0 GiB 812.3 MiB/s ETA 0:03
 *
 * Only on a terminal and without -q: in a pipe or a log it would be noise.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Redraw at most this often: drawing is cheap, terminals are not. */
#define REDRAW_SECONDS 0.1
/* Room for "1023.9 MiB/1023.9 GiB 1023.9 MiB/s ETA 99:59:59". */
#define TAIL_WIDTH 46

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int term_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

void progress_start(struct progress *p, const struct cli *cli,
		    const char *label, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->on = !cli->quiet && isatty(STDERR_FILENO);
	p->label = label;
	p->total = total;
	p->start = now_seconds();
}

static void fmt_eta(char *buf, size_t len, double secs)
{
	unsigned int s = secs > 0 && secs < 359999 ?
		(unsigned int)(secs + 0.5) : 0;

	if (secs < 0 || secs > 359999)
		snprintf(buf, len, "--:--");
	else if (s >= 3600)
		snprintf(buf, len, "%u:%02u:%02u", s / 3600 % 100, s / 60 % 60,
			 s % 60);
	else
		snprintf(buf, len, "%u:%02u", s / 60 % 60, s % 60);
}

/* The text after the bar: "1.6 GiB/4.0 GiB 812.3 MiB/s ETA 0:03". */
static void fmt_tail(const struct progress *p, uint64_t done, double t,
		     char *buf, size_t len)
{
	char d[32], tot[32], rate[32], eta[32];
	double bps = t > 0 ? (double)done / t : 0;

	fmt_size(d, sizeof(d), done);
	fmt_size(tot, sizeof(tot), p->total);
	fmt_size(rate, sizeof(rate), (uint64_t)bps);
	fmt_eta(eta, sizeof(eta), bps > 0 ?
		(double)(p->total - done) / bps : -1);
	snprintf(buf, len, "%s/%s %s/s ETA %s", d, tot, rate, eta);
}

static void draw(struct progress *p, uint64_t done, double t)
{
	char tail[160], bar[256];
	int pct = p->total ? (int)(done * 100.0 / (double)p->total) : 100;
	int width = term_width() - 1, fill, n;

	fmt_tail(p, done, t, tail, sizeof(tail));
	/*
	 * label, " 100% [", "] ", tail padded to TAIL_WIDTH: the bar gets
	 * what is left, the same on every redraw so it does not jitter.
	 */
	n = width - (int)strlen(p->label) - TAIL_WIDTH - 10;
	if (n > (int)sizeof(bar) - 1)
		n = (int)sizeof(bar) - 1;
	if (n < 10)
		n = 10;
	fill = n * pct / 100;
	memset(bar, '=', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(n - fill));
	if (fill > 0 && fill < n)
		bar[fill - 1] = '>';
	bar[n] = '\0';
	p->width = fprintf(stderr, "\r%s %3d%% [%s] %-*s", p->label, pct, bar,
			   TAIL_WIDTH, tail) - 1;
	fflush(stderr);
}

void progress_update(struct progress *p, uint64_t done)
{
	double t;

	if (!p->on)
		return;
	t = now_seconds();
	if (t - p->last_draw < REDRAW_SECONDS && done < p->total)
		return;
	p->last_draw = t;
	if (done > p->total)
		done = p->total;
	draw(p, done, t - p->start);
}

void progress_end(struct progress *p)
{
	if (!p->on || !p->width)
		return;
	fprintf(stderr, "\r%*s\r", p->width, "");
	fflush(stderr);
	p->width = 0;
}
