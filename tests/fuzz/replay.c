/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * replay.c - run a fuzz target's LLVMFuzzerTestOneInput() on every file of
 * the given directories (the kept corpus and the crash reproducers), with
 * the normal compiler and no libFuzzer, as part of the normal test suite.
 * A finding that comes back crashes or aborts here.  TAP: one line per
 * directory, with the number of files; "# replaying <file>" goes to
 * stderr first, so a crash names its input.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

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
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;

	printf("1..%d\n", argc - 1);
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		long files = 0, bad = 0;
		char path[4096];

		/* A missing directory is an empty one: no crashes kept. */
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 e->d_name);
			if (replay_file(path) < 0)
				bad++;
			else
				files++;
		}
		if (d)
			closedir(d);
		printf("%sok %d - %s: %ld inputs replayed\n",
		       bad ? "not " : "", i, argv[i], files);
		failed += bad != 0;
	}
	return failed ? 1 : 0;
}
