/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * _xfm.c - the Python extension over libxfm's public API.
 *
 * One type per libxfm object: Source (an xfm_handle) and Mapping (an
 * xfm_mapping exported through the buffer protocol).  Every call that
 * touches guest memory runs with the GIL released.  libxfm handles are
 * thread-safe except that xfm_close() must not race other calls: each
 * Source counts the calls in flight (under the GIL) and close() waits
 * for them to finish; mappings still exported keep close() from
 * unmapping memory under a live memoryview.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "xfm.h"

static PyObject *err_base; /* xfm.Error(OSError) */

/* errno -> the xfm.Error subclass that carries it. */
static struct err_kind {
	int err;
	const char *name, *doc;
	PyObject **builtin; /* a builtin OSError subclass it also is */
	PyObject *type;
} err_kinds[] = {
	{ ENOENT, "AbsentError", "Not in the source (ENOENT).",
	  &PyExc_FileNotFoundError, NULL },
	{ EACCES, "AccessError", "Not allowed (EACCES, EPERM).",
	  &PyExc_PermissionError, NULL },
	{ EPERM, "AccessError", NULL, NULL, NULL },
	{ EROFS, "ReadOnlyError", "Write to a read-only handle (EROFS).",
	  NULL, NULL },
	{ ERANGE, "RangeError", "Past the source's end (ERANGE, EOVERFLOW).",
	  NULL, NULL },
	{ EOVERFLOW, "RangeError", NULL, NULL, NULL },
	{ ECANCELED, "CancelledError", "Cancelled (ECANCELED).", NULL, NULL },
	{ ENODEV, "NoDeviceError", "No such hypervisor or device (ENODEV).",
	  NULL, NULL },
	{ ENOEXEC, "FormatError", "Unrecognised or corrupt file (ENOEXEC).",
	  NULL, NULL },
	{ EOPNOTSUPP, "UnsupportedError", "Not supported (EOPNOTSUPP).",
	  NULL, NULL },
	{ EIO, "SourceIOError", "The source failed (EIO).", NULL, NULL },
	{ EFAULT, "FaultError", "Virtual address not mapped (EFAULT).",
	  NULL, NULL },
	{ ENODATA, "NoRootError", "No page-table root (ENODATA).", NULL,
	  NULL },
};

/* Raise the xfm.Error subclass for -@rc with libxfm's message. */
static PyObject *raise_xfm(int rc, const char *msg)
{
	int e = rc < 0 ? -rc : rc;
	PyObject *type = err_base, *args, *exc;

	for (size_t i = 0; i < sizeof(err_kinds) / sizeof(err_kinds[0]); i++)
		if (err_kinds[i].err == e)
			type = err_kinds[i].type;
	if (!msg || !*msg)
		msg = strerror(e);
	args = Py_BuildValue("(is)", e, msg);
	if (!args)
		return NULL;
	exc = PyObject_Call(type, args, NULL);
	Py_DECREF(args);
	if (!exc)
		return NULL;
	PyErr_SetObject(type, exc);
	Py_DECREF(exc);
	return NULL;
}

static PyObject *raise_last(int rc)
{
	return raise_xfm(rc, xfm_last_error());
}

/* ------------------------------------------------------------------ */
/* Source                                                              */

typedef struct {
	PyObject_HEAD
	xfm_handle *h;
	PyObject *uri;
	int writable;
	int busy;     /* calls in flight without the GIL (counted under it) */
	int mappings; /* Mapping objects alive */
	int closing;
} Source;

typedef struct {
	PyObject_HEAD
	Source *src;
	xfm_mapping *m;
	int writable;
	int exports;
} Mapping;

static PyTypeObject SourceType, MappingType;

/* Enter a call on @s: fails if closed.  Must be paired with leave(). */
static int enter(Source *s)
{
	if (!s->h || s->closing) {
		PyErr_SetString(PyExc_ValueError, "xfm source is closed");
		return -1;
	}
	s->busy++;
	return 0;
}

static void leave(Source *s)
{
	s->busy--;
}

static int Source_init(Source *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "uri", "write", "quiet", NULL };
	const char *uri;
	int write = 0, quiet = 1, rc;
	unsigned int flags;
	xfm_handle *h = NULL;
	char msg[512];

	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|pp", kwlist, &uri,
					 &write, &quiet))
		return -1;
	if (self->h) {
		PyErr_SetString(PyExc_ValueError, "Source already open");
		return -1;
	}
	flags = (write ? XFM_OPEN_WRITE : 0) | (quiet ? XFM_OPEN_QUIET : 0);
	Py_BEGIN_ALLOW_THREADS
	rc = xfm_open(&h, uri, flags);
	if (rc < 0)
		snprintf(msg, sizeof(msg), "%s", xfm_last_error());
	Py_END_ALLOW_THREADS
	if (rc < 0) {
		raise_xfm(rc, msg);
		return -1;
	}
	self->h = h;
	self->writable = write;
	self->uri = PyUnicode_FromString(uri);
	return self->uri ? 0 : -1;
}

