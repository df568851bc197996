/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * qemu-ram-fd.c - the file behind a QEMU guest's RAM block, taken from
 * the QEMU process itself: when QEMU maps its RAM shared from a file
 * descriptor (memory-backend-memfd, the default of many libvirt guests;
 * a -file or hugetlbfs backend with share=on, also one whose mem-path is
 * a directory, where QEMU made an unlinked file only it can reach), that
 * descriptor is reopened through /proc/PID/fd/N and mapped here, and the
 * guest's RAM is read as a shared RAM file is: plain loads, no system
 * call per read.  Reopening needs ptrace permission over QEMU, the same
 * as process_vm_readv.  Anonymous or private RAM has no such file: it is
 * read by process_vm_readv (qemu-process.c).
 *
 * The block is found in /proc/PID/maps at the host address QMP gave
 * (gpa2hva), possibly split over several adjacent lines of the same file
 * (madvise splits a mapping); the descriptor is the one of QEMU's whose
 * file has that device and inode.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "qemu-process.h"

#define HUGETLBFS_MAGIC 0x958458f6

/* What /proc/PID/maps says of the mapping that holds a block. */
struct ram_map {
	dev_t dev;
	uint64_t ino;
	uint64_t off;     /* file offset of the block's first byte */
	bool memfd;       /* its path is "/memfd:..." */
};

/* One maps line; false if it does not parse. */
static bool parse_line(const char *line, uint64_t *start, uint64_t *end,
		       char perms[5], uint64_t *off, dev_t *dev, uint64_t *ino,
		       const char **path)
{
	unsigned int maj, min;
	int pos = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %"
		   SCNu64 " %n", start, end, perms, off, &maj, &min, ino,
		   &pos) < 7 || !pos)
		return false;
	*dev = makedev(maj, min);
	*path = line + pos;
	return true;
}

/*
 * Find [hva, hva + len) in @pid's maps: 0 with *m filled when it all lies
 * in shared mappings of one file, contiguous in the file; -ENOENT when it
 * is anonymous or private; -errno when the maps cannot be read.
 */
static int find_map(pid_t pid, uint64_t hva, uint64_t len,
		    struct ram_map *m)
{
	uint64_t want = hva, last = hva + len, first_start = 0, first_off = 0;
	char name[64], *line = NULL;
	size_t cap = 0;
	bool found = false;
	int rc = -ENOENT;
	FILE *f;

	snprintf(name, sizeof(name), "/proc/%d/maps", (int)pid);
	f = fopen(name, "re");
	if (!f)
		return -errno;
	while (want < last && getline(&line, &cap, f) > 0) {
		uint64_t start, end, off, ino;
		const char *path;
		char perms[5];
		dev_t dev;

		if (!parse_line(line, &start, &end, perms, &off, &dev, &ino,
				&path) || end <= want)
			continue;
		if (start > want || perms[3] != 's' || !ino)
			break; /* a gap, private or anonymous */
		if (!found) {
			*m = (struct ram_map){ .dev = dev, .ino = ino,
					       .off = off + (want - start),
					       .memfd = !strncmp(path, "/memfd:",
								 7) };
			first_start = start;
			first_off = off;
			found = true;
		} else if (dev != m->dev || ino != m->ino ||
			   off != first_off + (start - first_start)) {
			break;
		}
		want = end;
	}
	if (found && want >= last)
		rc = 0;
	free(line);
	fclose(f);
	return rc;
}

/* Open QEMU's descriptor of the file @m names, read-only; -ENOENT if
 * QEMU holds none. */
static int open_fd_of(pid_t pid, const struct ram_map *m, int *fdnum)
{
	char dir[64], path[384];
	struct dirent *e;
	struct stat st;
	int fd = -ENOENT;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while (fd == -ENOENT && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_dev != m->dev || st.st_ino != m->ino)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fd = -errno;
			break;
		}
		/* the same file still (QEMU may have closed and reused N) */
		if (fstat(fd, &st) < 0 || st.st_dev != m->dev ||
		    st.st_ino != m->ino) {
			close(fd);
			fd = -ENOENT;
			continue;
		}
		*fdnum = atoi(e->d_name);
	}
	closedir(d);
	return fd;
}

int xfm_qemu_ram_fd(pid_t pid, uint64_t hva, uint64_t len,
		    struct xfm_qemu_ram_fd *out)
{
	struct ram_map m = { .off = 0 };
	struct statfs sfs;
	struct stat st;
	int fd, rc;

	rc = find_map(pid, hva, len, &m);
	if (rc < 0)
		return rc;
	fd = open_fd_of(pid, &m, &out->fdnum);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < m.off ||
	    (uint64_t)st.st_size - m.off < len) {
		close(fd);
		return -ENOENT;
	}
	out->fd = fd;
	out->off = m.off;
	out->kind = m.memfd ? "memfd" : fstatfs(fd, &sfs) == 0 &&
		    /* f_type is an int on 32-bit hosts: compare as unsigned */
		    (unsigned long)sfs.f_type == HUGETLBFS_MAGIC ? "hugetlbfs" :
		    "file";
	return 0;
}
