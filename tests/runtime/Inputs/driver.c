/* driver.c — a test program's fixed part: it applies the package named on its command line to
 * itself through the C API, calling the code under test (probe(), in app.c) before and after
 * apply, after revert, and after applying again. */
#include <stdio.h>
#include <stdlib.h>
#include "hotpatch.h"
#include "apply_file.h"

int probe(void);

int main(int argc, char **argv)
{
	printf("before %d\n", probe());
	if (argc < 2)
		return 0;
	int id = apply_file(argv[1], "apply");
	if (id < 0)
		return 1;
	struct hp_patch_status st[4];
	int live = hp_status(st, 4);
	printf("applied %d: %d live, %u functions\n", id, live, live > 0 ? st[0].functions : 0);
	printf("after %d\n", probe());
	int rc = hp_revert(id);
	printf("reverted %s: %d\n", rc ? hp_strerror(rc) : "ok", probe());
	id = apply_file(argv[1], "apply");
	printf("again %d\n", id > 0 ? probe() : -1);
	return 0;
}