/* Wait (GIL released) until no call is in flight, then close. */
static PyObject *Source_close(Source *self, PyObject *unused)
{
	if (!self->h)
		Py_RETURN_NONE;
	if (self->mappings) {
		PyErr_Format(PyExc_BufferError,
			     "%d mapping(s) of this source are still alive",
			     self->mappings);
		return NULL;
	}
	self->closing = 1;
	while (self->busy) {
		Py_BEGIN_ALLOW_THREADS
		usleep(1000);
		Py_END_ALLOW_THREADS
	}
	xfm_close(self->h);
	self->h = NULL;
	self->closing = 0;
	Py_RETURN_NONE;
}

static void Source_dealloc(Source *self)
{
	/* Mappings hold a reference: none is alive, nothing is in flight. */
	if (self->h)
		xfm_close(self->h);
	Py_XDECREF(self->uri);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Source_enter(Source *self, PyObject *unused)
{
	if (!self->h) {
		PyErr_SetString(PyExc_ValueError, "xfm source is closed");
		return NULL;
	}
	Py_INCREF(self);
	return (PyObject *)self;
}

static PyObject *Source_exit(Source *self, PyObject *args)
{
	return Source_close(self, NULL);
}

static PyObject *Source_get_closed(Source *self, void *c)
{
	return PyBool_FromLong(!self->h);
}

static PyObject *Source_get_uri(Source *self, void *c)
{
	Py_INCREF(self->uri ? self->uri : Py_None);
	return self->uri ? self->uri : Py_None;
}

static PyObject *Source_get_kind(Source *self, void *c)
{
	if (enter(self))
		return NULL;
	leave(self);
	return PyUnicode_FromString(xfm_source_name(self->h));
}

static PyObject *Source_get_info(Source *self, void *c)
{
	PyObject *d;
	const char *k, *v;

	if (enter(self))
		return NULL;
	leave(self);
	d = PyDict_New();
	for (size_t i = 0; d && xfm_source_info(self->h, i, &k, &v) == 0; i++) {
		PyObject *o = PyUnicode_DecodeUTF8(v, strlen(v), "replace");

		if (!o || PyDict_SetItemString(d, k, o)) {
			Py_XDECREF(o);
			Py_CLEAR(d);
			break;
		}
		Py_DECREF(o);
	}
	return d;
}

static PyObject *Source_get_geometry(Source *self, void *c)
{
	xfm_geometry g;
	int rc;

	if (enter(self))
		return NULL;
	rc = xfm_get_geometry(self->h, &g, sizeof(g));
	leave(self);
	if (rc < 0)
		return raise_last(rc);
	return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:I}",
			     "frame_size", (unsigned long long)g.frame_size,
			     "hyp_page_size", (unsigned long long)g.hyp_page_size,
			     "kernel_page_size",
			     (unsigned long long)g.kernel_page_size,
			     "granularities", (unsigned long long)g.granularities,
			     "max_frame", (unsigned long long)g.max_frame,
			     "origin", (unsigned int)g.origin);
}

/* All ranges, malloc'ed in *out; returns the count or a negative errno. */
static int64_t all_ranges(xfm_handle *h, xfm_range **out)
{
	int64_t n, m;
	xfm_range *r = NULL;

	for (;;) {
		n = xfm_get_ranges(h, NULL, 0);
		if (n < 0)
			return n;
		free(r);
		r = malloc(((size_t)n + 1) * sizeof(*r));
		if (!r)
			return -ENOMEM;
		m = xfm_get_ranges(h, r, (size_t)n + 1);
		if (m < 0) {
			free(r);
			return m;
		}
		if (m <= n + 1)
			break;
	}
	*out = r;
	return m;
}

static PyObject *Source_ranges(Source *self, PyObject *unused)
{
	xfm_range *r = NULL;
	int64_t n;
	PyObject *l;

	if (enter(self))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	n = all_ranges(self->h, &r);
	Py_END_ALLOW_THREADS
	leave(self);
	if (n < 0)
		return raise_last((int)n);
	l = PyList_New(n);
	for (int64_t i = 0; l && i < n; i++) {
		PyObject *t = Py_BuildValue("(KK)",
					    (unsigned long long)r[i].start,
					    (unsigned long long)r[i].size);
		if (!t) {
			Py_CLEAR(l);
			break;
		}
		PyList_SET_ITEM(l, i, t);
	}
	free(r);
	return l;
}

