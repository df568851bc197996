/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * A real QEMU (TCG, no OS: -S, with known bytes placed at known guest-
 * physical addresses by -device loader) against the live qemu: source,
 * QEMU's own dump-guest-memory ELF against our parser, and our writers
 * against both.  Every QEMU runs under timeout(1) and is killed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "craft.h"
#include "tap.h"
#include "xfm.h"
#include "source-fact.h"

#define QEMU "qemu-system-x86_64"
#define MIB (UINT64_C(1) << 20)

struct blob {
	uint64_t addr;
	size_t len;
};

/* Known bytes (craft_pat of their address) at these guest addresses. */
static const struct blob blobs[] = {
	{ 0x10000, 64 },            /* below the 640 KiB hole */
	{ 0x200000, 8192 },
	{ 0x3fff000, 4096 },        /* the last page of 64 MiB */
};

struct vm {
	pid_t pid;
	char sock[300], ram[300], uri[310];
};

static struct vm vm64;
static struct vm *running[8];   /* stopped by teardown if a test failed */

static const char *tpath(const char *name)
{
	static char p[8][300];
	static int k;

	k = (k + 1) % 8;
	snprintf(p[k], sizeof(p[k]), "%s/%s", craft_tmpdir(), name);
	return p[k];
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Write blob files with the pattern; returns the loader arguments. */
static void blob_file(const struct blob *b, char *path, size_t len)
{
	struct cbuf c = { 0 };

	snprintf(path, len, "%s/blob-%llx", craft_tmpdir(),
		 (unsigned long long)b->addr);
	cb_pat(&c, 0, b->addr, b->len);
	cb_write(&c, path);
	cb_free(&c);
}

static bool sock_ready(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	bool ok;

	strcpy(sa.sun_path, path);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/*
 * Start QEMU: @memobj is the -object argument (NULL: plain -m), @extra
 * blobs placed by -device loader.  Returns false if it did not come up.
 */
/* One more -object for the next vm_start (a DIMM's backend), or NULL. */
static const char *more_object;

static bool vm_start(struct vm *v, const char *tag, const char *mem,
		     const char *memobj, const struct blob *b, size_t nb,
		     const char *above)
{
	char qmp[350], loader[8][400], file[300];
	const char *argv[48];
	int argc = 0;

	snprintf(v->sock, sizeof(v->sock), "%s/%s.sock", craft_tmpdir(), tag);
	snprintf(v->ram, sizeof(v->ram), "%s/%s.ram", craft_tmpdir(), tag);
	snprintf(v->uri, sizeof(v->uri), "qemu:%s", v->sock);
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", v->sock);
	argv[argc++] = "timeout";
	argv[argc++] = "300";
	argv[argc++] = QEMU;
	argv[argc++] = "-accel";
	argv[argc++] = "tcg";
	argv[argc++] = "-machine";
	argv[argc++] = "pc";
	argv[argc++] = "-m";
	argv[argc++] = mem;
	argv[argc++] = "-nographic";
	argv[argc++] = "-display";
	argv[argc++] = "none";
	argv[argc++] = "-serial";
	argv[argc++] = "none";
	argv[argc++] = "-monitor";
	argv[argc++] = "none";
	argv[argc++] = "-nodefaults";
	argv[argc++] = "-qmp";
	argv[argc++] = qmp;
	argv[argc++] = "-S";
	if (memobj) {
		argv[argc++] = "-object";
		argv[argc++] = memobj;
		argv[argc++] = "-machine";
		argv[argc++] = "memory-backend=ram0";
	}
	for (size_t i = 0; i < nb && i < 7; i++) {
		blob_file(&b[i], file, sizeof(file));
		snprintf(loader[i], sizeof(loader[i]), "loader,file=%s,addr=0x%llx",
			 file, (unsigned long long)b[i].addr);
		argv[argc++] = "-device";
		argv[argc++] = loader[i];
	}
	if (more_object) {
		argv[argc++] = "-object";
		argv[argc++] = more_object;
	}
	if (above) {
		argv[argc++] = "-device";
		argv[argc++] = above;
	}
	argv[argc] = NULL;
	v->pid = fork();
	for (int i = 0; v->pid > 0 && i < 8; i++)
		if (!running[i]) {
			running[i] = v;
			break;
		}
	if (v->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		char log[320];
		int lfd;

		snprintf(log, sizeof(log), "%s.log", v->ram);
		lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(null, 0);
		dup2(null, 1);
		dup2(lfd, 2);
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		int st;

		if (sock_ready(v->sock))
			return true;
		if (waitpid(v->pid, &st, WNOHANG) == v->pid) {
			v->pid = 0;
			return false;
		}
		usleep(50000);
	}
	return false;
}

static void vm_stop(struct vm *v)
{
	for (int i = 0; i < 8; i++)
		if (running[i] == v)
			running[i] = NULL;
	if (v->pid > 0) {
		kill(v->pid, SIGTERM);
		waitpid(v->pid, NULL, 0);
	}
	v->pid = 0;
	unlink(v->ram);
	unlink(v->sock);
}

/* ------------------------------------------------------------------ */
/* A tiny QMP client of the test's own: one command per connection.   */

static char *qmp_line(FILE *f)
{
	static char line[1 << 16];

	for (;;) {
		if (!fgets(line, sizeof(line), f))
			return NULL;
		if (!strstr(line, "\"event\""))
			return line;
	}
}

/* Run @cmd; returns the reply line (static) or NULL. */
static const char *qmp(struct vm *v, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	const char *reply = NULL;
	FILE *f;

	strcpy(sa.sun_path, v->sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return NULL;
	f = fdopen(fd, "r+");
	if (qmp_line(f)) {
		fputs("{\"execute\":\"qmp_capabilities\"}\n", f);
		fflush(f);
		if (qmp_line(f)) {
			fprintf(f, "%s\n", cmd);
			fflush(f);
			reply = qmp_line(f);
		}
	}
	fclose(f);
	return reply;
}

/* QEMU's own view of guest memory: "xp /Nxb ADDR", parsed. */
static void qemu_xp(struct vm *v, uint64_t addr, uint8_t *out, int n)
{
	char cmd[200];
	const char *r, *p;
	int k = 0;

	snprintf(cmd, sizeof(cmd), "{\"execute\":\"human-monitor-command\","
		 "\"arguments\":{\"command-line\":\"xp /%dxb 0x%llx\"}}", n,
		 (unsigned long long)addr);
	r = qmp(v, cmd);
	assert_non_null(r);
	for (p = strstr(r, ": "); p && k < n; p = strstr(p, ": ")) {
		p += 2;
		while (k < n && strncmp(p, "0x", 2) == 0) {
			out[k++] = (uint8_t)strtoul(p, (char **)&p, 16);
			while (*p == ' ')
				p++;
		}
	}
	assert_int_equal(k, n);
}

static void check_blob(xfm_handle *h, const struct blob *b)
{
	uint8_t *buf = malloc(b->len);

	assert_int_equal(xfm_read(h, b->addr, buf, b->len, 0), 0);
	for (size_t i = 0; i < b->len; i++)
		if (buf[i] != craft_pat(b->addr + i))
			fail_msg("0x%llx: 0x%02x, want 0x%02x",
				 (unsigned long long)(b->addr + i), buf[i],
				 craft_pat(b->addr + i));
	free(buf);
}

/* Every byte of @a's ranges equals @b's, 4 MiB at a time. */
static void compare_all(xfm_handle *a, xfm_handle *b)
{
	xfm_range r[8];
	int64_t n = xfm_get_ranges(a, r, 8);
	uint8_t *x = malloc(4 * MIB), *y = malloc(4 * MIB);

	assert_true(n > 0 && n <= 8);
	for (int64_t i = 0; i < n; i++)
		for (uint64_t o = 0; o < r[i].size; o += 4 * MIB) {
			uint64_t len = r[i].size - o < 4 * MIB ? r[i].size - o
							       : 4 * MIB;

			assert_int_equal(xfm_read(a, r[i].start + o, x, len, 0), 0);
			assert_int_equal(xfm_read(b, r[i].start + o, y, len, 0), 0);
			if (memcmp(x, y, len))
				fail_msg("differ in 0x%llx+0x%llx",
					 (unsigned long long)(r[i].start + o),
					 (unsigned long long)len);
		}
	free(x);
	free(y);
}

static xfm_handle *open_ok(const char *uri, unsigned int flags)
{
	xfm_handle *h = NULL;
	int rc = xfm_open(&h, uri, flags);

	if (rc)
		fail_msg("%s: %d %s", uri, rc, xfm_last_error());
	return h;
}

/* ------------------------------------------------------------------ */

static void live_read(void **state)
{
	/* -nodefaults: no VGA window, so RAM shows up to the ROMs at 768K */
	static const xfm_range want[] = { { 0, 0xc0000 },
					  { 0x100000, 0x3f00000 } };
	xfm_range r[8];
	xfm_geometry g;
	xfm_handle *h;

	(void)state;
	h = open_ok(vm64.uri, 0);
	assert_string_equal(xfm_source_name(h), "qemu");
	assert_non_null(strstr(fact(h, "qemu.memdev"), vm64.ram));
	assert_string_equal(fact(h, "qemu.ram_access"), "mem-path");
	assert_int_equal(xfm_get_ranges(h, r, 8), 2);
	assert_memory_equal(r, want, sizeof(want));
	assert_int_equal(xfm_get_geometry(h, &g, sizeof(g)), 0);
	assert_int_equal(g.frame_size, 4096);
	assert_int_equal(g.max_frame, 0x3fff);
	for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++)
		check_blob(h, &blobs[i]);
	assert_int_equal(xfm_read(h, 0xe0000, r, 8, 0), -ENOENT);
	assert_int_equal(xfm_write(h, 0x30000, "x", 1), -EROFS);
	xfm_close(h);
}

static void live_write(void **state)
{
	static const char msg[] = "xfm wrote this!";   /* 16 bytes */
	xfm_extent ext = { 0x31, 0, 0 };
	xfm_mapping *m;
	uint8_t seen[16];
	xfm_handle *h;

	(void)state;
	h = open_ok(vm64.uri, XFM_OPEN_WRITE);
	/* through the cache, across a frame boundary */
	assert_int_equal(xfm_write(h, 0x2000ff8, msg, 16), 0);
	xfm_close(h);
	qemu_xp(&vm64, 0x2000ff8, seen, 16);
	assert_memory_equal(seen, msg, 16);
	/* through a writable mapping */
	h = open_ok(vm64.uri, XFM_OPEN_WRITE);
	assert_int_equal(xfm_map(h, &ext, 1, XFM_PROT_READ | XFM_PROT_WRITE,
				 NULL, &m), 1);
	memcpy((char *)xfm_map_addr(m) + 0x10, msg, 16);
	qemu_xp(&vm64, 0x31010, seen, 16);
	assert_memory_equal(seen, msg, 16);
	xfm_unmap(m);
	xfm_close(h);
}

/* QEMU writes, we see it at once: a reset copies the loader blobs back. */
static void live_sees_qemu(void **state)
{
	uint8_t junk[64];
	xfm_handle *h;
	const char *r;

	(void)state;
	memset(junk, 0xcc, sizeof(junk));
	h = open_ok(vm64.uri, XFM_OPEN_WRITE);
	assert_int_equal(xfm_write(h, blobs[0].addr, junk, sizeof(junk)), 0);
	r = qmp(&vm64, "{\"execute\":\"system_reset\"}");
	assert_non_null(r);
	assert_non_null(strstr(r, "return"));
	for (int i = 0; i < 50; i++) {
		uint8_t b;

		xfm_read(h, blobs[0].addr, &b, 1, 0);
		if (b != 0xcc)
			break;
		usleep(20000);
	}
	check_blob(h, &blobs[0]);
	xfm_close(h);
}

/* pmemsave (QEMU's copy) equals our read. */
static void live_pmemsave(void **state)
{
	const char *out = tpath("pmem.bin");
	uint8_t ours[8192], theirs[8192];
	char cmd[512];
	xfm_handle *h;
	FILE *f;

	(void)state;
	snprintf(cmd, sizeof(cmd), "{\"execute\":\"pmemsave\",\"arguments\":"
		 "{\"val\":%d,\"size\":8192,\"filename\":\"%s\"}}", 0x200000,
		 out);
	assert_non_null(strstr(qmp(&vm64, cmd), "return"));
	f = fopen(out, "rb");
	assert_non_null(f);
	assert_int_equal(fread(theirs, 1, sizeof(theirs), f), sizeof(theirs));
	fclose(f);
	h = open_ok(vm64.uri, 0);
	assert_int_equal(xfm_read(h, 0x200000, ours, sizeof(ours), 0), 0);
	assert_memory_equal(ours, theirs, sizeof(ours));
	xfm_close(h);
	unlink(out);
}

/* QEMU's dump-guest-memory ELF, read by our parser. */
static void qemu_elf_dump(void **state)
{
	const char *out = tpath("qemu-dump.elf");
	xfm_handle *d, *live;
	char cmd[512];
	const char *r;

	(void)state;
	snprintf(cmd, sizeof(cmd), "{\"execute\":\"dump-guest-memory\","
		 "\"arguments\":{\"paging\":false,\"protocol\":\"file:%s\"}}",
		 out);
	r = qmp(&vm64, cmd);
	assert_non_null(r);
	if (!strstr(r, "return"))
		fail_msg("dump-guest-memory: %s", r);
	d = open_ok(out, 0);
	assert_string_equal(fact(d, "format"), "elf");
	assert_string_equal(fact(d, "elf.class"), "ELF64");
	print_message("# QEMU dump: %s PT_LOADs, %s notes, producer %s\n",
		      fact(d, "elf.loads"), fact(d, "elf.notes"),
		      fact(d, "elf.producer"));
	for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++)
		check_blob(d, &blobs[i]);
	live = open_ok(vm64.uri, 0);
	compare_all(live, d);      /* all guest RAM, bit for bit */
	xfm_close(live);
	xfm_close(d);
	unlink(out);
}

/* Our writers from the live source, read back through our parsers. */
static void dump_live(void **state)
{
	static const char *names[] = { "", "raw", "elf", "xen-core", "lime" };
	xfm_handle *live = open_ok(vm64.uri, 0), *d;
	struct timespec t0, t1;

	(void)state;
	for (unsigned int f = XFM_DUMP_RAW; f <= XFM_DUMP_LIME; f++) {
		const char *out = tpath(names[f]);
		char cmd[600];

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (xfm_dump(live, out, f, 0, NULL, NULL))
			fail_msg("%s: %s", names[f], xfm_last_error());
		clock_gettime(CLOCK_MONOTONIC, &t1);
		print_message("# dump of 64 MiB live guest as %s: %.3f s\n",
			      names[f], (double)(t1.tv_sec - t0.tv_sec) +
			      (t1.tv_nsec - t0.tv_nsec) / 1e9);
		d = open_ok(out, 0);
		assert_string_equal(fact(d, "format"), names[f]);
		compare_all(live, d);
		for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++)
			check_blob(d, &blobs[i]);
		xfm_close(d);
		if (f == XFM_DUMP_ELF) {
			snprintf(cmd, sizeof(cmd), "readelf -lW '%s' "
				 ">/dev/null", out);
			assert_int_equal(sh(cmd), 0);
		}
		unlink(out);
	}
	xfm_close(live);
}

