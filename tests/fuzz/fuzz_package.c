/* fuzz_package.c — libFuzzer target for the package reader (contract/package_read.c,
 * hp_package_decode), unwind tables included.  The input's checksum is made right before it is
 * decoded: otherwise almost every input would stop at "checksum mismatch" and the checks behind
 * it (modules, redirects, imports, relocations, the unwind table) would never be reached.  What
 * is decoded is then walked as the runtime and hpdump read it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "package_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that ASan sees a read one byte past the input. */
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	const size_t at = offsetof(struct hp_pkg_header, checksum);
	if (size >= sizeof(struct hp_pkg_header)) {
		memset(p + at, 0, 16);
		XXH128_canonical_t sum;
		XXH128_canonicalFromHash(&sum, XXH3_128bits(p, size));
		memcpy(p + at, sum.digest, 16);
	}
	struct hp_package *pkg = NULL;
	char err[256];
	if (hp_package_decode(p, size, &pkg, err, sizeof err) == 0) {
		/* Everything the reader vouched for is read once: each name, each segment byte, the
		 * unwind table. */
		volatile unsigned sink = 0;
		for (uint32_t i = 0; i < pkg->module_count; i++) {
			const struct hp_package_module *m = &pkg->modules[i];
			sink += (unsigned)strlen(m->name);
			for (uint32_t k = 0; k < m->redirect_count; k++)
				sink += (unsigned)strlen(m->redirects[k].name) + m->redirects[k].expected[0];
			for (uint32_t k = 0; k < m->import_count; k++)
				sink += (unsigned)strlen(m->imports[k].name);
			for (int s = 0; s < HP_SEG_COUNT; s++)
				for (uint32_t b = 0; m->segment[s] && b < m->segment_size[s]; b += 64)
					sink += m->segment[s][b];
			if (m->eh_frame_size)
				sink += m->segment[HP_SEG_RODATA][m->eh_frame_offset + m->eh_frame_size - 1];
		}
		(void)sink;
	}
	hp_package_free(pkg);
	free(p);
	return 0;
}
