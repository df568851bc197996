/* SPDX-License-Identifier: LGPL-2.1-only */
/* host-read.h - the host's small-read measures (bench/host-read.c). */
#ifndef XFM_BENCH_HOST_READ_H
#define XFM_BENCH_HOST_READ_H

#include "measure.h"

/* Start the JSON measure @id inside bench-file's "measures" object. */
void host_json_open(const char *id);
/* Random 8-byte reads of @raw: xfm_read vs mmap + memcpy vs pread. */
void host_rand_read(const char *raw, unsigned int reps);
/* Cache hits by 1..ncpu threads on one handle; hits beside a misser. */
void host_threads(unsigned int reps);
/* `xfm search` (the program @xfm) of @raw vs `grep -c -a -F`; plants
 * the needle in @raw first.  @tmp: a directory for the output. */
void host_search(const char *raw, const char *xfm, const char *tmp,
		 unsigned int reps);

#endif