static int read_flags(int zero_fill)
{
	return zero_fill ? XFM_READ_ZERO_FILL : 0;
}

/* xfm_read and xfm_read_va take the same arguments. */
typedef int (*read_fn)(xfm_handle *h, uint64_t addr, void *buf, uint64_t len,
		       unsigned int flags);

/* read(addr, size) and read_va(va, size): a new bytes object. */
static PyObject *read_to_bytes(Source *self, PyObject *args, PyObject *kw,
			       char **kwlist, read_fn rd)
{
	unsigned long long addr;
	Py_ssize_t size;
	int zero = 0, rc;
	PyObject *b;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "Kn|$p", kwlist, &addr,
					 &size, &zero))
		return NULL;
	if (size < 0) {
		PyErr_SetString(PyExc_ValueError, "negative size");
		return NULL;
	}
	b = PyBytes_FromStringAndSize(NULL, size);
	if (!b)
		return NULL;
	if (enter(self)) {
		Py_DECREF(b);
		return NULL;
	}
	Py_BEGIN_ALLOW_THREADS
	rc = rd(self->h, addr, PyBytes_AS_STRING(b), (uint64_t)size,
		read_flags(zero));
	Py_END_ALLOW_THREADS
	leave(self);
	if (rc < 0) {
		Py_DECREF(b);
		return raise_last(rc);
	}
	return b;
}

static PyObject *Source_read(Source *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "addr", "size", "zero_fill", NULL };

	return read_to_bytes(self, args, kw, kwlist, xfm_read);
}

static PyObject *Source_readinto(Source *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "addr", "buffer", "zero_fill", NULL };
	unsigned long long addr;
	Py_buffer view;
	int zero = 0, rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "Kw*|$p", kwlist, &addr,
					 &view, &zero))
		return NULL;
	if (enter(self)) {
		PyBuffer_Release(&view);
		return NULL;
	}
	Py_BEGIN_ALLOW_THREADS
	rc = xfm_read(self->h, addr, view.buf, (uint64_t)view.len,
		      read_flags(zero));
	Py_END_ALLOW_THREADS
	leave(self);
	PyBuffer_Release(&view);
	if (rc < 0)
		return raise_last(rc);
	return PyLong_FromSsize_t(view.len);
}

/* xfm_write and xfm_write_va take the same arguments. */
typedef int (*write_fn)(xfm_handle *h, uint64_t addr, const void *buf,
			uint64_t len);

/* write(addr, data) and write_va(va, data): the number of bytes written. */
static PyObject *write_from_buffer(Source *self, PyObject *args,
				   write_fn store)
{
	unsigned long long addr;
	Py_buffer view;
	int rc;

	if (!PyArg_ParseTuple(args, "Ky*", &addr, &view))
		return NULL;
	if (enter(self)) {
		PyBuffer_Release(&view);
		return NULL;
	}
	Py_BEGIN_ALLOW_THREADS
	rc = store(self->h, addr, view.buf, (uint64_t)view.len);
	Py_END_ALLOW_THREADS
	leave(self);
	PyBuffer_Release(&view);
	if (rc < 0)
		return raise_last(rc);
	return PyLong_FromSsize_t(view.len);
}

static PyObject *Source_write(Source *self, PyObject *args)
{
	return write_from_buffer(self, args, xfm_write);
}

static PyObject *Source_invalidate(Source *self, PyObject *args)
{
	unsigned long long addr = 0, len = UINT64_MAX;
	int rc;

	if (!PyArg_ParseTuple(args, "|KK", &addr, &len))
		return NULL;
	if (enter(self))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	rc = xfm_invalidate(self->h, addr, len);
	Py_END_ALLOW_THREADS
	leave(self);
	if (rc < 0)
		return raise_last(rc);
	Py_RETURN_NONE;
}

static PyObject *Source_set_cache(Source *self, PyObject *args)
{
	unsigned long long wsize;
	unsigned int n;
	int rc;

	if (!PyArg_ParseTuple(args, "KI", &wsize, &n))
		return NULL;
	if (enter(self))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	rc = xfm_set_cache(self->h, wsize, n);
	Py_END_ALLOW_THREADS
	leave(self);
	if (rc < 0)
		return raise_last(rc);
	Py_RETURN_NONE;
}

/* ---- VMCOREINFO (a Linux guest's, found by libxfm) ----------------- */

