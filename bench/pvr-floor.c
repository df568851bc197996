// SPDX-License-Identifier: LGPL-2.1-only
/*
 * pvr-floor.c - the floor of reading a process's memory 8 bytes at a
 * time: bare process_vm_readv calls at random 8-byte offsets of
 * [HVA, HVA + LEN) of process PID, for SECS seconds; prints reads/s.
 * bench/bench-qemu-ram.sh runs it on the anonymous-RAM guest beside xfm's
 * own reads of that guest (each of which is one such call).
 *
 * usage: pvr-floor PID HVA LEN SECS
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, n = 0, v, hva, len;
	double secs, t0, t1;
	pid_t pid;

	if (argc != 5) {
		fprintf(stderr, "usage: pvr-floor PID HVA LEN SECS\n");
		return 2;
	}
	pid = (pid_t)strtol(argv[1], NULL, 0);
	hva = strtoull(argv[2], NULL, 0);
	len = strtoull(argv[3], NULL, 0);
	secs = atof(argv[4]);
	if (len < 8)
		return 2;
	t0 = now();
	do {
		for (int i = 0; i < 64; i++) {
			struct iovec l = { &v, 8 }, r;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			r.iov_base = (void *)(uintptr_t)(hva + seed % (len / 8) * 8);
			r.iov_len = 8;
			if (process_vm_readv(pid, &l, 1, &r, 1, 0) != 8) {
				fprintf(stderr, "pvr-floor: %s\n", strerror(errno));
				return 1;
			}
		}
		n += 64;
		t1 = now();
	} while (t1 - t0 < secs);
	printf("%.0f\n", (double)n / (t1 - t0));
	return 0;
}
