/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * make-seeds.c - write the fuzzers' seed inputs into DIR/<target>/: small
 * files from the source tests' crafters (tests/sources/craft.c: ELF32/64
 * either byte order and PN_XNUM, Xen dump-core PV and HVM, LiME) and from
 * our own writers (xfm_dump in every format, kdump with every codec and
 * flattened, from a crafted LiME source
 * with three ranges), plus argument strings for the CLI parser target.
 * Usage: make-seeds DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "craft.h"
#include "xfm.h"

static const char *top;

static void put(const char *target, const char *name, const void *p,
		size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", top, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void put_cb(const char *target, const char *name, struct cbuf *b)
{
	put(target, name, b->p, b->len);
	cb_free(b);
}

static void put_dump(xfm_handle *h, const char *target, const char *name,
		     unsigned int format, unsigned int flags)
{
	char path[4096];
	struct cbuf b = { 0 };
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/.tmp-dump", top);
	if (xfm_dump(h, path, format, XFM_DUMP_OVERWRITE | flags, NULL,
		     NULL) < 0) {
		fprintf(stderr, "dump %s: %s\n", name, xfm_last_error());
		exit(1);
	}
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0)
		exit(1);
	rewind(f);
	b.p = malloc((size_t)len);
	b.len = (size_t)len;
	if (!b.p || fread(b.p, 1, b.len, f) != b.len)
		exit(1);
	fclose(f);
	remove(path);
	put_cb(target, name, &b);
}

int main(int argc, char **argv)
{
	static const struct craft_load loads[] = {
		{ 0, 0x1000, 0x1000 },
		{ 0x3000, 0x800, 0x2000 }, /* a zero tail */
	};
	static const uint64_t pfns[] = { 0, 1, 7, UINT64_MAX };
	static const uint64_t lr[][2] = { { 0, 0xfff }, { 0x2000, 0x2fff },
					  { 0x5000, 0x5fff } };
	static const char *const args[] = {
		"\0" "0x1000", "\0" "4k", "\0" "1GiB", "\0" "18446744073709551615",
		"\1" "0x10M", "\1" "0", "\2" "0x1000+4k", "\2" "0..0x10",
		"\2" "0xfffffffffffff000+0x1000", "\3" "de ad:be-ef",
		"\3" "0xdead,0xbeef", "\4" "5", "\5" "0.5", "\5" "3600",
	};
	struct craft_elf ce;
	struct craft_xen cx;
	struct cbuf b = { 0 };
	char path[4096];
	xfm_handle *h;

	if (argc != 2) {
		fprintf(stderr, "usage: make-seeds DIR\n");
		return 2;
	}
	top = argv[1];
	mkdir(top, 0755);
	craft_elf(&b, true, false, loads, 2, false, &ce);
	put_cb("elf", "elf64le", &b);
	craft_elf(&b, true, true, loads, 2, false, &ce);
	put_cb("elf", "elf64be", &b);
	craft_elf(&b, false, false, loads, 2, false, &ce);
	put_cb("elf", "elf32le", &b);
	craft_elf(&b, false, true, loads, 2, true, &ce);
	put_cb("elf", "elf32be-xnum", &b);
	craft_xen(&b, false, pfns, 4, 4096, &cx);
	put_cb("xen-core", "hvm", &b);
	craft_xen(&b, true, pfns, 4, 4096, &cx);
	put_cb("xen-core", "pv", &b);
	craft_xen(&b, false, pfns, 3, 1024, &cx);
	put_cb("xen-core", "hvm-1k", &b);
	craft_lime(&b, lr, 3);
	snprintf(path, sizeof(path), "%s/.tmp-lime", top);
	cb_write(&b, path);
	put_cb("lime", "three", &b);
	/* Our writers, from the LiME file as a source. */
	if (xfm_open(&h, path, 0) < 0) {
		fprintf(stderr, "%s\n", xfm_last_error());
		return 1;
	}
	put_dump(h, "elf", "xfm-dump", XFM_DUMP_ELF, 0);
	put_dump(h, "xen-core", "xfm-dump", XFM_DUMP_XEN_CORE, 0);
	put_dump(h, "lime", "xfm-dump", XFM_DUMP_LIME, 0);
	put_dump(h, "raw", "xfm-dump", XFM_DUMP_RAW, 0);
	/* kdump: every codec, and the flattened form. */
	put_dump(h, "kdump", "xfm-dump", XFM_DUMP_KDUMP, 0);
	put_dump(h, "kdump", "xfm-dump-flat", XFM_DUMP_KDUMP_FLAT, XFM_DUMP_ZLIB);
	put_dump(h, "kdump", "xfm-dump-zlib", XFM_DUMP_KDUMP, XFM_DUMP_ZLIB);
	put_dump(h, "kdump", "xfm-dump-lzo", XFM_DUMP_KDUMP, XFM_DUMP_LZO);
	put_dump(h, "kdump", "xfm-dump-snappy", XFM_DUMP_KDUMP, XFM_DUMP_SNAPPY);
	put_dump(h, "kdump", "xfm-dump-zstd", XFM_DUMP_KDUMP, XFM_DUMP_ZSTD);
	xfm_close(h);
	remove(path);
	put("raw", "page", "hello, guest\n", 13);
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		char name[16];

		snprintf(name, sizeof(name), "%02zu", i);
		put("parse", name, args[i], 1 + strlen(args[i] + 1));
	}
	return 0;
}
