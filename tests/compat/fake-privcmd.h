/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * fake-privcmd.h - run a function in a child process that sees its own
 * /dev (a tmpfs in a private mount namespace) with /dev/xen/privcmd made
 * of something that is not privcmd.  The host's /dev is never touched.
 */
#ifndef XFM_TEST_FAKE_PRIVCMD_H
#define XFM_TEST_FAKE_PRIVCMD_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

enum fake_kind {
	FAKE_REGULAR_FILE, /* opens, ioctls fail ENOTTY, mmap works */
	FAKE_DEV_NULL,     /* opens, ioctls fail ENOTTY, mmap ENODEV */
	FAKE_DIRECTORY,    /* open fails EISDIR */
};

/* Child side: build the private /dev; non-zero if not allowed here. */
static inline int fake_privcmd_setup(enum fake_kind kind)
{
	int fd;

	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (mount("xfm-test", "/dev", "tmpfs", 0, "mode=0755") < 0)
		return -1;
	if (mkdir("/dev/xen", 0755) < 0)
		return -1;
	switch (kind) {
	case FAKE_REGULAR_FILE:
		fd = open("/dev/xen/privcmd", O_CREAT | O_RDWR, 0600);
		return fd < 0 ? -1 : close(fd);
	case FAKE_DEV_NULL:
		return mknod("/dev/xen/privcmd", S_IFCHR | 0666, makedev(1, 3));
	case FAKE_DIRECTORY:
		return mkdir("/dev/xen/privcmd", 0755);
	}
	return -1;
}

/*
 * Run @fn(@arg) in a child under the fake /dev.  Returns the child's exit
 * status: @fn's return value, 77 when namespaces are not allowed (not
 * root, or in a container without CAP_SYS_ADMIN), 99 when it crashed.
 */
static inline int fake_privcmd_run(enum fake_kind kind, int (*fn)(void *),
				   void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 99;
	if (pid == 0) {
		if (fake_privcmd_setup(kind) < 0) {
			fprintf(stderr, "# fake privcmd: %s\n",
				strerror(errno));
			_exit(77);
		}
		status = fn(arg);
		fflush(NULL);
		_exit(status);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 99;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

#endif /* XFM_TEST_FAKE_PRIVCMD_H */
