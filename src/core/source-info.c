/* SPDX-License-Identifier: LGPL-2.1-only */
/* source-info.c - what every source shares: its label and its facts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

int xfm_source_init(struct xfm_source *s, const struct xfm_source_ops *ops,
		    const struct xfm_open_args *a, const char *fmt, ...)
{
	va_list ap;
	int rc;

	s->ops = ops;
	s->flags = a->flags;
	s->warn = a->warn;
	s->warn_opaque = a->warn_opaque;
	va_start(ap, fmt);
	rc = vasprintf(&s->label, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		s->label = NULL;
		return -ENOMEM;
	}
	return 0;
}

int xfm_source_add_info(struct xfm_source *s, const char *key,
			const char *fmt, ...)
{
	struct xfm_kv *kv = realloc(s->info, (s->ninfo + 1) * sizeof(*kv));
	va_list ap;
	int rc;

	if (!kv)
		return -ENOMEM;
	s->info = kv;
	kv = &s->info[s->ninfo];
	va_start(ap, fmt);
	rc = vasprintf(&kv->value, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENOMEM;
	if (asprintf(&kv->key, "%s", key) < 0) {
		free(kv->value);
		return -ENOMEM;
	}
	s->ninfo++;
	return 0;
}

void xfm_source_fini(struct xfm_source *s)
{
	for (size_t i = 0; i < s->ninfo; i++) {
		free(s->info[i].key);
		free(s->info[i].value);
	}
	free(s->info);
	free(s->label);
	free(s->vmcoreinfo);
	s->vmcoreinfo = NULL;
	free(s->notes);
	s->notes = NULL;
	s->info = NULL;
	s->label = NULL;
	s->ninfo = 0;
}

int xfm_source_fact(xfm_handle *h, const char *key, char *buf, size_t len)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&h->os_lock);
	for (size_t i = 0; i < h->src->ninfo && rc; i++)
		if (strcmp(h->src->info[i].key, key) == 0) {
			snprintf(buf, len, "%s", h->src->info[i].value);
			rc = 0;
		}
	pthread_mutex_unlock(&h->os_lock);
	return rc;
}

XFM_EXPORT int xfm_source_info(xfm_handle *h, size_t i, const char **key,
			       const char **value)
{
	int rc = 0;

	if (!h || !key || !value)
		return xfm_fail(-EINVAL, "xfm_source_info: bad arguments");
	/* The guest OS facts come last, found on first asking. */
	if (i >= h->src->ninfo)
		xfm_os_facts(h);
	pthread_mutex_lock(&h->os_lock);
	if (i < h->src->ninfo) {
		*key = h->src->info[i].key;
		*value = h->src->info[i].value;
	} else {
		rc = -ENOENT;
	}
	pthread_mutex_unlock(&h->os_lock);
	return rc;
}
