/* replace-upgraded.c — a test program's fixed part for a cumulative patch applied after the
 * program's file was replaced on disk, as a package upgrade does while the old process keeps
 * running: it applies the package named by argv[1] (v1 -> v2), then renames a copy of its own
 * executable over the file it was started from (the running image is now of a deleted file),
 * then applies the package named by argv[2] (v1 -> v3), which must replace the first.  It prints
 * fa(), fb(), fc() (in app.c) and the live patches (hp_status) after each step. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "replace-common.h"

/* Installs a copy of the program's file in its place (write beside, rename over), like dpkg. */
static int upgrade_on_disk(void)
{
	char self[PATH_MAX], tmp[PATH_MAX + 8];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -1;
	self[n] = 0;
	snprintf(tmp, sizeof tmp, "%s.new", self);
	size_t size = 0;
	void *image = read_all(self, &size);
	FILE *f = fopen(tmp, "wb");
	int ok = image && size && f && fwrite(image, 1, size, f) == size;
	if (f)
		ok = !fclose(f) && ok;
	free(image);
	return ok && !chmod(tmp, 0755) && !rename(tmp, self) ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	show("v1");
	if (apply(argv[1]) < 0)
		return 1;
	show("v2");
	if (upgrade_on_disk()) {
		printf("cannot replace the program's file\n");
		return 1;
	}
	printf("program file replaced on disk\n");
	if (apply(argv[2]) < 0)
		return 1;
	show("v3");
	return 0;
}
