/* source_name.c — file-local names as the source spells them, for the tools' output. */
#include "source_name.h"

#include <stdio.h>
#include <string.h>

void hp_source_name(const char *s, char *out, size_t size)
{
	static const char mark[] = ".__uniq.";
	size_t n = 0;
	if (!size)
		return;
	while (*s && n + 1 < size) {
		if (!strncmp(s, mark, sizeof mark - 1) && s[sizeof mark - 1] >= '0' && s[sizeof mark - 1] <= '9') {
			s += sizeof mark - 1;
			while (*s >= '0' && *s <= '9')
				s++;
			continue;
		}
		out[n++] = *s++;
	}
	out[n] = 0;
}