static PyObject *Source_vmcoreinfo(Source *self, PyObject *unused)
{
	int64_t n;
	uint64_t paddr = UINT64_MAX;
	char *buf = NULL;
	char msg[512] = "";
	PyObject *r;

	if (enter(self))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	n = xfm_vmcoreinfo(self->h, NULL, 0, NULL);
	if (n >= 0) {
		buf = malloc((size_t)n + 1);
		n = buf ? xfm_vmcoreinfo(self->h, buf, (size_t)n + 1, &paddr) :
			-ENOMEM;
	}
	if (n < 0)
		snprintf(msg, sizeof(msg), "%s", xfm_last_error());
	Py_END_ALLOW_THREADS
	leave(self);
	if (n < 0) {
		free(buf);
		return raise_xfm((int)n, msg);
	}
	r = Py_BuildValue("(s#N)", buf, (Py_ssize_t)n, paddr == UINT64_MAX ?
			  Py_NewRef(Py_None) :
			  PyLong_FromUnsignedLongLong(paddr));
	free(buf);
	return r;
}

static PyObject *Source_vmcoreinfo_number(Source *self, PyObject *args)
{
	const char *key;
	uint64_t v;
	int rc;

	if (!PyArg_ParseTuple(args, "s", &key))
		return NULL;
	if (enter(self))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	rc = xfm_vmcoreinfo_number(self->h, key, &v);
	Py_END_ALLOW_THREADS
	leave(self);
	if (rc < 0)
		return raise_last(rc);
	return PyLong_FromUnsignedLongLong(v);
}

/* ---- guest-virtual addresses (src/vm) ------------------------------ */

static PyObject *Source_translate(Source *self, PyObject *args)
{
	unsigned long long va;
	xfm_translation t;
	char msg[512] = "";
	int rc;

	if (!PyArg_ParseTuple(args, "K", &va))
		return NULL;
	if (enter(self))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	rc = xfm_translate(self->h, va, &t, sizeof(t));
	if (rc < 0)
		snprintf(msg, sizeof(msg), "%s", xfm_last_error());
	Py_END_ALLOW_THREADS
	leave(self);
	if (rc < 0)
		return raise_xfm(rc, msg);
	return Py_BuildValue("{s:K,s:K,s:K,s:i,s:K,s:K}",
			     "va", (unsigned long long)t.va,
			     "pa", (unsigned long long)t.pa,
			     "page_size", (unsigned long long)t.page_size,
			     "level", (int)t.level,
			     "entry", (unsigned long long)t.entry,
			     "entry_addr", (unsigned long long)t.entry_addr);
}

static PyObject *Source_read_va(Source *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "va", "size", "zero_fill", NULL };

	return read_to_bytes(self, args, kw, kwlist, xfm_read_va);
}

static PyObject *Source_write_va(Source *self, PyObject *args)
{
	return write_from_buffer(self, args, xfm_write_va);
}

static PyObject *Source_set_vm_root(Source *self, PyObject *args,
				    PyObject *kw)
{
	static char *kwlist[] = { "mode", "root", "root1", "tcr", "flags",
				  NULL };
	unsigned int mode, flags = 0;
	unsigned long long root = 0, root1 = 0, tcr = 0;
	xfm_vm_root r;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "I|KKKI", kwlist, &mode,
					 &root, &root1, &tcr, &flags))
		return NULL;
	if (enter(self))
		return NULL;
	memset(&r, 0, sizeof(r));
	r.mode = mode;
	r.flags = flags;
	r.root = root;
	r.root1 = root1;
	r.tcr = tcr;
	rc = xfm_set_vm_root(self->h, mode ? &r : NULL, sizeof(r));
	leave(self);
	if (rc < 0)
		return raise_last(rc);
	Py_RETURN_NONE;
}

static PyObject *Source_get_vm_root(Source *self, PyObject *unused)
{
	xfm_vm_root r;
	char msg[512] = "";
	int rc;

	if (enter(self))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	rc = xfm_get_vm_root(self->h, &r, sizeof(r));
	if (rc < 0)
		snprintf(msg, sizeof(msg), "%s", xfm_last_error());
	Py_END_ALLOW_THREADS
	leave(self);
	if (rc < 0)
		return raise_xfm(rc, msg);
	return Py_BuildValue("{s:I,s:I,s:K,s:K,s:K,s:I,s:I}",
			     "mode", r.mode, "flags", r.flags,
			     "root", (unsigned long long)r.root,
			     "root1", (unsigned long long)r.root1,
			     "tcr", (unsigned long long)r.tcr,
			     "origin", r.origin, "vcpu", r.vcpu);
}

/* ---- map ---------------------------------------------------------- */

