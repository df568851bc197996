/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xfm_dump(): every writer, round-tripped through our own parsers bit for
 * bit; the ELF core checked by readelf and gdb, the Xen dump-core by Xen's
 * readnotes; cancel, EEXIST, ENOSPC (a small tmpfs, as root) leave no
 * file behind; memory stays bounded on a large source.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "craft.h"
#include "tap.h"
#include "xfm.h"
#include "source-fact.h"

#define READNOTES "/usr/lib/xen-4.17/bin/readnotes"

static const char *fmt_name[] = { "", "raw", "elf", "xen-core", "lime" };

static char *tpath(const char *name)
{
	static char p[16][256];
	static int k;

	k = (k + 1) % 16;
	snprintf(p[k], sizeof(p[k]), "%s/%s", craft_tmpdir(), name);
	return p[k];
}

static xfm_handle *open_file(const char *path)
{
	xfm_handle *h = NULL;
	int rc = xfm_open(&h, path, 0);

	if (rc)
		fail_msg("%s: %d %s", path, rc, xfm_last_error());
	return h;
}

/* A LiME source with holes: 3 runs, the last far above the others. */
static const char *make_lime(void)
{
	static const uint64_t r[][2] = {
		{ 0x0, 0x2fff }, { 0x10000, 0x13fff }, { 0x40000000, 0x40000fff },
	};
	struct cbuf b = { 0 };
	char *p = tpath("src.lime");

	craft_lime(&b, r, 3);
	cb_write(&b, p);
	cb_free(&b);
	return p;
}

/* A Xen HVM dump-core with 64 KiB pages. */
static const char *make_xen64k(void)
{
	static const uint64_t pfns[] = { 0, 1, 5, 6, 7 };
	struct cbuf b = { 0 };
	struct craft_xen lay;
	char *p = tpath("src-64k.core");

	craft_xen(&b, false, pfns, 5, 65536, &lay);
	cb_write(&b, p);
	cb_free(&b);
	return p;
}

/* Output @out holds exactly the memory of @src, bit for bit. */
static void compare(xfm_handle *src, xfm_handle *out, bool same_ranges)
{
	xfm_range a[8], b[8];
	int64_t na = xfm_get_ranges(src, a, 8), nb = xfm_get_ranges(out, b, 8);
	uint8_t *x, *y;

	assert_true(na > 0 && na <= 8 && nb > 0 && nb <= 8);
	if (same_ranges) {
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, (size_t)na * sizeof(*a));
	}
	for (int64_t i = 0; i < na; i++) {
		x = malloc(a[i].size);
		y = malloc(a[i].size);
		assert_int_equal(xfm_read(src, a[i].start, x, a[i].size, 0), 0);
		assert_int_equal(xfm_read(out, a[i].start, y, a[i].size, 0), 0);
		assert_memory_equal(x, y, a[i].size);
		free(x);
		free(y);
	}
}

static int run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void round_trip(const char *src_path, unsigned int format,
		       const char *tag)
{
	char name[64], cmd[512];
	xfm_handle *src = open_file(src_path), *out;
	const char *out_path;
	xfm_geometry g1, g2;

	snprintf(name, sizeof(name), "out-%s.%s", tag, fmt_name[format]);
	out_path = tpath(name);
	if (xfm_dump(src, out_path, format, 0, NULL, NULL) != 0)
		fail_msg("dump %s: %s", name, xfm_last_error());
	out = open_file(out_path);
	assert_string_equal(fact(out, "format"), fmt_name[format]);
	compare(src, out, format != XFM_DUMP_RAW);
	xfm_get_geometry(src, &g1, sizeof(g1));
	xfm_get_geometry(out, &g2, sizeof(g2));
	if (format == XFM_DUMP_XEN_CORE)
		assert_int_equal(g1.frame_size, g2.frame_size);
	if (format == XFM_DUMP_ELF) {
		snprintf(cmd, sizeof(cmd), "readelf -lW '%s' 2>&1 | grep -q "
			 "-i warning && exit 1; readelf -lW '%s' >/dev/null",
			 out_path, out_path);
		assert_int_equal(run(cmd), 0);
	}
	if (format == XFM_DUMP_XEN_CORE) {
		/* it walks .note.Xen: our four notes must be listed */
		if (access(READNOTES, X_OK) != 0)
			fail_msg("%s: %s (install xen-utils-4.17, as "
				 "scripts/deps.sh test does)", READNOTES,
				 strerror(errno));
		snprintf(cmd, sizeof(cmd), READNOTES " '%s' 2>&1 | grep -c "
			 "'note type 0x200000[0-3]' | grep -qx 4", out_path);
		assert_int_equal(run(cmd), 0);
	}
	xfm_close(out);
	xfm_close(src);
	unlink(out_path);
}