/* RAM above 4 GiB: a sparse 4200 MiB file; the split comes from QEMU. */
static void above_4g(void **state)
{
	static const struct blob hi = { 0x110000000, 4096 };
	static struct vm v;
	char obj[512];
	xfm_range r[8];
	int64_t n;
	xfm_handle *h;

	(void)state;
	snprintf(obj, sizeof(obj), "memory-backend-file,id=ram0,size=4200M,"
		 "mem-path=%s/big.ram,share=on", craft_tmpdir());
	if (!vm_start(&v, "big", "4200M", obj, &hi, 1, NULL)) {
		vm_stop(&v);
		print_message("# QEMU with 4200 MiB did not start here\n");
		skip();
	}
	h = open_ok(v.uri, 0);
	n = xfm_get_ranges(h, r, 8);
	for (int64_t i = 0; i < n; i++)
		print_message("# range 0x%llx + 0x%llx\n",
			      (unsigned long long)r[i].start,
			      (unsigned long long)r[i].size);
	/* QEMU's pc machine splits at 3 GiB for this much RAM; the ROM
	 * window 768K-1M hides RAM below it */
	assert_int_equal(n, 3);
	assert_int_equal(r[1].start + r[1].size, UINT64_C(0xc0000000));
	assert_int_equal(r[2].start, UINT64_C(0x100000000));
	assert_int_equal(r[1].size + r[2].size + r[0].size,
			 4200 * MIB - 0x40000);
	check_blob(h, &hi);
	xfm_close(h);
	/* and it is where QEMU keeps it in the file: after the low 3 GiB */
	{
		uint8_t b[16];
		char ram[320];
		int fd;

		snprintf(ram, sizeof(ram), "%s/big.ram", craft_tmpdir());
		fd = open(ram, O_RDONLY);
		assert_int_equal(pread(fd, b, 16, 0xd0000000), 16);
		close(fd);
		for (int i = 0; i < 16; i++)
			assert_int_equal(b[i], craft_pat(hi.addr + i));
		unlink(ram);
	}
	vm_stop(&v);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */

static void expect_fail(const char *uri, int err, const char *needle)
{
	xfm_handle *h = NULL;
	int rc = xfm_open(&h, uri, 0);

	if (rc != err || !strstr(xfm_last_error(), needle))
		fail_msg("%s: got %d \"%s\", want %d and \"%s\"", uri, rc,
			 xfm_last_error(), err, needle);
	print_message("# %s\n", xfm_last_error());
}

/* Opened through the QEMU process: the blobs' bytes, by copy and by
 * mapping, and the fact that says so. */
static void expect_process(struct vm *v)
{
	xfm_handle *h = NULL;
	const char *key, *val;
	xfm_extent ext = { .frame = 0x200 };
	xfm_mapping *m;
	bool said = false;

	if (xfm_open(&h, v->uri, 0) != 0)
		fail_msg("%s: %s", v->uri, xfm_last_error());
	for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++)
		check_blob(h, &blobs[i]);
	for (size_t i = 0; xfm_source_info(h, i, &key, &val) == 0; i++)
		if (!strcmp(key, "qemu.ram") && strstr(val, "process_vm_readv"))
			said = true;
	assert_true(said);
	assert_string_equal(fact(h, "qemu.ram_access"), "process_vm_readv");
	assert_true(xfm_map(h, &ext, 1, XFM_PROT_READ, NULL, &m) == 1);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(((uint8_t *)xfm_map_addr(m))[i],
				 craft_pat(0x200000 + i));
	xfm_unmap(m);
	xfm_close(h);
}

