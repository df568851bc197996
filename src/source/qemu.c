/* SPDX-License-Identifier: LGPL-2.1-only */
/* qemu.c - placeholder until the live QEMU source lands (issue 5). */
#include <errno.h>

#include "private.h"

int xfm_qemu_open(const char *sock, unsigned int flags,
		  struct xfm_source **out)
{
	(void)flags;
	(void)out;
	return xfm_fail(-EOPNOTSUPP, "qemu:%s: live QEMU source not built",
			sock);
}
