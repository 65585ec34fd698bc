/* arch.h — what hpdiff knows of one architecture's machine code, in one place per architecture
 * (arch_x86_64.c, arch_aarch64.c), chosen by the module's ELF machine (hp_arch_for): how each of
 * an object's relocation types is bound (its form), what the old module's code holds where new
 * code has a relocation (for the machine-code comparison), the dynamic linker's slot types, the
 * jump stub placed for calls through a slot, the filler between copied functions, and how
 * thread-local references bind.  The phases (diff_internal.h) ask it; they name no relocation
 * type of their own. */
#ifndef HP_ARCH_H
#define HP_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "elf_file.h"
#include "site.h"

struct ctx;

/* How an object's relocation binds. */
enum hp_form_how {
	HP_FORM_UNKNOWN = 0,          /* a type hpdiff does not read: an error naming it */
	HP_FORM_NONE,                 /* nothing to bind */
	HP_FORM_ADDRESS,              /* the field reaches the symbol itself */
	HP_FORM_GOT,                  /* the field reaches a slot holding the symbol's address */
	HP_FORM_TLS,                  /* a thread-local reference: the architecture's resolve_tls */
};

/* One relocation type of an object, as the phases see it. */
struct hp_form {
	uint8_t how;                  /* enum hp_form_how */
	uint8_t kind;                 /* the package relocation that writes the field (HP_RELOC_*) */
	uint8_t width;                /* bytes of the field, which must lie inside what is copied */
	/* A pc-relative field whose addend counts from this many bytes past the field (x86-64's
	 * rip-relative operands end 4 bytes later): a reference to the start of a section's one
	 * symbol then has addend -pc_bias.  0 for every AArch64 type. */
	uint8_t pc_bias;
	/* The field can only reach something near the code (pc-relative, or half of an AArch64
	 * page and offset pair): never an import's address, which may be anywhere. */
	uint8_t near;
	/* A direct call or jump: it may go to a function's new copy.  x86-64 tells by the opcode
	 * before the field (is_direct); on AArch64 the type says it (B, BL, B.cond, CBZ, TBZ). */
	uint8_t branch;
};

/* What the old module's code holds where the new code has a relocation. */
enum hp_field_how {
	HP_FIELD_ADDRESS = 1,         /* value = S + A of a direct reference */
	HP_FIELD_GOT,                 /* value = the old module's slot for the symbol, + A */
};

struct hp_field {
	int how;                      /* enum hp_field_how */
	uint64_t value;
	int pcrel;                    /* a pc-relative reference: may reach an import's PLT stub */
};

/* The function being compared, for old_field: its new and old bytes, its relocations (sorted by
 * offset, relative to the function's start in its section at `start`), its address in the old
 * module, and the bytes proven so far (covered, one per byte of code). */
struct hp_code_pair {
	const uint8_t *now, *was;
	size_t size;
	const struct hp_reloc *rel;
	long count;
	uint64_t start;               /* the function's offset in its section (rel[].offset counts from 0) */
	uint64_t base;                /* its address in the old module */
	uint8_t *covered;
};

/* A jump through an 8-byte slot, placed in the package's text for calls into another module
 * (imports) or through the old module's GOT: its bytes, and the fields that reach the slot. */
struct hp_stub {
	const uint8_t *bytes;
	uint8_t size, align;
	uint8_t fix_count;
	struct { uint8_t at, kind; int8_t addend; } fix[3];
};

struct hp_arch {
	const struct hp_site_arch *site;  /* the patch site (contract/site.h) */
	uint8_t pkg_arch;             /* enum hp_pkg_arch */
	uint8_t text_fill[4];         /* what fills text between copied pieces (a trap), repeated
	                                 from every offset that is a multiple of 4 */
	/* The old module's dynamic relocations: a GOT slot the dynamic linker fills with a
	 * symbol's address (GLOB_DAT) or a call target (JUMP_SLOT), an absolute pointer in data. */
	uint32_t r_glob_dat, r_jump_slot, r_abs64;
	/* The relocation filling a GOT slot that holds an address of the module itself (RELATIVE):
	 * the comparison accepts a GOT load the linker did not relax when its slot holds the symbol.
	 * 0 for x86-64, whose linkers relax the loads the comparison meets (mov to lea), so that its
	 * decisions stay what they were. */
	uint32_t r_relative;
	/* Whether a JUMP_SLOT slot serves as the function's address too.  x86-64: yes (until bound
	 * it holds the PLT entry's own lazy path, callable from anywhere).  AArch64: no (it holds
	 * the PLT header, which needs x16 set by a PLT entry), so only GLOB_DAT slots are shared
	 * for addresses and a JUMP_SLOT only through a stub shaped like a PLT entry. */
	int jump_slot_is_address;
	/* The assembler names a merged constant (a string, a literal pool entry) by its section and
	 * an offset (AArch64), so such a reference means the one piece there and only it is copied.
	 * x86-64's names them by local label; its section-relative references copy the section
	 * whole, as they always have (so its packages keep their bytes). */
	int merged_by_section;
	const struct hp_stub *(*stub)(void);

	/* The form of an object's relocation type (how is HP_FORM_UNKNOWN for types not read). */
	struct hp_form (*form)(uint32_t type);
	/* Whether the relocation at offset of text is a direct call or jump (code: the section). */
	int (*is_direct)(const struct hp_form *f, const uint8_t *code, uint64_t offset);
	/* What the old module's code holds for relocation j of the pair's function: returns 1 with
	 * *out set and the field's bytes marked in covered, or 0 when nothing is proven. */
	int (*old_field)(struct ctx *c, const struct hp_code_pair *p, long j, struct hp_field *out);
	/* A relocated field of data (code built without the plugin): its value as S + A (place
	 * added for a pc-relative one), width and whether it is pc-relative; 0 for other types. */
	int (*data_field)(uint32_t type, const uint8_t *bytes, size_t room, uint64_t place, uint64_t *value,
	                  int *width, int *pcrel);
	/* Whether the code at addr of the old module is a PLT entry; if so, the slot it jumps through. */
	int (*stub_slot)(struct hp_elf *elf, uint64_t addr, uint64_t *slot);
	/* Where a __LINE__ value sits in an instruction (lines.c): NULL, any little-endian window of
	 * 1, 2, 4 or 8 bytes (x86-64's immediates); otherwise, for two 4-byte instruction words
	 * that are one instruction but for an immediate field holding a value, sets both values
	 * and returns 1 (AArch64's MOVZ, ADD and SUB). */
	int (*line_immediate)(uint32_t was, uint32_t now, uint64_t *old_value, uint64_t *new_value);
	/* Binds a thread-local reference (the form's how is HP_FORM_TLS) of a variable the old
	 * module has (resolve.c refuses new ones): 0 bound, 1 refused (noted), -1 error. */
	int (*resolve_tls)(struct ctx *c, int seg, uint32_t where, const struct hp_reloc *r, const char *name,
	                   const char *unit);
};

extern const struct hp_arch hp_arch_x86_64, hp_arch_aarch64;

/* The architecture of a linked file or object: by ELF machine, 64-bit little-endian only; NULL
 * for any other (the caller says which). */
const struct hp_arch *hp_arch_for(const struct hp_elf *elf);

#endif
