/* site_x86_64.c — the x86-64 patch site (site.h): how an entry is checked and the two jumps the
 * runtime writes.  libc only: the runtime, the differ, hpdump and the plugin all link it. */
#include "site.h"

#include <elf.h>
#include <string.h>

#define PADDING HP_X86_64_SITE_PADDING
#define SIZE HP_X86_64_SITE_SIZE
#define ALIGN HP_X86_64_SITE_ALIGN
#define TRAP HP_X86_64_SITE_TRAP

static const uint8_t endbr64[HP_X86_64_SITE_MARKER_SIZE] = { 0xf3, 0x0f, 0x1e, 0xfa };

/* One-byte instructions a compiler puts first in a function; overwriting two bytes there
 * would tear the next instruction under a thread that has just executed the first, unless every
 * thread is stopped elsewhere (site.h, needs_stopped_world). */
static int is_one_byte_instruction(uint8_t op)
{
	return (op >= 0x50 && op <= 0x5f) || (op >= 0x90 && op <= 0x99) || op == 0x9c ||
	       op == 0x9d || op == 0xc3 || op == 0xc9 || op == 0xcc || op == 0xf4 ||
	       (op >= 0xf8 && op <= 0xfd);
}

static void inspect(const uint8_t *bytes, size_t len, uint64_t address, struct hp_site *out)
{
	const uint8_t *entry = bytes + PADDING;
	memset(out, 0, sizeof *out);
	if (len < PADDING + SIZE) {
		out->problem = "function too short to hold a patch site";
		return;
	}
	for (int i = 0; i < PADDING; i++)
		if (bytes[i] != 0x90) {
			out->problem = "no patchable padding before the entry";
			return;
		}
	size_t code = len - PADDING;
	out->offset = code >= sizeof endbr64 + SIZE && !memcmp(entry, endbr64, sizeof endbr64) ? sizeof endbr64 : 0;
	memcpy(out->bytes, entry + out->offset, SIZE);
	uint64_t site = address + out->offset;
	if (site / ALIGN != (site + SIZE - 1) / ALIGN)
		out->problem = "entry site straddles a 16-byte boundary";
	else if (out->bytes[0] == 0xc3 || out->bytes[0] == 0xcc || out->bytes[0] == 0xf4)
		/* ret, int3, hlt: nothing of the function follows, so the site's second byte is not its
		 * own (alignment filler, or another function's code). */
		out->problem = "the function is one 1-byte instruction: a site there would reach past its end";
	else
		out->needs_stopped_world = is_one_byte_instruction(out->bytes[0]);
}

void hp_site_slot_jump(uint64_t from_end, uint64_t slot, uint8_t out[HP_X86_64_SLOT_JUMP_SIZE])
{
	int32_t rel = (int32_t)(slot - from_end);
	static const uint8_t jump[HP_X86_64_SLOT_JUMP_SIZE] = { 0xff, 0x25, 0, 0, 0, 0, TRAP, TRAP };
	memcpy(out, jump, sizeof jump);
	memcpy(out + HP_X86_64_SLOT_JUMP_DISP, &rel, sizeof rel);
}

void hp_site_entry_jump(uint32_t site_offset, uint8_t out[HP_X86_64_SITE_SIZE])
{
	out[0] = 0xeb;  /* jmp rel8 */
	out[1] = (uint8_t)(int8_t)(-(int)(PADDING + site_offset + SIZE));
}

/* LLVM lays the site out with the padding as a prefix and, for the entry, prologue-short-redirect:
 * a 2-byte no-op before a first instruction shorter than 2 bytes (entry=padding-only leaves it
 * out where the function's first block is sure to hold the site: pass.c). */
const struct hp_site_arch hp_site_x86_64 = {
	.name = "x86-64",
	.elf_machine = EM_X86_64,
	.padding = PADDING,
	.size = SIZE,
	.marker_size = HP_X86_64_SITE_MARKER_SIZE,
	.align = ALIGN,
	.prefix_value = "8",
	.entry_key = "patchable-function",
	.entry_value = "prologue-short-redirect",
	.entry_optional = 1,
	.inspect = inspect,
};
_Static_assert(PADDING == 8, "hp_site_x86_64.prefix_value spells the padding");

#if defined(__x86_64__)
void hp_site_inspect(const uint8_t *bytes, size_t len, uint64_t address, struct hp_site *out)
{
	inspect(bytes, len, address, out);
}
#endif
