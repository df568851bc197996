/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * linux.h - Linux guest awareness inside libxfm: the guest kernel's
 * VMCOREINFO, found once per handle (in the dump's metadata, else by
 * checking the start of every guest page for the kernel's note).
 */
#ifndef XFM_OS_LINUX_H
#define XFM_OS_LINUX_H

#include "private.h"

/* The note the kernel keeps: "VMCOREINFO" name, type 0, text descriptor. */
#define XFM_VMCOREINFO_NAME "VMCOREINFO"
/* Largest text accepted: the kernel's buffer is one page (64 KiB max). */
#define XFM_VMCOREINFO_MAX 65536

/* What discovery found; owned by the handle (h->os). */
struct xfm_os {
	bool tried;
	int err;          /* 0 found, -ENOENT none, other: failed */
	char *text;       /* NUL-terminated VMCOREINFO text */
	size_t len;       /* strlen(text) */
	uint64_t paddr;   /* guest-physical address of the note header;
			   * UINT64_MAX when taken from the dump's metadata */
	uint64_t scanned; /* page starts checked */
};

/*
 * Run discovery if not done yet and return its result: 0 with *os set
 * (valid for the handle's life), or -ENOENT when no Linux kernel was
 * found (message set).  Thread-safe (h->os_lock).
 */
int xfm_linux_find(xfm_handle *h, const struct xfm_os **os);

/*
 * Look @key up in VMCOREINFO @text: the value after "KEY=" on its line,
 * not NUL-terminated (*vlen bytes).  -ENOENT when absent.
 */
int xfm_vmcoreinfo_lookup(const char *text, size_t len, const char *key,
			  const char **val, size_t *vlen);
/*
 * Parse a VMCOREINFO value as the kernel prints it: hex for SYMBOL(),
 * ADDRESS(), KERNELOFFSET and any "0x" value, else decimal (NUMBER() may
 * be negative: two's complement).  -EINVAL when not a number.
 */
int xfm_vmcoreinfo_parse(const char *key, const char *val, size_t vlen,
			 uint64_t *out);
/* Is @p (@len bytes) a VMCOREINFO text (validated, see linux.c)? */
bool xfm_vmcoreinfo_valid(const char *p, size_t len);

/*
 * The kernel image's own mapping, from VMCOREINFO: guest-physical
 * [pa, pa + size) is mapped at virtual va.  Dumps carry it as extra
 * PT_LOADs (as /proc/vmcore does), because readers such as drgn find the
 * page tables through kernel symbols, i.e. through this mapping.
 * x86_64: va = __START_KERNEL_map, pa = NUMBER(phys_base), size
 * NUMBER(KERNEL_IMAGE_SIZE); arm64: va - pa = NUMBER(kimage_voffset),
 * from _stext's 2 MiB block, 128 MiB.  false when VMCOREINFO says
 * neither.
 */
struct xfm_image_map {
	uint64_t pa, va, size;
};
bool xfm_linux_image_map(const char *text, size_t len,
			 struct xfm_image_map *m);

#endif /* XFM_OS_LINUX_H */
