/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * qemu.c - a live QEMU guest whose RAM is a shared file
 * (-object memory-backend-file,...,share=on).  At open we ask QEMU, over
 * its QMP socket, which backends exist (query-memdev), where their files
 * are (qom-get mem-path) and where each piece of them sits in guest-
 * physical space ("info mtree -f": PC machines split RAM around the PCI
 * hole at a machine-dependent point, so nothing is guessed).  Then the
 * QMP connection is closed (QEMU serves one client at a time) and guest
 * memory is the backing files themselves: mmap'd MAP_SHARED, so reads see
 * the guest's writes and our writes reach the guest at once.
 *
 * Guests with no such file named in their backends (plain -m, memfd,
 * share=off) are read through the QEMU process: each RAM region's host
 * address comes from gpa2hva; where QEMU maps the region shared from a
 * descriptor (memfd, a shared file it holds), that file is reopened
 * through /proc/PID/fd and read as a RAM file is (qemu-ram-fd.c), else
 * the bytes are copied by process_vm_readv (qemu-process.c).  The fact
 * qemu.ram_access says which: "mem-path", "memfd", "hugetlbfs", "file"
 * or "process_vm_readv".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "json.h"
#include "segments.h"
#include "qemu-process.h"

#define FRAME        UINT64_C(4096)
#define QMP_TIMEOUT  10000              /* ms to wait for a reply */
#define QMP_MAX_LINE (UINT64_C(16) << 20)
#define HINT "start QEMU with -object memory-backend-file,id=ID,size=SIZE," \
	     "mem-path=FILE,share=on -machine memory-backend=ID"

struct qemu_backend {
	char *id;
	char *path;
	uint64_t size;
	bool share;
	bool used;
	int fd;
};

struct xfm_qemu {
	struct xfm_source base;
	char *sock;          /* QMP socket, reopened for vCPU registers */
	struct qemu_backend *be;
	size_t nbe;
	/* Guest RAM: each segment is part of a backend's file (tag: the
	 * backend; fd filled in once the backends are open). */
	struct xfm_segs segs;
	size_t nreg;             /* regions of the flat view we use */
	/* No RAM is a shared file: read through the QEMU process; the
	 * segments' off is then QEMU's host virtual address. */
	bool process;
	bool force_process;  /* a backend exists but is no shared file */
	pid_t pid;
	/* process: every region's file reopened from QEMU's descriptors;
	 * the segments then hold our fds (in fds[]) and file offsets */
	bool ram_fd;
	int *fds;
	size_t nfds;
};

struct qmp {
	int fd;
	const char *label;
	char *buf;
	size_t len, cap;
};

static struct xfm_qemu *to_qemu(struct xfm_source *s)
{
	return (struct xfm_qemu *)s;
}

/* ------------------------------------------------------------------ */
/* QMP: one JSON object per line                                       */

static int qmp_connect(struct qmp *q, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return xfm_fail(-ENAMETOOLONG, "%s: socket path too long",
				q->label);
	strcpy(sa.sun_path, path);
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0)
		return xfm_fail(-errno, "%s: socket: %s", q->label,
				strerror(errno));
	if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	if (errno == ENOENT)
		return xfm_fail(-ENOENT, "%s: no such socket (is QEMU running "
				"with -qmp unix:%s,server=on,wait=off?)",
				q->label, path);
	if (errno == ECONNREFUSED || errno == ENOTSOCK)
		return xfm_fail(-errno, "%s: nothing listening on it (%s): not "
				"a live QMP socket", q->label, strerror(errno));
	return xfm_fail(-errno, "%s: connect: %s", q->label, strerror(errno));
}

