/* site.h — the patch site: what the plugin lays out before and at every function's entry, what
 * hpdiff and hpdump check in built code, and the instructions the runtime writes there.  The
 * three must agree byte for byte; this header is where they do.
 *
 * Every architecture gives the same facts (docs/design.md, "The prologue"):
 *   - HP_SITE_PADDING bytes of NOP padding before the symbol, which the runtime turns into a jump
 *     through an 8-byte slot it owns near the module;
 *   - a site of HP_SITE_SIZE bytes at the entry (after a branch-target marker, if any), which the
 *     runtime turns, in one atomic store, into a short jump back into the padding;
 *   - functions aligned to HP_SITE_ALIGN, so that the site never straddles an aligned block that
 *     one store can change for every thread at once.
 * The plugin makes the first instruction at least HP_SITE_SIZE bytes long, so that no thread can
 * be inside the site when it is switched.  Built with -fplugin-arg-hotpatch-entry=padding-only it
 * does not (that costs an executed no-op before each short first instruction), and a site whose
 * first instruction is shorter can be switched only while every other thread is stopped outside
 * it: hp_site_inspect says so (needs_stopped_world), the package carries it
 * (HP_REDIRECT_STOPPED_WORLD), and the runtime holds to it.
 * One implementation file per architecture provides the functions below (site_x86_64.c today);
 * another architecture adds its own file and its constants here, nothing else. */
#ifndef HP_SITE_H
#define HP_SITE_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#define HP_SITE_ARCH "x86_64"
#define HP_SITE_PADDING 8          /* bytes before the symbol */
#define HP_SITE_SIZE 2             /* bytes at the site that the redirect replaces */
#define HP_SITE_MARKER_SIZE 4      /* endbr64, which may precede the site */
#define HP_SITE_SPAN 14            /* padding + marker + site: the bytes to inspect */
#define HP_SITE_ALIGN 16           /* function alignment the plugin asks for */
#define HP_SITE_TRAP 0xcc          /* int3: fills the padding jump's tail and gaps in new code */
#define HP_SLOT_JUMP_SIZE 8        /* `jmp *slot(%rip)` (6 bytes) and two traps: one store */
#define HP_SLOT_JUMP_DISP 2        /* where its 32-bit displacement sits */
#define HP_SLOT_JUMP_END 6         /* the displacement counts from here */
#else
#error "hotpatch: no patch-site facts for this architecture (contract/site.h)"
#endif

/* HP_SITE_PADDING as the decimal text of a function attribute (the plugin's). */
#define HP_SITE_TEXT_(n) #n
#define HP_SITE_TEXT(n) HP_SITE_TEXT_(n)

/* What a function's entry offers for a redirect. */
struct hp_site {
	uint32_t offset;           /* from the symbol: 0, or past the branch-target marker */
	uint8_t bytes[HP_SITE_SIZE]; /* found at the site: what a patch must find and restore */
	const char *problem;       /* NULL when patchable; otherwise why not */
	/* Patchable, but its first instruction is shorter than the site: a thread that has run it
	 * and not the next would, once the site is switched, resume inside the new jump.  So it may
	 * be redirected only while every thread but the writer is stopped and none has its next
	 * instruction strictly inside the site (past its first byte, before its end).  Giving it its
	 * bytes back needs no such care: no thread can be inside the short jump. */
	int needs_stopped_world;
};

/* bytes: up to HP_SITE_SPAN bytes (len) starting HP_SITE_PADDING before the symbol; address:
 * the symbol's address (or section offset in an object, whose text sections are aligned to
 * HP_SITE_ALIGN).  Checks the site the way the runtime will rely on it: problem, or how it may
 * be switched (needs_stopped_world). */
void hp_site_inspect(const uint8_t *bytes, size_t len, uint64_t address, struct hp_site *out);

/* The padding's jump through a slot, as HP_SLOT_JUMP_SIZE bytes: from_end is the address right
 * after the jump's displacement (the padding's start + HP_SLOT_JUMP_END), slot the slot's
 * address.  With from_end == slot it is the template hpdiff places for import stubs, whose
 * displacement a relocation fills in (at HP_SLOT_JUMP_DISP, addend -4: the displacement's own
 * distance from the end). */
void hp_site_slot_jump(uint64_t from_end, uint64_t slot, uint8_t out[HP_SLOT_JUMP_SIZE]);

/* The site's short jump back to the padding's start, for a site site_offset bytes past the
 * symbol. */
void hp_site_entry_jump(uint32_t site_offset, uint8_t out[HP_SITE_SIZE]);

#endif
