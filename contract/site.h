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
 * One implementation file per architecture provides its struct hp_site_arch (site_x86_64.c,
 * site_aarch64.c); the host tools choose one by the code they read (hp_site_arch_for_machine,
 * _for_triple), the runtime uses its own (HP_SITE_NATIVE and the HP_SITE_* numbers). */
#ifndef HP_SITE_H
#define HP_SITE_H

#include <stddef.h>
#include <stdint.h>

/* x86-64 (site_x86_64.c): 8 bytes of padding that become `jmp *slot(%rip)`; a 2-byte site (a
 * 2-byte no-op, or the first instruction when at least that long) after an optional endbr64. */
#define HP_X86_64_SITE_PADDING 8   /* bytes before the symbol */
#define HP_X86_64_SITE_SIZE 2      /* bytes at the site that the redirect replaces */
#define HP_X86_64_SITE_MARKER_SIZE 4  /* endbr64, which may precede the site */
#define HP_X86_64_SITE_ALIGN 16    /* function alignment the plugin asks for */
#define HP_X86_64_SITE_TRAP 0xcc   /* int3: fills the padding jump's tail and gaps in new code */
#define HP_X86_64_SLOT_JUMP_SIZE 8 /* `jmp *slot(%rip)` (6 bytes) and two traps: one store */
#define HP_X86_64_SLOT_JUMP_DISP 2 /* where its 32-bit displacement sits */
#define HP_X86_64_SLOT_JUMP_END 6  /* the displacement counts from here */

/* AArch64 (site_aarch64.c): no padding; the site is one NOP at the entry (after `bti c` when
 * branch protection is on) that becomes `B new_code`.  The architecture lets a running program's
 * instruction change under other cores only between a few kinds (B, BL, NOP, BRK, ...), so the
 * plugin always emits the NOP, and the new code must lie within a B's reach (±128 MiB). */
#define HP_AARCH64_SITE_PADDING 0
#define HP_AARCH64_SITE_SIZE 4
#define HP_AARCH64_SITE_MARKER_SIZE 4 /* bti c (or bti jc) */
#define HP_AARCH64_SITE_ALIGN 4
#define HP_AARCH64_NOP 0xd503201fu
#define HP_AARCH64_BRK 0xd4200000u /* brk #0: fills gaps in new code */
#define HP_AARCH64_B 0x14000000u   /* b <imm26>: what the runtime writes over the NOP (its offset
                                      encoded as HP_RELOC_A64_BRANCH26's, contract/reloc.c) */

#define HP_SITE_MAX_SIZE 4         /* the largest site of any architecture */

/* The architecture this code is compiled for: the runtime's, which patches its own process. */
#if defined(__x86_64__)
#define HP_SITE_ARCH "x86_64"
#define HP_SITE_PADDING HP_X86_64_SITE_PADDING
#define HP_SITE_SIZE HP_X86_64_SITE_SIZE
#define HP_SITE_MARKER_SIZE HP_X86_64_SITE_MARKER_SIZE
#define HP_SITE_SPAN (HP_SITE_PADDING + HP_SITE_MARKER_SIZE + HP_SITE_SIZE)  /* bytes to inspect */
#define HP_SITE_ALIGN HP_X86_64_SITE_ALIGN
#define HP_SITE_TRAP HP_X86_64_SITE_TRAP
#define HP_SLOT_JUMP_SIZE HP_X86_64_SLOT_JUMP_SIZE
#define HP_SLOT_JUMP_DISP HP_X86_64_SLOT_JUMP_DISP
#define HP_SLOT_JUMP_END HP_X86_64_SLOT_JUMP_END
#define HP_SITE_NATIVE hp_site_x86_64
#define HP_SITE_PKG_ARCH 0         /* hp_package.h, HP_ARCH_X86_64 */
#elif defined(__aarch64__)
#define HP_SITE_ARCH "aarch64"
#define HP_SITE_PADDING HP_AARCH64_SITE_PADDING
#define HP_SITE_SIZE HP_AARCH64_SITE_SIZE
#define HP_SITE_MARKER_SIZE HP_AARCH64_SITE_MARKER_SIZE
#define HP_SITE_SPAN (HP_SITE_PADDING + HP_SITE_MARKER_SIZE + HP_SITE_SIZE)
#define HP_SITE_ALIGN HP_AARCH64_SITE_ALIGN
#define HP_SITE_NATIVE hp_site_aarch64
#define HP_SITE_PKG_ARCH 1         /* hp_package.h, HP_ARCH_AARCH64 */
#else
#error "hotpatch: no patch-site facts for this architecture (contract/site.h)"
#endif