static void errors(void **state)
{
	char uri[400], obj[512];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static struct vm v;
	int lfd;
	pid_t child;

	(void)state;
	snprintf(uri, sizeof(uri), "qemu:%s/none.sock", craft_tmpdir());
	expect_fail(uri, -ENOENT, "no such socket");
	expect_fail("qemu:", -EINVAL, "no QMP socket path");
	/* a socket that speaks something else */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/junk.sock",
		 craft_tmpdir());
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	listen(lfd, 1);
	child = fork();
	if (child == 0) {
		int c = accept(lfd, NULL, NULL);

		if (write(c, "SSH-2.0-OpenSSH\r\n", 17) < 0)
			_exit(1);
		sleep(5);
		_exit(0);
	}
	close(lfd);
	snprintf(uri, sizeof(uri), "qemu:%s", sa.sun_path);
	expect_fail(uri, -EPROTO, "not QMP");
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	/* RAM that is not a shared file: read through the QEMU process
	 * (process_vm_readv), read-only */
	if (!vm_start(&v, "plain", "64", NULL, blobs,
		      sizeof(blobs) / sizeof(blobs[0]), NULL))
		fail_msg("QEMU did not start");
	expect_process(&v);
	{
		xfm_handle *h = NULL;

		/* writing still needs a shared file, and says how */
		assert_int_equal(xfm_open(&h, v.uri, XFM_OPEN_WRITE),
				 -EOPNOTSUPP);
		assert_non_null(strstr(xfm_last_error(), "share=on"));
	}
	vm_stop(&v);
	snprintf(obj, sizeof(obj), "memory-backend-file,id=ram0,size=64M,"
		 "mem-path=%s/priv.ram,share=off", craft_tmpdir());
	if (!vm_start(&v, "priv", "64", obj, blobs,
		      sizeof(blobs) / sizeof(blobs[0]), NULL))
		fail_msg("QEMU did not start");
	expect_process(&v);
	{
		xfm_handle *h = NULL;

		assert_int_equal(xfm_open(&h, v.uri, XFM_OPEN_WRITE),
				 -EOPNOTSUPP);
		assert_non_null(strstr(xfm_last_error(), "is not shared"));
	}
	vm_stop(&v);
	snprintf(obj, sizeof(obj), "%s/priv.ram", craft_tmpdir());
	unlink(obj);
}

