/* replace.c — a test program's fixed part for cumulative patches: it applies the package named
 * by argv[1] (v1 -> v2), then the one named by argv[2] (v1 -> v3, the same baseline) while the
 * first is live, printing fa(), fb(), fc() (in app.c) and the live patches (hp_status) after each
 * step; then it tries to revert the first patch (gone: replaced), reverts the second, and applies
 * the first again. */
#include <stdio.h>
#include <stdlib.h>
#include "hotpatch.h"
#include "apply_file.h"

int fa(void);
int fb(void);
int fc(void);


static void show(const char *when)
{
	struct hp_patch_status st[4];
	int live = hp_status(st, 4);
	printf("%s: fa %d fb %d fc %d; %d live", when, fa(), fb(), fc(), live);
	for (int i = 0; i < live && i < 4; i++)
		printf(" [id %d, %u functions]", st[i].id, st[i].functions);
	printf("\n");
}

/* "apply <path> failed: ..." when it fails: the test applies two packages. */
static int apply(const char *path)
{
	char what[4096];
	snprintf(what, sizeof what, "apply %s", path);
	return apply_file(path, what);
}

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
