/* prologue.c — checks a patchable prologue the way the runtime will rely on it. */
#include "prologue.h"

#include <string.h>

static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

/* One-byte instructions a compiler puts first in a function; overwriting two bytes there
 * would tear the next instruction under a thread that has just executed the first. */
static int is_one_byte_instruction(uint8_t op)
{
	return (op >= 0x50 && op <= 0x5f) || (op >= 0x90 && op <= 0x99) || op == 0x9c ||
	       op == 0x9d || op == 0xc3 || op == 0xc9 || op == 0xcc || op == 0xf4 ||
	       (op >= 0xf8 && op <= 0xfd);
}

void hp_prologue_inspect(const uint8_t *bytes, size_t len, uint64_t address, struct hp_prologue *out)
{
	const uint8_t *entry = bytes + HP_PROLOGUE_PADDING;
	memset(out, 0, sizeof *out);
	if (len < HP_PROLOGUE_PADDING + 2) {
		out->problem = "function too short to hold a patch site";
		return;
	}
	for (int i = 0; i < HP_PROLOGUE_PADDING; i++)
		if (bytes[i] != 0x90) {
			out->problem = "no patchable padding before the entry";
			return;
		}
	size_t code = len - HP_PROLOGUE_PADDING;
	out->site_offset = code >= sizeof endbr64 + 2 && !memcmp(entry, endbr64, sizeof endbr64) ?
	                       sizeof endbr64 : 0;
	memcpy(out->site, entry + out->site_offset, 2);
	uint64_t site = address + out->site_offset;
	if (site / 16 != (site + 1) / 16)
		out->problem = "entry site straddles a 16-byte boundary";
	else if (is_one_byte_instruction(out->site[0]))
		out->problem = "first instruction is shorter than 2 bytes";
}
