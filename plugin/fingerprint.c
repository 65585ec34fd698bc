/* fingerprint.c — a normalized walk of final IR, hashed with XXH3-128 (see fingerprint.h).
 *
 * Each fact is fed to the hash behind a one-byte tag, so that no two different walks can produce
 * the same byte stream.  Instructions, arguments and blocks are numbered by position; a value is
 * hashed as a reference to its number, never by its name. */
#include "fingerprint.h"

#include <stdlib.h>
#include <string.h>
#include <llvm-c/DebugInfo.h>
#include <llvm-c/Target.h>
#include <xxhash.h>

/* ---- A pointer-keyed map: value -> position, and global -> cached content hash ------------ */

/* Entries carry the generation they were put in; clearing starts a new generation, so that a
 * map grown for one huge function does not cost its whole size again for every small one. */
struct ptrmap {
	uintptr_t *keys;
	uint32_t *values;
	uint32_t *gens;
	size_t cap, used;         /* cap is a power of two */
	uint32_t gen;             /* entries of other generations are empty */
};

static size_t slot_of(const struct ptrmap *m, uintptr_t key)
{
	size_t i = (size_t)((key >> 4) * 0x9E3779B97F4A7C15ull) & (m->cap - 1);
	while (m->gens[i] == m->gen && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int ptrmap_grow(struct ptrmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	struct ptrmap n = { calloc(cap, sizeof *n.keys), calloc(cap, sizeof *n.values),
		            calloc(cap, sizeof *n.gens), cap, m->used, 1 };
	if (!n.keys || !n.values || !n.gens) {
		free(n.keys);
		free(n.values);
		free(n.gens);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->gens[i] == m->gen) {
			size_t s = slot_of(&n, m->keys[i]);
			n.keys[s] = m->keys[i];
			n.values[s] = m->values[i];
			n.gens[s] = n.gen;
		}
	free(m->keys);
	free(m->values);
	free(m->gens);
	*m = n;
	return 0;
}

static void ptrmap_put(struct ptrmap *m, const void *key, uint32_t value)
{
	if ((m->used + 1) * 2 > m->cap && ptrmap_grow(m) != 0)
		abort();  /* LLVM itself cannot continue without memory either */
	size_t s = slot_of(m, (uintptr_t)key);
	if (m->gens[s] != m->gen)
		m->used++;
	m->keys[s] = (uintptr_t)key;
	m->values[s] = value;
	m->gens[s] = m->gen;
}

static int ptrmap_get(const struct ptrmap *m, const void *key, uint32_t *value)
{
	if (!m->cap)
		return 0;
	size_t s = slot_of(m, (uintptr_t)key);
	if (m->gens[s] != m->gen)
		return 0;
	*value = m->values[s];
	return 1;
}

static void ptrmap_clear(struct ptrmap *m)
{
	m->used = 0;
	if (++m->gen == 0) {  /* wrapped: every old stamp could look current again */
		if (m->cap)
			memset(m->gens, 0, m->cap * sizeof *m->gens);
		m->gen = 1;
	}
}

/* ---- The fingerprinter -------------------------------------------------------------------- */

enum content_state { CONTENT_BUSY = 0xffffffffu };

struct hp_fingerprinter {
	LLVMModuleRef module;
	LLVMContextRef ctx;
	/* The walk is serialized here and hashed in one call: XXH3's streaming interface costs
	 * more per call than the few bytes each fact adds. */
	uint8_t *buf;
	size_t len, cap;
	/* Where integer constant values sit in buf: the shape fingerprint skips these bytes. */
	struct span { size_t at, len; } *consts;
	size_t const_count, const_cap;
	uint8_t module_hash[16];      /* triple, data layout, code-shaping module flags */
	struct ptrmap local;          /* instruction/argument/block -> position in the function */
	struct ptrmap content;        /* private constant or metadata node -> index into contents[] */
	XXH128_hash_t *contents;
	size_t content_count, content_cap;
	unsigned md_kinds[24];        /* metadata attachments that shape code */
	size_t md_kind_count;
	unsigned abi_kinds[16];       /* attributes that change how a call is made */
	size_t abi_kind_count;
};

/* Argument attributes that decide the calling sequence; the others (noundef, nonnull, range,
 * ...) are facts the optimizer inferred, and change with any edit of the body. */
static const char *const abi_attributes[] = {
	"zeroext", "signext", "inreg", "byval", "sret", "inalloca", "preallocated", "nest",
	"swiftself", "swifterror", "swiftasync", "byref",
};

/* Instruction metadata that changes what the backend emits; everything else (debug locations,
 * annotations, source locations of inline asm) is left out. */
static const char *const code_metadata[] = {
	"prof", "range", "nonnull", "align", "noundef", "dereferenceable",
	"dereferenceable_or_null", "invariant.load", "nontemporal", "unpredictable", "llvm.loop",
	"tbaa", "tbaa.struct", "alias.scope", "noalias", "callees", "llvm.access.group",
	"absolute_symbol", "noalias.addrspace",
};

/* Module flags that only describe debug information. */
static int is_debug_flag(const char *key, size_t len)
{
	static const char *const debug[] = { "Debug Info Version", "Dwarf Version", "CodeView",
		                             "CodeViewGHash", "DwarfSplitDebugInfo",
	                                 "debug-info-assignment-tracking" };
	for (size_t i = 0; i < sizeof debug / sizeof *debug; i++)
		if (strlen(debug[i]) == len && !memcmp(debug[i], key, len))
			return 1;
	return 0;
}

static void put(struct hp_fingerprinter *fp, const void *data, size_t len)
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
static XXH128_hash_t hash_since(struct hp_fingerprinter *fp, size_t mark)
{
	XXH128_hash_t h = XXH3_128bits(fp->buf + mark, fp->len - mark);
	fp->len = mark;
	while (fp->const_count && fp->consts[fp->const_count - 1].at >= mark)
		fp->const_count--;  /* collapsed into the content hash */
	return h;
}

/* An integer constant's value: part of the fingerprint, not of the shape. */
static void put_constant_value(struct hp_fingerprinter *fp, uint64_t v)
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

static void put_tag(struct hp_fingerprinter *fp, char tag)
{
	put(fp, &tag, 1);
}

static void put_u64(struct hp_fingerprinter *fp, uint64_t v)
{
	put(fp, &v, sizeof v);
}

static void put_str(struct hp_fingerprinter *fp, const char *s, size_t len)
{
	put_u64(fp, len);
	put(fp, s, len);
}

static void put_cstr(struct hp_fingerprinter *fp, const char *s)
{
	put_str(fp, s ? s : "", s ? strlen(s) : 0);
}

/* Hashes the printed form of a value that has no name in it (numbers, undef, null). */
static void put_printed(struct hp_fingerprinter *fp, LLVMValueRef v)
{
	char *s = LLVMPrintValueToString(v);
	put_cstr(fp, s);
	LLVMDisposeMessage(s);
}

static void put_type(struct hp_fingerprinter *fp, LLVMTypeRef t)
{
	LLVMTypeKind kind = LLVMGetTypeKind(t);
	put_tag(fp, 'T');
	put_u64(fp, kind);
	switch (kind) {
	case LLVMIntegerTypeKind:
		put_u64(fp, LLVMGetIntTypeWidth(t));
		break;
	case LLVMPointerTypeKind:
		put_u64(fp, LLVMGetPointerAddressSpace(t));
		break;
	case LLVMArrayTypeKind:
		put_u64(fp, LLVMGetArrayLength2(t));
		put_type(fp, LLVMGetElementType(t));
		break;
	case LLVMVectorTypeKind:
	case LLVMScalableVectorTypeKind:
		put_u64(fp, LLVMGetVectorSize(t));
		put_type(fp, LLVMGetElementType(t));
		break;
	case LLVMStructTypeKind: {
		/* By body, never by name: clang numbers anonymous structs by order of appearance. */
		unsigned n = LLVMCountStructElementTypes(t);
		put_u64(fp, LLVMIsPackedStruct(t) | (uint64_t)LLVMIsOpaqueStruct(t) << 1);
		put_u64(fp, n);
		for (unsigned i = 0; i < n; i++)
			put_type(fp, LLVMStructGetTypeAtIndex(t, i));
		break;
	}
	case LLVMFunctionTypeKind: {
		unsigned n = LLVMCountParamTypes(t);
		LLVMTypeRef params[n ? n : 1];
		put_u64(fp, LLVMIsFunctionVarArg(t));
		put_type(fp, LLVMGetReturnType(t));
		LLVMGetParamTypes(t, params);
		put_u64(fp, n);
		for (unsigned i = 0; i < n; i++)
			put_type(fp, params[i]);
		break;
	}
	case LLVMTargetExtTypeKind: {
		put_cstr(fp, LLVMGetTargetExtTypeName(t));
		for (unsigned i = 0; i < LLVMGetTargetExtTypeNumTypeParams(t); i++)
			put_type(fp, LLVMGetTargetExtTypeTypeParam(t, i));
		for (unsigned i = 0; i < LLVMGetTargetExtTypeNumIntParams(t); i++)
			put_u64(fp, LLVMGetTargetExtTypeIntParam(t, i));
		break;
	}
	default:
		break;
	}
}

static void put_value(struct hp_fingerprinter *fp, LLVMValueRef v);

/* Debug-info nodes (DILocation and friends) appear only with -g, even inside code-shaping
 * metadata such as llvm.loop: they are skipped as if absent. */
static int is_debug_metadata(LLVMValueRef v)
{
	if (!LLVMIsAMDNode(v))
		return 0;
	LLVMMetadataKind kind = LLVMGetMetadataKind(LLVMValueAsMetadata(v));
	return kind != LLVMMDTupleMetadataKind && kind != LLVMMDStringMetadataKind &&
	       kind != LLVMConstantAsMetadataMetadataKind && kind != LLVMLocalAsMetadataMetadataKind;
}

static uint32_t add_content(struct hp_fingerprinter *fp, XXH128_hash_t h)
{
	if (fp->content_count == fp->content_cap) {
		size_t cap = fp->content_cap ? fp->content_cap * 2 : 64;
		XXH128_hash_t *c = realloc(fp->contents, cap * sizeof *c);
		if (!c)
			abort();
		fp->contents = c;
		fp->content_cap = cap;
	}
	fp->contents[fp->content_count] = h;
	return (uint32_t)fp->content_count++;
}

static void put_metadata_body(struct hp_fingerprinter *fp, LLVMValueRef v, LLVMMetadataKind kind);

/* Metadata by content.  Nodes are uniqued and shared by many instructions (TBAA type trees):
 * each node's hash is computed once. */
static void put_metadata(struct hp_fingerprinter *fp, LLVMValueRef v)
{
	LLVMMetadataRef md = LLVMValueAsMetadata(v);
	LLVMMetadataKind kind = LLVMGetMetadataKind(md);
	if (kind != LLVMMDTupleMetadataKind) {
		put_metadata_body(fp, v, kind);
		return;
	}
	uint32_t idx;
	if (ptrmap_get(&fp->content, md, &idx)) {
		if (idx == CONTENT_BUSY)
			put_tag(fp, 'S');  /* a node that contains itself (loop metadata) */
		else
			put(fp, &fp->contents[idx], sizeof fp->contents[idx]);
		return;
	}
	size_t mark = fp->len;
	ptrmap_put(&fp->content, md, CONTENT_BUSY);
	put_metadata_body(fp, v, kind);
	XXH128_hash_t h = hash_since(fp, mark);
	ptrmap_put(&fp->content, md, add_content(fp, h));
	put(fp, &h, sizeof h);
}

static void put_metadata_body(struct hp_fingerprinter *fp, LLVMValueRef v, LLVMMetadataKind kind)
{
	put_tag(fp, 'M');
	put_u64(fp, kind);
	if (kind == LLVMMDStringMetadataKind) {
		unsigned len = 0;
		const char *s = LLVMGetMDString(v, &len);
		put_str(fp, s, len);
	} else if (kind == LLVMMDTupleMetadataKind) {
		unsigned n = LLVMGetMDNodeNumOperands(v);
		LLVMValueRef ops[n ? n : 1];
		LLVMGetMDNodeOperands(v, ops);
		for (unsigned i = 0; i < n; i++) {
			if (!ops[i]) {
				put_tag(fp, '0');
			} else if (is_debug_metadata(ops[i])) {
				continue;
			} else if (LLVMIsAMDNode(ops[i]) || LLVMIsAMDString(ops[i])) {
				put_metadata(fp, ops[i]);
			} else {
				put_value(fp, ops[i]);
			}
		}
		put_tag(fp, 'E');
	} else if (kind == LLVMConstantAsMetadataMetadataKind || kind == LLVMLocalAsMetadataMetadataKind) {
		/* The C API hands these back as their values inside MD tuples; a bare one is rare. */
		put_printed(fp, v);
	}
}

static int is_private_constant(LLVMValueRef g)
{
	/* String literals, switch tables, compound literals: identity is their content. */
	if (!LLVMIsAGlobalVariable(g) || !LLVMIsGlobalConstant(g) || !LLVMGetInitializer(g))
		return 0;
	LLVMLinkage l = LLVMGetLinkage(g);
	return l == LLVMPrivateLinkage ||
	       (l == LLVMInternalLinkage && LLVMGetUnnamedAddress(g) == LLVMGlobalUnnamedAddr);
}

static void put_constant_body(struct hp_fingerprinter *fp, LLVMValueRef init);

/* The content hash of a private constant, cached: many functions share a table. */
static void put_content(struct hp_fingerprinter *fp, LLVMValueRef g)
{
	uint32_t idx;
	if (ptrmap_get(&fp->content, g, &idx)) {
		if (idx == CONTENT_BUSY) {  /* a constant that points at itself */
			put_tag(fp, 'R');
			return;
		}
		put(fp, &fp->contents[idx], sizeof fp->contents[idx]);
		return;
	}
	/* Hash the content on its own, then put only its hash. */
	size_t mark = fp->len;
	ptrmap_put(&fp->content, g, CONTENT_BUSY);
	put_type(fp, LLVMGlobalGetValueType(g));
	put_u64(fp, LLVMGetAlignment(g));
	put_cstr(fp, LLVMGetSection(g));
	put_constant_body(fp, LLVMGetInitializer(g));
	XXH128_hash_t h = hash_since(fp, mark);
	ptrmap_put(&fp->content, g, add_content(fp, h));
	put(fp, &h, sizeof h);
}

/* The index of a block within its function, for blockaddress constants. */
static uint64_t block_index(LLVMBasicBlockRef bb)
{
	uint64_t i = 0;
	for (LLVMBasicBlockRef b = LLVMGetPreviousBasicBlock(bb); b; b = LLVMGetPreviousBasicBlock(b))
		i++;
	return i;
}

static void put_global_ref(struct hp_fingerprinter *fp, LLVMValueRef g)
{
	if (is_private_constant(g)) {
		put_tag(fp, 'C');
		put_content(fp, g);
		return;
	}
	size_t len = 0;
	const char *name = LLVMGetValueName2(g, &len);
	put_tag(fp, 'G');
	put_str(fp, name, len);
	/* A named read-only table: readers change when its contents do. */
	if (LLVMIsAGlobalVariable(g) && LLVMIsGlobalConstant(g) && LLVMGetInitializer(g) &&
	    LLVMGetLinkage(g) != LLVMExternalWeakLinkage && LLVMGetLinkage(g) != LLVMWeakAnyLinkage &&
	    LLVMGetLinkage(g) != LLVMLinkOnceAnyLinkage)
		put_content(fp, g);
}

static void put_constant_body(struct hp_fingerprinter *fp, LLVMValueRef c)
{
	LLVMValueKind kind = LLVMGetValueKind(c);
	put_tag(fp, 'K');
	put_u64(fp, kind);
	put_type(fp, LLVMTypeOf(c));
	switch (kind) {
	case LLVMFunctionValueKind:
	case LLVMGlobalVariableValueKind:
	case LLVMGlobalAliasValueKind:
	case LLVMGlobalIFuncValueKind:
		put_global_ref(fp, c);
		break;
	case LLVMConstantIntValueKind:
		if (LLVMGetIntTypeWidth(LLVMTypeOf(c)) <= 64)
			put_constant_value(fp, LLVMConstIntGetZExtValue(c));
		else
			put_printed(fp, c);
		break;
	case LLVMConstantFPValueKind:
		put_printed(fp, c);  /* exact: LLVM prints inexact decimals as hex */
		break;
	case LLVMConstantDataArrayValueKind:
	case LLVMConstantDataVectorValueKind: {
		LLVMTypeRef elem = LLVMGetElementType(LLVMTypeOf(c));
		if (LLVMGetTypeKind(elem) == LLVMIntegerTypeKind && LLVMGetIntTypeWidth(elem) == 8) {
			size_t len = 0;
			const char *bytes = LLVMGetAsString(c, &len);
			put_str(fp, bytes, len);
			break;
		}
		unsigned n = kind == LLVMConstantDataArrayValueKind ?
		                 (unsigned)LLVMGetArrayLength2(LLVMTypeOf(c)) : LLVMGetVectorSize(LLVMTypeOf(c));
		for (unsigned i = 0; i < n; i++)
			put_constant_body(fp, LLVMGetAggregateElement(c, i));
		break;
	}
	case LLVMConstantArrayValueKind:
	case LLVMConstantStructValueKind:
	case LLVMConstantVectorValueKind: {
		int n = LLVMGetNumOperands(c);
		for (int i = 0; i < n; i++)
			put_constant_body(fp, LLVMGetOperand(c, (unsigned)i));
		break;
	}
	case LLVMConstantExprValueKind: {
		LLVMOpcode op = LLVMGetConstOpcode(c);
		put_u64(fp, op);
		if (op == LLVMGetElementPtr) {
			put_type(fp, LLVMGetGEPSourceElementType(c));
			put_u64(fp, LLVMIsInBounds(c));
		}
		int n = LLVMGetNumOperands(c);
		for (int i = 0; i < n; i++)
			put_constant_body(fp, LLVMGetOperand(c, (unsigned)i));
		break;
	}
	case LLVMBlockAddressValueKind: {
		LLVMValueRef fn = LLVMGetOperand(c, 0);
		put_global_ref(fp, fn);
		put_u64(fp, block_index(LLVMValueAsBasicBlock(LLVMGetOperand(c, 1))));
		break;
	}
	case LLVMUndefValueValueKind:
	case LLVMPoisonValueValueKind:
	case LLVMConstantAggregateZeroValueKind:
	case LLVMConstantPointerNullValueKind:
	case LLVMConstantTokenNoneValueKind:
	case LLVMConstantTargetNoneValueKind:
		break;  /* kind and type say it all */
	default:
		put_printed(fp, c);
		break;
	}
}

static void put_value(struct hp_fingerprinter *fp, LLVMValueRef v)
{
	uint32_t pos;
	if (ptrmap_get(&fp->local, v, &pos)) {
		put_tag(fp, 'L');
		put_u64(fp, pos);
		return;
	}
	LLVMValueKind kind = LLVMGetValueKind(v);
	switch (kind) {
	case LLVMInlineAsmValueKind: {
		size_t len = 0;
		const char *s = LLVMGetInlineAsmAsmString(v, &len);
		put_tag(fp, 'A');
		put_str(fp, s, len);
		s = LLVMGetInlineAsmConstraintString(v, &len);
		put_str(fp, s, len);
		put_u64(fp, LLVMGetInlineAsmDialect(v) | (uint64_t)LLVMGetInlineAsmHasSideEffects(v) << 2 |
		                (uint64_t)LLVMGetInlineAsmNeedsAlignedStack(v) << 3 |
		                (uint64_t)LLVMGetInlineAsmCanUnwind(v) << 4);
		put_type(fp, LLVMGetInlineAsmFunctionType(v));
		break;
	}
	case LLVMMetadataAsValueValueKind:
		put_metadata(fp, v);
		break;
	case LLVMBasicBlockValueKind:
	case LLVMArgumentValueKind:
	case LLVMInstructionValueKind:
		/* A value of another function: cannot happen in valid IR. */
		put_tag(fp, '?');
		break;
	default:
		put_constant_body(fp, v);
		break;
	}
}

static void put_attributes(struct hp_fingerprinter *fp, unsigned count, LLVMAttributeRef *attrs)
{
	put_u64(fp, count);
	for (unsigned i = 0; i < count; i++) {
		LLVMAttributeRef a = attrs[i];
		if (LLVMIsStringAttribute(a)) {
			unsigned klen = 0, vlen = 0;
			const char *k = LLVMGetStringAttributeKind(a, &klen);
			const char *v = LLVMGetStringAttributeValue(a, &vlen);
			put_tag(fp, 's');
			put_str(fp, k, klen);
			put_str(fp, v, vlen);
		} else if (LLVMIsTypeAttribute(a)) {
			put_tag(fp, 't');
			put_u64(fp, LLVMGetEnumAttributeKind(a));
			put_type(fp, LLVMGetTypeAttributeValue(a));
		} else {
			put_tag(fp, 'e');
			put_u64(fp, LLVMGetEnumAttributeKind(a));
			put_u64(fp, LLVMGetEnumAttributeValue(a));
		}
	}
}

static void put_function_attributes(struct hp_fingerprinter *fp, LLVMValueRef fn)
{
	unsigned nparams = LLVMCountParams(fn);
	for (long idx = -1; idx <= (long)nparams; idx++) {  /* function, return, each parameter */
		LLVMAttributeIndex ai = idx < 0 ? LLVMAttributeFunctionIndex : (LLVMAttributeIndex)idx;
		unsigned n = LLVMGetAttributeCountAtIndex(fn, ai);
		LLVMAttributeRef attrs[n ? n : 1];
		LLVMGetAttributesAtIndex(fn, ai, attrs);
		put_attributes(fp, n, attrs);
	}
}

static void put_call_attributes(struct hp_fingerprinter *fp, LLVMValueRef call)
{
	unsigned nargs = LLVMGetNumArgOperands(call);
	for (long idx = -1; idx <= (long)nargs; idx++) {
		LLVMAttributeIndex ai = idx < 0 ? LLVMAttributeFunctionIndex : (LLVMAttributeIndex)idx;
		unsigned n = LLVMGetCallSiteAttributeCount(call, ai);
		LLVMAttributeRef attrs[n ? n : 1];
		LLVMGetCallSiteAttributes(call, ai, attrs);
		put_attributes(fp, n, attrs);
	}
}

static void put_instruction_metadata(struct hp_fingerprinter *fp, LLVMValueRef inst)
{
	if (!LLVMHasMetadata(inst))  /* cheap, and the query below allocates */
		return;
	size_t n = 0;
	LLVMValueMetadataEntry *entries = LLVMInstructionGetAllMetadataOtherThanDebugLoc(inst, &n);
	for (size_t i = 0; i < n; i++) {
		unsigned kind = LLVMValueMetadataEntriesGetKind(entries, (unsigned)i);
		for (size_t k = 0; k < fp->md_kind_count; k++) {
			if (fp->md_kinds[k] != kind)
				continue;
			put_tag(fp, 'm');
			put_cstr(fp, code_metadata[k]);
			put_metadata(fp, LLVMMetadataAsValue(fp->ctx, LLVMValueMetadataEntriesGetMetadata(entries, (unsigned)i)));
		}
	}
	if (entries)
		LLVMDisposeValueMetadataEntries(entries);
}

static int is_debug_intrinsic(LLVMValueRef inst)
{
	if (LLVMGetInstructionOpcode(inst) != LLVMCall)
		return 0;
	LLVMValueRef callee = LLVMGetCalledValue(inst);
	if (!callee || !LLVMIsAFunction(callee))
		return 0;
	size_t len = 0;
	const char *name = LLVMGetValueName2(callee, &len);
	return len > 9 && !memcmp(name, "llvm.dbg.", 9);
}

static void put_instruction(struct hp_fingerprinter *fp, LLVMValueRef inst)
{
	LLVMOpcode op = LLVMGetInstructionOpcode(inst);
	put_tag(fp, 'I');
	put_u64(fp, op);
	put_type(fp, LLVMTypeOf(inst));
	switch (op) {
	case LLVMAdd: case LLVMSub: case LLVMMul: case LLVMShl:
		put_u64(fp, LLVMGetNUW(inst) | (uint64_t)LLVMGetNSW(inst) << 1);
		break;
	case LLVMUDiv: case LLVMSDiv: case LLVMLShr: case LLVMAShr:
		put_u64(fp, LLVMGetExact(inst));
		break;
	case LLVMZExt:
		put_u64(fp, LLVMGetNNeg(inst));
		break;
	case LLVMOr:
		put_u64(fp, LLVMGetIsDisjoint(inst));
		break;
	case LLVMICmp:
		put_u64(fp, LLVMGetICmpPredicate(inst));
		break;
	case LLVMFCmp:
		put_u64(fp, LLVMGetFCmpPredicate(inst));
		break;
	case LLVMAlloca:
		put_type(fp, LLVMGetAllocatedType(inst));
		put_u64(fp, LLVMGetAlignment(inst));
		break;
	case LLVMLoad: case LLVMStore:
		put_u64(fp, LLVMGetAlignment(inst));
		put_u64(fp, LLVMGetVolatile(inst) | (uint64_t)LLVMGetOrdering(inst) << 1);
		if (LLVMGetOrdering(inst) != LLVMAtomicOrderingNotAtomic)
			put_u64(fp, LLVMIsAtomicSingleThread(inst));
		break;
	case LLVMGetElementPtr:
		put_type(fp, LLVMGetGEPSourceElementType(inst));
		put_u64(fp, LLVMIsInBounds(inst));
		break;
	case LLVMExtractValue: case LLVMInsertValue: {
		unsigned n = LLVMGetNumIndices(inst);
		const unsigned *idx = LLVMGetIndices(inst);
		put(fp, idx, n * sizeof *idx);
		put_u64(fp, n);
		break;
	}
	case LLVMShuffleVector: {
		unsigned n = LLVMGetNumMaskElements(inst);
		for (unsigned i = 0; i < n; i++)
			put_u64(fp, (uint64_t)(int64_t)LLVMGetMaskValue(inst, i));
		break;
	}
	case LLVMAtomicRMW:
		put_u64(fp, LLVMGetAtomicRMWBinOp(inst));
		put_u64(fp, LLVMGetOrdering(inst) | (uint64_t)LLVMGetVolatile(inst) << 8 |
		                (uint64_t)LLVMIsAtomicSingleThread(inst) << 9);
		put_u64(fp, LLVMGetAlignment(inst));
		break;
	case LLVMAtomicCmpXchg:
		put_u64(fp, LLVMGetCmpXchgSuccessOrdering(inst) |
		                (uint64_t)LLVMGetCmpXchgFailureOrdering(inst) << 8 |
		                (uint64_t)LLVMGetVolatile(inst) << 16 | (uint64_t)LLVMGetWeak(inst) << 17 |
		                (uint64_t)LLVMIsAtomicSingleThread(inst) << 18);
		put_u64(fp, LLVMGetAlignment(inst));
		break;
	case LLVMFence:
		put_u64(fp, LLVMGetOrdering(inst) | (uint64_t)LLVMIsAtomicSingleThread(inst) << 8);
		break;
	case LLVMCall: case LLVMInvoke: case LLVMCallBr:
		put_type(fp, LLVMGetCalledFunctionType(inst));
		put_u64(fp, LLVMGetInstructionCallConv(inst));
		if (op == LLVMCall)
			put_u64(fp, LLVMGetTailCallKind(inst));
		put_call_attributes(fp, inst);
		put_u64(fp, LLVMGetNumOperandBundles(inst));
		break;
	case LLVMLandingPad:
		put_u64(fp, LLVMIsCleanup(inst));
		break;
	default:
		break;
	}
	if (LLVMCanValueUseFastMathFlags(inst))
		put_u64(fp, LLVMGetFastMathFlags(inst));

	int n = LLVMGetNumOperands(inst);
	put_u64(fp, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		LLVMValueRef v = LLVMGetOperand(inst, (unsigned)i);
		if (!v)
			put_tag(fp, '0');
		else
			put_value(fp, v);
	}
	if (op == LLVMPHI) {  /* incoming blocks are not operands */
		unsigned in = LLVMCountIncoming(inst);
		for (unsigned i = 0; i < in; i++)
			put_value(fp, LLVMBasicBlockAsValue(LLVMGetIncomingBlock(inst, i)));
	}
	put_instruction_metadata(fp, inst);
}

/* ---- Public ------------------------------------------------------------------------------- */

struct hp_fingerprinter *hp_fingerprinter_new(LLVMModuleRef module)
{
	struct hp_fingerprinter *fp = calloc(1, sizeof *fp);
	if (!fp)
		return NULL;
	fp->module = module;
	fp->ctx = LLVMGetModuleContext(module);
	for (size_t i = 0; i < sizeof abi_attributes / sizeof *abi_attributes; i++)
		fp->abi_kinds[fp->abi_kind_count++] =
		    LLVMGetEnumAttributeKindForName(abi_attributes[i], strlen(abi_attributes[i]));
	for (size_t i = 0; i < sizeof code_metadata / sizeof *code_metadata; i++)
		fp->md_kinds[fp->md_kind_count++] =
		    LLVMGetMDKindIDInContext(fp->ctx, code_metadata[i], (unsigned)strlen(code_metadata[i]));

	put_cstr(fp, LLVMGetTarget(module));
	put_cstr(fp, LLVMGetDataLayoutStr(module));
	size_t nflags = 0;
	LLVMModuleFlagEntry *flags = LLVMCopyModuleFlagsMetadata(module, &nflags);
	for (size_t i = 0; i < nflags; i++) {
		size_t klen = 0;
		const char *key = LLVMModuleFlagEntriesGetKey(flags, (unsigned)i, &klen);
		if (is_debug_flag(key, klen))
			continue;
		put_str(fp, key, klen);
		put_u64(fp, LLVMModuleFlagEntriesGetFlagBehavior(flags, (unsigned)i));
		put_metadata(fp, LLVMMetadataAsValue(fp->ctx, LLVMModuleFlagEntriesGetMetadata(flags, (unsigned)i)));
	}
	if (flags)
		LLVMDisposeModuleFlagsMetadata(flags);
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, hash_since(fp, 0));
	memcpy(fp->module_hash, c.digest, 16);
	return fp;
}

void hp_fingerprinter_free(struct hp_fingerprinter *fp)
{
	if (!fp)
		return;
	free(fp->buf);
	free(fp->consts);
	free(fp->local.keys);
	free(fp->local.values);
	free(fp->local.gens);
	free(fp->content.keys);
	free(fp->content.values);
	free(fp->content.gens);
	free(fp->contents);
	free(fp);
}

static void digest(struct hp_fingerprinter *fp, uint8_t out[16])
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, hash_since(fp, 0));
	memcpy(out, c.digest, 16);
}

