/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * linux.c - find a Linux guest kernel's VMCOREINFO.
 *
 * The kernel (kernel/crash_core.c) builds at boot an ELF note named
 * "VMCOREINFO", type 0, whose descriptor is text lines "KEY=VALUE\n"
 * (OSRELEASE, PAGESIZE, KERNELOFFSET, SYMBOL(...), NUMBER(...), ...).  The
 * note sits at the start of a page allocation of its own, and its
 * physical address is what /sys/kernel/vmcoreinfo and QEMU's vmcoreinfo
 * device report.  So the note is found by checking the first 24 bytes of
 * every 4 KiB-aligned guest page (a Linux page is at least 4 KiB), never
 * by scanning all bytes, and a candidate is kept only when its text reads
 * as VMCOREINFO.  Memory is walked from the top down: the buddy allocator
 * hands out high pages first at boot, where the note is allocated.
 *
 * A dump that carries VMCOREINFO in its metadata (an ELF PT_NOTE, a kdump
 * header) reports that instead, without scanning.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

#define NOTE_HDR 24           /* n_namesz, n_descsz, n_type, name[12] */
#define SCAN_STEP 4096        /* smallest Linux page */
#define SCAN_FRAMES 4096      /* frames per xfm_map batch */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static bool starts_with(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p, s, n) == 0;
}

/*
 * The kernel's text: printable ASCII lines, the first one OSRELEASE=, a
 * PAGESIZE= line somewhere, ending in a newline.  Trailing NULs are the
 * rest of the kernel's zeroed buffer and are allowed.
 */
bool xfm_vmcoreinfo_valid(const char *p, size_t len)
{
	const char *v;
	size_t vl;

	while (len && p[len - 1] == '\0')
		len--;
	if (!starts_with(p, len, "OSRELEASE=") || p[len - 1] != '\n')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\n')
			return false;
	return xfm_vmcoreinfo_lookup(p, len, "PAGESIZE", &v, &vl) == 0;
}

int xfm_vmcoreinfo_lookup(const char *text, size_t len, const char *key,
			  const char **val, size_t *vlen)
{
	size_t kl = strlen(key);
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		if ((size_t)(eol - p) > kl && memcmp(p, key, kl) == 0 &&
		    p[kl] == '=') {
			*val = p + kl + 1;
			*vlen = (size_t)(eol - *val);
			return 0;
		}
		p = eol + 1;
	}
	return -ENOENT;
}

