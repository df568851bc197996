/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * replay.c - run a fuzz target's LLVMFuzzerTestOneInput() on every file of
 * its kept corpus and its crash reproducers, with the normal compiler and
 * no libFuzzer, as part of the normal test suite.  A finding that comes
 * back crashes or aborts here.
 *
 *   replay CORPUS-DIR [CRASH-DIR]
 *
 * TAP: one line per directory, with the number of inputs.  The corpus
 * must exist and hold inputs (a missing corpus replays nothing and proves
 * nothing); a crash directory may be absent (nothing found yet).  Every
 * input must be one the target uses: a target returns -1 for an input it
 * ignores (libFuzzer then does not keep it), and such a file in the
 * corpus or crash directory only looks like coverage, so it fails.
 * "# replaying <file>" goes to stderr first, so a crash names its input.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1: used, 0: ignored by the target (it returned -1), -1: unreadable */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	int rc;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0 || !(buf = malloc((size_t)len + 1)) ||
	    fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	fprintf(stderr, "# replaying %s\n", path);
	rc = LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return rc == -1 ? 0 : 1;
}

/* TAP line @i for directory @dir; @must_exist: the kept corpus. */
static int replay_dir(int i, const char *dir, int must_exist)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long used = 0, ignored = 0, unreadable = 0;
	char path[4096];
	int good;

	if (!d && !must_exist) {
		printf("ok %d - %s: absent (no crash reproducers kept)\n", i,
		       dir);
		return 1;
	}
	while (d && (e = readdir(d))) {
		int rc;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		rc = replay_file(path);
		if (rc == 0)
			printf("# %s: ignored by the target\n", path);
		if (rc < 0)
			printf("# %s: cannot read it\n", path);
		used += rc == 1;
		ignored += rc == 0;
		unreadable += rc < 0;
	}
	if (d)
		closedir(d);
	good = d && used > 0 && !ignored && !unreadable;
	printf("%sok %d - %s: %ld inputs replayed", good ? "" : "not ", i, dir,
	       used);
	if (!d)
		printf(" (no such directory)");
	if (ignored)
		printf(", %ld ignored by the target", ignored);
	if (unreadable)
		printf(", %ld unreadable", unreadable);
	printf("\n");
	return good;
}

int main(int argc, char **argv)
{
	int failed = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s CORPUS-DIR [CRASH-DIR]\n", argv[0]);
		return 2;
	}
	printf("1..%d\n", argc - 1);
	failed += !replay_dir(1, argv[1], 1);
	if (argc == 3)
		failed += !replay_dir(2, argv[2], 0);
	return failed ? 1 : 0;
}
