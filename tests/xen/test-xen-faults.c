/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * test-xen-faults - live guests changing under libxfm, on real Xen in the
 * lab's dom0 (issue 18).  Each fault is made to happen, and what xfm did
 * is checked exactly and printed as a "# FAULT" row for the fault table:
 *   destroy at 10/50/90% of a dump (library), destroy during a CLI dump
 *   with and without --keep-partial, destroy during 8 threads of reads,
 *   getdomaininfo answering for another domain, the guest writing while
 *   read and dumped, ballooning down and up, save + restore, and a small
 *   address-space limit and vm.max_map_count.
 * Throwaway guests ("xfm-tmpN", paused, 64 MiB) take the destroys; the lab
 * guests survive (the restore gives the main one a new domid).
 * Usage: test-xen-faults [--only NAME] [--cli PATH]   (TAP on stdout)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lab-guest.h"
#include "privcmd.h"
#include "../lib/tap.h"
#include "xen-pv.h"
#include "xfm.h"

#define FS 4096u
#define WORK "/tmp/xfm-faults"
#define TMP_MB 96

static const char *G;      /* PVH or ARM */
static const char *g_low;  /* pvh or arm */
static const char *cli = "/payload/bin/xfm";
static int tmp_n;

/* ---------------------------------------------------------------- helpers */

static void on_sigbus(int sig)
{
	static const char m[] = "not ok - SIGBUS while reading a guest\n";

	(void)sig;
	if (write(1, m, sizeof(m) - 1) < 0)
		_exit(3);
	_exit(3);
}

static bool marker_ok(xfm_handle *h)
{
	static uint8_t want[FS];
	uint8_t got[FS];
	uint64_t pfn = strtoull(lab_fact(G, "MARKER_PFN"), NULL, 0);
	FILE *f = fopen(lab_fact(G, "MARKER_FILE"), "rb");
	bool ok = f && fread(want, 1, FS, f) == FS;

	if (f)
		fclose(f);
	return ok && xfm_read(h, pfn * FS, got, FS, 0) == 0 &&
	       memcmp(got, want, FS) == 0;
}

static xfm_handle *open_dom(long domid, unsigned int flags)
{
	char uri[32];
	xfm_handle *h = NULL;

	snprintf(uri, sizeof(uri), "xen:%ld", domid);
	if (xfm_open(&h, uri, flags | XFM_OPEN_QUIET) < 0) {
		tap_diag("open %s: %s", uri, xfm_last_error());
		return NULL;
	}
	return h;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The XFM status note of an ELF dump kept partial (4 u64), 0 if found. */
static int read_status(const char *path, uint64_t st[4])
{
	uint8_t ph[56], note[48];
	int fd = open(path, O_RDONLY);
	int rc = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, ph, 56, 64) == 56 && ph[0] == 4 &&
	    pread(fd, note, 48, (off_t)le64(ph + 8)) == 48 &&
	    memcmp(note + 12, "XFM", 4) == 0 &&
	    (le64(note + 8) & 0xffffffffu) == XFM_NOTE_DUMP_STATUS) {
		for (int i = 0; i < 4; i++)
			st[i] = le64(note + 16 + 8 * i);
		rc = 0;
	}
	close(fd);
	return rc;
}

static bool domain_gone_from_xl(long domid)
{
	/* A dying domain kept by mappings is still listed: wait for Xen. */
	for (int i = 0; i < 100; i++) {
		if (lab_sh("xl list %ld > /dev/null 2>&1", domid) != 0)
			return true;
		usleep(100000);
	}
	return false;
}

/* ------------------------------------------------- destroy during a dump */

struct at_pct {
	int pct;
	long domid;
	bool destroyed;
	uint64_t when;
};

static int destroy_at(void *opaque, uint64_t done, uint64_t total)
{
	struct at_pct *a = opaque;

	if (!a->destroyed && total && done * 100 >= total * (uint64_t)a->pct) {
		lab_sh("xl destroy %ld", a->domid);
		a->destroyed = true;
		a->when = done;
	}
	return 0;
}

