/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * privcmd.c - the Linux privcmd device: the only file that knows
 * how Linux exposes Xen's foreign-mapping hypercalls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "privcmd.h"
#include "privcmd-abi.h"

/* Paged-out frames: retry for up to ~1 s in growing steps. */
#define PAGED_RETRIES 10
#define PAGED_FIRST_SLEEP_NS 1000000L

static int open_device(void)
{
	int fd = open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno != ENOENT && errno != ENXIO && errno != ENODEV)
		return -errno;
	fd = open("/proc/xen/privcmd", O_RDWR | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

int xfm_privcmd_open(struct xfm_privcmd *pc)
{
	int fd = open_device();

	/* Neither node: this is not a Xen domain with privcmd loaded. */
	if (fd == -ENOENT)
		fd = -ENODEV;
	if (fd < 0)
		return xfm_fail(fd, "privcmd: cannot open /dev/xen/privcmd: %s",
				strerror(-fd));
	pc->fd = fd;
	pc->psz = xfm_pagesz_of(XFM_XEN_PAGE_SIZE);
	pc->unimpl_errno = ENOTTY;
	return 0;
}

/*
 * The compat library must fail exactly as Xen's libxenforeignmemory does:
 * with the last open()'s errno untouched (ENOENT when neither node exists,
 * which xfm_privcmd_open() reports as -ENODEV), and it needs the errno
 * this privcmd gives unknown ioctls (ENOTTY; EINVAL on old kernels), which
 * Xen's library turns into EOPNOTSUPP.  The probe ioctl must fail: a
 * device that accepts it is not privcmd.
 */
int xfm_privcmd_open_compat(struct xfm_privcmd *pc)
{
	int fd = open_device();

	if (fd < 0)
		return xfm_fail(fd, "privcmd: cannot open /dev/xen/privcmd: %s",
				strerror(-fd));
	if (ioctl(fd, XFM_PC_IOC(0xff, 0), NULL) >= 0) {
		close(fd);
		return xfm_fail(-ENOTTY, "privcmd: device accepts an ioctl "
				"privcmd never implements: not privcmd");
	}
	pc->unimpl_errno = errno;
	pc->fd = fd;
	pc->psz = xfm_pagesz_of(XFM_XEN_PAGE_SIZE);
	return 0;
}

void xfm_privcmd_close(struct xfm_privcmd *pc)
{
	if (pc->fd >= 0)
		close(pc->fd);
	pc->fd = -1;
}

int64_t xfm_privcmd_hypercall(struct xfm_privcmd *pc, uint64_t op,
			      uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct xfm_pc_hypercall hc = { .op = op, .arg = { a0, a1, a2 } };
	int rc = ioctl(pc->fd, XFM_IOCTL_HYPERCALL, &hc);

	return rc < 0 ? -errno : rc;
}

static int read_sysfs_pagesize(uint64_t *out)
{
	char buf[32] = "";
	FILE *f = fopen("/sys/hypervisor/properties/pagesize", "re");
	int rc = -ENOENT;

	if (!f)
		return -errno;
	if (fgets(buf, sizeof(buf), f))
		rc = xfm_parse_sysfs_pagesize(buf, out);
	fclose(f);
	return rc;
}

uint64_t xfm_privcmd_hyp_pagesize(struct xfm_privcmd *pc, uint32_t *origin)
{
	int64_t rc = xfm_privcmd_hypercall(pc, XFM_HC_XEN_VERSION,
					   XFM_XENVER_PAGESIZE, 0, 0);
	uint64_t sz;

	/* 0 means XSM denied the query; fall through to sysfs. */
	if (rc > 0 && xfm_is_pow2((uint64_t)rc)) {
		*origin = XFM_ORIGIN_HYPERCALL;
		return (uint64_t)rc;
	}
	if (read_sysfs_pagesize(&sz) == 0) {
		*origin = XFM_ORIGIN_SYSFS;
		return sz;
	}
	*origin = XFM_ORIGIN_DEFAULT;
	return XFM_XEN_PAGE_SIZE;
}

static void sleep_ns(long ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000L,
			       .tv_nsec = ns % 1000000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Re-issue MMAPBATCH_V2 for each run of paged-out (-ENOENT) frames.
 * Runs are widened to whole kernel pages, because the kernel maps one
 * kernel page's worth of frames per step.
 */
static int retry_paged(struct xfm_privcmd *pc, uint32_t dom, char *base,
		       const xfm_xen_pfn_t *arr, size_t n, int *err)
{
	uint64_t per = xfm_frames_per_kpage(&pc->psz);
	long ns = PAGED_FIRST_SLEEP_NS;
	bool again = true;

	for (int tries = 0; again && tries < PAGED_RETRIES; tries++, ns *= 2) {
		sleep_ns(ns);
		again = false;
		for (size_t i = 0; i < n; i++) {
			size_t end;
			struct xfm_pc_mmapbatch_v2 b;

			if (err[i] != -ENOENT)
				continue;
			i -= i % per;
			for (end = i + 1; end < n && (err[end] == -ENOENT ||
						      end % per); end++)
				;
			b = (struct xfm_pc_mmapbatch_v2){
				.num = (unsigned int)(end - i), .dom = (uint16_t)dom,
				.addr = (uint64_t)(uintptr_t)(base + i * pc->psz.frame),
				.arr = arr + i, .err = err + i,
			};
			if (ioctl(pc->fd, XFM_IOCTL_MMAPBATCH_V2, &b) < 0) {
				if (errno != ENOENT)
					return -errno;
				again = true;
			}
			i = end - 1;
		}
	}
	return 0;
}

/* Kernels older than 2.6.37-ish only have v1: errors in arr's top bits. */
static int map_v1(struct xfm_privcmd *pc, uint32_t dom, void *addr,
		  const xfm_xen_pfn_t *arr, size_t n, int *err)
{
	xfm_xen_pfn_t *tmp = malloc(n * sizeof(*tmp));
	struct xfm_pc_mmapbatch b = { .num = (int)n, .dom = (uint16_t)dom,
				      .addr = (uint64_t)(uintptr_t)addr };
	int rc = 0;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, arr, n * sizeof(*tmp));
	b.arr = tmp;
	if (ioctl(pc->fd, XFM_IOCTL_MMAPBATCH, &b) < 0 && errno != ENOENT)
		rc = -errno;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (tmp[i] == arr[i])
			err[i] = 0;
		else if ((tmp[i] & XFM_PC_V1_ERROR) == XFM_PC_V1_PAGED)
			err[i] = -ENOENT;
		else
			err[i] = -EINVAL;
	}
	free(tmp);
	return rc;
}

