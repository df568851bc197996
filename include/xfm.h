/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xfm.h - map, read and write another machine's memory.
 *
 * One API over several memory sources: a live Xen guest (Linux privcmd),
 * a memory dump on disk, a live QEMU guest.  Page sizes are discovered at
 * run time; nothing here assumes a 4 KiB kernel page.
 *
 * Conventions, for every function below:
 *  - Functions returning int return 0 (or a count, where stated) on
 *    success and a negative errno value on failure.  A failure also sets
 *    a one-line message for the calling thread: see xfm_last_error().
 *  - Sizes and addresses are bytes in uint64_t; frame numbers are uint64_t
 *    in units of the source's frame size (4096 for Xen).
 *  - A handle may be used by many threads at once; mappings made in one
 *    thread may be read from any other.  xfm_close() must not race with
 *    other calls on the same handle.
 *
 * Stability: the ABI of libxfm.so.0 only grows.  No structure here changes
 * size except xfm_geometry, which is passed with its size.
 */
#ifndef XFM_H
#define XFM_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The Xen hypercall ABI's frame: 4 KiB on every architecture Xen supports
 * today, whatever page size the hypervisor or the dom0 kernel uses
 * internally.  Frame numbers passed to a Xen source are in these units.
 */
#define XFM_XEN_PAGE_SHIFT 12
#define XFM_XEN_PAGE_SIZE  (UINT64_C(1) << XFM_XEN_PAGE_SHIFT)
#define XFM_XEN_PAGE_MASK  (~(XFM_XEN_PAGE_SIZE - 1))

/* Largest extent order accepted by xfm_map(): 2^30 frames. */
#define XFM_MAX_ORDER 30

typedef struct xfm_handle xfm_handle;
typedef struct xfm_mapping xfm_mapping;

/* ------------------------------------------------------------------ */
/* Errors                                                              */

/*
 * xfm_last_error - the message of the calling thread's last failed xfm
 * call, e.g. "xen:7: frame 0x1234: not mapped (ENOENT)".  Never NULL;
 * "" when nothing failed yet.  Valid until the thread's next xfm call.
 * Thread-safe (the message is per thread).
 */
const char *xfm_last_error(void);

/* ------------------------------------------------------------------ */
/* Handles                                                             */

enum xfm_open_flags {
	/*
	 * Allow xfm_write() and writable mappings.  Without it the handle is
	 * read-only and writes fail with -EROFS: writing into a guest must
	 * be asked for.
	 */
	XFM_OPEN_WRITE = 1u << 0,
	/* No warnings (e.g. a page size that had to be guessed): neither
	 * printed by xfm_open() nor passed to xfm_open_ex()'s callback. */
	XFM_OPEN_QUIET = 1u << 1,
};

/*
 * xfm_open - open a memory source named by a URI.
 *   "xen:<domid>"   a live Xen guest, through /dev/xen/privcmd
 *   "file:<path>"   a memory dump; format detected from its content
 *                   (Xen dump-core, QEMU/ELF core, LiME, else raw)
 *   "<path>"        same as file:<path>
 *   "qemu:<socket>" a live QEMU guest whose RAM is a shared file
 *                   (-object memory-backend-file,...,share=on), through
 *                   its QMP socket: the guest-physical layout is asked
 *                   of QEMU at open, then the socket is closed and the
 *                   file itself is read and mapped (MAP_SHARED).  Other
 *                   guests, read-only, with ptrace permission over QEMU:
 *                   RAM QEMU maps shared from a descriptor (a memfd) is
 *                   read through that descriptor, reopened from
 *                   /proc/PID/fd; anonymous or private RAM is copied by
 *                   process_vm_readv.  The fact "qemu.ram_access" says
 *                   which (xfm_source_info).
 * @flags: enum xfm_open_flags.
 * On success stores a new handle in *out and returns 0.
 * Errors: -EINVAL bad URI or flags, -ENOENT no such file or domain,
 * -EACCES/-EPERM not allowed, -ENODEV no Xen on this machine, -ENOEXEC
 * unrecognised or corrupt file, -ENOMEM.
 */
int xfm_open(xfm_handle **out, const char *uri, unsigned int flags);