/* QEMU's RAM file, reopened by the test the way xfm did (the pid and
 * descriptor from qemu.ram), for writing into guest RAM. */
static int reopen_ram(xfm_handle *h)
{
	const char *ram = fact(h, "qemu.ram");
	int pid = 0, num = -1, fd;
	char proc[64];

	assert_int_equal(sscanf(ram, "process %d (", &pid), 1);
	assert_non_null(strstr(ram, "reopened through /proc/"));
	assert_int_equal(sscanf(strstr(ram, "descriptor "), "descriptor %d",
				&num), 1);
	snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", pid, num);
	fd = open(proc, O_RDWR);
	assert_true(fd >= 0);
	return fd;
}

/* x86-64 tables written at guest 0x40000 (in the RAM file @fd, offset =
 * address): VA 0x2000 -> blob page 0x201000, VA 0x3000 -> 0x200000; a
 * read by VA across the two, its table entries read in place
 * (direct()). */
static void check_va_in_place(xfm_handle *h, int fd)
{
	static const uint64_t t[] = { 0x41000 | 3, 0x42000 | 3, 0x43000 | 3 };
	static const uint64_t pte[2] = { 0x201000 | 3, 0x200000 | 3 };
	xfm_vm_root root = { .mode = XFM_VM_X86_64, .root = 0x40000 };
	uint8_t va[64];

	for (int i = 0; i < 3; i++)
		assert_int_equal(pwrite(fd, &t[i], 8, 0x40000 +
					(uint64_t)i * 0x1000), 8);
	assert_int_equal(pwrite(fd, pte, 16, 0x43000 + 2 * 8), 16);
	assert_int_equal(xfm_set_vm_root(h, &root, sizeof(root)), 0);
	assert_int_equal(xfm_read_va(h, 0x2ff0, va, 64, 0), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(va[i], craft_pat(0x201ff0 + i));
	for (int i = 16; i < 64; i++)
		assert_int_equal(va[i], craft_pat(0x200000 + i - 16));
}

/*
 * RAM that QEMU maps shared from a descriptor but names in no mem-path
 * xfm can open (memory-backend-memfd; a file backend whose mem-path is a
 * directory): that file, reopened through /proc/PID/fd, read as a RAM
 * file is.  Live: bytes written into that file after the open (as the
 * guest would store them) are what xfm reads next, and what QEMU shows.
 */
static void expect_ram_fd(struct vm *v, const char *kind)
{
	static const uint8_t junk[16] = "xfm saw it live";
	uint8_t got[16], seen[16];
	xfm_extent ext = { .frame = 0x200 };
	xfm_mapping *m;
	xfm_handle *h = open_ok(v->uri, 0);
	int fd;

	assert_string_equal(fact(h, "qemu.ram_access"), kind);
	for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++)
		check_blob(h, &blobs[i]);
	assert_true(xfm_map(h, &ext, 1, XFM_PROT_READ, NULL, &m) == 1);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(((uint8_t *)xfm_map_addr(m))[i],
				 craft_pat(0x200000 + i));
	/* read-only: writing needs a mem-path */
	assert_int_equal(xfm_write(h, 0x30000, "x", 1), -EROFS);
	/* the test writes into QEMU's file (guest 0x30000 is offset
	 * 0x30000 of the block that starts at 0) */
	fd = reopen_ram(h);
	assert_int_equal(pwrite(fd, junk, 16, 0x30000), 16);
	check_va_in_place(h, fd);
	close(fd);
	assert_int_equal(xfm_read(h, 0x30000, got, 16, 0), 0);
	assert_memory_equal(got, junk, 16);
	qemu_xp(v, 0x30000, seen, 16);
	assert_memory_equal(seen, junk, 16);
	xfm_unmap(m);
	xfm_close(h);
}

