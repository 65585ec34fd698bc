/* apply-refused.c — a test program's fixed part for packages that must be refused: it applies the
 * package named by argv[1] to itself and checks that a failed apply left the process exactly as
 * it was.  Around the apply it snapshots the code around probe()'s entry (64 bytes from 16 before
 * it: the padding and the 2-byte site the runtime would rewrite), the list of mappings
 * (/proc/self/maps: no new code mapped) and probe()'s result, and prints whether each is
 * identical afterwards.  argv[2], if given, is an intact package applied next, to show the
 * process can still be patched.  Exit status 1 when the package under test was refused. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hotpatch.h"
#include "read_file.h"

int probe(void);


/* The process's mappings, read without allocating (so the read itself changes nothing). */
static char maps_before[1 << 16], maps_after[1 << 16];

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const unsigned char *region = (const unsigned char *)(void *)probe - 16;
	unsigned char code_before[64], code_after[64];
	size_t size = 0, good_size = 0;
	void *pkg = read_all(argv[1], &size);
	void *good = argc > 2 ? read_all(argv[2], &good_size) : NULL;

	int result_before = probe();
	printf("before %d\n", result_before);
	fflush(stdout);
	read_maps(maps_before, sizeof maps_before);  /* once to warm up whatever it touches */
	memcpy(code_before, region, sizeof code_before);
	size_t maps_before_size = read_maps(maps_before, sizeof maps_before);

	int id = hp_apply(pkg, size);

	size_t maps_after_size = read_maps(maps_after, sizeof maps_after);
	memcpy(code_after, region, sizeof code_after);
	int result_after = probe();
	if (id > 0)
		printf("applied %d\n", id);
	else
		printf("apply failed: %s: %s\n", hp_strerror(id), hp_last_error());
	printf("code identical: %s\n", memcmp(code_before, code_after, sizeof code_before) ? "no" : "yes");
	printf("maps identical: %s\n",
	       maps_before_size == maps_after_size && !memcmp(maps_before, maps_after, maps_before_size) ? "yes" : "no");
	printf("probe identical: %s (%d)\n", result_before == result_after ? "yes" : "no", result_after);
	printf("live patches: %d\n", hp_status(NULL, 0));
	if (good) {
		int good_id = hp_apply(good, good_size);
		if (good_id > 0)
			printf("intact package applied: %d\n", probe());
		else
			printf("intact package failed: %s: %s\n", hp_strerror(good_id), hp_last_error());
	}
	free(pkg);
	free(good);
	return id > 0 ? 0 : 1;
}
