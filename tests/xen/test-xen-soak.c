/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * test-xen-soak - load held against the lab's live guests (issue 18): for
 * a bounded time, 8 reader threads (random marker and region pages, every
 * byte checked against what the guest wrote), a writer (xfm_write into a
 * guest scratch area, read back), a dumper (whole-guest raw dumps, the
 * marker checked in each file) and an open/close loop, against every lab
 * guest at once.  Every second it samples this process's fds, mappings
 * and RSS.  The result (operations, bytes checked, mismatches, peaks, the
 * samples) is written as JSON and sent to the host with lab-export.
 * Usage: test-xen-soak [--seconds N] [--export NAME]   (TAP on stdout)
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/utsname.h>

#include "lab-guest.h"
#include "../lib/tap.h"
#include "xfm.h"

#define FS 4096u
#define MAX_GUESTS 2
#define MAX_SAMPLES 4000

struct guest {
	char type[8];              /* PVH, PV, ARM */
	long domid;
	xfm_handle *h;
	uint64_t marker_pfn;
	uint8_t marker[FS];
	uint8_t *region;           /* region pages, expected bytes */
	uint64_t *region_pfn;
	uint64_t pages;
	uint64_t scratch;          /* writer's control page + 64 (PVH/ARM) */
};

static struct guest gs[MAX_GUESTS];
static int ng;
static _Atomic bool stop;
static _Atomic long reads, bytes_checked, mismatches, errors, writes,
	dumps, opens;
static char last_error[512];

static void note_error(const char *what)
{
	atomic_fetch_add(&errors, 1);
	snprintf(last_error, sizeof(last_error), "%s: %s", what,
		 xfm_last_error());
}

static bool load_file(const char *path, uint8_t *buf, size_t n)
{
	FILE *f = fopen(path, "rb");
	bool ok = f && fread(buf, 1, n, f) == n;

	if (f)
		fclose(f);
	return ok;
}

static bool load_guest(struct guest *g, const char *type)
{
	const char *runs = lab_fact(type, "REGION_PFNS");
	uint64_t k = 0;
	char uri[32];

	snprintf(g->type, sizeof(g->type), "%s", type);
	g->domid = lab_domid(lab_fact(type, "NAME"));
	g->marker_pfn = strtoull(lab_fact(type, "MARKER_PFN"), NULL, 0);
	g->pages = strtoull(lab_fact(type, "REGION_PAGES"), NULL, 0);
	g->region = malloc(g->pages * FS);
	g->region_pfn = calloc(g->pages, sizeof(uint64_t));
	if (!g->region || !g->region_pfn ||
	    !load_file(lab_fact(type, "MARKER_FILE"), g->marker, FS) ||
	    !load_file(lab_fact(type, "REGION_FILE"), g->region, g->pages * FS))
		return false;
	while (runs && *runs && k < g->pages) {
		char *end;
		uint64_t pfn = strtoull(runs, &end, 0);
		uint64_t n = strtoull(end + 1, &end, 10);

		for (uint64_t i = 0; i < n && k < g->pages; i++)
			g->region_pfn[k++] = pfn + i;
		runs = *end ? end + 1 : end;
	}
	snprintf(uri, sizeof(uri), "xen:%ld", g->domid);
	return k == g->pages && xfm_open(&g->h, uri, XFM_OPEN_WRITE |
					 XFM_OPEN_QUIET) == 0;
}