/*
 * A live guest that goes away: a Xen domain destroyed, or saved and
 * restored (it comes back under a new domain id; the old id is gone).
 * The handle notices on its next mapping in which a frame fails (a gone
 * domain's frames do; every cache miss, xfm_map and xfm_get_ranges
 * maps), and otherwise, for new mappings that all succeed and for reads
 * served from cached windows, within 20 ms (Xen keeps a destroyed domain's pages while dom0 maps them, so
 * until then those reads return the guest's last bytes, never garbage
 * and never SIGBUS).  From then on the handle is gone for good: every
 * xfm_read, xfm_write, xfm_map, xfm_get_ranges and xfm_dump fails with
 * -ESRCH ("xen:7: frame 0x...: the domain is gone ..."), its cached
 * windows are unmapped at once (so Xen can free the domain; a window
 * another thread was mapping at that moment may stay until xfm_close),
 * and xfm_close releases the rest; mappings made with xfm_map stay valid
 * (the last bytes) until xfm_unmap.  Other handles are not affected.
 * Reopen a restored guest by its new id (the xfm CLI's "xen:<name>"
 * looks the name up in xenstore).  Xen 4.17's
 * getdomaininfo answers for the next domain up when the asked one is
 * gone; xfm checks the answer is for the asked id and the same UUID.
 */

/*
 * A warning: something the library had to assume or could not find out
 * (e.g. "xen:7: hypervisor page size unknown ...; assuming 4096"); the
 * call went on.  @msg is one line without a newline, valid during the
 * call only.  May be called from any thread that uses the handle.
 */
typedef void (*xfm_warn_fn)(void *opaque, const char *msg);

/*
 * xfm_open_ex - xfm_open() with warnings going to @warn (with @opaque)
 * instead of stderr; @warn NULL drops them: the library itself never
 * prints.  With XFM_OPEN_QUIET, @warn is never called.  xfm_open() is
 * xfm_open_ex() with a callback that prints "xfm: warning: MSG" on
 * stderr.  Errors as xfm_open().  Since XFM_0.2.
 */
int xfm_open_ex(xfm_handle **out, const char *uri, unsigned int flags,
		xfm_warn_fn warn, void *opaque);

/*
 * xfm_close - unmap every cached window and xfm_map, release the handle.
 * NULL is accepted.  Returns 0.
 */
int xfm_close(xfm_handle *h);

/* The source kind: "xen", "file" or "qemu" (the file's format is the
 * "format" fact of xfm_source_info()). */
const char *xfm_source_name(const xfm_handle *h);

/*
 * xfm_source_info - the @i-th fact about the source, as strings, e.g.
 * ("format", "xen-core"), ("xen.type", "hvm"), ("xen.vcpus", "2").
 * Returns 0, or -ENOENT when @i is past the last fact (no message set).
 * The strings live as long as the handle.
 */
int xfm_source_info(xfm_handle *h, size_t i, const char **key,
		    const char **value);

/* ------------------------------------------------------------------ */
/* Page geometry, from the running system                             */

enum xfm_geometry_origin {
	XFM_ORIGIN_HYPERCALL = 1, /* XENVER_pagesize answered */
	XFM_ORIGIN_SYSFS = 2,     /* /sys/hypervisor/properties/pagesize */
	XFM_ORIGIN_DEFAULT = 3,   /* nothing answered: 4096 assumed, warned */
	XFM_ORIGIN_FILE = 4,      /* recorded in, or implied by, a dump file */
	/*
	 * 5 is reserved.  XFM_0.1 drafts had XFM_ORIGIN_CALLER ("set by the
	 * caller"), but no call lets a caller set a geometry and no source
	 * reports it, so it was left out of the ABI rather than frozen
	 * unused; the library's own in-process test sources use 5.
	 */
};

typedef struct xfm_geometry {
	uint64_t frame_size;       /* bytes per source frame (Xen: 4096) */
	uint64_t hyp_page_size;    /* hypervisor's own page size; 0 if none */
	uint64_t kernel_page_size; /* this process's OS page size */
	/*
	 * Bit n set: the source can map memory in units of 2^n bytes
	 * (mapping addresses are aligned to the kernel page regardless).
	 */
	uint64_t granularities;
	uint64_t max_frame;        /* highest frame the source may hold */
	uint32_t origin;           /* enum xfm_geometry_origin of frame_size */
	uint32_t pad;
} xfm_geometry;

/*
 * xfm_get_geometry - fill @g (of @size bytes, normally sizeof(*g)) with
 * the handle's page geometry.  Later versions may append fields; a
 * smaller @size gets a prefix.  Errors: -EINVAL (@size < 8).
 */
int xfm_get_geometry(xfm_handle *h, xfm_geometry *g, size_t size);

/* ------------------------------------------------------------------ */
/* Memory map                                                          */

typedef struct xfm_range {
	uint64_t start; /* guest-physical byte address, frame aligned */
	uint64_t size;  /* bytes, a multiple of the frame size */
} xfm_range;

