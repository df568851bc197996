/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * toolcore.h - our declaration of libxentoolcore's handle registry.
 *
 * xentoolcore_restrict_all(domid) walks every registered handle of every
 * Xen library in the process and calls its restrict callback, so a
 * device model can drop privileges in one call.  The two registration
 * functions are exported by libxentoolcore.so.1 (VERS_1.0), but the header
 * that declares them and the handle layout is internal to Xen's tree and
 * not installed by Debian's libxen-dev.  So the layout is declared here
 * from the facts: a restrict callback pointer, followed by a list entry
 * of two pointers (next, and address of the previous element's next)
 * that libxentoolcore owns.  We only fill the callback.
 */
#ifndef XFM_COMPAT_TOOLCORE_H
#define XFM_COMPAT_TOOLCORE_H

#include <xen/xen.h>

struct xfm_tc_handle;

typedef int xfm_tc_restrict_fn(struct xfm_tc_handle *ah, domid_t domid);

struct xfm_tc_handle {
	xfm_tc_restrict_fn *restrict_callback;
	struct {
		struct xfm_tc_handle *next;
		struct xfm_tc_handle **prev;
	} entry;
};

void xentoolcore__register_active_handle(struct xfm_tc_handle *ah);
void xentoolcore__deregister_active_handle(struct xfm_tc_handle *ah);

#endif /* XFM_COMPAT_TOOLCORE_H */
