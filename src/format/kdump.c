/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * kdump.c - makedumpfile's kdump-compressed format ("KDUMP   ", header
 * version 6), and its flattened form for pipes, reader and writer.
 *
 * Layout, in blocks of the dumped kernel's page size B:
 *   block 0       disk_dump_header (464 bytes on 64-bit)
 *   block 1..     kdump_sub_header (104 bytes), then the ELF notes and the
 *                 VMCOREINFO text they hold (sub_hdr_size blocks in all)
 *   bitmaps       bitmap_blocks: first the pages that exist, then the
 *                 pages dumped; bit n (LSB first) is page n
 *   descriptors   one page_desc (24 bytes: offset, size, flags,
 *                 page_flags) per dumped page, in page order
 *   page data     compressed or as-is (size == B), back to back; the
 *                 all-zero pages share one zero block (makedumpfile's
 *                 dump level 1 "pd_zero")
 * The flattened form is a 4 KiB "makedumpfile" header, then records of
 * {offset, size} (big-endian 64-bit) + data, ended by {-1, -1}: each
 * record is a piece of the file above at that offset.
 *
 * Everything a reader takes from the file is checked before use: header
 * sizes, offsets into the file, bitmap sizes against max_mapnr, each
 * page descriptor (offset, size, flags) when its page is read, and every
 * decompressed page's length.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "compress.h"
#include "elf-io.h"
#include "le.h"
#include "linux.h"

#define KDUMP_SIG "KDUMP   "
#define FLAT_SIG "makedumpfile"
#define FLAT_HDR 4096
#define HDR_SIZE 464
#define SUB_SIZE 104
#define PD_SIZE 24
#define UTS_LEN 65
#define UTS_OFF 12

/* page_desc.flags and the header's status */
#define DH_ZLIB 0x1
#define DH_LZO 0x2
#define DH_SNAPPY 0x4
#define DH_INCOMPLETE 0x8
#define DH_EXCLUDED_VMEMMAP 0x10
#define DH_ZSTD 0x20
#define DH_COMPRESSED (DH_ZLIB | DH_LZO | DH_SNAPPY | DH_ZSTD)

static const unsigned int codec_flag[XFM_CODEC_MAX] = {
	0, DH_ZLIB, DH_LZO, DH_SNAPPY, DH_ZSTD,
};

