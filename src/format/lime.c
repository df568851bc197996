/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * lime.c - LiME dumps, read and written: for each physical range, a 32-byte header
 * {u32 magic "EMiL"; u32 version 1; u64 start; u64 end (inclusive);
 * u64 reserved}, little endian, then the range's bytes.  Ranges come in
 * ascending order and do not overlap.
 */
#include <errno.h>
#include <string.h>

#include "format.h"
#include "le.h"

#define LIME_MAGIC   UINT32_C(0x4C694D45)
#define LIME_VERSION 1
#define LIME_HDR     32

struct lime_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t start;
	uint64_t end;
};

static int read_hdr(struct xfm_file *f, uint64_t off, struct lime_hdr *h)
{
	uint8_t b[LIME_HDR];
	int rc;

	if (!xfm_file_has(f, off, LIME_HDR))
		return xfm_file_bad(f, off, "LiME header truncated: %llu of "
				    "%u bytes left", (unsigned long long)
				    (f->size - off), LIME_HDR);
	rc = xfm_file_read_at(f, off, b, LIME_HDR, "LiME header");
	if (rc < 0)
		return rc;
	h->magic = xfm_le32(b);
	h->version = xfm_le32(b + 4);
	h->start = xfm_le64(b + 8);
	h->end = xfm_le64(b + 16);
	return 0;
}

/* Check one header; @next is the lowest start the range may have. */
static int check_hdr(struct xfm_file *f, uint64_t off,
		     const struct lime_hdr *h, uint64_t next, bool first,
		     uint64_t *len)
{
	if (h->magic != LIME_MAGIC)
		return xfm_file_bad(f, off, "bad LiME magic 0x%08x (expected "
				    "0x%08x)", h->magic, LIME_MAGIC);
	if (h->version != LIME_VERSION)
		return xfm_file_bad(f, off + 4, "LiME version %u (only 1 is "
				    "known)", h->version);
	if (h->end < h->start)
		return xfm_file_bad(f, off + 16, "LiME range ends (0x%llx) "
				    "before it starts (0x%llx)",
				    (unsigned long long)h->end,
				    (unsigned long long)h->start);
	if (!first && h->start < next)
		return xfm_file_bad(f, off + 8, "LiME range at 0x%llx overlaps "
				    "or precedes the previous one (which ends "
				    "at 0x%llx)", (unsigned long long)h->start,
				    (unsigned long long)(next - 1));
	*len = h->end - h->start + 1;
	if (*len == 0)
		return xfm_file_bad(f, off + 8, "LiME range covers all of the "
				    "64-bit address space");
	if (!xfm_file_has(f, off + LIME_HDR, *len))
		return xfm_file_bad(f, off, "LiME range 0x%llx-0x%llx needs "
				    "%llu bytes but only %llu remain: "
				    "truncated or a lying header?",
				    (unsigned long long)h->start,
				    (unsigned long long)h->end,
				    (unsigned long long)*len,
				    (unsigned long long)(f->size - off -
							 LIME_HDR));
	return 0;
}

static int parse_lime(struct xfm_file *f)
{
	struct lime_hdr h = { 0 };
	uint64_t off = 0, next = 0, n = 0, len = 0;
	uint8_t magic[4];
	int rc;

	if (f->size < 4)
		return XFM_FILE_NOT_MINE;
	rc = xfm_file_read_at(f, 0, magic, 4, "LiME magic");
	if (rc < 0)
		return rc;
	if (xfm_le32(magic) != LIME_MAGIC)
		return XFM_FILE_NOT_MINE;
	while (off < f->size) {
		rc = read_hdr(f, off, &h);
		if (rc < 0)
			return rc;
		rc = check_hdr(f, off, &h, next, n == 0, &len);
		if (rc < 0)
			return rc;
		rc = xfm_file_add_seg(f, h.start, len, off + LIME_HDR, false);
		if (rc < 0)
			return rc;
		/* end + 1 may wrap only for the very last range */
		next = h.end + 1;
		if (next == 0 && off + LIME_HDR + len < f->size)
			return xfm_file_bad(f, off + LIME_HDR + len, "data "
					    "after a LiME range that ends at "
					    "the top of the address space");
		off += LIME_HDR + len;
		n++;
	}
	return xfm_source_add_info(&f->base, "lime.ranges", "%llu",
				   (unsigned long long)n);
}

/* The writer: one header per populated range, then its bytes. */
static int write_lime(struct xfm_dump *d)
{
	uint64_t off = 0;
	uint8_t hdr[LIME_HDR];
	int rc;

	for (size_t i = 0; i < d->nr; i++) {
		memset(hdr, 0, sizeof(hdr));
		xfm_put_le32(hdr, LIME_MAGIC);
		xfm_put_le32(hdr + 4, LIME_VERSION);
		xfm_put_le64(hdr + 8, d->r[i].start);
		xfm_put_le64(hdr + 16, d->r[i].start + d->r[i].size - 1);
		rc = xfm_dump_write(d, off, hdr, sizeof(hdr));
		if (rc < 0)
			return rc;
		rc = xfm_dump_copy(d, d->r[i].start, d->r[i].size, off + LIME_HDR);
		if (rc < 0)
			return rc;
		off += LIME_HDR + d->r[i].size;
	}
	return 0;
}

const struct xfm_format xfm_format_lime = {
	.name = "lime",
	.dump_id = XFM_DUMP_LIME,
	.parse = parse_lime,
	.write = write_lime,
};
