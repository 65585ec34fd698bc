/* site_aarch64.c — the AArch64 patch site (site.h): one NOP at the entry, after a `bti c` or
 * `bti jc` landing pad when branch protection is on, which the runtime turns into `B new_code`.
 * Why this layout (docs/design.md, "The AArch64 site"): a running instruction may be replaced
 * under other cores only by one of a few kinds (B, BL, NOP, BRK, ...), in one aligned 4-byte
 * store, so the site cannot be whatever the function starts with: it must be the plugin's NOP.
 * libc only. */
#include "site.h"

#include <elf.h>
#include <string.h>

static uint32_t word_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The landing pads a function reached by an indirect call starts with: BTI c and BTI jc (HINT
 * #34, #38).  PACIASP, also a landing pad, comes after the NOP: LLVM emits the patchable entry
 * before the prologue. */
static int is_landing_pad(uint32_t insn)
{
	return insn == 0xd503245fu || insn == 0xd50324dfu;
}

static void inspect(const uint8_t *bytes, size_t len, uint64_t address, struct hp_site *out)
{
	memset(out, 0, sizeof *out);
	if (len < HP_AARCH64_SITE_SIZE) {
		out->problem = "function too short to hold a patch site";
		return;
	}
	if (address % HP_AARCH64_SITE_ALIGN) {
		out->problem = "entry not aligned to 4 bytes";
		return;
	}
	if (len >= HP_AARCH64_SITE_MARKER_SIZE + HP_AARCH64_SITE_SIZE && is_landing_pad(word_at(bytes)))
		out->offset = HP_AARCH64_SITE_MARKER_SIZE;
	memcpy(out->bytes, bytes + out->offset, HP_AARCH64_SITE_SIZE);
	if (word_at(out->bytes) != HP_AARCH64_NOP)
		out->problem = "no patchable NOP at the entry";
}

/* LLVM's patchable-function-entry puts its NOPs after the landing pad and before the prologue. */
const struct hp_site_arch hp_site_aarch64 = {
	.name = "AArch64",
	.elf_machine = EM_AARCH64,
	.padding = HP_AARCH64_SITE_PADDING,
	.size = HP_AARCH64_SITE_SIZE,
	.marker_size = HP_AARCH64_SITE_MARKER_SIZE,
	.align = HP_AARCH64_SITE_ALIGN,
	.prefix_value = NULL,
	.entry_key = "patchable-function-entry",
	.entry_value = "1",
	.entry_optional = 0,
	.inspect = inspect,
};

#if defined(__aarch64__)
void hp_site_inspect(const uint8_t *bytes, size_t len, uint64_t address, struct hp_site *out)
{
	inspect(bytes, len, address, out);
}
#endif
