/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xenforeignmemory.h - xfm's drop-in for Xen's stable foreign-memory
 * library, libxenforeignmemory.so.1 (interface version 1.4).
 *
 * Source compatible with the header Xen ships: the same include guard,
 * types and prototypes, so code written for Xen builds unchanged against
 * this file and runs unchanged on xfm's library.  It needs only Xen's
 * stable public ABI header <xen/xen.h> (for xen_pfn_t and domid_t); no
 * unstable Xen tools header is involved.
 *
 * Sizes: the hypercall ABI counts in 4096-byte Xen frames.  A mapping of
 * N frames occupies N * 4096 bytes rounded up to the kernel's page, and
 * frame i is at byte offset i * 4096 from the returned address.
 */
#ifndef XENFOREIGNMEMORY_H
#define XENFOREIGNMEMORY_H

#include <stdint.h>
#include <stddef.h>

#include <xen/xen.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Only a pointer is passed: callers need not include <xentoollog.h>. */
struct xentoollog_logger;

typedef struct xenforeignmemory_handle xenforeignmemory_handle;

/*
 * Open the privcmd device.  @logger NULL: messages go to stderr at
 * progress level and above.  @open_flags is reserved and ignored.
 * Returns NULL with errno set on failure (ENOENT: no privcmd here).
 * A handle may be used from several threads at once.
 */
xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
					       unsigned open_flags);

/*
 * Release the handle.  Mappings made through it stay valid until
 * unmapped.  NULL is accepted and returns 0.
 */
int xenforeignmemory_close(xenforeignmemory_handle *fmem);

/* xenforeignmemory_map2() with no address hint and no extra flags. */
void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom,
			   int prot, size_t pages,
			   const xen_pfn_t arr[/*pages*/], int err[/*pages*/]);

/*
 * Map @pages frames @arr of domain @dom contiguously.  @addr is a hint
 * (or, with MAP_FIXED in @flags, the address); @flags are mmap flags
 * ORed into MAP_SHARED.
 *  - @err non-NULL: frames that fail leave err[i] < 0 (a negative errno,
 *    e.g. -ENOENT paged out, -EINVAL not mappable) and the call still
 *    succeeds; touching such a frame raises SIGBUS.
 *  - @err NULL: any failing frame fails the whole call (errno from the
 *    first such frame) and nothing stays mapped.
 * Returns the address, or NULL with errno set.
 */
void *xenforeignmemory_map2(xenforeignmemory_handle *fmem, uint32_t dom,
			    void *addr, int prot, int flags, size_t pages,
			    const xen_pfn_t arr[/*pages*/], int err[/*pages*/]);

/*
 * Undo a map of @pages frames at @addr.  Plain munmap() of the same range
 * (rounded up to the kernel page) is equivalent.  0, or -1 with errno.
 */
int xenforeignmemory_unmap(xenforeignmemory_handle *fmem,
			   void *addr, size_t pages);

/*
 * Limit the handle to domain @domid for good (privcmd's restrict).
 * Since 1.1.  0, or -1 with errno.
 */
int xenforeignmemory_restrict(xenforeignmemory_handle *fmem,
			      domid_t domid);

typedef struct xenforeignmemory_resource_handle xenforeignmemory_resource_handle;

/*
 * Map @nr_frames frames, starting at @frame, of resource @type/@id of
 * @domid (XENMEM_acquire_resource).  *@paddr is an address hint in and
 * the address out; @flags may hold only MAP_SHARED and MAP_PRIVATE (else
 * EINVAL).  EOPNOTSUPP when the kernel or Xen cannot do it.  With a
 * kernel page larger than 4 KiB, more than one frame is refused with
 * EOPNOTSUPP (the kernel would map it wrongly).  Since 1.3.
 * Returns a handle for xenforeignmemory_unmap_resource(), or NULL.
 */
xenforeignmemory_resource_handle *xenforeignmemory_map_resource(
	xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
	unsigned int id, unsigned long frame, unsigned long nr_frames,
	void **paddr, int prot, int flags);

/* Unmap and free @fres (NULL is accepted).  Since 1.3. */
int xenforeignmemory_unmap_resource(
	xenforeignmemory_handle *fmem, xenforeignmemory_resource_handle *fres);

/*
 * Store in *@size the bytes (4096 per Xen frame) resource @type/@id of
 * @domid spans.  Since 1.4.  0, or -1 with errno.
 */
int xenforeignmemory_resource_size(
	xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
	unsigned int id, size_t *size);

#ifdef __cplusplus
}
#endif

#endif /* XENFOREIGNMEMORY_H */
