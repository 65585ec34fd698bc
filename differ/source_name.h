/* source_name.h — source names as the tools print them (hpdump, hpdiff). */
#ifndef HP_SOURCE_NAME_H
#define HP_SOURCE_NAME_H

#include <stddef.h>

/* Copies s into out (size bytes) with every ".__uniq.<digits>" removed: file-local names as the
 * source spells them ("parse.__uniq.123" -> "parse"), also inside a sentence. */
void hp_source_name(const char *s, char *out, size_t size);

#endif
