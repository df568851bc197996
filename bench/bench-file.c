// SPDX-License-Identifier: LGPL-2.1-only
/*
 * bench-file.c - host-side benchmarks over dump files.
 *
 * usage: bench-file [--reps N] [--dir DIR] [--large-mib N] [--small-mib N]
 *        bench-file --dump-child SOURCE OUTPUT       (internal)
 *
 * 1. Writes two raw "guests" of non-zero bytes (--small-mib, default 128,
 *    and --large-mib, default 1024) and dumps each to an ELF core with
 *    xfm_dump in a child process: peak RSS (and time) of each.
 * 2. Reads the large ELF dump sequentially through the file source
 *    (xfm_read in 1 MiB chunks over its memory map) and with a plain
 *    pread loop over the same file and chunk size; page cache warm for
 *    both, interleaved 64 MiB segment by segment, the order alternating.
 * Prints one JSON document on stdout; bench/run.sh makes the table.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "measure.h"

#define MIB (UINT64_C(1) << 20)
#define CHUNK MIB

static unsigned int reps = 5;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-file: %s: %s (%s)\n", what, strerror(err),
		xfm_last_error());
	exit(1);
}

/* A raw image of @mib MiB of non-zero pseudo-random bytes. */
static void write_raw(const char *path, uint64_t mib)
{
	uint64_t *buf = malloc(CHUNK), seed = 0x2545f4914f6cdd1dull;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (!buf || fd < 0)
		die(path, buf ? errno : ENOMEM);
	for (uint64_t i = 0; i < mib; i++) {
		for (size_t k = 0; k < CHUNK / 8; k++)
			buf[k] = bm_rand(&seed) | 1;
		if (write(fd, buf, CHUNK) != (ssize_t)CHUNK)
			die(path, errno ? errno : EIO);
	}
	if (close(fd) < 0)
		die(path, errno);
	free(buf);
}

static int dump_child(const char *src, const char *out)
{
	xfm_handle *h;
	int rc = xfm_open(&h, src, XFM_OPEN_QUIET);

	if (rc < 0)
		die(src, -rc);
	rc = xfm_dump(h, out, XFM_DUMP_ELF, XFM_DUMP_OVERWRITE, NULL, NULL);
	if (rc < 0)
		die("xfm_dump", -rc);
	return xfm_close(h);
}

/* Dump @src to @out in a fresh process: seconds, and peak RSS in KiB. */
static double dump(const char *src, const char *out, long *rss)
{
	double t0 = bm_now();
	struct rusage ru;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		execl("/proc/self/exe", "bench-file", "--dump-child", src, out,
		      (char *)NULL);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4", errno);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("dump child", EIO);
	*rss = ru.ru_maxrss;
	return bm_now() - t0;
}

/* One pass over the whole file with pread, @CHUNK bytes at a time. */
static double pread_pass(int fd, void *buf, uint64_t size, uint64_t *bytes)
{
	double t0 = bm_now();

	*bytes = 0;
	for (uint64_t off = 0; off < size; off += CHUNK) {
		ssize_t n = pread(fd, buf, CHUNK, (off_t)off);

		if (n <= 0)
			die("pread", n < 0 ? errno : EIO);
		*bytes += (uint64_t)n;
	}
	return bm_now() - t0;
}

#define SEG (UINT64_C(64) << 20)

/* xfm_read, CHUNK at a time, of the SEG bytes of memory from seg * SEG. */
static double xfm_segment(xfm_handle *h, const struct bm_space *sp,
			  void *buf, uint64_t seg, uint64_t *bytes)
{
	uint64_t off = seg * SEG, end = off + SEG;
	double t0 = bm_now();

	if (end > sp->total)
		end = sp->total;
	while (off < end) {
		uint64_t a = bm_addr_at(sp, off), n = bm_range_left(sp, a);
		int rc;

		if (n > CHUNK)
			n = CHUNK;
		if (n > end - off)
			n = end - off;
		rc = xfm_read(h, a, buf, n, 0);
		if (rc < 0)
			die("xfm_read", -rc);
		off += n;
		*bytes += n;
	}
	return bm_now() - t0;
}

/* pread, CHUNK at a time, of the file's SEG bytes from seg * SEG. */
static double pread_segment(int fd, void *buf, uint64_t seg, uint64_t size,
			    uint64_t *bytes)
{
	uint64_t off = seg * SEG, end = off + SEG;
	double t0 = bm_now();

	if (end > size)
		end = size;
	for (; off < end; off += CHUNK) {
		ssize_t n = pread(fd, buf, end - off < CHUNK ? end - off : CHUNK,
				  (off_t)off);

		if (n <= 0)
			die("pread", n < 0 ? errno : EIO);
		*bytes += (uint64_t)n;
	}
	return bm_now() - t0;
}