__attribute__((hot)) int64_t xfm_privcmd_map(struct xfm_privcmd *pc, uint32_t dom, void *hint,
			int prot, int flags, const xfm_xen_pfn_t *arr,
			size_t n, int *err, void **addr)
{
	struct xfm_pc_mmapbatch_v2 b;
	uint64_t bytes;
	int64_t nfail = 0;
	void *a;
	int rc;

	if (n == 0 || n > UINT32_MAX)
		return -EINVAL;
	rc = xfm_map_bytes(&pc->psz, n, &bytes);
	if (rc < 0 || bytes > SIZE_MAX)
		return -EOVERFLOW;
	a = mmap(hint, (size_t)bytes, prot, MAP_SHARED | flags, pc->fd, 0);
	if (a == MAP_FAILED)
		return -errno;
	b = (struct xfm_pc_mmapbatch_v2){
		.num = (unsigned int)n, .dom = (uint16_t)dom,
		.addr = (uint64_t)(uintptr_t)a, .arr = arr, .err = err,
	};
	rc = ioctl(pc->fd, XFM_IOCTL_MMAPBATCH_V2, &b) < 0 ? -errno : 0;
	if (rc == -ENOENT)
		rc = retry_paged(pc, dom, a, arr, n, err);
	else if (rc == -ENOTTY)
		rc = map_v1(pc, dom, a, arr, n, err);
	if (rc < 0) {
		munmap(a, (size_t)bytes);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		nfail += err[i] != 0;
	*addr = a;
	return nfail;
}

int xfm_privcmd_restrict(struct xfm_privcmd *pc, uint32_t dom)
{
	uint16_t d = (uint16_t)dom;

	if (dom > UINT16_MAX)
		return -EINVAL;
	return ioctl(pc->fd, XFM_IOCTL_RESTRICT, &d) < 0 ? -errno : 0;
}

int xfm_privcmd_resource(struct xfm_privcmd *pc, uint32_t dom,
			 unsigned int type, unsigned int id, uint64_t frame,
			 uint64_t nr, void *addr, uint64_t *size_frames)
{
	struct xfm_pc_mmap_resource r = {
		.dom = (uint16_t)dom, .type = type, .id = id,
		.idx = (uint32_t)frame, .num = nr,
		.addr = (uint64_t)(uintptr_t)addr,
	};

	if (dom > UINT16_MAX || frame > UINT32_MAX)
		return -EINVAL;
	/* The kernel's "no such ioctl" means the feature is missing. */
	if (ioctl(pc->fd, XFM_IOCTL_MMAP_RESOURCE, &r) < 0)
		return errno == ENOTTY || errno == pc->unimpl_errno ?
		       -EOPNOTSUPP : -errno;
	if (size_frames)
		*size_frames = r.num;
	return 0;
}

/*
 * Linux privcmd's MMAP_RESOURCE sizes its work in kernel pages but fills
 * them with nr 4 KiB frames: with a 16 or 64 KiB kernel page and more
 * than one frame it writes past what it set up and corrupts memory.  One
 * frame fits in one kernel page and is safe; more cannot be made safe
 * from userspace (one call per frame would not give a contiguous 4 KiB-
 * strided mapping).
 */
bool xfm_privcmd_resource_unsafe(const struct xfm_privcmd *pc, uint64_t nr)
{
	return pc->psz.kpage > pc->psz.frame && nr > 1;
}

int xfm_privcmd_map_resource(struct xfm_privcmd *pc, uint32_t dom,
			     unsigned int type, unsigned int id,
			     uint64_t frame, uint64_t nr, void *hint,
			     int prot, int flags, void **addr,
			     uint64_t *bytes)
{
	void *a;
	int rc;

	if (xfm_privcmd_resource_unsafe(pc, nr))
		return -EOPNOTSUPP;
	if (xfm_map_bytes(&pc->psz, nr, bytes) < 0 || *bytes > SIZE_MAX)
		return -EOVERFLOW;
	a = mmap(hint, (size_t)*bytes, prot, flags | MAP_SHARED, pc->fd, 0);
	if (a == MAP_FAILED)
		return -errno;
	rc = xfm_privcmd_resource(pc, dom, type, id, frame, nr, a, NULL);
	if (rc < 0) {
		munmap(a, (size_t)*bytes);
		return rc;
	}
	*addr = a;
	return 0;
}

void *xfm_privcmd_buf_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, len);
	mlock(p, len);
	return p;
}

void xfm_privcmd_buf_free(void *p, size_t len)
{
	munlock(p, len);
	munmap(p, len);
}
