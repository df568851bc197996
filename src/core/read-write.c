/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * read-write.c - xfm_read() and xfm_write(): copies at any address and
 * length, through the window cache (cache.c), frame errors handled per
 * frame.
 */
#include <errno.h>
#include <string.h>

#include "private.h"

/* Out of line: the error is rare and its message long. */
static __attribute__((noinline, cold)) int span_error(xfm_handle *h,
						      uint64_t addr,
						      uint64_t len)
{
	if (len - 1 > UINT64_MAX - addr)
		return xfm_fail(-EOVERFLOW, "%s: address 0x%llx + length 0x%llx "
				"wraps around", h->src->label,
				(unsigned long long)addr,
				(unsigned long long)len);
	return xfm_fail(-ERANGE, "%s: address 0x%llx is past the end of "
			"guest memory (last frame 0x%llx)", h->src->label,
			(unsigned long long)((addr + len - 1) / h->psz.frame *
					     h->psz.frame),
			(unsigned long long)h->geo.max_frame);
}

/* [addr, addr + len) lies in guest memory (len > 0): every small read
 * passes here, so no division. */
static inline int check_span(xfm_handle *h, uint64_t addr, uint64_t len)
{
	if (len - 1 > UINT64_MAX - addr || addr + len - 1 > h->last_byte)
		return span_error(h, addr, len);
	return 0;
}

/*
 * Copy between @buf and window @w for [addr, addr + len), all inside @w.
 * Frames that failed to map are zero-filled (reads with ZERO_FILL) or end
 * the copy with their error.
 */
static int copy_window(xfm_handle *h, struct xfm_window *w, uint64_t addr,
		       char *buf, uint64_t len, bool write, unsigned int flags)
{
	uint64_t fs = h->psz.frame;

	while (len) {
		uint64_t idx = (addr >> h->frame_shift) - xfm_window_first(w);
		uint64_t off = addr & (fs - 1);
		uint64_t n = fs - off < len ? fs - off : len;
		char *p = (char *)w->addr + idx * fs + off;
		int err = w->err[idx];

		/* Absent, whatever the source's reason (Xen says EINVAL
		 * for a ballooned-out frame): -ENOENT, as documented. */
		if (err && (write || !(flags & XFM_READ_ZERO_FILL)))
			return xfm_fail(-ENOENT, "%s: frame 0x%llx (address "
					"0x%llx): not available: %s",
					h->src->label,
					(unsigned long long)(xfm_window_first(w) +
							     idx),
					(unsigned long long)addr,
					strerror(-err));
		if (err)
			memset(buf, 0, n);
		else if (write)
			xfm_guest_store(p, buf, n);
		else
			xfm_guest_load(buf, p, n);
		addr += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static int access_memory(xfm_handle *h, uint64_t addr, char *buf,
			 uint64_t len, bool write, unsigned int flags)
{
	uint64_t fs = h->psz.frame;
	int rc;

	while (len) {
		struct xfm_window *w = NULL;
		uint64_t n;

		rc = xfm_check_alive(h, false, addr >> h->frame_shift);
		if (rc < 0)
			return rc;
		rc = xfm_window_get(h, addr >> h->frame_shift, &w);
		if (rc < 0)
			return rc;
		/* Up to the end of this window, whatever its size. */
		n = (xfm_window_first(w) + xfm_window_frames(w)) * fs - addr;
		n = n < len ? n : len;
		rc = copy_window(h, w, addr, buf, n, write, flags);
		xfm_window_put(h, w);
		if (rc < 0)
			return rc;
		addr += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* xfm_read()'s rare cases, out of its path: bad arguments, or nothing
 * to read (0). */
static __attribute__((noinline, cold)) int read_args_error(xfm_handle *h,
							   const void *buf,
							   uint64_t len,
							   unsigned int flags)
{
	if (!h || (!buf && len))
		return xfm_fail(-EINVAL, "xfm_read: bad arguments");
	if (flags & ~(unsigned int)XFM_READ_ZERO_FILL)
		return xfm_fail(-EINVAL, "%s: unknown read flags 0x%x",
				h->src->label, flags);
	return 0;
}

XFM_EXPORT int xfm_read(xfm_handle *h, uint64_t addr, void *buf, uint64_t len,
			unsigned int flags)
{
	int rc;

	if (!h || !buf || (flags & ~(unsigned int)XFM_READ_ZERO_FILL) ||
	    !len)
		return read_args_error(h, buf, len, flags);
	rc = check_span(h, addr, len);
	if (rc < 0)
		return rc;
	if (h->src->ops->pread)
		return h->src->ops->pread(h->src, addr, buf, len, flags);
	return access_memory(h, addr, buf, len, false, flags);
}

XFM_EXPORT int xfm_write(xfm_handle *h, uint64_t addr, const void *buf,
			 uint64_t len)
{
	int rc;

	if (!h || (!buf && len))
		return xfm_fail(-EINVAL, "xfm_write: bad arguments");
	if (!(h->src->flags & XFM_OPEN_WRITE))
		return xfm_fail(-EROFS, "%s: handle is read-only (writing into "
				"guest memory needs XFM_OPEN_WRITE)",
				h->src->label);
	if (len == 0)
		return 0;
	rc = check_span(h, addr, len);
	if (rc < 0)
		return rc;
	return access_memory(h, addr, (char *)buf, len, true, 0);
}
