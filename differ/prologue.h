/* prologue.h — where a function built with the plugin can be redirected, and whether it can:
 * 8 bytes of NOP padding before the symbol, then (after an endbr64, if any) a 2-byte site that
 * must not straddle a 16-byte boundary and must not start with a one-byte instruction. */
#ifndef HP_PROLOGUE_H
#define HP_PROLOGUE_H

#include <stddef.h>
#include <stdint.h>

#define HP_PROLOGUE_PADDING 8      /* bytes before the symbol */
#define HP_PROLOGUE_SPAN 14        /* padding + endbr64 + 2-byte site: bytes to inspect */

struct hp_prologue {
	uint32_t site_offset;      /* from the symbol: 0, or 4 after endbr64 */
	uint8_t site[2];           /* the bytes found at the site: what a patch must find and restore */
	const char *problem;       /* NULL when patchable; otherwise why not */
};

/* bytes: up to HP_PROLOGUE_SPAN bytes (len) starting HP_PROLOGUE_PADDING before the symbol;
 * address: the symbol's address (or section offset in an object, whose sections are 16-byte
 * aligned). */
void hp_prologue_inspect(const uint8_t *bytes, size_t len, uint64_t address, struct hp_prologue *out);

#endif
