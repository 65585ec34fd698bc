/* fingerprint_walk.h — inside the fingerprinter (fingerprint.h): its state, the primitives that
 * append facts to the byte stream it hashes, and what its two halves offer each other:
 * fingerprint.c walks functions (instructions, attributes, the public entry points);
 * fingerprint_values.c puts what operands refer to (types, constants, globals, metadata).
 *
 * Each fact is fed to the hash behind a one-byte tag, so that no two different walks can produce
 * the same byte stream.  Instructions, arguments and blocks are numbered by position; a value is
 * hashed as a reference to its number, never by its name. */
#ifndef HP_FINGERPRINT_WALK_H
#define HP_FINGERPRINT_WALK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <llvm-c/Core.h>
#include <xxhash.h>

#include "fingerprint.h"
#include "ptrmap.h"

enum content_state { CONTENT_BUSY = 0xffffffffu };

struct hp_fingerprinter {
	LLVMContextRef ctx;
	/* The walk is serialized here and hashed in one call: XXH3's streaming interface costs
	 * more per call than the few bytes each fact adds. */
	uint8_t *buf;
	size_t len, cap;
	/* Where integer constant values sit in buf: the shape fingerprint skips these bytes. */
	struct span { size_t at, len; } *consts;
	size_t const_count, const_cap;
	uint8_t module_hash[16];      /* triple, data layout, code-shaping module flags */
	struct hp_ptrmap local;          /* instruction/argument/block -> position in the function */
	struct hp_ptrmap content;        /* private constant or metadata node -> index into contents[] */
	XXH128_hash_t *contents;
	size_t content_count, content_cap;
	unsigned md_kinds[24];        /* metadata attachments that shape code */
	size_t md_kind_count;
	unsigned abi_kinds[16];       /* attributes that change how a call is made */
	size_t abi_kind_count;
};

static inline void put(struct hp_fingerprinter *fp, const void *data, size_t len)
{
	if (fp->len + len > fp->cap) {
		size_t cap = fp->cap ? fp->cap : 4096;
		while (cap < fp->len + len)
			cap *= 2;
		uint8_t *b = realloc(fp->buf, cap);
		if (!b)
			abort();  /* LLVM itself cannot continue without memory either */
		fp->buf = b;
		fp->cap = cap;
	}
	memcpy(fp->buf + fp->len, data, len);
	fp->len += len;
}

/* XXH3-128 of everything put since mark, which is then replaced by nothing. */
static inline XXH128_hash_t hash_since(struct hp_fingerprinter *fp, size_t mark)
{
	XXH128_hash_t h = XXH3_128bits(fp->buf + mark, fp->len - mark);
	fp->len = mark;
	while (fp->const_count && fp->consts[fp->const_count - 1].at >= mark)
		fp->const_count--;  /* collapsed into the content hash */
	return h;
}

/* An integer constant's value: part of the fingerprint, not of the shape. */
static inline void put_constant_value(struct hp_fingerprinter *fp, uint64_t v)
{
	if (fp->const_count == fp->const_cap) {
		size_t cap = fp->const_cap ? fp->const_cap * 2 : 256;
		struct span *c = realloc(fp->consts, cap * sizeof *c);
		if (!c)
			abort();
		fp->consts = c;
		fp->const_cap = cap;
	}
	fp->consts[fp->const_count++] = (struct span){ fp->len, sizeof v };
	put(fp, &v, sizeof v);
}

static inline void put_tag(struct hp_fingerprinter *fp, char tag)
{
	put(fp, &tag, 1);
}

static inline void put_u64(struct hp_fingerprinter *fp, uint64_t v)
{
	put(fp, &v, sizeof v);
}

static inline void put_str(struct hp_fingerprinter *fp, const char *s, size_t len)
{
	put_u64(fp, len);
	put(fp, s, len);
}

static inline void put_cstr(struct hp_fingerprinter *fp, const char *s)
{
	put_str(fp, s ? s : "", s ? strlen(s) : 0);
}

/* fingerprint_values.c */
void hp_fp_put_type(struct hp_fingerprinter *fp, LLVMTypeRef t);
/* An operand: a position in the function being walked, or what it names (a constant, a global,
 * inline asm, metadata). */
void hp_fp_put_value(struct hp_fingerprinter *fp, LLVMValueRef v);
/* Metadata by content, each uniqued node hashed once. */
void hp_fp_put_metadata(struct hp_fingerprinter *fp, LLVMValueRef v);
/* A constant by value; globals it refers to by name (private constants by content). */
void hp_fp_put_constant(struct hp_fingerprinter *fp, LLVMValueRef c);

#endif