static void dump_destroy(int pct, xfm_handle *other)
{
	struct at_pct a = { .pct = pct };
	char msg[512], want[64];
	xfm_handle *h;
	int fds0, maps0, rc, left;

	/* The other handle maps its window first: count only this dump's. */
	marker_ok(other);
	fds0 = lab_fds();
	maps0 = lab_maps_of("privcmd");
	a.domid = lab_tmp_guest(g_low, ++tmp_n, TMP_MB);
	if (!tap_ok(a.domid > 0, "dump/destroy %d%%: throwaway guest", pct))
		return;
	h = open_dom(a.domid, 0);
	if (!h)
		return;
	rc = xfm_dump(h, WORK "/d.elf", XFM_DUMP_ELF, 0, destroy_at, &a);
	snprintf(msg, sizeof(msg), "%s", xfm_last_error());
	snprintf(want, sizeof(want), "xen:%ld: frame 0x", a.domid);
	left = lab_count_dir(WORK, "d.elf");
	tap_ok(a.destroyed && rc == -ESRCH && strstr(msg, want) &&
	       strstr(msg, WORK "/d.elf: reading guest address 0x"),
	       "dump/destroy %d%%: xfm_dump -ESRCH naming domain and frame "
	       "(rc %d: %s)", pct, rc, msg);
	tap_ok(left == 0, "dump/destroy %d%%: no output or temporary file "
	       "left (%d)", pct, left);
	tap_ok(marker_ok(other), "dump/destroy %d%%: another handle of the "
	       "process still reads its guest", pct);
	xfm_close(h);
	/* (The other handle keeps its own cached windows.) */
	tap_ok(lab_fds() == fds0 && lab_maps_of("privcmd") == maps0,
	       "dump/destroy %d%%: fds %d -> %d, privcmd mappings %d -> %d "
	       "after close", pct, fds0, lab_fds(), maps0,
	       lab_maps_of("privcmd"));
	tap_ok(domain_gone_from_xl(a.domid), "dump/destroy %d%%: Xen freed "
	       "the domain (no zombie held by xfm)", pct);
	printf("# FAULT | xl destroy during xfm_dump (library, elf) | %d%% "
	       "(%llu MiB of %d) | %s | rc %d | nothing |\n", pct,
	       (unsigned long long)(a.when >> 20), TMP_MB, msg, rc);
}

/* ------------------------------------- destroy during a dump, by the CLI */

/* Size of the CLI dump's temporary file .c.elf.xfm-XXXXXX, 0 if none. */
static uint64_t tmp_size(void)
{
	DIR *d = opendir(WORK);
	struct dirent *e;
	struct stat sb;
	char path[300];
	uint64_t size = 0;

	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, ".c.elf.xfm-", 11))
			continue;
		snprintf(path, sizeof(path), WORK "/%s", e->d_name);
		if (stat(path, &sb) == 0)
			size = (uint64_t)sb.st_size;
	}
	if (d)
		closedir(d);
	return size;
}