/*
 * xfm_get_ranges - the populated guest-physical ranges, ascending and
 * merged.  Stores up to @max ranges in @ranges (may be NULL when @max is
 * 0) and returns the total number of ranges (which may exceed @max).
 * For a live Xen guest the first call asks Xen: an x86 HVM/PVH guest's
 * own pages from its page-frame info (1024 frames a hypercall, nothing
 * mapped, no further once as many were found as the domain owns), plus
 * the frames that map in the gaps among them up to as many frames as it
 * has pages (Xen's shared_info and grant frames the guest placed there;
 * such a frame placed far from the guest's pages, as Linux PVH does with
 * a grant frame in unpopulated space, is not listed, and still reads);
 * a PV guest's from its p2m; else (Arm, no domctl, a restricted handle)
 * the guest is probed (one batched map per 64 Ki frames).  The answer is
 * kept until xfm_invalidate().  On Arm the probe maps one frame per
 * 256 KiB first, then only the 256 KiB chunks whose first frame, or the
 * next chunk's, exists (Xen places RAM banks, grant-table frames and
 * magic pages at 2 MiB-aligned bases): a run of frames shorter than
 * 256 KiB that holds no 256 KiB boundary and has no such neighbour is not
 * listed (x86 without the page-frame info: every frame is probed).
 */
int64_t xfm_get_ranges(xfm_handle *h, xfm_range *ranges, size_t max);

/*
 * xfm_get_ranges_alloc - the populated ranges clipped to [@addr, @addr +
 * @len) (@len UINT64_MAX: to the end), ascending and merged, in a new
 * array stored in *out (free it with free(); NULL when there are none).
 * Returns the number of ranges.  Loads the memory map as
 * xfm_get_ranges() does.  Errors: -EINVAL, -ENOMEM, the source's.
 * Since XFM_0.2.
 */
int64_t xfm_get_ranges_alloc(xfm_handle *h, uint64_t addr, uint64_t len,
			     xfm_range **out);

/*
 * xfm_span_present - is every byte of [@addr, @addr + @len) populated?
 * Returns 1 (yes; also for @len 0), or 0 with *gap set to the first
 * address that is not, or a negative errno (-EOVERFLOW: the span wraps).
 * On a live Xen guest whose memory map is not loaded yet, only the
 * span's frames are probed, not the whole guest.  Since XFM_0.2.
 */
int xfm_span_present(xfm_handle *h, uint64_t addr, uint64_t len,
		     uint64_t *gap);

/* ------------------------------------------------------------------ */
/* Mapping frames                                                      */

typedef struct xfm_extent {
	uint64_t frame;  /* first frame, aligned to 2^order */
	uint32_t order;  /* 2^order frames; 0 = one frame */
	int32_t err;     /* out: 0, or a negative errno for this extent */
} xfm_extent;

enum xfm_prot {
	XFM_PROT_READ = 1u << 0,
	XFM_PROT_WRITE = 1u << 1, /* needs XFM_OPEN_WRITE */
};

/*
 * xfm_map - map @n extents contiguously, in order, into this process.
 * Extent i starts at byte offset (sum of the sizes of extents 0..i-1).
 * @hint: an address to try (not MAP_FIXED), or NULL.
 * Every extent's err is set: 0, or e.g. -ENOENT (not in the source),
 * -EINVAL (not mappable), -EPERM.  Touching a failed extent's bytes
 * raises SIGBUS: check err.  The call succeeds (returns the number of
 * extents mapped without error, and *out) when at least one extent
 * mapped; it fails, mapping nothing, when none did (-ENOENT or the first
 * extent's error) or on a whole-call error (-EINVAL: order > XFM_MAX_ORDER
 * or a misaligned frame; -EOVERFLOW: the total size does not fit;
 * -EROFS: XFM_PROT_WRITE on a read-only handle; -ENOMEM).
 */
int xfm_map(xfm_handle *h, xfm_extent *ext, size_t n, unsigned int prot,
	    void *hint, xfm_mapping **out);

/* Start and length (bytes; the sum of the extents) of a mapping. */
void *xfm_map_addr(const xfm_mapping *m);
uint64_t xfm_map_length(const xfm_mapping *m);

/* xfm_unmap - remove a mapping made by xfm_map().  NULL is accepted. */
int xfm_unmap(xfm_mapping *m);

/* ------------------------------------------------------------------ */
/* Reading and writing through the window cache                       */

enum xfm_rw_flags {
	/* Read absent frames as zeros instead of failing with -ENOENT. */
	XFM_READ_ZERO_FILL = 1u << 0,
};

/*
 * xfm_read - copy @len bytes at guest-physical address @addr into @buf.
 * Any alignment and length; the copy goes through the window cache.
 * Errors: -ENOENT a frame in the span is absent (the message names it;
 * @buf holds the bytes before it), -ERANGE address past max_frame,
 * -EOVERFLOW @addr + @len wraps.
 */
int xfm_read(xfm_handle *h, uint64_t addr, void *buf, uint64_t len,
	     unsigned int flags);

