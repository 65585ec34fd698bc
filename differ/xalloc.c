/* xalloc.c — allocation that never fails quietly (xalloc.h). */
#define _GNU_SOURCE
#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(void)
{
	fprintf(stderr, "%s: out of memory\n", program_invocation_short_name);
	exit(1);
}

void *hp_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory();
	return q;
}

void *hp_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *hp_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(hp_xrealloc(NULL, n), s, n);
}