/* Read one line into q->buf (NUL-terminated), waiting at most the timeout. */
static int qmp_line(struct qmp *q, size_t *linelen)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
		struct pollfd pfd = { q->fd, POLLIN, 0 };
		ssize_t n;

		if (nl) {
			*nl = '\0';
			*linelen = (size_t)(nl - q->buf);
			return 0;
		}
		if (q->len + 4096 + 1 > q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 65536;
			char *b;

			if (cap > QMP_MAX_LINE)
				return xfm_fail(-EPROTO, "%s: QMP reply longer "
						"than %llu bytes", q->label,
						(unsigned long long)QMP_MAX_LINE);
			b = realloc(q->buf, cap);
			if (!b)
				return xfm_fail(-ENOMEM, "%s: out of memory",
						q->label);
			q->buf = b;
			q->cap = cap;
		}
		n = poll(&pfd, 1, QMP_TIMEOUT);
		if (n == 0)
			return xfm_fail(-ETIMEDOUT, "%s: no answer from QEMU in "
					"%d s: not a QMP socket, or QEMU is busy "
					"with another client", q->label,
					QMP_TIMEOUT / 1000);
		if (n > 0)
			n = recv(q->fd, q->buf + q->len, q->cap - q->len - 1,
				 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return xfm_fail(n < 0 ? -errno : -EPROTO, "%s: QMP "
					"connection closed: %s", q->label,
					n < 0 ? strerror(errno) : "end of file");
		q->len += (size_t)n;
	}
}

/* Drop the line returned by qmp_line() from the buffer. */
static void qmp_consume(struct qmp *q, size_t linelen)
{
	memmove(q->buf, q->buf + linelen + 1, q->len - linelen - 1);
	q->len -= linelen + 1;
}

/* The next message that is not an asynchronous event. */
static int qmp_message(struct qmp *q, struct xfm_json **out)
{
	for (;;) {
		size_t n = 0;
		int rc = qmp_line(q, &n);

		if (rc < 0)
			return rc;
		rc = xfm_json_parse(q->buf, n, out);
		qmp_consume(q, n);
		if (rc < 0)
			return xfm_fail(-EPROTO, "%s: not QMP: a reply is not "
					"JSON", q->label);
		if (!xfm_json_get(*out, "event"))
			return 0;
		xfm_json_free(*out);
	}
}

/* Run @cmd (a JSON object, one line); *ret gets the "return" member of
 * the reply, inside *reply (to free). */
static int qmp_exec(struct qmp *q, const char *what, const char *cmd,
		    struct xfm_json **reply, const struct xfm_json **ret)
{
	size_t len = strlen(cmd);
	const char *desc;
	int rc;

	if (send(q->fd, cmd, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    send(q->fd, "\n", 1, MSG_NOSIGNAL) != 1)
		return xfm_fail(-EPIPE, "%s: sending %s: %s", q->label, what,
				strerror(errno));
	rc = qmp_message(q, reply);
	if (rc < 0)
		return rc;
	*ret = xfm_json_get(*reply, "return");
	if (*ret)
		return 0;
	desc = xfm_json_str(xfm_json_get(*reply, "error"), "desc");
	rc = xfm_fail(-EIO, "%s: QEMU refused %s: %s", q->label, what,
		      desc ? desc : "(no reason given)");
	xfm_json_free(*reply);
	*reply = NULL;
	return rc;
}

static int qmp_open(struct qmp *q, struct xfm_source *s, const char *path)
{
	struct xfm_json *greet = NULL, *reply = NULL;
	const struct xfm_json *v, *ret;
	int rc;

	rc = qmp_connect(q, path);
	if (rc < 0)
		return rc;
	rc = qmp_message(q, &greet);
	if (rc < 0)
		return rc;
	v = xfm_json_get(xfm_json_get(xfm_json_get(greet, "QMP"), "version"),
			 "qemu");
	if (!xfm_json_get(greet, "QMP")) {
		xfm_json_free(greet);
		return xfm_fail(-EPROTO, "%s: not QMP: no greeting", q->label);
	}
	if (s && v && xfm_json_get(v, "major") && xfm_json_get(v, "minor") &&
	    xfm_json_get(v, "micro"))
		xfm_source_add_info(s, "qemu.version", "%llu.%llu.%llu",
				    (unsigned long long)xfm_json_get(v,
						"major")->uint,
				    (unsigned long long)xfm_json_get(v,
						"minor")->uint,
				    (unsigned long long)xfm_json_get(v,
						"micro")->uint);
	xfm_json_free(greet);
	rc = qmp_exec(q, "qmp_capabilities", "{\"execute\":"
		      "\"qmp_capabilities\"}", &reply, &ret);
	xfm_json_free(reply);
	return rc;
}

static void qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
}

/* ------------------------------------------------------------------ */
/* The memory layout                                                   */