/*
 * Reading a guest that runs: xfm_read copies from a live mapping while the
 * guest may write; there is no snapshot and no lock.  What holds (tested
 * in the lab, tests/xen/test-xen-faults.c, against a guest rewriting a
 * page as fast as it can, and in tests/unit/test-cache.c): each naturally
 * aligned 8-byte word of a read is one value the guest stored, never a
 * mix of two stores (src/core/guest-copy.c moves aligned words whole; on
 * 32-bit hosts, 4-byte words); the same holds for xfm_write and for the
 * file xfm_dump writes.  A larger record, even 64 bytes inside one frame
 * in one xfm_read call, can mix two versions.  Readers that need
 * consistent records use the guest's own protocol (a sequence count
 * before and after, read again on a mismatch).  A dump of a running
 * guest is likewise not a snapshot: pause the guest for one.
 */

/*
 * xfm_write - copy @len bytes from @buf to guest-physical @addr.
 * Errors as xfm_read(), plus -EROFS on a handle opened without
 * XFM_OPEN_WRITE or on a read-only source.
 */
int xfm_write(xfm_handle *h, uint64_t addr, const void *buf, uint64_t len);

/*
 * xfm_set_cache - size the cache: windows of @window_size bytes (a power
 * of two, at least the frame and kernel page size), at most @nr_windows
 * mapped at once (0 disables caching: every access maps and unmaps).
 * Drops every cached window.  Default: 1 MiB windows, as many as cover
 * the source's address space (max_frame), at least 64, at most 1024.
 * When a window cannot be mapped for lack of address space or mappings
 * (RLIMIT_AS, vm.max_map_count), the cache unmaps its least recently
 * used idle window, retries, and keeps the smaller window count; a read
 * fails with -ENOMEM (the message names the frame and the limits) only
 * when no window is left to give back.
 * Errors: -EINVAL.
 */
int xfm_set_cache(xfm_handle *h, uint64_t window_size, uint32_t nr_windows);

/*
 * xfm_invalidate - forget cached windows (and the memory map) touching
 * [@addr, @addr + @len); @len UINT64_MAX means everything.  Call it after
 * the guest's memory layout changed (ballooning, migration, restore).
 * Ballooning, precisely: a frame the guest gives back to Xen after it
 * was cached still reads from the cached window until invalidated (its
 * stale bytes), and the page stays allocated to the guest meanwhile
 * (Xen's tot_pages keeps counting it: dom0's mapping holds it); after
 * xfm_invalidate the page is released, the frame reads as absent
 * (-ENOENT, or zeros with XFM_READ_ZERO_FILL) and xfm_get_ranges no
 * longer lists it.  Frames a guest gains show up after xfm_invalidate.
 * (HVM/PVH and Arm guests; a PV guest's p2m is read once, at open.)
 */
int xfm_invalidate(xfm_handle *h, uint64_t addr, uint64_t len);

/* ------------------------------------------------------------------ */
/* Guest virtual memory: page-table walks (src/vm/)                    */

/* How the guest's page tables are laid out. */
enum xfm_vm_mode {
	XFM_VM_X86_32 = 1,      /* 2-level, 4 KiB pages; 4 MiB with
				 * XFM_VM_X86_PSE (CR4.PSE, PSE-36) */
	XFM_VM_X86_PAE = 2,     /* 3-level PAE: 4 KiB and 2 MiB pages */
	XFM_VM_X86_64 = 3,      /* 4-level: 4 KiB, 2 MiB, 1 GiB pages */
	XFM_VM_X86_64_LA57 = 4, /* 5-level (CR4.LA57) */
	XFM_VM_ARM64 = 5,       /* VMSAv8-64 stage 1, EL1&0: TTBR0/TTBR1
				 * and TCR_EL1 give granules (4/16/64 KiB),
				 * VA sizes, FEAT_LPA/LPA2 (TCR.DS) */
};

enum xfm_vm_root_flags {
	XFM_VM_X86_PSE = 1u << 0, /* 32-bit: CR4.PSE set (4 MiB pages) */
	/* Xen PV guests (x86-64): @root and every table entry hold machine
	 * frames, not the guest's own.  Tables are read by machine frame
	 * and a translation's @pa is the guest's own (pseudo-physical)
	 * address, found through the guest's p2m; @entry_addr stays a
	 * machine address.  Only a live Xen PV source can walk such a root
	 * (elsewhere: XFM_VM_TABLE_UNREADABLE). */
	XFM_VM_MACHINE_FRAMES = 1u << 1,
};

