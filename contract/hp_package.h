/* hp_package.h — the hotpatch package format: written by hpdiff, read by libhotpatch and
 * hpdump.  This header is the single definition; docs/format.md explains it.
 *
 * A package is one file, little-endian, with every part at an offset from its start:
 *
 *   header, modules[module_count], then per module its redirects, imports, relocations and
 *   segment bytes, the hooks and acceptances if any, and one string area.  A checksum covers the whole file.
 *
 * Each module entry binds to exactly one build of one ELF module (GNU build-id) and says: which
 * functions to redirect (with the bytes the runtime must find at each entry before touching it),
 * the new code and data to map within ±2 GiB of the module, and the relocations that bind that
 * code to the running module, to the package itself, or to symbols resolved by name. */
#ifndef HP_PACKAGE_H
#define HP_PACKAGE_H

#include <stdint.h>

#define HP_PACKAGE_MAGIC "HPPACKGE"     /* 8 bytes, no terminator */
#define HP_PACKAGE_VERSION 1
#define HP_PACKAGE_MAX_EXPECTED 16      /* bytes checked before a redirect */

struct hp_pkg_header {
	char magic[8];
	uint16_t version;
	uint16_t header_size;               /* sizeof(struct hp_pkg_header) of the writer */
	uint32_t flags;                     /* none defined yet: readers refuse unknown bits */
	uint64_t total_size;                /* the whole file */
	uint8_t checksum[16];               /* XXH3-128 of the file with this field zeroed */
	uint32_t module_count;
	uint16_t module_size;               /* sizeof(struct hp_pkg_module) */
	uint16_t redirect_size;
	uint16_t import_size;
	uint16_t reloc_size;
	uint32_t modules_offset;
	uint32_t strings_offset;
	uint32_t strings_size;              /* the last byte is NUL */
};

/* The extended header: the same 64 bytes, then the package's sequence number.  hpdiff writes it
 * (header_size 72) only when given --sequence, and today's 64-byte header otherwise, so that a
 * package made without one keeps its bytes; readers take both, a sequence of 0 meaning "none". */
struct hp_pkg_header_seq {
	struct hp_pkg_header base;
	uint32_t sequence;                  /* 1 ..: order of the package within its baseline */
	uint32_t reserved;                  /* zero */
};

/* The header with state (hotpatch_state.h): the sequence header, then the package's hooks and
 * acceptances.  hpdiff writes it (header_size 88) only when the package has either, so every
 * other package keeps its bytes; a reader that does not know it refuses the package (an unknown
 * header size) instead of applying it without its hooks. */
struct hp_pkg_header_state {
	struct hp_pkg_header_seq seq;
	uint32_t hook_count, hooks_offset;      /* struct hp_pkg_hook[], in the order they run */
	uint32_t accept_count, accepts_offset;  /* struct hp_pkg_accept[] */
};

/* A function of a module's new code that the runtime calls around the switch. */
struct hp_pkg_hook {
	uint32_t module;                    /* index into the module table */
	uint8_t kind;                       /* enum hp_pkg_hook_kind */
	uint8_t reserved[3];                /* zero */
	uint32_t offset;                    /* its entry, in the module's text segment */
	uint32_t name;                      /* string, for messages */
};

enum hp_pkg_hook_kind {
	HP_HOOK_PRE_APPLY = 1,              /* const char *(void): NULL, or the reason to veto */
	HP_HOOK_POST_APPLY = 2,             /* void (void) */
	HP_HOOK_PRE_REVERT = 3,             /* const char *(void): NULL, or the reason to veto */
	HP_HOOK_POST_REVERT = 4,            /* void (void) */
};

/* A data change hpdiff refuses unless the author accepts it in the new source: recorded so that
 * whoever applies the package can see what was accepted and why (hpdump). */
struct hp_pkg_accept {
	uint32_t module;                    /* index into the module table */
	uint32_t kind;                      /* enum hp_pkg_accept_kind */
	uint32_t subject;                   /* string: the type or variable */
	uint32_t hook;                      /* string: the hook that migrates it; "": none */
	uint32_t reason;                    /* string: the author's reason, never empty */
};