/* The writer's control page (lab/guest/marker.c --writer), if any. */
static void find_scratch(struct guest *g)
{
	char line[256];
	unsigned long ctrl, data;

	lab_sh_line(line, sizeof(line), "tr -d '\\r' < %s | grep -a -m1 "
		    "'^XFM-WRITER ctrl='", lab_fact(g->type, "CONSOLE_LOG"));
	if (sscanf(line, "XFM-WRITER ctrl=%lx data=%lx", &ctrl, &data) == 2)
		g->scratch = ctrl * FS + 64;
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *reader(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	uint8_t buf[FS];

	while (!atomic_load(&stop)) {
		struct guest *g = &gs[next(&seed) % (uint64_t)ng];
		uint64_t k = next(&seed) % (g->pages + 1);
		uint64_t off = next(&seed) % FS, len = 1 + next(&seed) % (FS - off);
		const uint8_t *want = k == g->pages ? g->marker
						    : g->region + k * FS;
		uint64_t pfn = k == g->pages ? g->marker_pfn : g->region_pfn[k];

		if (xfm_read(g->h, pfn * FS + off, buf, len, 0) < 0) {
			note_error("read");
			continue;
		}
		atomic_fetch_add(&reads, 1);
		atomic_fetch_add(&bytes_checked, (long)len);
		if (memcmp(buf, want + off, len))
			atomic_fetch_add(&mismatches, 1);
	}
	return NULL;
}

static void *writer(void *arg)
{
	struct guest *g = arg;
	uint64_t v[64], back[64], n = 0;

	while (!atomic_load(&stop)) {
		for (int i = 0; i < 64; i++)
			v[i] = n << 8 | (uint64_t)i;
		n++;
		if (xfm_write(g->h, g->scratch, v, sizeof(v)) < 0 ||
		    xfm_read(g->h, g->scratch, back, sizeof(back), 0) < 0) {
			note_error("write");
			continue;
		}
		atomic_fetch_add(&writes, 1);
		atomic_fetch_add(&bytes_checked, (long)sizeof(v));
		if (memcmp(v, back, sizeof(v)))
			atomic_fetch_add(&mismatches, 1);
		usleep(1000);
	}
	return NULL;
}

static void *dumper(void *arg)
{
	uint8_t buf[FS];
	int i = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		struct guest *g = &gs[i++ % ng];
		int fd;

		unlink("/tmp/soak/d.raw");
		if (xfm_dump(g->h, "/tmp/soak/d.raw", XFM_DUMP_RAW, 0, NULL,
			     NULL) < 0) {
			note_error("dump");
			continue;
		}
		fd = open("/tmp/soak/d.raw", O_RDONLY);
		if (fd < 0 || pread(fd, buf, FS, (off_t)(g->marker_pfn * FS)) !=
		    FS || memcmp(buf, g->marker, FS))
			atomic_fetch_add(&mismatches, 1);
		if (fd >= 0)
			close(fd);
		atomic_fetch_add(&dumps, 1);
		atomic_fetch_add(&bytes_checked, FS);
	}
	unlink("/tmp/soak/d.raw");
	return NULL;
}

static void *opener(void *arg)
{
	uint8_t buf[FS];
	int i = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		struct guest *g = &gs[i++ % ng];
		char uri[32];
		xfm_handle *h;

		snprintf(uri, sizeof(uri), "xen:%ld", g->domid);
		if (xfm_open(&h, uri, XFM_OPEN_QUIET) < 0) {
			note_error("open");
			continue;
		}
		if (xfm_read(h, g->marker_pfn * FS, buf, FS, 0) < 0)
			note_error("read after open");
		else if (memcmp(buf, g->marker, FS))
			atomic_fetch_add(&mismatches, 1);
		xfm_close(h);
		atomic_fetch_add(&opens, 1);
	}
	return NULL;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;

	if (f && fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	if (f)
		fclose(f);
	return (long)(res * (unsigned long)sysconf(_SC_PAGESIZE) / 1024);
}

struct sample {
	int t;
	long reads, fds, maps, rss;  /* maps: of /dev/xen/privcmd */
};

static struct sample smp[MAX_SAMPLES];

