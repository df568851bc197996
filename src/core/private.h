/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * private.h - libxfm's internal header: what the core and every source
 * share (the source vtable and table, the handle, geometry, the cache).
 * A layer's own contract has its own header beside it: privcmd.h and
 * segments.h (src/source), format.h (src/format), dump.h (src/core).
 */
#ifndef XFM_PRIVATE_H
#define XFM_PRIVATE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "xfm.h"

#define XFM_EXPORT __attribute__((visibility("default")))

/* ------------------------------------------------------------------ */
/* error.c: the per-thread last error                                  */

/* Report a failure (to the report hook: see error.c); returns @err, a
 * negative errno. */
int xfm_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xfm_clear_error(void);

struct xfm_report_hook {
	void (*fail)(int err, const char *fmt, va_list ap);
	void (*clear)(void);
};
/* Where xfm_fail() reports go (NULL: nowhere).  Set once, at load. */
void xfm_set_report_hook(const struct xfm_report_hook *h);

struct xfm_source;
/* A warning of @s: to its callback, if it has one (see xfm_open_ex). */
void xfm_warn(const struct xfm_source *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The callback xfm_open() gives: "xfm: warning: MSG" on stderr. */
void xfm_warn_stderr(void *opaque, const char *msg);

/* ------------------------------------------------------------------ */
/* geometry.c: all page-size arithmetic, parameterised (no globals)    */

/* The reserved origin 5 of xfm.h, for in-process test sources only. */
#define XFM_ORIGIN_TEST 5

struct xfm_pagesz {
	uint64_t frame; /* source frame size, a power of two */
	uint64_t kpage; /* kernel page size, a power of two */
};

bool xfm_is_pow2(uint64_t v);
/* log2 of a power of two (src/vm: page and level shifts). */
unsigned int xfm_log2(uint64_t v);
/* Frames of @frame bytes under this system's kernel page.  The kernel
 * page size is asked for here and nowhere else; the handle keeps what
 * this returns (h->psz, and the source's copy, s->psz). */
struct xfm_pagesz xfm_pagesz_of(uint64_t frame);
/* The unit of every mapping: the larger of frame and kernel page. */
uint64_t xfm_map_unit(const struct xfm_pagesz *p);
/* Frames per kernel page (1 when the frame is the larger). */
uint64_t xfm_frames_per_kpage(const struct xfm_pagesz *p);
/* Bytes of address space a mapping of @nr_frames frames occupies:
 * nr_frames * frame rounded up to the kernel page.  -EOVERFLOW. */
int xfm_map_bytes(const struct xfm_pagesz *p, uint64_t nr_frames,
		  uint64_t *bytes);
/* Number of frames in an extent list (sum of 2^order); validates orders
 * and alignment.  -EINVAL, -EOVERFLOW. */
int xfm_extent_frames(const xfm_extent *ext, size_t n, uint64_t *frames);
/* Byte offset of frame index @i inside a mapping: i * frame. */
int xfm_frame_offset(const struct xfm_pagesz *p, uint64_t i, uint64_t *off);
/* Undo a mapping of @nr_frames frames at @addr (munmap of
 * xfm_map_bytes()): every mapping of every source is undone here. */
int xfm_unmap_frames(const struct xfm_pagesz *p, void *addr,
		     uint64_t nr_frames);
/* Parse a /sys/hypervisor/properties/pagesize string (hex, with or
 * without 0x, trailing newline) into bytes; -EINVAL if not a power of 2. */
int xfm_parse_sysfs_pagesize(const char *s, uint64_t *out);

/* ------------------------------------------------------------------ */
/* Sources: one small vtable                                           */

struct xfm_source;

struct xfm_source_ops {
	const char *name;
	/* Fill frame_size, hyp_page_size, granularities, max_frame,
	 * origin.  kernel_page_size is filled by the core, which then sets
	 * s->psz once: map() uses it, never asks the kernel again. */
	int (*geometry)(struct xfm_source *s, xfm_geometry *g);
	/* Which frames exist: a malloc'd array of merged, ascending byte
	 * ranges. */
	int (*ranges)(struct xfm_source *s, xfm_range **out, size_t *n);
	/* Optional, for sources whose ranges() is costly: ranges that hold
	 * every frame ranges() would list, some absent ones too, found
	 * cheaply.  For searches that map what they read anyway (the
	 * VMCOREINFO scan: src/os/linux.c).  Without it, ranges(). */
	int (*likely_ranges)(struct xfm_source *s, xfm_range **out,
			     size_t *n);
	/* Optional, for sources whose ranges() is costly (live guests):
	 * are frames [first, first + n) all present?  1, or 0 with *missing
	 * the first absent frame, or a negative errno.  Without it the core
	 * answers from ranges(). */
	int (*present)(struct xfm_source *s, uint64_t first, uint64_t n,
		       uint64_t *missing);
	/* Map @n frames contiguously (frame i at offset i * frame_size)
	 * with per-frame errors in err[] (0 or negative errno; never NULL).
	 * Returns the number of frames mapped without error (>= 0, the
	 * mapping then exists even if 0 frames succeeded) or a negative
	 * errno for a whole-call failure (nothing mapped). */
	int64_t (*map)(struct xfm_source *s, const uint64_t *frames, size_t n,
		       unsigned int prot, void *hint, int *err, void **addr);
	/* (The core undoes a map() itself: xfm_unmap_frames().) */
	void (*close)(struct xfm_source *s);
	/* Optional copy path for sources that are files (faster than
	 * mapping for streaming): read @len bytes at @addr. NULL if none. */
	int (*pread)(struct xfm_source *s, uint64_t addr, void *buf,
		     uint64_t len, unsigned int flags);
	/* Xen only; NULL elsewhere (the core answers -EOPNOTSUPP). */
	int (*restrict_domain)(struct xfm_source *s);
	int (*resource_size)(struct xfm_source *s, unsigned int type,
			     unsigned int id, uint64_t *size);
	int (*map_resource)(struct xfm_source *s, unsigned int type,
			    unsigned int id, uint64_t frame, uint64_t nr,
			    unsigned int prot, void **addr, uint64_t *bytes);
	/* Optional: the paging root in vCPU @vcpu's registers (mode, CR3
	 * or TTBRs + TCR, origin).  -ENODATA when it has none. */
	int (*vm_root)(struct xfm_source *s, unsigned int vcpu,
		       xfm_vm_root *root);
	/* Optional: how many frames just below frame @end (end - 1, end -
	 * 2, ..., at most @n) the source knows to read as zeros without
	 * reading them (a dump's present but unstored ranges).  Lets the
	 * top-down VMCOREINFO search skip them (src/os/linux.c). */
	uint64_t (*zero_below)(struct xfm_source *s, uint64_t end,
			       uint64_t n);
	/* Optional: where guest bytes [addr, addr + len) lie in this
	 * process, for as long as the source is open and always current
	 * (a mapping of a dump or of a guest's RAM file), or NULL.  The
	 * translation cache reads page-table entries through it (8-byte
	 * aligned loads); any other read goes through pread/map. */
	const void *(*direct)(struct xfm_source *s, uint64_t addr,
			      uint64_t len);
	/* Optional, Xen PV: the guest's own frame of machine frame @mfn
	 * (roots with XFM_VM_MACHINE_FRAMES); -ENOENT none of the guest's. */
	int (*machine_to_frame)(struct xfm_source *s, uint64_t mfn,
				uint64_t *frame);
	/* Optional, Xen PV: the machine frame of the guest's @frame;
	 * -ENOENT when the guest's frames are not machine frames. */
	int (*frame_to_machine)(struct xfm_source *s, uint64_t frame,
				uint64_t *mfn);
	/* Live sources: 0 while the source is still the one opened, else
	 * -ESRCH (gone for good).  NULL: never goes away. */
	int (*alive)(struct xfm_source *s);
};

struct xfm_kv {
	char *key;
	char *value;
};

/* Every source's private struct starts with this. */
struct xfm_source {
	const struct xfm_source_ops *ops;
	char *label;          /* for messages: "xen:7", "dump.elf" */
	unsigned int flags;   /* enum xfm_open_flags given to xfm_open */
	xfm_warn_fn warn;     /* warnings go here (NULL: dropped) */
	void *warn_opaque;
	struct xfm_pagesz psz; /* set by the core after geometry() */
	struct xfm_kv *info;  /* facts for xfm_source_info() */
	size_t ninfo;
	/* VMCOREINFO text the dump carries (ELF note, kdump header), set by
	 * the format's parser; NULL when none.  Not NUL-terminated. */
	char *vmcoreinfo;
	size_t vmcoreinfo_len;
	/* ELF notes the dump carries (PRSTATUS, QEMU CPU state, ...) in
	 * little-endian ELF64 layout, to keep when converting; NULL when
	 * none. */
	uint8_t *notes;
	size_t notes_len;
};

/* What xfm_open() was asked, for a source's constructor. */
struct xfm_open_args {
	unsigned int flags;   /* enum xfm_open_flags */
	xfm_warn_fn warn;     /* NULL: warnings are dropped */
	void *warn_opaque;
};

/* source-info.c: set the ops, the open arguments and the label ("xen:7");
 * -ENOMEM. */
int xfm_source_init(struct xfm_source *s, const struct xfm_source_ops *ops,
		    const struct xfm_open_args *a, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Record a fact for xfm_source_info(), e.g. ("xen.type", "hvm"). */
int xfm_source_add_info(struct xfm_source *s, const char *key,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * The source's own fact @key, its value copied into @buf (@len bytes):
 * 0, or -ENOENT.  Unlike xfm_source_info() it never starts the guest OS
 * discovery (a search through guest memory on a live source).
 */
int xfm_source_fact(xfm_handle *h, const char *key, char *buf, size_t len);
/* Free what xfm_source_init and xfm_source_add_info allocated. */
void xfm_source_fini(struct xfm_source *s);

/* A source's constructor: @arg is the URI after the prefix. */
typedef int xfm_source_open_fn(const char *arg,
			       const struct xfm_open_args *a,
			       struct xfm_source **out);

/* The registered sources (src/source/sources.c), ending with a NULL
 * prefix; xfm_open() takes the first whose prefix the URI starts with. */
struct xfm_source_type {
	const char *prefix;        /* "xen:" */
	const char *usage;         /* "xen:<domid>", for messages */
	xfm_source_open_fn *open;
	bool bare_path;            /* also opens URIs that are plain paths */
};
extern const struct xfm_source_type xfm_source_types[];

xfm_source_open_fn xfm_xen_open, xfm_file_open, xfm_qemu_open;

/* ------------------------------------------------------------------ */
/* cache.c: windows of mapped frames                                   */

/*
 * A window: @nframes frames from @first, mapped at @addr.  @ref counts
 * the table's reference (while the window is in it) and each reader's;
 * REF_DEAD is set when it leaves the table, and whoever drops the last
 * reference unmaps it.  Window structs are recycled, never freed before
 * the handle: a reader that found one without the lock may still look
 * at it (it re-checks first/nframes after taking its reference).
 */
struct xfm_window {
	_Atomic uint64_t first;     /* first frame */
	_Atomic uint64_t nframes;   /* frames mapped */
	void *addr;
	int *err;                   /* per frame */
	size_t err_cap;             /* entries allocated in err */
	_Atomic uint32_t ref;
	_Atomic uint64_t last_use;  /* Lamport clock of the last use */
	struct xfm_window *next;    /* free list */
};

static inline uint64_t xfm_window_first(struct xfm_window *w)
{
	return atomic_load_explicit(&w->first, memory_order_relaxed);
}

static inline uint64_t xfm_window_frames(struct xfm_window *w)
{
	return atomic_load_explicit(&w->nframes, memory_order_relaxed);
}

/* The lookup table: open addressing on first / window_frames. */
struct xfm_wtab {
	uint64_t window_frames;
	unsigned int shift;             /* log2(window_frames) */
	uint32_t mask;                  /* slots - 1 */
	_Atomic(struct xfm_window *) *slot;
	struct xfm_wtab *retired;       /* older tables, freed at close */
};

struct xfm_cache {
	_Atomic(struct xfm_wtab *) tab;
	uint32_t nr_max;
	uint32_t nr;                /* windows in the table */
	_Atomic uint64_t clock;     /* moves on misses (Lamport) */
	uint64_t misses;
	struct xfm_window *free;    /* recycled window structs */
};

/* ------------------------------------------------------------------ */
/* handle                                                              */

struct xfm_os;

struct xfm_handle {
	pthread_mutex_t lock;     /* cache, ranges */
	pthread_mutex_t os_lock;  /* os, and facts added after open */
	struct xfm_os *os;        /* guest OS discovery (src/os/linux.c) */
	struct xfm_source *src;
	xfm_geometry geo;
	struct xfm_pagesz psz;
	/* Last byte of guest memory, (max_frame + 1) * frame - 1: the
	 * span check of every read and write, without a division. */
	uint64_t last_byte;
	unsigned int frame_shift;   /* log2(psz.frame): no division per read */
	struct xfm_cache cache;
	xfm_range *ranges;
	size_t nr_ranges;
	bool have_ranges;
	struct xfm_vm *vm;        /* src/vm/aspace.c: root, translations */
	atomic_int gone;                /* 0, or -ESRCH once gone (liveness.c) */
	_Atomic uint64_t alive_checked;     /* coarse ns of the last look */
	/* map.c: one unmapped mapping object kept for the next xfm_map
	 * (a malloc + free per map call was half of its user cost). */
	struct xfm_mapping *_Atomic spare_map;
};

struct xfm_mapping {
	xfm_handle *h;
	void *addr;
	uint64_t length;   /* bytes of frames */
	uint64_t frames;
	uint64_t res_bytes; /* made by map_resource: bytes mapped, else 0 */
};

/* ranges.c: sort @r, drop empty ranges, merge touching or overlapping
 * ones; returns how many are left. */
size_t xfm_ranges_normalize(xfm_range *r, size_t n);

/* map.c: free the handle's kept mapping object (xfm_close). */
void xfm_map_spare_free(xfm_handle *h);

/* src/os/linux.c: discover the guest OS once and append its facts
 * (linux.*) to the source's; quiet (no message). */
void xfm_os_facts(xfm_handle *h);
void xfm_os_fini(xfm_handle *h);

/* Wrap an opened source in a handle (used by xfm_open and by tests). */
int xfm_handle_from_source(struct xfm_source *src, xfm_handle **out);

/* Set the window size and count (h->lock held, or no other user);
 * -EINVAL (nothing changed) or -ENOMEM. */
int xfm_cache_init(xfm_handle *h, uint64_t window_size, uint32_t nr);

/*
 * liveness.c: 0 while the source is still there; else -ESRCH with a
 * message naming the source and @frame (UINT64_MAX: none), and the handle
 * is gone for good (its windows unmapped).  @now: ask the source now;
 * else at most every 20 ms (cache hits).  Takes h->lock: not under it.
 */
int xfm_check_alive(xfm_handle *h, bool now, uint64_t frame);
/* The source said it is gone (@err, e.g. a map's -ESRCH): mark the
 * handle gone; returns -ESRCH with the message.  Not under h->lock. */
int xfm_source_gone(xfm_handle *h, uint64_t frame);
/* Drop the windows holding frames first..last (h->lock held). */
void xfm_cache_drop(xfm_handle *h, uint64_t first, uint64_t last);
/* Free everything (xfm_close: no other user). */
void xfm_cache_fini(xfm_handle *h);
/* A referenced window holding @frame, mapped if not cached; put it back
 * with xfm_window_put() once copied from. */
int xfm_window_get(xfm_handle *h, uint64_t frame, struct xfm_window **out);
void xfm_window_put(xfm_handle *h, struct xfm_window *w);

/* guest-copy.c: copy @n bytes from or to a live guest's mapping, each
 * aligned word of the guest side moved whole (xfm.h, "Reading a guest
 * that runs").  A load also says whether any byte it copied was not
 * zero (a dump's holes are found in the same pass). */
bool xfm_guest_load(void *dst, const void *guest, uint64_t n);
void xfm_guest_store(void *guest, const void *src, uint64_t n);

/* ------------------------------------------------------------------ */
/* src/vm/: guest virtual memory                                       */

struct xfm_vm;
int xfm_vm_new(xfm_handle *h);
void xfm_vm_free(xfm_handle *h);
/* Drop cached translations (and a root found from live registers). */
void xfm_vm_flush(xfm_handle *h, bool forget_found_root);
/* The guest kernel's own root from its VMCOREINFO; -ENODATA. */
int xfm_vm_kernel_root(xfm_handle *h, xfm_vm_root *root);

#endif /* XFM_PRIVATE_H */