/* The shape: the buffer without the spans of integer constant values. */
static void shape_digest(struct hp_fingerprinter *fp, uint8_t out[16])
{
	XXH3_state_t *st = XXH3_createState();
	if (!st)
		abort();
	XXH3_128bits_reset(st);
	size_t at = 0;
	for (size_t i = 0; i < fp->const_count; i++) {
		XXH3_128bits_update(st, fp->buf + at, fp->consts[i].at - at);
		at = fp->consts[i].at + fp->consts[i].len;
	}
	XXH3_128bits_update(st, fp->buf + at, fp->len - at);
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
	memcpy(out, c.digest, 16);
	XXH3_freeState(st);
}

void hp_fingerprint_function(struct hp_fingerprinter *fp, LLVMValueRef fn, uint8_t out[16],
                             uint8_t shape[16])
{
	/* Number arguments, blocks and instructions first: phis refer forward. */
	ptrmap_clear(&fp->local);
	uint32_t pos = 0;
	for (LLVMValueRef a = LLVMGetFirstParam(fn); a; a = LLVMGetNextParam(a))
		ptrmap_put(&fp->local, a, pos++);
	for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
		ptrmap_put(&fp->local, LLVMBasicBlockAsValue(bb), pos++);
		for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i))
			ptrmap_put(&fp->local, i, pos++);
	}

	fp->len = 0;
	fp->const_count = 0;
	put(fp, fp->module_hash, 16);
	put_tag(fp, 'F');
	put_type(fp, LLVMGlobalGetValueType(fn));
	put_u64(fp, LLVMGetLinkage(fn));
	put_u64(fp, LLVMGetVisibility(fn));
	put_u64(fp, LLVMGetFunctionCallConv(fn));
	put_u64(fp, LLVMGetAlignment(fn));
	put_cstr(fp, LLVMGetSection(fn));
	put_cstr(fp, LLVMGetGC(fn));
	put_function_attributes(fp, fn);
	if (LLVMHasPersonalityFn(fn))
		put_value(fp, LLVMGetPersonalityFn(fn));
	if (LLVMHasPrefixData(fn))
		put_value(fp, LLVMGetPrefixData(fn));
	if (LLVMHasPrologueData(fn))
		put_value(fp, LLVMGetPrologueData(fn));

	for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
		put_tag(fp, 'B');
		for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i))
			if (!is_debug_intrinsic(i))
				put_instruction(fp, i);
	}
	if (shape)
		shape_digest(fp, shape);
	digest(fp, out);
}

