/* xalloc.h — memory for hpdiff and hpdump, which are commands: running out of memory ends the
 * program with one line ("<program>: out of memory") and exit status 1, as other errors do,
 * instead of coming back as NULL where a caller could read it as "not found" or "not the same"
 * and carry on with a quietly wrong answer. */
#ifndef HP_XALLOC_H
#define HP_XALLOC_H

#include <stddef.h>

void *hp_xrealloc(void *p, size_t n);
void *hp_xcalloc(size_t count, size_t size);
char *hp_xstrdup(const char *s);

#endif
