/* replace-common.h — for the cumulative-patch test programs (replace.c, replace-upgraded.c):
 * the functions under test (fa, fb, fc in app.c), a line showing them and the live patches, and
 * applying a package by file name ("apply <path> failed: ..." when it fails). */
#ifndef HP_TEST_REPLACE_COMMON_H
#define HP_TEST_REPLACE_COMMON_H

#include <stdio.h>
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

static int apply(const char *path)
{
	char what[4096];
	snprintf(what, sizeof what, "apply %s", path);
	return apply_file(path, what);
}

#endif
