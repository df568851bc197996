/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * qemu-process.h - guest RAM read through the QEMU process itself
 * (process_vm_readv), for guests whose RAM is not a shared file.  The
 * segments' @off is the host virtual address in QEMU of @addr.
 */
#ifndef XFM_QEMU_PROCESS_H
#define XFM_QEMU_PROCESS_H

#include <sys/types.h>

#include "private.h"
#include "segments.h"

/* The process at the other end of a connected unix socket; -errno. */
pid_t xfm_qemu_peer_pid(int fd);

/* Copy guest [addr, addr + len) out of process @pid; bytes in no segment
 * fail with -ENOENT unless XFM_READ_ZERO_FILL. */
int xfm_qemu_proc_pread(const struct xfm_segs *segs, pid_t pid,
			const struct xfm_source *src, uint64_t addr,
			void *buf, uint64_t len, unsigned int flags);

/* A private copy of @n frames (read-only snapshot): err[] per frame.
 * Returns the number of frames copied or a negative errno. */
int64_t xfm_qemu_proc_map(const struct xfm_segs *segs, pid_t pid,
			  const struct xfm_source *src, const uint64_t *frames,
			  size_t n, void *hint, int *err, void **addr);

/* Where guest [addr, addr + len) lies in this process (a region whose
 * file was reopened), or NULL: the process ops' direct(). */
const void *xfm_qemu_proc_direct(const struct xfm_segs *segs, uint64_t addr,
				 uint64_t len);

/* The file behind QEMU's RAM block at @hva (@len bytes), when QEMU maps
 * it shared from a descriptor (qemu-ram-fd.c). */
struct xfm_qemu_ram_fd {
	int fd;            /* ours, read-only, through /proc/PID/fd/N */
	int fdnum;         /* N: QEMU's own number for it */
	uint64_t off;      /* the file offset of @hva */
	const char *kind;  /* "memfd", "hugetlbfs" or "file" */
};

/* 0 with *out filled; -ENOENT when the block is anonymous or private RAM
 * (or QEMU holds no descriptor of its file); -errno when /proc/PID
 * cannot be read (e.g. -EACCES: no ptrace permission). */
int xfm_qemu_ram_fd(pid_t pid, uint64_t hva, uint64_t len,
		    struct xfm_qemu_ram_fd *out);

#endif
