/* site-data-redirect.c — a test program's fixed part: a package whose redirect was moved from
 * probe() to `decoy`, an array in .data that a constructor fills with probe()'s first bytes (its
 * padding and site, so that the bytes a package expects are there too), must be refused by the
 * runtime's own look at the process, and leave it as it was.  After the apply it prints whether
 * probe()'s code, decoy and the mappings are unchanged, and writes to decoy's page (`counter`,
 * next to it): had the runtime written a jump there and made the page read+execute, as it did
 * before checking, that write kills the process.  Exit status 1 when the package was refused. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hotpatch.h"
#include "read_file.h"

int probe(void);

/* In .data (initialised), 16-byte aligned like a function's padding; counter on the same page. */
struct decoy {
	unsigned char bytes[32];
	volatile int counter;
};
__attribute__((aligned(16))) struct decoy decoy = { { 1 }, 7 };

__attribute__((constructor)) static void fill_decoy(void)
{
	memcpy(decoy.bytes, (const unsigned char *)(void *)probe - 8, sizeof decoy.bytes);
}

static char maps_before[1 << 16], maps_after[1 << 16];

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const unsigned char *region = (const unsigned char *)(void *)probe - 16;
	unsigned char code_before[64], code_after[64], decoy_before[32];
	size_t size = 0;
	void *pkg = read_all(argv[1], &size);
	int result_before = probe();
	printf("before %d\n", result_before);
	fflush(stdout);
	memcpy(code_before, region, sizeof code_before);
	memcpy(decoy_before, decoy.bytes, sizeof decoy_before);
	read_maps(maps_before, sizeof maps_before);
	size_t maps_before_size = read_maps(maps_before, sizeof maps_before);

	int id = hp_apply(pkg, size);

	size_t maps_after_size = read_maps(maps_after, sizeof maps_after);
	memcpy(code_after, region, sizeof code_after);
	if (id > 0)
		printf("applied %d\n", id);
	else
		printf("apply failed: %s: %s\n", hp_strerror(id), hp_last_error());
	fflush(stdout);
	decoy.counter++;  /* dies here if decoy's page was made read+execute */
	printf("data page still writable: %d\n", decoy.counter);
	printf("decoy identical: %s\n", memcmp(decoy_before, decoy.bytes, sizeof decoy_before) ? "no" : "yes");
	printf("code identical: %s\n", memcmp(code_before, code_after, sizeof code_before) ? "no" : "yes");
	printf("maps identical: %s\n",
	       maps_before_size == maps_after_size && !memcmp(maps_before, maps_after, maps_before_size) ? "yes" : "no");
	printf("probe: %d\n", probe());
	printf("live patches: %d\n", hp_status(NULL, 0));
	free(pkg);
	return id > 0 ? 0 : 1;
}