/* Where a root came from (xfm_vm_root.origin). */
enum xfm_vm_origin {
	XFM_VM_ORIGIN_CALLER = 1,     /* xfm_set_vm_root() */
	XFM_VM_ORIGIN_QMP = 2,        /* a live QEMU vCPU's registers (QMP) */
	XFM_VM_ORIGIN_DUMP_NOTE = 3,  /* a dump's vCPU note */
	XFM_VM_ORIGIN_XEN_VCPU = 4,   /* a live Xen vCPU's context */
	XFM_VM_ORIGIN_VMCOREINFO = 5, /* the guest kernel's own tables,
				       * found from its VMCOREINFO */
};

/*
 * The root of an address space.  x86: @root is CR3 (its low flag bits
 * are ignored).  arm64: @root is TTBR0_EL1, @root1 TTBR1_EL1, @tcr
 * TCR_EL1 (T0SZ/T1SZ, TG0/TG1, EPD0/EPD1, IPS, TBI0/TBI1, DS are used);
 * descriptors are little-endian.
 */
typedef struct xfm_vm_root {
	uint32_t mode;    /* enum xfm_vm_mode */
	uint32_t flags;   /* enum xfm_vm_root_flags */
	uint64_t root;
	uint64_t root1;
	uint64_t tcr;
	uint32_t origin;  /* enum xfm_vm_origin: filled by xfm_get_vm_root;
			   * xfm_set_vm_root keeps a valid one (a root from
			   * xfm_find_vm_root), else sets _CALLER */
	uint32_t vcpu;    /* the vCPU whose registers gave it, if any */
} xfm_vm_root;

/* Why an address is not mapped (xfm_translation.reason). */
enum xfm_vm_reason {
	XFM_VM_MAPPED = 0,
	XFM_VM_NOT_PRESENT = 1,      /* entry not present / invalid */
	XFM_VM_OUTSIDE = 2,          /* non-canonical, or outside both
				      * TTBR ranges */
	XFM_VM_RESERVED = 3,         /* reserved bits or a descriptor type
				      * not allowed at that level */
	XFM_VM_ADDRESS_SIZE = 4,     /* arm64: output address beyond IPS */
	XFM_VM_WALK_DISABLED = 5,    /* arm64: TCR.EPD0/EPD1 set */
	XFM_VM_TABLE_UNREADABLE = 6, /* a table's frame is not in the source */
	XFM_VM_NOT_GUEST_FRAME = 7,  /* XFM_VM_MACHINE_FRAMES: the machine
				      * frame mapped is none of the guest's
				      * (a foreign or Xen page) */
};

/*
 * One translation.  Levels: x86 numbers its tables 1 (page table) to
 * 5 (PML5); arm64 its lookup levels -1 (LPA2 4 KiB) to 3.  When not
 * mapped, @level, @entry and @entry_addr describe the last entry read
 * (for XFM_VM_OUTSIDE nothing was read: entry 0, entry_addr 0).
 */
typedef struct xfm_translation {
	uint64_t va;
	uint64_t pa;          /* guest-physical address of @va */
	uint64_t page_size;   /* bytes of the page or block mapping @va */
	int32_t level;        /* level of the last entry read */
	uint32_t reason;      /* enum xfm_vm_reason */
	uint64_t entry;       /* value of that entry */
	uint64_t entry_addr;  /* its guest-physical address */
} xfm_translation;

/*
 * xfm_set_vm_root - use @root (of @size bytes, sizeof(xfm_vm_root)) for
 * the handle's virtual-address calls, until replaced (xfm_invalidate
 * keeps it); NULL forgets a root set before (the handle then finds one
 * again: see xfm_get_vm_root).  Drops the translation cache.  Errors: -EINVAL unknown mode or flags.
 * Thread-safe; calls racing with it use the old or the new root.
 */
int xfm_set_vm_root(xfm_handle *h, const xfm_vm_root *root, size_t size);

/*
 * xfm_get_vm_root - the root used by the virtual-address calls: the one
 * set by xfm_set_vm_root(), else vCPU 0's registers where the source has
 * them (a live QEMU x86 guest through QMP; a QEMU x86 ELF dump; a live Xen
 * guest's vCPU context: PVH/HVM CR0/CR3/CR4/EFER, PV CR3 as a machine
 * frame with XFM_VM_MACHINE_FRAMES, arm64 TTBR0/TTBR1/TCR), else the guest
 * kernel's own root from its VMCOREINFO (a Xen PV kernel's with
 * XFM_VM_MACHINE_FRAMES too).  @root->origin says which.  A root found
 * that way is found again after xfm_invalidate() (live registers change).
 * Errors: -ENODATA (no root given and none found; the message says what
 * was tried).
 */
int xfm_get_vm_root(xfm_handle *h, xfm_vm_root *root, size_t size);

