/* apply_file.h — for test programs: applies the package in a file to the process itself
 * through the C API, printing why when it fails ("<what> failed: <error>: <detail>").
 * Returns the patch id, or the negative error. */
#ifndef HP_TEST_APPLY_FILE_H
#define HP_TEST_APPLY_FILE_H

#include <stdio.h>
#include <stdlib.h>
#include "hotpatch.h"
#include "read_file.h"

static inline int apply_file(const char *path, const char *what)
{
	size_t size = 0;
	void *pkg = read_all(path, &size);
	int id = hp_apply(pkg, size);
	free(pkg);
	if (id < 0)
		printf("%s failed: %s: %s\n", what, hp_strerror(id), hp_last_error());
	return id;
}

#endif
