/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * compress.h - page compression for the kdump format: zlib, lzo, snappy
 * and zstd, each loaded at run time (dlopen) from the system's library,
 * so that neither libxfm nor the drop-in libxenforeignmemory.so.1 gains
 * a NEEDED entry, and a missing library only disables its codec.
 */
#ifndef XFM_COMPRESS_H
#define XFM_COMPRESS_H

#include <stddef.h>

enum xfm_codec {
	XFM_CODEC_NONE = 0,
	XFM_CODEC_ZLIB = 1,
	XFM_CODEC_LZO = 2,
	XFM_CODEC_SNAPPY = 3,
	XFM_CODEC_ZSTD = 4,
	XFM_CODEC_MAX = 5,
};

/* "zlib", "lzo", "snappy", "zstd" ("none" for XFM_CODEC_NONE). */
const char *xfm_codec_name(int codec);
/* Load the codec's library once: 0, or -EOPNOTSUPP (no such library or
 * xfm built without its header) with a message. */
int xfm_codec_load(int codec);
/* Scratch state of one compressing thread (zlib deflate stream, lzo work
 * memory, zstd context); NULL when the codec needs none (none, snappy)
 * or on -ENOMEM. */
void *xfm_codec_ctx_new(int codec);
void xfm_codec_ctx_free(int codec, void *ctx);
/* Worst-case compressed size of @len bytes. */
size_t xfm_codec_bound(int codec, size_t len);
/*
 * Compress @len bytes of @in into @out (@cap bytes, at least
 * xfm_codec_bound).  Returns the compressed size, or 0 on failure.
 */
size_t xfm_codec_compress(int codec, void *ctx, const void *in, size_t len,
			  void *out, size_t cap);
/*
 * Decompress @inlen bytes of @in into exactly @len bytes at @out.
 * 0, or -EINVAL when the data is corrupt or does not decompress to
 * exactly @len bytes.
 */
int xfm_codec_decompress(int codec, const void *in, size_t inlen, void *out,
			 size_t len);

#endif /* XFM_COMPRESS_H */