int xfm_vmcoreinfo_parse(const char *key, const char *val, size_t vlen,
			 uint64_t *out)
{
	bool hex = starts_with(key, strlen(key), "SYMBOL(") ||
		   starts_with(key, strlen(key), "ADDRESS(") ||
		   strcmp(key, "KERNELOFFSET") == 0;
	bool neg = false;
	uint64_t v = 0;
	size_t i = 0;

	if (vlen && val[0] == '-' && !hex) {
		neg = true;
		i = 1;
	}
	if (vlen - i > 2 && val[i] == '0' && (val[i + 1] == 'x' ||
					      val[i + 1] == 'X')) {
		hex = true;
		i += 2;
	}
	if (i >= vlen)
		return -EINVAL;
	for (; i < vlen; i++) {
		char c = val[i];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (hex && c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else if (hex && c >= 'A' && c <= 'F')
			d = (unsigned int)(c - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / (hex ? 16 : 10))
			return -EINVAL;
		v = v * (hex ? 16 : 10) + d;
	}
	*out = neg ? (uint64_t)0 - v : v;
	return 0;
}

static bool number(const char *text, size_t len, const char *key,
		   uint64_t *v)
{
	const char *val;
	size_t vl;

	return xfm_vmcoreinfo_lookup(text, len, key, &val, &vl) == 0 &&
	       xfm_vmcoreinfo_parse(key, val, vl, v) == 0;
}

#define START_KERNEL_MAP UINT64_C(0xffffffff80000000)
#define ARM64_IMAGE_SPAN (UINT64_C(128) << 20)
#define ARM64_BLOCK (UINT64_C(2) << 20)

bool xfm_linux_image_map(const char *text, size_t len,
			 struct xfm_image_map *m)
{
	uint64_t v, stext;

	if (number(text, len, "NUMBER(kimage_voffset)", &v) &&
	    number(text, len, "SYMBOL(_stext)", &stext) && stext >= v) {
		m->pa = (stext - v) & ~(ARM64_BLOCK - 1);
		m->va = m->pa + v;
		m->size = ARM64_IMAGE_SPAN;
		return true;
	}
	if (!number(text, len, "NUMBER(phys_base)", &v))
		return false;
	m->pa = v; /* may be "negative": the sums below wrap as the kernel's */
	m->va = START_KERNEL_MAP;
	if (!number(text, len, "NUMBER(KERNEL_IMAGE_SIZE)", &m->size) ||
	    !m->size || m->size > (UINT64_C(1) << 31))
		m->size = UINT64_C(1) << 30;
	return true;
}

/* ------------------------------------------------------------------ */
/* Discovery in guest memory                                           */

/* Does the page start at @p look like the note?  Sets *descsz. */
static bool note_header(const uint8_t *p, uint32_t *descsz)
{
	static const uint8_t name[12] = XFM_VMCOREINFO_NAME;

	if (le32(p) != sizeof(XFM_VMCOREINFO_NAME) || le32(p + 8) != 0 ||
	    memcmp(p + 12, name, sizeof(name)) != 0)
		return false;
	*descsz = le32(p + 4);
	return *descsz > 0 && *descsz <= XFM_VMCOREINFO_MAX;
}

/* Read and validate the text of a candidate note at @addr. */
static int take_candidate(xfm_handle *h, struct xfm_os *os, uint64_t addr,
			  uint32_t descsz)
{
	char *t = malloc((size_t)descsz + 1);

	if (!t)
		return -ENOMEM;
	if (xfm_read(h, addr + NOTE_HDR, t, descsz, 0) < 0 ||
	    !xfm_vmcoreinfo_valid(t, descsz)) {
		free(t);
		return 1;
	}
	t[descsz] = '\0';
	os->text = t;
	os->len = strlen(t);
	os->paddr = addr;
	return 0;
}

struct scan {
	xfm_handle *h;
	struct xfm_os *os;
	uint64_t fs;
	xfm_extent ext[SCAN_FRAMES];
};

/*
 * Check the page starts of frames [first, first + n): map them in one
 * batch, collect candidates, validate after unmapping.  0 found, 1 not
 * here, negative errno.
 */
static int scan_batch(struct scan *sc, uint64_t first, size_t n)
{
	uint64_t cand[16];
	uint32_t csz[16];
	size_t nc = 0;
	xfm_mapping *m;
	const uint8_t *base;
	int rc;

	for (size_t i = 0; i < n; i++)
		sc->ext[i] = (xfm_extent){ .frame = first + i };
	if (xfm_map(sc->h, sc->ext, n, XFM_PROT_READ, NULL, &m) < 0)
		return 1; /* nothing mapped in this batch */
	base = xfm_map_addr(m);
	/* Top down inside the batch too. */
	for (size_t i = n; i-- > 0 && nc < 16;) {
		uint64_t addr = (first + i) * sc->fs;
		uint64_t off = (SCAN_STEP - addr % SCAN_STEP) % SCAN_STEP;

		if (sc->ext[i].err)
			continue;
		for (; off + NOTE_HDR <= sc->fs && nc < 16; off += SCAN_STEP) {
			sc->os->scanned++;
			if (note_header(base + i * sc->fs + off, &csz[nc]))
				cand[nc++] = addr + off;
		}
	}
	xfm_unmap(m);
	for (size_t i = 0; i < nc; i++) {
		rc = take_candidate(sc->h, sc->os, cand[i], csz[i]);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

/*
 * Where to look: the memory map when it is loaded (or no cheaper answer
 * exists), else the source's likely ranges: the scan maps what it reads
 * and steps over frames that do not map, so a superset costs little,
 * while the exact map of a live Arm guest maps every frame of its RAM.
 */
static int64_t scan_ranges(xfm_handle *h, xfm_range **out)
{
	int (*likely)(struct xfm_source *, xfm_range **, size_t *) =
		h->src->ops->likely_ranges;
	size_t n = 0;
	bool loaded;
	int rc;

	pthread_mutex_lock(&h->lock);
	loaded = h->have_ranges;
	pthread_mutex_unlock(&h->lock);
	if (loaded || !likely)
		return xfm_get_ranges_alloc(h, 0, UINT64_MAX, out);
	rc = likely(h->src, out, &n);
	return rc < 0 ? rc : (int64_t)n;
}

static int scan_memory(xfm_handle *h, struct xfm_os *os)
{
	struct scan *sc = malloc(sizeof(*sc));
	xfm_range *r = NULL;
	int64_t nr;
	int rc = 1;

	if (!sc)
		return -ENOMEM;
	*sc = (struct scan){ .h = h, .os = os, .fs = h->geo.frame_size };
	nr = scan_ranges(h, &r);
	for (int64_t k = nr; r && k-- > 0 && rc == 1;) {
		uint64_t lo = r[k].start / sc->fs;
		uint64_t hi = (r[k].start + r[k].size) / sc->fs;

		while (hi > lo && rc == 1) {
			uint64_t n;

			/* Known zeros hold no note: a dump's huge unstored
			 * range is stepped over at once. */
			if (h->src->ops->zero_below)
				hi -= h->src->ops->zero_below(h->src, hi,
							      hi - lo);
			if (hi == lo)
				break;
			n = hi - lo < SCAN_FRAMES ? hi - lo : SCAN_FRAMES;
			hi -= n;
			rc = scan_batch(sc, hi, (size_t)n);
		}
	}
	free(r);
	free(sc);
	return rc;
}

static int from_source(xfm_handle *h, struct xfm_os *os)
{
	const struct xfm_source *s = h->src;

	if (!s->vmcoreinfo || !xfm_vmcoreinfo_valid(s->vmcoreinfo,
						    s->vmcoreinfo_len))
		return 1;
	os->text = strndup(s->vmcoreinfo, s->vmcoreinfo_len);
	if (!os->text)
		return -ENOMEM;
	os->len = strlen(os->text);
	os->paddr = UINT64_MAX;
	return 0;
}

static int add_fact(struct xfm_source *s, const struct xfm_os *os,
		    const char *fact, const char *key)
{
	const char *v;
	size_t vl;

	if (xfm_vmcoreinfo_lookup(os->text, os->len, key, &v, &vl) < 0)
		return 0;
	return xfm_source_add_info(s, fact, "%.*s", (int)vl, v);
}

/* The linux.* facts of xfm_source_info(). */
static int add_facts(xfm_handle *h, const struct xfm_os *os)
{
	struct xfm_source *s = h->src;
	const char *v;
	uint64_t off;
	size_t vl;

	if (add_fact(s, os, "linux.osrelease", "OSRELEASE") < 0 ||
	    add_fact(s, os, "linux.page_size", "PAGESIZE") < 0)
		return -ENOMEM;
	if (xfm_vmcoreinfo_lookup(os->text, os->len, "KERNELOFFSET", &v,
				  &vl) == 0 &&
	    xfm_vmcoreinfo_parse("KERNELOFFSET", v, vl, &off) == 0 &&
	    xfm_source_add_info(s, "linux.kaslr_offset", "0x%" PRIx64,
				off) < 0)
		return -ENOMEM;
	if (os->paddr != UINT64_MAX &&
	    xfm_source_add_info(s, "linux.vmcoreinfo_addr", "0x%" PRIx64,
				os->paddr) < 0)
		return -ENOMEM;
	return xfm_source_add_info(s, "linux.vmcoreinfo_source", "%s",
				   os->paddr == UINT64_MAX ? "dump"
							   : "memory");
}

/* Called with h->os_lock held. */
static int discover(xfm_handle *h, struct xfm_os *os)
{
	int rc = from_source(h, os);

	if (rc == 1)
		rc = scan_memory(h, os);
	if (rc == 1)
		return -ENOENT;
	if (rc < 0)
		return rc;
	return add_facts(h, os);
}

/* Run discovery once; returns its result.  Takes h->os_lock. */
static int find_once(xfm_handle *h)
{
	struct xfm_os *os;
	int rc;

	pthread_mutex_lock(&h->os_lock);
	if (!h->os)
		h->os = calloc(1, sizeof(*h->os));
	os = h->os;
	if (os && !os->tried) {
		os->err = discover(h, os);
		os->tried = true;
	}
	rc = os ? os->err : -ENOMEM;
	pthread_mutex_unlock(&h->os_lock);
	return rc;
}

void xfm_os_facts(xfm_handle *h)
{
	char saved[512];

	/* Reading the guest may set messages: the caller's stays. */
	snprintf(saved, sizeof(saved), "%s", xfm_last_error());
	find_once(h);
	xfm_fail(0, "%s", saved);
}

int xfm_linux_find(xfm_handle *h, const struct xfm_os **out)
{
	int rc = find_once(h);

	if (rc == -ENOENT)
		return xfm_fail(rc, "%s: no Linux VMCOREINFO found (not a "
				"Linux guest, or a kernel without "
				"CONFIG_CRASH_CORE)", h->src->label);
	if (rc < 0)
		return xfm_fail(rc, "%s: looking for VMCOREINFO: %s",
				h->src->label, strerror(-rc));
	*out = h->os;
	return 0;
}

void xfm_os_fini(xfm_handle *h)
{
	if (!h->os)
		return;
	free(h->os->text);
	free(h->os);
	h->os = NULL;
}

/* ------------------------------------------------------------------ */
/* Public calls                                                        */

XFM_EXPORT int64_t xfm_vmcoreinfo(xfm_handle *h, char *buf, size_t size,
				  uint64_t *paddr)
{
	const struct xfm_os *os;
	int rc;

	if (!h || (size && !buf))
		return xfm_fail(-EINVAL, "xfm_vmcoreinfo: bad arguments");
	rc = xfm_linux_find(h, &os);
	if (rc < 0)
		return rc;
	if (size) {
		size_t n = os->len < size - 1 ? os->len : size - 1;

		memcpy(buf, os->text, n);
		buf[n] = '\0';
	}
	if (paddr)
		*paddr = os->paddr;
	return (int64_t)os->len;
}

XFM_EXPORT int xfm_vmcoreinfo_number(xfm_handle *h, const char *key,
				     uint64_t *value)
{
	const struct xfm_os *os;
	const char *v;
	size_t vl;
	int rc;

	if (!h || !key || !*key || !value)
		return xfm_fail(-EINVAL, "xfm_vmcoreinfo_number: bad arguments");
	rc = xfm_linux_find(h, &os);
	if (rc < 0)
		return rc;
	if (xfm_vmcoreinfo_lookup(os->text, os->len, key, &v, &vl) < 0)
		return xfm_fail(-ENOENT, "%s: VMCOREINFO has no %s",
				h->src->label, key);
	rc = xfm_vmcoreinfo_parse(key, v, vl, value);
	if (rc < 0)
		return xfm_fail(rc, "%s: VMCOREINFO %s=%.*s is not a number",
				h->src->label, key, (int)(vl > 64 ? 64 : vl),
				v);
	return 0;
}
