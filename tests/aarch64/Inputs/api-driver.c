/* api-driver.c — libhotpatch's API in an AArch64 process under qemu
 * (tests/aarch64/runtime-api.test): the packages named on the command line are applied with
 * hp_apply, each refused (an x86-64 package of another program, a corrupt one, a truncated
 * one), then hp_status and hp_revert with nothing live, and value() still the old one.  With
 * "serve" last, it then waits for hpctl, talking to its control channel from the host. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotpatch.h"

__attribute__((noinline)) int value(void) { return 1; }

int (*volatile value_p)(void) = value;

static void *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	*size = 0;
	if (!f)
		return NULL;
	for (size_t got; (data = realloc(data, *size + 65536)) && (got = fread(data + *size, 1, 65536, f)) > 0;)
		*size += got;
	fclose(f);
	return data;
}

int main(int argc, char **argv)
{
	int serve = argc > 1 && !strcmp(argv[argc - 1], "serve");
	for (int i = 1; i < argc - serve; i++) {
		size_t size;
		void *package = read_file(argv[i], &size);
		if (!package) {
			printf("%s: cannot read\n", argv[i]);
			return 1;
		}
		const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		int rc = hp_apply(package, size);
		printf("%s: %s%d (%s): %s\n", name, rc < 0 ? "refused " : "APPLIED ", rc, hp_strerror(rc), hp_last_error());
		free(package);
	}
	struct hp_patch_status status[4];
	printf("status: %d live\n", hp_status(status, 4));
	int rc = hp_revert(0);
	printf("revert: %d (%s): %s\n", rc, hp_strerror(rc), hp_last_error());
	printf("value: %d\n", value_p());
	fflush(stdout);
	while (serve)
		pause();
	return 0;
}