static void process_ram_fd(void **state)
{
	char obj[512];
	static struct vm v;

	(void)state;
	if (!vm_start(&v, "memfd", "64", "memory-backend-memfd,id=ram0,"
		      "size=64M", blobs, sizeof(blobs) / sizeof(blobs[0]),
		      NULL))
		fail_msg("QEMU did not start");
	expect_ram_fd(&v, "memfd");
	vm_stop(&v);
	snprintf(obj, sizeof(obj), "memory-backend-file,id=ram0,size=64M,"
		 "mem-path=%s,share=on", craft_tmpdir());
	if (!vm_start(&v, "dir", "64", obj, blobs,
		      sizeof(blobs) / sizeof(blobs[0]), NULL))
		fail_msg("QEMU did not start");
	expect_ram_fd(&v, "file");
	vm_stop(&v);
}

/*
 * Both at once: main RAM in a memfd, a DIMM of anonymous RAM above 4 GiB
 * (as a guest's device RAM is): the memfd region by its file, the DIMM
 * by process_vm_readv, one read across neither boundary each; QEMU's
 * own view of the DIMM's bytes (written by the test through QEMU's
 * memory with the loader) equals ours.
 */
static void process_mixed(void **state)
{
	static const struct blob all[] = {
		{ 0x10000, 64 }, { 0x200000, 8192 }, { 0x3fff000, 4096 },
		{ 0x100000000ull, 4096 },    /* in the DIMM */
	};
	static struct vm v;
	uint8_t ours[64], theirs[64];
	xfm_handle *h;

	(void)state;
	more_object = "memory-backend-ram,id=mem1,size=64M";
	if (!vm_start(&v, "mixed", "64,slots=2,maxmem=1G",
		      "memory-backend-memfd,id=ram0,size=64M", all, 4,
		      "pc-dimm,id=dimm1,memdev=mem1"))
		fail_msg("QEMU did not start");
	more_object = NULL;
	h = open_ok(v.uri, 0);
	assert_string_equal(fact(h, "qemu.ram_access"),
			    "memfd+process_vm_readv");
	for (size_t i = 0; i < 4; i++)
		check_blob(h, &all[i]);
	assert_int_equal(xfm_read(h, 0x100000000ull, ours, 64, 0), 0);
	qemu_xp(&v, 0x100000000ull, theirs, 64);
	assert_memory_equal(ours, theirs, 64);
	{
		int fd = reopen_ram(h);

		check_va_in_place(h, fd);
		close(fd);
	}
	xfm_close(h);
	vm_stop(&v);
}

