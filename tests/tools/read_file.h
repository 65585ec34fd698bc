/* read_file.h — for test and benchmark programs: reads a whole file (a package) into memory.
 * Returns a malloc'ed buffer and its size in *size (0 on failure, buffer may still need free). */
#ifndef HP_TEST_READ_FILE_H
#define HP_TEST_READ_FILE_H

#include <stdio.h>
#include <stdlib.h>

static inline void *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	*size = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *buf = malloc(n > 0 ? (size_t)n : 1);
	*size = buf && n > 0 && fread(buf, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
	fclose(f);
	return buf;
}

#endif