static int add_backend(struct xfm_qemu *qm, const struct xfm_json *m)
{
	const struct xfm_json *size = xfm_json_get(m, "size");
	const struct xfm_json *share = xfm_json_get(m, "share");
	const char *id = xfm_json_str(m, "id");
	struct qemu_backend *b;

	if (!id || !size || !size->is_uint)
		return 0; /* a memdev we cannot use: ignore it */
	b = &qm->be[qm->nbe];
	b->id = strdup(id);
	if (!b->id)
		return -ENOMEM;
	b->size = size->uint;
	b->share = share && share->type == XFM_JSON_BOOL && share->boolean;
	b->fd = -1;
	qm->nbe++;
	return 0;
}

static int query_memdev(struct xfm_qemu *qm, struct qmp *q)
{
	struct xfm_json *reply = NULL;
	const struct xfm_json *ret, *m;
	size_t n = 0;
	int rc;

	rc = qmp_exec(q, "query-memdev", "{\"execute\":\"query-memdev\"}",
		      &reply, &ret);
	if (rc < 0)
		return rc;
	for (m = ret->child; m; m = m->next)
		n++;
	qm->be = calloc(n ? n : 1, sizeof(*qm->be));
	rc = qm->be ? 0 : -ENOMEM;
	for (m = ret->child; rc == 0 && m; m = m->next)
		rc = add_backend(qm, m);
	xfm_json_free(reply);
	if (rc == 0 && !qm->nbe)
		rc = xfm_fail(-EOPNOTSUPP, "%s: QEMU has no memory backend "
			      "objects: %s", qm->base.label, HINT);
	return rc;
}

static int add_region(struct xfm_qemu *qm, uint64_t start, uint64_t last,
		      uint64_t off, size_t be)
{
	/* Whole frames only: a partial frame cannot be mapped. */
	uint64_t s = (start + FRAME - 1) / FRAME * FRAME;
	uint64_t e = last == UINT64_MAX ? UINT64_MAX / FRAME * FRAME
					: (last + 1) / FRAME * FRAME;
	struct xfm_seg seg = { .fd = -1, .tag = (uint32_t)be };
	int rc;

	if (s >= e || off > UINT64_MAX - (s - start))
		return 0;
	seg.addr = s;
	seg.len = e - s;
	seg.off = off + (s - start);
	rc = xfm_segs_add(&qm->segs, &seg);
	if (rc < 0)
		return rc;
	qm->nreg++;
	if (be != SIZE_MAX)
		qm->be[be].used = true;
	return 0;
}

/*
 * One line of a flat view:
 *   "  0000000000100000-0000000003ffffff (prio 0, ram): ram0 @0000000000100000"
 * Only regions named after a memory backend are guest RAM we can reach.
 */
static int parse_mtree_line(struct xfm_qemu *qm, const char *line)
{
	unsigned long long start, last, off = 0;
	char name[128];
	const char *p = strstr(line, "): ");
	int consumed = 0;

	if (sscanf(line, " %llx-%llx (prio", &start, &last) != 2 || !p ||
	    last < start)
		return 0;
	if (sscanf(p + 3, "%127s%n", name, &consumed) != 1)
		return 0;
	p += 3 + consumed;
	if (p[0] == ' ' && p[1] == '@')
		off = strtoull(p + 2, NULL, 16);
	if (qm->process) /* every RAM region; QEMU's address comes later */
		return strstr(line, ", ram): ") ? add_region(qm, start, last,
							   0, SIZE_MAX) : 0;
	for (size_t i = 0; i < qm->nbe; i++)
		if (strcmp(qm->be[i].id, name) == 0)
			return add_region(qm, start, last, off, i);
	return 0;
}

