/* text.c — hex digests and JSON strings (text.h). */
#include "text.h"

#include <stdio.h>

void hp_hex(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = 0;
}

/* How many bytes of well-formed UTF-8 start at s (1 to 4), or 0 when s[0] starts none. */
static int utf8_length(const unsigned char *s)
{
	int n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	unsigned char lo = s[0] == 0xe0 ? 0xa0 : s[0] == 0xf0 ? 0x90 : 0x80;  /* no overlong forms, */
	unsigned char hi = s[0] == 0xed ? 0x9f : s[0] == 0xf4 ? 0x8f : 0xbf;  /* surrogates or past U+10FFFF */
	for (int i = 1; i < n; i++)
		if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
			return 0;
	return n;
}

/* JSON must be UTF-8: a byte that is not part of well-formed UTF-8 (a Latin-1 reason in the
 * author's source, a path) is written as the code point of the same number. */
void hp_json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		int n = c < 0x80 ? 1 : utf8_length(p);
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f || !n)
			printf("\\u%04x", c);
		else {
			fwrite(p, 1, (size_t)n, stdout);
			p += n - 1;
		}
	}
	putchar('"');
}
