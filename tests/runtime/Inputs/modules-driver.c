/* modules-driver.c — a test program that applies the package named on its command line to itself
 * with hp_apply_modules() and prints what became of each module, then what hp_patch_modules()
 * says of the live patch, before and after revert.  The code under test is scale() (foo.c). */
#include <stdio.h>
#include <stdlib.h>
#include "hotpatch.h"
#include "read_file.h"

int scale(int x);

static void print(const struct hp_module_result *r, size_t n)
{
	static const char *const states[] = { "?", "applied", "skipped" };
	for (size_t i = 0; i < n; i++)
		printf("  %s %s %u functions %s\n", r[i].name, states[r[i].state <= 2 ? r[i].state : 0], r[i].functions,
		       r[i].path);
}

int main(int argc, char **argv)
{
	printf("before %d\n", scale(1000));
	if (argc < 2)
		return 0;
	size_t size = 0, count = 0;
	void *pkg = read_all(argv[1], &size);
	struct hp_module_result r[8];
	int id = hp_apply_modules(pkg, size, r, 8, &count);
	free(pkg);
	if (id < 0) {
		printf("apply failed: %s: %s\n", hp_strerror(id), hp_last_error());
		printf("live patches: %d\n", hp_status(NULL, 0));
		return 1;
	}
	printf("apply: patch %d, %zu modules\n", id, count);
	print(r, count < 8 ? count : 8);
	printf("after %d\n", scale(1000));
	int n = hp_patch_modules(id, r, 8);
	printf("patch %d: %d modules\n", id, n);
	print(r, n > 0 ? (size_t)(n < 8 ? n : 8) : 0);
	int rc = hp_revert(id);
	printf("reverted: %d\n", rc ? -1 : scale(1000));
	n = hp_patch_modules(id, r, 8);
	if (n < 0)
		printf("patch %d: %s\n", id, hp_strerror(n));
	return 0;
}