/* Run the CLI dump; destroy when its temporary file passes @bytes. */
static int cli_dump_destroy(long domid, const char *extra, uint64_t bytes,
			    char *err, size_t errlen)
{
	char cmd[512];
	pid_t pid;
	int st = -1;
	bool done = false;

	snprintf(cmd, sizeof(cmd), "LD_LIBRARY_PATH=/payload/lib %s -q dump "
		 "%s --format elf xen:%ld %s/c.elf 2> %s/c.err", cli, extra,
		 domid, WORK, WORK);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* Watch the temporary file grow (stat, no fork: fast enough). */
	for (int i = 0; i < 20000 && !done; i++) {
		if (tmp_size() >= bytes) {
			lab_sh("xl destroy %ld", domid);
			done = true;
		} else if (waitpid(pid, &st, WNOHANG) == pid) {
			tap_diag("the dump ended before it reached %llu bytes",
				 (unsigned long long)bytes);
			break;
		}
		usleep(2000);
	}
	if (done || st == -1)
		waitpid(pid, &st, 0);
	lab_sh_line(err, errlen, "cat %s/c.err", WORK);
	return done && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void cli_destroy(void)
{
	char err[512], want[64];
	uint64_t st[4] = { 0 };
	long domid;
	int rc, left;

	domid = lab_tmp_guest(g_low, ++tmp_n, TMP_MB);
	if (!tap_ok(domid > 0, "cli dump/destroy: throwaway guest"))
		return;
	rc = cli_dump_destroy(domid, "", 8u << 20, err, sizeof(err));
	snprintf(want, sizeof(want), "xen:%ld: frame 0x", domid);
	left = lab_count_dir(WORK, "c.elf");
	tap_ok(rc == 5 && strstr(err, want) && !strchr(err, '\n'),
	       "cli dump/destroy: exit 5, one line naming domain and frame "
	       "(exit %d: %s)", rc, err);
	tap_ok(left == 0, "cli dump/destroy: nothing left on disk (%d)", left);
	printf("# FAULT | xl destroy during xfm dump (CLI, elf) | at >= 8 MiB "
	       "of %d | %s | exit %d | nothing |\n", TMP_MB, err, rc);

	domid = lab_tmp_guest(g_low, ++tmp_n, TMP_MB);
	if (!tap_ok(domid > 0, "cli dump --keep-partial: throwaway guest"))
		return;
	rc = cli_dump_destroy(domid, "--keep-partial", 8u << 20, err,
			      sizeof(err));
	tap_ok(rc == 5 && strstr(err, "partial dump kept"),
	       "cli dump --keep-partial: exit 5, says kept (exit %d: %s)", rc,
	       err);
	left = read_status(WORK "/c.elf", st);
	tap_ok(left == 0 && st[0] < st[1] &&
	       st[1] >= (uint64_t)TMP_MB << 20 && st[2] != UINT64_MAX &&
	       st[3] == ESRCH && st[0] <= st[2],
	       "cli dump --keep-partial: file kept, its XFM note says partial "
	       "(%llu of %llu bytes, stopped at 0x%llx, errno %llu)",
	       (unsigned long long)st[0], (unsigned long long)st[1],
	       (unsigned long long)st[2], (unsigned long long)st[3]);
	left = lab_count_dir(WORK, ".xfm-");
	tap_ok(left == 0, "cli dump --keep-partial: no temporary file (%d)",
	       left);
	printf("# FAULT | xl destroy during xfm dump --keep-partial | at >= 8 "
	       "MiB of %d | kept, XFM note: %llu of %llu bytes, errno %llu | "
	       "exit %d | c.elf (partial, marked) |\n", TMP_MB,
	       (unsigned long long)st[0], (unsigned long long)st[1],
	       (unsigned long long)st[3], rc);
	unlink(WORK "/c.elf");
	unlink(WORK "/c.err");
}

/* ------------------------------------------ destroy during 8 reader threads */

struct reader {
	xfm_handle *h;
	uint64_t frames, seed;
	long ok, after, bad;   /* reads ok; failures -ESRCH; other outcomes */
	int first_err, other_err;
	_Atomic bool *stop;
};

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	uint8_t buf[FS];
	bool failed = false;
	long tail = 0;

	while (!atomic_load(r->stop) && tail < 200) {
		uint64_t f;
		int rc;

		r->seed ^= r->seed << 13;
		r->seed ^= r->seed >> 7;
		r->seed ^= r->seed << 17;
		f = r->seed % r->frames;
		rc = xfm_read(r->h, f * FS, buf, FS, XFM_READ_ZERO_FILL);
		if (!failed && rc == 0) {
			r->ok++;
			continue;
		}
		if (!failed)
			r->first_err = rc;
		failed = true;
		tail++;
		if (rc == -ESRCH) {
			r->after++;
		} else {
			r->bad++;
			r->other_err = rc;
		}
	}
	return NULL;
}

static void reads_destroy(void)
{
	pthread_t t[8];
	bool joined[8] = { false };
	struct reader r[8];
	_Atomic bool stop = false;
	int fds0 = lab_fds(), fds1, maps1;
	long domid, ok = 0, after = 0, bad = 0;
	xfm_handle *h;
	xfm_geometry geo;
	double t0;
	bool all_ended = true;

	domid = lab_tmp_guest(g_low, ++tmp_n, TMP_MB);
	if (!tap_ok(domid > 0, "reads/destroy: throwaway guest"))
		return;
	h = open_dom(domid, 0);
	if (!h)
		return;
	xfm_get_geometry(h, &geo, sizeof(geo));
	for (int i = 0; i < 8; i++) {
		r[i] = (struct reader){ .h = h, .stop = &stop,
					.seed = 0x9e3779b97f4a7c15ull * (i + 1),
					.frames = geo.max_frame + 1 };
		/* Past its RAM (x86 PVH: special pages at 0xfe000+). */
		if (geo.max_frame > 0x40000 + (TMP_MB << 8))
			r[i].frames = 0x40000 + (TMP_MB << 8);
		pthread_create(&t[i], NULL, read_loop, &r[i]);
	}
	usleep(500000);
	lab_sh("xl destroy %ld", domid);
	/* Every thread must see the end within 60 s (no hang). */
	t0 = lab_now();
	for (int i = 0; i < 8; i++) {
		while (lab_now() - t0 < 60 && !joined[i]) {
			joined[i] = pthread_tryjoin_np(t[i], NULL) == 0;
			if (!joined[i])
				usleep(10000);
		}
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 8; i++) {
		all_ended &= r[i].after + r[i].bad >= 200;
		ok += r[i].ok;
		after += r[i].after;
		bad += r[i].bad;
		if (!joined[i])
			pthread_join(t[i], NULL);
	}
	tap_ok(all_ended, "reads/destroy: all 8 threads saw the end within "
	       "60 s (%.1f s)", lab_now() - t0);
	tap_ok(bad == 0 && after == 1600, "reads/destroy: after its first "
	       "failure every read of every thread failed with -ESRCH "
	       "(%ld ok before, %ld -ESRCH after, %ld other)", ok, after, bad);
	fds1 = lab_fds();
	maps1 = lab_maps_of("privcmd");
	xfm_close(h);
	/* Windows a thread was mapping as the handle went are released at
	 * close at the latest (xfm.h): assert the close, report the rest. */
	tap_ok(lab_fds() == fds0 && lab_maps_of("privcmd") == 0,
	       "reads/destroy: fds %d -> %d -> %d (open, gone, closed); privcmd "
	       "mappings %d once gone, %d closed",
	       fds0, fds1, lab_fds(), maps1, lab_maps_of("privcmd"));
	tap_ok(domain_gone_from_xl(domid), "reads/destroy: Xen freed the "
	       "domain");
	printf("# FAULT | xl destroy during 8 reader threads | after 0.5 s | "
	       "every later read -ESRCH (%ld reads ok before) | - | nothing |\n",
	       ok);
}

