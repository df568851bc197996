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
 * 3. Random 8-byte reads of the large raw image: xfm_read against a plain
 *    mmap + memcpy loop and a pread loop over the same file, same
 *    addresses, 1 s each, the order rotating (bench/host-read.c).
 * 4. Cache hits with 1..ncpu threads on one handle, and hits while another
 *    thread misses (bench/host-read.c).
 * 5. `xfm search` of the large raw image against `grep -c -a -F` of the
 *    same pattern (with --xfm PATH).
 * --only LIST (comma-separated: dump,seqread,rand,threads,search) runs
 * a subset.  Prints one JSON document on stdout; bench/run.sh makes the
 * table.
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

#include "host-read.h"

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

/* "VmPeak:" (peak mapped) or "VmHWM:" (peak resident) in KiB. */
static long status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

/* Dump, then tell the parent (on stdout) the peak mapped bytes. */
static int dump_child(const char *src, const char *out)
{
	xfm_handle *h;
	long base = status_kib("VmSize:");
	int rc = xfm_open(&h, src, XFM_OPEN_QUIET);

	if (rc < 0)
		die(src, -rc);
	rc = xfm_dump(h, out, XFM_DUMP_ELF, XFM_DUMP_OVERWRITE, NULL, NULL);
	if (rc < 0)
		die("xfm_dump", -rc);
	printf("%ld %ld\n", status_kib("VmPeak:"), base);
	return xfm_close(h);
}

/*
 * Dump @src to @out in a fresh process: seconds, peak RSS (KiB) and the
 * peak of mapped address space above what the process had before it
 * opened the source (KiB; privcmd and file mappings count here, not in
 * RSS).
 */
static double dump(const char *src, const char *out, long *rss, long *vm)
{
	double t0 = bm_now();
	struct rusage ru;
	long peak = -1, base = -1;
	int status, fds[2];
	pid_t pid;
	FILE *f;

	if (pipe(fds) < 0)
		die("pipe", errno);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl("/proc/self/exe", "bench-file", "--dump-child", src, out,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f || fscanf(f, "%ld %ld", &peak, &base) != 2)
		peak = base = -1;
	if (f)
		fclose(f);
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4", errno);
	if (!WIFEXITED(status) || WEXITSTATUS(status) || peak < 0)
		die("dump child", EIO);
	*rss = ru.ru_maxrss;
	*vm = peak - base;
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

/* Is @what in the comma-separated @only (everything when NULL)? */
static bool wanted(const char *only, const char *what)
{
	size_t n = strlen(what);
	const char *p = only;

	if (!only)
		return true;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, what, n) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

/* Peak RSS and mapped bytes of a dump, small and large source, alternating. */
static void measure_dump_memory(char raw[2][512], char elf[2][512],
				uint64_t small_mib, uint64_t large_mib)
{
	double rs[16], rl[16], ts[16], tl[16], vs[16], vl[16];
	long rss, vm;

	for (unsigned int r = 0; r < reps; r++) {
		ts[r] = dump(raw[0], elf[0], &rss, &vm);
		rs[r] = (double)rss;
		vs[r] = (double)vm;
		tl[r] = dump(raw[1], elf[1], &rss, &vm);
		rl[r] = (double)rss;
		vl[r] = (double)vm;
	}
	unlink(elf[0]);
	host_json_open("file_dump_rss");
	printf("{\"unit\": \"KiB\", \"params\": {\"small_bytes\": %" PRIu64
	       ", \"large_bytes\": %" PRIu64 ", \"format\": \"elf\"}",
	       small_mib * MIB, large_mib * MIB);
	series("small", rs, reps);
	series("large", rl, reps);
	series("small_secs", ts, reps);
	series("large_secs", tl, reps);
	printf("}");
	host_json_open("file_dump_mapped");
	printf("{\"unit\": \"KiB\", \"params\": {\"small_bytes\": %" PRIu64
	       ", \"large_bytes\": %" PRIu64 ", \"format\": \"elf\", "
	       "\"what\": \"VmPeak - VmSize before xfm_open\"}",
	       small_mib * MIB, large_mib * MIB);
	series("small", vs, reps);
	series("large", vl, reps);
	printf("}");
	fflush(stdout);
	fprintf(stderr, "bench-file: dumps done\n");
}

/* Sequential read of the large dump: xfm_read vs pread. */
static void measure_seqread(const char *path, void *buf)
{
	double x[16], p[16];
	struct bm_space sp;
	struct stat st;
	xfm_handle *h;
	uint64_t got;
	int fd, rc;

	rc = xfm_open(&h, path, XFM_OPEN_QUIET);
	if (rc < 0)
		die(path, -rc);
	rc = bm_space_init(&sp, h);
	if (rc < 0)
		die("memory map", -rc);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(path, errno);
	{
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
	host_json_open("seqread");
	printf("{\"unit\": \"bytes/s\", \"params\": "
	       "{\"file_bytes\": %lld, \"memory_bytes\": %" PRIu64
	       ", \"chunk\": %" PRIu64 ", \"format\": \"elf\"}",
	       (long long)st.st_size, sp.total, CHUNK);
	series("xfm", x, reps);
	series("ref", p, reps);
	printf(", \"interleave_bytes\": %" PRIu64 "}", SEG);
	fflush(stdout);
	bm_space_free(&sp);
}

int main(int argc, char **argv)
{
	const char *dir = "/var/tmp", *only = NULL, *xfm = NULL;
	uint64_t small_mib = 128, large_mib = 1024;
	char raw[2][512], elf[2][512];
	bool need_elf;
	void *buf;
	int i;

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
		else if (!strcmp(argv[i], "--only"))
			only = argv[++i];
		else if (!strcmp(argv[i], "--xfm"))
			xfm = argv[++i];
		else
			break;
	}
	if (i != argc || reps < 1 || reps > 16 || !small_mib || !large_mib) {
		fprintf(stderr, "usage: bench-file [--reps N] [--dir DIR] "
			"[--large-mib N] [--small-mib N] [--only LIST] "
			"[--xfm PATH]\n");
		return 2;
	}
	buf = malloc(CHUNK);
	if (!buf)
		die("malloc", ENOMEM);
	for (int k = 0; k < 2; k++) {
		snprintf(raw[k], sizeof(raw[k]), "%s/xfm-bench-%d.raw", dir, k);
		snprintf(elf[k], sizeof(elf[k]), "%s/xfm-bench-%d.elf", dir, k);
	}
	need_elf = wanted(only, "dump") || wanted(only, "seqread");
	if (need_elf)
		write_raw(raw[0], small_mib);
	write_raw(raw[1], large_mib);
	fprintf(stderr, "bench-file: sources written\n");

	printf("{\"reps\": %u, \"measures\": {", reps);
	if (wanted(only, "dump")) {
		measure_dump_memory(raw, elf, small_mib, large_mib);
	} else if (need_elf) {
		long rss, vm;

		dump(raw[1], elf[1], &rss, &vm);
	}
	if (need_elf)
		unlink(raw[0]);
	if (wanted(only, "seqread"))
		measure_seqread(elf[1], buf);
	if (need_elf)
		unlink(elf[1]);
	if (wanted(only, "rand"))
		host_rand_read(raw[1], reps);
	if (wanted(only, "threads"))
		host_threads(reps);
	if (wanted(only, "search")) {
		if (!xfm) {
			fprintf(stderr, "bench-file: search needs --xfm PATH\n");
			return 2;
		}
		host_search(raw[1], xfm, dir, reps);
	}
	unlink(raw[1]);
	printf("\n}}\n");
	free(buf);
	return 0;
}
