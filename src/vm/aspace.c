/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * aspace.c - a handle's guest-virtual address space: its root, the
 * translation cache, and reads and writes by virtual address.
 *
 * The cache is direct-mapped, keyed by the smallest page the root can
 * map; a large page fills one slot per small page touched.  Lookups take
 * no lock: the root and the cache's generation are published under a
 * sequence count (the mutex serialises the few writers of the root), and
 * every cache slot is a small seqlock of its own.  A slot holds the
 * generation it was filled in, and counts only while that generation is
 * current: xfm_invalidate() is one increment, not a clear of the table,
 * and a walk that raced with it stores a translation no lookup after it
 * will take.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "private.h"
#include "walk.h"

/* 32768 slots: 128 MiB of 4 KiB pages, 2 MiB per handle (mapped
 * anonymous: the kernel gives the pages on first use). */
#define TLB_SLOTS 32768

/* One cache line: the sequence count and everything a lookup returns. */
struct tlb_slot {
	_Atomic uint64_t seq;        /* odd while being written */
	_Atomic uint64_t gen;        /* the generation it was filled in */
	_Atomic uint64_t vpn;        /* va >> min_shift */
	_Atomic uint64_t base;       /* guest-physical start of the mapping */
	_Atomic uint64_t page_size;
	_Atomic uint64_t entry, entry_addr;
	_Atomic int64_t level;
};

/* An x86-64 last-level table maps 2 MiB; its entries' address bits. */
#define X86_LEAF_SPAN 21
#define X86_ADDR_MASK UINT64_C(0x000ffffffffff000)

/* Paging-structure cache: the last-level table of a VA span (2 MiB on
 * x86-64), so that a translation-cache miss reads one entry, not four. */
#define PSC_SLOTS 4096

struct psc_slot {
	_Atomic uint64_t seq;
	_Atomic uint64_t gen;
	_Atomic uint64_t key;        /* va >> span shift */
	_Atomic uint64_t table;
	/* x86-64: the table in this process (the source's direct()), or
	 * NULL: then read through the source */
	_Atomic(const uint64_t *) ptr;
};

/*
 * The published state, one word: the generation (bits 63..8); whether
 * the root is an x86-64 one whose tables hold guest frames (bit 6: the
 * short miss path, x86_leaf()) and the source has tables in this process
 * (bit 7: direct(), then x86_leaf() comes first); the root's smallest
 * page shift (bits 5..0; 0 while there is no root).  Generations start
 * at 1, so a slot never filled (gen 0) never counts.
 */
#define STATE_SHIFT(st)  ((unsigned int)((st) & 0x3f))
#define STATE_X86_LEAF   UINT64_C(0x40)
#define STATE_DIRECT     UINT64_C(0x80)
#define STATE_GEN(st)    ((st) >> 8)

/* The root as five words, for the lock-free snapshot. */
#define ROOT_WORDS (sizeof(xfm_vm_root) / sizeof(uint64_t))
_Static_assert(sizeof(xfm_vm_root) % sizeof(uint64_t) == 0,
	       "xfm_vm_root is a whole number of words");

struct xfm_vm {
	struct tlb_slot tlb[TLB_SLOTS];
	struct psc_slot psc[PSC_SLOTS];
	/* Writers only (root changes, flushes), and readers that find a
	 * writer at work. */
	pthread_mutex_t lock;
	bool have_root;      /* under lock */
	bool given;          /* by xfm_set_vm_root: kept over invalidation */
	bool direct;         /* the source has direct() */
	xfm_vm_root root;    /* under lock */
	unsigned int min_shift; /* under lock */
	uint64_t gen;        /* under lock */
	/* What lock-free readers see: the root, the state, under seq. */
	_Atomic uint64_t seq;
	_Atomic uint64_t root_words[ROOT_WORDS];
	_Atomic uint64_t state;
};