enum hp_pkg_accept_kind {
	HP_ACCEPT_LAYOUT = 1,               /* a type's layout changed, its size did not */
	HP_ACCEPT_VALUE = 2,                /* a writable variable's initializer changed */
};

/* The new content of a module's patch is laid out in four segments, mapped in this order with
 * page granularity: text r-x, rodata r--, data rw-, bss rw- (zero-filled). */
enum hp_pkg_segment {
	HP_SEG_TEXT = 0,
	HP_SEG_RODATA = 1,
	HP_SEG_DATA = 2,
	HP_SEG_BSS = 3,
	HP_SEG_COUNT
};

struct hp_pkg_module {
	uint32_t name;                      /* string: path in the build tree, e.g. "bin/server" */
	uint8_t build_id_size;
	uint8_t arch;                       /* enum hp_pkg_arch: the code's (and its patch sites') */
	uint8_t reserved[2];
	uint8_t build_id[32];               /* GNU build-id of the exact build this patch is for */
	uint32_t redirect_count, redirects_offset;
	uint32_t import_count, imports_offset;
	uint32_t reloc_count, relocs_offset;
	uint32_t segment_offset[HP_SEG_COUNT];  /* file offset of each segment's bytes (bss: 0) */
	uint32_t segment_size[HP_SEG_COUNT];
	uint32_t segment_align[HP_SEG_COUNT];   /* power of two, at most the page size */
	uint32_t eh_frame_offset;           /* unwind tables of the new code, in rodata: CIEs and */
	uint32_t eh_frame_size;             /* FDEs as in .eh_frame, zero-terminated; size 0: none */
	/* The unwind table, as the reader checks it before the runtime registers it: entries of
	 * 32-bit length, the last one the zero terminator at eh_frame_size - 4; CIEs of version 1
	 * or 3 with an augmentation of "z", R and optionally L, S (no personality routine) and, for
	 * AArch64 code, B (return addresses signed with the B key), the R
	 * encoding pc-relative sdata4 (0x1b); each FDE's CIE pointer at a CIE before it, and its
	 * pc_begin the target of exactly one HP_RELOC_PC32 relocation into the text segment, the
	 * only relocations inside the table. */
};

/* The architecture of a module's code.  0 is x86-64, so that every package written before the
 * field existed (it was reserved, zero) reads as what it is. */
enum hp_pkg_arch {
	HP_ARCH_X86_64 = 0,
	HP_ARCH_AARCH64 = 1,
};

/* One old function to send to its new code. */
struct hp_pkg_redirect {
	uint64_t old_offset;                /* the function's symbol, from the module's load base */
	uint32_t new_offset;                /* entry of the new code, in the text segment */
	uint32_t name;                      /* string, for status and errors */
	uint8_t site_offset;                /* the site: 0, or past the landing pad (endbr64, bti c) */
	uint8_t expected_size;              /* bytes in expected[] */
	uint16_t flags;                     /* HP_REDIRECT_* */
	uint8_t expected[HP_PACKAGE_MAX_EXPECTED];  /* bytes from the padding (old_offset - padding)
	                                       to the site's end (contract/site.h: x86-64 8 + 0|4 + 2,
	                                       AArch64 0 + 0|4 + 4) */
	uint32_t reserved;                  /* zero */
};

enum {
	HP_REDIRECT_RECURSIVE = 1u << 0,    /* calls itself: old frames may stay live longer */
	HP_REDIRECT_VARIADIC = 1u << 1,
	/* The old entry's first instruction is shorter than the site (built with the plugin's
	 * entry=padding-only: contract/site.h, needs_stopped_world): the runtime switches it only
	 * with every other thread stopped outside the site. */
	HP_REDIRECT_STOPPED_WORLD = 1u << 2,
};
#define HP_REDIRECT_KNOWN (HP_REDIRECT_RECURSIVE | HP_REDIRECT_VARIADIC | HP_REDIRECT_STOPPED_WORLD)

/* A symbol the package needs from the process, resolved by name at apply time the way the
 * dynamic linker would (libc functions the old build never called, copy-relocated data). */
struct hp_pkg_import {
	uint32_t name;                      /* string */
	uint32_t flags;                     /* HP_IMPORT_* */
};

