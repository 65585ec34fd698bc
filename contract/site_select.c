/* site_select.c — which architecture's patch site (site.h) applies to code the host tools read
 * or build: by ELF machine for hpdump and hpdiff, by target triple for the plugin.  The runtime
 * has one architecture, its own (HP_SITE_NATIVE), and does not link this. */
#include "site.h"

#include <string.h>

static const struct hp_site_arch *const known[] = { &hp_site_x86_64, &hp_site_aarch64 };

const struct hp_site_arch *hp_site_arch_for_machine(unsigned elf_machine)
{
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (known[i]->elf_machine == elf_machine)
			return known[i];
	return NULL;
}

/* The triple's first component: "x86_64", "aarch64" (and its "arm64" spelling); not
 * "aarch64_be" (big-endian) nor "aarch64_32" (ILP32). */
const struct hp_site_arch *hp_site_arch_for_triple(const char *triple)
{
	size_t n = strcspn(triple ? triple : "", "-");
	if (n == 6 && !strncmp(triple, "x86_64", 6))
		return &hp_site_x86_64;
	if ((n == 7 && !strncmp(triple, "aarch64", 7)) || (n == 5 && !strncmp(triple, "arm64", 5)))
		return &hp_site_aarch64;
	return NULL;
}
