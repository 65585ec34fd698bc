/* api-driver.c — a test program's fixed part for libhotpatch's API in an AArch64 process under
 * qemu (tests/aarch64/runtime-api.test): each package named on the command line is applied with
 * hp_apply, and the program prints what became of it, value() (in app.c) and the live patches;
 * then it reverts the newest live patch, if any, twice.  With "serve" last, it reverts nothing
 * (hpctl may have applied a package by then) and waits for hpctl, talking to its control channel
 * from the host. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotpatch.h"
#include "read_file.h"

int value(void);

static int live(void)
{
	struct hp_patch_status status[4];
	return hp_status(status, 4);
}

int main(int argc, char **argv)
{
	int serve = argc > 1 && !strcmp(argv[argc - 1], "serve");
	for (int i = 1; i < argc - serve; i++) {
		size_t size;
		void *package = read_all(argv[i], &size);
		const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		int rc = size ? hp_apply(package, size) : -HP_E_PACKAGE;
		if (rc < 0)
			printf("%s: refused %d (%s): %s; value %d, %d live\n", name, rc, hp_strerror(rc), hp_last_error(),
			       value(), live());
		else
			printf("%s: applied, patch %d; value %d, %d live\n", name, rc, value(), live());
		free(package);
	}
	for (int i = 0; i < 2 && !serve; i++) {
		int rc = hp_revert(0);
		printf("revert: %d (%s): %s; value %d, %d live\n", rc, hp_strerror(rc), hp_last_error(), value(), live());
	}
	fflush(stdout);
	while (serve)
		pause();
	return 0;
}