enum {
	HP_IMPORT_WEAK = 1u << 0,           /* may be absent: resolves to 0 */
};

/* How a relocation's value is computed: S = the target's address, A = addend, P = the address
 * being written; Page(x) = x & ~0xfff.  The AArch64 kinds write an instruction's immediate field
 * and leave its other bits as they are (contract/reloc.c applies every kind). */
enum hp_pkg_reloc_type {
	HP_RELOC_PC32 = 1,                  /* int32: S + A - P, must fit */
	HP_RELOC_ABS64 = 2,                 /* uint64: S + A */
	HP_RELOC_ABS32S = 3,                /* int32: S + A, must fit (non-PIE code) */
	HP_RELOC_ABS32 = 4,                 /* uint32: S + A, must fit */
	HP_RELOC_A64_BRANCH26 = 5,          /* B, BL: (S + A - P) >> 2 in imm26, within ±128 MiB */
	HP_RELOC_A64_ADR_PAGE21 = 6,        /* ADRP: (Page(S + A) - Page(P)) >> 12, within ±4 GiB */
	HP_RELOC_A64_ADD_LO12 = 7,          /* ADD (immediate): (S + A) & 0xfff */
	HP_RELOC_A64_LDST8_LO12 = 8,        /* LDR/STR (unsigned offset): ((S + A) & 0xfff) >> size, */
	HP_RELOC_A64_LDST16_LO12 = 9,       /* where size is 0, 1, 2, 3, 4 for an access of 8 to */
	HP_RELOC_A64_LDST32_LO12 = 10,      /* 128 bits, and the low bits must be zero */
	HP_RELOC_A64_LDST64_LO12 = 11,
	HP_RELOC_A64_LDST128_LO12 = 12,
	HP_RELOC_A64_CONDBR19 = 13,         /* B.cond, CBZ, CBNZ: (S + A - P) >> 2 in imm19, ±1 MiB */
	HP_RELOC_A64_TSTBR14 = 14,          /* TBZ, TBNZ: (S + A - P) >> 2 in imm14, ±32 KiB */
};
#define HP_RELOC_TYPE_LAST HP_RELOC_A64_TSTBR14

enum hp_pkg_target_kind {
	HP_TARGET_MODULE = 1,               /* target = offset from the module's load base */
	HP_TARGET_SEGMENT = 2,              /* target = offset in segment target_segment */
	HP_TARGET_IMPORT = 3,               /* target = index into the module's imports */
	HP_TARGET_ABSOLUTE = 4,             /* target = the value itself (e.g. a TLS offset) */
};

struct hp_pkg_reloc {
	uint8_t segment;                    /* where the field is: enum hp_pkg_segment */
	uint8_t type;                       /* enum hp_pkg_reloc_type */
	uint8_t target_kind;                /* enum hp_pkg_target_kind */
	uint8_t target_segment;             /* for HP_TARGET_SEGMENT */
	uint32_t offset;                    /* of the field within its segment */
	uint64_t target;
	int64_t addend;
};

_Static_assert(sizeof(struct hp_pkg_header) == 64, "hp_pkg_header layout is part of the format");
_Static_assert(sizeof(struct hp_pkg_header_seq) == 72, "hp_pkg_header_seq layout is part of the format");
_Static_assert(sizeof(struct hp_pkg_header_state) == 88, "hp_pkg_header_state layout is part of the format");
_Static_assert(sizeof(struct hp_pkg_hook) == 16, "hp_pkg_hook layout is part of the format");
_Static_assert(sizeof(struct hp_pkg_accept) == 20, "hp_pkg_accept layout is part of the format");
_Static_assert(sizeof(struct hp_pkg_module) == 120, "hp_pkg_module layout is part of the format");
_Static_assert(sizeof(struct hp_pkg_redirect) == 40, "hp_pkg_redirect layout is part of the format");
_Static_assert(sizeof(struct hp_pkg_import) == 8, "hp_pkg_import layout is part of the format");
_Static_assert(sizeof(struct hp_pkg_reloc) == 24, "hp_pkg_reloc layout is part of the format");

#endif