static void lime_to_all(void **state)
{
	const char *src = make_lime();

	(void)state;
	for (unsigned int f = XFM_DUMP_RAW; f <= XFM_DUMP_LIME; f++)
		round_trip(src, f, "lime");
}

static void xen64k_to_all(void **state)
{
	const char *src = make_xen64k();

	(void)state;
	for (unsigned int f = XFM_DUMP_RAW; f <= XFM_DUMP_LIME; f++)
		round_trip(src, f, "x64k");
}

/* Every output re-dumped in every format (second generation). */
static void chain(void **state)
{
	const char *src = make_lime();
	const char *mid = tpath("chain-mid");

	(void)state;
	for (unsigned int f = XFM_DUMP_ELF; f <= XFM_DUMP_LIME; f++) {
		xfm_handle *h = open_file(src);

		assert_int_equal(xfm_dump(h, mid, f, XFM_DUMP_OVERWRITE, NULL,
					  NULL), 0);
		xfm_close(h);
		for (unsigned int g = XFM_DUMP_ELF; g <= XFM_DUMP_LIME; g++)
			round_trip(mid, g, "chain");
	}
	unlink(mid);
}

/* gdb reads the ELF core: p_vaddr = p_paddr, so x/ works on addresses. */
static void gdb_reads_elf(void **state)
{
	const char *src = make_lime(), *out = tpath("gdb.elf");
	char cmd[512], line[256], want[64];
	xfm_handle *h = open_file(src);
	FILE *p;
	bool ok = false;

	(void)state;
	if (run("command -v gdb >/dev/null") != 0)
		skip();
	assert_int_equal(xfm_dump(h, out, XFM_DUMP_ELF, 0, NULL, NULL), 0);
	xfm_close(h);
	snprintf(cmd, sizeof(cmd), "gdb -batch -nx -ex 'core-file %s' "
		 "-ex 'x/2xb 0x40000010' 2>&1", out);
	snprintf(want, sizeof(want), "0x%02x\t0x%02x",
		 craft_pat(0x40000010), craft_pat(0x40000011));
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		print_message("# gdb: %s", line);
		if (strstr(line, "0x40000010") && strstr(line, want))
			ok = true;
	}
	pclose(p);
	assert_true(ok);
	unlink(out);
}

/* No stray temporary file in the test directory. */
static int leftovers(void)
{
	DIR *d = opendir(craft_tmpdir());
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".xfm-") != NULL;
	if (d)
		closedir(d);
	return n;
}

static int cancel_after(void *opaque, uint64_t done, uint64_t total)
{
	int *calls = opaque;

	(void)total;
	++*calls;
	return done > 0;
}

static void cancel_and_exists(void **state)
{
	const char *src = make_lime(), *out = tpath("cancel.elf");
	xfm_handle *h = open_file(src);
	int calls = 0;
	struct stat st;

	(void)state;
	for (unsigned int f = XFM_DUMP_RAW; f <= XFM_DUMP_LIME; f++) {
		assert_int_equal(xfm_dump(h, out, f, 0, cancel_after, &calls),
				 -ECANCELED);
		assert_non_null(strstr(xfm_last_error(), out));
		assert_int_equal(stat(out, &st), -1);
		assert_int_equal(leftovers(), 0);
	}
	assert_true(calls >= 8);
	assert_int_equal(xfm_dump(h, out, XFM_DUMP_LIME, 0, NULL, NULL), 0);
	assert_int_equal(xfm_dump(h, out, XFM_DUMP_LIME, 0, NULL, NULL),
			 -EEXIST);
	assert_int_equal(xfm_dump(h, out, XFM_DUMP_ELF, XFM_DUMP_OVERWRITE,
				  NULL, NULL), 0);
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(xfm_dump(h, out, 9, XFM_DUMP_OVERWRITE, NULL, NULL),
			 -EINVAL);
	assert_int_equal(xfm_dump(h, out, XFM_DUMP_RAW, 0x10, NULL, NULL),
			 -EINVAL);
	assert_int_equal(xfm_dump(h, "/nonexistent-dir/x", XFM_DUMP_RAW, 0,
				  NULL, NULL), -ENOENT);
	assert_non_null(strstr(xfm_last_error(), "/nonexistent-dir/x"));
	assert_int_equal(leftovers(), 0);
	xfm_close(h);
	unlink(out);
}

