/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * compress.c - the kdump format's page codecs, loaded at run time.
 * Settings are makedumpfile's, so that sizes compare: zlib level 1
 * (Z_BEST_SPEED, compress2()'s stream), lzo1x_1, snappy, zstd level 1.  Each library is
 * dlopen'ed once; its functions are called through pointers typed by
 * its own header (a codec whose header was missing at build time is
 * reported as unavailable).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "compress.h"
#include "private.h"

#if __has_include(<zlib.h>)
#include <zlib.h>
#define HAVE_ZLIB 1
#endif
#if __has_include(<lzo/lzo1x.h>)
#include <lzo/lzo1x.h>
#define HAVE_LZO 1
#endif
#if __has_include(<snappy-c.h>)
#include <snappy-c.h>
#define HAVE_SNAPPY 1
#endif
#if __has_include(<zstd.h>)
#include <zstd.h>
#define HAVE_ZSTD 1
#endif

static const char *const names[XFM_CODEC_MAX] = {
	"none", "zlib", "lzo", "snappy", "zstd",
};

static const char *const libs[XFM_CODEC_MAX] = {
	NULL, "libz.so.1", "liblzo2.so.2", "libsnappy.so.1", "libzstd.so.1",
};

static struct {
#ifdef HAVE_ZLIB
	__typeof__(deflateInit_) *deflateInit_;
	__typeof__(deflateReset) *deflateReset;
	__typeof__(deflate) *deflate;
	__typeof__(deflateEnd) *deflateEnd;
	__typeof__(uncompress) *uncompress;
	__typeof__(compressBound) *compressBound;
#endif
#ifdef HAVE_LZO
	__typeof__(__lzo_init_v2) *init_v2;
	__typeof__(lzo1x_1_compress) *lzo1x_1_compress;
	__typeof__(lzo1x_decompress_safe) *lzo1x_decompress_safe;
#endif
#ifdef HAVE_SNAPPY
	__typeof__(snappy_compress) *snappy_compress;
	__typeof__(snappy_uncompress) *snappy_uncompress;
	__typeof__(snappy_max_compressed_length) *snappy_max_compressed_length;
#endif
#ifdef HAVE_ZSTD
	__typeof__(ZSTD_createCCtx) *ZSTD_createCCtx;
	__typeof__(ZSTD_freeCCtx) *ZSTD_freeCCtx;
	__typeof__(ZSTD_compressCCtx) *ZSTD_compressCCtx;
	__typeof__(ZSTD_decompress) *ZSTD_decompress;
	__typeof__(ZSTD_compressBound) *ZSTD_compressBound;
	__typeof__(ZSTD_isError) *ZSTD_isError;
#endif
	int dummy;
} fn __attribute__((unused)); /* unused when no codec header was found */

static int loaded[XFM_CODEC_MAX]; /* 0 not tried, 1 ok, <0 errno */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

const char *xfm_codec_name(int codec)
{
	return codec >= 0 && codec < XFM_CODEC_MAX ? names[codec] : "?";
}

#define SYM(lib, name) \
	((fn.name = (__typeof__(fn.name))dlsym(lib, #name)) != NULL)

static int bind(int codec, void *lib)
{
	switch (codec) {
#ifdef HAVE_ZLIB
	case XFM_CODEC_ZLIB:
		return SYM(lib, deflateInit_) && SYM(lib, deflateReset) &&
		       SYM(lib, deflate) && SYM(lib, deflateEnd) &&
		       SYM(lib, uncompress) && SYM(lib, compressBound);
#endif
#ifdef HAVE_LZO
	case XFM_CODEC_LZO:
		if (!(fn.init_v2 = (__typeof__(fn.init_v2))dlsym(lib,
				"__lzo_init_v2")) ||
		    !SYM(lib, lzo1x_1_compress) ||
		    !SYM(lib, lzo1x_decompress_safe))
			return 0;
		/* lzo_init(), spelled out: the call goes through a pointer. */
		return fn.init_v2(LZO_VERSION, (int)sizeof(short),
				   (int)sizeof(int), (int)sizeof(long),
				   (int)sizeof(lzo_uint32_t),
				   (int)sizeof(lzo_uint),
				   (int)lzo_sizeof_dict_t, (int)sizeof(char *),
				   (int)sizeof(lzo_voidp),
				   (int)sizeof(lzo_callback_t)) == LZO_E_OK;
#endif
#ifdef HAVE_SNAPPY
	case XFM_CODEC_SNAPPY:
		return SYM(lib, snappy_compress) &&
		       SYM(lib, snappy_uncompress) &&
		       SYM(lib, snappy_max_compressed_length);
#endif
#ifdef HAVE_ZSTD
	case XFM_CODEC_ZSTD:
		return SYM(lib, ZSTD_createCCtx) && SYM(lib, ZSTD_freeCCtx) &&
		       SYM(lib, ZSTD_compressCCtx) &&
		       SYM(lib, ZSTD_decompress) &&
		       SYM(lib, ZSTD_compressBound) && SYM(lib, ZSTD_isError);
#endif
	default:
		(void)lib;
		return -1; /* not built in */
	}
}

int xfm_codec_load(int codec)
{
	void *lib;
	int rc;

	if (codec == XFM_CODEC_NONE)
		return 0;
	if (codec < 0 || codec >= XFM_CODEC_MAX)
		return xfm_fail(-EINVAL, "unknown compression %d", codec);
	pthread_mutex_lock(&load_lock);
	if (!loaded[codec]) {
		lib = dlopen(libs[codec], RTLD_NOW | RTLD_LOCAL);
		rc = lib ? bind(codec, lib) : 0;
		loaded[codec] = rc == 1 ? 1 : rc < 0 ? -ENOSYS : -ENOENT;
	}
	rc = loaded[codec];
	pthread_mutex_unlock(&load_lock);
	if (rc == 1)
		return 0;
	return xfm_fail(-EOPNOTSUPP, "%s compression is not available: %s",
			names[codec], rc == -ENOSYS ? "xfm was built without "
			"its header" : "cannot load its library");
}

#ifdef HAVE_ZLIB
/* One deflate stream per thread, reset for each page: compress2() would
 * set up and free 256 KiB of zlib state per page, and glibc hands a
 * thread arena's freed top back to the kernel, so every page faulted it
 * in again (2.6 million page faults for a 1 GiB dump).  The output is
 * compress2()'s: deflateInit() at the same level, one Z_FINISH. */
static void *zlib_ctx_new(void)
{
	z_stream *z = calloc(1, sizeof(*z));

	if (z && fn.deflateInit_(z, Z_BEST_SPEED, ZLIB_VERSION,
				 (int)sizeof(*z)) != Z_OK) {
		free(z);
		z = NULL;
	}
	return z;
}

static size_t zlib_compress(z_stream *z, const void *in, size_t len,
			    void *out, size_t cap)
{
	if (!z || len > UINT32_MAX || cap > UINT32_MAX ||
	    fn.deflateReset(z) != Z_OK)
		return 0;
	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)len;
	z->next_out = out;
	z->avail_out = (uInt)cap;
	return fn.deflate(z, Z_FINISH) == Z_STREAM_END ? z->total_out : 0;
}
#endif

void *xfm_codec_ctx_new(int codec)
{
	switch (codec) {
#ifdef HAVE_ZLIB
	case XFM_CODEC_ZLIB:
		return zlib_ctx_new();
#endif
#ifdef HAVE_LZO
	case XFM_CODEC_LZO:
		return malloc(LZO1X_1_MEM_COMPRESS);
#endif
#ifdef HAVE_ZSTD
	case XFM_CODEC_ZSTD:
		return fn.ZSTD_createCCtx();
#endif
	default:
		return NULL;
	}
}

void xfm_codec_ctx_free(int codec, void *ctx)
{
	if (!ctx)
		return;
#ifdef HAVE_ZSTD
	if (codec == XFM_CODEC_ZSTD) {
		fn.ZSTD_freeCCtx(ctx);
		return;
	}
#endif
#ifdef HAVE_ZLIB
	if (codec == XFM_CODEC_ZLIB)
		fn.deflateEnd(ctx);
#endif
	(void)codec;
	free(ctx);
}

size_t xfm_codec_bound(int codec, size_t len)
{
	switch (codec) {
#ifdef HAVE_ZLIB
	case XFM_CODEC_ZLIB:
		return fn.compressBound(len);
#endif
#ifdef HAVE_LZO
	case XFM_CODEC_LZO:
		return len + len / 16 + 64 + 3;
#endif
#ifdef HAVE_SNAPPY
	case XFM_CODEC_SNAPPY:
		return fn.snappy_max_compressed_length(len);
#endif
#ifdef HAVE_ZSTD
	case XFM_CODEC_ZSTD:
		return fn.ZSTD_compressBound(len);
#endif
	default:
		return len;
	}
}

size_t xfm_codec_compress(int codec, void *ctx, const void *in, size_t len,
			  void *out, size_t cap)
{
	switch (codec) {
#ifdef HAVE_ZLIB
	case XFM_CODEC_ZLIB:
		return zlib_compress(ctx, in, len, out, cap);
#endif
#ifdef HAVE_LZO
	case XFM_CODEC_LZO: {
		lzo_uint n = cap;

		return ctx && fn.lzo1x_1_compress(in, len, out, &n, ctx) ==
				      LZO_E_OK ? n : 0;
	}
#endif
#ifdef HAVE_SNAPPY
	case XFM_CODEC_SNAPPY: {
		size_t n = cap;

		return fn.snappy_compress(in, len, out, &n) == SNAPPY_OK ?
		       n : 0;
	}
#endif
#ifdef HAVE_ZSTD
	case XFM_CODEC_ZSTD: {
		size_t n = ctx ? fn.ZSTD_compressCCtx(ctx, out, cap, in, len, 1)
			       : 0;

		return !ctx || fn.ZSTD_isError(n) ? 0 : n;
	}
#endif
	default:
		(void)ctx;
		(void)in;
		(void)len;
		(void)out;
		(void)cap;
		return 0;
	}
}

int xfm_codec_decompress(int codec, const void *in, size_t inlen, void *out,
			 size_t len)
{
	switch (codec) {
#ifdef HAVE_ZLIB
	case XFM_CODEC_ZLIB: {
		uLongf n = len;

		return fn.uncompress(out, &n, in, inlen) == Z_OK && n == len ?
		       0 : -EINVAL;
	}
#endif
#ifdef HAVE_LZO
	case XFM_CODEC_LZO: {
		lzo_uint n = len;

		return fn.lzo1x_decompress_safe(in, inlen, out, &n, NULL) ==
				LZO_E_OK && n == len ? 0 : -EINVAL;
	}
#endif
#ifdef HAVE_SNAPPY
	case XFM_CODEC_SNAPPY: {
		size_t n = len;

		return fn.snappy_uncompress(in, inlen, out, &n) == SNAPPY_OK &&
		       n == len ? 0 : -EINVAL;
	}
#endif
#ifdef HAVE_ZSTD
	case XFM_CODEC_ZSTD: {
		size_t n = fn.ZSTD_decompress(out, len, in, inlen);

		return !fn.ZSTD_isError(n) && n == len ? 0 : -EINVAL;
	}
#endif
	default:
		(void)in;
		(void)inlen;
		(void)out;
		(void)len;
		return -EINVAL;
	}
}
