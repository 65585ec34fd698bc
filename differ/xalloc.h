/* xalloc.h — memory for hpdiff and hpdump, which are commands: running out of memory ends the
 * program with one line ("<program>: out of memory") and exit status 1, as other errors do,
 * instead of coming back as NULL where a caller could read it as "not found" or "not the same"
 * and carry on with a quietly wrong answer. */
#ifndef HP_XALLOC_H
#define HP_XALLOC_H

#include <stddef.h>
#include <stdlib.h>

void *hp_xrealloc(void *p, size_t n);
void *hp_xcalloc(size_t count, size_t size);
char *hp_xstrdup(const char *s);

/* qsort and bsearch for arrays that may be empty, and then NULL (an array grown from nothing by
 * realloc): the C library declares both pointers non-null even for zero elements, so passing
 * NULL is undefined behaviour (UBSan reports it), whatever the count.  Every sort and search of
 * the differ goes through these. */
static inline void hp_sort(void *base, size_t count, size_t size, int (*cmp)(const void *, const void *))
{
	if (count > 1)
		qsort(base, count, size, cmp);
}

static inline void *hp_search(const void *key, const void *base, size_t count, size_t size,
                              int (*cmp)(const void *, const void *))
{
	return count ? bsearch(key, base, count, size, cmp) : NULL;
}

#endif
