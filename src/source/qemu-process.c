/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * qemu-process.c - reading a QEMU guest's RAM out of the QEMU process:
 * most QEMU and libvirt guests have anonymous RAM, reachable only there.
 * Needs ptrace permission over QEMU (same user with ptrace_scope 0, or
 * CAP_SYS_PTRACE).  Reads are copies, so they are always current; a
 * "mapping" is a snapshot (the source is read-only in this mode).
 * Regions whose file was reopened (qemu-ram-fd.c) while others were not
 * carry that file's mapping in their segment (fd >= 0, map): read there,
 * with loads, not by a system call.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "qemu-process.h"

#define FRAME 4096u

pid_t xfm_qemu_peer_pid(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	return cr.pid > 0 ? cr.pid : -ESRCH;
}

/* A segment's own mapping of QEMU's file, or NULL: copy out of QEMU. */
static const uint8_t *beside(const struct xfm_seg *s)
{
	const uint8_t *m;

	if (s->fd < 0)
		return NULL;
	m = atomic_load_explicit(&((struct xfm_seg *)s)->map,
				 memory_order_acquire);
	return m == MAP_FAILED ? NULL : m;
}

const void *xfm_qemu_proc_direct(const struct xfm_segs *segs, uint64_t addr,
				 uint64_t len)
{
	const struct xfm_seg *s = xfm_segs_find(segs, addr);
	const uint8_t *m = s && s->addr <= addr ? beside(s) : NULL;

	if (!m || len > s->len - (addr - s->addr))
		return NULL;
	return m + (addr - s->addr);
}

/* Copy @len bytes at QEMU's @hva; 0 or -errno. */
static int copy_out(pid_t pid, uint64_t hva, void *buf, uint64_t len)
{
	while (len) {
		struct iovec l = { buf, len }, r = { (void *)(uintptr_t)hva, len };
		ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (char *)buf + n;
		hva += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int xfm_qemu_proc_pread(const struct xfm_segs *segs, pid_t pid,
			const struct xfm_source *src, uint64_t addr,
			void *buf, uint64_t len, unsigned int flags)
{
	char *p = buf;
	int rc;

	while (len) {
		const struct xfm_seg *s = xfm_segs_find(segs, addr);
		uint64_t n;

		if (!s || s->addr > addr) {
			n = s ? s->addr - addr : len;
			n = n < len ? n : len;
			if (!(flags & XFM_READ_ZERO_FILL))
				return xfm_fail(-ENOENT, "%s: 0x%" PRIx64 " is "
						"not guest RAM", src->label,
						addr);
			memset(p, 0, n);
		} else {
			const uint8_t *m = beside(s);

			n = s->addr + s->len - addr;
			n = n < len ? n : len;
			if (m)
				xfm_guest_load(p, m + (addr - s->addr), n);
			rc = m ? 0 : copy_out(pid, s->off + (addr - s->addr), p,
					      n);
			if (rc < 0)
				return xfm_fail(rc, "%s: reading 0x%" PRIx64
						" from QEMU process %d: %s",
						src->label, addr, (int)pid,
						strerror(-rc));
		}
		p += n;
		addr += n;
		len -= n;
	}
	return 0;
}

int64_t xfm_qemu_proc_map(const struct xfm_segs *segs, pid_t pid,
			  const struct xfm_source *src, const uint64_t *frames,
			  size_t n, void *hint, int *err, void **addr)
{
	char *base = mmap(hint, n * FRAME, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int64_t ok = 0;

	if (base == MAP_FAILED)
		return -errno;
	for (size_t i = 0, j; i < n; i = j) {
		uint64_t a = frames[i] * FRAME;
		const struct xfm_seg *s = xfm_segs_find(segs, a);
		int rc;

		/* One copy per run of consecutive frames in one segment. */
		for (j = i + 1; j < n && frames[j] == frames[j - 1] + 1; j++)
			;
		if (!s || s->addr > a || s->addr + s->len <= a) {
			for (j = i + 1; j < n && frames[j] == frames[j - 1] + 1 &&
			     (!s || frames[j] * FRAME < s->addr); j++)
				;
			for (size_t k = i; k < j; k++)
				err[k] = -ENOENT;
			continue;
		}
		if ((frames[j - 1] + 1) * FRAME > s->addr + s->len)
			j = i + (size_t)((s->addr + s->len - a) / FRAME);
		if (j == i)
			j = i + 1;
		if (beside(s))
			xfm_guest_load(base + i * FRAME, beside(s) + (a - s->addr),
				       (j - i) * FRAME);
		rc = beside(s) ? 0 : copy_out(pid, s->off + (a - s->addr),
					      base + i * FRAME,
					      (j - i) * FRAME);
		for (size_t k = i; k < j; k++)
			err[k] = rc;
		if (rc == 0)
			ok += (int64_t)(j - i);
	}
	(void)src;
	mprotect(base, n * FRAME, PROT_READ);
	*addr = base;
	return ok;
}