int xfm_vm_new(xfm_handle *h)
{
	/* Page-aligned (the slots are cache lines), zero pages until
	 * touched: a handle that never reads by VA costs no memory. */
	struct xfm_vm *vm = mmap(NULL, sizeof(*vm), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (vm == MAP_FAILED)
		return xfm_fail(-ENOMEM, "%s: out of memory", h->src->label);
	pthread_mutex_init(&vm->lock, NULL);
	vm->direct = h->src->ops->direct != NULL;
	vm->gen = 1;
	atomic_store(&vm->state, vm->gen << 8);
	h->vm = vm;
	return 0;
}

void xfm_vm_free(xfm_handle *h)
{
	if (!h->vm)
		return;
	pthread_mutex_destroy(&h->vm->lock);
	munmap(h->vm, sizeof(*h->vm));
	h->vm = NULL;
}

/* Called with vm->lock held. */
static uint64_t state_locked(const struct xfm_vm *vm)
{
	const xfm_vm_root *r = &vm->root;
	uint64_t st = vm->gen << 8;

	if (!vm->have_root)
		return st;
	st |= vm->min_shift;
	if ((r->mode == XFM_VM_X86_64 || r->mode == XFM_VM_X86_64_LA57) &&
	    !(r->flags & XFM_VM_MACHINE_FRAMES))
		st |= STATE_X86_LEAF | (vm->direct ? STATE_DIRECT : 0);
	return st;
}

/* Make the root and the generation visible to lock-free readers.  Called
 * with vm->lock held (the only writer). */
static void publish_locked(struct xfm_vm *vm)
{
	uint64_t w[ROOT_WORDS], s = atomic_load_explicit(&vm->seq,
							 memory_order_relaxed);

	memcpy(w, &vm->root, sizeof(w));
	atomic_store_explicit(&vm->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < ROOT_WORDS; i++)
		atomic_store_explicit(&vm->root_words[i], w[i],
				      memory_order_relaxed);
	atomic_store_explicit(&vm->state, state_locked(vm),
			      memory_order_relaxed);
	atomic_store_explicit(&vm->seq, s + 2, memory_order_release);
}

/* Called with vm->lock held: every cached translation stops counting. */
static void flush_locked(struct xfm_vm *vm)
{
	vm->gen++;
	publish_locked(vm);
}

void xfm_vm_flush(xfm_handle *h, bool forget_found_root)
{
	struct xfm_vm *vm = h->vm;

	if (!vm)
		return;
	pthread_mutex_lock(&vm->lock);
	/* A root read from live registers may have changed; one the
	 * caller gave has not. */
	if (forget_found_root && vm->have_root && !vm->given)
		vm->have_root = false;
	flush_locked(vm);
	pthread_mutex_unlock(&vm->lock);
}

static int check_root(const xfm_vm_root *r)
{
	if (r->mode < XFM_VM_X86_32 || r->mode > XFM_VM_ARM64)
		return xfm_fail(-EINVAL, "xfm_set_vm_root: unknown mode %u",
				r->mode);
	if (r->flags & ~(uint32_t)(XFM_VM_X86_PSE | XFM_VM_MACHINE_FRAMES))
		return xfm_fail(-EINVAL, "xfm_set_vm_root: unknown flags 0x%x",
				r->flags);
	if ((r->flags & XFM_VM_MACHINE_FRAMES) && r->mode != XFM_VM_X86_64)
		return xfm_fail(-EINVAL, "xfm_set_vm_root: machine frames "
				"(Xen PV) need the x86_64 mode");
	return 0;
}

static void install_locked(struct xfm_vm *vm, const xfm_vm_root *r)
{
	vm->root = *r;
	vm->have_root = true;
	vm->min_shift = xfm_log2(xfm_vm_min_page(r));
	flush_locked(vm);
}

XFM_EXPORT int xfm_set_vm_root(xfm_handle *h, const xfm_vm_root *root,
			       size_t size)
{
	xfm_vm_root r;
	int rc;

	xfm_clear_error();
	if (!h || (root && size < sizeof(r)))
		return xfm_fail(-EINVAL, "xfm_set_vm_root: bad arguments");
	if (root) {
		memcpy(&r, root, sizeof(r));
		rc = check_root(&r);
		if (rc < 0)
			return rc;
		/* A root from xfm_find_vm_root keeps its origin. */
		if (r.origin < XFM_VM_ORIGIN_CALLER ||
		    r.origin > XFM_VM_ORIGIN_VMCOREINFO)
			r.origin = XFM_VM_ORIGIN_CALLER;
	}
	pthread_mutex_lock(&h->vm->lock);
	h->vm->given = root != NULL;
	if (root) {
		install_locked(h->vm, &r);
	} else {
		h->vm->have_root = false;
		flush_locked(h->vm);
	}
	pthread_mutex_unlock(&h->vm->lock);
	return 0;
}

/* Find a root: the source's vCPU registers, then the guest kernel's. */
static int discover(xfm_handle *h, xfm_vm_root *r)
{
	int rc = -ENODATA;

	memset(r, 0, sizeof(*r));
	if (h->src->ops->vm_root) {
		rc = h->src->ops->vm_root(h->src, 0, r);
		if (rc == 0)
			return 0;
	}
	rc = xfm_vm_kernel_root(h, r);
	if (rc == 0)
		return 0;
	return xfm_fail(-ENODATA, "%s: no page-table root: none given "
			"(--root), %s, and no kernel root from VMCOREINFO",
			h->src->label, h->src->ops->vm_root ?
			"the vCPU registers gave none" :
			"the source has no vCPU registers");
}

XFM_EXPORT int xfm_find_vm_root(xfm_handle *h, unsigned int origin,
				xfm_vm_root *root, size_t size)
{
	int rc = -ENODATA;

	xfm_clear_error();
	if (!h || !root || size < sizeof(*root))
		return xfm_fail(-EINVAL, "xfm_find_vm_root: bad arguments");
	memset(root, 0, sizeof(*root));
	switch (origin) {
	case XFM_VM_ORIGIN_QMP:
	case XFM_VM_ORIGIN_XEN_VCPU:
	case XFM_VM_ORIGIN_DUMP_NOTE:
		if (h->src->ops->vm_root)
			rc = h->src->ops->vm_root(h->src, 0, root);
		/* any vCPU register source answers for "the vCPU's" */
		if (rc == 0 && root->origin == XFM_VM_ORIGIN_VMCOREINFO)
			rc = -ENODATA;
		break;
	case XFM_VM_ORIGIN_VMCOREINFO:
		rc = xfm_vm_kernel_root(h, root);
		break;
	default:
		return xfm_fail(-EINVAL, "xfm_find_vm_root: unknown origin %u",
				origin);
	}
	if (rc < 0)
		return xfm_fail(-ENODATA, "%s: no page-table root from %s",
				h->src->label,
				origin == XFM_VM_ORIGIN_VMCOREINFO ?
				"the kernel's VMCOREINFO" :
				"the source's vCPU registers");
	return 0;
}

/* The published state (acquire: the slots it names are seen). */
static uint64_t vm_state(const struct xfm_vm *vm)
{
	return atomic_load_explicit(&vm->state, memory_order_acquire);
}

/*
 * The root and the state in one consistent read, without the lock;
 * false when a writer was at work meanwhile (then ask under the lock).
 */
static bool snapshot(struct xfm_vm *vm, xfm_vm_root *r, uint64_t *st)
{
	uint64_t w[ROOT_WORDS], s1, s2;

	s1 = atomic_load_explicit(&vm->seq, memory_order_acquire);
	if (s1 & 1)
		return false;
	for (size_t i = 0; i < ROOT_WORDS; i++)
		w[i] = atomic_load_explicit(&vm->root_words[i],
					    memory_order_relaxed);
	*st = atomic_load_explicit(&vm->state, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	s2 = atomic_load_explicit(&vm->seq, memory_order_relaxed);
	if (s1 != s2)
		return false;
	memcpy(r, w, sizeof(*r));
	return true;
}

/* The current root (discovering it if needed) and the state it goes
 * with. */
static int current_root(xfm_handle *h, xfm_vm_root *r, uint64_t *st)
{
	struct xfm_vm *vm = h->vm;
	xfm_vm_root found;
	int rc;

	if (snapshot(vm, r, st) && STATE_SHIFT(*st))
		return 0;
	pthread_mutex_lock(&vm->lock);
	if (vm->have_root) {
		*r = vm->root;
		*st = state_locked(vm);
		pthread_mutex_unlock(&vm->lock);
		return 0;
	}
	pthread_mutex_unlock(&vm->lock);
	rc = discover(h, &found);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&vm->lock);
	if (!vm->have_root) {
		vm->given = false;
		install_locked(vm, &found);
	}
	*r = vm->root;
	*st = state_locked(vm);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

XFM_EXPORT int xfm_get_vm_root(xfm_handle *h, xfm_vm_root *root, size_t size)
{
	uint64_t st;

	xfm_clear_error();
	if (!h || !root || size < sizeof(*root))
		return xfm_fail(-EINVAL, "xfm_get_vm_root: bad arguments");
	return current_root(h, root, &st);
}

static int read_table(void *opaque, uint64_t pa, void *buf, size_t len)
{
	return xfm_read(opaque, pa, buf, len, 0);
}

/* Xen frames are 4 KiB: machine and guest addresses share the offset. */
#define MACHINE_SHIFT 12

/* XFM_VM_MACHINE_FRAMES: the guest-physical address of machine address
 * @ma, through the source's p2m (Xen PV). */
static int machine_to_pa(xfm_handle *h, uint64_t ma, uint64_t *pa)
{
	uint64_t frame;
	int rc;

	if (!h->src->ops->machine_to_frame)
		return -ENOENT;
	rc = h->src->ops->machine_to_frame(h->src, ma >> MACHINE_SHIFT,
					   &frame);
	if (rc < 0)
		return rc;
	*pa = frame << MACHINE_SHIFT |
	      (ma & ((UINT64_C(1) << MACHINE_SHIFT) - 1));
	return 0;
}

/* A PV guest's tables are guest frames too: read through the handle's
 * windows once the machine address is turned into the guest's. */
static int read_machine(void *opaque, uint64_t ma, void *buf, size_t len)
{
	uint64_t pa;
	int rc = machine_to_pa(opaque, ma, &pa);

	return rc < 0 ? rc : xfm_read(opaque, pa, buf, len, 0);
}

/* The walk ended on a machine frame: the guest's own address.  Its
 * frames of a machine superpage need not be contiguous: 4 KiB is what
 * one translation vouches for. */
static int machine_result(xfm_handle *h, xfm_translation *t)
{
	uint64_t pa;

	if (machine_to_pa(h, t->pa, &pa) < 0)
		return xfm_vm_unmapped(t, XFM_VM_NOT_GUEST_FRAME, t->level,
				       t->entry, t->entry_addr);
	t->pa = pa;
	t->page_size = UINT64_C(1) << MACHINE_SHIFT;
	return 0;
}

/*
 * A slot's seqlock, for the translation cache and the paging-structure
 * cache alike.  Readers: begin, load the fields (relaxed), end: the
 * fields are one writer's when end says so.  Writers: claim (false: a
 * writer is at work on that slot; a cache may skip the store), store the
 * fields (relaxed), release.
 */
static uint64_t slot_begin(_Atomic uint64_t *seq)
{
	return atomic_load_explicit(seq, memory_order_acquire);
}

static bool slot_end(_Atomic uint64_t *seq, uint64_t s)
{
	atomic_thread_fence(memory_order_acquire);
	return !(s & 1) &&
	       atomic_load_explicit(seq, memory_order_relaxed) == s;
}

static bool slot_claim(_Atomic uint64_t *seq, uint64_t *s)
{
	*s = atomic_load_explicit(seq, memory_order_relaxed);
	if ((*s & 1) || !atomic_compare_exchange_strong_explicit(seq, s,
			*s + 1, memory_order_relaxed, memory_order_relaxed))
		return false;
	atomic_thread_fence(memory_order_release);
	return true;
}

static void slot_release(_Atomic uint64_t *seq, uint64_t s)
{
	atomic_store_explicit(seq, s + 2, memory_order_release);
}

#define LOAD(f)     atomic_load_explicit(&(f), memory_order_relaxed)
#define STORE(f, v) atomic_store_explicit(&(f), (v), memory_order_relaxed)

static struct tlb_slot *tlb_slot(struct xfm_vm *vm, uint64_t vpn)
{
	/* The low bits as they are: a contiguous span of pages never
	 * collides with itself. */
	return &vm->tlb[vpn & (TLB_SLOTS - 1)];
}

/* A translation cached in generation STATE_GEN(@st) (its root's). */
static bool tlb_lookup(struct xfm_vm *vm, uint64_t st, uint64_t va,
		       xfm_translation *t)
{
	uint64_t vpn = va >> STATE_SHIFT(st);
	struct tlb_slot *s = tlb_slot(vm, vpn);
	uint64_t q = slot_begin(&s->seq);
	uint64_t base, size;

	if (LOAD(s->gen) != STATE_GEN(st) || LOAD(s->vpn) != vpn)
		return false;
	base = LOAD(s->base);
	size = LOAD(s->page_size);
	t->entry = LOAD(s->entry);
	t->entry_addr = LOAD(s->entry_addr);
	t->level = (int32_t)LOAD(s->level);
	if (!slot_end(&s->seq, q))
		return false;
	t->va = va;
	t->pa = base + (va & (size - 1));
	t->page_size = size;
	t->reason = XFM_VM_MAPPED;
	return true;
}

/* Store a walk's result, tagged with the generation the walk began in:
 * if xfm_invalidate() came meanwhile, no lookup after it counts it. */
static void tlb_store(struct xfm_vm *vm, uint64_t st,
		      const xfm_translation *t)
{
	uint64_t vpn = t->va >> STATE_SHIFT(st), q;
	struct tlb_slot *s = tlb_slot(vm, vpn);

	if (!slot_claim(&s->seq, &q))
		return;
	STORE(s->gen, STATE_GEN(st));
	STORE(s->vpn, vpn);
	STORE(s->base, t->pa & ~(t->page_size - 1));
	STORE(s->page_size, t->page_size);
	STORE(s->entry, t->entry);
	STORE(s->entry_addr, t->entry_addr);
	STORE(s->level, t->level);
	slot_release(&s->seq, q);
}

static struct psc_slot *psc_slot(struct xfm_vm *vm, uint64_t key)
{
	return &vm->psc[(key ^ (key >> 12)) & (PSC_SLOTS - 1)];
}

static bool psc_lookup(struct xfm_vm *vm, uint64_t st, uint64_t key,
		       uint64_t *table, const uint64_t **ptr)
{
	struct psc_slot *ps = psc_slot(vm, key);
	uint64_t q = slot_begin(&ps->seq);

	if (LOAD(ps->gen) != STATE_GEN(st) || LOAD(ps->key) != key)
		return false;
	*table = LOAD(ps->table);
	*ptr = LOAD(ps->ptr);
	return slot_end(&ps->seq, q);
}

static void psc_store(struct xfm_vm *vm, uint64_t st, uint64_t key,
		      uint64_t table, const uint64_t *ptr)
{
	struct psc_slot *ps = psc_slot(vm, key);
	uint64_t q;

	if (!slot_claim(&ps->seq, &q))
		return;
	STORE(ps->gen, STATE_GEN(st));
	STORE(ps->key, key);
	STORE(ps->table, table);
	STORE(ps->ptr, ptr);
	slot_release(&ps->seq, q);
}

/* An x86-64 last-level table where the source keeps it in this process
 * (4 KiB, 8-byte aligned), or NULL. */
static const uint64_t *direct_table(xfm_handle *h, uint64_t st,
				    uint64_t table)
{
	const struct xfm_source *src = h->src;
	const void *p;

	if (!(st & STATE_DIRECT) ||
	    table > h->last_byte || h->last_byte - table < 4095)
		return NULL;
	p = src->ops->direct(h->src, table, 4096);
	return p && (uintptr_t)p % 8 == 0 ? p : NULL;
}

/* A walk through the paging-structure cache: resumed at the cached
 * last-level table when there is one, and that table remembered. */
static int walk_cached(xfm_handle *h, const xfm_vm_root *r, uint64_t st,
		       uint64_t va, xfm_translation *t)
{
	struct xfm_vm *vm = h->vm;
	unsigned int shift = xfm_vm_leaf_span_shift(r, va);
	struct xfm_vm_hint hint = { .use = false };
	uint64_t key = shift ? va >> shift : 0;
	const uint64_t *ptr;
	xfm_vm_read_fn rd = (r->flags & XFM_VM_MACHINE_FRAMES) ? read_machine
							      : read_table;
	int rc;

	if (shift)
		hint.use = psc_lookup(vm, st, key, &hint.start_table, &ptr);
	rc = xfm_vm_walk_hint(r, va, rd, h, t, &hint);
	if (hint.use && rc != 0) /* redo the whole walk for the reason */
		rc = xfm_vm_walk_hint(r, va, rd, h, t, NULL);
	if (rc == 0 && shift && hint.leaf_ok && !hint.use)
		psc_store(vm, st, key, hint.leaf_table,
			  direct_table(h, st, hint.leaf_table));
	return rc;
}

/*
 * The short miss path of an x86-64 root (4- or 5-level): the last-level
 * table of @va's 2 MiB is cached, so the translation is one entry read.
 * A cached table implies a canonical @va (the key holds all its bits
 * above 21).  False sends the caller to the full walk (not present,
 * unreadable, or not cached), which also gives the reason.  Where the
 * table is in this process, the entry is one load, as cheap as a
 * translation-cache slot and denser: nothing is stored then (a store is
 * an atomic read-modify-write, which would hold up the caller's next
 * loads).
 */
static bool x86_leaf(xfm_handle *h, uint64_t st, uint64_t va,
		     xfm_translation *t, bool in_place_only)
{
	uint64_t table, a, e, i = (va >> 12) & 511;
	const uint64_t *ptr;

	if (!psc_lookup(h->vm, st, va >> X86_LEAF_SPAN, &table, &ptr) ||
	    (in_place_only && !ptr))
		return false;
	a = table + i * 8;
	if (ptr)
		/* a guest may be storing it: one aligned load */
		e = __atomic_load_n(&ptr[i], __ATOMIC_RELAXED);
	else if (read_table(h, a, &e, 8) < 0)
		return false;
	if (!(e & 1))
		return false;
	t->va = va;
	t->pa = (e & X86_ADDR_MASK) | (va & 4095);
	t->page_size = 4096;
	t->level = 1;
	t->reason = XFM_VM_MAPPED;
	t->entry = e;
	t->entry_addr = a;
	if (!ptr)
		tlb_store(h->vm, st, t);
	return true;
}

/*
 * xfm_read_va()'s common case, for a read within one 4 KiB page: with
 * STATE_DIRECT, the guest-physical address from the cached last-level
 * table in this process, no more.  False: take the general path.
 */
static inline bool quick_pa(struct xfm_vm *vm, uint64_t st, uint64_t va,
			    uint64_t *pa)
{
	uint64_t key = va >> X86_LEAF_SPAN, e;
	struct psc_slot *ps = psc_slot(vm, key);
	uint64_t q = slot_begin(&ps->seq);
	const uint64_t *ptr;

	if (LOAD(ps->gen) != STATE_GEN(st) || LOAD(ps->key) != key)
		return false;
	ptr = LOAD(ps->ptr);
	if (!slot_end(&ps->seq, q) || !ptr)
		return false;
	e = __atomic_load_n(&ptr[(va >> 12) & 511], __ATOMIC_RELAXED);
	*pa = (e & X86_ADDR_MASK) | (va & 4095);
	return e & 1;
}

static const char *const reasons[] = {
	[XFM_VM_MAPPED] = "mapped",
	[XFM_VM_NOT_PRESENT] = "not present",
	[XFM_VM_OUTSIDE] = "outside the address space",
	[XFM_VM_RESERVED] = "reserved bits or descriptor",
	[XFM_VM_ADDRESS_SIZE] = "output address too large",
	[XFM_VM_WALK_DISABLED] = "walks disabled (TCR.EPDn)",
	[XFM_VM_TABLE_UNREADABLE] = "table not in the source",
	[XFM_VM_NOT_GUEST_FRAME] = "machine frame not the guest's",
};

static int translate(xfm_handle *h, uint64_t va, xfm_translation *t)
{
	uint64_t st = vm_state(h->vm);
	xfm_vm_root r;
	int rc;

	/* A table entry in this process costs what a cache slot does, and
	 * the slots of 4 KiB pages stay empty then: the entry first.  A
	 * table the source keeps elsewhere (a compressed dump, a process)
	 * is read once and its pages' translations cached. */
	if ((st & STATE_DIRECT) && x86_leaf(h, st, va, t, true))
		return 0;
	if (STATE_SHIFT(st) && (tlb_lookup(h->vm, st, va, t) ||
				((st & STATE_X86_LEAF) &&
				 x86_leaf(h, st, va, t, false))))
		return 0;
	rc = current_root(h, &r, &st);
	if (rc < 0)
		return rc;
	rc = walk_cached(h, &r, st, va, t);
	if (rc == 0 && (r.flags & XFM_VM_MACHINE_FRAMES))
		rc = machine_result(h, t);
	if (rc == 0) {
		tlb_store(h->vm, st, t);
		return 0;
	}
	if (rc == -EINVAL)
		return xfm_fail(rc, "%s: VA 0x%" PRIx64 ": bad root",
				h->src->label, va);
	return xfm_fail(-EFAULT, "%s: VA 0x%" PRIx64 " not mapped: level %d "
			"entry 0x%" PRIx64 " at 0x%" PRIx64 ": %s",
			h->src->label, va, (int)t->level, t->entry,
			t->entry_addr, reasons[t->reason]);
}

XFM_EXPORT int xfm_translate(xfm_handle *h, uint64_t va, xfm_translation *t,
			     size_t size)
{
	xfm_translation tr;
	int rc;

	xfm_clear_error();
	if (!h || !t || size < sizeof(tr))
		return xfm_fail(-EINVAL, "xfm_translate: bad arguments");
	rc = translate(h, va, &tr);
	memcpy(t, &tr, sizeof(tr));
	return rc;
}

/* Bytes from @va to the end of its mapping, at most @len. */
static uint64_t chunk(const xfm_translation *t, uint64_t len)
{
	uint64_t left = t->page_size - (t->va & (t->page_size - 1));

	return left < len ? left : len;
}

/* A page that is not mapped: its bytes up to the next small page. */
static uint64_t hole(struct xfm_vm *vm, uint64_t va, uint64_t len)
{
	unsigned int shift = STATE_SHIFT(vm_state(vm));
	/* (no root any more: a racing xfm_set_vm_root(h, NULL)) */
	uint64_t p = UINT64_C(1) << (shift ? shift : 12);
	uint64_t left = p - (va & (p - 1));

	return left < len ? left : len;
}

/* The arguments of xfm_read_va and xfm_write_va (@what): a handle, a
 * buffer for a non-empty span, and a span that does not wrap. */
static int check_va_span(xfm_handle *h, uint64_t va, const void *buf,
			 uint64_t len, const char *what)
{
	xfm_clear_error();
	if (!h || (len && !buf))
		return xfm_fail(-EINVAL, "%s: bad arguments", what);
	if (len && va + (len - 1) < va)
		return xfm_fail(-EOVERFLOW, "%s: VA 0x%" PRIx64 " + %" PRIu64
				" wraps", h->src->label, va, len);
	return 0;
}

XFM_EXPORT int xfm_read_va(xfm_handle *h, uint64_t va, void *buf,
			   uint64_t len, unsigned int flags)
{
	xfm_translation t;
	char *p = buf;
	int rc;

	/* Every small read passes here: the checks without the call. */
	if (!h || (len && !buf) || (len && va + (len - 1) < va))
		return check_va_span(h, va, buf, len, "xfm_read_va");
	if (len && len <= 4096 - (va & 4095)) {
		uint64_t st = vm_state(h->vm), pa;

		if ((st & STATE_DIRECT) && quick_pa(h->vm, st, va, &pa))
			return xfm_read(h, pa, buf, len, flags);
	}
	while (len) {
		uint64_t n;

		rc = translate(h, va, &t);
		if (rc == -EFAULT && (flags & XFM_READ_ZERO_FILL)) {
			n = hole(h->vm, va, len);
			memset(p, 0, n);
		} else if (rc < 0) {
			return rc;
		} else {
			n = chunk(&t, len);
			rc = xfm_read(h, t.pa, p, n, flags);
			if (rc < 0)
				return rc;
		}
		p += n;
		va += n;
		len -= n;
	}
	return 0;
}

XFM_EXPORT int xfm_write_va(xfm_handle *h, uint64_t va, const void *buf,
			    uint64_t len)
{
	xfm_translation t;
	const char *p = buf;
	uint64_t v, left;
	int rc;

	rc = check_va_span(h, va, buf, len, "xfm_write_va");
	if (rc < 0)
		return rc;
	/* Translate the whole span first: all or nothing. */
	for (v = va, left = len; left; ) {
		uint64_t n;

		rc = translate(h, v, &t);
		if (rc < 0)
			return rc;
		n = chunk(&t, left);
		v += n;
		left -= n;
	}
	while (len) {
		uint64_t n;

		rc = translate(h, va, &t);
		if (rc < 0)
			return rc;
		n = chunk(&t, len);
		rc = xfm_write(h, t.pa, p, n);
		if (rc < 0)
			return rc;
		p += n;
		va += n;
		len -= n;
	}
	return 0;
}
