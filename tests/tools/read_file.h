/* read_file.h — for test and benchmark programs: reads a whole file (a package) into memory, and
 * the process's own mappings into a buffer of the caller's. */
#ifndef HP_TEST_READ_FILE_H
#define HP_TEST_READ_FILE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Returns a malloc'ed buffer and its size in *size (0 on failure, buffer may still need free). */
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

/* Reads /proc/self/maps into buf (at most size bytes) without allocating, so that the read itself
 * changes no mapping; returns the bytes read (0 when it cannot be opened). */
static inline size_t read_maps(char *buf, size_t size)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;
	if (fd < 0)
		return 0;
	while (n < size && (r = read(fd, buf + n, size - n)) > 0)
		n += (size_t)r;
	close(fd);
	return n;
}

#endif
