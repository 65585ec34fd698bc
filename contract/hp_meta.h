/* hp_meta.h — the ".hotpatch" metadata format: written by the plugin into every object,
 * read by hpdiff and hpdump.  This header is the single definition; docs/format.md explains it.
 *
 * The section is not allocated, so it survives linking, --gc-sections and strip.  The linker
 * concatenates one blob per translation unit; each blob is self-delimiting (header.total_size)
 * and byte-aligned, so a reader walks blobs back to back.  All integers are little-endian.
 *
 *   blob  = header, records[record_count], types[type_count], indices[index_count], strings
 *
 * Strings are NUL-terminated; a string field is a byte offset into the blob's string area.
 * Records and types may grow in later versions: readers step by header.record_size/type_size.
 * Blobs are byte-aligned in the section: readers copy fields out, never cast in place. */
#ifndef HP_META_H
#define HP_META_H

#include <stdint.h>

#if defined(__cplusplus) && !defined(__clang__)
#define _Static_assert static_assert  /* C11's keyword; g++ compiling the plugin knows only C++'s */
#endif

#define HP_META_SECTION ".hotpatch"
#define HP_META_MAGIC "HOTPATCH"          /* 8 bytes, no terminator in the blob */
#define HP_META_VERSION 1

/* Translation-unit flags. */
enum {
	HP_META_TU_LTO = 1u << 0,         /* compiled for LTO: fingerprints predate final code */
	HP_META_TU_NO_LAYOUTS = 1u << 1,  /* IR input: no source types, layout fingerprints empty, so
	                                     hpdiff cannot check its layouts (design.md, Limitations) */
};

enum hp_meta_kind {
	HP_META_FUNCTION = 1,
	HP_META_VARIABLE = 2,
};

enum hp_meta_linkage {
	HP_META_EXTERNAL = 1,
	HP_META_INTERNAL = 2,             /* file-local: the name carries the TU's unique suffix */
	HP_META_WEAK = 3,
	HP_META_LINKONCE = 4,
	HP_META_COMMON = 5,
};

/* Record flags. */
enum {
	HP_META_CONSTRUCTOR = 1u << 0,    /* listed in llvm.global_ctors: already ran */
	HP_META_DESTRUCTOR = 1u << 1,
	HP_META_NO_PATCH = 1u << 2,       /* opted out: no patchable prologue */
	HP_META_VARIADIC = 1u << 3,
	HP_META_INLINED_AWAY = 1u << 4,   /* existed before optimization, no code of its own after */
	HP_META_RECURSIVE = 1u << 5,      /* calls itself directly */
	HP_META_CONSTANT = 1u << 6,       /* variable is read-only */
	HP_META_THREAD_LOCAL = 1u << 7,
	HP_META_STATIC_LOCAL = 1u << 8,   /* a function's static variable: state to keep */
	HP_META_ZERO_INIT = 1u << 9,      /* variable's initializer is all zero (informational: hpdump) */
};

struct hp_meta_header {
	char magic[8];                    /* HP_META_MAGIC */
	uint16_t version;                 /* HP_META_VERSION */
	uint16_t header_size;             /* sizeof(struct hp_meta_header) of the writer */
	uint32_t total_size;              /* the whole blob, header included */
	uint32_t flags;                   /* HP_META_TU_* */
	uint32_t record_count;
	uint16_t record_size;
	uint16_t type_size;
	uint32_t type_count;
	uint32_t index_count;             /* uint32 entries shared by the records' lists */
	uint32_t strings_size;
	uint32_t tu_name;                 /* source identity: path relative to the project root */
	uint32_t producer;                /* compiler version */
	uint32_t triple;
	uint32_t options;                 /* code generation options that shape code, as text */
	uint8_t options_hash[16];         /* XXH3-128 of the options text */
};

struct hp_meta_record {
	uint32_t name;                    /* symbol name in the object */
	uint8_t kind;                     /* enum hp_meta_kind */
	uint8_t linkage;                  /* enum hp_meta_linkage */
	uint16_t flags;                   /* HP_META_* record flags */
	uint64_t size;                    /* variables: bytes; functions: 0 */
	uint32_t types_first;             /* indices[types_first ..] = type table entries it uses */
	uint32_t types_count;
	uint32_t calls_first;             /* indices[calls_first ..] = records it called in source */
	uint32_t calls_count;
	uint8_t fingerprint[16];          /* XXH3-128 of the final optimized IR (variables: content) */
	uint8_t source_fingerprint[16];   /* functions: Clang's ODR hash of the body, no locations */
	uint8_t layout_fingerprint[16];   /* XXH3-128 over the layouts of the types it uses */
	uint8_t shape_fingerprint[16];    /* functions: fingerprint without integer constant values */
	uint8_t abi_fingerprint[16];      /* functions: type, calling convention, argument attributes */
	/* Added after the first release of version 1 (records of 112 bytes read as "no lines"). */
	uint32_t lines_first;             /* indices[lines_first ..] = values its own body took from */
	uint32_t lines_count;             /*   __LINE__ (or __builtin_LINE()), in AST order */
	uint8_t lines_fingerprint[16];    /* functions: its source with those values masked out */
};

/* The shortest record a reader accepts: version 1 before the line fields. */
#define HP_META_RECORD_MIN_SIZE 112

struct hp_meta_type {
	uint32_t name;                    /* "struct conn", "union value", ... */
	uint32_t size;                    /* bytes */
	uint8_t layout[16];               /* XXH3-128 of fields: names, types, offsets, bit widths */
};

_Static_assert(sizeof(struct hp_meta_header) == 72, "hp_meta_header layout is part of the format");
_Static_assert(sizeof(struct hp_meta_record) == 136, "hp_meta_record layout is part of the format");
_Static_assert(sizeof(struct hp_meta_type) == 24, "hp_meta_type layout is part of the format");

#endif
