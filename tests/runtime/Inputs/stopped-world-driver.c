/* stopped-world-driver.c — a test program's fixed part for code built with the plugin's
 * entry=padding-only, whose probe() starts with a 1-byte instruction: its entry can be switched
 * only in a stopped world (contract/site.h).  It applies the package argv[1] as hpctl's plain
 * apply would (hp_apply: refused, and the process exactly as it was: probe()'s code, the
 * mappings, its result), then as the stopped-world path does (hp_apply_world with world_stopped
 * 1, which this single-threaded process honestly is); then argv[2], a package for the same build
 * that also redirects probe(), with no stopped world: a replace only retargets the slot, so it is
 * applied; then argv[3], a package that replaces it but no longer redirects other(), which gets
 * its original bytes back: no stopped world needed either (one atomic store over the short
 * jump); then reverts, which gives probe() its bytes back the same way: the code as it was
 * before any apply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "history.h"
#include "hotpatch.h"
#include "read_file.h"

int probe(void);
int other(void);

static char maps_before[1 << 16], maps_after[1 << 16];

static int same_maps(size_t before, size_t after)
{
	return before == after && !memcmp(maps_before, maps_after, before);
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	const unsigned char *region = (const unsigned char *)(void *)probe - 16;
	unsigned char original[64];
	const unsigned char *other_region = (const unsigned char *)(void *)other - 16;
	unsigned char other_original[64];
	size_t size = 0, size2 = 0, size3 = 0;
	void *pkg = read_all(argv[1], &size), *pkg2 = read_all(argv[2], &size2), *pkg3 = read_all(argv[3], &size3);
	struct hp_requester self = hp_requester_self();

	printf("before %d %d\n", probe(), other());
	read_maps(maps_before, sizeof maps_before);  /* once to warm up whatever it touches */
	memcpy(original, region, sizeof original);
	memcpy(other_original, other_region, sizeof other_original);
	size_t maps_before_size = read_maps(maps_before, sizeof maps_before);
	int id = hp_apply(pkg, size);
	size_t maps_after_size = read_maps(maps_after, sizeof maps_after);
	if (id > 0)
		printf("applied %d without a stopped world\n", id);
	else
		printf("apply failed: %d %s: %s\n", -id, hp_strerror(id), hp_last_error());
	printf("code identical: %s\n", memcmp(original, region, sizeof original) ? "no" : "yes");
	printf("maps identical: %s\n", same_maps(maps_before_size, maps_after_size) ? "yes" : "no");
	printf("probe: %d\n", probe());
	printf("live patches: %d\n", hp_status(NULL, 0));

	static const struct hp_stopped_world alone = { NULL, NULL, NULL };  /* one thread: stopped */
	id = hp_apply_world(pkg, size, 0, &self, &alone, NULL, 0, NULL);
	if (id <= 0) {
		printf("stopped-world apply failed: %s: %s\n", hp_strerror(id), hp_last_error());
		return 1;
	}
	printf("applied %d in a stopped world: probe %d other %d\n", id, probe(), other());

	id = hp_apply(pkg2, size2);
	if (id <= 0)
		printf("replace failed: %s: %s\n", hp_strerror(id), hp_last_error());
	else
		printf("replaced by %d without a stopped world: probe %d other %d\n", id, probe(), other());

	id = hp_apply(pkg3, size3);
	if (id <= 0)
		printf("second replace failed: %d %s: %s\n", -id, hp_strerror(id), hp_last_error());
	else
		printf("replaced by %d without a stopped world: probe %d other %d\n", id, probe(), other());
	printf("other's code as before any apply: %s\n",
	       memcmp(other_original, other_region, sizeof other_original) ? "no" : "yes");

	int rc = hp_revert(0);
	if (rc < 0)
		printf("revert failed: %d %s: %s\n", -rc, hp_strerror(rc), hp_last_error());
	else
		printf("reverted without a stopped world: probe %d\n", probe());
	printf("code as before any apply: %s\n", memcmp(original, region, sizeof original) ? "no" : "yes");
	printf("live patches: %d\n", hp_status(NULL, 0));
	free(pkg);
	free(pkg2);
	free(pkg3);
	return 0;
}
