/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * walk.h - page-table walkers, independent of any source: they read
 * table entries through a callback, so tests can give them tables built
 * in a buffer and the library gives them the guest's memory.
 */
#ifndef XFM_VM_WALK_H
#define XFM_VM_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfm.h"

/*
 * Read @len (4 or 8) bytes of guest-physical memory at @pa into @buf.
 * Returns 0 or a negative errno (-ENOENT: not in the source).
 */
typedef int (*xfm_vm_read_fn)(void *opaque, uint64_t pa, void *buf,
			      size_t len);

/*
 * Translate @va under @root.  Fills *t (va, pa, page_size when mapped;
 * level, entry, entry_addr of the last entry read; reason).  Returns 0
 * when mapped, -EFAULT when not (t->reason says why), -EINVAL for a root
 * it does not understand, or the read callback's error when a table could
 * not be read (t->reason XFM_VM_TABLE_UNREADABLE).
 */
int xfm_vm_walk(const xfm_vm_root *root, uint64_t va, xfm_vm_read_fn rd,
		void *opaque, xfm_translation *t);

/*
 * A paging-structure cache's view of one walk (x86-64 and arm64): the
 * last-level table holding @va's entry.  In: @use with @start_table
 * resumes the walk at that table (the levels above are taken as read
 * before).  Out: @leaf_table and @leaf_ok when the walk ended in a
 * last-level table (a 4 KiB page, or an arm64 granule page).
 */
struct xfm_vm_hint {
	bool use;
	uint64_t start_table;
	bool leaf_ok;
	uint64_t leaf_table;
};

/* As xfm_vm_walk, with a hint (may be NULL). */
int xfm_vm_walk_hint(const xfm_vm_root *root, uint64_t va, xfm_vm_read_fn rd,
		     void *opaque, xfm_translation *t, struct xfm_vm_hint *hint);
/* log2 of the VA span one last-level table maps for @va, or 0 when the
 * mode has no hint support (32-bit, PAE). */
unsigned int xfm_vm_leaf_span_shift(const xfm_vm_root *root, uint64_t va);

int xfm_vm_walk_x86(const xfm_vm_root *root, uint64_t va, xfm_vm_read_fn rd,
		    void *opaque, xfm_translation *t,
		    struct xfm_vm_hint *hint);
int xfm_vm_walk_arm64(const xfm_vm_root *root, uint64_t va,
		      xfm_vm_read_fn rd, void *opaque, xfm_translation *t,
		      struct xfm_vm_hint *hint);

/* Smallest page the root's mode can map (the translation cache's unit). */
uint64_t xfm_vm_min_page(const xfm_vm_root *root);

/* Fail a walk: record where and why, return -EFAULT. */
static inline int xfm_vm_unmapped(xfm_translation *t, uint32_t reason,
				  int level, uint64_t entry,
				  uint64_t entry_addr)
{
	t->reason = reason;
	t->level = level;
	t->entry = entry;
	t->entry_addr = entry_addr;
	t->pa = 0;
	t->page_size = 0;
	return -14; /* -EFAULT */
}

#endif