/* ------------------------------------- getdomaininfo answers for another */

static void dominfo_exact(void)
{
	struct xfm_privcmd pc;
	struct xfm_xen_dominfo di;
	long gone, live;
	int rc;

	gone = lab_tmp_guest(g_low, ++tmp_n, TMP_MB);
	live = lab_tmp_guest(g_low, ++tmp_n, TMP_MB);
	if (!tap_ok(gone > 0 && live > gone, "dominfo: two throwaway guests "
		    "(%ld, %ld)", gone, live))
		return;
	lab_sh("xl destroy %ld", gone);
	domain_gone_from_xl(gone);
	if (xfm_privcmd_open(&pc) < 0)
		return;
	rc = xfm_xen_dominfo(&pc, (uint32_t)gone, &di);
	tap_ok(rc == -ESRCH, "dominfo: domain %ld destroyed, %ld alive: Xen "
	       "4.17 answers for %ld, xfm refuses (rc %d)", gone, live, live,
	       rc);
	rc = xfm_xen_dominfo(&pc, (uint32_t)live, &di);
	tap_ok(rc == 0 && !di.dying, "dominfo: domain %ld itself answers "
	       "(rc %d)", live, rc);
	xfm_privcmd_close(&pc);
	lab_sh("xl destroy %ld", live);
}

/* --------------------------------------------- guest writing while read */

