/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * lab-guest.h - what the lab's dom0 tests share: the guests' facts
 * (XFM_GUEST_<G>_*, see lab/README.md), running xl, throwaway guests,
 * and counting this process's fds and mappings.
 */
#ifndef XFM_LAB_GUEST_H
#define XFM_LAB_GUEST_H

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* XFM_GUEST_<G>_<KEY>, or NULL. */
__attribute__((unused)) static const char *lab_fact(const char *g, const char *key)
{
	char name[128];

	snprintf(name, sizeof(name), "XFM_GUEST_%s_%s", g, key);
	return getenv(name);
}

/* The lab guest of type pvh or arm (the one with guest frames). */
__attribute__((unused)) static const char *lab_main_guest(void)
{
	const char *gs = getenv("XFM_GUESTS");

	if (!gs)
		return NULL;
	if (strstr(gs, "pvh"))
		return "PVH";
	if (strstr(gs, "arm"))
		return "ARM";
	return NULL;
}

/* Run a shell command; its exit status (-1 if it did not exit). */
__attribute__((format(printf, 1, 2)))
__attribute__((unused)) static int lab_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	st = system(cmd);
	return st >= 0 && (st & 0x7f) == 0 ? (st >> 8) & 0xff : -1;
}

/* The first line a shell command prints (without newline); "" if none. */
__attribute__((format(printf, 3, 4)))
__attribute__((unused)) static int lab_sh_line(char *out, size_t n, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = 0;
	fflush(stdout);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (fgets(out, (int)n, f))
		out[strcspn(out, "\n")] = 0;
	return pclose(f);
}

__attribute__((unused)) static long lab_domid(const char *name)
{
	char line[64];

	lab_sh_line(line, sizeof(line), "xl domid %s 2>/dev/null", name);
	return line[0] ? strtol(line, NULL, 10) : -1;
}

/*
 * A throwaway guest "xfm-tmpN" of @mb MiB, created paused (it costs no
 * CPU; its memory holds the loaded kernel and initrd) from the config of
 * lab guest @g (lower case).  Returns its domid or -1.
 */
__attribute__((unused)) static long lab_tmp_guest(const char *g, int n, int mb)
{
	char name[32];

	snprintf(name, sizeof(name), "xfm-tmp%d", n);
	if (lab_sh("sed -e 's/^name=.*/name=\"%s\"/' -e 's/^memory=.*/memory=%d/'"
		   " -e '/^cpus=/d' /run/xfm/xfm-%s.cfg > /run/xfm/%s.cfg && "
		   "xl create -p /run/xfm/%s.cfg > /run/xfm/%s.log 2>&1",
		   name, mb, g, name, name, name) != 0) {
		lab_sh("cat /run/xfm/%s.log", name);
		return -1;
	}
	return lab_domid(name);
}

__attribute__((unused)) static int lab_count_dir(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || part[0] == '.' ?
		     strstr(e->d_name, part) != NULL : 0;
	closedir(d);
	return n;
}

/* This process's open fds and mappings (lines of /proc/self/maps). */
__attribute__((unused)) static int lab_fds(void)
{
	return lab_count_dir("/proc/self/fd", "");
}

/* Lines of /proc/self/maps containing @what ("" = all). */
__attribute__((unused)) static int lab_maps_of(const char *what)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

__attribute__((unused)) static int lab_maps(void)
{
	return lab_maps_of("");
}

__attribute__((unused)) static double lab_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