static int flag_codec(unsigned int flag)
{
	for (int c = 1; c < XFM_CODEC_MAX; c++)
		if (codec_flag[c] == flag)
			return c;
	return -1;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */

struct chunk {
	uint64_t loff, len, poff;   /* logical offset, bytes, file offset */
};

struct kd {
	uint64_t bs;              /* block (page) size */
	uint64_t max_mapnr;
	uint64_t mapnr_at;        /* where max_mapnr was read (errors) */
	uint64_t lsize;           /* logical size: the file, or the end of
				   * the flattened form's last record */
	uint64_t pd_off;          /* logical offset of the descriptors */
	uint64_t ndumped;
	uint64_t *map;            /* dumped-pages bitmap, 64 pages a word */
	uint64_t nwords;
	uint64_t *rank;           /* set bits before word 8*i */
	struct chunk *chunks;     /* flattened: sorted, disjoint */
	size_t nchunks;
	bool flat;
};

static int cmp_chunk(const void *a, const void *b)
{
	const struct chunk *x = a, *y = b;

	return x->loff < y->loff ? -1 : x->loff > y->loff;
}

/* Read logical bytes [off, off + len) of the dump (either form). */
static int kd_read(struct xfm_file *f, const struct kd *k, uint64_t off,
		   void *buf, uint64_t len, const char *what)
{
	uint8_t *p = buf;

	if (!k->flat)
		return xfm_file_read_at(f, off, buf, len, what);
	while (len) {
		size_t lo = 0, hi = k->nchunks;
		const struct chunk *c;
		uint64_t n;
		int rc;

		while (lo < hi) {  /* last chunk starting at or before off */
			size_t mid = lo + (hi - lo) / 2;

			if (k->chunks[mid].loff <= off)
				lo = mid + 1;
			else
				hi = mid;
		}
		c = lo ? &k->chunks[lo - 1] : NULL;
		if (!c || off - c->loff >= c->len)
			return xfm_file_bad(f, 0, "flattened dump has no data "
					    "for %s at offset 0x%llx", what,
					    (unsigned long long)off);
		n = c->len - (off - c->loff);
		n = n < len ? n : len;
		rc = xfm_file_read_at(f, c->poff + (off - c->loff), p, n, what);
		if (rc < 0)
			return rc;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* The flattened form's records, as a sorted list of disjoint chunks.  A
 * record that rewrites exactly a previous one replaces it. */
static int load_flat(struct xfm_file *f, struct kd *k)
{
	uint64_t pos = FLAT_HDR;
	size_t cap = 0;
	uint8_t h[16];
	int rc;

	for (;;) {
		uint64_t off, len;

		rc = xfm_file_read_at(f, pos, h, 16, "flattened record header");
		if (rc < 0)
			return rc;
		off = be64(h);
		len = be64(h + 8);
		if (off == UINT64_MAX && len == UINT64_MAX)
			break;
		if ((int64_t)off < 0 || (int64_t)len <= 0 ||
		    !xfm_file_has(f, pos + 16, len) || off + len < off)
			return xfm_file_bad(f, pos, "flattened record (offset "
					    "0x%llx, %llu bytes) is corrupt or "
					    "runs past the end of the file",
					    (unsigned long long)off,
					    (unsigned long long)len);
		if (k->nchunks == cap) {
			struct chunk *c;

			cap = cap ? cap * 2 : 256;
			c = realloc(k->chunks, cap * sizeof(*c));
			if (!c)
				return -ENOMEM;
			k->chunks = c;
		}
		k->chunks[k->nchunks++] = (struct chunk){ off, len, pos + 16 };
		pos += 16 + len;
	}
	if (k->nchunks > 1)
		qsort(k->chunks, k->nchunks, sizeof(*k->chunks), cmp_chunk);
	for (size_t i = 0; i < k->nchunks; i++)
		if (k->chunks[i].loff + k->chunks[i].len > k->lsize)
			k->lsize = k->chunks[i].loff + k->chunks[i].len;
	/* Identical rewrites: keep the later (sorting keeps no order, so
	 * require equal bytes' places to be equal-sized); overlaps fail. */
	for (size_t i = 1, j = 0; i <= k->nchunks; i++) {
		if (i == k->nchunks) {
			k->nchunks = j + 1;
			break;
		}
		if (k->chunks[i].loff == k->chunks[j].loff &&
		    k->chunks[i].len == k->chunks[j].len) {
			k->chunks[j] = k->chunks[i];
			continue;
		}
		if (k->chunks[i].loff < k->chunks[j].loff + k->chunks[j].len)
			return xfm_file_bad(f, k->chunks[i].poff - 16,
					    "flattened records overlap at "
					    "offset 0x%llx",
					    (unsigned long long)
					    k->chunks[i].loff);
		k->chunks[++j] = k->chunks[i];
	}
	k->flat = true;
	return 0;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

struct kd_hdr {
	uint32_t version, status, sub_blocks, bitmap_blocks, nr_cpus;
	uint64_t bs, max_mapnr;
	char release[UTS_LEN];
};

static int check_header(struct xfm_file *f, const uint8_t *h,
			struct kd_hdr *kh)
{
	kh->version = xfm_le32(h + 8);
	kh->bs = xfm_le32(h + 428);
	kh->sub_blocks = xfm_le32(h + 432);
	kh->bitmap_blocks = xfm_le32(h + 436);
	kh->max_mapnr = xfm_le32(h + 440);
	kh->status = xfm_le32(h + 424);
	kh->nr_cpus = xfm_le32(h + 460);
	memcpy(kh->release, h + UTS_OFF + 2 * UTS_LEN, UTS_LEN);
	kh->release[UTS_LEN - 1] = '\0';
	if (kh->version < 1 || kh->version > 6)
		return xfm_file_bad(f, 8, "kdump header version %u is not "
				    "1..6", kh->version);
	if (!is_pow2(kh->bs) || kh->bs < 512 || kh->bs > (1u << 20))
		return xfm_file_bad(f, 428, "kdump block size %llu is not a "
				    "power of two from 512 B to 1 MiB",
				    (unsigned long long)kh->bs);
	if (!kh->sub_blocks || kh->sub_blocks > (1u << 20))
		return xfm_file_bad(f, 432, "kdump sub-header of %u blocks",
				    kh->sub_blocks);
	if (!kh->bitmap_blocks || kh->bitmap_blocks % 2)
		return xfm_file_bad(f, 436, "kdump bitmap of %u blocks is not "
				    "two equal halves", kh->bitmap_blocks);
	return 0;
}

/* VMCOREINFO and the notes the sub-header points to (version 3+, 4+). */
static int read_sub(struct xfm_file *f, struct kd *k, const struct kd_hdr *kh,
		    const uint8_t *sub)
{
	uint64_t voff = xfm_le64(sub + 32), vlen = xfm_le64(sub + 40);
	uint64_t noff = xfm_le64(sub + 48), nlen = xfm_le64(sub + 56);
	int rc;

	if (kh->version >= 6 && xfm_le64(sub + 96)) {
		k->max_mapnr = xfm_le64(sub + 96);
		k->mapnr_at = kh->bs + 96;
	}
	if (kh->version >= 3 && vlen) {
		if (vlen > XFM_VMCOREINFO_MAX)
			return xfm_file_bad(f, kh->bs + 40, "kdump VMCOREINFO "
					    "of %llu bytes (at most %u)",
					    (unsigned long long)vlen,
					    XFM_VMCOREINFO_MAX);
		f->base.vmcoreinfo = malloc(vlen);
		if (!f->base.vmcoreinfo)
			return -ENOMEM;
		f->base.vmcoreinfo_len = vlen;
		rc = kd_read(f, k, voff, f->base.vmcoreinfo, vlen,
			     "VMCOREINFO");
		if (rc < 0)
			return rc;
	}
	if (kh->version >= 4 && nlen) {
		if (nlen > (UINT64_C(64) << 20))
			return xfm_file_bad(f, kh->bs + 56, "kdump notes of "
					    "%llu bytes (at most 64 MiB)",
					    (unsigned long long)nlen);
		f->base.notes = malloc(nlen);
		if (!f->base.notes)
			return -ENOMEM;
		f->base.notes_len = nlen;
		rc = kd_read(f, k, noff, f->base.notes, nlen, "notes");
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The dumped-pages bitmap, its ranks, and segments for its runs. */
static int read_bitmap(struct xfm_file *f, struct kd *k,
		       const struct kd_hdr *kh)
{
	uint64_t half = (uint64_t)kh->bitmap_blocks / 2 * k->bs;
	uint64_t off = (1 + (uint64_t)kh->sub_blocks) * k->bs + half;
	uint64_t bytes = (k->max_mapnr + 7) / 8, run = 0, cnt = 0;
	int rc;

	if (k->max_mapnr > half * 8 || k->max_mapnr > (UINT64_C(1) << 44))
		return xfm_file_bad(f, k->mapnr_at, "kdump max_mapnr %llu does "
				    "not fit its bitmap of %llu bytes",
				    (unsigned long long)k->max_mapnr,
				    (unsigned long long)half);
	/* Before allocating for it: the bitmap must be in the file. */
	if (off > k->lsize || bytes > k->lsize - off)
		return xfm_file_bad(f, 436, "kdump bitmap (%llu bytes at offset "
				    "0x%llx) runs past the end of the dump "
				    "(%llu bytes)", (unsigned long long)bytes,
				    (unsigned long long)off,
				    (unsigned long long)k->lsize);
	k->nwords = (k->max_mapnr + 63) / 64;
	k->map = calloc(k->nwords ? k->nwords : 1, 8);
	k->rank = calloc(k->nwords / 8 + 1, 8);
	if (!k->map || !k->rank)
		return -ENOMEM;
	rc = kd_read(f, k, off, k->map, bytes, "kdump bitmap");
	if (rc < 0)
		return rc;
	for (uint64_t w = 0; w < k->nwords; w++) {
		/* Bytes are LSB first: a little-endian word per 64 pages. */
		k->map[w] = xfm_le64((uint8_t *)&k->map[w]);
		if (w == k->nwords - 1 && k->max_mapnr % 64)
			k->map[w] &= (UINT64_C(1) << (k->max_mapnr % 64)) - 1;
		if (w % 8 == 0)
			k->rank[w / 8] = cnt;
		cnt += (uint64_t)__builtin_popcountll(k->map[w]);
	}
	k->ndumped = cnt;
	k->pd_off = off + half;
	if (k->pd_off > k->lsize ||
	    cnt > (k->lsize - k->pd_off) / PD_SIZE)
		return xfm_file_bad(f, k->pd_off, "kdump page descriptors (%llu "
				    "dumped pages, %u bytes each) run past the "
				    "end of the dump (%llu bytes)",
				    (unsigned long long)cnt, PD_SIZE,
				    (unsigned long long)k->lsize);
	for (uint64_t p = 0; p <= k->max_mapnr; p++) {
		bool set = p < k->max_mapnr &&
			   (k->map[p / 64] >> (p % 64) & 1);

		if (set) {
			run++;
			continue;
		}
		if (run && (rc = xfm_file_add_seg(f, (p - run) * k->bs,
						  run * k->bs, 0, true)) < 0)
			return rc;
		run = 0;
	}
	return 0;
}

static int kd_read_page(struct xfm_file *f, const struct kd *k, uint64_t pfn,
			uint8_t *page, uint8_t *tmp)
{
	uint64_t w = pfn / 64, idx = k->rank[w / 8], off, pos;
	uint32_t size, flags;
	uint8_t pd[PD_SIZE];
	int rc, c;

	for (uint64_t i = w / 8 * 8; i < w; i++)
		idx += (uint64_t)__builtin_popcountll(k->map[i]);
	idx += (uint64_t)__builtin_popcountll(k->map[w] &
					      ((UINT64_C(1) << (pfn % 64)) - 1));
	pos = k->pd_off + idx * PD_SIZE;
	rc = kd_read(f, k, pos, pd, PD_SIZE, "page descriptor");
	if (rc < 0)
		return rc;
	off = xfm_le64(pd);
	size = xfm_le32(pd + 8);
	flags = xfm_le32(pd + 12);
	if (flags & DH_INCOMPLETE)
		return xfm_file_bad(f, pos, "page 0x%llx is marked incomplete",
				    (unsigned long long)pfn);
	if (!size || size > k->bs || (!(flags & DH_COMPRESSED) &&
				      size != k->bs))
		return xfm_file_bad(f, pos, "page 0x%llx: stored size %u for "
				    "a %llu-byte page", (unsigned long long)pfn,
				    size, (unsigned long long)k->bs);
	if (!(flags & DH_COMPRESSED))
		return kd_read(f, k, off, page, k->bs, "page data");
	c = flag_codec(flags & DH_COMPRESSED);
	if (c < 0)
		return xfm_file_bad(f, pos, "page 0x%llx: compression flags "
				    "0x%x", (unsigned long long)pfn, flags);
	rc = xfm_codec_load(c);
	if (rc < 0) {
		char why[256];

		/* xfm_fail() writes where xfm_last_error() points */
		snprintf(why, sizeof(why), "%s", xfm_last_error());
		return xfm_fail(rc, "%s: page 0x%llx: %s", f->base.label,
				(unsigned long long)pfn, why);
	}
	rc = kd_read(f, k, off, tmp, size, "page data");
	if (rc < 0)
		return rc;
	if (xfm_codec_decompress(c, tmp, size, page, k->bs) < 0)
		return xfm_file_bad(f, off, "page 0x%llx: %s data (%u bytes) "
				    "does not decompress to %llu bytes",
				    (unsigned long long)pfn,
				    xfm_codec_name(c), size,
				    (unsigned long long)k->bs);
	return 0;
}

static int kd_read_pages(struct xfm_file *f, uint64_t addr, void *buf,
			 uint64_t len)
{
	const struct kd *k = f->priv;
	uint8_t *page = malloc(2 * k->bs), *p = buf;
	int rc = 0;

	if (!page)
		return -ENOMEM;
	while (len && rc == 0) {
		uint64_t in = addr % k->bs, n = k->bs - in;

		n = n < len ? n : len;
		rc = kd_read_page(f, k, addr / k->bs, page, page + k->bs);
		if (rc < 0)
			break;
		memcpy(p, page + in, n);
		p += n;
		addr += n;
		len -= n;
	}
	free(page);
	return rc;
}

static void kd_free(struct xfm_file *f)
{
	struct kd *k = f->priv;

	if (!k)
		return;
	free(k->map);
	free(k->rank);
	free(k->chunks);
	free(k);
	f->priv = NULL;
}

static int kd_facts(struct xfm_file *f, const struct kd *k,
		    const struct kd_hdr *kh)
{
	struct xfm_source *s = &f->base;
	unsigned int c = kh->status & DH_COMPRESSED;

	if (xfm_source_add_info(s, "kdump.version", "%u", kh->version) < 0 ||
	    xfm_source_add_info(s, "kdump.flattened", "%s", k->flat ? "yes"
				: "no") < 0 ||
	    xfm_source_add_info(s, "kdump.block_size", "%llu",
				(unsigned long long)k->bs) < 0 ||
	    xfm_source_add_info(s, "kdump.compression", "%s",
				c ? xfm_codec_name(flag_codec(c)) : "none") < 0 ||
	    xfm_source_add_info(s, "kdump.pages", "%llu",
				(unsigned long long)k->ndumped) < 0 ||
	    xfm_source_add_info(s, "kdump.release", "%s", kh->release) < 0)
		return -ENOMEM;
	return 0;
}

static int parse_kdump(struct xfm_file *f)
{
	uint8_t h[HDR_SIZE], sub[SUB_SIZE];
	struct kd_hdr kh;
	struct kd *k;
	int rc;

	if (f->size < 16)
		return XFM_FILE_NOT_MINE;
	rc = xfm_file_read_at(f, 0, h, 16, "signature");
	if (rc < 0)
		return rc;
	if (memcmp(h, KDUMP_SIG, 8) != 0 &&
	    memcmp(h, FLAT_SIG "\0\0\0", 16) != 0)
		return XFM_FILE_NOT_MINE;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->lsize = f->size;
	k->mapnr_at = 440;
	f->priv = k;
	f->free_priv = kd_free;
	if (h[0] == 'm') {
		k->lsize = 0;
		rc = load_flat(f, k);
		if (rc < 0)
			return rc;
	}
	rc = kd_read(f, k, 0, h, HDR_SIZE, "kdump header");
	if (rc == 0 && memcmp(h, KDUMP_SIG, 8) != 0)
		rc = xfm_file_bad(f, 0, "flattened dump does not hold a KDUMP "
				  "header (a DISKDUMP or other format?)");
	if (rc == 0)
		rc = check_header(f, h, &kh);
	if (rc < 0)
		return rc;
	k->bs = kh.bs;
	k->max_mapnr = kh.max_mapnr;
	rc = kd_read(f, k, k->bs, sub, SUB_SIZE, "kdump sub-header");
	if (rc == 0)
		rc = read_sub(f, k, &kh, sub);
	if (rc == 0)
		rc = read_bitmap(f, k, &kh);
	if (rc < 0)
		return rc;
	f->frame_size = k->bs;
	f->read_pages = kd_read_pages;
	return kd_facts(f, k, &kh);
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */

/*
 * The pages go through a pipeline: worker threads (one per CPU) each take
 * the next batch of present pages, read and compress it into a free slot
 * of a ring; the calling thread writes the finished batches in order
 * (descriptors and data, offsets known only then).  Compression overlaps
 * the writes, and a worker that is descheduled holds up only its own
 * batch: the others go on filling the ring's free slots.
 */
#define BATCH_PAGES 256   /* pages per batch */
#define MAX_WORKERS 8

enum { SLOT_FREE, SLOT_BUSY, SLOT_DONE };

struct kw;

struct batch {
	uint64_t seq;             /* which batch, in page order */
	int state;                /* SLOT_*, under kw.lock */
	size_t n;                 /* pages */
	uint64_t pfn[BATCH_PAGES];
	uint32_t size[BATCH_PAGES];  /* 0: the shared zero page */
	uint32_t flags[BATCH_PAGES];
	uint8_t *in;              /* the pages read */
	uint8_t *out;             /* their stored forms, back to back */
	uint8_t *data;            /* out, or in itself (no codec) */
	uint64_t used;            /* bytes at data */
	int rc;                   /* the read's error */
};

struct worker {
	struct kw *w;
	pthread_t tid;
	void *ctx;                /* codec scratch */
};

struct kw {
	struct xfm_dump *d;
	bool flat;
	uint64_t flat_pos;
	int codec;
	uint64_t bs, cap;         /* page size, compressed bound */
	uint64_t max_mapnr, bitmap_len;
	uint8_t *bitmap;
	uint64_t ndumped;
	uint64_t pd_off, data_off;
	uint64_t pd_next, data_next;
	size_t nw, nthreads, nslots;
	struct worker *wk;
	struct batch *slot;       /* nslots; batch s is in slot s % nslots */
	pthread_mutex_t lock;
	pthread_cond_t more;      /* a slot came free, or stop */
	pthread_cond_t done;      /* a batch is done, or no batch is left */
	bool sync_init;
	uint64_t cursor;          /* next pfn to hand out */
	uint64_t next_seq;        /* next batch to hand out */
	uint64_t write_seq;       /* next batch to write */
	bool stop, eof;
};

/* Write logical bytes of the dump: in place, or as a flattened record. */
static int kw_write(struct kw *w, uint64_t off, const void *p, uint64_t len)
{
	uint8_t h[16];
	int rc;

	if (!len)
		return 0;
	if (!w->flat)
		return xfm_dump_write(w->d, off, p, len);
	put_be64(h, off);
	put_be64(h + 8, len);
	rc = xfm_dump_write(w->d, w->flat_pos, h, 16);
	if (rc == 0)
		rc = xfm_dump_write(w->d, w->flat_pos + 16, p, len);
	w->flat_pos += 16 + len;
	return rc;
}

/* The guest kernel page size: VMCOREINFO's PAGESIZE, else the frame. */
static uint64_t block_size(const struct xfm_dump *d)
{
	uint64_t v = 0;
	const char *s;
	size_t n;

	if (d->vmcoreinfo && xfm_vmcoreinfo_lookup(d->vmcoreinfo,
			d->vmcoreinfo_len, "PAGESIZE", &s, &n) == 0 &&
	    xfm_vmcoreinfo_parse("PAGESIZE", s, n, &v) == 0 &&
	    is_pow2(v) && v >= 4096 && v <= 65536)
		return v;
	return d->frame > 4096 ? d->frame : 4096;
}

/*
 * utsname: the guest kernel's init_uts_ns, read through the kernel
 * image's mapping; else "Linux" and VMCOREINFO's release (readers such as
 * libkdumpfile refuse a header that names no system).
 */
static void fill_utsname(struct kw *w, uint8_t *uts)
{
	const struct xfm_dump *d = w->d;
	struct xfm_image_map m;
	uint64_t va, off = 0;
	const char *s;
	size_t n;

	memcpy(uts, "Linux", 5);
	if (!d->vmcoreinfo)
		return;
	if (xfm_vmcoreinfo_lookup(d->vmcoreinfo, d->vmcoreinfo_len,
				  "OSRELEASE", &s, &n) == 0)
		memcpy(uts + 2 * UTS_LEN, s, n < UTS_LEN - 1 ? n : UTS_LEN - 1);
	if (!xfm_linux_image_map(d->vmcoreinfo, d->vmcoreinfo_len, &m) ||
	    xfm_vmcoreinfo_lookup(d->vmcoreinfo, d->vmcoreinfo_len,
				  "SYMBOL(init_uts_ns)", &s, &n) < 0 ||
	    xfm_vmcoreinfo_parse("SYMBOL(init_uts_ns)", s, n, &va) < 0 ||
	    va - m.va >= m.size)
		return;
	if (xfm_vmcoreinfo_lookup(d->vmcoreinfo, d->vmcoreinfo_len,
				  "OFFSET(uts_namespace.name)", &s, &n) == 0)
		xfm_vmcoreinfo_parse("OFFSET", s, n, &off);
	{
		uint8_t u[6 * UTS_LEN];

		if (off < 4096 && xfm_read(d->h, m.pa + (va - m.va) + off, u,
					   sizeof(u), 0) == 0 &&
		    memcmp(u, "Linux", 6) == 0) {
			for (int i = 0; i < 6; i++)
				u[i * UTS_LEN + UTS_LEN - 1] = 0;
			memcpy(uts, u, sizeof(u));
		}
	}
	xfm_clear_error();
}

static int nr_prstatus(const struct xfm_dump *d)
{
	int n = 0;

	for (size_t off = 0; d->notes_len - off >= 12;) {
		uint32_t nsz = xfm_le32(d->notes + off);
		uint32_t dsz = xfm_le32(d->notes + off + 4);
		size_t need = 12 + ((nsz + 3) & ~3u) + ((dsz + 3) & ~3u);

		if (need > d->notes_len - off)
			break;
		if (nsz == 5 && memcmp(d->notes + off + 12, "CORE", 5) == 0 &&
		    xfm_le32(d->notes + off + 8) == 1 /* NT_PRSTATUS */)
			n++;
		off += need;
	}
	return n ? n : 1;
}

/* Offset of the VMCOREINFO note's text inside the notes, or 0. */
static uint64_t vmcoreinfo_in_notes(const struct xfm_dump *d)
{
	for (size_t off = 0; d->notes_len - off >= 12;) {
		uint32_t nsz = xfm_le32(d->notes + off);
		uint32_t dsz = xfm_le32(d->notes + off + 4);
		size_t name = 12, desc = 12 + ((nsz + 3) & ~3u);
		size_t need = desc + ((dsz + 3) & ~3u);

		if (need > d->notes_len - off)
			break;
		if (nsz == 11 && memcmp(d->notes + off + name, "VMCOREINFO",
					11) == 0)
			return off + desc;
		off += need;
	}
	return 0;
}

static int write_headers(struct kw *w, uint64_t sub_blocks)
{
	const struct xfm_dump *d = w->d;
	uint8_t *b = calloc(1, w->bs);
	uint64_t vi = vmcoreinfo_in_notes(d), phys_base = 0;
	struct timeval tv;
	const char *s;
	size_t n;
	int rc;

	if (!b)
		return -ENOMEM;
	memcpy(b, KDUMP_SIG, 8);
	xfm_put_le32(b + 8, 6);
	fill_utsname(w, b + UTS_OFF);
	gettimeofday(&tv, NULL);
	xfm_put_le64(b + 408, (uint64_t)tv.tv_sec);
	xfm_put_le64(b + 416, (uint64_t)tv.tv_usec);
	xfm_put_le32(b + 424, codec_flag[w->codec]);
	xfm_put_le32(b + 428, (uint32_t)w->bs);
	xfm_put_le32(b + 432, (uint32_t)sub_blocks);
	xfm_put_le32(b + 436, (uint32_t)(2 * w->bitmap_len / w->bs));
	xfm_put_le32(b + 440, w->max_mapnr > UINT32_MAX ? UINT32_MAX
			      : (uint32_t)w->max_mapnr);
	xfm_put_le32(b + 460, (uint32_t)nr_prstatus(d));
	rc = kw_write(w, 0, b, w->bs);
	memset(b, 0, SUB_SIZE);
	if (d->vmcoreinfo && xfm_vmcoreinfo_lookup(d->vmcoreinfo,
			d->vmcoreinfo_len, "NUMBER(phys_base)", &s, &n) == 0)
		xfm_vmcoreinfo_parse("NUMBER(phys_base)", s, n, &phys_base);
	xfm_put_le64(b, phys_base);
	xfm_put_le32(b + 8, 1);                        /* dump level */
	xfm_put_le64(b + 24, w->max_mapnr);            /* end_pfn */
	if (vi) {
		xfm_put_le64(b + 32, w->bs + SUB_SIZE + vi);
		xfm_put_le64(b + 40, d->vmcoreinfo_len);
	}
	if (d->notes_len) {
		xfm_put_le64(b + 48, w->bs + SUB_SIZE);
		xfm_put_le64(b + 56, d->notes_len);
	}
	xfm_put_le64(b + 88, w->max_mapnr);            /* end_pfn_64 */
	xfm_put_le64(b + 96, w->max_mapnr);            /* max_mapnr_64 */
	if (rc == 0)
		rc = kw_write(w, w->bs, b, SUB_SIZE);
	if (rc == 0)
		rc = kw_write(w, w->bs + SUB_SIZE, d->notes, d->notes_len);
	free(b);
	return rc;
}

/* The pages that exist: every block any range touches. */
static int build_bitmap(struct kw *w)
{
	const struct xfm_dump *d = w->d;
	uint64_t last = d->nr ? d->r[d->nr - 1].start + d->r[d->nr - 1].size
			      : 0;

	w->max_mapnr = (last + w->bs - 1) / w->bs;
	w->bitmap_len = ((w->max_mapnr + 7) / 8 + w->bs - 1) / w->bs * w->bs;
	if (!w->bitmap_len)
		w->bitmap_len = w->bs;
	w->bitmap = calloc(1, w->bitmap_len);
	if (!w->bitmap)
		return xfm_fail(-ENOMEM, "%s: out of memory", d->path);
	for (size_t i = 0; i < d->nr; i++) {
		uint64_t p = d->r[i].start / w->bs;
		uint64_t e = (d->r[i].start + d->r[i].size + w->bs - 1) / w->bs;

		for (; p < e; p++) {
			if (!(w->bitmap[p / 8] & (1u << (p % 8))))
				w->ndumped++;
			w->bitmap[p / 8] |= (uint8_t)(1u << (p % 8));
		}
	}
	return 0;
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
	return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

/* Read batch @b's pages (runs of consecutive pfns) and compress them. */
static void work(struct worker *k, struct batch *b)
{
	struct kw *w = k->w;
	size_t i = 0;

	b->rc = 0;
	b->used = 0;
	while (i < b->n && b->rc == 0) {
		size_t j = i + 1;

		while (j < b->n && b->pfn[j] == b->pfn[j - 1] + 1)
			j++;
		b->rc = xfm_read(w->d->h, b->pfn[i] * w->bs,
				 b->in + i * w->bs, (j - i) * w->bs,
				 XFM_READ_ZERO_FILL);
		i = j;
	}
	/* Without a codec the pages stay where they were read, the zero
	 * pages squeezed out (moved only behind a zero page). */
	b->data = w->codec ? b->out : b->in;
	for (i = 0; i < b->n && b->rc == 0; i++) {
		const uint8_t *pg = b->in + i * w->bs;
		uint8_t *o = b->data + b->used;
		size_t c = 0;

		b->flags[i] = 0;
		if (all_zero(pg, w->bs)) {
			b->size[i] = 0;        /* the shared zero page */
			continue;
		}
		if (w->codec)
			c = xfm_codec_compress(w->codec, k->ctx, pg, w->bs, o,
					       w->cap);
		if (c && c < w->bs) {
			b->size[i] = (uint32_t)c;
			b->flags[i] = codec_flag[w->codec];
		} else if (o != pg) {
			memmove(o, pg, w->bs);
		}
		if (!b->flags[i])
			b->size[i] = (uint32_t)w->bs;
		b->used += b->size[i];
	}
}

/* Fill @b with the next BATCH_PAGES present pfns (kw.lock held). */
static void take_pages(struct kw *w, struct batch *b)
{
	b->n = 0;
	while (b->n < BATCH_PAGES && w->cursor < w->max_mapnr) {
		if (w->bitmap[w->cursor / 8] & (1u << (w->cursor % 8)))
			b->pfn[b->n++] = w->cursor;
		w->cursor++;
	}
}

static void *worker_main(void *arg)
{
	struct worker *k = arg;
	struct kw *w = k->w;
	struct batch *b;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && !w->eof &&
		       w->next_seq >= w->write_seq + w->nslots)
			pthread_cond_wait(&w->more, &w->lock);
		if (w->stop || w->eof)
			break;
		b = &w->slot[w->next_seq % w->nslots];
		take_pages(w, b);
		if (!b->n) {
			w->eof = true;  /* next_seq is now the batch count */
			pthread_cond_broadcast(&w->done);
			break;
		}
		b->seq = w->next_seq++;
		b->state = SLOT_BUSY;
		pthread_mutex_unlock(&w->lock);
		work(k, b);
		pthread_mutex_lock(&w->lock);
		b->state = SLOT_DONE;
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Write batch @b's descriptors and data at the next offsets. */
static int flush_batch(struct kw *w, const struct batch *b)
{
	uint8_t *pd = w->d->buf;
	uint64_t data_start = w->data_next, pos = 0;
	int rc;

	if (b->rc < 0)
		return xfm_fail(b->rc, "%s: reading guest page 0x%llx: %s",
				w->d->path, (unsigned long long)b->pfn[0],
				strerror(-b->rc));
	for (size_t i = 0; i < b->n; i++) {
		uint8_t *p = pd + i * PD_SIZE;

		memset(p, 0, PD_SIZE);
		if (!b->size[i]) {
			xfm_put_le64(p, w->data_off);
			xfm_put_le32(p + 8, (uint32_t)w->bs);
			continue;
		}
		xfm_put_le64(p, data_start + pos);
		xfm_put_le32(p + 8, b->size[i]);
		xfm_put_le32(p + 12, b->flags[i]);
		pos += b->size[i];
	}
	w->data_next += b->used;
	rc = kw_write(w, data_start, b->data, b->used);
	if (rc == 0)
		rc = kw_write(w, w->pd_next, pd, b->n * PD_SIZE);
	w->pd_next += b->n * PD_SIZE;
	return rc ? rc : xfm_dump_progress(w->d, b->n * w->bs);
}

static int start_workers(struct kw *w)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	w->nw = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (size_t)cpus;
	w->nslots = 2 * w->nw + 2;
	w->wk = calloc(w->nw, sizeof(*w->wk));
	w->slot = calloc(w->nslots, sizeof(*w->slot));
	if (!w->wk || !w->slot)
		return -ENOMEM;
	for (size_t t = 0; t < w->nslots; t++) {
		w->slot[t].in = malloc(BATCH_PAGES * w->bs);
		w->slot[t].out = malloc(BATCH_PAGES * w->cap);
		if (!w->slot[t].in || !w->slot[t].out)
			return -ENOMEM;
	}
	for (size_t t = 0; t < w->nw; t++) {
		w->wk[t].w = w;
		w->wk[t].ctx = xfm_codec_ctx_new(w->codec);
		if ((w->codec == XFM_CODEC_ZLIB || w->codec == XFM_CODEC_LZO ||
		     w->codec == XFM_CODEC_ZSTD) && !w->wk[t].ctx)
			return -ENOMEM;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->more, NULL);
	pthread_cond_init(&w->done, NULL);
	w->sync_init = true;
	for (; w->nthreads < w->nw; w->nthreads++)
		if (pthread_create(&w->wk[w->nthreads].tid, NULL, worker_main,
				   &w->wk[w->nthreads]) != 0)
			break;  /* fewer threads then */
	if (!w->nthreads)
		return xfm_fail(-EAGAIN, "%s: cannot start a compression "
				"thread", w->d->path);
	return 0;
}

static void stop_workers(struct kw *w)
{
	if (w->sync_init) {
		pthread_mutex_lock(&w->lock);
		w->stop = true;
		pthread_cond_broadcast(&w->more);
		pthread_mutex_unlock(&w->lock);
		for (size_t t = 0; t < w->nthreads; t++)
			pthread_join(w->wk[t].tid, NULL);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->more);
		pthread_cond_destroy(&w->done);
	}
	for (size_t t = 0; w->wk && t < w->nw; t++)
		xfm_codec_ctx_free(w->codec, w->wk[t].ctx);
	for (size_t t = 0; w->slot && t < w->nslots; t++) {
		free(w->slot[t].in);
		free(w->slot[t].out);
	}
	free(w->wk);
	free(w->slot);
}

/* The calling thread: write the batches in order as they are done. */
static int write_pages(struct kw *w)
{
	uint8_t *zero = calloc(1, w->bs);
	struct batch *b;
	int rc;

	if (!zero)
		return -ENOMEM;
	rc = kw_write(w, w->data_off, zero, w->bs);  /* the shared zero page */
	free(zero);
	w->data_next = w->data_off + w->bs;
	w->pd_next = w->pd_off;
	pthread_mutex_lock(&w->lock);
	while (rc == 0) {
		b = &w->slot[w->write_seq % w->nslots];
		while (!(b->state == SLOT_DONE && b->seq == w->write_seq) &&
		       !(w->eof && w->write_seq == w->next_seq))
			pthread_cond_wait(&w->done, &w->lock);
		if (w->eof && w->write_seq == w->next_seq)
			break;  /* every batch written */
		pthread_mutex_unlock(&w->lock);
		rc = flush_batch(w, b);
		pthread_mutex_lock(&w->lock);
		b->state = SLOT_FREE;
		w->write_seq++;
		pthread_cond_broadcast(&w->more);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

static int write_kdump_form(struct xfm_dump *d, bool flat)
{
	struct kw w = { .d = d, .flat = flat,
			.codec = (int)((d->flags & XFM_DUMP_COMPRESS_MASK) >> 8) };
	uint64_t sub_blocks, bm_off;
	uint8_t fh[FLAT_HDR] = { 0 };
	int rc;

	rc = xfm_codec_load(w.codec);
	if (rc < 0) {
		char why[256];

		/* xfm_fail() writes where xfm_last_error() points */
		snprintf(why, sizeof(why), "%s", xfm_last_error());
		return xfm_fail(rc, "%s: %s", d->path, why);
	}
	w.bs = block_size(d);
	w.cap = xfm_codec_bound(w.codec, w.bs);
	if (w.cap < w.bs)
		w.cap = w.bs;
	/* A batch's descriptors fit the dump's scratch buffer. */
	if (BATCH_PAGES * PD_SIZE > XFM_DUMP_CHUNK)
		return -EINVAL;
	rc = build_bitmap(&w);
	if (rc < 0)
		return rc;
	sub_blocks = (SUB_SIZE + d->notes_len + w.bs - 1) / w.bs;
	bm_off = (1 + sub_blocks) * w.bs;
	w.pd_off = bm_off + 2 * w.bitmap_len;
	w.data_off = w.pd_off + w.ndumped * PD_SIZE;
	if (flat) {
		memcpy(fh, FLAT_SIG, sizeof(FLAT_SIG) - 1);
		put_be64(fh + 16, 1);   /* type: flat header */
		put_be64(fh + 24, 1);   /* version */
		rc = xfm_dump_write(d, 0, fh, sizeof(fh));
		w.flat_pos = FLAT_HDR;
	}
	if (rc == 0)
		rc = write_headers(&w, sub_blocks);
	if (rc == 0)
		rc = kw_write(&w, bm_off, w.bitmap, w.bitmap_len);
	if (rc == 0)
		rc = kw_write(&w, bm_off + w.bitmap_len, w.bitmap,
			      w.bitmap_len);
	if (rc == 0)
		rc = start_workers(&w);
	if (rc == 0)
		rc = write_pages(&w);
	stop_workers(&w);
	if (rc == 0 && flat) {
		memset(fh, 0xff, 16);
		rc = xfm_dump_write(d, w.flat_pos, fh, 16);
	}
	free(w.bitmap);
	return rc;
}

static int write_kdump(struct xfm_dump *d)
{
	return write_kdump_form(d, false);
}

static int write_kdump_flat(struct xfm_dump *d)
{
	return write_kdump_form(d, true);
}

const struct xfm_format xfm_format_kdump = {
	.name = "kdump",
	.dump_id = XFM_DUMP_KDUMP,
	.parse = parse_kdump,
	.write = write_kdump,
	.notes = true,
};

const struct xfm_format xfm_format_kdump_flat = {
	.name = "kdump-flat",
	.dump_id = XFM_DUMP_KDUMP_FLAT,
	.parse = NULL,  /* the kdump reader reads both forms */
	.write = write_kdump_flat,
	.notes = true,
};