static void write_json(const char *path, int nsmp, int secs,
		       const struct sample *first, const struct sample *last,
		       long peak_fds, long peak_maps, long peak_rss)
{
	FILE *f = fopen(path, "w");
	struct utsname u;

	if (!f)
		return;
	uname(&u);
	fprintf(f, "{\n  \"what\": \"test-xen-soak: 8 readers, a writer, a "
		"dumper and an open/close loop against live Xen guests\",\n");
	fprintf(f, "  \"dom0\": \"%s %s\",\n  \"dom0_page\": %ld,\n",
		u.machine, u.release, sysconf(_SC_PAGESIZE));
	fprintf(f, "  \"seconds\": %d,\n  \"guests\": [", secs);
	for (int i = 0; i < ng; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", gs[i].type);
	fprintf(f, "],\n  \"threads\": {\"readers\": 8, \"writer\": %d, "
		"\"dumper\": 1, \"open_close\": 1},\n",
		gs[0].scratch ? 1 : 0);
	fprintf(f, "  \"operations\": {\"reads\": %ld, \"writes\": %ld, "
		"\"dumps\": %ld, \"open_close\": %ld},\n", reads, writes,
		dumps, opens);
	fprintf(f, "  \"bytes_checked\": %ld,\n  \"mismatches\": %ld,\n"
		"  \"errors\": %ld,\n", bytes_checked, mismatches, errors);
	fprintf(f, "  \"fds\": {\"start\": %ld, \"peak\": %ld, \"end\": %ld},\n",
		first->fds, peak_fds, last->fds);
	fprintf(f, "  \"privcmd_mappings\": {\"start\": %ld, \"peak\": %ld, "
		"\"end\": %ld},\n", first->maps, peak_maps, last->maps);
	fprintf(f, "  \"rss_kib\": {\"start\": %ld, \"peak\": %ld, "
		"\"end\": %ld},\n", first->rss, peak_rss, last->rss);
	fprintf(f, "  \"samples\": [\n");
	for (int i = 0; i < nsmp; i++)
		fprintf(f, "    {\"t\": %d, \"reads\": %ld, \"fds\": %ld, "
			"\"privcmd_mappings\": %ld, \"rss_kib\": %ld}%s\n", smp[i].t,
			smp[i].reads, smp[i].fds, smp[i].maps, smp[i].rss,
			i + 1 < nsmp ? "," : "");
	fprintf(f, "  ]\n}\n");
	fclose(f);
}

int main(int argc, char **argv)
{
	int secs = 60, nsmp = 0;
	const char *export = NULL, *types = getenv("XFM_GUESTS");
	pthread_t t[11];
	int nt = 0;
	long peak_fds = 0, peak_maps = 0, peak_rss = 0;
	struct sample before, after;
	char list[64], *save = NULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			secs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--export"))
			export = argv[i + 1];
	}
	if (!types) {
		printf("1..0 # SKIP no lab guests (XFM_GUESTS unset)\n");
		return 77;
	}
	before = (struct sample){ 0, 0, lab_fds(), lab_maps_of("privcmd"), rss_kib() };
	snprintf(list, sizeof(list), "%s", types);
	for (char *g = strtok_r(list, " ", &save); g && ng < MAX_GUESTS;
	     g = strtok_r(NULL, " ", &save)) {
		char up[8];

		snprintf(up, sizeof(up), "%s", g);
		for (int i = 0; up[i]; i++)
			up[i] = (char)toupper((unsigned char)up[i]);
		if (!tap_ok(load_guest(&gs[ng], up), "soak: open %s and load its "
			    "expected bytes", up))
			return tap_done();
		find_scratch(&gs[ng]);
		ng++;
	}
	lab_sh("mkdir -p /tmp/soak");
	for (long i = 0; i < 8; i++)
		pthread_create(&t[nt++], NULL, reader, (void *)i);
	if (gs[0].scratch)
		pthread_create(&t[nt++], NULL, writer, &gs[0]);
	pthread_create(&t[nt++], NULL, dumper, NULL);
	pthread_create(&t[nt++], NULL, opener, NULL);
	for (int s = 1; s <= secs && nsmp < MAX_SAMPLES; s++) {
		sleep(1);
		smp[nsmp] = (struct sample){ s, atomic_load(&reads), lab_fds(),
					     lab_maps_of("privcmd"), rss_kib() };
		peak_fds = smp[nsmp].fds > peak_fds ? smp[nsmp].fds : peak_fds;
		peak_maps = smp[nsmp].maps > peak_maps ? smp[nsmp].maps
						       : peak_maps;
		peak_rss = smp[nsmp].rss > peak_rss ? smp[nsmp].rss : peak_rss;
		nsmp++;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < ng; i++)
		xfm_close(gs[i].h);
	after = (struct sample){ secs, reads, lab_fds(), lab_maps_of("privcmd"), rss_kib() };
	tap_ok(mismatches == 0, "soak: %ld reads, %ld writes, %ld dumps, %ld "
	       "open/close in %d s: %ld bytes checked, %ld mismatches", reads,
	       writes, dumps, opens, secs, bytes_checked, mismatches);
	tap_ok(errors == 0, "soak: no call failed (%ld; last: %s)", errors,
	       last_error);
	tap_ok(reads > 0 && dumps > 0 && opens > 0 &&
	       (writes > 0 || !gs[0].scratch), "soak: every kind of load ran");
	tap_ok(after.fds == before.fds && after.maps == 0,
	       "soak: fds %ld -> peak %ld -> %ld, privcmd mappings %ld -> peak "
	       "%ld -> %ld (all released)", before.fds, peak_fds, after.fds,
	       before.maps, peak_maps, after.maps);
	write_json("/tmp/soak/soak.json", nsmp, secs, &before, &after,
		   peak_fds, peak_maps, peak_rss);
	if (export)
		tap_ok(lab_sh("lab-export /tmp/soak/soak.json %s", export) == 0,
		       "soak: result exported as %s", export);
	return tap_done();
}
