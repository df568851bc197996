/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * aspace.c - a handle's guest-virtual address space: its root, the
 * translation cache, and reads and writes by virtual address.
 *
 * The cache is direct-mapped, keyed by the smallest page the root can
 * map; a large page fills one slot per small page touched.  Walks run
 * without the lock (their table reads take the handle's own lock); a
 * walk's result is stored only if no invalidation happened meanwhile
 * (the generation counter), so a stale translation never outlives
 * xfm_invalidate().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"
#include "walk.h"

/* 32768 slots: 128 MiB of 4 KiB pages, 1.5 MiB per handle (allocated
 * on first use of the pages, by the kernel). */
#define TLB_SLOTS 32768

struct tlb_slot {
	uint64_t vpn;       /* va >> min_shift, plus one (0: empty) */
	uint64_t base;      /* guest-physical start of the mapping */
	uint64_t page_size;
	uint64_t entry, entry_addr;
	int32_t level;
};

/* Paging-structure cache: the last-level table of a VA span (2 MiB on
 * x86-64), so that a translation-cache miss reads one entry, not four. */
#define PSC_SLOTS 4096

struct psc_slot {
	uint64_t key;       /* (va >> span shift) + 1 (0: empty) */
	uint64_t table;
};

struct xfm_vm {
	pthread_mutex_t lock;
	bool have_root;
	bool given;          /* by xfm_set_vm_root: kept over invalidation */
	xfm_vm_root root;
	unsigned int min_shift;
	uint64_t gen;
	struct tlb_slot tlb[TLB_SLOTS];
	struct psc_slot psc[PSC_SLOTS];
};

int xfm_vm_new(xfm_handle *h)
{
	struct xfm_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return xfm_fail(-ENOMEM, "%s: out of memory", h->src->label);
	pthread_mutex_init(&vm->lock, NULL);
	h->vm = vm;
	return 0;
}

void xfm_vm_free(xfm_handle *h)
{
	if (!h->vm)
		return;
	pthread_mutex_destroy(&h->vm->lock);
	free(h->vm);
	h->vm = NULL;
}

/* Called with vm->lock held. */
static void flush_locked(struct xfm_vm *vm)
{
	memset(vm->tlb, 0, sizeof(vm->tlb));
	memset(vm->psc, 0, sizeof(vm->psc));
	vm->gen++;
}

void xfm_vm_flush(xfm_handle *h, bool forget_found_root)
{
	struct xfm_vm *vm = h->vm;

	if (!vm)
		return;
	pthread_mutex_lock(&vm->lock);
	flush_locked(vm);
	/* A root read from live registers may have changed; one the
	 * caller gave has not. */
	if (forget_found_root && vm->have_root && !vm->given)
		vm->have_root = false;
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
	if (root)
		install_locked(h->vm, &r);
	else {
		h->vm->have_root = false;
		flush_locked(h->vm);
	}
	h->vm->given = root != NULL;
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

/* The current root (discovering it if needed) and its generation. */
static int current_root(xfm_handle *h, xfm_vm_root *r, uint64_t *gen)
{
	struct xfm_vm *vm = h->vm;
	xfm_vm_root found;
	int rc;

	pthread_mutex_lock(&vm->lock);
	if (vm->have_root) {
		*r = vm->root;
		*gen = vm->gen;
		pthread_mutex_unlock(&vm->lock);
		return 0;
	}
	pthread_mutex_unlock(&vm->lock);
	rc = discover(h, &found);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&vm->lock);
	if (!vm->have_root) {
		install_locked(vm, &found);
		vm->given = false;
	}
	*r = vm->root;
	*gen = vm->gen;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

XFM_EXPORT int xfm_get_vm_root(xfm_handle *h, xfm_vm_root *root, size_t size)
{
	uint64_t gen;

	xfm_clear_error();
	if (!h || !root || size < sizeof(*root))
		return xfm_fail(-EINVAL, "xfm_get_vm_root: bad arguments");
	return current_root(h, root, &gen);
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

static size_t slot_of(uint64_t vpn)
{
	/* The low bits as they are: a contiguous span of pages never
	 * collides with itself. */
	return (size_t)(vpn & (TLB_SLOTS - 1));
}

static bool tlb_lookup(struct xfm_vm *vm, uint64_t va, xfm_translation *t)
{
	uint64_t vpn = (va >> vm->min_shift) + 1;
	struct tlb_slot *s;
	bool hit = false;

	pthread_mutex_lock(&vm->lock);
	s = &vm->tlb[slot_of(vpn)];
	if (vm->have_root && s->vpn == vpn) {
		memset(t, 0, sizeof(*t));
		t->va = va;
		t->pa = s->base + (va & (s->page_size - 1));
		t->page_size = s->page_size;
		t->level = s->level;
		t->entry = s->entry;
		t->entry_addr = s->entry_addr;
		hit = true;
	}
	pthread_mutex_unlock(&vm->lock);
	return hit;
}

static void tlb_store(struct xfm_vm *vm, uint64_t gen,
		      const xfm_translation *t)
{
	uint64_t vpn;
	struct tlb_slot *s;

	pthread_mutex_lock(&vm->lock);
	if (gen == vm->gen) {
		vpn = (t->va >> vm->min_shift) + 1;
		s = &vm->tlb[slot_of(vpn)];
		s->vpn = vpn;
		s->base = t->pa & ~(t->page_size - 1);
		s->page_size = t->page_size;
		s->level = t->level;
		s->entry = t->entry;
		s->entry_addr = t->entry_addr;
	}
	pthread_mutex_unlock(&vm->lock);
}

static struct psc_slot *psc_slot(struct xfm_vm *vm, uint64_t key)
{
	return &vm->psc[(key ^ (key >> 12)) & (PSC_SLOTS - 1)];
}

/* A walk through the paging-structure cache: resumed at the cached
 * last-level table when there is one, and that table remembered. */
static int walk_cached(xfm_handle *h, const xfm_vm_root *r, uint64_t gen,
		       uint64_t va, xfm_translation *t)
{
	struct xfm_vm *vm = h->vm;
	unsigned int shift = xfm_vm_leaf_span_shift(r, va);
	struct xfm_vm_hint hint = { .use = false };
	uint64_t key = shift ? (va >> shift) + 1 : 0;
	xfm_vm_read_fn rd = (r->flags & XFM_VM_MACHINE_FRAMES) ? read_machine
							      : read_table;
	struct psc_slot *ps;
	int rc;

	if (key) {
		pthread_mutex_lock(&vm->lock);
		ps = psc_slot(vm, key);
		if (ps->key == key && gen == vm->gen) {
			hint.use = true;
			hint.start_table = ps->table;
		}
		pthread_mutex_unlock(&vm->lock);
	}
	rc = xfm_vm_walk_hint(r, va, rd, h, t, &hint);
	if (hint.use && rc != 0) /* redo the whole walk for the reason */
		rc = xfm_vm_walk_hint(r, va, rd, h, t, NULL);
	if (rc == 0 && key && hint.leaf_ok && !hint.use) {
		pthread_mutex_lock(&vm->lock);
		if (gen == vm->gen) {
			ps = psc_slot(vm, key);
			ps->key = key;
			ps->table = hint.leaf_table;
		}
		pthread_mutex_unlock(&vm->lock);
	}
	return rc;
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
	xfm_vm_root r;
	uint64_t gen;
	int rc;

	if (tlb_lookup(h->vm, va, t))
		return 0;
	rc = current_root(h, &r, &gen);
	if (rc < 0)
		return rc;
	rc = walk_cached(h, &r, gen, va, t);
	if (rc == 0 && (r.flags & XFM_VM_MACHINE_FRAMES))
		rc = machine_result(h, t);
	if (rc == 0) {
		tlb_store(h->vm, gen, t);
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
	uint64_t p = UINT64_C(1) << vm->min_shift;
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

	rc = check_va_span(h, va, buf, len, "xfm_read_va");
	if (rc < 0)
		return rc;
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
