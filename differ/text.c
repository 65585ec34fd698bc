/* text.c — hex digests, JSON strings and source names for the tools' output. */
#include "text.h"

#include <stdio.h>
#include <string.h>

void hp_hex(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = 0;
}

void hp_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

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