/*
 * Extents covering @nframes frames from @frame, each the largest
 * naturally aligned power of two that fits (few extents for big maps).
 */
static xfm_extent *make_extents(uint64_t frame, uint64_t nframes, size_t *n)
{
	size_t cap = 64, k = 0;
	xfm_extent *e = malloc(cap * sizeof(*e));

	while (e && nframes) {
		uint32_t order = 0;

		while (order < XFM_MAX_ORDER &&
		       !(frame & ((UINT64_C(1) << (order + 1)) - 1)) &&
		       (UINT64_C(1) << (order + 1)) <= nframes)
			order++;
		if (k == cap) {
			xfm_extent *t = realloc(e, (cap *= 2) * sizeof(*e));

			if (!t) {
				free(e);
				return NULL;
			}
			e = t;
		}
		e[k++] = (xfm_extent){ .frame = frame, .order = order };
		frame += UINT64_C(1) << order;
		nframes -= UINT64_C(1) << order;
	}
	*n = k;
	return e;
}

static PyObject *Source_map(Source *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "addr", "size", "write", NULL };
	unsigned long long addr, size;
	int write = 0, rc;
	xfm_geometry g;
	xfm_extent *e;
	xfm_mapping *m = NULL;
	size_t n = 0;
	Mapping *mo;
	PyObject *mv;
	char msg[512] = "";

	if (!PyArg_ParseTupleAndKeywords(args, kw, "KK|$p", kwlist, &addr,
					 &size, &write))
		return NULL;
	if (enter(self))
		return NULL;
	xfm_get_geometry(self->h, &g, sizeof(g));
	if (!size || addr % g.frame_size || size % g.frame_size) {
		leave(self);
		PyErr_Format(PyExc_ValueError,
			     "map: address 0x%llx and size 0x%llx must be "
			     "non-zero multiples of the frame size (%llu)",
			     addr, size, (unsigned long long)g.frame_size);
		return NULL;
	}
	e = make_extents(addr / g.frame_size, size / g.frame_size, &n);
	if (!e) {
		leave(self);
		return PyErr_NoMemory();
	}
	Py_BEGIN_ALLOW_THREADS
	rc = xfm_map(self->h, e, n, XFM_PROT_READ |
		     (write ? XFM_PROT_WRITE : 0), NULL, &m);
	if (rc < 0)
		snprintf(msg, sizeof(msg), "%s", xfm_last_error());
	Py_END_ALLOW_THREADS
	leave(self);
	if (rc >= 0 && (size_t)rc != n) {
		/* A partial map would SIGBUS on access: refuse it whole. */
		size_t i = 0;

		while (!e[i].err)
			i++;
		snprintf(msg, sizeof(msg),
			 "%s: map: frame 0x%llx: not mappable (%s)",
			 PyUnicode_AsUTF8(self->uri),
			 (unsigned long long)e[i].frame, strerror(-e[i].err));
		rc = e[i].err;
		xfm_unmap(m);
	}
	free(e);
	if (rc < 0)
		return raise_xfm(rc, msg);
	mo = PyObject_New(Mapping, &MappingType);
	if (!mo) {
		xfm_unmap(m);
		return NULL;
	}
	Py_INCREF(self);
	mo->src = self;
	mo->m = m;
	mo->writable = write;
	mo->exports = 0;
	self->mappings++;
	mv = PyMemoryView_FromObject((PyObject *)mo);
	Py_DECREF(mo); /* the memoryview holds it */
	return mv;
}

static void Mapping_dealloc(Mapping *self)
{
	if (self->m) {
		Py_BEGIN_ALLOW_THREADS
		xfm_unmap(self->m);
		Py_END_ALLOW_THREADS
	}
	self->src->mappings--;
	Py_DECREF(self->src);
	PyObject_Free(self);
}

static int Mapping_getbuffer(Mapping *self, Py_buffer *view, int flags)
{
	if ((flags & PyBUF_WRITABLE) && !self->writable) {
		PyErr_SetString(PyExc_BufferError, "mapping is read-only");
		return -1;
	}
	self->exports++;
	return PyBuffer_FillInfo(view, (PyObject *)self, xfm_map_addr(self->m),
				 (Py_ssize_t)xfm_map_length(self->m),
				 !self->writable, flags);
}

static void Mapping_releasebuffer(Mapping *self, Py_buffer *view)
{
	self->exports--;
}

static PyBufferProcs Mapping_as_buffer = {
	.bf_getbuffer = (getbufferproc)Mapping_getbuffer,
	.bf_releasebuffer = (releasebufferproc)Mapping_releasebuffer,
};