/* Walk the flat view of the "memory" address space (the CPU's view). */
static int parse_mtree(struct xfm_qemu *qm, const char *text)
{
	bool in_system = false;
	const char *line = text;
	int rc;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[512];

		snprintf(buf, sizeof(buf), "%.*s", (int)(len < 511 ? len : 511),
			 line);
		if (strncmp(buf, "FlatView", 8) == 0)
			in_system = false;
		else if (strstr(buf, " AS \"memory\","))
			in_system = true;
		else if (in_system && (rc = parse_mtree_line(qm, buf)) < 0)
			return rc;
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* QEMU's host address of guest-physical @gpa (HMP gpa2hva). */
static int gpa2hva(struct xfm_qemu *qm, struct qmp *q, uint64_t gpa,
		   uint64_t *hva)
{
	struct xfm_json *reply = NULL;
	const struct xfm_json *ret;
	const char *p;
	char cmd[160];
	int rc;

	snprintf(cmd, sizeof(cmd), "{\"execute\":\"human-monitor-command\","
		 "\"arguments\":{\"command-line\":\"gpa2hva 0x%llx\"}}",
		 (unsigned long long)gpa);
	rc = qmp_exec(q, "gpa2hva", cmd, &reply, &ret);
	if (rc < 0)
		return rc;
	/* "Host virtual address for 0x0 (pc.ram) is 0x7f12c0000000" */
	p = ret->type == XFM_JSON_STRING ? strstr(ret->str, " is 0x") : NULL;
	if (p)
		*hva = strtoull(p + 4, NULL, 16);
	else
		rc = xfm_fail(-EPROTO, "%s: gpa2hva 0x%llx: %s", qm->base.label,
			      (unsigned long long)gpa,
			      ret->type == XFM_JSON_STRING ? ret->str : "?");
	xfm_json_free(reply);
	return rc;
}

static void close_fds(struct xfm_qemu *qm)
{
	for (size_t i = 0; i < qm->nfds; i++)
		close(qm->fds[i]);
	free(qm->fds);
	qm->fds = NULL;
	qm->nfds = 0;
}

/* A region's file mapped for reads beside the process path (@rf's
 * file, at its offset): the segment keeps QEMU's address in off, gets
 * our descriptor and the mapping; false if it cannot be mapped. */
static bool map_beside(struct xfm_seg *sg, const struct xfm_qemu_ram_fd *rf)
{
	uint64_t kp = xfm_pagesz_of(1).kpage;
	void *p;

	/* xfm_segs_free() unmaps from off's page: both must line up */
	if (sg->off % kp || rf->off % kp || sg->len > SIZE_MAX)
		return false;
	p = mmap(NULL, (size_t)sg->len, PROT_READ, MAP_SHARED, rf->fd,
		 (off_t)rf->off);
	if (p == MAP_FAILED)
		return false;
	sg->fd = rf->fd;
	sg->path = rf->kind;
	atomic_store(&sg->map, (const uint8_t *)p);
	return true;
}

/* Add @kind to the "+"-joined list @kinds (once). */
static void add_kind(char *kinds, size_t size, const char *kind)
{
	size_t n = strlen(kinds);

	if (!strstr(kinds, kind))
		snprintf(kinds + n, size - n, "%s%s", n ? "+" : "", kind);
}

/*
 * The RAM regions (segments: off is QEMU's address) that QEMU maps
 * shared from a file it holds: read those files instead of the process.
 * Every region so (qm->ram_fd): the segments hold our descriptors and
 * file offsets (the RAM-file ops serve them).  Some: those segments get a
 * mapping beside QEMU's address (the process ops read it; the rest by
 * process_vm_readv).  Returns 1 when any was reopened (the facts say
 * which), 0 when none was (nothing changed), or a negative errno.
 */
static int ram_fds(struct xfm_qemu *qm)
{
	struct xfm_qemu_ram_fd *rf = calloc(qm->segs.n, sizeof(*rf));
	char kinds[96] = "";
	size_t found = 0, first = SIZE_MAX;
	int rc;

	qm->fds = calloc(qm->segs.n ? qm->segs.n : 1, sizeof(*qm->fds));
	if (!rf || !qm->fds) {
		free(rf);
		return xfm_fail(-ENOMEM, "%s: out of memory", qm->base.label);
	}
	for (size_t i = 0; i < qm->segs.n; i++) {
		/* anonymous, private, or no access: -errno, by the process */
		rf[i].fd = -1;
		if (xfm_qemu_ram_fd(qm->pid, qm->segs.v[i].off,
				    qm->segs.v[i].len, &rf[i]) < 0)
			continue;
		qm->fds[qm->nfds++] = rf[i].fd;
		found++;
	}
	for (size_t i = 0; i < qm->segs.n; i++) {
		struct xfm_seg *sg = &qm->segs.v[i];

		if (rf[i].fd < 0)
			continue;
		if (found == qm->segs.n) {
			sg->fd = rf[i].fd;
			sg->off = rf[i].off;
			sg->path = rf[i].kind;
		} else if (!map_beside(sg, &rf[i])) {
			continue;
		}
		add_kind(kinds, sizeof(kinds), rf[i].kind);
		if (first == SIZE_MAX)
			first = i;
	}
	qm->ram_fd = found && found == qm->segs.n;
	if (first == SIZE_MAX) {
		rc = 0;
		goto out;
	}
	if (!qm->ram_fd)
		add_kind(kinds, sizeof(kinds), "process_vm_readv");
	rc = xfm_source_add_info(&qm->base, "qemu.ram", "process %d (%s; "
				 "descriptor %d and any other reopened "
				 "through /proc/%d/fd)", (int)qm->pid, kinds,
				 rf[first].fdnum, (int)qm->pid);
	if (rc == 0)
		rc = xfm_source_add_info(&qm->base, "qemu.ram_access", "%s",
					 kinds);
	if (rc == 0)
		rc = 1;
out:
	free(rf);
	return rc;
}

/*
 * Guest RAM that is not a shared file: each RAM region of the flat view
 * is one block in QEMU's address space, found with gpa2hva; reads go
 * through the QEMU process at the other end of the QMP socket.
 */
static int process_layout(struct xfm_qemu *qm, struct qmp *q)
{
	int rc;

	if (!qm->nreg)
		return xfm_fail(-EOPNOTSUPP, "%s: no guest RAM in the memory "
				"tree (info mtree -f)", qm->base.label);
	if (qm->base.flags & XFM_OPEN_WRITE)
		return xfm_fail(-EROFS, "%s: guest RAM is not a shared file, "
				"so xfm reads it through the QEMU process, "
				"read-only; to write, %s", qm->base.label, HINT);
	qm->pid = xfm_qemu_peer_pid(q->fd);
	if (qm->pid < 0)
		return xfm_fail(qm->pid, "%s: which process is QEMU: %s",
				qm->base.label, strerror(-qm->pid));
	for (size_t i = 0; i < qm->segs.n; i++) {
		struct xfm_seg *sg = &qm->segs.v[i];

		rc = gpa2hva(qm, q, sg->addr, &sg->off);
		if (rc < 0)
			return rc;
		sg->path = "QEMU process";
	}
	rc = ram_fds(qm);
	if (rc != 0) /* (facts said) */
		return rc < 0 ? rc : 0;
	rc = xfm_source_add_info(&qm->base, "qemu.ram", "process %d "
				 "(process_vm_readv)", (int)qm->pid);
	return rc ? rc : xfm_source_add_info(&qm->base, "qemu.ram_access",
					     "process_vm_readv");
}

static int query_mtree(struct xfm_qemu *qm, struct qmp *q)
{
	struct xfm_json *reply = NULL;
	const struct xfm_json *ret;
	int rc;

	rc = qmp_exec(q, "info mtree -f", "{\"execute\":"
		      "\"human-monitor-command\",\"arguments\":"
		      "{\"command-line\":\"info mtree -f\"}}", &reply, &ret);
	if (rc < 0)
		return rc;
	rc = ret->type == XFM_JSON_STRING ? parse_mtree(qm, ret->str)
		: xfm_fail(-EPROTO, "%s: info mtree: not a string",
			   qm->base.label);
	if (rc == 0 && (!qm->nreg || qm->force_process)) {
		/* Anonymous RAM (the default): through the QEMU process. */
		xfm_segs_free(&qm->segs);
		memset(&qm->segs, 0, sizeof(qm->segs));
		qm->nreg = 0;
		qm->process = true;
		rc = parse_mtree(qm, ret->str);
		if (rc == 0)
			rc = process_layout(qm, q);
	}
	xfm_json_free(reply);
	return rc;
}

/* The backend's file: it must be a file, shared, and big enough. */
static int check_backend(struct xfm_qemu *qm, struct qemu_backend *b)
{
	struct stat st;

	if (!b->share)
		return xfm_fail(-EOPNOTSUPP, "%s: memory backend %s is not "
				"shared (share=off): the guest's writes would "
				"not reach its file; %s", qm->base.label,
				b->id, HINT);
	if (fstat(b->fd, &st) < 0)
		return xfm_fail(-errno, "%s: %s: %s", qm->base.label, b->path,
				strerror(errno));
	if (S_ISDIR(st.st_mode))
		return xfm_fail(-EOPNOTSUPP, "%s: mem-path %s of backend %s is "
				"a directory: QEMU made an unlinked file in it "
				"that only QEMU can reach; give mem-path a file "
				"name", qm->base.label, b->path, b->id);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < b->size)
		return xfm_fail(-EOPNOTSUPP, "%s: %s (backend %s) is not a "
				"regular file of at least %llu bytes",
				qm->base.label, b->path, b->id,
				(unsigned long long)b->size);
	return 0;
}