/*
 * xfm_find_vm_root - find a root from one @origin only, without using it
 * (pass it to xfm_set_vm_root()).  XFM_VM_ORIGIN_QMP / _XEN_VCPU /
 * _DUMP_NOTE all mean vCPU 0's registers as the source has them (a live
 * QEMU x86 guest, a QEMU x86 ELF dump's "QEMU" note, a live Xen guest's
 * vCPU context read through Xen's unstable domctl); the origin filled in
 * says which.  A running guest's registers are those of the moment read:
 * pause it for a root that stays its current process's.
 * XFM_VM_ORIGIN_VMCOREINFO: the guest kernel's own tables, which map
 * kernel addresses only.  Errors: -ENODATA not available from there,
 * -EINVAL.  Thread-safe.
 */
int xfm_find_vm_root(xfm_handle *h, unsigned int origin, xfm_vm_root *root,
		     size_t size);

/*
 * xfm_translate - translate guest-virtual @va to guest-physical through
 * the handle's root, filling *t (@size bytes, sizeof(xfm_translation)).
 * Returns 0 when mapped; -EFAULT when not (t says at which level and
 * entry, and why); -ENODATA no root; -EINVAL bad arguments.  Results are
 * cached; xfm_invalidate() (any range) and xfm_set_vm_root() drop the
 * cache: no call that starts after they return uses a translation from
 * before.  Where the source holds guest memory in this process (a dump
 * stored as it is, a QEMU RAM file), an x86-64 4 KiB page's entry is
 * read anew each time (only the tables above it are cached), so a
 * changed page-table entry shows even before xfm_invalidate().
 * Thread-safe; lookups take no lock.
 */
int xfm_translate(xfm_handle *h, uint64_t va, xfm_translation *t,
		  size_t size);

/*
 * xfm_read_va - copy @len bytes at guest-virtual @va into @buf, across
 * page boundaries (each page translated on its own).  @flags as
 * xfm_read(); XFM_READ_ZERO_FILL also reads unmapped pages as zeros.
 * Errors: -EFAULT a page in the span is not mapped (the message names its
 * VA, level and entry; @buf holds the bytes before it), -ENODATA, and
 * xfm_read()'s errors.
 */
int xfm_read_va(xfm_handle *h, uint64_t va, void *buf, uint64_t len,
		unsigned int flags);

/*
 * xfm_write_va - copy @len bytes from @buf to guest-virtual @va.  Errors
 * as xfm_read_va() and xfm_write() (-EROFS).  Nothing is written when a
 * page of the span is not mapped (every page is translated first).
 */
int xfm_write_va(xfm_handle *h, uint64_t va, const void *buf, uint64_t len);

/* ------------------------------------------------------------------ */
/* Dumps                                                               */

enum xfm_dump_format {
	XFM_DUMP_RAW = 1,      /* file offset = guest-physical address */
	XFM_DUMP_ELF = 2,      /* ELF64 core, one PT_LOAD per populated run
				* (p_paddr = guest-physical), like QEMU's
				* dump-guest-memory */
	/* Xen `xl dump-core` ELF: .xen_pages and .xen_pfn (HVM layout); for
	 * a source whose frames are machine frames (a Xen PV guest) the PV
	 * layout, .xen_p2m of (pfn, machine frame) for every frame from 0 to
	 * the last one (~0: none), as crash needs for PV page tables. */
	XFM_DUMP_XEN_CORE = 3,
	XFM_DUMP_LIME = 4,     /* LiME: 32-byte header per range */
	/*
	 * makedumpfile's kdump-compressed format (header version 6), what
	 * crash, drgn (libkdumpfile) and makedumpfile read: one block per
	 * guest kernel page (VMCOREINFO's PAGESIZE, else the frame size),
	 * pages compressed as XFM_DUMP_ZLIB.. asks, all-zero pages stored
	 * once and shared (makedumpfile's dump level 1), VMCOREINFO and the
	 * source's notes in the sub-header, the system's utsname read from
	 * the guest kernel (init_uts_ns) when it can be.  Since XFM_0.2.
	 */
	XFM_DUMP_KDUMP = 5,
	/* The same in makedumpfile's flattened form (-F), the one a pipe
	 * carries; `makedumpfile -R` turns it into XFM_DUMP_KDUMP. */
	XFM_DUMP_KDUMP_FLAT = 6,
};

enum xfm_dump_flags {
	/* Overwrite an existing output file (else -EEXIST). */
	XFM_DUMP_OVERWRITE = 1u << 0,
	/*
	 * Forensics: when the source fails mid-dump (a guest destroyed
	 * while dumped), keep what was read instead of deleting it.  ELF
	 * and xen-core only (else -EINVAL).  The file then carries a status
	 * note (below) and xfm_dump still returns the source's error.
	 */
	XFM_DUMP_KEEP_PARTIAL = 1u << 1,
	/*
	 * kdump only: the page compression, one of these (none: pages are
	 * stored as they are).  The library is loaded when first used; a
	 * missing one fails the dump with -EOPNOTSUPP.  Settings are
	 * makedumpfile's (zlib level 1, lzo1x_1, snappy, zstd level 1).
	 */
	XFM_DUMP_ZLIB = 1u << 8,
	XFM_DUMP_LZO = 2u << 8,
	XFM_DUMP_SNAPPY = 3u << 8,
	XFM_DUMP_ZSTD = 4u << 8,
	XFM_DUMP_COMPRESS_MASK = 0xfu << 8,
};

