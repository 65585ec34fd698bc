/* twice.h — the main of an AArch64 test program (a64-pair.sh): prints what the program computes
 * (show), then, given a package, applies it to itself (apply-in-process.c) and prints it again,
 * so that the second part can be compared with what the new build prints.  show must not be
 * inlined (it would then be main's own code, which keeps running unpatched) and must read its
 * inputs from volatile objects (the compiler may otherwise reuse the first results). */
#ifndef TWICE_H
#define TWICE_H

#include <stdio.h>

int hp_test_apply(const char *path);

static int twice(int argc, char **argv, void (*show)(void))
{
	setvbuf(stdout, NULL, _IONBF, 0);
	show();
	if (argc < 2)
		return 0;
	if (hp_test_apply(argv[1]))
		return 1;
	printf("-- applied\n");
	show();
	return 0;
}

#endif