static int open_backend(struct xfm_qemu *qm, struct qmp *q,
			struct qemu_backend *b)
{
	struct xfm_json *reply = NULL;
	const struct xfm_json *ret;
	char cmd[512], what[192];
	int rc;

	snprintf(cmd, sizeof(cmd), "{\"execute\":\"qom-get\",\"arguments\":"
		 "{\"path\":\"/objects/%s\",\"property\":\"mem-path\"}}", b->id);
	snprintf(what, sizeof(what), "qom-get mem-path of %s", b->id);
	if (strpbrk(b->id, "\"\\"))
		return xfm_fail(-EINVAL, "%s: odd backend id %s",
				qm->base.label, b->id);
	rc = qmp_exec(q, what, cmd, &reply, &ret);
	if (rc == -EIO) /* no mem-path property: RAM, memfd, ... */
		return xfm_fail(-EOPNOTSUPP, "%s: guest RAM (backend %s) is "
				"not file-backed: %s", qm->base.label, b->id,
				HINT);
	if (rc < 0)
		return rc;
	if (ret->type == XFM_JSON_STRING)
		b->path = strdup(ret->str);
	xfm_json_free(reply);
	if (!b->path)
		return xfm_fail(-EPROTO, "%s: no mem-path for %s",
				qm->base.label, b->id);
	b->fd = open(b->path, ((qm->base.flags & XFM_OPEN_WRITE) ? O_RDWR
			       : O_RDONLY) | O_CLOEXEC);
	if (b->fd < 0)
		return xfm_fail(-errno, "%s: guest RAM file %s (backend %s): "
				"%s", qm->base.label, b->path, b->id,
				strerror(errno));
	rc = check_backend(qm, b);
	if (rc == 0)
		rc = xfm_source_add_info(&qm->base, "qemu.memdev", "%s %s "
					 "%llu", b->id, b->path,
					 (unsigned long long)b->size);
	return rc;
}