/*
 * The status note of a dump written with XFM_DUMP_KEEP_PARTIAL: an ELF
 * note named "XFM" of this type (ELF: in the first program header, a
 * PT_NOTE; xen-core: in .note.Xen after Xen's notes), whose 32-byte
 * descriptor is four little-endian u64: guest bytes copied, guest bytes
 * in all, the guest address where copying stopped (UINT64_MAX for a
 * complete dump), the errno that stopped it (0 complete, e.g. ESRCH).
 * A partial file keeps its complete layout; bytes after the stop read
 * as zeros.  Without the flag no note is written.
 */
#define XFM_NOTE_DUMP_STATUS 0x58464d01u

/*
 * Progress callback: @done and @total in bytes of guest memory.  Return
 * non-zero to cancel the dump (xfm_dump then fails with -ECANCELED).
 */
typedef int (*xfm_progress_fn)(void *opaque, uint64_t done, uint64_t total);

/*
 * xfm_dump - write every populated range of the source to @path in
 * @format, streaming in large batches with bounded memory.  The output is
 * written to a temporary file beside @path and renamed over it only when
 * complete: on any failure nothing is left behind.  @progress may be NULL.
 * The temporary file is ".<name>.xfm-XXXXXX" beside @path, mode 0600
 * until renamed (then 0644).  All-zero 64 KiB blocks are left as holes
 * (the file is sparse); bytes of a listed range that the source cannot
 * supply (a range not ending on a frame, a frame that vanished from a
 * live guest) are written as zeros.  ELF: p_vaddr = p_paddr, data
 * page-aligned (so it can be mapped), PN_XNUM past 65534 ranges,
 * e_machine from the source's "elf.machine" fact else this host's.  Xen
 * dump-core: HVM layout (.xen_pfn), page size = the source's frame size,
 * no vCPU contexts (nr_vcpus 0).
 * Errors: -EINVAL bad format or flags, -EEXIST, -ENOSPC, -EIO,
 * -ECANCELED, and the source's read errors; the message names the file
 * and the offset.  A live guest that goes away mid-dump (destroyed, or
 * saved and restored) fails the dump with -ESRCH, the message naming the
 * domain and frame; nothing is left (with XFM_DUMP_KEEP_PARTIAL: the
 * partial file, marked, and still -ESRCH).  A frame that leaves a guest
 * that stays (ballooned out after the memory map was read) is written
 * as zeros, as `xl dump-core` does.
 */
int xfm_dump(xfm_handle *h, const char *path, unsigned int format,
	     unsigned int flags, xfm_progress_fn progress, void *opaque);

enum xfm_span_flags {
	XFM_SPAN_OVERWRITE = 1u << 0, /* replace an existing file (else
				       * -EEXIST) */
	XFM_SPAN_ZERO_FILL = 1u << 1, /* absent frames are zeros (else the
				       * call fails with -ENOENT) */
	XFM_SPAN_VIRTUAL = 1u << 2,   /* @addr is guest-virtual: read as
				       * xfm_read_va() reads */
};

/*
 * xfm_dump_span - write the @len bytes at @addr to @path as they are
 * (file offset 0 holds @addr), with xfm_dump()'s streaming, progress
 * (@progress may be NULL) and atomic commit: a temporary file beside
 * @path renamed over it only when complete, nothing left on failure.
 * All-zero 64 KiB blocks are holes.  The finished file's mode is 0666
 * less this process's umask.  @flags: enum xfm_span_flags.  Errors:
 * -EINVAL (@len 0 or the span wraps, unknown flags), -EEXIST, the
 * source's read errors (-ENOENT for an absent frame without
 * XFM_SPAN_ZERO_FILL), and the write errors of xfm_dump().
 * Since XFM_0.2.
 */
int xfm_dump_span(xfm_handle *h, const char *path, uint64_t addr,
		  uint64_t len, unsigned int flags, xfm_progress_fn progress,
		  void *opaque);

/* ------------------------------------------------------------------ */
/* Guest OS: Linux VMCOREINFO (since XFM_0.2)                           */