static PyTypeObject MappingType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "xfm._xfm.Mapping",
	.tp_basicsize = sizeof(Mapping),
	.tp_dealloc = (destructor)Mapping_dealloc,
	.tp_as_buffer = &Mapping_as_buffer,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Guest memory mapped into this process (use the memoryview).",
};

/* ---- search ------------------------------------------------------- */

#define SEARCH_CHUNK (4u << 20)

struct search {
	const uint8_t *pat;
	size_t plen;
	uint64_t max, found;
	uint64_t *hits;
	size_t cap;
	uint8_t *buf;
};

static int hit(struct search *s, uint64_t addr)
{
	if (s->found == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *t = realloc(s->hits, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		s->hits = t;
		s->cap = cap;
	}
	s->hits[s->found++] = addr;
	return s->max && s->found >= s->max;
}

/* Chunks overlap by plen-1 bytes so that straddling matches are seen once. */
static int search_range(xfm_handle *h, struct search *s, uint64_t start,
			uint64_t size)
{
	uint64_t off = 0;
	size_t keep = 0;
	int rc;

	while (off < size) {
		uint64_t n = size - off < SEARCH_CHUNK ? size - off :
			SEARCH_CHUNK;
		const uint8_t *p = s->buf, *end, *m;
		size_t tail;

		rc = xfm_read(h, start + off, s->buf + keep, n, 0);
		if (rc < 0)
			return rc;
		end = s->buf + keep + n;
		while ((size_t)(end - p) >= s->plen &&
		       (m = memmem(p, (size_t)(end - p), s->pat, s->plen))) {
			rc = hit(s, start + off - keep + (uint64_t)(m - s->buf));
			if (rc)
				return rc;
			p = m + 1;
		}
		off += n;
		tail = s->plen - 1 < keep + n ? s->plen - 1 : keep + (size_t)n;
		memmove(s->buf, s->buf + keep + n - tail, tail);
		keep = tail;
	}
	return 0;
}

static PyObject *Source_search(Source *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "pattern", "start", "end", "max", NULL };
	Py_buffer pat;
	unsigned long long lo = 0, hi = UINT64_MAX, max = 0;
	struct search s = { 0 };
	xfm_range *r = NULL;
	int64_t n;
	int rc = 0;
	char msg[512] = "";
	PyObject *l = NULL;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|KKK", kwlist, &pat, &lo,
					 &hi, &max))
		return NULL;
	if (!pat.len) {
		PyBuffer_Release(&pat);
		PyErr_SetString(PyExc_ValueError, "empty pattern");
		return NULL;
	}
	if (enter(self)) {
		PyBuffer_Release(&pat);
		return NULL;
	}
	s.pat = pat.buf;
	s.plen = (size_t)pat.len;
	s.max = max;
	Py_BEGIN_ALLOW_THREADS
	s.buf = malloc(SEARCH_CHUNK + s.plen);
	n = s.buf ? all_ranges(self->h, &r) : -ENOMEM;
	for (int64_t i = 0; n >= 0 && i < n && rc == 0; i++) {
		uint64_t a = r[i].start > lo ? r[i].start : lo;
		uint64_t b = r[i].start + r[i].size < hi ?
			r[i].start + r[i].size : hi;

		if (a < b)
			rc = search_range(self->h, &s, a, b - a);
	}
	if (n < 0)
		rc = (int)n;
	if (rc < 0)
		snprintf(msg, sizeof(msg), "%s", xfm_last_error());
	free(r);
	free(s.buf);
	Py_END_ALLOW_THREADS
	leave(self);
	PyBuffer_Release(&pat);
	if (rc < 0) {
		free(s.hits);
		return raise_xfm(rc, msg);
	}
	l = PyList_New((Py_ssize_t)s.found);
	for (uint64_t i = 0; l && i < s.found; i++) {
		PyObject *o = PyLong_FromUnsignedLongLong(s.hits[i]);

		if (!o) {
			Py_CLEAR(l);
			break;
		}
		PyList_SET_ITEM(l, (Py_ssize_t)i, o);
	}
	free(s.hits);
	return l;
}

/* ---- dump --------------------------------------------------------- */

struct dump_cb {
	PyObject *progress;
	PyObject *exc_type, *exc_val, *exc_tb; /* what cancelled the dump */
};

/*
 * Called by libxfm without the GIL: take it, let Python see signals
 * (Ctrl-C cancels), call the user's callable (a true result or an
 * exception cancels).
 */