/* Segments must fit their file and not overlap (a flat view never
 * does); each gets its backend's file. */
static int check_regions(struct xfm_qemu *qm)
{
	const struct xfm_seg *bad = xfm_segs_sort(&qm->segs);

	qm->segs.live = true;

	if (bad)
		return xfm_fail(-EPROTO, "%s: guest ranges overlap at 0x%llx",
				qm->base.label, (unsigned long long)bad->addr);
	for (size_t i = 0; i < qm->segs.n && !qm->process; i++) {
		struct xfm_seg *r = &qm->segs.v[i];
		const struct qemu_backend *b = &qm->be[r->tag];

		if (r->off > b->size || r->len > b->size - r->off)
			return xfm_fail(-EPROTO, "%s: guest range 0x%llx+0x%llx "
					"lies past the end of backend %s (%llu "
					"bytes)", qm->base.label,
					(unsigned long long)r->addr,
					(unsigned long long)r->len, b->id,
					(unsigned long long)b->size);
		r->fd = b->fd;
		r->path = b->path;
	}
	return 0;
}

static int load_layout(struct xfm_qemu *qm, const char *sock)
{
	struct qmp q = { .fd = -1, .label = qm->base.label };
	int rc;

	rc = qmp_open(&q, &qm->base, sock);
	if (rc == 0 && !qm->force_process)
		rc = query_memdev(qm, &q);
	if (rc == 0)
		rc = query_mtree(qm, &q);
	for (size_t i = 0; rc == 0 && !qm->process && i < qm->nbe; i++)
		if (qm->be[i].used)
			rc = open_backend(qm, &q, &qm->be[i]);
	qmp_close(&q);
	if (rc == 0)
		rc = check_regions(qm);
	if (rc == 0 && !qm->process)
		rc = xfm_source_add_info(&qm->base, "qemu.ram_access",
					 "mem-path");
	if (rc == 0)
		rc = xfm_source_add_info(&qm->base, "qemu.regions", "%zu",
					 qm->nreg);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The source                                                          */

static int qemu_geometry(struct xfm_source *s, xfm_geometry *g)
{
	g->frame_size = FRAME;
	g->hyp_page_size = 0;
	g->granularities = FRAME;
	g->max_frame = xfm_segs_max_frame(&to_qemu(s)->segs, FRAME);
	g->origin = XFM_ORIGIN_FILE;
	return 0;
}

static int qemu_ranges(struct xfm_source *s, xfm_range **out, size_t *n)
{
	return xfm_segs_ranges(&to_qemu(s)->segs, FRAME, out, n);
}

/* The guest's RAM files, MAP_SHARED: writes reach the guest at once. */
static int64_t qemu_map(struct xfm_source *s, const uint64_t *frames,
			size_t n, unsigned int prot, void *hint, int *err,
			void **addr)
{
	int mprot = PROT_READ | ((prot & XFM_PROT_WRITE) ? PROT_WRITE : 0);

	return xfm_segs_map(&to_qemu(s)->segs, s, frames, n, mprot, true, hint,
			    err, addr);
}

/* Reads go straight to the file: the page cache is the guest's RAM. */
static int qemu_pread(struct xfm_source *s, uint64_t addr, void *buf,
		      uint64_t len, unsigned int flags)
{
	return xfm_segs_pread(&to_qemu(s)->segs, s, "is not guest RAM", addr,
			      buf, len, flags);
}

/* The RAM files' shared mappings: the guest's stores show at once. */
static const void *qemu_direct(struct xfm_source *s, uint64_t addr,
			       uint64_t len)
{
	return xfm_segs_direct(&to_qemu(s)->segs, addr, len);
}

static int64_t qemu_proc_map(struct xfm_source *s, const uint64_t *frames,
			     size_t n, unsigned int prot, void *hint, int *err,
			     void **addr)
{
	struct xfm_qemu *qm = to_qemu(s);

	if (prot & XFM_PROT_WRITE)
		return xfm_fail(-EROFS, "%s: read-only (QEMU process)",
				s->label);
	return xfm_qemu_proc_map(&qm->segs, qm->pid, s, frames, n, hint, err,
				 addr);
}

static const void *qemu_proc_direct(struct xfm_source *s, uint64_t addr,
				    uint64_t len)
{
	return xfm_qemu_proc_direct(&to_qemu(s)->segs, addr, len);
}

static int qemu_proc_pread(struct xfm_source *s, uint64_t addr, void *buf,
			   uint64_t len, unsigned int flags)
{
	struct xfm_qemu *qm = to_qemu(s);

	return xfm_qemu_proc_pread(&qm->segs, qm->pid, s, addr, buf, len,
				   flags);
}

static void qemu_close(struct xfm_source *s)
{
	struct xfm_qemu *qm = to_qemu(s);

	for (size_t i = 0; i < qm->nbe; i++) {
		if (qm->be[i].fd >= 0)
			close(qm->be[i].fd);
		free(qm->be[i].id);
		free(qm->be[i].path);
	}
	free(qm->be);
	xfm_segs_free(&qm->segs);
	close_fds(qm);
	free(qm->sock);
	xfm_source_fini(s);
	free(qm);
}

/* ------------------------------------------------------------------ */
/* vCPU registers (x86: "info registers"; QEMU prints no arm64 TTBR)   */

/* The hex value after "@key=" in @text; false if absent. */
static bool reg_value(const char *text, const char *key, uint64_t *v)
{
	const char *p = text;
	size_t n = strlen(key);
	char *end;

	while ((p = strstr(p, key))) {
		if ((p == text || p[-1] == ' ' || p[-1] == '\n') &&
		    p[n] == '=') {
			*v = strtoull(p + n + 1, &end, 16);
			return end != p + n + 1;
		}
		p += n;
	}
	return false;
}

/* x86 paging mode from CR0, CR4, EFER (SDM vol. 3A, 4.1). */
static int x86_root(const char *regs, xfm_vm_root *r)
{
	uint64_t cr0, cr3, cr4, efer = 0;

	if (!reg_value(regs, "CR0", &cr0) || !reg_value(regs, "CR3", &cr3) ||
	    !reg_value(regs, "CR4", &cr4))
		return -ENODATA;
	reg_value(regs, "EFER", &efer);
	if (!(cr0 & (UINT64_C(1) << 31)))
		return -ENODATA; /* paging off */
	if (efer & (UINT64_C(1) << 10))
		r->mode = cr4 & (UINT64_C(1) << 12) ? XFM_VM_X86_64_LA57
						     : XFM_VM_X86_64;
	else if (cr4 & (UINT64_C(1) << 5))
		r->mode = XFM_VM_X86_PAE;
	else
		r->mode = XFM_VM_X86_32;
	if (r->mode == XFM_VM_X86_32 && (cr4 & (UINT64_C(1) << 4)))
		r->flags = XFM_VM_X86_PSE;
	r->root = cr3;
	return 0;
}

static int qemu_vm_root(struct xfm_source *s, unsigned int vcpu,
			xfm_vm_root *r)
{
	struct xfm_qemu *qm = to_qemu(s);
	struct qmp q = { .fd = -1, .label = s->label };
	struct xfm_json *reply = NULL;
	const struct xfm_json *ret;
	char cmd[160];
	int rc;

	snprintf(cmd, sizeof(cmd), "{\"execute\":\"human-monitor-command\","
		 "\"arguments\":{\"command-line\":\"info registers\","
		 "\"cpu-index\":%u}}", vcpu);
	rc = qmp_open(&q, NULL, qm->sock);
	if (rc == 0)
		rc = qmp_exec(&q, "info registers", cmd, &reply, &ret);
	if (rc == 0) {
		rc = ret->type == XFM_JSON_STRING ? x86_root(ret->str, r)
						  : -ENODATA;
		xfm_json_free(reply);
	}
	qmp_close(&q);
	if (rc < 0)
		return -ENODATA;
	r->origin = XFM_VM_ORIGIN_QMP;
	r->vcpu = vcpu;
	return 0;
}

static const struct xfm_source_ops qemu_ops = {
	.name = "qemu",
	.geometry = qemu_geometry,
	.ranges = qemu_ranges,
	.map = qemu_map,
	.close = qemu_close,
	.pread = qemu_pread,
	.direct = qemu_direct,
	.vm_root = qemu_vm_root,
};

static const struct xfm_source_ops qemu_process_ops = {
	.name = "qemu",
	.geometry = qemu_geometry,
	.ranges = qemu_ranges,
	.map = qemu_proc_map,
	.close = qemu_close,
	.pread = qemu_proc_pread,
	.direct = qemu_proc_direct,
	.vm_root = qemu_vm_root,
};

int xfm_qemu_open(const char *sock, const struct xfm_open_args *a,
		  struct xfm_source **out)
{
	struct xfm_qemu *qm = calloc(1, sizeof(*qm));
	int rc;

	if (!qm)
		return xfm_fail(-ENOMEM, "qemu:%s: out of memory", sock);
	if (!*sock) {
		free(qm);
		return xfm_fail(-EINVAL, "qemu:: no QMP socket path given");
	}
	if (xfm_source_init(&qm->base, &qemu_ops, a, "qemu:%s", sock) < 0) {
		free(qm);
		return xfm_fail(-ENOMEM, "qemu:%s: out of memory", sock);
	}
	rc = xfm_source_add_info(&qm->base, "qemu.socket", "%s", sock);
	qm->sock = strdup(sock);
	if (rc == 0 && !qm->sock)
		rc = xfm_fail(-ENOMEM, "qemu:%s: out of memory", sock);
	if (rc == 0)
		rc = load_layout(qm, sock);
	if (rc == -EOPNOTSUPP && !(a->flags & XFM_OPEN_WRITE)) {
		/* RAM backends that are no shared file: read them through
		 * the QEMU process instead. */
		qemu_close(&qm->base);
		qm = calloc(1, sizeof(*qm));
		if (!qm || xfm_source_init(&qm->base, &qemu_ops, a, "qemu:%s",
					   sock) < 0) {
			free(qm);
			return xfm_fail(-ENOMEM, "qemu:%s: out of memory", sock);
		}
		qm->force_process = true;
		qm->sock = strdup(sock);
		rc = qm->sock ? xfm_source_add_info(&qm->base, "qemu.socket",
						    "%s", sock) : -ENOMEM;
		if (rc == 0)
			rc = load_layout(qm, sock);
	}
	/* (RAM files reopened from QEMU's descriptors: the RAM-file ops) */
	if (rc == 0 && qm->process && !qm->ram_fd)
		qm->base.ops = &qemu_process_ops;
	if (rc < 0) {
		qemu_close(&qm->base);
		return rc;
	}
	*out = &qm->base;
	return 0;
}