/*
 * The Linux kernel keeps, in a page of its own, an ELF note named
 * "VMCOREINFO" whose text ("KEY=VALUE\n" lines: OSRELEASE, PAGESIZE,
 * KERNELOFFSET, SYMBOL(swapper_pg_dir), NUMBER(phys_base), ...) is what
 * crash, drgn and makedumpfile need to read a memory image.  libxfm finds
 * it once per handle, on the first call below or on the first
 * xfm_source_info() past the source's own facts: a dump that carries
 * VMCOREINFO (ELF note, kdump header) reports its own; otherwise the start
 * of every 4 KiB-aligned guest page is checked for the note header (from
 * the top of memory down; 24 bytes per page are looked at, never a scan
 * of all bytes) and a candidate is kept only if its text is VMCOREINFO
 * (printable lines, OSRELEASE= first, a PAGESIZE= line).  Little-endian
 * guests (x86, arm64).  The answer is kept for the handle's life: reopen
 * after the guest rebooted.
 *
 * Found, it adds facts to xfm_source_info(): "linux.osrelease",
 * "linux.page_size" (the guest kernel's page, bytes: it may differ from
 * the source's frame and from this machine's page), "linux.kaslr_offset"
 * (KERNELOFFSET, "0x..."), "linux.vmcoreinfo_addr" (guest-physical
 * address of the note, "0x...", only when found in memory) and
 * "linux.vmcoreinfo_source" ("memory" or "dump").  Not found adds none:
 * a source without a Linux guest is a normal case.
 */

/*
 * xfm_vmcoreinfo - the guest kernel's VMCOREINFO text.
 * Copies up to @size - 1 bytes of it into @buf, NUL-terminated (@buf may
 * be NULL when @size is 0, to ask for the length), and stores in *@paddr
 * (may be NULL) the guest-physical address of the note's header, or
 * UINT64_MAX when the text came from the dump's metadata.
 * Returns the text's full length in bytes (without the NUL; may exceed
 * @size - 1: call again with a larger buffer).
 * Errors: -ENOENT no Linux VMCOREINFO in the source (not a Linux guest,
 * or a kernel without CONFIG_CRASH_CORE), -EINVAL, -ENOMEM.
 * Thread-safe; the first call of a handle does the search (about one
 * batched map per 16 MiB of guest memory) and the others wait for it.
 */
int64_t xfm_vmcoreinfo(xfm_handle *h, char *buf, size_t size,
		       uint64_t *paddr);

/*
 * xfm_vmcoreinfo_number - the value of VMCOREINFO line @key, e.g.
 * "SYMBOL(swapper_pg_dir)", "KERNELOFFSET", "NUMBER(phys_base)",
 * "PAGESIZE", "OFFSET(task_struct.tasks)", "NUMBER(kimage_voffset)",
 * parsed as the kernel prints it: hexadecimal for SYMBOL(), ADDRESS(),
 * KERNELOFFSET and any value written "0x...", else decimal (a negative
 * NUMBER() comes back in two's complement).
 * Errors: -ENOENT no VMCOREINFO, or no line @key (message says which),
 * -EINVAL the value is not a number (e.g. OSRELEASE) or bad arguments.
 * Thread-safe.
 */
int xfm_vmcoreinfo_number(xfm_handle *h, const char *key, uint64_t *value);

/* ------------------------------------------------------------------ */
/* Xen specifics (other sources return -EOPNOTSUPP)                    */

/*
 * xfm_restrict - bind the handle's privcmd file to its domain, so that
 * nothing else can be reached through it (hypercalls then fail with
 * -EPERM).  Geometry is queried at open, before any restriction.
 */
int xfm_restrict(xfm_handle *h);

enum xfm_resource_type {
	XFM_RESOURCE_IOREQ_SERVER = 0,
	XFM_RESOURCE_GRANT_TABLE = 1,
	XFM_RESOURCE_VMTRACE_BUF = 2,
};

/*
 * xfm_resource_size - size in bytes of the resource (@type, @id) of the
 * handle's domain.  Errors: -EOPNOTSUPP (kernel or Xen lack resource
 * mapping), -ENOENT, -EPERM.
 */
int xfm_resource_size(xfm_handle *h, unsigned int type, unsigned int id,
		      uint64_t *size);

/*
 * xfm_map_resource - map @nr_frames frames from @frame of a resource.
 * Unmap with xfm_unmap().  Errors: as xfm_resource_size(), -EINVAL.
 * On a kernel whose page is larger than the frame (16/64 KiB arm64),
 * Linux privcmd mis-sizes multi-frame resource maps and corrupts memory:
 * there, @nr_frames > 1 fails with -EOPNOTSUPP before reaching the kernel
 * (map one frame per call instead).
 */
int xfm_map_resource(xfm_handle *h, unsigned int type, unsigned int id,
		     uint64_t frame, uint64_t nr_frames, unsigned int prot,
		     xfm_mapping **out);

#ifdef __cplusplus
}
#endif

#endif /* XFM_H */