static int dump_progress(void *opaque, uint64_t done, uint64_t total)
{
	struct dump_cb *cb = opaque;
	PyGILState_STATE st = PyGILState_Ensure();
	int cancel = 0;

	if (PyErr_CheckSignals() < 0) {
		cancel = 1;
	} else if (cb->progress && cb->progress != Py_None) {
		PyObject *r = PyObject_CallFunction(cb->progress, "KK",
						    (unsigned long long)done,
						    (unsigned long long)total);
		if (!r)
			cancel = 1;
		else
			cancel = PyObject_IsTrue(r) != 0;
		Py_XDECREF(r);
	}
	if (PyErr_Occurred() && !cb->exc_type)
		PyErr_Fetch(&cb->exc_type, &cb->exc_val, &cb->exc_tb);
	PyErr_Clear();
	PyGILState_Release(st);
	return cancel;
}

static int dump_format(const char *name)
{
	static const struct { const char *n; int f; } fm[] = {
		{ "raw", XFM_DUMP_RAW }, { "elf", XFM_DUMP_ELF },
		{ "xen-core", XFM_DUMP_XEN_CORE }, { "lime", XFM_DUMP_LIME },
	};

	for (size_t i = 0; i < sizeof(fm) / sizeof(fm[0]); i++)
		if (!strcmp(name, fm[i].n))
			return fm[i].f;
	return -1;
}

static PyObject *Source_dump(Source *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "path", "format", "overwrite", "progress",
				  NULL };
	PyObject *path_obj;
	const char *fmt = "elf";
	int over = 0, f, rc;
	struct dump_cb cb = { 0 };
	char msg[512] = "";

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|s$pO", kwlist,
					 PyUnicode_FSConverter, &path_obj,
					 &fmt, &over, &cb.progress))
		return NULL;
	f = dump_format(fmt);
	if (f < 0) {
		Py_DECREF(path_obj);
		PyErr_Format(PyExc_ValueError,
			     "unknown dump format '%s' (raw, elf, xen-core, "
			     "lime)", fmt);
		return NULL;
	}
	if (cb.progress && cb.progress != Py_None &&
	    !PyCallable_Check(cb.progress)) {
		Py_DECREF(path_obj);
		PyErr_SetString(PyExc_TypeError, "progress must be callable");
		return NULL;
	}
	if (enter(self)) {
		Py_DECREF(path_obj);
		return NULL;
	}
	Py_BEGIN_ALLOW_THREADS
	rc = xfm_dump(self->h, PyBytes_AS_STRING(path_obj), (unsigned int)f,
		      over ? XFM_DUMP_OVERWRITE : 0, dump_progress, &cb);
	if (rc < 0)
		snprintf(msg, sizeof(msg), "%s", xfm_last_error());
	Py_END_ALLOW_THREADS
	leave(self);
	Py_DECREF(path_obj);
	if (cb.exc_type) {
		/* Ctrl-C or the callable's own exception, as raised. */
		PyErr_Restore(cb.exc_type, cb.exc_val, cb.exc_tb);
		return NULL;
	}
	if (rc < 0)
		return raise_xfm(rc, msg);
	Py_RETURN_NONE;
}