static uint32_t word_hash(uint32_t seq, uint32_t rec, uint32_t word)
{
	uint64_t x = ((uint64_t)seq << 16 | rec << 4 | word) ^
		     0x9e3779b97f4a7c15ull;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

/* Check @n records: bad words (not the writer's) and torn records. */
static void check_records(const uint8_t *p, unsigned int first,
			  unsigned int n, long *bad, long *torn)
{
	for (unsigned int r = 0; r < n; r++) {
		uint64_t seq0 = le64(p + r * 64) >> 32;

		for (unsigned int w = 0; w < 8; w++) {
			uint64_t v = le64(p + r * 64 + w * 8);

			if ((uint32_t)v != word_hash((uint32_t)(v >> 32),
						     first + r, w) ||
			    !(v >> 32))
				(*bad)++;
			if (v >> 32 != seq0) {
				(*torn)++;
				break;
			}
		}
	}
}

static bool writer_pfns(uint64_t *ctrl, uint64_t *data)
{
	char line[256];

	for (int i = 0; i < 100; i++) {
		lab_sh_line(line, sizeof(line), "tr -d '\\r' < %s | grep -a -m1 "
			    "'^XFM-WRITER ctrl='", lab_fact(G, "CONSOLE_LOG"));
		if (sscanf(line, "XFM-WRITER ctrl=%lx data=%lx",
			   (unsigned long *)ctrl, (unsigned long *)data) == 2)
			return true;
		usleep(100000);
	}
	return false;
}

static void writer_reads(void)
{
	uint64_t ctrl, data, v[2], go = UINT64_MAX;
	uint8_t page[FS];
	long bad = 0, torn = 0, reads = 0, rec_reads = 0, rec_torn = 0;
	long dump_bad = 0, dump_torn = 0;
	xfm_handle *h, *d;
	double t0;
	int rc;

	if (!tap_ok(writer_pfns(&ctrl, &data), "writer: the guest's writer "
		    "reported its pages"))
		return;
	h = open_dom(lab_domid(lab_fact(G, "NAME")), XFM_OPEN_WRITE);
	if (!h)
		return;
	rc = xfm_read(h, ctrl * FS, page, 32, 0);
	tap_ok(rc == 0 && !memcmp(page, "XFM-WRITER-CTRL", 16),
	       "writer: control page at frame 0x%llx", (unsigned long long)ctrl);
	xfm_write(h, ctrl * FS + 16, &go, 8);
	t0 = lab_now();
	do {
		usleep(50000);
		xfm_read(h, ctrl * FS + 16, v, 16, 0);
	} while (v[1] < 3 && lab_now() - t0 < 30);
	tap_ok(v[1] >= 3, "writer: the guest is rewriting its page (%llu "
	       "passes)", (unsigned long long)v[1]);
	/* 64-byte reads of one record each, and whole-page reads, for 3 s. */
	t0 = lab_now();
	while (lab_now() - t0 < 3) {
		unsigned int r = (unsigned int)(reads * 7 % 64);

		xfm_read(h, data * FS + r * 64, page, 64, 0);
		check_records(page, r, 1, &bad, &rec_torn);
		rec_reads++;
		xfm_read(h, data * FS, page, FS, 0);
		check_records(page, 0, 64, &bad, &torn);
		reads++;
	}
	/* A dump while it writes (the data page checked in the file). */
	d = open_dom(lab_domid(lab_fact(G, "NAME")), 0);
	rc = d ? xfm_dump(d, WORK "/w.raw", XFM_DUMP_RAW, 0, NULL, NULL) : -1;
	if (rc == 0) {
		int fd = open(WORK "/w.raw", O_RDONLY);

		if (fd < 0 || pread(fd, page, FS, (off_t)(data * FS)) != FS)
			rc = -EIO;
		if (fd >= 0)
			close(fd);
		check_records(page, 0, 64, &dump_bad, &dump_torn);
	}
	unlink(WORK "/w.raw");
	xfm_close(d);
	xfm_read(h, ctrl * FS + 24, &v[1], 8, 0);
	xfm_write(h, ctrl * FS + 16, &v[1], 8); /* stop: asked = done */
	tap_ok(bad == 0 && dump_bad == 0, "writer: no 8-byte word read that "
	       "the guest did not write (%ld one-record and %ld whole-page "
	       "reads, a dump; %ld bad)", rec_reads, reads, bad + dump_bad);
	tap_ok(rc == 0, "writer: dump of the writing guest (rc %d)", rc);
	printf("# torn 64-byte records (documented: not atomic): %ld of %ld "
	       "one-record reads, %ld of %ld records in whole-page reads, %ld "
	       "of 64 in the dump\n", rec_torn, rec_reads, torn, reads * 64,
	       dump_torn);
	/* Stopped: every record of one pass, the last. */
	usleep(200000);
	xfm_read(h, ctrl * FS + 24, &v[1], 8, 0);
	xfm_read(h, data * FS, page, FS, 0);
	bad = torn = 0;
	check_records(page, 0, 64, &bad, &torn);
	tap_ok(bad == 0 && torn == 0 && le64(page) >> 32 == (v[1] & 0xffffffff),
	       "writer: stopped after pass %llu: all 64 records of that pass",
	       (unsigned long long)v[1]);
	printf("# FAULT | guest rewriting a page while read and dumped | "
	       "3 s of reads + a dump | words never torn; records torn in "
	       "%ld of %ld 64-byte reads | - | nothing |\n", rec_torn,
	       rec_reads);
	xfm_close(h);
}

/* ------------------------------------------------------------- balloon */

static uint64_t range_frames(xfm_handle *h, xfm_range **out, int64_t *nr)
{
	int64_t n = xfm_get_ranges(h, NULL, 0);
	xfm_range *r = n > 0 ? calloc((size_t)n, sizeof(*r)) : NULL;
	uint64_t f = 0;

	if (r)
		n = xfm_get_ranges(h, r, (size_t)n);
	for (int64_t i = 0; r && i < n; i++)
		f += r[i].size / FS;
	*out = r;
	*nr = n;
	return f;
}

static bool in_ranges(const xfm_range *r, int64_t n, uint64_t addr)
{
	for (int64_t i = 0; i < n; i++)
		if (addr >= r[i].start && addr - r[i].start < r[i].size)
			return true;
	return false;
}

/*
 * Xen's tot_pages of @domid once it stopped moving: first different from
 * @before (the balloon driver started; 0: no wait), then 3 equal samples
 * 1 s apart.  At most ~2 minutes.
 */
static uint64_t settled_pages(long domid, uint64_t before)
{
	struct xfm_privcmd pc;
	struct xfm_xen_dominfo di;
	uint64_t last = 0;
	int same = 0;

	if (xfm_privcmd_open(&pc) < 0)
		return 0;
	for (int i = 0; i < 120 && same < 2; i++) {
		int rc = xfm_xen_dominfo(&pc, (uint32_t)domid, &di);

		if (rc < 0) {
			printf("# settled_pages: domain %ld: rc %d: %s\n",
			       domid, rc, xfm_last_error());
			break;
		}
		if (before && di.tot_pages == before) {
			sleep(1);
			continue;
		}
		same = di.tot_pages == last ? same + 1 : 0;
		last = di.tot_pages;
		sleep(1);
	}
	xfm_privcmd_close(&pc);
	return last;
}

/* Frames in a fresh probe of @domid once it moved from @before (~2 min). */
static uint64_t physmap_frames(long domid, uint64_t before)
{
	xfm_handle *h = open_dom(domid, 0);
	uint64_t f = before, last = 0;
	xfm_range *r;
	int64_t n;
	int same = 0;

	for (int i = 0; h && i < 60 && same < 2; i++) {
		sleep(2);
		xfm_invalidate(h, 0, UINT64_MAX);
		f = range_frames(h, &r, &n);
		free(r);
		if (f == before)
			continue;
		same = f == last ? same + 1 : 0;
		last = f;
	}
	xfm_close(h);
	return f;
}

/*
 * Set the guest's balloon target.  Debian's arm64 xl 4.17 aborts in
 * `xl mem-set` (an assertion on an unset libxl_defbool); what it would
 * do for a lower or equal target is the xenstore write the guest's
 * balloon driver watches, so that is done instead there, and said.
 */
static void set_target(const char *name, long domid, unsigned int mib)
{
	if (lab_sh("xl mem-set %s %um > /dev/null 2>&1", name, mib) == 0)
		return;
	printf("# balloon: xl mem-set %s %um failed; writing "
	       "/local/domain/%ld/memory/target instead\n", name, mib, domid);
	lab_sh("xenstore-write /local/domain/%ld/memory/target %u", domid,
	       mib * 1024);
}

static void balloon(void)
{
	const char *name = lab_fact(G, "NAME");
	long domid = lab_domid(name);
	xfm_handle *h = open_dom(domid, 0);
	xfm_range *r0, *r1, *r2;
	int64_t n0, n1, n2;
	uint64_t f0, f1, f2, p0, p1, p2, k, fb, ph;
	long stale_ok = 0, absent = 0, zero = 0, want_absent = 0;
	uint8_t *buf = malloc(4u << 20), b[FS], z[FS] = { 0 };

	if (!h || !buf)
		return;
	p0 = settled_pages(domid, 0);
	f0 = range_frames(h, &r0, &n0);
	k = p0 - f0;
	/* Cache all of it: 128 MiB of 1 MiB windows (the default covers it). */
	for (int64_t i = 0; i < n0; i++)
		for (uint64_t a = 0; a < r0[i].size; a += 4u << 20)
			xfm_read(h, r0[i].start + a, buf, r0[i].size - a < (4u << 20)
				 ? r0[i].size - a : 4u << 20, 0);
	set_target(name, domid, 96);
	/* The physmap shrinks (a second handle's fresh probe sees it)... */
	fb = physmap_frames(domid, f0);
	/* How much the guest gives back is its balloon driver's call (the
	 * arm64 guest freed 3366 of the 8192 asked under load): at least
	 * 4 MiB is a balloon; every check below follows what left. */
	tap_ok(fb + 1024 <= f0, "balloon: target 96m: the guest's physmap "
	       "%llu -> %llu frames", (unsigned long long)f0,
	       (unsigned long long)fb);
	/* ...but the pages our windows map stay allocated to the guest. */
	ph = settled_pages(domid, 0);
	tap_ok(ph == p0, "balloon: while cached, the ballooned-out pages stay "
	       "counted by Xen (tot_pages %llu -> %llu: dom0's mappings hold "
	       "them)", (unsigned long long)p0, (unsigned long long)ph);
	/* Before invalidation: the memory map and cached windows as before. */
	xfm_range *rs;
	int64_t ns;
	tap_ok(range_frames(h, &rs, &ns) == f0 && ns == n0 &&
	       !memcmp(rs, r0, (size_t)n0 * sizeof(*r0)),
	       "balloon: before xfm_invalidate the memory map is the old one "
	       "(%lld ranges, %llu frames)", (long long)n0,
	       (unsigned long long)f0);
	free(rs);
	for (int64_t i = 0; i < n0; i++)
		for (uint64_t a = 0; a < r0[i].size; a += FS)
			stale_ok += xfm_read(h, r0[i].start + a, b, 8, 0) == 0;
	tap_ok((uint64_t)stale_ok == f0, "balloon: before xfm_invalidate every "
	       "old frame reads from its cached window (%ld of %llu)",
	       stale_ok, (unsigned long long)f0);
	xfm_invalidate(h, 0, UINT64_MAX);
	p1 = settled_pages(domid, p0);
	f1 = range_frames(h, &r1, &n1);
	tap_ok(f1 + k == p1, "balloon: after xfm_invalidate the ranges are "
	       "Xen's tot_pages %+lld, as before the balloon (%llu frames, "
	       "tot_pages %llu)", -(long long)k, (unsigned long long)f1,
	       (unsigned long long)p1);
	for (int64_t i = 0; i < n0; i++)
		for (uint64_t a = 0; a < r0[i].size; a += FS) {
			uint64_t addr = r0[i].start + a;

			if (in_ranges(r1, n1, addr))
				continue;
			want_absent++;
			absent += xfm_read(h, addr, b, 8, 0) == -ENOENT;
			zero += xfm_read(h, addr, b, FS, XFM_READ_ZERO_FILL) ==
				0 && !memcmp(b, z, FS);
		}
	tap_ok(want_absent > 0 && absent == want_absent && zero == want_absent,
	       "balloon: each of the %ld frames that left reads as absent "
	       "(-ENOENT: %ld, zeros with ZERO_FILL: %ld)", want_absent, absent,
	       zero);
	set_target(name, domid, 128);
	p2 = settled_pages(domid, p1);
	xfm_invalidate(h, 0, UINT64_MAX);
	f2 = range_frames(h, &r2, &n2);
	tap_ok(p2 > p1 && f2 + k == p2, "balloon: back to 128m: tot_pages %llu,"
	       " ranges %llu frames (tot_pages %+lld)", (unsigned long long)p2,
	       (unsigned long long)f2, -(long long)k);
	tap_ok(marker_ok(h), "balloon: the marker page still reads right");
	printf("# FAULT | xl mem-set 96m then 128m (balloon) | whole guest "
	       "cached | old windows served and the pages held (tot_pages "
	       "%llu) until xfm_invalidate; then %ld frames absent (-ENOENT), "
	       "tot_pages %llu, ranges = tot_pages %+lld | - | nothing |\n",
	       (unsigned long long)ph, want_absent, (unsigned long long)p1,
	       -(long long)k);
	free(r0);
	free(r1);
	free(r2);
	free(buf);
	xfm_close(h);
}

/* ------------------------------------------------------ save + restore */

static void save_restore(void)
{
	const char *name = lab_fact(G, "NAME");
	long old = lab_domid(name), now;
	xfm_handle *h = open_dom(old, 0);
	char line[512], want[64];
	uint8_t b[8];
	int rc;

	if (!h)
		return;
	tap_ok(marker_ok(h), "save/restore: handle on xen:%ld reads the marker",
	       old);
	rc = lab_sh("xl save %s %s/s.save > %s/s.log 2>&1", name, WORK, WORK);
	if (rc != 0 && lab_sh("grep -q 'command not implemented' %s/s.log",
			      WORK) == 0) {
		/* Xen 4.17 has no save/restore on Arm: xl says so and the
		 * guest stays where it was; so does the handle. */
		tap_ok(lab_domid(name) == old && marker_ok(h), "save/restore: "
		       "Xen 4.17 on Arm has no save (xl: \"command not "
		       "implemented\"): the guest stays domain %ld and the "
		       "handle still reads its marker", old);
		xfm_close(h);
		printf("# FAULT | xl save (Arm: Xen 4.17 has none) | handle "
		       "open | nothing to notice: the handle reads on | - | "
		       "nothing |\n");
		return;
	}
	if (rc == 0)
		rc = lab_sh("xl restore %s/s.save >> %s/s.log 2>&1", WORK, WORK);
	if (rc != 0)
		lab_sh("echo '# xl save/restore failed:'; sed 's/^/#   /' "
		       "%s/s.log | tail -n 15", WORK);
	unlink(WORK "/s.save");
	now = lab_domid(name);
	tap_ok(rc == 0 && now > 0 && now != old, "save/restore: %s is back as "
	       "domain %ld (was %ld)", name, now, old);
	rc = xfm_read(h, 0x1000, b, sizeof(b), 0);
	snprintf(want, sizeof(want), "xen:%ld: ", old);
	tap_ok(rc == -ESRCH && strstr(xfm_last_error(), want) &&
	       strstr(xfm_last_error(), "the domain is gone"),
	       "save/restore: the old handle fails clearly (rc %d: %s)", rc,
	       xfm_last_error());
	xfm_close(h);
	lab_sh_line(line, sizeof(line), "LD_LIBRARY_PATH=/payload/lib %s info "
		    "xen:%s 2>&1 | grep -m1 -i 'domid'", cli, name);
	snprintf(want, sizeof(want), "%ld", now);
	tap_ok(strstr(line, want) != NULL, "save/restore: xfm info xen:%s "
	       "finds domain %ld (%s)", name, now, line);
	h = open_dom(now, 0);
	tap_ok(h && marker_ok(h), "save/restore: the new domain reads the "
	       "marker");
	xfm_close(h);
	printf("# FAULT | xl save + xl restore (new domid %ld) | handle open | "
	       "old handle -ESRCH \"xen:%ld: ... the domain is gone\"; xen:%s "
	       "finds %ld | 5 (CLI) | nothing |\n", now, old, name, now);
}

/* ------------------------------------------------------ resource limits */

/* In a child: read all of the guest under a limit; exit status tells. */
static int limited_read(long domid, bool as_limit, int *windows_used)
{
	int fds[2];
	pid_t pid;
	int st;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		xfm_handle *h;
		xfm_range *r;
		int64_t n;
		uint8_t *buf = malloc(1u << 20);
		int rc = 0;

		close(fds[0]);
		if (as_limit) {
			FILE *f = fopen("/proc/self/statm", "r");
			unsigned long pages = 0;
			struct rlimit rl;

			if (f && fscanf(f, "%lu", &pages) != 1)
				pages = 0;
			if (f)
				fclose(f);
			/* Room for 24 one-MiB windows above what we use
			 * (statm counts this kernel's pages: 16 KiB on a
			 * 16K dom0). */
			rl.rlim_cur = rl.rlim_max =
				pages * (unsigned long)sysconf(_SC_PAGESIZE) +
				(24u << 20);
			setrlimit(RLIMIT_AS, &rl);
		}
		h = open_dom(domid, 0);
		if (!h)
			_exit(10);
		range_frames(h, &r, &n);
		for (int64_t i = 0; i < n && rc == 0; i++)
			for (uint64_t a = 0; a < r[i].size && rc == 0;
			     a += 1u << 20)
				rc = xfm_read(h, r[i].start + a, buf,
					      r[i].size - a < (1u << 20) ?
					      r[i].size - a : 1u << 20, 0);
		st = lab_maps();
		if (write(fds[1], &st, sizeof(st)) < 0)
			_exit(12);
		if (rc < 0)
			printf("# limited read: %s\n", xfm_last_error());
		fflush(stdout);
		_exit(rc == 0 ? 0 : 11);
	}
	close(fds[1]);
	if (read(fds[0], windows_used, sizeof(*windows_used)) < 0)
		*windows_used = -1;
	close(fds[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void limits(void)
{
	long domid = lab_domid(lab_fact(G, "NAME"));
	char old[32];
	int rc, maps = 0;

	rc = limited_read(domid, true, &maps);
	tap_ok(rc == 0, "limits: RLIMIT_AS with room for 24 windows: the "
	       "whole guest reads, the cache shrinks to fit (exit %d, %d "
	       "mappings)", rc, maps);
	lab_sh_line(old, sizeof(old), "cat /proc/sys/vm/max_map_count");
	lab_sh("echo 120 > /proc/sys/vm/max_map_count");
	rc = limited_read(domid, false, &maps);
	lab_sh("echo %s > /proc/sys/vm/max_map_count", old);
	tap_ok(rc == 0 && maps <= 120, "limits: vm.max_map_count 120: the "
	       "whole guest reads within it (exit %d, %d mappings)", rc, maps);
	printf("# FAULT | RLIMIT_AS = used + 24 MiB; vm.max_map_count = 120 | "
	       "whole-guest read | cache window count adapts to the limit | "
	       "- | nothing |\n");
}

int main(int argc, char **argv)
{
	const char *only = getenv("XFM_FAULTS_ONLY");
	xfm_handle *other;
	static char low[8];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--only"))
			only = argv[i + 1];
		else if (!strcmp(argv[i], "--cli"))
			cli = argv[i + 1];
	}
	G = lab_main_guest();
	if (!G) {
		printf("1..0 # SKIP no pvh or arm guest in this lab run\n");
		return 77;
	}
	for (int i = 0; G[i] && i < 7; i++)
		low[i] = (char)(G[i] | 0x20);
	g_low = low;
	signal(SIGBUS, on_sigbus);
	lab_sh("rm -rf " WORK "; mkdir -p " WORK);
	printf("# FAULT | fault | when | what xfm did | exit | left on disk |\n");
#define RUN(name, call) if (!only || strstr(only, name)) call
	other = open_dom(lab_domid(lab_fact(G, "NAME")), 0);
	RUN("dump", dump_destroy(10, other));
	RUN("dump", dump_destroy(50, other));
	RUN("dump", dump_destroy(90, other));
	xfm_close(other);
	RUN("cli", cli_destroy());
	RUN("reads", reads_destroy());
	RUN("dominfo", dominfo_exact());
	RUN("writer", writer_reads());
	RUN("balloon", balloon());
	RUN("limits", limits());
	RUN("restore", save_restore());
	return tap_done();
}