static void series(const char *name, const double *v, unsigned int n)
{
	printf(", \"%s\": [", name);
	for (unsigned int i = 0; i < n; i++)
		printf("%s%.6g", i ? ", " : "", v[i]);
	printf("]");
}

int main(int argc, char **argv)
{
	const char *dir = "/var/tmp";
	uint64_t small_mib = 128, large_mib = 1024;
	char raw[2][512], elf[2][512];
	double rs[16], rl[16], ts[16], tl[16], x[16], p[16];
	struct bm_space sp;
	struct stat st;
	xfm_handle *h;
	void *buf;
	long rss;
	int i, fd, rc;

	if (argc == 4 && !strcmp(argv[1], "--dump-child"))
		return dump_child(argv[2], argv[3]);
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			break;
		if (!strcmp(argv[i], "--reps"))
			reps = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir"))
			dir = argv[++i];
		else if (!strcmp(argv[i], "--small-mib"))
			small_mib = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--large-mib"))
			large_mib = strtoull(argv[++i], NULL, 0);
		else
			break;
	}
	if (i != argc || reps < 1 || reps > 16 || !small_mib || !large_mib) {
		fprintf(stderr, "usage: bench-file [--reps N] [--dir DIR] "
			"[--large-mib N] [--small-mib N]\n");
		return 2;
	}
	buf = malloc(CHUNK);
	if (!buf)
		die("malloc", ENOMEM);
	for (int k = 0; k < 2; k++) {
		snprintf(raw[k], sizeof(raw[k]), "%s/xfm-bench-%d.raw", dir, k);
		snprintf(elf[k], sizeof(elf[k]), "%s/xfm-bench-%d.elf", dir, k);
	}
	write_raw(raw[0], small_mib);
	write_raw(raw[1], large_mib);
	fprintf(stderr, "bench-file: sources written\n");

	/* Peak RSS of a dump, small and large source, alternating. */
	for (unsigned int r = 0; r < reps; r++) {
		ts[r] = dump(raw[0], elf[0], &rss);
		rs[r] = (double)rss;
		tl[r] = dump(raw[1], elf[1], &rss);
		rl[r] = (double)rss;
	}
	unlink(raw[0]);
	unlink(raw[1]);
	unlink(elf[0]);
	fprintf(stderr, "bench-file: dumps done\n");

	/* Sequential read of the large dump: xfm_read vs pread. */
	rc = xfm_open(&h, elf[1], XFM_OPEN_QUIET);
	if (rc < 0)
		die(elf[1], -rc);
	rc = bm_space_init(&sp, h);
	if (rc < 0)
		die("memory map", -rc);
	fd = open(elf[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(elf[1], errno);
	{
		uint64_t got;

		struct bm_run warm = { .max_ops = (sp.total + CHUNK - 1) /
					   CHUNK };

		/* The dump just written is still being written back: wait. */
		fsync(fd);
		pread_pass(fd, buf, (uint64_t)st.st_size, &got);
		bm_xfm_seq_read(h, &sp, buf, CHUNK, &warm);
	}
	/*
	 * The host is shared: load changes from one second to the next.  So
	 * each repetition interleaves the two readers segment by segment
	 * (SEG bytes each, the order alternating), and sums their times.
	 */
	for (unsigned int r = 0; r < reps; r++) {
		double tx = 0, tp = 0;
		uint64_t bx = 0, bp = 0;

		for (uint64_t seg = 0; seg * SEG < sp.total; seg++) {
			bool xfm_first = (r + seg) % 2 == 0;

			for (int k = 0; k < 2; k++) {
				if ((k == 0) == xfm_first)
					tx += xfm_segment(h, &sp, buf, seg, &bx);
				else
					tp += pread_segment(fd, buf, seg,
						(uint64_t)st.st_size, &bp);
			}
		}
		x[r] = bx / tx;
		p[r] = bp / tp;
	}
	close(fd);
	xfm_close(h);
	unlink(elf[1]);

	printf("{\"reps\": %u, \"measures\": {\n", reps);
	printf("  \"seqread\": {\"unit\": \"bytes/s\", \"params\": "
	       "{\"file_bytes\": %lld, \"memory_bytes\": %" PRIu64
	       ", \"chunk\": %" PRIu64 ", \"format\": \"elf\"}",
	       (long long)st.st_size, sp.total, CHUNK);
	series("xfm", x, reps);
	series("ref", p, reps);
	printf(", \"interleave_bytes\": %" PRIu64, SEG);
	printf("},\n  \"file_dump_rss\": {\"unit\": \"KiB\", \"params\": "
	       "{\"small_bytes\": %" PRIu64 ", \"large_bytes\": %" PRIu64
	       ", \"format\": \"elf\"}", small_mib * MIB, large_mib * MIB);
	series("small", rs, reps);
	series("large", rl, reps);
	series("small_secs", ts, reps);
	series("large_secs", tl, reps);
	printf("}\n}}\n");
	bm_space_free(&sp);
	free(buf);
	return 0;
}