/* A 1 MiB tmpfs: every format fails with ENOSPC and leaves nothing. */
static void enospc(void **state)
{
	char mnt[300], out[320], big[300];
	struct cbuf b = { 0 };
	xfm_handle *h;
	DIR *d;
	struct dirent *e;

	(void)state;
	if (geteuid() != 0) {
		print_message("# ENOSPC test needs root to mount a tmpfs\n");
		skip();
	}
	snprintf(mnt, sizeof(mnt), "%s/small", craft_tmpdir());
	mkdir(mnt, 0755);
	if (mount("xfm-test", mnt, "tmpfs", 0, "size=1m") != 0) {
		print_message("# cannot mount a tmpfs: %s\n", strerror(errno));
		skip();
	}
	snprintf(big, sizeof(big), "%s/big.raw", craft_tmpdir());
	cb_pat(&b, 0, 0, 3 << 20);
	cb_write(&b, big);
	cb_free(&b);
	h = open_file(big);
	snprintf(out, sizeof(out), "%s/full.dump", mnt);
	for (unsigned int f = XFM_DUMP_RAW; f <= XFM_DUMP_LIME; f++) {
		assert_int_equal(xfm_dump(h, out, f, 0, NULL, NULL), -ENOSPC);
		print_message("# %s: %s\n", fmt_name[f], xfm_last_error());
		assert_non_null(strstr(xfm_last_error(), out));
		assert_non_null(strstr(xfm_last_error(), "offset 0x"));
		d = opendir(mnt);
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' || strlen(e->d_name) > 2)
				fail_msg("left behind: %s", e->d_name);
		closedir(d);
	}
	xfm_close(h);
	umount(mnt);
	unlink(big);
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* 1 GiB sparse raw source: memory stays bounded; report the rate. */
static void bounded_memory(void **state)
{
	const char *src = tpath("big-sparse.raw"), *out = tpath("big.elf");
	uint64_t size = UINT64_C(1) << 30;
	struct timeval t0, t1;
	long before;
	xfm_handle *h;
	double secs;
	int fd;

	(void)state;
	fd = open(src, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	assert_int_equal(pwrite(fd, "tail", 4, (off_t)size - 4), 4);
	close(fd);
	h = open_file(src);
	before = maxrss_kib();
	gettimeofday(&t0, NULL);
	assert_int_equal(xfm_dump(h, out, XFM_DUMP_RAW, 0, NULL, NULL), 0);
	gettimeofday(&t1, NULL);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6;
	print_message("# raw dump of 1 GiB: %.2f s (%.0f MiB/s), max RSS "
		      "+%ld KiB\n", secs, 1024 / secs, maxrss_kib() - before);
	assert_true(maxrss_kib() - before < 32 * 1024);
	xfm_close(h);
	h = open_file(out);
	{
		char t[4];

		assert_int_equal(xfm_read(h, size - 4, t, 4, 0), 0);
		assert_memory_equal(t, "tail", 4);
	}
	xfm_close(h);
	unlink(out);
	unlink(src);
}

/* More PT_LOADs than e_phnum can hold: the PN_XNUM escape, both ways. */
static void elf_xnum_writer(void **state)
{
	enum { N = 70000 };
	struct craft_load *l = calloc(N, sizeof(*l));
	const char *src = tpath("many.elf"), *out = tpath("many-out.elf");
	struct craft_elf lay;
	struct cbuf b = { 0 };
	xfm_handle *h;
	char cmd[512];

	(void)state;
	for (size_t i = 0; i < N; i++)  /* every other page, stored as 0s */
		l[i] = (struct craft_load){ i * 8192, 0, 4096 };
	craft_elf(&b, true, false, l, N, true, &lay);
	cb_write(&b, src);
	cb_free(&b);
	free(l);
	h = open_file(src);
	assert_int_equal(xfm_get_ranges(h, NULL, 0), N);
	assert_int_equal(xfm_dump(h, out, XFM_DUMP_ELF, 0, NULL, NULL), 0);
	xfm_close(h);
	h = open_file(out);
	assert_int_equal(xfm_get_ranges(h, NULL, 0), N);
	assert_string_equal(fact(h, "elf.loads"), "70000");
	/* The source's PT_NOTE (CORE, QEMU notes) is kept: one more. */
	assert_string_equal(fact(h, "elf.notes"), "2");
	xfm_close(h);
	snprintf(cmd, sizeof(cmd), "readelf -hW '%s' | grep -q "
		 "'Number of program headers: *65535 (70001)'", out);
	assert_int_equal(run(cmd), 0);
	unlink(out);
	unlink(src);
}

static int teardown(void **state)
{
	(void)state;
	craft_rmdir();
	return 0;
}

static int run_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lime_to_all),
		cmocka_unit_test(xen64k_to_all),
		cmocka_unit_test(chain),
		cmocka_unit_test(gdb_reads_elf),
		cmocka_unit_test(cancel_and_exists),
		cmocka_unit_test(enospc),
		cmocka_unit_test(bounded_memory),
		cmocka_unit_test(elf_xnum_writer),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}

int main(void)
{
	return tap_run(run_group);
}