void hp_fingerprint_abi(struct hp_fingerprinter *fp, LLVMValueRef fn, uint8_t out[16])
{
	fp->len = 0;
	fp->const_count = 0;
	put_tag(fp, 'C');
	put_type(fp, LLVMGlobalGetValueType(fn));
	put_u64(fp, LLVMGetFunctionCallConv(fn));
	unsigned nparams = LLVMCountParams(fn);
	for (unsigned idx = 0; idx <= nparams; idx++) {  /* return, then each parameter */
		unsigned n = LLVMGetAttributeCountAtIndex(fn, idx);
		LLVMAttributeRef attrs[n ? n : 1];
		LLVMGetAttributesAtIndex(fn, idx, attrs);
		put_u64(fp, idx);
		for (unsigned i = 0; i < n; i++) {
			if (LLVMIsStringAttribute(attrs[i]))
				continue;
			unsigned kind = LLVMGetEnumAttributeKind(attrs[i]);
			for (size_t k = 0; k < fp->abi_kind_count; k++)
				if (fp->abi_kinds[k] == kind)
					put_attributes(fp, 1, &attrs[i]);
		}
	}
	digest(fp, out);
}

void hp_fingerprint_variable(struct hp_fingerprinter *fp, LLVMValueRef gv, uint8_t out[16])
{
	ptrmap_clear(&fp->local);
	fp->len = 0;
	fp->const_count = 0;
	put(fp, fp->module_hash, 16);
	put_tag(fp, 'V');
	put_type(fp, LLVMGlobalGetValueType(gv));
	put_u64(fp, LLVMGetLinkage(gv));
	put_u64(fp, LLVMGetVisibility(gv));
	put_u64(fp, LLVMGetAlignment(gv));
	put_u64(fp, LLVMIsGlobalConstant(gv) | (uint64_t)LLVMGetThreadLocalMode(gv) << 1 |
	                (uint64_t)LLVMIsExternallyInitialized(gv) << 8);
	put_cstr(fp, LLVMGetSection(gv));
	LLVMValueRef init = LLVMGetInitializer(gv);
	if (init)
		put_constant_body(fp, init);
	digest(fp, out);
}
