/* replace.c — a test program's fixed part for cumulative patches: it applies the package named
 * by argv[1] (v1 -> v2), then the one named by argv[2] (v1 -> v3, the same baseline) while the
 * first is live, printing fa(), fb(), fc() (in app.c) and the live patches (hp_status) after each
 * step; then it tries to revert the first patch (gone: replaced), reverts the second, and applies
 * the first again. */
#include <stdio.h>
#include <stdlib.h>
#include "replace-common.h"

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	show("v1");
	int v2 = apply(argv[1]);
	if (v2 < 0)
		return 1;
	show("v2");
	int v3 = apply(argv[2]);
	if (v3 < 0)
		return 1;
	show("v3");
	int rc = hp_revert(v2);
	printf("revert v2 (replaced): %s\n", rc ? hp_strerror(rc) : "ok");
	show("still v3");
	rc = hp_revert(v3);
	printf("revert v3: %s\n", rc ? hp_strerror(rc) : "ok");
	show("reverted");
	v2 = apply(argv[1]);
	if (v2 < 0)
		return 1;
	show("v2 again");
	return 0;
}