/* ------------------------------------------------------------------ */

static int setup(void **state)
{
	char obj[512];

	(void)state;
	snprintf(obj, sizeof(obj), "memory-backend-file,id=ram0,size=64M,"
		 "mem-path=%s/vm64.ram,share=on", craft_tmpdir());
	if (!vm_start(&vm64, "vm64", "64", obj, blobs,
		      sizeof(blobs) / sizeof(blobs[0]), NULL)) {
		fprintf(stderr, "QEMU did not start\n");
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 8; i++)
		if (running[i])
			vm_stop(running[i]);
	craft_rmdir();
	return 0;
}

static int run_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(live_read),
		cmocka_unit_test(live_write),
		cmocka_unit_test(live_sees_qemu),
		cmocka_unit_test(live_pmemsave),
		cmocka_unit_test(qemu_elf_dump),
		cmocka_unit_test(dump_live),
		cmocka_unit_test(above_4g),
		cmocka_unit_test(errors),
		cmocka_unit_test(process_ram_fd),
		cmocka_unit_test(process_mixed),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}

int main(void)
{
	if (sh("command -v " QEMU " >/dev/null && command -v timeout "
	       ">/dev/null") != 0) {
		printf("1..0 # SKIP " QEMU " or timeout(1) not installed\n");
		return 0;
	}
	return tap_run(run_group);
}
