/* rehash-package.c FILE: recomputes a hotpatch package's checksum in place (XXH3-128 of the
 * file with the checksum field zeroed, canonical form, as runtime/package.c checks it), so that
 * a test can change a package's content and still have it pass the checksum. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>
#include "hp_package.h"

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	FILE *f = fopen(argv[1], "r+b");
	if (!f)
		return 1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	const size_t at = offsetof(struct hp_pkg_header, checksum);
	unsigned char *p = malloc(n > 0 ? (size_t)n : 1);
	if (!p || n < (long)sizeof(struct hp_pkg_header) || fread(p, 1, (size_t)n, f) != (size_t)n)
		return 1;
	memset(p + at, 0, 16);
	XXH128_canonical_t sum;
	XXH128_canonicalFromHash(&sum, XXH3_128bits(p, (size_t)n));
	fseek(f, (long)at, SEEK_SET);
	if (fwrite(sum.digest, 1, 16, f) != 16 || fclose(f))
		return 1;
	return 0;
}