static PyMethodDef Source_methods[] = {
	{ "close", (PyCFunction)Source_close, METH_NOARGS,
	  "Close the source (waits for calls in flight in other threads)." },
	{ "__enter__", (PyCFunction)Source_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)Source_exit, METH_VARARGS, NULL },
	{ "ranges", (PyCFunction)Source_ranges, METH_NOARGS,
	  "Populated guest-physical ranges: [(start, size), ...]." },
	{ "read", (PyCFunction)(void (*)(void))Source_read,
	  METH_VARARGS | METH_KEYWORDS,
	  "read(addr, size, *, zero_fill=False) -> bytes" },
	{ "readinto", (PyCFunction)(void (*)(void))Source_readinto,
	  METH_VARARGS | METH_KEYWORDS,
	  "readinto(addr, buffer, *, zero_fill=False) -> int: fill any "
	  "writable buffer" },
	{ "write", (PyCFunction)Source_write, METH_VARARGS,
	  "write(addr, data) -> int (needs write=True at open)" },
	{ "map", (PyCFunction)(void (*)(void))Source_map,
	  METH_VARARGS | METH_KEYWORDS,
	  "map(addr, size, *, write=False) -> memoryview over the mapping" },
	{ "search", (PyCFunction)(void (*)(void))Source_search,
	  METH_VARARGS | METH_KEYWORDS,
	  "search(pattern, start=0, end=2**64-1, max=0) -> [addr, ...]" },
	{ "dump", (PyCFunction)(void (*)(void))Source_dump,
	  METH_VARARGS | METH_KEYWORDS,
	  "dump(path, format='elf', *, overwrite=False, progress=None)" },
	{ "vmcoreinfo", (PyCFunction)Source_vmcoreinfo, METH_NOARGS,
	  "vmcoreinfo() -> (text, guest-physical address of the note or None)" },
	{ "vmcoreinfo_number", (PyCFunction)Source_vmcoreinfo_number,
	  METH_VARARGS, "vmcoreinfo_number(key) -> int, e.g. 'KERNELOFFSET'" },
	{ "translate", (PyCFunction)Source_translate, METH_VARARGS,
	  "translate(va) -> dict (va, pa, page_size, level, entry, "
	  "entry_addr); FaultError when not mapped" },
	{ "read_va", (PyCFunction)(void (*)(void))Source_read_va,
	  METH_VARARGS | METH_KEYWORDS,
	  "read_va(va, size, *, zero_fill=False) -> bytes" },
	{ "write_va", (PyCFunction)Source_write_va, METH_VARARGS,
	  "write_va(va, data) -> int" },
	{ "set_vm_root", (PyCFunction)(void (*)(void))Source_set_vm_root,
	  METH_VARARGS | METH_KEYWORDS,
	  "set_vm_root(mode, root=0, root1=0, tcr=0, flags=0); mode 0 "
	  "forgets it" },
	{ "get_vm_root", (PyCFunction)Source_get_vm_root, METH_NOARGS,
	  "get_vm_root() -> dict (mode, flags, root, root1, tcr, origin, "
	  "vcpu)" },
	{ "invalidate", (PyCFunction)Source_invalidate, METH_VARARGS,
	  "invalidate(addr=0, size=2**64-1): forget cached windows" },
	{ "set_cache", (PyCFunction)Source_set_cache, METH_VARARGS,
	  "set_cache(window_size, nr_windows)" },
	{ NULL },
};

static PyGetSetDef Source_getset[] = {
	{ "closed", (getter)Source_get_closed, NULL, "True once closed", NULL },
	{ "uri", (getter)Source_get_uri, NULL, "the URI it was opened with",
	  NULL },
	{ "kind", (getter)Source_get_kind, NULL, "'xen', 'file' or 'qemu'",
	  NULL },
	{ "info", (getter)Source_get_info, NULL, "facts about the source",
	  NULL },
	{ "geometry", (getter)Source_get_geometry, NULL, "page geometry",
	  NULL },
	{ NULL },
};

static PyTypeObject SourceType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "xfm._xfm.Source",
	.tp_basicsize = sizeof(Source),
	.tp_dealloc = (destructor)Source_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Source(uri, write=False, quiet=True): a memory source.",
	.tp_methods = Source_methods,
	.tp_getset = Source_getset,
	.tp_init = (initproc)Source_init,
	.tp_new = PyType_GenericNew,
};

static struct PyModuleDef xfm_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "xfm._xfm",
	.m_doc = "libxfm: read, map and write foreign guest memory.",
	.m_size = -1,
};

static int add_errors(PyObject *mod)
{
	err_base = PyErr_NewExceptionWithDoc("xfm.Error",
		"An xfm call failed: errno and libxfm's message.",
		PyExc_OSError, NULL);
	if (!err_base || PyModule_AddObjectRef(mod, "Error", err_base))
		return -1;
	for (size_t i = 0; i < sizeof(err_kinds) / sizeof(err_kinds[0]); i++) {
		struct err_kind *k = &err_kinds[i];
		char name[64];
		PyObject *bases;

		if (!k->doc) { /* an alias of the previous errno's class */
			k->type = err_kinds[i - 1].type;
			continue;
		}
		bases = k->builtin ?
			PyTuple_Pack(2, err_base, *k->builtin) :
			PyTuple_Pack(1, err_base);
		if (!bases)
			return -1;
		snprintf(name, sizeof(name), "xfm.%s", k->name);
		k->type = PyErr_NewExceptionWithDoc(name, k->doc, bases, NULL);
		Py_DECREF(bases);
		if (!k->type || PyModule_AddObjectRef(mod, k->name, k->type))
			return -1;
	}
	return 0;
}

PyMODINIT_FUNC PyInit__xfm(void); /* the one exported symbol */
PyMODINIT_FUNC PyInit__xfm(void)
{
	PyObject *m;

	if (PyType_Ready(&SourceType) < 0 || PyType_Ready(&MappingType) < 0)
		return NULL;
	m = PyModule_Create(&xfm_module);
	if (!m)
		return NULL;
	if (PyModule_AddObjectRef(m, "Source", (PyObject *)&SourceType) ||
	    PyModule_AddObjectRef(m, "Mapping", (PyObject *)&MappingType) ||
	    add_errors(m)) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