/* HP_SITE_PADDING as the decimal text of a function attribute (the plugin's). */
#define HP_SITE_TEXT_(n) #n
#define HP_SITE_TEXT(n) HP_SITE_TEXT_(n)

/* What a function's entry offers for a redirect. */
struct hp_site {
	uint32_t offset;           /* from the symbol: 0, or past the branch-target marker */
	uint8_t bytes[HP_SITE_MAX_SIZE]; /* found at the site (its architecture's size): what a patch
	                              must find and restore */
	const char *problem;       /* NULL when patchable; otherwise why not */
	/* Patchable, but its first instruction is shorter than the site: a thread that has run it
	 * and not the next would, once the site is switched, resume inside the new jump.  So it may
	 * be redirected only while every thread but the writer is stopped and none has its next
	 * instruction strictly inside the site (past its first byte, before its end).  Giving it its
	 * bytes back needs no such care: no thread can be inside the short jump. */
	int needs_stopped_world;
};

/* One architecture's site, for the tools that read or build code of any architecture (the
 * plugin, hpdump, hpdiff): the numbers above, what the plugin asks LLVM for, and the check. */
struct hp_site_arch {
	const char *name;          /* as messages print it: "x86-64", "AArch64" */
	uint16_t elf_machine;      /* EM_X86_64, EM_AARCH64 */
	uint8_t padding, size, marker_size, align;
	/* The function attributes that make LLVM lay the site out: the padding's (NULL: none), and
	 * the entry's (the plugin's entry=padding-only drops it where the architecture allows). */
	const char *prefix_value;  /* of "patchable-function-prefix" */
	const char *entry_key, *entry_value;
	int entry_optional;        /* whether entry=padding-only may leave the entry as it is */
	/* bytes: up to padding + marker_size + size bytes (len) starting padding bytes before the
	 * symbol; address: the symbol's address (or section offset in an object, whose text sections
	 * are aligned to align).  Checks the site the way the runtime will rely on it: problem, or
	 * how it may be switched (needs_stopped_world). */
	void (*inspect)(const uint8_t *bytes, size_t len, uint64_t address, struct hp_site *out);
};

extern const struct hp_site_arch hp_site_x86_64, hp_site_aarch64;

/* The architecture of an ELF e_machine, or of an LLVM target triple ("x86_64-pc-linux-gnu",
 * "aarch64-unknown-linux-gnu"); NULL for any other (site_select.c: the host tools only). */
const struct hp_site_arch *hp_site_arch_for_machine(unsigned elf_machine);
const struct hp_site_arch *hp_site_arch_for_triple(const char *triple);

/* The runtime's own architecture's check (HP_SITE_NATIVE.inspect). */
void hp_site_inspect(const uint8_t *bytes, size_t len, uint64_t address, struct hp_site *out);

/* x86-64's two jumps, which its runtime writes (hpdiff places the first as import stubs).
 *
 * The padding's jump through a slot, as 8 bytes: from_end is the address right after the jump's
 * displacement (the padding's start + HP_X86_64_SLOT_JUMP_END), slot the slot's address.  With
 * from_end == slot it is the template hpdiff places for import stubs, whose displacement a
 * relocation fills in (at HP_X86_64_SLOT_JUMP_DISP, addend -4: the displacement's own distance
 * from the end). */
void hp_site_slot_jump(uint64_t from_end, uint64_t slot, uint8_t out[HP_X86_64_SLOT_JUMP_SIZE]);

/* The site's short jump back to the padding's start, for a site site_offset bytes past the
 * symbol. */
void hp_site_entry_jump(uint32_t site_offset, uint8_t out[HP_X86_64_SITE_SIZE]);

#endif
